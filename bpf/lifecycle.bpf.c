// SPDX-License-Identifier: GPL-2.0
/* lifecycle.bpf.c: container lifecycle from tracepoints only.
 *
 * cgroup_mkdir/rmdir report cgroups of the tracked hierarchy (the path names
 * the pod UID and container id before the container's first process runs).
 * exec, fork and exit report processes whose cgroup is in tracked_cgroups;
 * the kernel adds every new cgroup there itself, so a container's first exec
 * is never missed while userspace is still reading the mkdir record, and
 * userspace removes the cgroups that turn out not to be containers.
 *
 * Wake-ups: a cgroup's creation wakes userspace at once (discovery is the
 * point); the other records wait for userspace's short drain timer unless
 * wakeup_bytes are pending, since waking a consumer on another CPU costs more
 * than the record.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "cgroup_id.h"
#include "lifecycle.h"

/* Set by userspace before load. */
const volatile int tracked_hierarchy = 0; /* cgroup hierarchy id: 0 is cgroup v2 */
const volatile int use_v1_memory = 0;	  /* read task cgroups through the v1 memory controller */
const volatile int trace_all = 0;	  /* report processes of every cgroup */
const volatile __u64 wakeup_bytes = 64 * 1024;

/* Lifecycle records for userspace. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} lc_events SEC(".maps");

/* Records sent and dropped (ring buffer full), per CPU; see enum lc_stat. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LC_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lc_stats SEC(".maps");

/* Cgroup ids (of the tracked hierarchy) whose processes are reported. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} tracked_cgroups SEC(".maps");

static __always_inline void lc_count(__u32 stat)
{
	__u64 *v = bpf_map_lookup_elem(&lc_stats, &stat);

	if (v)
		*v += 1;
}

static __always_inline __u64 lc_batched(void)
{
	return bpf_ringbuf_query(&lc_events, BPF_RB_AVAIL_DATA) >= wakeup_bytes
		   ? BPF_RB_FORCE_WAKEUP
		   : BPF_RB_NO_WAKEUP;
}

static __always_inline int lc_cgroup(struct trace_event_raw_cgroup *ctx, __u32 type)
{
	struct lc_cgroup_event *e;
	__u64 id = ctx->id;
	__u32 loc = ctx->__data_loc_path;
	long n;

	if (ctx->root != tracked_hierarchy)
		return 0;
	if (type == LC_CGROUP_MKDIR) {
		__u8 one = 1;
		bpf_map_update_elem(&tracked_cgroups, &id, &one, BPF_ANY);
	} else {
		bpf_map_delete_elem(&tracked_cgroups, &id);
	}
	e = bpf_ringbuf_reserve(&lc_events, sizeof(*e), 0);
	if (!e) {
		lc_count(LC_STAT_DROPPED);
		return 0;
	}
	e->h.type = type;
	e->h.flags = 0;
	e->h.ts_ns = bpf_ktime_get_ns();
	e->h.cgroup_id = id;
	e->hierarchy_id = ctx->root;
	e->level = ctx->level;
	e->pad = 0;
	n = bpf_probe_read_kernel_str(e->path, sizeof(e->path), (void *)ctx + (loc & 0xffff));
	if (n < 0) {
		e->path[0] = '\0';
		n = 1;
	}
	e->path_len = n - 1;
	if ((loc >> 16) > sizeof(e->path))
		e->h.flags |= LC_F_TRUNCATED;
	bpf_ringbuf_submit(e, type == LC_CGROUP_MKDIR ? BPF_RB_FORCE_WAKEUP : lc_batched());
	lc_count(LC_STAT_SENT);
	return 0;
}

SEC("tracepoint/cgroup/cgroup_mkdir")
int lc_cgroup_mkdir(struct trace_event_raw_cgroup *ctx)
{
	return lc_cgroup(ctx, LC_CGROUP_MKDIR);
}

SEC("tracepoint/cgroup/cgroup_rmdir")
int lc_cgroup_rmdir(struct trace_event_raw_cgroup *ctx)
{
	return lc_cgroup(ctx, LC_CGROUP_RMDIR);
}

/* Reserves a process record for the current task when its cgroup is tracked. */
static __always_inline struct lc_proc_event *lc_proc_begin(__u32 type, struct task_struct *task)
{
	struct lc_proc_event *e;
	__u64 cgid = current_cgroup_id(use_v1_memory); /* task is the current one */

	if (!trace_all && !bpf_map_lookup_elem(&tracked_cgroups, &cgid))
		return NULL;
	e = bpf_ringbuf_reserve(&lc_events, sizeof(*e), 0);
	if (!e) {
		lc_count(LC_STAT_DROPPED);
		return NULL;
	}
	e->h.type = type;
	e->h.flags = 0;
	e->h.ts_ns = bpf_ktime_get_ns();
	e->h.cgroup_id = cgid;
	e->pid = BPF_CORE_READ(task, pid);
	e->tgid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->exit_code = 0;
	e->filename_len = 0;
	e->pad = 0;
	e->filename[0] = '\0';
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

static __always_inline void lc_proc_submit(struct lc_proc_event *e)
{
	bpf_ringbuf_submit(e, lc_batched());
	lc_count(LC_STAT_SENT);
}

SEC("tracepoint/sched/sched_process_exec")
int lc_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct lc_proc_event *e = lc_proc_begin(LC_EXEC, task);
	__u32 loc = ctx->__data_loc_filename;
	long n;

	if (!e)
		return 0;
	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				      (void *)ctx + (loc & 0xffff));
	if (n < 0) {
		e->filename[0] = '\0';
		n = 1;
	}
	e->filename_len = n - 1;
	if ((loc >> 16) > sizeof(e->filename))
		e->h.flags |= LC_F_TRUNCATED;
	lc_proc_submit(e);
	return 0;
}

SEC("tracepoint/sched/sched_process_fork")
int lc_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct lc_proc_event *e;
	int child = ctx->child_pid;

	e = lc_proc_begin(LC_FORK, task);
	if (!e)
		return 0;
	e->ppid = child; /* for fork, the new task */
	lc_proc_submit(e);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int lc_exit(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct lc_proc_event *e;
	int live = BPF_CORE_READ(task, signal, live.counter);

	/* Only the end of a whole process: thread exits are not container events. */
	if (live != 0)
		return 0;
	e = lc_proc_begin(LC_EXIT, task);
	if (!e)
		return 0;
	e->h.flags |= LC_F_GROUP_DEAD;
	e->exit_code = BPF_CORE_READ(task, exit_code);
	lc_proc_submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
