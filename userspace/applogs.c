/* applogs.c: see applogs.h.
 *
 * Each sync is a round: every dir the pods ask for is looked up by its key
 * and stamped with the round; a dir not stamped at the end is removed. The
 * same map keeps, under keys of their own, the complaints already made about
 * a pod's annotation, so each is logged once while the pod is cached.
 */
#include "applogs.h"

#include "containers.h"
#include "hmap.h"
#include "log.h"
#include "logpath.h"
#include "pods.h"
#include "tail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define APPLOGS_KEY_MAX	 (2 * PATH_MAX) /* pod uid, container name or id, dir, pattern */
#define APPLOGS_DRAIN_MS 5000 /* a finished pod's volume dirs are let go this long after */

struct applogs_key {
	uint64_t round;
	bool dir;	  /* a dir of the tail (else a complaint made) */
	bool released;	  /* a volume dir let go once its pod finished */
	int64_t since_ms; /* when the dir was added */
};

struct applogs {
	char *kubelet_root;
	struct hmap *keys; /* key -> struct applogs_key */
	uint64_t round;
	struct logpath_glob globs[LOGPATH_MAX_ENTRIES];
	struct applogs_stats stats;
};

struct applogs_round {
	struct applogs *x;
	const struct containers *cs;
	struct tail *tail;
	int64_t now_ms;
	bool finished; /* the pod being looked at: every container of it has ended */
	bool retry;
};

struct applogs *applogs_new(const char *kubelet_root)
{
	struct applogs *x = calloc(1, sizeof(*x));

	if (!x)
		return NULL;
	x->kubelet_root = strdup(kubelet_root);
	x->keys = hmap_new();
	if (!x->kubelet_root || !x->keys) {
		applogs_free(x);
		return NULL;
	}
	return x;
}

static bool applogs_free_key(const void *key, size_t key_len, void *value, void *ctx)
{
	(void)key;
	(void)key_len;
	(void)ctx;
	free(value);
	return true;
}

void applogs_free(struct applogs *x)
{
	if (!x)
		return;
	if (x->keys)
		hmap_foreach(x->keys, applogs_free_key, NULL);
	hmap_free(x->keys);
	free(x->kubelet_root);
	free(x);
}

/* Stamps key with this round; false when it is new (not added: see applogs_add). */
static bool applogs_seen(struct applogs *x, const char *key)
{
	struct applogs_key *k = hmap_get(x->keys, key, strlen(key));

	if (!k)
		return false;
	k->round = x->round;
	return true;
}

static struct applogs_key *applogs_add(struct applogs *x, const char *key, bool dir)
{
	struct applogs_key *k = calloc(1, sizeof(*k));

	if (!k || hmap_put(x->keys, key, strlen(key), k) != 0) {
		free(k);
		log_error("applogs: out of memory");
		return NULL;
	}
	k->round = x->round;
	k->dir = dir;
	return k;
}

/* Logs a complaint about a pod once while it lasts (key names it). */
static bool applogs_first_time(struct applogs *x, const char *key)
{
	if (applogs_seen(x, key))
		return false;
	applogs_add(x, key, false);
	x->stats.invalid++;
	return true;
}

/* Does the cgroup file content name container id, as a whole word? */
static bool applogs_names_id(const char *text, const char *id)
{
	size_t n = strlen(id);

	for (const char *p = strstr(text, id); p; p = strstr(p + 1, id)) {
		char before = p == text ? '/' : p[-1], after = p[n];
		if ((before == '/' || before == '-') &&
		    (after == '\n' || after == '.' || after == '/' || after == '\0'))
			return true;
	}
	return false;
}

/* /proc/<pid>/root of a process vouched to be in container id. The
 * /proc/<pid> descriptor stays bound to the process it was opened for: if
 * that one dies and its pid is reused, opening through it fails rather than
 * reaching the newcomer. Returns the O_PATH descriptor or a negative errno. */
