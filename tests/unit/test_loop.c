/* test_loop.c: the event loop (loop.c): fd callbacks on a pipe, removing an
 * fd from inside its own callback, one-shot timers in deadline order,
 * cancelling, idle callbacks, and loop_stop. Every run has a guard timer that
 * stops the loop after a few seconds, so a broken loop fails instead of
 * hanging.
 */
#include "loop.h"
#include "testing.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

#define GUARD_MS 3000

struct guard {
	int fired;
	struct loop_timer *timer; /* armed and not fired yet */
};

static void guard_fire(struct loop *loop, void *arg)
{
	struct guard *g = arg;

	g->fired = 1;
	g->timer = NULL;
	loop_stop(loop);
}

/* Runs the loop, first arming the guard timer unless it is still armed.
 * Whether loop_run returned 0 and the guard did not have to stop it; what went
 * wrong is printed. */
static bool run_guarded(struct loop *loop, struct guard *g)
{
	int ret;

	if (!g->timer)
		g->timer = loop_timer_add(loop, GUARD_MS, guard_fire, g);
	ret = loop_run(loop);
	if (ret != 0)
		fprintf(stderr, "  loop_run returned %d, expected 0\n", ret);
	if (g->fired)
		fprintf(stderr, "  the guard timer had to stop the loop\n");
	return ret == 0 && !g->fired;
}

static void stop_now(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

/* ---- fds ---- */

/* A new loop and a new non-blocking pipe in fds; NULL (the failure checked)
 * when the loop could not be made. */
static struct loop *loop_with_pipe(int fds[2])
{
	struct loop *loop = loop_new();

	CHECK(loop != NULL);
	if (loop)
		CHECK_INT_EQ(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
	return loop;
}

static void free_with_pipe(struct loop *loop, int fds[2])
{
	close(fds[0]);
	close(fds[1]);
	loop_free(loop);
}

struct pipe_ctx {
	int fds[2];
	char got[64];
	size_t len;
	int calls;
	int stop_after;
	bool del_self;
};

static void pipe_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct pipe_ctx *p = arg;
	ssize_t n;

	p->calls++;
	if (!(events & EPOLLIN))
		return;
	n = read(fd, p->got + p->len, sizeof(p->got) - 1 - p->len);
	if (n > 0)
		p->len += (size_t)n;
	p->got[p->len] = '\0';
	if (p->del_self)
		loop_del_fd(loop, fd);
	if (p->stop_after && p->calls >= p->stop_after)
		loop_stop(loop);
}

/* loop_with_pipe, and pipe_readable watching p's read end for events. */
static struct loop *loop_watching_pipe(struct pipe_ctx *p, uint32_t events)
{
	struct loop *loop = loop_with_pipe(p->fds);

	if (loop)
		CHECK_INT_EQ(loop_add_fd(loop, p->fds[0], events, pipe_readable, p), 0);
	return loop;
}

static void write_pipe_b(struct loop *loop, void *arg)
{
	struct pipe_ctx *p = arg;

	(void)loop;
	CHECK_INT_EQ(write(p->fds[1], "b", 1), 1);
}

TEST(test_fd_callbacks)
{
	struct pipe_ctx p = {.stop_after = 2};
	struct loop *loop = loop_watching_pipe(&p, EPOLLIN);
	struct guard g = {0};

	if (!loop)
		return;
	/* the same fd twice is refused */
	CHECK_INT_EQ(loop_add_fd(loop, p.fds[0], EPOLLIN, pipe_readable, &p), -EEXIST);
	CHECK_INT_EQ(loop_add_fd(loop, -1, EPOLLIN, pipe_readable, &p), -EBADF);
	CHECK_INT_EQ(write(p.fds[1], "a", 1), 1);
	loop_timer_add(loop, 50, write_pipe_b, &p);
	CHECK(run_guarded(loop, &g));
	CHECK_INT_EQ(p.calls, 2);
	CHECK_STR_EQ(p.got, "ab");
	if (!g.fired)
		loop_timer_cancel(loop, g.timer);

	/* an fd that is not watched is not an error to delete */
	loop_del_fd(loop, 1000);
	loop_del_fd(loop, -1);
	free_with_pipe(loop, p.fds);
}

TEST(test_fd_high_number)
{
	struct pipe_ctx p = {.stop_after = 1};
	struct loop *loop = loop_with_pipe(p.fds);
	struct guard g = {0};
	int high;

	if (!loop)
		return;
	/* past the first handler table: it grows */
	high = fcntl(p.fds[0], F_DUPFD_CLOEXEC, 300);
	CHECK(high >= 300);
	CHECK_INT_EQ(loop_add_fd(loop, high, EPOLLIN, pipe_readable, &p), 0);
	CHECK_INT_EQ(write(p.fds[1], "z", 1), 1);
	CHECK(run_guarded(loop, &g));
	CHECK_STR_EQ(p.got, "z");
	close(high);
	free_with_pipe(loop, p.fds); /* frees the guard timer that did not fire */
}

TEST(test_fd_del_from_own_callback)
{
	struct pipe_ctx p = {.del_self = true};
	struct loop *loop = loop_watching_pipe(&p, EPOLLIN);
	struct guard g = {0};

	if (!loop)
		return;
	CHECK_INT_EQ(write(p.fds[1], "x", 1), 1);
	/* more data later: must not reach the deleted handler */
	loop_timer_add(loop, 30, write_pipe_b, &p);
	loop_timer_add(loop, 200, stop_now, NULL);
	CHECK(run_guarded(loop, &g));
	CHECK_INT_EQ(p.calls, 1);
	CHECK_STR_EQ(p.got, "x");

	/* it can be watched again afterwards */
	p.del_self = false;
	p.stop_after = 2;
	CHECK_INT_EQ(loop_add_fd(loop, p.fds[0], EPOLLIN, pipe_readable, &p), 0);
	CHECK(run_guarded(loop, &g)); /* the same guard still armed */
	CHECK_STR_EQ(p.got, "xb");
	free_with_pipe(loop, p.fds);
}

/* A callback deleting another fd that is ready in the same round: the other
 * callback must not run. */
struct pair_ctx {
	int a[2], b[2];
	int calls_a, calls_b;
};

static void pair_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct pair_ctx *p = arg;
	char c;

	(void)events;
	if (read(fd, &c, 1) < 0)
		return;
	if (fd == p->a[0]) {
		p->calls_a++;
		loop_del_fd(loop, p->b[0]);
	} else {
		p->calls_b++;
		loop_del_fd(loop, p->a[0]);
	}
}

