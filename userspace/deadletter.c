/* deadletter.c: see deadletter.h. */
#include "deadletter.h"

#include "json.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEADLETTER_LOG_NS (10 * 1000000000LL)

struct deadletter {
	char *path, *old_path;
	size_t max_bytes;
	int fd;
	uint64_t size; /* of the current file */
	bool dirty;    /* written since the last sync */
	bool failing;  /* the last write failed (reported once) */
	uint64_t entries, errors;
	uint64_t logged_entries; /* entries when the last one was logged */
	int64_t logged_ns;
	struct jbuf line;
};

struct deadletter *deadletter_new(const char *dir, size_t max_bytes)
{
	struct deadletter *dl = calloc(1, sizeof(*dl));

	if (!dl)
		return NULL;
	if (asprintf(&dl->path, "%s/%s", dir, DEADLETTER_FILE_NAME) < 0) {
		dl->path = NULL;
		goto fail;
	}
	if (asprintf(&dl->old_path, "%s.1", dl->path) < 0) {
		dl->old_path = NULL;
		goto fail;
	}
	dl->max_bytes = max_bytes;
	dl->fd = -1;
	jbuf_init(&dl->line);
	return dl;
fail:
	free(dl->path);
	free(dl);
	return NULL;
}

static bool deadletter_ready(struct deadletter *dl)
{
	struct stat st;

	if (dl->fd >= 0 && dl->size < dl->max_bytes)
		return true;
	if (dl->fd >= 0) {
		/* full: the current file becomes the old one */
		fdatasync(dl->fd);
		close(dl->fd);
		dl->fd = -1;
		if (rename(dl->path, dl->old_path) != 0)
			log_warn("dead letters: rename %s: %s", dl->path, strerror(errno));
	}
	dl->fd = open(dl->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (dl->fd < 0)
		return false;
	dl->size = fstat(dl->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return true;
}

void deadletter_write(struct deadletter *dl, const char *output, const char *reason,
		      const char *event, size_t len)
{
	char when[JSON_TIME_LEN + 1];
	struct timespec now;
	int64_t now_ns;
	ssize_t n = -1;

	while (len && (event[len - 1] == '\n'))
		len--;
	clock_gettime(CLOCK_REALTIME, &now);
	now_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	json_format_time(now_ns, when);
	jbuf_reset(&dl->line);
	jbuf_puts(&dl->line, "{");
	jbuf_member_str(&dl->line, "time", when);
	jbuf_member_str(&dl->line, "output", output);
	jbuf_member_str(&dl->line, "reason", reason);
	jbuf_key(&dl->line, "event");
	if (len && event[0] == '{' && event[len - 1] == '}')
		jbuf_append(&dl->line, event, len); /* an event the agent made */
	else
		jbuf_string(&dl->line, event, len);
	jbuf_puts(&dl->line, "}\n");
	if (!dl->line.failed && deadletter_ready(dl))
		n = write(dl->fd, dl->line.data, dl->line.len);
	if (n < 0 || (size_t)n != dl->line.len) {
		dl->errors++;
		if (!dl->failing)
			log_error("dead letters: %s: %s; an event of output %s refused for \"%s\" "
				  "is lost",
				  dl->path, n < 0 ? strerror(errno) : "short write", output,
				  reason);
		dl->failing = true;
		return;
	}
	dl->failing = false;
	dl->size += (uint64_t)n;
	dl->dirty = true;
	dl->entries++;
	/* a burst of refusals is one log line every DEADLETTER_LOG_NS */
	if (dl->logged_entries == 0 || now_ns - dl->logged_ns >= DEADLETTER_LOG_NS) {
		log_warn("output %s refused an event for good: %s; written to %s (%llu there "
			 "since the last such line)",
			 output, reason, dl->path,
			 (unsigned long long)(dl->entries - dl->logged_entries));
		dl->logged_entries = dl->entries;
		dl->logged_ns = now_ns;
	}
}

int deadletter_sync(struct deadletter *dl)
{
	if (!dl || !dl->dirty || dl->fd < 0)
		return 0;
	dl->dirty = false;
	if (fdatasync(dl->fd) == 0)
		return 0;
	log_warn("dead letters: %s: fdatasync: %s", dl->path, strerror(errno));
	return -errno;
}

uint64_t deadletter_entries(const struct deadletter *dl)
{
	return dl ? dl->entries : 0;
}

uint64_t deadletter_errors(const struct deadletter *dl)
{
	return dl ? dl->errors : 0;
}

void deadletter_free(struct deadletter *dl)
{
	if (!dl)
		return;
	deadletter_sync(dl);
	if (dl->fd >= 0)
		close(dl->fd);
	jbuf_free(&dl->line);
	free(dl->path);
	free(dl->old_path);
	free(dl);
}
