/* httpparse.c: see httpparse.h.
 *
 * A head is read line by line: the line's end is found with memchr, then its
 * bytes are checked left to right. A line whose end is not in the buffer yet
 * is checked as far as it goes (a last CR may be the start of CRLF), so
 * garbage is refused early and a valid prefix is never refused. Chunked
 * bodies go through a byte-at-a-time state machine that skips chunk data by
 * count, so data bytes need not have been captured.
 */
#include "httpparse.h"

#include "ascii.h"

#include <string.h>

/* The chunk parser's states (struct http_body's state). */
enum chunk_state {
	CH_SIZE_FIRST,	    /* the first hex digit of a chunk size */
	CH_SIZE,	    /* hex digits, BWS, ';' or CR */
	CH_SIZE_BWS,	    /* whitespace after the size: more, or ';' */
	CH_EXT_NAME_FIRST,  /* after ';': BWS, then a name's first byte */
	CH_EXT_NAME,	    /* name bytes, BWS, '=', ';' or CR */
	CH_EXT_NAME_BWS,    /* whitespace after a name: more, '=' or ';' */
	CH_EXT_VALUE_FIRST, /* after '=': BWS, then a token or '"' */
	CH_EXT_TOKEN,	    /* token value bytes, BWS, ';' or CR */
	CH_EXT_QUOTED,	    /* inside a quoted value */
	CH_EXT_QUOTED_PAIR, /* after '\' in a quoted value */
	CH_EXT_QUOTED_END,  /* after the closing '"': BWS, ';' or CR */
	CH_EXT_VALUE_BWS,   /* whitespace after a value: more, or ';' */
	CH_SIZE_LF,	    /* the LF after the size line's CR */
	CH_DATA,	    /* chunk data, skipped by count */
	CH_DATA_CR,	    /* the CR after chunk data */
	CH_DATA_LF,	    /* the LF after chunk data */
	CH_TRAILER_START,   /* a trailer field line, or the empty line ending the body */
	CH_TRAILER_NAME,    /* a trailer field's name */
	CH_TRAILER_VALUE,   /* its value, up to CR or LF */
	CH_TRAILER_LF,	    /* the LF after a trailer line's CR */
	CH_END_LF,	    /* the LF after the last empty line's CR */
	CH_END,
};

const char *http_strerror(int err)
{
	switch (err) {
	case HTTP_OK:
		return "no error";
	case HTTP_INCOMPLETE:
		return "incomplete head";
	case HTTP_ERR_METHOD:
		return "malformed method";
	case HTTP_ERR_TARGET:
		return "malformed request target";
	case HTTP_ERR_VERSION:
		return "missing or unsupported HTTP version";
	case HTTP_ERR_STATUS:
		return "malformed status code or reason";
	case HTTP_ERR_BARE_CR:
		return "CR not followed by LF";
	case HTTP_ERR_FIELD_NAME:
		return "malformed header name";
	case HTTP_ERR_FIELD_VALUE:
		return "control character in a header value";
	case HTTP_ERR_OBS_FOLD:
		return "folded header line";
	case HTTP_ERR_CONTENT_LENGTH:
		return "malformed Content-Length";
	case HTTP_ERR_DUP_LENGTH:
		return "conflicting Content-Length";
	case HTTP_ERR_LENGTH_AND_TE:
		return "Content-Length with Transfer-Encoding";
	case HTTP_ERR_TRANSFER_ENC:
		return "unusable Transfer-Encoding";
	case HTTP_ERR_DUP_HOST:
		return "more than one Host";
	case HTTP_ERR_TOO_MANY_FIELDS:
		return "too many header lines";
	case HTTP_ERR_LINE_TOO_LONG:
		return "header line too long";
	case HTTP_ERR_HEAD_TOO_LONG:
		return "head too long";
	default:
		return "unknown error";
	}
}

/* ---- bytes ---- */

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 9110 tchar. */
static bool is_tchar(unsigned char c)
{
	if (is_alpha(c) || is_digit(c))
		return true;
	switch (c) {
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '+':
	case '-':
	case '.':
	case '^':
	case '_':
	case '`':
	case '|':
	case '~':
		return true;
	default:
		return false;
	}
}

/* A byte of a request-target: visible ASCII or >= 0x80. */
static bool is_target_char(unsigned char c)
{
	return (c > 0x20 && c < 0x7f) || c >= 0x80;
}

/* A byte of a field value or a reason phrase: HTAB, SP, visible, >= 0x80. */
static bool is_text_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Whether s[0..len) is word (lower case), ignoring ASCII case. */
static bool eq_nocase(const unsigned char *s, size_t len, const char *word)
{
	size_t n = strlen(word);

	if (len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(s[i]) != (unsigned char)word[i])
			return false;
	return true;
}

