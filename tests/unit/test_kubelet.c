/* test_kubelet.c: kubelet.c against a small HTTP/1.1 server run in a thread on
 * 127.0.0.1 (and, for TLS, `openssl s_server`), driven by a real struct loop.
 * Every wait has a deadline, so a broken fetch fails a test instead of hanging.
 */
#include "kubelet.h"
#include "loop.h"
#include "testing.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define SRV_MAX_SEEN 16
#define SRV_MAX_HEAD 4096

/* How the test server frames its response body. */
enum srv_framing {
	SRV_LENGTH,	 /* Content-Length: the body's size */
	SRV_CLOSE,	 /* no Content-Length, the end of the body is the end of the connection */
	SRV_BOGUS_LENGTH /* Content-Length: 1 TiB, then the body and close */
};

struct srv {
	int lfd;
	int port;
	int stop[2];
	pthread_t thread;
	pthread_mutex_t mu;
	/* What to answer (set while no fetch runs). */
	int status;
	const char *body;
	size_t body_len;
	const char *content_encoding; /* NULL for none */
	enum srv_framing framing;
	int delay_ms;		   /* before answering */
	const char *required_auth; /* answer 401 unless the Authorization header is this */
	/* What was seen. */
	int n_requests;
	int64_t request_ms[SRV_MAX_SEEN];
	char head[SRV_MAX_SEEN][SRV_MAX_HEAD];
};

static int srv_requests(struct srv *s)
{
	int n;

	pthread_mutex_lock(&s->mu);
	n = s->n_requests;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Copies header name's value from a request head into out ("" if absent). */
static void srv_header(const char *head, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *line = strstr(head, "\r\n");

	out[0] = '\0';
	while (line && line[2] != '\r' && line[2] != '\0') {
		const char *start = line + 2, *end = strstr(start, "\r\n");
		if (!end)
			return;
		if (strncasecmp(start, name, nlen) == 0 && start[nlen] == ':') {
			const char *v = start + nlen + 1;
			size_t len;
			while (*v == ' ')
				v++;
			len = (size_t)(end - v);
			if (len >= outlen)
				len = outlen - 1;
			memcpy(out, v, len);
			out[len] = '\0';
			return;
		}
		line = end;
	}
}

/* Waits up to ms for fd to be readable; false if the server is stopping or time ran out. */
static bool srv_wait(struct srv *s, int fd, int ms)
{
	struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->stop[0], .events = POLLIN}};
	int r;

	do
		r = poll(p, 2, ms);
	while (r < 0 && errno == EINTR);
	return r > 0 && !(p[1].revents & POLLIN) && (p[0].revents & (POLLIN | POLLHUP | POLLERR));
}

static bool srv_send(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t w = send(fd, data, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return false;
		data += w;
		len -= (size_t)w;
	}
	return true;
}

static void srv_serve(struct srv *s, int fd)
{
	char head[SRV_MAX_HEAD], auth[512], out[512];
	size_t len = 0;
	int status, delay_ms, n;
	const char *body, *encoding, *required;
	size_t body_len;
	enum srv_framing framing;

	while (!memmem(head, len, "\r\n\r\n", 4)) {
		ssize_t r;
		if (len == sizeof(head) - 1 || !srv_wait(s, fd, 3000))
			return;
		r = read(fd, head + len, sizeof(head) - 1 - len);
		if (r <= 0)
			return;
		len += (size_t)r;
	}
	head[len] = '\0';

	pthread_mutex_lock(&s->mu);
	if (s->n_requests < SRV_MAX_SEEN) {
		s->request_ms[s->n_requests] = loop_now_ms();
		memcpy(s->head[s->n_requests], head, len + 1);
	}
	s->n_requests++;
	status = s->status;
	body = s->body;
	body_len = s->body_len;
	encoding = s->content_encoding;
	framing = s->framing;
	delay_ms = s->delay_ms;
	required = s->required_auth;
	pthread_mutex_unlock(&s->mu);

	if (delay_ms > 0) {
		int64_t until = loop_now_ms() + delay_ms;
		for (;;) {
			int64_t left = until - loop_now_ms();
			char c;
			if (left <= 0)
				break;
			if (srv_wait(s, fd, (int)left) && read(fd, &c, 1) <= 0)
				return; /* the client gave up */
			if (srv_wait(s, s->stop[0], 0))
				return;
		}
	}
	srv_header(head, "Authorization", auth, sizeof(auth));
	if (required && strcmp(auth, required) != 0) {
		status = 401;
		body = "Unauthorized\n";
		body_len = strlen(body);
		encoding = NULL;
		framing = SRV_LENGTH;
	}
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d Test\r\nContent-Type: application/json\r\n",
		     status);
	if (status == 302)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "Location: /elsewhere\r\n");
	if (encoding)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "Content-Encoding: %s\r\n",
			      encoding);
	if (framing == SRV_LENGTH)
		n +=
		    snprintf(out + n, sizeof(out) - (size_t)n, "Content-Length: %zu\r\n", body_len);
	else if (framing == SRV_BOGUS_LENGTH)
		n +=
		    snprintf(out + n, sizeof(out) - (size_t)n, "Content-Length: 1099511627776\r\n");
	n += snprintf(out + n, sizeof(out) - (size_t)n, "Connection: close\r\n\r\n");
	if (srv_send(fd, out, (size_t)n) && body_len > 0)
		srv_send(fd, body, body_len);
}

