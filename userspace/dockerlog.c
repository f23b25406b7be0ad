/* dockerlog.c: parsing of docker json-file log records.
 *
 * One pass over the line, no allocation: the "log" string is unescaped
 * straight into the caller's buffer, runs of plain bytes found with memchr and
 * copied with memcpy; "stream", "time" and member names go through small
 * buffers on the stack. Other members are checked for JSON syntax and skipped
 * without recursion.
 *
 * The parser is strict about JSON structure (a record that is cut, glued to
 * another or not JSON at all is refused) and lenient inside strings: raw
 * control bytes and invalid UTF-8 are copied byte for byte, as the CRI parser
 * hands messages back, and a \u escape of a lone surrogate becomes U+FFFD
 * (as Go's decoder, which dockerd and the kubelet read these files with, has
 * it) instead of an error.
 */
#include "dockerlog.h"

#include <string.h>

/* Deepest nesting of objects and arrays in the value of a skipped member. */
#define DOCKERLOG_MAX_DEPTH 64
/* Room for a "time" value: RFC 3339 with nanoseconds and an offset is 35 bytes. */
#define DOCKERLOG_TIME_CAP 48
/* Room for a member name or a "stream" value: longer ones match nothing. */
#define DOCKERLOG_NAME_CAP 8

/* Where an unescaped string goes: its first cap bytes are stored in buf, len
 * counts all of them. len never exceeds the length of the line, since no
 * escape decodes to more bytes than it is written with. */
struct dockerlog_out {
	char *buf;
	size_t cap, len;
	bool ends_nl; /* the last byte is '\n' */
};

const char *dockerlog_strerror(int err)
{
	switch (err) {
	case DOCKERLOG_OK:
		return "no error";
	case DOCKERLOG_ERR_OBJECT:
		return "not a well-formed JSON object";
	case DOCKERLOG_ERR_LOG:
		return "missing or non-string log";
	case DOCKERLOG_ERR_STREAM:
		return "missing or unknown stream";
	case DOCKERLOG_ERR_TIME:
		return "missing or malformed time";
	case DOCKERLOG_ERR_ESCAPE:
		return "malformed escape in a string";
	case DOCKERLOG_ERR_TRAILING:
		return "bytes after the record";
	default:
		return "unknown error";
	}
}

static void dockerlog_put(struct dockerlog_out *o, const char *p, size_t n)
{
	if (n == 0)
		return;
	if (o->len < o->cap)
		memcpy(o->buf + o->len, p, n < o->cap - o->len ? n : o->cap - o->len);
	o->len += n;
	o->ends_nl = p[n - 1] == '\n';
}

static void dockerlog_put_utf8(struct dockerlog_out *o, unsigned cp)
{
	char u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	dockerlog_put(o, u, n);
}