static struct http_span span(const unsigned char *p, size_t len)
{
	return (struct http_span){(const char *)p, len};
}

/* ---- heads ---- */

struct parser {
	const unsigned char *p;
	size_t len; /* bytes looked at: at most HTTP_MAX_HEAD */
	struct http_head *out;
	bool host_seen;
	bool conn_upgrade, upgrade_field;
	unsigned te_chunked; /* "chunked" codings seen */
	bool te_last_chunked;
};

/* The line starting at s: its bytes are [s, *end), without the line end.
 * Returns 1 when the line end was seen (*next is where the next line starts),
 * 0 when the buffer ends first (*end leaves out a last CR, which may start a
 * CRLF), or HTTP_ERR_LINE_TOO_LONG. */
static int line_at(const struct parser *ps, size_t s, size_t *end, size_t *next)
{
	size_t room = ps->len - s;
	size_t scan = room < HTTP_MAX_LINE + 2 ? room : HTTP_MAX_LINE + 2;
	const unsigned char *lf = scan ? memchr(ps->p + s, '\n', scan) : NULL;
	size_t e;

	if (lf) {
		e = (size_t)(lf - ps->p);
		*next = e + 1;
		if (e > s && ps->p[e - 1] == '\r')
			e--;
	} else {
		e = ps->len;
		if (e > s && ps->p[e - 1] == '\r')
			e--;
	}
	if (e - s > HTTP_MAX_LINE)
		return HTTP_ERR_LINE_TOO_LONG;
	*end = e;
	return lf != NULL;
}

/* The error for an unexpected byte c where err was due: a CR gets its own. */
static int bad_byte(unsigned char c, int err)
{
	return c == '\r' ? HTTP_ERR_BARE_CR : err;
}

/* Whether a line cut at e (no line end seen) has a CR pending right there. */
static bool cr_pending(const struct parser *ps, size_t e)
{
	return e < ps->len && ps->p[e] == '\r';
}

/* "HTTP/1.<digit>" at [i, e): the error for the first byte that cannot
 * belong to it, HTTP_INCOMPLETE when e comes first, else HTTP_OK. */
static int check_version(const struct parser *ps, size_t i, size_t e)
{
	static const char pattern[] = "HTTP/1.";

	for (size_t k = 0; k < 8; k++) {
		unsigned char c;
		bool ok;

		if (i + k == e)
			return HTTP_INCOMPLETE;
		c = ps->p[i + k];
		ok = k < 7 ? c == (unsigned char)pattern[k] : is_digit(c);
		if (!ok)
			return bad_byte(c, HTTP_ERR_VERSION);
	}
	return HTTP_OK;
}

static void set_version(struct parser *ps, size_t i)
{
	ps->out->version_major = 1;
	ps->out->version_minor = ps->p[i + 7] - '0';
}

static int parse_request_line(struct parser *ps, size_t s, size_t e, bool whole)
{
	size_t i = s, t;
	int rc;

	while (i < e && is_tchar(ps->p[i]))
		i++;
	if (i == e)
		return whole ? HTTP_ERR_METHOD : HTTP_INCOMPLETE;
	if (ps->p[i] != ' ' || i == s)
		return bad_byte(ps->p[i], HTTP_ERR_METHOD);
	ps->out->method = span(ps->p + s, i - s);

	t = ++i;
	while (i < e && is_target_char(ps->p[i]))
		i++;
	if (i == e) {
		if (!whole)
			return HTTP_INCOMPLETE;
		/* "GET /" alone is HTTP/0.9 */
		return i == t ? HTTP_ERR_TARGET : HTTP_ERR_VERSION;
	}
	if (ps->p[i] != ' ' || i == t)
		return bad_byte(ps->p[i], HTTP_ERR_TARGET);
	ps->out->target = span(ps->p + t, i - t);

	i++;
	rc = check_version(ps, i, e);
	if (rc == HTTP_INCOMPLETE)
		return whole ? HTTP_ERR_VERSION : HTTP_INCOMPLETE;
	if (rc != HTTP_OK)
		return rc;
	if (i + 8 < e)
		return bad_byte(ps->p[i + 8], HTTP_ERR_VERSION);
	if (whole || cr_pending(ps, e))
		set_version(ps, i);
	return whole ? HTTP_OK : HTTP_INCOMPLETE;
}

