/* rbreader.h: a BPF ring buffer read from the event loop, both when its
 * producer wakes it and on a timer, for records submitted without a wake-up
 * (BPF_RB_NO_WAKEUP: waking the consumer costs the producer more than the
 * record). Used by the lifecycle and HTTP programs' buffers. */
#ifndef GLIMPSE_RBREADER_H
#define GLIMPSE_RBREADER_H

#include <bpf/libbpf.h>
#include <stdint.h>

struct loop;
struct rbreader;

/* Reads the ring buffer map map_fd, handing each record to fn(ctx, ...)
 * (libbpf's ring_buffer_sample_fn), at least every drain_ms. what names it
 * in the log. Returns 0 or a negative errno after logging why. */
int rbreader_open(struct rbreader **out, struct loop *loop, int map_fd, ring_buffer_sample_fn fn,
		  void *ctx, int64_t drain_ms, const char *what);
/* Hands over every record queued now. */
void rbreader_poll(struct rbreader *r);
void rbreader_close(struct rbreader *r);

#endif
