/* test_checkpoint.c: read positions (checkpoint.c) on real files in a
 * temporary state dir.
 *
 * Positions advance only as far as confirmed sequence numbers allow, also
 * when marks merge; positions.json is written atomically and read back by a
 * second ckpt_open, where a file resumes only when its device, inode and
 * first bytes still match and it did not shrink. Tiny files are identified
 * and their fingerprint grows with them; entries of deleted or unclaimed
 * files go away at the right save; a corrupt file or corrupt entries cost
 * duplicates, never a crash; a failed save leaves the last good file.
 */
#include "checkpoint.h"
#include "log.h"
#include "loop.h"
#include "testing.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#define GRACE_MS 60000 /* long enough that no test drops an entry by accident */

/* ---- files ---- */

static void join(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "  no room for %s/%s\n", dir, name);
		out[0] = '\0';
	}
}

/* Writes len bytes to path with flags (O_TRUNC or O_APPEND); whether all were written. */
static bool put_file(const char *path, int flags, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644);
	ssize_t n;

	if (fd < 0) {
		fprintf(stderr, "  open %s: %s\n", path, strerror(errno));
		return false;
	}
	n = write(fd, data, len);
	close(fd);
	return n == (ssize_t)len;
}

/* Replaces path with size bytes of lines whose letters depend on tag. */
static bool make_file(const char *path, size_t size, char tag)
{
	char *buf = malloc(size ? size : 1);
	bool ok;

	if (!buf)
		return false;
	for (size_t i = 0; i < size; i++)
		buf[i] = i % 50 == 49 ? '\n' : (char)('a' + (i + (size_t)tag) % 26);
	ok = put_file(path, O_TRUNC, buf, size);
	free(buf);
	return ok;
}

/* ---- claiming ---- */

struct opened {
	int fd;
	struct stat st;
	struct ckpt_entry *e;
	uint64_t start;
};

/* Opens path read-only and claims it; false (the failure checked) when a
 * step failed. */
static bool claim(struct ckpt *c, const char *path, struct opened *o)
{
	o->e = NULL;
	o->start = UINT64_MAX;
	o->fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK(o->fd >= 0);
	if (o->fd < 0)
		return false;
	if (fstat(o->fd, &o->st) != 0) {
		CHECK(!"fstat of the opened file");
		return false;
	}
	o->e = ckpt_claim(c, path, o->fd, &o->st, &o->start);
	CHECK(o->e != NULL);
	return o->e != NULL;
}

/* Closes what claim opened; releases the entry when release is set. */
static void unclaim(struct ckpt *c, struct opened *o, bool release, bool gone)
{
	if (release && o->e)
		ckpt_release(c, o->e, gone);
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	o->e = NULL;
}

/* A new checkpoint state in dir in which path was claimed and read up to
 * offset (confirmed), then saved; whether every step worked. */
static bool save_one(const char *dir, const char *path, uint64_t offset)
{
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	bool ok = false;

	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c)
		return false;
	if (claim(c, path, &o)) {
		ckpt_mark(o.e, 7, offset);
		ckpt_confirm(c, 7);
		CHECK_INT_EQ(o.e->offset, offset);
		ok = ckpt_save(c, loop_now_ms(), GRACE_MS, false) == 0;
		CHECK(ok);
	}
	unclaim(c, &o, false, false);
	ckpt_free(c);
	return ok;
}

/* ---- positions.json ---- */

/* dir's positions.json parsed; NULL (the failure checked) when unreadable. */
static cJSON *read_positions(const char *dir)
{
	char path[256];
	char *text;
	cJSON *doc;

	join(path, sizeof(path), dir, CKPT_FILE_NAME);
	text = testing_read_file(path, NULL);
	CHECK(text != NULL);
	if (!text)
		return NULL;
	doc = cJSON_Parse(text);
	CHECK(doc != NULL);
	free(text);
	return doc;
}

static int positions_count(const cJSON *doc)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(doc, "files");

	return cJSON_IsArray(files) ? cJSON_GetArraySize(files) : -1;
}

/* The member of "files" whose "ino" is st's inode, or NULL. */
static cJSON *positions_entry(const cJSON *doc, const struct stat *st)
{
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(doc, "files");
	char ino[24];
	cJSON *it;

	snprintf(ino, sizeof(ino), "%" PRIu64, (uint64_t)st->st_ino);
	cJSON_ArrayForEach(it, files)
	{
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(it, "ino");
		if (cJSON_IsString(v) && strcmp(v->valuestring, ino) == 0)
			return it;
	}
	return NULL;
}

