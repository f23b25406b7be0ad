/* inotify_baseline: the floor for "a log file was created -> an agent has it
 * open", measured on this machine, in the same run as the benchmark.
 *
 *     inotify_baseline DIR INTERVAL_US [MAX_FILES]
 *
 * A child process creates files in DIR, one every INTERVAL_US microseconds,
 * each named after the CLOCK_MONOTONIC time just before its open(O_CREAT).
 * The parent waits the way an agent's event loop does (inotify IN_CREATE on
 * DIR, behind epoll) and, for each file, takes the time when the event is
 * read and again once it has opened the file. It stops at MAX_FILES files or
 * on SIGTERM/SIGINT, and prints one line per file:
 *
 *     <create_to_event_ns> <create_to_open_ns>
 *
 * then "done <files> <missed>" on the last line. Files are removed as they
 * are seen.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The child: creates files until told to stop or max_files are made. */
static int create_files(int dir_fd, long interval_us, long max_files)
{
	char name[64];

	for (long i = 0; !stop_requested && (max_files == 0 || i < max_files); i++) {
		snprintf(name, sizeof(name), "f-%" PRId64, monotonic_ns());
		int fd = openat(dir_fd, name, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror("inotify_baseline: create");
			return 1;
		}
		close(fd);
		struct timespec ts = {.tv_sec = interval_us / 1000000,
				      .tv_nsec = (interval_us % 1000000) * 1000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* Reads one batch of inotify events; prints a line per created file.
 * Returns the number of files seen, or -1 on error. */
static long handle_events(int in_fd, int dir_fd, long *missed)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
	long seen = 0;
	ssize_t n = read(in_fd, buf, sizeof(buf));

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -1;
	int64_t event_ns = monotonic_ns();
	for (char *p = buf; p < buf + n;) {
		struct inotify_event *ev = (struct inotify_event *)p;
		p += sizeof(*ev) + ev->len;
		if (ev->mask & IN_Q_OVERFLOW) {
			(*missed)++;
			continue;
		}
		if (!(ev->mask & IN_CREATE) || ev->len == 0 || strncmp(ev->name, "f-", 2) != 0)
			continue;
		int64_t created_ns = strtoll(ev->name + 2, NULL, 10);
		int fd = openat(dir_fd, ev->name, O_RDONLY | O_CLOEXEC);
		int64_t open_ns = monotonic_ns();
		if (fd < 0) {
			(*missed)++;
			continue;
		}
		close(fd);
		unlinkat(dir_fd, ev->name, 0);
		printf("%" PRId64 " %" PRId64 "\n", event_ns - created_ns, open_ns - created_ns);
		seen++;
	}
	return seen;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: inotify_baseline DIR INTERVAL_US [MAX_FILES]\n");
		return 2;
	}
	long interval_us = strtol(argv[2], NULL, 10);
	long max_files = argc > 3 ? strtol(argv[3], NULL, 10) : 0;
	if (interval_us < 0 || max_files < 0) {
		fprintf(stderr, "inotify_baseline: bad INTERVAL_US or MAX_FILES\n");
		return 2;
	}

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int dir_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int in_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	int ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (dir_fd < 0 || in_fd < 0 || ep_fd < 0) {
		perror("inotify_baseline: setup");
		return 1;
	}
	if (inotify_add_watch(in_fd, argv[1], IN_CREATE) < 0) {
		perror("inotify_baseline: inotify_add_watch");
		return 1;
	}
	struct epoll_event want = {.events = EPOLLIN, .data.fd = in_fd};
	if (epoll_ctl(ep_fd, EPOLL_CTL_ADD, in_fd, &want) != 0) {
		perror("inotify_baseline: epoll_ctl");
		return 1;
	}

	pid_t child = fork();
	if (child < 0) {
		perror("inotify_baseline: fork");
		return 1;
	}
	if (child == 0)
		_exit(create_files(dir_fd, interval_us, max_files));

	long files = 0, missed = 0;
	int child_done = 0;
	int64_t drain_until = 0;
	for (;;) {
		if (stop_requested && !child_done && drain_until == 0) {
			kill(child, SIGTERM);
			drain_until = monotonic_ns() + 200000000;
		}
		if (!child_done && waitpid(child, NULL, WNOHANG) == child) {
			child_done = 1;
			if (drain_until == 0)
				drain_until = monotonic_ns() + 200000000;
		}
		if (drain_until != 0 && monotonic_ns() > drain_until)
			break;
		struct epoll_event got;
		int n = epoll_wait(ep_fd, &got, 1, 50);
		if (n < 0 && errno != EINTR) {
			perror("inotify_baseline: epoll_wait");
			break;
		}
		if (n > 0) {
			long seen = handle_events(in_fd, dir_fd, &missed);
			if (seen < 0) {
				perror("inotify_baseline: read");
				break;
			}
			files += seen;
		}
	}
	if (!child_done) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	printf("done %ld %ld\n", files, missed);
	return 0;
}
