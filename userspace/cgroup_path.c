/* cgroup_path.c: tell from a cgroup path which Kubernetes pod and container
 * it belongs to.
 *
 * A path is read one component at a time, left to right. Each kubepods
 * marker ("kubepods", "kubepods.slice", a "…kubepods-….slice" QoS or pod
 * slice) starts the reading afresh, so for nested clusters (kind, minikube:
 * a kubelet inside a docker container) the innermost kubepods tree decides.
 * Inside a tree the pod comes first, then the container; every component
 * below the container cgroup ("crio-<id>.scope/container", "<id>/kube-proxy")
 * still belongs to that container.
 *
 * Decisions:
 * - A container id is exactly 64 lower-case hex digits. Runtimes only create
 *   lower-case names, and folding an upper-case name would give an id that
 *   matches no runtime's own id, so such a name is not taken for a container.
 * - Pod UIDs are taken in either case and stored lower case: a dashed UUID
 *   (the systemd driver writes '_' for '-') or 32 hex digits (static pods).
 * - Containers outside kubepods are reported when their name says they are
 *   containers: "docker-<id>.scope", "/docker/<id>", "cri-containerd-<id>",
 *   "crio-<id>", a bare 64-hex name. They are CGPATH_CONTAINER with an empty
 *   pod UID; a caller that wants pods checks pod_uid. podman's "libpod-<id>"
 *   names no runtime this agent knows and is CGPATH_OTHER.
 * - "crio-conmon-<id>" (CRI-O's container monitor), or any other name right
 *   below a pod that is not a container, makes the path CGPATH_OTHER (unless
 *   a kubepods tree starts further down).
 * - Leading ".." components (paths relative to a cgroup namespace) are
 *   skipped; "." or ".." anywhere else makes the path CGPATH_OTHER.
 * - A NUL byte is not special: it is part of the component holding it, so a
 *   caller passing a whole fixed-size buffer gets CGPATH_OTHER, never a match
 *   on a truncated name.
 */
#include "cgroup_path.h"

#include "ascii.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#define CGPATH_PATH_MAX 4096

struct cgpath_span {
	const char *p;
	size_t len;
};

/* Where the reading of the current kubepods tree (or of a path outside any
 * tree) has got to. */
enum cgpath_state {
	CGPATH_SEEN_NOTHING = 0,
	CGPATH_SEEN_POD,
	CGPATH_SEEN_CONTAINER,
	CGPATH_SEEN_NOT_CONTAINER, /* below a pod, a cgroup that is no container */
};

struct cgpath_reader {
	enum cgpath_state state;
	struct cgpath_info info;
};

static bool cgpath_eq(struct cgpath_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.p, lit, n) == 0;
}

static bool cgpath_has_prefix(struct cgpath_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len >= n && memcmp(s.p, lit, n) == 0;
}

static bool cgpath_has_suffix(struct cgpath_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len >= n && memcmp(s.p + s.len - n, lit, n) == 0;
}

static struct cgpath_span cgpath_skip(struct cgpath_span s, size_t n)
{
	struct cgpath_span r = {s.p + n, s.len - n};

	return r;
}

static bool cgpath_is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool cgpath_is_container_id(struct cgpath_span s)
{
	if (s.len != CGPATH_ID_MAX)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (!cgpath_is_lower_hex(s.p[i]))
			return false;
	return true;
}

/* Accepts 32 hex digits, or a UUID whose four separators are sep; writes the
 * UID lower case with '-' separators. */
static bool cgpath_parse_uid(struct cgpath_span s, char sep, char out[CGPATH_UID_MAX + 1])
{
	static const char digits[] = "0123456789abcdef";
	bool dashed = s.len == 36;

	if (s.len != 32 && !dashed)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (s.p[i] != sep)
				return false;
			continue;
		}
		if (ascii_hex_value((unsigned char)s.p[i]) < 0)
			return false;
	}
	for (size_t i = 0; i < s.len; i++) {
		int v = ascii_hex_value((unsigned char)s.p[i]);
		out[i] = v < 0 ? '-' : digits[v];
	}
	out[s.len] = '\0';
	return true;
}

