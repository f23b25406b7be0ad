/* test_pods.c: unit tests for the pods cache (pods.c) on small PodLists of our
 * own in tests/data/kubelet/, on broken and hostile documents, and, when the
 * shared fixtures are present, on real kubelet /pods dumps.
 *
 * Run from the repository root (the data files are found by relative path).
 */
#include "pods.h"
#include "testing.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>

#define DATA_DIR "tests/data/kubelet/"

/* UIDs of tests/data/kubelet/podlist_mixed.json */
#define UID_JOB	     "0a6f4e1c-2b3d-4e5f-8a9b-0c1d2e3f4a01"
#define UID_DEPLOY   "0a6f4e1c-2b3d-4e5f-8a9b-0c1d2e3f4a02"
#define UID_INIT     "0a6f4e1c-2b3d-4e5f-8a9b-0c1d2e3f4a03"
#define UID_NOSTATUS "0a6f4e1c-2b3d-4e5f-8a9b-0c1d2e3f4a04"
#define UID_LABELJOB "0a6f4e1c-2b3d-4e5f-8a9b-0c1d2e3f4a05"

/* A growing string for documents made in the tests. */
struct text {
	char *buf;
	size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 4096;
		char *nb;

		while (t->len + (size_t)n + 1 > cap)
			cap *= 2;
		nb = realloc(t->buf, cap);
		if (!nb)
			abort();
		t->buf = nb;
		t->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

static const char *kv_get(const struct pod_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	}
	return NULL;
}

static const char *label(const struct pod *pod, const char *key)
{
	return kv_get(pod->labels, pod->n_labels, key);
}

static const char *annotation(const struct pod *pod, const char *key)
{
	return kv_get(pod->annotations, pod->n_annotations, key);
}

/* Runs pods_update on a string; the cache must take it. */
static int update_str(struct pods *pods, const char *json, int64_t now_ms, size_t *skipped)
{
	const char *err = NULL;
	int rc = pods_update(pods, json, strlen(json), now_ms, skipped, &err);

	if (rc < 0)
		fprintf(stderr, "  pods_update: %d (%s)\n", rc, err ? err : "?");
	return rc;
}

/* Loads one file into pods; returns what pods_update returned, or -ENOENT. */
static int update_file(struct pods *pods, const char *path, int64_t now_ms, size_t *skipped)
{
	size_t len = 0;
	char *json = testing_read_file(path, &len);
	const char *err = NULL;
	int rc;

	if (!json) {
		fprintf(stderr, "  cannot read %s\n", path);
		return -ENOENT;
	}
	rc = pods_update(pods, json, len, now_ms, skipped, &err);
	if (rc < 0)
		fprintf(stderr, "  %s: %d (%s)\n", path, rc, err ? err : "?");
	free(json);
	return rc;
}

static struct pods *load_mixed(void)
{
	struct pods *pods = pods_new(60000);
	size_t skipped = 0;

	CHECK(pods != NULL);
	if (!pods)
		return NULL;
	CHECK_INT_EQ(update_file(pods, DATA_DIR "podlist_mixed.json", 1000, &skipped), 5);
	CHECK_INT_EQ(skipped, 4);
	CHECK_INT_EQ(pods_count(pods), 5);
	return pods;
}

TEST(test_mixed_job_pod)
{
	struct pods *pods = load_mixed();
	const struct pod *pod = pods_lookup(pods, UID_JOB);
	const struct pod_container *c;

	CHECK(pod != NULL);
	if (!pod)
		goto out;
	CHECK_STR_EQ(pod->uid, UID_JOB);
	CHECK_STR_EQ(pod->name, "report-29123456-x7k2p");
	CHECK_STR_EQ(pod->namespace_name, "batch");
	CHECK_STR_EQ(pod->node_name, "node-a");
	CHECK_STR_EQ(pod->qos_class, "BestEffort");
	/* the controller reference wins over the ReplicaSet listed before it */
	CHECK_STR_EQ(pod->job_name, "report-29123456");
	CHECK_STR_EQ(pod->cronjob_name, "report");
	CHECK(pod->replicaset_name == NULL);
	CHECK(pod->deployment_name == NULL);
	CHECK(pod->statefulset_name == NULL);
	CHECK(pod->daemonset_name == NULL);
	CHECK_INT_EQ(pod->n_labels, 4);
	CHECK_STR_EQ(label(pod, "batch.kubernetes.io/job-name"), "report-29123456");
	CHECK_INT_EQ(pod->n_annotations, 2);
	CHECK_STR_EQ(annotation(pod, "kubernetes.io/config.source"), "api");
	CHECK_INT_EQ(pod->last_seen_ms, 1000);
	CHECK_INT_EQ(pod->n_containers, 1);
	c = pod_container_by_name(pod, "report");
	CHECK(c != NULL);
	if (c) {
		CHECK_STR_EQ(c->runtime, "containerd");
		CHECK_STR_EQ(c->id,
			     "2222222222222222222222222222222222222222222222222222222222222222");
		CHECK_STR_EQ(c->last_id,
			     "1111111111111111111111111111111111111111111111111111111111111111");
		CHECK_STR_EQ(c->image, "registry.example.com/report:1.4");
		CHECK_INT_EQ(c->restart_count, 1);
		CHECK(!c->init);
	}
	CHECK(pod_container_by_id(
		  pod, "2222222222222222222222222222222222222222222222222222222222222222") == c);
	CHECK(pod_container_by_id(
		  pod, "1111111111111111111111111111111111111111111111111111111111111111") == c);
	CHECK(pod_container_by_id(
		  pod, "containerd://"
		       "2222222222222222222222222222222222222222222222222222222222222222") == NULL);
	CHECK(pod_container_by_name(pod, "missing") == NULL);
out:
	pods_free(pods);
}

TEST(test_mixed_deployment_pod)
{
	struct pods *pods = load_mixed();
	const struct pod *pod = pods_lookup(pods, UID_DEPLOY);
	const struct pod_container *web, *sidecar;

	CHECK(pod != NULL);
	if (!pod)
		goto out;
	CHECK_STR_EQ(pod->name, "web-7d4b9c8f6d-qm2zx");
	CHECK_STR_EQ(pod->namespace_name, "shop");
	CHECK_STR_EQ(pod->replicaset_name, "web-7d4b9c8f6d");
	CHECK_STR_EQ(pod->deployment_name, "web");
	CHECK(pod->job_name == NULL);
	CHECK(pod->cronjob_name == NULL);
	CHECK_STR_EQ(pod->qos_class, "Burstable");
	CHECK_STR_EQ(label(pod, "app"), "web");
	CHECK_STR_EQ(annotation(pod, "glimpse.io/logs"), "/var/log/app/*.log");
	CHECK_STR_EQ(pod_annotation(pod, "glimpse.io/logs"), "/var/log/app/*.log");
	CHECK_INT_EQ(pod->n_containers, 2);
	web = pod_container_by_name(pod, "web");
	sidecar = pod_container_by_name(pod, "sidecar");
	CHECK(web != NULL && sidecar != NULL);
	if (!web || !sidecar)
		goto out;
	CHECK_STR_EQ(web->runtime, "cri-o");
	CHECK_STR_EQ(web->id, "3333333333333333333333333333333333333333333333333333333333333333");
	/* the status image wins over the spec's */
	CHECK_STR_EQ(web->image, "docker.io/library/nginx:1.27");
	CHECK(web->last_id == NULL);
	/* waiting: no containerID yet */
	CHECK(sidecar->id == NULL);
	CHECK(sidecar->runtime == NULL);
	CHECK_STR_EQ(sidecar->image, "busybox:1.36");
out:
	pods_free(pods);
}

