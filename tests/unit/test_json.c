/* test_json.c: the byte buffer, JSON string escaping and RFC 3339 time
 * formatting of json.c.
 *
 * Escaping is checked three ways: exact output for hand-written inputs, a
 * round trip through cJSON (the decoded code points must be those of the
 * valid UTF-8 sequences of the input, and U+00XX for each other byte), and
 * the same on pseudo-random byte strings, against a UTF-8 oracle written
 * here from the Unicode well-formed byte sequence table. jbuf_string scans
 * several bytes at a time, so its exact output is also compared with a
 * byte-by-byte reference escaper written here, on edge cases at every offset
 * of a machine word and on many random strings.
 */
#include "json.h"
#include "testing.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <time.h>

#define L(s) s, sizeof(s) - 1

/* The next value of a 64-bit linear congruential generator (Knuth's MMIX constants). */
static uint64_t next_random(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state;
}

/* ---- an independent UTF-8 oracle ---- */

/* Length of the well-formed sequence at p (Unicode table 3-7), or 0. */
static size_t oracle_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n;

	if (c <= 0x7f)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c == 0xe0)
		n = 3, lo = 0xa0;
	else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
		n = 3;
	else if (c == 0xed)
		n = 3, hi = 0x9f;
	else if (c == 0xf0)
		n = 4, lo = 0x90;
	else if (c >= 0xf1 && c <= 0xf3)
		n = 4;
	else if (c == 0xf4)
		n = 4, hi = 0x8f;
	else
		return 0;
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static uint32_t oracle_decode(const unsigned char *p, size_t n)
{
	static const unsigned char first_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = p[0] & first_mask[n];

	for (size_t i = 1; i < n; i++)
		cp = (cp << 6) | (p[i] & 0x3f);
	return cp;
}

/* The code points a correct escaping decodes to; returns how many, and the
 * number of bytes that are not part of valid UTF-8 in *invalid. */
static size_t oracle_code_points(const unsigned char *s, size_t len, uint32_t *out, size_t *invalid)
{
	size_t n_out = 0;

	*invalid = 0;
	for (size_t i = 0; i < len;) {
		size_t n = oracle_seq_len(s + i, len - i);
		if (n == 0) {
			out[n_out++] = s[i];
			(*invalid)++;
			i++;
		} else {
			out[n_out++] = oracle_decode(s + i, n);
			i += n;
		}
	}
	return n_out;
}

/* Decodes a whole UTF-8 string into code points; returns the count, or
 * (size_t)-1 when it is not valid UTF-8. */
static size_t utf8_to_code_points(const unsigned char *s, size_t len, uint32_t *out)
{
	size_t n_out = 0;

	for (size_t i = 0; i < len;) {
		size_t n = oracle_seq_len(s + i, len - i);
		if (n == 0)
			return (size_t)-1;
		out[n_out++] = oracle_decode(s + i, n);
		i += n;
	}
	return n_out;
}

/* Escapes s, parses the result with cJSON and compares the decoded code points
 * with the oracle's. s must not hold NUL (cJSON strings end there). */
static void check_round_trip(const char *s, size_t len, int line)
{
	struct jbuf b;
	size_t invalid, want_n, got_n, ret;
	uint32_t *want = malloc((len + 1) * sizeof(*want));
	uint32_t *got;
	cJSON *v;

	jbuf_init(&b);
	ret = jbuf_string(&b, s, len);
	got = malloc((b.len + 1) * sizeof(*got));
	want_n = oracle_code_points((const unsigned char *)s, len, want, &invalid);
	if (ret != invalid) {
		fprintf(stderr, "  line %d: jbuf_string returned %zu invalid bytes, expected %zu\n",
			line, ret, invalid);
		testing_current_failed = 1;
	}
	/* the escaped form itself must be valid UTF-8 */
	if (utf8_to_code_points((const unsigned char *)b.data, b.len, got) == (size_t)-1) {
		fprintf(stderr, "  line %d: output is not valid UTF-8: %s\n", line, b.data);
		testing_current_failed = 1;
	}
	v = cJSON_ParseWithLength(b.data, b.len);
	if (!cJSON_IsString(v)) {
		fprintf(stderr, "  line %d: cJSON cannot parse %s\n", line, b.data);
		testing_current_failed = 1;
	} else {
		const char *d = cJSON_GetStringValue(v);
		got_n = utf8_to_code_points((const unsigned char *)d, strlen(d), got);
		if (got_n != want_n || memcmp(got, want, want_n * sizeof(*got)) != 0) {
			fprintf(stderr,
				"  line %d: decoded %zu code points, expected %zu (or they differ)"
				" for output %s\n",
				line, got_n, want_n, b.data);
			testing_current_failed = 1;
		}
	}
	cJSON_Delete(v);
	jbuf_free(&b);
	free(want);
	free(got);
}

