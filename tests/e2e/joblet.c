/* joblet: the entrypoint of the end-to-end tests' containers.
 *
 *     joblet LINES [STDERR_EVERY [EXIT_CODE [SLEEP_MS [LINE_BYTES]]]]
 *
 * Prints LINES deterministic lines "<name> line <i>" (i from 0), where <name>
 * is the POD_NAME environment variable or "job". Every STDERR_EVERY-th line
 * (i % STDERR_EVERY == STDERR_EVERY - 1; 0 means never) goes to stderr, the
 * rest to stdout. With LINE_BYTES, each line is padded with '.' to that many
 * bytes (the newline not counted; a longer line is not cut). Then it sleeps
 * SLEEP_MS milliseconds and exits with EXIT_CODE.
 *
 * SLEEP_MS of -1 sleeps until SIGTERM or SIGINT, then exits with EXIT_CODE:
 * "joblet 0 0 0 -1" is a pod sandbox's pause process. The handlers matter
 * because a container's PID 1 ignores signals it has no handler for.
 *
 * Each line is one write(2), so a reader of the pipe sees whole lines (up to
 * PIPE_BUF bytes) in order per stream. Built static: the container's rootfs
 * holds nothing else.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(void)
{
	static const char text[] =
	    "usage: joblet LINES [STDERR_EVERY [EXIT_CODE [SLEEP_MS [LINE_BYTES]]]]\n";
	(void)!write(STDERR_FILENO, text, sizeof(text) - 1);
}

/* Parses a decimal long in [min, max]; returns 0, or -1 when it is not one. */
static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Writes all len bytes, retrying short writes; returns 0, or -1 on error. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !stop_requested)
		;
}

static void sleep_until_stopped(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop_requested)
		pause();
}

int main(int argc, char **argv)
{
	long lines = 0, stderr_every = 0, exit_code = 0, sleep_for = 0, line_bytes = 0;

	if (argc < 2 || argc > 6 || parse_long(argv[1], 0, 100000000L, &lines) != 0 ||
	    (argc > 2 && parse_long(argv[2], 0, 100000000L, &stderr_every) != 0) ||
	    (argc > 3 && parse_long(argv[3], 0, 255, &exit_code) != 0) ||
	    (argc > 4 && parse_long(argv[4], -1, 86400000L, &sleep_for) != 0) ||
	    (argc > 5 && parse_long(argv[5], 0, 16L * 1024 * 1024, &line_bytes) != 0)) {
		usage();
		return 2;
	}

	const char *name = getenv("POD_NAME");
	if (name == NULL || name[0] == '\0')
		name = "job";

	size_t cap = (size_t)line_bytes + strlen(name) + 64;
	char *buf = malloc(cap);
	if (buf == NULL)
		return 3;

	for (long i = 0; i < lines; i++) {
		int n = snprintf(buf, cap, "%s line %ld", name, i);
		if (n < 0 || (size_t)n >= cap) {
			free(buf);
			return 3;
		}
		size_t len = (size_t)n;
		while (len < (size_t)line_bytes)
			buf[len++] = '.';
		buf[len++] = '\n';
		int to_stderr = stderr_every > 0 && i % stderr_every == stderr_every - 1;
		int fd = to_stderr ? STDERR_FILENO : STDOUT_FILENO;
		if (write_all(fd, buf, len) != 0) {
			free(buf);
			return 4;
		}
	}
	free(buf);

	if (sleep_for < 0)
		sleep_until_stopped();
	else if (sleep_for > 0)
		sleep_ms(sleep_for);
	return (int)exit_code;
}
