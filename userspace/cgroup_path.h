/* cgroup_path.h: recognise Kubernetes pods and containers in cgroup paths.
 *
 * Understands the kubelet's cgroupfs and systemd drivers, containerd, CRI-O and
 * docker (dockershim / cri-dockerd) naming, cgroup v1 and v2, and the lines of
 * /proc/<pid>/cgroup. Pure string work: no file system access.
 */
#ifndef GLIMPSE_CGROUP_PATH_H
#define GLIMPSE_CGROUP_PATH_H

#include <stddef.h>

#define CGPATH_ID_MAX  64 /* a container id: 64 hex digits */
#define CGPATH_UID_MAX 36 /* a pod UID: dashed UUID, or 32 hex for static pods */

enum cgpath_kind {
	CGPATH_OTHER = 0, /* not a pod or container cgroup (system.slice, kubepods, a QoS level) */
	CGPATH_POD,	  /* a pod's own cgroup: .../pod<uid> or ...-pod<uid>.slice */
	CGPATH_CONTAINER, /* a container inside a pod */
};

enum cgpath_runtime {
	CGPATH_RUNTIME_UNKNOWN = 0, /* cgroupfs driver: the path names no runtime */
	CGPATH_RUNTIME_CONTAINERD,
	CGPATH_RUNTIME_CRIO,
	CGPATH_RUNTIME_DOCKER,
};

enum cgpath_qos {
	CGPATH_QOS_UNKNOWN = 0,
	CGPATH_QOS_GUARANTEED, /* pod cgroup directly under kubepods */
	CGPATH_QOS_BURSTABLE,
	CGPATH_QOS_BESTEFFORT,
};

struct cgpath_info {
	enum cgpath_kind kind;
	enum cgpath_runtime runtime;
	enum cgpath_qos qos;
	/* Lower case; the systemd driver's '_' turned back into '-'. Empty when unknown. */
	char pod_uid[CGPATH_UID_MAX + 1];
	/* Full id as found in the path, lower case hex. Empty unless kind is CONTAINER. */
	char container_id[CGPATH_ID_MAX + 1];
};

/* Parses one cgroup path relative to its hierarchy's root ("/kubepods/…").
 * len bytes of path are read; path need not be NUL-terminated.
 * Returns 0 and fills *out (kind may be CGPATH_OTHER), or -EINVAL when the
 * path is empty, not absolute or longer than 4096 bytes. */
int cgpath_parse(const char *path, size_t len, struct cgpath_info *out);

/* Parses the contents of a /proc/<pid>/cgroup file (v1, v2 or hybrid) and
 * describes the container the process is in: the v2 "0::" line is preferred
 * when it names a pod or container, else the first v1 line that does.
 * Returns 0 (kind may be CGPATH_OTHER), or -EINVAL for content that has no
 * well-formed "hierarchy-id:controllers:path" line. */
int cgpath_parse_proc(const char *content, size_t len, struct cgpath_info *out);

/* "containerd", "cri-o", "docker" or "" for CGPATH_RUNTIME_UNKNOWN. */
const char *cgpath_runtime_name(enum cgpath_runtime runtime);
/* "Guaranteed", "Burstable", "BestEffort" (the kubelet's qosClass spelling) or "". */
const char *cgpath_qos_name(enum cgpath_qos qos);

#endif
