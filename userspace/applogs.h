/* applogs.h: the in-container log files that pods name in their
 * glimpse.io/logs annotation, kept in step with the tail's watched dirs.
 *
 * For every container of every cached pod with the annotation, each glob is
 * resolved (logpath.h): a dir on an emptyDir or hostPath volume is watched
 * through the volume's dir on the host (a hostPath through /proc/1/root, the
 * host's root) once per pod, attributed to the first container mounting it,
 * from when the pod is cached until a few seconds after all its containers
 * ended, so a Job's files are read even after it exited and the volume can
 * then be torn down; any other dir is watched through
 * /proc/<pid>/root of the container's init process while that process lives
 * and is in the container's cgroup (checked around the open with a pidfd, so
 * a reused pid is never trusted). When a container exits or its pod goes, its
 * dirs are dropped and their open files read to their end.
 */
#ifndef GLIMPSE_APPLOGS_H
#define GLIMPSE_APPLOGS_H

#include <stdbool.h>
#include <stdint.h>

struct applogs;
struct pods;
struct containers;
struct tail;

struct applogs_stats {
	uint64_t dirs;		    /* dirs asked of the tail now */
	uint64_t invalid;	    /* annotations or globs refused */
	uint64_t proc_root_refused; /* a container's process could not be vouched for */
};

/* kubelet_root: where emptyDir volumes lie (<root>/pods/<uid>/volumes/...).
 * Returns NULL without memory. */
struct applogs *applogs_new(const char *kubelet_root);
void applogs_free(struct applogs *x);

/* Adds the dirs the pods and containers now ask for to the tail and removes
 * those no longer asked for. Cheap when nothing changed: call it whenever the
 * pods cache or the container table may have. Returns true when a dir could
 * not be set up yet (a volume not there, no live process): call again later. */
bool applogs_sync(struct applogs *x, const struct pods *pods, const struct containers *cs,
		  struct tail *tail, int64_t now_ms);

void applogs_get_stats(const struct applogs *x, struct applogs_stats *out);

#endif