static void *srv_main(void *arg)
{
	struct srv *s = arg;

	while (srv_wait(s, s->lfd, -1)) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		srv_serve(s, fd);
		shutdown(fd, SHUT_WR);
		close(fd);
	}
	return NULL;
}

/* A socket bound to an ephemeral port on 127.0.0.1; listening if listen_too. */
static int bind_loopback(bool listen_too, int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    (listen_too && listen(fd, 16) != 0) ||
	    getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static struct srv *srv_start(void)
{
	struct srv *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->status = 200;
	s->body = "{}";
	s->body_len = 2;
	pthread_mutex_init(&s->mu, NULL);
	s->lfd = bind_loopback(true, &s->port);
	if (s->lfd < 0 || pipe2(s->stop, O_CLOEXEC) != 0) {
		if (s->lfd >= 0)
			close(s->lfd);
		free(s);
		return NULL;
	}
	if (pthread_create(&s->thread, NULL, srv_main, s) != 0) {
		close(s->lfd);
		close(s->stop[0]);
		close(s->stop[1]);
		free(s);
		return NULL;
	}
	return s;
}

static void srv_stop(struct srv *s)
{
	if (!s)
		return;
	if (write(s->stop[1], "x", 1) != 1)
		perror("srv_stop");
	pthread_join(s->thread, NULL);
	close(s->lfd);
	close(s->stop[0]);
	close(s->stop[1]);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* Sets what the server answers; call only while no fetch runs. */
static void srv_set(struct srv *s, int status, const char *body, size_t len, int delay_ms)
{
	pthread_mutex_lock(&s->mu);
	s->status = status;
	s->body = body;
	s->body_len = len;
	s->delay_ms = delay_ms;
	pthread_mutex_unlock(&s->mu);
}

/* ---- what the done callback saw ---- */

#define MAX_RESULTS 8

struct results {
	int n;
	uint64_t seq[MAX_RESULTS];
	bool ok[MAX_RESULTS];
	char *body[MAX_RESULTS];
	size_t len[MAX_RESULTS];
	bool nul_terminated[MAX_RESULTS];
	char err[MAX_RESULTS][1024];
	int64_t at_ms[MAX_RESULTS];
	struct kubelet **free_in_done; /* freed (and set NULL) by the callback when set */
};

static void on_done(void *ctx, uint64_t seq, bool ok, const char *body, size_t len, const char *err)
{
	struct results *r = ctx;
	int i = r->n++;

	if (i < MAX_RESULTS) {
		r->seq[i] = seq;
		r->ok[i] = ok;
		r->len[i] = len;
		r->at_ms[i] = loop_now_ms();
		r->nul_terminated[i] = body && body[len] == '\0';
		if (body) {
			r->body[i] = malloc(len + 1);
			if (r->body[i])
				memcpy(r->body[i], body, len + 1);
		}
		snprintf(r->err[i], sizeof(r->err[i]), "%s", err ? err : "");
	}
	if (r->free_in_done && *r->free_in_done) {
		kubelet_free(*r->free_in_done);
		*r->free_in_done = NULL;
	}
}

static void results_free(struct results *r)
{
	for (int i = 0; i < MAX_RESULTS; i++)
		free(r->body[i]);
}

/* ---- driving the loop ---- */

struct waiter {
	bool (*cond)(void *arg);
	void *arg;
	int64_t deadline_ms;
	bool met;
};

static void waiter_tick(struct loop *loop, void *arg)
{
	struct waiter *w = arg;

	if (w->cond && w->cond(w->arg)) {
		w->met = true;
		loop_stop(loop);
	} else if (loop_now_ms() >= w->deadline_ms || !loop_timer_add(loop, 2, waiter_tick, w)) {
		loop_stop(loop);
	}
}

/* Runs the loop until cond(arg) holds or max_ms passed; returns whether it held.
 * With cond NULL, runs for max_ms. */
static bool run_until(struct loop *loop, bool (*cond)(void *), void *arg, int64_t max_ms)
{
	struct waiter w = {.cond = cond, .arg = arg, .deadline_ms = loop_now_ms() + max_ms};

	if (!loop_timer_add(loop, 0, waiter_tick, &w))
		return false;
	loop_run(loop);
	return w.met;
}

static int want_results;
static bool have_results(void *arg)
{
	return ((struct results *)arg)->n >= want_results;
}

static int want_requests;
static bool have_requests(void *arg)
{
	return srv_requests(arg) >= want_requests;
}

static bool run_until_results(struct loop *loop, struct results *r, int n, int64_t max_ms)
{
	want_results = n;
	return run_until(loop, have_results, r, max_ms);
}

static bool run_until_requests(struct loop *loop, struct srv *s, int n, int64_t max_ms)
{
	want_requests = n;
	return run_until(loop, have_requests, s, max_ms);
}

static struct kubelet_options default_options(char *url, size_t urllen, int port)
{
	snprintf(url, urllen, "http://127.0.0.1:%d", port);
	return (struct kubelet_options){
	    .url = url, .timeout_ms = 2000, .min_interval_ms = 0, .max_body = 1 << 20};
}

/* ---- what a test runs against: a server, a loop, the results, the options ---- */

struct fixture {
	struct srv *s; /* NULL for a test without a server */
	struct loop *loop;
	struct results r;
	struct kubelet_options o;
	char url[64];
};

/* Starts a server and a loop, with default_options for that server; false (the
 * failure checked) if either could not be made. fixture_end either way. */
static bool fixture_start(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->s = srv_start();
	f->loop = loop_new();
	CHECK(f->s && f->loop);
	if (!f->s || !f->loop)
		return false;
	f->o = default_options(f->url, sizeof(f->url), f->s->port);
	return true;
}

static void fixture_end(struct fixture *f)
{
	results_free(&f->r);
	loop_free(f->loop);
	srv_stop(f->s);
}

/* A client on f's loop with f's options, reporting into f->r; NULL (the failure
 * checked) if it could not be made. */
static struct kubelet *fixture_kubelet(struct fixture *f)
{
	struct kubelet *k = kubelet_new(f->loop, &f->o, on_done, &f->r);

	CHECK(k);
	return k;
}

/* Asks k for a fetch and runs the loop until there are n results; whether they
 * came within 3 s. */
static bool fetch(struct fixture *f, struct kubelet *k, int n)
{
	kubelet_request(k);
	return run_until_results(f->loop, &f->r, n, 3000);
}

/* Sets one more field of what the server answers; call only while no fetch runs. */
#define SRV_SET_FIELD(s, field, value)                                                             \
	do {                                                                                       \
		pthread_mutex_lock(&(s)->mu);                                                      \
		(s)->field = (value);                                                              \
		pthread_mutex_unlock(&(s)->mu);                                                    \
	} while (0)

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- tests ---- */

TEST(test_body_delivered_exactly)
{
	struct fixture f;
	struct kubelet_stats st;
	struct kubelet *k;
	char value[256];
	size_t len = 200000;
	char *body = malloc(len);

	CHECK(body);
	if (!fixture_start(&f) || !body)
		goto out;
	for (size_t i = 0; i < len; i++) /* every byte value, NUL included */
		body[i] = (char)((i * 7 + i / 256) & 0xff);
	srv_set(f.s, 200, body, len, 0);
	snprintf(f.url, sizeof(f.url), "http://127.0.0.1:%d/", f.s->port); /* trailing '/' */
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	CHECK_INT_EQ(kubelet_request(k), 1);
	CHECK(run_until_results(f.loop, &f.r, 1, 3000));
	CHECK_INT_EQ(f.r.n, 1);
	CHECK_INT_EQ(f.r.seq[0], 1);
	CHECK(f.r.ok[0]);
	CHECK_STR_EQ(f.r.err[0], "");
	CHECK(f.r.nul_terminated[0]);
	if (f.r.body[0])
		CHECK_MEM_EQ(f.r.body[0], f.r.len[0], body, len);
	CHECK_INT_EQ(srv_requests(f.s), 1);
	CHECK(starts_with(f.s->head[0], "GET /pods HTTP/1.1\r\n"));
	srv_header(f.s->head[0], "Accept", value, sizeof(value));
	CHECK_STR_EQ(value, "application/json");
	srv_header(f.s->head[0], "Authorization", value, sizeof(value));
	CHECK_STR_EQ(value, "");
	kubelet_get_stats(k, &st);
	CHECK_INT_EQ(st.requests, 1);
	CHECK_INT_EQ(st.errors, 0);
	CHECK(st.last_latency_ms < 3000);
	kubelet_free(k);
out:
	fixture_end(&f);
	free(body);
}

TEST(test_gzip_response)
{
	/* {"kind":"PodList","apiVersion":"v1","items":[]}\n, gzip -n -9 */
	static const unsigned char gz[] = {
	    0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0xca,
	    0xce, 0xcc, 0x4b, 0x51, 0xb2, 0x52, 0x0a, 0xc8, 0x4f, 0xf1, 0xc9, 0x2c, 0x2e,
	    0x51, 0xd2, 0x51, 0x4a, 0x2c, 0xc8, 0x0c, 0x4b, 0x2d, 0x2a, 0xce, 0xcc, 0xcf,
	    0x03, 0x0a, 0x97, 0x19, 0x02, 0x45, 0x32, 0x4b, 0x52, 0x73, 0x8b, 0x95, 0xac,
	    0xa2, 0x63, 0x6b, 0xb9, 0x00, 0xdc, 0xc1, 0x6f, 0xa2, 0x30, 0x00, 0x00, 0x00};
	static const char plain[] = "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":[]}\n";
	struct fixture f;
	struct kubelet *k;
	char value[256];

	if (!fixture_start(&f))
		goto out;
	srv_set(f.s, 200, (const char *)gz, sizeof(gz), 0);
	SRV_SET_FIELD(f.s, content_encoding, "gzip");
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	CHECK(fetch(&f, k, 1));
	srv_header(f.s->head[0], "Accept-Encoding", value, sizeof(value));
	if (!strstr(value, "gzip")) {
		kubelet_free(k);
		fixture_end(&f);
		SKIP("libcurl does not offer gzip (Accept-Encoding: \"%s\")", value);
	}
	CHECK(f.r.ok[0]);
	if (f.r.body[0])
		CHECK_MEM_EQ(f.r.body[0], f.r.len[0], plain, sizeof(plain) - 1);
	kubelet_free(k);
out:
	fixture_end(&f);
}

TEST(test_http_errors)
{
	struct fixture f;
	struct kubelet_stats st;
	struct kubelet *k;
	char want[128];
	char big[1000];

	if (!fixture_start(&f))
		goto out;
	k = fixture_kubelet(&f);
	if (!k)
		goto out;

	srv_set(f.s, 401, "Unauthorized\n", 13, 0);
	CHECK(fetch(&f, k, 1));
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/pods: HTTP 401: Unauthorized",
		 f.s->port);
	CHECK(!f.r.ok[0]);
	CHECK_STR_EQ(f.r.err[0], want);
	CHECK(f.r.body[0] == NULL && f.r.len[0] == 0);

	/* A long error body is cut to a printable excerpt. */
	memset(big, 'x', sizeof(big));
	big[0] = '\n';
	srv_set(f.s, 500, big, sizeof(big), 0);
	CHECK(fetch(&f, k, 2));
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/pods: HTTP 500: ", f.s->port);
	CHECK(!f.r.ok[1]);
	CHECK(starts_with(f.r.err[1], want));
	CHECK(strlen(f.r.err[1]) < strlen(want) + 300);

	/* Redirects are not followed. */
	srv_set(f.s, 302, "", 0, 0);
	CHECK(fetch(&f, k, 3));
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/pods: HTTP 302", f.s->port);
	CHECK(!f.r.ok[2]);
	CHECK_STR_EQ(f.r.err[2], want);
	CHECK_INT_EQ(srv_requests(f.s), 3);

	kubelet_get_stats(k, &st);
	CHECK_INT_EQ(st.requests, 3);
	CHECK_INT_EQ(st.errors, 3);
	kubelet_free(k);
out:
	fixture_end(&f);
}

