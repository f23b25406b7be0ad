/* tail.c: see tail.h.
 *
 * Watches are nodes of four kinds (the pods dir, a pod dir, a container dir,
 * a dir of in-container files) found by inotify watch descriptor. Files are
 * found by path, and by device and inode so that a file is never open twice
 * (a renamed in-container file keeps its reader under its new name). A file with
 * bytes to read sits on the pending list; an eventfd keeps the loop awake
 * while that list is not empty, and each file reads at most read_budget bytes
 * per turn so one busy file cannot starve the rest.
 */
#include "tail.h"

#include "hmap.h"
#include "log.h"
#include "loop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TAIL_READ_CHUNK	  65536
#define TAIL_TICK_MS	  250
#define TAIL_HEAD	  64   /* first bytes kept to notice a file truncated and written again */
#define TAIL_DIR_RETRY_MS 1000 /* a dir of in-container files not there yet is looked for again */
#define TAIL_FILE_MASK	  (IN_MODIFY | IN_DELETE | IN_MOVED_FROM)

enum tail_watch_kind {
	TAIL_WATCH_ROOT,
	TAIL_WATCH_POD,
	TAIL_WATCH_CONTAINER,
	TAIL_WATCH_APP,
	TAIL_WATCH_DOCKER_ROOT, /* <docker root>/containers */
	TAIL_WATCH_DOCKER,	/* <docker root>/containers/<id> */
};

struct tail_sub;

struct tail_watch {
	enum tail_watch_kind kind;
	int wd;
	char *path;
	/* pod and container dirs */
	char namespace_name[TAIL_NAME_MAX + 1];
	char pod_name[TAIL_NAME_MAX + 1];
	char pod_uid[TAIL_NAME_MAX + 1];
	char container_name[TAIL_NAME_MAX + 1];
	char container_id[TAIL_ID_MAX + 1]; /* docker's container dirs */
	/* dirs of in-container files: the dir, and who asked for which names */
	int dirfd;
	struct tail_sub *subs;
};

/* A directory added with tail_add_dir. */
struct tail_sub {
	char *key, *root_path, *rel, *container_dir, *pattern;
	int root_fd;
	bool in_root;
	bool warned;	       /* the dir could not be opened for a reason other than absence */
	struct tail_watch ids; /* only the names */
	struct tail_watch *w;  /* its dir's watch; NULL until the dir is there */
	struct tail_sub *next_in_watch;
};

struct tail_fstate {
	struct tail_file pub;
	char *path;
	int fd;
	char *carry; /* bytes of an unfinished line */
	size_t carry_len, carry_cap;
	bool in_piece; /* the next piece continues a split line */
	bool pending;  /* on the pending list */
	bool readable; /* may have unread bytes */
	bool unlinked; /* deleted or renamed away */
	int64_t unlinked_ms;
	int64_t idle_since_ms; /* the last time a read found nothing, while unlinked */
	off_t offset;
	uint64_t line_start_off; /* where the line being read began */
	char head[TAIL_HEAD];	 /* the file's first bytes, as last seen */
	size_t head_len;
	bool draining; /* on the draining list: its name went to a newer file */
	bool finished; /* its container exited: read before the others */
	dev_t dev;
	ino_t ino;
	struct tail_sub *sub; /* a file of an added dir, while the dir is watched */
	char *container_path;
	struct tail_fstate *next_pending;
	struct tail_fstate *next_draining;
};

struct tail {
	struct loop *loop;
	struct tail_options opts;
	struct tail_callbacks cb;
	void *ctx;
	int ifd, kick_fd;
	bool kicked;
	bool root_ok;
	bool root_warned;	  /* the pods dir's absence was reported */
	bool docker_ok;		  /* docker's containers dir is watched */
	struct hmap *watches;	  /* wd -> tail_watch */
	struct hmap *watch_paths; /* dir path -> tail_watch */
	struct hmap *files;	  /* path -> tail_fstate */
	struct hmap *inodes;	  /* device and inode -> tail_fstate */
	struct hmap *subs;	  /* key -> tail_sub */
	int64_t next_dir_try_ms;
	struct tail_fstate *draining; /* renamed or deleted files whose name is taken again */
	struct tail_fstate *pending_head, *pending_tail;
	struct loop_timer *tick;
	int64_t next_rescan_ms;
	char *rbuf;
	struct tail_stats stats;
};

struct tail_ino {
	uint64_t dev, ino;
};

static void tail_rescan(struct tail *t);
static bool tail_same_head(struct tail_fstate *f, off_t size);
static void tail_mark_file_unlinked(struct tail *t, struct tail_fstate *f);
static bool tail_rescan_app_visit(const void *key, size_t key_len, void *value, void *arg);
static bool tail_retry_visit(const void *key, size_t key_len, void *value, void *arg);

static void tail_kick(struct tail *t)
{
	uint64_t one = 1;

	if (t->kicked)
		return;
	if (write(t->kick_fd, &one, sizeof(one)) == sizeof(one))
		t->kicked = true;
}

static void tail_make_pending(struct tail *t, struct tail_fstate *f)
{
	f->readable = true;
	if (f->pending)
		return;
	f->pending = true;
	f->next_pending = NULL;
	if (!t->pending_head) {
		t->pending_head = t->pending_tail = f;
	} else if (f->unlinked || f->finished) {
		/* a file without a name is read first: its bytes have no other home;
		 * so is a finished container's, whose reader can then be closed */
		f->next_pending = t->pending_head;
		t->pending_head = f;
	} else {
		t->pending_tail->next_pending = f;
		t->pending_tail = f;
	}
	tail_kick(t);
}

/* "<namespace>_<pod>_<uid>": Kubernetes names cannot hold '_', so two of them. */
static bool tail_parse_pod_dir(const char *name, struct tail_watch *w)
{
	const char *a = strchr(name, '_'), *b = a ? strchr(a + 1, '_') : NULL;
	size_t ns_len, pod_len, uid_len;

	if (!a || !b || strchr(b + 1, '_'))
		return false;
	ns_len = (size_t)(a - name);
	pod_len = (size_t)(b - a - 1);
	uid_len = strlen(b + 1);
	if (!ns_len || !pod_len || !uid_len || ns_len > TAIL_NAME_MAX || pod_len > TAIL_NAME_MAX ||
	    uid_len > TAIL_NAME_MAX)
		return false;
	memcpy(w->namespace_name, name, ns_len);
	w->namespace_name[ns_len] = '\0';
	memcpy(w->pod_name, a + 1, pod_len);
	w->pod_name[pod_len] = '\0';
	memcpy(w->pod_uid, b + 1, uid_len + 1);
	return true;
}

/* "<restart>.log" with a decimal restart count. */
static bool tail_parse_log_name(const char *name, int *restart)
{
	const char *p = name;
	long v = 0;

	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (*p - '0');
		if (v > INT_MAX)
			return false;
		p++;
	}
	if (strcmp(p, ".log") != 0)
		return false;
	*restart = (int)v;
	return true;
}

static struct tail_watch *tail_add_watch(struct tail *t, const char *path,
					 enum tail_watch_kind kind, const struct tail_watch *ids)
{
	uint32_t mask = IN_ONLYDIR | IN_DELETE_SELF | IN_MOVE_SELF | IN_CREATE | IN_MOVED_TO;
	struct tail_watch *w = hmap_get(t->watch_paths, path, strlen(path));
	int wd;

