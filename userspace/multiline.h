/* multiline.h: joining the lines of one multi-line event (a stack trace) into
 * one message, per stream, configured per pod by the annotation
 *
 *     glimpse.io/multiline: java | python | go | <start regex>
 *
 * Lines come in complete (after CRI parsing and P/F joining). The lines of a
 * joined event are separated by '\n'; its time is its first line's.
 *
 * java    An event starts at any line that is not a continuation of the one
 *         held. Continuations: whitespace then "at "; "... N more",
 *         "Caused by:" and "Suppressed:" (indented or not); and any indented
 *         line once the event is an exception (its first line names a
 *         Throwable, "Exception in thread …", or it already has a
 *         continuation).
 * python  "Traceback (most recent call last):" starts an event; indented
 *         lines continue it and the first line that is not indented (the
 *         "ValueError: …" line) is its last. A chained exception ("During
 *         handling of the above exception…", "The above exception was the
 *         direct cause…"), the blank lines around it and the traceback after
 *         it stay in the same event.
 * go      "panic: " or "fatal error: " starts an event; blank lines,
 *         "goroutine N […]:", indented lines, "pkg.func(…)" lines,
 *         "created by …", "[signal …" and "runtime stack:" continue it;
 *         "exit status N" continues and ends it.
 * other   A POSIX extended regular expression (no \d: use [0-9]) that matches
 *         the first line of an event; every line that does not match
 *         continues the event held.
 *
 * When a line is held: a line that may be the first of an event is held until
 * the next line of its stream shows whether it continues, or until the
 * caller's flush timeout. For java every line may be followed by "\tat …", so
 * every line waits for the next one (or the timeout): the price of never
 * cutting a trace from its exception line. python, go and a start regex hold
 * only the lines that start an event (and the lines after one while it goes
 * on); any other line, with nothing held, is emitted at once and not copied.
 * A python traceback's last line is held too, until the next line shows that
 * no chained exception follows; a go trace is emitted as soon as a line that
 * does not continue it comes, or at once by "exit status N".
 *
 * Blank lines after a python or go event are held until a line shows whether
 * they belong to it; when they do not, the event is emitted without them and
 * each is then emitted as an empty message carrying the time of the first.
 * A continuation line with nothing held (the event before it was emitted by
 * the timeout) is treated as any other line: java holds it and joins what
 * follows, the others emit it alone. A python logging call's own message
 * line ("ERROR:app:failed") is not part of the traceback that follows it.
 */
#ifndef GLIMPSE_MULTILINE_H
#define GLIMPSE_MULTILINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct multiline;

/* Called with each finished event, or a piece of one: truncated is true when
 * the event was cut at max_event bytes and its remainder follows in the next
 * calls for the same stream (the pieces, concatenated, are the event). msg is
 * valid only during the call. */
typedef void (*multiline_emit_fn)(void *ctx, int stream, int64_t time_ns, const char *msg,
				  size_t len, bool truncated);

/* Parses an annotation value: "java", "python", "go" (exactly), or else a
 * start regex. max_event is the largest message emitted (0: no limit).
 * Returns 0, or -EINVAL with *err (when err is not NULL) a static reason such
 * as "bad regex: unmatched ( or \\(", or -ENOMEM. */
int multiline_new(struct multiline **out, const char *spec, size_t max_event, const char **err);
void multiline_free(struct multiline *m);

/* Feeds one complete line of stream 0 (stdout) or 1 (stderr); msg need not be
 * NUL-terminated and may hold any bytes. The streams are joined separately.
 * Emits, in order, what the line finishes (and the line itself when it
 * passes through). now_ms is the caller's clock, read by multiline_expire.
 * Returns 0, -EINVAL (bad stream, or NULL msg with len > 0), or -ENOMEM (what
 * was held and the line were emitted unjoined: nothing is lost). */
int multiline_add(struct multiline *m, int stream, int64_t time_ns, const char *msg, size_t len,
		  int64_t now_ms, multiline_emit_fn emit, void *ctx);
/* Emits each stream's held event once flush_ms have passed since its last
 * line (now_ms - last >= flush_ms). Returns the earliest time (ms) at which a
 * held event will be due, or INT64_MAX when nothing is held. */
int64_t multiline_expire(struct multiline *m, int64_t now_ms, int64_t flush_ms,
			 multiline_emit_fn emit, void *ctx);
/* Emits everything held, now (the file ended or the pod went away). */
void multiline_flush(struct multiline *m, multiline_emit_fn emit, void *ctx);
/* Whether a line is held: the caller must not checkpoint past the first line
 * of what is held. */
bool multiline_holding(const struct multiline *m);
/* The same for one stream (0 stdout, 1 stderr). */
bool multiline_holding_stream(const struct multiline *m, int stream);

#endif
