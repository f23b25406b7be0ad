/* sink_file.c: events to stdout or appended to a file.
 *
 * Events are queued in one buffer and written out when the loop goes idle or
 * the buffer passes SINK_FILE_FLUSH. A pipe on stdout is written without
 * blocking (through a second, non-blocking open of the same pipe): when the
 * reader is slow the queue grows, the loop waits for the pipe to take more,
 * and the agent stops reading logs once the queue passes its cap. An event is
 * confirmed once its bytes were taken by write(2); sync (before positions
 * are saved) fsyncs a file. Every SINK_FILE_WRITEBACK bytes written, the
 * write-back of a file is started (sync_file_range), so that the disk works
 * while events are made rather than during that fsync, which the loop waits
 * for.
 */
#include "sink.h"

#include "log.h"
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#define SINK_FILE_FLUSH		(256 * 1024)
#define SINK_FILE_MARK		(64 * 1024) /* bytes of events one confirmation mark covers */
#define SINK_FILE_MARKS		4096
#define SINK_FILE_CLOSE_WAIT_MS 5000
#define SINK_FILE_WRITEBACK	(8 * 1024 * 1024)

struct sink_file_mark {
	uint64_t first, end; /* queue positions (bytes ever queued) of its events */
	uint64_t seq;	     /* the last event's sequence number */
	uint64_t events;     /* how many it covers */
};

struct sink_file {
	struct sink base;
	struct loop *loop;
	int fd;
	bool own_fd;
	bool watching;	   /* waiting for EPOLLOUT */
	bool failing;	   /* the last write failed (reported once) */
	bool no_writeback; /* sync_file_range does not apply (not a file) */
	char *path;
	char *buf;
	size_t start, len, cap; /* queued bytes are buf[start, start + len) */
	uint64_t queued_total, written_total;
	uint64_t writeback_total; /* written_total when write-back was last started */
	struct sink_file_mark marks[SINK_FILE_MARKS];
	size_t mark_head, n_marks;
};

static void sink_file_confirm(struct sink_file *f)
{
	while (f->n_marks && f->marks[f->mark_head].end <= f->written_total) {
		f->base.confirmed_seq = f->marks[f->mark_head].seq;
		f->base.stats.delivered += f->marks[f->mark_head].events;
		f->mark_head = (f->mark_head + 1) % SINK_FILE_MARKS;
		f->n_marks--;
	}
}

static void sink_file_writable(struct loop *loop, int fd, uint32_t events, void *arg);

static void sink_file_watch(struct sink_file *f, bool on)
{
	if (on == f->watching)
		return;
	if (on && loop_add_fd(f->loop, f->fd, EPOLLOUT, sink_file_writable, f) != 0)
		return;
	if (!on)
		loop_del_fd(f->loop, f->fd);
	f->watching = on;
}

/* Starts the write-back of what was written since the last time, without
 * waiting for it to finish. */
static void sink_file_writeback(struct sink_file *f)
{
	if (f->no_writeback || !f->own_fd ||
	    f->written_total - f->writeback_total < SINK_FILE_WRITEBACK)
		return;
	f->writeback_total = f->written_total;
	if (sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE) != 0)
		f->no_writeback = true;
}

static int sink_file_flush(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;
	int err = 0;

	while (f->len > 0) {
		ssize_t n = write(f->fd, f->buf + f->start, f->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (f->loop)
				sink_file_watch(f, true);
			break;
		}
		if (n < 0) {
			err = -errno;
			s->stats.errors++;
			if (!f->failing)
				log_error("output %s: write: %s; %zu bytes kept until it works",
					  f->path, strerror(-err), f->len);
			f->failing = true;
			break;
		}
		if (f->failing)
			log_info("output %s: writing again", f->path);
		f->failing = false;
		f->start += (size_t)n;
		f->len -= (size_t)n;
		f->written_total += (uint64_t)n;
	}
	if (!f->len) {
		f->start = 0;
		if (f->watching)
			sink_file_watch(f, false);
	}
	sink_file_writeback(f);
	sink_file_confirm(f);
	s->queued_bytes = f->len;
	return err;
}

static void sink_file_writable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct sink_file *f = arg;

	(void)loop;
	(void)fd;
	(void)events;
	sink_file_flush(&f->base);
}

static bool sink_file_reserve(struct sink_file *f, size_t more)
{
	size_t cap;
	char *nb;

	if (f->cap - f->start - f->len >= more)
		return true;
	if (f->start) {
		memmove(f->buf, f->buf + f->start, f->len);
		f->start = 0;
		if (f->cap - f->len >= more)
			return true;
	}
	cap = f->cap ? f->cap : SINK_FILE_FLUSH;
	while (cap - f->len < more)
		cap *= 2;
	nb = realloc(f->buf, cap);
	if (!nb)
		return false;
	f->buf = nb;
	f->cap = cap;
	return true;
}