TEST(test_mixed_init_and_ephemeral_containers)
{
	struct pods *pods = load_mixed();
	const struct pod *pod = pods_lookup(pods, UID_INIT);

	CHECK(pod != NULL);
	if (!pod)
		goto out;
	CHECK_STR_EQ(pod->statefulset_name, "pg");
	CHECK_STR_EQ(pod->qos_class, "Guaranteed");
	CHECK_INT_EQ(pod->n_containers, 3);
	if (pod->n_containers != 3)
		goto out;
	/* init containers, then containers, then ephemeral ones */
	CHECK_STR_EQ(pod->containers[0].name, "init-perms");
	CHECK(pod->containers[0].init);
	CHECK_STR_EQ(pod->containers[0].runtime, "docker");
	CHECK_STR_EQ(pod->containers[0].id,
		     "4444444444444444444444444444444444444444444444444444444444444444");
	CHECK_STR_EQ(pod->containers[1].name, "postgres");
	CHECK(!pod->containers[1].init);
	CHECK_STR_EQ(pod->containers[1].image, "docker.io/library/postgres:16");
	CHECK_STR_EQ(pod->containers[2].name, "debugger");
	CHECK(!pod->containers[2].init);
	CHECK_STR_EQ(pod->containers[2].id,
		     "6666666666666666666666666666666666666666666666666666666666666666");
	CHECK(pod_container_by_id(
		  pod, "5555555555555555555555555555555555555555555555555555555555555555") ==
	      &pod->containers[1]);
out:
	pods_free(pods);
}

TEST(test_mixed_pod_without_status)
{
	struct pods *pods = load_mixed();
	const struct pod *pod = pods_lookup(pods, UID_NOSTATUS);
	const struct pod_container *c;

	CHECK(pod != NULL);
	if (!pod)
		goto out;
	CHECK_STR_EQ(pod->daemonset_name, "node-exporter");
	CHECK_STR_EQ(pod->namespace_name, "monitoring");
	CHECK(pod->qos_class == NULL);
	CHECK_INT_EQ(pod->n_annotations, 0);
	c = pod_container_by_name(pod, "exporter");
	CHECK(c != NULL);
	if (c) {
		CHECK(c->id == NULL);
		CHECK(c->runtime == NULL);
		CHECK_STR_EQ(c->image, "quay.io/prometheus/node-exporter:v1.8.0");
		CHECK_INT_EQ(c->restart_count, 0);
	}
out:
	pods_free(pods);
}

TEST(test_mixed_job_from_label)
{
	struct pods *pods = load_mixed();
	const struct pod *pod = pods_lookup(pods, UID_LABELJOB);

	CHECK(pod != NULL);
	if (!pod)
		goto out;
	CHECK_STR_EQ(pod->job_name, "x-manual-001");
	/* "-001" is no scheduled time in minutes: not a CronJob's Job */
	CHECK(pod->cronjob_name == NULL);
	CHECK(pod->replicaset_name == NULL);
	CHECK(pod->node_name == NULL);
	CHECK(pod_container_by_name(pod, "once") != NULL);
	if (pod_container_by_name(pod, "once"))
		CHECK_STR_EQ(pod_container_by_name(pod, "once")->runtime, "containerd");
out:
	pods_free(pods);
}

TEST(test_wrong_types_are_ignored)
{
	struct pods *pods = pods_new(1000);
	size_t skipped = 99;
	const struct pod *pod;
	const struct pod_container *c;

	CHECK_INT_EQ(update_file(pods, DATA_DIR "podlist_wrong_types.json", 5, &skipped), 3);
	CHECK_INT_EQ(skipped, 3);

	pod = pods_lookup(pods, "1b7f5d2c-3c4e-4f60-9bac-1d2e3f4a5b01");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_INT_EQ(pod->n_labels, 0);
		CHECK_INT_EQ(pod->n_annotations, 0);
		CHECK(pod->job_name == NULL);
		CHECK(pod->node_name == NULL);
		CHECK(pod->qos_class == NULL);
		CHECK_INT_EQ(pod->n_containers, 2);
		c = pod_container_by_name(pod, "spec-only");
		CHECK(c != NULL && c->init && c->image == NULL);
		c = pod_container_by_name(pod, "c1");
		CHECK(c != NULL);
		if (c) {
			CHECK(!c->init);
			CHECK(c->id == NULL && c->runtime == NULL && c->image == NULL);
			CHECK(c->last_id == NULL);
			CHECK_INT_EQ(c->restart_count, 0);
		}
	}

	pod = pods_lookup(pods, "1b7f5d2c-3c4e-4f60-9bac-1d2e3f4a5b02");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_INT_EQ(pod->n_labels, 2);
		CHECK_STR_EQ(label(pod, "good"), "yes");
		CHECK_STR_EQ(label(pod, "empty"), "");
		CHECK_INT_EQ(pod->n_annotations, 1);
		CHECK_STR_EQ(annotation(pod, "kept"), "v");
		/* the "controller" Job has no string name, and "true" is not true */
		CHECK(pod->job_name == NULL);
		CHECK_STR_EQ(pod->daemonset_name, "ds");
		CHECK(pod->qos_class == NULL);
		CHECK_INT_EQ(pod->n_containers, 3);
		c = pod_container_by_name(pod, "neg");
		CHECK(c != NULL && c->restart_count == 0 && c->id == NULL && c->runtime == NULL);
		c = pod_container_by_name(pod, "huge");
		CHECK(c != NULL && c->restart_count == 0 && c->runtime == NULL);
		if (c)
			CHECK_STR_EQ(c->id, "plain-id-without-runtime");
		c = pod_container_by_name(pod, "frac");
		CHECK(c != NULL && c->restart_count == 0 && c->last_id == NULL);
	}

	pod = pods_lookup(pods, "1b7f5d2c-3c4e-4f60-9bac-1d2e3f4a5b05");
	CHECK(pod != NULL && pod->n_containers == 0);
	CHECK(pods_lookup(pods, "1b7f5d2c-3c4e-4f60-9bac-1d2e3f4a5b04") == NULL);
	pods_free(pods);
}

/* Each bad document: -EINVAL, its reason, and the cache as it was. */
static void check_rejected(struct pods *pods, const char *json, size_t len, const char *reason)
{
	const struct pod *before = pods_lookup(pods, UID_JOB);
	const char *err = NULL;
	size_t skipped = 7;

	CHECK_INT_EQ(pods_update(pods, json, len, 99999, &skipped, &err), -EINVAL);
	CHECK_STR_EQ(err, reason);
	CHECK_INT_EQ(skipped, 0);
	CHECK_INT_EQ(pods_count(pods), 5);
	CHECK(pods_lookup(pods, UID_JOB) == before);
	CHECK(before != NULL && before->last_seen_ms == 1000);
}

TEST(test_bad_documents_leave_cache_unchanged)
{
	static const struct {
		const char *json;
		const char *reason;
	} cases[] = {
	    {"Unauthorized\n", "not JSON"},
	    {"<html><body>502</body></html>", "not JSON"},
	    {"{\"items\": [1, 2,]}", "not JSON"},
	    {"{\"kind\":\"PodList\",\"items\":[{\"metadata\":{\"uid\":\"u\"", "truncated JSON"},
	    {"{\"kind\":\"Pod\"}", "not a PodList: kind is Pod"},
	    {"{\"kind\":\"Status\",\"status\":\"Failure\",\"code\":403}",
	     "not a PodList: kind is Status"},
	    {"{\"kind\":\"Deployment\"}", "not a PodList: kind is not PodList"},
	    {"{\"kind\":7,\"items\":{}}", "not a PodList: kind is not a string"},
	    {"{\"kind\":\"PodList\",\"items\":{}}", "not a PodList: items is not an array"},
	    {"{\"kind\":\"PodList\",\"items\":null}", "not a PodList: items is not an array"},
	    {"{\"kind\":\"PodList\"}", "not a PodList: no items array"},
	    {"{}", "not a PodList: no items array"},
	    {"[]", "not a PodList: not a JSON object"},
	    {"null", "not a PodList: not a JSON object"},
	    {"\"items\"", "not a PodList: not a JSON object"},
	    {"{\"items\":[]} {\"items\":[]}", "not JSON: data after the document"},
	};
	struct pods *pods = load_mixed();
	size_t len = 0;
	char *whole = testing_read_file(DATA_DIR "podlist_mixed.json", &len);
	char *cut;
	struct text deep = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_rejected(pods, cases[i].json, strlen(cases[i].json), cases[i].reason);
	check_rejected(pods, "", 0, "empty document");
	check_rejected(pods, NULL, 10, "empty document");

	/* a real document cut in the middle, in a buffer of exactly its length */
	CHECK(whole != NULL);
	if (whole) {
		cut = malloc(len / 2);
		CHECK(cut != NULL);
		if (cut) {
			memcpy(cut, whole, len / 2);
			check_rejected(pods, cut, len / 2, "truncated JSON");
			free(cut);
		}
		free(whole);
	}

	/* nesting deeper than the parser goes: refused, not a stack overflow */
	for (int i = 0; i < 5000; i++)
		text_add(&deep, "[");
	for (int i = 0; i < 5000; i++)
		text_add(&deep, "]");
	check_rejected(pods, deep.buf, deep.len, "not JSON");
	free(deep.buf);
	pods_free(pods);
}

