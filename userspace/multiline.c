/* multiline.c: per-stream joining of continuation lines into one event.
 *
 * Each stream holds at most one event: its lines copied into a buffer that is
 * kept from one event to the next and grows up to max_event bytes, so the
 * steady state allocates nothing. A line is classified against what is held
 * by the preset's rules (or the start regex) and then starts an event, is
 * appended to the held one, ends it, or passes through uncopied.
 *
 * Matching never reads past a line's length: fixed prefixes are compared
 * with memcmp, and the regex runs on a NUL-terminated copy of the line's
 * first max_event bytes (a scratch buffer kept like the event buffers), with
 * REG_STARTEND where the C library has it so that NUL bytes inside the line
 * are matched too. regexec() is not handed the caller's bytes directly even
 * with REG_STARTEND: sanitizers' interceptors read the string to its NUL.
 */
#include "multiline.h"

#include "buf.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

enum multiline_kind {
	MULTILINE_JAVA,
	MULTILINE_PYTHON,
	MULTILINE_GO,
	MULTILINE_REGEX,
};

/* Where a held python event is. */
enum multiline_python_phase {
	MULTILINE_PY_FRAMES,  /* after "Traceback …": indented lines continue */
	MULTILINE_PY_RAISED,  /* after the exception line: only a chain continues */
	MULTILINE_PY_CHAINED, /* after "During handling …": its traceback continues */
};

/* What a line does to the event held on its stream. */
enum multiline_action {
	MULTILINE_PASS,	    /* nothing held and not a start: emitted alone, now */
	MULTILINE_START,    /* emit what is held; the line starts a new event */
	MULTILINE_CONTINUE, /* appended to the held event */
	MULTILINE_LAST,	    /* appended, and the event is complete: emitted */
	MULTILINE_BLANK,    /* belongs to the held event only if a continuation follows */
	MULTILINE_END,	    /* the held event ended before this line: emit it, look again */
};

struct multiline_stream {
	char *buf; /* the held event (or its current piece), not NUL-terminated */
	size_t len, cap;
	int64_t time_ns;       /* the held event's first line */
	int64_t last_ms;       /* when its last line arrived */
	size_t blanks;	       /* blank lines after it whose place is not known yet */
	int64_t blank_time_ns; /* the first of them */
	bool held;
	bool exception; /* java: the event is an exception, indented lines continue it */
	enum multiline_python_phase phase;
};

struct multiline {
	enum multiline_kind kind;
	size_t limit; /* max_event, SIZE_MAX for none */
	regex_t start;
	char *scratch; /* the line the regex runs on, NUL-terminated */
	size_t scratch_cap;
	struct multiline_stream stream[2];
};

/* ---- line predicates ---- */

static bool multiline_prefix(const char *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && memcmp(p, lit, k) == 0;
}

static size_t multiline_indent(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i;
}

static bool multiline_is_blank(const char *p, size_t n)
{
	return n == 0 || (n == 1 && p[0] == '\r');
}

static bool multiline_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits from p[*i] on (at least one); advances *i. */
static bool multiline_digits(const char *p, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && multiline_is_digit(p[*i]))
		(*i)++;
	return *i > start;
}

static bool multiline_ends_with(const char *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && memcmp(p + n - k, lit, k) == 0;
}

static bool multiline_is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || multiline_is_digit(c) ||
	       c == '_' || c == '$' || c == '.';
}

/* "... 12 more", as Java ends a cause's frames shared with the enclosing trace. */
static bool multiline_java_more(const char *p, size_t n)
{
	size_t i = 4;

	return multiline_prefix(p, n, "... ") && multiline_digits(p, n, &i) &&
	       multiline_prefix(p + i, n - i, " more");
}

/* A line that names a Throwable: "Exception in thread …", or a qualified
 * class name ending in Exception, Error or Throwable ("java.io.IOException:
 * …", "org.example.Outer$BadThingError"). */