static int parse_status_line(struct parser *ps, size_t s, size_t e, bool whole)
{
	size_t i = s;
	int rc, status = 0;

	rc = check_version(ps, i, e);
	if (rc == HTTP_INCOMPLETE)
		return whole ? HTTP_ERR_VERSION : HTTP_INCOMPLETE;
	if (rc != HTTP_OK)
		return rc;
	i += 8;
	if (i == e)
		return whole ? HTTP_ERR_STATUS : HTTP_INCOMPLETE;
	if (ps->p[i] != ' ')
		return bad_byte(ps->p[i], HTTP_ERR_VERSION);
	set_version(ps, s);
	i++;

	for (size_t k = 0; k < 3; k++, i++) {
		if (i == e)
			return whole ? HTTP_ERR_STATUS : HTTP_INCOMPLETE;
		if (!is_digit(ps->p[i]) || (k == 0 && ps->p[i] == '0'))
			return bad_byte(ps->p[i], HTTP_ERR_STATUS);
		status = status * 10 + (ps->p[i] - '0');
	}
	if (i == e) {
		if (whole || cr_pending(ps, e))
			ps->out->status = status;
		if (whole)
			ps->out->reason = span(ps->p + i, 0);
		return whole ? HTTP_OK : HTTP_INCOMPLETE;
	}
	if (ps->p[i] != ' ')
		return bad_byte(ps->p[i], HTTP_ERR_STATUS);
	ps->out->status = status;
	for (size_t k = i + 1; k < e; k++)
		if (!is_text_char(ps->p[k]))
			return bad_byte(ps->p[k], HTTP_ERR_STATUS);
	if (!whole)
		return HTTP_INCOMPLETE;
	ps->out->reason = span(ps->p + i + 1, e - i - 1);
	return HTTP_OK;
}

/* Content-Length's value: 1*DIGIT, at most INT64_MAX. */
static int apply_content_length(struct parser *ps, const unsigned char *v, size_t n)
{
	int64_t value = 0;

	if (n == 0)
		return HTTP_ERR_CONTENT_LENGTH;
	for (size_t i = 0; i < n; i++) {
		int d;

		if (!is_digit(v[i]))
			return HTTP_ERR_CONTENT_LENGTH;
		d = v[i] - '0';
		if (value > (INT64_MAX - d) / 10)
			return HTTP_ERR_CONTENT_LENGTH;
		value = value * 10 + d;
	}
	if (ps->out->content_length >= 0 && ps->out->content_length != value)
		return HTTP_ERR_DUP_LENGTH;
	ps->out->content_length = value;
	return HTTP_OK;
}

/* A Content-Length value cut short (v, n): HTTP_OK while it may still
 * become valid (OWS, digits up to INT64_MAX, OWS, nothing after, and equal
 * to an earlier Content-Length), else the error it is bound to give. */
static int partial_length(const struct parser *ps, const unsigned char *v, size_t n)
{
	int64_t value = 0, earlier = ps->out->content_length, prefix;
	size_t i = 0, digits = 0, earlier_digits = 0; /* leading zeros left out */
	bool ended;

	while (i < n && is_ows(v[i]))
		i++;
	for (; i < n && is_digit(v[i]); i++) {
		int d = v[i] - '0';

		if (value > (INT64_MAX - d) / 10)
			return HTTP_ERR_CONTENT_LENGTH;
		value = value * 10 + d;
		digits += value > 0;
	}
	ended = i < n;
	while (i < n && is_ows(v[i]))
		i++;
	if (i < n)
		return HTTP_ERR_CONTENT_LENGTH;
	if (earlier < 0)
		return HTTP_OK;
	if (ended)
		return value == earlier ? HTTP_OK : HTTP_ERR_DUP_LENGTH;
	/* the digits so far must begin the earlier value's */
	for (int64_t e = earlier; e > 0; e /= 10)
		earlier_digits++;
	if (digits > earlier_digits)
		return HTTP_ERR_DUP_LENGTH;
	prefix = earlier;
	for (size_t k = digits; k < earlier_digits; k++)
		prefix /= 10;
	return prefix == value ? HTTP_OK : HTTP_ERR_DUP_LENGTH;
}

/* Calls fn on each element of a comma-separated list, trimmed, empty ones
 * left out (RFC 9110 §5.6.1). Stops at fn's first non-zero result. */
static int each_element(struct parser *ps, const unsigned char *v, size_t n,
			int (*fn)(struct parser *ps, const unsigned char *e, size_t len))
{
	size_t i = 0;

	while (i < n) {
		size_t start = i, end;
		int rc;

		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (start < end && is_ows(v[start]))
			start++;
		while (end > start && is_ows(v[end - 1]))
			end--;
		if (end > start && (rc = fn(ps, v + start, end - start)) != 0)
			return rc;
		i++; /* past the comma */
	}
	return 0;
}

/* One transfer coding: a token, then nothing or OWS ';' and parameters
 * (not looked into). */
static int te_element(struct parser *ps, const unsigned char *e, size_t len)
{
	size_t n = 0, j;

	while (n < len && is_tchar(e[n]))
		n++;
	j = n;
	while (j < len && is_ows(e[j]))
		j++;
	if (n == 0 || (j < len && e[j] != ';'))
		return HTTP_ERR_TRANSFER_ENC;
	ps->te_last_chunked = j == len && eq_nocase(e, n, "chunked");
	if (ps->te_last_chunked && ++ps->te_chunked > 1)
		return HTTP_ERR_TRANSFER_ENC;
	return 0;
}

