/* test_sink.c: --output parsing (sink.c) and the stdout and file sinks
 * (sink_file.c) on real files and pipes.
 *
 * Every event written is also kept here, with its sequence number and where
 * its bytes end in the stream, so that after each step the test can check
 * the promise behind confirmed_seq: every event with a sequence number up to
 * it has all its bytes written (in the file, or in the pipe or already read
 * from it). The stdout tests put a pipe on stdout that the test reads only
 * when it chooses, so the sink meets a full pipe; an alarm ends the program
 * should a write ever block.
 */
#include "log.h"
#include "loop.h"
#include "sink.h"
#include "testing.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define GUARD_MS      10000
#define ALARM_SECONDS 60 /* a blocked write ends the program: a failure, not a hang */

/* ---- the events written, kept to compare and to check confirmations ---- */

struct stream {
	char *data; /* every event, in order */
	size_t len, cap;
	uint64_t *seq; /* per event */
	size_t *end;   /* per event: where its bytes end in data */
	size_t n, n_cap;
};

static void stream_free(struct stream *st)
{
	free(st->data);
	free(st->seq);
	free(st->end);
	memset(st, 0, sizeof(*st));
}

/* Appends one event of exactly len bytes (at least 32) to st: a JSON line
 * naming seq, padded with letters. Returns where it begins, or SIZE_MAX. */
static size_t stream_add(struct stream *st, uint64_t seq, size_t len)
{
	char head[48];
	int n = snprintf(head, sizeof(head), "{\"seq\":%" PRIu64 ",\"msg\":\"", seq);
	size_t at = st->len;

	if (len < 32 || n < 0 || (size_t)n + 3 > len)
		return SIZE_MAX;
	if (st->len + len > st->cap) {
		size_t cap = st->cap ? st->cap : 65536;
		char *nb;
		while (cap < st->len + len)
			cap *= 2;
		nb = realloc(st->data, cap);
		if (!nb)
			return SIZE_MAX;
		st->data = nb;
		st->cap = cap;
	}
	if (st->n == st->n_cap) {
		size_t cap = st->n_cap ? st->n_cap * 2 : 256;
		uint64_t *ns = realloc(st->seq, cap * sizeof(*ns));
		size_t *ne;
		if (!ns)
			return SIZE_MAX;
		st->seq = ns;
		ne = realloc(st->end, cap * sizeof(*ne));
		if (!ne)
			return SIZE_MAX;
		st->end = ne;
		st->n_cap = cap;
	}
	memcpy(st->data + at, head, (size_t)n);
	for (size_t i = (size_t)n; i < len - 3; i++)
		st->data[at + i] = (char)('a' + (seq + i) % 26);
	memcpy(st->data + at + len - 3, "\"}\n", 3);
	st->len += len;
	st->seq[st->n] = seq;
	st->end[st->n] = st->len;
	st->n++;
	return at;
}

/* sink_open with a loop (or none) and no settings. */
static int open_sink(struct sink **out, const char *spec, struct loop *loop)
{
	struct sink_params p = {.name = "test", .loop = loop};

	return sink_open(out, spec, &p);
}

static const char *check_spec(const char *spec)
{
	static char err[256];

	return sink_check(spec, NULL, err, sizeof(err));
}

/* Adds an event to st and writes it to s; whether the sink took it. */
static bool write_event(struct sink *s, struct stream *st, uint64_t seq, size_t len)
{
	size_t at = stream_add(st, seq, len);
	int ret;

	CHECK(at != SIZE_MAX);
	if (at == SIZE_MAX)
		return false;
	ret = sink_write(s,
			 &(struct sink_event){
			     .seq = seq, .kind = SINK_KIND_LOG, .data = st->data + at, .len = len});
	CHECK_INT_EQ(ret, 0);
	return ret == 0;
}

/* Whether every event of st with a sequence number up to confirmed lies
 * within the first written bytes; says which one does not. */
