/* httptrack.c: see httptrack.h.
 *
 * Connections live in a map by connection id and on a list in order of use,
 * so the least recently used one goes first when there are too many, and
 * expiry walks from the oldest. A request is an exchange in the making: it
 * is appended to its connection's FIFO when its head is parsed and handed
 * over when the response at the FIFO's front ends.
 */
#include "httptrack.h"

#include "hmap.h"
#include "httpparse.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

enum stream_state {
	STREAM_HEAD,   /* expecting a message head */
	STREAM_BODY,   /* in a message's body */
	STREAM_SKIP,   /* framing lost: waiting for a segment that starts a message */
	STREAM_TUNNEL, /* after 101 or CONNECT: not HTTP any more */
};

struct stream {
	enum stream_state state;
	struct http_body body;
	char *head; /* a head's bytes so far, when it spans segments */
	size_t head_len;
	int64_t msg_ns; /* the first byte of the message being read */
	bool interim;	/* the response being read is a 1xx */
};

struct pending {
	struct httptrack_exchange x;
	bool request_done; /* its body has ended */
	struct pending *next;
};

struct conn {
	uint64_t id;
	int64_t last_ns;
	struct stream req, resp;
	struct pending *head, *tail; /* FIFO: head is the oldest request */
	size_t n_pending;
	/* addresses and ids every exchange copies (its members up to method;
	 * the others are 0 here) */
	struct httptrack_exchange base;
	struct conn *prev, *next; /* use order: head is the most recent */
};

struct httptrack {
	struct httptrack_options opts;
	httptrack_emit_fn emit;
	void *ctx;
	struct hmap *conns;
	struct conn *lru_head, *lru_tail;
	size_t n_conns;
	size_t n_pending;  /* over all connections */
	size_t head_bytes; /* reassembly buffers allocated */
	struct httptrack_stats stats;
};

struct httptrack *httptrack_new(const struct httptrack_options *opts, httptrack_emit_fn emit,
				void *ctx)
{
	struct httptrack *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->opts = *opts;
	if (!t->opts.max_pending)
		t->opts.max_pending = 1;
	if (t->opts.n_headers > HTTPTRACK_HEADERS)
		t->opts.n_headers = HTTPTRACK_HEADERS;
	t->emit = emit;
	t->ctx = ctx;
	t->conns = hmap_new();
	if (!t->conns) {
		free(t);
		return NULL;
	}
	return t;
}

static void lru_unlink(struct httptrack *t, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		t->lru_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		t->lru_tail = c->prev;
	c->prev = c->next = NULL;
}

static void lru_push(struct httptrack *t, struct conn *c)
{
	c->next = t->lru_head;
	c->prev = NULL;
	if (t->lru_head)
		t->lru_head->prev = c;
	t->lru_head = c;
	if (!t->lru_tail)
		t->lru_tail = c;
}

static void hand_over(struct httptrack *t, struct pending *p, bool incomplete)
{
	p->x.incomplete = p->x.incomplete || incomplete;
	t->stats.exchanges++;
	if (p->x.incomplete)
		t->stats.incomplete++;
	t->emit(t->ctx, &p->x);
}

static struct pending *fifo_pop(struct httptrack *t, struct conn *c)
{
	struct pending *p = c->head;

	if (!p)
		return NULL;
	c->head = p->next;
	if (!c->head)
		c->tail = NULL;
	c->n_pending--;
	t->n_pending--;
	return p;
}

/* Forgets c; its waiting requests are handed over as incomplete, except a
 * response that runs until the close, which the close completes. */
static void conn_free(struct httptrack *t, struct conn *c, bool closed)
{
	struct pending *p;

	if (closed && c->resp.state == STREAM_BODY && c->head && c->head->x.status &&
	    http_body_until_close(&c->resp.body)) {
		p = fifo_pop(t, c);
		p->x.response_body = http_body_size(&c->resp.body);
		hand_over(t, p, false);
		free(p);
	}
	/* a response cut short: the bytes that came are its size */
	if (c->resp.state == STREAM_BODY && !c->resp.interim && c->head && c->head->x.status)
		c->head->x.response_body = http_body_size(&c->resp.body);
	while ((p = fifo_pop(t, c)) != NULL) {
		hand_over(t, p, true);
		free(p);
	}
	hmap_del(t->conns, &c->id, sizeof(c->id));
	lru_unlink(t, c);
	t->n_conns--;
	if (c->req.head)
		t->head_bytes -= t->opts.max_head;
	if (c->resp.head)
		t->head_bytes -= t->opts.max_head;
	free(c->req.head);
	free(c->resp.head);
	free(c);
}

