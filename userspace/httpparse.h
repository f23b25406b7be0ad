/* httpparse.h: HTTP/1.x message heads, body framing and request targets, for
 * traffic captured from syscalls (the kernel hands over each read or write as
 * its total byte count and a bounded prefix of its bytes).
 *
 * Pure and allocation-free: every function reads only the bytes it is given
 * (everything is untrusted), writes only into the caller's structs and
 * buffers, and never recurses. Spans point into the caller's buffer.
 *
 * Rules where RFC 9112 leaves a choice, chosen for an observer that must stay
 * in step with what the peers did and must never be misled about framing:
 *
 * - Lines end with CRLF; a bare LF is accepted as a line end in heads and in
 *   trailers (RFC 9112 §2.2 allows it, as http-parser and picohttpparser do;
 *   llhttp refuses it), never in chunk-size lines or after chunk data. A CR
 *   not followed by LF is an error anywhere.
 * - Empty lines before a start line are skipped (RFC 9112 §2.2), as the CRLF
 *   some clients send after a body.
 * - obs-fold (a field line starting with SP or HTAB, or whitespace between
 *   the start line and the first field) is an error: a fold-aware and a
 *   fold-unaware reader split such a head differently (request smuggling).
 * - Request line: method SP request-target SP HTTP-version, one SP each.
 *   The method is any token (RFC 9110 §9.1: custom methods reach servers
 *   that accept them); the target is any run of visible ASCII and bytes
 *   >= 0x80 (raw UTF-8 paths, as sent); no form is enforced here.
 * - Versions HTTP/1.0 to HTTP/1.9 (a higher minor is read as 1.1 would be);
 *   HTTP/0.9 (no version) and every other major are errors.
 * - Status line: HTTP-version SP 3DIGIT (100-999), then SP and a reason of
 *   visible bytes, SP, HTAB and bytes >= 0x80, or the line end.
 * - Field names are tokens, with no whitespace before the colon; values may
 *   hold visible bytes, SP, HTAB and bytes >= 0x80, never other controls or
 *   DEL. Values are returned without their leading and trailing SP/HTAB.
 * - Content-Length is 1*DIGIT up to INT64_MAX; repeated fields must agree
 *   (a list such as "5, 5" is an error). Content-Length together with
 *   Transfer-Encoding is an error, in requests and responses alike.
 * - Transfer-Encoding: codings from every such field in order; "chunked"
 *   twice is an error; in a request, codings that do not end with chunked are
 *   an error (RFC 9112 §6.3); in a response they mean "until close".
 * - A request with more than one Host field is an error (RFC 9112 §3.2).
 * - Connection lists close, keep-alive and upgrade; the non-standard
 *   Proxy-Connection that old clients and proxies send counts for close and
 *   keep-alive (as http-parser and llhttp have it).
 */
#ifndef GLIMPSE_HTTPPARSE_H
#define GLIMPSE_HTTPPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_LINE	 8192  /* bytes of one line of a head, line end excluded */
#define HTTP_MAX_HEADERS 128   /* field lines in a head, and in a chunked body's trailers */
#define HTTP_MAX_HEAD	 65536 /* bytes of a whole head, final empty line included */

enum http_kind { HTTP_REQUEST, HTTP_RESPONSE };

/* Bytes in the caller's buffer. {NULL, 0} is absent; {p, 0} is present and
 * empty (an empty header value, an empty query after '?'). */
struct http_span {
	const char *p;
	size_t len;
};

enum http_result {
	HTTP_OK = 0,
	HTTP_INCOMPLETE = 1,		/* a valid beginning of a head: more bytes are needed */
	HTTP_ERR_METHOD = -1,		/* empty method, or a byte that is not a token's */
	HTTP_ERR_TARGET = -2,		/* empty request-target, or a control byte, DEL */
	HTTP_ERR_VERSION = -3,		/* not HTTP/1.x, or missing (HTTP/0.9) */
	HTTP_ERR_STATUS = -4,		/* status not 3 digits 100-999, or a bad reason byte */
	HTTP_ERR_BARE_CR = -5,		/* a CR not followed by LF */
	HTTP_ERR_FIELD_NAME = -6,	/* empty name, non-token byte, no colon */
	HTTP_ERR_FIELD_VALUE = -7,	/* a control byte or DEL in a value */
	HTTP_ERR_OBS_FOLD = -8,		/* a line starting with SP or HTAB */
	HTTP_ERR_CONTENT_LENGTH = -9,	/* Content-Length not 1*DIGIT, or over INT64_MAX */
	HTTP_ERR_DUP_LENGTH = -10,	/* Content-Length fields that disagree */
	HTTP_ERR_LENGTH_AND_TE = -11,	/* both Content-Length and Transfer-Encoding */
	HTTP_ERR_TRANSFER_ENC = -12,	/* chunked twice, a malformed coding, or a request's
					 * codings not ending with chunked */
	HTTP_ERR_DUP_HOST = -13,	/* a request with more than one Host */
	HTTP_ERR_TOO_MANY_FIELDS = -14, /* more than HTTP_MAX_HEADERS field lines */
	HTTP_ERR_LINE_TOO_LONG = -15,	/* a line longer than HTTP_MAX_LINE */
	HTTP_ERR_HEAD_TOO_LONG = -16,	/* no end of head within HTTP_MAX_HEAD bytes */
};