/* A number member of an entry, or -1 when absent or not a number. */
static double entry_num(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *entry_str(const cJSON *e, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Whether path exists (lstat succeeds). */
static bool exists(const char *dir, const char *name)
{
	char path[256];
	struct stat st;

	join(path, sizeof(path), dir, name);
	return lstat(path, &st) == 0;
}

/* Sets the modification time of path to seconds before now. */
static bool set_mtime_ago(const char *path, int seconds)
{
	struct timespec ts[2];

	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= seconds;
	ts[1] = ts[0];
	return utimensat(AT_FDCWD, path, ts, 0) == 0;
}

/* ---- in memory: marks and confirmation ---- */

TEST(test_new_file_starts_at_zero)
{
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct ckpt_stats stats;
	struct opened o = {.fd = -1};

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(make_file(path, 100, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o)) {
		CHECK_INT_EQ(o.start, 0);
		CHECK_INT_EQ(o.e->offset, 0);
		CHECK_INT_EQ(o.e->dev, o.st.st_dev);
		CHECK_INT_EQ(o.e->ino, o.st.st_ino);
		CHECK_INT_EQ(o.e->fp_len, 100);
		CHECK_STR_EQ(o.e->path, path);
		ckpt_get_stats(c, &stats);
		CHECK_INT_EQ(stats.resumed, 0);
		CHECK_INT_EQ(stats.load_errors, 0);
	}
	/* no positions.json yet: nothing was saved */
	CHECK(!exists(dir, CKPT_FILE_NAME));
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_confirm_stops_at_confirmed_seq)
{
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(make_file(path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o)) {
		ckpt_mark(o.e, 10, 100);
		ckpt_mark(o.e, 20, 200);
		ckpt_mark(o.e, 30, 300);
		CHECK_INT_EQ(o.e->offset, 0); /* marked is not delivered */
		ckpt_confirm(c, 9);
		CHECK_INT_EQ(o.e->offset, 0);
		ckpt_confirm(c, 20);
		CHECK_INT_EQ(o.e->offset, 200);
		CHECK_INT_EQ(o.e->n_marks, 1); /* seq 30 stays */
		ckpt_confirm(c, 29);
		CHECK_INT_EQ(o.e->offset, 200);
		ckpt_confirm(c, 30);
		CHECK_INT_EQ(o.e->offset, 300);
		CHECK_INT_EQ(o.e->n_marks, 0);
		/* an older confirmation after a newer one moves nothing back */
		ckpt_confirm(c, 10);
		CHECK_INT_EQ(o.e->offset, 300);
		/* two marks with one seq (events of one batch) merge, the later wins */
		ckpt_mark(o.e, 40, 400);
		ckpt_mark(o.e, 40, 450);
		CHECK_INT_EQ(o.e->n_marks, 1);
		ckpt_confirm(c, 39);
		CHECK_INT_EQ(o.e->offset, 300);
		ckpt_confirm(c, 40);
		CHECK_INT_EQ(o.e->offset, 450);
	}
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_confirm_touches_only_marked_entries)
{
	char dir[64], pa[256], pb[256];
	struct ckpt *c = NULL;
	struct opened a = {.fd = -1}, b = {.fd = -1};

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(pa, sizeof(pa), dir, "a.log");
	join(pb, sizeof(pb), dir, "b.log");
	CHECK(make_file(pa, 1000, 'a'));
	CHECK(make_file(pb, 1000, 'b'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, pa, &a) && claim(c, pb, &b)) {
		/* the files' events interleave in one sequence */
		ckpt_mark(a.e, 1, 50);
		ckpt_mark(b.e, 2, 70);
		ckpt_mark(a.e, 3, 120);
		ckpt_mark(b.e, 4, 160);
		ckpt_confirm(c, 2);
		CHECK_INT_EQ(a.e->offset, 50);
		CHECK_INT_EQ(b.e->offset, 70);
		ckpt_confirm(c, 3);
		CHECK_INT_EQ(a.e->offset, 120);
		CHECK_INT_EQ(b.e->offset, 70);
		ckpt_confirm(c, 100);
		CHECK_INT_EQ(a.e->offset, 120);
		CHECK_INT_EQ(b.e->offset, 160);
	}
	unclaim(c, &a, false, false);
	unclaim(c, &b, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* More marks than CKPT_MARKS pending, confirmed in uneven steps while new
 * marks keep coming: the offset never passes the mark of the confirmed seq
 * and reaches the last one once everything is confirmed. */
TEST(test_merged_marks_never_overtake)
{
	enum { N = CKPT_MARKS * 5 + 3 };
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	uint64_t marked = 0, confirmed = 0, last_offset = 0;
	const uint64_t steps[] = {1, 3, 0, 17, 2, 0, 0, 40, 5};
	size_t step = 0;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(make_file(path, N * 10, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c || !claim(c, path, &o))
		goto out;
	/* seq s covers the bytes before s * 10 */
	while (marked < N || confirmed < N) {
		for (int i = 0; i < 7 && marked < N; i++) {
			marked++;
			ckpt_mark(o.e, marked, marked * 10);
			CHECK(o.e->n_marks <= CKPT_MARKS);
		}
		confirmed += steps[step++ % (sizeof(steps) / sizeof(steps[0]))];
		if (confirmed > marked)
			confirmed = marked;
		ckpt_confirm(c, confirmed);
		if (o.e->offset > confirmed * 10) {
			fprintf(stderr,
				"  confirmed seq %" PRIu64 " (offset %" PRIu64
				") but the offset is %" PRIu64 "\n",
				confirmed, confirmed * 10, o.e->offset);
			CHECK(o.e->offset <= confirmed * 10);
			break;
		}
		CHECK(o.e->offset >= last_offset);
		last_offset = o.e->offset;
	}
	ckpt_confirm(c, N);
	CHECK_INT_EQ(o.e->offset, N * 10);
	CHECK_INT_EQ(o.e->n_marks, 0);
out:
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* Exactly CKPT_MARKS + 1 marks, then a confirmation of the one before the
 * last: the merged last mark must not be taken. */
TEST(test_merge_at_the_limit)
{
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(make_file(path, 10000, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o)) {
		for (uint64_t s = 1; s <= CKPT_MARKS + 1; s++)
			ckpt_mark(o.e, s, s * 100);
		CHECK_INT_EQ(o.e->n_marks, CKPT_MARKS);
		ckpt_confirm(c, CKPT_MARKS);
		CHECK(o.e->offset <= CKPT_MARKS * 100);
		CHECK(o.e->offset >= (CKPT_MARKS - 1) * 100);
		ckpt_confirm(c, CKPT_MARKS + 1);
		CHECK_INT_EQ(o.e->offset, (CKPT_MARKS + 1) * 100);
	}
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* ---- saving and resuming ---- */

TEST(test_save_is_atomic_and_resumes)
{
	char dir[64], path[256], rotated[256], pos[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	struct ckpt_stats stats;
	struct stat st;
	cJSON *doc = NULL;
	const cJSON *e;
	char num[24];

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(rotated, sizeof(rotated), dir, "a.log.1");
	join(pos, sizeof(pos), dir, CKPT_FILE_NAME);
	CHECK(make_file(path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c || !claim(c, path, &o))
		goto out;
	snprintf(o.e->pod_uid, sizeof(o.e->pod_uid), "%s", "0b6c1d2e-3f40-4152-8637-48596a7b8c9d");
	snprintf(o.e->container, sizeof(o.e->container), "%s", "app");
	o.e->restart = 3;
	ckpt_mark(o.e, 5, 600);
	ckpt_mark(o.e, 9, 900);
	ckpt_confirm(c, 5);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.saves, 1);
	CHECK_INT_EQ(stats.save_errors, 0);

	CHECK_INT_EQ(stat(pos, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_INT_EQ(st.st_mode & 07777, 0600);
	CHECK(!exists(dir, CKPT_FILE_NAME ".tmp"));
	doc = read_positions(dir);
	if (doc) {
		CHECK_INT_EQ(entry_num(doc, "version"), 1);
		CHECK_INT_EQ(positions_count(doc), 1);
		e = positions_entry(doc, &o.st);
		CHECK(e != NULL);
		if (e) {
			CHECK_STR_EQ(entry_str(e, "path"), path);
			snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)o.st.st_dev);
			CHECK_STR_EQ(entry_str(e, "dev"), num);
			CHECK_INT_EQ(entry_num(e, "offset"), 600); /* seq 9 was not confirmed */
			CHECK_INT_EQ(entry_num(e, "fp_len"), CKPT_FP_MAX);
			CHECK_STR_EQ(entry_str(e, "pod_uid"),
				     "0b6c1d2e-3f40-4152-8637-48596a7b8c9d");
			CHECK_STR_EQ(entry_str(e, "container"), "app");
			CHECK_INT_EQ(entry_num(e, "restart"), 3);
		}
	}
	/* nothing changed: a save without force writes nothing */
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.saves, 1);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, true), 0);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.saves, 2);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	c = NULL;

	/* a restart: the same file, found under its rotated name, resumes */
	CHECK_INT_EQ(rename(path, rotated), 0);
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, rotated, &o)) {
		CHECK_INT_EQ(o.start, 600);
		CHECK_INT_EQ(o.e->offset, 600);
		CHECK_STR_EQ(o.e->path, rotated);
		CHECK_STR_EQ(o.e->pod_uid, "0b6c1d2e-3f40-4152-8637-48596a7b8c9d");
		CHECK_STR_EQ(o.e->container, "app");
		CHECK_INT_EQ(o.e->restart, 3);
		ckpt_get_stats(c, &stats);
		CHECK_INT_EQ(stats.resumed, 1);
		CHECK_INT_EQ(stats.restarted_identity, 0);
		CHECK_INT_EQ(stats.restarted_shrunk, 0);
		CHECK_INT_EQ(stats.load_errors, 0);
	}
out:
	cJSON_Delete(doc);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_first_byte_changed_restarts)
{
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	struct ckpt_stats stats;
	struct stat before, after;
	int fd;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(make_file(path, 1000, 'a'));
	CHECK(save_one(dir, path, 600));
	CHECK_INT_EQ(stat(path, &before), 0);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(pwrite(fd, "Z", 1, 0), 1);
		close(fd);
	}
	CHECK_INT_EQ(stat(path, &after), 0);
	CHECK_INT_EQ(after.st_ino, before.st_ino);
	CHECK_INT_EQ(after.st_size, before.st_size);
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o)) {
		CHECK_INT_EQ(o.start, 0);
		CHECK_INT_EQ(o.e->offset, 0);
		ckpt_get_stats(c, &stats);
		CHECK_INT_EQ(stats.restarted_identity, 1);
		CHECK_INT_EQ(stats.resumed, 0);
	}
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* A byte past the fingerprint changed: that is not a different file. */
TEST(test_change_after_fingerprint_resumes)
{
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	int fd;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(make_file(path, 1000, 'a'));
	CHECK(save_one(dir, path, 600));
	fd = open(path, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(pwrite(fd, "Z", 1, CKPT_FP_MAX + 10), 1);
		close(fd);
	}
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o))
		CHECK_INT_EQ(o.start, 600);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_shrunk_file_restarts)
{
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	struct ckpt_stats stats;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(make_file(path, 1000, 'a'));
	CHECK(save_one(dir, path, 600));
	CHECK_INT_EQ(truncate(path, 599), 0);
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o)) {
		CHECK_INT_EQ(o.start, 0);
		ckpt_get_stats(c, &stats);
		CHECK_INT_EQ(stats.restarted_shrunk, 1);
		CHECK_INT_EQ(stats.resumed, 0);
	}
	unclaim(c, &o, false, false);
	ckpt_free(c);
	c = NULL;

	/* exactly as long as the checkpoint: resumes at its end */
	CHECK(make_file(path, 1000, 'a'));
	CHECK(save_one(dir, path, 1000));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o))
		CHECK_INT_EQ(o.start, 1000);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_replaced_file_restarts)
{
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(make_file(path, 1000, 'a'));
	CHECK(save_one(dir, path, 600));
	/* a new file under the same name, longer than the checkpoint; the
	 * inode number may well be reused */
	CHECK_INT_EQ(unlink(path), 0);
	CHECK(make_file(path, 2000, 'q'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o)) {
		CHECK_INT_EQ(o.start, 0);
		CHECK_INT_EQ(o.e->offset, 0);
	}
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_tiny_file_fingerprint_grows)
{
	char dir[64], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	cJSON *doc;
	const cJSON *e;
	char fp5[24] = "", fp25[24] = "";
	char more[600];

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	CHECK(put_file(path, O_TRUNC, "abcd\n", 5));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c || !claim(c, path, &o))
		goto out;
	CHECK_INT_EQ(o.e->fp_len, 5);
	ckpt_mark(o.e, 1, 5);
	ckpt_confirm(c, 1);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(dir);
	e = doc ? positions_entry(doc, &o.st) : NULL;
	CHECK(e != NULL);
	if (e) {
		CHECK_INT_EQ(entry_num(e, "fp_len"), 5);
		CHECK_INT_EQ(entry_num(e, "offset"), 5);
		if (entry_str(e, "fp"))
			snprintf(fp5, sizeof(fp5), "%s", entry_str(e, "fp"));
	}
	cJSON_Delete(doc);

	/* it grows: the next save (nothing else changed) takes more bytes */
	CHECK(put_file(path, O_APPEND, "efghijklmnopqrstuvw\n", 20));
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	CHECK_INT_EQ(o.e->fp_len, 25);
	doc = read_positions(dir);
	e = doc ? positions_entry(doc, &o.st) : NULL;
	CHECK(e != NULL);
	if (e) {
		CHECK_INT_EQ(entry_num(e, "fp_len"), 25);
		CHECK_INT_EQ(entry_num(e, "offset"), 5);
		if (entry_str(e, "fp"))
			snprintf(fp25, sizeof(fp25), "%s", entry_str(e, "fp"));
		CHECK(fp5[0] && fp25[0] && strcmp(fp5, fp25) != 0);
	}
	cJSON_Delete(doc);

	/* past CKPT_FP_MAX it stops growing */
	memset(more, 'x', sizeof(more));
	more[sizeof(more) - 1] = '\n';
	CHECK(put_file(path, O_APPEND, more, sizeof(more)));
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	CHECK_INT_EQ(o.e->fp_len, CKPT_FP_MAX);
	doc = read_positions(dir);
	e = doc ? positions_entry(doc, &o.st) : NULL;
	CHECK(e != NULL);
	if (e)
		CHECK_INT_EQ(entry_num(e, "fp_len"), CKPT_FP_MAX);
	cJSON_Delete(doc);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	c = NULL;

	/* a tiny file resumes after a restart, and is told apart from another
	 * tiny file under its inode */
	CHECK(put_file(path, O_TRUNC, "abcd\n", 5));
	CHECK(save_one(dir, path, 5));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o))
		CHECK_INT_EQ(o.start, 5);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	c = NULL;
	CHECK(put_file(path, O_TRUNC, "wxyz\nmore\n", 10));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &o))
		CHECK_INT_EQ(o.start, 0);