/* Checks the exact escaped form of s and the invalid-byte count. */
static void check_escape(const char *s, size_t len, const char *want, size_t want_invalid, int line)
{
	struct jbuf b;
	size_t ret;

	jbuf_init(&b);
	ret = jbuf_string(&b, s, len);
	if (!b.data || strcmp(b.data, want) != 0 || b.len != strlen(want)) {
		fprintf(stderr, "  line %d: escaped to %s, expected %s\n", line,
			b.data ? b.data : "(null)", want);
		testing_current_failed = 1;
	}
	if (ret != want_invalid) {
		fprintf(stderr, "  line %d: %zu invalid bytes reported, expected %zu\n", line, ret,
			want_invalid);
		testing_current_failed = 1;
	}
	jbuf_free(&b);
}

#define ESCAPE(in, want, inv) check_escape(L(in), want, inv, __LINE__)
#define ROUND(in)	      check_round_trip(L(in), __LINE__)

TEST(test_escape_specials)
{
	ESCAPE("", "\"\"", 0);
	ESCAPE("plain text", "\"plain text\"", 0);
	ESCAPE("say \"hi\"", "\"say \\\"hi\\\"\"", 0);
	ESCAPE("a\\b", "\"a\\\\b\"", 0);
	ESCAPE("l1\nl2\tx\ry", "\"l1\\nl2\\tx\\ry\"", 0);
	/* other control characters: \u00XX, lower-case hex, not counted as invalid */
	ESCAPE("\x01\x08\x0c\x1b\x1f", "\"\\u0001\\u0008\\u000c\\u001b\\u001f\"", 0);
	ESCAPE("a\0b", "\"a\\u0000b\"", 0);
	/* DEL and space are not control characters in JSON */
	ESCAPE(" \x7f~", "\" \x7f~\"", 0);
}

TEST(test_escape_valid_utf8)
{
	/* 2, 3 and 4 byte sequences, including the edges of each range */
	ESCAPE("caf\xc3\xa9", "\"caf\xc3\xa9\"", 0);
	ESCAPE("\xc2\x80\xdf\xbf", "\"\xc2\x80\xdf\xbf\"", 0);
	ESCAPE("\xe2\x82\xac euro", "\"\xe2\x82\xac euro\"", 0);
	ESCAPE("\xe0\xa0\x80\xef\xbf\xbf", "\"\xe0\xa0\x80\xef\xbf\xbf\"", 0);
	ESCAPE("\xed\x9f\xbf\xee\x80\x80", "\"\xed\x9f\xbf\xee\x80\x80\"", 0);
	ESCAPE("\xf0\x9f\x98\x80!", "\"\xf0\x9f\x98\x80!\"", 0);
	ESCAPE("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf", "\"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\"", 0);
	/* valid UTF-8 next to escapes */
	ESCAPE("\xc3\xa9\n\xc3\xa9", "\"\xc3\xa9\\n\xc3\xa9\"", 0);
}

