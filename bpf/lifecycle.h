/* lifecycle.h: the records bpf/lifecycle.bpf.c writes to its ring buffer, shared
 * by the kernel program and userspace (userspace/lifecycle.c). */
#ifndef GLIMPSE_BPF_LIFECYCLE_H
#define GLIMPSE_BPF_LIFECYCLE_H

#define LC_PATH_MAX	512 /* cgroup path, relative to its hierarchy */
#define LC_FILENAME_MAX 256 /* exec'ed file name as passed to execve */
#define LC_COMM_LEN	16

enum lc_type {
	LC_CGROUP_MKDIR = 1,
	LC_CGROUP_RMDIR = 2,
	LC_EXEC = 3,
	LC_FORK = 4,
	LC_EXIT = 5,
};

enum lc_flags {
	LC_F_GROUP_DEAD = 1 << 0, /* exit: the last thread of the process */
	LC_F_TRUNCATED = 1 << 1,  /* path or filename did not fit */
};

/* Indexes of the per-CPU counters in the lc_stats map. */
enum lc_stat {
	LC_STAT_DROPPED = 0, /* ring buffer full: record lost */
	LC_STAT_SENT = 1,
	LC_STAT_MAX = 2,
};

struct lc_header {
	unsigned int type;
	unsigned int flags;
	unsigned long long ts_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	unsigned long long cgroup_id;
};

struct lc_cgroup_event {
	struct lc_header h;
	int hierarchy_id;
	int level;
	unsigned int path_len; /* bytes in path, without the NUL */
	unsigned int pad;
	char path[LC_PATH_MAX];
};

struct lc_proc_event {
	struct lc_header h;
	int pid;       /* thread id */
	int tgid;      /* process id */
	int ppid;      /* exec: parent's tgid; fork: the new process's pid */
	int exit_code; /* exit: task->exit_code (status << 8 | signal) */
	char comm[LC_COMM_LEN];
	unsigned int filename_len;
	unsigned int pad;
	char filename[LC_FILENAME_MAX];
};

#endif
