/* sink_file.c: events to stdout or appended to a file, through one buffer
 * written out when the loop goes idle or the buffer fills. */
#include "sink.h"

#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SINK_FILE_BUF (256 * 1024)

struct sink_file {
	struct sink base;
	int fd;
	bool own_fd;
	char *path;
	char *buf;
	size_t len;
};

static int sink_file_flush(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;
	size_t off = 0;

	while (off < f->len) {
		ssize_t n = write(f->fd, f->buf + off, f->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			s->stats.errors++;
			log_error("output %s: write: %s", f->path, strerror(err));
			memmove(f->buf, f->buf + off, f->len - off);
			f->len -= off;
			return -err;
		}
		off += (size_t)n;
	}
	f->len = 0;
	return 0;
}

static int sink_file_write(struct sink *s, const char *data, size_t len)
{
	struct sink_file *f = (struct sink_file *)s;

	if (f->len + len > SINK_FILE_BUF) {
		int err = sink_file_flush(s);
		if (err)
			return err;
	}
	if (len > SINK_FILE_BUF) {
		/* larger than the buffer: write it through */
		size_t off = 0;
		while (off < len) {
			ssize_t n = write(f->fd, data + off, len - off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				s->stats.errors++;
				return -errno;
			}
			off += (size_t)n;
		}
	} else {
		memcpy(f->buf + f->len, data, len);
		f->len += len;
	}
	s->stats.events++;
	s->stats.bytes += len;
	return 0;
}

static void sink_file_close(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;

	sink_file_flush(s);
	if (f->own_fd) {
		if (fsync(f->fd) != 0 && errno != EINVAL)
			log_warn("output %s: fsync: %s", f->path, strerror(errno));
		close(f->fd);
	}
	free(f->path);
	free(f->buf);
	free(f);
}

static int sink_file_new(struct sink **out, const struct sink_ops *ops, int fd, bool own,
			 const char *path)
{
	struct sink_file *f = calloc(1, sizeof(*f));

	if (!f || !(f->buf = malloc(SINK_FILE_BUF)) || !(f->path = strdup(path))) {
		if (f)
			free(f->buf);
		free(f);
		if (own)
			close(fd);
		return -ENOMEM;
	}
	f->base.ops = ops;
	f->fd = fd;
	f->own_fd = own;
	*out = &f->base;
	return 0;
}

static int sink_stdout_open(struct sink **out, const char *target)
{
	(void)target;
	return sink_file_new(out, &sink_stdout_ops, STDOUT_FILENO, false, "stdout");
}

static int sink_file_open(struct sink **out, const char *target)
{
	int fd = open(target, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

	if (fd < 0) {
		int err = errno;
		log_error("output file:%s: open: %s", target, strerror(err));
		return -err;
	}
	return sink_file_new(out, &sink_file_ops, fd, true, target);
}

const struct sink_ops sink_stdout_ops = {
    .scheme = "stdout",
    .open = sink_stdout_open,
    .write = sink_file_write,
    .flush = sink_file_flush,
    .close = sink_file_close,
};

const struct sink_ops sink_file_ops = {
    .scheme = "file",
    .open = sink_file_open,
    .write = sink_file_write,
    .flush = sink_file_flush,
    .close = sink_file_close,
};
