/* sink.h: where events go. A sink is a struct of callbacks registered in one
 * table (sink.c); adding a sink is adding a file sink_<name>.c. Events are
 * complete JSON objects, one per line, '\n' included. */
#ifndef GLIMPSE_SINK_H
#define GLIMPSE_SINK_H

#include <stddef.h>
#include <stdint.h>

struct sink;

struct sink_ops {
	const char *scheme; /* "stdout", "file" … as written in --output */
	/* Opens the sink for target (what follows "<scheme>:", may be ""). */
	int (*open)(struct sink **out, const char *target);
	/* Queues one event. Returns 0 or a negative errno (the event was not taken). */
	int (*write)(struct sink *s, const char *data, size_t len);
	/* Pushes out what is queued; called whenever the event loop goes idle. */
	int (*flush)(struct sink *s);
	void (*close)(struct sink *s);
};

struct sink_stats {
	uint64_t events, bytes, errors;
};

/* Every sink begins with this header. */
struct sink {
	const struct sink_ops *ops;
	struct sink_stats stats;
};

/* The sinks, one file each (sink_<name>.c), listed in sink.c's table. */
extern const struct sink_ops sink_stdout_ops;
extern const struct sink_ops sink_file_ops;

/* Opens the sink named by an --output value: "stdout" or "file:PATH".
 * Returns 0, or a negative errno after logging why. */
int sink_open(struct sink **out, const char *spec);
/* Checks a spec without opening anything; returns NULL or a static reason. */
const char *sink_check_spec(const char *spec);

static inline int sink_write(struct sink *s, const char *data, size_t len)
{
	return s->ops->write(s, data, len);
}

static inline int sink_flush(struct sink *s)
{
	return s->ops->flush(s);
}

static inline void sink_close(struct sink *s)
{
	if (s)
		s->ops->close(s);
}

#endif
