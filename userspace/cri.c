/* cri.c: parsing of CRI log lines and per-stream joining of partial lines.
 *
 * The parser is strict, like the kubelet's own reader: exactly one space
 * between fields, a stream of "stdout" or "stderr", and a tag field whose
 * first ':'-separated tag is "P" or "F" (later tags are accepted unread).
 * Input is untrusted bytes: nothing past len is read and the message is
 * handed back byte for byte (NUL, '\r', invalid UTF-8 included).
 *
 * Times are converted without the C library's time zone machinery: the
 * offset written in the line is applied and the civil date is counted in days
 * from 1970-01-01 in the proleptic Gregorian calendar.
 */
#include "cri.h"

#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CRI_NS_PER_SEC 1000000000LL

const char *cri_strerror(int err)
{
	switch (err) {
	case CRI_OK:
		return "no error";
	case CRI_ERR_TIME:
		return "malformed timestamp";
	case CRI_ERR_STREAM:
		return "missing or unknown stream";
	case CRI_ERR_FLAG:
		return "missing or unknown P/F tag";
	default:
		return "unknown error";
	}
}

/* The two decimal digits at p as a number, or -1. */
static int cri_two_digits(const char *p)
{
	unsigned hi = (unsigned)(unsigned char)p[0] - '0', lo = (unsigned)(unsigned char)p[1] - '0';

	return hi <= 9 && lo <= 9 ? (int)(hi * 10 + lo) : -1;
}

/* Reads exactly n decimal digits at s[*pos]; advances *pos. */
static int cri_digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
	int v = 0;

	if (len - *pos < (size_t)n)
		return -1;
	for (int i = 0; i < n; i++) {
		char c = s[*pos + (size_t)i];
		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*pos += (size_t)n;
	*out = v;
	return 0;
}

static int cri_expect(const char *s, size_t len, size_t *pos, char c)
{
	if (*pos >= len || s[*pos] != c)
		return -1;
	(*pos)++;
	return 0;
}

static bool cri_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int cri_days_in_month(int year, int month)
{
	static const unsigned char days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return days[month - 1] + (month == 2 && cri_is_leap(year));
}

/* Days from 1970-01-01 to year-month-day; year >= 1. */
static int64_t cri_days_from_civil(int year, int month, int day)
{
	static const short before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	int64_t py = year - 1;
	int64_t days = py * 365 + py / 4 - py / 100 + py / 400;

	days += before[month - 1] + (month > 2 && cri_is_leap(year)) + day - 1;
	return days - 719162; /* days from 0001-01-01 to 1970-01-01 */
}

/* Reads '.' and 1 to 9 digits, if present, as nanoseconds. */
static int cri_fraction(const char *s, size_t len, size_t *pos, int64_t *frac)
{
	int digits = 0;

	*frac = 0;
	if (*pos >= len || s[*pos] != '.')
		return 0;
	(*pos)++;
	if (len - *pos >= 9) {
		/* the common case, nine digits, without a branch per digit */
		unsigned bad = 0;
		int64_t v = 0;

		for (size_t i = 0; i < 9; i++) {
			unsigned d = (unsigned)(unsigned char)s[*pos + i] - '0';
			bad |= d > 9;
			v = v * 10 + d;
		}
		if (!bad) {
			*pos += 9;
			if (*pos < len && s[*pos] >= '0' && s[*pos] <= '9')
				return -1;
			*frac = v;
			return 0;
		}
	}
	while (*pos < len && s[*pos] >= '0' && s[*pos] <= '9') {
		if (++digits > 9)
			return -1;
		*frac = *frac * 10 + (s[*pos] - '0');
		(*pos)++;
	}
	if (digits == 0)
		return -1;
	for (; digits < 9; digits++)
		*frac *= 10;
	return 0;
}

/* Reads 'Z', 'z' or ±hh:mm as seconds east of UTC. */
static int cri_zone(const char *s, size_t len, size_t *pos, int64_t *offset)
{
	int sign, hh, mm;

	if (*pos >= len)
		return -1;
	switch (s[*pos]) {
	case 'Z':
	case 'z':
		(*pos)++;
		*offset = 0;
		return 0;
	case '+':
		sign = 1;
		break;
	case '-':
		sign = -1;
		break;
	default:
		return -1;
	}
	(*pos)++;
	if (cri_digits(s, len, pos, 2, &hh) || cri_expect(s, len, pos, ':') ||
	    cri_digits(s, len, pos, 2, &mm) || hh > 23 || mm > 59)
		return -1;
	*offset = sign * (hh * 3600 + mm * 60);
	return 0;
}