static int applogs_open_root(int pid, const char *id)
{
	char path[64], text[8192];
	ssize_t n = 0, got;
	int pdir, fd, err;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	pdir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (pdir < 0)
		return -errno;
	fd = openat(pdir, "cgroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		close(pdir);
		return err;
	}
	while ((size_t)n < sizeof(text) - 1 &&
	       (got = read(fd, text + n, sizeof(text) - 1 - (size_t)n)) > 0)
		n += got;
	close(fd);
	text[n] = '\0';
	if (!applogs_names_id(text, id)) {
		close(pdir);
		return -ESRCH;
	}
	fd = openat(pdir, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
	err = fd < 0 ? -errno : fd;
	close(pdir);
	return err;
}

/* Hands d (root_fd set) to the tail as key; root is root_fd's path. */
static void applogs_add_dir(struct applogs_round *r, const struct pod *pod,
			    const struct pod_container *pc, const struct logpath_glob *g,
			    const char *key, const char *root, struct tail_dir *d)
{
	struct applogs *x = r->x;
	int rc;

	while (d->rel[0] == '/')
		d->rel++;
	d->key = key;
	d->root_path = root;
	d->container_dir = g->container_dir;
	d->pattern = g->pattern;
	d->namespace_name = pod->namespace_name;
	d->pod_name = pod->name;
	d->pod_uid = pod->uid;
	d->container_name = pc->name;
	rc = tail_add_dir(r->tail, d);
	if (rc == 0) {
		struct applogs_key *k = hmap_get(x->keys, key, strlen(key));
		if (!k)
			k = applogs_add(x, key, true);
		if (k) {
			k->released = false;
			k->since_ms = r->now_ms;
		}
		x->stats.dirs++;
	} else {
		log_warn("applogs: pod %s/%s, container %s: watching %s/%s: %s",
			 pod->namespace_name, pod->name, pc->name, root, d->rel, strerror(-rc));
	}
}

/* The dir of glob g in the container's own filesystem: through its init
 * process, while that lives. */
static void applogs_want_proc(struct applogs_round *r, const struct pod *pod,
			      const struct pod_container *pc, const struct logpath_glob *g)
{
	struct applogs *x = r->x;
	const struct container *c = containers_by_pod_name(r->cs, pod->uid, pc->name);
	char key[APPLOGS_KEY_MAX], root[64];
	struct tail_dir d = {.rel = g->container_dir, .in_root = true};

	if (!c || c->exited || !c->n_cgroups || c->init_tgid <= 0)
		return; /* asked again when it starts (see applogs.h) */
	if (snprintf(key, sizeof(key), "p\x1f%s\x1f%s\x1f%s", c->id, g->container_dir,
		     g->pattern) >= (int)sizeof(key) ||
	    applogs_seen(x, key))
		return;
	d.root_fd = applogs_open_root(c->init_tgid, c->id);
	if (d.root_fd < 0) {
		x->stats.proc_root_refused++;
		log_debug("applogs: root of container %s (pid %d): %s", c->id, c->init_tgid,
			  strerror(-d.root_fd));
		return;
	}
	snprintf(root, sizeof(root), "/proc/%d/root", c->init_tgid);
	applogs_add_dir(r, pod, pc, g, key, root, &d);
}

/* A volume's dir already asked for: stamps it, and lets it go once its pod
 * has finished and its files had time to be read (so the kubelet can tear
 * the volume down: a tmpfs emptyDir cannot be unmounted while open), or asks
 * for it again when the pod runs again. Returns false when it is to be asked
 * for (again). */
static bool applogs_volume_known(struct applogs_round *r, const char *key)
{
	struct applogs *x = r->x;
	struct applogs_key *k = hmap_get(x->keys, key, strlen(key));

	if (!k)
		return false;
	k->round = x->round;
	if (k->released)
		return r->finished;
	if (r->finished) {
		if (r->now_ms - k->since_ms < APPLOGS_DRAIN_MS) {
			r->retry = true;
			return true;
		}
		tail_remove_dir(r->tail, key);
		k->released = true;
		x->stats.dirs--;
	}
	return true;
}

/* Asks the tail for the dir of glob g (resolved for container pc of pod). A
 * volume is asked for once per pod, whichever of its containers mount it. */
static void applogs_want(struct applogs_round *r, const struct pod *pod,
			 const struct pod_container *pc, const struct logpath_glob *g)
{
	struct applogs *x = r->x;
	char key[APPLOGS_KEY_MAX], root[PATH_MAX], pods[PATH_MAX];
	struct tail_dir d = {.rel = g->dir + g->dir_base_len, .in_root = false};
	bool empty_dir;

	if (g->via_proc_root) {
		applogs_want_proc(r, pod, pc, g);
		return;
	}
	if (snprintf(key, sizeof(key), "v\x1f%s\x1f%s\x1f%s", pod->uid, g->dir, g->pattern) >=
		(int)sizeof(key) ||
	    applogs_volume_known(r, key))
		return;
	snprintf(pods, sizeof(pods), "%s/pods/", x->kubelet_root);
	empty_dir = strncmp(g->dir, pods, strlen(pods)) == 0;
	if (empty_dir) {
		/* the kubelet's own dir, mounted into the agent's container */
		memcpy(root, g->dir, g->dir_base_len);
		root[g->dir_base_len] = '\0';
		d.root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (d.root_fd < 0) {
			r->retry = true; /* the kubelet has not set the volume up yet */
			return;
		}
	} else {
		/* a hostPath, in the host's root: the agent's own mount namespace
		 * has other things at the same paths */
		snprintf(root, sizeof(root), "/proc/1/root");
		d.root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
		d.rel = g->dir;
		d.in_root = true;
		if (d.root_fd < 0) {
			/* not in the host's PID namespace: the container sees it */
			applogs_want_proc(r, pod, pc, g);
			return;
		}
	}
	applogs_add_dir(r, pod, pc, g, key, root, &d);
}

/* Has every container of the pod ended (none live, none still to start)? */
static bool applogs_pod_finished(const struct applogs_round *r, const struct pod *pod)
{
	bool any = false;

	for (size_t i = 0; i < pod->n_containers; i++) {
		const struct pod_container *pc = &pod->containers[i];
		const struct container *c;
		if (pc->init || !pc->name)
			continue;
		any = true;
		c = containers_by_pod_name(r->cs, pod->uid, pc->name);
		if (c ? !c->exited && c->n_cgroups > 0 : !pc->id)
			return false;
	}
	return any;
}

static bool applogs_pod(const struct pod *pod, void *ctx)
{
	struct applogs_round *r = ctx;
	struct applogs *x = r->x;
	const char *spec = pod_annotation(pod, LOGPATH_ANNOTATION), *why = NULL;
	char key[APPLOGS_KEY_MAX];
	int n;

	if (!spec)
		return false;
	n = logpath_parse(spec, x->globs, LOGPATH_MAX_ENTRIES, &why);
	if (n < 0) {
		snprintf(key, sizeof(key), "!\x1f%s\x1f%s", pod->uid, spec);
		if (applogs_first_time(x, key))
			log_warn("pod %s/%s: annotation %s: %s; no in-container file is read",
				 pod->namespace_name, pod->name, LOGPATH_ANNOTATION,
				 why ? why : "invalid");
		return false;
	}
	r->finished = applogs_pod_finished(r, pod);
	/* containers first, init containers after: a volume they share is
	 * attributed to the first container that mounts it */
	for (size_t k = 0; k < 2 * pod->n_containers; k++) {
		const struct pod_container *pc = &pod->containers[k % pod->n_containers];
		if (!pc->name || pc->init != (k >= pod->n_containers))
			continue;
		for (int j = 0; j < n; j++) {
			struct logpath_glob *g = &x->globs[j];
			int rc = logpath_resolve(g, pod, pc, x->kubelet_root);
			if (rc == 0) {
				applogs_want(r, pod, pc, g);
				continue;
			}
			snprintf(key, sizeof(key), "!\x1f%s\x1f%s\x1f%s/%s", pod->uid, pc->name,
				 g->container_dir, g->pattern);
			if (applogs_first_time(x, key))
				log_warn("pod %s/%s, container %s: %s/%s: %s; not read",
					 pod->namespace_name, pod->name, pc->name, g->container_dir,
					 g->pattern,
					 rc == -ENAMETOOLONG ? "path too long"
							     : "its volume's path is not usable");
		}
	}
	return false;
}

struct applogs_sweep {
	struct applogs *x;
	struct tail *tail;
};

/* Removes what this round did not ask for. */
static bool applogs_sweep_key(const void *key, size_t key_len, void *value, void *ctx)
{
	struct applogs_sweep *s = ctx;
	struct applogs_key *k = value;
	char name[APPLOGS_KEY_MAX];

	if (k->round == s->x->round)
		return false;
	if (k->dir && !k->released && key_len < sizeof(name)) {
		memcpy(name, key, key_len);
		name[key_len] = '\0';
		tail_remove_dir(s->tail, name);
		s->x->stats.dirs--;
	}
	free(k);
	return true;
}

bool applogs_sync(struct applogs *x, const struct pods *pods, const struct containers *cs,
		  struct tail *tail, int64_t now_ms)
{
	struct applogs_round r = {.x = x, .cs = cs, .tail = tail, .now_ms = now_ms};
	struct applogs_sweep s = {.x = x, .tail = tail};

	x->round++;
	pods_foreach(pods, applogs_pod, &r);
	hmap_foreach(x->keys, applogs_sweep_key, &s);
	return r.retry;
}

void applogs_get_stats(const struct applogs *x, struct applogs_stats *out)
{
	*out = x->stats;
}