static size_t dockerlog_skip_ws(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

/* Reads the 4 hex digits at s[i]. */
static int dockerlog_hex4(const char *s, size_t len, size_t i, unsigned *out)
{
	unsigned v = 0;

	if (len - i < 4)
		return -1;
	for (size_t k = i; k < i + 4; k++) {
		char c = s[k];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

/* Decodes the \u escape whose 'u' is at s[*pos - 1], and a low surrogate's
 * escape right after a high one; advances *pos past what it used. */
static int dockerlog_unicode(const char *s, size_t len, size_t *pos, struct dockerlog_out *o)
{
	size_t i = *pos;
	unsigned cp, lo;

	if (dockerlog_hex4(s, len, i, &cp))
		return DOCKERLOG_ERR_ESCAPE;
	i += 4;
	if (cp >= 0xd800 && cp <= 0xdbff && len - i >= 6 && s[i] == '\\' && s[i + 1] == 'u' &&
	    dockerlog_hex4(s, len, i + 2, &lo) == 0 && lo >= 0xdc00 && lo <= 0xdfff) {
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		i += 6;
	} else if (cp >= 0xd800 && cp <= 0xdfff) {
		cp = 0xfffd;
	}
	dockerlog_put_utf8(o, cp);
	*pos = i;
	return DOCKERLOG_OK;
}

/* Decodes the escape whose '\\' is at s[*pos]; advances *pos past it. */
static int dockerlog_escape(const char *s, size_t len, size_t *pos, struct dockerlog_out *o)
{
	size_t i = *pos + 1;
	char c;

	if (i >= len)
		return DOCKERLOG_ERR_ESCAPE;
	switch (s[i]) {
	case '"':
	case '\\':
	case '/':
		c = s[i];
		break;
	case 'b':
		c = '\b';
		break;
	case 'f':
		c = '\f';
		break;
	case 'n':
		c = '\n';
		break;
	case 'r':
		c = '\r';
		break;
	case 't':
		c = '\t';
		break;
	case 'u':
		*pos = i + 1;
		return dockerlog_unicode(s, len, pos, o);
	default:
		return DOCKERLOG_ERR_ESCAPE;
	}
	dockerlog_put(o, &c, 1);
	*pos = i + 1;
	return DOCKERLOG_OK;
}

/* Decodes the string whose opening '"' is at s[*pos] into o; advances *pos
 * past its closing '"'. The closing quote found is kept until an escape has
 * consumed it, so each byte is searched at most twice. */
static int dockerlog_string(const char *s, size_t len, size_t *pos, struct dockerlog_out *o)
{
	size_t i = *pos + 1;
	const char *quote = NULL;

	for (;;) {
		if (!quote || (size_t)(quote - s) < i) {
			quote = memchr(s + i, '"', len - i);
			if (!quote)
				return DOCKERLOG_ERR_OBJECT;
		}
		size_t end = (size_t)(quote - s);
		const char *bs = memchr(s + i, '\\', end - i);

		if (!bs) {
			dockerlog_put(o, s + i, end - i);
			*pos = end + 1;
			return DOCKERLOG_OK;
		}
		size_t at = (size_t)(bs - s);
		dockerlog_put(o, s + i, at - i);
		int rc = dockerlog_escape(s, len, &at, o);
		if (rc)
			return rc;
		i = at;
	}
}

/* Skips the string at s[*pos], checking its escapes. */
static int dockerlog_skip_string(const char *s, size_t len, size_t *pos)
{
	struct dockerlog_out none = {0};

	if (*pos >= len || s[*pos] != '"')
		return DOCKERLOG_ERR_OBJECT;
	return dockerlog_string(s, len, pos, &none);
}

/* Skips the digits at s[*pos]; fails when there are none. */
static int dockerlog_skip_digits(const char *s, size_t len, size_t *pos)
{
	size_t i = *pos;

	while (i < len && s[i] >= '0' && s[i] <= '9')
		i++;
	if (i == *pos)
		return DOCKERLOG_ERR_OBJECT;
	*pos = i;
	return DOCKERLOG_OK;
}

/* Skips the number at s[*pos]: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int dockerlog_skip_number(const char *s, size_t len, size_t *pos)
{
	size_t i = *pos;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0')
		i++;
	else if (i >= len || s[i] < '1' || s[i] > '9' || dockerlog_skip_digits(s, len, &i))
		return DOCKERLOG_ERR_OBJECT;
	if (i < len && s[i] == '.') {
		i++;
		if (dockerlog_skip_digits(s, len, &i))
			return DOCKERLOG_ERR_OBJECT;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (dockerlog_skip_digits(s, len, &i))
			return DOCKERLOG_ERR_OBJECT;
	}
	*pos = i;
	return DOCKERLOG_OK;
}

static int dockerlog_skip_literal(const char *s, size_t len, size_t *pos, const char *word)
{
	size_t n = strlen(word);

	if (len - *pos < n || memcmp(s + *pos, word, n) != 0)
		return DOCKERLOG_ERR_OBJECT;
	*pos += n;
	return DOCKERLOG_OK;
}

/* Skips a string, number, true, false or null at s[*pos]. */
static int dockerlog_skip_scalar(const char *s, size_t len, size_t *pos)
{
	switch (s[*pos]) {
	case '"':
		return dockerlog_skip_string(s, len, pos);
	case 't':
		return dockerlog_skip_literal(s, len, pos, "true");
	case 'f':
		return dockerlog_skip_literal(s, len, pos, "false");
	case 'n':
		return dockerlog_skip_literal(s, len, pos, "null");
	default:
		return dockerlog_skip_number(s, len, pos);
	}
}

/* Skips a member name and its ':' in an object being skipped. */
static int dockerlog_skip_name(const char *s, size_t len, size_t *pos)
{
	size_t i = dockerlog_skip_ws(s, len, *pos);
	int rc = dockerlog_skip_string(s, len, &i);

	if (rc)
		return rc;
	i = dockerlog_skip_ws(s, len, i);
	if (i >= len || s[i] != ':')
		return DOCKERLOG_ERR_OBJECT;
	*pos = i + 1;
	return DOCKERLOG_OK;
}

/* Skips the value at s[*pos] (whitespace before it included). Objects and
 * arrays are walked with an explicit stack of the brackets that close them. */
static int dockerlog_skip_value(const char *s, size_t len, size_t *pos)
{
	char close[DOCKERLOG_MAX_DEPTH];
	size_t depth = 0, i = *pos;
	int rc;

	for (;;) {
		/* i is where a value is expected */
		i = dockerlog_skip_ws(s, len, i);
		if (i >= len)
			return DOCKERLOG_ERR_OBJECT;
		if (s[i] == '{' || s[i] == '[') {
			if (depth == DOCKERLOG_MAX_DEPTH)
				return DOCKERLOG_ERR_OBJECT;
			close[depth++] = s[i] == '{' ? '}' : ']';
			i = dockerlog_skip_ws(s, len, i + 1);
			if (i < len && s[i] == close[depth - 1]) {
				i++;
				depth--;
			} else if (close[depth - 1] == '}') {
				rc = dockerlog_skip_name(s, len, &i);
				if (rc)
					return rc;
				continue;
			} else {
				continue;
			}
		} else {
			rc = dockerlog_skip_scalar(s, len, &i);
			if (rc)
				return rc;
		}
		/* a value ended: close levels until a ',' asks for the next one */
		for (;;) {
			if (depth == 0) {
				*pos = i;
				return DOCKERLOG_OK;
			}
			i = dockerlog_skip_ws(s, len, i);
			if (i >= len)
				return DOCKERLOG_ERR_OBJECT;
			if (s[i] == close[depth - 1]) {
				i++;
				depth--;
				continue;
			}
			if (s[i] != ',')
				return DOCKERLOG_ERR_OBJECT;
			i++;
			if (close[depth - 1] == '}') {
				rc = dockerlog_skip_name(s, len, &i);
				if (rc)
					return rc;
			}
			break;
		}
	}
}

/* Reads the string value at s[*pos] into buf (cap bytes), its length into *n.
 * A value that is not a string, or longer than cap, is the error wrong. */
static int dockerlog_short_string(const char *s, size_t len, size_t *pos, char *buf, size_t cap,
				  size_t *n, int wrong)
{
	struct dockerlog_out o = {.buf = buf, .cap = cap};
	int rc;

	if (s[*pos] != '"')
		return wrong;
	rc = dockerlog_string(s, len, pos, &o);
	if (rc)
		return rc;
	if (o.len > cap)
		return wrong;
	*n = o.len;
	return DOCKERLOG_OK;
}

/* What is known of a record while its members are read. */
struct dockerlog_parse {
	struct dockerlog_out log;
	bool have_log, have_stream, have_time;
	enum cri_stream stream;
	int64_t time_ns;
};

/* Reads the "stream" value at s[*pos]. */
static int dockerlog_stream(const char *s, size_t len, size_t *pos, struct dockerlog_parse *p)
{
	char value[DOCKERLOG_NAME_CAP];
	size_t n = 0;
	int rc =
	    dockerlog_short_string(s, len, pos, value, sizeof(value), &n, DOCKERLOG_ERR_STREAM);

	if (rc)
		return rc;
	if (n == 6 && memcmp(value, "stdout", 6) == 0)
		p->stream = CRI_STDOUT;
	else if (n == 6 && memcmp(value, "stderr", 6) == 0)
		p->stream = CRI_STDERR;
	else
		return DOCKERLOG_ERR_STREAM;
	p->have_stream = true;
	return DOCKERLOG_OK;
}

/* Reads the "time" value at s[*pos]. */
static int dockerlog_time(const char *s, size_t len, size_t *pos, struct dockerlog_parse *p)
{
	char value[DOCKERLOG_TIME_CAP];
	size_t n = 0;
	int rc = dockerlog_short_string(s, len, pos, value, sizeof(value), &n, DOCKERLOG_ERR_TIME);

	if (rc)
		return rc;
	if (cri_parse_time(value, n, &p->time_ns))
		return DOCKERLOG_ERR_TIME;
	p->have_time = true;
	return DOCKERLOG_OK;
}

/* Reads one member, its name's '"' at s[*pos]; advances *pos past its value. */
static int dockerlog_member(const char *s, size_t len, size_t *pos, struct dockerlog_parse *p)
{
	char name[DOCKERLOG_NAME_CAP];
	struct dockerlog_out key = {.buf = name, .cap = sizeof(name)};
	size_t i = *pos;
	int rc;

	if (i >= len || s[i] != '"')
		return DOCKERLOG_ERR_OBJECT;
	rc = dockerlog_string(s, len, &i, &key);
	if (rc)
		return rc;
	i = dockerlog_skip_ws(s, len, i);
	if (i >= len || s[i] != ':')
		return DOCKERLOG_ERR_OBJECT;
	i = dockerlog_skip_ws(s, len, i + 1);
	if (i >= len)
		return DOCKERLOG_ERR_OBJECT;

	/* key.len is the whole name's: a longer one than fits matches nothing */
	if (key.len == 3 && memcmp(name, "log", 3) == 0) {
		if (s[i] != '"')
			return DOCKERLOG_ERR_LOG;
		p->log.len = 0;
		p->log.ends_nl = false;
		rc = dockerlog_string(s, len, &i, &p->log);
		p->have_log = true;
	} else if (key.len == 6 && memcmp(name, "stream", 6) == 0) {
		rc = dockerlog_stream(s, len, &i, p);
	} else if (key.len == 4 && memcmp(name, "time", 4) == 0) {
		rc = dockerlog_time(s, len, &i, p);
	} else {
		rc = dockerlog_skip_value(s, len, &i);
	}
	*pos = i;
	return rc;
}

/* Reads the members of the non-empty object whose first member starts at
 * s[*pos]; advances *pos past its closing '}'. */
static int dockerlog_members(const char *s, size_t len, size_t *pos, struct dockerlog_parse *p)
{
	size_t i = *pos;

	for (;;) {
		int rc = dockerlog_member(s, len, &i, p);

		if (rc)
			return rc;
		i = dockerlog_skip_ws(s, len, i);
		if (i >= len)
			return DOCKERLOG_ERR_OBJECT;
		if (s[i] == '}')
			break;
		if (s[i] != ',')
			return DOCKERLOG_ERR_OBJECT;
		i = dockerlog_skip_ws(s, len, i + 1);
	}
	*pos = i + 1;
	return DOCKERLOG_OK;
}

int dockerlog_parse_line(const char *line, size_t len, char *buf, size_t cap,
			 struct dockerlog_record *out, bool *cut)
{
	struct dockerlog_parse p = {.log = {.buf = buf, .cap = buf ? cap : 0}};
	size_t i, n;
	int rc;

	if (!line && len > 0)
		return DOCKERLOG_ERR_OBJECT;
	if (!line)
		line = "";

	i = dockerlog_skip_ws(line, len, 0);
	if (i >= len || line[i] != '{')
		return DOCKERLOG_ERR_OBJECT;
	i = dockerlog_skip_ws(line, len, i + 1);
	if (i < len && line[i] == '}') {
		i++;
	} else {
		rc = dockerlog_members(line, len, &i, &p);
		if (rc)
			return rc;
	}
	if (dockerlog_skip_ws(line, len, i) < len)
		return DOCKERLOG_ERR_TRAILING;
	if (!p.have_log)
		return DOCKERLOG_ERR_LOG;
	if (!p.have_stream)
		return DOCKERLOG_ERR_STREAM;
	if (!p.have_time)
		return DOCKERLOG_ERR_TIME;

	n = p.log.len - p.log.ends_nl;
	out->time_ns = p.time_ns;
	out->stream = p.stream;
	out->partial = !p.log.ends_nl;
	out->msg_len = n < p.log.cap ? n : p.log.cap;
	if (cut)
		*cut = n > p.log.cap;
	return DOCKERLOG_OK;
}
