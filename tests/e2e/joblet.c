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
 *
 * Log files inside the container, for the tests of glimpse.io/logs (all
 * optional; without them joblet only prints):
 *
 *   JOBLET_SYMLINK=TARGET:LINK[,TARGET:LINK...]
 *       before anything is written, makes each LINK a symlink to TARGET
 *       (symlink(2): TARGET is stored as given, absolute or relative), making
 *       LINK's missing parent directories first;
 *   JOBLET_FILE=PATH
 *       then appends JOBLET_FILE_LINES lines (default: LINES) to PATH
 *       (created, with its missing parent directories), one write(2) per
 *       line, before the lines printed to stdout and stderr. Line i is, as
 *       a C string, "<name> file line <i>\t\"quoted\" back\\slash caf\xc3\xa9"
 *       (a tab, double quotes, a backslash and a two-byte UTF-8 character),
 *       padded with '.' to LINE_BYTES bytes like the printed lines.
 *
 * LINES 0 with JOBLET_FILE writes the file only; SLEEP_MS then keeps the
 * container alive with its file (-1: until SIGTERM). A JOBLET_* variable that
 * cannot be carried out is reported on stderr and joblet exits 5 at once.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Reports a failed JOBLET_* step on stderr: "joblet: WHAT PATH: strerror". */
static void report(const char *what, const char *path, int err)
{
	char msg[4096 + 256];
	int n = snprintf(msg, sizeof(msg), "joblet: %s %s: %s\n", what, path, strerror(err));

	if (n > 0)
		(void)!write(STDERR_FILENO, msg,
			     (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* mkdir -p of the directory that holds path; returns 0, or -1 with errno. */
static int make_parents(const char *path)
{
	char dir[4096];
	size_t len = strlen(path);

	if (len >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, len + 1);
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return 0;
}

/* Carries out JOBLET_SYMLINK ("TARGET:LINK,TARGET:LINK..."); returns 0, or
 * -1 after reporting what failed. */
static int make_symlinks(const char *spec)
{
	char *copy = strdup(spec);
	char *save = NULL;
	int rc = 0;

	if (copy == NULL)
		return -1;
	for (char *item = strtok_r(copy, ",", &save); item != NULL && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(item, ':');
		if (colon == NULL || colon == item || colon[1] == '\0') {
			report("JOBLET_SYMLINK wants TARGET:LINK, not", item, EINVAL);
			rc = -1;
			break;
		}
		*colon = '\0';
		const char *link = colon + 1;
		if (make_parents(link) != 0) {
			report("cannot make the parent directories of", link, errno);
			rc = -1;
		} else if (symlink(item, link) != 0) {
			report("cannot make the symlink", link, errno);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

/* Formats line i of the printed lines (file == 0) or of JOBLET_FILE
 * (file != 0) into buf, padded to line_bytes, with its newline; returns its
 * length, or 0 when it does not fit. */
static size_t format_line(char *buf, size_t cap, const char *name, long i, int file,
			  long line_bytes)
{
	int n = file ? snprintf(buf, cap, "%s file line %ld\t\"quoted\" back\\slash caf\xc3\xa9",
				name, i)
		     : snprintf(buf, cap, "%s line %ld", name, i);
	if (n < 0 || (size_t)n >= cap)
		return 0;
	size_t len = (size_t)n;
	while (len < (size_t)line_bytes && len + 1 < cap)
		buf[len++] = '.';
	buf[len++] = '\n';
	return len;
}

/* Appends the JOBLET_FILE lines to path; returns 0, or -1 after reporting. */
static int write_file(const char *path, long count, const char *name, char *buf, size_t cap,
		      long line_bytes)
{
	if (make_parents(path) != 0) {
		report("cannot make the parent directories of", path, errno);
		return -1;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		report("cannot open", path, errno);
		return -1;
	}
	for (long i = 0; i < count; i++) {
		size_t len = format_line(buf, cap, name, i, 1, line_bytes);
		if (len == 0 || write_all(fd, buf, len) != 0) {
			report("cannot write to", path, len == 0 ? EOVERFLOW : errno);
			close(fd);
			return -1;
		}
	}
	if (close(fd) != 0) {
		report("cannot close", path, errno);
		return -1;
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
	const char *file = getenv("JOBLET_FILE");
	const char *links = getenv("JOBLET_SYMLINK");
	const char *file_lines_env = getenv("JOBLET_FILE_LINES");
	long file_lines = lines;
	if (file_lines_env != NULL && file_lines_env[0] != '\0' &&
	    parse_long(file_lines_env, 0, 100000000L, &file_lines) != 0) {
		report("JOBLET_FILE_LINES is not a count:", file_lines_env, EINVAL);
		return 5;
	}

	/* Room for the longer line format (the file's) and the padding. */
	size_t cap = (size_t)line_bytes + strlen(name) + 128;
	char *buf = malloc(cap);
	if (buf == NULL)
		return 3;

	if (links != NULL && links[0] != '\0' && make_symlinks(links) != 0) {
		free(buf);
		return 5;
	}
	if (file != NULL && file[0] != '\0' &&
	    write_file(file, file_lines, name, buf, cap, line_bytes) != 0) {
		free(buf);
		return 5;
	}

	for (long i = 0; i < lines; i++) {
		size_t len = format_line(buf, cap, name, i, 0, line_bytes);
		if (len == 0) {
			free(buf);
			return 3;
		}
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
