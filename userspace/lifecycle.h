/* lifecycle.h: loads bpf/lifecycle.bpf.c, attaches its tracepoints and hands
 * its ring-buffer records to the agent from the event loop. */
#ifndef GLIMPSE_LIFECYCLE_H
#define GLIMPSE_LIFECYCLE_H

#include "../bpf/lifecycle.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct lifecycle;

struct lifecycle_callbacks {
	/* A cgroup of the tracked hierarchy was created (mkdir) or removed. path is
	 * relative to the hierarchy root and NUL-terminated. */
	void (*cgroup)(void *ctx, bool mkdir, uint64_t cgid, const char *path, size_t len,
		       int64_t ts_ns, int64_t received_ns);
	/* exec, fork or exit of a process in a tracked cgroup. */
	void (*proc)(void *ctx, const struct lc_proc_event *e);
};

/* Loads and attaches. Returns 0 or a negative errno, after logging what failed
 * ("lifecycle: attach tracepoint sched/sched_process_exec: …"). */
int lifecycle_open(struct lifecycle **out, struct loop *loop, const struct lifecycle_callbacks *cb,
		   void *ctx);
void lifecycle_close(struct lifecycle *lc);

/* The mount point of the tracked cgroup hierarchy ("/sys/fs/cgroup",
 * "/sys/fs/cgroup/memory"…), where the start-up scan walks. */
const char *lifecycle_cgroup_root(const struct lifecycle *lc);

/* Handles every record queued in the ring buffer now, without waiting for
 * the loop to be woken. The kernel queues a process's exec before the process
 * can write anything, so this brings the table up to date with a log line. */
void lifecycle_poll(struct lifecycle *lc);

/* The map of tracked cgroup ids, for the HTTP program to share, and whether
 * they are the v1 memory controller's. */
int lifecycle_tracked_fd(const struct lifecycle *lc);
bool lifecycle_uses_v1(const struct lifecycle *lc);

/* Adds or removes a cgroup from the set whose processes are reported. */
int lifecycle_track(struct lifecycle *lc, uint64_t cgid);
void lifecycle_untrack(struct lifecycle *lc, uint64_t cgid);

struct lifecycle_stats {
	uint64_t sent;	    /* records the kernel wrote */
	uint64_t dropped;   /* records lost because the ring buffer was full */
	uint64_t received;  /* records read */
	uint64_t malformed; /* records of unexpected size or type */
};
void lifecycle_get_stats(const struct lifecycle *lc, struct lifecycle_stats *out);

#endif