TEST(test_connection_refused)
{
	struct fixture f = {.loop = loop_new()}; /* no server */
	struct kubelet *k;
	char want[128];
	int port = 0, fd = bind_loopback(false, &port); /* bound, never listening */

	CHECK(f.loop && fd >= 0);
	if (!f.loop || fd < 0)
		goto out;
	f.o = default_options(f.url, sizeof(f.url), port);
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	CHECK(fetch(&f, k, 1));
	CHECK(!f.r.ok[0]);
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/pods: ", port);
	CHECK(starts_with(f.r.err[0], want));
	CHECK(strstr(f.r.err[0], "onnection refused") != NULL);
	kubelet_free(k);
out:
	if (fd >= 0)
		close(fd);
	fixture_end(&f);
}

TEST(test_timeout)
{
	struct fixture f;
	struct kubelet *k;
	char want[128];
	int64_t t0;

	if (!fixture_start(&f))
		goto out;
	srv_set(f.s, 200, "{}", 2, 3000);
	f.o.timeout_ms = 200;
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	t0 = loop_now_ms();
	kubelet_request(k);
	CHECK(run_until_results(f.loop, &f.r, 1, 2000));
	CHECK(!f.r.ok[0]);
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/pods: timed out after 200 ms",
		 f.s->port);
	CHECK(starts_with(f.r.err[0], want));
	CHECK(f.r.at_ms[0] - t0 >= 190);
	CHECK(f.r.at_ms[0] - t0 < 1000);
	kubelet_free(k);