static void cgpath_set_id(struct cgpath_info *info, struct cgpath_span id)
{
	for (size_t i = 0; i < CGPATH_ID_MAX; i++)
		info->container_id[i] = id.p[i];
	info->container_id[CGPATH_ID_MAX] = '\0';
}

/* A systemd-driver kubepods slice: "[<prefix>-]kubepods[-<qos>][-pod<uid>].slice",
 * e.g. "kubepods.slice", "kubelet-kubepods-besteffort.slice",
 * "kubepods-pod<uid>.slice". For a pod slice, sets pod->pod_uid and pod->qos. */
static bool cgpath_kubepods_slice(struct cgpath_span s, struct cgpath_info *pod)
{
	static const char word[] = "kubepods";
	const size_t wlen = sizeof(word) - 1;

	if (!cgpath_has_suffix(s, ".slice"))
		return false;
	s.len -= strlen(".slice");
	for (size_t at = 0; at + wlen <= s.len; at++) {
		struct cgpath_span rest;
		enum cgpath_qos q = CGPATH_QOS_GUARANTEED;

		if (at > 0 && s.p[at - 1] != '-')
			continue;
		if (memcmp(s.p + at, word, wlen) != 0)
			continue;
		rest = cgpath_skip(s, at + wlen);
		if (cgpath_has_prefix(rest, "-besteffort")) {
			q = CGPATH_QOS_BESTEFFORT;
			rest = cgpath_skip(rest, strlen("-besteffort"));
		} else if (cgpath_has_prefix(rest, "-burstable")) {
			q = CGPATH_QOS_BURSTABLE;
			rest = cgpath_skip(rest, strlen("-burstable"));
		}
		if (rest.len == 0)
			return true;
		if (cgpath_has_prefix(rest, "-pod") &&
		    cgpath_parse_uid(cgpath_skip(rest, strlen("-pod")), '_', pod->pod_uid)) {
			pod->qos = q;
			return true;
		}
	}
	return false;
}

/* A container cgroup named by its runtime: "cri-containerd-<id>", "crio-<id>",
 * "docker-<id>", each with or without ".scope". */
static bool cgpath_runtime_scope(struct cgpath_span s, enum cgpath_runtime *runtime,
				 struct cgpath_span *id)
{
	static const struct {
		const char *prefix;
		enum cgpath_runtime runtime;
	} prefixes[] = {
	    {"cri-containerd-", CGPATH_RUNTIME_CONTAINERD},
	    {"crio-", CGPATH_RUNTIME_CRIO},
	    {"docker-", CGPATH_RUNTIME_DOCKER},
	};

	if (cgpath_has_suffix(s, ".scope"))
		s.len -= strlen(".scope");
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		struct cgpath_span rest;

		if (!cgpath_has_prefix(s, prefixes[i].prefix))
			continue;
		rest = cgpath_skip(s, strlen(prefixes[i].prefix));
		if (!cgpath_is_container_id(rest))
			return false;
		*runtime = prefixes[i].runtime;
		*id = rest;
		return true;
	}
	return false;
}

/* containerd's own systemd form, one component: "<slice>:<prefix>:<id>",
 * e.g. "kubepods-burstable-pod<uid>.slice:cri-containerd:<id>". */
static bool cgpath_colon_form(struct cgpath_span s, struct cgpath_span *slice,
			      enum cgpath_runtime *runtime, struct cgpath_span *id)
{
	const char *c1 = memchr(s.p, ':', s.len), *c2;
	struct cgpath_span prefix;

	if (!c1)
		return false;
	c2 = memchr(c1 + 1, ':', s.len - (size_t)(c1 + 1 - s.p));
	if (!c2)
		return false;
	slice->p = s.p;
	slice->len = (size_t)(c1 - s.p);
	prefix.p = c1 + 1;
	prefix.len = (size_t)(c2 - prefix.p);
	id->p = c2 + 1;
	id->len = s.len - (size_t)(id->p - s.p);
	if (cgpath_eq(prefix, "cri-containerd"))
		*runtime = CGPATH_RUNTIME_CONTAINERD;
	else if (cgpath_eq(prefix, "crio"))
		*runtime = CGPATH_RUNTIME_CRIO;
	else if (cgpath_eq(prefix, "docker"))
		*runtime = CGPATH_RUNTIME_DOCKER;
	else
		return false;
	return cgpath_is_container_id(*id);
}

