/* log.c: the agent's own log as JSON lines on stderr (see log.h). */
#include "log.h"

#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level log_threshold = LOG_INFO;
static const char *const log_names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level level)
{
	log_threshold = level;
}

enum log_level log_get_level(void)
{
	return log_threshold;
}

int log_level_parse(const char *name)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++)
		if (strcmp(name, log_names[i]) == 0)
			return i;
	return -1;
}

static void log_write(enum log_level level, const char *fields, const char *fmt, va_list ap)
{
	struct jbuf b;
	char msg[2048], when[JSON_TIME_LEN + 1];
	struct timespec ts;
	int n;

	if (level < log_threshold)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_format_time((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec, when);
	jbuf_init(&b);
	jbuf_puts(&b, "{");
	jbuf_member_str(&b, "time", when);
	jbuf_member_str(&b, "level", log_names[level]);
	jbuf_member_strn(&b, "msg", msg, (size_t)n);
	if (fields && *fields) {
		jbuf_puts(&b, ",");
		jbuf_puts(&b, fields);
	}
	jbuf_puts(&b, "}\n");
	if (!b.failed) {
		size_t off = 0;
		while (off < b.len) {
			ssize_t w = write(STDERR_FILENO, b.data + off, b.len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
	}
	jbuf_free(&b);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(level, NULL, fmt, ap);
	va_end(ap);
}

void log_fields(enum log_level level, const char *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(level, fields, fmt, ap);
	va_end(ap);
}