out:
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_wants)
{
	char dir[64], pa[256], pb[256], pc[256], pd[256];
	struct ckpt *c = NULL;
	struct opened a = {.fd = -1}, b = {.fd = -1};
	struct stat sa, sb, sc, sd;
	int fd;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(pa, sizeof(pa), dir, "a.log");
	join(pb, sizeof(pb), dir, "b.log");
	join(pc, sizeof(pc), dir, "c.log");
	join(pd, sizeof(pd), dir, "d.log");
	CHECK(make_file(pa, 1000, 'a'));
	CHECK(make_file(pb, 300, 'b'));
	CHECK(make_file(pc, 300, 'c'));
	CHECK(set_mtime_ago(pc, 120)); /* not written since the last save */
	CHECK(save_one(dir, pa, 400));
	CHECK(save_one(dir, pb, 300)); /* the second state loaded a and kept it */
	CHECK(make_file(pd, 1000, 'd'));
	CHECK(save_one(dir, pd, 100));
	/* d's inode now holds other bytes (as when an inode number is reused):
	 * its checkpoint is not d's */
	fd = open(pd, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(pwrite(fd, "Z", 1, 0), 1);
		close(fd);
	}
	CHECK(set_mtime_ago(pd, 120));
	CHECK_INT_EQ(stat(pd, &sd), 0);
	CHECK_INT_EQ(stat(pa, &sa), 0);
	CHECK_INT_EQ(stat(pb, &sb), 0);
	CHECK_INT_EQ(stat(pc, &sc), 0);
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c)
		goto out;
	CHECK(ckpt_wants(c, pa, &sa));	/* unclaimed, 600 bytes left */
	CHECK(!ckpt_wants(c, pb, &sb)); /* unclaimed, read to its end */
	CHECK(!ckpt_wants(c, pc, &sc)); /* no checkpoint */
	CHECK(!ckpt_wants(c, pd, &sd)); /* a checkpoint of other bytes */
	if (claim(c, pa, &a)) {
		CHECK_INT_EQ(a.start, 400);
		CHECK(!ckpt_wants(c, pa, &sa)); /* claimed */
		ckpt_release(c, a.e, false);
		CHECK(ckpt_wants(c, pa, &sa)); /* released with bytes left */
	}
	unclaim(c, &a, false, false);
	/* b grows: bytes left again */
	CHECK(put_file(pb, O_APPEND, "more\n", 5));
	CHECK_INT_EQ(stat(pb, &sb), 0);
	CHECK(ckpt_wants(c, pb, &sb));
	if (claim(c, pb, &b)) {
		ckpt_mark(b.e, 100, 305);
		ckpt_confirm(c, 100);
		ckpt_release(c, b.e, false);
		CHECK(!ckpt_wants(c, pb, &sb)); /* released, read to its end */
	}
	unclaim(c, &b, false, false);
