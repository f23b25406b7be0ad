/* httptrack.h: HTTP/1.x exchanges from the records of bpf/http.bpf.c.
 *
 * Each connection (by the kernel's connection id) has a request stream and a
 * response stream: for a client (connect) what it writes and what it reads,
 * for a server (accept) the reverse. Each stream is parsed message by message
 * (httpparse.h): a head, then its body by Content-Length or chunked framing,
 * counted even where only a prefix of the bytes was captured, so keep-alive
 * connections stay in step. Requests wait in a FIFO (pipelining) for their
 * responses; an interim 1xx response does not end an exchange. An exchange is
 * handed over when its response has ended, when the connection closes, or
 * when no response came within the timeout (incomplete). A stream that lost
 * its framing skips to the next segment that starts a message; every such
 * desync, malformed head and dropped connection is counted.
 *
 * Pure: no I/O; times are the records' kernel timestamps.
 */
#ifndef GLIMPSE_HTTPTRACK_H
#define GLIMPSE_HTTPTRACK_H

#include "../bpf/http.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTPTRACK_METHOD_MAX 32
#define HTTPTRACK_PATH_MAX   2048
#define HTTPTRACK_VALUE_MAX  256 /* a header value kept for the event, cut at that */
#define HTTPTRACK_HEADERS    8	 /* request headers kept */

struct httptrack_exchange {
	uint64_t conn_id, cgroup_id;
	uint32_t tgid;
	enum http_role side; /* which end the traced process is */
	int family;	     /* AF_INET or AF_INET6 */
	uint8_t server_addr[16], client_addr[16];
	uint16_t server_port, client_port;
	bool has_query;
	int version_minor;		      /* HTTP/1.<minor> of the request */
	int status;			      /* 0 when no response came */
	uint64_t request_body, response_body; /* bytes of payload */
	int64_t request_ns, response_ns;      /* first byte of each; response_ns 0 when none */
	bool incomplete; /* the response did not come (timeout, close) or was not whole */
	bool truncated;	 /* the request's head was longer than what was captured */
	/* The text, last: an exchange is made by copying the members above from
	 * its connection and emptying these strings. */
	char method[HTTPTRACK_METHOD_MAX];
	char path[HTTPTRACK_PATH_MAX];	/* as sent (not decoded), cut at the cap */
	char query[HTTPTRACK_PATH_MAX]; /* redacted; "" when none */
	/* the request's headers named in the options, in their order: the first
	 * value of each, "" when absent */
	char headers[HTTPTRACK_HEADERS][HTTPTRACK_VALUE_MAX];
};

struct httptrack_options {
	int64_t timeout_ns; /* a request without a response is handed over then */
	int64_t idle_ns;    /* a connection with nothing pending is forgotten then */
	size_t max_conns;   /* past it the least recently used is dropped */
	size_t max_pending; /* requests waiting per connection (pipelining) */
	size_t max_head;    /* bytes of a head reassembled across segments */
	/* bounds over all connections: requests waiting, and bytes of heads
	 * being reassembled; past them a request is not followed (counted) */
	size_t max_pending_total, max_head_total;
	/* request headers kept (lower case, at most HTTPTRACK_HEADERS); the
	 * values of secret ones (Authorization, Cookie, ...) are "REDACTED"
	 * unless secret_headers */
	const char *const *headers;
	size_t n_headers;
	bool secret_headers;
};

struct httptrack_stats {
	uint64_t exchanges, incomplete, malformed, desyncs, conns, conns_dropped, pending_dropped,
	    unpaired_responses, records;
};

typedef void (*httptrack_emit_fn)(void *ctx, const struct httptrack_exchange *x);

struct httptrack;

struct httptrack *httptrack_new(const struct httptrack_options *opts, httptrack_emit_fn emit,
				void *ctx);
void httptrack_free(struct httptrack *t);
/* One record (checked by httpcap: captured <= total, bounded). */
void httptrack_record(struct httptrack *t, const struct http_rec *r);
/* Hands over requests waiting longer than the timeout (as incomplete) and
 * forgets idle connections. now_ns: CLOCK_MONOTONIC, as the records' times. */
void httptrack_expire(struct httptrack *t, int64_t now_ns);
void httptrack_get_stats(const struct httptrack *t, struct httptrack_stats *out);

#endif
