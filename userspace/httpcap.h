/* httpcap.h: loads bpf/http.bpf.c with the hooks of one way in (socket
 * tracepoints where the kernel has them, else sys_exit; see the program),
 * attaches each (one that fails is logged and counted; the others run) and
 * hands its ring-buffer records to the agent from the event loop. */
#ifndef GLIMPSE_HTTPCAP_H
#define GLIMPSE_HTTPCAP_H

#include "../bpf/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct httpcap;

struct httpcap_options {
	int tracked_cgroups_fd; /* the lifecycle program's map of container cgroups */
	bool use_v1_memory;	/* cgroup ids are the v1 memory controller's */
	bool trace_host;	/* every process, not only containers' */
	const char *hooks;	/* "auto", "socket" or "syscall" (config http_hooks) */
	uint32_t capture_bytes; /* of each read or write, at most HTTP_CAPTURE_MAX */
	int64_t drain_ms;	/* the ring buffer is read at least this often */
};

struct httpcap_callbacks {
	/* One record; r->captured bytes of r->data are valid (checked). */
	void (*record)(void *ctx, const struct http_rec *r);
};

/* Loads and attaches. Returns 0 when at least one program is attached, or a
 * negative errno after logging what failed. */
int httpcap_open(struct httpcap **out, struct loop *loop, const struct httpcap_options *opts,
		 const struct httpcap_callbacks *cb, void *ctx);
void httpcap_close(struct httpcap *hc);
/* Handles every record queued now. */
void httpcap_poll(struct httpcap *hc);

struct httpcap_stats {
	uint64_t sent, dropped, conns, not_http, read_failed; /* kernel counters */
	uint64_t received, malformed;			      /* records read, refused */
	uint64_t attached, attach_failed;		      /* programs */
	const char *hooks; /* the way in: "socket" or "syscall" */
};
void httpcap_get_stats(const struct httpcap *hc, struct httpcap_stats *out);

#endif
