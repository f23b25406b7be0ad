/* Unit tests of the Kafka sink against librdkafka's mock cluster, which
 * speaks the Kafka protocol in-process on 127.0.0.1: delivery reports drive
 * confirmed_seq; brokers down hold confirmation back and nothing is lost
 * when they return; refusals for good go to the dead-letter file. */
#include "deadletter.h"
#include "loop.h"
#include "sink.h"
#include "testing.h"

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* reconnect quickly after brokers come back; give up on a topic soon */
#define QUICK                                                                                      \
	"\"reconnect.backoff.ms\":50,\"reconnect.backoff.max.ms\":200,"                            \
	"\"topic.metadata.refresh.interval.ms\":200,\"topic.metadata.propagation.max.ms\":500"

#define KAFKA_API_PRODUCE 0 /* the ApiKey of Produce in the Kafka protocol */

struct kfix {
	rd_kafka_t *owner; /* owns the mock cluster */
	rd_kafka_mock_cluster_t *mc;
	char dir[64];
	struct deadletter *dl;
	struct loop *loop;
	struct sink *s;
	struct loop_timer *tick;
	uint64_t want;
	int64_t deadline_ms;
};

static bool kfix_setup(struct kfix *f)
{
	char err[256];
	rd_kafka_conf_t *conf = rd_kafka_conf_new();

	memset(f, 0, sizeof(*f));
	rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
	f->owner = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
	if (!f->owner) {
		rd_kafka_conf_destroy(conf);
		return false;
	}
	f->mc = rd_kafka_mock_cluster_new(f->owner, 3);
	if (!f->mc || testing_mkdtemp(f->dir, sizeof(f->dir), "kafka") != 0) {
		CHECK(!"mock cluster and temp dir");
		return false;
	}
	f->dl = deadletter_new(f->dir, 1 << 20);
	f->loop = loop_new();
	CHECK(f->dl && f->loop);
	return f->dl && f->loop;
}

static void kfix_teardown(struct kfix *f)
{
	sink_close(f->s);
	deadletter_free(f->dl);
	if (f->loop)
		loop_free(f->loop);
	if (f->mc)
		rd_kafka_mock_cluster_destroy(f->mc);
	if (f->owner)
		rd_kafka_destroy(f->owner);
	if (f->dir[0])
		testing_remove_tree(f->dir);
}

/* Opens kafka://<mock>/topic with settings (JSON text or NULL). */
static bool kfix_open(struct kfix *f, const char *topic, const char *settings)
{
	char spec[512];
	cJSON *json = settings ? cJSON_Parse(settings) : NULL;
	struct sink_params p = {
	    .name = "kafka-test", .loop = f->loop, .dl = f->dl, .settings = json};
	int ret;

	CHECK(!settings || json);
	snprintf(spec, sizeof(spec), "kafka://%s/%s", rd_kafka_mock_cluster_bootstraps(f->mc),
		 topic);
	ret = sink_open(&f->s, spec, &p);
	cJSON_Delete(json);
	CHECK_INT_EQ(ret, 0);
	return ret == 0;
}

static void kfix_write(struct kfix *f, uint64_t seq, unsigned kind, const char *key, size_t len)
{
	char *data = malloc(len + 1);
	int n = snprintf(data, len + 1, "{\"seq\":%llu,\"pad\":\"", (unsigned long long)seq);

	memset(data + n, 'x', len - (size_t)n - 3);
	memcpy(data + len - 3, "\"}\n", 3);
	CHECK_INT_EQ(
	    sink_write(f->s,
		       &(struct sink_event){.seq = seq,
					    .kind = kind,
					    .data = data,
					    .len = len,
					    .key = key,
					    .source = kind == SINK_KIND_LOG ? "2049:1234" : NULL,
					    .offset = seq * 100}),
	    0);
	free(data);
}