out:
	fixture_end(&f);
}

TEST(test_max_body)
{
	struct fixture f;
	struct kubelet *k;
	char want[128];
	static char body[5000];

	if (!fixture_start(&f))
		goto out;
	memset(body, 'p', sizeof(body));
	f.o.max_body = sizeof(body) - 1;
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	/* One byte over, and no Content-Length to warn about it. */
	srv_set(f.s, 200, body, sizeof(body), 0);
	SRV_SET_FIELD(f.s, framing, SRV_CLOSE);
	CHECK(fetch(&f, k, 1));
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/pods: response larger than %zu bytes",
		 f.s->port, sizeof(body) - 1);
	CHECK(!f.r.ok[0]);
	CHECK_STR_EQ(f.r.err[0], want);
	/* A Content-Length that lies: nothing is sized from it. */
	srv_set(f.s, 200, body, 10, 0);
	SRV_SET_FIELD(f.s, framing, SRV_BOGUS_LENGTH);
	CHECK(fetch(&f, k, 2));
	CHECK(!f.r.ok[1]);
	CHECK(strstr(f.r.err[1], "/pods: ") != NULL);
	kubelet_free(k);

	/* Exactly max_body is fine. */
	f.o.max_body = sizeof(body);
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	srv_set(f.s, 200, body, sizeof(body), 0);
	SRV_SET_FIELD(f.s, framing, SRV_LENGTH);
	CHECK(fetch(&f, k, 3));
	CHECK(f.r.ok[2]);
	CHECK(f.r.nul_terminated[2]);
	CHECK_INT_EQ(f.r.len[2], sizeof(body));
	kubelet_free(k);