static int connection_element(struct parser *ps, const unsigned char *e, size_t len)
{
	if (eq_nocase(e, len, "close"))
		ps->out->connection_close = true;
	else if (eq_nocase(e, len, "keep-alive"))
		ps->out->connection_keep_alive = true;
	else if (eq_nocase(e, len, "upgrade"))
		ps->conn_upgrade = true;
	return 0;
}

static int proxy_connection_element(struct parser *ps, const unsigned char *e, size_t len)
{
	return eq_nocase(e, len, "upgrade") ? 0 : connection_element(ps, e, len);
}

/* A whole field line's name and trimmed value. */
static int apply_field(struct parser *ps, const unsigned char *name, size_t nlen,
		       const unsigned char *v, size_t vlen)
{
	struct http_head *h = ps->out;

	switch (lower(name[0])) {
	case 'c':
		if (eq_nocase(name, nlen, "content-length")) {
			int rc = apply_content_length(ps, v, vlen);
			return rc == HTTP_OK && h->transfer_encoding ? HTTP_ERR_LENGTH_AND_TE : rc;
		}
		if (eq_nocase(name, nlen, "connection"))
			return each_element(ps, v, vlen, connection_element);
		if (eq_nocase(name, nlen, "content-type") && !h->content_type.p)
			h->content_type = span(v, vlen);
		return HTTP_OK;
	case 't':
		if (eq_nocase(name, nlen, "transfer-encoding")) {
			h->transfer_encoding = true;
			if (h->content_length >= 0)
				return HTTP_ERR_LENGTH_AND_TE;
			return each_element(ps, v, vlen, te_element);
		}
		return HTTP_OK;
	case 'p':
		/* not standard, but clients and proxies send it and the
		 * references read it: its close and keep-alive count */
		if (eq_nocase(name, nlen, "proxy-connection"))
			return each_element(ps, v, vlen, proxy_connection_element);
		return HTTP_OK;
	case 'h':
		if (eq_nocase(name, nlen, "host")) {
			if (ps->host_seen && h->kind == HTTP_REQUEST)
				return HTTP_ERR_DUP_HOST;
			if (!ps->host_seen)
				h->host = span(v, vlen);
			ps->host_seen = true;
		}
		return HTTP_OK;
	case 'u':
		if (eq_nocase(name, nlen, "user-agent") && !h->user_agent.p)
			h->user_agent = span(v, vlen);
		else if (eq_nocase(name, nlen, "upgrade"))
			ps->upgrade_field = true;
		return HTTP_OK;
	case 'e':
		if (eq_nocase(name, nlen, "expect") && eq_nocase(v, vlen, "100-continue"))
			h->expect_continue = true;
		return HTTP_OK;
	default:
		return HTTP_OK;
	}
}

static int parse_field_line(struct parser *ps, size_t s, size_t e, bool whole)
{
	size_t i = s, vs, ve;

	if (is_ows(ps->p[s]))
		return HTTP_ERR_OBS_FOLD;
	if (ps->out->n_headers >= HTTP_MAX_HEADERS)
		return HTTP_ERR_TOO_MANY_FIELDS;
	while (i < e && is_tchar(ps->p[i]))
		i++;
	if (i == e)
		return whole ? HTTP_ERR_FIELD_NAME : HTTP_INCOMPLETE;
	if (ps->p[i] != ':' || i == s)
		return bad_byte(ps->p[i], HTTP_ERR_FIELD_NAME);
	for (size_t k = i + 1; k < e; k++)
		if (!is_text_char(ps->p[k]))
			return bad_byte(ps->p[k], HTTP_ERR_FIELD_VALUE);
	if (!whole) {
		if (eq_nocase(ps->p + s, i - s, "content-length")) {
			int rc = partial_length(ps, ps->p + i + 1, e - i - 1);
			if (rc != HTTP_OK)
				return rc;
		}
		return HTTP_INCOMPLETE;
	}
	vs = i + 1;
	ve = e;
	while (vs < ve && is_ows(ps->p[vs]))
		vs++;
	while (ve > vs && is_ows(ps->p[ve - 1]))
		ve--;
	ps->out->n_headers++;
	return apply_field(ps, ps->p + s, i - s, ps->p + vs, ve - vs);
}

/* The checks that need the whole head: another Transfer-Encoding line may
 * still end the codings with chunked. */
static int finish_head(struct parser *ps)
{
	struct http_head *h = ps->out;

	h->chunked = h->transfer_encoding && ps->te_last_chunked;
	if (h->kind == HTTP_REQUEST && h->transfer_encoding && !h->chunked)
		return HTTP_ERR_TRANSFER_ENC;
	h->upgrade = ps->conn_upgrade && ps->upgrade_field;
	return HTTP_OK;
}