TEST(test_escape_invalid_bytes)
{
	ESCAPE("\xff", "\"\\u00ff\"", 1);
	ESCAPE("a\xfe"
	       "b",
	       "\"a\\u00feb\"", 1);
	/* a lone continuation byte */
	ESCAPE("x\x80y", "\"x\\u0080y\"", 1);
	ESCAPE("\xbf\xbf", "\"\\u00bf\\u00bf\"", 2);
	/* overlong encodings of '/' and of U+0000 */
	ESCAPE("\xc0\xaf", "\"\\u00c0\\u00af\"", 2);
	ESCAPE("\xc1\xbf", "\"\\u00c1\\u00bf\"", 2);
	ESCAPE("\xe0\x80\xaf", "\"\\u00e0\\u0080\\u00af\"", 3);
	ESCAPE("\xf0\x80\x80\xaf", "\"\\u00f0\\u0080\\u0080\\u00af\"", 4);
	/* UTF-16 surrogates encoded as UTF-8 */
	ESCAPE("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"", 3);
	ESCAPE("\xed\xbf\xbf", "\"\\u00ed\\u00bf\\u00bf\"", 3);
	/* past U+10FFFF */
	ESCAPE("\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\"", 4);
	ESCAPE("\xf5\x80\x80\x80", "\"\\u00f5\\u0080\\u0080\\u0080\"", 4);
	/* sequences cut short, at the end and before an ASCII byte */
	ESCAPE("ok\xe2\x82", "\"ok\\u00e2\\u0082\"", 2);
	ESCAPE("\xf0\x9f\x98", "\"\\u00f0\\u009f\\u0098\"", 3);
	ESCAPE("\xc3", "\"\\u00c3\"", 1);
	ESCAPE("\xe2\x82"
	       "A",
	       "\"\\u00e2\\u0082A\"", 2);
	/* a valid sequence right after an invalid byte is kept */
	ESCAPE("\xff\xc3\xa9", "\"\\u00ff\xc3\xa9\"", 1);
	/* control characters are escaped but are not invalid */
	ESCAPE("\xff\n\x01", "\"\\u00ff\\n\\u0001\"", 1);
}

TEST(test_escape_round_trip)
{
	ROUND("plain");
	ROUND("quote\" back\\slash\n\t\r\x01\x1f");
	ROUND("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	ROUND("\xff\xfe\x80\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80");
	ROUND("end cut \xe2\x82");
	ROUND("\xc3\xa9\xc3");

	/* bytes alone: each invalid byte decodes to U+00XX, that is, to itself */
	for (int c = 1; c < 256; c++) {
		char s[3] = {'a', (char)c, 'z'};
		struct jbuf b;
		cJSON *v;
		bool invalid = c >= 0x80;

		jbuf_init(&b);
		CHECK_INT_EQ(jbuf_string(&b, s, sizeof(s)), invalid ? 1 : 0);
		v = cJSON_ParseWithLength(b.data, b.len);
		CHECK(cJSON_IsString(v));
		if (cJSON_IsString(v)) {
			const unsigned char *d = (const unsigned char *)v->valuestring;
			uint32_t cps[8];
			size_t n = utf8_to_code_points(d, strlen((const char *)d), cps);
			CHECK_INT_EQ(n, 3);
			if (n == 3) {
				CHECK_INT_EQ(cps[0], 'a');
				CHECK_INT_EQ(cps[1], c);
				CHECK_INT_EQ(cps[2], 'z');
			}
		}
		cJSON_Delete(v);
		jbuf_free(&b);
	}
}

TEST(test_escape_random)
{
	uint64_t state = 0x9e3779b97f4a7c15ULL;
	char s[64];

	for (int round = 0; round < 20000; round++) {
		size_t len;

		len = (size_t)(next_random(&state) >> 58);
		for (size_t i = 0; i < len; i++) {
			uint64_t r = next_random(&state);
			unsigned char c = (unsigned char)(r >> 56);
			/* favour bytes that start or continue sequences */
			if ((r >> 40) & 1)
				c = (unsigned char)(0x80 | (c & 0x7f));
			s[i] = c ? (char)c : 'x';
		}
		check_round_trip(s, len, __LINE__);
		if (testing_current_failed)
			break;
	}
}

/* ---- differential test against a byte-by-byte reference ---- */

/* Escapes s into out (6 * len + 3 bytes) the plain way: one byte at a time,
 * a valid sequence copied whole. Returns the output length; *invalid gets the
 * number of bytes that are not part of valid UTF-8. */
static size_t reference_escape(const unsigned char *s, size_t len, char *out, size_t *invalid)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	*invalid = 0;
	out[o++] = '"';
	for (size_t i = 0; i < len;) {
		unsigned char c = s[i];
		size_t n = oracle_seq_len(s + i, len - i);

		if (c >= 0x80 && n > 0) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n' || c == '\t' || c == '\r') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : 'r';
		} else if (c < 0x20 || c >= 0x80) {
			out[o++] = '\\';
			out[o++] = 'u';
			out[o++] = '0';
			out[o++] = '0';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
			if (c >= 0x80)
				(*invalid)++;
		} else {
			out[o++] = (char)c;
		}
		i++;
	}
	out[o++] = '"';
	out[o] = '\0';
	return o;
}