TEST(test_huge_document_refused)
{
	struct pods *pods = load_mixed();
	size_t len = (64u << 20) + 1;
	char *big = malloc(len);

	CHECK(big != NULL);
	if (big) {
		memset(big, ' ', len);
		big[0] = '{';
		check_rejected(pods, big, len, "document larger than 64 MiB");
		free(big);
	}
	pods_free(pods);
}

TEST(test_caps_drop_and_count)
{
	struct pods *pods = pods_new(1000);
	struct text doc = {0};
	size_t skipped = 0;
	const struct pod *pod;
	const char *v;

	text_add(&doc, "{\"kind\":\"PodList\",\"items\":[");
	/* 10000 labels */
	text_add(&doc, "{\"metadata\":{\"uid\":\"cap-labels\",\"name\":\"a\",\"namespace\":\"n\","
		       "\"labels\":{");
	for (int i = 0; i < 10000; i++)
		text_add(&doc, "%s\"key-%d\":\"value-%d\"", i ? "," : "", i, i);
	text_add(&doc, "}}},");
	/* 10000 annotations, one value too long, one cut inside a 2-byte character */
	text_add(&doc, "{\"metadata\":{\"uid\":\"cap-annotations\",\"name\":\"b\","
		       "\"namespace\":\"n\",\"annotations\":{\"long\":\"");
	for (int i = 0; i < 5000; i++)
		text_add(&doc, "a");
	text_add(&doc, "\",\"utf8\":\"");
	for (int i = 0; i < 4095; i++)
		text_add(&doc, "b");
	text_add(&doc, "\xc3\xa9\"");
	for (int i = 2; i < 10000; i++)
		text_add(&doc, ",\"k%d\":\"v\"", i);
	text_add(&doc, "}}},");
	/* 1000 containers */
	text_add(&doc,
		 "{\"metadata\":{\"uid\":\"cap-containers\",\"name\":\"c\",\"namespace\":\"n\"},"
		 "\"spec\":{\"containers\":[");
	for (int i = 0; i < 1000; i++)
		text_add(&doc, "%s{\"name\":\"c%d\",\"image\":\"i\"}", i ? "," : "", i);
	text_add(&doc, "]}},");
	/* a pod name longer than any valid one: the item is skipped */
	text_add(&doc, "{\"metadata\":{\"uid\":\"cap-name\",\"namespace\":\"n\",\"name\":\"");
	for (int i = 0; i < 254; i++)
		text_add(&doc, "x");
	text_add(&doc, "\"}}]}");

	CHECK_INT_EQ(pods_update(pods, doc.buf, doc.len, 1, &skipped, NULL), 3);
	/* 9744 labels + 9744 annotations + 2 cut values + 744 containers + 1 item */
	CHECK_INT_EQ(skipped, 9744 + 9744 + 2 + 744 + 1);

	pod = pods_lookup(pods, "cap-labels");
	CHECK(pod != NULL && pod->n_labels == 256);
	if (pod) {
		CHECK_STR_EQ(label(pod, "key-0"), "value-0");
		CHECK_STR_EQ(label(pod, "key-255"), "value-255");
		CHECK(label(pod, "key-256") == NULL);
	}
	pod = pods_lookup(pods, "cap-annotations");
	CHECK(pod != NULL && pod->n_annotations == 256);
	if (pod) {
		v = annotation(pod, "long");
		CHECK(v != NULL && strlen(v) == 4096 && v[4095] == 'a');
		v = annotation(pod, "utf8");
		/* cut before the character that would straddle the cap */
		CHECK(v != NULL && strlen(v) == 4095 && v[4094] == 'b');
	}
	pod = pods_lookup(pods, "cap-containers");
	CHECK(pod != NULL && pod->n_containers == 256);
	if (pod) {
		CHECK(pod_container_by_name(pod, "c255") != NULL);
		CHECK(pod_container_by_name(pod, "c256") == NULL);
	}
	CHECK(pods_lookup(pods, "cap-name") == NULL);
	free(doc.buf);
	pods_free(pods);
}

TEST(test_items_cap)
{
	struct pods *pods = pods_new(1000);
	struct text doc = {0};
	size_t skipped = 0;

	text_add(&doc, "{\"kind\":\"PodList\",\"items\":[");
	for (int i = 0; i < 5000; i++)
		text_add(&doc,
			 "%s{\"metadata\":{\"uid\":\"u%d\",\"name\":\"p%d\",\"namespace\":\"n\"}}",
			 i ? "," : "", i, i);
	text_add(&doc, "]}");
	CHECK_INT_EQ(pods_update(pods, doc.buf, doc.len, 1, &skipped, NULL), 4096);
	CHECK_INT_EQ(skipped, 5000 - 4096);
	CHECK_INT_EQ(pods_count(pods), 4096);
	CHECK(pods_lookup(pods, "u4095") != NULL);
	CHECK(pods_lookup(pods, "u4096") == NULL);
	free(doc.buf);
	pods_free(pods);
}

#define POD_JSON(uid, name, cid, restarts, version)                                                \
	"{\"metadata\":{\"uid\":\"" uid "\",\"name\":\"" name "\",\"namespace\":\"ns\","           \
	"\"labels\":{\"version\":\"" version "\"}},"                                               \
	"\"spec\":{\"containers\":[{\"name\":\"main\",\"image\":\"img:" version "\"}]},"           \
	"\"status\":{\"containerStatuses\":[{\"name\":\"main\",\"containerID\":\"containerd:/"     \
	"/" cid "\",\"restartCount\":" restarts "}]}}"

TEST(test_retention_and_expiry)
{
	struct pods *pods = pods_new(1000);
	const struct pod *a, *b;

	CHECK_INT_EQ(update_str(pods,
				"{\"kind\":\"PodList\",\"items\":[" POD_JSON(
				    "uid-a", "a", "aa", "0", "1") "," POD_JSON("uid-b", "b", "bb",
									       "0", "1") "]}",
				0, NULL),
		     2);
	/* a is gone from the next list; b stays */
	CHECK_INT_EQ(update_str(pods,
				"{\"kind\":\"PodList\",\"items\":[" POD_JSON("uid-b", "b", "bb",
									     "0", "1") "]}",
				500, NULL),
		     1);
	CHECK_INT_EQ(pods_count(pods), 2);
	a = pods_lookup(pods, "uid-a");
	b = pods_lookup(pods, "uid-b");
	CHECK(a != NULL && a->last_seen_ms == 0);
	CHECK(b != NULL && b->last_seen_ms == 500);
	/* an empty list keeps everything as it was */
	CHECK_INT_EQ(update_str(pods, "{\"kind\":\"PodList\",\"items\":[]}", 600, NULL), 0);
	CHECK_INT_EQ(pods_count(pods), 2);
	CHECK(pods_lookup(pods, "uid-a") == a);

	CHECK_INT_EQ(pods_expire(pods, 1000), 0); /* 0 + 1000 is not before 1000 */
	CHECK_INT_EQ(pods_expire(pods, 1001), 1);
	CHECK(pods_lookup(pods, "uid-a") == NULL);
	CHECK(pods_lookup(pods, "uid-b") == b);
	CHECK_INT_EQ(pods_expire(pods, 1500), 0);
	CHECK_INT_EQ(pods_expire(pods, 1501), 1);
	CHECK_INT_EQ(pods_count(pods), 0);
	pods_free(pods);

	/* a retention that would overflow last_seen + retention */
	pods = pods_new(INT64_MAX);
	CHECK_INT_EQ(
	    update_str(pods, "{\"items\":[" POD_JSON("uid-c", "c", "cc", "0", "1") "]}", 5, NULL),
	    1);
	CHECK_INT_EQ(pods_expire(pods, INT64_MAX), 0);
	CHECK_INT_EQ(pods_count(pods), 1);
	pods_free(pods);
}

