/* containers.c: see containers.h. Indexes: cgroup id, container id,
 * "<pod uid>/<name>" and log path, all into the same container objects owned by
 * the by-id map. */
#include "containers.h"

#include "hmap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTAINERS_SCAN_DEPTH 12

struct containers {
	struct hmap *by_cgroup; /* uint64 -> container */
	struct hmap *by_id;	/* owns the containers */
	struct hmap *by_pod_name;
	struct hmap *by_log_path;
	int64_t retention_ms;
	uint64_t generation; /* see containers_generation */
};

struct containers *containers_new(int64_t retention_ms)
{
	struct containers *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->retention_ms = retention_ms;
	t->by_cgroup = hmap_new();
	t->by_id = hmap_new();
	t->by_pod_name = hmap_new();
	t->by_log_path = hmap_new();
	if (!t->by_cgroup || !t->by_id || !t->by_pod_name || !t->by_log_path) {
		containers_free(t);
		return NULL;
	}
	return t;
}

static void container_free(struct container *c)
{
	free(c->name);
	free(c->log_path);
	free(c);
}

static bool containers_free_visit(const void *key, size_t key_len, void *value, void *ctx)
{
	(void)key;
	(void)key_len;
	(void)ctx;
	container_free(value);
	return true;
}

void containers_free(struct containers *t)
{
	if (!t)
		return;
	if (t->by_id)
		hmap_foreach(t->by_id, containers_free_visit, NULL);
	hmap_free(t->by_id);
	hmap_free(t->by_cgroup);
	hmap_free(t->by_pod_name);
	hmap_free(t->by_log_path);
	free(t);
}

static int containers_pod_name_key(char *key, size_t cap, const char *uid, const char *name)
{
	int n = snprintf(key, cap, "%s/%s", uid, name);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

struct container *containers_add_cgroup(struct containers *t, uint64_t cgid,
					const struct cgpath_info *info, bool *created)
{
	struct container *c = hmap_get(t->by_cgroup, &cgid, sizeof(cgid));

	*created = false;
	if (c)
		return c;
	c = hmap_get(t->by_id, info->container_id, strlen(info->container_id));
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		memcpy(c->id, info->container_id, sizeof(c->id));
		memcpy(c->pod_uid, info->pod_uid, sizeof(c->pod_uid));
		c->runtime = info->runtime;
		c->qos = info->qos;
		if (hmap_put(t->by_id, c->id, strlen(c->id), c) != 0) {
			free(c);
			return NULL;
		}
		*created = true;
		t->generation++;
	}
	if (hmap_put(t->by_cgroup, &cgid, sizeof(cgid), c) != 0) {
		if (*created) {
			hmap_del(t->by_id, c->id, strlen(c->id));
			free(c);
		}
		*created = false;
		return NULL;
	}
	c->n_cgroups++;
	c->gone_ms = 0;
	return c;
}

struct container *containers_remove_cgroup(struct containers *t, uint64_t cgid, int64_t now_ms)
{
	struct container *c = hmap_del(t->by_cgroup, &cgid, sizeof(cgid));

	if (!c || --c->n_cgroups > 0)
		return NULL;
	c->gone_ms = now_ms > 0 ? now_ms : 1;
	t->generation++;
	return c;
}

struct container *containers_by_cgroup(const struct containers *t, uint64_t cgid)
{
	return hmap_get(t->by_cgroup, &cgid, sizeof(cgid));
}

struct container *containers_by_id(const struct containers *t, const char *id)
{
	return hmap_get(t->by_id, id, strlen(id));
}

struct container *containers_by_pod_name(const struct containers *t, const char *pod_uid,
					 const char *name)
{
	char key[512];
	int n = containers_pod_name_key(key, sizeof(key), pod_uid, name);

	return n < 0 ? NULL : hmap_get(t->by_pod_name, key, (size_t)n);
}