static bool confirmed_within(const struct stream *st, uint64_t confirmed, size_t written)
{
	size_t i = st->n;

	while (i > 0 && st->seq[i - 1] > confirmed)
		i--;
	if (i == 0 || st->end[i - 1] <= written)
		return true;
	fprintf(stderr,
		"  confirmed_seq %" PRIu64 " covers event %zu (seq %" PRIu64
		", bytes up to %zu) but only %zu bytes were written\n",
		confirmed, i - 1, st->seq[i - 1], st->end[i - 1], written);
	return false;
}

/* ---- a pipe on stdout ---- */

struct pipe_out {
	int saved; /* the real stdout */
	int rd;	   /* the read end, non-blocking */
	size_t cap;
	char *got; /* what was read from the pipe */
	size_t got_len, got_cap;
};

/* Puts a new pipe on stdout; false (checked) when that failed. */
static bool pipe_out_begin(struct pipe_out *p)
{
	int fds[2];
	int cap;

	memset(p, 0, sizeof(*p));
	p->saved = p->rd = -1;
	fflush(stdout);
	p->saved = dup(STDOUT_FILENO);
	CHECK(p->saved >= 0);
	if (p->saved < 0)
		return false;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		CHECK(!"pipe2");
		return false;
	}
	CHECK_INT_EQ(dup2(fds[1], STDOUT_FILENO), STDOUT_FILENO);
	close(fds[1]);
	p->rd = fds[0];
	CHECK_INT_EQ(fcntl(p->rd, F_SETFL, O_NONBLOCK), 0);
	cap = fcntl(p->rd, F_GETPIPE_SZ);
	CHECK(cap > 0);
	p->cap = cap > 0 ? (size_t)cap : 65536;
	return true;
}

/* Gives stdout back and closes the pipe. */
static void pipe_out_end(struct pipe_out *p)
{
	if (p->saved >= 0) {
		dup2(p->saved, STDOUT_FILENO);
		close(p->saved);
	}
	if (p->rd >= 0)
		close(p->rd);
	free(p->got);
	memset(p, 0, sizeof(*p));
}

/* Reads up to max bytes that are in the pipe now; returns how many. */
static size_t pipe_out_read(struct pipe_out *p, size_t max)
{
	size_t total = 0;

	while (total < max) {
		size_t want = max - total;
		ssize_t n;
		if (p->got_cap - p->got_len < 65536) {
			size_t cap = p->got_cap ? p->got_cap * 2 : 1 << 20;
			char *nb = realloc(p->got, cap);
			if (!nb)
				break;
			p->got = nb;
			p->got_cap = cap;
		}
		if (want > p->got_cap - p->got_len)
			want = p->got_cap - p->got_len;
		n = read(p->rd, p->got + p->got_len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p->got_len += (size_t)n;
		total += (size_t)n;
	}
	return total;
}

/* Bytes in the pipe, not yet read. */
static size_t pipe_out_pending(const struct pipe_out *p)
{
	int n = 0;

	if (ioctl(p->rd, FIONREAD, &n) != 0)
		return 0;
	return (size_t)n;
}

/* What the sink has written so far: read, or still in the pipe. */
static size_t pipe_out_written(const struct pipe_out *p)
{
	return p->got_len + pipe_out_pending(p);
}

/* ---- a reader on the loop ---- */

struct reader {
	struct pipe_out *p;
	struct sink *s;
	const struct stream *st;
	uint64_t last_confirmed;
	bool bad;     /* a confirmation ran ahead, or went back */
	int fired;    /* the guard stopped the loop */
	size_t chunk; /* bytes read per wakeup */
};

static void reader_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct reader *r = arg;

	(void)fd;
	(void)events;
	pipe_out_read(r->p, r->chunk);
	if (!confirmed_within(r->st, r->s->confirmed_seq, pipe_out_written(r->p)) ||
	    r->s->confirmed_seq < r->last_confirmed)
		r->bad = true;
	r->last_confirmed = r->s->confirmed_seq;
	if (r->p->got_len >= r->st->len)
		loop_stop(loop);
}