static int sink_file_write(struct sink *s, const struct sink_event *ev)
{
	struct sink_file *f = (struct sink_file *)s;
	struct sink_file_mark *last;
	const char *data = ev->data;
	size_t len = ev->len;
	uint64_t seq = ev->seq;

	if (!sink_file_reserve(f, len))
		return -ENOMEM;
	memcpy(f->buf + f->start + f->len, data, len);
	f->len += len;
	f->queued_total += len;
	last = f->n_marks ? &f->marks[(f->mark_head + f->n_marks - 1) % SINK_FILE_MARKS] : NULL;
	if (last &&
	    (f->queued_total - last->first < SINK_FILE_MARK || f->n_marks == SINK_FILE_MARKS)) {
		last->end = f->queued_total; /* a later confirmation: never early */
		last->seq = seq;
		last->events++;
	} else {
		last = &f->marks[(f->mark_head + f->n_marks) % SINK_FILE_MARKS];
		last->first = f->queued_total - len;
		last->end = f->queued_total;
		last->seq = seq;
		last->events = 1;
		f->n_marks++;
	}
	s->stats.events++;
	s->stats.bytes += len;
	s->queued_bytes = f->len;
	if (f->len >= SINK_FILE_FLUSH)
		sink_file_flush(s);
	return 0;
}

static int sink_file_sync(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;

	if (!f->own_fd || fsync(f->fd) == 0 || errno == EINVAL)
		return 0;
	s->stats.errors++;
	log_warn("output %s: fsync: %s", f->path, strerror(errno));
	return -errno;
}

static void sink_file_close(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;

	int64_t give_up = loop_now_ms() + SINK_FILE_CLOSE_WAIT_MS;

	sink_file_flush(s);
	/* a slow pipe: wait for it, but not forever */
	while (f->len && !f->failing && loop_now_ms() < give_up) {
		struct pollfd p = {.fd = f->fd, .events = POLLOUT};
		if (poll(&p, 1, (int)(give_up - loop_now_ms())) <= 0)
			break;
		sink_file_flush(s);
	}
	if (f->len)
		log_warn("output %s: %zu bytes not written at exit", f->path, f->len);
	if (f->watching)
		sink_file_watch(f, false);
	if (f->own_fd) {
		sink_file_sync(s);
		close(f->fd);
	}
	free(f->path);
	free(f->buf);
	free(f);
}

static int sink_file_new(struct sink **out, const struct sink_ops *ops, struct loop *loop, int fd,
			 bool own, const char *path)
{
	struct sink_file *f = calloc(1, sizeof(*f));

	if (!f || !(f->path = strdup(path))) {
		free(f);
		if (own)
			close(fd);
		return -ENOMEM;
	}
	f->base.ops = ops;
	f->loop = loop;
	f->fd = fd;
	f->own_fd = own;
	*out = &f->base;
	return 0;
}

static int sink_stdout_open(struct sink **out, const struct sink_params *p)
{
	struct loop *loop = p->loop;
	struct stat st;
	int fd;

	/* a pipe gets a non-blocking description of its own, so the loop never
	 * stalls on a slow reader and the shell's stdout keeps its flags */
	if (loop && fstat(STDOUT_FILENO, &st) == 0 && S_ISFIFO(st.st_mode)) {
		fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			return sink_file_new(out, &sink_stdout_ops, loop, fd, true, "stdout");
		log_debug("output stdout: reopen without blocking: %s", strerror(errno));
	}
	return sink_file_new(out, &sink_stdout_ops, loop, STDOUT_FILENO, false, "stdout");
}

static int sink_file_open(struct sink **out, const struct sink_params *p)
{
	const char *target = p->target;
	int fd = open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd < 0) {
		int err = errno;
		log_error("output file:%s: open: %s", target, strerror(err));
		return -err;
	}
	return sink_file_new(out, &sink_file_ops, p->loop, fd, true, target);
}

static const char *sink_file_check(const char *target, const struct cJSON *settings, char *err,
				   size_t err_len)
{
	if (!*target)
		return "file: needs a path, as in file:/var/log/glimpse.json";
	return sink_settings_only(settings, NULL, err, err_len);
}

static const char *sink_stdout_check(const char *target, const struct cJSON *settings, char *err,
				     size_t err_len)
{
	if (*target)
		return "stdout takes no target";
	return sink_settings_only(settings, NULL, err, err_len);
}

const struct sink_ops sink_stdout_ops = {
    .scheme = "stdout",
    .check = sink_stdout_check,
    .open = sink_stdout_open,
    .write = sink_file_write,
    .flush = sink_file_flush,
    .sync = sink_file_sync,
    .close = sink_file_close,
};

const struct sink_ops sink_file_ops = {
    .scheme = "file",
    .check = sink_file_check,
    .open = sink_file_open,
    .write = sink_file_write,
    .flush = sink_file_flush,
    .sync = sink_file_sync,
    .close = sink_file_close,
};