TEST(test_replacement)
{
	struct pods *pods = pods_new(1000);
	const struct pod *pod;
	const struct pod_container *c;
	size_t skipped = 9;

	CHECK_INT_EQ(
	    update_str(pods,
		       "{\"items\":[" POD_JSON("uid-r", "r", "old0", "0",
					       "1") "," POD_JSON("uid-s", "s", "ss", "0", "1") "]}",
		       10, NULL),
	    2);
	CHECK_INT_EQ(update_str(pods, "{\"items\":[" POD_JSON("uid-r", "r", "new1", "1", "2") "]}",
				20, &skipped),
		     1);
	CHECK_INT_EQ(skipped, 0);
	CHECK_INT_EQ(pods_count(pods), 2);
	pod = pods_lookup(pods, "uid-r");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_INT_EQ(pod->last_seen_ms, 20);
		CHECK_STR_EQ(label(pod, "version"), "2");
		c = pod_container_by_name(pod, "main");
		CHECK(c != NULL && c->restart_count == 1);
		if (c) {
			CHECK_STR_EQ(c->id, "new1");
			CHECK_STR_EQ(c->image, "img:2");
		}
		CHECK(pod_container_by_id(pod, "old0") == NULL);
	}
	pod = pods_lookup(pods, "uid-s");
	CHECK(pod != NULL && pod->last_seen_ms == 10);

	/* the same uid twice in one document: the first is taken */
	CHECK_INT_EQ(
	    update_str(pods,
		       "{\"items\":[" POD_JSON("uid-r", "first", "f", "0", "3") "," POD_JSON(
			   "uid-r", "second", "g", "0", "4") "]}",
		       30, &skipped),
	    1);
	CHECK_INT_EQ(skipped, 1);
	pod = pods_lookup(pods, "uid-r");
	CHECK(pod != NULL);
	if (pod)
		CHECK_STR_EQ(pod->name, "first");
	CHECK_INT_EQ(pods_count(pods), 2);
	pods_free(pods);
}

TEST(test_null_arguments)
{
	struct pods *pods = pods_new(-5);
	const char *err = NULL;

	CHECK(pods != NULL);
	CHECK_INT_EQ(pods_update(NULL, "{}", 2, 0, NULL, &err), -EINVAL);
	CHECK(err != NULL);
	CHECK(pods_lookup(pods, NULL) == NULL);
	CHECK(pods_lookup(NULL, "x") == NULL);
	CHECK(pod_container_by_name(NULL, "x") == NULL);
	CHECK(pod_container_by_id(NULL, "x") == NULL);
	CHECK_INT_EQ(pods_expire(NULL, 0), 0);
	CHECK_INT_EQ(pods_count(NULL), 0);
	/* a negative retention is none: a pod not in the latest list goes at the next tick */
	CHECK_INT_EQ(
	    update_str(pods, "{\"items\":[" POD_JSON("uid-z", "z", "zz", "0", "1") "]}", 100, NULL),
	    1);
	CHECK_INT_EQ(pods_expire(pods, 100), 0);
	CHECK_INT_EQ(pods_expire(pods, 101), 1);
	pods_free(pods);
	pods_free(NULL);
}

/* UIDs of tests/data/kubelet/podlist_volumes.json */
#define UID_VOLUMES "2c8e6f3d-4d5f-4a71-8cbd-2e3f4a5b6c01"
#define UID_ODDVOL  "2c8e6f3d-4d5f-4a71-8cbd-2e3f4a5b6c02"
#define UID_VOLOBJ  "2c8e6f3d-4d5f-4a71-8cbd-2e3f4a5b6c03"

/* Checks one volume mount of c, by its index. */
static void check_mount(const struct pod_container *c, size_t i, const char *name,
			const char *mount_path, const char *sub_path, bool read_only)
{
	const struct pod_volume_mount *m;

	CHECK(c != NULL && i < c->n_mounts);
	if (!c || i >= c->n_mounts)
		return;
	m = &c->mounts[i];
	CHECK_STR_EQ(m->name, name);
	CHECK_STR_EQ(m->mount_path, mount_path);
	if (sub_path)
		CHECK_STR_EQ(m->sub_path, sub_path);
	else
		CHECK(m->sub_path == NULL);
	CHECK(m->read_only == read_only);
}

TEST(test_volumes_kinds)
{
	struct pods *pods = pods_new(60000);
	size_t skipped = 99;
	const struct pod *pod;
	const struct pod_volume *v;

	CHECK_INT_EQ(update_file(pods, DATA_DIR "podlist_volumes.json", 7, &skipped), 3);
	CHECK_INT_EQ(skipped, 0);
	pod = pods_lookup(pods, UID_VOLUMES);
	CHECK(pod != NULL);
	if (!pod)
		goto out;
	CHECK_INT_EQ(pod->n_volumes, 6);
	v = pod_volume_by_name(pod, "app-logs");
	CHECK(v != NULL && v == &pod->volumes[0]);
	if (v) {
		CHECK_INT_EQ(v->kind, POD_VOLUME_EMPTY_DIR);
		CHECK_STR_EQ(v->kind_name, "emptyDir");
		CHECK_STR_EQ(v->medium, "");
		CHECK(v->host_path == NULL);
	}
	v = pod_volume_by_name(pod, "cache");
	CHECK(v != NULL);
	if (v) {
		CHECK_INT_EQ(v->kind, POD_VOLUME_EMPTY_DIR);
		CHECK_STR_EQ(v->medium, "Memory");
	}
	v = pod_volume_by_name(pod, "varlog");
	CHECK(v != NULL);
	if (v) {
		CHECK_INT_EQ(v->kind, POD_VOLUME_HOST_PATH);
		CHECK_STR_EQ(v->kind_name, "hostPath");
		CHECK_STR_EQ(v->host_path, "/var/log/shared");
		CHECK(v->medium == NULL);
	}
	v = pod_volume_by_name(pod, "config");
	CHECK(v != NULL);
	if (v) {
		CHECK_INT_EQ(v->kind, POD_VOLUME_OTHER);
		CHECK_STR_EQ(v->kind_name, "configMap");
		CHECK(v->medium == NULL && v->host_path == NULL);
	}
	v = pod_volume_by_name(pod, "data");
	CHECK(v != NULL && v->kind == POD_VOLUME_OTHER);
	if (v)
		CHECK_STR_EQ(v->kind_name, "persistentVolumeClaim");
	v = pod_volume_by_name(pod, "kube-api-access-x1y2z");
	CHECK(v != NULL && v->kind == POD_VOLUME_OTHER);
	if (v)
		CHECK_STR_EQ(v->kind_name, "projected");
	CHECK(pod_volume_by_name(pod, "missing") == NULL);
	CHECK(pod_volume_by_name(pod, NULL) == NULL);
	CHECK(pod_volume_by_name(NULL, "data") == NULL);
out:
	pods_free(pods);
}

