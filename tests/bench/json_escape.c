/* json_escape: how fast jbuf_string() escapes log messages, next to a plain
 * memcpy of the same bytes measured in the same run.
 *
 *     json_escape [MIB]
 *
 * Builds a buffer of MIB MiB (default 64) of messages 80 to 1,000 bytes long,
 * for each of four kinds of text: plain ASCII; the mix of the throughput
 * benchmark (ASCII with a sprinkling of quotes, backslashes and tabs, and
 * some UTF-8 words); JSON-formatted log lines (a quote every few bytes); and
 * mostly non-ASCII text (Cyrillic, Greek, CJK). Each message is escaped into
 * a reused buffer, as the agent does for every log line, and copied with
 * memcpy for the baseline; each figure is the best of 5 passes. Prints MB/s
 * (10^6 bytes of input per second) for both and their ratio.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "json.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIN_MESSAGE 80
#define MAX_MESSAGE 1000
#define PASSES	    5

enum text_kind { TEXT_ASCII, TEXT_MIXED, TEXT_JSON, TEXT_NON_ASCII, TEXT_KINDS };

static const char *const text_names[TEXT_KINDS] = {"ascii", "mixed", "json lines", "non-ascii"};

/* Words of ASCII log lines, one picked at a time. */
static const char ascii_words[] =
    "GET POST /api/v1/orders status=200 latency_ms=12 user request handled cache miss "
    "connection from 10.0.3.17 retry timeout worker queue depth=3 committed offset INFO "
    "WARN ERROR db query took ms job finished started shard=7 ok trace_id=4bf92f3577b34da6";

static const char *const utf8_words[] = {
    "caf\xc3\xa9",					/* café */
    "na\xc3\xafve",					/* naïve */
    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", /* Привет */
    "\xce\xb1\xce\xb2\xce\xb3",				/* αβγ */
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",		/* 日本語 */
    "\xe2\x86\x92",					/* → */
    "42\xe2\x82\xac",					/* 42€ */
    "\xf0\x9f\x98\x80"};				/* 😀 */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: deterministic, fast enough not to matter. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Writes n bytes of s at out + at when they fit before cap, else fills up to
 * cap with dots (no sequence is cut); returns the new length. */
static size_t put(char *out, size_t at, size_t cap, const char *s, size_t n)
{
	if (n > cap - at) {
		memset(out + at, '.', cap - at);
		return cap;
	}
	memcpy(out + at, s, n);
	return at + n;
}

static size_t put_str(char *out, size_t at, size_t cap, const char *s)
{
	return put(out, at, cap, s, strlen(s));
}

/* Writes the next word of the given kind of text, and a space; returns the
 * new length. */
static size_t put_word(enum text_kind kind, uint64_t *rnd, char *out, size_t at, size_t cap)
{
	uint64_t r = next_random(rnd);
	unsigned pct = (unsigned)((r >> 40) % 100);
	const char *special = NULL;
	size_t start = (size_t)(r >> 8) % (sizeof(ascii_words) - 1), end;

	while (start > 0 && ascii_words[start - 1] != ' ')
		start--;
	for (end = start; ascii_words[end] && ascii_words[end] != ' ';)
		end++;
	switch (kind) {
	case TEXT_ASCII:
		break;
	case TEXT_MIXED:
		if (pct < 5)
			special = utf8_words[(r >> 16) % COUNT(utf8_words)];
		else if (pct < 6)
			special = "\"quoted\"";
		else if (pct < 7)
			special = "C:\\tmp\\x";
		else if (pct < 8)
			special = "a\tb";
		break;
	case TEXT_JSON:
		at = put_str(out, at, cap, pct < 50 ? "\"key\":\"" : "\",\"");
		break;
	case TEXT_NON_ASCII:
		if (pct < 90)
			special = utf8_words[(r >> 16) % 5 + 2];
		break;
	default:
		break;
	}
	if (special)
		at = put_str(out, at, cap, special);
	else
		at = put(out, at, cap, ascii_words + start, end - start);
	return put_str(out, at, cap, " ");
}

