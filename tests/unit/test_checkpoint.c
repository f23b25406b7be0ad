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

/* ---- a test's state dir ---- */

struct fixture {
	char dir[64];	 /* a temporary dir, the state dir of most tests */
	char path[256];	 /* dir/a.log, the file most tests read */
	struct ckpt *c;	 /* the state opened, or NULL */
	struct opened o; /* the file claimed, or fd -1 */
};

/* Makes the temporary dir; false when there is none (the test skips). */
static bool fixture_setup(struct fixture *f)
{
	f->c = NULL;
	f->o = (struct opened){.fd = -1};
	if (testing_mkdtemp(f->dir, sizeof(f->dir), "ckpt") != 0)
		return false;
	join(f->path, sizeof(f->path), f->dir, "a.log");
	return true;
}

/* Opens the state in f->dir, as an agent that starts; whether it opened (the
 * failure checked). */
static bool fixture_start(struct fixture *f)
{
	CHECK_INT_EQ(ckpt_open(&f->c, f->dir), 0);
	return f->c != NULL;
}

/* Opens the state in f->dir and claims path as f->o; whether both worked (a
 * failure checked). */
static bool start_and_claim(struct fixture *f, const char *path)
{
	return fixture_start(f) && claim(f->c, path, &f->o);
}

/* Writes f->path (size bytes), opens the state and claims the file as f->o;
 * whether it was claimed (each step checked). */
static bool claim_new_file(struct fixture *f, size_t size)
{
	CHECK(make_file(f->path, size, 'a'));
	return start_and_claim(f, f->path);
}

/* Closes f->o and frees the state without saving, as an agent that stops. */
static void fixture_stop(struct fixture *f)
{
	unclaim(f->c, &f->o, false, false);
	ckpt_free(f->c);
	f->c = NULL;
}

/* Stops, then removes the temporary dir with everything in it. */
static void fixture_teardown(struct fixture *f)
{
	fixture_stop(f);
	testing_remove_tree(f->dir);
}

/* Writes f->path (size bytes) and saves a state that read it up to offset,
 * both steps checked. */
static void make_and_save(struct fixture *f, size_t size, uint64_t offset)
{
	CHECK(make_file(f->path, size, 'a'));
	CHECK(save_one(f->dir, f->path, offset));
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

/* Overwrites the byte at offset in path with 'Z', in place (same inode, same
 * size); each step checked. */
static void overwrite_byte(const char *path, off_t offset)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(pwrite(fd, "Z", 1, offset), 1);
		close(fd);
	}
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
	struct fixture f;
	struct ckpt_stats stats;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	if (claim_new_file(&f, 100)) {
		CHECK_INT_EQ(f.o.start, 0);
		CHECK_INT_EQ(f.o.e->offset, 0);
		CHECK_INT_EQ(f.o.e->dev, f.o.st.st_dev);
		CHECK_INT_EQ(f.o.e->ino, f.o.st.st_ino);
		CHECK_INT_EQ(f.o.e->fp_len, 100);
		CHECK_STR_EQ(f.o.e->path, f.path);
		ckpt_get_stats(f.c, &stats);
		CHECK_INT_EQ(stats.resumed, 0);
		CHECK_INT_EQ(stats.load_errors, 0);
	}
	/* no positions.json yet: nothing was saved */
	CHECK(!exists(f.dir, CKPT_FILE_NAME));
	fixture_teardown(&f);
}

TEST(test_confirm_stops_at_confirmed_seq)
{
	struct fixture f;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	if (claim_new_file(&f, 1000)) {
		ckpt_mark(f.o.e, 10, 100);
		ckpt_mark(f.o.e, 20, 200);
		ckpt_mark(f.o.e, 30, 300);
		CHECK_INT_EQ(f.o.e->offset, 0); /* marked is not delivered */
		ckpt_confirm(f.c, 9);
		CHECK_INT_EQ(f.o.e->offset, 0);
		ckpt_confirm(f.c, 20);
		CHECK_INT_EQ(f.o.e->offset, 200);
		CHECK_INT_EQ(f.o.e->n_marks, 1); /* seq 30 stays */
		ckpt_confirm(f.c, 29);
		CHECK_INT_EQ(f.o.e->offset, 200);
		ckpt_confirm(f.c, 30);
		CHECK_INT_EQ(f.o.e->offset, 300);
		CHECK_INT_EQ(f.o.e->n_marks, 0);
		/* an older confirmation after a newer one moves nothing back */
		ckpt_confirm(f.c, 10);
		CHECK_INT_EQ(f.o.e->offset, 300);
		/* two marks with one seq (events of one batch) merge, the later wins */
		ckpt_mark(f.o.e, 40, 400);
		ckpt_mark(f.o.e, 40, 450);
		CHECK_INT_EQ(f.o.e->n_marks, 1);
		ckpt_confirm(f.c, 39);
		CHECK_INT_EQ(f.o.e->offset, 300);
		ckpt_confirm(f.c, 40);
		CHECK_INT_EQ(f.o.e->offset, 450);
	}
	fixture_teardown(&f);
}

TEST(test_confirm_touches_only_marked_entries)
{
	char pa[256], pb[256];
	struct fixture f;
	struct opened a = {.fd = -1}, b = {.fd = -1};

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pa, sizeof(pa), f.dir, "a.log");
	join(pb, sizeof(pb), f.dir, "b.log");
	CHECK(make_file(pa, 1000, 'a'));
	CHECK(make_file(pb, 1000, 'b'));
	if (fixture_start(&f) && claim(f.c, pa, &a) && claim(f.c, pb, &b)) {
		/* the files' events interleave in one sequence */
		ckpt_mark(a.e, 1, 50);
		ckpt_mark(b.e, 2, 70);
		ckpt_mark(a.e, 3, 120);
		ckpt_mark(b.e, 4, 160);
		ckpt_confirm(f.c, 2);
		CHECK_INT_EQ(a.e->offset, 50);
		CHECK_INT_EQ(b.e->offset, 70);
		ckpt_confirm(f.c, 3);
		CHECK_INT_EQ(a.e->offset, 120);
		CHECK_INT_EQ(b.e->offset, 70);
		ckpt_confirm(f.c, 100);
		CHECK_INT_EQ(a.e->offset, 120);
		CHECK_INT_EQ(b.e->offset, 160);
	}
	unclaim(f.c, &a, false, false);
	unclaim(f.c, &b, false, false);
	fixture_teardown(&f);
}