TEST(test_volume_mounts_per_container)
{
	struct pods *pods = pods_new(60000);
	const struct pod *pod;
	const struct pod_container *c;

	CHECK_INT_EQ(update_file(pods, DATA_DIR "podlist_volumes.json", 7, NULL), 3);
	pod = pods_lookup(pods, UID_VOLUMES);
	CHECK(pod != NULL);
	if (!pod)
		goto out;
	CHECK_INT_EQ(pod->n_containers, 7);

	c = pod_container_by_name(pod, "setup");
	CHECK(c != NULL && c->init && c->n_mounts == 1);
	check_mount(c, 0, "app-logs", "/var/log/app", NULL, false);

	c = pod_container_by_name(pod, "app");
	CHECK(c != NULL && c->n_mounts == 6);
	/* the status entry matched to the spec's container keeps its mounts */
	CHECK(c != NULL && c == pod_container_by_id(pod, "99999999999999999999999999999999"
							 "99999999999999999999999999999999"));
	check_mount(c, 0, "app-logs", "/var/log/app", NULL, false);
	check_mount(c, 1, "app-logs", "/data/out", "out/app", false);
	check_mount(c, 2, "varlog", "/var/log/host", "app", true);
	check_mount(c, 3, "config", "/etc/app", NULL, true);
	check_mount(c, 4, "cache", "/cache", NULL, false);
	check_mount(c, 5, "kube-api-access-x1y2z", "/var/run/secrets/kubernetes.io/serviceaccount",
		    NULL, true);
	if (c && c->n_mounts == 6)
		CHECK(c->mounts[1].sub_path_expr == NULL);

	c = pod_container_by_name(pod, "sidecar");
	CHECK(c != NULL && c->n_mounts == 2);
	check_mount(c, 0, "app-logs", "/logs", NULL, true);
	check_mount(c, 1, "data", "/database", NULL, false);

	c = pod_container_by_name(pod, "bare");
	CHECK(c != NULL && c->n_mounts == 0 && c->mounts == NULL);

	c = pod_container_by_name(pod, "expr");
	CHECK(c != NULL && c->n_mounts == 1);
	check_mount(c, 0, "app-logs", "/var/log/app", NULL, false);
	if (c && c->n_mounts == 1)
		CHECK_STR_EQ(c->mounts[0].sub_path_expr, "$(POD_NAME)");

	c = pod_container_by_name(pod, "debug");
	CHECK(c != NULL && !c->init && c->n_mounts == 1);
	check_mount(c, 0, "app-logs", "/debug/logs", NULL, true);

	/* a container only the status names has no spec, so no mounts */
	c = pod_container_by_name(pod, "late");
	CHECK(c != NULL && c->n_mounts == 0 && c->mounts == NULL);
out:
	pods_free(pods);
}

TEST(test_volumes_wrong_types)
{
	struct pods *pods = pods_new(60000);
	const struct pod *pod;
	const struct pod_volume *v;
	const struct pod_container *c;

	CHECK_INT_EQ(update_file(pods, DATA_DIR "podlist_volumes.json", 7, NULL), 3);
	pod = pods_lookup(pods, UID_ODDVOL);
	CHECK(pod != NULL);
	if (!pod)
		goto out;
	/* entries without a string name are not volumes; the rest are kept as
	 * far as their types allow */
	CHECK_INT_EQ(pod->n_volumes, 5);
	v = pod_volume_by_name(pod, "nosrc");
	CHECK(v != NULL && v->kind == POD_VOLUME_OTHER && v->kind_name == NULL);
	v = pod_volume_by_name(pod, "hp-nopath");
	CHECK(v != NULL && v->kind == POD_VOLUME_OTHER && v->host_path == NULL);
	if (v)
		CHECK_STR_EQ(v->kind_name, "hostPath");
	v = pod_volume_by_name(pod, "hp-numpath");
	CHECK(v != NULL && v->kind == POD_VOLUME_OTHER && v->host_path == NULL);
	v = pod_volume_by_name(pod, "ed-string");
	CHECK(v != NULL && v->kind == POD_VOLUME_OTHER && v->kind_name == NULL);
	v = pod_volume_by_name(pod, "ed-medium-num");
	CHECK(v != NULL && v->kind == POD_VOLUME_EMPTY_DIR);
	if (v)
		CHECK_STR_EQ(v->medium, "");

	c = pod_container_by_name(pod, "c1");
	CHECK(c != NULL && c->n_mounts == 2);
	check_mount(c, 0, "nosrc", "/ok", NULL, false);
	check_mount(c, 1, "nosrc", "/ro", NULL, true);
	if (c && c->n_mounts == 2)
		CHECK(c->mounts[0].sub_path_expr == NULL);
	c = pod_container_by_name(pod, "c2");
	CHECK(c != NULL && c->n_mounts == 0);

	pod = pods_lookup(pods, UID_VOLOBJ);
	CHECK(pod != NULL && pod->n_volumes == 0 && pod->volumes == NULL);
	c = pod ? pod_container_by_name(pod, "c") : NULL;
	CHECK(c != NULL && c->n_mounts == 0 && c->mounts == NULL);

	/* pods without volumes */
	pods_free(pods);
	pods = load_mixed();
	pod = pods_lookup(pods, UID_DEPLOY);
	CHECK(pod != NULL && pod->n_volumes == 0 && pod->volumes == NULL);
	c = pod ? pod_container_by_name(pod, "web") : NULL;
	CHECK(c != NULL && c->n_mounts == 0);
out:
	pods_free(pods);
}

/* Appends a string of n copies of ch. */
static void text_fill(struct text *t, char ch, int n)
{
	for (int i = 0; i < n; i++)
		text_add(t, "%c", ch);
}

TEST(test_volume_caps_drop_and_count)
{
	struct pods *pods = pods_new(1000);
	struct text doc = {0};
	size_t skipped = 0;
	const struct pod *pod;
	const struct pod_container *c;
	const struct pod_volume *v;

	text_add(&doc, "{\"items\":[{\"metadata\":{\"uid\":\"cap-volumes\",\"name\":\"v\","
		       "\"namespace\":\"n\"},\"spec\":{\"volumes\":[");
	/* a name over its cap and a hostPath path over its cap: dropped whole */
	text_add(&doc, "{\"name\":\"");
	text_fill(&doc, 'n', 254);
	text_add(&doc, "\",\"emptyDir\":{}},{\"name\":\"hp-long\",\"hostPath\":{\"path\":\"/");
	text_fill(&doc, 'p', 4095);
	/* a path of exactly the cap is kept */
	text_add(&doc, "\"}},{\"name\":\"hp-max\",\"hostPath\":{\"path\":\"/");
	text_fill(&doc, 'p', 4094);
	text_add(&doc, "\"}}");
	for (int i = 0; i < 300; i++)
		text_add(&doc, ",{\"name\":\"v%d\",\"emptyDir\":{}}", i);
	text_add(&doc, "],\"containers\":[{\"name\":\"m\",\"volumeMounts\":[");
	text_add(&doc, "{\"name\":\"v0\",\"mountPath\":\"/");
	text_fill(&doc, 'm', 4095);
	text_add(&doc, "\"},{\"name\":\"v0\",\"mountPath\":\"/s\",\"subPath\":\"");
	text_fill(&doc, 's', 4096);
	text_add(&doc, "\"},{\"name\":\"v0\",\"mountPath\":\"/e\",\"subPathExpr\":\"");
	text_fill(&doc, 'e', 4096);
	text_add(&doc, "\"},{\"name\":\"v0\",\"mountPath\":\"/");
	text_fill(&doc, 'm', 4094);
	text_add(&doc, "\"}");
	for (int i = 0; i < 300; i++)
		text_add(&doc, ",{\"name\":\"v%d\",\"mountPath\":\"/m%d\"}", i, i);
	text_add(&doc, "]}]}}]}");

	CHECK_INT_EQ(pods_update(pods, doc.buf, doc.len, 1, &skipped, NULL), 1);
	/* volumes: 2 over-long + 45 over the count; mounts: 3 over-long + 45 */
	CHECK_INT_EQ(skipped, 2 + 45 + 3 + 45);
	pod = pods_lookup(pods, "cap-volumes");
	CHECK(pod != NULL && pod->n_volumes == 256);
	if (!pod)
		goto out;
	CHECK(pod_volume_by_name(pod, "hp-long") == NULL);
	v = pod_volume_by_name(pod, "hp-max");
	CHECK(v != NULL && v->kind == POD_VOLUME_HOST_PATH && v->host_path &&
	      strlen(v->host_path) == 4095);
	CHECK(pod_volume_by_name(pod, "v254") != NULL);
	CHECK(pod_volume_by_name(pod, "v255") == NULL);
	c = pod_container_by_name(pod, "m");
	CHECK(c != NULL && c->n_mounts == 256);
	if (c && c->n_mounts == 256) {
		CHECK(strlen(c->mounts[0].mount_path) == 4095);
		CHECK_STR_EQ(c->mounts[1].mount_path, "/m0");
		CHECK_STR_EQ(c->mounts[255].mount_path, "/m254");
	}
out:
	free(doc.buf);
	pods_free(pods);
}

