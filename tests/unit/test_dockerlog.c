/* test_dockerlog.c: the docker json-file record parser on hand-made records,
 * on generated ones against the text they were made from, on our own data
 * (tests/data/docker/, always run) and, when the shared fixtures are present,
 * on the docker json-file cases other log collectors assert; and partial
 * records joined into one message by the CRI joiner.
 *
 * Our semantics: a record whose log lacks a trailing '\n' is partial (as
 * fluent-bit has it; Vector only joins records of exactly 16 KiB), the
 * message never keeps that '\n', and a record without a readable time is an
 * error (Alloy keeps it with the time it was read). Fixture expectations that
 * belong to another tool's behaviour are not asserted; they are counted as
 * skipped and the count is printed.
 */
#include "cri.h"
#include "dockerlog.h"
#include "testing.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdint.h>
#include <time.h>

#define DATA_DIR "tests/data/docker/"
#define L(s)	 s, sizeof(s) - 1

#define T0	  "2024-01-02T03:04:05.123456789Z"
#define T0_NS	  1704164645123456789LL
#define REC(log)  "{\"log\":\"" log "\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}"
#define MSG_CAP	  65536
#define PIECE_16K 16384
#define ERR_MIN	  DOCKERLOG_ERR_TRAILING /* the most negative error */

/* ---- helpers ---- */

/* Parses a copy of line in a heap block of exactly len bytes, so that
 * AddressSanitizer reports any read past len. */
static int parse_exact(const char *line, size_t len, char *buf, size_t cap,
		       struct dockerlog_record *r, bool *cut)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	if (!copy)
		return 1;
	if (len)
		memcpy(copy, line, len);
	rc = dockerlog_parse_line(copy, len, buf, cap, r, cut);
	free(copy);
	return rc;
}

static uint64_t rng_next(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 33;
}

/* ---- collecting what a joiner emits ---- */

static void sink_emit(void *ctx, enum cri_stream stream, int64_t time_ns, const char *msg,
		      size_t len, bool truncated)
{
	testing_msgs_add(ctx, (int)stream, time_ns, msg, len, truncated);
}

/* Parses one record and feeds it to j; the parser's result. */
static int feed_record(struct cri_joiner *j, const char *line, size_t len, char *msg,
		       struct testing_msgs *out)
{
	struct dockerlog_record r;
	bool cut = true;
	int rc = dockerlog_parse_line(line, len, msg, MSG_CAP, &r, &cut);

	if (rc != DOCKERLOG_OK)
		return rc;
	CHECK(!cut);
	CHECK_INT_EQ(
	    cri_joiner_add(j, r.stream, r.time_ns, msg, r.msg_len, r.partial, sink_emit, out), 0);
	return rc;
}

/* Feeds every '\n'-terminated line of buf (a last line without '\n' too) to
 * j, the parser's result for each line into errs (up to max_errs of them);
 * returns the number of lines. Lines that do not parse are left out. */
static size_t feed_lines(struct cri_joiner *j, const char *buf, size_t len,
			 struct testing_msgs *out, int *errs, size_t max_errs)
{
	char *msg = malloc(MSG_CAP);
	size_t lines = 0;

	if (!msg) {
		CHECK(msg != NULL);
		return 0;
	}
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
		int rc = feed_record(j, buf + pos, n, msg, out);

		if (lines < max_errs)
			errs[lines] = rc;
		lines++;
		pos += n + (nl != NULL);
	}
	free(msg);
	return lines;
}

static struct cri_joiner joiner_new(size_t max_size)
{
	struct cri_joiner j;

	cri_joiner_init(&j, max_size);
	return j;
}

/* ---- parsing records ---- */

TEST(parse_valid_records)
{
	static const struct {
		const char *line;
		size_t len;
		int64_t time_ns;
		enum cri_stream stream;
		bool partial;
		const char *msg;
		size_t msg_len;
	} cases[] = {
	    {L(REC("hello\\n")), T0_NS, CRI_STDOUT, false, L("hello")},
	    {L("{\"log\":\"oops\\n\",\"stream\":\"stderr\",\"time\":\"" T0 "\"}"), T0_NS,
	     CRI_STDERR, false, L("oops")},
	    {L(REC("no newline")), T0_NS, CRI_STDOUT, true, L("no newline")},
	    /* members in other orders */
	    {L("{\"time\":\"" T0 "\",\"stream\":\"stderr\",\"log\":\"t first\\n\"}"), T0_NS,
	     CRI_STDERR, false, L("t first")},
	    {L("{\"stream\":\"stdout\",\"log\":\"s first\",\"time\":\"" T0 "\"}"), T0_NS,
	     CRI_STDOUT, true, L("s first")},
	    /* attrs as dockerd writes them, and any other values skipped */
	    {L("{\"log\":\"a\\n\",\"stream\":\"stdout\",\"attrs\":{\"tag\":\"web\",\"env\":"
	       "\"prod\"},\"time\":\"" T0 "\"}"),
	     T0_NS, CRI_STDOUT, false, L("a")},
	    {L("{\"attrs\":{\"n\":[1,-2.5e+3,0,1E-2,0.5,-0,true,false,null,{\"x\":[]},[],{},"
	       "[[[\"log\"]]]],\"s\":\"q\\\"}]\\\\\",\"e\":{},\"u\":\"\\ud83d\"},\"log\":\"b\\n\","
	       "\"stream\":\"stdout\",\"time\":\"" T0 "\",\"z\":null,\"log2\":\"x\"}"),
	     T0_NS, CRI_STDOUT, false, L("b")},
	    {L("{\"Log\":1,\"LOG\":\"no\",\"log\":\"c\\n\",\"a-long-member-name\":\"v\",\"stream\""
	       ":\"stdout\",\"time\":\"" T0 "\"}"),
	     T0_NS, CRI_STDOUT, false, L("c")},
	    /* JSON whitespace anywhere between tokens, and around the object */
	    {L(" \t{ \"log\" :\r\n\"ws\\n\" ,\t\"stream\":\"stdout\" , \"time\" : \"" T0 "\" } \r"),
	     T0_NS, CRI_STDOUT, false, L("ws")},
	    /* empty messages */
	    {L(REC("")), T0_NS, CRI_STDOUT, true, L("")},
	    {L(REC("\\n")), T0_NS, CRI_STDOUT, false, L("")},
	    /* only the last '\n' goes; '\r' stays */
	    {L(REC("crlf\\r\\n")), T0_NS, CRI_STDOUT, false, L("crlf\r")},
	    {L(REC("a\\r\\nb\\r\\n")), T0_NS, CRI_STDOUT, false, L("a\r\nb\r")},
	    {L(REC("\\r\\n")), T0_NS, CRI_STDOUT, false, L("\r")},
	    {L(REC("two\\n\\n")), T0_NS, CRI_STDOUT, false, L("two\n")},
	    {L(REC("mid\\nline")), T0_NS, CRI_STDOUT, true, L("mid\nline")},
	    /* raw control bytes, NUL, a raw newline and invalid UTF-8 are copied */
	    {L(REC("raw\ttab\x01\x1b[0m\x7f\\n")), T0_NS, CRI_STDOUT, false,
	     L("raw\ttab\x01\x1b[0m\x7f")},
	    {L(REC("nul\0byte\\n")), T0_NS, CRI_STDOUT, false, L("nul\0byte")},
	    {L(REC("raw newline\n")), T0_NS, CRI_STDOUT, false, L("raw newline")},
	    {L(REC("\xc3\xa9t\xc3\xa9 \xff\xfe\xc3\x28 \xe2\x82")), T0_NS, CRI_STDOUT, true,
	     L("\xc3\xa9t\xc3\xa9 \xff\xfe\xc3\x28 \xe2\x82")},
	    /* a repeated member: the last counts */
	    {L("{\"log\":\"first\\n\",\"log\":\"second\",\"stream\":\"stderr\",\"stream\":"
	       "\"stdout\",\"time\":\"2000-01-01T00:00:00Z\",\"time\":\"" T0 "\"}"),
	     T0_NS, CRI_STDOUT, true, L("second")},
	    {L("{\"log\":\"a much longer first value\\n\",\"log\":\"x\\n\",\"stream\":"
	       "\"stdout\",\"time\":\"" T0 "\"}"),
	     T0_NS, CRI_STDOUT, false, L("x")},
	    /* escaped member names and values are read unescaped */
	    {L("{\"\\u006cog\":\"k\\n\",\"str\\u0065am\":\"std\\u0065rr\",\"tim\\u0065\":"
	       "\"2024\\u002d01-02T03:04:05.123456789\\u005a\"}"),
	     T0_NS, CRI_STDERR, false, L("k")},
	    /* times as RFC 3339 allows them */
	    {L("{\"log\":\"z\",\"stream\":\"stdout\",\"time\":\"2024-01-02t03:04:05.123456789z\"}"),
	     T0_NS, CRI_STDOUT, true, L("z")},
	    {L("{\"log\":\"o\",\"stream\":\"stdout\",\"time\":\"2024-01-02T08:34:05.123456789+05:"
	       "30\"}"),
	     T0_NS, CRI_STDOUT, true, L("o")},
	    {L("{\"log\":\"s\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05Z\"}"),
	     1704164645000000000LL, CRI_STDOUT, true, L("s")},
	    {L("{\"log\":\"f\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05.1Z\"}"),
	     1704164645100000000LL, CRI_STDOUT, true, L("f")},
	    {L("{\"log\":\"e\",\"stream\":\"stdout\",\"time\":\"1969-12-31T23:59:59.5Z\"}"),
	     -500000000LL, CRI_STDOUT, true, L("e")},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];
		struct dockerlog_record r;
		bool cut = true;
		int rc = parse_exact(cases[i].line, cases[i].len, buf, sizeof(buf), &r, &cut);

		CHECK_INT_EQ(rc, DOCKERLOG_OK);
		if (rc != DOCKERLOG_OK) {
			fprintf(stderr, "  case %zu: %s\n", i, dockerlog_strerror(rc));
			continue;
		}
		CHECK_INT_EQ(r.time_ns, cases[i].time_ns);
		CHECK_INT_EQ(r.stream, cases[i].stream);
		CHECK_INT_EQ(r.partial, cases[i].partial);
		CHECK_MEM_EQ(buf, r.msg_len, cases[i].msg, cases[i].msg_len);
		CHECK(!cut);
	}
}