out:
	fixture_end(&f);
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

TEST(test_token)
{
	struct fixture f;
	struct kubelet_stats st;
	struct kubelet *k;
	char dir[64] = "", path[128], want[256];

	if (!fixture_start(&f) || testing_mkdtemp(dir, sizeof(dir), "kubelet") != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/token", dir);
	CHECK(write_file(path, "tok-one\n"));
	f.o.token_file = path;
	k = fixture_kubelet(&f);
	if (!k)
		goto out;

	SRV_SET_FIELD(f.s, required_auth, "Bearer tok-one");
	CHECK(fetch(&f, k, 1));
	CHECK(f.r.ok[0]);

	/* Re-read before every request: a rotated token is used at once. */
	CHECK(write_file(path, "tok-two \r\n"));
	SRV_SET_FIELD(f.s, required_auth, "Bearer tok-two");
	CHECK(fetch(&f, k, 2));
	CHECK(f.r.ok[1]);
	CHECK_STR_EQ(f.r.err[1], "");

	/* Gone: the fetch fails naming the file, and nothing is sent. */
	CHECK(unlink(path) == 0);
	CHECK(fetch(&f, k, 3));
	CHECK(!f.r.ok[2]);
	snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/pods: cannot open token file %s",
		 f.s->port, path);
	CHECK(starts_with(f.r.err[2], want));
	CHECK_INT_EQ(srv_requests(f.s), 2);

	/* A token that would split the header is refused. */
	CHECK(write_file(path, "tok\r\nX-Evil: 1\n"));
	CHECK(fetch(&f, k, 4));
	CHECK(!f.r.ok[3]);
	CHECK(strstr(f.r.err[3], path) != NULL);
	CHECK_INT_EQ(srv_requests(f.s), 2);

	kubelet_get_stats(k, &st);
	CHECK_INT_EQ(st.requests, 4);
	CHECK_INT_EQ(st.errors, 2);
	kubelet_free(k);
out:
	testing_remove_tree(dir);
	fixture_end(&f);
}