/* More marks than CKPT_MARKS pending, confirmed in uneven steps while new
 * marks keep coming: the offset never passes the mark of the confirmed seq
 * and reaches the last one once everything is confirmed. */
TEST(test_merged_marks_never_overtake)
{
	enum { N = CKPT_MARKS * 5 + 3 };
	struct fixture f;
	uint64_t marked = 0, confirmed = 0, last_offset = 0;
	const uint64_t steps[] = {1, 3, 0, 17, 2, 0, 0, 40, 5};
	size_t step = 0;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	if (!claim_new_file(&f, N * 10))
		goto out;
	/* seq s covers the bytes before s * 10 */
	while (marked < N || confirmed < N) {
		for (int i = 0; i < 7 && marked < N; i++) {
			marked++;
			ckpt_mark(f.o.e, marked, marked * 10);
			CHECK(f.o.e->n_marks <= CKPT_MARKS);
		}
		confirmed += steps[step++ % (sizeof(steps) / sizeof(steps[0]))];
		if (confirmed > marked)
			confirmed = marked;
		ckpt_confirm(f.c, confirmed);
		if (f.o.e->offset > confirmed * 10) {
			fprintf(stderr,
				"  confirmed seq %" PRIu64 " (offset %" PRIu64
				") but the offset is %" PRIu64 "\n",
				confirmed, confirmed * 10, f.o.e->offset);
			CHECK(f.o.e->offset <= confirmed * 10);
			break;
		}
		CHECK(f.o.e->offset >= last_offset);
		last_offset = f.o.e->offset;
	}
	ckpt_confirm(f.c, N);
	CHECK_INT_EQ(f.o.e->offset, N * 10);
	CHECK_INT_EQ(f.o.e->n_marks, 0);
out:
	fixture_teardown(&f);
}

/* Exactly CKPT_MARKS + 1 marks, then a confirmation of the one before the
 * last: the merged last mark must not be taken. */
TEST(test_merge_at_the_limit)
{
	struct fixture f;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	if (claim_new_file(&f, 10000)) {
		for (uint64_t s = 1; s <= CKPT_MARKS + 1; s++)
			ckpt_mark(f.o.e, s, s * 100);
		CHECK_INT_EQ(f.o.e->n_marks, CKPT_MARKS);
		ckpt_confirm(f.c, CKPT_MARKS);
		CHECK(f.o.e->offset <= CKPT_MARKS * 100);
		CHECK(f.o.e->offset >= (CKPT_MARKS - 1) * 100);
		ckpt_confirm(f.c, CKPT_MARKS + 1);
		CHECK_INT_EQ(f.o.e->offset, (CKPT_MARKS + 1) * 100);
	}
	fixture_teardown(&f);
}

/* ---- saving and resuming ---- */

TEST(test_save_is_atomic_and_resumes)
{
	char rotated[256], pos[256];
	struct fixture f;
	struct ckpt_stats stats;
	struct stat st;
	cJSON *doc = NULL;
	const cJSON *e;
	char num[24];

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(rotated, sizeof(rotated), f.dir, "a.log.1");
	join(pos, sizeof(pos), f.dir, CKPT_FILE_NAME);
	if (!claim_new_file(&f, 1000))
		goto out;
	snprintf(f.o.e->pod_uid, sizeof(f.o.e->pod_uid), "%s",
		 "0b6c1d2e-3f40-4152-8637-48596a7b8c9d");
	snprintf(f.o.e->container, sizeof(f.o.e->container), "%s", "app");
	f.o.e->restart = 3;
	ckpt_mark(f.o.e, 5, 600);
	ckpt_mark(f.o.e, 9, 900);
	ckpt_confirm(f.c, 5);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.saves, 1);
	CHECK_INT_EQ(stats.save_errors, 0);

	CHECK_INT_EQ(stat(pos, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_INT_EQ(st.st_mode & 07777, 0600);
	CHECK(!exists(f.dir, CKPT_FILE_NAME ".tmp"));
	doc = read_positions(f.dir);
	if (doc) {
		CHECK_INT_EQ(entry_num(doc, "version"), 1);
		CHECK_INT_EQ(positions_count(doc), 1);
		e = positions_entry(doc, &f.o.st);
		CHECK(e != NULL);
		if (e) {
			CHECK_STR_EQ(entry_str(e, "path"), f.path);
			snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)f.o.st.st_dev);
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
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.saves, 1);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, true), 0);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.saves, 2);
	fixture_stop(&f);

	/* a restart: the same file, found under its rotated name, resumes */
	CHECK_INT_EQ(rename(f.path, rotated), 0);
	if (start_and_claim(&f, rotated)) {
		CHECK_INT_EQ(f.o.start, 600);
		CHECK_INT_EQ(f.o.e->offset, 600);
		CHECK_STR_EQ(f.o.e->path, rotated);
		CHECK_STR_EQ(f.o.e->pod_uid, "0b6c1d2e-3f40-4152-8637-48596a7b8c9d");
		CHECK_STR_EQ(f.o.e->container, "app");
		CHECK_INT_EQ(f.o.e->restart, 3);
		ckpt_get_stats(f.c, &stats);
		CHECK_INT_EQ(stats.resumed, 1);
		CHECK_INT_EQ(stats.restarted_identity, 0);
		CHECK_INT_EQ(stats.restarted_shrunk, 0);
		CHECK_INT_EQ(stats.load_errors, 0);
	}
out:
	cJSON_Delete(doc);
	fixture_teardown(&f);
}

TEST(test_first_byte_changed_restarts)
{
	struct fixture f;
	struct ckpt_stats stats;
	struct stat before, after;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	make_and_save(&f, 1000, 600);
	CHECK_INT_EQ(stat(f.path, &before), 0);
	overwrite_byte(f.path, 0);
	CHECK_INT_EQ(stat(f.path, &after), 0);
	CHECK_INT_EQ(after.st_ino, before.st_ino);
	CHECK_INT_EQ(after.st_size, before.st_size);
	if (start_and_claim(&f, f.path)) {
		CHECK_INT_EQ(f.o.start, 0);
		CHECK_INT_EQ(f.o.e->offset, 0);
		ckpt_get_stats(f.c, &stats);
		CHECK_INT_EQ(stats.restarted_identity, 1);
		CHECK_INT_EQ(stats.resumed, 0);
	}
	fixture_teardown(&f);
}

