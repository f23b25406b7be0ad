/* runtime.h: what the container runtime recorded about a container.
 *
 * CRI runtimes put the Kubernetes identity of every container into its OCI
 * annotations (CRI-O: io.kubernetes.container.name, io.kubernetes.cri-o.*;
 * containerd: io.kubernetes.cri.*; cri-dockerd: io.kubernetes.docker.type), and
 * runc keeps them as "key=value" labels in <root>/<id>/state.json from the moment
 * `runc create` returns, before the container's first exec. Reading them binds a
 * cgroup's container id to its container name without waiting for the kubelet.
 * dockerd keeps cri-dockerd's labels in its own record of each container,
 * <docker root>/containers/<id>/config.v2.json, which also names the
 * container's json-file log.
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
	int init_pid;	     /* runc's init_process_pid, a running docker container's
			      * State.Pid, or 0 */
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

/* Reads <docker_root>/containers/<container_id>/config.v2.json, dockerd's
 * record of a container, into out (cleared first). A docker container id
 * holds only letters and digits; any other id, or "", is refused with
 * -EINVAL, so it can never name a path outside the root. Returns 0, -ENOENT
 * when docker does not know the container (or docker_root is "": no docker
 * here), -EFBIG when the file is not a regular file of at most
 * RUNTIME_STATE_MAX bytes, -ELOOP for a symlink, -EINVAL when it is not JSON,
 * -ENAMETOOLONG when the path would not fit PATH_MAX, or another negative
 * errno from opening it. */
int runtime_docker_lookup(const char *docker_root, const char *container_id,
			  struct runtime_info *out);

/* Parses a docker config.v2.json. cri-dockerd (and the kubelet's dockershim
 * before it) records a Kubernetes container's identity in the container's
 * labels, Config.Labels: io.kubernetes.container.name, io.kubernetes.pod.uid,
 * .pod.name, .pod.namespace, and io.kubernetes.docker.type "podsandbox" for
 * the pod's sandbox. init_pid is State.Pid while State.Running is true. A
 * container started by hand (docker run) has no such labels: its fields stay
 * empty. A value longer than its field is refused, leaving the field empty:
 * a cut name or uid would match the wrong pod. Returns 0 (fields absent from
 * the document, or of another JSON type, stay empty) or -EINVAL when it is
 * not a JSON object. */
int runtime_parse_docker_config(const char *json, size_t len, struct runtime_info *out);

#endif