	if (w)
		return w;
	if (kind == TAIL_WATCH_CONTAINER || kind == TAIL_WATCH_DOCKER)
		mask |= TAIL_FILE_MASK;
	wd = inotify_add_watch(t->ifd, path, mask);
	if (wd < 0) {
		if (errno != ENOENT)
			log_warn("tail: watch %s: %s", path, strerror(errno));
		return NULL;
	}
	w = hmap_get(t->watches, &wd, sizeof(wd));
	if (w) /* the same directory under another name */
		return w;
	w = calloc(1, sizeof(*w));
	if (!w) {
		inotify_rm_watch(t->ifd, wd);
		return NULL;
	}
	if (ids)
		*w = *ids;
	w->kind = kind;
	w->wd = wd;
	w->path = strdup(path);
	if (!w->path || hmap_put(t->watches, &w->wd, sizeof(w->wd), w) != 0 ||
	    hmap_put(t->watch_paths, w->path, strlen(w->path), w) != 0) {
		hmap_del(t->watches, &w->wd, sizeof(w->wd));
		inotify_rm_watch(t->ifd, wd);
		free(w->path);
		free(w);
		return NULL;
	}
	return w;
}

struct tail_file_visit {
	struct tail *t;
	const struct tail_sub *sub;  /* files of this sub */
	const struct tail_watch *w;  /* or of any sub of this watch */
	const char *uid, *container; /* or of this container */
};

static bool tail_visit_match(const struct tail_file_visit *x, const struct tail_fstate *f)
{
	if (x->sub)
		return f->sub == x->sub;
	if (x->w)
		return f->sub && f->sub->w == x->w;
	return strcmp(f->pub.pod_uid, x->uid) == 0 &&
	       strcmp(f->pub.container_name, x->container) == 0;
}

/* Calls fn for every open file (named or draining) that x matches. */
static void tail_for_files(struct tail_file_visit *x,
			   void (*fn)(struct tail_file_visit *x, struct tail_fstate *f));

/* A file of a dir no longer watched: read to its end, then closed. */
static void tail_retire_file(struct tail_file_visit *x, struct tail_fstate *f)
{
	f->sub = NULL;
	tail_mark_file_unlinked(x->t, f);
}

/* Forgets watch w (its inotify watch is gone or to be removed). The subs of
 * a dir of in-container files look for their dir again later; its files are
 * drained and closed. */
static void tail_forget_watch(struct tail *t, struct tail_watch *w)
{
	if (hmap_get(t->watch_paths, w->path, strlen(w->path)) == w)
		hmap_del(t->watch_paths, w->path, strlen(w->path));
	if (w->kind == TAIL_WATCH_ROOT)
		t->root_ok = false;
	if (w->kind == TAIL_WATCH_DOCKER_ROOT)
		t->docker_ok = false;
	if (w->kind == TAIL_WATCH_APP) {
		struct tail_file_visit x = {.t = t, .w = w};
		tail_for_files(&x, tail_retire_file);
		for (struct tail_sub *s = w->subs; s; s = s->next_in_watch)
			s->w = NULL;
		close(w->dirfd);
		t->stats.dirs_watched--;
	}
	free(w->path);
	free(w);
}

static void tail_drop_watch(struct tail *t, int wd)
{
	struct tail_watch *w = hmap_del(t->watches, &wd, sizeof(wd));

	if (w)
		tail_forget_watch(t, w);
}

static int64_t tail_birth_ns(int fd, bool *known)
{
	struct statx stx;
	struct timespec now;

	*known = false;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) != 0 || !(stx.stx_mask & STATX_BTIME))
		return 0;
	clock_gettime(CLOCK_REALTIME, &now);
	*known = true;
	return ((int64_t)now.tv_sec * 1000000000 + now.tv_nsec) -
	       ((int64_t)stx.stx_btime.tv_sec * 1000000000 + stx.stx_btime.tv_nsec);
}

/* Moves a file off its name, to the draining list (a new file has the name). */
static void tail_to_draining(struct tail *t, struct tail_fstate *f)
{
	if (f->draining)
		return;
	if (hmap_get(t->files, f->path, strlen(f->path)) == f)
		hmap_del(t->files, f->path, strlen(f->path));
	f->draining = true;
	f->next_draining = t->draining;
	t->draining = f;
}

static void tail_off_draining(struct tail *t, struct tail_fstate *f)
{
	struct tail_fstate **pos = &t->draining;

	while (*pos && *pos != f)
		pos = &(*pos)->next_draining;
	if (*pos)
		*pos = f->next_draining;
	f->draining = false;
}

/* "<dir>/<name>", or "/<name>" when dir is "/"; NULL without memory. */
static char *tail_join(const char *dir, const char *name)
{
	size_t d = strlen(dir), n = strlen(name);
	char *p;

	if (d && dir[d - 1] == '/')
		d--;
	p = malloc(d + n + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, d);
	p[d] = '/';
	memcpy(p + d + 1, name, n + 1);
	return p;
}

/* An in-container file renamed within its dir, to a name still read: its
 * reader goes on under the new name. Returns false without memory. */
static bool tail_relink(struct tail *t, struct tail_fstate *f, const char *path, size_t n,
			struct tail_sub *sub, const char *name)
{
	char *p = strdup(path), *cp = tail_join(sub->container_dir, name);
	struct tail_fstate *old = hmap_get(t->files, path, n);

	if (!p || !cp) {
		free(p);
		free(cp);
		return false;
	}
	if (old && old != f)
		tail_to_draining(t, old);
	if (f->draining)
		tail_off_draining(t, f);
	else if (hmap_get(t->files, f->path, strlen(f->path)) == f)
		hmap_del(t->files, f->path, strlen(f->path));
	if (hmap_put(t->files, p, n, f) != 0) {
		/* keep it draining under its old name */
		tail_to_draining(t, f);
		free(p);
		free(cp);
		return false;
	}
	log_debug("tail: %s is now %s", f->path, p);
	free(f->path);
	free(f->container_path);
	f->path = p;
	f->container_path = cp;
	f->pub.path = p;
	f->pub.container_path = cp;
	f->sub = sub;
	if (f->unlinked)
		t->stats.files_deleted_open--;
	f->unlinked = false;
	return true;
}

/* Why files on the filesystem of fd are not read, or NULL. A container can
 * name anything in its own root: the kernel's interfaces (its /proc/kmsg
 * would be drained away from the host), and filesystems whose server can
 * stop answering and stall the one loop every log goes through. */
static const char *tail_fs_refused(int fd)
{
	struct statfs fs;

	if (fstatfs(fd, &fs) != 0)
		return NULL;
	switch ((unsigned long)fs.f_type) {
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC:
	case SECURITYFS_MAGIC:
	case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC:
	case BPF_FS_MAGIC:
	case DEVPTS_SUPER_MAGIC:
	case PSTOREFS_MAGIC:
	case EFIVARFS_MAGIC:
	case 0x62656570: /* configfs */
		return "a kernel interface filesystem";
	case NFS_SUPER_MAGIC:
	case FUSE_SUPER_MAGIC:
	case SMB_SUPER_MAGIC:
	case CIFS_SUPER_MAGIC:
	case SMB2_SUPER_MAGIC:
	case 0x00c36400: /* ceph */
	case 0x01021997: /* 9p */
		return "a network or FUSE filesystem (a stalled server would stall the agent)";
	default:
		return NULL;
	}
}

