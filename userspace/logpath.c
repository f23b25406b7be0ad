/* logpath.c: parses glimpse.io/logs annotations and resolves their globs to
 * host paths through the pod's volumes (see logpath.h).
 *
 * Paths are built component by component into a fixed buffer: a component is
 * never "." or "..", so what is appended to a base stays beneath it, and
 * every append checks the room left.
 */
#include "logpath.h"

#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#define LOGPATH_EMPTY_DIR "volumes/kubernetes.io~empty-dir"

/* A path being built: "" for the root, else "/a/b". */
struct logpath_buf {
	char *s;
	size_t len, cap;
};

static bool logpath_is_dots(const char *c, size_t len)
{
	return (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.');
}

/* A name that is one path component of its own: a volume name, a pod uid. */
static bool logpath_name_ok(const char *name)
{
	size_t len = name ? strlen(name) : 0;

	return len > 0 && len <= NAME_MAX && !strchr(name, '/') && !logpath_is_dots(name, len);
}

/* Appends "/" and len bytes of c. -ENAMETOOLONG when that and the NUL do not fit. */
static int logpath_append(struct logpath_buf *b, const char *c, size_t len)
{
	if (len + 1 >= b->cap - b->len)
		return -ENAMETOOLONG;
	b->s[b->len++] = '/';
	memcpy(b->s + b->len, c, len);
	b->len += len;
	b->s[b->len] = '\0';
	return 0;
}

/* Appends the components of path, skipping empty and "." ones; a ".." one is
 * -EINVAL, as it would climb out of what is built so far. */
static int logpath_append_path(struct logpath_buf *b, const char *path)
{
	while (*path) {
		size_t len = strcspn(path, "/");
		int rc;

		if (len == 2 && path[0] == '.' && path[1] == '.')
			return -EINVAL;
		if (len > 0 && !(len == 1 && path[0] == '.')) {
			rc = logpath_append(b, path, len);
			if (rc < 0)
				return rc;
		}
		path += len;
		while (*path == '/')
			path++;
	}
	return 0;
}

static bool logpath_wildcard(const char *c, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (c[i] == '*' || c[i] == '?' || c[i] == '[')
			return true;
	}
	return false;
}

/* Whether dir is as logpath_parse makes container_dir, within cap bytes. */
static bool logpath_dir_ok(const char *dir, size_t cap)
{
	size_t len = strnlen(dir, cap);

	if (len == cap || dir[0] != '/')
		return false;
	if (len == 1)
		return true;
	for (const char *c = dir + 1;; c++) {
		size_t clen = strcspn(c, "/");

		if (clen == 0 || clen > NAME_MAX || logpath_is_dots(c, clen) ||
		    logpath_wildcard(c, clen))
			return false;
		c += clen;
		if (!*c)
			return true;
	}
}

/* When mount, a mountPath as the pod wrote it, names dir ("" for the root,
 * else "/a/b") or a directory above it: the number of bytes of dir it covers,
 * and its depth in components in *depth. -1 when it does not, or when it is
 * not absolute or holds "." or "..". */
static long logpath_mount_prefix(const char *mount, const char *dir, size_t *depth)
{
	const char *d = dir;

	if (mount[0] != '/')
		return -1;
	*depth = 0;
	for (;;) {
		const char *c;
		size_t clen;

		while (*mount == '/')
			mount++;
		if (!*mount)
			return (long)(d - dir);
		c = mount;
		clen = strcspn(mount, "/");
		mount += clen;
		if (logpath_is_dots(c, clen) || *d != '/' || strncmp(d + 1, c, clen) != 0 ||
		    (d[1 + clen] != '/' && d[1 + clen] != '\0'))
			return -1;
		d += 1 + clen;
		(*depth)++;
	}
}

/* Checks one trimmed entry of len bytes and, when out is not NULL, splits it
 * into out. NULL, or the reason it is refused. */
static const char *logpath_parse_entry(const char *e, size_t len, struct logpath_glob *out)
{
	const char *last = NULL, *c = e + 1, *end = e + len;
	size_t dir_len;

	if (len > LOGPATH_MAX_ENTRY)
		return "entry longer than 1024 bytes";
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)e[i] < 0x20 || e[i] == 0x7f)
			return "control character in entry";
	}
	if (e[0] != '/')
		return "entry is not an absolute path";
	/* each component; the last one may be empty (a trailing '/') */
	for (;;) {
		const char *slash = memchr(c, '/', (size_t)(end - c));
		size_t clen = (size_t)((slash ? slash : end) - c);

		if (clen > NAME_MAX)
			return "component longer than 255 bytes";
		if (logpath_is_dots(c, clen))
			return "'.' or '..' component in entry";
		if (!slash) {
			last = c;
			break;
		}
		if (clen == 0)
			return "empty component in entry";
		if (logpath_wildcard(c, clen))
			return "wildcard before the last component";
		c = slash + 1;
	}
	if (!out)
		return NULL;
	*out = (struct logpath_glob){.via_proc_root = false};
	dir_len = (size_t)(last - e) - 1;
	if (dir_len == 0) {
		out->container_dir[0] = '/';
	} else {
		memcpy(out->container_dir, e, dir_len);
	}
	if (last == end) {
		out->pattern[0] = '*';
	} else {
		memcpy(out->pattern, last, (size_t)(end - last));
	}
	return NULL;
}