static int parse_head(struct parser *ps)
{
	size_t s = 0, e = 0, next = 0, fields_start;
	int whole, rc;

	/* empty lines before the start line */
	for (;;) {
		whole = line_at(ps, s, &e, &next);
		if (whole < 0)
			return whole;
		if (e > s || !whole)
			break;
		s = next;
	}
	if (ps->out->kind == HTTP_REQUEST)
		rc = parse_request_line(ps, s, e, whole);
	else
		rc = parse_status_line(ps, s, e, whole);
	if (rc != HTTP_OK)
		return rc;

	fields_start = s = next;
	for (;;) {
		whole = line_at(ps, s, &e, &next);
		if (whole < 0)
			return whole;
		if (e == s)
			break; /* the empty line, or nothing yet */
		rc = parse_field_line(ps, s, e, whole);
		if (rc != HTTP_OK)
			return rc;
		s = next;
		ps->out->fields = span(ps->p + fields_start, s - fields_start);
	}
	if (!whole)
		return HTTP_INCOMPLETE;
	ps->out->head_len = next;
	return finish_head(ps);
}

int http_parse_head(const char *buf, size_t len, enum http_kind kind, struct http_head *out)
{
	struct parser ps = {
	    .p = (const unsigned char *)buf,
	    .len = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD,
	    .out = out,
	};
	int rc;

	*out = (struct http_head){.kind = kind, .content_length = -1};
	if (ps.len == 0)
		return HTTP_INCOMPLETE;
	rc = parse_head(&ps);
	if (rc == HTTP_INCOMPLETE && len > HTTP_MAX_HEAD)
		return HTTP_ERR_HEAD_TOO_LONG;
	return rc;
}

bool http_header_next(const struct http_head *h, size_t *pos, struct http_span *name,
		      struct http_span *value)
{
	const unsigned char *p = (const unsigned char *)h->fields.p;
	size_t len = h->fields.len, i = *pos, colon, end, vs, ve;
	const unsigned char *lf;

	if (!p || i >= len)
		return false;
	lf = memchr(p + i, '\n', len - i);
	if (!lf)
		return false;
	end = (size_t)(lf - p);
	*pos = end + 1;
	if (end > i && p[end - 1] == '\r')
		end--;
	colon = i;
	while (colon < end && p[colon] != ':')
		colon++;
	vs = colon < end ? colon + 1 : end;
	ve = end;
	while (vs < ve && is_ows(p[vs]))
		vs++;
	while (ve > vs && is_ows(p[ve - 1]))
		ve--;
	*name = span(p + i, colon - i);
	*value = span(p + vs, ve - vs);
	return true;
}

bool http_keep_alive(const struct http_head *h)
{
	if (h->connection_close)
		return false;
	return h->version_minor >= 1 || h->connection_keep_alive;
}

/* ---- sniffing ---- */

static const char *const known_methods[] = {
    "GET",	"HEAD",	      "POST",	   "PUT",	  "DELETE",	"CONNECT", "OPTIONS",
    "TRACE",	"PATCH",      "PROPFIND",  "PROPPATCH",	  "MKCOL",	"COPY",	   "MOVE",
    "LOCK",	"UNLOCK",     "SEARCH",	   "REPORT",	  "BIND",	"REBIND",  "UNBIND",
    "ACL",	"MKACTIVITY", "CHECKOUT",  "MERGE",	  "MKCALENDAR", "LINK",	   "UNLINK",
    "M-SEARCH", "NOTIFY",     "SUBSCRIBE", "UNSUBSCRIBE", "PURGE",	"QUERY",
};

bool http_looks_like(const char *buf, size_t len, enum http_kind *kind)
{
	if (!buf)
		return false;
	if (len >= 7 && memcmp(buf, "HTTP/1.", 7) == 0) {
		if (kind)
			*kind = HTTP_RESPONSE;
		return true;
	}
	for (size_t i = 0; i < sizeof(known_methods) / sizeof(known_methods[0]); i++) {
		size_t n = strlen(known_methods[i]);

		if (len > n && buf[n] == ' ' && memcmp(buf, known_methods[i], n) == 0) {
			if (kind)
				*kind = HTTP_REQUEST;
			return true;
		}
	}
	return false;
}

/* ---- bodies ---- */

static bool span_is(const struct http_span *s, const char *word)
{
	size_t n = strlen(word);

	return s && s->p && s->len == n && memcmp(s->p, word, n) == 0;
}