static void kfix_tick(struct loop *loop, void *arg)
{
	struct kfix *f = arg;

	sink_flush(f->s);
	if (f->s->confirmed_seq >= f->want || loop_now_ms() >= f->deadline_ms) {
		f->tick = NULL;
		loop_stop(loop);
		return;
	}
	f->tick = loop_timer_add(loop, 10, kfix_tick, f);
}

/* Runs the loop until the sink confirmed want, or for timeout_ms. */
static uint64_t kfix_run(struct kfix *f, uint64_t want, int64_t timeout_ms)
{
	f->want = want;
	f->deadline_ms = loop_now_ms() + timeout_ms;
	f->tick = loop_timer_add(f->loop, 0, kfix_tick, f);
	loop_run(f->loop);
	return f->s->confirmed_seq;
}

/* The dead-letter file's lines; the count of them, reasons checked against
 * want (every line's reason must hold it). */
static int dead_letters(const struct kfix *f, const char *want)
{
	char path[128];
	size_t len = 0;
	char *text, *line, *save = NULL;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", f->dir, DEADLETTER_FILE_NAME);
	text = testing_read_file(path, &len);
	if (!text)
		return 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *e = cJSON_Parse(line);
		const cJSON *reason = cJSON_GetObjectItemCaseSensitive(e, "reason");
		const cJSON *output = cJSON_GetObjectItemCaseSensitive(e, "output");
		const cJSON *event = cJSON_GetObjectItemCaseSensitive(e, "event");
		CHECK(cJSON_IsString(reason) && strstr(reason->valuestring, want));
		CHECK(cJSON_IsString(output) && strcmp(output->valuestring, "kafka-test") == 0);
		CHECK(cJSON_IsObject(event) && cJSON_GetObjectItemCaseSensitive(event, "seq"));
		cJSON_Delete(e);
		n++;
	}
	free(text);
	return n;
}

/* Every event confirmed, in one topic per kind; nothing held after. */
TEST(test_kafka_delivers)
{
	struct kfix f;

	if (kfix_setup(&f) && kfix_open(&f, "t.{kind}", "{\"properties\":{" QUICK "}}")) {
		static const unsigned kinds[] = {SINK_KIND_LOG, SINK_KIND_CONTAINER,
						 SINK_KIND_HTTP};
		for (uint64_t seq = 1; seq <= 300; seq++)
			kfix_write(&f, seq, kinds[seq % 3], seq % 5 ? "pod-a" : NULL, 200);
		CHECK(f.s->queued_bytes > 0);
		CHECK_INT_EQ(kfix_run(&f, 300, 20000), 300);
		CHECK_INT_EQ(f.s->stats.delivered, 300);
		CHECK_INT_EQ(f.s->stats.dead_lettered, 0);
		CHECK_INT_EQ(f.s->queued_bytes, 0);
	}
	kfix_teardown(&f);
}

/* With every broker down nothing is confirmed; once they are back every
 * event is, none dead-lettered. */
TEST(test_kafka_brokers_down_and_back)
{
	struct kfix f;

	if (kfix_setup(&f) && kfix_open(&f, "down", "{\"properties\":{" QUICK "}}")) {
		for (uint64_t seq = 1; seq <= 50; seq++)
			kfix_write(&f, seq, SINK_KIND_LOG, "pod-a", 300);
		CHECK_INT_EQ(kfix_run(&f, 50, 20000), 50);
		for (int b = 1; b <= 3; b++)
			rd_kafka_mock_broker_set_down(f.mc, b);
		for (uint64_t seq = 51; seq <= 150; seq++)
			kfix_write(&f, seq, SINK_KIND_LOG, seq % 2 ? "pod-a" : "pod-b", 300);
		CHECK_INT_EQ(kfix_run(&f, 150, 1500), 50);
		CHECK(f.s->queued_bytes >= 100 * 300);
		for (int b = 1; b <= 3; b++)
			rd_kafka_mock_broker_set_up(f.mc, b);
		CHECK_INT_EQ(kfix_run(&f, 150, 30000), 150);
		CHECK_INT_EQ(f.s->stats.dead_lettered, 0);
		CHECK_INT_EQ(f.s->queued_bytes, 0);
	}
	kfix_teardown(&f);
}

