/* Unit tests of the spool: records come back in order with their kind and
 * key, confirmation survives a restart, a full spool drops its oldest
 * segment (counted), a record torn by a crash is cut. */
#include "sink.h"
#include "spool.h"
#include "testing.h"

static void append(struct spool *sp, int i, const char *key)
{
	char data[128];
	int n = snprintf(data, sizeof(data), "{\"n\":%d,\"pad\":\"%060d\"}\n", i, i);

	CHECK_INT_EQ(spool_append(sp, &(struct sink_event){.kind = i % 2 ? SINK_KIND_HTTP
									 : SINK_KIND_CONTAINER,
							   .data = data,
							   .len = (size_t)n,
							   .key = key}),
		     0);
}

/* The next record's number (its "n"), -1 when none; *pos its position. */
static int next(struct spool *sp, uint64_t *pos, const char *want_key)
{
	struct sink_event ev;
	int n = -1;

	if (spool_next(sp, &ev, pos) != 1)
		return -1;
	CHECK(ev.len > 0 && ev.data[ev.len - 1] == '\n');
	CHECK(sscanf(ev.data, "{\"n\":%d,", &n) == 1);
	CHECK_INT_EQ(ev.kind, n % 2 ? SINK_KIND_HTTP : SINK_KIND_CONTAINER);
	if (want_key)
		CHECK_STR_EQ(ev.key, want_key);
	else
		CHECK(ev.key == NULL);
	return n;
}

/* In order, with kind and key; drained once all were handed out, empty once
 * confirmed. */
TEST(test_spool_in_order)
{
	char dir[64];
	struct spool *sp;
	uint64_t pos = 0;

	if (testing_mkdtemp(dir, sizeof(dir), "spool") != 0)
		SKIP("no temp dir");
	sp = spool_open(dir, 1 << 20);
	CHECK(sp && spool_empty(sp) && spool_drained(sp));
	for (int i = 0; sp && i < 100; i++)
		append(sp, i, i % 3 ? "0d5c1f5e-uid" : NULL);
	CHECK(sp && !spool_drained(sp));
	for (int i = 0; sp && i < 100; i++)
		CHECK_INT_EQ(next(sp, &pos, i % 3 ? "0d5c1f5e-uid" : NULL), i);
	CHECK(sp && next(sp, &pos, NULL) == -1 && spool_drained(sp) && !spool_empty(sp));
	if (sp)
		spool_confirm(sp, pos);
	CHECK(sp && spool_empty(sp));
	spool_close(sp);
	testing_remove_tree(dir);
}

/* After a restart, what was confirmed is not handed out again; the rest is,
 * including records appended after the last confirmation. */
TEST(test_spool_resumes_at_cursor)
{
	char dir[64];
	struct spool *sp;
	uint64_t pos = 0, at30 = 0;

	if (testing_mkdtemp(dir, sizeof(dir), "spool") != 0)
		SKIP("no temp dir");
	sp = spool_open(dir, 1 << 20);
	for (int i = 0; sp && i < 50; i++)
		append(sp, i, "k");
	for (int i = 0; sp && i < 40; i++) {
		next(sp, &pos, "k");
		if (i == 29)
			at30 = pos;
	}
	if (sp) {
		spool_confirm(sp, at30);
		CHECK_INT_EQ(spool_sync(sp), 0);
	}
	spool_close(sp);
	sp = spool_open(dir, 1 << 20);
	CHECK(sp != NULL);
	for (int i = 30; sp && i < 50; i++)
		CHECK_INT_EQ(next(sp, &pos, "k"), i);
	CHECK(sp && next(sp, &pos, NULL) == -1);
	spool_close(sp);
	testing_remove_tree(dir);
}

/* Past max_bytes the oldest segment goes: its records are counted as
 * dropped and the newest are kept, in order. */
TEST(test_spool_full_drops_oldest)
{
	char dir[64];
	struct spool *sp;
	struct spool_stats st;
	uint64_t pos = 0;
	int first, n = 0, prev;

	if (testing_mkdtemp(dir, sizeof(dir), "spool") != 0)
		SKIP("no temp dir");
	sp = spool_open(dir, 64 * 1024);
	for (int i = 0; sp && i < 2000; i++)
		append(sp, i, NULL);
	if (!sp) {
		testing_remove_tree(dir);
		return;
	}
	spool_get_stats(sp, &st);
	CHECK(st.dropped > 0);
	CHECK(st.bytes <= 64 * 1024);
	first = prev = next(sp, &pos, NULL);
	CHECK_INT_EQ(first, (int)st.dropped);
	for (int got; (got = next(sp, &pos, NULL)) >= 0; prev = got, n++)
		CHECK_INT_EQ(got, prev + 1);
	CHECK_INT_EQ(prev, 1999);
	CHECK_INT_EQ(n + 1 + (int)st.dropped, 2000);
	spool_close(sp);
	testing_remove_tree(dir);
}

/* A record cut short at the end (a crash while writing) is cut off at the
 * next start; the whole ones before it come back. */
TEST(test_spool_torn_tail)
{
	char dir[64], path[128];
	struct spool *sp;
	uint64_t pos = 0;
	FILE *f;

	if (testing_mkdtemp(dir, sizeof(dir), "spool") != 0)
		SKIP("no temp dir");
	sp = spool_open(dir, 1 << 20);
	for (int i = 0; sp && i < 5; i++)
		append(sp, i, NULL);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/%016llx.spool", dir, 1ULL);
	f = fopen(path, "ab");
	CHECK(f != NULL);
	if (f) {
		fwrite("\x40\x00\x00\x00\x01\x02", 1, 6, f); /* a header cut short */
		fclose(f);
	}
	sp = spool_open(dir, 1 << 20);
	for (int i = 0; sp && i < 5; i++)
		CHECK_INT_EQ(next(sp, &pos, NULL), i);
	CHECK(sp && next(sp, &pos, NULL) == -1);
	if (sp)
		append(sp, 5, NULL); /* appended after the cut: found */
	CHECK(sp && next(sp, &pos, NULL) == 5);
	spool_close(sp);
	testing_remove_tree(dir);
}

int main(void)
{
	RUN(test_spool_in_order);
	RUN(test_spool_resumes_at_cursor);
	RUN(test_spool_full_drops_oldest);
	RUN(test_spool_torn_tail);
	return testing_done();
}
