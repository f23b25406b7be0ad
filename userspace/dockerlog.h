/* dockerlog.h: the json-file log format written by dockerd (docker's default
 * log driver), one JSON object per line:
 *
 *     {"log":"hello\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}
 *
 * sometimes with an "attrs" member (labels and env chosen with --log-opt).
 * A record whose "log" does not end in '\n' is partial: dockerd splits a line
 * at 16 KiB, and the next records of the same stream continue it. A parsed
 * record is meant for cri_joiner_add() (cri.h), which joins partial messages
 * per stream.
 */
#ifndef GLIMPSE_DOCKERLOG_H
#define GLIMPSE_DOCKERLOG_H

#include "cri.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dockerlog_record {
	int64_t time_ns;	/* from "time", via cri_parse_time() in cri.h */
	enum cri_stream stream; /* "stdout" or "stderr" */
	bool partial;		/* "log" did not end with '\n' */
	size_t msg_len;		/* the unescaped message, trailing '\n' removed */
};

enum dockerlog_error {
	DOCKERLOG_OK = 0,
	DOCKERLOG_ERR_OBJECT = -1,   /* not a JSON object, or malformed JSON inside it */
	DOCKERLOG_ERR_LOG = -2,	     /* "log" missing or not a string */
	DOCKERLOG_ERR_STREAM = -3,   /* "stream" missing, or not "stdout" or "stderr" */
	DOCKERLOG_ERR_TIME = -4,     /* "time" missing, or not a string cri_parse_time() reads */
	DOCKERLOG_ERR_ESCAPE = -5,   /* a string has a malformed backslash escape */
	DOCKERLOG_ERR_TRAILING = -6, /* more than whitespace after the closing '}' */
};

/* Parses one record (line without its '\n', not NUL-terminated). The unescaped
 * "log" value is written to buf (capacity cap; a message longer than cap is cut
 * and *cut set, never overflowing). Returns 0 or a negative enum dockerlog_error.
 *
 * len bytes are read and nothing past them. A cut message is its first cap
 * bytes (msg_len == cap), even inside a UTF-8 sequence; *cut is false when
 * the message fit. cut may be NULL, and buf may be NULL when cap is 0.
 * Escapes are decoded as JSON has them, with a \u escape of a lone UTF-16
 * surrogate written as U+FFFD; every other byte of a string (control bytes,
 * NUL, invalid UTF-8) is copied as it is. Members are matched by exact name,
 * unknown ones are skipped (objects and arrays nested up to 64 deep), and of
 * a repeated member the last counts. The error is the first problem met from
 * left to right; missing members are reported last, in the order log,
 * stream, time. On error *out and *cut are left alone and the content of buf
 * is unspecified. */
int dockerlog_parse_line(const char *line, size_t len, char *buf, size_t cap,
			 struct dockerlog_record *out, bool *cut);
/* A short English reason for a dockerlog_error, for logs ("missing or unknown stream"). */
const char *dockerlog_strerror(int err);

#endif
