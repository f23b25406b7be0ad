/* kafkamock: librdkafka's mock Kafka cluster in a process of its own, for the
 * end-to-end tests and benchmarks of the Kafka output (tests/e2e/kafka.py).
 *
 *   kafkamock [--brokers N]        (default 3)
 *
 * Prints "bootstrap <host:port,...>" once the brokers listen on 127.0.0.1,
 * then reads one command per line on stdin and answers each with a last
 * line "ok [...]" or "error <reason>":
 *
 *   down ID | up ID            a broker stops or starts answering
 *   rtt ID MS                  a broker answers MS later
 *   create TOPIC PARTITIONS    a topic (replicated on every broker)
 *   topic-error TOPIC CODE     metadata for TOPIC answers error CODE
 *   count TOPIC                "ok N": the messages ever appended to TOPIC (the
 *                              sum of its high watermarks: the mock keeps only
 *                              the newest megabytes of a partition)
 *   consume TOPIC [TIMEOUT_MS] every message, one JSON line each
 *                              {"partition","offset","key","value","headers"},
 *                              partition by partition in offset order,
 *                              then "ok N"
 *   quit                       (or end of input) stops it
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct mock {
	rd_kafka_t *owner;
	rd_kafka_mock_cluster_t *mc;
	const char *bootstrap;
	int brokers;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A consumer of the mock cluster; NULL with the reason in err. */
static rd_kafka_t *consumer(const struct mock *m, char *err, size_t len)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char group[64];
	rd_kafka_t *rk;

	snprintf(group, sizeof(group), "kafkamock-%lld", now_ms());
	if (rd_kafka_conf_set(conf, "bootstrap.servers", m->bootstrap, err, len) ||
	    rd_kafka_conf_set(conf, "group.id", group, err, len) ||
	    rd_kafka_conf_set(conf, "enable.partition.eof", "true", err, len) ||
	    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, len) ||
	    rd_kafka_conf_set(conf, "log_level", "3", err, len)) {
		rd_kafka_conf_destroy(conf);
		return NULL;
	}
	rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, len);
	if (!rk)
		rd_kafka_conf_destroy(conf);
	return rk;
}

/* The partition count of topic, or -1 with the reason in err. */
static int partitions(rd_kafka_t *rk, const char *topic, char *err, size_t len)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
	rd_kafka_resp_err_t e;
	int n = -1;

	if (!t) {
		snprintf(err, len, "topic handle: %s", rd_kafka_err2str(rd_kafka_last_error()));
		return -1;
	}
	e = rd_kafka_metadata(rk, 0, t, &md, 5000);
	if (e)
		snprintf(err, len, "metadata: %s", rd_kafka_err2str(e));
	else if (md->topic_cnt != 1 || md->topics[0].err)
		snprintf(err, len, "topic %s: %s", topic,
			 md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
	else
		n = md->topics[0].partition_cnt;
	if (md)
		rd_kafka_metadata_destroy(md);
	rd_kafka_topic_destroy(t);
	return n;
}

static int cmd_count(const struct mock *m, const char *topic)
{
	char err[512];
	rd_kafka_t *rk = consumer(m, err, sizeof(err));
	long long total = 0;
	int n;

	if (!rk) {
		printf("error %s\n", err);
		return 0;
	}
	n = partitions(rk, topic, err, sizeof(err));
	for (int p = 0; p < n; p++) {
		int64_t lo, hi;
		rd_kafka_resp_err_t e =
		    rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 5000);
		if (e) {
			snprintf(err, sizeof(err), "watermarks of partition %d: %s", p,
				 rd_kafka_err2str(e));
			n = -1;
			break;
		}
		total += hi;
	}
	if (n < 0)
		printf("error %s\n", err);
	else
		printf("ok %lld\n", total);
	rd_kafka_destroy(rk);
	return 0;
}

static void print_message(const rd_kafka_message_t *msg)
{
	cJSON *o = cJSON_CreateObject(), *h = cJSON_CreateObject();
	rd_kafka_headers_t *hdrs = NULL;
	char *text, *buf;
	const char *name;
	const void *value;
	size_t size;

	cJSON_AddNumberToObject(o, "partition", msg->partition);
	cJSON_AddNumberToObject(o, "offset", (double)msg->offset);
	if (msg->key) {
		buf = strndup(msg->key, msg->key_len);
		cJSON_AddStringToObject(o, "key", buf ? buf : "");
		free(buf);
	} else {
		cJSON_AddNullToObject(o, "key");
	}
	buf = strndup(msg->payload ? msg->payload : "", msg->len);
	cJSON_AddStringToObject(o, "value", buf ? buf : "");
	free(buf);
	if (rd_kafka_message_headers(msg, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
		for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &value, &size); i++) {
			buf = strndup(value ? value : "", size);
			cJSON_AddStringToObject(h, name, buf ? buf : "");
			free(buf);
		}
	}
	cJSON_AddItemToObject(o, "headers", h);
	text = cJSON_PrintUnformatted(o);
	if (text)
		puts(text);
	free(text);
	cJSON_Delete(o);
}

