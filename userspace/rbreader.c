/* rbreader.c: see rbreader.h. */
#include "rbreader.h"

#include "log.h"
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

struct rbreader {
	struct ring_buffer *rb;
	struct loop *loop;
	struct loop_timer *drain;
	int64_t drain_ms;
	const char *what;
};

void rbreader_poll(struct rbreader *r)
{
	int n = ring_buffer__consume(r->rb);

	if (n < 0)
		log_warn("%s: ring buffer: %s", r->what, strerror(-n));
}

static void rbreader_readable(struct loop *loop, int fd, uint32_t events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	rbreader_poll(arg);
}

static void rbreader_tick(struct loop *loop, void *arg)
{
	struct rbreader *r = arg;

	r->drain = loop_timer_add(loop, r->drain_ms, rbreader_tick, r);
	rbreader_poll(r);
}

int rbreader_open(struct rbreader **out, struct loop *loop, int map_fd, ring_buffer_sample_fn fn,
		  void *ctx, int64_t drain_ms, const char *what)
{
	struct rbreader *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->loop = loop;
	r->drain_ms = drain_ms;
	r->what = what;
	r->rb = ring_buffer__new(map_fd, fn, ctx, NULL);
	if (!r->rb) {
		err = -errno;
		log_error("%s: ring buffer: %s", what, strerror(errno));
		free(r);
		return err;
	}
	err = loop_add_fd(loop, ring_buffer__epoll_fd(r->rb), EPOLLIN, rbreader_readable, r);
	if (err) {
		ring_buffer__free(r->rb);
		free(r);
		return err;
	}
	r->drain = loop_timer_add(loop, drain_ms, rbreader_tick, r);
	*out = r;
	return 0;
}

void rbreader_close(struct rbreader *r)
{
	if (!r)
		return;
	if (r->drain)
		loop_timer_cancel(r->loop, r->drain);
	loop_del_fd(r->loop, ring_buffer__epoll_fd(r->rb));
	ring_buffer__free(r->rb);
	free(r);
}