TEST(test_coalescing)
{
	struct fixture f;
	struct kubelet_stats st;
	struct kubelet *k;

	if (!fixture_start(&f))
		goto out;
	srv_set(f.s, 200, "{}", 2, 200);
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	CHECK_INT_EQ(kubelet_request(k), 1);
	CHECK_INT_EQ(kubelet_request(k), 1); /* not started yet: the same fetch */
	CHECK(run_until_requests(f.loop, f.s, 1, 3000));
	/* In flight: three more asks make one more fetch. */
	CHECK_INT_EQ(kubelet_request(k), 2);
	CHECK_INT_EQ(kubelet_request(k), 2);
	CHECK_INT_EQ(kubelet_request_after(k, 50), 2);
	CHECK(run_until_results(f.loop, &f.r, 2, 3000));
	run_until(f.loop, NULL, NULL, 300);
	CHECK_INT_EQ(f.r.n, 2);
	CHECK_INT_EQ(srv_requests(f.s), 2);
	CHECK_INT_EQ(f.r.seq[0], 1);
	CHECK_INT_EQ(f.r.seq[1], 2);
	CHECK(f.r.ok[0] && f.r.ok[1]);
	kubelet_get_stats(k, &st);
	CHECK_INT_EQ(st.requests, 2);
	CHECK(st.last_latency_ms >= 190);
	/* Freed with a fetch pending: it never runs and nothing leaks. */
	CHECK_INT_EQ(kubelet_request(k), 3);
	kubelet_free(k);
	run_until(f.loop, NULL, NULL, 50);
	CHECK_INT_EQ(srv_requests(f.s), 2);
out:
	fixture_end(&f);
}

TEST(test_min_interval)
{
	struct fixture f;
	struct kubelet *k;
	int64_t t0;

	if (!fixture_start(&f))
		goto out;
	f.o.min_interval_ms = 300;
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	t0 = loop_now_ms();
	CHECK_INT_EQ(kubelet_request(k), 1);
	CHECK(run_until_results(f.loop, &f.r, 1, 3000));
	CHECK(f.r.at_ms[0] - t0 < 250); /* the first starts at once */
	CHECK_INT_EQ(kubelet_request(k), 2);
	run_until(f.loop, NULL, NULL, 100);
	CHECK_INT_EQ(srv_requests(f.s), 1); /* held back */
	CHECK(run_until_results(f.loop, &f.r, 2, 3000));
	CHECK_INT_EQ(f.r.seq[1], 2);
	CHECK(f.r.ok[1]);
	CHECK_INT_EQ(srv_requests(f.s), 2);
	CHECK(f.s->request_ms[1] - f.s->request_ms[0] >= 280);
	CHECK(f.s->request_ms[1] - f.s->request_ms[0] < 1000);
	kubelet_free(k);
out:
	fixture_end(&f);
}