static struct conn *conn_get(struct httptrack *t, const struct http_rec *r)
{
	struct conn *c = hmap_get(t->conns, &r->conn_id, sizeof(r->conn_id));
	bool server;

	if (c) {
		lru_unlink(t, c);
		lru_push(t, c);
		return c;
	}
	if (r->type != HTTP_REC_DATA || r->role == HTTP_ROLE_UNKNOWN)
		return NULL;
	if (t->opts.max_conns && t->n_conns >= t->opts.max_conns && t->lru_tail) {
		t->stats.conns_dropped++;
		conn_free(t, t->lru_tail, false);
	}
	c = calloc(1, sizeof(*c));
	if (!c || hmap_put(t->conns, &r->conn_id, sizeof(r->conn_id), c) != 0) {
		free(c);
		t->stats.conns_dropped++;
		return NULL;
	}
	c->id = r->conn_id;
	server = r->role == HTTP_ROLE_SERVER;
	c->base.conn_id = r->conn_id;
	c->base.cgroup_id = r->cgroup_id;
	c->base.tgid = r->tgid;
	c->base.side = (enum http_role)r->role;
	c->base.family = r->family == 10 ? AF_INET6 : AF_INET;
	memcpy(c->base.server_addr, server ? r->local_addr : r->remote_addr, 16);
	memcpy(c->base.client_addr, server ? r->remote_addr : r->local_addr, 16);
	c->base.server_port = server ? r->local_port : r->remote_port;
	c->base.client_port = server ? r->remote_port : r->local_port;
	lru_push(t, c);
	t->n_conns++;
	t->stats.conns++;
	return c;
}

static void copy_span(char *out, size_t cap, struct http_span s)
{
	size_t n = s.len < cap - 1 ? s.len : cap - 1;

	if (s.p && n)
		memcpy(out, s.p, n);
	out[s.p ? n : 0] = '\0';
}

static void set_target(struct httptrack_exchange *x, struct http_span target)
{
	struct http_span path = {0}, query = {0};

	if (http_split_target(target, &path, &query) != 0)
		path = target;
	copy_span(x->path, sizeof(x->path), path);
	x->has_query = query.p != NULL;
	if (x->has_query)
		http_redact_query(query, x->query, sizeof(x->query));
	else
		x->query[0] = '\0';
}

static bool secret_header(struct http_span name)
{
	static const char *const secret[] = {
	    "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
	    "x-auth-token",  "x-amz-security-token"};

	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
		if (name.len == strlen(secret[i]) && strncasecmp(name.p, secret[i], name.len) == 0)
			return true;
	return false;
}

/* The request headers the options name, first value of each. */
static void keep_headers(const struct httptrack *t, struct httptrack_exchange *x,
			 const struct http_head *h)
{
	struct http_span name, value;
	size_t pos = 0;

	while (http_header_next(h, &pos, &name, &value)) {
		for (size_t i = 0; i < t->opts.n_headers; i++) {
			const char *want = t->opts.headers[i];
			if (x->headers[i][0] || name.len != strlen(want) ||
			    strncasecmp(name.p, want, name.len) != 0)
				continue;
			if (secret_header(name) && !t->opts.secret_headers)
				snprintf(x->headers[i], HTTPTRACK_VALUE_MAX, "REDACTED");
			else
				copy_span(x->headers[i], HTTPTRACK_VALUE_MAX, value);
		}
	}
}

/* A request head: a new exchange at the FIFO's end. */
static struct pending *request_start(struct httptrack *t, struct conn *c, const struct http_head *h,
				     int64_t ts)
{
	struct pending *p;

	if (c->n_pending >= t->opts.max_pending) {
		/* responses stopped coming: the oldest goes out as incomplete */
		p = fifo_pop(t, c);
		t->stats.pending_dropped++;
		hand_over(t, p, true);
		free(p);
	}
	p = t->n_pending < t->opts.max_pending_total ? malloc(sizeof(*p)) : NULL;
	if (!p) {
		t->stats.pending_dropped++;
		return NULL;
	}
	/* not the whole ~6 KiB: the numbers, then each string emptied */
	memcpy(&p->x, &c->base, offsetof(struct httptrack_exchange, method));
	p->x.method[0] = p->x.path[0] = p->x.query[0] = '\0';
	for (size_t i = 0; i < HTTPTRACK_HEADERS; i++)
		p->x.headers[i][0] = '\0';
	p->request_done = false;
	p->next = NULL;
	p->x.request_ns = ts;
	if (h) {
		copy_span(p->x.method, sizeof(p->x.method), h->method);
		set_target(&p->x, h->target);
		p->x.version_minor = h->version_minor;
		keep_headers(t, &p->x, h);
	}
	if (c->tail)
		c->tail->next = p;
	else
		c->head = p;
	c->tail = p;
	c->n_pending++;
	t->n_pending++;
	return p;
}