static void print_bytes(const char *what, const unsigned char *s, size_t len)
{
	fprintf(stderr, "    %s (%zu bytes):", what, len);
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, " %02x", s[i]);
	fprintf(stderr, "\n");
}

/* Compares jbuf_string with reference_escape on s, appended after prefix_len
 * bytes already in the buffer. s is copied to a heap block of exactly len
 * bytes, so that AddressSanitizer sees any read past its end. */
static void check_same_as_reference(const unsigned char *s, size_t len, size_t prefix_len, int line)
{
	unsigned char *copy = malloc(len ? len : 1);
	char *want = malloc(6 * len + 3);
	size_t want_len, want_invalid, got_invalid;
	struct jbuf b;

	if (!copy || !want) {
		fprintf(stderr, "  line %d: out of memory\n", line);
		testing_current_failed = 1;
		free(copy);
		free(want);
		return;
	}
	if (len)
		memcpy(copy, s, len);
	want_len = reference_escape(s, len, want, &want_invalid);
	jbuf_init(&b);
	for (size_t i = 0; i < prefix_len; i++)
		jbuf_append(&b, "p", 1);
	got_invalid = jbuf_string(&b, (const char *)copy, len);
	if (b.failed || b.len != prefix_len + want_len ||
	    memcmp(b.data + prefix_len, want, want_len) != 0 || b.data[b.len] != '\0' ||
	    got_invalid != want_invalid) {
		fprintf(stderr,
			"  line %d: jbuf_string differs from the reference (after %zu bytes;"
			" %zu invalid bytes reported, %zu expected)\n",
			line, prefix_len, got_invalid, want_invalid);
		print_bytes("input", s, len);
		if (b.data && b.len >= prefix_len)
			print_bytes("got", (const unsigned char *)b.data + prefix_len,
				    b.len - prefix_len);
		print_bytes("expected", (const unsigned char *)want, want_len);
		testing_current_failed = 1;
	}
	jbuf_free(&b);
	free(copy);
	free(want);
}

/* Writes code point cp as UTF-8 (cp is not checked); returns the length. */
static size_t encode_utf8(uint32_t cp, unsigned char *out)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | ((cp >> 18) & 0x07));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Byte strings at the edges of UTF-8 validity, valid and not. */
static const struct {
	const char *s;
	size_t len;
} utf8_edges[] = {
    /* valid: the first and last code point of each length, around the surrogates */
    {L("\xc2\x80")},
    {L("\xdf\xbf")},
    {L("\xe0\xa0\x80")},
    {L("\xed\x9f\xbf")},
    {L("\xee\x80\x80")},
    {L("\xef\xbf\xbf")},
    {L("\xf0\x90\x80\x80")},
    {L("\xf4\x8f\xbf\xbf")}, /* U+10FFFF */
    /* overlong forms */
    {L("\xc0\x80")},
    {L("\xc1\xbf")},
    {L("\xe0\x80\x80")},
    {L("\xe0\x9f\xbf")},
    {L("\xf0\x80\x80\x80")},
    {L("\xf0\x8f\xbf\xbf")},
    /* surrogates */
    {L("\xed\xa0\x80")},
    {L("\xed\xbf\xbf")},
    /* past U+10FFFF, and lead bytes that are never valid */
    {L("\xf4\x90\x80\x80")},
    {L("\xf5\x80\x80\x80")},
    {L("\xf7\xbf\xbf\xbf")},
    {L("\xf8\x88\x80\x80\x80")},
    {L("\xfc\x84\x80\x80\x80\x80")},
    {L("\xfe")},
    {L("\xff")},
    /* sequences cut short (at the end of the buffer when nothing follows) */
    {L("\xc3")},
    {L("\xe2\x82")},
    {L("\xe2")},
    {L("\xf0\x9f\x98")},
    {L("\xf0\x9f")},
    {L("\xf4\x8f\xbf")},
    /* continuation bytes alone, and a lead byte followed by a non-continuation */
    {L("\x80")},
    {L("\xbf\x80")},
    {L("\xc3\xc3\xa9")},
    {L("\xe2\x28\xa1")},
    /* what needs an escape in ASCII */
    {L("\"")},
    {L("\\")},
    {L("\n\t\r")},
    {L("\x01\x1f")},
    {L("\x7f ")},
};