/* Fails when secs * 1e9 + frac does not fit an int64_t. */
static int cri_to_ns(int64_t secs, int64_t frac, int64_t *ns)
{
	if (secs >= 0) {
		if (secs > (INT64_MAX - frac) / CRI_NS_PER_SEC)
			return -1;
		*ns = secs * CRI_NS_PER_SEC + frac;
		return 0;
	}
	/* (secs + 1) * 1e9 cannot overflow once secs + 1 >= INT64_MIN / 1e9 */
	if (secs + 1 < INT64_MIN / CRI_NS_PER_SEC)
		return -1;
	int64_t base = (secs + 1) * CRI_NS_PER_SEC;
	if (base < INT64_MIN + (CRI_NS_PER_SEC - frac))
		return -1;
	*ns = base - (CRI_NS_PER_SEC - frac);
	return 0;
}

/* 't' and 'z' are accepted as RFC 3339 allows. A leap second (:60) is read as
 * :59 with its fraction, which keeps times in a file non-decreasing. Any
 * instant an int64_t of nanoseconds can hold is accepted (1677-09-21 to
 * 2262-04-11), including those before 1970. */
int cri_parse_time(const char *s, size_t len, int64_t *ns)
{
	size_t pos;
	int century, year, month, day, hour, min, sec;
	int64_t frac, offset;

	if (!s || !ns)
		return -EINVAL;
	/* "YYYY-MM-DDTHH:MM:SS" at fixed places, and at least a 'Z' after it */
	if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
	    s[13] != ':' || s[16] != ':')
		return -EINVAL;
	century = cri_two_digits(s);
	year = cri_two_digits(s + 2);
	month = cri_two_digits(s + 5);
	day = cri_two_digits(s + 8);
	hour = cri_two_digits(s + 11);
	min = cri_two_digits(s + 14);
	sec = cri_two_digits(s + 17);
	if (century < 0 || year < 0 || month < 0 || day < 0 || hour < 0 || min < 0 || sec < 0)
		return -EINVAL;
	year += century * 100;
	pos = 19;
	if (cri_fraction(s, len, &pos, &frac) || cri_zone(s, len, &pos, &offset) || pos != len)
		return -EINVAL;
	/* year 0 is out of range anyway, and excluding it keeps the day count simple */
	if (year < 1 || month < 1 || month > 12 || day < 1 ||
	    day > cri_days_in_month(year, month) || hour > 23 || min > 59 || sec > 60)
		return -EINVAL;
	if (sec == 60)
		sec = 59;
	int64_t secs =
	    cri_days_from_civil(year, month, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
	if (cri_to_ns(secs, frac, ns))
		return -EINVAL;
	return 0;
}

/* Length of the field starting at s[pos]: up to the next space or the end. */
static size_t cri_field_len(const char *s, size_t len, size_t pos)
{
	const char *sp = memchr(s + pos, ' ', len - pos);

	return sp ? (size_t)(sp - (s + pos)) : len - pos;
}

int cri_parse_line(const char *line, size_t len, struct cri_line *out)
{
	size_t pos = 0, n;
	int64_t time_ns;
	enum cri_stream stream;

	if (!line && len > 0)
		return CRI_ERR_TIME;
	if (!line)
		line = "";

	n = cri_field_len(line, len, pos);
	if (cri_parse_time(line, n, &time_ns))
		return CRI_ERR_TIME;
	pos += n;
	if (pos == len)
		return CRI_ERR_STREAM;
	pos++;

	/* a field of exactly 6 bytes: a space or the end follows */
	if (len - pos < 6 || (len - pos > 6 && line[pos + 6] != ' '))
		return CRI_ERR_STREAM;
	if (memcmp(line + pos, "stdout", 6) == 0)
		stream = CRI_STDOUT;
	else if (memcmp(line + pos, "stderr", 6) == 0)
		stream = CRI_STDERR;
	else
		return CRI_ERR_STREAM;
	pos += 6;
	if (pos == len)
		return CRI_ERR_FLAG;
	pos++;

	/* "P" or "F", alone or as the first of ':'-separated tags */
	if (pos == len || (line[pos] != 'P' && line[pos] != 'F'))
		return CRI_ERR_FLAG;
	if (pos + 1 == len || line[pos + 1] == ' ')
		n = 1;
	else if (line[pos + 1] == ':')
		n = cri_field_len(line, len, pos);
	else
		return CRI_ERR_FLAG;
	out->partial = line[pos] == 'P';
	pos += n;
	if (pos < len)
		pos++;

	out->time_ns = time_ns;
	out->stream = stream;
	out->msg = line + pos;
	out->msg_len = len - pos;
	return CRI_OK;
}