/* Opens name in dir w for sub, as a plain file or not at all: the name is
 * pinned without following it or opening what it is (O_PATH), checked, and
 * only a regular file on an accepted filesystem is opened, through that
 * handle, so nothing the container renames in between is opened instead
 * (a device's open can have effects). Returns the fd or -1 (errno set;
 * 0 when refused). */
static int tail_open_plain(struct tail *t, const struct tail_watch *w, const char *name,
			   const char *path)
{
	struct stat st = {0};
	char proc[64];
	const char *why;
	int pfd = openat(w->dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC), fd;

	if (pfd < 0)
		return -1;
	if (fstat(pfd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (S_ISLNK(st.st_mode)) {
			t->stats.symlinks_skipped++;
			log_debug("tail: %s is a symlink; not read", path);
		}
		close(pfd);
		errno = 0;
		return -1;
	}
	why = tail_fs_refused(pfd);
	if (why) {
		t->stats.files_refused++;
		log_debug("tail: %s is on %s; not read", path, why);
		close(pfd);
		errno = 0;
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	close(pfd);
	return fd;
}

/* Opens path (n bytes) of dir w: by path in a container dir, else name in
 * w's dirfd for sub. rotated: a file under a rotated name, held like a
 * deleted one until drained. appeared: the name was just created or moved
 * here, maybe over a file being read. */
static void tail_open_path(struct tail *t, const struct tail_watch *w, const char *path, int n,
			   int restart, bool rotated, struct tail_sub *sub, const char *name,
			   bool appeared)
{
	struct tail_fstate *f = hmap_get(t->files, path, (size_t)n);
	struct tail_ino ino;
	struct stat st;
	int fd;

	if (f && !f->unlinked) {
		/* renamed over: the file read so far has no name any more. The
		 * name is looked at as it is opened: without following a link,
		 * in a container's dir through the dir's handle */
		if (!appeared ||
		    (sub ? fstatat(w->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) : lstat(path, &st)) !=
			0 ||
		    (st.st_dev == f->dev && st.st_ino == f->ino))
			return;
		tail_mark_file_unlinked(t, f);
		f = hmap_get(t->files, path, (size_t)n); /* it may have been closed */
	}
	if (sub) {
		fd = tail_open_plain(t, w, name, path);
		if (fd < 0 && errno == 0)
			return;
	} else {
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd < 0 && errno == ENOENT)
			return;
		if (fd < 0 && errno == ELOOP) {
			/* in a pods dir: a link to docker's own file (cri-dockerd), read
			 * from the docker root when that is set */
			t->stats.symlinks_skipped++;
			log_debug("tail: %s is a symlink; not read", path);
			return;
		}
		t->stats.open_errors++;
		log_warn("tail: open %s: %s", path,
			 fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return;
	}
	ino = (struct tail_ino){(uint64_t)st.st_dev, (uint64_t)st.st_ino};
	struct tail_fstate *same = hmap_get(t->inodes, &ino, sizeof(ino));
	if (same) {
		/* open already, under another name */
		close(fd);
		if (sub && same->unlinked && same->container_path &&
		    !tail_relink(t, same, path, (size_t)n, sub, name))
			log_error("tail: %s: out of memory", path);
		return;
	}
	if (f)
		tail_to_draining(
		    t, f); /* a new file under the name of one still draining: keep both */
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(path)) ||
	    (sub && !(f->container_path = tail_join(sub->container_dir, name))) ||
	    hmap_put(t->files, f->path, (size_t)n, f) != 0) {
		if (f) {
			free(f->container_path);
			free(f->path);
		}
		free(f);
		close(fd);
		t->stats.open_errors++;
		log_error("tail: open %s: out of memory", path);
		return;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	if (hmap_put(t->inodes, &ino, sizeof(ino), f) != 0) {
		hmap_del(t->files, f->path, (size_t)n);
		free(f->container_path);
		free(f->path);
		free(f);
		close(fd);
		t->stats.open_errors++;
		log_error("tail: open %s: out of memory", path);
		return;
	}
	f->fd = fd;
	f->sub = sub;
	f->pub.fd = fd;
	f->pub.path = f->path;
	f->pub.container_path = f->container_path;
	f->pub.format = sub			       ? TAIL_FORMAT_PLAIN
			: w->kind == TAIL_WATCH_DOCKER ? TAIL_FORMAT_DOCKER
						       : TAIL_FORMAT_CRI;
	f->pub.rotated = rotated;
	if (sub)
		w = &sub->ids;
	memcpy(f->pub.namespace_name, w->namespace_name, sizeof(f->pub.namespace_name));
	memcpy(f->pub.pod_name, w->pod_name, sizeof(f->pub.pod_name));
	memcpy(f->pub.pod_uid, w->pod_uid, sizeof(f->pub.pod_uid));
	memcpy(f->pub.container_name, w->container_name, sizeof(f->pub.container_name));
	memcpy(f->pub.container_id, w->container_id, sizeof(f->pub.container_id));
	f->pub.restart = restart;
	f->pub.open_ns = loop_now_ns();
	f->pub.create_to_open_ns = tail_birth_ns(fd, &f->pub.create_known);
	t->stats.files_opened++;
	t->stats.files_open++;
	t->cb.opened(t->ctx, &f->pub, &st);
	if (f->pub.start_offset > (uint64_t)st.st_size)
		f->pub.start_offset = 0;
	if (f->pub.start_offset &&
	    lseek(fd, (off_t)f->pub.start_offset, SEEK_SET) != (off_t)f->pub.start_offset)
		f->pub.start_offset = 0;
	f->offset = (off_t)f->pub.start_offset;
	f->line_start_off = f->pub.start_offset;
	f->pub.line_start = f->pub.line_end = f->pub.start_offset;
	/* the first bytes as opened: a truncation before the first read shows */
	tail_same_head(f, st.st_size);
	if (rotated) {
		f->unlinked = true;
		f->unlinked_ms = loop_now_ms();
		t->stats.files_deleted_open++;
	}
	log_debug("tail: opened %s at %llu", path, (unsigned long long)f->pub.start_offset);
	tail_make_pending(t, f);
}

/* "<restart>.log.<suffix>": the kubelet's rotated name. */
static bool tail_parse_rotated_name(const char *name, int *restart)
{
	char base[32];
	const char *dot = strstr(name, ".log.");
	size_t n = dot ? (size_t)(dot - name) + 4 : 0;

	if (!dot || n >= sizeof(base) || !dot[5])
		return false;
	memcpy(base, name, n);
	base[n] = '\0';
	return tail_parse_log_name(base, restart);
}

enum tail_name { TAIL_NAME_OTHER, TAIL_NAME_LIVE, TAIL_NAME_ROTATED };

/* A name in a container dir: the live log file, a rotated one, or other.
 * Docker's are <id>-json.log and <id>-json.log.<n>, the kubelet's <restart>.log
 * and <restart>.log.<time>. Compressed files are never read. */
static enum tail_name tail_classify(const struct tail_watch *w, const char *name, int *restart)
{
	size_t len = strlen(name);

	*restart = 0;
	if (len > 3 && strcmp(name + len - 3, ".gz") == 0)
		return TAIL_NAME_OTHER;
	if (w->kind == TAIL_WATCH_DOCKER) {
		size_t n = strlen(w->container_id);
		const char *rest;
		if (len < n + 9 || strncmp(name, w->container_id, n) != 0 ||
		    strncmp(name + n, "-json.log", 9) != 0)
			return TAIL_NAME_OTHER;
		rest = name + n + 9;
		if (!*rest)
			return TAIL_NAME_LIVE;
		return rest[0] == '.' && rest[1] ? TAIL_NAME_ROTATED : TAIL_NAME_OTHER;
	}
	if (tail_parse_log_name(name, restart))
		return TAIL_NAME_LIVE;
	return tail_parse_rotated_name(name, restart) ? TAIL_NAME_ROTATED : TAIL_NAME_OTHER;
}

static void tail_open_file(struct tail *t, const struct tail_watch *cdir, const char *name,
			   bool appeared)
{
	char path[PATH_MAX];
	int restart, n;

	if (tail_classify(cdir, name, &restart) != TAIL_NAME_LIVE)
		return;
	n = snprintf(path, sizeof(path), "%s/%s", cdir->path, name);
	if (n > 0 && (size_t)n < sizeof(path))
		tail_open_path(t, cdir, path, n, restart, false, NULL, NULL, appeared);
}

/* At a scan: a rotated file the caller still owes lines of is opened. */
static void tail_consider_rotated(struct tail *t, const struct tail_watch *cdir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int restart, n;

	if (!t->cb.wanted || tail_classify(cdir, name, &restart) != TAIL_NAME_ROTATED)
		return;
	n = snprintf(path, sizeof(path), "%s/%s", cdir->path, name);
	if (n <= 0 || (size_t)n >= sizeof(path) || hmap_get(t->files, path, (size_t)n) ||
	    lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || !t->cb.wanted(t->ctx, path, &st))
		return;
	tail_open_path(t, cdir, path, n, restart, true, NULL, NULL, false);
}

static void tail_scan_container_dir(struct tail *t, struct tail_watch *cdir)
{
	DIR *d = opendir(cdir->path);
	struct dirent *de;

	if (!d)
		return;
	/* live names first: their checkpoints decide which rotated files are owed */
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN)
			tail_open_file(t, cdir, de->d_name, false);
	rewinddir(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN)
			tail_consider_rotated(t, cdir, de->d_name);
	closedir(d);
}

