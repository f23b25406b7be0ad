/* json.h: a growable byte buffer and the JSON string escaping every event and
 * log line goes through.
 *
 * Escaping never drops a byte: valid UTF-8 is copied, control characters,
 * '"' and '\\' are escaped, and each byte that is not part of valid UTF-8 is
 * written as \u00XX, so its value can be recovered (decoding gives U+00XX).
 */
#ifndef GLIMPSE_JSON_H
#define GLIMPSE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jbuf {
	char *data;
	size_t len;
	size_t cap;
	bool failed; /* an allocation failed: the content is incomplete */
};

void jbuf_init(struct jbuf *b);
void jbuf_free(struct jbuf *b);
void jbuf_reset(struct jbuf *b);
void jbuf_append(struct jbuf *b, const void *data, size_t len);
void jbuf_puts(struct jbuf *b, const char *s);

/* Appends "…" with the bytes escaped as described above. Returns the number of
 * bytes that were not valid UTF-8 (written as \u00XX). */
size_t jbuf_string(struct jbuf *b, const char *s, size_t len);

/* Object members, each preceded by a ',' unless it follows '{'. */
void jbuf_key(struct jbuf *b, const char *key);
void jbuf_member_str(struct jbuf *b, const char *key, const char *value);
void jbuf_member_strn(struct jbuf *b, const char *key, const char *value, size_t len);
/* An integer in decimal. */
void jbuf_int(struct jbuf *b, int64_t value);
void jbuf_member_int(struct jbuf *b, const char *key, int64_t value);
void jbuf_member_bool(struct jbuf *b, const char *key, bool value);

/* Formats ns since the epoch as RFC 3339 UTC with nanoseconds
 * ("2026-11-22T04:22:33.896609438Z"); out must hold JSON_TIME_LEN + 1 bytes. */
#define JSON_TIME_LEN 30
void json_format_time(int64_t ns, char *out);

/* The date and time of day to the second last formatted through it: log lines
 * come many to a second, and only their fraction differs. Zero it to start. */
struct json_time_cache {
	int64_t secs; /* seconds since the epoch of prefix */
	bool valid;
	char prefix[19]; /* "2026-11-22T04:22:33" */
};

/* json_format_time, reusing cache when ns falls in the same second. */
void json_format_time_cached(struct json_time_cache *cache, int64_t ns, char *out);

#endif