/* The "log" string's body, between its quotes, against the bytes it stands for. */
TEST(parse_unescapes)
{
	static const struct {
		const char *body;
		const char *want; /* the unescaped value, trailing '\n' included */
		size_t want_len;
	} cases[] = {
	    {"\\\"", L("\"")},
	    {"\\\\", L("\\")},
	    {"\\/", L("/")},
	    {"\\b\\f\\n\\r\\t", L("\b\f\n\r\t")},
	    {"a\\\"b\\\\c\\/d", L("a\"b\\c/d")},
	    {"\\\\n", L("\\n")},
	    {"\\\\\\\"", L("\\\"")},
	    {"\\u0041\\u007a", L("Az")},
	    {"\\u0000", L("\0")},
	    {"\\u001b[0m", L("\x1b[0m")},
	    {"\\u007f\\u0080", L("\x7f\xc2\x80")},
	    {"\\u00e9\\u00E9\\u00C9", L("\xc3\xa9\xc3\xa9\xc3\x89")},
	    {"\\u07ff\\u0800", L("\xdf\xbf\xe0\xa0\x80")},
	    {"\\u20ac", L("\xe2\x82\xac")},
	    {"\\uffff", L("\xef\xbf\xbf")},
	    {"\\u003cb\\u003e \\u0026", L("<b> &")},
	    {"\\u2028", L("\xe2\x80\xa8")},
	    /* surrogate pairs */
	    {"\\ud83d\\ude00", L("\xf0\x9f\x98\x80")},
	    {"\\uD83D\\uDE00", L("\xf0\x9f\x98\x80")},
	    {"\\ud800\\udc00", L("\xf0\x90\x80\x80")},
	    {"\\udbff\\udfff", L("\xf4\x8f\xbf\xbf")},
	    {"x\\ud83d\\ude00y\\ud83d\\ude01z", L("x\xf0\x9f\x98\x80y\xf0\x9f\x98\x81z")},
	    /* lone surrogates become U+FFFD */
	    {"\\ud800", L("\xef\xbf\xbd")},
	    {"\\ud800x", L("\xef\xbf\xbdx")},
	    {"\\udc00", L("\xef\xbf\xbd")},
	    {"\\udfff!", L("\xef\xbf\xbd!")},
	    {"\\ude00\\ud83d", L("\xef\xbf\xbd\xef\xbf\xbd")},
	    {"\\ud83d\\ud83d\\ude00", L("\xef\xbf\xbd\xf0\x9f\x98\x80")},
	    {"\\ud83d\\u0041", L("\xef\xbf\xbd"
				 "A")},
	    {"\\ud83d\\n", L("\xef\xbf\xbd\n")},
	    {"\\ud83d\\\\ude00", L("\xef\xbf\xbd\\ude00")},
	    {"\\ud83d\\ude00\\ude00", L("\xf0\x9f\x98\x80\xef\xbf\xbd")},
	    /* a '\n' written as \u000a ends the message too */
	    {"end\\u000a", L("end\n")},
	    {"end\\u000A\\u000a", L("end\n\n")},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char line[256], buf[64];
		struct dockerlog_record r;
		bool cut = true;
		int n = snprintf(line, sizeof(line),
				 "{\"log\":\"%s\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}",
				 cases[i].body);
		int rc = parse_exact(line, (size_t)n, buf, sizeof(buf), &r, &cut);
		bool nl = cases[i].want[cases[i].want_len - 1] == '\n';

		if (rc != DOCKERLOG_OK)
			fprintf(stderr, "  case %zu: %s: %s\n", i, cases[i].body,
				dockerlog_strerror(rc));
		CHECK_INT_EQ(rc, DOCKERLOG_OK);
		if (rc != DOCKERLOG_OK)
			continue;
		CHECK_INT_EQ(r.partial, !nl);
		CHECK_MEM_EQ(buf, r.msg_len, cases[i].want, cases[i].want_len - nl);
		CHECK(!cut);
	}
}