struct http_head {
	enum http_kind kind;
	struct http_span method;	  /* request: the token, e.g. GET, M-SEARCH */
	struct http_span target;	  /* request: as sent: origin-form, absolute-form,
					   * authority-form (CONNECT) or "*" */
	int version_major, version_minor; /* 1 and 0-9; 0, 0 while unknown */
	int status;			  /* response: 100-999; 0 while unknown */
	struct http_span reason;	  /* response: may be empty */
	int64_t content_length;		  /* -1 when absent */
	bool transfer_encoding;		  /* a Transfer-Encoding field was present */
	bool chunked;			  /* ... and its last coding is chunked */
	bool connection_close, connection_keep_alive; /* tokens of Connection */
	bool upgrade;	       /* Connection lists "upgrade" and an Upgrade field is present */
	bool expect_continue;  /* Expect: 100-continue */
	struct http_span host; /* the first of each (only one Host in a request) */
	struct http_span user_agent, content_type;
	unsigned n_headers;	 /* field lines */
	struct http_span fields; /* the field lines read whole, with their line
				  * ends, for http_header_next() */
	size_t head_len;	 /* bytes through the empty line ending the head */
};

/* Parses one message head at buf (len bytes; buf may be NULL when len is 0).
 * Returns HTTP_OK with head_len set, HTTP_INCOMPLETE when the len bytes are a
 * valid beginning of a head, or a negative enum http_result: the first
 * problem met from left to right (a field's, when its line is whole; whether
 * a request's codings end with chunked, at the end of the head).
 *
 * Every proper prefix of a head that gives HTTP_OK gives HTTP_INCOMPLETE, and
 * once a prefix gives an error every longer one does: a caller may parse
 * again as bytes arrive. Bytes after head_len are not looked at.
 *
 * With HTTP_INCOMPLETE (a head cut by the capture), what was read whole is
 * set: the method once the SP after it was seen, the target once the SP
 * after it was seen, the version once the byte after it was (SP or line end),
 * the status likewise, the reason and the fields of lines whose line end was
 * seen (n_headers and fields count those). A value cut short is never
 * reported, but one that can no longer become valid (a Content-Length with a
 * non-digit or over INT64_MAX) is an error at once. On error *out is
 * unspecified. */
int http_parse_head(const char *buf, size_t len, enum http_kind kind, struct http_head *out);

/* The next of the field lines http_parse_head() read whole (all of them
 * with HTTP_OK): *pos is 0 for the first and is advanced; false when there
 * are no more. The value is trimmed. */
bool http_header_next(const struct http_head *h, size_t *pos, struct http_span *name,
		      struct http_span *value);

/* Whether the connection stays open after this message by its version and
 * Connection field: HTTP/1.1 unless "close", HTTP/1.0 only with
 * "keep-alive" (and not "close"). A body read until close ends it anyway. */
bool http_keep_alive(const struct http_head *h);

/* Whether buf starts like an HTTP/1.x message, for sniffing a connection or
 * finding where to pick up a stream again: a response starts with "HTTP/1.",
 * a request with a known method and SP (GET, HEAD, POST, PUT, DELETE,
 * CONNECT, OPTIONS, TRACE, PATCH, the WebDAV, CalDAV, UPnP and Varnish ones,
 * QUERY). Case-sensitive, no leading empty lines. Looks at most at the first
 * 12 bytes; false when buf is too short to tell. kind, which may be NULL, is
 * set when true. */
bool http_looks_like(const char *buf, size_t len, enum http_kind *kind);

const char *http_strerror(int err);

/* Body framing. Fields are for reading; http_body_start() sets them. */
enum http_body_mode {
	HTTP_BODY_NONE,	       /* the message ends with its head */
	HTTP_BODY_LENGTH,      /* Content-Length bytes */
	HTTP_BODY_CHUNKED,     /* chunked coding, trailers included */
	HTTP_BODY_UNTIL_CLOSE, /* a response without length: until the connection closes */
	HTTP_BODY_TUNNEL,      /* not HTTP any more (101, 2xx to CONNECT): until close */
};

