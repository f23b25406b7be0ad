/* sink.h: where events go. A sink is a struct of callbacks registered in one
 * table (sink.c); adding a sink is adding a file sink_<name>.c. Events are
 * complete JSON objects, one per line, '\n' included.
 *
 * Every event carries the agent's delivery sequence number (increasing). A
 * sink confirms delivery by raising confirmed_seq: every event it took with a
 * sequence number up to it is delivered. Log positions are saved only up to
 * what every sink confirmed. queued_bytes is what the sink holds undelivered;
 * the agent stops reading logs while it is over the configured cap. */
#ifndef GLIMPSE_SINK_H
#define GLIMPSE_SINK_H

#include <stddef.h>
#include <stdint.h>

struct loop;
struct sink;

struct sink_ops {
	const char *scheme; /* "stdout", "file" … as written in --output */
	/* Opens the sink for target (what follows "<scheme>:", may be ""); the
	 * sink may watch fds on loop. */
	int (*open)(struct sink **out, const char *target, struct loop *loop);
	/* Queues one event. Returns 0 or a negative errno (the event was not taken). */
	int (*write)(struct sink *s, uint64_t seq, const char *data, size_t len);
	/* Pushes out what is queued without blocking; called whenever the event
	 * loop goes idle. */
	int (*flush)(struct sink *s);
	/* Makes what was confirmed durable (fsync) before positions are saved. */
	int (*sync)(struct sink *s);
	/* Flushes (blocking, bounded by the sink) and frees. */
	void (*close)(struct sink *s);
};

struct sink_stats {
	uint64_t events, bytes, errors;
};

/* Every sink begins with this header. */
struct sink {
	const struct sink_ops *ops;
	struct sink_stats stats;
	uint64_t confirmed_seq; /* written by the sink */
	size_t queued_bytes;	/* written by the sink */
};

/* The sinks, one file each (sink_<name>.c), listed in sink.c's table. */
extern const struct sink_ops sink_stdout_ops;
extern const struct sink_ops sink_file_ops;

/* Opens the sink named by an --output value: "stdout" or "file:PATH".
 * Returns 0, or a negative errno after logging why. */
int sink_open(struct sink **out, const char *spec, struct loop *loop);
/* Checks a spec without opening anything; returns NULL or a static reason. */
const char *sink_check_spec(const char *spec);

static inline int sink_write(struct sink *s, uint64_t seq, const char *data, size_t len)
{
	return s->ops->write(s, seq, data, len);
}

static inline int sink_flush(struct sink *s)
{
	return s->ops->flush(s);
}

static inline int sink_sync(struct sink *s)
{
	return s->ops->sync ? s->ops->sync(s) : 0;
}

static inline void sink_close(struct sink *s)
{
	if (s)
		s->ops->close(s);
}

#endif