static bool multiline_java_is_exception(const char *p, size_t n)
{
	size_t i = 0;

	if (multiline_prefix(p, n, "Exception in thread "))
		return true;
	while (i < n) {
		size_t start = i;
		bool dotted = false;

		while (i < n && multiline_is_name_char(p[i]))
			dotted |= p[i++] == '.';
		if (i == start) {
			i++;
			continue;
		}
		if (dotted && (multiline_ends_with(p + start, i - start, "Exception") ||
			       multiline_ends_with(p + start, i - start, "Error") ||
			       multiline_ends_with(p + start, i - start, "Throwable")))
			return true;
	}
	return false;
}

static bool multiline_java_continues(const struct multiline_stream *s, const char *p, size_t n)
{
	size_t ind = multiline_indent(p, n);
	const char *r = p + ind;
	size_t rn = n - ind;

	if (ind > 0 && multiline_prefix(r, rn, "at "))
		return true;
	if (multiline_prefix(r, rn, "Caused by:") || multiline_prefix(r, rn, "Suppressed:") ||
	    multiline_java_more(r, rn))
		return true;
	return ind > 0 && rn > 0 && s->exception;
}

static bool multiline_python_is_start(const char *p, size_t n)
{
	return multiline_prefix(p, n, "Traceback (most recent call last):");
}

static bool multiline_python_is_chain(const char *p, size_t n)
{
	return multiline_prefix(p, n, "During handling of the above exception") ||
	       multiline_prefix(p, n, "The above exception was the direct cause");
}

static bool multiline_go_is_start(const char *p, size_t n)
{
	return multiline_prefix(p, n, "panic: ") || multiline_prefix(p, n, "fatal error: ");
}

/* "exit status 2", as `go run` reports the program's end. */
static bool multiline_go_is_exit(const char *p, size_t n)
{
	size_t i = 12;

	return multiline_prefix(p, n, "exit status ") && multiline_digits(p, n, &i) && i == n;
}

/* A frame's function: "main.main()", "net/http.(*conn).serve(0xc000…)",
 * "panic({0x4a1b20?, 0x5a1c30?})": a name without blanks, containing a dot
 * (or "panic"), then arguments in parentheses that end the line. */
static bool multiline_go_is_func(const char *p, size_t n)
{
	const char *paren = n > 0 ? memchr(p, '(', n) : NULL;
	size_t k;

	if (!paren || p[n - 1] != ')' || paren == p)
		return false;
	k = (size_t)(paren - p);
	if (memchr(p, ' ', k) || memchr(p, '\t', k))
		return false;
	return memchr(p, '.', k) || (k == 5 && memcmp(p, "panic", 5) == 0);
}

static bool multiline_go_continues(const char *p, size_t n)
{
	size_t i = 10;

	if (multiline_indent(p, n) > 0)
		return true;
	if (multiline_prefix(p, n, "goroutine ") && i < n && multiline_is_digit(p[i]))
		return true;
	return multiline_prefix(p, n, "created by ") || multiline_prefix(p, n, "[signal ") ||
	       multiline_prefix(p, n, "runtime stack:") ||
	       multiline_prefix(p, n, "...additional frames elided...") ||
	       multiline_go_is_func(p, n);
}

/* Without memory for the copy a line does not match: it joins the event
 * held (or passes through), so nothing is lost. */
static bool multiline_regex_matches(struct multiline *m, const char *p, size_t n)
{
	if (n > m->limit)
		n = m->limit;
	if (n > INT_MAX)
		n = INT_MAX;
	if (n >= m->scratch_cap) {
		size_t cap = m->scratch_cap ? m->scratch_cap : 256;
		char *buf;

		while (cap <= n)
			cap *= 2;
		buf = realloc(m->scratch, cap);
		if (!buf)
			return false;
		m->scratch = buf;
		m->scratch_cap = cap;
	}
	memcpy(m->scratch, p, n);
	m->scratch[n] = '\0';
#ifdef REG_STARTEND
	regmatch_t range = {.rm_so = 0, .rm_eo = (regoff_t)n};

	return regexec(&m->start, m->scratch, 1, &range, REG_STARTEND) == 0;
#else
	return regexec(&m->start, m->scratch, 0, NULL, 0) == 0;
#endif
}