TEST(test_escape_same_as_reference_edges)
{
	static const unsigned char pad[17] = "abcdefghijklmnopq"; /* no NUL */
	unsigned char s[64];

	/* each edge case at every offset of a word, followed by 0 to 9 bytes */
	for (size_t e = 0; e < sizeof(utf8_edges) / sizeof(utf8_edges[0]); e++) {
		for (size_t before = 0; before <= 16; before++) {
			for (size_t after = 0; after <= 9; after++) {
				size_t len = 0;

				memcpy(s, pad, before);
				len += before;
				memcpy(s + len, utf8_edges[e].s, utf8_edges[e].len);
				len += utf8_edges[e].len;
				memcpy(s + len, pad, after);
				len += after;
				check_same_as_reference(s, len, 0, __LINE__);
			}
		}
		if (testing_current_failed)
			return;
	}

	/* every byte value in every lane of two words, and every pair of values on
	 * both sides of a word boundary and inside a word */
	for (int c = 0; c < 256; c++) {
		for (size_t at = 0; at < 17; at++) {
			memcpy(s, pad, sizeof(pad));
			s[at] = (unsigned char)c;
			check_same_as_reference(s, sizeof(pad), 0, __LINE__);
		}
	}
	for (int c1 = 0; c1 < 256; c1++) {
		for (int c2 = 0; c2 < 256; c2++) {
			memcpy(s, pad, sizeof(pad));
			s[3] = (unsigned char)c1;
			s[4] = (unsigned char)c2;
			s[7] = (unsigned char)c1;
			s[8] = (unsigned char)c2;
			check_same_as_reference(s, sizeof(pad), 0, __LINE__);
		}
		if (testing_current_failed)
			return;
	}
}

/* Appends one piece of a random string: printable ASCII, a valid sequence, an
 * invalid one, a control character or any byte, with weights w[0..4]. */