static void cgpath_restart(struct cgpath_reader *r)
{
	*r = (struct cgpath_reader){0};
}

static void cgpath_found_container(struct cgpath_reader *r, enum cgpath_runtime runtime,
				   struct cgpath_span id)
{
	r->state = CGPATH_SEEN_CONTAINER;
	r->info.runtime = runtime;
	cgpath_set_id(&r->info, id);
}

/* The kubelet's cgroupfs pod directory "pod<uid>"; prev is the component
 * before it, which gives the QoS class. */
static bool cgpath_cgroupfs_pod(struct cgpath_reader *r, struct cgpath_span c,
				struct cgpath_span prev)
{
	enum cgpath_qos qos;

	if (!cgpath_has_prefix(c, "pod"))
		return false;
	if (cgpath_eq(prev, "kubepods"))
		qos = CGPATH_QOS_GUARANTEED;
	else if (cgpath_eq(prev, "burstable"))
		qos = CGPATH_QOS_BURSTABLE;
	else if (cgpath_eq(prev, "besteffort"))
		qos = CGPATH_QOS_BESTEFFORT;
	else if (prev.len == 0 || cgpath_eq(prev, ".."))
		qos = CGPATH_QOS_UNKNOWN; /* the path starts at the pod */
	else
		return false;
	if (!cgpath_parse_uid(cgpath_skip(c, strlen("pod")), '-', r->info.pod_uid))
		return false;
	r->state = CGPATH_SEEN_POD;
	r->info.qos = qos;
	return true;
}

/* A component naming a container, in a pod or outside kubepods; prev is the
 * component before it ("/docker/<id>" names docker). */
static bool cgpath_container(struct cgpath_reader *r, struct cgpath_span c, struct cgpath_span prev)
{
	enum cgpath_runtime runtime;
	struct cgpath_span slice, id;

	if (cgpath_runtime_scope(c, &runtime, &id) || cgpath_colon_form(c, &slice, &runtime, &id)) {
		cgpath_found_container(r, runtime, id);
		return true;
	}
	if (cgpath_is_container_id(c)) {
		runtime =
		    cgpath_eq(prev, "docker") ? CGPATH_RUNTIME_DOCKER : CGPATH_RUNTIME_UNKNOWN;
		cgpath_found_container(r, runtime, c);
		return true;
	}
	return false;
}

/* A kubepods marker, alone or as the slice of containerd's colon form:
 * starts a new tree, with the pod and container it names. */
static bool cgpath_kubepods_marker(struct cgpath_reader *r, struct cgpath_span c)
{
	struct cgpath_span slice = c, id = {NULL, 0};
	enum cgpath_runtime runtime = CGPATH_RUNTIME_UNKNOWN;
	struct cgpath_info pod = {0};

	if (cgpath_eq(c, "kubepods")) {
		cgpath_restart(r);
		return true;
	}
	if (!cgpath_kubepods_slice(c, &pod) &&
	    !(cgpath_colon_form(c, &slice, &runtime, &id) && cgpath_kubepods_slice(slice, &pod)))
		return false;
	cgpath_restart(r);
	if (pod.pod_uid[0]) {
		r->state = CGPATH_SEEN_POD;
		r->info = pod;
	}
	if (id.p)
		cgpath_found_container(r, runtime, id);
	return true;
}

static void cgpath_read_component(struct cgpath_reader *r, struct cgpath_span c,
				  struct cgpath_span prev)
{
	if (cgpath_kubepods_marker(r, c))
		return;
	switch (r->state) {
	case CGPATH_SEEN_NOTHING:
		if (!cgpath_cgroupfs_pod(r, c, prev))
			cgpath_container(r, c, prev);
		break;
	case CGPATH_SEEN_POD:
		if (!cgpath_container(r, c, prev))
			r->state = CGPATH_SEEN_NOT_CONTAINER;
		break;
	case CGPATH_SEEN_CONTAINER:
	case CGPATH_SEEN_NOT_CONTAINER:
		break;
	}
}

