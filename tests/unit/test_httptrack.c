/* test_httptrack.c: HTTP/1.x exchanges from capture records (httptrack.c).
 *
 * Records are made as bpf/http.bpf.c makes them: one per read or write, the
 * byte count and a prefix of at most CAP bytes. Each test plays one
 * connection and checks every exchange handed over, in order.
 */
#include "httptrack.h"
#include "log.h"
#include "testing.h"

#include <stdlib.h>
#include <string.h>

#define CAP 256 /* bytes captured of each segment in these tests */

struct seen {
	struct httptrack_exchange x[16];
	int n;
};

static void on_exchange(void *ctx, const struct httptrack_exchange *x)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->x[s->n] = *x;
	s->n++;
}

static struct httptrack *track(struct seen *s)
{
	static const char *const headers[] = {"host", "user-agent", "authorization"};
	struct httptrack_options o = {.timeout_ns = 1000000000,
				      .idle_ns = 10000000000,
				      .max_conns = 8,
				      .max_pending = 4,
				      .max_head = 4096,
				      .max_pending_total = 64,
				      .max_head_total = 65536,
				      .headers = headers,
				      .n_headers = 3};

	memset(s, 0, sizeof(*s));
	return httptrack_new(&o, on_exchange, s);
}

/* One segment of conn 1: role, direction, the bytes (total = len unless
 * total is larger: the rest was not captured), at time ts. */
static void seg(struct httptrack *t, enum http_role role, enum http_dir dir, const char *data,
		size_t len, uint64_t total, int64_t ts)
{
	struct http_rec *r = calloc(1, sizeof(*r));

	if (!r)
		return;
	r->type = HTTP_REC_DATA;
	r->dir = (unsigned char)dir;
	r->role = (unsigned char)role;
	r->family = 2;
	r->ts_ns = (unsigned long long)ts;
	r->cgroup_id = 42;
	r->conn_id = 1;
	r->tgid = 7;
	r->total = total > len ? total : len;
	r->captured = (unsigned)(len < CAP ? len : CAP);
	memcpy(r->data, data, r->captured);
	r->local_port = role == HTTP_ROLE_SERVER ? 8080 : 40000;
	r->remote_port = role == HTTP_ROLE_SERVER ? 40000 : 8080;
	r->local_addr[0] = 127;
	r->local_addr[3] = 1;
	r->remote_addr[0] = 10;
	r->remote_addr[3] = 2;
	httptrack_record(t, r);
	free(r);
}

static void str(struct httptrack *t, enum http_role role, enum http_dir dir, const char *s,
		int64_t ts)
{
	seg(t, role, dir, s, strlen(s), 0, ts);
}

static void close_conn(struct httptrack *t)
{
	struct http_rec r = {.type = HTTP_REC_CLOSE, .conn_id = 1, .role = HTTP_ROLE_SERVER};

	httptrack_record(t, &r);
}

TEST(test_server_keep_alive_and_sizes)
{
	struct seen s;
	struct httptrack *t = track(&s);
	static const char body[] = "0123456789abcdef0123456789abcdef0123456789abcdef"
				   "0123456789abcdef0123456789abcdef";

	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN,
	    "GET /a?token=s3cr3t&x=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: ua\r\n"
	    "Authorization: Bearer abc\r\n\r\n",
	    100);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n",
	    150);
	/* a body far longer than what is captured: counted, not seen */
	seg(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, body, sizeof(body) - 1, 5000, 160);
	CHECK_INT_EQ(s.n, 1);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n", 200);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
	    210);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "DELETE /c HTTP/1.1\r\n\r\n", 300);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, "HTTP/1.1 204 No Content\r\n\r\n", 305);
	CHECK_INT_EQ(s.n, 3);
	if (s.n == 3) {
		CHECK_STR_EQ(s.x[0].method, "GET");
		CHECK_STR_EQ(s.x[0].path, "/a");
		CHECK_STR_EQ(s.x[0].query, "token=REDACTED&x=1");
		CHECK_INT_EQ(s.x[0].status, 200);
		CHECK_INT_EQ(s.x[0].response_body, 5000);
		CHECK_INT_EQ(s.x[0].response_ns - s.x[0].request_ns, 50);
		CHECK_STR_EQ(s.x[0].headers[0], "h");
		CHECK_STR_EQ(s.x[0].headers[1], "ua");
		CHECK_STR_EQ(s.x[0].headers[2], "REDACTED");
		CHECK_INT_EQ(s.x[0].server_port, 8080);
		CHECK_INT_EQ(s.x[0].client_port, 40000);
		CHECK_INT_EQ(s.x[0].server_addr[0], 127);
		CHECK_INT_EQ(s.x[0].client_addr[0], 10);
		CHECK(!s.x[0].incomplete);
		CHECK_STR_EQ(s.x[1].method, "HEAD");
		CHECK_INT_EQ(s.x[1].response_body, 0);
		CHECK_INT_EQ(s.x[2].status, 204);
		CHECK_INT_EQ(s.x[2].side, HTTP_ROLE_SERVER);
	}
	httptrack_free(t);
}

