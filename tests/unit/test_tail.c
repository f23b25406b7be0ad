/* test_tail.c: finding and reading CRI log files (tail.c) with a real loop
 * and inotify on a temporary pods log dir.
 *
 * Each test writes files, then runs the loop until what it waits for has
 * arrived or a deadline passed (so nothing can hang), and checks the lines,
 * their pieces and flags, the file's identity, and the opened / closed
 * callbacks. Every file the tail opens must be closed through the callback
 * exactly once by the end of a test.
 */
#include "log.h"
#include "loop.h"
#include "tail.h"
#include "testing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

#define UID_A "0b6c1d2e-3f40-4152-8637-48596a7b8c9d"
#define UID_B "1c7d2e3f-4051-4263-9748-596a7b8c9dae"
#define UID_C "2d8e3f40-5162-4374-a859-6a7b8c9daebf"

#define MAX_LINE  100
#define LIMIT	  (MAX_LINE + 64) /* the longest piece: max_line plus the CRI header room */
#define GRACE_MS  300
#define WAIT_MS	  4000 /* the longest any one wait may take */
#define MAX_FILES 16
#define MAX_UIDS  4

static char tmp_dir[64];

/* ---- what the callbacks saw ---- */

struct rec_line {
	char *data;
	size_t len;
	unsigned flags;
	int file;	     /* index into files[] */
	uint64_t start, end; /* the offsets the tail gave */
};

struct rec_file {
	char path[512];
	char ns[TAIL_NAME_MAX + 1], pod[TAIL_NAME_MAX + 1], uid[TAIL_NAME_MAX + 1];
	char container[TAIL_NAME_MAX + 1];
	char container_path[512]; /* "" for a CRI file */
	char container_id[TAIL_ID_MAX + 1];
	enum tail_format format;
	int fd; /* the same for the file's life, also across a rename */
	int restart;
	int64_t open_ns;
	int closed;
	int64_t closed_ms;
	bool drained, gone, rotated;
	int truncated;
	int lines;
};

struct uid_policy {
	const char *uid;
	bool allowed;
	int ready_calls;
};

struct harness {
	struct loop *loop;
	struct tail *tail;
	struct rec_line *lines;
	size_t n_lines, cap_lines;
	struct rec_file files[MAX_FILES];
	int n_files;
	int bad_user; /* a callback got a tail_file whose user was not its own */
	bool default_ready;
	struct uid_policy uids[MAX_UIDS];
	int n_uids;
	void (*on_ready)(struct harness *h, struct tail_file *f);
	void *test_state;
	char *pods_dir;	       /* tail_open keeps this pointer */
	uint64_t start_offset; /* given to every file opened */
	const char *wanted;    /* a rotated file name to accept */
	size_t max_deleted;
	char *docker_dir; /* set before harness_open: <tmp>/<it> is docker's containers dir */
};

static void cb_opened(void *ctx, struct tail_file *f, const struct stat *st)
{
	struct harness *h = ctx;
	struct rec_file *r;

	if (h->n_files == MAX_FILES) {
		f->user = (void *)(intptr_t)-1;
		return;
	}
	r = &h->files[h->n_files];
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", f->path);
	memcpy(r->ns, f->namespace_name, sizeof(r->ns));
	memcpy(r->pod, f->pod_name, sizeof(r->pod));
	memcpy(r->uid, f->pod_uid, sizeof(r->uid));
	memcpy(r->container, f->container_name, sizeof(r->container));
	snprintf(r->container_path, sizeof(r->container_path), "%s",
		 f->container_path ? f->container_path : "");
	r->format = f->format;
	memcpy(r->container_id, f->container_id, sizeof(r->container_id));
	r->fd = f->fd;
	r->restart = f->restart;
	r->open_ns = f->open_ns;
	r->rotated = f->rotated;
	if (f->fd < 0 || !S_ISREG(st->st_mode))
		h->bad_user++;
	f->start_offset = h->start_offset;
	f->user = (void *)(intptr_t)h->n_files;
	h->n_files++;
}

static struct uid_policy *policy_of(struct harness *h, const char *uid)
{
	for (int i = 0; i < h->n_uids; i++)
		if (strcmp(h->uids[i].uid, uid) == 0)
			return &h->uids[i];
	return NULL;
}

static bool cb_ready(void *ctx, struct tail_file *f)
{
	struct harness *h = ctx;
	struct uid_policy *p = policy_of(h, f->pod_uid);

	if (p)
		p->ready_calls++;
	if (h->on_ready)
		h->on_ready(h, f);
	return p ? p->allowed : h->default_ready;
}

static int file_index(struct harness *h, struct tail_file *f)
{
	intptr_t i = (intptr_t)f->user;

	if (i < 0 || i >= h->n_files || h->files[i].fd != f->fd) {
		h->bad_user++;
		return -1;
	}
	return (int)i;
}

static void cb_line(void *ctx, struct tail_file *f, const char *data, size_t len, unsigned flags)
{
	struct harness *h = ctx;
	struct rec_line *l;

	if (h->n_lines == h->cap_lines) {
		size_t cap = h->cap_lines ? h->cap_lines * 2 : 64;
		struct rec_line *nl = realloc(h->lines, cap * sizeof(*nl));
		if (!nl)
			return;
		h->lines = nl;
		h->cap_lines = cap;
	}
	l = &h->lines[h->n_lines++];
	l->data = malloc(len + 1);
	if (l->data) {
		memcpy(l->data, data, len);
		l->data[len] = '\0';
	}
	l->len = len;
	l->flags = flags;
	l->start = f->line_start;
	l->end = f->line_end;
	l->file = file_index(h, f);
	if (l->file >= 0) {
		struct rec_file *r = &h->files[l->file];
		r->lines++;
		/* the names as of this line: a renamed file has new ones */
		snprintf(r->path, sizeof(r->path), "%s", f->path);
		snprintf(r->container_path, sizeof(r->container_path), "%s",
			 f->container_path ? f->container_path : "");
	}
}

static void cb_closed(void *ctx, struct tail_file *f, bool drained, bool gone)
{
	struct harness *h = ctx;
	int i = file_index(h, f);

	if (i >= 0) {
		h->files[i].closed++;
		h->files[i].closed_ms = loop_now_ms();
		h->files[i].drained = drained;
		h->files[i].gone = gone;
	}
	f->user = NULL;
}

static void cb_truncated(void *ctx, struct tail_file *f, uint64_t handed)
{
	struct harness *h = ctx;
	int i = file_index(h, f);

	(void)handed;
	if (i >= 0)
		h->files[i].truncated++;
}

static bool cb_wanted(void *ctx, const char *path, const struct stat *st)
{
	struct harness *h = ctx;
	const char *slash = strrchr(path, '/');

	(void)st;
	return h->wanted && slash && strcmp(slash + 1, h->wanted) == 0;
}

static const struct tail_callbacks callbacks = {
    .opened = cb_opened,
    .wanted = cb_wanted,
    .ready = cb_ready,
    .line = cb_line,
    .truncated = cb_truncated,
    .closed = cb_closed,
};

static void pods_path(char *out, size_t cap, const char *pods)
{
	snprintf(out, cap, "%s/%s", tmp_dir, pods);
}