TEST(test_fd_del_other_in_same_round)
{
	struct loop *loop = loop_new();
	struct pair_ctx p = {0};
	struct guard g = {0};

	CHECK(loop != NULL);
	if (!loop)
		return;
	CHECK_INT_EQ(pipe2(p.a, O_NONBLOCK | O_CLOEXEC), 0);
	CHECK_INT_EQ(pipe2(p.b, O_NONBLOCK | O_CLOEXEC), 0);
	CHECK_INT_EQ(loop_add_fd(loop, p.a[0], EPOLLIN, pair_readable, &p), 0);
	CHECK_INT_EQ(loop_add_fd(loop, p.b[0], EPOLLIN, pair_readable, &p), 0);
	CHECK_INT_EQ(write(p.a[1], "1", 1), 1);
	CHECK_INT_EQ(write(p.b[1], "2", 1), 1);
	loop_timer_add(loop, 100, stop_now, NULL);
	CHECK(run_guarded(loop, &g));
	/* whichever ran first removed the other */
	CHECK_INT_EQ(p.calls_a + p.calls_b, 1);
	close(p.a[0]);
	close(p.a[1]);
	close(p.b[0]);
	close(p.b[1]);
	loop_free(loop);
}

TEST(test_fd_mod)
{
	struct pipe_ctx p = {.stop_after = 1};
	struct loop *loop = loop_watching_pipe(&p, 0);
	struct guard g = {0};

	if (!loop)
		return;
	CHECK_INT_EQ(write(p.fds[1], "m", 1), 1);
	/* not asked for EPOLLIN yet: nothing until loop_mod_fd */
	loop_timer_add(loop, 100, stop_now, NULL);
	CHECK(run_guarded(loop, &g));
	CHECK_INT_EQ(p.calls, 0);
	CHECK_INT_EQ(loop_mod_fd(loop, p.fds[0], EPOLLIN), 0);
	CHECK(run_guarded(loop, &g));
	CHECK_STR_EQ(p.got, "m");
	CHECK(loop_mod_fd(loop, p.fds[1], EPOLLOUT) < 0); /* never added */
	free_with_pipe(loop, p.fds);
}