TEST(test_client_pipelined_chunked_continue)
{
	struct seen s;
	struct httptrack *t = track(&s);

	/* three requests in one write; the last with a body after 100 Continue */
	str(t, HTTP_ROLE_CLIENT, HTTP_DIR_OUT,
	    "GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nPOST /3 HTTP/1.1\r\n"
	    "Content-Length: 4\r\nExpect: 100-continue\r\n\r\n",
	    10);
	str(t, HTTP_ROLE_CLIENT, HTTP_DIR_IN,
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
	    20);
	str(t, HTTP_ROLE_CLIENT, HTTP_DIR_IN, "0\r\n\r\n", 25);
	CHECK_INT_EQ(s.n, 2);
	str(t, HTTP_ROLE_CLIENT, HTTP_DIR_IN, "HTTP/1.1 100 Continue\r\n\r\n", 30);
	str(t, HTTP_ROLE_CLIENT, HTTP_DIR_OUT, "data", 35);
	CHECK_INT_EQ(s.n, 2);
	str(t, HTTP_ROLE_CLIENT, HTTP_DIR_IN, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
	    40);
	CHECK_INT_EQ(s.n, 3);
	if (s.n == 3) {
		CHECK_STR_EQ(s.x[0].path, "/1");
		CHECK_INT_EQ(s.x[0].response_body, 2);
		CHECK_STR_EQ(s.x[1].path, "/2");
		CHECK_INT_EQ(s.x[1].response_body, 3);
		CHECK_STR_EQ(s.x[2].path, "/3");
		CHECK_INT_EQ(s.x[2].status, 201);
		CHECK_INT_EQ(s.x[2].request_body, 4);
		CHECK_INT_EQ(s.x[2].side, HTTP_ROLE_CLIENT);
		CHECK_INT_EQ(s.x[2].response_ns - s.x[2].request_ns, 30);
	}
	httptrack_free(t);
}

TEST(test_split_head_close_and_timeout)
{
	struct seen s;
	struct httptrack *t = track(&s);

	/* a request head in three writes */
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "GET /split HT", 1);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "TP/1.1\r\nHost: x\r\n", 2);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "\r\n", 3);
	/* a response until close */
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, "HTTP/1.0 200 OK\r\n\r\nabc", 4);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, "defg", 5);
	CHECK_INT_EQ(s.n, 0);
	close_conn(t);
	CHECK_INT_EQ(s.n, 1);
	if (s.n == 1) {
		CHECK_STR_EQ(s.x[0].path, "/split");
		CHECK_STR_EQ(s.x[0].headers[0], "x");
		CHECK_INT_EQ(s.x[0].response_body, 7);
		CHECK(!s.x[0].incomplete);
	}
	/* a new connection whose request gets no answer */
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "GET /slow HTTP/1.1\r\n\r\n", 10);
	httptrack_expire(t, 500000000);
	CHECK_INT_EQ(s.n, 1);
	httptrack_expire(t, 2000000000);
	CHECK_INT_EQ(s.n, 2);
	if (s.n == 2) {
		CHECK_STR_EQ(s.x[1].path, "/slow");
		CHECK(s.x[1].incomplete);
		CHECK_INT_EQ(s.x[1].status, 0);
	}
	httptrack_free(t);
}

TEST(test_lost_framing_and_malformed)
{
	struct seen s;
	struct httptrack_stats st;
	struct httptrack *t = track(&s);
	char big[200];

	/* a chunked body whose next chunk size falls past the capture */
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "GET /c HTTP/1.1\r\n\r\n", 1);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT,
	    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 2);
	memset(big, 'x', sizeof(big));
	memcpy(big, "a0\r\n", 4);
	seg(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, big, sizeof(big), 4000, 3);
	CHECK_INT_EQ(s.n, 1);
	if (s.n == 1) {
		CHECK_INT_EQ(s.x[0].status, 200);
		CHECK(s.x[0].incomplete);
	}
	/* the stream picks up at the next message */
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "GET /d HTTP/1.1\r\n\r\n", 4);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT,
	    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 5);
	CHECK_INT_EQ(s.n, 2);
	/* garbage where a head should be */
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "GET /e HTTP/1.1\r\nBad Header\r\n\r\n", 6);
	httptrack_get_stats(t, &st);
	CHECK_INT_EQ(st.malformed, 1);
	CHECK(st.desyncs >= 2);
	/* a head longer than the capture: its first line is kept */
	seg(t, HTTP_ROLE_SERVER, HTTP_DIR_IN,
	    "GET /long/path HTTP/1.1\r\nCookie: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 64,
	    900, 7);
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!", 8);
	CHECK_INT_EQ(s.n, 3);
	if (s.n == 3) {
		CHECK_STR_EQ(s.x[2].path, "/long/path");
		CHECK(s.x[2].truncated);
		CHECK_INT_EQ(s.x[2].status, 200);
	}
	/* a response head longer than the capture, after a body: its status,
	 * and no size of the body before it */
	str(t, HTTP_ROLE_SERVER, HTTP_DIR_IN, "GET /f HTTP/1.1\r\n\r\n", 9);
	seg(t, HTTP_ROLE_SERVER, HTTP_DIR_OUT, "HTTP/1.1 500 Oops\r\nX-Long: yyyyyyyyyyyyyyyy", 40,
	    5000, 10);
	CHECK_INT_EQ(s.n, 4);
	if (s.n == 4) {
		CHECK_INT_EQ(s.x[3].status, 500);
		CHECK_INT_EQ(s.x[3].response_body, 0);
		CHECK(s.x[3].incomplete);
	}
	httptrack_free(t);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	RUN(test_server_keep_alive_and_sizes);
	RUN(test_client_pipelined_chunked_continue);
	RUN(test_split_head_close_and_timeout);
	RUN(test_lost_framing_and_malformed);
	return testing_done();
}
