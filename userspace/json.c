/* json.c: see json.h. */
#include "json.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

void jbuf_init(struct jbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void jbuf_free(struct jbuf *b)
{
	free(b->data);
	jbuf_init(b);
}

void jbuf_reset(struct jbuf *b)
{
	b->len = 0;
	b->failed = false;
}

static bool jbuf_reserve(struct jbuf *b, size_t more)
{
	size_t cap;
	char *data;

	if (b->cap - b->len > more)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap - b->len <= more) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	data = realloc(b->data, cap);
	if (!data) {
		b->failed = true;
		return false;
	}
	b->data = data;
	b->cap = cap;
	return true;
}

void jbuf_append(struct jbuf *b, const void *data, size_t len)
{
	if (!jbuf_reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void jbuf_puts(struct jbuf *b, const char *s)
{
	jbuf_append(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (2-4) whose first byte is >= 0x80, or
 * 0 when it is not one (Unicode table 3-7: no overlong forms, no surrogates,
 * nothing past U+10FFFF, no sequence cut short by the end of the buffer). */
static inline size_t json_utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;

	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		if (avail < 3 || p[1] < lo || p[1] > hi)
			return 0;
		return (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		if (avail < 4 || p[1] < lo || p[1] > hi)
			return 0;
		return (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* Bytes that go out as they are on their own: printable ASCII (DEL included)
 * but '"' and '\\'. */
static inline bool json_plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

#define JSON_ONES  0x0101010101010101ULL
#define JSON_HIGHS 0x8080808080808080ULL

/* The 8 bytes at p as a number, the first one in the lowest bits whatever the
 * machine's byte order (compilers make this one load). */
static inline uint64_t json_load_le64(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
	       (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
	       (uint64_t)p[7] << 56;
}

/* The high bit of each byte of w (first byte lowest) that is not plain: a byte
 * >= 0x80, below 0x20 (w - 0x20 borrows), or '"' or '\\' (its XOR with that
 * byte, minus 1, borrows). A borrow runs into higher bytes only from a byte
 * that truly is not plain, so the mask is 0 only when all 8 bytes are plain,
 * and its lowest bit set marks the first byte that is not. */
static inline uint64_t json_not_plain_mask(uint64_t w)
{
	uint64_t quote = w ^ (JSON_ONES * '"'), backslash = w ^ (JSON_ONES * '\\');

	return (w | (w - JSON_ONES * 0x20) | (quote - JSON_ONES) | (backslash - JSON_ONES)) &
	       JSON_HIGHS;
}

/* The index (0-7) of the first byte marked in a nonzero mask of
 * json_not_plain_mask(): its lowest bit set, moved to bit 0 of byte k, times
 * 0x0001020304050607 puts k in the top byte. */
static inline size_t json_first_marked(uint64_t mask)
{
	uint64_t lowest = (mask & (~mask + 1)) >> 7;

	return (size_t)((lowest * 0x0001020304050607ULL) >> 56);
}

/* Copies the plain bytes (json_plain_byte) from p[i] to *out, up to the first
 * byte that is not or the end; returns its index. Whole blocks are stored,
 * so the room at *out must be at least len - i. */
static inline size_t json_copy_plain(const unsigned char *p, size_t len, size_t i, char **out)
{
	char *o = *out;
	size_t n;

#ifdef __SSE2__
	/* as signed bytes, those from 0x80 are below 0x20 too */
	const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
		      backslash = _mm_set1_epi8('\\');

	while (len - i >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		__m128i odd = _mm_or_si128(
		    _mm_cmplt_epi8(v, space),
		    _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
		unsigned mask = (unsigned)_mm_movemask_epi8(odd);

		_mm_storeu_si128((__m128i *)(void *)o, v);
		n = mask ? (size_t)__builtin_ctz(mask) : 16;
		o += n;
		i += n;
		if (mask) {
			*out = o;
			return i;
		}
	}
#endif
	for (;;) {
		if (len - i < 8) {
			while (i < len && json_plain_byte(p[i]))
				*o++ = (char)p[i++];
			break;
		}
		uint64_t mask = json_not_plain_mask(json_load_le64(p + i));
		memcpy(o, p + i, 8);
		n = mask ? json_first_marked(mask) : 8;
		o += n;
		i += n;
		if (mask)
			break;
	}
	*out = o;
	return i;
}

size_t jbuf_string(struct jbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t invalid = 0, i = 0;
	char *out;

	/* Room for the quotes, the NUL and every byte as it is. Each escape makes
	 * room for its extra bytes, so that this stays true for the rest of the
	 * input: the room left is always at least the bytes left plus 2, and
	 * bytes that go out as they are can be copied 8 at a time. */
	if (!jbuf_reserve(b, len + 2))
		return 0;
	out = b->data + b->len;
	*out++ = '"';
	while (i < len) {
		unsigned char c;
		size_t n, need;

		/* bytes that go out as they are, 16 or 8 at a time while as many
		 * are left */
		i = json_copy_plain(p, len, i, &out);
		if (i == len)
			break;
		c = p[i];
		if (c >= 0x80 && (n = json_utf8_len(p + i, len - i)) != 0) {
			/* valid sequences in a row, each copied as 4 bytes when 4 are
			 * left: the room is at least the bytes left plus 2 */
			do {
				if (len - i >= 4)
					memcpy(out, p + i, 4);
				else
					memcpy(out, p + i, n);
				out += n;
				i += n;
			} while (i < len && p[i] >= 0x80 &&
				 (n = json_utf8_len(p + i, len - i)) != 0);
			continue;
		}
		/* the escape, the rest of the input as it is, the quote and the NUL */
		need = 6 + (len - i - 1) + 1;
		b->len = (size_t)(out - b->data);
		if (b->cap - b->len <= need) {
			if (!jbuf_reserve(b, need))
				return invalid;
			out = b->data + b->len;
		}
		*out++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*out++ = (char)c;
			break;
		case '\n':
			*out++ = 'n';
			break;
		case '\t':
			*out++ = 't';
			break;
		case '\r':
			*out++ = 'r';
			break;
		default:
			memcpy(out, "u00", 3);
			out[3] = hex[c >> 4];
			out[4] = hex[c & 15];
			out += 5;
			if (c >= 0x80)
				invalid++;
		}
		i++;
	}
	*out++ = '"';
	*out = '\0';
	b->len = (size_t)(out - b->data);
	return invalid;
}

void jbuf_key(struct jbuf *b, const char *key)
{
	if (b->len > 0 && b->data[b->len - 1] != '{')
		jbuf_append(b, ",", 1);
	jbuf_string(b, key, strlen(key));
	jbuf_append(b, ":", 1);
}

void jbuf_member_str(struct jbuf *b, const char *key, const char *value)
{
	jbuf_member_strn(b, key, value, strlen(value));
}

void jbuf_member_strn(struct jbuf *b, const char *key, const char *value, size_t len)
{
	jbuf_key(b, key);
	jbuf_string(b, value, len);
}

void jbuf_int(struct jbuf *b, int64_t value)
{
	/* digits from the end; the magnitude as unsigned, so INT64_MIN works */
	char text[21], *p = text + sizeof(text);
	uint64_t v = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (value < 0)
		*--p = '-';
	jbuf_append(b, p, (size_t)(text + sizeof(text) - p));
}

void jbuf_member_int(struct jbuf *b, const char *key, int64_t value)
{
	jbuf_key(b, key);
	jbuf_int(b, value);
}

void jbuf_member_bool(struct jbuf *b, const char *key, bool value)
{
	jbuf_key(b, key);
	jbuf_puts(b, value ? "true" : "false");
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void json_civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Writes v as exactly n decimal digits, zero-padded. */
static void json_put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* "YYYY-MM-DDTHH:MM:SS" of secs since the epoch into p (19 bytes). */
static void json_format_seconds(int64_t secs, char *p)
{
	int64_t days = secs / 86400, rem = secs % 86400;
	int y;
	unsigned mo, d;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	/* int64 nanoseconds span the years 1677 to 2262: always four digits */
	json_civil_from_days(days, &y, &mo, &d);
	json_put_digits(p, (unsigned)y, 4);
	p[4] = '-';
	json_put_digits(p + 5, mo, 2);
	p[7] = '-';
	json_put_digits(p + 8, d, 2);
	p[10] = 'T';
	json_put_digits(p + 11, (unsigned)(rem / 3600), 2);
	p[13] = ':';
	json_put_digits(p + 14, (unsigned)(rem / 60 % 60), 2);
	p[16] = ':';
	json_put_digits(p + 17, (unsigned)(rem % 60), 2);
}

void json_format_time_cached(struct json_time_cache *cache, int64_t ns, char *out)
{
	int64_t secs = ns / 1000000000, frac = ns % 1000000000;

	if (frac < 0) {
		frac += 1000000000;
		secs--;
	}
	if (!cache->valid || cache->secs != secs) {
		json_format_seconds(secs, cache->prefix);
		cache->secs = secs;
		cache->valid = true;
	}
	memcpy(out, cache->prefix, sizeof(cache->prefix));
	out[19] = '.';
	json_put_digits(out + 20, (unsigned)frac, 9);
	out[29] = 'Z';
	out[JSON_TIME_LEN] = '\0';
}

void json_format_time(int64_t ns, char *out)
{
	struct json_time_cache cache = {0};

	json_format_time_cached(&cache, ns, out);
}