static void reader_guard(struct loop *loop, void *arg)
{
	struct reader *r = arg;

	r->fired = 1;
	loop_stop(loop);
}

/* Runs the loop with a reader on the pipe until everything in st arrived or
 * the guard fired; whether it arrived with every confirmation in bounds. */
static bool drain_through_loop(struct loop *loop, struct sink *s, struct pipe_out *p,
			       const struct stream *st, size_t chunk)
{
	struct reader r = {.p = p, .s = s, .st = st, .chunk = chunk};
	struct loop_timer *guard;
	int ret;

	r.last_confirmed = s->confirmed_seq;
	CHECK_INT_EQ(loop_add_fd(loop, p->rd, EPOLLIN, reader_readable, &r), 0);
	guard = loop_timer_add(loop, GUARD_MS, reader_guard, &r);
	CHECK(guard != NULL);
	ret = loop_run(loop);
	CHECK_INT_EQ(ret, 0);
	if (!r.fired && guard)
		loop_timer_cancel(loop, guard);
	loop_del_fd(loop, p->rd);
	if (r.fired)
		fprintf(stderr, "  the guard timer stopped the loop: %zu of %zu bytes arrived\n",
			p->got_len, st->len);
	CHECK(!r.fired);
	CHECK(!r.bad);
	return ret == 0 && !r.fired && !r.bad;
}

/* ---- specs ---- */

TEST(test_check_spec)
{
	static const char *const good[] = {"stdout", "file:/var/log/glimpse.json",
					   "file:relative.json", "file:/tmp/a b.json"};
	static const char *const bad[] = {"",	    "file",	  "file:",    "stdoutx",
					  "STDOUT", " stdout",	  "files:/x", "kafka:broker:9092",
					  "stdou",  "/var/log/x", ":stdout"};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const char *why = check_spec(good[i]);
		if (why)
			fprintf(stderr, "  \"%s\" refused: %s\n", good[i], why);
		CHECK(why == NULL);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = check_spec(bad[i]);
		if (!why)
			fprintf(stderr, "  \"%s\" accepted\n", bad[i]);
		CHECK(why != NULL && why[0] != '\0');
	}
}

TEST(test_open_refuses_bad_spec)
{
	struct sink *s = NULL;

	CHECK_INT_EQ(open_sink(&s, "kafka:broker:9092", NULL), -EINVAL);
	CHECK(s == NULL);
	CHECK_INT_EQ(open_sink(&s, "file:", NULL), -EINVAL);
	CHECK(s == NULL);
	sink_close(s); /* NULL: nothing */
}

/* ---- the file sink ---- */

struct file_fixture {
	char dir[64];	  /* a temporary dir */
	char path[256];	  /* dir/out.json */
	char spec[300];	  /* file:path, the --output for it */
	struct sink *s;	  /* the sink, or NULL */
	struct stream st; /* what was written to it */
};

/* Makes the temporary dir; false when there is none (the test skips). */
static bool file_fixture_setup(struct file_fixture *f)
{
	memset(f, 0, sizeof(*f));
	if (testing_mkdtemp(f->dir, sizeof(f->dir), "sink") != 0)
		return false;
	snprintf(f->path, sizeof(f->path), "%s/out.json", f->dir);
	snprintf(f->spec, sizeof(f->spec), "file:%s", f->path);
	return true;
}

/* Closes the sink, forgets the events and removes the temporary dir. */
static void file_fixture_teardown(struct file_fixture *f)
{
	sink_close(f->s);
	f->s = NULL;
	stream_free(&f->st);
	testing_remove_tree(f->dir);
}

/* Opens f->spec as f->s on loop (or none); false (the failure checked) when
 * it did not open. */