TEST(test_pod_annotation)
{
	struct pods *pods = pods_new(60000);
	struct text doc = {0};
	const struct pod *pod;

	CHECK_INT_EQ(update_file(pods, DATA_DIR "podlist_volumes.json", 7, NULL), 3);
	pod = pods_lookup(pods, UID_VOLUMES);
	CHECK(pod != NULL);
	/* the value as the pod has it, spaces and all */
	CHECK_STR_EQ(pod_annotation(pod, "glimpse.io/logs"),
		     " /var/log/app/*.log, /data/out/*.txt ");
	CHECK_STR_EQ(pod_annotation(pod, "empty.example.com/flag"), "");
	CHECK(pod_annotation(pod, "glimpse.io/log") == NULL);
	CHECK(pod_annotation(pod, "GLIMPSE.IO/LOGS") == NULL);
	CHECK(pod_annotation(pod, NULL) == NULL);
	CHECK(pod_annotation(NULL, "glimpse.io/logs") == NULL);
	CHECK(pod_annotation(pods_lookup(pods, UID_ODDVOL), "glimpse.io/logs") == NULL);

	/* a value cut to its cap is not handed out; one at the cap is */
	text_add(&doc, "{\"items\":[{\"metadata\":{\"uid\":\"cut\",\"name\":\"c\",\"namespace\":"
		       "\"n\",\"annotations\":{\"glimpse.io/logs\":\"/");
	text_fill(&doc, 'a', 4096);
	text_add(&doc, "\",\"at-cap\":\"");
	text_fill(&doc, 'b', 4096);
	text_add(&doc, "\"}}}]}");
	CHECK_INT_EQ(pods_update(pods, doc.buf, doc.len, 8, NULL, NULL), 1);
	pod = pods_lookup(pods, "cut");
	CHECK(pod != NULL);
	CHECK(pod_annotation(pod, "glimpse.io/logs") == NULL);
	CHECK(pod && annotation(pod, "glimpse.io/logs") != NULL);
	CHECK(pod_annotation(pod, "at-cap") != NULL &&
	      strlen(pod_annotation(pod, "at-cap")) == 4096);
	free(doc.buf);
	pods_free(pods);
}

/* Checks a cached pod's volumes and its spec containers' mounts against the
 * item it came from, entry by entry. */
static void check_fixture_volumes(const struct pod *pod, const cJSON *item)
{
	const cJSON *spec = cJSON_GetObjectItemCaseSensitive(item, "spec");
	const cJSON *vols = cJSON_GetObjectItemCaseSensitive(spec, "volumes"), *vol;
	static const char *const kinds[] = {"initContainers", "containers", "ephemeralContainers"};
	size_t i = 0;

	CHECK_INT_EQ(pod->n_volumes, cJSON_GetArraySize(vols));
	cJSON_ArrayForEach(vol, vols)
	{
		const struct pod_volume *v = i < pod->n_volumes ? &pod->volumes[i++] : NULL;
		const cJSON *hp = cJSON_GetObjectItemCaseSensitive(vol, "hostPath");
		const cJSON *ed = cJSON_GetObjectItemCaseSensitive(vol, "emptyDir");

		CHECK(v != NULL);
		if (!v)
			break;
		CHECK_STR_EQ(v->name,
			     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(vol, "name")));
		CHECK(v->kind_name != NULL && cJSON_GetObjectItemCaseSensitive(vol, v->kind_name));
		if (hp) {
			CHECK_INT_EQ(v->kind, POD_VOLUME_HOST_PATH);
			CHECK_STR_EQ(
			    v->host_path,
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(hp, "path")));
		} else if (ed) {
			CHECK_INT_EQ(v->kind, POD_VOLUME_EMPTY_DIR);
			CHECK(v->medium != NULL);
		} else {
			CHECK_INT_EQ(v->kind, POD_VOLUME_OTHER);
		}
	}
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		const cJSON *ctr;

		cJSON_ArrayForEach(ctr, cJSON_GetObjectItemCaseSensitive(spec, kinds[k]))
		{
			const struct pod_container *c = pod_container_by_name(
			    pod,
			    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(ctr, "name")));
			const cJSON *mounts = cJSON_GetObjectItemCaseSensitive(ctr, "volumeMounts");
			const cJSON *mnt;
			size_t j = 0;

			CHECK(c != NULL);
			if (!c)
				continue;
			CHECK_INT_EQ(c->n_mounts, cJSON_GetArraySize(mounts));
			cJSON_ArrayForEach(mnt, mounts)
			{
				const char *sub = cJSON_GetStringValue(
				    cJSON_GetObjectItemCaseSensitive(mnt, "subPath"));

				if (j >= c->n_mounts)
					break;
				CHECK_STR_EQ(c->mounts[j].name,
					     cJSON_GetStringValue(
						 cJSON_GetObjectItemCaseSensitive(mnt, "name")));
				CHECK_STR_EQ(c->mounts[j].mount_path,
					     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
						 mnt, "mountPath")));
				CHECK(c->mounts[j].read_only ==
				      cJSON_IsTrue(
					  cJSON_GetObjectItemCaseSensitive(mnt, "readOnly")));
				if (sub && *sub)
					CHECK_STR_EQ(c->mounts[j].sub_path, sub);
				else
					CHECK(c->mounts[j].sub_path == NULL);
				j++;
			}
		}
	}
}

/* Loads a fixture into a new cache and checks that every item with a uid is
 * found under it with its name and namespace, volumes and mounts. NULL (and a
 * skip) when the fixture is not here. */
static struct pods *load_fixture(const char *file, int expect_pods, char *why, size_t why_len)
{
	const char *dir = testing_fixtures_dir();
	char path[4096];
	size_t len = 0, skipped = 99;
	char *json;
	struct pods *pods;
	cJSON *doc, *item;
	int found = 0;

	if (!dir) {
		snprintf(why, why_len,
			 "no fixtures folder ($GLIMPSE_FIXTURES or ../shared/fixtures)");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/kubelet/%s", dir, file);
	json = testing_read_file(path, &len);
	if (!json) {
		snprintf(why, why_len, "cannot read %s", path);
		return NULL;
	}
	pods = pods_new(60000);
	CHECK_INT_EQ(pods_update(pods, json, len, 42, &skipped, NULL), expect_pods);
	CHECK_INT_EQ(skipped, 0);
	CHECK_INT_EQ(pods_count(pods), expect_pods);

	doc = cJSON_ParseWithLength(json, len);
	CHECK(doc != NULL);
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(doc, "items"))
	{
		const cJSON *meta = cJSON_GetObjectItemCaseSensitive(item, "metadata");
		const char *uid =
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "uid"));
		const struct pod *pod = pods_lookup(pods, uid);

		CHECK(pod != NULL);
		if (!pod)
			continue;
		found++;
		CHECK_STR_EQ(pod->name,
			     cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "name")));
		CHECK_STR_EQ(
		    pod->namespace_name,
		    cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, "namespace")));
		check_fixture_volumes(pod, item);
	}
	CHECK_INT_EQ(found, expect_pods);
	cJSON_Delete(doc);
	free(json);
	return pods;
}