struct container *containers_by_log_path(const struct containers *t, const char *log_path)
{
	return hmap_get(t->by_log_path, log_path, strlen(log_path));
}

int containers_set_name(struct containers *t, struct container *c, const char *name,
			const char *log_path)
{
	char key[512];
	int n;

	t->generation++;
	if (!c->name || strcmp(c->name, name) != 0) {
		char *copy = strdup(name);
		if (!copy)
			return -ENOMEM;
		if (c->name) {
			n = containers_pod_name_key(key, sizeof(key), c->pod_uid, c->name);
			if (n >= 0 && hmap_get(t->by_pod_name, key, (size_t)n) == c)
				hmap_del(t->by_pod_name, key, (size_t)n);
		}
		free(c->name);
		c->name = copy;
	}
	n = containers_pod_name_key(key, sizeof(key), c->pod_uid, c->name);
	if (n >= 0 && hmap_put(t->by_pod_name, key, (size_t)n, c) != 0)
		return -ENOMEM;
	if (log_path && *log_path && !c->log_path) {
		c->log_path = strdup(log_path);
		if (!c->log_path ||
		    hmap_put(t->by_log_path, c->log_path, strlen(c->log_path), c) != 0)
			return -ENOMEM;
	}
	return 0;
}

struct containers_expire_ctx {
	struct containers *t;
	int64_t now_ms;
	size_t n;
};

static bool containers_expire_visit(const void *key, size_t key_len, void *value, void *arg)
{
	struct containers_expire_ctx *x = arg;
	struct container *c = value;
	char pn[512];
	int n;

	(void)key;
	(void)key_len;
	if (!c->gone_ms || c->gone_ms + x->t->retention_ms > x->now_ms)
		return false;
	if (c->name) {
		n = containers_pod_name_key(pn, sizeof(pn), c->pod_uid, c->name);
		if (n >= 0 && hmap_get(x->t->by_pod_name, pn, (size_t)n) == c)
			hmap_del(x->t->by_pod_name, pn, (size_t)n);
	}
	if (c->log_path && hmap_get(x->t->by_log_path, c->log_path, strlen(c->log_path)) == c)
		hmap_del(x->t->by_log_path, c->log_path, strlen(c->log_path));
	container_free(c);
	x->n++;
	return true;
}

size_t containers_expire(struct containers *t, int64_t now_ms)
{
	struct containers_expire_ctx x = {.t = t, .now_ms = now_ms};

	hmap_foreach(t->by_id, containers_expire_visit, &x);
	if (x.n)
		t->generation++;
	return x.n;
}

size_t containers_count(const struct containers *t)
{
	return hmap_count(t->by_id);
}

uint64_t containers_generation(const struct containers *t)
{
	return t->generation;
}

static int containers_walk(int fd, char *rel, size_t rel_len, size_t cap, int depth,
			   containers_found_fn found, void *ctx)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int visited = 1;

	if (!d) {
		close(fd);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		struct cgpath_info info;
		struct stat st;
		size_t n = strlen(de->d_name);
		int child;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (rel_len + 1 + n + 1 > cap)
			continue;
		rel[rel_len] = '/';
		memcpy(rel + rel_len + 1, de->d_name, n + 1);
		child = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (child < 0)
			continue;
		if (fstat(child, &st) == 0 && cgpath_parse(rel, rel_len + 1 + n, &info) == 0 &&
		    info.kind == CGPATH_CONTAINER)
			found(ctx, (uint64_t)st.st_ino, rel);
		if (depth < CONTAINERS_SCAN_DEPTH)
			visited += containers_walk(child, rel, rel_len + 1 + n, cap, depth + 1,
						   found, ctx);
		else
			close(child);
		rel[rel_len] = '\0';
	}
	closedir(d);
	return visited;
}

int containers_scan(const char *root, containers_found_fn found, void *ctx)
{
	char rel[4096] = "";
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	return containers_walk(fd, rel, 0, sizeof(rel), 0, found, ctx);
}