static size_t random_piece(uint64_t *state, const unsigned w[5], unsigned char *out)
{
	static const uint32_t cp_edges[] = {0x80,   0x7ff,  0x800,   0xd7ff,
					    0xe000, 0xffff, 0x10000, 0x10ffff};
	unsigned total = w[0] + w[1] + w[2] + w[3] + w[4];
	uint64_t r = next_random(state);
	unsigned pick = (unsigned)((r >> 32) % total);
	uint64_t r2 = next_random(state) >> 16;

	if (pick < w[0]) {
		size_t n = 1 + (size_t)(r2 % 24);
		for (size_t i = 0; i < n; i++)
			out[i] = (unsigned char)(0x20 + (next_random(state) >> 33) % 0x5f);
		return n;
	}
	pick -= w[0];
	if (pick < w[1]) {
		uint32_t cp;
		switch (r2 % 4) {
		case 0:
			cp = cp_edges[(r2 >> 8) % 8];
			break;
		case 1:
			cp = 0x80 + (uint32_t)((r2 >> 8) % (0x800 - 0x80));
			break;
		case 2:
			cp = 0x800 + (uint32_t)((r2 >> 8) % (0x10000 - 0x800));
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp -= 0x800;
			break;
		default:
			cp = 0x10000 + (uint32_t)((r2 >> 8) % (0x110000 - 0x10000));
		}
		return encode_utf8(cp, out);
	}
	pick -= w[1];
	if (pick < w[2]) {
		size_t n;
		switch (r2 % 6) {
		case 0: /* a lone continuation byte */
			out[0] = (unsigned char)(0x80 | ((r2 >> 8) & 0x3f));
			return 1;
		case 1: /* overlong: U+0000-U+007F in two bytes, or U+0000-U+07FF in three */
			if ((r2 >> 8) & 1) {
				out[0] = (unsigned char)(0xc0 | ((r2 >> 16) & 0x01));
				out[1] = (unsigned char)(0x80 | ((r2 >> 24) & 0x3f));
				return 2;
			}
			out[0] = 0xe0;
			out[1] = (unsigned char)(0x80 | ((r2 >> 16) & 0x1f));
			out[2] = (unsigned char)(0x80 | ((r2 >> 24) & 0x3f));
			return 3;
		case 2: /* a surrogate */
			return encode_utf8(0xd800 + (uint32_t)((r2 >> 8) % 0x800), out);
		case 3: /* past U+10FFFF */
			return encode_utf8(0x110000 + (uint32_t)((r2 >> 8) % 0xf0000), out);
		case 4: /* a sequence cut short, or U+0000-U+FFFF in four bytes (overlong) */
			if ((r2 >> 8) & 1) {
				n = encode_utf8(0x80 + (uint32_t)((r2 >> 16) % 0x10ff80), out);
				return n - 1 - (size_t)((r2 >> 40) % (n - 1));
			}
			out[0] = 0xf0;
			out[1] = (unsigned char)(0x80 | ((r2 >> 16) & 0x0f));
			out[2] = (unsigned char)(0x80 | ((r2 >> 24) & 0x3f));
			out[3] = (unsigned char)(0x80 | ((r2 >> 32) & 0x3f));
			return 4;
		default: /* a byte that never starts a sequence */
			out[0] = (unsigned char)(0xf5 + (r2 >> 8) % 11);
			return 1;
		}
	}
	pick -= w[2];
	if (pick < w[3]) {
		out[0] = (r2 & 0x100) ? 0x7f : (unsigned char)(r2 % 0x20);
		return 1;
	}
	out[0] = (unsigned char)r2;
	return 1;
}

TEST(test_escape_same_as_reference_random)
{
	uint64_t state = 0x243f6a8885a308d3ULL;
	unsigned char s[300 + 8];

	for (int round = 0; round < 100000; round++) {
		unsigned w[5];
		size_t len = (size_t)(next_random(&state) >> 33) % 301, have = 0;
		size_t prefix =
		    (next_random(&state) >> 63) ? (size_t)(next_random(&state) >> 55) : 0;

		/* a bias per string: mostly ASCII, or mostly UTF-8, or mostly invalid... */
		for (int k = 0; k < 5; k++)
			w[k] = (unsigned)(next_random(&state) >> 60);
		w[(next_random(&state) >> 33) % 5] += 32;
		while (have < len) {
			unsigned char piece[32];
			size_t n = random_piece(&state, w, piece);
			if (n > len - have)
				n = len - have; /* cut at the end of the buffer */
			memcpy(s + have, piece, n);
			have += n;
		}
		check_same_as_reference(s, len, prefix, __LINE__);
		if (testing_current_failed)
			break;
	}
}

TEST(test_escape_appends)
{
	struct jbuf b;
	char big[3000];

	jbuf_init(&b);
	jbuf_puts(&b, "[");
	jbuf_string(&b, L("a"));
	jbuf_puts(&b, ",");
	/* longer than the first allocation, with escapes that grow it */
	memset(big, '"', sizeof(big));
	jbuf_string(&b, big, sizeof(big));
	jbuf_puts(&b, "]");
	CHECK(!b.failed);
	CHECK_INT_EQ(b.len, 1 + 3 + 1 + 2 + 2 * sizeof(big) + 1);
	CHECK_INT_EQ(strlen(b.data), b.len);
	CHECK(memcmp(b.data, "[\"a\",\"\\\"\\\"", 10) == 0);
	CHECK(memcmp(b.data + b.len - 4, "\\\"\"]", 4) == 0);
	jbuf_free(&b);
	CHECK(b.data == NULL);
	CHECK_INT_EQ(b.len, 0);
}