static bool open_file_sink(struct file_fixture *f, struct loop *loop)
{
	if (open_sink(&f->s, f->spec, loop) != 0 || !f->s) {
		CHECK(!"sink_open of a file");
		return false;
	}
	return true;
}

/* Checks that path holds skip bytes, then exactly the events of st. */
static void check_file_holds(const char *path, size_t skip, const struct stream *st)
{
	size_t len = 0;
	char *text = testing_read_file(path, &len);

	CHECK(text != NULL);
	if (text)
		CHECK_MEM_EQ(text + skip, len - skip, st->data, st->len);
	free(text);
}

TEST(test_file_sink_appends)
{
	static const char before[] = "{\"already\":\"there\"}\n";
	struct file_fixture f;
	struct loop *loop = loop_new();
	struct stat sb;
	char *text = NULL;
	size_t len = 0;
	uint64_t seq = 0;
	int fd;

	CHECK(loop != NULL);
	if (!file_fixture_setup(&f)) {
		loop_free(loop);
		SKIP("no temp dir");
	}
	fd = open(f.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(write(fd, before, sizeof(before) - 1), sizeof(before) - 1);
		close(fd);
	}
	if (!loop || !open_file_sink(&f, loop))
		goto out;
	CHECK(f.s->ops == &sink_file_ops);
	CHECK_INT_EQ(f.s->confirmed_seq, 0);
	for (int i = 0; i < 100; i++) {
		seq += 1 + (uint64_t)(i % 3);
		if (!write_event(f.s, &f.st, seq, 40 + (size_t)(i * 13) % 200))
			break;
		CHECK(confirmed_within(&f.st, f.s->confirmed_seq, 0));
	}
	CHECK_INT_EQ(f.s->queued_bytes, f.st.len); /* nothing written yet: all queued */
	CHECK_INT_EQ(sink_flush(f.s), 0);
	CHECK_INT_EQ(f.s->confirmed_seq, seq);
	CHECK_INT_EQ(f.s->queued_bytes, 0);
	CHECK_INT_EQ(sink_sync(f.s), 0);
	CHECK_INT_EQ(f.s->stats.events, 100);
	CHECK_INT_EQ(f.s->stats.bytes, f.st.len);
	CHECK_INT_EQ(f.s->stats.errors, 0);
	/* a flush with nothing queued changes nothing */
	CHECK_INT_EQ(sink_flush(f.s), 0);
	CHECK_INT_EQ(f.s->confirmed_seq, seq);
	CHECK_INT_EQ(stat(f.path, &sb), 0);
	CHECK_INT_EQ(sb.st_size, sizeof(before) - 1 + f.st.len);
	text = testing_read_file(f.path, &len);
	CHECK(text != NULL);
	if (text && len == sizeof(before) - 1 + f.st.len) {
		CHECK(memcmp(text, before, sizeof(before) - 1) == 0);
		CHECK_MEM_EQ(text + sizeof(before) - 1, f.st.len, f.st.data, f.st.len);
	} else {
		CHECK_INT_EQ(len, sizeof(before) - 1 + f.st.len);
	}
	sink_close(f.s);
	f.s = NULL;

	/* opened again (an agent restart): appends after what is there */
	if (!open_file_sink(&f, NULL))
		goto out;
	seq += 10;
	write_event(f.s, &f.st, seq, 64);
	CHECK_INT_EQ(sink_flush(f.s), 0);
	CHECK_INT_EQ(f.s->confirmed_seq, seq);
	sink_close(f.s);
	f.s = NULL;
	check_file_holds(f.path, sizeof(before) - 1, &f.st);
out:
	free(text);
	file_fixture_teardown(&f);
	loop_free(loop);
}

TEST(test_file_sink_open_fails)
{
	struct file_fixture f;
	char spec[300];

	if (!file_fixture_setup(&f))
		SKIP("no temp dir");
	snprintf(spec, sizeof(spec), "file:%s/missing/out.json", f.dir);
	CHECK_INT_EQ(open_sink(&f.s, spec, NULL), -ENOENT);
	CHECK(f.s == NULL);
	file_fixture_teardown(&f);
}