out:
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* copytruncate, seen live: the truncated file gets a fresh entry from 0,
 * the old entry waits as an orphan for a copy of the old content, which
 * resumes where the old content was read to. */
TEST(test_truncated_and_copy_followed)
{
	char dir[64], path[256], copy[256], other[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1}, cp = {.fd = -1};
	struct ckpt_entry *fresh = NULL;
	struct ckpt_stats stats;
	struct stat now, st_copy, st_other;
	char *old = NULL;
	size_t old_len = 0;
	cJSON *doc;
	const cJSON *e;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(copy, sizeof(copy), dir, "a.log.1");
	join(other, sizeof(other), dir, "b.log.1");
	CHECK(make_file(path, 1000, 'a'));
	CHECK(make_file(other, 1000, 'b'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c || !claim(c, path, &o))
		goto out;
	snprintf(o.e->pod_uid, sizeof(o.e->pod_uid), "%s", "uid-a");
	snprintf(o.e->container, sizeof(o.e->container), "%s", "app");
	o.e->restart = 2;
	ckpt_mark(o.e, 1, 500);
	ckpt_mark(o.e, 2, 800);
	ckpt_confirm(c, 1);
	CHECK_INT_EQ(o.e->offset, 500);

	/* the copy is made, then the file truncated and written again */
	old = testing_read_file(path, &old_len);
	CHECK(old != NULL && old_len == 1000);
	if (!old || !put_file(copy, O_TRUNC, old, old_len))
		goto out;
	CHECK(make_file(path, 40, 'z'));
	CHECK_INT_EQ(fstat(o.fd, &now), 0);
	CHECK_INT_EQ(now.st_ino, o.st.st_ino);
	fresh = ckpt_truncated(c, o.e, o.fd, &now, 800);
	CHECK(fresh != NULL);
	if (!fresh)
		goto out;
	CHECK(fresh != o.e);
	CHECK_INT_EQ(fresh->offset, 0);
	CHECK_INT_EQ(fresh->n_marks, 0);
	CHECK_INT_EQ(fresh->fp_len, 40);
	CHECK_INT_EQ(fresh->ino, now.st_ino);
	CHECK_STR_EQ(fresh->pod_uid, "uid-a");
	CHECK_STR_EQ(fresh->container, "app");
	CHECK_INT_EQ(fresh->restart, 2);
	o.e = fresh;

	/* an unrelated rotated file is not taken for the copy */
	CHECK_INT_EQ(stat(other, &st_other), 0);
	CHECK(!ckpt_wants(c, other, &st_other));
	/* the copy is: it has bytes past the orphan's checkpoint */
	CHECK_INT_EQ(stat(copy, &st_copy), 0);
	CHECK(ckpt_wants(c, copy, &st_copy));
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.copies_followed, 1);
	if (!claim(c, copy, &cp))
		goto out;
	/* the old content was handed over up to 800, delivered up to 500 */
	CHECK_INT_EQ(cp.start, 800);
	CHECK_INT_EQ(cp.e->offset, 500);
	CHECK_STR_EQ(cp.e->path, copy);
	CHECK_STR_EQ(cp.e->pod_uid, "uid-a");
	CHECK(!ckpt_wants(c, copy, &st_copy)); /* claimed now */

	/* seq 2 covered the old content: it moves the copy, not the new entry */
	ckpt_confirm(c, 2);
	CHECK_INT_EQ(cp.e->offset, 800);
	CHECK_INT_EQ(fresh->offset, 0);
	ckpt_mark(fresh, 3, 40);
	ckpt_confirm(c, 3);
	CHECK_INT_EQ(fresh->offset, 40);

	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(dir);
	if (doc) {
		CHECK_INT_EQ(positions_count(doc), 2);
		e = positions_entry(doc, &now);
		CHECK(e != NULL);
		if (e)
			CHECK_INT_EQ(entry_num(e, "offset"), 40);
		e = positions_entry(doc, &st_copy);
		CHECK(e != NULL);
		if (e) {
			CHECK_INT_EQ(entry_num(e, "offset"), 800);
			CHECK_STR_EQ(entry_str(e, "path"), copy);
		}
	}
	cJSON_Delete(doc);
out:
	free(old);
	unclaim(c, &o, false, false);
	unclaim(c, &cp, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* An orphan outlives a restart; a copy found then resumes at the confirmed
 * offset (what was handed over but not confirmed is read again). One that
 * no copy turns up for goes after the grace period. */
TEST(test_orphan_after_restart)
{
	enum { GRACE = 5000 };
	char dir[64], path[256], copy[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1}, cp = {.fd = -1};
	struct ckpt_entry *fresh;
	struct ckpt_stats stats;
	struct stat now, st_copy;
	char *old = NULL;
	size_t old_len = 0;
	int64_t after;
	cJSON *doc;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(copy, sizeof(copy), dir, "a.log.1");
	CHECK(make_file(path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c || !claim(c, path, &o))
		goto out;
	ckpt_mark(o.e, 1, 600);
	ckpt_mark(o.e, 2, 900);
	ckpt_confirm(c, 1);
	/* copytruncate: the copy first (older than any later save), then the
	 * truncation; the agent stops before it sees the copy */
	old = testing_read_file(path, &old_len);
	CHECK(old != NULL);
	if (!old || !put_file(copy, O_TRUNC, old, old_len))
		goto out;
	CHECK(set_mtime_ago(copy, 120));
	CHECK(make_file(path, 10, 'z'));
	CHECK_INT_EQ(fstat(o.fd, &now), 0);
	fresh = ckpt_truncated(c, o.e, o.fd, &now, 900);
	CHECK(fresh != NULL);
	o.e = fresh;
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	c = NULL;
	doc = read_positions(dir);
	if (doc) {
		const cJSON *files = cJSON_GetObjectItemCaseSensitive(doc, "files");
		const cJSON *it;
		int orphans = 0;
		cJSON_ArrayForEach(it, files)
		{
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "orphan"))) {
				orphans++;
				CHECK_INT_EQ(entry_num(it, "offset"), 600);
			}
		}
		CHECK_INT_EQ(orphans, 1);
	}
	cJSON_Delete(doc);

	/* after the restart the copy is found */
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	after = loop_now_ms();
	if (!c)
		goto out;
	CHECK_INT_EQ(stat(copy, &st_copy), 0);
	CHECK(ckpt_wants(c, copy, &st_copy));
	if (claim(c, copy, &cp))
		CHECK_INT_EQ(cp.start, 600);
	unclaim(c, &cp, true, true);
	ckpt_free(c);
	c = NULL;

	/* once more from the same positions.json (nothing was saved since), and
	 * no copy this time: the orphan and the unclaimed entry are kept within
	 * the grace period, then dropped */
	CHECK_INT_EQ(unlink(copy), 0);
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	after = loop_now_ms();
	if (!c)
		goto out;
	CHECK_INT_EQ(ckpt_save(c, after - 1, GRACE, true), 0);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.dropped, 0);
	doc = read_positions(dir);
	if (doc)
		CHECK_INT_EQ(positions_count(doc), 2);
	cJSON_Delete(doc);
	CHECK_INT_EQ(ckpt_save(c, after + GRACE, GRACE, false), 0);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.dropped, 2);
	doc = read_positions(dir);
	if (doc)
		CHECK_INT_EQ(positions_count(doc), 0);
	cJSON_Delete(doc);