/* A byte past the fingerprint changed: that is not a different file. */
TEST(test_change_after_fingerprint_resumes)
{
	struct fixture f;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	make_and_save(&f, 1000, 600);
	overwrite_byte(f.path, CKPT_FP_MAX + 10);
	if (start_and_claim(&f, f.path))
		CHECK_INT_EQ(f.o.start, 600);
	fixture_teardown(&f);
}

TEST(test_shrunk_file_restarts)
{
	struct fixture f;
	struct ckpt_stats stats;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	make_and_save(&f, 1000, 600);
	CHECK_INT_EQ(truncate(f.path, 599), 0);
	if (start_and_claim(&f, f.path)) {
		CHECK_INT_EQ(f.o.start, 0);
		ckpt_get_stats(f.c, &stats);
		CHECK_INT_EQ(stats.restarted_shrunk, 1);
		CHECK_INT_EQ(stats.resumed, 0);
	}
	fixture_stop(&f);

	/* exactly as long as the checkpoint: resumes at its end */
	make_and_save(&f, 1000, 1000);
	if (start_and_claim(&f, f.path))
		CHECK_INT_EQ(f.o.start, 1000);
	fixture_teardown(&f);
}

TEST(test_replaced_file_restarts)
{
	struct fixture f;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	make_and_save(&f, 1000, 600);
	/* a new file under the same name, longer than the checkpoint; the
	 * inode number may well be reused */
	CHECK_INT_EQ(unlink(f.path), 0);
	CHECK(make_file(f.path, 2000, 'q'));
	if (start_and_claim(&f, f.path)) {
		CHECK_INT_EQ(f.o.start, 0);
		CHECK_INT_EQ(f.o.e->offset, 0);
	}
	fixture_teardown(&f);
}

TEST(test_tiny_file_fingerprint_grows)
{
	struct fixture f;
	cJSON *doc;
	const cJSON *e;
	char fp5[24] = "", fp25[24] = "";
	char more[600];

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	CHECK(put_file(f.path, O_TRUNC, "abcd\n", 5));
	if (!start_and_claim(&f, f.path))
		goto out;
	CHECK_INT_EQ(f.o.e->fp_len, 5);
	ckpt_mark(f.o.e, 1, 5);
	ckpt_confirm(f.c, 1);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(f.dir);
	e = doc ? positions_entry(doc, &f.o.st) : NULL;
	CHECK(e != NULL);
	if (e) {
		CHECK_INT_EQ(entry_num(e, "fp_len"), 5);
		CHECK_INT_EQ(entry_num(e, "offset"), 5);
		if (entry_str(e, "fp"))
			snprintf(fp5, sizeof(fp5), "%s", entry_str(e, "fp"));
	}
	cJSON_Delete(doc);

	/* it grows: the next save (nothing else changed) takes more bytes */
	CHECK(put_file(f.path, O_APPEND, "efghijklmnopqrstuvw\n", 20));
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	CHECK_INT_EQ(f.o.e->fp_len, 25);
	doc = read_positions(f.dir);
	e = doc ? positions_entry(doc, &f.o.st) : NULL;
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
	CHECK(put_file(f.path, O_APPEND, more, sizeof(more)));
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	CHECK_INT_EQ(f.o.e->fp_len, CKPT_FP_MAX);
	doc = read_positions(f.dir);
	e = doc ? positions_entry(doc, &f.o.st) : NULL;
	CHECK(e != NULL);
	if (e)
		CHECK_INT_EQ(entry_num(e, "fp_len"), CKPT_FP_MAX);
	cJSON_Delete(doc);
	fixture_stop(&f);

	/* a tiny file resumes after a restart, and is told apart from another
	 * tiny file under its inode */
	CHECK(put_file(f.path, O_TRUNC, "abcd\n", 5));
	CHECK(save_one(f.dir, f.path, 5));
	if (start_and_claim(&f, f.path))
		CHECK_INT_EQ(f.o.start, 5);
	fixture_stop(&f);
	CHECK(put_file(f.path, O_TRUNC, "wxyz\nmore\n", 10));
	if (start_and_claim(&f, f.path))
		CHECK_INT_EQ(f.o.start, 0);
out:
	fixture_teardown(&f);
}

TEST(test_wants)
{
	char pa[256], pb[256], pc[256], pd[256];
	struct fixture f;
	struct opened a = {.fd = -1}, b = {.fd = -1};
	struct stat sa, sb, sc, sd;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pa, sizeof(pa), f.dir, "a.log");
	join(pb, sizeof(pb), f.dir, "b.log");
	join(pc, sizeof(pc), f.dir, "c.log");
	join(pd, sizeof(pd), f.dir, "d.log");
	CHECK(make_file(pa, 1000, 'a'));
	CHECK(make_file(pb, 300, 'b'));
	CHECK(make_file(pc, 300, 'c'));
	CHECK(set_mtime_ago(pc, 120)); /* not written since the last save */
	CHECK(save_one(f.dir, pa, 400));
	CHECK(save_one(f.dir, pb, 300)); /* the second state loaded a and kept it */
	CHECK(make_file(pd, 1000, 'd'));
	CHECK(save_one(f.dir, pd, 100));
	/* d's inode now holds other bytes (as when an inode number is reused):
	 * its checkpoint is not d's */
	overwrite_byte(pd, 0);
	CHECK(set_mtime_ago(pd, 120));
	CHECK_INT_EQ(stat(pd, &sd), 0);
	CHECK_INT_EQ(stat(pa, &sa), 0);
	CHECK_INT_EQ(stat(pb, &sb), 0);
	CHECK_INT_EQ(stat(pc, &sc), 0);
	if (!fixture_start(&f))
		goto out;
	CHECK(ckpt_wants(f.c, pa, &sa));  /* unclaimed, 600 bytes left */
	CHECK(!ckpt_wants(f.c, pb, &sb)); /* unclaimed, read to its end */
	CHECK(!ckpt_wants(f.c, pc, &sc)); /* no checkpoint */
	CHECK(!ckpt_wants(f.c, pd, &sd)); /* a checkpoint of other bytes */
	if (claim(f.c, pa, &a)) {
		CHECK_INT_EQ(a.start, 400);
		CHECK(!ckpt_wants(f.c, pa, &sa)); /* claimed */
		ckpt_release(f.c, a.e, false);
		CHECK(ckpt_wants(f.c, pa, &sa)); /* released with bytes left */
	}
	unclaim(f.c, &a, false, false);
	/* b grows: bytes left again */
	CHECK(put_file(pb, O_APPEND, "more\n", 5));
	CHECK_INT_EQ(stat(pb, &sb), 0);
	CHECK(ckpt_wants(f.c, pb, &sb));
	if (claim(f.c, pb, &b)) {
		ckpt_mark(b.e, 100, 305);
		ckpt_confirm(f.c, 100);
		ckpt_release(f.c, b.e, false);
		CHECK(!ckpt_wants(f.c, pb, &sb)); /* released, read to its end */
	}
	unclaim(f.c, &b, false, false);