/* Events larger than the sink's buffer pass through whole; an event that
 * fills the buffer is written at once, and confirmed only as far as the file
 * holds it. */
TEST(test_file_sink_large_events)
{
	static const size_t sizes[] = {300 * 1024, 40,	1024 * 1024 + 3,
				       256 * 1024, 100, 256 * 1024 - 1};
	struct file_fixture f;
	struct stat sb;
	uint64_t seq = 1000;

	if (!file_fixture_setup(&f))
		SKIP("no temp dir");
	if (!open_file_sink(&f, NULL))
		goto out;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		seq += 7;
		if (!write_event(f.s, &f.st, seq, sizes[i]))
			break;
		CHECK_INT_EQ(stat(f.path, &sb), 0);
		CHECK(confirmed_within(&f.st, f.s->confirmed_seq, (size_t)sb.st_size));
		CHECK_INT_EQ(f.s->queued_bytes + (size_t)sb.st_size, f.st.len);
		if (sizes[i] >= 256 * 1024 && f.s->queued_bytes == 0)
			CHECK_INT_EQ(f.s->confirmed_seq, seq);
	}
	CHECK_INT_EQ(sink_flush(f.s), 0);
	CHECK_INT_EQ(f.s->confirmed_seq, seq);
	CHECK_INT_EQ(f.s->queued_bytes, 0);
	sink_close(f.s);
	f.s = NULL;
	check_file_holds(f.path, 0, &f.st);
out:
	file_fixture_teardown(&f);
}

/* stdout redirected to a file: written through fd 1, which the sink does not
 * close. */