TEST(parse_rejects_bad_records)
{
	static const struct {
		const char *line;
		size_t len;
		int err;
	} cases[] = {
	    /* not an object, or not well-formed JSON */
	    {L(""), DOCKERLOG_ERR_OBJECT},
	    {L("   "), DOCKERLOG_ERR_OBJECT},
	    {L("hello world"), DOCKERLOG_ERR_OBJECT},
	    {L("123"), DOCKERLOG_ERR_OBJECT},
	    {L("[]"), DOCKERLOG_ERR_OBJECT},
	    {L("\"log\""), DOCKERLOG_ERR_OBJECT},
	    {L("null"), DOCKERLOG_ERR_OBJECT},
	    {L(T0 " stdout F a CRI line"), DOCKERLOG_ERR_OBJECT},
	    {L("{"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\""), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":\"x\\n\""), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":\"x\\n\","), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":\"unterminated"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":\"ends in an escaped quote\\\"}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\" \"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":\"x\" \"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\",}"), DOCKERLOG_ERR_OBJECT},
	    {L("{,\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_OBJECT},
	    {L("{log:\"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_OBJECT},
	    {L("{'log':'x'}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":\"x\";\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\"]"), DOCKERLOG_ERR_OBJECT},
	    {L("\0{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}"),
	     DOCKERLOG_ERR_OBJECT},
	    /* a skipped member's value must be JSON too */
	    {L("{\"attrs\":tru,\"log\":\"x\"}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":True}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":nul}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":01}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":-}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":+1}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":1.}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":.5}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":1e}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":1e+}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":0x10}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":[1,]}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":[,1]}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":[1 2]}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":[1x2]}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":{\"a\":1;\"b\":2}}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":[}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":[1}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":{\"a\":1]}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":{\"a\"}}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":{\"a\":}}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":{\"a\":1,}}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":{a:1}}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":{1:1}}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":\"unterminated}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":}"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"attrs\":{\"a\":[{\"b\":[]}"), DOCKERLOG_ERR_OBJECT},
	    /* not a log record */
	    {L("{}"), DOCKERLOG_ERR_LOG},
	    {L("{ }"), DOCKERLOG_ERR_LOG},
	    {L("{\"msg\": \"test\"}"), DOCKERLOG_ERR_LOG},
	    {L("{\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_LOG},
	    {L("{\"Log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_LOG},
	    {L("{\"log\":123,\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_LOG},
	    {L("{\"log\":null,\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_LOG},
	    {L("{\"log\":[\"x\"],\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_LOG},
	    {L("{\"log\":{},\"stream\":\"stdout\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_LOG},
	    /* the first problem from left to right, missing members last */
	    {L("{\"log\":1}garbage"), DOCKERLOG_ERR_LOG},
	    {L("{\"stream\":\"stdin\",\"log\":1}"), DOCKERLOG_ERR_STREAM},
	    {L("{\"time\":\"\",\"log\":\"x\\q\"}"), DOCKERLOG_ERR_TIME},
	    {L("{\"a\":1} x"), DOCKERLOG_ERR_TRAILING},
	    {L("{\"log\":\"x\"}"), DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\"}"), DOCKERLOG_ERR_TIME},
	    {L("{\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_LOG},
	    /* stream */
	    {L("{\"log\":\"x\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":\"stdin\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":\"STDOUT\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":\"\",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":\"stdout \",\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\\u0000\",\"time\":\"" T0 "\"}"),
	     DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":\"stdoutstdout\",\"time\":\"" T0 "\"}"),
	     DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":1,\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_STREAM},
	    {L("{\"log\":\"x\",\"stream\":null,\"time\":\"" T0 "\"}"), DOCKERLOG_ERR_STREAM},
	    /* time */
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":123}"), DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"\"}"), DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"qwerty\"}"), DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05\"}"),
	     DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-13-02T03:04:05Z\"}"),
	     DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2023-02-29T03:04:05Z\"}"),
	     DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05."
	       "1234567891Z\"}"),
	     DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\" " T0 "\"}"), DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 " \"}"), DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 T0 "\"}"), DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:05.000000000000"
	       "0000000000000000000000000000000Z\"}"),
	     DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"9999-12-31T23:59:59Z\"}"),
	     DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":[\"" T0 "\"]}"), DOCKERLOG_ERR_TIME},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\",\"time\":\"hi!\"}"),
	     DOCKERLOG_ERR_TIME},
	    /* escapes, in any string */
	    {L(REC("bad \\x escape")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\a")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\U0041")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\u12")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\u12G4")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\u-123")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\u")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\ud83d\\u12")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\ud83d\\uZZZZ")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\\xc3\xa9")), DOCKERLOG_ERR_ESCAPE},
	    {L(REC("\\\n")), DOCKERLOG_ERR_ESCAPE},
	    {L("{\"log\":\"x\\"), DOCKERLOG_ERR_OBJECT}, /* the string never ends */
	    {L("{\"log\":\"x\\u00"), DOCKERLOG_ERR_OBJECT},
	    {L("{\"l\\og\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0 "\"}"),
	     DOCKERLOG_ERR_ESCAPE},
	    {L("{\"attrs\":{\"k\":\"bad \\z\"},\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0
	       "\"}"),
	     DOCKERLOG_ERR_ESCAPE},
	    {L("{\"attrs\":[[{\"k\\x\":1}]],\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"" T0
	       "\"}"),
	     DOCKERLOG_ERR_ESCAPE},
	    {L("{\"log\":\"x\",\"stream\":\"std\\out\",\"time\":\"" T0 "\"}"),
	     DOCKERLOG_ERR_ESCAPE},
	    {L("{\"log\":\"x\",\"stream\":\"stdout\",\"time\":\"\\" T0 "\"}"),
	     DOCKERLOG_ERR_ESCAPE},
	    /* trailing bytes */
	    {L(REC("x") "x"), DOCKERLOG_ERR_TRAILING},
	    {L(REC("x") "}"), DOCKERLOG_ERR_TRAILING},
	    {L(REC("x") ","), DOCKERLOG_ERR_TRAILING},
	    {L(REC("x") " \0"), DOCKERLOG_ERR_TRAILING},
	    {L(REC("one\\n") REC("two\\n")), DOCKERLOG_ERR_TRAILING},
	    {L(REC("x") "\n" REC("y")), DOCKERLOG_ERR_TRAILING},
	    {L("{}{}"), DOCKERLOG_ERR_TRAILING},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dockerlog_record r = {.time_ns = 42, .msg_len = 7};
		char buf[64];
		bool cut = true;
		int rc = parse_exact(cases[i].line, cases[i].len, buf, sizeof(buf), &r, &cut);

		if (rc != cases[i].err)
			fprintf(stderr, "  case %zu: %.*s: %s\n", i, (int)cases[i].len,
				cases[i].line, dockerlog_strerror(rc));
		CHECK_INT_EQ(rc, cases[i].err);
		/* a failed parse leaves the record and the cut flag alone */
		CHECK_INT_EQ(r.time_ns, 42);
		CHECK_INT_EQ(r.msg_len, 7);
		CHECK(cut);
	}
	CHECK_INT_EQ(dockerlog_parse_line(NULL, 0, NULL, 0, &(struct dockerlog_record){0}, NULL),
		     DOCKERLOG_ERR_OBJECT);
	CHECK_INT_EQ(dockerlog_parse_line(NULL, 5, NULL, 0, &(struct dockerlog_record){0}, NULL),
		     DOCKERLOG_ERR_OBJECT);

	/* each error has its own reason */
	for (int a = ERR_MIN; a <= DOCKERLOG_OK; a++) {
		CHECK(strcmp(dockerlog_strerror(a), dockerlog_strerror(1)) != 0);
		for (int b = ERR_MIN; b < a; b++)
			CHECK(strcmp(dockerlog_strerror(a), dockerlog_strerror(b)) != 0);
	}
	CHECK_STR_EQ(dockerlog_strerror(DOCKERLOG_ERR_STREAM), "missing or unknown stream");
	CHECK_STR_EQ(dockerlog_strerror(-100), "unknown error");
}

/* Nesting in a skipped value: 64 levels are read, 65 refused. */
TEST(parse_skips_deep_values)
{
	for (int depth = 1; depth <= 66; depth++) {
		char line[512];
		size_t n = 0;
		struct dockerlog_record r;
		char buf[8];

		n += (size_t)snprintf(line + n, sizeof(line) - n, "{\"attrs\":");
		for (int d = 0; d < depth; d++) {
			if (d % 2) {
				line[n++] = '[';
			} else {
				n += (size_t)snprintf(line + n, sizeof(line) - n, "{\"k\":");
			}
		}
		line[n++] = '1';
		for (int d = depth - 1; d >= 0; d--)
			line[n++] = d % 2 ? ']' : '}';
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      ",\"log\":\"deep\",\"stream\":\"stdout\",\"time\":\"" T0
				      "\"}");
		int rc = parse_exact(line, n, buf, sizeof(buf), &r, NULL);

		CHECK_INT_EQ(rc, depth <= 64 ? DOCKERLOG_OK : DOCKERLOG_ERR_OBJECT);
		if (rc == DOCKERLOG_OK)
			CHECK_MEM_EQ(buf, r.msg_len, "deep", (size_t)4);
	}
	/* much deeper than the limit, and never closed: refused, not a crash */
	size_t n = 100000;
	char *line = malloc(n);
	if (!line) {
		CHECK(line != NULL);
		return;
	}
	memset(line, '[', n);
	line[0] = '{';
	line[1] = '"';
	line[2] = 'a';
	line[3] = '"';
	line[4] = ':';
	CHECK_INT_EQ(parse_exact(line, n, NULL, 0, &(struct dockerlog_record){0}, NULL),
		     DOCKERLOG_ERR_OBJECT);
	free(line);
}

/* Every proper prefix of a record is parsed from a heap block of exactly
 * that size: it is refused (no prefix is a complete object) and
 * AddressSanitizer reports any read past len. */
