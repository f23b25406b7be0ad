/* sink_kafka.c: events to Kafka, through librdkafka.
 *
 *   --output kafka://BROKER[,BROKER...]/TOPIC
 *
 * TOPIC may hold "{kind}" (log, container, http): one topic per kind, by
 * default "glimpse.{kind}". The producer is idempotent with acks=all, so a
 * retried batch is written once per partition. The message key is the pod
 * UID (setting "key": "pod_uid", or "none"), so one pod's events stay in
 * order in one partition; the value is the event's JSON; headers name the
 * kind and, for a log line, its file's identity ("<dev>:<inode>") and the
 * line's offset in it, so that a consumer can drop the duplicates a restart
 * may send again.
 *
 * Every event is kept (ackq) until its delivery report, to be sent again or
 * dead-lettered from there. Reports, errors and librdkafka's own log
 * lines are all served on the agent's thread: librdkafka's main queue wakes
 * the event loop through a pipe. A delivery report that failed for good (a
 * message over message.max.bytes, a topic that does not exist, not
 * authorized) sends the event to the dead-letter file with the reason; a
 * message that timed out (message.timeout.ms set) is sent again, in order,
 * with everything after it. A fatal error of the idempotent producer
 * replaces the producer and sends again every event not confirmed. When
 * librdkafka's queue is full, events wait in ours, in order.
 *
 * Settings (an entry of "outputs" in the config file): topic, key,
 * compression (none, gzip, snappy, lz4, zstd; lz4 by default), linger_ms,
 * batch_size, and properties: librdkafka properties passed as they are
 * (security.protocol, ssl.ca.location, sasl.mechanisms, sasl.username, ...).
 */
#include "sink.h"

#include "ackq.h"
#include "deadletter.h"
#include "log.h"
#include "loop.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define KAFKA_TOPIC_MAX	    249
#define KAFKA_KINDS	    3
#define KAFKA_DEFAULT_TOPIC "glimpse.{kind}"
#define KAFKA_ERROR_LOG_MS  30000 /* the same broker error is logged once in this */
#define KAFKA_ERRSTR	    512

/* the delivery report finds its event by the sequence number in the opaque */
_Static_assert(sizeof(void *) >= sizeof(uint64_t), "64-bit pointers");

struct sink_kafka {
	struct sink base;
	struct loop *loop;
	struct deadletter *dl;
	rd_kafka_conf_t *conf; /* a producer is made from a copy of it */
	rd_kafka_t *rk;
	rd_kafka_topic_t *topics[KAFKA_KINDS];
	char topic_names[KAFKA_KINDS][KAFKA_TOPIC_MAX + 1];
	bool key_pod;
	int wake[2]; /* librdkafka writes to wake[1] when its main queue has work */
	struct ackq q;
	size_t unsent;	 /* entries at the back not handed to librdkafka yet */
	bool resend;	 /* every entry not confirmed goes out again, in order */
	bool replace;	 /* the producer hit a fatal error: make a new one */
	bool queue_full; /* librdkafka's queue was full (logged once) */
	rd_kafka_resp_err_t last_error;
	int64_t last_error_ms;
};

static unsigned kafka_kind_index(unsigned kind)
{
	return kind == SINK_KIND_LOG ? 0 : kind == SINK_KIND_CONTAINER ? 1 : 2;
}

/* --- settings ---------------------------------------------------------------- */

static const char *const kafka_settings[] = {
    "topic", "key", "compression", "linger_ms", "batch_size", "properties", NULL,
};

/* Splits "//b1:9092,b2:9092/topic" into brokers and topic ("" when none). */
static const char *kafka_parse_target(const char *target, char *brokers, size_t brokers_len,
				      const char **topic)
{
	const char *slash;
	size_t n;

	if (strncmp(target, "//", 2) != 0)
		return "expected kafka://BROKER[,BROKER...]/TOPIC";
	target += 2;
	slash = strchr(target, '/');
	n = slash ? (size_t)(slash - target) : strlen(target);
	if (n == 0)
		return "kafka:// needs at least one broker, as in "
		       "kafka://kafka-0:9092/glimpse.{kind}";
	if (n >= brokers_len)
		return "broker list too long";
	memcpy(brokers, target, n);
	brokers[n] = '\0';
	*topic = slash ? slash + 1 : "";
	return NULL;
}