out:
	fixture_teardown(&f);
}

/* copytruncate, seen live: the truncated file gets a fresh entry from 0,
 * the old entry waits as an orphan for a copy of the old content, which
 * resumes where the old content was read to. */
TEST(test_truncated_and_copy_followed)
{
	char copy[256], other[256];
	struct fixture f;
	struct opened cp = {.fd = -1};
	struct ckpt_entry *fresh = NULL;
	struct ckpt_stats stats;
	struct stat now, st_copy, st_other;
	char *old = NULL;
	size_t old_len = 0;
	cJSON *doc;
	const cJSON *e;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(copy, sizeof(copy), f.dir, "a.log.1");
	join(other, sizeof(other), f.dir, "b.log.1");
	CHECK(make_file(f.path, 1000, 'a'));
	CHECK(make_file(other, 1000, 'b'));
	if (!start_and_claim(&f, f.path))
		goto out;
	snprintf(f.o.e->pod_uid, sizeof(f.o.e->pod_uid), "%s", "uid-a");
	snprintf(f.o.e->container, sizeof(f.o.e->container), "%s", "app");
	f.o.e->restart = 2;
	ckpt_mark(f.o.e, 1, 500);
	ckpt_mark(f.o.e, 2, 800);
	ckpt_confirm(f.c, 1);
	CHECK_INT_EQ(f.o.e->offset, 500);

	/* the copy is made, then the file truncated and written again */
	old = testing_read_file(f.path, &old_len);
	CHECK(old != NULL && old_len == 1000);
	if (!old || !put_file(copy, O_TRUNC, old, old_len))
		goto out;
	CHECK(make_file(f.path, 40, 'z'));
	CHECK_INT_EQ(fstat(f.o.fd, &now), 0);
	CHECK_INT_EQ(now.st_ino, f.o.st.st_ino);
	fresh = ckpt_truncated(f.c, f.o.e, f.o.fd, &now, 800);
	CHECK(fresh != NULL);
	if (!fresh)
		goto out;
	CHECK(fresh != f.o.e);
	CHECK_INT_EQ(fresh->offset, 0);
	CHECK_INT_EQ(fresh->n_marks, 0);
	CHECK_INT_EQ(fresh->fp_len, 40);
	CHECK_INT_EQ(fresh->ino, now.st_ino);
	CHECK_STR_EQ(fresh->pod_uid, "uid-a");
	CHECK_STR_EQ(fresh->container, "app");
	CHECK_INT_EQ(fresh->restart, 2);
	f.o.e = fresh;

	/* an unrelated rotated file is not taken for the copy */
	CHECK_INT_EQ(stat(other, &st_other), 0);
	CHECK(!ckpt_wants(f.c, other, &st_other));
	/* the copy is: it has bytes past the orphan's checkpoint */
	CHECK_INT_EQ(stat(copy, &st_copy), 0);
	CHECK(ckpt_wants(f.c, copy, &st_copy));
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.copies_followed, 1);
	if (!claim(f.c, copy, &cp))
		goto out;
	/* the old content was handed over up to 800, delivered up to 500 */
	CHECK_INT_EQ(cp.start, 800);
	CHECK_INT_EQ(cp.e->offset, 500);
	CHECK_STR_EQ(cp.e->path, copy);
	CHECK_STR_EQ(cp.e->pod_uid, "uid-a");
	CHECK(!ckpt_wants(f.c, copy, &st_copy)); /* claimed now */

	/* seq 2 covered the old content: it moves the copy, not the new entry */
	ckpt_confirm(f.c, 2);
	CHECK_INT_EQ(cp.e->offset, 800);
	CHECK_INT_EQ(fresh->offset, 0);
	ckpt_mark(fresh, 3, 40);
	ckpt_confirm(f.c, 3);
	CHECK_INT_EQ(fresh->offset, 40);

	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(f.dir);
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
	unclaim(f.c, &cp, false, false);
	fixture_teardown(&f);
}

/* An orphan outlives a restart; a copy found then resumes at the confirmed
 * offset (what was handed over but not confirmed is read again). One that
 * no copy turns up for goes after the grace period. */