TEST(test_stdout_on_a_file)
{
	struct file_fixture f;
	int fd, saved;

	if (!file_fixture_setup(&f))
		SKIP("no temp dir");
	fd = open(f.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	CHECK(saved >= 0);
	if (fd < 0 || saved < 0)
		goto out;
	CHECK_INT_EQ(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	close(fd);
	if (open_sink(&f.s, "stdout", NULL) == 0 && f.s) {
		CHECK(f.s->ops == &sink_stdout_ops);
		for (uint64_t seq = 1; seq <= 50; seq++)
			write_event(f.s, &f.st, seq, 100);
		CHECK_INT_EQ(sink_flush(f.s), 0);
		CHECK_INT_EQ(f.s->confirmed_seq, 50);
		CHECK_INT_EQ(f.s->queued_bytes, 0);
		CHECK_INT_EQ(sink_sync(f.s), 0);
		sink_close(f.s);
		f.s = NULL;
	} else {
		CHECK(!"sink_open stdout");
	}
	CHECK(fcntl(STDOUT_FILENO, F_GETFD) >= 0); /* still open */
	CHECK_INT_EQ(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	check_file_holds(f.path, 0, &f.st);
out:
	file_fixture_teardown(&f);
}

/* ---- the stdout sink on a pipe ---- */

struct pipe_fixture {
	struct loop *loop;
	struct pipe_out p; /* on stdout */
	struct sink *s;	   /* the stdout sink on loop, or NULL */
	struct stream st;  /* what was written to it */
};

/* A loop, the alarm, a pipe on stdout and a stdout sink on the loop; false
 * (the failure checked) when a step failed. pipe_fixture_end undoes what was
 * done either way. */
static bool pipe_fixture_begin(struct pipe_fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->p.saved = f->p.rd = -1;
	f->loop = loop_new();
	CHECK(f->loop != NULL);
	if (!f->loop)
		return false;
	alarm(ALARM_SECONDS);
	if (!pipe_out_begin(&f->p))
		return false;
	if (open_sink(&f->s, "stdout", f->loop) != 0 || !f->s) {
		CHECK(!"sink_open stdout");
		return false;
	}
	return true;
}

/* Closes the sink and the loop, gives stdout back and stops the alarm. */
static void pipe_fixture_end(struct pipe_fixture *f)
{
	sink_close(f->s);
	loop_free(f->loop);
	pipe_out_end(&f->p);
	stream_free(&f->st);
	alarm(0);
}

/* Checks that every event up to seq is confirmed, nothing is queued, and the
 * pipe gave exactly what was written. */
static void check_all_delivered(const struct pipe_fixture *f, uint64_t seq)
{
	CHECK_INT_EQ(f->s->confirmed_seq, seq);
	CHECK_INT_EQ(f->s->queued_bytes, 0);
	CHECK_MEM_EQ(f->p.got, f->p.got_len, f->st.data, f->st.len);
}

/* A reader that does not read: the sink keeps taking events, queues what the
 * pipe cannot hold, and confirms only what went into the pipe. Reading some
 * lets it write more; reading everything (the loop waking the sink) delivers
 * every byte once, in order, and confirms the last event. */
TEST(test_stdout_pipe_slow_reader)
{
	static const size_t reads[] = {1, 4095, 10000, 65536 + 7, 3, 200000};
	struct pipe_fixture f;
	uint64_t seq = 100, last_confirmed = 0;
	size_t target;
	int flags;

	if (!pipe_fixture_begin(&f))
		goto out;
	CHECK(f.s->ops == &sink_stdout_ops);
	/* the sink does not make the shared stdout non-blocking */
	flags = fcntl(STDOUT_FILENO, F_GETFL);
	CHECK(flags >= 0 && !(flags & O_NONBLOCK));

	target = f.p.cap * 8 > 1024 * 1024 ? f.p.cap * 8 : 1024 * 1024;
	for (int i = 0; f.st.len < target; i++) {
		seq += 3;
		if (!write_event(f.s, &f.st, seq, 200 + (size_t)(i * 37) % 1800))
			goto out;
		CHECK(confirmed_within(&f.st, f.s->confirmed_seq, pipe_out_written(&f.p)));
		CHECK(f.s->confirmed_seq >= last_confirmed);
		last_confirmed = f.s->confirmed_seq;
	}
	CHECK_INT_EQ(sink_flush(f.s), 0); /* a full pipe is no error */
	CHECK_INT_EQ(f.p.got_len, 0);
	CHECK(pipe_out_pending(&f.p) <= f.p.cap);
	CHECK_INT_EQ(f.s->queued_bytes, f.st.len - pipe_out_pending(&f.p));
	CHECK(f.s->queued_bytes > f.p.cap);
	CHECK(f.s->confirmed_seq < seq);
	CHECK(confirmed_within(&f.st, f.s->confirmed_seq, pipe_out_written(&f.p)));
	CHECK_INT_EQ(f.s->stats.events, f.st.n);
	CHECK_INT_EQ(f.s->stats.errors, 0);

	/* partial reads, each followed by a flush */
	for (size_t i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		pipe_out_read(&f.p, reads[i]);
		CHECK_INT_EQ(sink_flush(f.s), 0);
		CHECK_INT_EQ(f.s->queued_bytes + pipe_out_written(&f.p), f.st.len);
		if (!confirmed_within(&f.st, f.s->confirmed_seq, pipe_out_written(&f.p)))
			CHECK(!"confirmed ahead of the bytes written");
		CHECK(f.s->confirmed_seq >= last_confirmed);
		last_confirmed = f.s->confirmed_seq;
	}
	CHECK(f.s->confirmed_seq < seq);
	CHECK(f.s->confirmed_seq > 0); /* the pipe took some whole events */

	/* the loop wakes the sink whenever the reader made room */
	if (drain_through_loop(f.loop, f.s, &f.p, &f.st, 16384))
		check_all_delivered(&f, seq);
	CHECK_INT_EQ(f.s->stats.errors, 0);
out:
	pipe_fixture_end(&f);
}

/* Events larger than the pipe and the sink's buffer, between small ones,
 * arrive whole and in order. */
TEST(test_stdout_pipe_large_events)
{
	static const size_t sizes[] = {100, 300 * 1024, 40, 1024 * 1024 + 3, 257 * 1024, 64};
	struct pipe_fixture f;
	uint64_t seq = 0;

	if (!pipe_fixture_begin(&f))
		goto out;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		seq += 1 + i;
		if (!write_event(f.s, &f.st, seq, sizes[i]))
			goto out;
		CHECK(confirmed_within(&f.st, f.s->confirmed_seq, pipe_out_written(&f.p)));
	}
	CHECK_INT_EQ(sink_flush(f.s), 0);
	CHECK(f.s->confirmed_seq < seq);
	if (drain_through_loop(f.loop, f.s, &f.p, &f.st, 100000))
		check_all_delivered(&f, seq);
out:
	pipe_fixture_end(&f);
}

static uint64_t next_random(uint64_t *state)
{
	*state = *state * 6364136223846793005ULL + 1442695040888963407ULL;
	return *state >> 33;
}

/* Writes and reads interleaved at random sizes, with a flush after each
 * read: after every step confirmed_seq covers only events whose bytes were
 * all written, never goes back, and in the end reaches the last event. */
TEST(test_stdout_pipe_confirmed_never_ahead)
{
	struct pipe_fixture f;
	uint64_t seq = 0, last_confirmed = 0, rnd = 42;
	int steps = 0;

	if (!pipe_fixture_begin(&f))
		goto out;
	for (int round = 0; round < 400; round++) {
		int n = (int)(next_random(&rnd) % 8);
		for (int i = 0; i < n; i++) {
			size_t len = next_random(&rnd) % 8 == 0 ? 32 + next_random(&rnd) % 150000
								: 32 + next_random(&rnd) % 3000;
			seq += 1 + next_random(&rnd) % 5;
			if (!write_event(f.s, &f.st, seq, len))
				goto out;
		}
		pipe_out_read(&f.p, (size_t)(next_random(&rnd) % 90000));
		CHECK_INT_EQ(sink_flush(f.s), 0);
		steps++;
		if (!confirmed_within(&f.st, f.s->confirmed_seq, pipe_out_written(&f.p)) ||
		    f.s->confirmed_seq < last_confirmed) {
			fprintf(stderr, "  at step %d\n", steps);
			CHECK(!"confirmed_seq out of bounds");
			goto out;
		}
		last_confirmed = f.s->confirmed_seq;
		CHECK_INT_EQ(f.s->queued_bytes + pipe_out_written(&f.p), f.st.len);
	}
	/* everything out, by reads and flushes alone */
	while (f.p.got_len < f.st.len && steps < 1000000) {
		pipe_out_read(&f.p, SIZE_MAX);
		CHECK_INT_EQ(sink_flush(f.s), 0);
		steps++;
		if (!confirmed_within(&f.st, f.s->confirmed_seq, pipe_out_written(&f.p)))
			break;
	}
	CHECK_INT_EQ(f.p.got_len, f.st.len);
	check_all_delivered(&f, seq);
out:
	pipe_fixture_end(&f);
}

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL a write to the sink blocked: stopped by the alarm\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* a failing test may close the reader first */
	signal(SIGALRM, on_alarm);
	log_set_level(LOG_ERROR);
	RUN(test_check_spec);
	RUN(test_open_refuses_bad_spec);
	RUN(test_file_sink_appends);
	RUN(test_file_sink_open_fails);
	RUN(test_file_sink_large_events);
	RUN(test_stdout_on_a_file);
	RUN(test_stdout_pipe_slow_reader);
	RUN(test_stdout_pipe_large_events);
	RUN(test_stdout_pipe_confirmed_never_ahead);
	return testing_done();
}