static void tail_add_container_dir(struct tail *t, const struct tail_watch *pod, const char *name)
{
	char path[PATH_MAX];
	struct tail_watch ids = *pod, *w;
	size_t n = strlen(name);

	if (name[0] == '.' || n > TAIL_NAME_MAX ||
	    snprintf(path, sizeof(path), "%s/%s", pod->path, name) >= (int)sizeof(path))
		return;
	memcpy(ids.container_name, name, n + 1);
	w = tail_add_watch(t, path, TAIL_WATCH_CONTAINER, &ids);
	if (w)
		tail_scan_container_dir(t, w);
}

static void tail_add_pod_dir(struct tail *t, const char *name)
{
	char path[PATH_MAX];
	struct tail_watch ids = {0}, *w;
	struct dirent *de;
	DIR *d;

	if (!tail_parse_pod_dir(name, &ids) ||
	    snprintf(path, sizeof(path), "%s/%s", t->opts.pods_dir, name) >= (int)sizeof(path))
		return;
	w = tail_add_watch(t, path, TAIL_WATCH_POD, &ids);
	if (!w)
		return;
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN)
			tail_add_container_dir(t, w, de->d_name);
	closedir(d);
}

/* Closes f's descriptor and frees it (off every list but the inode map). */
static void tail_free_fstate(struct tail *t, struct tail_fstate *f)
{
	struct tail_ino ino = {(uint64_t)f->dev, (uint64_t)f->ino};

	if (hmap_get(t->inodes, &ino, sizeof(ino)) == f)
		hmap_del(t->inodes, &ino, sizeof(ino));
	close(f->fd);
	free(f->carry);
	free(f->container_path);
	free(f->path);
	free(f);
}

/* Closes a file. drained: it was read to its end, so an unterminated last
 * line is handed over first. */
static void tail_close_file(struct tail *t, struct tail_fstate *f, bool drained)
{
	struct stat st;
	bool gone = fstat(f->fd, &st) == 0 && st.st_nlink == 0;

	if (drained && f->carry_len) {
		f->pub.line_start = f->line_start_off;
		f->pub.line_end = (uint64_t)f->offset;
		t->cb.line(t->ctx, &f->pub, f->carry, f->carry_len,
			   TAIL_PIECE_UNTERMINATED | (f->in_piece ? TAIL_PIECE_CONT : 0));
		f->carry_len = 0;
	}
	t->cb.closed(t->ctx, &f->pub, drained, gone);
	if (f->draining)
		tail_off_draining(t, f);
	else if (hmap_get(t->files, f->path, strlen(f->path)) == f)
		hmap_del(t->files, f->path, strlen(f->path));
	t->stats.files_closed++;
	t->stats.files_open--;
	if (f->unlinked)
		t->stats.files_deleted_open--;
	log_debug("tail: closed %s", f->path);
	tail_free_fstate(t, f);
}

static bool tail_carry(struct tail_fstate *f, const char *data, size_t len)
{
	if (f->carry_cap - f->carry_len < len) {
		size_t cap = f->carry_cap ? f->carry_cap : 4096;
		char *nb;
		while (cap - f->carry_len < len)
			cap *= 2;
		nb = realloc(f->carry, cap);
		if (!nb)
			return false;
		f->carry = nb;
		f->carry_cap = cap;
	}
	memcpy(f->carry + f->carry_len, data, len);
	f->carry_len += len;
	return true;
}

/* Hands over complete lines of data (plus what was carried) and carries the
 * rest. data begins at file offset base. */
static void tail_split(struct tail *t, struct tail_fstate *f, const char *data, size_t len,
		       uint64_t base)
{
	size_t limit = t->opts.max_line + TAIL_HEADER_ROOM;
	const char *begin = data;

	f->pub.line_start = f->line_start_off;
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl ? (size_t)(nl - data) : len;
		unsigned flags = f->in_piece ? TAIL_PIECE_CONT : 0;

		if (f->carry_len + take > limit) {
			/* too long: hand over a piece of exactly limit bytes */
			size_t room = limit - f->carry_len;
			if (!tail_carry(f, data, room)) {
				room = 0;
			}
			f->pub.line_end = base + (uint64_t)(data + room - begin);
			t->cb.line(t->ctx, &f->pub, f->carry, f->carry_len,
				   flags | TAIL_PIECE_MORE);
			t->stats.lines_split++;
			f->carry_len = 0;
			f->in_piece = true;
			data += room;
			len -= room;
			continue;
		}
		if (!nl) {
			if (!tail_carry(f, data, len)) {
				/* out of memory: hand the piece over rather than lose it */
				f->pub.line_end = base + (uint64_t)(data + len - begin);
				t->cb.line(t->ctx, &f->pub, data, len, flags | TAIL_PIECE_MORE);
				f->in_piece = true;
			}
			return;
		}
		f->pub.line_end = base + (uint64_t)(nl + 1 - begin);
		if (f->carry_len) {
			if (tail_carry(f, data, take)) {
				t->cb.line(t->ctx, &f->pub, f->carry, f->carry_len, flags);
			} else {
				t->cb.line(t->ctx, &f->pub, f->carry, f->carry_len,
					   flags | TAIL_PIECE_MORE);
				t->cb.line(t->ctx, &f->pub, data, take, TAIL_PIECE_CONT);
			}
			f->carry_len = 0;
		} else {
			t->cb.line(t->ctx, &f->pub, data, take, flags);
		}
		t->stats.lines_read++;
		f->in_piece = false;
		f->line_start_off = f->pub.line_end;
		f->pub.line_start = f->line_start_off;
		data += take + 1;
		len -= take + 1;
	}
}