TEST(test_request_after)
{
	struct fixture f;
	struct kubelet *k;
	int64_t t0;

	if (!fixture_start(&f))
		goto out;
	k = fixture_kubelet(&f);
	if (!k)
		goto out;

	/* Idle: not sooner than the delay. */
	t0 = loop_now_ms();
	CHECK_INT_EQ(kubelet_request_after(k, 300), 1);
	run_until(f.loop, NULL, NULL, 150);
	CHECK_INT_EQ(srv_requests(f.s), 0);
	CHECK(run_until_results(f.loop, &f.r, 1, 3000));
	CHECK(f.r.ok[0]);
	CHECK(f.s->request_ms[0] - t0 >= 300);

	/* A plain request overrides a pending delay; the delayed one is not run again. */
	t0 = loop_now_ms();
	CHECK_INT_EQ(kubelet_request_after(k, 5000), 2);
	CHECK_INT_EQ(kubelet_request(k), 2);
	CHECK(run_until_results(f.loop, &f.r, 2, 3000));
	CHECK(f.r.at_ms[1] - t0 < 1000);
	CHECK_INT_EQ(f.r.seq[1], 2);
	run_until(f.loop, NULL, NULL, 100);
	CHECK_INT_EQ(srv_requests(f.s), 2);

	/* In flight: the next fetch waits for the delay, counted from the call. */
	srv_set(f.s, 200, "{}", 2, 100);
	CHECK_INT_EQ(kubelet_request(k), 3);
	CHECK(run_until_requests(f.loop, f.s, 3, 3000));
	t0 = loop_now_ms();
	CHECK_INT_EQ(kubelet_request_after(k, 300), 4);
	CHECK(run_until_results(f.loop, &f.r, 4, 3000));
	CHECK_INT_EQ(f.r.seq[2], 3);
	CHECK_INT_EQ(f.r.seq[3], 4);
	CHECK_INT_EQ(srv_requests(f.s), 4);
	CHECK(f.s->request_ms[3] - t0 >= 300);
	kubelet_free(k);
out:
	fixture_end(&f);
}

TEST(test_free_while_in_flight)
{
	struct fixture f;
	struct kubelet *k;

	if (!fixture_start(&f))
		goto out;
	srv_set(f.s, 200, "{}", 2, 2000);
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	kubelet_request(k);
	CHECK(run_until_requests(f.loop, f.s, 1, 3000));
	kubelet_free(k);
	run_until(f.loop, NULL, NULL, 50);
	CHECK_INT_EQ(f.r.n, 0);
out:
	fixture_end(&f);
}

TEST(test_free_in_done)
{
	struct fixture f;
	struct kubelet *k;

	if (!fixture_start(&f))
		goto out;
	/* After a transfer, with another fetch asked for. */
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	srv_set(f.s, 200, "{}", 2, 100);
	f.r.free_in_done = &k;
	CHECK_INT_EQ(kubelet_request(k), 1);
	CHECK(run_until_requests(f.loop, f.s, 1, 3000));
	CHECK_INT_EQ(kubelet_request(k), 2); /* its start timer is armed before done runs */
	CHECK(run_until_results(f.loop, &f.r, 1, 3000));
	CHECK(k == NULL);
	run_until(f.loop, NULL, NULL, 50);
	CHECK_INT_EQ(f.r.n, 1);
	CHECK_INT_EQ(srv_requests(f.s), 1);

	/* After a failure before the transfer (no token file). */
	f.o.token_file = "/nonexistent/token";
	k = fixture_kubelet(&f);
	if (!k)
		goto out;
	CHECK(fetch(&f, k, 2));
	CHECK(k == NULL);
	CHECK(strstr(f.r.err[1], "/nonexistent/token") != NULL);
	CHECK_INT_EQ(srv_requests(f.s), 1);
out:
	fixture_end(&f);
}

TEST(test_bad_options)
{
	struct loop *loop = loop_new();
	struct results r = {0};
	struct kubelet_options o = {
	    .url = "http://127.0.0.1:1", .timeout_ms = 1000, .max_body = 1024};
	struct kubelet *k;

	CHECK(loop);
	if (!loop)
		return;
	k = kubelet_new(loop, &o, on_done, &r);
	CHECK(k != NULL);
	kubelet_free(k);
	o.url = NULL;
	CHECK(kubelet_new(loop, &o, on_done, &r) == NULL);
	o.url = "file:///etc/passwd";
	CHECK(kubelet_new(loop, &o, on_done, &r) == NULL);
	o.url = "http://127.0.0.1:1";
	o.timeout_ms = 0;
	CHECK(kubelet_new(loop, &o, on_done, &r) == NULL);
	o.timeout_ms = 1000;
	o.max_body = 0;
	CHECK(kubelet_new(loop, &o, on_done, &r) == NULL);
	o.max_body = 1024;
	o.min_interval_ms = -1;
	CHECK(kubelet_new(loop, &o, on_done, &r) == NULL);
	kubelet_free(NULL);
	loop_free(loop);
}

/* ---- TLS, served by `openssl s_server -WWW` ---- */