/* ---- timers ---- */

struct order_ctx {
	int order[16];
	int n;
	int64_t fired_ms[16];
};

struct tick {
	struct order_ctx *o;
	int id;
	bool stop;
};

static void tick_fire(struct loop *loop, void *arg)
{
	struct tick *t = arg;

	if (t->o->n < 16) {
		t->o->fired_ms[t->o->n] = loop_now_ms();
		t->o->order[t->o->n++] = t->id;
	}
	if (t->stop)
		loop_stop(loop);
}

TEST(test_timers_in_deadline_order)
{
	struct loop *loop = loop_new();
	struct order_ctx o = {0};
	struct tick t[6] = {{&o, 30, false}, {&o, 10, false}, {&o, 20, false},
			    {&o, 0, false},  {&o, 21, false}, {&o, 99, true}};
	struct guard g = {0};
	int64_t start;

	CHECK(loop != NULL);
	if (!loop)
		return;
	start = loop_now_ms();
	loop_timer_add(loop, 90, tick_fire, &t[0]);
	loop_timer_add(loop, 30, tick_fire, &t[1]);
	loop_timer_add(loop, 60, tick_fire, &t[2]);
	loop_timer_add(loop, -5, tick_fire, &t[3]); /* negative: as soon as possible */
	loop_timer_add(loop, 60, tick_fire, &t[4]); /* same deadline: after t[2] */
	loop_timer_add(loop, 150, tick_fire, &t[5]);
	CHECK(run_guarded(loop, &g));
	CHECK_INT_EQ(o.n, 6);
	CHECK_INT_EQ(o.order[0], 0);
	CHECK_INT_EQ(o.order[1], 10);
	CHECK_INT_EQ(o.order[2], 20);
	CHECK_INT_EQ(o.order[3], 21);
	CHECK_INT_EQ(o.order[4], 30);
	CHECK_INT_EQ(o.order[5], 99);
	/* none fires early */
	CHECK(o.fired_ms[1] - start >= 30);
	CHECK(o.fired_ms[2] - start >= 60);
	CHECK(o.fired_ms[4] - start >= 90);
	CHECK(o.fired_ms[5] - start >= 150);
	loop_free(loop);
}

struct cancel_ctx {
	struct loop_timer *victim;
	int victim_fired;
};

static void victim_fire(struct loop *loop, void *arg)
{
	(void)loop;
	((struct cancel_ctx *)arg)->victim_fired++;
}

static void cancel_victim(struct loop *loop, void *arg)
{
	struct cancel_ctx *c = arg;

	loop_timer_cancel(loop, c->victim);
	c->victim = NULL;
}

/* A timer callback that adds a timer: it fires too. */
static void add_follow_up(struct loop *loop, void *arg)
{
	loop_timer_add(loop, 10, stop_now, arg);
}

TEST(test_timer_cancel)
{
	struct loop *loop = loop_new();
	struct cancel_ctx c = {0}, c2 = {0};
	struct guard g = {0};

	CHECK(loop != NULL);
	if (!loop)
		return;
	/* cancelled before the loop runs */
	c.victim = loop_timer_add(loop, 20, victim_fire, &c);
	CHECK(c.victim != NULL);
	loop_timer_cancel(loop, c.victim);
	/* cancelled by an earlier timer */
	c2.victim = loop_timer_add(loop, 80, victim_fire, &c2);
	loop_timer_add(loop, 30, cancel_victim, &c2);
	loop_timer_add(loop, 150, add_follow_up, NULL);
	CHECK(run_guarded(loop, &g));
	CHECK_INT_EQ(c.victim_fired, 0);
	CHECK_INT_EQ(c2.victim_fired, 0);
	CHECK(c2.victim == NULL);
	loop_free(loop);
}

/* ---- idle and stop ---- */

struct idle_ctx {
	int idle_calls;
	int fd_calls;
	int idle_before_fd; /* idle calls seen when the fd callback ran */
	int fds[2];
};