/* After a truncation: a copy of the old content (copytruncate) may hold
 * lines not read yet; the caller's wanted() recognizes it. */
static void tail_look_for_copy(struct tail *t, const struct tail_fstate *f)
{
	const char *slash = strrchr(f->path, '/');
	struct tail_watch *w;
	struct dirent *de;
	DIR *d;

	if (!slash)
		return;
	w = hmap_get(t->watch_paths, f->path, (size_t)(slash - f->path));
	if (!w || (w->kind != TAIL_WATCH_CONTAINER && w->kind != TAIL_WATCH_DOCKER) ||
	    !(d = opendir(w->path)))
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_type == DT_REG || de->d_type == DT_UNKNOWN)
			tail_consider_rotated(t, w, de->d_name);
	closedir(d);
}

/* Do the file's first bytes still read as they did? A file truncated and
 * written again past the read offset (copytruncate, between two reads) does
 * not shrink, but its beginning changes. The sample grows to TAIL_HEAD. */
static bool tail_same_head(struct tail_fstate *f, off_t size)
{
	char buf[TAIL_HEAD];
	size_t want = size < TAIL_HEAD ? (size_t)size : TAIL_HEAD;
	ssize_t n = want ? pread(f->fd, buf, want, 0) : 0;

	if (n < 0)
		return true; /* unknown: keep reading */
	if ((size_t)n < f->head_len || memcmp(buf, f->head, f->head_len) != 0)
		return false;
	memcpy(f->head, buf, (size_t)n);
	f->head_len = (size_t)n;
	return true;
}

/* Reads up to the budget. Returns true when the file has more to read now. */
static bool tail_read_file(struct tail *t, struct tail_fstate *f)
{
	size_t budget = t->opts.read_budget;
	struct stat st;

	if (fstat(f->fd, &st) == 0 && (st.st_size < f->offset || !tail_same_head(f, st.st_size))) {
		uint64_t handed = f->line_start_off;
		t->stats.truncations++;
		log_warn("tail: %s was truncated (read to %lld, %lld bytes now); reading from 0",
			 f->path, (long long)f->offset, (long long)st.st_size);
		lseek(f->fd, 0, SEEK_SET);
		f->offset = 0;
		f->head_len = 0;
		f->line_start_off = 0;
		f->pub.line_start = f->pub.line_end = 0;
		f->carry_len = 0;
		f->in_piece = false;
		t->cb.truncated(t->ctx, &f->pub, handed);
		tail_look_for_copy(t, f);
	}
	while (budget > 0) {
		ssize_t n = read(f->fd, t->rbuf, TAIL_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno != EAGAIN) {
				t->stats.read_errors++;
				log_warn("tail: read %s: %s", f->path, strerror(errno));
			}
			f->readable = false;
			return false;
		}
		if (n == 0) {
			f->readable = false;
			return false;
		}
		f->offset += n;
		f->idle_since_ms = 0;
		t->stats.bytes_read += (uint64_t)n;
		tail_split(t, f, t->rbuf, (size_t)n, (uint64_t)(f->offset - n));
		budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
	}
	return true;
}

static void tail_process_pending(struct tail *t)
{
	struct tail_fstate *head = t->pending_head;

	t->pending_head = t->pending_tail = NULL;
	while (head) {
		struct tail_fstate *f = head;
		head = f->next_pending;
		f->pending = false;
		if (!t->cb.ready(t->ctx, &f->pub))
			continue; /* stays readable; woken later */
		if (tail_read_file(t, f))
			tail_make_pending(t, f);
	}
}

static void tail_kicked(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct tail *t = arg;
	uint64_t v;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("tail: eventfd: %s", strerror(errno));
	t->kicked = false;
	tail_process_pending(t);
}

struct tail_oldest {
	struct tail_fstate *f;
};

static void tail_oldest_check(struct tail_oldest *x, struct tail_fstate *f)
{
	if (f->unlinked && (!x->f || f->unlinked_ms < x->f->unlinked_ms))
		x->f = f;
}

static bool tail_oldest_visit(const void *key, size_t key_len, void *value, void *arg)
{
	(void)key;
	(void)key_len;
	tail_oldest_check(arg, value);
	return false;
}

static void tail_unpend(struct tail *t, struct tail_fstate *f)
{
	struct tail_fstate **pos = &t->pending_head, *prev = NULL;

	if (!f->pending)
		return;
	while (*pos && *pos != f) {
		prev = *pos;
		pos = &(*pos)->next_pending;
	}
	if (!*pos)
		return;
	*pos = f->next_pending;
	if (t->pending_tail == f)
		t->pending_tail = prev;
	f->pending = false;
}

/* More deleted files are held than allowed: the one deleted longest ago is
 * closed, and what it still held is counted as lost. */
static void tail_close_oldest_unlinked(struct tail *t)
{
	struct tail_oldest x = {0};
	struct stat st;
	uint64_t unread = 0;

	hmap_foreach(t->files, tail_oldest_visit, &x);
	for (struct tail_fstate *f = t->draining; f; f = f->next_draining)
		tail_oldest_check(&x, f);
	if (!x.f)
		return;
	if (fstat(x.f->fd, &st) == 0 && st.st_size > x.f->offset)
		unread = (uint64_t)(st.st_size - x.f->offset);
	t->stats.deleted_closed_unread++;
	t->stats.deleted_unread_bytes += unread;
	log_warn("tail: more than %zu deleted files open; closing %s with %llu bytes unread",
		 t->opts.max_deleted_open, x.f->path, (unsigned long long)unread);
	tail_unpend(t, x.f);
	tail_close_file(t, x.f, false);
}

static void tail_mark_file_unlinked(struct tail *t, struct tail_fstate *f)
{
	if (f->unlinked)
		return;
	f->unlinked = true;
	f->unlinked_ms = loop_now_ms();
	t->stats.files_deleted_open++;
	tail_make_pending(t, f);
	if (t->stats.files_deleted_open > t->opts.max_deleted_open)
		tail_close_oldest_unlinked(t);
}

static struct tail_fstate *tail_file_in(struct tail *t, const struct tail_watch *w,
					const char *name)
{
	char path[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", w->path, name);

	return n > 0 && (size_t)n < sizeof(path) ? hmap_get(t->files, path, (size_t)n) : NULL;
}

/* A name in a dir of in-container files: opened for the first sub whose
 * pattern it matches. */
static void tail_open_app(struct tail *t, struct tail_watch *w, const char *name, bool appeared)
{
	char path[PATH_MAX];
	int n;

	if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2])))
		return;
	for (struct tail_sub *s = w->subs; s; s = s->next_in_watch) {
		if (fnmatch(s->pattern, name, FNM_PERIOD) != 0)
			continue;
		n = snprintf(path, sizeof(path), "%s/%s", w->path, name);
		if (n > 0 && (size_t)n < sizeof(path))
			tail_open_path(t, w, path, n, 0, false, s, name, appeared);
		return;
	}
}

static void tail_open_name(struct tail *t, struct tail_watch *w, const char *name, bool appeared)
{
	if (w->kind == TAIL_WATCH_APP)
		tail_open_app(t, w, name, appeared);
	else
		tail_open_file(t, w, name, appeared);
}

