/* runtime.h: what the container runtime recorded about a container.
 *
 * CRI runtimes put the Kubernetes identity of every container into its OCI
 * annotations (CRI-O: io.kubernetes.container.name, io.kubernetes.cri-o.*;
 * containerd: io.kubernetes.cri.*; cri-dockerd: io.kubernetes.docker.type), and
 * runc keeps them as "key=value" labels in <root>/<id>/state.json from the moment
 * `runc create` returns, before the container's first exec. Reading them binds a
 * cgroup's container id to its container name without waiting for the kubelet.
 */
#ifndef GLIMPSE_RUNTIME_H
#define GLIMPSE_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#define RUNTIME_NAME_MAX  253
#define RUNTIME_STATE_MAX (8 * 1024 * 1024) /* a larger state.json is refused */

struct runtime_info {
	char name[RUNTIME_NAME_MAX + 1]; /* container name; "" when not recorded */
	char pod_uid[RUNTIME_NAME_MAX + 1];
	char pod_name[RUNTIME_NAME_MAX + 1];
	char pod_namespace[RUNTIME_NAME_MAX + 1];
	char log_path[4096]; /* CRI-O's io.kubernetes.cri-o.LogPath, or "" */
	bool sandbox;	     /* the pod's sandbox (pause) container, which has no logs */
	int init_pid;	     /* runc's init_process_pid, or 0 */
};

/* Reads <root>/<container_id>/state.json under each root in turn. A
 * container id holds only letters, digits, '-' and '_'; any other id is
 * refused with -EINVAL, so it can never name a path outside a root.
 * Returns 0, -ENOENT when no root knows the container (not created yet, or
 * another runtime), or another negative errno when a state file exists but
 * cannot be read or parsed (too large, not JSON). */
int runtime_lookup(const char *const *roots, size_t n_roots, const char *container_id,
		   struct runtime_info *out);

/* Parses a runc state.json document (config.labels) or an OCI config.json
 * (annotations). Returns 0 (fields absent from the document stay empty) or
 * -EINVAL when it is not a JSON object. */
int runtime_parse_state(const char *json, size_t len, struct runtime_info *out);

#endif