TEST(parse_never_reads_past_len)
{
	static const char *const lines[] = {
	    REC("hello\\n"),
	    "{\"log\":\"esc \\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 "
	    "\\ud800\",\"stream\":"
	    "\"stderr\",\"attrs\":{\"a\":[1,-2.5e-3,true,false,null,{\"b\":\"c\\u0041\"}]},"
	    "\"time\":\"2024-01-02T08:34:05.123456789+05:30\"}",
	    "{ \"time\" : \"" T0 "\" , \"stream\" : \"stdout\" , \"log\" : \"\" }",
	};

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		size_t n = strlen(lines[i]);

		for (size_t k = 0; k <= n; k++) {
			struct dockerlog_record r;
			char buf[64];
			int rc = parse_exact(lines[i], k, buf, sizeof(buf), &r, NULL);

			if (k == n) {
				CHECK_INT_EQ(rc, DOCKERLOG_OK);
			} else if (rc >= DOCKERLOG_OK || rc < ERR_MIN) {
				fprintf(stderr, "  line %zu, prefix %zu: %d\n", i, k, rc);
				CHECK(0);
			}
		}
	}
}

/* A message longer than the buffer: its first cap bytes, *cut set, and not
 * a byte written past cap. */
TEST(parse_cuts_at_cap)
{
	static const struct {
		const char *line;
		const char *msg; /* the whole message */
		size_t msg_len;
		bool partial;
	} cases[] = {
	    {REC("0123456789\\n"), L("0123456789"), false},
	    {REC("0123456789"), L("0123456789"), true},
	    {REC("\\u00e9\\u20ac\\ud83d\\ude00\\n"), L("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
	     false},
	    {REC("a\\\"b\\\\c\\n\\n"), L("a\"b\\c\n"), false},
	    {REC(""), L(""), true},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t cap = 0; cap <= cases[i].msg_len + 2; cap++) {
			char buf[32];
			struct dockerlog_record r = {0};
			bool cut = !(cases[i].msg_len > cap);
			size_t want = cases[i].msg_len < cap ? cases[i].msg_len : cap;

			memset(buf, '#', sizeof(buf));
			int rc =
			    parse_exact(cases[i].line, strlen(cases[i].line), buf, cap, &r, &cut);
			CHECK_INT_EQ(rc, DOCKERLOG_OK);
			CHECK_INT_EQ(r.msg_len, want);
			CHECK_INT_EQ(cut, cases[i].msg_len > cap);
			CHECK_INT_EQ(r.partial, cases[i].partial);
			CHECK_MEM_EQ(buf, r.msg_len, cases[i].msg, want);
			for (size_t k = cap; k < sizeof(buf); k++)
				CHECK(buf[k] == '#');
		}
	}

	/* no buffer at all: the record is still read, cut or not */
	struct dockerlog_record r = {0};
	bool cut = false;
	CHECK_INT_EQ(parse_exact(L(REC("abc\\n")), NULL, 0, &r, &cut), DOCKERLOG_OK);
	CHECK(cut && r.msg_len == 0 && !r.partial && r.time_ns == T0_NS);
	CHECK_INT_EQ(parse_exact(L(REC("\\n")), NULL, 0, &r, &cut), DOCKERLOG_OK);
	CHECK(!cut && r.msg_len == 0);
	/* cut may be NULL */
	char buf[4];
	CHECK_INT_EQ(parse_exact(L(REC("abcdef\\n")), buf, sizeof(buf), &r, NULL), DOCKERLOG_OK);
	CHECK_MEM_EQ(buf, r.msg_len, "abcd", (size_t)4);
}

/* ---- generated records against the text they were made from ---- */

struct gen {
	uint64_t rng;
	char json[8192];
	size_t jlen;
	char text[2048]; /* the unescaped log value */
	size_t tlen;
};

static void gen_put(struct gen *g, const char *s, size_t n)
{
	if (g->jlen + n <= sizeof(g->json)) {
		memcpy(g->json + g->jlen, s, n);
		g->jlen += n;
	}
}

static void gen_puts(struct gen *g, const char *s)
{
	gen_put(g, s, strlen(s));
}

static void gen_ws(struct gen *g)
{
	static const char ws[] = " \t\r\n";

	for (uint64_t n = rng_next(&g->rng) % 3; n > 0; n--)
		gen_put(g, &ws[rng_next(&g->rng) % 4], 1);
}

static void gen_u16(struct gen *g, unsigned v)
{
	char e[8];

	snprintf(e, sizeof(e), rng_next(&g->rng) % 2 ? "\\u%04x" : "\\u%04X", v);
	gen_put(g, e, 6);
}