/* Starts a tail on <tmp>/<pods>. */
static int harness_open(struct harness *h, const char *pods, int64_t rescan_ms, size_t read_budget)
{
	char dir[256];
	struct tail_options opts;
	/* what a test may set before opening */
	uint64_t start_offset = h->start_offset;
	const char *wanted = h->wanted;
	size_t max_deleted = h->max_deleted ? h->max_deleted : 64;
	char *docker = h->docker_dir, docker_dir[256];

	memset(h, 0, sizeof(*h));
	h->default_ready = true;
	h->start_offset = start_offset;
	h->wanted = wanted;
	h->max_deleted = max_deleted;
	if (docker) {
		pods_path(docker_dir, sizeof(docker_dir), docker);
		h->docker_dir = strdup(docker_dir);
		if (!h->docker_dir)
			return -ENOMEM;
	}
	h->loop = loop_new();
	if (!h->loop)
		return -ENOMEM;
	pods_path(dir, sizeof(dir), pods);
	h->pods_dir = strdup(dir);
	if (!h->pods_dir)
		return -ENOMEM;
	opts = (struct tail_options){
	    .pods_dir = h->pods_dir,
	    .docker_dir = h->docker_dir,
	    .max_line = MAX_LINE,
	    .rescan_ms = rescan_ms,
	    .deleted_grace_ms = GRACE_MS,
	    .read_budget = read_budget,
	    .max_deleted_open = h->max_deleted,
	};
	return tail_open(&h->tail, h->loop, &opts, &callbacks, h);
}

/* Closes the tail (every file still open gets its closed callback), checks
 * that each opened file was closed exactly once, and frees everything. */
static void harness_close(struct harness *h)
{
	if (h->tail)
		tail_close(h->tail);
	for (int i = 0; i < h->n_files; i++) {
		if (h->files[i].closed != 1) {
			fprintf(stderr, "  %s: closed %d times, expected once\n", h->files[i].path,
				h->files[i].closed);
			testing_current_failed = 1;
		}
	}
	CHECK_INT_EQ(h->bad_user, 0);
	for (size_t i = 0; i < h->n_lines; i++)
		free(h->lines[i].data);
	free(h->lines);
	loop_free(h->loop);
	free(h->pods_dir);
	free(h->docker_dir);
}

/* ---- running the loop ---- */

typedef bool (*until_fn)(struct harness *h, void *arg);

struct runner {
	struct harness *h;
	until_fn until;
	void *arg;
	struct loop_timer *poll, *deadline;
	bool met;
};

static void runner_poll(struct loop *loop, void *arg)
{
	struct runner *r = arg;

	r->poll = NULL;
	if (r->until && r->until(r->h, r->arg)) {
		r->met = true;
		loop_stop(loop);
		return;
	}
	r->poll = loop_timer_add(loop, 5, runner_poll, r);
}

static void runner_deadline(struct loop *loop, void *arg)
{
	struct runner *r = arg;

	r->deadline = NULL;
	loop_stop(loop);
}

/* Runs the loop until until() holds (true) or ms pass (false). With until
 * NULL it simply runs for ms. */
static bool run_until(struct harness *h, until_fn until, void *arg, int64_t ms)
{
	struct runner r = {.h = h, .until = until, .arg = arg};

	r.poll = loop_timer_add(h->loop, 0, runner_poll, &r);
	r.deadline = loop_timer_add(h->loop, ms, runner_deadline, &r);
	loop_run(h->loop);
	if (r.poll)
		loop_timer_cancel(h->loop, r.poll);
	if (r.deadline)
		loop_timer_cancel(h->loop, r.deadline);
	return r.met;
}

static bool has_lines(struct harness *h, void *arg)
{
	return h->n_lines >= (size_t)(intptr_t)arg;
}

static bool has_opened(struct harness *h, void *arg)
{
	return h->n_files >= (int)(intptr_t)arg;
}

static bool wait_lines(struct harness *h, size_t n)
{
	return run_until(h, has_lines, (void *)(intptr_t)n, WAIT_MS);
}

static void run_for(struct harness *h, int64_t ms)
{
	run_until(h, NULL, NULL, ms);
}

/* ---- files ---- */

static void make_dirs(const char *rel)
{
	char path[512];
	size_t base = strlen(tmp_dir);
	size_t n = (size_t)snprintf(path, sizeof(path), "%s/%s", tmp_dir, rel);

	for (size_t i = base + 1; i <= n; i++) {
		if (path[i] == '/' || path[i] == '\0') {
			char c = path[i];
			path[i] = '\0';
			if (mkdir(path, 0755) != 0 && errno != EEXIST) {
				fprintf(stderr, "  mkdir %s: %s\n", path, strerror(errno));
				testing_current_failed = 1;
			}
			path[i] = c;
		}
	}
}

static void full_path(char *out, size_t cap, const char *rel)
{
	snprintf(out, cap, "%s/%s", tmp_dir, rel);
}

/* Appends to <tmp>/<rel>, creating it. */
static void append(const char *rel, const char *data, size_t len)
{
	char path[512];
	int fd;

	full_path(path, sizeof(path), rel);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "  open %s: %s\n", path, strerror(errno));
		testing_current_failed = 1;
		return;
	}
	if (write(fd, data, len) != (ssize_t)len)
		testing_current_failed = 1;
	close(fd);
}

static void append_str(const char *rel, const char *s)
{
	append(rel, s, strlen(s));
}

/* Removes <tmp>/<rel> and everything under it. */
static void rm_rel(const char *rel)
{
	char path[512];

	full_path(path, sizeof(path), rel);
	testing_remove_tree(path);
}

/* The lines of file index fi joined as "a|b|c" (pieces joined with "+"). */
static void joined(struct harness *h, int fi, char *out, size_t cap)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < h->n_lines && n + 1 < cap; i++) {
		if (h->lines[i].file != fi)
			continue;
		n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "|" : "",
				      h->lines[i].data ? h->lines[i].data : "(null)");
		if (n >= cap)
			n = cap - 1;
	}
}

static int find_file(struct harness *h, const char *rel)
{
	char path[512];

	full_path(path, sizeof(path), rel);
	for (int i = 0; i < h->n_files; i++)
		if (strcmp(h->files[i].path, path) == 0)
			return i;
	return -1;
}

/* ---- the tests ---- */

#define POD_A	  "pods/batch_job-abc_" UID_A
#define POD_B	  "pods/web_front-1_" UID_B
#define POD_C	  "pods/web_front-2_" UID_C
#define FILE_A	  POD_A "/main/2.log"
#define FILE_A0	  POD_A "/main/0.log"
#define FILE_SIDE POD_A "/side/0.log"
#define FILE_B	  POD_B "/app/0.log"
#define FILE_C	  POD_C "/app/0.log"