static void idle_fn(struct loop *loop, void *arg)
{
	(void)loop;
	((struct idle_ctx *)arg)->idle_calls++;
}

static void idle_fd(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct idle_ctx *x = arg;
	char c;

	(void)events;
	if (read(fd, &c, 1) == 1) {
		x->fd_calls++;
		x->idle_before_fd = x->idle_calls;
		loop_stop(loop);
	}
}

static void idle_write(struct loop *loop, void *arg)
{
	struct idle_ctx *x = arg;

	(void)loop;
	CHECK_INT_EQ(write(x->fds[1], "i", 1), 1);
}

static void idle_noop(struct loop *loop, void *arg)
{
	(void)loop;
	(void)arg;
}

TEST(test_idle_runs_before_waits)
{
	struct idle_ctx x = {0};
	struct loop *loop = loop_with_pipe(x.fds);
	struct guard g = {0};

	if (!loop)
		return;
	CHECK_INT_EQ(loop_on_idle(loop, idle_fn, &x), 0);
	CHECK_INT_EQ(loop_add_fd(loop, x.fds[0], EPOLLIN, idle_fd, &x), 0);
	/* the write lands in a later round: idle ran before the wait that sees it */
	loop_timer_add(loop, 30, idle_write, &x);
	CHECK(run_guarded(loop, &g));
	CHECK_INT_EQ(x.fd_calls, 1);
	/* before the first wait and before the wait after the timer */
	CHECK(x.idle_before_fd >= 2);
	/* and once more on the way out, to flush */
	CHECK_INT_EQ(x.idle_calls, x.idle_before_fd + 1);

	/* at most 8 idle callbacks */
	for (int i = 1; i < 8; i++)
		CHECK_INT_EQ(loop_on_idle(loop, idle_noop, NULL), 0);
	CHECK_INT_EQ(loop_on_idle(loop, idle_noop, NULL), -ENOSPC);
	free_with_pipe(loop, x.fds);
}

TEST(test_stop_from_timer)
{
	struct loop *loop = loop_new();
	struct order_ctx o = {0};
	struct tick first = {&o, 1, true}, later = {&o, 2, true}, same = {&o, 3, false};
	struct guard g = {0};
	int64_t start;

	CHECK(loop != NULL);
	if (!loop)
		return;
	start = loop_now_ms();
	loop_timer_add(loop, 50, tick_fire, &first);
	loop_timer_add(loop, 50, tick_fire, &same); /* due with it, but after the stop */
	loop_timer_add(loop, 500, tick_fire, &later);
	CHECK(run_guarded(loop, &g));
	CHECK_INT_EQ(o.n, 1);
	CHECK_INT_EQ(o.order[0], 1);
	CHECK(loop_now_ms() - start < 400);

	/* running again resumes with the timers left */
	CHECK(run_guarded(loop, &g));
	CHECK_INT_EQ(o.n, 3);
	CHECK_INT_EQ(o.order[1], 3);
	CHECK_INT_EQ(o.order[2], 2);
	loop_free(loop);
}

TEST(test_stop_before_run_and_clock)
{
	struct loop *loop = loop_new();
	struct guard g = {0};
	int64_t ns1, ns2, ms;

	CHECK(loop != NULL);
	if (!loop)
		return;
	/* loop_run starts afresh: a stop before it does not end it */
	loop_stop(loop);
	loop_timer_add(loop, 20, stop_now, NULL);
	CHECK(run_guarded(loop, &g));
	loop_free(loop);
	loop_free(NULL);

	ns1 = loop_now_ns();
	ms = loop_now_ms();
	ns2 = loop_now_ns();
	CHECK(ns2 >= ns1);
	CHECK(ms >= ns1 / 1000000);
	CHECK(ms <= ns2 / 1000000);
}

int main(void)
{
	RUN(test_fd_callbacks);
	RUN(test_fd_high_number);
	RUN(test_fd_del_from_own_callback);
	RUN(test_fd_del_other_in_same_round);
	RUN(test_fd_mod);
	RUN(test_timers_in_deadline_order);
	RUN(test_timer_cancel);
	RUN(test_idle_runs_before_waits);
	RUN(test_stop_from_timer);
	RUN(test_stop_before_run_and_clock);
	return testing_done();
}