/* The topic of kind from template; NULL or why it is not a topic name. */
static const char *kafka_topic_name(const char *template, unsigned kind, char *out)
{
	const char *name = sink_kind_name(kind);
	size_t len = 0;

	for (const char *p = template; *p; p++) {
		const char *add = p;
		size_t n = 1;
		if (*p == '{') {
			if (strncmp(p, "{kind}", 6) != 0)
				return "topic: only {kind} may stand in braces";
			add = name;
			n = strlen(name);
			p += 5;
		} else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-')) {
			return "topic: a Kafka topic name has only letters, digits, '.', '_' and "
			       "'-'";
		}
		if (len + n > KAFKA_TOPIC_MAX)
			return "topic: longer than 249 characters";
		memcpy(out + len, add, n);
		len += n;
	}
	if (len == 0)
		return "topic: empty";
	out[len] = '\0';
	return NULL;
}

/* Sets one property; false with the reason in err. */
static bool kafka_set(rd_kafka_conf_t *conf, const char *name, const char *value, char *err,
		      size_t err_len)
{
	char why[KAFKA_ERRSTR];

	if (rd_kafka_conf_set(conf, name, value, why, sizeof(why)) == RD_KAFKA_CONF_OK)
		return true;
	snprintf(err, err_len, "%s: %s", name, why);
	return false;
}

/* A setting's value as librdkafka wants it: text. */
static const char *kafka_text(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		return v->valuestring;
	if (cJSON_IsBool(v))
		return cJSON_IsTrue(v) ? "true" : "false";
	if (cJSON_IsNumber(v) && v->valuedouble == (double)(long long)v->valuedouble) {
		snprintf(buf, len, "%lld", (long long)v->valuedouble);
		return buf;
	}
	return NULL;
}

/* Builds the producer's configuration from the target and settings, or says
 * why not (in err). Also the topic of each kind and the key choice. */
static rd_kafka_conf_t *kafka_config(const char *target, const cJSON *settings,
				     char topics[KAFKA_KINDS][KAFKA_TOPIC_MAX + 1], bool *key_pod,
				     char *err, size_t err_len)
{
	/* at-least-once, written once per partition, never given up on; the
	 * settings and properties below may change the rest */
	static const struct {
		const char *name, *value;
	} fixed[] = {
	    {"client.id", "glimpse"},	 {"enable.idempotence", "true"}, {"acks", "all"},
	    {"message.timeout.ms", "0"}, {"compression.codec", "lz4"},	 {"log.queue", "true"},
	};
	static const struct {
		const char *setting, *property;
	} passed[] = {
	    {"compression", "compression.codec"},
	    {"linger_ms", "linger.ms"},
	    {"batch_size", "batch.size"},
	};
	char brokers[4096], num[32];
	const char *topic, *why;
	const cJSON *v, *p;
	rd_kafka_conf_t *conf;

	why = sink_settings_only(settings, kafka_settings, err, err_len);
	if (!why)
		why = kafka_parse_target(target, brokers, sizeof(brokers), &topic);
	if (why) {
		if (why != err)
			snprintf(err, err_len, "%s", why);
		return NULL;
	}
	v = cJSON_GetObjectItemCaseSensitive(settings, "topic");
	if (v && (!cJSON_IsString(v) || (*topic && strcmp(topic, v->valuestring) != 0))) {
		snprintf(err, err_len, "topic: %s",
			 cJSON_IsString(v) ? "differs from the one in the URL"
					   : "expected a string");
		return NULL;
	}
	if (!*topic)
		topic = v ? v->valuestring : KAFKA_DEFAULT_TOPIC;
	for (unsigned k = 0; k < KAFKA_KINDS; k++) {
		why = kafka_topic_name(topic, SINK_KIND_LOG << k, topics[k]);
		if (why) {
			snprintf(err, err_len, "%s", why);
			return NULL;
		}
	}
	v = cJSON_GetObjectItemCaseSensitive(settings, "key");
	*key_pod = true;
	if (v) {
		if (!cJSON_IsString(v) || (strcmp(v->valuestring, "pod_uid") != 0 &&
					   strcmp(v->valuestring, "none") != 0)) {
			snprintf(err, err_len, "key: expected pod_uid or none");
			return NULL;
		}
		*key_pod = strcmp(v->valuestring, "pod_uid") == 0;
	}

	conf = rd_kafka_conf_new();
	if (!conf) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (!kafka_set(conf, fixed[i].name, fixed[i].value, err, err_len))
			goto fail;
	if (!kafka_set(conf, "bootstrap.servers", brokers, err, err_len))
		goto fail;
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++) {
		const char *text;
		v = cJSON_GetObjectItemCaseSensitive(settings, passed[i].setting);
		if (!v)
			continue;
		text = kafka_text(v, num, sizeof(num));
		if (!text) {
			snprintf(err, err_len, "%s: expected a string or an integer",
				 passed[i].setting);
			goto fail;
		}
		if (!kafka_set(conf, passed[i].property, text, err, err_len))
			goto fail;
	}
	p = cJSON_GetObjectItemCaseSensitive(settings, "properties");
	if (p && !cJSON_IsObject(p)) {
		snprintf(err, err_len, "properties: expected an object of librdkafka properties");
		goto fail;
	}
	cJSON_ArrayForEach(v, p)
	{
		const char *text = kafka_text(v, num, sizeof(num));
		if (!text) {
			snprintf(err, err_len,
				 "properties: %s: expected a string, number or boolean", v->string);
			goto fail;
		}
		if (!kafka_set(conf, v->string, text, err, err_len))
			goto fail;
	}
	return conf;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static const char *sink_kafka_check(const char *target, const struct cJSON *settings, char *err,
				    size_t err_len)
{
	char topics[KAFKA_KINDS][KAFKA_TOPIC_MAX + 1];
	bool key_pod;
	rd_kafka_conf_t *conf = kafka_config(target, settings, topics, &key_pod, err, err_len);

	if (!conf)
		return err;
	rd_kafka_conf_destroy(conf);
	return NULL;
}