static bool logpath_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int logpath_parse(const char *annotation, struct logpath_glob *out, size_t max, const char **err)
{
	const char *p = annotation, *reason = NULL;
	size_t n = 0;

	if (err)
		*err = NULL;
	if (!annotation) {
		reason = "no annotation";
		goto bad;
	}
	while (logpath_space(*p))
		p++;
	if (!*p)
		return 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *next = p[len] ? p + len + 1 : NULL;

		while (len > 0 && logpath_space(*p)) {
			p++;
			len--;
		}
		while (len > 0 && logpath_space(p[len - 1]))
			len--;
		if (len == 0) {
			reason = "empty entry";
			goto bad;
		}
		if (n == LOGPATH_MAX_ENTRIES) {
			reason = "more than 16 entries";
			goto bad;
		}
		if (out && n == max) {
			reason = "more entries than room for";
			goto bad;
		}
		reason = logpath_parse_entry(p, len, out ? &out[n] : NULL);
		if (reason)
			goto bad;
		n++;
		if (!next)
			return (int)n;
		p = next;
	}
bad:
	if (err)
		*err = reason;
	return -EINVAL;
}

/* The host directory of volume v: b is filled with its base. */
static int logpath_volume_base(struct logpath_buf *b, const struct pod *pod,
			       const struct pod_volume *v, const char *kubelet_root)
{
	int rc;

	if (v->kind == POD_VOLUME_HOST_PATH) {
		if (!v->host_path || v->host_path[0] != '/')
			return -EINVAL;
		return logpath_append_path(b, v->host_path);
	}
	if (!kubelet_root || kubelet_root[0] != '/' || !logpath_name_ok(pod->uid))
		return -EINVAL;
	rc = logpath_append_path(b, kubelet_root);
	if (rc == 0)
		rc = logpath_append_path(b, "pods");
	if (rc == 0)
		rc = logpath_append(b, pod->uid, strlen(pod->uid));
	if (rc == 0)
		rc = logpath_append_path(b, LOGPATH_EMPTY_DIR);
	if (rc == 0)
		rc = logpath_append(b, v->name, strlen(v->name));
	return rc;
}

int logpath_resolve(struct logpath_glob *g, const struct pod *pod, const struct pod_container *pc,
		    const char *kubelet_root)
{
	struct logpath_buf b = {.s = g ? g->dir : NULL, .len = 0, .cap = sizeof(g->dir)};
	const struct pod_volume_mount *best = NULL;
	const struct pod_volume *v;
	const char *dir;
	size_t best_depth = 0;
	long best_off = 0;
	int rc;

	if (!g)
		return -EINVAL;
	g->dir[0] = '\0';
	g->dir_base_len = 0;
	g->via_proc_root = false;
	if (!logpath_dir_ok(g->container_dir, sizeof(g->container_dir)))
		return -EINVAL;
	/* "" for the root, so that every component is "/<name>" */
	dir = g->container_dir[1] ? g->container_dir : "";
	for (size_t i = 0; pc && i < pc->n_mounts; i++) {
		const struct pod_volume_mount *m = &pc->mounts[i];
		size_t depth;
		long off;

		if (!m->mount_path || !m->name)
			continue;
		off = logpath_mount_prefix(m->mount_path, dir, &depth);
		if (off >= 0 && (!best || depth >= best_depth)) {
			best = m;
			best_depth = depth;
			best_off = off;
		}
	}
	v = best && !best->sub_path_expr ? pod_volume_by_name(pod, best->name) : NULL;
	if (!v || (v->kind != POD_VOLUME_EMPTY_DIR && v->kind != POD_VOLUME_HOST_PATH)) {
		/* container_dir has the size of dir and a NUL in it */
		memcpy(g->dir, g->container_dir, strlen(g->container_dir) + 1);
		g->via_proc_root = true;
		return 0;
	}
	if (!logpath_name_ok(v->name))
		return -EINVAL;
	rc = logpath_volume_base(&b, pod, v, kubelet_root);
	if (rc == 0) {
		g->dir_base_len = b.len;
		if (best->sub_path && best->sub_path[0] == '/')
			rc = -EINVAL;
		else if (best->sub_path)
			rc = logpath_append_path(&b, best->sub_path);
	}
	if (rc == 0)
		rc = logpath_append_path(&b, dir + best_off);
	if (rc < 0) {
		g->dir[0] = '\0';
		g->dir_base_len = 0;
		return rc;
	}
	if (b.len == 0)
		memcpy(g->dir, "/", 2);
	return 0;
}

bool logpath_match(const struct logpath_glob *g, const char *name)
{
	size_t len = name ? strlen(name) : 0;

	if (!g || len == 0 || strchr(name, '/') || logpath_is_dots(name, len))
		return false;
	return fnmatch(g->pattern, name, FNM_PERIOD) == 0;
}