/* An event over message.max.bytes is dead-lettered with the reason and
 * counts as done; the events around it are delivered. */
TEST(test_kafka_too_large_is_dead_lettered)
{
	struct kfix f;

	if (kfix_setup(&f) &&
	    kfix_open(&f, "big", "{\"properties\":{\"message.max.bytes\":2000," QUICK "}}")) {
		kfix_write(&f, 1, SINK_KIND_LOG, "pod-a", 100);
		kfix_write(&f, 2, SINK_KIND_LOG, "pod-a", 5000);
		kfix_write(&f, 3, SINK_KIND_LOG, "pod-a", 100);
		CHECK_INT_EQ(kfix_run(&f, 3, 20000), 3);
		CHECK_INT_EQ(f.s->stats.delivered, 2);
		CHECK_INT_EQ(f.s->stats.dead_lettered, 1);
		deadletter_sync(f.dl);
		CHECK_INT_EQ(dead_letters(&f, "too large"), 1);
	}
	kfix_teardown(&f);
}

/* A topic that does not exist (the mock's brokers say so, as brokers that
 * do not create topics do): its events are dead-lettered with the reason;
 * confirmation still moves on. */
TEST(test_kafka_unknown_topic_is_dead_lettered)
{
	struct kfix f;

	if (kfix_setup(&f))
		rd_kafka_mock_topic_set_error(f.mc, "missing.log",
					      RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
	if (f.mc && kfix_open(&f, "missing.{kind}",
			      "{\"properties\":{\"allow.auto.create.topics\":false," QUICK "}}")) {
		for (uint64_t seq = 1; seq <= 5; seq++)
			kfix_write(&f, seq, SINK_KIND_LOG, "pod-a", 100);
		CHECK_INT_EQ(kfix_run(&f, 5, 20000), 5);
		CHECK_INT_EQ(f.s->stats.delivered, 0);
		CHECK_INT_EQ(f.s->stats.dead_lettered, 5);
		deadletter_sync(f.dl);
		CHECK_INT_EQ(dead_letters(&f, "missing.log"), 5);
	}
	kfix_teardown(&f);
}

/* The brokers refuse produce requests with errors the idempotent producer
 * cannot get past by itself (out-of-order sequence: fatal): a new producer
 * sends every event not confirmed; none is lost or dead-lettered. */
TEST(test_kafka_producer_failure_resends)
{
	struct kfix f;

	if (kfix_setup(&f) && kfix_open(&f, "fatal", "{\"properties\":{" QUICK "}}")) {
		for (uint64_t seq = 1; seq <= 10; seq++)
			kfix_write(&f, seq, SINK_KIND_LOG, "pod-a", 200);
		CHECK_INT_EQ(kfix_run(&f, 10, 20000), 10);
		rd_kafka_mock_push_request_errors(f.mc, KAFKA_API_PRODUCE, 3,
						  RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
						  RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
						  RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
		for (uint64_t seq = 11; seq <= 40; seq++)
			kfix_write(&f, seq, SINK_KIND_LOG, "pod-a", 200);
		CHECK_INT_EQ(kfix_run(&f, 40, 30000), 40);
		CHECK_INT_EQ(f.s->stats.dead_lettered, 0);
		CHECK(f.s->stats.delivered >= 40);
		fprintf(stderr, "  delivered %llu, retries %llu\n",
			(unsigned long long)f.s->stats.delivered,
			(unsigned long long)f.s->stats.retries);
	}
	kfix_teardown(&f);
}

int main(void)
{
	RUN(test_kafka_delivers);
	RUN(test_kafka_brokers_down_and_back);
	RUN(test_kafka_too_large_is_dead_lettered);
	RUN(test_kafka_unknown_topic_is_dead_lettered);
	RUN(test_kafka_producer_failure_resends);
	return testing_done();
}
