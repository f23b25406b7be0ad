/* httpcap.c: see httpcap.h. */
#include "httpcap.h"

#include "bpfmap.h"
#include "http.skel.h"
#include "log.h"
#include "rbreader.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define HTTPCAP_MAX_LINKS 8

struct httpcap {
	struct http_bpf *skel;
	struct rbreader *rb;
	struct httpcap_callbacks cb;
	void *ctx;
	struct bpf_link *links[HTTPCAP_MAX_LINKS];
	size_t n_links;
	uint64_t received, malformed, attach_failed;
	const char *hooks;
};

static int httpcap_record(void *arg, void *data, size_t size)
{
	struct httpcap *hc = arg;
	const struct http_rec *r = data;

	hc->received++;
	if (size < HTTP_REC_HEADER_SIZE || r->captured > HTTP_CAPTURE_MAX ||
	    HTTP_REC_HEADER_SIZE + r->captured > size ||
	    (r->type != HTTP_REC_DATA && r->type != HTTP_REC_CLOSE) || r->dir > HTTP_DIR_OUT ||
	    r->role > HTTP_ROLE_SERVER || r->captured > r->total) {
		hc->malformed++;
		return 0;
	}
	hc->cb.record(hc->ctx, r);
	return 0;
}

void httpcap_poll(struct httpcap *hc)
{
	rbreader_poll(hc->rb);
}

/* Whether this kernel has the socket tracepoints (sock/sock_send_length and
 * sock/sock_recv_length, Linux 6.3), from its BTF. */
static bool httpcap_kernel_has_socket_hooks(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool yes;

	if (!btf)
		return false;
	yes = btf__find_by_name_kind(btf, "btf_trace_sock_send_length", BTF_KIND_TYPEDEF) >= 0 &&
	      btf__find_by_name_kind(btf, "btf_trace_sock_recv_length", BTF_KIND_TYPEDEF) >= 0;
	btf__free(btf);
	return yes;
}

/* Leaves out the programs of the way not taken (a tp_btf program whose
 * tracepoint the kernel lacks does not even load). */
static void httpcap_choose_hooks(struct httpcap *hc, const char *want)
{
	bool socket;

	if (!want || strcmp(want, "auto") == 0)
		socket = httpcap_kernel_has_socket_hooks();
	else
		socket = strcmp(want, "socket") == 0;
	hc->hooks = socket ? "socket" : "syscall";
	bpf_program__set_autoload(hc->skel->progs.http_sock_send, socket);
	bpf_program__set_autoload(hc->skel->progs.http_sock_recv, socket);
	bpf_program__set_autoload(hc->skel->progs.http_sys_exit, !socket);
}

/* Attaches every program on its own: a tracepoint this kernel lacks costs
 * only what it would have seen. */
static void httpcap_attach(struct httpcap *hc)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, hc->skel->obj)
	{
		struct bpf_link *link;
		if (!bpf_program__autoload(prog))
			continue;
		if (hc->n_links == HTTPCAP_MAX_LINKS)
			break;
		link = bpf_program__attach(prog);
		if (!link) {
			hc->attach_failed++;
			log_warn("http: attach %s (%s): %s; the others run",
				 bpf_program__name(prog), bpf_program__section_name(prog),
				 strerror(errno));
			continue;
		}
		hc->links[hc->n_links++] = link;
	}
}

int httpcap_open(struct httpcap **out, struct loop *loop, const struct httpcap_options *opts,
		 const struct httpcap_callbacks *cb, void *ctx)
{
	struct httpcap *hc = calloc(1, sizeof(*hc));
	int err;

	if (!hc)
		return -ENOMEM;
	hc->cb = *cb;
	hc->ctx = ctx;
	hc->skel = http_bpf__open();
	if (!hc->skel) {
		err = -errno;
		log_error("http: open BPF object: %s", strerror(errno));
		goto fail;
	}
	hc->skel->rodata->use_v1_memory = opts->use_v1_memory;
	hc->skel->rodata->trace_host = opts->trace_host;
	hc->skel->rodata->capture_bytes =
	    opts->capture_bytes > HTTP_CAPTURE_MAX ? HTTP_CAPTURE_MAX : opts->capture_bytes;
	if (opts->tracked_cgroups_fd >= 0) {
		err = bpf_map__reuse_fd(hc->skel->maps.tracked_cgroups, opts->tracked_cgroups_fd);
		if (err) {
			log_error("http: share the containers' cgroup map: %s", strerror(-err));
			goto fail;
		}
	}
	httpcap_choose_hooks(hc, opts->hooks);
	err = http_bpf__load(hc->skel);
	if (err) {
		log_error("http: load BPF programs (%s hooks): %s", hc->hooks, strerror(-err));
		goto fail;
	}
	httpcap_attach(hc);
	if (!hc->n_links) {
		err = -ENOENT;
		log_error("http: no tracepoint could be attached");
		goto fail;
	}
	/* records come without a wake-up (see http.bpf.c): read on a timer too */
	err = rbreader_open(&hc->rb, loop, bpf_map__fd(hc->skel->maps.http_events), httpcap_record,
			    hc, opts->drain_ms > 0 ? opts->drain_ms : 10, "http");
	if (err)
		goto fail;
	log_info("http: capturing %s (%s hooks, %zu tracepoints, %u bytes of each read or write)",
		 opts->trace_host ? "every process" : "containers", hc->hooks, hc->n_links,
		 (unsigned)hc->skel->rodata->capture_bytes);
	*out = hc;
	return 0;
fail:
	httpcap_close(hc);
	return err;
}

void httpcap_close(struct httpcap *hc)
{
	if (!hc)
		return;
	rbreader_close(hc->rb);
	for (size_t i = 0; i < hc->n_links; i++)
		bpf_link__destroy(hc->links[i]);
	http_bpf__destroy(hc->skel);
	free(hc);
}

void httpcap_get_stats(const struct httpcap *hc, struct httpcap_stats *out)
{
	uint64_t sums[HTTP_STAT_MAX];

	memset(out, 0, sizeof(*out));
	out->received = hc->received;
	out->malformed = hc->malformed;
	out->attached = hc->n_links;
	out->attach_failed = hc->attach_failed;
	out->hooks = hc->hooks;
	if (bpfmap_percpu_sums(hc->skel->maps.http_stats, HTTP_STAT_MAX, sums) != 0)
		return;
	out->sent = sums[HTTP_STAT_SENT];
	out->dropped = sums[HTTP_STAT_DROPPED];
	out->conns = sums[HTTP_STAT_CONNS];
	out->not_http = sums[HTTP_STAT_NOT_HTTP];
	out->read_failed = sums[HTTP_STAT_READ_FAILED];
}