/* The request whose body is being read: the newest. */
static void request_body_done(struct conn *c)
{
	if (c->tail) {
		c->tail->x.request_body = http_body_size(&c->req.body);
		c->tail->request_done = true;
	}
}

/* The response at the FIFO's front ended. */
static void response_done(struct httptrack *t, struct conn *c)
{
	struct pending *p = fifo_pop(t, c);

	if (!p)
		return;
	p->x.response_body = http_body_size(&c->resp.body);
	hand_over(t, p, false);
	free(p);
}

static void stream_lost(struct httptrack *t, struct stream *s)
{
	t->stats.desyncs++;
	s->state = STREAM_SKIP;
	s->head_len = 0;
}

/* A head was parsed on stream s of c (h->kind says which). */
static void message_start(struct httptrack *t, struct conn *c, struct stream *s,
			  const struct http_head *h)
{
	struct pending *front = c->head;
	struct http_span method = {0};

	if (h->kind == HTTP_REQUEST) {
		request_start(t, c, h, s->msg_ns);
		http_body_start(&s->body, h, NULL);
		s->state = STREAM_BODY;
		return;
	}
	s->interim = h->status >= 100 && h->status < 200 && h->status != 101;
	if (s->interim) {
		/* 100 Continue and the like: the exchange goes on */
		http_body_start(&s->body, h, NULL);
		s->state = STREAM_BODY;
		return;
	}
	if (!front) {
		/* a response to a request not seen (met mid-stream) */
		t->stats.unpaired_responses++;
	} else {
		front->x.status = h->status;
		front->x.response_ns = s->msg_ns;
		method = (struct http_span){front->x.method, strlen(front->x.method)};
	}
	if (h->status == 101 || (h->status >= 200 && h->status < 300 && front &&
				 strcmp(front->x.method, "CONNECT") == 0)) {
		/* the connection speaks something else from here on */
		if (front)
			response_done(t, c);
		c->req.state = c->resp.state = STREAM_TUNNEL;
		return;
	}
	http_body_start(&s->body, h, front ? &method : NULL);
	s->state = STREAM_BODY;
}

static void message_end(struct httptrack *t, struct conn *c, struct stream *s)
{
	s->state = STREAM_HEAD;
	if (s == &c->req)
		request_body_done(c);
	else if (s->interim)
		s->interim = false;
	else if (c->head && c->head->x.status)
		response_done(t, c);
}

/* A head longer than what was captured: what the parser read whole of it
 * (h, from HTTP_INCOMPLETE; NULL when nothing) is kept, and the stream waits
 * for the next message. */
static void head_truncated(struct httptrack *t, struct conn *c, struct stream *s,
			   const struct http_head *h)
{
	struct pending *x;

	if (h && h->kind == HTTP_REQUEST && h->method.p && h->target.p) {
		x = request_start(t, c, NULL, s->msg_ns);
		if (x) {
			copy_span(x->x.method, sizeof(x->x.method), h->method);
			set_target(&x->x, h->target);
			x->x.truncated = true;
			x->x.version_minor = h->version_major ? h->version_minor : 1;
		}
	} else if (h && h->kind == HTTP_RESPONSE && c->head && h->status) {
		c->head->x.status = h->status;
		c->head->x.response_ns = s->msg_ns;
		c->head->x.incomplete = true; /* its body could not be followed */
		memset(&s->body, 0, sizeof(s->body));
		response_done(t, c);
	}
	stream_lost(t, s);
}

/* Parses a head from the stream's reassembly buffer plus data[0..avail). Returns
 * how many bytes of data the head took, or -1 when it needs more, or -2 when
 * the stream lost its framing. */
static long parse_head(struct httptrack *t, struct conn *c, struct stream *s, enum http_kind kind,
		       const char *data, size_t avail, bool more_uncaptured)
{
	struct http_head h;
	const char *buf = data;
	size_t len = avail, had = s->head_len;
	int rc;

	if (had) {
		size_t room = t->opts.max_head - had, n = avail < room ? avail : room;
		memcpy(s->head + had, data, n);
		s->head_len += n;
		buf = s->head;
		len = s->head_len;
	}
	rc = http_parse_head(buf, len, kind, &h);
	if (rc == HTTP_OK) {
		size_t took = h.head_len - had;
		message_start(t, c, s, &h);
		s->head_len = 0;
		return (long)took;
	}
	if (rc == HTTP_INCOMPLETE && !more_uncaptured && len < t->opts.max_head) {
		/* the head goes on in the next segment */
		if (!had) {
			if (!s->head) {
				if (t->head_bytes + t->opts.max_head > t->opts.max_head_total ||
				    !(s->head = malloc(t->opts.max_head))) {
					stream_lost(t, s);
					return -2;
				}
				t->head_bytes += t->opts.max_head;
			}
			memcpy(s->head, data, avail);
			s->head_len = avail;
		}
		return -1;
	}
	if (rc == HTTP_INCOMPLETE) {
		head_truncated(t, c, s, &h);
		return -2;
	}
	t->stats.malformed++;
	stream_lost(t, s);
	return -2;
}