/* An event on a file of a container dir or of a dir of in-container files. */
static void tail_file_event(struct tail *t, struct tail_watch *w, const struct inotify_event *ev)
{
	struct tail_fstate *f;

	if (ev->mask & IN_ISDIR)
		return;
	if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
		tail_open_name(t, w, ev->name, true);
	} else if (ev->mask & IN_MODIFY) {
		f = tail_file_in(t, w, ev->name);
		if (f)
			tail_make_pending(t, f);
		else
			tail_open_name(t, w, ev->name, false);
	} else if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
		f = tail_file_in(t, w, ev->name);
		if (f)
			tail_mark_file_unlinked(t, f);
	}
}

/* "<docker root>/containers/<id>": its log file when one is made. */
static void tail_add_docker_dir(struct tail *t, const char *id)
{
	char path[PATH_MAX];
	struct tail_watch ids = {0}, *w;
	size_t n = strlen(id);

	if (n == 0 || n > TAIL_ID_MAX || strspn(id, "0123456789abcdef") != n ||
	    snprintf(path, sizeof(path), "%s/%s", t->opts.docker_dir, id) >= (int)sizeof(path))
		return;
	memcpy(ids.container_id, id, n + 1);
	w = tail_add_watch(t, path, TAIL_WATCH_DOCKER, &ids);
	if (w)
		tail_scan_container_dir(t, w);
}

/* Watches docker's containers dir, when there is one: on most nodes there
 * is none, which is not worth a word. */
static void tail_watch_docker(struct tail *t)
{
	struct dirent *de;
	DIR *d;

	if (!t->opts.docker_dir)
		return;
	if (!t->docker_ok) {
		if (access(t->opts.docker_dir, R_OK | X_OK) != 0 ||
		    !tail_add_watch(t, t->opts.docker_dir, TAIL_WATCH_DOCKER_ROOT, NULL))
			return;
		t->docker_ok = true;
		log_info("tail: reading docker's json-file logs under %s", t->opts.docker_dir);
	}
	d = opendir(t->opts.docker_dir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))
			tail_add_docker_dir(t, de->d_name);
	closedir(d);
}

static void tail_inotify_event(struct tail *t, const struct inotify_event *ev)
{
	struct tail_watch *w;

	if (ev->mask & IN_Q_OVERFLOW) {
		t->stats.inotify_overflows++;
		log_warn("tail: inotify queue overflowed; rescanning %s", t->opts.pods_dir);
		tail_rescan(t);
		return;
	}
	w = hmap_get(t->watches, &ev->wd, sizeof(ev->wd));
	if (!w)
		return;
	if (ev->mask & IN_IGNORED) {
		tail_drop_watch(t, ev->wd);
		return;
	}
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
		inotify_rm_watch(t->ifd, ev->wd);
		return;
	}
	if (!ev->len)
		return;
	switch (w->kind) {
	case TAIL_WATCH_ROOT:
		if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
			tail_add_pod_dir(t, ev->name);
		break;
	case TAIL_WATCH_POD:
		if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
			tail_add_container_dir(t, w, ev->name);
		break;
	case TAIL_WATCH_DOCKER_ROOT:
		if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
			tail_add_docker_dir(t, ev->name);
		break;
	case TAIL_WATCH_CONTAINER:
	case TAIL_WATCH_DOCKER:
	case TAIL_WATCH_APP:
		tail_file_event(t, w, ev);
		break;
	}
}

static void tail_inotify_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct tail *t = arg;
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	(void)loop;
	(void)events;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			tail_inotify_event(t, ev);
			p += sizeof(*ev) + ev->len;
		}
	}
	/* read what the new files hold before the loop sleeps */
	tail_process_pending(t);
}

/* Watches the pods log dir. A dir that is missing or unreadable is reported
 * once with its path and retried on every rescan; its arrival is reported too. */
static void tail_watch_root(struct tail *t)
{
	struct stat st;
	const char *why = NULL;
	int rc;

	if (t->root_ok)
		return;
	rc = stat(t->opts.pods_dir, &st);
	if (rc == 0 && !S_ISDIR(st.st_mode))
		why = "not a directory";
	else if (rc != 0 || access(t->opts.pods_dir, R_OK | X_OK) != 0)
		why = strerror(errno);
	if (why) {
		if (!t->root_warned)
			log_error("tail: pods log dir %s: %s; retrying every %lld ms",
				  t->opts.pods_dir, why, (long long)t->opts.rescan_ms);
		t->root_warned = true;
		return;
	}
	if (!tail_add_watch(t, t->opts.pods_dir, TAIL_WATCH_ROOT, NULL))
		return;
	t->root_ok = true;
	if (t->root_warned)
		log_info("tail: pods log dir %s is there now", t->opts.pods_dir);
	t->root_warned = false;
}