static size_t gen_utf8(unsigned cp, char *u)
{
	if (cp < 0x80) {
		u[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		u[0] = (char)(0xc0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		u[0] = (char)(0xe0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	u[0] = (char)(0xf0 | cp >> 18);
	u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	u[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One character of the log value, written in one of the ways JSON allows
 * (raw control bytes included, which the parser tolerates). */
static void gen_char(struct gen *g)
{
	static const char shorts[] = "\b\f\n\r\t\"\\/";
	static const char short_esc[] = "bfnrt\"\\/";
	uint64_t kind = rng_next(&g->rng) % 10;
	unsigned cp;
	char u[4];
	size_t n;

	if (kind == 0)
		cp = (unsigned)(rng_next(&g->rng) % 0x20);
	else if (kind == 1)
		cp = (unsigned char)shorts[rng_next(&g->rng) % 8];
	else if (kind < 6)
		cp = 0x20 + (unsigned)(rng_next(&g->rng) % 0x60);
	else if (kind == 6)
		cp = 0x80 + (unsigned)(rng_next(&g->rng) % 0x780);
	else if (kind == 7)
		cp = 0x800 + (unsigned)(rng_next(&g->rng) % 0xd000);
	else if (kind == 8)
		cp = 0xe000 + (unsigned)(rng_next(&g->rng) % 0x2000);
	else
		cp = 0x10000 + (unsigned)(rng_next(&g->rng) % 0x100000);
	n = gen_utf8(cp, u);
	if (g->tlen + n > sizeof(g->text))
		return;
	memcpy(g->text + g->tlen, u, n);
	g->tlen += n;

	/* how: 1 as \u escapes, 0 as a short escape if there is one, else raw */
	const char *sh = cp && cp < 0x80 ? strchr(shorts, (int)cp) : NULL;
	uint64_t how = rng_next(&g->rng) % 3;
	if (how == 1 && cp >= 0x10000) {
		gen_u16(g, 0xd800 + ((cp - 0x10000) >> 10));
		gen_u16(g, 0xdc00 + ((cp - 0x10000) & 0x3ff));
	} else if (how == 1) {
		gen_u16(g, cp);
	} else if (sh && (how == 0 || cp == '"' || cp == '\\')) {
		char e[2] = {'\\', short_esc[sh - shorts]};
		gen_put(g, e, 2);
	} else {
		gen_put(g, u, n);
	}
}

/* A JSON value of any kind, for a member the parser skips. */
static void gen_value(struct gen *g, int depth)
{
	static const char *const scalars[] = {"0",    "-1",	     "3.25",	   "-0.5e+10",
					      "1E3",  "true",	     "false",	   "null",
					      "\"\"", "\"s\\\"]}\"", "\"\\u0041\""};
	uint64_t kind = rng_next(&g->rng) % (depth < 3 ? 4 : 2);

	if (kind < 2) {
		gen_puts(g, scalars[rng_next(&g->rng) % 11]);
		return;
	}
	bool obj = kind == 2;
	uint64_t n = rng_next(&g->rng) % 4;
	gen_puts(g, obj ? "{" : "[");
	for (uint64_t i = 0; i < n; i++) {
		if (i)
			gen_puts(g, ",");
		gen_ws(g);
		if (obj) {
			gen_puts(g, rng_next(&g->rng) % 2 ? "\"log\"" : "\"k\"");
			gen_ws(g);
			gen_puts(g, ":");
			gen_ws(g);
		}
		gen_value(g, depth + 1);
		gen_ws(g);
	}
	gen_puts(g, obj ? "}" : "]");
}

/* Random text written in random ways, members in random order with unknown
 * members among them; the parse must give back the text, the stream and the
 * time, and cut it right at a random cap. */
TEST(parse_matches_generated_records)
{
	struct gen *g = calloc(1, sizeof(*g));
	char *buf = malloc(sizeof(g->text));

	if (!g || !buf) {
		CHECK(g && buf);
		free(g);
		free(buf);
		return;
	}
	g->rng = 12345;
	for (int round = 0; round < 3000; round++) {
		int64_t secs = (int64_t)(rng_next(&g->rng) % 7258118400ULL); /* to 2200 */
		int64_t frac = (int64_t)(rng_next(&g->rng) % 1000000000);
		enum cri_stream stream = (enum cri_stream)(rng_next(&g->rng) % 2);
		time_t t = (time_t)secs;
		struct tm tm;
		char when[64];
		int order[5] = {0, 1, 2, 3, 4}, members = 3 + (int)(rng_next(&g->rng) % 3);

		gmtime_r(&t, &tm);
		strftime(when, 32, "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(when + strlen(when), 32, ".%09lldZ", (long long)frac);
		for (int i = members - 1; i > 0; i--) {
			int k = (int)(rng_next(&g->rng) % (uint64_t)(i + 1)), tmp = order[i];
			order[i] = order[k];
			order[k] = tmp;
		}

		g->jlen = g->tlen = 0;
		gen_ws(g);
		gen_puts(g, "{");
		for (int m = 0; m < members; m++) {
			if (m)
				gen_puts(g, ",");
			gen_ws(g);
			switch (order[m]) {
			case 0: {
				uint64_t n = rng_next(&g->rng) % 60;
				gen_puts(g, "\"log\":");
				gen_ws(g);
				gen_puts(g, "\"");
				for (uint64_t c = 0; c < n; c++)
					gen_char(g);
				gen_puts(g, "\"");
				break;
			}
			case 1:
				gen_puts(g, stream == CRI_STDOUT ? "\"stream\":\"stdout\""
								 : "\"stream\":\"stderr\"");
				break;
			case 2:
				gen_puts(g, "\"time\":\"");
				gen_puts(g, when);
				gen_puts(g, "\"");
				break;
			default:
				gen_puts(g, order[m] == 3 ? "\"attrs\"" : "\"other\"");
				gen_ws(g);
				gen_puts(g, ":");
				gen_ws(g);
				gen_value(g, 0);
				break;
			}
			gen_ws(g);
		}
		gen_puts(g, "}");
		gen_ws(g);

		bool nl = g->tlen > 0 && g->text[g->tlen - 1] == '\n';
		size_t msg_len = g->tlen - nl;
		size_t cap = rng_next(&g->rng) % 4 ? sizeof(g->text)
						   : (size_t)(rng_next(&g->rng) % (msg_len + 2));
		struct dockerlog_record r;
		bool cut = false;
		int rc = parse_exact(g->json, g->jlen, buf, cap, &r, &cut);
		size_t want = msg_len < cap ? msg_len : cap;
		bool ok = rc == DOCKERLOG_OK && r.time_ns == secs * 1000000000LL + frac &&
			  r.stream == stream && r.partial == !nl && r.msg_len == want &&
			  cut == (msg_len > cap) && memcmp(buf, g->text, want) == 0;

		if (!ok) {
			fprintf(stderr, "  round %d (rc %d, cap %zu): %.*s\n", round, rc, cap,
				(int)g->jlen, g->json);
			CHECK(0);
			break;
		}
	}
	free(buf);
	free(g);
}

/* Valid records with bytes changed, dropped or cut off: any result but a
 * crash, a read past len or a message longer than the buffer. */
TEST(parse_survives_mutations)
{
	static const char *const seeds[] = {
	    REC("hello \\u00e9 \\ud83d\\ude00 \\\"q\\\"\\n"),
	    "{\"log\":\"a\",\"stream\":\"stderr\",\"attrs\":{\"x\":[1,2.5e3,true,null,{\"y\":\"z\"}"
	    "]},"
	    "\"time\":\"" T0 "\"}",
	};
	static const char bytes[] = "{}[]\",:\\u0e1 \n\xff";
	uint64_t rng = 99;
	int accepted = 0;

	for (int round = 0; round < 20000; round++) {
		const char *seed = seeds[round % 2];
		char line[512], buf[16];
		size_t n = strlen(seed);
		struct dockerlog_record r = {0};
		bool cut = false;

		memcpy(line, seed, n);
		for (uint64_t k = 1 + rng_next(&rng) % 3; k > 0 && n > 0; k--) {
			size_t at = (size_t)(rng_next(&rng) % n);
			switch (rng_next(&rng) % 3) {
			case 0:
				line[at] = bytes[rng_next(&rng) % (sizeof(bytes) - 1)];
				break;
			case 1:
				memmove(line + at, line + at + 1, n - at - 1);
				n--;
				break;
			default:
				n = at + 1;
				break;
			}
		}
		int rc = parse_exact(line, n, buf, sizeof(buf), &r, &cut);
		if (rc < ERR_MIN || rc > DOCKERLOG_OK || (rc == DOCKERLOG_OK && r.msg_len > 16)) {
			fprintf(stderr, "  round %d: rc %d: %.*s\n", round, rc, (int)n, line);
			CHECK(0);
			return;
		}
		accepted += rc == DOCKERLOG_OK;
	}
	/* some mutations leave a valid record (a changed letter in the message) */
	CHECK(accepted > 100);
}

/* ---- joining partial records ---- */

/* Appends s as the body of a JSON string, escaping what must be. */
static size_t json_escape(char *out, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)sprintf(out + o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	return o;
}

/* A line of 3 * 16 KiB + 4 bytes, as dockerd writes it: three partial records
 * of 16 KiB and a final one, with a full stderr record between them. The
 * message has bytes that need escapes, so the records are longer than 16 KiB. */
TEST(joiner_joins_16k_partials)
{
	enum { PIECES = 3, TOTAL = PIECE_16K * PIECES + 4 };
	static const char pattern[] = "abc \"quoted\" \\ tab\t\x01 \xc3\xa9";
	struct cri_joiner j = joiner_new(1 << 20);
	struct testing_msgs out = {0};
	char *want = malloc(TOTAL);
	char *line = malloc(PIECE_16K * 6 + 256);
	char *msg = malloc(MSG_CAP);

	if (!want || !line || !msg) {
		CHECK(want && line && msg);
		free(want);
		free(line);
		free(msg);
		return;
	}
	/* bytes that need escapes, a NUL (the pattern's own) among them */
	for (size_t i = 0; i < TOTAL; i++)
		want[i] = pattern[i % sizeof(pattern)];
	memcpy(want + TOTAL - 4, "tail", 4);
	for (int p = 0; p <= PIECES; p++) {
		size_t off = (size_t)p * PIECE_16K, n = p < PIECES ? PIECE_16K : 4, len = 0;

		len += (size_t)sprintf(line, "{\"log\":\"");
		len += json_escape(line + len, want + off, n);
		len += (size_t)sprintf(
		    line + len, "%s\",\"stream\":\"stdout\",\"time\":\"2024-01-02T03:04:0%dZ\"}",
		    p < PIECES ? "" : "\\n", 5 + p);
		CHECK(len > n);
		CHECK_INT_EQ(feed_record(&j, line, len, msg, &out), DOCKERLOG_OK);
		CHECK_INT_EQ(out.n, p < 2 ? 0 : p < PIECES ? 1 : 2);
		if (p == 1)
			CHECK_INT_EQ(feed_record(&j,
						 L("{\"log\":\"between\\n\",\"stream\":\"stderr\","
						   "\"time\":\"2024-01-02T03:04:06.5Z\"}"),
						 msg, &out),
				     DOCKERLOG_OK);
	}
	CHECK_INT_EQ(out.n, 2);
	if (out.n == 2) {
		CHECK_INT_EQ(out.v[0].stream, CRI_STDERR);
		CHECK_STR_EQ(out.v[0].msg, "between");
		CHECK_INT_EQ(out.v[1].stream, CRI_STDOUT);
		CHECK_MEM_EQ(out.v[1].msg, out.v[1].len, want, (size_t)TOTAL);
		CHECK_INT_EQ(out.v[1].time_ns, 1704164645000000000LL); /* the first piece's */
		CHECK(!out.v[1].truncated);
	}
	CHECK_INT_EQ(j.splits, 0);
	CHECK(!j.stream[CRI_STDOUT].open);
	cri_joiner_free(&j);
	testing_msgs_free(&out);
	free(want);
	free(line);
	free(msg);
}

/* ---- our own data ---- */

static char *read_data(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), DATA_DIR "%s", name);
	char *buf = testing_read_file(path, len);
	if (!buf)
		fprintf(stderr, "  cannot read %s (run from the repository root)\n", path);
	return buf;
}

struct expect {
	enum cri_stream stream;
	const char *msg;
	size_t len;
};

/* Records in dockerd's shape (see tests/data/docker/README.md), joined. */
TEST(json_file_parses_and_joins)
{
	const struct expect want[] = {
	    {CRI_STDOUT, L("line 0")},
	    {CRI_STDERR, L("err line 0")},
	    {CRI_STDOUT, L("")},
	    {CRI_STDOUT, L("crlf\r")},
	    {CRI_STDOUT, L("html <b> &amp; </b>")},
	    {CRI_STDERR, L("\x1b[31mred\x1b[0m tab\there \"quoted\" back\\slash")},
	    {CRI_STDOUT, L("bad \xef\xbf\xbd\xef\xbf\xbd utf8 \xef\xbf\xbd( end")},
	    {CRI_STDOUT, L("gr\xc3\xbc\xc3\x9f"
			   "e, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e, "
			   "\xf0\x9f\x98\x80")},
	    {CRI_STDOUT, L("with attrs")},
	    {CRI_STDOUT, L("out part 1, out part 2, out end")},
	    {CRI_STDERR, L("err part 1, err end")},
	    {CRI_STDOUT, L("line 2")},
	    {CRI_STDOUT, L("no newline at the end")}, /* a dangling partial, flushed */
	};
	const size_t n_want = sizeof(want) / sizeof(want[0]);
	size_t len = 0;
	char *buf = read_data("json_file.log", &len);
	int errs[32];

	if (!buf) {
		CHECK(buf != NULL);
		return;
	}
	struct cri_joiner j = joiner_new(1 << 20);
	struct testing_msgs out = {0};
	size_t lines = feed_lines(&j, buf, len, &out, errs, 32);
	CHECK_INT_EQ(lines, 16);
	for (size_t i = 0; i < lines && i < 32; i++)
		CHECK_INT_EQ(errs[i], DOCKERLOG_OK);
	CHECK_INT_EQ(out.n, n_want - 1);
	cri_joiner_flush(&j, sink_emit, &out);
	CHECK_INT_EQ(out.n, n_want);
	for (size_t i = 0; i < n_want && i < out.n; i++) {
		CHECK_INT_EQ(out.v[i].stream, want[i].stream);
		CHECK_MEM_EQ(out.v[i].msg, out.v[i].len, want[i].msg, want[i].len);
		CHECK(!out.v[i].truncated);
		CHECK(i == 0 || out.v[i].time_ns >= out.v[i - 1].time_ns);
	}
	if (out.n == n_want) {
		CHECK_INT_EQ(out.v[0].time_ns, 1709634030000000001LL);
		CHECK_INT_EQ(out.v[1].time_ns, 1709634030100000000LL);
		/* a joined message has the time of its first record */
		CHECK_INT_EQ(out.v[9].time_ns, 1709634031000000000LL);
		CHECK_INT_EQ(out.v[10].time_ns, 1709634031200000000LL);
	}
	cri_joiner_free(&j);
	testing_msgs_free(&out);
	free(buf);
}

/* A damaged file: each bad record is refused with its own reason and the
 * records around it still read. */
TEST(bad_lines_are_refused_one_by_one)
{
	static const int want[] = {
	    DOCKERLOG_OK,	    DOCKERLOG_ERR_OBJECT, DOCKERLOG_ERR_LOG,
	    DOCKERLOG_ERR_STREAM,   DOCKERLOG_ERR_TIME,	  DOCKERLOG_ERR_ESCAPE,
	    DOCKERLOG_ERR_TRAILING, DOCKERLOG_ERR_OBJECT, DOCKERLOG_OK,
	};
	const size_t n_want = sizeof(want) / sizeof(want[0]);
	size_t len = 0;
	char *buf = read_data("bad_lines.log", &len);
	int errs[16];

	if (!buf) {
		CHECK(buf != NULL);
		return;
	}
	struct cri_joiner j = joiner_new(1 << 20);
	struct testing_msgs out = {0};
	size_t lines = feed_lines(&j, buf, len, &out, errs, 16);
	CHECK_INT_EQ(lines, n_want);
	for (size_t i = 0; i < n_want && i < lines; i++) {
		if (errs[i] != want[i])
			fprintf(stderr, "  line %zu: %s\n", i + 1, dockerlog_strerror(errs[i]));
		CHECK_INT_EQ(errs[i], want[i]);
	}
	CHECK_INT_EQ(out.n, 2);
	if (out.n == 2) {
		CHECK_STR_EQ(out.v[0].msg, "before");
		CHECK_STR_EQ(out.v[1].msg, "after");
		CHECK_INT_EQ(out.v[1].stream, CRI_STDERR);
	}
	cri_joiner_free(&j);
	testing_msgs_free(&out);
	free(buf);
}

/* ---- shared fixtures from other tools ---- */

struct tally {
	int checked, skipped;
};

static void tally_print(const char *name, const struct tally *t)
{
	fprintf(stderr, "  %s: %d fixture cases checked, %d skipped (tool-specific)\n", name,
		t->checked, t->skipped);
}

static char *load_fixture_file(const char *rel, size_t *len)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/cri/%s", testing_fixtures_dir(), rel);
	return testing_read_file(path, len);
}

static cJSON *load_fixture_json(const char *rel)
{
	size_t len = 0;
	char *text = load_fixture_file(rel, &len);

	if (!text)
		return NULL;
	cJSON *root = cJSON_ParseWithLength(text, len);
	free(text);
	return root;
}

static const char *json_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

#define SKIP_WITHOUT_DOCKER_FIXTURES()                                                             \
	do {                                                                                       \
		char dir_[1024];                                                                   \
		struct stat st_;                                                                   \
		if (!testing_fixtures_dir())                                                       \
			SKIP("shared fixtures not found (set GLIMPSE_FIXTURES)");                  \
		snprintf(dir_, sizeof(dir_), "%s/cri/docker-json", testing_fixtures_dir());        \
		if (stat(dir_, &st_) != 0 || !S_ISDIR(st_.st_mode))                                \
			SKIP("no cri/docker-json in the shared fixtures");                         \
	} while (0)

/* Checks a parsed record against a fixture's time string, stream name and
 * log value (a trailing '\n' in it means a full record). */
static bool record_matches(const struct dockerlog_record *r, const char *msg, const char *time,
			   const char *stream, const char *log, size_t log_len)
{
	int64_t ns;
	bool nl = log_len > 0 && log[log_len - 1] == '\n';

	if (!time || cri_parse_time(time, strlen(time), &ns) != 0 || r->time_ns != ns)
		return false;
	if (!stream || strcmp(stream, r->stream == CRI_STDOUT ? "stdout" : "stderr") != 0)
		return false;
	return r->partial == !nl && r->msg_len == log_len - nl && memcmp(msg, log, r->msg_len) == 0;
}

/* The log value of a json-file line as cJSON decodes it (an independent
 * JSON parser); false when it has none or it holds a NUL. */
static bool oracle_record(const char *line, size_t len, const char **log, const char **time,
			  const char **stream, cJSON **root)
{
	*root = cJSON_ParseWithLength(line, len);
	*log = json_str(*root, "log");
	*time = json_str(*root, "time");
	*stream = json_str(*root, "stream");
	return *log && *time && *stream;
}

/* Every json-file log in cri/docker-json: each line against cJSON's reading
 * of it, and fluent-bit's expected output records where they exist. */
TEST(fixtures_docker_json_files)
{
	struct tally t = {0};
	char dir[1024];
	struct dirent *e;

	SKIP_WITHOUT_DOCKER_FIXTURES();
	char *msg = malloc(MSG_CAP);
	if (!msg) {
		CHECK(msg != NULL);
		return;
	}
	snprintf(dir, sizeof(dir), "%s/cri/docker-json", testing_fixtures_dir());
	DIR *d = opendir(dir);
	CHECK(d != NULL);
	while (d && (e = readdir(d))) {
		size_t nlen = strlen(e->d_name), len = 0;
		char rel[512];

		if (nlen < 5 || strcmp(e->d_name + nlen - 4, ".log") != 0)
			continue;
		snprintf(rel, sizeof(rel), "docker-json/%s", e->d_name);
		char *buf = load_fixture_file(rel, &len);
		CHECK(buf != NULL);
		for (size_t pos = 0; buf && pos < len;) {
			const char *nl = memchr(buf + pos, '\n', len - pos);
			size_t n = nl ? (size_t)(nl - (buf + pos)) : len - pos;
			const char *log, *time, *stream;
			struct dockerlog_record r;
			cJSON *root;

			CHECK(oracle_record(buf + pos, n, &log, &time, &stream, &root));
			int rc = dockerlog_parse_line(buf + pos, n, msg, MSG_CAP, &r, NULL);
			CHECK_INT_EQ(rc, DOCKERLOG_OK);
			if (log && time && stream)
				CHECK(rc == DOCKERLOG_OK &&
				      record_matches(&r, msg, time, stream, log, strlen(log)));
			t.checked++;
			cJSON_Delete(root);
			pos += n + (nl != NULL);
		}

		/* fluent-bit's expected record: [seconds.micros, {"log", "stream", …}] */
		char out_path[1024];
		size_t out_len = 0;
		struct dockerlog_record r;
		snprintf(out_path, sizeof(out_path), "%s/kubelet/expected/%.*s.out",
			 testing_fixtures_dir(), (int)(nlen - 4), e->d_name);
		char *expected = testing_read_file(out_path, &out_len);
		cJSON *rec = expected ? cJSON_ParseWithLength(expected, out_len) : NULL;
		const cJSON *when = cJSON_GetArrayItem(rec, 0), *body = cJSON_GetArrayItem(rec, 1);
		const char *log = json_str(body, "log"), *stream = json_str(body, "stream");
		if (buf && cJSON_IsNumber(when) && log && stream) {
			const char *nl = memchr(buf, '\n', len);
			size_t n = nl ? (size_t)(nl - buf) : len;
			int rc = dockerlog_parse_line(buf, n, msg, MSG_CAP, &r, NULL);
			size_t log_len = strlen(log);
			bool full = log_len > 0 && log[log_len - 1] == '\n';

			CHECK_INT_EQ(rc, DOCKERLOG_OK);
			CHECK(r.partial == !full);
			CHECK_MEM_EQ(msg, r.msg_len, log, log_len - full);
			CHECK_STR_EQ(r.stream == CRI_STDOUT ? "stdout" : "stderr", stream);
			CHECK_INT_EQ(r.time_ns / 1000, (int64_t)(when->valuedouble * 1e6 + 0.5));
			t.checked++;
		}
		cJSON_Delete(rec);
		free(expected);
		free(buf);
	}
	if (d)
		closedir(d);
	free(msg);
	tally_print("json-file logs", &t);
	CHECK(t.checked >= 15);
}

/* The kubelet's TestReadLogs file: the messages, and which of them are at or
 * after a time. Its tail and byte limits belong to the kubelet's reader. */
TEST(fixtures_kubernetes)
{
	struct tally t = {0};
	size_t len = 0;
	const cJSON *c;
	int errs[8];

	SKIP_WITHOUT_DOCKER_FIXTURES();
	char *buf = load_fixture_file("docker-json/kubernetes_readlogs.log", &len);
	cJSON *root = load_fixture_json("docker-json/kubernetes_readlogs.expected.json");
	if (!buf || !root) {
		free(buf);
		cJSON_Delete(root);
		SKIP("kubernetes_readlogs.log or its expected.json missing");
	}
	struct cri_joiner j = joiner_new(1 << 20);
	struct testing_msgs out = {0};
	CHECK_INT_EQ(feed_lines(&j, buf, len, &out, errs, 8), 3);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "expectations"))
	{
		const cJSON *opt = cJSON_GetObjectItemCaseSensitive(c, "options");
		const char *since = json_str(opt, "sinceTime"), *want = json_str(c, "stdout");
		int64_t since_ns = INT64_MIN;
		char got[256] = "";
		size_t got_len = 0;

		if (!want || (cJSON_GetArraySize(opt) > 0 && !since)) {
			t.skipped++;
			continue;
		}
		if (since)
			CHECK_INT_EQ(cri_parse_time(since, strlen(since), &since_ns), 0);
		for (size_t i = 0; i < out.n; i++)
			if (out.v[i].time_ns >= since_ns &&
			    got_len + out.v[i].len + 2 < sizeof(got))
				got_len += (size_t)snprintf(got + got_len, sizeof(got) - got_len,
							    "%s\n", out.v[i].msg);
		CHECK_STR_EQ(got, want);
		t.checked++;
	}
	cri_joiner_free(&j);
	testing_msgs_free(&out);
	cJSON_Delete(root);
	free(buf);

	/* TestParseLog: docker lines give the kubelet's record, CRI lines are not ours */
	root = load_fixture_json("kubernetes_parselog_cases.json");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
	{
		const char *line = json_str(c, "line"), *format = json_str(c, "format");
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expected");
		struct dockerlog_record r;
		char msg[256];

		if (!line || !format)
			continue;
		size_t n = strlen(line);
		if (n > 0 && line[n - 1] == '\n')
			n--;
		int rc = dockerlog_parse_line(line, n, msg, sizeof(msg), &r, NULL);
		if (strcmp(format, "docker-json") != 0) {
			CHECK_INT_EQ(rc, DOCKERLOG_ERR_OBJECT);
			t.checked++;
			continue;
		}
		const char *log = json_str(exp, "log");
		CHECK_INT_EQ(rc, DOCKERLOG_OK);
		CHECK(rc == DOCKERLOG_OK && log &&
		      record_matches(&r, msg, json_str(exp, "timestamp"), json_str(exp, "stream"),
				     log, strlen(log)));
		t.checked++;
	}
	cJSON_Delete(root);
	tally_print("kubernetes", &t);
	CHECK(t.checked >= 9);
}

TEST(fixtures_alloy)
{
	struct tally t = {0};
	const cJSON *c;

	SKIP_WITHOUT_DOCKER_FIXTURES();
	cJSON *root = load_fixture_json("docker-json/alloy_docker_cases.json");
	if (!root)
		SKIP("docker-json/alloy_docker_cases.json missing or not JSON");
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
	{
		const char *line = json_str(c, "line"), *want = json_str(c, "expected_line");
		const char *stream = json_str(c, "expected_stream");
		const char *time = json_str(c, "expected_timestamp");
		struct dockerlog_record r;
		char msg[4096];

		if (!line)
			continue;
		int rc = dockerlog_parse_line(line, strlen(line), msg, sizeof(msg), &r, NULL);
		/* Alloy passes what is not a docker record on unchanged: refused here */
		if (!stream) {
			CHECK(rc != DOCKERLOG_OK);
			t.checked++;
			continue;
		}
		/* Alloy keeps a record with a bad time, with the time it read it */
		if (!time) {
			CHECK_INT_EQ(rc, DOCKERLOG_ERR_TIME);
			t.skipped++;
			continue;
		}
		CHECK_INT_EQ(rc, DOCKERLOG_OK);
		CHECK(rc == DOCKERLOG_OK && want &&
		      record_matches(&r, msg, time, stream, want, strlen(want)));
		t.checked++;
	}
	cJSON_Delete(root);
	tally_print("alloy", &t);
	CHECK(t.checked >= 4);
}

TEST(fixtures_vector)
{
	/* the reason each invalid line is refused, by our reading order */
	static const struct {
		const char *file;
		int err;
	} reasons[] = {
	    {"docker_invalid_01.line", DOCKERLOG_ERR_OBJECT},
	    {"docker_invalid_02.line", DOCKERLOG_ERR_OBJECT},
	    {"docker_invalid_03.line", DOCKERLOG_ERR_OBJECT},
	    {"docker_invalid_04.line", DOCKERLOG_ERR_OBJECT},
	    {"docker_invalid_05.line", DOCKERLOG_ERR_LOG},
	    {"docker_invalid_06.line", DOCKERLOG_ERR_TIME},
	    {"docker_invalid_07.line", DOCKERLOG_ERR_TIME},
	    {"docker_invalid_08.line", DOCKERLOG_ERR_TIME},
	    {"docker_invalid_09.line", DOCKERLOG_ERR_TIME},
	    {"docker_invalid_10.line", DOCKERLOG_ERR_LOG},
	    {"docker_invalid_11.line", DOCKERLOG_ERR_LOG},
	};
	struct tally t = {0};
	const cJSON *c;

	SKIP_WITHOUT_DOCKER_FIXTURES();
	char *msg = malloc(MSG_CAP);
	cJSON *root = load_fixture_json("vector/cases.json");
	if (!root || !msg) {
		free(msg);
		cJSON_Delete(root);
		SKIP("vector/cases.json missing or not JSON");
	}
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(root, "cases"))
	{
		const char *file = json_str(c, "file"), *kind = json_str(c, "kind");
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expected");
		bool accept = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "expect_accept"));
		struct dockerlog_record r;
		char rel[256];
		size_t len = 0;

		if (!file || !kind)
			continue;
		snprintf(rel, sizeof(rel), "vector/%s", file);
		char *buf = load_fixture_file(rel, &len);
		CHECK(buf != NULL);
		if (!buf)
			continue;
		if (len > 0 && buf[len - 1] == '\n')
			len--;
		int rc = dockerlog_parse_line(buf, len, msg, MSG_CAP, &r, NULL);
		free(buf);

		if (strcmp(kind, "docker-json") != 0) {
			CHECK_INT_EQ(rc, DOCKERLOG_ERR_OBJECT); /* a CRI line */
			t.checked++;
			continue;
		}
		if (!accept) {
			CHECK(rc != DOCKERLOG_OK);
			for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
				if (strcmp(file, reasons[i].file) == 0)
					CHECK_INT_EQ(rc, reasons[i].err);
			t.checked++;
			continue;
		}
		const char *want = json_str(exp, "message");
		const cJSON *mlen = cJSON_GetObjectItemCaseSensitive(exp, "message_len");
		bool partial = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(exp, "partial"));
		CHECK_INT_EQ(rc, DOCKERLOG_OK);
		CHECK(want && cJSON_IsNumber(mlen) && strlen(want) == (size_t)mlen->valuedouble);
		if (rc != DOCKERLOG_OK || !want)
			continue;
		CHECK_MEM_EQ(msg, r.msg_len, want, strlen(want));
		int64_t ns = 0;
		const char *time = json_str(exp, "timestamp"), *stream = json_str(exp, "stream");
		CHECK(time && cri_parse_time(time, strlen(time), &ns) == 0 && r.time_ns == ns);
		CHECK(stream && strcmp(stream, r.stream == CRI_STDOUT ? "stdout" : "stderr") == 0);
		/* Vector calls a record without '\n' partial only at 16 KiB */
		if (r.partial != partial) {
			CHECK(r.partial && r.msg_len < PIECE_16K);
			t.skipped++;
			continue;
		}
		t.checked++;
	}
	cJSON_Delete(root);
	free(msg);
	tally_print("vector", &t);
	CHECK(t.checked >= 20);
}