/* Fills buf with messages of the given kind; *lens gets each message's
 * length. Returns the number of messages. */
static size_t fill(enum text_kind kind, char *buf, size_t size, uint32_t *lens)
{
	uint64_t rnd = 0x9e3779b97f4a7c15ULL + (uint64_t)kind;
	size_t at = 0, count = 0;

	while (size - at >= MIN_MESSAGE) {
		size_t want = MIN_MESSAGE + next_random(&rnd) % (MAX_MESSAGE - MIN_MESSAGE + 1);
		size_t start = at;

		if (want > size - at)
			want = size - at;
		while (at - start < want)
			at = put_word(kind, &rnd, buf, at, start + want);
		lens[count++] = (uint32_t)(at - start);
	}
	return count;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile size_t sink;

/* Best time of PASSES passes of escaping every message. */
static double time_escape(const char *buf, const uint32_t *lens, size_t count)
{
	struct jbuf b;
	double best = 1e30;

	jbuf_init(&b);
	for (int pass = 0; pass < PASSES; pass++) {
		const char *p = buf;
		size_t invalid = 0;
		double t0 = now_s();

		for (size_t i = 0; i < count; i++) {
			jbuf_reset(&b);
			invalid += jbuf_string(&b, p, lens[i]);
			p += lens[i];
		}
		double t = now_s() - t0;
		if (t < best)
			best = t;
		sink = invalid + b.len;
	}
	jbuf_free(&b);
	return best;
}

/* Best time of PASSES passes of copying every message into one buffer. */
static double time_memcpy(const char *buf, const uint32_t *lens, size_t count)
{
	static char out[MAX_MESSAGE];
	double best = 1e30;

	for (int pass = 0; pass < PASSES; pass++) {
		const char *p = buf;
		size_t check = 0;
		double t0 = now_s();

		for (size_t i = 0; i < count; i++) {
			memcpy(out, p, lens[i]);
			check += (unsigned char)out[lens[i] - 1];
			p += lens[i];
		}
		double t = now_s() - t0;
		if (t < best)
			best = t;
		sink = check;
	}
	return best;
}

int main(int argc, char **argv)
{
	long mib = argc > 1 ? strtol(argv[1], NULL, 10) : 64;

	if (argc > 2 || mib <= 0 || mib > 4096) {
		fprintf(stderr, "usage: json_escape [MIB]\n");
		return 2;
	}
	size_t size = (size_t)mib << 20;
	char *buf = malloc(size);
	uint32_t *lens = malloc(size / MIN_MESSAGE * sizeof(*lens));
	if (!buf || !lens) {
		fprintf(stderr, "json_escape: cannot allocate %ld MiB\n", mib);
		free(buf);
		free(lens);
		return 1;
	}

	printf("json_escape: %ld MiB of messages %d-%d bytes, best of %d passes, "
	       "MB/s = 10^6 input bytes per second\n",
	       mib, MIN_MESSAGE, MAX_MESSAGE, PASSES);
	printf("%-12s %9s %12s %12s %8s\n", "text", "messages", "jbuf_string", "memcpy", "ratio");
	for (int kind = 0; kind < TEXT_KINDS; kind++) {
		size_t count = fill((enum text_kind)kind, buf, size, lens);
		size_t bytes = 0;

		for (size_t i = 0; i < count; i++)
			bytes += lens[i];
		double escape_s = time_escape(buf, lens, count);
		double copy_s = time_memcpy(buf, lens, count);
		double escape_mbs = (double)bytes / escape_s / 1e6;
		double copy_mbs = (double)bytes / copy_s / 1e6;
		printf("%-12s %9zu %7.0f MB/s %7.0f MB/s %7.3f\n", text_names[kind], count,
		       escape_mbs, copy_mbs, escape_mbs / copy_mbs);
	}
	free(buf);
	free(lens);
	return 0;
}