/* --- sending --------------------------------------------------------------------- */

static rd_kafka_topic_t *kafka_topic(struct sink_kafka *k, unsigned kind)
{
	unsigned i = kafka_kind_index(kind);

	if (!k->topics[i])
		k->topics[i] = rd_kafka_topic_new(k->rk, k->topic_names[i], NULL);
	return k->topics[i];
}

static void kafka_dead_letter(struct sink_kafka *k, struct ackq_entry *e, const char *reason)
{
	deadletter_write(k->dl, k->base.name, reason, e->data, e->len);
	k->base.stats.dead_lettered++;
	ackq_done(&k->q, e);
}

/* Hands e to librdkafka. False when its queue is full (e waits in ours). */
static bool kafka_send(struct sink_kafka *k, struct ackq_entry *e)
{
	rd_kafka_topic_t *t = kafka_topic(k, e->kind);
	rd_kafka_headers_t *h = rd_kafka_headers_new(3);
	size_t len = e->len && e->data[e->len - 1] == '\n' ? e->len - 1 : e->len;
	rd_kafka_resp_err_t err;
	char why[KAFKA_ERRSTR], offset[24];

	if (!t || !h) {
		if (h)
			rd_kafka_headers_destroy(h);
		return false; /* out of memory: tried again at the next flush */
	}
	rd_kafka_header_add(h, "glimpse.kind", -1, sink_kind_name(e->kind), -1);
	if (e->has_source) {
		snprintf(offset, sizeof(offset), "%llu", (unsigned long long)e->offset);
		rd_kafka_header_add(h, "glimpse.source", -1, e->source, -1);
		rd_kafka_header_add(h, "glimpse.offset", -1, offset, -1);
	}
	err = rd_kafka_producev(
	    k->rk, RD_KAFKA_V_RKT(t), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
	    /* its own copy: a message purged to be sent again may still be
	       referenced by librdkafka after the new copy was confirmed */
	    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(e->data, len),
	    RD_KAFKA_V_KEY(k->key_pod && e->has_key ? e->key : NULL,
			   k->key_pod && e->has_key ? strlen(e->key) : 0),
	    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)e->seq), RD_KAFKA_V_END);
	if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
		return true;
	rd_kafka_headers_destroy(h);
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		if (!k->queue_full)
			log_warn("output %s: librdkafka's queue is full; events wait in the "
				 "agent's",
				 k->base.name);
		k->queue_full = true;
		return false;
	}
	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		k->replace = true;
		return false;
	}
	k->base.stats.errors++;
	snprintf(why, sizeof(why), "%s (topic %s)", rd_kafka_err2str(err), rd_kafka_topic_name(t));
	kafka_dead_letter(k, e, why);
	return true;
}

/* Sends what waits in our queue, in order, until librdkafka's is full. */
static void kafka_send_waiting(struct sink_kafka *k)
{
	while (k->unsent && !k->replace) {
		struct ackq_entry *e = ackq_at(&k->q, k->q.n - k->unsent);
		if (!e->done && !kafka_send(k, e))
			return;
		k->unsent--;
	}
	if (k->queue_full && !k->unsent) {
		log_info("output %s: librdkafka's queue takes events again", k->base.name);
		k->queue_full = false;
	}
}