out:
	free(old);
	unclaim(c, &o, false, false);
	unclaim(c, &cp, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* copytruncate while no agent ran: at the restart the file is shorter than
 * its checkpoint, and the copy (written after the last save) holds the old
 * content; the copy resumes at the checkpoint, not at 0. */
TEST(test_copytruncate_while_stopped)
{
	char dir[64], path[256], copy[256], pos[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1}, cp = {.fd = -1};
	struct ckpt_stats stats;
	struct stat st_copy;
	char *old = NULL;
	size_t old_len = 0;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(copy, sizeof(copy), dir, "a.log.1");
	join(pos, sizeof(pos), dir, CKPT_FILE_NAME);
	CHECK(make_file(path, 1000, 'a'));
	CHECK(save_one(dir, path, 600));
	CHECK(set_mtime_ago(pos, 60)); /* saved a while before the rotation */
	old = testing_read_file(path, &old_len);
	CHECK(old != NULL);
	if (!old || !put_file(copy, O_TRUNC, old, old_len))
		goto out;
	CHECK(make_file(path, 10, 'z'));

	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c || !claim(c, path, &o))
		goto out;
	CHECK_INT_EQ(o.start, 0);
	CHECK_INT_EQ(stat(copy, &st_copy), 0);
	CHECK(ckpt_wants(c, copy, &st_copy));
	if (claim(c, copy, &cp)) {
		if (cp.start != 600)
			fprintf(stderr,
				"  the copy starts at %" PRIu64 ": bytes 0..600, "
				"already delivered, are sent again\n",
				cp.start);
		CHECK_INT_EQ(cp.start, 600);
	}
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.restarted_shrunk, 1);
	CHECK_INT_EQ(stats.copies_followed, 1);
out:
	free(old);
	unclaim(c, &o, false, false);
	unclaim(c, &cp, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* Until ckpt_startup_done, a rotated file no checkpoint knows is wanted when
 * it was written after positions.json was saved; not when older, not
 * afterwards, and not on a first start without positions.json. */
TEST(test_unseen_rotated_until_startup_done)
{
	char dir[64], path[256], fresh[256], older[256], pos[256];
	struct ckpt *c = NULL;
	struct ckpt_stats stats;
	struct stat st_fresh, st_older;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(fresh, sizeof(fresh), dir, "b.log.1");
	join(older, sizeof(older), dir, "c.log.1");
	join(pos, sizeof(pos), dir, CKPT_FILE_NAME);
	CHECK(make_file(fresh, 100, 'b'));
	CHECK(make_file(older, 100, 'c'));
	CHECK(set_mtime_ago(older, 120));
	CHECK_INT_EQ(stat(fresh, &st_fresh), 0);
	CHECK_INT_EQ(stat(older, &st_older), 0);

	/* no positions.json: a first start, nothing was missed */
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c)
		CHECK(!ckpt_wants(c, fresh, &st_fresh));
	ckpt_free(c);
	c = NULL;

	CHECK(make_file(path, 100, 'a'));
	CHECK(save_one(dir, path, 100));
	CHECK(set_mtime_ago(pos, 60));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c)
		goto out;
	CHECK(ckpt_wants(c, fresh, &st_fresh));
	CHECK(!ckpt_wants(c, older, &st_older));
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.unseen_rotated, 1);
	ckpt_startup_done(c);
	CHECK(!ckpt_wants(c, fresh, &st_fresh));
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.unseen_rotated, 1);
out:
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_release_gone_dropped_once_confirmed)
{
	char dir[64], pa[256], pb[256];
	struct ckpt *c = NULL;
	struct opened a = {.fd = -1}, b = {.fd = -1};
	struct ckpt_stats stats;
	struct stat sa = {0}, sb = {0};
	cJSON *doc;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(pa, sizeof(pa), dir, "a.log");
	join(pb, sizeof(pb), dir, "b.log");
	CHECK(make_file(pa, 1000, 'a'));
	CHECK(make_file(pb, 1000, 'b'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c || !claim(c, pa, &a) || !claim(c, pb, &b))
		goto out;
	sa = a.st;
	sb = b.st;
	ckpt_mark(a.e, 5, 1000);
	ckpt_mark(b.e, 6, 1000);
	/* a was deleted and read to its end, its events not yet confirmed;
	 * b was closed but still exists */
	ckpt_release(c, a.e, true);
	ckpt_release(c, b.e, false);
	unclaim(c, &a, false, false);
	unclaim(c, &b, false, false);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(dir);
	if (doc) {
		CHECK(positions_entry(doc, &sa) != NULL); /* marks pending */
		CHECK(positions_entry(doc, &sb) != NULL);
	}
	cJSON_Delete(doc);
	ckpt_confirm(c, 5);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(dir);
	if (doc) {
		CHECK(positions_entry(doc, &sa) == NULL);
		CHECK(positions_entry(doc, &sb) != NULL); /* not gone: kept for a restart */
		CHECK_INT_EQ(positions_count(doc), 1);
	}
	cJSON_Delete(doc);
	ckpt_confirm(c, 6);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(dir);
	if (doc) {
		const cJSON *e = positions_entry(doc, &sb);
		CHECK(e != NULL);
		if (e)
			CHECK_INT_EQ(entry_num(e, "offset"), 1000);
	}
	cJSON_Delete(doc);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.dropped, 1);
out:
	unclaim(c, &a, false, false);
	unclaim(c, &b, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_unclaimed_dropped_after_grace)
{
	enum { GRACE = 5000 };
	char dir[64], pa[256], pb[256], pc[256];
	struct ckpt *c = NULL;
	struct opened a = {.fd = -1}, c_file = {.fd = -1};
	struct ckpt_stats stats;
	struct stat sa, sb;
	int64_t before, after, released;
	cJSON *doc;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(pa, sizeof(pa), dir, "a.log");
	join(pb, sizeof(pb), dir, "b.log");
	join(pc, sizeof(pc), dir, "c.log");
	CHECK(make_file(pa, 1000, 'a'));
	CHECK(make_file(pb, 1000, 'b'));
	CHECK(make_file(pc, 1000, 'c'));
	CHECK(save_one(dir, pa, 100));
	CHECK(save_one(dir, pb, 200));
	CHECK_INT_EQ(stat(pa, &sa), 0);
	CHECK_INT_EQ(stat(pb, &sb), 0);
	before = loop_now_ms();
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	after = loop_now_ms();
	if (!c || !claim(c, pa, &a))
		goto out;
	CHECK_INT_EQ(a.start, 100);
	/* b is not claimed: kept within the grace period, even by a forced save */
	CHECK_INT_EQ(ckpt_save(c, before + GRACE - 1, GRACE, true), 0);
	doc = read_positions(dir);
	if (doc) {
		CHECK(positions_entry(doc, &sa) != NULL);
		CHECK(positions_entry(doc, &sb) != NULL);
	}
	cJSON_Delete(doc);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.dropped, 0);
	/* the grace period is over: b goes, the claimed a stays */
	CHECK_INT_EQ(ckpt_save(c, after + GRACE, GRACE, false), 0);
	doc = read_positions(dir);
	if (doc) {
		CHECK(positions_entry(doc, &sa) != NULL);
		CHECK(positions_entry(doc, &sb) == NULL);
		CHECK_INT_EQ(positions_count(doc), 1);
	}
	cJSON_Delete(doc);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.dropped, 1);
	CHECK(!ckpt_wants(c, pb, &sb));

	/* a closed file that still exists gets a grace period from its release */
	if (claim(c, pc, &c_file)) {
		released = loop_now_ms();
		ckpt_release(c, c_file.e, false);
		unclaim(c, &c_file, false, false);
		CHECK_INT_EQ(ckpt_save(c, released, GRACE, false), 0);
		doc = read_positions(dir);
		if (doc)
			CHECK_INT_EQ(positions_count(doc), 2);
		cJSON_Delete(doc);
		CHECK_INT_EQ(ckpt_save(c, loop_now_ms() + GRACE, GRACE, false), 0);
		doc = read_positions(dir);
		if (doc)
			CHECK_INT_EQ(positions_count(doc), 1);
		cJSON_Delete(doc);
	}