TEST(test_orphan_after_restart)
{
	enum { GRACE = 5000 };
	char copy[256];
	struct fixture f;
	struct opened cp = {.fd = -1};
	struct ckpt_entry *fresh;
	struct ckpt_stats stats;
	struct stat now, st_copy;
	char *old = NULL;
	size_t old_len = 0;
	int64_t after;
	cJSON *doc;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(copy, sizeof(copy), f.dir, "a.log.1");
	if (!claim_new_file(&f, 1000))
		goto out;
	ckpt_mark(f.o.e, 1, 600);
	ckpt_mark(f.o.e, 2, 900);
	ckpt_confirm(f.c, 1);
	/* copytruncate: the copy first (older than any later save), then the
	 * truncation; the agent stops before it sees the copy */
	old = testing_read_file(f.path, &old_len);
	CHECK(old != NULL);
	if (!old || !put_file(copy, O_TRUNC, old, old_len))
		goto out;
	CHECK(set_mtime_ago(copy, 120));
	CHECK(make_file(f.path, 10, 'z'));
	CHECK_INT_EQ(fstat(f.o.fd, &now), 0);
	fresh = ckpt_truncated(f.c, f.o.e, f.o.fd, &now, 900);
	CHECK(fresh != NULL);
	f.o.e = fresh;
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	fixture_stop(&f);
	doc = read_positions(f.dir);
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
	if (!fixture_start(&f))
		goto out;
	after = loop_now_ms();
	CHECK_INT_EQ(stat(copy, &st_copy), 0);
	CHECK(ckpt_wants(f.c, copy, &st_copy));
	if (claim(f.c, copy, &cp))
		CHECK_INT_EQ(cp.start, 600);
	unclaim(f.c, &cp, true, true);
	fixture_stop(&f);

	/* once more from the same positions.json (nothing was saved since), and
	 * no copy this time: the orphan and the unclaimed entry are kept within
	 * the grace period, then dropped */
	CHECK_INT_EQ(unlink(copy), 0);
	if (!fixture_start(&f))
		goto out;
	after = loop_now_ms();
	CHECK_INT_EQ(ckpt_save(f.c, after - 1, GRACE, true), 0);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.dropped, 0);
	doc = read_positions(f.dir);
	if (doc)
		CHECK_INT_EQ(positions_count(doc), 2);
	cJSON_Delete(doc);
	CHECK_INT_EQ(ckpt_save(f.c, after + GRACE, GRACE, false), 0);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.dropped, 2);
	doc = read_positions(f.dir);
	if (doc)
		CHECK_INT_EQ(positions_count(doc), 0);
	cJSON_Delete(doc);
out:
	free(old);
	unclaim(f.c, &cp, false, false);
	fixture_teardown(&f);
}

/* copytruncate while no agent ran: at the restart the file is shorter than
 * its checkpoint, and the copy (written after the last save) holds the old
 * content; the copy resumes at the checkpoint, not at 0. */
TEST(test_copytruncate_while_stopped)
{
	char copy[256], pos[256];
	struct fixture f;
	struct opened cp = {.fd = -1};
	struct ckpt_stats stats;
	struct stat st_copy;
	char *old = NULL;
	size_t old_len = 0;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(copy, sizeof(copy), f.dir, "a.log.1");
	join(pos, sizeof(pos), f.dir, CKPT_FILE_NAME);
	make_and_save(&f, 1000, 600);
	CHECK(set_mtime_ago(pos, 60)); /* saved a while before the rotation */
	old = testing_read_file(f.path, &old_len);
	CHECK(old != NULL);
	if (!old || !put_file(copy, O_TRUNC, old, old_len))
		goto out;
	CHECK(make_file(f.path, 10, 'z'));

	if (!start_and_claim(&f, f.path))
		goto out;
	CHECK_INT_EQ(f.o.start, 0);
	CHECK_INT_EQ(stat(copy, &st_copy), 0);
	CHECK(ckpt_wants(f.c, copy, &st_copy));
	if (claim(f.c, copy, &cp)) {
		if (cp.start != 600)
			fprintf(stderr,
				"  the copy starts at %" PRIu64 ": bytes 0..600, "
				"already delivered, are sent again\n",
				cp.start);
		CHECK_INT_EQ(cp.start, 600);
	}
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.restarted_shrunk, 1);
	CHECK_INT_EQ(stats.copies_followed, 1);
out:
	free(old);
	unclaim(f.c, &cp, false, false);
	fixture_teardown(&f);
}

/* Until ckpt_startup_done, a rotated file no checkpoint knows is wanted when
 * it was written after positions.json was saved; not when older, not
 * afterwards, and not on a first start without positions.json. */
TEST(test_unseen_rotated_until_startup_done)
{
	char fresh[256], older[256], pos[256];
	struct fixture f;
	struct ckpt_stats stats;
	struct stat st_fresh, st_older;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(fresh, sizeof(fresh), f.dir, "b.log.1");
	join(older, sizeof(older), f.dir, "c.log.1");
	join(pos, sizeof(pos), f.dir, CKPT_FILE_NAME);
	CHECK(make_file(fresh, 100, 'b'));
	CHECK(make_file(older, 100, 'c'));
	CHECK(set_mtime_ago(older, 120));
	CHECK_INT_EQ(stat(fresh, &st_fresh), 0);
	CHECK_INT_EQ(stat(older, &st_older), 0);

	/* no positions.json: a first start, nothing was missed */
	if (fixture_start(&f))
		CHECK(!ckpt_wants(f.c, fresh, &st_fresh));
	fixture_stop(&f);

	make_and_save(&f, 100, 100);
	CHECK(set_mtime_ago(pos, 60));
	if (!fixture_start(&f))
		goto out;
	CHECK(ckpt_wants(f.c, fresh, &st_fresh));
	CHECK(!ckpt_wants(f.c, older, &st_older));
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.unseen_rotated, 1);
	ckpt_startup_done(f.c);
	CHECK(!ckpt_wants(f.c, fresh, &st_fresh));
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.unseen_rotated, 1);
out:
	fixture_teardown(&f);
}

TEST(test_release_gone_dropped_once_confirmed)
{
	char pa[256], pb[256];
	struct fixture f;
	struct opened a = {.fd = -1}, b = {.fd = -1};
	struct ckpt_stats stats;
	struct stat sa = {0}, sb = {0};
	cJSON *doc;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pa, sizeof(pa), f.dir, "a.log");
	join(pb, sizeof(pb), f.dir, "b.log");
	CHECK(make_file(pa, 1000, 'a'));
	CHECK(make_file(pb, 1000, 'b'));
	if (!fixture_start(&f) || !claim(f.c, pa, &a) || !claim(f.c, pb, &b))
		goto out;
	sa = a.st;
	sb = b.st;
	ckpt_mark(a.e, 5, 1000);
	ckpt_mark(b.e, 6, 1000);
	/* a was deleted and read to its end, its events not yet confirmed;
	 * b was closed but still exists */
	ckpt_release(f.c, a.e, true);
	ckpt_release(f.c, b.e, false);
	unclaim(f.c, &a, false, false);
	unclaim(f.c, &b, false, false);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(f.dir);
	if (doc) {
		CHECK(positions_entry(doc, &sa) != NULL); /* marks pending */
		CHECK(positions_entry(doc, &sb) != NULL);
	}
	cJSON_Delete(doc);
	ckpt_confirm(f.c, 5);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(f.dir);
	if (doc) {
		CHECK(positions_entry(doc, &sa) == NULL);
		CHECK(positions_entry(doc, &sb) != NULL); /* not gone: kept for a restart */
		CHECK_INT_EQ(positions_count(doc), 1);
	}
	cJSON_Delete(doc);
	ckpt_confirm(f.c, 6);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(f.dir);
	if (doc) {
		const cJSON *e = positions_entry(doc, &sb);
		CHECK(e != NULL);
		if (e)
			CHECK_INT_EQ(entry_num(e, "offset"), 1000);
	}
	cJSON_Delete(doc);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.dropped, 1);