/* Feeds fluent-bit's input records: docker records to dj, CRI lines to cj
 * (when not NULL). Another line ends the pending docker partials and passes
 * as it is, as fluent-bit's test has it. Returns the number of docker
 * records. */
static int fluentbit_feed(const cJSON *records, struct cri_joiner *dj, struct cri_joiner *cj,
			  struct testing_msgs *out)
{
	char *msg = malloc(MSG_CAP);
	const cJSON *e;
	int docker = 0;

	CHECK(msg != NULL);
	cJSON_ArrayForEach(e, records)
	{
		struct cri_line l;

		if (!msg || !cJSON_IsString(e))
			continue;
		size_t n = strlen(e->valuestring);
		int rc = feed_record(dj, e->valuestring, n, msg, out);
		if (rc == DOCKERLOG_OK) {
			docker++;
			continue;
		}
		CHECK_INT_EQ(rc, DOCKERLOG_ERR_OBJECT);
		if (cj && cri_parse_line(e->valuestring, n, &l) == CRI_OK) {
			cri_joiner_add(cj, l.stream, l.time_ns, l.msg, l.msg_len, l.partial,
				       sink_emit, out);
			continue;
		}
		cri_joiner_flush(dj, sink_emit, out);
		sink_emit(out, CRI_STDOUT, 0, e->valuestring, n, false);
	}
	free(msg);
	return docker;
}