void http_body_start(struct http_body *b, const struct http_head *h,
		     const struct http_span *request_method)
{
	*b = (struct http_body){.mode = HTTP_BODY_NONE, .state = CH_SIZE_FIRST};
	if (h->kind == HTTP_REQUEST) {
		if (span_is(&h->method, "CONNECT"))
			b->mode = HTTP_BODY_NONE;
		else if (h->chunked)
			b->mode = HTTP_BODY_CHUNKED;
		else if (h->content_length > 0)
			b->mode = HTTP_BODY_LENGTH;
	} else if (h->status == 101 ||
		   (span_is(request_method, "CONNECT") && h->status >= 200 && h->status < 300)) {
		b->mode = HTTP_BODY_TUNNEL;
	} else if (span_is(request_method, "HEAD") || h->status < 200 || h->status == 204 ||
		   h->status == 304) {
		b->mode = HTTP_BODY_NONE;
	} else if (h->chunked) {
		b->mode = HTTP_BODY_CHUNKED;
	} else if (h->transfer_encoding || h->content_length < 0) {
		b->mode = HTTP_BODY_UNTIL_CLOSE;
	} else if (h->content_length > 0) {
		b->mode = HTTP_BODY_LENGTH;
	}
	if (b->mode == HTTP_BODY_LENGTH)
		b->remaining = (uint64_t)h->content_length;
	b->done = b->mode == HTTP_BODY_NONE;
}

/* Bytes a chunk-size line or a trailer line may hold, line end excluded:
 * as a head's line. */
#define CHUNK_LINE_MAX HTTP_MAX_LINE

/* One framing byte of a chunked body: the next state, or -1 if malformed. */
static int chunk_step(struct http_body *b, unsigned char c)
{
	int d;

	if (c != '\r' && c != '\n' && ++b->line_len > CHUNK_LINE_MAX)
		return -1;
	switch (b->state) {
	case CH_SIZE_FIRST:
	case CH_SIZE:
		d = ascii_hex_value(c);
		if (d >= 0) {
			if (b->remaining > (uint64_t)INT64_MAX >> 4)
				return -1;
			b->remaining = b->remaining << 4 | (uint64_t)d;
			return CH_SIZE;
		}
		if (b->state == CH_SIZE_FIRST)
			return -1;
		if (c == '\r')
			return CH_SIZE_LF;
		if (c == ';')
			return CH_EXT_NAME_FIRST;
		return is_ows(c) ? CH_SIZE_BWS : -1;
	case CH_SIZE_BWS:
		if (c == ';')
			return CH_EXT_NAME_FIRST;
		return is_ows(c) ? CH_SIZE_BWS : -1;
	case CH_EXT_NAME_FIRST:
		if (is_ows(c))
			return CH_EXT_NAME_FIRST;
		return is_tchar(c) ? CH_EXT_NAME : -1;
	case CH_EXT_NAME:
	case CH_EXT_NAME_BWS:
		if (b->state == CH_EXT_NAME && is_tchar(c))
			return CH_EXT_NAME;
		if (is_ows(c))
			return CH_EXT_NAME_BWS;
		if (c == '=')
			return CH_EXT_VALUE_FIRST;
		if (c == ';')
			return CH_EXT_NAME_FIRST;
		return c == '\r' && b->state == CH_EXT_NAME ? CH_SIZE_LF : -1;
	case CH_EXT_VALUE_FIRST:
		if (is_ows(c))
			return CH_EXT_VALUE_FIRST;
		if (c == '"')
			return CH_EXT_QUOTED;
		return is_tchar(c) ? CH_EXT_TOKEN : -1;
	case CH_EXT_TOKEN:
		if (is_tchar(c))
			return CH_EXT_TOKEN;
		if (c == '\r')
			return CH_SIZE_LF;
		if (c == ';')
			return CH_EXT_NAME_FIRST;
		return is_ows(c) ? CH_EXT_VALUE_BWS : -1;
	case CH_EXT_QUOTED:
		if (c == '"')
			return CH_EXT_QUOTED_END;
		if (c == '\\')
			return CH_EXT_QUOTED_PAIR;
		return is_text_char(c) ? CH_EXT_QUOTED : -1;
	case CH_EXT_QUOTED_PAIR:
		return is_text_char(c) ? CH_EXT_QUOTED : -1;
	case CH_EXT_QUOTED_END:
		if (c == '\r')
			return CH_SIZE_LF;
		/* fall through */
	case CH_EXT_VALUE_BWS:
		if (c == ';')
			return CH_EXT_NAME_FIRST;
		return is_ows(c) ? CH_EXT_VALUE_BWS : -1;
	case CH_SIZE_LF:
		if (c != '\n')
			return -1;
		return b->remaining ? CH_DATA : CH_TRAILER_START;
	case CH_DATA_CR:
		return c == '\r' ? CH_DATA_LF : -1;
	case CH_DATA_LF:
		return c == '\n' ? CH_SIZE_FIRST : -1;
	case CH_TRAILER_START:
		if (c == '\r')
			return CH_END_LF;
		if (c == '\n')
			return CH_END;
		if (!is_tchar(c) || ++b->trailers > HTTP_MAX_HEADERS)
			return -1;
		return CH_TRAILER_NAME;
	case CH_TRAILER_NAME:
		if (c == ':')
			return CH_TRAILER_VALUE;
		return is_tchar(c) ? CH_TRAILER_NAME : -1;
	case CH_TRAILER_VALUE:
		if (c == '\r')
			return CH_TRAILER_LF;
		if (c == '\n')
			return CH_TRAILER_START;
		return is_text_char(c) ? CH_TRAILER_VALUE : -1;
	case CH_TRAILER_LF:
		return c == '\n' ? CH_TRAILER_START : -1;
	case CH_END_LF:
		return c == '\n' ? CH_END : -1;
	default:
		return -1;
	}
}

