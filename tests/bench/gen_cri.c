/* gen_cri: writes a big CRI log file for the throughput benchmark, the same
 * bytes for the same size and seed.
 *
 *     gen_cri PATH BYTES [SEED]
 *
 * Lines are what a container runtime writes:
 *
 *     2026-11-22T10:00:00.123456789Z stdout F <message>
 *
 * with messages of 80 to 1,000 bytes cut from a text of log-like words: ASCII
 * with a sprinkling of quotes, backslashes and tabs (which JSON escapes) and
 * of UTF-8 words of 2 to 4 bytes a character. About 5 % of messages go to
 * stderr; about 2 % are written as a partial line (tag P) followed by the F
 * line that completes the message, cut at any byte. Timestamps increase by
 * 1 to 2 us a line. Writing stops after the first complete message that
 * reaches BYTES. Prints what it wrote, one "name value" a line:
 *
 *     bytes N     lines N     partial N     events N     stderr N
 *
 * (events = lines - partial: one per message; stderr counts messages).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIN_MESSAGE   80
#define MAX_MESSAGE   1000
#define TEXT_SIZE     (4u << 20)
#define OUT_SIZE      (4u << 20)
#define STDERR_PCT    5
#define PARTIAL_PCT   2
#define TIME_LEN      30	      /* "2026-11-22T10:00:00.123456789Z" */
#define LINE_OVERHEAD (TIME_LEN + 10) /* " stdout F " and "\n" */

static const char ascii_words[] =
    "GET POST /api/v1/orders status=200 latency_ms=12 user=u1234 request handled cache miss "
    "connection from 10.0.3.17:48122 retry timeout worker=3 queue depth=17 committed offset "
    "INFO WARN ERROR DEBUG db query took ms job finished started shard=7 ok bytes=4096 "
    "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7 level=info "
    "msg=reconciled controller=replicaset namespace=default method=PUT path=/healthz";

static const char *const special_words[] = {
    "\"quoted value\"",		  /* quotes */
    "C:\\Windows\\Temp",	  /* backslashes */
    "key=\"a \\\"nested\\\" b\"", /* both */
    "col1\tcol2\tcol3",		  /* tabs */
};