TEST(test_jbuf_growth_and_reset)
{
	struct jbuf b;
	char want[1200], pad[1001];

	jbuf_init(&b);
	jbuf_int(&b, 42);
	jbuf_append(&b, "-x", 2);
	CHECK_STR_EQ(b.data, "42-x");
	CHECK_INT_EQ(b.len, 4);
	/* forces growth past the first allocation */
	memset(pad, ' ', sizeof(pad) - 1);
	pad[sizeof(pad) - 2] = '7';
	pad[sizeof(pad) - 1] = '|';
	jbuf_append(&b, pad, sizeof(pad));
	CHECK_INT_EQ(b.len, 4 + 1001);
	snprintf(want, sizeof(want), "42-x%1000d|", 7);
	CHECK_STR_EQ(b.data, want);
	jbuf_reset(&b);
	CHECK_INT_EQ(b.len, 0);
	jbuf_append(&b, "abc", 3);
	CHECK_STR_EQ(b.data, "abc");
	jbuf_append(&b, "", 0);
	CHECK_STR_EQ(b.data, "abc");
	jbuf_free(&b);
}

TEST(test_members)
{
	struct jbuf b;

	jbuf_init(&b);
	/* a key on an empty buffer has no comma */
	jbuf_key(&b, "k");
	CHECK_STR_EQ(b.data, "\"k\":");
	jbuf_reset(&b);

	jbuf_puts(&b, "{");
	jbuf_member_str(&b, "time", "t");
	jbuf_member_int(&b, "n", -5);
	jbuf_member_strn(&b, "bin", "a\0b\xff", 4);
	jbuf_member_int(&b, "min", INT64_MIN);
	jbuf_member_int(&b, "max", INT64_MAX);
	jbuf_key(&b, "obj");
	jbuf_puts(&b, "{");
	jbuf_member_int(&b, "inner", 1);
	jbuf_member_int(&b, "zero", 0);
	jbuf_member_str(&b, "q\"k", "v\n");
	jbuf_puts(&b, "}");
	jbuf_member_str(&b, "after", "");
	jbuf_puts(&b, "}");
	CHECK_STR_EQ(b.data,
		     "{\"time\":\"t\",\"n\":-5,\"bin\":\"a\\u0000b\\u00ff\","
		     "\"min\":-9223372036854775808,\"max\":9223372036854775807,"
		     "\"obj\":{\"inner\":1,\"zero\":0,\"q\\\"k\":\"v\\n\"},\"after\":\"\"}");

	/* and it is one JSON object */
	cJSON *v = cJSON_ParseWithLength(b.data, b.len);
	CHECK(cJSON_IsObject(v));
	CHECK_INT_EQ(cJSON_GetArraySize(v), 7);
	CHECK_INT_EQ(
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(v, "obj"), "inner")
		->valueint,
	    1);
	cJSON_Delete(v);
	jbuf_free(&b);
}

/* ---- time ---- */

static void check_time(int64_t ns, const char *want, int line)
{
	char out[JSON_TIME_LEN + 2];

	memset(out, 'X', sizeof(out));
	json_format_time(ns, out);
	if (out[JSON_TIME_LEN] != '\0' || strcmp(out, want) != 0) {
		out[JSON_TIME_LEN + 1] = '\0';
		fprintf(stderr, "  line %d: %lld formatted as %s, expected %s\n", line,
			(long long)ns, out, want);
		testing_current_failed = 1;
	}
	if (out[JSON_TIME_LEN + 1] != 'X') {
		fprintf(stderr, "  line %d: wrote past JSON_TIME_LEN + 1 bytes\n", line);
		testing_current_failed = 1;
	}
}

#define TIME(ns, want) check_time(ns, want, __LINE__)
#define S	       1000000000LL