out:
	unclaim(f.c, &a, false, false);
	unclaim(f.c, &b, false, false);
	fixture_teardown(&f);
}

TEST(test_unclaimed_dropped_after_grace)
{
	enum { GRACE = 5000 };
	char pa[256], pb[256], pc[256];
	struct fixture f;
	struct opened a = {.fd = -1}, c_file = {.fd = -1};
	struct ckpt_stats stats;
	struct stat sa, sb;
	int64_t before, after, released;
	cJSON *doc;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pa, sizeof(pa), f.dir, "a.log");
	join(pb, sizeof(pb), f.dir, "b.log");
	join(pc, sizeof(pc), f.dir, "c.log");
	CHECK(make_file(pa, 1000, 'a'));
	CHECK(make_file(pb, 1000, 'b'));
	CHECK(make_file(pc, 1000, 'c'));
	CHECK(save_one(f.dir, pa, 100));
	CHECK(save_one(f.dir, pb, 200));
	CHECK_INT_EQ(stat(pa, &sa), 0);
	CHECK_INT_EQ(stat(pb, &sb), 0);
	before = loop_now_ms();
	if (!fixture_start(&f))
		goto out;
	after = loop_now_ms();
	if (!claim(f.c, pa, &a))
		goto out;
	CHECK_INT_EQ(a.start, 100);
	/* b is not claimed: kept within the grace period, even by a forced save */
	CHECK_INT_EQ(ckpt_save(f.c, before + GRACE - 1, GRACE, true), 0);
	doc = read_positions(f.dir);
	if (doc) {
		CHECK(positions_entry(doc, &sa) != NULL);
		CHECK(positions_entry(doc, &sb) != NULL);
	}
	cJSON_Delete(doc);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.dropped, 0);
	/* the grace period is over: b goes, the claimed a stays */
	CHECK_INT_EQ(ckpt_save(f.c, after + GRACE, GRACE, false), 0);
	doc = read_positions(f.dir);
	if (doc) {
		CHECK(positions_entry(doc, &sa) != NULL);
		CHECK(positions_entry(doc, &sb) == NULL);
		CHECK_INT_EQ(positions_count(doc), 1);
	}
	cJSON_Delete(doc);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.dropped, 1);
	CHECK(!ckpt_wants(f.c, pb, &sb));

	/* a closed file that still exists gets a grace period from its release */
	if (claim(f.c, pc, &c_file)) {
		released = loop_now_ms();
		ckpt_release(f.c, c_file.e, false);
		unclaim(f.c, &c_file, false, false);
		CHECK_INT_EQ(ckpt_save(f.c, released, GRACE, false), 0);
		doc = read_positions(f.dir);
		if (doc)
			CHECK_INT_EQ(positions_count(doc), 2);
		cJSON_Delete(doc);
		CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms() + GRACE, GRACE, false), 0);
		doc = read_positions(f.dir);
		if (doc)
			CHECK_INT_EQ(positions_count(doc), 1);
		cJSON_Delete(doc);
	}
out:
	unclaim(f.c, &a, false, false);
	fixture_teardown(&f);
}

/* The same file open under two names at once: the second starts over and
 * both entries go away cleanly. */
TEST(test_same_file_claimed_twice)
{
	char link_path[256];
	struct fixture f;
	struct opened a = {.fd = -1}, b = {.fd = -1};
	cJSON *doc;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(link_path, sizeof(link_path), f.dir, "a.link.log");
	CHECK(make_file(f.path, 1000, 'a'));
	CHECK_INT_EQ(link(f.path, link_path), 0);
	CHECK(save_one(f.dir, f.path, 300));
	if (fixture_start(&f) && claim(f.c, f.path, &a) && claim(f.c, link_path, &b)) {
		CHECK_INT_EQ(a.start, 300);
		CHECK_INT_EQ(b.start, 0);
		CHECK(a.e != b.e);
		ckpt_mark(a.e, 1, 1000);
		ckpt_mark(b.e, 2, 1000);
		ckpt_release(f.c, a.e, true);
		ckpt_release(f.c, b.e, true);
		ckpt_confirm(f.c, 2);
		CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
		doc = read_positions(f.dir);
		if (doc)
			CHECK_INT_EQ(positions_count(doc), 0);
		cJSON_Delete(doc);
	}
	unclaim(f.c, &a, false, false);
	unclaim(f.c, &b, false, false);
	fixture_teardown(&f);
}

/* ---- bad input and failures ---- */