struct http_body {
	enum http_body_mode mode;
	uint64_t remaining; /* LENGTH: bytes to come; CHUNKED: of the current chunk's data */
	uint64_t size;	    /* payload bytes so far: decoded for chunked; once lost, every
			     * byte fed is counted (framing included) */
	bool done;	    /* the body ended */
	bool lost;	    /* chunked framing fell in bytes not captured, or was malformed */
	bool malformed;	    /* the framing bytes seen were not chunked coding (lost too) */
	uint16_t trailers;  /* chunked: trailer field lines read */
	/* the chunk parser's own state */
	uint8_t state;
	uint32_t line_len;
};

/* Starts the body of the message whose head is h. For a response,
 * request_method is the method of the request it answers, or NULL when not
 * known (read as neither HEAD nor CONNECT).
 * Request: chunked, else Content-Length, else none; a CONNECT request has
 * none (what follows its head is the tunnel's, if it is accepted).
 * Response: none for HEAD, 1xx but 101, 204 and 304; tunnel for 101 and a
 * 2xx to CONNECT; else chunked, else Content-Length, else until close (also
 * when Transfer-Encoding does not end with chunked). */
void http_body_start(struct http_body *b, const struct http_head *h,
		     const struct http_span *request_method);

/* Feeds one segment's bytes after the head (or a whole segment in the body):
 * total bytes, of which the first avail are in data (the rest were not
 * captured; data may be NULL when avail is 0). Returns how many of total
 * belong to this body; the rest begin the next message. Sets *done when the
 * body ended (at once for HTTP_BODY_NONE, even with total 0) and *lost when
 * chunked framing fell in the bytes not captured or was malformed: all of
 * total is then taken, and the caller picks the stream up again at the next
 * segment that starts a message. Length-framed bytes need not be captured,
 * nor chunk data and the CRLF after it (it can be nothing else).
 * done and lost may be NULL; after done or lost, 0 or total (lost) is
 * returned and nothing changes but the size of a lost body. */
size_t http_body_feed(struct http_body *b, const char *data, size_t avail, size_t total, bool *done,
		      bool *lost);
/* Payload bytes so far (see struct http_body's size). */
uint64_t http_body_size(const struct http_body *b);
/* Whether the body ends only when the connection closes (until close, tunnel):
 * the close completes it. */
bool http_body_until_close(const struct http_body *b);

/* url.path and url.query of a request-target: origin-form ("/p?q"),
 * absolute-form (the path of "http://h:80/p?q", empty when it has none) or
 * "*" (path "*"). The query is what follows the first '?', up to a '#'
 * (which clients do not send; the fragment is dropped); absent without '?'.
 * Returns 0, or -1 for an empty target or authority-form (CONNECT's
 * "host:port", which has neither), with path and query absent. */
int http_split_target(struct http_span target, struct http_span *path, struct http_span *query);

/* Host and port of an authority (a Host value, an authority-form target):
 * "host", "host:port", "[v6]:port" (host without the brackets), with any
 * "userinfo@" dropped. *port is -1 without a port (or an empty one).
 * Returns 0, or -1 when the port is not 0-65535, brackets are unbalanced or
 * a host without them has more than one ':'. */
int http_split_host(struct http_span authority, struct http_span *host, int *port);

/* Writes query into out with the values of secret-looking keys replaced by
 * "REDACTED", NUL-terminated, like snprintf: at most cap - 1 bytes and the
 * NUL (nothing when cap is 0); returns the length of the whole result, so a
 * result >= cap was cut. Pairs are split at '&' and ';' (some servers split
 * at either), the key ends at the first '='; a '#' ends the query (the rest
 * is dropped: fragments carry tokens in OAuth's implicit flow). A key is
 * read %-decoded, '+' as space, lower-cased, without '-', '_', '.' and
 * spaces, and is secret when it is one of token, accesstoken, idtoken,
 * refreshtoken, apikey, key, secret, clientsecret, password, passwd, pwd,
 * auth, authorization, signature, sig, session, sessionid, jwt, code,
 * xamzsignature, xamzcredential, xamzsecuritytoken, xgoogsignature,
 * xgoogcredential, when it contains token, secret, passw, signature,
 * credential, apikey, privatekey, sessionid or sessid, or when it is longer
 * than 128 bytes so read. A key without '=' and an empty value are kept. */
size_t http_redact_query(struct http_span query, char *out, size_t cap);

#endif
