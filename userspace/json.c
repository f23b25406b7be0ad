/* json.c: see json.h. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
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

void jbuf_printf(struct jbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !jbuf_reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when it is not one. */
static size_t json_utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0];
	size_t n;
	unsigned int cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (avail < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are not UTF-8 */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

size_t jbuf_string(struct jbuf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t invalid = 0, i = 0, run = 0;

	if (!jbuf_reserve(b, len + 2))
		return 0;
	b->data[b->len++] = '"';
	while (i < len) {
		unsigned char c = p[i];
		size_t n = json_utf8_len(p + i, len - i);
		char esc[6];
		size_t esc_len = 0;

		if (n > 1 || (n == 1 && c >= 0x20 && c != '"' && c != '\\')) {
			i += n;
			run += n;
			continue;
		}
		if (run) {
			jbuf_append(b, p + i - run, run);
			run = 0;
		}
		esc[0] = '\\';
		switch (c) {
		case '"':
		case '\\':
			esc[1] = (char)c;
			esc_len = 2;
			break;
		case '\n':
			esc[1] = 'n';
			esc_len = 2;
			break;
		case '\t':
			esc[1] = 't';
			esc_len = 2;
			break;
		case '\r':
			esc[1] = 'r';
			esc_len = 2;
			break;
		default:
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			esc_len = 6;
			if (n == 0)
				invalid++;
		}
		jbuf_append(b, esc, esc_len);
		i++;
	}
	if (run)
		jbuf_append(b, p + i - run, run);
	jbuf_append(b, "\"", 1);
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

void jbuf_member_int(struct jbuf *b, const char *key, int64_t value)
{
	jbuf_key(b, key);
	jbuf_printf(b, "%lld", (long long)value);
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

void json_format_time(int64_t ns, char *out)
{
	int64_t secs = ns / 1000000000, frac = ns % 1000000000;
	int64_t days, rem;
	int y;
	unsigned mo, d;

	if (frac < 0) {
		frac += 1000000000;
		secs--;
	}
	days = secs / 86400;
	rem = secs % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	/* int64 nanoseconds span the years 1677 to 2262: always four digits */
	json_civil_from_days(days, &y, &mo, &d);
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%04d-%02u-%02uT%02u:%02u:%02u.%09uZ", y, mo, d,
		 (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60),
		 (unsigned)frac);
	memcpy(out, tmp, JSON_TIME_LEN + 1);
}