TEST(test_corrupt_file_moved_aside)
{
	static const char garbage[] = "this is {not \"json at all";
	char pos[256], bad[256];
	struct fixture f;
	struct ckpt_stats stats;
	char *text;
	size_t len = 0;
	cJSON *doc;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pos, sizeof(pos), f.dir, CKPT_FILE_NAME);
	join(bad, sizeof(bad), f.dir, CKPT_FILE_NAME ".bad");
	make_and_save(&f, 1000, 600);
	CHECK(put_file(pos, O_TRUNC, garbage, sizeof(garbage) - 1));
	if (!fixture_start(&f))
		goto out;
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.load_errors, 1);
	CHECK(!exists(f.dir, CKPT_FILE_NAME));
	text = testing_read_file(bad, &len);
	CHECK(text != NULL);
	if (text)
		CHECK_MEM_EQ(text, len, garbage, sizeof(garbage) - 1);
	free(text);
	if (claim(f.c, f.path, &f.o)) {
		CHECK_INT_EQ(f.o.start, 0);
		ckpt_mark(f.o.e, 1, 100);
		ckpt_confirm(f.c, 1);
	}
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(f.dir);
	if (doc)
		CHECK_INT_EQ(positions_count(doc), 1);
	cJSON_Delete(doc);
	CHECK(exists(f.dir, CKPT_FILE_NAME ".bad"));
	fixture_stop(&f);

	/* valid JSON that is not a positions file goes the same way */
	CHECK(put_file(pos, O_TRUNC, "[1,2,3]", 7));
	if (fixture_start(&f)) {
		ckpt_get_stats(f.c, &stats);
		CHECK_INT_EQ(stats.load_errors, 1);
		CHECK(!exists(f.dir, CKPT_FILE_NAME));
		text = testing_read_file(bad, &len);
		if (text)
			CHECK_MEM_EQ(text, len, "[1,2,3]", 7);
		free(text);
	}
	fixture_stop(&f);

	/* an empty file too */
	CHECK(put_file(pos, O_TRUNC, "", 0));
	if (fixture_start(&f)) {
		ckpt_get_stats(f.c, &stats);
		CHECK_INT_EQ(stats.load_errors, 1);
		CHECK(!exists(f.dir, CKPT_FILE_NAME));
	}
out:
	fixture_teardown(&f);
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
	char paths[N_KINDS + 1][256], pos[256];
	struct fixture f;
	struct opened o[N_KINDS + 1];
	struct stat st[N_KINDS + 1];
	struct ckpt_stats stats;
	cJSON *doc = NULL, *files;
	char *text = NULL;

	for (int i = 0; i <= N_KINDS; i++)
		o[i].fd = -1;
	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pos, sizeof(pos), f.dir, CKPT_FILE_NAME);
	for (int i = 0; i < N_KINDS; i++) {
		join(paths[i], sizeof(paths[i]), f.dir, names[i]);
		CHECK(make_file(paths[i], 1000, (char)('a' + i)));
	}
	/* a second good one */
	join(paths[N_KINDS], sizeof(paths[N_KINDS]), f.dir, "good2.log");
	CHECK(make_file(paths[N_KINDS], 1000, 'x'));

	/* real entries first, then spoil all but the good ones */
	if (!fixture_start(&f))
		goto out;
	for (int i = 0; i <= N_KINDS; i++) {
		if (!claim(f.c, paths[i], &o[i]))
			goto out;
		st[i] = o[i].st;
		ckpt_mark(o[i].e, 1, 100 + (uint64_t)i);
	}
	ckpt_confirm(f.c, 1);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	for (int i = 0; i <= N_KINDS; i++)
		unclaim(f.c, &o[i], false, false);
	fixture_stop(&f);

	doc = read_positions(f.dir);
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

	if (!fixture_start(&f))
		goto out;
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.load_errors, N_KINDS - 1 + 1);
	CHECK(exists(f.dir, CKPT_FILE_NAME)); /* entries were bad, not the file */
	CHECK(!exists(f.dir, CKPT_FILE_NAME ".bad"));
	for (int i = 0; i <= N_KINDS; i++) {
		bool good = i == GOOD || i == N_KINDS;
		if (!claim(f.c, paths[i], &o[i]))
			continue;
		if (o[i].start != (good ? 100 + (uint64_t)i : 0)) {
			fprintf(stderr, "  %s starts at %" PRIu64 "\n", paths[i], o[i].start);
			CHECK(o[i].start == (good ? 100 + (uint64_t)i : 0));
		}
	}
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.resumed, 2);
out:
	for (int i = 0; i <= N_KINDS; i++)
		unclaim(f.c, &o[i], false, false);
	free(text);
	cJSON_Delete(doc);
	fixture_teardown(&f);
}

TEST(test_failed_save_keeps_last_good_file)
{
	char pos[256], tmp[256];
	struct fixture f;
	struct ckpt_stats stats;
	char *good = NULL, *now = NULL;
	size_t good_len = 0, now_len = 0;
	int err;
	cJSON *doc;
	const cJSON *e;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pos, sizeof(pos), f.dir, CKPT_FILE_NAME);
	join(tmp, sizeof(tmp), f.dir, CKPT_FILE_NAME ".tmp");
	if (!claim_new_file(&f, 1000))
		goto out;
	ckpt_mark(f.o.e, 1, 100);
	ckpt_confirm(f.c, 1);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	good = testing_read_file(pos, &good_len);
	CHECK(good != NULL);

	/* the temporary file cannot be opened for writing */
	CHECK_INT_EQ(mkdir(tmp, 0700), 0);
	ckpt_mark(f.o.e, 2, 200);
	ckpt_confirm(f.c, 2);
	err = ckpt_save(f.c, loop_now_ms(), GRACE_MS, false);
	CHECK(err < 0);
	CHECK_INT_EQ(err, -EISDIR);
	err = ckpt_save(f.c, loop_now_ms(), GRACE_MS, true);
	CHECK(err < 0);
	now = testing_read_file(pos, &now_len);
	CHECK(now != NULL);
	if (good && now)
		CHECK_MEM_EQ(now, now_len, good, good_len);
	free(now);
	now = NULL;
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.saves, 1);
	CHECK_INT_EQ(stats.save_errors, 2);

	/* it works again: the change that could not be saved is saved now,
	 * without force */
	CHECK_INT_EQ(rmdir(tmp), 0);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	doc = read_positions(f.dir);
	e = doc ? positions_entry(doc, &f.o.st) : NULL;
	CHECK(e != NULL);
	if (e)
		CHECK_INT_EQ(entry_num(e, "offset"), 200);
	cJSON_Delete(doc);
	CHECK(!exists(f.dir, CKPT_FILE_NAME ".tmp"));
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.saves, 2);
	CHECK_INT_EQ(stats.save_errors, 2);
out:
	free(good);
	fixture_teardown(&f);
}

/* The rename over positions.json fails: the error is returned and no
 * positions.json.tmp is left behind. */