static void tail_rescan(struct tail *t)
{
	DIR *d;
	struct dirent *de;

	t->stats.rescans++;
	hmap_foreach(t->watches, tail_rescan_app_visit, t);
	tail_watch_docker(t);
	tail_watch_root(t);
	if (!t->root_ok)
		return;
	d = opendir(t->opts.pods_dir);
	if (!d) {
		log_error("tail: read pods log dir %s: %s", t->opts.pods_dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.' && (de->d_type == DT_DIR || de->d_type == DT_UNKNOWN))
			tail_add_pod_dir(t, de->d_name);
	closedir(d);
}

struct tail_tick_ctx {
	struct tail *t;
	int64_t now_ms;
	struct tail_fstate *to_close;
	const char *wake_uid;
};

/* Gives a file its turn on the tick: read it if it may have bytes; queue it
 * for closing when it was deleted or renamed and has been drained and quiet
 * for the grace time. */
static void tail_tick_file(struct tail_tick_ctx *x, struct tail_fstate *f)
{
	if (f->readable) {
		tail_make_pending(x->t, f);
		return;
	}
	if (!f->unlinked)
		return;
	if (!f->idle_since_ms)
		f->idle_since_ms = x->now_ms;
	if (x->now_ms - f->unlinked_ms >= x->t->opts.deleted_grace_ms &&
	    x->now_ms - f->idle_since_ms >= x->t->opts.deleted_grace_ms && !f->pending) {
		f->next_pending = x->to_close;
		x->to_close = f;
	} else {
		tail_make_pending(x->t, f); /* a renamed file may still grow */
	}
}

static bool tail_tick_visit(const void *key, size_t key_len, void *value, void *arg)
{
	(void)key;
	(void)key_len;
	tail_tick_file(arg, value);
	return false;
}

static void tail_tick(struct loop *loop, void *arg)
{
	struct tail *t = arg;
	struct tail_tick_ctx x = {.t = t, .now_ms = loop_now_ms()};

	t->tick = loop_timer_add(loop, TAIL_TICK_MS, tail_tick, t);
	hmap_foreach(t->files, tail_tick_visit, &x);
	for (struct tail_fstate *f = t->draining; f; f = f->next_draining)
		tail_tick_file(&x, f);
	while (x.to_close) {
		struct tail_fstate *f = x.to_close;
		x.to_close = f->next_pending;
		tail_close_file(t, f, true);
	}
	if (x.now_ms >= t->next_dir_try_ms) {
		t->next_dir_try_ms = x.now_ms + TAIL_DIR_RETRY_MS;
		hmap_foreach(t->subs, tail_retry_visit, t);
	}
	if (x.now_ms >= t->next_rescan_ms) {
		t->next_rescan_ms = x.now_ms + t->opts.rescan_ms;
		tail_rescan(t);
	}
}

int tail_open(struct tail **out, struct loop *loop, const struct tail_options *opts,
	      const struct tail_callbacks *cb, void *ctx)
{
	struct tail *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	t->loop = loop;
	t->opts = *opts;
	t->cb = *cb;
	t->ctx = ctx;
	t->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	t->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	t->watches = hmap_new();
	t->watch_paths = hmap_new();
	t->files = hmap_new();
	t->inodes = hmap_new();
	t->subs = hmap_new();
	t->rbuf = malloc(TAIL_READ_CHUNK);
	if (t->ifd < 0 || t->kick_fd < 0) {
		err = -errno;
		log_error("tail: inotify/eventfd: %s", strerror(errno));
		goto fail;
	}
	err = -ENOMEM;
	if (!t->watches || !t->watch_paths || !t->files || !t->inodes || !t->subs || !t->rbuf)
		goto fail;
	err = loop_add_fd(loop, t->ifd, EPOLLIN, tail_inotify_readable, t);
	if (!err)
		err = loop_add_fd(loop, t->kick_fd, EPOLLIN, tail_kicked, t);
	if (err)
		goto fail;
	t->tick = loop_timer_add(loop, TAIL_TICK_MS, tail_tick, t);
	t->next_rescan_ms = loop_now_ms() + t->opts.rescan_ms;
	tail_rescan(t);
	*out = t;
	return 0;
fail:
	tail_close(t);
	return err;
}

static bool tail_free_file(const void *key, size_t key_len, void *value, void *arg)
{
	struct tail *t = arg;
	struct tail_fstate *f = value;

	(void)key;
	(void)key_len;
	t->cb.closed(t->ctx, &f->pub, false, false);
	tail_free_fstate(t, f);
	return true;
}

static bool tail_free_watch(const void *key, size_t key_len, void *value, void *arg)
{
	struct tail_watch *w = value;

	(void)key;
	(void)key_len;
	(void)arg;
	if (w->kind == TAIL_WATCH_APP)
		close(w->dirfd);
	free(w->path);
	free(w);
	return true;
}

static void tail_free_sub(struct tail_sub *s);

static bool tail_free_sub_visit(const void *key, size_t key_len, void *value, void *arg)
{
	(void)key;
	(void)key_len;
	(void)arg;
	tail_free_sub(value);
	return true;
}

void tail_close(struct tail *t)
{
	if (!t)
		return;
	if (t->tick)
		loop_timer_cancel(t->loop, t->tick);
	if (t->files)
		hmap_foreach(t->files, tail_free_file, t);
	while (t->draining) {
		struct tail_fstate *f = t->draining;
		t->draining = f->next_draining;
		tail_free_file(NULL, 0, f, t);
	}
	if (t->watches)
		hmap_foreach(t->watches, tail_free_watch, t);
	if (t->subs)
		hmap_foreach(t->subs, tail_free_sub_visit, t);
	hmap_free(t->files);
	hmap_free(t->inodes);
	hmap_free(t->subs);
	hmap_free(t->watches);
	hmap_free(t->watch_paths);
	if (t->ifd >= 0) {
		loop_del_fd(t->loop, t->ifd);
		close(t->ifd);
	}
	if (t->kick_fd >= 0) {
		loop_del_fd(t->loop, t->kick_fd);
		close(t->kick_fd);
	}
	free(t->rbuf);
	free(t);
}

void tail_pod_hint(struct tail *t, const char *uid)
{
	size_t uid_len = strlen(uid);
	struct dirent *de;
	DIR *d;

	if (!t->root_ok || !uid_len)
		return;
	d = opendir(t->opts.pods_dir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n > uid_len + 1 && de->d_name[n - uid_len - 1] == '_' &&
		    strcmp(de->d_name + n - uid_len, uid) == 0)
			tail_add_pod_dir(t, de->d_name);
	}
	closedir(d);
}

static bool tail_wake_visit(const void *key, size_t key_len, void *value, void *arg)
{
	struct tail_tick_ctx *x = arg;
	struct tail_fstate *f = value;

	(void)key;
	(void)key_len;
	if (f->readable && (!x->wake_uid || strcmp(f->pub.pod_uid, x->wake_uid) == 0))
		tail_make_pending(x->t, f);
	return false;
}

void tail_wake_pod(struct tail *t, const char *uid)
{
	struct tail_tick_ctx x = {.t = t, .wake_uid = uid};

	hmap_foreach(t->files, tail_wake_visit, &x);
}

static bool tail_busy_visit(const void *key, size_t key_len, void *value, void *arg)
{
	const struct tail_fstate *f = value;

	(void)key;
	(void)key_len;
	if (f->readable || f->pending)
		*(bool *)arg = true;
	return false;
}

bool tail_busy(const struct tail *t)
{
	bool busy = false;

	if (t->pending_head)
		return true;
	hmap_foreach(t->files, tail_busy_visit, &busy);
	for (const struct tail_fstate *f = t->draining; f && !busy; f = f->next_draining)
		busy = f->readable || f->pending;
	return busy;
}

static bool tail_finish_visit(const void *key, size_t key_len, void *value, void *arg)
{
	struct tail_fstate *f = value, **list = arg;

	(void)key;
	(void)key_len;
	f->next_pending = *list;
	*list = f;
	return false;
}

void tail_finish(struct tail *t)
{
	struct tail_fstate *list = NULL;

	t->pending_head = t->pending_tail = NULL;
	hmap_foreach(t->files, tail_finish_visit, &list);
	while (list) {
		struct tail_fstate *f = list;
		list = f->next_pending;
		f->pending = false;
		tail_close_file(t, f, true);
	}
	while (t->draining) {
		struct tail_fstate *f = t->draining;
		t->draining = f->next_draining;
		f->draining = false;
		tail_close_file(t, f, true);
	}
}

struct tail_collect {
	struct tail_file_visit *x;
	struct tail_fstate **list;
	size_t n, cap;
	bool failed;
};

static void tail_collect(struct tail_collect *c, struct tail_fstate *f)
{
	if (!tail_visit_match(c->x, f))
		return;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct tail_fstate **nl = realloc(c->list, cap * sizeof(*nl));
		if (!nl) {
			c->failed = true;
			return;
		}
		c->list = nl;
		c->cap = cap;
	}
	c->list[c->n++] = f;
}

static bool tail_collect_visit(const void *key, size_t key_len, void *value, void *arg)
{
	(void)key;
	(void)key_len;
	tail_collect(arg, value);
	return false;
}

static void tail_for_files(struct tail_file_visit *x,
			   void (*fn)(struct tail_file_visit *x, struct tail_fstate *f))
{
	struct tail_collect c = {.x = x};
	struct tail *t = x->t;

	/* collected first: fn may close files */
	hmap_foreach(t->files, tail_collect_visit, &c);
	for (struct tail_fstate *f = t->draining; f; f = f->next_draining)
		tail_collect(&c, f);
	if (c.failed)
		log_error("tail: out of memory; some files were passed over");
	for (size_t i = 0; i < c.n; i++) {
		struct tail_ino ino = {(uint64_t)c.list[i]->dev, (uint64_t)c.list[i]->ino};
		/* still open (fn closed none of the later ones) */
		if (hmap_get(t->inodes, &ino, sizeof(ino)) == c.list[i])
			fn(x, c.list[i]);
	}
	free(c.list);
}