/* Runs argv in dir with stdout and stderr to out_path; returns the child's pid or -1. */
static pid_t spawn_in(const char *dir, const char *out_path, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || chdir(dir) != 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

static int wait_exit(pid_t pid)
{
	int status;

	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads the port from s_server's "ACCEPT 127.0.0.1:<port>" line; 0 if not (yet) there. */
static int read_accept_port(const char *out_path)
{
	char *text = testing_read_file(out_path, NULL);
	const char *p = text ? strstr(text, "ACCEPT 127.0.0.1:") : NULL;
	int port = p ? atoi(p + strlen("ACCEPT 127.0.0.1:")) : 0;

	free(text);
	return port;
}

/* Fetches once with a new client made from f's options, then frees it. */
static void tls_fetch(struct fixture *f)
{
	struct kubelet *k = fixture_kubelet(f);

	if (!k)
		return;
	CHECK(fetch(f, k, f->r.n + 1));
	kubelet_free(k);
}

TEST(test_tls)
{
	char dir[64] = "", out_txt[128], cert[128], pods[128], want[128];
	static const char body[] = "{\"kind\":\"PodList\",\"items\":[]}\n";
	char *const keygen[] = {"openssl",
				"req",
				"-x509",
				"-newkey",
				"ec",
				"-pkeyopt",
				"ec_paramgen_curve:P-256",
				"-nodes",
				"-keyout",
				"key.pem",
				"-out",
				"cert.pem",
				"-subj",
				"/CN=127.0.0.1",
				"-addext",
				"subjectAltName=IP:127.0.0.1",
				"-days",
				"1",
				NULL};
	char *const server[] = {"openssl",  "s_server", "-accept", "127.0.0.1:0", "-cert",
				"cert.pem", "-key",	"key.pem", "-WWW",	  NULL};
	struct fixture f = {0}; /* no test server: s_server serves */
	pid_t pid = -1;
	int port = 0;

	if (testing_mkdtemp(dir, sizeof(dir), "kubelet-tls") != 0)
		SKIP("cannot make a temporary directory: %s", strerror(errno));
	snprintf(out_txt, sizeof(out_txt), "%s/out.txt", dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(pods, sizeof(pods), "%s/pods", dir);
	if (wait_exit(spawn_in(dir, out_txt, keygen)) != 0) {
		testing_remove_tree(dir);
		SKIP("`openssl req` could not make a self-signed certificate");
	}
	CHECK(write_file(pods, body));
	pid = spawn_in(dir, out_txt, server);
	for (int64_t until = loop_now_ms() + 3000; pid > 0 && !port && loop_now_ms() < until;) {
		port = read_accept_port(out_txt);
		if (!port)
			usleep(10000);
	}
	if (!port)
		goto out;
	f.loop = loop_new();
	CHECK(f.loop);
	if (!f.loop)
		goto out;
	snprintf(f.url, sizeof(f.url), "https://127.0.0.1:%d", port);
	f.o = (struct kubelet_options){.url = f.url, .timeout_ms = 3000, .max_body = 1 << 20};

	f.o.ca_file = cert; /* verified against the test's own CA */
	tls_fetch(&f);
	CHECK(f.r.n == 1 && f.r.ok[0]);
	if (f.r.body[0])
		CHECK_MEM_EQ(f.r.body[0], f.r.len[0], body, sizeof(body) - 1);

	f.o.ca_file = NULL; /* the system's CAs do not know it */
	tls_fetch(&f);
	snprintf(want, sizeof(want), "GET https://127.0.0.1:%d/pods: ", port);
	CHECK(f.r.n == 2 && !f.r.ok[1]);
	CHECK(starts_with(f.r.err[1], want));

	f.o.insecure = true; /* not verified */
	tls_fetch(&f);
	CHECK(f.r.n == 3 && f.r.ok[2]);
out:
	if (pid > 0) {
		kill(pid, SIGTERM);
		wait_exit(pid);
	}
	testing_remove_tree(dir);
	fixture_end(&f);
	if (!port)
		SKIP("`openssl s_server` did not start");
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	RUN(test_body_delivered_exactly);
	RUN(test_gzip_response);
	RUN(test_http_errors);
	RUN(test_connection_refused);
	RUN(test_timeout);
	RUN(test_max_body);
	RUN(test_token);
	RUN(test_coalescing);
	RUN(test_min_interval);
	RUN(test_request_after);
	RUN(test_free_while_in_flight);
	RUN(test_free_in_done);
	RUN(test_bad_options);
	RUN(test_tls);
	return testing_done();
}