/* (1) a pod dir, its container dir and file created after tail_open */
TEST(test_found_through_inotify)
{
	struct harness h = {0};
	char buf[512], path[512];
	struct tail_stats st;
	int fi;

	make_dirs("pods");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	run_for(&h, 20);
	CHECK_INT_EQ(h.n_files, 0);

	make_dirs(POD_A "/main");
	append_str(FILE_A, "2026-01-01T00:00:00.000000001Z stdout F first\n");
	append_str(FILE_A, "2026-01-01T00:00:00.000000002Z stdout F second\n");
	append_str(FILE_A, "2026-01-01T00:00:00.000000003Z stderr F third\n");
	CHECK(wait_lines(&h, 3));
	CHECK_INT_EQ(h.n_files, 1);
	fi = find_file(&h, FILE_A);
	CHECK_INT_EQ(fi, 0);
	if (fi == 0) {
		full_path(path, sizeof(path), FILE_A);
		CHECK_STR_EQ(h.files[0].path, path);
		CHECK_STR_EQ(h.files[0].ns, "batch");
		CHECK_STR_EQ(h.files[0].pod, "job-abc");
		CHECK_STR_EQ(h.files[0].uid, UID_A);
		CHECK_STR_EQ(h.files[0].container, "main");
		CHECK_INT_EQ(h.files[0].restart, 2);
		CHECK(h.files[0].open_ns > 0);
		joined(&h, 0, buf, sizeof(buf));
		CHECK_STR_EQ(buf, "2026-01-01T00:00:00.000000001Z stdout F first|"
				  "2026-01-01T00:00:00.000000002Z stdout F second|"
				  "2026-01-01T00:00:00.000000003Z stderr F third");
	}
	for (size_t i = 0; i < h.n_lines; i++)
		CHECK_INT_EQ(h.lines[i].flags, 0);

	/* more lines later, and a second container of the same pod */
	append_str(FILE_A, "fourth\n");
	make_dirs(POD_A "/side");
	append_str(FILE_SIDE, "side line\n");
	CHECK(wait_lines(&h, 5));
	fi = find_file(&h, FILE_SIDE);
	CHECK(fi >= 0);
	if (fi >= 0) {
		CHECK_STR_EQ(h.files[fi].container, "side");
		CHECK_INT_EQ(h.files[fi].restart, 0);
		joined(&h, fi, buf, sizeof(buf));
		CHECK_STR_EQ(buf, "side line");
	}
	joined(&h, 0, buf, sizeof(buf));
	CHECK(strlen(buf) > 7 && strcmp(buf + strlen(buf) - 7, "|fourth") == 0);
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.files_opened, 2);
	CHECK_INT_EQ(st.files_open, 2);
	CHECK_INT_EQ(st.lines_read, 5);
	CHECK_INT_EQ(st.lines_split, 0);
	harness_close(&h);
	rm_rel("pods");
}

#define BIG_FMT "big line %06d .........................."

/* (2) files present before tail_open are read from offset 0, each in order,
 * a large one across several turns of a small read budget */
TEST(test_existing_files_from_start)
{
	struct harness h = {0};
	char buf[256], line[64];
	int fa, fb, big;
	size_t in_order = 0, seen = 0;

	make_dirs(POD_A "/main");
	make_dirs(POD_B "/app");
	append_str(FILE_A0, "a1\na2\n");
	append_str(FILE_B, "b1\n");
	/* 3000 lines of 40 bytes: more than one 64 KiB read */
	for (int i = 0; i < 3000; i++) {
		snprintf(line, sizeof(line), BIG_FMT "\n", i);
		append_str(POD_A "/main/1.log", line);
	}
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1), 0);
	/* found by tail_open itself */
	CHECK_INT_EQ(h.n_files, 3);
	CHECK(wait_lines(&h, 3003));
	fa = find_file(&h, FILE_A0);
	fb = find_file(&h, FILE_B);
	big = find_file(&h, POD_A "/main/1.log");
	CHECK(fa >= 0 && fb >= 0 && big >= 0);
	if (fa >= 0 && fb >= 0 && big >= 0) {
		joined(&h, fa, buf, sizeof(buf));
		CHECK_STR_EQ(buf, "a1|a2");
		joined(&h, fb, buf, sizeof(buf));
		CHECK_STR_EQ(buf, "b1");
		CHECK_STR_EQ(h.files[fb].ns, "web");
		CHECK_STR_EQ(h.files[fb].pod, "front-1");
		CHECK_STR_EQ(h.files[fb].container, "app");
		CHECK_INT_EQ(h.files[big].restart, 1);
		for (size_t i = 0; i < h.n_lines; i++) {
			if (h.lines[i].file != big)
				continue;
			snprintf(line, sizeof(line), BIG_FMT, (int)seen);
			in_order += h.lines[i].data && strcmp(h.lines[i].data, line) == 0;
			seen++;
		}
		CHECK_INT_EQ(seen, 3000);
		CHECK_INT_EQ(in_order, 3000);
	}
	harness_close(&h);
	rm_rel("pods");
}

/* (3) a file written in several appends, with lines split across writes */
TEST(test_split_writes)
{
	struct harness h = {0};
	char buf[256];

	make_dirs(POD_A "/main");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	append_str(FILE_A0, "hel");
	CHECK(run_until(&h, has_opened, (void *)1, WAIT_MS));
	run_for(&h, 50);
	CHECK_INT_EQ(h.n_lines, 0); /* half a line is held back */
	append_str(FILE_A0, "lo\nwor");
	CHECK(wait_lines(&h, 1));
	run_for(&h, 50);
	CHECK_INT_EQ(h.n_lines, 1);
	append_str(FILE_A0, "ld\n\nlast\n");
	CHECK(wait_lines(&h, 4));
	run_for(&h, 30);
	CHECK_INT_EQ(h.n_lines, 4);
	joined(&h, 0, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "hello|world||last"); /* an empty line is a line */
	for (size_t i = 0; i < h.n_lines; i++)
		CHECK_INT_EQ(h.lines[i].flags, 0);
	harness_close(&h);
	rm_rel("pods");
}

/* Checks that the lines of file fi, from index from on, are pieces that join
 * to want, with the flags of a split line. */
static void check_pieces(struct harness *h, size_t from, size_t n_pieces, const char *want,
			 int line)
{
	size_t want_len = strlen(want), got = 0;
	int bad = 0;

	if (h->n_lines < from + n_pieces) {
		fprintf(stderr, "  line %d: %zu lines, expected at least %zu\n", line, h->n_lines,
			from + n_pieces);
		testing_current_failed = 1;
		return;
	}
	for (size_t i = 0; i < n_pieces; i++) {
		const struct rec_line *l = &h->lines[from + i];
		unsigned want_flags =
		    (i > 0 ? TAIL_PIECE_CONT : 0) | (i + 1 < n_pieces ? TAIL_PIECE_MORE : 0);
		if (l->flags != want_flags) {
			fprintf(stderr, "  line %d: piece %zu has flags %u, expected %u\n", line, i,
				l->flags, want_flags);
			bad = 1;
		}
		if (i + 1 < n_pieces && l->len != LIMIT) {
			fprintf(stderr, "  line %d: piece %zu is %zu bytes, expected %d\n", line, i,
				l->len, LIMIT);
			bad = 1;
		}
		if (got + l->len > want_len || memcmp(want + got, l->data, l->len) != 0) {
			fprintf(stderr, "  line %d: piece %zu does not continue the line\n", line,
				i);
			bad = 1;
			break;
		}
		got += l->len;
	}
	if (got != want_len) {
		fprintf(stderr, "  line %d: pieces hold %zu bytes, expected %zu\n", line, got,
			want_len);
		bad = 1;
	}
	if (bad)
		testing_current_failed = 1;
}