TEST(test_format_time_known)
{
	TIME(0, "1970-01-01T00:00:00.000000000Z");
	TIME(1, "1970-01-01T00:00:00.000000001Z");
	TIME(1795321353 * S + 896609438, "2026-11-22T04:22:33.896609438Z");
	/* leap days: 2024 (divisible by 4), 2000 (by 400); 2100 is not leap */
	TIME(1709251199 * S + 999999999, "2024-02-29T23:59:59.999999999Z");
	TIME(1709251199 * S + S, "2024-03-01T00:00:00.000000000Z");
	TIME(951782400 * S, "2000-02-29T00:00:00.000000000Z");
	TIME(4107542400 * S - S, "2100-02-28T23:59:59.000000000Z");
	TIME(4107542400 * S, "2100-03-01T00:00:00.000000000Z");
	/* before 1970 */
	TIME(-1, "1969-12-31T23:59:59.999999999Z");
	TIME(-S, "1969-12-31T23:59:59.000000000Z");
	TIME(-S - 1, "1969-12-31T23:59:58.999999999Z");
	TIME(-2208988800 * S, "1900-01-01T00:00:00.000000000Z");
	/* the ends of int64 ns: year 9999 is past what int64 ns can hold */
	TIME(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
	TIME(INT64_MIN, "1677-09-21T00:12:43.145224192Z");
}

TEST(test_format_time_against_gmtime)
{
	uint64_t state = 12345;

	for (int i = 0; i < 20000; i++) {
		int64_t ns, secs, frac;
		time_t tt;
		struct tm tm;
		char want[64];

		ns = (int64_t)next_random(&state);
		secs = ns / S;
		frac = ns % S;
		if (frac < 0) {
			frac += S;
			secs--;
		}
		tt = (time_t)secs;
		if (!gmtime_r(&tt, &tm))
			continue;
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (long long)frac);
		check_time(ns, want, __LINE__);
		if (testing_current_failed)
			break;
	}
}

/* The cached form gives what the plain one gives, whatever order the times
 * come in: the same second many times, the next second, back in time, across
 * days and before 1970. */
TEST(test_format_time_cached)
{
	static const int64_t known[] = {
	    1795321353 * S + 896609438,
	    1795321353 * S + 1,
	    1795321353 * S + 999999999,
	    1795321354 * S,
	    1795321353 * S,
	    1709251199 * S + 999999999,
	    1709251200 * S,
	    -1,
	    -S,
	    -S - 1,
	    0,
	    INT64_MAX,
	    INT64_MIN,
	    INT64_MIN + 1,
	    1795321353 * S + 896609438,
	};
	struct json_time_cache cache = {0};
	uint64_t state = 777;
	int64_t ns = 1795321353 * S;
	char want[JSON_TIME_LEN + 1], got[JSON_TIME_LEN + 2];

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		json_format_time(known[i], want);
		memset(got, 'X', sizeof(got));
		json_format_time_cached(&cache, known[i], got);
		CHECK_STR_EQ(got, want);
		CHECK(got[JSON_TIME_LEN + 1] == 'X');
	}
	/* log-like: mostly forward, a few ms at a time, sometimes back */
	for (int i = 0; i < 200000 && !testing_current_failed; i++) {
		uint64_t r = next_random(&state);
		ns += (int64_t)(r % 5000000) - (r % 97 == 0 ? 3 * S : 0);
		json_format_time(ns, want);
		json_format_time_cached(&cache, ns, got);
		CHECK_STR_EQ(got, want);
	}
}

int main(void)
{
	RUN(test_escape_specials);
	RUN(test_escape_valid_utf8);
	RUN(test_escape_invalid_bytes);
	RUN(test_escape_round_trip);
	RUN(test_escape_random);
	RUN(test_escape_same_as_reference_edges);
	RUN(test_escape_same_as_reference_random);
	RUN(test_escape_appends);
	RUN(test_jbuf_growth_and_reset);
	RUN(test_members);
	RUN(test_format_time_known);
	RUN(test_format_time_against_gmtime);
	RUN(test_format_time_cached);
	return testing_done();
}
