/* cri.h: the CRI log file format written by CRI-O (conmon), containerd and the
 * kubelet's docker shim:
 *
 *     <RFC 3339 time> <stdout|stderr> <P|F>[:tag…] <message>
 *
 * and the joining of partial (P) lines with the line that completes them.
 */
#ifndef GLIMPSE_CRI_H
#define GLIMPSE_CRI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cri_stream {
	CRI_STDOUT = 0,
	CRI_STDERR = 1,
};

struct cri_line {
	int64_t time_ns; /* nanoseconds since the epoch, UTC */
	enum cri_stream stream;
	bool partial;	 /* P: the message continues in the next line of the same stream */
	const char *msg; /* points into the parsed line; no trailing '\n' */
	size_t msg_len;
};

enum cri_error {
	CRI_OK = 0,
	CRI_ERR_TIME = -1,   /* missing or malformed timestamp */
	CRI_ERR_STREAM = -2, /* missing, or neither stdout nor stderr */
	CRI_ERR_FLAG = -3,   /* missing tag field, or its first tag is not P or F */
};

/* Parses one line (without its '\n'; a trailing '\r' is part of the message).
 * len bytes are read; line need not be NUL-terminated. The message may be
 * empty ("… stdout F " and "… stdout F" both give an empty message).
 * Returns CRI_OK or a negative cri_error naming the first bad field. */
int cri_parse_line(const char *line, size_t len, struct cri_line *out);
/* A short English reason for a cri_error, for logs ("malformed timestamp"). */
const char *cri_strerror(int err);

/* Parses an RFC 3339 time with optional fraction (up to 9 digits) and a zone
 * of 'Z' or ±hh:mm into nanoseconds since the epoch, UTC.
 * Returns 0, or -EINVAL for anything else (including out-of-range fields). */
int cri_parse_time(const char *s, size_t len, int64_t *ns);

/* Called with each complete message. truncated is true when the message was
 * cut at the joiner's max size (its remainder follows in the next calls). */
typedef void (*cri_emit_fn)(void *ctx, enum cri_stream stream, int64_t time_ns, const char *msg,
			    size_t len, bool truncated);

/* Joins P lines per stream. A message larger than max_size is emitted in
 * pieces of max_size bytes (all but the last marked truncated). The time of a
 * joined message is the time of its first piece. */
struct cri_joiner {
	size_t max_size;
	struct {
		char *buf;
		size_t len, cap;
		int64_t time_ns;
		bool open; /* a P line was seen and not yet completed */
	} stream[2];
	uint64_t splits; /* cuts made because a message exceeded max_size */
};

void cri_joiner_init(struct cri_joiner *j, size_t max_size);
/* Feeds one parsed line's message. Returns 0, or -ENOMEM (the pending message
 * of that stream is emitted as it is first, so nothing is silently lost). */
int cri_joiner_add(struct cri_joiner *j, enum cri_stream stream, int64_t time_ns, const char *msg,
		   size_t len, bool partial, cri_emit_fn emit, void *ctx);
/* Emits whatever partial messages are pending (the file ended without the
 * line that completes them). */
void cri_joiner_flush(struct cri_joiner *j, cri_emit_fn emit, void *ctx);
void cri_joiner_free(struct cri_joiner *j);

#endif