TEST(test_fixture_kubelet_1_35)
{
	char why[4200];
	struct pods *pods =
	    load_fixture("nri-kubernetes_1_35_kubelet_pods.json", 24, why, sizeof(why));
	const struct pod *pod;
	const struct pod_container *c;
	const struct pod_volume *v;

	if (!pods)
		SKIP("%s", why);
	/* a CronJob's Job pod */
	pod = pods_lookup(pods, "8c27e2aa-e3ee-406d-b45e-432476d5dc13");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->namespace_name, "scraper");
		CHECK_STR_EQ(pod->name, "e2e-cronjob-29707813-dhlr2");
		CHECK_STR_EQ(pod->node_name, "datagen-1-35");
		CHECK_STR_EQ(pod->qos_class, "Burstable");
		CHECK_STR_EQ(pod->job_name, "e2e-cronjob-29707813");
		CHECK_STR_EQ(pod->cronjob_name, "e2e-cronjob");
		CHECK_STR_EQ(label(pod, "app"), "cronjob");
		CHECK_STR_EQ(label(pod, "batch.kubernetes.io/job-name"), "e2e-cronjob-29707813");
		c = pod_container_by_name(pod, "compute-pi-digits");
		CHECK(c != NULL);
		if (c) {
			CHECK_STR_EQ(c->runtime, "containerd");
			CHECK_STR_EQ(
			    c->id,
			    "1049c9e937cb297fed12045bff1cf9495bd4c2b1df2c3f0cdbf448e7cf752c99");
			CHECK_STR_EQ(c->image, "docker.io/library/perl:5.34.0");
		}
	}
	/* a plain Job pod: no CronJob */
	pod = pods_lookup(pods, "0961a396-5fff-45fe-a970-19b2aac96e5d");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->name, "e2e-failjob-64h4g");
		CHECK_STR_EQ(pod->job_name, "e2e-failjob");
		CHECK(pod->cronjob_name == NULL);
		CHECK_STR_EQ(pod->qos_class, "BestEffort");
	}
	/* a Deployment's pod */
	pod = pods_lookup(pods, "da59f36e-a7a8-46ed-8d9d-36392eb967d4");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->name, "e2e-deployment-79967c5968-8bnn8");
		CHECK_STR_EQ(pod->replicaset_name, "e2e-deployment-79967c5968");
		CHECK_STR_EQ(pod->deployment_name, "e2e-deployment");
		CHECK_STR_EQ(label(pod, "pod-template-hash"), "79967c5968");
	}
	/* a restarted container: found by its current and its last id */
	pod = pods_lookup(pods, "567cc614-001a-402b-99fd-3d1f8db83f30");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->name, "e2e-container-creating");
		CHECK_STR_EQ(pod->qos_class, "Guaranteed");
		CHECK(pod->job_name == NULL && pod->replicaset_name == NULL);
		CHECK_STR_EQ(annotation(pod, "meta.helm.sh/release-name"), "e2e");
		c = pod_container_by_name(pod, "alpine");
		CHECK(c != NULL);
		if (c) {
			CHECK_INT_EQ(c->restart_count, 2);
			CHECK_STR_EQ(c->last_id,
				     "68acd6c031804d3992302cb76c9feec17b419b2616f770501f"
				     "ca8fc92a3fff10");
		}
		CHECK(pod_container_by_id(pod, "4295ac6e1b848c84dc1db036a94ea8c97389b10975fc3f6a06"
					       "3839520434b538") == c);
		CHECK(pod_container_by_id(pod, "68acd6c031804d3992302cb76c9feec17b419b2616f770501f"
					       "ca8fc92a3fff10") == c);
	}
	pod = pods_lookup(pods, "b5812e37-ce78-41e2-9d8d-d93a88e481d6");
	CHECK(pod != NULL && pod->statefulset_name &&
	      strcmp(pod->statefulset_name, "e2e-statefulset") == 0);
	pod = pods_lookup(pods, "ebb73de1-03ec-4c34-bda3-bb8a44f01c2b");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->daemonset_name, "kindnet");
		CHECK_STR_EQ(pod->qos_class, "Guaranteed");
	}
	/* the status image (a digest here) wins over the spec's */
	pod = pods_lookup(pods, "5e5613d6-fccb-40d6-967b-447697d4d871");
	CHECK(pod != NULL);
	if (pod) {
		c = pod_container_by_name(pod, "metrics-server");
		CHECK(c != NULL);
		if (c)
			CHECK_STR_EQ(c->image,
				     "sha256:b39bceeb0c5918ba1b41c8c9eaf39801280f82909548a1"
				     "e2cae089f8af6094e7");
		/* an emptyDir on the node's disk mounted at /tmp */
		v = pod_volume_by_name(pod, "tmp-dir");
		CHECK(v != NULL && v->kind == POD_VOLUME_EMPTY_DIR);
		if (v)
			CHECK_STR_EQ(v->medium, "");
		CHECK(c != NULL && c->n_mounts == 2);
		if (c && c->n_mounts == 2) {
			CHECK_STR_EQ(c->mounts[0].name, "tmp-dir");
			CHECK_STR_EQ(c->mounts[0].mount_path, "/tmp");
			CHECK(!c->mounts[0].read_only && c->mounts[1].read_only);
		}
	}
	pod = pods_lookup(pods, "081d040e-c94b-41ea-8278-eb12903ddd99");
	v = pod_volume_by_name(pod, "tmp");
	CHECK(v != NULL && v->kind == POD_VOLUME_HOST_PATH);
	if (v)
		CHECK_STR_EQ(v->host_path, "/tmp");
	pod = pods_lookup(pods, "36447428-81f8-45eb-b825-414de2e8012b");
	v = pod_volume_by_name(pod, "config-volume");
	CHECK(v != NULL && v->kind == POD_VOLUME_OTHER);
	if (v)
		CHECK_STR_EQ(v->kind_name, "configMap");
	pod = pods_lookup(pods, "b5812e37-ce78-41e2-9d8d-d93a88e481d6");
	v = pod_volume_by_name(pod, "storage");
	CHECK(v != NULL && v->kind == POD_VOLUME_OTHER);
	if (v)
		CHECK_STR_EQ(v->kind_name, "persistentVolumeClaim");
	/* a static pod, with its 32-hex config-hash uid */
	pod = pods_lookup(pods, "07bd11a0a13dfe5450a17a39eb8e32d2");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->name, "kube-scheduler-datagen-1-35");
		CHECK_STR_EQ(pod->namespace_name, "kube-system");
	}
	pods_free(pods);
}

TEST(test_fixture_kubelet_1_31)
{
	char why[4200];
	struct pods *pods =
	    load_fixture("nri-kubernetes_1_31_kubelet_pods.json", 23, why, sizeof(why));
	const struct pod *pod;
	const struct pod_container *c;

	if (!pods)
		SKIP("%s", why);
	pod = pods_lookup(pods, "450feed9-6b11-4769-a043-793df806c03c");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->name, "e2e-cronjob-29371395-rwx6j");
		CHECK_STR_EQ(pod->job_name, "e2e-cronjob-29371395");
		CHECK_STR_EQ(pod->cronjob_name, "e2e-cronjob");
	}
	pod = pods_lookup(pods, "65c8810c-0f13-4424-8043-f499bf51570b");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->name, "storage-provisioner");
		CHECK_STR_EQ(pod->namespace_name, "kube-system");
		CHECK_STR_EQ(pod->qos_class, "BestEffort");
		c = pod_container_by_name(pod, "storage-provisioner");
		CHECK(c != NULL);
		if (c) {
			CHECK_INT_EQ(c->restart_count, 1);
			CHECK_STR_EQ(
			    c->id,
			    "29b949f1ef370653aa2aa2b9d3c7ed6987016352a5ce91eafacb96bf8f630a60");
			CHECK_STR_EQ(c->last_id,
				     "cb48286eefb5e42ac22abd6b290464d33f3d5891b75ccc3ca2"
				     "d1d57c1ce3b80a");
		}
	}
	pod = pods_lookup(pods, "5f2a68ea-06a1-44f7-b72e-a2a458ed5ea6");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->replicaset_name, "e2e-deployment-7788bdb6df");
		CHECK_STR_EQ(pod->deployment_name, "e2e-deployment");
	}
	/* status "docker.io/library/perl:5.34.0" over spec "perl:5.34.0" */
	pod = pods_lookup(pods, "609e38a6-792f-4cdd-917d-9445c25a75a9");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->statefulset_name, "e2e-statefulset");
		c = pod_container_by_name(pod, "compute-pi-digits");
		CHECK(c != NULL);
		if (c)
			CHECK_STR_EQ(c->image, "docker.io/library/perl:5.34.0");
	}
	pods_free(pods);
}