int cgpath_parse(const char *path, size_t len, struct cgpath_info *out)
{
	struct cgpath_reader r;
	struct cgpath_span prev = {"", 0};
	bool leading = true;
	size_t i = 0;

	if (!out)
		return -EINVAL;
	*out = (struct cgpath_info){0};
	if (!path || len == 0 || len > CGPATH_PATH_MAX || path[0] != '/')
		return -EINVAL;

	cgpath_restart(&r);
	while (i < len) {
		struct cgpath_span c;
		const char *slash;

		while (i < len && path[i] == '/')
			i++;
		if (i == len)
			break;
		slash = memchr(path + i, '/', len - i);
		c.p = path + i;
		c.len = slash ? (size_t)(slash - c.p) : len - i;
		i += c.len;

		if (cgpath_eq(c, "..") && leading) {
			prev = c;
			continue;
		}
		if (cgpath_eq(c, "..") || cgpath_eq(c, "."))
			return 0;
		leading = false;
		cgpath_read_component(&r, c, prev);
		prev = c;
	}

	if (r.state == CGPATH_SEEN_POD || r.state == CGPATH_SEEN_CONTAINER) {
		*out = r.info;
		out->kind = r.state == CGPATH_SEEN_POD ? CGPATH_POD : CGPATH_CONTAINER;
	}
	return 0;
}

/* One "hierarchy-id:controllers:path" line; the path may itself hold ':'. */
static bool cgpath_proc_line(struct cgpath_span line, bool *v2, struct cgpath_span *path)
{
	const char *c1, *c2;
	size_t digits = 0;

	while (digits < line.len && line.p[digits] >= '0' && line.p[digits] <= '9')
		digits++;
	if (digits == 0 || digits == line.len || line.p[digits] != ':')
		return false;
	c1 = line.p + digits;
	c2 = memchr(c1 + 1, ':', line.len - digits - 1);
	if (!c2)
		return false;
	*v2 = digits == 1 && line.p[0] == '0' && c2 == c1 + 1;
	path->p = c2 + 1;
	path->len = line.len - (size_t)(path->p - line.p);
	return true;
}

int cgpath_parse_proc(const char *content, size_t len, struct cgpath_info *out)
{
	struct cgpath_info v1 = {0}, v2 = {0};
	bool well_formed = false;
	size_t i = 0;

	if (!out)
		return -EINVAL;
	*out = (struct cgpath_info){0};
	if (!content)
		return -EINVAL;

	while (i < len) {
		const char *nl = memchr(content + i, '\n', len - i);
		struct cgpath_span line = {content + i,
					   nl ? (size_t)(nl - (content + i)) : len - i};
		struct cgpath_span path;
		struct cgpath_info info;
		bool is_v2;

		i += line.len + (nl ? 1 : 0);
		if (!cgpath_proc_line(line, &is_v2, &path))
			continue;
		well_formed = true;
		if (cgpath_parse(path.p, path.len, &info) != 0 || info.kind == CGPATH_OTHER)
			continue;
		if (is_v2 && v2.kind == CGPATH_OTHER)
			v2 = info;
		else if (!is_v2 && v1.kind == CGPATH_OTHER)
			v1 = info;
	}

	if (!well_formed)
		return -EINVAL;
	*out = v2.kind != CGPATH_OTHER ? v2 : v1;
	return 0;
}

const char *cgpath_runtime_name(enum cgpath_runtime runtime)
{
	switch (runtime) {
	case CGPATH_RUNTIME_CONTAINERD:
		return "containerd";
	case CGPATH_RUNTIME_CRIO:
		return "cri-o";
	case CGPATH_RUNTIME_DOCKER:
		return "docker";
	case CGPATH_RUNTIME_UNKNOWN:
		break;
	}
	return "";
}

const char *cgpath_qos_name(enum cgpath_qos qos)
{
	switch (qos) {
	case CGPATH_QOS_GUARANTEED:
		return "Guaranteed";
	case CGPATH_QOS_BURSTABLE:
		return "Burstable";
	case CGPATH_QOS_BESTEFFORT:
		return "BestEffort";
	case CGPATH_QOS_UNKNOWN:
		break;
	}
	return "";
}
