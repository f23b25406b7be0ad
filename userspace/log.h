/* log.h: the agent's own log, one JSON object per line on stderr:
 * {"time":"…","level":"warn","msg":"…", …fields}.
 *
 * Parsers never log: they return an error and their caller logs it once,
 * naming the input, and counts it.
 */
#ifndef GLIMPSE_LOG_H
#define GLIMPSE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "debug", "info", "warn", "error"; returns -1 for anything else. */
int log_level_parse(const char *name);

/* Writes one line; msg is printf-formatted and becomes the "msg" field. */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Like log_msg, with extra fields given as a JSON fragment of members,
 * e.g. "\"container.id\":\"abc\",\"latency_ns\":1200" (no braces). */
void log_fields(enum log_level level, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