TEST(test_fixture_kubelet_payload)
{
	char why[4200];
	struct pods *pods =
	    load_fixture("nri-kubernetes_kubelet_pods_payload.json", 4, why, sizeof(why));
	const struct pod *pod;
	const struct pod_container *c;

	if (!pods)
		SKIP("%s", why);
	pod = pods_lookup(pods, "d2026c86-11a3-11e8-a084-080027352a02");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->name, "newrelic-infra-rz225");
		CHECK_STR_EQ(pod->daemonset_name, "newrelic-infra");
		CHECK_STR_EQ(pod->node_name, "minikube");
		CHECK_STR_EQ(pod->qos_class, "Burstable");
		CHECK_STR_EQ(label(pod, "name"), "newrelic-infra");
		c = pod_container_by_name(pod, "newrelic-infra");
		CHECK(c != NULL);
		if (c) {
			CHECK_STR_EQ(c->runtime, "docker");
			CHECK_STR_EQ(
			    c->id,
			    "69d7203a8f2d2d027ffa51d61002eac63357f22a17403363ef79e66d1c3146b2");
			CHECK_STR_EQ(c->last_id,
				     "8bec4b5486eebab95f35471e56676f7170c3dfd04c1c8fa404"
				     "6f391f9d286b8d");
			CHECK_INT_EQ(c->restart_count, 6);
			CHECK_STR_EQ(c->image, "newrelic/ohaik:1.0.0-beta3");
			/* the host's root, mounted read-only at /host */
			CHECK(c->n_mounts == 3);
			if (c->n_mounts == 3) {
				CHECK_STR_EQ(c->mounts[0].name, "host-volume");
				CHECK_STR_EQ(c->mounts[0].mount_path, "/host");
				CHECK(c->mounts[0].read_only);
			}
		}
		CHECK(pod_volume_by_name(pod, "host-volume") != NULL &&
		      pod_volume_by_name(pod, "host-volume")->kind == POD_VOLUME_HOST_PATH);
		if (pod_volume_by_name(pod, "host-volume"))
			CHECK_STR_EQ(pod_volume_by_name(pod, "host-volume")->host_path, "/");
		if (pod_volume_by_name(pod, "default-token-mmlq2"))
			CHECK_STR_EQ(pod_volume_by_name(pod, "default-token-mmlq2")->kind_name,
				     "secret");
	}
	/* a pending pod: no statuses, and an old-style numeric pod-template-hash
	 * that is not the ReplicaSet's suffix, so no Deployment name */
	pod = pods_lookup(pods, "f89b6c09-11a3-11e8-a084-080027352a02");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->name, "kube-state-metrics-57f4659995-6n2qq");
		CHECK_STR_EQ(pod->replicaset_name, "kube-state-metrics-57f4659995");
		CHECK(pod->deployment_name == NULL);
		CHECK(pod->qos_class == NULL);
		CHECK_INT_EQ(pod->n_containers, 2);
		c = pod_container_by_name(pod, "kube-state-metrics");
		CHECK(c != NULL && c->id == NULL);
		if (c)
			CHECK_STR_EQ(c->image, "quay.io/coreos/kube-state-metrics:v1.1.0");
		c = pod_container_by_name(pod, "addon-resizer");
		CHECK(c != NULL);
		if (c)
			CHECK_STR_EQ(c->image, "gcr.io/google_containers/addon-resizer:1.0");
	}
	pod = pods_lookup(pods, "dc378485-4565-11e9-822c-080027ecada5");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->namespace_name, "default");
		CHECK_STR_EQ(pod->name, "sh-7c95664875-4btqh");
		CHECK_STR_EQ(label(pod, "run"), "sh");
	}
	pod = pods_lookup(pods, "38d78cbd438e068d417c11c848b26f09");
	CHECK(pod != NULL);
	if (pod) {
		c = pod_container_by_name(pod, "kube-controller-manager");
		CHECK(c != NULL && c->restart_count == 1);
		if (c)
			CHECK_STR_EQ(c->id, "4c3ce07424670ccd46561eb1498a2759de4da4a7c2cd460fef147a"
					    "fefe4db150");
	}
	pods_free(pods);
}

TEST(test_fixture_fluentbit_podlist)
{
	char why[4200];
	/* this PodList says "kind": "Pod"; its items array is what counts */
	struct pods *pods =
	    load_fixture("fluentbit_podlist_use-kubelet-enabled.json", 1, why, sizeof(why));
	const struct pod *pod;
	const struct pod_container *c;

	if (!pods)
		SKIP("%s", why);
	pod = pods_lookup(pods, "e9f2963f-55f2-11e9-84c5-02e422b8a84a");
	CHECK(pod != NULL);
	if (pod) {
		CHECK_STR_EQ(pod->namespace_name, "options");
		CHECK_STR_EQ(pod->name, "use-kubelet-enabled");
		CHECK_STR_EQ(pod->node_name, "ip-10-49-18-80.eu-west-1.compute.internal");
		CHECK_STR_EQ(pod->qos_class, "BestEffort");
		CHECK_STR_EQ(label(pod, "app.kubernetes.io/name"), "fluent-bit");
		CHECK_STR_EQ(annotation(pod, "prometheus.io/port"), "2020");
		CHECK_INT_EQ(pod->n_annotations, 3);
		c = pod_container_by_name(pod, "fluent-bit");
		CHECK(c != NULL);
		if (c) {
			CHECK_STR_EQ(c->runtime, "docker");
			CHECK_STR_EQ(
			    c->id,
			    "c9898099f6d235126d564ed38a020007ea7a6fac6e25e718de683c9dd0076c16");
			CHECK_STR_EQ(c->image, "fluent/fluent-bit:latest");
			CHECK_INT_EQ(c->restart_count, 0);
		}
	}
	pods_free(pods);
}

/* The generation moves with every change of what pods_lookup answers (a
 * document taken, a pod expired), and not on failures or lookups. */
TEST(test_generation)
{
	struct pods *pods = pods_new(1000);
	const char *err = NULL;
	uint64_t g;

	CHECK(pods != NULL);
	if (!pods)
		return;
	CHECK_INT_EQ(pods_generation(NULL), 0);
	g = pods_generation(pods);
	CHECK(pods_lookup(pods, "uid-a") == NULL);
	CHECK_INT_EQ(pods_update(pods, "not json", 8, 0, NULL, &err), -EINVAL);
	CHECK_INT_EQ(pods_expire(pods, 5000), 0);
	CHECK(pods_generation(pods) == g);

	CHECK_INT_EQ(update_str(pods,
				"{\"kind\":\"PodList\",\"items\":[" POD_JSON("uid-a", "a", "aa",
									     "0", "1") "]}",
				0, NULL),
		     1);
	CHECK(pods_generation(pods) != g);
	g = pods_generation(pods);
	CHECK(pods_lookup(pods, "uid-a") != NULL);
	CHECK(pods_generation(pods) == g);
	CHECK_INT_EQ(pods_expire(pods, 1000), 0);
	CHECK(pods_generation(pods) == g);
	CHECK_INT_EQ(pods_expire(pods, 1001), 1);
	CHECK(pods_generation(pods) != g);
	CHECK(pods_lookup(pods, "uid-a") == NULL);
	pods_free(pods);
}

int main(void)
{
	RUN(test_mixed_job_pod);
	RUN(test_mixed_deployment_pod);
	RUN(test_mixed_init_and_ephemeral_containers);
	RUN(test_mixed_pod_without_status);
	RUN(test_mixed_job_from_label);
	RUN(test_wrong_types_are_ignored);
	RUN(test_bad_documents_leave_cache_unchanged);
	RUN(test_huge_document_refused);
	RUN(test_caps_drop_and_count);
	RUN(test_items_cap);
	RUN(test_retention_and_expiry);
	RUN(test_replacement);
	RUN(test_null_arguments);
	RUN(test_volumes_kinds);
	RUN(test_volume_mounts_per_container);
	RUN(test_volumes_wrong_types);
	RUN(test_volume_caps_drop_and_count);
	RUN(test_pod_annotation);
	RUN(test_fixture_kubelet_1_35);
	RUN(test_fixture_kubelet_1_31);
	RUN(test_fixture_kubelet_payload);
	RUN(test_fixture_fluentbit_podlist);
	RUN(test_generation);
	return testing_done();
}