/* ---- classification ---- */

static enum multiline_action multiline_java(struct multiline_stream *s, const char *p, size_t n)
{
	if (s->held && multiline_java_continues(s, p, n)) {
		s->exception = true;
		return MULTILINE_CONTINUE;
	}
	s->exception = false;
	s->exception = multiline_java_is_exception(p, n) || multiline_java_continues(s, p, n);
	return MULTILINE_START;
}

static enum multiline_action multiline_python(struct multiline_stream *s, const char *p, size_t n)
{
	bool blank = multiline_is_blank(p, n), start = multiline_python_is_start(p, n);

	if (!s->held || (start && s->phase != MULTILINE_PY_CHAINED)) {
		s->phase = MULTILINE_PY_FRAMES;
		return start ? MULTILINE_START : MULTILINE_PASS;
	}
	if (blank)
		return MULTILINE_BLANK;
	switch (s->phase) {
	case MULTILINE_PY_FRAMES:
		if (multiline_indent(p, n) == 0)
			s->phase = MULTILINE_PY_RAISED;
		return MULTILINE_CONTINUE;
	case MULTILINE_PY_RAISED:
		if (!multiline_python_is_chain(p, n))
			return MULTILINE_END;
		s->phase = MULTILINE_PY_CHAINED;
		return MULTILINE_CONTINUE;
	case MULTILINE_PY_CHAINED:
		if (!start)
			return MULTILINE_END;
		s->phase = MULTILINE_PY_FRAMES;
		return MULTILINE_CONTINUE;
	}
	return MULTILINE_END;
}

static enum multiline_action multiline_go(const struct multiline_stream *s, const char *p, size_t n)
{
	if (multiline_go_is_start(p, n))
		return MULTILINE_START;
	if (!s->held)
		return MULTILINE_PASS;
	if (multiline_is_blank(p, n))
		return MULTILINE_BLANK;
	if (multiline_go_is_exit(p, n))
		return MULTILINE_LAST;
	return multiline_go_continues(p, n) ? MULTILINE_CONTINUE : MULTILINE_END;
}

static enum multiline_action multiline_classify(struct multiline *m, struct multiline_stream *s,
						const char *p, size_t n)
{
	switch (m->kind) {
	case MULTILINE_JAVA:
		return multiline_java(s, p, n);
	case MULTILINE_PYTHON:
		return multiline_python(s, p, n);
	case MULTILINE_GO:
		return multiline_go(s, p, n);
	case MULTILINE_REGEX:
		if (multiline_regex_matches(m, p, n))
			return MULTILINE_START;
		return s->held ? MULTILINE_CONTINUE : MULTILINE_PASS;
	}
	return MULTILINE_PASS;
}

/* ---- holding and emitting ---- */

/* Makes room for need bytes (need <= limit) in the buffer of s. */
static int multiline_reserve(const struct multiline *m, struct multiline_stream *s, size_t need)
{
	return buf_reserve(&s->buf, &s->cap, need, m->limit);
}

/* Copies n bytes into the held event; a full buffer is emitted as a truncated
 * piece first, only once more bytes come (so an event of exactly max_event
 * bytes is one piece). The buffer must have been reserved for
 * min(limit, len + n). */
static void multiline_put(struct multiline *m, int stream, const char *p, size_t n,
			  multiline_emit_fn emit, void *ctx)
{
	struct multiline_stream *s = &m->stream[stream];

	while (n > 0) {
		size_t take;

		if (s->len == m->limit) {
			emit(ctx, stream, s->time_ns, s->buf, s->len, true);
			s->len = 0;
		}
		take = n < m->limit - s->len ? n : m->limit - s->len;
		memcpy(s->buf + s->len, p, take);
		s->len += take;
		p += take;
		n -= take;
	}
}