/* One segment of a stream: total bytes, the first avail of them in data. */
static void stream_feed(struct httptrack *t, struct conn *c, struct stream *s, enum http_kind kind,
			const char *data, size_t avail, uint64_t total, int64_t ts)
{
	uint64_t pos = 0;

	while (pos < total) {
		size_t have = pos < avail ? avail - (size_t)pos : 0;
		const char *at = data + (pos < avail ? pos : avail);

		switch (s->state) {
		case STREAM_TUNNEL:
			return;
		case STREAM_SKIP: {
			enum http_kind k;
			size_t crlf = 0;
			/* a message starts only where a segment does, maybe after the
			 * empty lines some peers send after a body */
			while (crlf < have && (at[crlf] == '\r' || at[crlf] == '\n'))
				crlf++;
			if (pos != 0 || !http_looks_like(at + crlf, have - crlf, &k) || k != kind)
				return;
			s->state = STREAM_HEAD;
			break;
		}
		case STREAM_BODY: {
			bool done = false, lost = false;
			size_t n = http_body_feed(&s->body, at, have, total - pos, &done, &lost);
			pos += n;
			if (lost) {
				if (s == &c->resp && c->head && c->head->x.status && !s->interim) {
					c->head->x.incomplete = true;
					response_done(t, c);
				} else if (s == &c->req) {
					request_body_done(c);
				}
				stream_lost(t, s);
				return;
			}
			if (done)
				message_end(t, c, s);
			else if (n == 0)
				return;
			break;
		}
		case STREAM_HEAD: {
			long took;
			if (!have) {
				/* the bytes were not captured: their framing is unknown */
				struct http_head h;
				if (s->head_len && http_parse_head(s->head, s->head_len, kind,
								   &h) == HTTP_INCOMPLETE)
					head_truncated(t, c, s, &h);
				else
					stream_lost(t, s);
				return;
			}
			if (!s->head_len)
				s->msg_ns = ts;
			took = parse_head(t, c, s, kind, at, have, have < total - pos);
			if (took < 0)
				return;
			pos += (uint64_t)took;
			if (s->state == STREAM_BODY) {
				/* a message without a body ends here */
				bool done = false, lost = false;
				http_body_feed(&s->body, NULL, 0, 0, &done, &lost);
				if (done)
					message_end(t, c, s);
			}
			break;
		}
		}
	}
}

void httptrack_record(struct httptrack *t, const struct http_rec *r)
{
	struct conn *c;
	bool request_side;

	t->stats.records++;
	c = conn_get(t, r);
	if (!c)
		return;
	if (r->ts_ns) /* 0: bytes not captured, which need no time */
		c->last_ns = (int64_t)r->ts_ns;
	if (r->type == HTTP_REC_CLOSE) {
		conn_free(t, c, true);
		return;
	}
	/* a client writes requests, a server reads them */
	request_side = (r->dir == HTTP_DIR_OUT) == (c->base.side == HTTP_ROLE_CLIENT);
	if (request_side)
		stream_feed(t, c, &c->req, HTTP_REQUEST, r->data, r->captured, r->total,
			    (int64_t)r->ts_ns);
	else
		stream_feed(t, c, &c->resp, HTTP_RESPONSE, r->data, r->captured, r->total,
			    (int64_t)r->ts_ns);
}

void httptrack_expire(struct httptrack *t, int64_t now_ns)
{
	struct conn *c = t->lru_tail;

	while (c) {
		struct conn *prev = c->prev;
		while (c->head && now_ns - c->head->x.request_ns > t->opts.timeout_ns) {
			struct pending *p = fifo_pop(t, c);
			hand_over(t, p, true);
			free(p);
		}
		if (!c->head && now_ns - c->last_ns > t->opts.idle_ns)
			conn_free(t, c, false);
		c = prev;
	}
}

void httptrack_free(struct httptrack *t)
{
	if (!t)
		return;
	for (struct conn *c = t->lru_head, *next; c; c = next) {
		next = c->next;
		conn_free(t, c, false);
	}
	hmap_free(t->conns);
	free(t);
}

void httptrack_get_stats(const struct httptrack *t, struct httptrack_stats *out)
{
	*out = t->stats;
}
