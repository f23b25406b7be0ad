/* loop.c: epoll, an fd-indexed handler table, and a deadline-sorted timer list
 * (the agent keeps a handful of timers; per-file work rides on one tick). */
#include "loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#define LOOP_MAX_IDLE	8
#define LOOP_MAX_EVENTS 64

struct loop_handler {
	loop_fd_fn fn;
	void *arg;
	bool used;
};

struct loop_timer {
	struct loop_timer *next;
	int64_t deadline_ms;
	loop_fn fn;
	void *arg;
};

struct loop {
	int epfd;
	struct loop_handler *handlers;
	int n_handlers;
	struct loop_timer *timers; /* sorted by deadline */
	struct {
		loop_fn fn;
		void *arg;
	} idle[LOOP_MAX_IDLE];
	int n_idle;
	bool stop;
};

int64_t loop_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t loop_now_ms(void)
{
	return loop_now_ns() / 1000000;
}

struct loop *loop_new(void)
{
	struct loop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

void loop_free(struct loop *loop)
{
	if (!loop)
		return;
	while (loop->timers) {
		struct loop_timer *t = loop->timers;
		loop->timers = t->next;
		free(t);
	}
	close(loop->epfd);
	free(loop->handlers);
	free(loop);
}

int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	if (fd < 0)
		return -EBADF;
	if (fd >= loop->n_handlers) {
		int n = loop->n_handlers ? loop->n_handlers : 64;
		struct loop_handler *h;
		while (n <= fd)
			n *= 2;
		h = realloc(loop->handlers, (size_t)n * sizeof(*h));
		if (!h)
			return -ENOMEM;
		memset(h + loop->n_handlers, 0, (size_t)(n - loop->n_handlers) * sizeof(*h));
		loop->handlers = h;
		loop->n_handlers = n;
	}
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
		return -errno;
	loop->handlers[fd] = (struct loop_handler){.fn = fn, .arg = arg, .used = true};
	return 0;
}

int loop_mod_fd(struct loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};

	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) != 0)
		return -errno;
	return 0;
}

void loop_del_fd(struct loop *loop, int fd)
{
	if (fd < 0 || fd >= loop->n_handlers || !loop->handlers[fd].used)
		return;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	loop->handlers[fd].used = false;
}

struct loop_timer *loop_timer_add(struct loop *loop, int64_t delay_ms, loop_fn fn, void *arg)
{
	struct loop_timer *t = malloc(sizeof(*t)), **pos = &loop->timers;

	if (!t)
		return NULL;
	t->deadline_ms = loop_now_ms() + (delay_ms > 0 ? delay_ms : 0);
	t->fn = fn;
	t->arg = arg;
	while (*pos && (*pos)->deadline_ms <= t->deadline_ms)
		pos = &(*pos)->next;
	t->next = *pos;
	*pos = t;
	return t;
}

void loop_timer_cancel(struct loop *loop, struct loop_timer *timer)
{
	for (struct loop_timer **pos = &loop->timers; *pos; pos = &(*pos)->next) {
		if (*pos == timer) {
			*pos = timer->next;
			free(timer);
			return;
		}
	}
}

int loop_on_idle(struct loop *loop, loop_fn fn, void *arg)
{
	if (loop->n_idle == LOOP_MAX_IDLE)
		return -ENOSPC;
	loop->idle[loop->n_idle].fn = fn;
	loop->idle[loop->n_idle].arg = arg;
	loop->n_idle++;
	return 0;
}

static void loop_run_timers(struct loop *loop)
{
	int64_t now = loop_now_ms();

	while (loop->timers && loop->timers->deadline_ms <= now && !loop->stop) {
		struct loop_timer *t = loop->timers;
		loop->timers = t->next;
		t->fn(loop, t->arg);
		free(t);
	}
}

int loop_run(struct loop *loop)
{
	struct epoll_event events[LOOP_MAX_EVENTS];

	loop->stop = false;
	while (!loop->stop) {
		int timeout = -1, n;

		for (int i = 0; i < loop->n_idle; i++)
			loop->idle[i].fn(loop, loop->idle[i].arg);
		if (loop->stop)
			break; /* an idle callback stopped the loop: no more waiting */
		if (loop->timers) {
			int64_t wait = loop->timers->deadline_ms - loop_now_ms();
			timeout = wait < 0 ? 0 : (wait > 60000 ? 60000 : (int)wait);
		}
		n = epoll_wait(loop->epfd, events, LOOP_MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !loop->stop; i++) {
			int fd = events[i].data.fd;
			if (fd < loop->n_handlers && loop->handlers[fd].used)
				loop->handlers[fd].fn(loop, fd, events[i].events,
						      loop->handlers[fd].arg);
		}
		loop_run_timers(loop);
	}
	for (int i = 0; i < loop->n_idle; i++)
		loop->idle[i].fn(loop, loop->idle[i].arg);
	return 0;
}

void loop_stop(struct loop *loop)
{
	loop->stop = true;
}