/* Emits a line that is not held, straight from the caller's bytes, in pieces
 * of at most limit bytes. */
static void multiline_pass(const struct multiline *m, int stream, int64_t time_ns, const char *p,
			   size_t n, multiline_emit_fn emit, void *ctx)
{
	while (n > m->limit) {
		emit(ctx, stream, time_ns, p, m->limit, true);
		p += m->limit;
		n -= m->limit;
	}
	emit(ctx, stream, time_ns, p, n, false);
}

/* Emits the held event, then the blank lines that turned out not to be part
 * of it, and forgets them. */
static void multiline_emit_held(struct multiline *m, int stream, multiline_emit_fn emit, void *ctx)
{
	struct multiline_stream *s = &m->stream[stream];

	if (s->held)
		emit(ctx, stream, s->time_ns, s->len ? s->buf : "", s->len, false);
	for (size_t i = 0; i < s->blanks; i++)
		emit(ctx, stream, s->blank_time_ns, "", 0, false);
	s->held = false;
	s->len = 0;
	s->blanks = 0;
}

static size_t multiline_add_size(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Appends the pending blank lines and then the line, each after a '\n'. */
static int multiline_append(struct multiline *m, int stream, const char *p, size_t n,
			    multiline_emit_fn emit, void *ctx)
{
	struct multiline_stream *s = &m->stream[stream];
	size_t need = multiline_add_size(multiline_add_size(s->len, s->blanks), n);

	need = multiline_add_size(need, 1);
	if (multiline_reserve(m, s, need < m->limit ? need : m->limit))
		return -ENOMEM;
	for (; s->blanks > 0; s->blanks--)
		multiline_put(m, stream, "\n", 1, emit, ctx);
	multiline_put(m, stream, "\n", 1, emit, ctx);
	multiline_put(m, stream, p, n, emit, ctx);
	return 0;
}

static int multiline_hold(struct multiline *m, int stream, int64_t time_ns, const char *p, size_t n,
			  multiline_emit_fn emit, void *ctx)
{
	struct multiline_stream *s = &m->stream[stream];

	if (multiline_reserve(m, s, n < m->limit ? n : m->limit))
		return -ENOMEM;
	s->held = true;
	s->time_ns = time_ns;
	s->len = 0;
	multiline_put(m, stream, p, n, emit, ctx);
	return 0;
}

int multiline_add(struct multiline *m, int stream, int64_t time_ns, const char *msg, size_t len,
		  int64_t now_ms, multiline_emit_fn emit, void *ctx)
{
	struct multiline_stream *s;
	enum multiline_action action;
	int rc = 0;

	if (!m || !emit || (stream != 0 && stream != 1) || (!msg && len > 0))
		return -EINVAL;
	if (!msg)
		msg = "";
	s = &m->stream[stream];
	/* with nothing held no line ends an event, so this ends */
	while ((action = multiline_classify(m, s, msg, len)) == MULTILINE_END)
		multiline_emit_held(m, stream, emit, ctx);
	switch (action) {
	case MULTILINE_PASS:
		multiline_pass(m, stream, time_ns, msg, len, emit, ctx);
		return 0;
	case MULTILINE_START:
		multiline_emit_held(m, stream, emit, ctx);
		rc = multiline_hold(m, stream, time_ns, msg, len, emit, ctx);
		break;
	case MULTILINE_CONTINUE:
	case MULTILINE_LAST:
		rc = multiline_append(m, stream, msg, len, emit, ctx);
		if (rc == 0 && action == MULTILINE_LAST) {
			multiline_emit_held(m, stream, emit, ctx);
			return 0;
		}
		break;
	case MULTILINE_BLANK:
		if (s->blanks++ == 0)
			s->blank_time_ns = time_ns;
		break;
	case MULTILINE_END:
		break;
	}
	if (rc) {
		/* no memory to hold the line: what is held, then the line alone */
		multiline_emit_held(m, stream, emit, ctx);
		multiline_pass(m, stream, time_ns, msg, len, emit, ctx);
		return rc;
	}
	s->last_ms = now_ms;
	return 0;
}

static int64_t multiline_due(int64_t last_ms, int64_t flush_ms)
{
	if (flush_ms < 0)
		flush_ms = 0;
	return last_ms > INT64_MAX - flush_ms ? INT64_MAX : last_ms + flush_ms;
}

int64_t multiline_expire(struct multiline *m, int64_t now_ms, int64_t flush_ms,
			 multiline_emit_fn emit, void *ctx)
{
	int64_t next = INT64_MAX;

	if (!m || !emit)
		return INT64_MAX;
	for (int i = 0; i < 2; i++) {
		int64_t due;

		if (!m->stream[i].held)
			continue;
		due = multiline_due(m->stream[i].last_ms, flush_ms);
		if (now_ms >= due)
			multiline_emit_held(m, i, emit, ctx);
		else if (due < next)
			next = due;
	}
	return next;
}

void multiline_flush(struct multiline *m, multiline_emit_fn emit, void *ctx)
{
	if (!m || !emit)
		return;
	for (int i = 0; i < 2; i++)
		multiline_emit_held(m, i, emit, ctx);
}

bool multiline_holding(const struct multiline *m)
{
	return m && (m->stream[0].held || m->stream[1].held);
}

bool multiline_holding_stream(const struct multiline *m, int stream)
{
	return m && (stream == 0 || stream == 1) &&
	       (m->stream[stream].held || m->stream[stream].blanks);
}

/* A static reason for each regcomp() error. */
static const char *multiline_regex_reason(int code)
{
	switch (code) {
	case REG_BADPAT:
		return "bad regex: invalid pattern";
	case REG_ECOLLATE:
		return "bad regex: invalid collating element";
	case REG_ECTYPE:
		return "bad regex: invalid character class name";
	case REG_EESCAPE:
		return "bad regex: trailing backslash";
	case REG_ESUBREG:
		return "bad regex: invalid back reference";
	case REG_EBRACK:
		return "bad regex: unmatched [ or [^";
	case REG_EPAREN:
		return "bad regex: unmatched ( or )";
	case REG_EBRACE:
		return "bad regex: unmatched {";
	case REG_BADBR:
		return "bad regex: invalid content of {}";
	case REG_ERANGE:
		return "bad regex: invalid range end";
	case REG_ESPACE:
		return "bad regex: out of memory";
	case REG_BADRPT:
		return "bad regex: nothing to repeat before *, +, ? or {";
	default:
		return "bad regex";
	}
}

int multiline_new(struct multiline **out, const char *spec, size_t max_event, const char **err)
{
	const char *unused;
	struct multiline *m;

	if (!err)
		err = &unused;
	*err = NULL;
	if (out)
		*out = NULL;
	if (!out || !spec) {
		*err = "no multiline spec";
		return -EINVAL;
	}
	if (!*spec) {
		*err = "empty multiline spec";
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		*err = "out of memory";
		return -ENOMEM;
	}
	m->limit = max_event ? max_event : SIZE_MAX;
	if (strcmp(spec, "java") == 0) {
		m->kind = MULTILINE_JAVA;
	} else if (strcmp(spec, "python") == 0) {
		m->kind = MULTILINE_PYTHON;
	} else if (strcmp(spec, "go") == 0) {
		m->kind = MULTILINE_GO;
	} else {
		int rc = regcomp(&m->start, spec, REG_EXTENDED | REG_NOSUB);

		if (rc != 0) {
			*err = multiline_regex_reason(rc);
			free(m);
			return rc == REG_ESPACE ? -ENOMEM : -EINVAL;
		}
		m->kind = MULTILINE_REGEX;
	}
	*out = m;
	return 0;
}

void multiline_free(struct multiline *m)
{
	if (!m)
		return;
	if (m->kind == MULTILINE_REGEX)
		regfree(&m->start);
	for (int i = 0; i < 2; i++)
		free(m->stream[i].buf);
	free(m->scratch);
	free(m);
}