/* A max_size of 0 means no limit. */
static size_t cri_joiner_limit(const struct cri_joiner *j)
{
	return j->max_size ? j->max_size : SIZE_MAX;
}

void cri_joiner_init(struct cri_joiner *j, size_t max_size)
{
	*j = (struct cri_joiner){.max_size = max_size};
}

/* Makes room for need bytes (need <= limit) in the buffer of stream s. */
static int cri_joiner_reserve(struct cri_joiner *j, int s, size_t need)
{
	return buf_reserve(&j->stream[s].buf, &j->stream[s].cap, need, cri_joiner_limit(j));
}

static const char *cri_joiner_data(const struct cri_joiner *j, int s)
{
	return j->stream[s].buf ? j->stream[s].buf : "";
}

/* Pieces are emitted only once more bytes of the same message arrive, so a
 * message of exactly max_size bytes is one piece that is not truncated. All
 * pieces of a message carry the time of its first line. Without memory to
 * grow, the buffered bytes are emitted (truncated) to make room, or the new
 * bytes themselves when nothing is buffered; the stream stays open so later
 * lines keep the message's time. */
int cri_joiner_add(struct cri_joiner *j, enum cri_stream stream, int64_t time_ns, const char *msg,
		   size_t len, bool partial, cri_emit_fn emit, void *ctx)
{
	size_t limit = cri_joiner_limit(j);
	int s = (int)stream, rc = 0;

	if (s != CRI_STDOUT && s != CRI_STDERR)
		return -EINVAL;
	if (!j->stream[s].open) {
		j->stream[s].time_ns = time_ns;
		j->stream[s].len = 0;
	}
	while (len > 0) {
		size_t have = j->stream[s].len, n;

		if (have >= limit) {
			emit(ctx, stream, j->stream[s].time_ns, j->stream[s].buf, have, true);
			j->splits++;
			j->stream[s].len = have = 0;
		}
		if (have == 0 && len > limit) {
			emit(ctx, stream, j->stream[s].time_ns, msg, limit, true);
			j->splits++;
			msg += limit;
			len -= limit;
			continue;
		}
		if (have == 0 && !partial)
			break;
		n = len < limit - have ? len : limit - have;
		if (cri_joiner_reserve(j, s, have + n)) {
			rc = -ENOMEM;
			if (have > 0) {
				emit(ctx, stream, j->stream[s].time_ns, j->stream[s].buf, have,
				     true);
				j->stream[s].len = 0;
				continue;
			}
			emit(ctx, stream, j->stream[s].time_ns, msg, len, true);
			len = 0;
			break;
		}
		memcpy(j->stream[s].buf + have, msg, n);
		j->stream[s].len = have + n;
		msg += n;
		len -= n;
	}
	if (partial) {
		j->stream[s].open = true;
		return rc;
	}
	if (j->stream[s].len > 0)
		emit(ctx, stream, j->stream[s].time_ns, j->stream[s].buf, j->stream[s].len, false);
	else
		emit(ctx, stream, j->stream[s].time_ns, msg ? msg : "", len, false);
	j->stream[s].len = 0;
	j->stream[s].open = false;
	return rc;
}

void cri_joiner_flush(struct cri_joiner *j, cri_emit_fn emit, void *ctx)
{
	for (int s = CRI_STDOUT; s <= CRI_STDERR; s++) {
		if (!j->stream[s].open)
			continue;
		emit(ctx, (enum cri_stream)s, j->stream[s].time_ns, cri_joiner_data(j, s),
		     j->stream[s].len, false);
		j->stream[s].len = 0;
		j->stream[s].open = false;
	}
}

void cri_joiner_free(struct cri_joiner *j)
{
	for (int s = CRI_STDOUT; s <= CRI_STDERR; s++) {
		free(j->stream[s].buf);
		j->stream[s].buf = NULL;
		j->stream[s].len = 0;
		j->stream[s].cap = 0;
		j->stream[s].open = false;
	}
}