out:
	unclaim(c, &a, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* The same file open under two names at once: the second starts over and
 * both entries go away cleanly. */
TEST(test_same_file_claimed_twice)
{
	char dir[64], path[256], link_path[256];
	struct ckpt *c = NULL;
	struct opened a = {.fd = -1}, b = {.fd = -1};
	cJSON *doc;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(link_path, sizeof(link_path), dir, "a.link.log");
	CHECK(make_file(path, 1000, 'a'));
	CHECK_INT_EQ(link(path, link_path), 0);
	CHECK(save_one(dir, path, 300));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c && claim(c, path, &a) && claim(c, link_path, &b)) {
		CHECK_INT_EQ(a.start, 300);
		CHECK_INT_EQ(b.start, 0);
		CHECK(a.e != b.e);
		ckpt_mark(a.e, 1, 1000);
		ckpt_mark(b.e, 2, 1000);
		ckpt_release(c, a.e, true);
		ckpt_release(c, b.e, true);
		ckpt_confirm(c, 2);
		CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
		doc = read_positions(dir);
		if (doc)
			CHECK_INT_EQ(positions_count(doc), 0);
		cJSON_Delete(doc);
	}
	unclaim(c, &a, false, false);
	unclaim(c, &b, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* ---- bad input and failures ---- */

TEST(test_corrupt_file_moved_aside)
{
	static const char garbage[] = "this is {not \"json at all";
	char dir[64], path[256], pos[256], bad[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	struct ckpt_stats stats;
	char *text;
	size_t len = 0;
	cJSON *doc;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(pos, sizeof(pos), dir, CKPT_FILE_NAME);
	join(bad, sizeof(bad), dir, CKPT_FILE_NAME ".bad");
	CHECK(make_file(path, 1000, 'a'));
	CHECK(save_one(dir, path, 600));
	CHECK(put_file(pos, O_TRUNC, garbage, sizeof(garbage) - 1));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c)
		goto out;
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.load_errors, 1);
	CHECK(!exists(dir, CKPT_FILE_NAME));
	text = testing_read_file(bad, &len);
	CHECK(text != NULL);
	if (text)
		CHECK_MEM_EQ(text, len, garbage, sizeof(garbage) - 1);
	free(text);
	if (claim(c, path, &o)) {
		CHECK_INT_EQ(o.start, 0);
		ckpt_mark(o.e, 1, 100);
		ckpt_confirm(c, 1);
	}
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(dir);
	if (doc)
		CHECK_INT_EQ(positions_count(doc), 1);
	cJSON_Delete(doc);
	CHECK(exists(dir, CKPT_FILE_NAME ".bad"));
	unclaim(c, &o, false, false);
	ckpt_free(c);
	c = NULL;

	/* valid JSON that is not a positions file goes the same way */
	CHECK(put_file(pos, O_TRUNC, "[1,2,3]", 7));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c) {
		ckpt_get_stats(c, &stats);
		CHECK_INT_EQ(stats.load_errors, 1);
		CHECK(!exists(dir, CKPT_FILE_NAME));
		text = testing_read_file(bad, &len);
		if (text)
			CHECK_MEM_EQ(text, len, "[1,2,3]", 7);
		free(text);
	}
	ckpt_free(c);
	c = NULL;

	/* an empty file too */
	CHECK(put_file(pos, O_TRUNC, "", 0));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (c) {
		ckpt_get_stats(c, &stats);
		CHECK_INT_EQ(stats.load_errors, 1);
		CHECK(!exists(dir, CKPT_FILE_NAME));
	}
out:
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

enum bad_kind {
	GOOD,
	NEGATIVE_OFFSET,
	FP_LEN_OVER_MAX,
	NO_INO,
	TEXT_DEV,
	STRING_OFFSET,
	TEXT_FP,
	N_KINDS,
};

TEST(test_invalid_entries_skipped)
{
	static const char *const names[N_KINDS] = {
	    "good.log", "neg.log", "fplen.log", "noino.log", "dev.log", "stroff.log", "fp.log",
	};
	char dir[64], paths[N_KINDS + 1][256], pos[256];
	struct ckpt *c = NULL;
	struct opened o[N_KINDS + 1];
	struct stat st[N_KINDS + 1];
	struct ckpt_stats stats;
	cJSON *doc = NULL, *files;
	char *text = NULL;

	for (int i = 0; i <= N_KINDS; i++)
		o[i].fd = -1;
	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(pos, sizeof(pos), dir, CKPT_FILE_NAME);
	for (int i = 0; i < N_KINDS; i++) {
		join(paths[i], sizeof(paths[i]), dir, names[i]);
		CHECK(make_file(paths[i], 1000, (char)('a' + i)));
	}
	/* a second good one */
	join(paths[N_KINDS], sizeof(paths[N_KINDS]), dir, "good2.log");
	CHECK(make_file(paths[N_KINDS], 1000, 'x'));

	/* real entries first, then spoil all but the good ones */
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c)
		goto out;
	for (int i = 0; i <= N_KINDS; i++) {
		if (!claim(c, paths[i], &o[i]))
			goto out;
		st[i] = o[i].st;
		ckpt_mark(o[i].e, 1, 100 + (uint64_t)i);
	}
	ckpt_confirm(c, 1);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	for (int i = 0; i <= N_KINDS; i++)
		unclaim(c, &o[i], false, false);
	ckpt_free(c);
	c = NULL;

	doc = read_positions(dir);
	if (!doc)
		goto out;
	for (int i = 1; i < N_KINDS; i++) {
		cJSON *e = positions_entry(doc, &st[i]);
		CHECK(e != NULL);
		if (!e)
			goto out;
		switch (i) {
		case NEGATIVE_OFFSET:
			cJSON_ReplaceItemInObjectCaseSensitive(e, "offset", cJSON_CreateNumber(-5));
			break;
		case FP_LEN_OVER_MAX:
			cJSON_ReplaceItemInObjectCaseSensitive(e, "fp_len",
							       cJSON_CreateNumber(CKPT_FP_MAX + 1));
			break;
		case NO_INO:
			cJSON_DeleteItemFromObjectCaseSensitive(e, "ino");
			break;
		case TEXT_DEV:
			cJSON_ReplaceItemInObjectCaseSensitive(e, "dev", cJSON_CreateString("abc"));
			break;
		case STRING_OFFSET:
			cJSON_ReplaceItemInObjectCaseSensitive(e, "offset",
							       cJSON_CreateString("104"));
			break;
		case TEXT_FP:
			cJSON_ReplaceItemInObjectCaseSensitive(e, "fp", cJSON_CreateString("xyz"));
			break;
		}
	}
	files = cJSON_GetObjectItemCaseSensitive(doc, "files");
	cJSON_AddItemToArray(files, cJSON_CreateNumber(42)); /* not an object at all */
	text = cJSON_PrintUnformatted(doc);
	CHECK(text != NULL);
	if (!text || !put_file(pos, O_TRUNC, text, strlen(text)))
		goto out;

	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c)
		goto out;
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.load_errors, N_KINDS - 1 + 1);
	CHECK(exists(dir, CKPT_FILE_NAME)); /* entries were bad, not the file */
	CHECK(!exists(dir, CKPT_FILE_NAME ".bad"));
	for (int i = 0; i <= N_KINDS; i++) {
		bool good = i == GOOD || i == N_KINDS;
		if (!claim(c, paths[i], &o[i]))
			continue;
		if (o[i].start != (good ? 100 + (uint64_t)i : 0)) {
			fprintf(stderr, "  %s starts at %" PRIu64 "\n", paths[i], o[i].start);
			CHECK(o[i].start == (good ? 100 + (uint64_t)i : 0));
		}
	}
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.resumed, 2);
out:
	for (int i = 0; i <= N_KINDS; i++)
		unclaim(c, &o[i], false, false);
	free(text);
	cJSON_Delete(doc);
	ckpt_free(c);
	testing_remove_tree(dir);
}

