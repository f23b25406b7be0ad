/* kubelet.h: GET <kubelet-url>/pods through libcurl's multi interface, driven
 * by the agent's event loop (no threads, never blocks).
 *
 * Fetches are coalesced: at most one is in flight; asking while one runs
 * schedules exactly one more after it. Every fetch has a sequence number, so a
 * caller that saw an unknown pod can tell when a fetch that started after that
 * moment has answered.
 */
#ifndef GLIMPSE_KUBELET_H
#define GLIMPSE_KUBELET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct kubelet;

struct kubelet_options {
	const char *url; /* base URL, e.g. https://127.0.0.1:10250 ("/pods" is appended) */
	const char
	    *token_file;     /* bearer token, re-read before every request; NULL or "" for none */
	const char *ca_file; /* CA bundle for https; NULL or "" for the system's */
	bool insecure;	     /* do not verify the kubelet's certificate */
	int64_t timeout_ms;  /* whole request, connect included */
	int64_t min_interval_ms; /* between the starts of two fetches */
	size_t max_body;	 /* a larger response is an error */
};

/* Called once per finished fetch. ok: HTTP 200 and a body (not yet parsed).
 * On failure, err says what failed, naming the URL ("GET https://…/pods: HTTP 401",
 * "… connection refused", "… timed out after 5000 ms"). body is only valid during
 * the call. */
typedef void (*kubelet_done_fn)(void *ctx, uint64_t seq, bool ok, const char *body, size_t len,
				const char *err);

/* Returns NULL with a log line on failure (bad options, libcurl init). */
struct kubelet *kubelet_new(struct loop *loop, const struct kubelet_options *opts,
			    kubelet_done_fn done, void *ctx);
void kubelet_free(struct kubelet *k);

/* Asks for a fetch that starts no earlier than now. Returns the sequence
 * number of the fetch that will answer (the done callback's seq >= it). */
uint64_t kubelet_request(struct kubelet *k);
/* Like kubelet_request, but the fetch starts no sooner than delay_ms from now
 * (retries with backoff). A request without delay overrides a pending delay. */
uint64_t kubelet_request_after(struct kubelet *k, int64_t delay_ms);

/* Counters for metrics and logs. */
struct kubelet_stats {
	uint64_t requests;
	uint64_t errors;
	uint64_t last_latency_ms;
};
void kubelet_get_stats(const struct kubelet *k, struct kubelet_stats *out);

#endif