static void tail_finished_file(struct tail_file_visit *x, struct tail_fstate *f)
{
	f->finished = true;
	if (f->readable && f->pending) {
		tail_unpend(x->t, f);
		tail_make_pending(x->t, f); /* to the front */
	}
}

void tail_container_finished(struct tail *t, const char *pod_uid, const char *container_name)
{
	struct tail_file_visit x = {.t = t, .uid = pod_uid, .container = container_name};

	tail_for_files(&x, tail_finished_file);
}

/* Opens every matching file of dir w. */
static void tail_scan_app(struct tail *t, struct tail_watch *w)
{
	int fd = openat(w->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL)
		if (de->d_type != DT_DIR)
			tail_open_app(t, w, de->d_name,
				      false); /* counts the symlinks passed over */
	closedir(d);
}

/* Looks for the dir of s, and watches it when it is there. */
static void tail_try_sub(struct tail *t, struct tail_sub *s)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
	    .resolve = RESOLVE_NO_MAGICLINKS | (s->in_root ? RESOLVE_IN_ROOT : RESOLVE_BENEATH),
	};
	char proc[64], *path;
	const char *why;
	struct tail_watch *w;
	int fd, wd;

	if (s->w)
		return;
	fd = (int)syscall(SYS_openat2, s->root_fd, s->rel[0] ? s->rel : ".", &how, sizeof(how));
	if (fd < 0) {
		if (errno != ENOENT && !s->warned) {
			s->warned = true;
			t->stats.dir_errors++;
			log_warn("tail: %s/%s: %s%s", s->root_path, s->rel, strerror(errno),
				 errno == EXDEV || errno == ELOOP
				     ? " (a symlink leads out of the volume); not read"
				     : "; trying again");
		}
		return;
	}
	why = tail_fs_refused(fd);
	if (why) {
		if (!s->warned)
			log_warn("tail: %s/%s is on %s; not read", s->root_path, s->rel, why);
		s->warned = true;
		t->stats.dir_errors++;
		close(fd);
		return;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	wd = inotify_add_watch(t->ifd, proc,
			       IN_ONLYDIR | IN_MASK_ADD | IN_DELETE_SELF | IN_MOVE_SELF |
				   IN_CREATE | IN_MOVED_TO | TAIL_FILE_MASK);
	if (wd < 0) {
		if (!s->warned)
			log_warn("tail: watch %s/%s: %s", s->root_path, s->rel, strerror(errno));
		s->warned = true;
		t->stats.dir_errors++;
		close(fd);
		return;
	}
	w = hmap_get(t->watches, &wd, sizeof(wd));
	if (w) {
		close(fd);
		if (w->kind != TAIL_WATCH_APP) {
			if (!s->warned)
				log_warn(
				    "tail: %s/%s is a pods log dir; not read as in-container files",
				    s->root_path, s->rel);
			s->warned = true;
			return;
		}
	} else {
		w = calloc(1, sizeof(*w));
		path = w ? tail_join(s->root_path, s->rel) : NULL;
		if (!path || hmap_put(t->watches, &wd, sizeof(wd), w) != 0) {
			log_error("tail: watch %s/%s: out of memory", s->root_path, s->rel);
			inotify_rm_watch(t->ifd, wd);
			free(path);
			free(w);
			close(fd);
			return;
		}
		if (s->rel[0] == '\0')
			path[strlen(path) - 1] = '\0'; /* no trailing '/' */
		w->kind = TAIL_WATCH_APP;
		w->wd = wd;
		w->path = path;
		w->dirfd = fd;
		t->stats.dirs_watched++;
		log_debug("tail: watching %s for %s (%s)", path, s->pattern, s->container_dir);
	}
	s->w = w;
	s->next_in_watch = w->subs;
	w->subs = s;
	tail_scan_app(t, w);
}

static bool tail_name_ok(const char *s)
{
	return s && strlen(s) <= TAIL_NAME_MAX;
}

int tail_add_dir(struct tail *t, const struct tail_dir *d)
{
	struct tail_sub *s;

	if (!d->key || d->root_fd < 0 || !d->root_path || !d->rel || d->rel[0] == '/' ||
	    !d->container_dir || d->container_dir[0] != '/' || !d->pattern || !d->pattern[0] ||
	    !tail_name_ok(d->namespace_name) || !tail_name_ok(d->pod_name) ||
	    !tail_name_ok(d->pod_uid) || !tail_name_ok(d->container_name)) {
		if (d->root_fd >= 0)
			close(d->root_fd);
		return -EINVAL;
	}
	if (hmap_get(t->subs, d->key, strlen(d->key))) {
		close(d->root_fd);
		return 0;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->key = strdup(d->key)) || !(s->root_path = strdup(d->root_path)) ||
	    !(s->rel = strdup(d->rel)) || !(s->container_dir = strdup(d->container_dir)) ||
	    !(s->pattern = strdup(d->pattern)) ||
	    hmap_put(t->subs, s->key, strlen(s->key), s) != 0) {
		if (s) {
			free(s->key);
			free(s->root_path);
			free(s->rel);
			free(s->container_dir);
			free(s->pattern);
		}
		free(s);
		close(d->root_fd);
		return -ENOMEM;
	}
	s->root_fd = d->root_fd;
	s->in_root = d->in_root;
	/* lengths checked above */
	snprintf(s->ids.namespace_name, sizeof(s->ids.namespace_name), "%s", d->namespace_name);
	snprintf(s->ids.pod_name, sizeof(s->ids.pod_name), "%s", d->pod_name);
	snprintf(s->ids.pod_uid, sizeof(s->ids.pod_uid), "%s", d->pod_uid);
	snprintf(s->ids.container_name, sizeof(s->ids.container_name), "%s", d->container_name);
	tail_try_sub(t, s);
	return 0;
}

static void tail_free_sub(struct tail_sub *s)
{
	close(s->root_fd);
	free(s->key);
	free(s->root_path);
	free(s->rel);
	free(s->container_dir);
	free(s->pattern);
	free(s);
}

void tail_remove_dir(struct tail *t, const char *key)
{
	struct tail_sub *s = hmap_del(t->subs, key, strlen(key));
	struct tail_file_visit x = {.t = t};
	struct tail_watch *w;

	if (!s)
		return;
	x.sub = s;
	tail_for_files(&x, tail_retire_file);
	w = s->w;
	if (w) {
		struct tail_sub **pos = &w->subs;
		while (*pos && *pos != s)
			pos = &(*pos)->next_in_watch;
		if (*pos)
			*pos = s->next_in_watch;
		if (!w->subs) {
			hmap_del(t->watches, &w->wd, sizeof(w->wd));
			inotify_rm_watch(t->ifd, w->wd);
			tail_forget_watch(t, w);
		}
	}
	tail_free_sub(s);
}

static bool tail_retry_visit(const void *key, size_t key_len, void *value, void *arg)
{
	(void)key;
	(void)key_len;
	tail_try_sub(arg, value);
	return false;
}

static bool tail_rescan_app_visit(const void *key, size_t key_len, void *value, void *arg)
{
	struct tail_watch *w = value;

	(void)key;
	(void)key_len;
	if (w->kind == TAIL_WATCH_APP)
		tail_scan_app(arg, w);
	return false;
}

void tail_get_stats(const struct tail *t, struct tail_stats *out)
{
	*out = t->stats;
}