/* Emitted messages against fluent-bit's expected values in order (whose
 * trailing '\n' our messages never have). */
static void fluentbit_check(const struct testing_msgs *out, const cJSON *expected, struct tally *t)
{
	const cJSON *e;
	size_t i = 0;

	cJSON_ArrayForEach(e, expected)
	{
		size_t n = cJSON_IsString(e) ? strlen(e->valuestring) : 0;

		if (n > 0 && e->valuestring[n - 1] == '\n')
			n--;
		CHECK(i < out->n && cJSON_IsString(e));
		if (i < out->n && cJSON_IsString(e))
			CHECK_MEM_EQ(out->v[i].msg, out->v[i].len, e->valuestring, n);
		i++;
		t->checked++;
	}
	CHECK_INT_EQ(out->n, i);
}

TEST(fixtures_fluentbit)
{
	struct tally t = {0};
	size_t len = 0;

	SKIP_WITHOUT_DOCKER_FIXTURES();
	cJSON *ml = load_fixture_json("docker-json/fluentbit_multiline_docker.case.json");
	cJSON *mix = load_fixture_json("fluentbit_multiline_container_mix.case.json");
	char *chain = load_fixture_file("fluentbit_docker_cri_chain.log", &len);
	if (!ml || !mix || !chain) {
		cJSON_Delete(ml);
		cJSON_Delete(mix);
		free(chain);
		SKIP("fluent-bit multiline cases missing or not JSON");
	}

	/* docker partials joined per stream (one record has a raw newline byte
	 * in its string, which ends the message) */
	struct cri_joiner dj = joiner_new(1 << 20), cj = joiner_new(1 << 20);
	struct testing_msgs out = {0};
	CHECK_INT_EQ(
	    fluentbit_feed(cJSON_GetObjectItemCaseSensitive(ml, "input_records"), &dj, NULL, &out),
	    6);
	cri_joiner_flush(&dj, sink_emit, &out);
	fluentbit_check(&out, cJSON_GetObjectItemCaseSensitive(ml, "expected_log_values_in_order"),
			&t);
	testing_msgs_free(&out);

	/* docker records and CRI lines in one file, each joined by its own joiner */
	CHECK_INT_EQ(
	    fluentbit_feed(cJSON_GetObjectItemCaseSensitive(mix, "input_records"), &dj, &cj, &out),
	    8);
	cri_joiner_flush(&dj, sink_emit, &out);
	cri_joiner_flush(&cj, sink_emit, &out);
	fluentbit_check(&out, cJSON_GetObjectItemCaseSensitive(mix, "expected_log_values_in_order"),
			&t);
	testing_msgs_free(&out);

	/* CRI lines are not docker records */
	for (size_t pos = 0; pos < len;) {
		const char *nl = memchr(chain + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (chain + pos)) : len - pos;

		CHECK_INT_EQ(dockerlog_parse_line(chain + pos, n, NULL, 0,
						  &(struct dockerlog_record){0}, NULL),
			     DOCKERLOG_ERR_OBJECT);
		t.checked++;
		pos += n + (nl != NULL);
	}
	cri_joiner_free(&dj);
	cri_joiner_free(&cj);
	cJSON_Delete(ml);
	cJSON_Delete(mix);
	free(chain);
	tally_print("fluent-bit", &t);
	CHECK(t.checked >= 17);
}

int main(void)
{
	RUN(parse_valid_records);
	RUN(parse_unescapes);
	RUN(parse_rejects_bad_records);
	RUN(parse_skips_deep_values);
	RUN(parse_never_reads_past_len);
	RUN(parse_cuts_at_cap);
	RUN(parse_matches_generated_records);
	RUN(parse_survives_mutations);
	RUN(joiner_joins_16k_partials);
	RUN(json_file_parses_and_joins);
	RUN(bad_lines_are_refused_one_by_one);
	RUN(fixtures_docker_json_files);
	RUN(fixtures_kubernetes);
	RUN(fixtures_alloy);
	RUN(fixtures_vector);
	RUN(fixtures_fluentbit);
	return testing_done();
}
