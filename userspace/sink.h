/* sink.h: where events go. A sink is a struct of callbacks registered in one
 * table (sink.c); adding a sink is adding a file sink_<name>.c. Events are
 * complete JSON objects, one per line, '\n' included.
 *
 * Every event carries the agent's delivery sequence number (increasing). A
 * sink confirms delivery by raising confirmed_seq: every event it took with a
 * sequence number up to it is delivered (or, failing for good, written to
 * the dead-letter file with the reason). queued_bytes is what the sink holds
 * undelivered; the agent stops reading logs while it is over the configured
 * cap.
 *
 * Several sinks run at once (struct sinks): each event goes to every sink
 * whose kinds include the event's, each sink keeps its own queue, and a log
 * position is saved only once every sink has confirmed the events before it.
 */
#ifndef GLIMPSE_SINK_H
#define GLIMPSE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;
struct deadletter;
struct loop;
struct sink;

/* Event kinds, as bits of a sink's routing mask. */
enum sink_kind {
	SINK_KIND_LOG = 1u << 0,
	SINK_KIND_CONTAINER = 1u << 1,
	SINK_KIND_HTTP = 1u << 2,
};
#define SINK_KINDS_ALL (SINK_KIND_LOG | SINK_KIND_CONTAINER | SINK_KIND_HTTP)

/* "log", "container" or "http". */
const char *sink_kind_name(unsigned kind);

struct sink_event {
	uint64_t seq;
	unsigned kind;	  /* one SINK_KIND_* */
	const char *data; /* one JSON object and its '\n' */
	size_t len;
	const char *key;    /* the pod UID, or NULL (a host process's exchange) */
	const char *source; /* a log line's file identity "<dev>:<inode>", else NULL */
	uint64_t offset;    /* where the line begins in that file */
};

/* What a sink is opened with. */
struct sink_params {
	const char *name;	      /* "kafka-1": in log lines, stats and dead letters */
	const char *target;	      /* what follows the scheme ("" for stdout) */
	const struct cJSON *settings; /* its entry of "outputs" in the config file, or NULL */
	struct loop *loop;	      /* NULL: no loop (flushes block) */
	struct deadletter *dl;	      /* where events refused for good go */
};

struct sink_ops {
	const char *scheme; /* "stdout", "file", "kafka" … as written in --output */
	/* Checks target and settings without opening anything. Returns NULL, or
	 * a reason naming the bad setting (in err, or a static string). */
	const char *(*check)(const char *target, const struct cJSON *settings, char *err,
			     size_t err_len);
	/* Opens the sink; it may watch fds on the loop. */
	int (*open)(struct sink **out, const struct sink_params *p);
	/* Queues one event. Returns 0 or a negative errno (the event was not taken). */
	int (*write)(struct sink *s, const struct sink_event *ev);
	/* Pushes out what is queued and takes delivery reports, without
	 * blocking; called whenever the event loop goes idle. */
	int (*flush)(struct sink *s);
	/* Makes what was confirmed durable (fsync) before positions are saved;
	 * NULL when confirmation already means durable. */
	int (*sync)(struct sink *s);
	/* Calls fn for every event taken and not confirmed, oldest first (at
	 * a stop, before close; the set spools those without a file behind
	 * them). NULL when a sink cannot tell its events apart. */
	void (*pending)(struct sink *s, void (*fn)(void *arg, const struct sink_event *ev),
			void *arg);
	/* Flushes (blocking, bounded by the sink) and frees. */
	void (*close)(struct sink *s);
};

struct sink_stats {
	uint64_t events, bytes, errors;
	uint64_t delivered;	/* confirmed by the far end */
	uint64_t dead_lettered; /* refused for good, written to the dead-letter file */
	uint64_t retries;	/* attempts after a failed one */
};

/* Every sink begins with this header. */
struct sink {
	const struct sink_ops *ops;
	const char *name; /* the sinks set owns it */
	struct sink_stats stats;
	uint64_t confirmed_seq; /* written by the sink */
	size_t queued_bytes;	/* written by the sink */
};

/* The sinks, one file each (sink_<name>.c), listed in sink.c's table. */
extern const struct sink_ops sink_stdout_ops;
extern const struct sink_ops sink_file_ops;
extern const struct sink_ops sink_kafka_ops;

/* Checks an --output value and its settings (NULL: none) without opening
 * anything: the scheme, the sink's own settings and the common ones ("url",
 * "name", "kinds"). Returns NULL or the reason (in err). */
const char *sink_check(const char *spec, const struct cJSON *settings, char *err, size_t err_len);

/* For a sink's check: NULL when every key of settings is a common one
 * ("url", "name", "kinds") or one of allowed (NULL-terminated; NULL for
 * none), else the reason, in err. */
const char *sink_settings_only(const struct cJSON *settings, const char *const *allowed, char *err,
			       size_t err_len);

/* Opens one sink by its --output value. Returns 0, or a negative errno after
 * logging why. */
int sink_open(struct sink **out, const char *spec, const struct sink_params *p);

static inline int sink_write(struct sink *s, const struct sink_event *ev)
{
	return s->ops->write(s, ev);
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

/* --- several sinks at once -------------------------------------------------- */

struct sinks;

struct sinks_spec {
	const char *spec;     /* the --output value */
	const char *settings; /* its entry of "outputs" as JSON text, or NULL */
};

struct sinks_limits {
	size_t max_queued_bytes; /* past it a sink's container and http events are spooled */
	size_t spool_max_bytes;	 /* per sink; past it the oldest spooled events go */
};

/* Opens every sink of specs (n of them), with their dead-letter file and
 * spools in state_dir. Returns 0, or a negative errno after logging why
 * (nothing is left open). */
int sinks_open(struct sinks **out, const struct sinks_spec *specs, size_t n, const char *state_dir,
	       const struct sinks_limits *limits, struct loop *loop);
/* Gives ev (its seq is set here) to every sink that takes its kind; an
 * event without a file behind it goes to the sink's spool instead while the
 * sink holds more than max_queued_bytes, and while events wait there.
 * Returns ev's sequence number; *failed is set when some sink did not take
 * it (counted in that sink's errors). */
uint64_t sinks_write(struct sinks *ss, const struct sink_event *ev, bool *failed);
/* sink_flush of every sink, and spooled events handed back to the sinks
 * that have room again; a negative errno if any failed. */
int sinks_flush(struct sinks *ss);
/* sink_sync of every sink, spool and the dead-letter file. */
int sinks_sync(struct sinks *ss);
/* Every event up to this sequence number is delivered by every sink that
 * took it. Never decreases. */
uint64_t sinks_confirmed(struct sinks *ss);
/* The most any one sink holds undelivered. */
size_t sinks_queued_bytes(const struct sinks *ss);
size_t sinks_count(const struct sinks *ss);
struct sink *sinks_get(const struct sinks *ss, size_t i);
uint64_t sinks_dead_lettered(const struct sinks *ss);
/* Spool figures of sink i (zeros when it never spooled). */
struct spool_stats;
void sinks_spool_stats(const struct sinks *ss, size_t i, struct spool_stats *st);
void sinks_close(struct sinks *ss);

#endif
