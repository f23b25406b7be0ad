/* loop.h: the agent's one event loop. Every source (ring buffers, inotify,
 * signalfd, libcurl's sockets, the metrics socket) is an fd in one epoll set;
 * timers are one-shot deadlines on CLOCK_MONOTONIC. Single-threaded. */
#ifndef GLIMPSE_LOOP_H
#define GLIMPSE_LOOP_H

#include <stdint.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_fn)(struct loop *loop, int fd, uint32_t events, void *arg);
typedef void (*loop_fn)(struct loop *loop, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *loop);

/* Calls fn whenever fd is ready for events (EPOLLIN, EPOLLOUT…).
 * Returns 0 or a negative errno. */
int loop_add_fd(struct loop *loop, int fd, uint32_t events, loop_fd_fn fn, void *arg);
int loop_mod_fd(struct loop *loop, int fd, uint32_t events);
/* Stops watching fd; safe to call from any callback, even fd's own. */
void loop_del_fd(struct loop *loop, int fd);

/* Calls fn once, delay_ms from now. The timer is freed after it fires or is
 * cancelled; do not cancel a timer that has fired. NULL on allocation failure. */
struct loop_timer *loop_timer_add(struct loop *loop, int64_t delay_ms, loop_fn fn, void *arg);
void loop_timer_cancel(struct loop *loop, struct loop_timer *timer);

/* Calls fn every time the loop is about to wait (to flush buffered output). */
int loop_on_idle(struct loop *loop, loop_fn fn, void *arg);

/* Runs until loop_stop. Returns 0, or a negative errno if epoll fails. */
int loop_run(struct loop *loop);
void loop_stop(struct loop *loop);

/* CLOCK_MONOTONIC in milliseconds and nanoseconds. */
int64_t loop_now_ms(void);
int64_t loop_now_ns(void);

#endif
