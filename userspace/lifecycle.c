/* lifecycle.c: open -> set rodata -> load -> attach -> poll the ring buffer
 * from the event loop (see lifecycle.h). */
#include "lifecycle.h"

#include "bpfmap.h"
#include "lifecycle.skel.h"
#include "log.h"
#include "loop.h"
#include "rbreader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

struct lifecycle {
	struct lifecycle_bpf *skel;
	struct rbreader *rb;
	struct lifecycle_callbacks cb;
	void *ctx;
	char cgroup_root[4096];
	bool v1;
	uint64_t received, malformed;
};

#define LIFECYCLE_DRAIN_MS 10 /* records other than a cgroup's creation wait at most this */

/* Finds the hierarchy to track: cgroup v2 when /sys/fs/cgroup is cgroup2,
 * else the v1 memory controller (the kubelet always uses it on v1), else the
 * hybrid unified mount. Fills root, hierarchy id and whether it is v1. */
static int lifecycle_pick_hierarchy(char *root, size_t cap, int *hierarchy, bool *v1)
{
	struct statfs fs;
	FILE *f;
	char line[4096];

	if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
		snprintf(root, cap, "/sys/fs/cgroup");
		*hierarchy = 0;
		*v1 = false;
		return 0;
	}
	f = fopen("/proc/self/cgroup", "re");
	if (f) {
		while (fgets(line, sizeof(line), f)) {
			int id;
			char ctrls[256];
			if (sscanf(line, "%d:%255[^:]:", &id, ctrls) == 2) {
				for (char *tok = strtok(ctrls, ","); tok; tok = strtok(NULL, ","))
					if (strcmp(tok, "memory") == 0 &&
					    access("/sys/fs/cgroup/memory", F_OK) == 0) {
						fclose(f);
						snprintf(root, cap, "/sys/fs/cgroup/memory");
						*hierarchy = id;
						*v1 = true;
						return 0;
					}
			}
		}
		fclose(f);
	}
	if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
		snprintf(root, cap, "/sys/fs/cgroup/unified");
		*hierarchy = 0;
		*v1 = false;
		return 0;
	}
	return -ENOENT;
}

/* libbpf attaches tracepoints through tracefs; mount it where it is missing. */
static void lifecycle_ensure_tracefs(void)
{
	struct statfs fs;

	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return;
	if (statfs("/sys/kernel/tracing", &fs) == 0 && fs.f_type == TRACEFS_MAGIC)
		return;
	if (mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0)
		log_warn("lifecycle: mount tracefs on /sys/kernel/tracing: %s", strerror(errno));
	else
		log_info("lifecycle: mounted tracefs on /sys/kernel/tracing");
}

static int lifecycle_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0; /* relocation traces: too much even for debug */
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_msg(level == LIBBPF_WARN ? LOG_WARN : LOG_DEBUG, "libbpf: %s", msg);
	return 0;
}

static int lifecycle_record(void *arg, void *data, size_t size)
{
	struct lifecycle *lc = arg;
	const struct lc_header *h = data;
	int64_t now = loop_now_ns();

	lc->received++;
	if (size < sizeof(*h)) {
		lc->malformed++;
		return 0;
	}
	switch (h->type) {
	case LC_CGROUP_MKDIR:
	case LC_CGROUP_RMDIR: {
		const struct lc_cgroup_event *e = data;
		char path[LC_PATH_MAX + 1];
		size_t len;
		if (size < sizeof(*e)) {
			lc->malformed++;
			return 0;
		}
		len = e->path_len < LC_PATH_MAX ? e->path_len : LC_PATH_MAX;
		memcpy(path, e->path, len);
		path[len] = '\0';
		len = strnlen(path, len);
		lc->cb.cgroup(lc->ctx, h->type == LC_CGROUP_MKDIR, h->cgroup_id, path, len,
			      (int64_t)h->ts_ns, now);
		break;
	}
	case LC_EXEC:
	case LC_FORK:
	case LC_EXIT: {
		struct lc_proc_event e;
		if (size < sizeof(e)) {
			lc->malformed++;
			return 0;
		}
		memcpy(&e, data, sizeof(e));
		e.comm[LC_COMM_LEN - 1] = '\0';
		if (e.filename_len >= LC_FILENAME_MAX)
			e.filename_len = LC_FILENAME_MAX - 1;
		e.filename[e.filename_len] = '\0';
		lc->cb.proc(lc->ctx, &e);
		break;
	}
	default:
		lc->malformed++;
	}
	return 0;
}