static const char *const utf8_words[] = {
    "caf\xc3\xa9",					/* café */
    "na\xc3\xafve",					/* naïve */
    "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82", /* Привет */
    "\xce\xb1\xce\xb2\xce\xb3",				/* αβγ */
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",		/* 日本語 */
    "\xe2\x86\x92",					/* → */
    "42\xe2\x82\xac",					/* 42€ */
    "\xf0\x9f\x98\x80",					/* 😀 */
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: deterministic and fast. */
static uint64_t next_random(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

/* Fills text with words separated by spaces (about 3 % UTF-8 words, 2 % words
 * JSON escapes) and returns its length, at most cap. No newline, no NUL. */
static size_t make_text(char *text, size_t cap, uint64_t *rnd)
{
	size_t len = 0;

	for (;;) {
		uint64_t r = next_random(rnd);
		unsigned pct = (unsigned)((r >> 40) % 1000);
		const char *word;
		size_t n;

		if (pct < 30) {
			word = utf8_words[(r >> 8) % COUNT(utf8_words)];
			n = strlen(word);
		} else if (pct < 50) {
			word = special_words[(r >> 8) % COUNT(special_words)];
			n = strlen(word);
		} else {
			size_t start = (size_t)(r >> 8) % (sizeof(ascii_words) - 1), end;

			while (start > 0 && ascii_words[start - 1] != ' ')
				start--;
			for (end = start; ascii_words[end] && ascii_words[end] != ' ';)
				end++;
			word = ascii_words + start;
			n = end - start;
		}
		if (len + n + 1 > cap)
			return len;
		memcpy(text + len, word, n);
		len += n;
		text[len++] = ' ';
	}
}

struct out {
	int fd;
	char *buf;
	size_t len;
	uint64_t written;
};

static int out_flush(struct out *o)
{
	size_t done = 0;

	while (done < o->len) {
		ssize_t n = write(o->fd, o->buf + done, o->len - done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		done += (size_t)n;
	}
	o->written += o->len;
	o->len = 0;
	return 0;
}

/* Writes "<time> <stream> <tag> " for time ns after 2026-11-22T10:00:00Z. */
static void put_prefix(struct out *o, uint64_t ns, int is_stderr, char tag)
{
	static const char date[11] = "2026-11-22T", to_out[8] = " stdout ", to_err[8] = " stderr ";
	char *p = o->buf + o->len;
	uint64_t secs = 36000 + ns / 1000000000, frac = ns % 1000000000;
	unsigned h = (unsigned)(secs / 3600 % 24), m = (unsigned)(secs / 60 % 60);
	unsigned s = (unsigned)(secs % 60);

	memcpy(p, date, sizeof(date));
	p[11] = (char)('0' + h / 10);
	p[12] = (char)('0' + h % 10);
	p[13] = ':';
	p[14] = (char)('0' + m / 10);
	p[15] = (char)('0' + m % 10);
	p[16] = ':';
	p[17] = (char)('0' + s / 10);
	p[18] = (char)('0' + s % 10);
	p[19] = '.';
	for (int i = 28; i >= 20; i--) {
		p[i] = (char)('0' + frac % 10);
		frac /= 10;
	}
	p[29] = 'Z';
	memcpy(p + TIME_LEN, is_stderr ? to_err : to_out, sizeof(to_out));
	p[TIME_LEN + 8] = tag;
	p[TIME_LEN + 9] = ' ';
	o->len += TIME_LEN + 10;
}

static void put_line(struct out *o, uint64_t ns, int is_stderr, char tag, const char *msg,
		     size_t len)
{
	put_prefix(o, ns, is_stderr, tag);
	memcpy(o->buf + o->len, msg, len);
	o->len += len;
	o->buf[o->len++] = '\n';
}

/* The start of a message of length near want in text: not inside a UTF-8
 * sequence, and its end neither; *len gets the length (80 to 1,000). */
static const char *pick_message(const char *text, size_t text_len, uint64_t r, size_t want,
				size_t *len)
{
	size_t start = (size_t)(r % (text_len - MAX_MESSAGE - 8)), end;

	while (((unsigned char)text[start] & 0xc0) == 0x80)
		start++;
	end = start + want;
	while (((unsigned char)text[end] & 0xc0) == 0x80)
		end--;
	if (end - start < MIN_MESSAGE) {
		end++;
		while (((unsigned char)text[end] & 0xc0) == 0x80)
			end++;
	}
	*len = end - start;
	return text + start;
}

struct counts {
	uint64_t lines, partial, stderr_events;
};

/* Writes messages cut from text to o until target bytes are reached. */
static int generate(struct out *o, uint64_t target, uint64_t rnd, const char *text, size_t text_len,
		    struct counts *c)
{
	uint64_t ns = 123456789;

	while (o->written + o->len < target) {
		uint64_t r = next_random(&rnd), r2 = next_random(&rnd);
		size_t want = MIN_MESSAGE + (size_t)(r2 % (MAX_MESSAGE - MIN_MESSAGE + 1)), len;
		const char *msg = pick_message(text, text_len, r, want, &len);
		int is_stderr = (r2 >> 32) % 100 < STDERR_PCT;

		if (OUT_SIZE - o->len < 2 * (LINE_OVERHEAD + MAX_MESSAGE) && out_flush(o) != 0)
			return -1;
		if ((r2 >> 48) % 100 < PARTIAL_PCT) {
			size_t cut = 1 + (size_t)((r >> 40) % (len - 1));

			put_line(o, ns, is_stderr, 'P', msg, cut);
			ns += 1000 + (r2 >> 20) % 1000;
			put_line(o, ns, is_stderr, 'F', msg + cut, len - cut);
			c->lines += 2;
			c->partial++;
		} else {
			put_line(o, ns, is_stderr, 'F', msg, len);
			c->lines++;
		}
		c->stderr_events += (uint64_t)is_stderr;
		ns += 1000 + (r2 >> 8) % 1000;
	}
	return out_flush(o);
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: gen_cri PATH BYTES [SEED]\n");
		return 2;
	}
	uint64_t target = strtoull(argv[2], NULL, 10);
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
	/* xorshift needs a state that is not 0 */
	uint64_t rnd = seed * 0x9e3779b97f4a7c15ULL + 0x2545f4914f6cdd1dULL;
	char *text = malloc(TEXT_SIZE);
	struct out o = {.fd = -1, .buf = malloc(OUT_SIZE)};
	struct counts c = {0};
	int ret = 1;

	if (!text || !o.buf) {
		fprintf(stderr, "gen_cri: out of memory\n");
		goto cleanup;
	}
	size_t text_len = make_text(text, TEXT_SIZE, &rnd);
	o.fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (o.fd < 0) {
		fprintf(stderr, "gen_cri: open %s: %s\n", argv[1], strerror(errno));
		goto cleanup;
	}
	if (generate(&o, target, rnd, text, text_len, &c) != 0 || close(o.fd) != 0) {
		fprintf(stderr, "gen_cri: write %s: %s\n", argv[1], strerror(errno));
		goto cleanup;
	}
	printf("bytes %" PRIu64 "\nlines %" PRIu64 "\npartial %" PRIu64 "\nevents %" PRIu64
	       "\nstderr %" PRIu64 "\n",
	       o.written, c.lines, c.partial, c.lines - c.partial, c.stderr_events);
	ret = 0;
cleanup:
	free(text);
	free(o.buf);
	return ret;
}
