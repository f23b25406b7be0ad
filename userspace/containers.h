/* containers.h: the table of containers on this node.
 *
 * cgroup id -> container (id, runtime, pod UID, QoS, name), filled from cgroup
 * creation records, from a scan of the cgroup tree at start-up, and from the
 * runtime's annotations. A container whose cgroups are gone is kept for a
 * retention time, so the lines its log file still holds are attributed to it.
 */
#ifndef GLIMPSE_CONTAINERS_H
#define GLIMPSE_CONTAINERS_H

#include "cgroup_path.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct container {
	char id[CGPATH_ID_MAX + 1];
	char pod_uid[CGPATH_UID_MAX + 1];
	enum cgpath_runtime runtime;
	enum cgpath_qos qos;
	char *name;	   /* container name, once known (runtime annotations or kubelet) */
	char *log_path;	   /* the CRI log file the runtime recorded, or NULL */
	bool sandbox;	   /* the pod's pause container */
	bool annotated;	   /* the runtime's annotations were read (or given up on) */
	int runtime_tries; /* execs seen while the runtime's state was not there */
	int n_cgroups;	   /* cgroups (of the tracked hierarchy) that map to it */
	int64_t gone_ms;   /* monotonic time its last cgroup went; 0 while it has one */

	/* Lifecycle, CLOCK_MONOTONIC ns; 0 when not seen. */
	int64_t cgroup_ns;     /* kernel: cgroup created */
	int64_t received_ns;   /* userspace: creation record read */
	int64_t registered_ns; /* userspace: in the table */
	int64_t exec_ns;       /* kernel: first exec in the container */
	int init_tgid;	       /* the process of that first exec */
	bool started, exited;
	int64_t log_open_ns;		/* its first log file opened */
	int64_t file_create_to_open_ns; /* that file's birth to its open, when known */
	bool file_timing_known;
	int64_t first_line_ns; /* its first log line written to the sinks */
	bool discovery_logged;
};

struct containers;

struct containers *containers_new(int64_t retention_ms);
void containers_free(struct containers *t);

/* Maps cgroup cgid to the container info describes (kind CONTAINER), creating
 * the container when its id is new. Returns it, or NULL on allocation failure.
 * *created tells whether it is new. */
struct container *containers_add_cgroup(struct containers *t, uint64_t cgid,
					const struct cgpath_info *info, bool *created);
/* Forgets cgroup cgid. Returns its container when that was its last cgroup
 * (the container is then kept until containers_expire), else NULL. */
struct container *containers_remove_cgroup(struct containers *t, uint64_t cgid, int64_t now_ms);

struct container *containers_by_cgroup(const struct containers *t, uint64_t cgid);
struct container *containers_by_id(const struct containers *t, const char *id);
/* The latest container of that pod with that name, live or retained. */
struct container *containers_by_pod_name(const struct containers *t, const char *pod_uid,
					 const char *name);
/* The container whose runtime recorded log_path as its log file. */
struct container *containers_by_log_path(const struct containers *t, const char *log_path);

/* Sets the name (and log path, may be NULL) and indexes the container by them.
 * Returns 0 or -ENOMEM. */
int containers_set_name(struct containers *t, struct container *c, const char *name,
			const char *log_path);

/* Frees containers gone for longer than the retention time. Returns how many. */
size_t containers_expire(struct containers *t, int64_t now_ms);
size_t containers_count(const struct containers *t);
/* Changes whenever a container is added, named, loses its last cgroup or is
 * freed: what the lookups answer (and the containers they point to) holds
 * while the generation is the same. */
uint64_t containers_generation(const struct containers *t);

/* Walks the cgroup tree under root (the mount point of the tracked hierarchy),
 * calling found for every container cgroup with its id (the inode number) and
 * its path relative to root. Returns the number of directories visited or a
 * negative errno when root cannot be opened. Depth is bounded. */
typedef void (*containers_found_fn)(void *ctx, uint64_t cgid, const char *rel_path);
int containers_scan(const char *root, containers_found_fn found, void *ctx);

#endif