TEST(test_failed_rename_leaves_no_tmp)
{
	char pos[256], inside[256];
	struct fixture f;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pos, sizeof(pos), f.dir, CKPT_FILE_NAME);
	join(inside, sizeof(inside), pos, "keep");
	CHECK(make_file(f.path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&f.c, f.dir), 0);
	/* a non-empty directory where positions.json goes */
	CHECK_INT_EQ(mkdir(pos, 0700), 0);
	CHECK(put_file(inside, O_TRUNC, "x", 1));
	if (f.c && claim(f.c, f.path, &f.o)) {
		CHECK(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false) < 0);
		CHECK(!exists(f.dir, CKPT_FILE_NAME ".tmp"));
		CHECK(exists(f.dir, CKPT_FILE_NAME "/keep"));
	}
	fixture_teardown(&f);
}

/* The state dir went away (moved): saving fails, the file that was written
 * stays as it was. */
TEST(test_save_into_missing_dir)
{
	char state[256], moved[256], pos[256];
	struct fixture f;
	struct ckpt_stats stats;
	char *good = NULL, *now = NULL;
	size_t good_len = 0, now_len = 0;
	int err;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(state, sizeof(state), f.dir, "state");
	join(moved, sizeof(moved), f.dir, "moved");
	join(pos, sizeof(pos), moved, CKPT_FILE_NAME);
	CHECK_INT_EQ(mkdir(state, 0700), 0);
	CHECK(make_file(f.path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&f.c, state), 0);
	if (!f.c || !claim(f.c, f.path, &f.o))
		goto out;
	ckpt_mark(f.o.e, 1, 100);
	ckpt_confirm(f.c, 1);
	CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), 0);
	CHECK_INT_EQ(rename(state, moved), 0);
	good = testing_read_file(pos, &good_len);
	CHECK(good != NULL);
	ckpt_mark(f.o.e, 2, 200);
	ckpt_confirm(f.c, 2);
	err = ckpt_save(f.c, loop_now_ms(), GRACE_MS, false);
	CHECK_INT_EQ(err, -ENOENT);
	now = testing_read_file(pos, &now_len);
	CHECK(now != NULL);
	if (good && now)
		CHECK_MEM_EQ(now, now_len, good, good_len);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.save_errors, 1);
out:
	free(good);
	free(now);
	fixture_teardown(&f);
}

/* A state dir under a regular file: nothing to load (counted), nothing can be
 * saved, collection still starts (from 0). */
TEST(test_state_dir_under_a_file)
{
	char file[256], state[256];
	struct fixture f;
	struct ckpt_stats stats;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(file, sizeof(file), f.dir, "plain");
	join(state, sizeof(state), file, "state");
	CHECK(put_file(file, O_TRUNC, "x", 1));
	CHECK(make_file(f.path, 1000, 'a'));
	CHECK_INT_EQ(ckpt_open(&f.c, state), 0);
	if (f.c && claim(f.c, f.path, &f.o)) {
		CHECK_INT_EQ(f.o.start, 0);
		CHECK_INT_EQ(ckpt_save(f.c, loop_now_ms(), GRACE_MS, false), -ENOTDIR);
		ckpt_get_stats(f.c, &stats);
		CHECK_INT_EQ(stats.load_errors, 1);
		CHECK_INT_EQ(stats.save_errors, 1);
		CHECK_INT_EQ(stats.saves, 0);
	}
	fixture_teardown(&f);
}

/* One restart with a file of every kind; each counter counts its own. */
TEST(test_stats)
{
	char pr[256], pi[256], ps[256], pd[256];
	struct fixture f;
	struct opened r = {.fd = -1}, i = {.fd = -1}, s = {.fd = -1};
	struct ckpt_stats stats;
	int64_t claimed;
	int n_before;
	cJSON *doc;

	if (!fixture_setup(&f))
		SKIP("no temp dir");
	join(pr, sizeof(pr), f.dir, "resumed.log");
	join(pi, sizeof(pi), f.dir, "identity.log");
	join(ps, sizeof(ps), f.dir, "shrunk.log");
	join(pd, sizeof(pd), f.dir, "dropped.log");
	CHECK(make_file(pr, 1000, 'r'));
	CHECK(make_file(pi, 1000, 'i'));
	CHECK(make_file(ps, 1000, 's'));
	CHECK(make_file(pd, 1000, 'd'));
	CHECK(save_one(f.dir, pr, 500));
	CHECK(save_one(f.dir, pi, 500));
	CHECK(save_one(f.dir, ps, 500));
	CHECK(save_one(f.dir, pd, 500));
	CHECK(make_file(pi, 1000, 'j')); /* same inode, other bytes */
	CHECK_INT_EQ(truncate(ps, 10), 0);
	if (!fixture_start(&f))
		goto out;
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.saves, 0);
	CHECK_INT_EQ(stats.load_errors, 0);
	if (claim(f.c, pr, &r) && claim(f.c, pi, &i) && claim(f.c, ps, &s)) {
		CHECK_INT_EQ(r.start, 500);
		CHECK_INT_EQ(i.start, 0);
		CHECK_INT_EQ(s.start, 0);
	}
	claimed = loop_now_ms();
	/* within the grace period nothing goes; after it, every entry no file
	 * claimed (the unused one and what the changed files left behind) */
	CHECK_INT_EQ(ckpt_save(f.c, claimed, 1000, true), 0);
	doc = read_positions(f.dir);
	n_before = doc ? positions_count(doc) : -1;
	cJSON_Delete(doc);
	CHECK(n_before >= 4);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.dropped, 0);
	CHECK_INT_EQ(ckpt_save(f.c, claimed + 1000, 1000, false), 0);
	doc = read_positions(f.dir);
	if (doc) {
		CHECK_INT_EQ(positions_count(doc), 3);
		CHECK(positions_entry(doc, &r.st) != NULL);
	}
	cJSON_Delete(doc);
	ckpt_get_stats(f.c, &stats);
	CHECK_INT_EQ(stats.resumed, 1);
	CHECK_INT_EQ(stats.restarted_identity, 1);
	CHECK_INT_EQ(stats.restarted_shrunk, 1);
	CHECK_INT_EQ(stats.dropped, n_before - 3);
	CHECK_INT_EQ(stats.copies_followed, 0);
	CHECK_INT_EQ(stats.saves, 2);
	CHECK_INT_EQ(stats.save_errors, 0);
	CHECK_INT_EQ(stats.load_errors, 0);
out:
	unclaim(f.c, &r, false, false);
	unclaim(f.c, &i, false, false);
	unclaim(f.c, &s, false, false);
	fixture_teardown(&f);
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