TEST(test_failed_save_keeps_last_good_file)
{
	char dir[64], path[256], pos[256], tmp[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	struct ckpt_stats stats;
	char *good = NULL, *now = NULL;
	size_t good_len = 0, now_len = 0;
	int err;
	cJSON *doc;
	const cJSON *e;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(pos, sizeof(pos), dir, CKPT_FILE_NAME);
	join(tmp, sizeof(tmp), dir, CKPT_FILE_NAME ".tmp");
	CHECK(make_file(path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c || !claim(c, path, &o))
		goto out;
	ckpt_mark(o.e, 1, 100);
	ckpt_confirm(c, 1);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	good = testing_read_file(pos, &good_len);
	CHECK(good != NULL);

	/* the temporary file cannot be opened for writing */
	CHECK_INT_EQ(mkdir(tmp, 0700), 0);
	ckpt_mark(o.e, 2, 200);
	ckpt_confirm(c, 2);
	err = ckpt_save(c, loop_now_ms(), GRACE_MS, false);
	CHECK(err < 0);
	CHECK_INT_EQ(err, -EISDIR);
	err = ckpt_save(c, loop_now_ms(), GRACE_MS, true);
	CHECK(err < 0);
	now = testing_read_file(pos, &now_len);
	CHECK(now != NULL);
	if (good && now)
		CHECK_MEM_EQ(now, now_len, good, good_len);
	free(now);
	now = NULL;
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.saves, 1);
	CHECK_INT_EQ(stats.save_errors, 2);

	/* it works again: the change that could not be saved is saved now,
	 * without force */
	CHECK_INT_EQ(rmdir(tmp), 0);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(dir);
	e = doc ? positions_entry(doc, &o.st) : NULL;
	CHECK(e != NULL);
	if (e)
		CHECK_INT_EQ(entry_num(e, "offset"), 200);
	cJSON_Delete(doc);
	CHECK(!exists(dir, CKPT_FILE_NAME ".tmp"));
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.saves, 2);
	CHECK_INT_EQ(stats.save_errors, 2);
out:
	free(good);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* The rename over positions.json fails: the error is returned and no
 * positions.json.tmp is left behind. */
TEST(test_failed_rename_leaves_no_tmp)
{
	char dir[64], path[256], pos[256], inside[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(path, sizeof(path), dir, "a.log");
	join(pos, sizeof(pos), dir, CKPT_FILE_NAME);
	join(inside, sizeof(inside), pos, "keep");
	CHECK(make_file(path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	/* a non-empty directory where positions.json goes */
	CHECK_INT_EQ(mkdir(pos, 0700), 0);
	CHECK(put_file(inside, O_TRUNC, "x", 1));
	if (c && claim(c, path, &o)) {
		CHECK(ckpt_save(c, loop_now_ms(), GRACE_MS, false) < 0);
		CHECK(!exists(dir, CKPT_FILE_NAME ".tmp"));
		CHECK(exists(dir, CKPT_FILE_NAME "/keep"));
	}
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* The state dir went away (moved): saving fails, the file that was written
 * stays as it was. */
TEST(test_save_into_missing_dir)
{
	char dir[64], state[256], moved[256], path[256], pos[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	struct ckpt_stats stats;
	char *good = NULL, *now = NULL;
	size_t good_len = 0, now_len = 0;
	int err;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(state, sizeof(state), dir, "state");
	join(moved, sizeof(moved), dir, "moved");
	join(path, sizeof(path), dir, "a.log");
	join(pos, sizeof(pos), moved, CKPT_FILE_NAME);
	CHECK_INT_EQ(mkdir(state, 0700), 0);
	CHECK(make_file(path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, state), 0);
	if (!c || !claim(c, path, &o))
		goto out;
	ckpt_mark(o.e, 1, 100);
	ckpt_confirm(c, 1);
	CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), 0);
	CHECK_INT_EQ(rename(state, moved), 0);
	good = testing_read_file(pos, &good_len);
	CHECK(good != NULL);
	ckpt_mark(o.e, 2, 200);
	ckpt_confirm(c, 2);
	err = ckpt_save(c, loop_now_ms(), GRACE_MS, false);
	CHECK_INT_EQ(err, -ENOENT);
	now = testing_read_file(pos, &now_len);
	CHECK(now != NULL);
	if (good && now)
		CHECK_MEM_EQ(now, now_len, good, good_len);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.save_errors, 1);
out:
	free(good);
	free(now);
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* A state dir under a regular file: nothing to load (counted), nothing can be
 * saved, collection still starts (from 0). */
TEST(test_state_dir_under_a_file)
{
	char dir[64], file[256], state[256], path[256];
	struct ckpt *c = NULL;
	struct opened o = {.fd = -1};
	struct ckpt_stats stats;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(file, sizeof(file), dir, "plain");
	join(state, sizeof(state), file, "state");
	join(path, sizeof(path), dir, "a.log");
	CHECK(put_file(file, O_TRUNC, "x", 1));
	CHECK(make_file(path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&c, state), 0);
	if (c && claim(c, path, &o)) {
		CHECK_INT_EQ(o.start, 0);
		CHECK_INT_EQ(ckpt_save(c, loop_now_ms(), GRACE_MS, false), -ENOTDIR);
		ckpt_get_stats(c, &stats);
		CHECK_INT_EQ(stats.load_errors, 1);
		CHECK_INT_EQ(stats.save_errors, 1);
		CHECK_INT_EQ(stats.saves, 0);
	}
	unclaim(c, &o, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

/* One restart with a file of every kind; each counter counts its own. */
TEST(test_stats)
{
	char dir[64], pr[256], pi[256], ps[256], pd[256];
	struct ckpt *c = NULL;
	struct opened r = {.fd = -1}, i = {.fd = -1}, s = {.fd = -1};
	struct ckpt_stats stats;
	int64_t claimed;
	int n_before;
	cJSON *doc;

	if (testing_mkdtemp(dir, sizeof(dir), "ckpt") != 0)
		SKIP("no temp dir");
	join(pr, sizeof(pr), dir, "resumed.log");
	join(pi, sizeof(pi), dir, "identity.log");
	join(ps, sizeof(ps), dir, "shrunk.log");
	join(pd, sizeof(pd), dir, "dropped.log");
	CHECK(make_file(pr, 1000, 'r'));
	CHECK(make_file(pi, 1000, 'i'));
	CHECK(make_file(ps, 1000, 's'));
	CHECK(make_file(pd, 1000, 'd'));
	CHECK(save_one(dir, pr, 500));
	CHECK(save_one(dir, pi, 500));
	CHECK(save_one(dir, ps, 500));
	CHECK(save_one(dir, pd, 500));
	CHECK(make_file(pi, 1000, 'j')); /* same inode, other bytes */
	CHECK_INT_EQ(truncate(ps, 10), 0);
	CHECK_INT_EQ(ckpt_open(&c, dir), 0);
	if (!c)
		goto out;
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.saves, 0);
	CHECK_INT_EQ(stats.load_errors, 0);
	if (claim(c, pr, &r) && claim(c, pi, &i) && claim(c, ps, &s)) {
		CHECK_INT_EQ(r.start, 500);
		CHECK_INT_EQ(i.start, 0);
		CHECK_INT_EQ(s.start, 0);
	}
	claimed = loop_now_ms();
	/* within the grace period nothing goes; after it, every entry no file
	 * claimed (the unused one and what the changed files left behind) */
	CHECK_INT_EQ(ckpt_save(c, claimed, 1000, true), 0);
	doc = read_positions(dir);
	n_before = doc ? positions_count(doc) : -1;
	cJSON_Delete(doc);
	CHECK(n_before >= 4);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.dropped, 0);
	CHECK_INT_EQ(ckpt_save(c, claimed + 1000, 1000, false), 0);
	doc = read_positions(dir);
	if (doc) {
		CHECK_INT_EQ(positions_count(doc), 3);
		CHECK(positions_entry(doc, &r.st) != NULL);
	}
	cJSON_Delete(doc);
	ckpt_get_stats(c, &stats);
	CHECK_INT_EQ(stats.resumed, 1);
	CHECK_INT_EQ(stats.restarted_identity, 1);
	CHECK_INT_EQ(stats.restarted_shrunk, 1);
	CHECK_INT_EQ(stats.dropped, n_before - 3);
	CHECK_INT_EQ(stats.copies_followed, 0);
	CHECK_INT_EQ(stats.saves, 2);
	CHECK_INT_EQ(stats.save_errors, 0);
	CHECK_INT_EQ(stats.load_errors, 0);
out:
	unclaim(c, &r, false, false);
	unclaim(c, &i, false, false);
	unclaim(c, &s, false, false);
	ckpt_free(c);
	testing_remove_tree(dir);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	RUN(test_new_file_starts_at_zero);
	RUN(test_confirm_stops_at_confirmed_seq);
	RUN(test_confirm_touches_only_marked_entries);
	RUN(test_merged_marks_never_overtake);
	RUN(test_merge_at_the_limit);
	RUN(test_save_is_atomic_and_resumes);
	RUN(test_first_byte_changed_restarts);
	RUN(test_change_after_fingerprint_resumes);
	RUN(test_shrunk_file_restarts);
	RUN(test_replaced_file_restarts);
	RUN(test_tiny_file_fingerprint_grows);
	RUN(test_wants);
	RUN(test_truncated_and_copy_followed);
	RUN(test_orphan_after_restart);
	RUN(test_copytruncate_while_stopped);
	RUN(test_unseen_rotated_until_startup_done);
	RUN(test_release_gone_dropped_once_confirmed);
	RUN(test_unclaimed_dropped_after_grace);
	RUN(test_same_file_claimed_twice);
	RUN(test_corrupt_file_moved_aside);
	RUN(test_invalid_entries_skipped);
	RUN(test_failed_save_keeps_last_good_file);
	RUN(test_failed_rename_leaves_no_tmp);
	RUN(test_save_into_missing_dir);
	RUN(test_state_dir_under_a_file);
	RUN(test_stats);
	return testing_done();
}