static void kafka_advance(struct sink_kafka *k)
{
	uint64_t confirmed;

	if (ackq_advance(&k->q, &confirmed))
		k->base.confirmed_seq = confirmed;
	if (k->unsent > k->q.n)
		k->unsent = k->q.n;
	k->base.queued_bytes = k->q.bytes;
}

/* --- librdkafka's callbacks, all on the agent's thread (rd_kafka_poll) ------------ */

static void kafka_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct sink_kafka *k = opaque;
	struct ackq_entry *e = ackq_find(&k->q, (uint64_t)(uintptr_t)m->_private);
	char why[KAFKA_ERRSTR];

	if (!e || e->done)
		return; /* a copy sent again was confirmed first */
	if (m->err && rd_kafka_fatal_error(rk, NULL, 0)) {
		/* failed with the producer, not refused: a new one sends it */
		k->replace = true;
		return;
	}
	switch (m->err) {
	case RD_KAFKA_RESP_ERR_NO_ERROR:
		k->base.stats.delivered++;
		ackq_done(&k->q, e);
		if (k->last_error) {
			log_info("output %s: delivering again", k->base.name);
			k->last_error = RD_KAFKA_RESP_ERR_NO_ERROR;
		}
		break;
	case RD_KAFKA_RESP_ERR__PURGE_QUEUE:
	case RD_KAFKA_RESP_ERR__PURGE_INFLIGHT:
	case RD_KAFKA_RESP_ERR__FATAL:
		break; /* sent again by whoever purged */
	case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
		k->resend = true;
		break;
	default:
		k->base.stats.errors++;
		snprintf(why, sizeof(why), "%s (topic %s)", rd_kafka_err2str(m->err),
			 m->rkt ? rd_kafka_topic_name(m->rkt) : "?");
		kafka_dead_letter(k, e, why);
		break;
	}
}

static void kafka_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	struct sink_kafka *k = opaque;
	char fatal[KAFKA_ERRSTR];
	int64_t now = loop_now_ms();

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
		log_error("output %s: the producer failed for good (%s); a new one sends every "
			  "event not confirmed",
			  k->base.name, fatal);
		k->replace = true;
		return;
	}
	if (err == (int)k->last_error && now - k->last_error_ms < KAFKA_ERROR_LOG_MS)
		return;
	k->last_error = (rd_kafka_resp_err_t)err;
	k->last_error_ms = now;
	log_warn("output %s: %s", k->base.name, reason);
}

static void kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	struct sink_kafka *k = rd_kafka_opaque(rk);
	const char *name = k ? k->base.name : "kafka";

	/* errors come once more, rate-limited, through kafka_error */
	if (level <= 2)
		log_warn("output %s: librdkafka %s: %s", name, fac, buf);
	else
		log_debug("output %s: librdkafka %s: %s", name, fac, buf);
}

/* --- the producer ------------------------------------------------------------------ */

static void kafka_drop_producer(struct sink_kafka *k)
{
	if (!k->rk)
		return;
	rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT |
				  RD_KAFKA_PURGE_F_NON_BLOCKING);
	rd_kafka_poll(k->rk, 0);
	for (unsigned i = 0; i < KAFKA_KINDS; i++) {
		if (k->topics[i])
			rd_kafka_topic_destroy(k->topics[i]);
		k->topics[i] = NULL;
	}
	rd_kafka_destroy(k->rk);
	k->rk = NULL;
}

static int kafka_new_producer(struct sink_kafka *k)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_dup(k->conf);
	rd_kafka_queue_t *main_q;
	char err[KAFKA_ERRSTR];

	if (!conf)
		return -ENOMEM;
	rd_kafka_conf_set_opaque(conf, k);
	rd_kafka_conf_set_dr_msg_cb(conf, kafka_delivered);
	rd_kafka_conf_set_error_cb(conf, kafka_error);
	rd_kafka_conf_set_log_cb(conf, kafka_log);
	k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!k->rk) {
		rd_kafka_conf_destroy(conf);
		log_error("output %s: %s", k->base.name, err);
		return -EINVAL;
	}
	rd_kafka_set_log_queue(k->rk, NULL); /* its log lines are served by rd_kafka_poll */
	main_q = rd_kafka_queue_get_main(k->rk);
	if (main_q) {
		rd_kafka_queue_io_event_enable(main_q, k->wake[1], "1", 1);
		rd_kafka_queue_destroy(main_q);
	}
	return 0;
}