/* Chunked framing over one segment; returns the bytes of total it took. */
static size_t chunked_feed(struct http_body *b, const unsigned char *data, size_t avail,
			   size_t total)
{
	size_t i = 0;

	while (i < total) {
		int next;

		if (b->state == CH_DATA) {
			uint64_t n = total - i < b->remaining ? total - i : b->remaining;
			i += (size_t)n;
			b->remaining -= n;
			b->size += n;
			if (b->remaining == 0)
				b->state = CH_DATA_CR;
			continue;
		}
		if (i >= avail && (b->state == CH_DATA_CR || b->state == CH_DATA_LF)) {
			/* the CRLF after chunk data can only be that: not seeing it
			 * loses nothing (the next size line is what must be seen) */
			b->state = b->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE_FIRST;
			i++;
			continue;
		}
		if (i >= avail) {
			b->lost = true;
			break;
		}
		next = chunk_step(b, data[i]);
		if (next < 0) {
			b->lost = b->malformed = true;
			break;
		}
		if (data[i++] == '\n')
			b->line_len = 0;
		b->state = (uint8_t)next;
		if (next == CH_END) {
			b->done = true;
			return i;
		}
	}
	if (b->lost) {
		/* the rest of the segment: framing unknown, counted as payload */
		b->size += total - i;
		return total;
	}
	return i;
}

size_t http_body_feed(struct http_body *b, const char *data, size_t avail, size_t total, bool *done,
		      bool *lost)
{
	size_t n = 0;

	if (avail > total)
		avail = total;
	if (!data)
		avail = 0;
	if (b->lost) {
		b->size += total;
		n = total;
	} else if (!b->done) {
		switch (b->mode) {
		case HTTP_BODY_NONE:
			b->done = true;
			break;
		case HTTP_BODY_LENGTH:
			n = total < b->remaining ? total : (size_t)b->remaining;
			b->remaining -= n;
			b->size += n;
			b->done = b->remaining == 0;
			break;
		case HTTP_BODY_CHUNKED:
			n = chunked_feed(b, (const unsigned char *)data, avail, total);
			break;
		case HTTP_BODY_UNTIL_CLOSE:
		case HTTP_BODY_TUNNEL:
			n = total;
			b->size += total;
			break;
		}
	}
	if (done)
		*done = b->done;
	if (lost)
		*lost = b->lost;
	return n;
}

uint64_t http_body_size(const struct http_body *b)
{
	return b->size;
}

bool http_body_until_close(const struct http_body *b)
{
	return b->mode == HTTP_BODY_UNTIL_CLOSE || b->mode == HTTP_BODY_TUNNEL;
}

/* ---- targets ---- */

/* The length of "scheme://" at the start of s, or 0. */
static size_t scheme_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !is_alpha((unsigned char)s[0]))
		return 0;
	while (i < len && (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) ||
			   s[i] == '+' || s[i] == '-' || s[i] == '.'))
		i++;
	if (len - i < 3 || memcmp(s + i, "://", 3) != 0)
		return 0;
	return i + 3;
}

int http_split_target(struct http_span target, struct http_span *path, struct http_span *query)
{
	const char *s = target.p, *end, *q, *h;
	size_t skip;

	*path = (struct http_span){0};
	*query = (struct http_span){0};
	if (!s || target.len == 0)
		return -1;
	end = s + target.len;
	if (target.len == 1 && s[0] == '*') {
		*path = target;
		return 0;
	}
	if (s[0] != '/') {
		skip = scheme_len(s, target.len);
		if (!skip)
			return -1; /* authority-form */
		s += skip;
		while (s < end && *s != '/' && *s != '?' && *s != '#')
			s++; /* the authority */
	}
	h = memchr(s, '#', (size_t)(end - s));
	if (h)
		end = h;
	q = memchr(s, '?', (size_t)(end - s));
	*path = (struct http_span){s, (size_t)((q ? q : end) - s)};
	if (q)
		*query = (struct http_span){q + 1, (size_t)(end - q - 1)};
	return 0;
}