void lifecycle_poll(struct lifecycle *lc)
{
	rbreader_poll(lc->rb);
}

int lifecycle_open(struct lifecycle **out, struct loop *loop, const struct lifecycle_callbacks *cb,
		   void *ctx)
{
	struct lifecycle *lc = calloc(1, sizeof(*lc));
	int hierarchy, err;
	bool v1;

	if (!lc)
		return -ENOMEM;
	lc->cb = *cb;
	lc->ctx = ctx;
	libbpf_set_print(lifecycle_libbpf_print);
	err = lifecycle_pick_hierarchy(lc->cgroup_root, sizeof(lc->cgroup_root), &hierarchy, &v1);
	if (err) {
		log_error("lifecycle: no cgroup v2 or v1 memory hierarchy under /sys/fs/cgroup");
		free(lc);
		return err;
	}
	lifecycle_ensure_tracefs();
	lc->skel = lifecycle_bpf__open();
	if (!lc->skel) {
		err = -errno;
		log_error("lifecycle: open BPF object: %s", strerror(errno));
		goto fail;
	}
	lc->v1 = v1;
	lc->skel->rodata->tracked_hierarchy = hierarchy;
	lc->skel->rodata->use_v1_memory = v1;
	err = lifecycle_bpf__load(lc->skel);
	if (err) {
		log_error("lifecycle: load BPF programs (needs root or CAP_BPF+CAP_PERFMON, and "
			  "kernel BTF): %s",
			  strerror(-err));
		goto fail;
	}
	err = lifecycle_bpf__attach(lc->skel);
	if (err) {
		log_error("lifecycle: attach tracepoints cgroup/cgroup_mkdir, cgroup/cgroup_rmdir, "
			  "sched/sched_process_{exec,fork,exit}: %s",
			  strerror(-err));
		goto fail;
	}
	err = rbreader_open(&lc->rb, loop, bpf_map__fd(lc->skel->maps.lc_events), lifecycle_record,
			    lc, LIFECYCLE_DRAIN_MS, "lifecycle");
	if (err)
		goto fail;
	log_fields(LOG_INFO, NULL, "lifecycle: tracking cgroup hierarchy %d at %s (%s)", hierarchy,
		   lc->cgroup_root, v1 ? "v1 memory" : "v2");
	*out = lc;
	return 0;
fail:
	lifecycle_close(lc);
	return err;
}

void lifecycle_close(struct lifecycle *lc)
{
	if (!lc)
		return;
	rbreader_close(lc->rb);
	lifecycle_bpf__destroy(lc->skel);
	free(lc);
}

const char *lifecycle_cgroup_root(const struct lifecycle *lc)
{
	return lc->cgroup_root;
}

int lifecycle_tracked_fd(const struct lifecycle *lc)
{
	return bpf_map__fd(lc->skel->maps.tracked_cgroups);
}

bool lifecycle_uses_v1(const struct lifecycle *lc)
{
	return lc->v1;
}

int lifecycle_track(struct lifecycle *lc, uint64_t cgid)
{
	__u8 one = 1;

	if (bpf_map__update_elem(lc->skel->maps.tracked_cgroups, &cgid, sizeof(cgid), &one,
				 sizeof(one), BPF_ANY) != 0)
		return -errno;
	return 0;
}

void lifecycle_untrack(struct lifecycle *lc, uint64_t cgid)
{
	bpf_map__delete_elem(lc->skel->maps.tracked_cgroups, &cgid, sizeof(cgid), 0);
}

void lifecycle_get_stats(const struct lifecycle *lc, struct lifecycle_stats *out)
{
	uint64_t sums[LC_STAT_MAX];

	memset(out, 0, sizeof(*out));
	out->received = lc->received;
	out->malformed = lc->malformed;
	if (bpfmap_percpu_sums(lc->skel->maps.lc_stats, LC_STAT_MAX, sums) != 0)
		return;
	out->dropped = sums[LC_STAT_DROPPED];
	out->sent = sums[LC_STAT_SENT];
}