static int cmd_consume(const struct mock *m, const char *topic, long long timeout_ms)
{
	char err[512];
	rd_kafka_t *rk = consumer(m, err, sizeof(err));
	rd_kafka_topic_partition_list_t *parts;
	long long deadline = now_ms() + timeout_ms, count = 0;
	int n, at_end = 0;
	char *done;

	if (!rk) {
		printf("error %s\n", err);
		return 0;
	}
	n = partitions(rk, topic, err, sizeof(err));
	if (n < 0) {
		printf("error %s\n", err);
		rd_kafka_destroy(rk);
		return 0;
	}
	done = calloc((size_t)n + 1, 1);
	parts = rd_kafka_topic_partition_list_new(n);
	for (int p = 0; p < n; p++)
		rd_kafka_topic_partition_list_add(parts, topic, p)->offset =
		    RD_KAFKA_OFFSET_BEGINNING;
	if (!done || rd_kafka_assign(rk, parts)) {
		printf("error cannot assign the partitions of %s\n", topic);
		n = -1;
	}
	/* one partition at a time would need pausing; messages of one
	 * partition come in offset order either way */
	while (n > 0 && at_end < n && now_ms() < deadline) {
		rd_kafka_message_t *msg = rd_kafka_consumer_poll(rk, 100);
		if (!msg)
			continue;
		if (msg->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			if (msg->partition >= 0 && msg->partition < n && !done[msg->partition]) {
				done[msg->partition] = 1;
				at_end++;
			}
		} else if (msg->err) {
			fprintf(stderr, "kafkamock: consume %s: %s\n", topic,
				rd_kafka_message_errstr(msg));
		} else {
			print_message(msg);
			count++;
		}
		rd_kafka_message_destroy(msg);
	}
	if (n >= 0 && at_end < n)
		printf("error timed out: %d of %d partitions read to their end, %lld messages\n",
		       at_end, n, count);
	else if (n >= 0)
		printf("ok %lld\n", count);
	rd_kafka_topic_partition_list_destroy(parts);
	free(done);
	rd_kafka_consumer_close(rk);
	rd_kafka_destroy(rk);
	return 0;
}

/* Runs one command line; 1 when it was quit. */
static int command(struct mock *m, char *line)
{
	char verb[32] = "", topic[256] = "";
	long long a = 0, b = 0;
	int n = sscanf(line, "%31s", verb);
	rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;

	if (n != 1)
		return printf("error empty command\n") < 0;
	if (strcmp(verb, "quit") == 0)
		return 1;
	if ((strcmp(verb, "down") == 0 || strcmp(verb, "up") == 0) &&
	    sscanf(line, "%*s %lld", &a) == 1 && a >= 1 && a <= m->brokers) {
		e = strcmp(verb, "down") == 0 ? rd_kafka_mock_broker_set_down(m->mc, (int32_t)a)
					      : rd_kafka_mock_broker_set_up(m->mc, (int32_t)a);
	} else if (strcmp(verb, "rtt") == 0 && sscanf(line, "%*s %lld %lld", &a, &b) == 2 &&
		   a >= 1 && a <= m->brokers && b >= 0) {
		e = rd_kafka_mock_broker_set_rtt(m->mc, (int32_t)a, (int)b);
	} else if (strcmp(verb, "create") == 0 && sscanf(line, "%*s %255s %lld", topic, &a) == 2 &&
		   a >= 1) {
		e = rd_kafka_mock_topic_create(m->mc, topic, (int)a, m->brokers);
	} else if (strcmp(verb, "topic-error") == 0 &&
		   sscanf(line, "%*s %255s %lld", topic, &a) == 2) {
		rd_kafka_mock_topic_set_error(m->mc, topic, (rd_kafka_resp_err_t)a);
	} else if (strcmp(verb, "count") == 0 && sscanf(line, "%*s %255s", topic) == 1) {
		return cmd_count(m, topic);
	} else if (strcmp(verb, "consume") == 0 && sscanf(line, "%*s %255s", topic) == 1) {
		if (sscanf(line, "%*s %*s %lld", &a) != 1 || a <= 0)
			a = 10000;
		return cmd_consume(m, topic, a);
	} else {
		return printf("error cannot read \"%s\"\n", verb) < 0;
	}
	if (e)
		printf("error %s\n", rd_kafka_err2str(e));
	else
		printf("ok\n");
	return 0;
}

int main(int argc, char **argv)
{
	char err[512], line[1024];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	struct mock m = {.brokers = 3};

	if (argc == 3 && strcmp(argv[1], "--brokers") == 0)
		m.brokers = atoi(argv[2]);
	if (argc != 1 && argc != 3) {
		fprintf(stderr, "usage: kafkamock [--brokers N]\n");
		return 2;
	}
	if (m.brokers < 1 || m.brokers > 16) {
		fprintf(stderr, "kafkamock: --brokers: 1 to 16\n");
		return 2;
	}
	rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
	m.owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!m.owner) {
		fprintf(stderr, "kafkamock: %s\n", err);
		return 1;
	}
	m.mc = rd_kafka_mock_cluster_new(m.owner, m.brokers);
	if (!m.mc) {
		fprintf(stderr, "kafkamock: cannot start the mock cluster\n");
		rd_kafka_destroy(m.owner);
		return 1;
	}
	m.bootstrap = rd_kafka_mock_cluster_bootstraps(m.mc);
	printf("bootstrap %s\n", m.bootstrap);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin)) {
		int quit = command(&m, line);
		fflush(stdout);
		if (quit)
			break;
	}
	rd_kafka_mock_cluster_destroy(m.mc);
	rd_kafka_destroy(m.owner);
	return 0;
}