int http_split_host(struct http_span authority, struct http_span *host, int *port)
{
	const char *s = authority.p, *end, *colon;
	struct http_span name;
	long value = 0;

	*host = (struct http_span){0};
	*port = -1;
	if (!s)
		return authority.len ? -1 : 0;
	end = s + authority.len;
	for (const char *at = end; at > s; at--) {
		if (at[-1] == '@') {
			s = at; /* past the userinfo */
			break;
		}
	}
	if (s < end && *s == '[') {
		const char *close = memchr(s, ']', (size_t)(end - s));

		if (!close || (close + 1 < end && close[1] != ':'))
			return -1;
		name = (struct http_span){s + 1, (size_t)(close - s - 1)};
		colon = close + 1 < end ? close + 1 : NULL;
	} else {
		colon = memchr(s, ':', (size_t)(end - s));
		/* an IPv6 address without brackets, or a stray bracket */
		if ((colon && memchr(colon + 1, ':', (size_t)(end - colon - 1))) ||
		    memchr(s, ']', (size_t)(end - s)))
			return -1;
		name = (struct http_span){s, (size_t)((colon ? colon : end) - s)};
	}
	if (colon && colon + 1 < end) {
		if (end - colon - 1 > 5)
			return -1;
		for (const char *d = colon + 1; d < end; d++) {
			if (!is_digit((unsigned char)*d))
				return -1;
			value = value * 10 + (*d - '0');
		}
		if (value > 65535)
			return -1;
		*port = (int)value;
	}
	*host = name;
	return 0;
}

/* ---- redaction ---- */

/* Room for a key as read for matching; a longer one is taken for a secret. */
#define REDACT_KEY_MAX 128

static const char *const secret_keys[] = {
    "token",
    "accesstoken",
    "idtoken",
    "refreshtoken",
    "apikey",
    "key",
    "secret",
    "clientsecret",
    "password",
    "passwd",
    "pwd",
    "auth",
    "authorization",
    "signature",
    "sig",
    "session",
    "sessionid",
    "jwt",
    "code",
    "xamzsignature",
    "xamzcredential",
    "xamzsecuritytoken",
    "xgoogsignature",
    "xgoogcredential",
};

static const char *const secret_parts[] = {
    "token",  "secret",	    "passw",	 "signature", "credential",
    "apikey", "privatekey", "sessionid", "sessid",
};

static bool key_is_secret(const char *k, size_t len)
{
	char norm[REDACT_KEY_MAX];
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)k[i];

		if (c == '%' && i + 2 < len && ascii_hex_value((unsigned char)k[i + 1]) >= 0 &&
		    ascii_hex_value((unsigned char)k[i + 2]) >= 0) {
			c = (unsigned char)(ascii_hex_value((unsigned char)k[i + 1]) << 4 |
					    ascii_hex_value((unsigned char)k[i + 2]));
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		c = lower(c);
		if (c == '-' || c == '_' || c == '.' || c == ' ')
			continue;
		if (n == sizeof(norm))
			return true;
		norm[n++] = (char)c;
	}
	if (n == 0)
		return false;
	for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++)
		if (strlen(secret_keys[i]) == n && memcmp(norm, secret_keys[i], n) == 0)
			return true;
	for (size_t i = 0; i < sizeof(secret_parts) / sizeof(secret_parts[0]); i++)
		if (memmem(norm, n, secret_parts[i], strlen(secret_parts[i])))
			return true;
	return false;
}

struct out_buf {
	char *p;
	size_t cap, len;
};

static void out_put(struct out_buf *o, const char *s, size_t n)
{
	if (o->len + 1 < o->cap) {
		size_t room = o->cap - 1 - o->len;
		memcpy(o->p + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

size_t http_redact_query(struct http_span query, char *out, size_t cap)
{
	static const char redacted[] = "REDACTED";
	struct out_buf o = {out, cap, 0};
	const char *s = query.p, *end = NULL, *h;

	if (s) {
		h = memchr(s, '#', query.len);
		end = h ? h : s + query.len;
	}
	while (s && s < end) {
		const char *pair = s, *eq;

		while (s < end && *s != '&' && *s != ';')
			s++;
		eq = memchr(pair, '=', (size_t)(s - pair));
		if (eq && eq + 1 < s && key_is_secret(pair, (size_t)(eq - pair))) {
			out_put(&o, pair, (size_t)(eq + 1 - pair));
			out_put(&o, redacted, sizeof(redacted) - 1);
		} else {
			out_put(&o, pair, (size_t)(s - pair));
		}
		if (s < end) {
			out_put(&o, s, 1); /* the separator */
			s++;
		}
	}
	if (cap)
		out[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}