/* (4) lines longer than max_line + 64 come in pieces */
TEST(test_long_lines_in_pieces)
{
	struct harness h = {0};
	char longest[1001], exact[LIMIT + 1], over[LIMIT + 2], split[221];
	struct tail_stats st;

	for (size_t i = 0; i < sizeof(longest) - 1; i++)
		longest[i] = (char)('a' + i % 26);
	longest[sizeof(longest) - 1] = '\0';
	memset(exact, 'e', LIMIT);
	exact[LIMIT] = '\0';
	memset(over, 'o', LIMIT + 1);
	over[LIMIT] = 'O';
	over[LIMIT + 1] = '\0';
	for (size_t i = 0; i < sizeof(split) - 1; i++)
		split[i] = (char)('A' + i % 26);
	split[sizeof(split) - 1] = '\0';

	make_dirs(POD_A "/main");
	append_str(FILE_A0, longest);
	append_str(FILE_A0, "\n");
	append_str(FILE_A0, exact);
	append_str(FILE_A0, "\nshort\n");
	append_str(FILE_A0, over);
	append_str(FILE_A0, "\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	/* 1000 bytes: 6 pieces of 164 and one of 16 */
	CHECK(wait_lines(&h, 7 + 1 + 1 + 2));
	check_pieces(&h, 0, 7, longest, __LINE__);
	/* exactly the limit: one line */
	if (h.n_lines >= 9) {
		CHECK_INT_EQ(h.lines[7].len, LIMIT);
		CHECK_INT_EQ(h.lines[7].flags, 0);
		CHECK_STR_EQ(h.lines[8].data, "short");
		CHECK_INT_EQ(h.lines[8].flags, 0);
	}
	/* one byte over: two pieces, the second of one byte */
	check_pieces(&h, 9, 2, over, __LINE__);

	/* a long line across two writes: 120 bytes, then 100 and the newline */
	append(FILE_A0, split, 120);
	run_for(&h, 100);
	CHECK_INT_EQ(h.n_lines, 11);
	append(FILE_A0, split + 120, 100);
	append_str(FILE_A0, "\nafter\n");
	CHECK(wait_lines(&h, 14));
	check_pieces(&h, 11, 2, split, __LINE__);
	if (h.n_lines >= 14) {
		CHECK_STR_EQ(h.lines[13].data, "after");
		CHECK_INT_EQ(h.lines[13].flags, 0);
	}
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.lines_split, 6 + 1 + 1);
	harness_close(&h);
	rm_rel("pods");
}

/* (5) a file deleted with unread bytes is drained, then closed after the grace */
TEST(test_deleted_file_drained_then_closed)
{
	struct harness h = {0};
	char buf[256], path[512];
	struct tail_stats st;
	int64_t deleted_ms;
	bool ok;

	make_dirs(POD_A "/main");
	append_str(FILE_A0, "one\ntwo\nno newline at the end");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	h.uids[0] = (struct uid_policy){UID_A, false, 0};
	h.n_uids = 1;
	run_for(&h, 400); /* at least one tick asks again */
	CHECK_INT_EQ(h.n_files, 1);
	CHECK_INT_EQ(h.n_lines, 0);
	CHECK(h.uids[0].ready_calls >= 2);

	full_path(path, sizeof(path), FILE_A0);
	CHECK_INT_EQ(unlink(path), 0);
	deleted_ms = loop_now_ms();
	h.uids[0].allowed = true;
	CHECK(wait_lines(&h, 2));
	run_for(&h, 20);
	/* drained, but still open while the grace runs */
	CHECK_INT_EQ(h.files[0].closed, 0);
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.files_deleted_open, 1);

	ok = false;
	for (int i = 0; i < WAIT_MS / 50 && !ok; i++) {
		run_for(&h, 50);
		ok = h.files[0].closed == 1;
	}
	CHECK(ok);
	CHECK(h.files[0].closed_ms - deleted_ms >= GRACE_MS);
	joined(&h, 0, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "one|two|no newline at the end");
	CHECK_INT_EQ(h.n_lines, 3);
	if (h.n_lines == 3) {
		CHECK_INT_EQ(h.lines[0].flags, 0);
		CHECK_INT_EQ(h.lines[2].flags, TAIL_PIECE_UNTERMINATED);
	}
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.files_closed, 1);
	CHECK_INT_EQ(st.files_open, 0);
	CHECK_INT_EQ(st.files_deleted_open, 0);
	harness_close(&h);
	rm_rel("pods");
}

/* (6) ready() false holds a file until tail_wake_pod names its pod */

struct wake_state {
	int64_t tick_ms;
	struct loop_timer *wake, *check;
	int64_t woke_ms;
	size_t a_lines_at_check, b_lines_at_check, c_lines_at_check;
	bool checked;
	bool wake_all; /* phase 2: tail_wake_pod(NULL) */
};

static size_t lines_of_uid(struct harness *h, const char *uid)
{
	size_t n = 0;

	for (size_t i = 0; i < h->n_lines; i++)
		if (h->lines[i].file >= 0 && strcmp(h->files[h->lines[i].file].uid, uid) == 0)
			n++;
	return n;
}

static void wake_check(struct loop *loop, void *arg)
{
	struct harness *h = arg;
	struct wake_state *w = h->test_state;

	(void)loop;
	w->check = NULL;
	w->checked = true;
	w->a_lines_at_check = lines_of_uid(h, UID_A);
	w->b_lines_at_check = lines_of_uid(h, UID_B);
	w->c_lines_at_check = lines_of_uid(h, UID_C);
}

static void wake_fire(struct loop *loop, void *arg)
{
	struct harness *h = arg;
	struct wake_state *w = h->test_state;

	w->wake = NULL;
	for (int i = 0; i < h->n_uids; i++)
		h->uids[i].allowed = true;
	w->woke_ms = loop_now_ms();
	tail_wake_pod(h->tail, w->wake_all ? NULL : UID_A);
	/* 2 ms later, far from the tail's next 250 ms tick */
	w->check = loop_timer_add(loop, 2, wake_check, h);
}

/* Called from ready(): the second call for pod A comes from a tick (the first
 * is the read right after opening); the wake goes half-way to the next one. */
static void wake_on_ready(struct harness *h, struct tail_file *f)
{
	struct wake_state *w = h->test_state;
	struct uid_policy *p = policy_of(h, f->pod_uid);

	if (p == &h->uids[0] && p->ready_calls == 2 && !w->tick_ms) {
		w->tick_ms = loop_now_ms();
		w->wake = loop_timer_add(h->loop, 100, wake_fire, h);
	}
}

static bool wake_checked(struct harness *h, void *arg)
{
	(void)arg;
	return ((struct wake_state *)h->test_state)->checked;
}