/* --- the sink ------------------------------------------------------------------------ */

static void kafka_serve(struct sink_kafka *k)
{
	if (k->rk)
		rd_kafka_poll(k->rk, 0);
	if (k->replace) {
		kafka_drop_producer(k);
		k->replace = false;
		k->resend = true;
		if (kafka_new_producer(k) != 0)
			k->replace = true; /* tried again at the next flush */
	}
	if (k->resend && k->rk) {
		/* in order: whatever librdkafka still holds goes first */
		rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_poll(k->rk, 0);
		k->base.stats.retries += k->q.n;
		k->unsent = k->q.n;
		k->resend = false;
	}
	if (k->rk)
		kafka_send_waiting(k);
	kafka_advance(k);
}

static void kafka_wakeup(struct loop *loop, int fd, uint32_t events, void *arg)
{
	char buf[64];

	(void)loop;
	(void)events;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	kafka_serve(arg);
}

static int sink_kafka_write(struct sink *s, const struct sink_event *ev)
{
	struct sink_kafka *k = (struct sink_kafka *)s;
	struct ackq_entry *e = ackq_push(&k->q, ev);

	if (!e)
		return -ENOMEM;
	s->stats.events++;
	s->stats.bytes += ev->len;
	if (k->unsent || !k->rk || k->replace || !kafka_send(k, e))
		k->unsent++;
	s->queued_bytes = k->q.bytes;
	return 0;
}

static int sink_kafka_flush(struct sink *s)
{
	kafka_serve((struct sink_kafka *)s);
	return 0;
}

static void sink_kafka_pending(struct sink *s, void (*fn)(void *arg, const struct sink_event *ev),
			       void *arg)
{
	struct sink_kafka *k = (struct sink_kafka *)s;

	for (size_t i = 0; i < k->q.n; i++) {
		const struct ackq_entry *e = ackq_at(&k->q, i);
		struct sink_event ev;
		if (e->done)
			continue;
		ackq_event(e, &ev);
		fn(arg, &ev);
	}
}

static void sink_kafka_close(struct sink *s)
{
	struct sink_kafka *k = (struct sink_kafka *)s;

	/* the agent gave its outputs their time to drain before: what is left
	 * is purged (log lines are read again, the rest was spooled) */
	if (k->rk)
		kafka_serve(k);
	if (k->q.n)
		log_warn("output %s: %zu events not confirmed at exit", s->name, k->q.n);
	kafka_drop_producer(k);
	if (k->loop)
		loop_del_fd(k->loop, k->wake[0]);
	close(k->wake[0]);
	close(k->wake[1]);
	ackq_free(&k->q);
	rd_kafka_conf_destroy(k->conf);
	free(k);
}

static int sink_kafka_open(struct sink **out, const struct sink_params *p)
{
	struct sink_kafka *k = calloc(1, sizeof(*k));
	char err[KAFKA_ERRSTR];
	int e;

	if (!k)
		return -ENOMEM;
	k->base.ops = &sink_kafka_ops;
	k->base.name = p->name;
	k->loop = p->loop;
	k->dl = p->dl;
	ackq_init(&k->q);
	k->conf =
	    kafka_config(p->target, p->settings, k->topic_names, &k->key_pod, err, sizeof(err));
	if (!k->conf) {
		log_error("output %s: %s", p->name, err);
		free(k);
		return -EINVAL;
	}
	if (pipe2(k->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		e = -errno;
		rd_kafka_conf_destroy(k->conf);
		free(k);
		return e;
	}
	e = kafka_new_producer(k);
	if (!e && k->loop)
		e = loop_add_fd(k->loop, k->wake[0], EPOLLIN, kafka_wakeup, k);
	if (e) {
		kafka_drop_producer(k);
		close(k->wake[0]);
		close(k->wake[1]);
		rd_kafka_conf_destroy(k->conf);
		free(k);
		return e;
	}
	log_info("output %s: Kafka at %s, topics %s, %s, %s", p->name, p->target + 2,
		 k->topic_names[0], k->topic_names[1], k->topic_names[2]);
	*out = &k->base;
	return 0;
}

const struct sink_ops sink_kafka_ops = {
    .scheme = "kafka",
    .check = sink_kafka_check,
    .open = sink_kafka_open,
    .write = sink_kafka_write,
    .flush = sink_kafka_flush,
    .pending = sink_kafka_pending,
    .close = sink_kafka_close,
};