static void wake_phase(bool wake_all)
{
	struct harness h = {0};
	struct wake_state w = {.wake_all = wake_all};

	make_dirs(POD_A "/main");
	make_dirs(POD_B "/app");
	make_dirs(POD_C "/app");
	append_str(FILE_A0, "a-line\n");
	append_str(FILE_B, "b-line\n");
	append_str(FILE_C, "c-line\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	h.test_state = &w;
	h.uids[0] = (struct uid_policy){UID_A, false, 0};
	h.uids[1] = (struct uid_policy){UID_B, false, 0};
	h.uids[2] = (struct uid_policy){UID_C, false, 0};
	h.n_uids = 3;
	h.on_ready = wake_on_ready;
	CHECK(run_until(&h, wake_checked, NULL, WAIT_MS));
	CHECK(w.tick_ms > 0);
	/* pod A was read at once; B and C only if woken too */
	CHECK_INT_EQ(w.a_lines_at_check, 1);
	CHECK_INT_EQ(w.b_lines_at_check, wake_all ? 1 : 0);
	CHECK_INT_EQ(w.c_lines_at_check, wake_all ? 1 : 0);
	/* the others are asked again on the next tick */
	CHECK(wait_lines(&h, 3));
	CHECK_INT_EQ(lines_of_uid(&h, UID_B), 1);
	CHECK_INT_EQ(lines_of_uid(&h, UID_C), 1);
	if (w.wake)
		loop_timer_cancel(h.loop, w.wake);
	if (w.check)
		loop_timer_cancel(h.loop, w.check);
	harness_close(&h);
	rm_rel("pods");
}

TEST(test_ready_and_wake_pod)
{
	wake_phase(false);
}

TEST(test_ready_and_wake_all)
{
	wake_phase(true);
}

/* (7) a pods dir that is missing at start is picked up on a rescan */
TEST(test_missing_pods_dir)
{
	struct harness h = {0};
	struct tail_stats st;
	char buf[128];

	CHECK_INT_EQ(harness_open(&h, "late", 100, 1 << 20), 0);
	CHECK(h.tail != NULL);
	if (!h.tail) {
		harness_close(&h);
		return;
	}
	run_for(&h, 50);
	CHECK_INT_EQ(h.n_files, 0);
	make_dirs("late/ns_pod_" UID_A "/c");
	append_str("late/ns_pod_" UID_A "/c/0.log", "late line\n");
	CHECK(wait_lines(&h, 1));
	joined(&h, 0, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "late line");
	tail_get_stats(h.tail, &st);
	CHECK(st.rescans >= 2); /* the one in tail_open, and the one that found it */

	/* from then on inotify sees new pods */
	make_dirs("late/ns_pod2_" UID_B "/c");
	append_str("late/ns_pod2_" UID_B "/c/0.log", "second pod\n");
	CHECK(wait_lines(&h, 2));
	harness_close(&h);
	rm_rel("late");
}

/* (8) names that are not <ns>_<pod>_<uid>/<container>/<n>.log are ignored */
TEST(test_non_cri_names_ignored)
{
	static const char *const ignored[] = {
	    POD_A "/main/0.log.20260101-000000.gz",
	    POD_A "/main/0.log.20260101-000000",
	    POD_A "/main/foo.txt",
	    POD_A "/main/x.log",
	    POD_A "/main/.0.log",
	    POD_A "/main/-1.log",
	    POD_A "/main/0.LOG",
	    POD_A "/main/99999999999.log",
	    "pods/notapod/c/0.log",
	    "pods/ns_pod/c/0.log",
	    "pods/a_b_c_d/c/0.log",
	    "pods/_pod_uid/c/0.log",
	};
	struct harness h = {0};
	char buf[128];

	make_dirs(POD_A "/main");
	make_dirs("pods/notapod/c");
	make_dirs("pods/ns_pod/c");
	make_dirs("pods/a_b_c_d/c");
	make_dirs("pods/_pod_uid/c");
	/* present at start */
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		append_str(ignored[i], "ignored\n");
	append_str(FILE_A0, "kept 0\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK(wait_lines(&h, 1));
	/* created while running */
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		append_str(ignored[i], "ignored again\n");
	append_str(POD_A "/main/3.log", "kept 3\n");
	CHECK(wait_lines(&h, 2));
	run_for(&h, 300); /* a tick and a little more */
	CHECK_INT_EQ(h.n_files, 2);
	CHECK_INT_EQ(h.n_lines, 2);
	for (int i = 0; i < h.n_files; i++) {
		joined(&h, i, buf, sizeof(buf));
		CHECK(strncmp(buf, "kept ", 5) == 0);
	}
	harness_close(&h);
	rm_rel("pods");
}

/* (9) a file that shrinks is read again from the start */
TEST(test_truncation_restarts)
{
	struct harness h = {0};
	char buf[128], path[512];
	struct tail_stats st;
	int fd;

	make_dirs(POD_A "/main");
	append_str(FILE_A0, "one\ntwo\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK(wait_lines(&h, 2));
	full_path(path, sizeof(path), FILE_A0);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(write(fd, "new\n", 4), 4);
		close(fd);
	}
	CHECK(wait_lines(&h, 3));
	run_for(&h, 50);
	joined(&h, 0, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "one|two|new");
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.truncations, 1);
	CHECK_INT_EQ(h.n_files, 1); /* the same file, not a new one */
	CHECK_INT_EQ(h.files[0].truncated, 1);
	if (h.n_lines == 3) {
		CHECK_INT_EQ(h.lines[1].start, 4);
		CHECK_INT_EQ(h.lines[1].end, 8);
		CHECK_INT_EQ(h.lines[2].start, 0); /* offsets start over with the content */
		CHECK_INT_EQ(h.lines[2].end, 4);
	}
	harness_close(&h);
	rm_rel("pods");
}

/* A file renamed away (as log rotation does) while the runtime still writes
 * to it, and a new file under the old name: both are read to the end, and the
 * old one is closed after the grace while the new one stays open. */
TEST(test_rotation_keeps_both)
{
	struct harness h = {0};
	char path[512], rotated[512], buf[128];
	int wfd, old_fi, new_fi;
	bool ok = false;

	make_dirs(POD_A "/main");
	full_path(path, sizeof(path), FILE_A0);
	full_path(rotated, sizeof(rotated), FILE_A0 ".20260101-000000");
	wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	CHECK(wfd >= 0);
	if (wfd < 0)
		return;
	CHECK_INT_EQ(write(wfd, "old1\n", 5), 5);
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK(wait_lines(&h, 1));

	CHECK_INT_EQ(rename(path, rotated), 0);
	CHECK_INT_EQ(write(wfd, "old2\n", 5), 5);
	close(wfd);
	append_str(FILE_A0, "new1\n");
	CHECK(wait_lines(&h, 3));
	CHECK_INT_EQ(h.n_files, 2);
	old_fi = 0;
	new_fi = h.n_files == 2 ? 1 : -1;
	joined(&h, old_fi, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "old1|old2");
	if (new_fi >= 0) {
		joined(&h, new_fi, buf, sizeof(buf));
		CHECK_STR_EQ(buf, "new1");
	}
	for (int i = 0; i < (GRACE_MS + 1000) / 50 && !ok; i++) {
		run_for(&h, 50);
		ok = h.files[old_fi].closed == 1;
	}
	CHECK(ok); /* the rotated file was closed through the callback */
	if (new_fi >= 0)
		CHECK_INT_EQ(h.files[new_fi].closed, 0);
	/* and a line appended to the new file still arrives */
	append_str(FILE_A0, "new2\n");
	CHECK(wait_lines(&h, 4));
	harness_close(&h);
	rm_rel("pods");
}

/* A whole pod dir removed while its file still has unread bytes (a finished
 * Job whose pod is deleted): drained and closed; the same pod dir created
 * again is watched again. */
TEST(test_pod_dir_removed_and_recreated)
{
	struct harness h = {0};
	char buf[128];
	bool ok = false;
	int fi;

	make_dirs(POD_A "/main");
	append_str(FILE_A0, "last words\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	h.uids[0] = (struct uid_policy){UID_A, false, 0};
	h.n_uids = 1;
	run_for(&h, 30);
	CHECK_INT_EQ(h.n_lines, 0);
	rm_rel(POD_A);
	h.uids[0].allowed = true;
	CHECK(wait_lines(&h, 1));
	for (int i = 0; i < (GRACE_MS + 1000) / 50 && !ok; i++) {
		run_for(&h, 50);
		ok = h.n_files == 1 && h.files[0].closed == 1;
	}
	CHECK(ok);
	joined(&h, 0, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "last words");

	make_dirs(POD_A "/main");
	append_str(FILE_A0, "born again\n");
	CHECK(wait_lines(&h, 2));
	CHECK_INT_EQ(h.n_files, 2);
	fi = find_file(&h, FILE_A0);
	/* the latest record for that path is the new file */
	if (h.n_files == 2) {
		joined(&h, 1, buf, sizeof(buf));
		CHECK_STR_EQ(buf, "born again");
		CHECK_INT_EQ(h.files[1].closed, 0);
	}
	CHECK(fi >= 0);
	harness_close(&h);
	rm_rel("pods");
}

/* tail_close with files open and unread: each gets its closed callback */
TEST(test_close_with_open_files)
{
	struct harness h = {0};
	struct tail_stats st;

	make_dirs(POD_A "/main");
	make_dirs(POD_B "/app");
	append_str(FILE_A0, "x\n");
	append_str(FILE_B, "partial");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	h.default_ready = false;
	CHECK_INT_EQ(h.n_files, 2);
	run_for(&h, 30);
	CHECK_INT_EQ(h.n_lines, 0);
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.files_open, 2);
	harness_close(&h); /* checks one closed call per file */
	rm_rel("pods");
}

/* A file opened at a given offset (its checkpoint) reads from there, and
 * every line comes with the offsets it occupies. */
TEST(test_start_offset_and_line_offsets)
{
	struct harness h = {.start_offset = 3};
	static const uint64_t want[][2] = {{3, 7}, {7, 10}, {10, 13}};

	make_dirs(POD_A "/main");
	append_str(FILE_A0, "aa\nbbb\ncc\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK(wait_lines(&h, 2));
	append_str(FILE_A0, "dd\n");
	CHECK(wait_lines(&h, 3));
	CHECK_INT_EQ(h.n_lines, 3);
	for (size_t i = 0; i < h.n_lines && i < 3; i++) {
		CHECK_INT_EQ(h.lines[i].start, want[i][0]);
		CHECK_INT_EQ(h.lines[i].end, want[i][1]);
	}
	if (h.n_lines == 3)
		CHECK_STR_EQ(h.lines[0].data, "bbb");
	harness_close(&h);
	rm_rel("pods");
}

/* A piece of a long line carries the line's start, and its own end. */
TEST(test_piece_offsets)
{
	struct harness h = {0};
	char line[MAX_LINE * 3];
	size_t n = sizeof(line) - 1;

	memset(line, 'x', n);
	line[n - 1] = '\n';
	line[n] = '\0';
	make_dirs(POD_A "/main");
	append_str(FILE_A0, "ab\n");
	append_str(FILE_A0, line);
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK(run_until(&h, has_lines, (void *)(intptr_t)2, WAIT_MS));
	run_for(&h, 30);
	CHECK(h.n_lines >= 3);
	for (size_t i = 1; i < h.n_lines; i++) {
		CHECK_INT_EQ(h.lines[i].start, 3);
		if (h.lines[i].flags & TAIL_PIECE_MORE)
			CHECK(h.lines[i].end < 3 + n);
		else
			CHECK_INT_EQ(h.lines[i].end, 3 + n);
	}
	harness_close(&h);
	rm_rel("pods");
}

/* At a scan, a rotated file is opened only when the caller wants it; then it
 * is read like a deleted file and closed once drained. A compressed one never. */
TEST(test_rotated_file_when_wanted)
{
	struct harness h = {.wanted = "0.log.20260101-000000"};
	char buf[128];
	int fi, other;
	bool ok = false;

	make_dirs(POD_A "/main");
	append_str(FILE_A0 ".20260101-000000", "r1\nr2\n");
	append_str(FILE_A0 ".20251231-000000", "unwanted\n");
	append_str(FILE_A0 ".20251230-000000.gz", "compressed\n");
	append_str(FILE_A0, "live\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK(wait_lines(&h, 3));
	CHECK_INT_EQ(h.n_files, 2);
	fi = find_file(&h, FILE_A0 ".20260101-000000");
	other = find_file(&h, FILE_A0);
	CHECK(fi >= 0 && other >= 0);
	if (fi < 0 || other < 0) {
		harness_close(&h);
		rm_rel("pods");
		return;
	}
	CHECK(h.files[fi].rotated);
	CHECK(!h.files[other].rotated);
	joined(&h, fi, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "r1|r2");
	for (int i = 0; i < (GRACE_MS + 1000) / 50 && !ok; i++) {
		run_for(&h, 50);
		ok = h.files[fi].closed == 1;
	}
	CHECK(ok);
	CHECK(h.files[fi].drained);
	CHECK(!h.files[fi].gone); /* it still has its rotated name */
	harness_close(&h);
	rm_rel("pods");
}

/* More deleted files than allowed: the one deleted first is closed unread,
 * and its bytes are counted. */
TEST(test_deleted_files_limit)
{
	struct harness h = {.max_deleted = 1};
	struct tail_stats st;
	int fa, fb;

	make_dirs(POD_A "/main");
	make_dirs(POD_B "/app");
	append_str(FILE_A0, "0123456789\n");
	append_str(FILE_B, "abc\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	h.default_ready = false;
	run_for(&h, 30);
	rm_rel(FILE_A0);
	run_for(&h, 30);
	rm_rel(FILE_B);
	run_for(&h, 30);
	fa = find_file(&h, FILE_A0);
	fb = find_file(&h, FILE_B);
	CHECK(fa >= 0 && fb >= 0);
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.deleted_closed_unread, 1);
	CHECK_INT_EQ(st.deleted_unread_bytes, 11);
	if (fa >= 0 && fb >= 0) {
		CHECK_INT_EQ(h.files[fa].closed, 1);
		CHECK(!h.files[fa].drained);
		CHECK(h.files[fa].gone);
		CHECK_INT_EQ(h.files[fb].closed, 0);
	}
	h.default_ready = true;
	tail_wake_pod(h.tail, NULL);
	CHECK(wait_lines(&h, 1));
	CHECK_INT_EQ(h.n_lines, 1);
	harness_close(&h);
	rm_rel("pods");
}

/* tail_finish hands over an unterminated last line and closes as drained. */
TEST(test_finish_emits_rest)
{
	struct harness h = {0};

	make_dirs(POD_A "/main");
	append_str(FILE_A0, "one\ntail-without-newline");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK(wait_lines(&h, 1));
	run_for(&h, 20);
	CHECK(!tail_busy(h.tail));
	CHECK_INT_EQ(h.n_lines, 1);
	tail_finish(h.tail);
	CHECK_INT_EQ(h.n_lines, 2);
	if (h.n_lines == 2) {
		CHECK_STR_EQ(h.lines[1].data, "tail-without-newline");
		CHECK(h.lines[1].flags & TAIL_PIECE_UNTERMINATED);
		CHECK_INT_EQ(h.lines[1].start, 4);
		CHECK_INT_EQ(h.lines[1].end, 24);
	}
	CHECK_INT_EQ(h.files[0].closed, 1);
	CHECK(h.files[0].drained);
	harness_close(&h);
	rm_rel("pods");
}

/* ---- docker's json-file logs ---- */

#define DOCKER_ID "4fa05162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4"

/* <docker>/containers/<id>/<id>-json.log is read with the id; other files of
 * the dir are not; a rotated one is when wanted, a compressed one never; a
 * container dir made later is found. */
TEST(test_docker_dirs)
{
	struct harness h = {.docker_dir = "docker/containers", .wanted = DOCKER_ID "-json.log.1"};
	const char *d = "docker/containers/" DOCKER_ID "/";
	char rel[256];
	int fi;

	make_dirs("pods");
	make_dirs("docker/containers/" DOCKER_ID);
	make_dirs("docker/containers/not-an-id");
	snprintf(rel, sizeof(rel), "%s%s", d, DOCKER_ID "-json.log");
	append_str(rel, "{\"log\":\"live\\n\"}\n");
	snprintf(rel, sizeof(rel), "%s%s", d, DOCKER_ID "-json.log.1");
	append_str(rel, "{\"log\":\"rotated\\n\"}\n");
	snprintf(rel, sizeof(rel), "%s%s", d, DOCKER_ID "-json.log.2.gz");
	append_str(rel, "compressed\n");
	snprintf(rel, sizeof(rel), "%s%s", d, "config.v2.json");
	append_str(rel, "{}\n");
	append_str("docker/containers/not-an-id/not-an-id-json.log", "no\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK(wait_lines(&h, 2));
	make_dirs("docker/containers/" DOCKER_ID "0");
	append_str("docker/containers/" DOCKER_ID "0/" DOCKER_ID "0-json.log", "too long an id\n");
	make_dirs("docker/containers/abc");
	append_str("docker/containers/abc/abc-json.log", "later\n");
	CHECK(wait_lines(&h, 3));
	run_for(&h, 100);
	CHECK_INT_EQ(h.n_lines, 3);
	CHECK_INT_EQ(h.n_files, 3);
	snprintf(rel, sizeof(rel), "%s%s", d, DOCKER_ID "-json.log");
	fi = find_file(&h, rel);
	CHECK(fi >= 0);
	if (fi >= 0) {
		CHECK_INT_EQ(h.files[fi].format, TAIL_FORMAT_DOCKER);
		CHECK_STR_EQ(h.files[fi].container_id, DOCKER_ID);
		CHECK_STR_EQ(h.files[fi].uid, "");
		CHECK(!h.files[fi].rotated);
	}
	snprintf(rel, sizeof(rel), "%s%s", d, DOCKER_ID "-json.log.1");
	fi = find_file(&h, rel);
	CHECK(fi >= 0 && h.files[fi].rotated);
	fi = find_file(&h, "docker/containers/abc/abc-json.log");
	CHECK(fi >= 0 && strcmp(h.files[fi].container_id, "abc") == 0);
	harness_close(&h);
	rm_rel("pods");
	rm_rel("docker");
}

/* ---- dirs of in-container files ---- */

#define APP_UID "3e9f4051-6273-4485-b96a-7b8c9daebfc0"

/* Adds <tmp>/<root>, dir rel beneath it, as container dir cdir. */
static int add_app_dir(struct harness *h, const char *key, const char *root, const char *rel,
		       bool in_root, const char *cdir, const char *pattern)
{
	char path[512];
	struct tail_dir d = {
	    .key = key,
	    .root_path = path,
	    .rel = rel,
	    .in_root = in_root,
	    .container_dir = cdir,
	    .pattern = pattern,
	    .namespace_name = "apps",
	    .pod_name = "writer-1",
	    .pod_uid = APP_UID,
	    .container_name = "main",
	};

	full_path(path, sizeof(path), root);
	d.root_fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (d.root_fd < 0)
		return -errno;
	return tail_add_dir(h->tail, &d);
}

static int find_container_path(struct harness *h, const char *cpath)
{
	for (int i = 0; i < h->n_files; i++)
		if (strcmp(h->files[i].container_path, cpath) == 0)
			return i;
	return -1;
}

/* Files matching the pattern are read whole with their path in the
 * container; other names, symlinks and fifos are not; new files are found. */
TEST(test_app_dir_volume)
{
	struct harness h = {0};
	char buf[256], path[512], target[512];
	struct tail_stats st;
	int fi;

	make_dirs("pods");
	make_dirs("vol/app");
	append_str("secret.txt", "host secret\n");
	append_str("vol/app/a.log", "alpha 1\nalpha 2\n");
	append_str("vol/app/b.txt", "not asked for\n");
	full_path(path, sizeof(path), "vol/app/evil.log");
	full_path(target, sizeof(target), "secret.txt");
	CHECK_INT_EQ(symlink(target, path), 0);
	full_path(path, sizeof(path), "vol/app/pipe.log");
	CHECK_INT_EQ(mkfifo(path, 0600), 0);
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK_INT_EQ(add_app_dir(&h, "k1", "vol", "app", false, "/var/log/app", "*.log"), 0);
	CHECK_INT_EQ(add_app_dir(&h, "k1", "vol", "app", false, "/var/log/app", "*.log"), 0);
	CHECK(wait_lines(&h, 2));
	append_str("vol/app/c.log", "gamma\n");
	CHECK(wait_lines(&h, 3));
	run_for(&h, 50);
	CHECK_INT_EQ(h.n_files, 2);
	CHECK_INT_EQ(h.n_lines, 3);
	fi = find_container_path(&h, "/var/log/app/a.log");
	CHECK(fi >= 0);
	if (fi >= 0) {
		joined(&h, fi, buf, sizeof(buf));
		CHECK_STR_EQ(buf, "alpha 1|alpha 2");
		CHECK_INT_EQ(h.files[fi].format, TAIL_FORMAT_PLAIN);
		CHECK_STR_EQ(h.files[fi].uid, APP_UID);
		CHECK_STR_EQ(h.files[fi].pod, "writer-1");
		CHECK_STR_EQ(h.files[fi].container, "main");
		full_path(path, sizeof(path), "vol/app/a.log");
		CHECK_STR_EQ(h.files[fi].path, path);
	}
	fi = find_container_path(&h, "/var/log/app/c.log");
	CHECK(fi >= 0);
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.dirs_watched, 1);
	CHECK(st.symlinks_skipped >= 1);
	CHECK_INT_EQ(st.open_errors, 0);
	harness_close(&h);
	rm_rel("pods");
	rm_rel("vol");
	rm_rel("secret.txt");
}

/* A symlinked dir never leads out of a volume; in a container's root an
 * absolute symlink means that root's path, not the host's. */
TEST(test_app_dir_symlinks)
{
	struct harness h = {0};
	char buf[256], path[512], target[512];
	struct tail_stats st;
	int fi;

	make_dirs("pods");
	make_dirs("vol");
	make_dirs("outside");
	make_dirs("root/data");
	make_dirs("data");
	append_str("outside/x.log", "outside the volume\n");
	append_str("root/data/x.log", "in the container\n");
	append_str("data/x.log", "on the host\n");
	full_path(path, sizeof(path), "vol/out");
	full_path(target, sizeof(target), "outside");
	CHECK_INT_EQ(symlink(target, path), 0);
	full_path(path, sizeof(path), "root/link");
	CHECK_INT_EQ(symlink("/data", path), 0);
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK_INT_EQ(add_app_dir(&h, "vol", "vol", "out", false, "/data/out", "*"), 0);
	CHECK_INT_EQ(add_app_dir(&h, "root", "root", "link", true, "/link", "*.log"), 0);
	CHECK(wait_lines(&h, 1));
	run_for(&h, 100);
	CHECK_INT_EQ(h.n_lines, 1);
	fi = find_container_path(&h, "/link/x.log");
	CHECK(fi >= 0);
	if (fi >= 0) {
		joined(&h, fi, buf, sizeof(buf));
		CHECK_STR_EQ(buf, "in the container");
	}
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.dir_errors, 1);
	CHECK_INT_EQ(st.dirs_watched, 1);
	harness_close(&h);
	rm_rel("pods");
	rm_rel("vol");
	rm_rel("outside");
	rm_rel("root");
	rm_rel("data");
}

/* A dir made after it was asked for is found; a file renamed to a name still
 * read keeps its reader (nothing read twice); removing the dir drains its
 * files and closes them, and files made after are not opened. */
TEST(test_app_dir_later_rename_remove)
{
	struct harness h = {0};
	char buf[256], from[512], to[512];
	struct tail_stats st;
	bool ok = false;

	make_dirs("pods");
	make_dirs("vol");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK_INT_EQ(add_app_dir(&h, "k", "vol", "later/logs", false, "/out/logs", "*"), 0);
	run_for(&h, 100);
	make_dirs("vol/later/logs");
	append_str("vol/later/logs/app.log", "one\ntwo\n");
	CHECK(run_until(&h, has_lines, (void *)(intptr_t)2, 3000));
	full_path(from, sizeof(from), "vol/later/logs/app.log");
	full_path(to, sizeof(to), "vol/later/logs/app.log.1");
	CHECK_INT_EQ(rename(from, to), 0);
	append_str("vol/later/logs/app.log.1", "three\n");
	append_str("vol/later/logs/app.log", "new one\n");
	CHECK(wait_lines(&h, 4));
	run_for(&h, 100);
	CHECK_INT_EQ(h.n_files, 2);
	CHECK_INT_EQ(h.n_lines, 4);
	joined(&h, 0, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "one|two|three");
	CHECK_STR_EQ(h.files[0].container_path, "/out/logs/app.log.1");
	CHECK_STR_EQ(h.files[0].path, to);
	joined(&h, 1, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "new one");

	append_str("vol/later/logs/app.log", "last\n");
	tail_remove_dir(h.tail, "k");
	tail_remove_dir(h.tail, "k"); /* unknown now: nothing */
	append_str("vol/later/logs/other.log", "not read\n");
	for (int i = 0; i < WAIT_MS / 50 && !ok; i++) {
		run_for(&h, 50);
		ok = h.files[0].closed == 1 && h.files[1].closed == 1;
	}
	CHECK(ok);
	CHECK(h.files[1].drained);
	joined(&h, 1, buf, sizeof(buf));
	CHECK_STR_EQ(buf, "new one|last");
	CHECK_INT_EQ(h.n_files, 2);
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.dirs_watched, 0);
	CHECK_INT_EQ(st.files_open, 0);
	harness_close(&h);
	rm_rel("pods");
	rm_rel("vol");
}

/* A file renamed over one being read: the old one is drained as deleted,
 * the new one read from its start; a kernel interface filesystem is not read. */
TEST(test_app_dir_rename_over_and_proc)
{
	struct harness h = {0};
	struct tail_dir d = {.key = "proc",
			     .root_path = "/proc/self",
			     .rel = "",
			     .container_dir = "/proc/self",
			     .pattern = "*",
			     .namespace_name = "apps",
			     .pod_name = "writer-1",
			     .pod_uid = APP_UID,
			     .container_name = "main"};
	char buf[256], from[512], to[512];
	struct tail_stats st;
	int fi;

	make_dirs("pods");
	make_dirs("vol/logs");
	append_str("vol/logs/a.log", "a1\n");
	append_str("vol/logs/b.log", "b1\n");
	CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
	CHECK_INT_EQ(add_app_dir(&h, "k", "vol", "logs", false, "/logs", "*.log"), 0);
	d.root_fd = open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
	CHECK_INT_EQ(tail_add_dir(h.tail, &d), 0);
	CHECK(wait_lines(&h, 2));
	full_path(from, sizeof(from), "vol/logs/a.log");
	full_path(to, sizeof(to), "vol/logs/b.log");
	CHECK_INT_EQ(rename(from, to), 0);
	append_str("vol/logs/b.log", "a2 as b\n");
	CHECK(wait_lines(&h, 3));
	run_for(&h, 100);
	CHECK_INT_EQ(h.n_lines, 3);
	fi = find_container_path(&h, "/logs/b.log");
	CHECK(fi >= 0);
	joined(&h, 0, buf, sizeof(buf));
	CHECK(strcmp(buf, "a1|a2 as b") == 0 || strcmp(buf, "b1") == 0);
	joined(&h, 1, buf, sizeof(buf));
	CHECK(strcmp(buf, "a1|a2 as b") == 0 || strcmp(buf, "b1") == 0);
	tail_get_stats(h.tail, &st);
	CHECK_INT_EQ(st.dir_errors, 1);
	CHECK_INT_EQ(st.dirs_watched, 1);
	CHECK_INT_EQ(h.n_files, 2);
	harness_close(&h);
	rm_rel("pods");
	rm_rel("vol");
}

/* A finished container's files are read before the others: whichever of
 * two files the tail would read first, the finished one goes first. */
TEST(test_finished_container_first)
{
	for (int round = 0; round < 2; round++) {
		const char *uid = round == 0 ? UID_A : UID_B;
		const char *name = round == 0 ? "main" : "app";
		struct harness h = {0};

		make_dirs(POD_A "/main");
		make_dirs(POD_B "/app");
		append_str(FILE_A0, "a\n");
		append_str(FILE_B, "b\n");
		CHECK_INT_EQ(harness_open(&h, "pods", 60000, 1 << 20), 0);
		h.default_ready = false;
		run_for(&h, 100);
		CHECK_INT_EQ(h.n_files, 2);
		CHECK_INT_EQ(h.n_lines, 0);
		tail_container_finished(h.tail, uid, name);
		h.default_ready = true;
		tail_wake_pod(h.tail, NULL);
		CHECK(wait_lines(&h, 2));
		if (h.n_lines >= 2)
			CHECK_STR_EQ(h.lines[0].data, round == 0 ? "a" : "b");
		harness_close(&h);
		rm_rel("pods");
	}
}

int main(void)
{
	if (testing_mkdtemp(tmp_dir, sizeof(tmp_dir), "tail") != 0)
		return 1;
	log_set_level(LOG_ERROR);
	RUN(test_found_through_inotify);
	RUN(test_existing_files_from_start);
	RUN(test_split_writes);
	RUN(test_long_lines_in_pieces);
	RUN(test_deleted_file_drained_then_closed);
	RUN(test_ready_and_wake_pod);
	RUN(test_ready_and_wake_all);
	RUN(test_missing_pods_dir);
	RUN(test_non_cri_names_ignored);
	RUN(test_truncation_restarts);
	RUN(test_rotation_keeps_both);
	RUN(test_pod_dir_removed_and_recreated);
	RUN(test_close_with_open_files);
	RUN(test_start_offset_and_line_offsets);
	RUN(test_piece_offsets);
	RUN(test_rotated_file_when_wanted);
	RUN(test_deleted_files_limit);
	RUN(test_finish_emits_rest);
	RUN(test_docker_dirs);
	RUN(test_app_dir_volume);
	RUN(test_app_dir_symlinks);
	RUN(test_app_dir_later_rename_remove);
	RUN(test_app_dir_rename_over_and_proc);
	RUN(test_finished_container_first);
	testing_remove_tree(tmp_dir);
	return testing_done();
}
