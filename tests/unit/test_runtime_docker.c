/* test_runtime_docker.c: a container's Kubernetes identity from dockerd's
 * record of it, <docker root>/containers/<id>/config.v2.json (runtime.c):
 * the labels cri-dockerd sets (samples in tests/data/runtime/docker_*), a
 * container started by hand, odd and hostile documents, and the look-up of
 * the file in a temporary docker root.
 */
#include "runtime.h"
#include "testing.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define DATA_DIR "tests/data/runtime/"
#define L(s)	 s, sizeof(s) - 1

#define K8S_ID	   "4b825dc642cb6eb9a060e54bf8d69288fbee4904f1e2d3c4b5a6978877665544"
#define SANDBOX_ID "a3f1c2d4e5b60718293a4b5c6d7e8f90123456789abcdef0fedcba9876543210"
#define PLAIN_ID   "e1d2c3b4a5968778695a4b3c2d1e0f9e8d7c6b5a49382716a5b4c3d2e1f0a9b8"
#define OTHER_ID   "1111111111111111111111111111111111111111111111111111111111111111"
#define POD_UID	   "2d6f1e8a-3c4b-4a5d-9e6f-7a8b9c0d1e2f"
#define POD_NAME   "web-7d9f8c6b5-x2k4p"

static char tmp_dir[64];

/* Parses a sample file; returns the parser's result, -1000 when unreadable. */
static int parse_file(const char *name, struct runtime_info *out)
{
	char path[256];
	size_t len;
	char *buf;
	int ret;

	snprintf(path, sizeof(path), DATA_DIR "%s", name);
	buf = testing_read_file(path, &len);
	if (!buf) {
		fprintf(stderr, "  cannot read %s\n", path);
		return -1000;
	}
	ret = runtime_parse_docker_config(buf, len, out);
	free(buf);
	return ret;
}

/* Every field of ri is empty (a document that says nothing about Kubernetes). */
static void check_empty(const struct runtime_info *ri)
{
	CHECK_STR_EQ(ri->name, "");
	CHECK_STR_EQ(ri->pod_uid, "");
	CHECK_STR_EQ(ri->pod_name, "");
	CHECK_STR_EQ(ri->pod_namespace, "");
	CHECK_STR_EQ(ri->log_path, "");
	CHECK(!ri->sandbox);
	CHECK_INT_EQ(ri->init_pid, 0);
}

/* Parses json (NUL-terminated) with runtime_parse_docker_config, expecting 0. */
static void parse_ok(const char *json, struct runtime_info *ri)
{
	int ret = runtime_parse_docker_config(json, strlen(json), ri);

	CHECK_INT_EQ(ret, 0);
	if (ret != 0)
		fprintf(stderr, "  (in %s)\n", json);
}

TEST(test_parse_k8s_container)
{
	struct runtime_info ri;

	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(parse_file("docker_container_config.v2.json", &ri), 0);
	CHECK_STR_EQ(ri.name, "web");
	CHECK_STR_EQ(ri.pod_uid, POD_UID);
	CHECK_STR_EQ(ri.pod_name, POD_NAME);
	CHECK_STR_EQ(ri.pod_namespace, "shop");
	/* cri-dockerd's io.kubernetes.container.logpath is not CRI-O's LogPath:
	 * log_path stays CRI-O's alone */
	CHECK_STR_EQ(ri.log_path, "");
	CHECK(!ri.sandbox);
	CHECK_INT_EQ(ri.init_pid, 48213);
}

TEST(test_parse_k8s_sandbox)
{
	struct runtime_info ri;

	CHECK_INT_EQ(parse_file("docker_sandbox_config.v2.json", &ri), 0);
	CHECK(ri.sandbox);
	CHECK_STR_EQ(ri.name, "POD");
	CHECK_STR_EQ(ri.pod_uid, POD_UID);
	CHECK_STR_EQ(ri.pod_name, POD_NAME);
	CHECK_STR_EQ(ri.pod_namespace, "shop");
	CHECK_INT_EQ(ri.init_pid, 48190);
}

TEST(test_parse_plain_container)
{
	struct runtime_info ri;

	/* docker run: the image's labels only, and it has exited */
	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(parse_file("docker_plain_config.v2.json", &ri), 0);
	check_empty(&ri);

	/* a running one without any label at all (Labels null or {}) */
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":5120},\"Config\":{\"Labels\":null}}", &ri);
	CHECK_STR_EQ(ri.name, "");
	CHECK_STR_EQ(ri.pod_uid, "");
	CHECK(!ri.sandbox);
	CHECK_INT_EQ(ri.init_pid, 5120);
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":5121},\"Config\":{\"Labels\":{}}}", &ri);
	CHECK_STR_EQ(ri.name, "");
	CHECK_INT_EQ(ri.init_pid, 5121);
	/* an object without State or Config */
	memset(&ri, 'x', sizeof(ri));
	parse_ok("{}", &ri);
	check_empty(&ri);
}

TEST(test_parse_docker_type)
{
	struct runtime_info ri;

	/* only "podsandbox" is the sandbox; the name "POD" alone is not */
	parse_ok("{\"Config\":{\"Labels\":{\"io.kubernetes.container.name\":\"POD\"}}}", &ri);
	CHECK_STR_EQ(ri.name, "POD");
	CHECK(!ri.sandbox);
	parse_ok("{\"Config\":{\"Labels\":{\"io.kubernetes.docker.type\":\"container\"}}}", &ri);
	CHECK(!ri.sandbox);
	parse_ok("{\"Config\":{\"Labels\":{\"io.kubernetes.docker.type\":\"PodSandbox\"}}}", &ri);
	CHECK(!ri.sandbox);
	parse_ok("{\"Config\":{\"Labels\":{\"io.kubernetes.docker.type\":\"podsandbox \"}}}", &ri);
	CHECK(!ri.sandbox);
	parse_ok("{\"Config\":{\"Labels\":{\"io.kubernetes.docker.type\":true}}}", &ri);
	CHECK(!ri.sandbox);
	parse_ok("{\"Config\":{\"Labels\":{\"io.kubernetes.docker.type\":\"podsandbox\"}}}", &ri);
	CHECK(ri.sandbox);
	CHECK_STR_EQ(ri.name, "");
}

TEST(test_parse_pid)
{
	struct runtime_info ri;

	/* dockerd keeps Pid in the file after the container stopped */
	parse_ok("{\"State\":{\"Running\":false,\"Pid\":4242}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Pid\":4242}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Running\":\"true\",\"Pid\":4242}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Running\":1,\"Pid\":4242}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	/* a paused container still has its process */
	parse_ok("{\"State\":{\"Running\":true,\"Paused\":true,\"Pid\":4242}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 4242);
	/* and pid 1 is a pid */
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":1}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 1);
	/* what no process can have */
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":0}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":-7}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":12.5}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":1e30}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":4294967297}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":\"4242\"}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":{\"Running\":true,\"Pid\":null}}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	/* State of another type */
	parse_ok("{\"State\":[true,4242]}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	parse_ok("{\"State\":\"running\"}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
	/* runc's member means nothing here */
	parse_ok("{\"init_process_pid\":4242}", &ri);
	CHECK_INT_EQ(ri.init_pid, 0);
}

/* {"Config":{"Labels":{"<key>":"<n times c>"}}} */
static char *labels_doc(const char *key, char c, size_t n)
{
	static const char head[] = "{\"Config\":{\"Labels\":{\"", mid[] = "\":\"", tail[] = "\"}}}";
	size_t klen = strlen(key),
	       len = sizeof(head) - 1 + klen + sizeof(mid) - 1 + n + sizeof(tail) - 1;
	char *doc = malloc(len + 1), *p = doc;

	if (!doc)
		return NULL;
	memcpy(p, head, sizeof(head) - 1);
	p += sizeof(head) - 1;
	memcpy(p, key, klen);
	p += klen;
	memcpy(p, mid, sizeof(mid) - 1);
	p += sizeof(mid) - 1;
	memset(p, c, n);
	p += n;
	memcpy(p, tail, sizeof(tail));
	return doc;
}

TEST(test_parse_oversize_values)
{
	static const struct {
		const char *key;
		size_t field;
	} fields[] = {
	    {"io.kubernetes.container.name", offsetof(struct runtime_info, name)},
	    {"io.kubernetes.pod.uid", offsetof(struct runtime_info, pod_uid)},
	    {"io.kubernetes.pod.name", offsetof(struct runtime_info, pod_name)},
	    {"io.kubernetes.pod.namespace", offsetof(struct runtime_info, pod_namespace)},
	};
	struct runtime_info ri;

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		const char *got = (const char *)&ri + fields[i].field;
		char *fits = labels_doc(fields[i].key, 'a', RUNTIME_NAME_MAX);
		char *over = labels_doc(fields[i].key, 'b', RUNTIME_NAME_MAX + 1);
		char *huge = labels_doc(fields[i].key, 'c', 100000);

		CHECK(fits && over && huge);
		if (fits && over && huge) {
			/* exactly the field's size: taken whole */
			parse_ok(fits, &ri);
			CHECK_INT_EQ(strlen(got), RUNTIME_NAME_MAX);
			CHECK(strspn(got, "a") == RUNTIME_NAME_MAX);
			/* one byte more: refused, not cut to a name of another pod */
			memset(&ri, 'x', sizeof(ri));
			parse_ok(over, &ri);
			CHECK_STR_EQ(got, "");
			parse_ok(huge, &ri);
			CHECK_STR_EQ(got, "");
			if (testing_current_failed)
				fprintf(stderr, "  (label %s)\n", fields[i].key);
		}
		free(fits);
		free(over);
		free(huge);
	}

	/* a value refused leaves the other labels alone */
	{
		char doc[1024];
		char big[RUNTIME_NAME_MAX + 2];

		memset(big, 'n', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		snprintf(
		    doc, sizeof(doc),
		    "{\"Config\":{\"Labels\":{\"io.kubernetes.pod.name\":\"%s\","
		    "\"io.kubernetes.container.name\":\"app\",\"io.kubernetes.pod.uid\":\"u-1\","
		    "\"io.kubernetes.docker.type\":\"podsandbox\"}},"
		    "\"State\":{\"Running\":true,\"Pid\":99}}",
		    big);
		parse_ok(doc, &ri);
		CHECK_STR_EQ(ri.pod_name, "");
		CHECK_STR_EQ(ri.name, "app");
		CHECK_STR_EQ(ri.pod_uid, "u-1");
		CHECK(ri.sandbox);
		CHECK_INT_EQ(ri.init_pid, 99);
	}
	/* the limit counts the unescaped bytes: 252 'a' and one é (2 bytes) is 254 */
	{
		char doc[1024], val[RUNTIME_NAME_MAX];

		memset(val, 'a', sizeof(val) - 1);
		val[sizeof(val) - 1] = '\0';
		snprintf(
		    doc, sizeof(doc),
		    "{\"Config\":{\"Labels\":{\"io.kubernetes.pod.namespace\":\"%s\\u00e9\"}}}",
		    val);
		parse_ok(doc, &ri);
		CHECK_STR_EQ(ri.pod_namespace, "");
		/* and 251 'a' and é is 253: whole */
		val[sizeof(val) - 2] = '\0';
		snprintf(
		    doc, sizeof(doc),
		    "{\"Config\":{\"Labels\":{\"io.kubernetes.pod.namespace\":\"%s\\u00e9\"}}}",
		    val);
		parse_ok(doc, &ri);
		CHECK_INT_EQ(strlen(ri.pod_namespace), RUNTIME_NAME_MAX);
		CHECK(memcmp(ri.pod_namespace + RUNTIME_NAME_MAX - 2, "\xc3\xa9", 2) == 0);
	}
}

TEST(test_parse_wrong_types)
{
	struct runtime_info ri;

	/* Labels of another type */
	memset(&ri, 'x', sizeof(ri));
	parse_ok("{\"Config\":{\"Labels\":[\"io.kubernetes.container.name=app\"]}}", &ri);
	check_empty(&ri);
	parse_ok("{\"Config\":{\"Labels\":\"io.kubernetes.container.name=app\"}}", &ri);
	check_empty(&ri);
	parse_ok("{\"Config\":{\"Labels\":7}}", &ri);
	check_empty(&ri);
	/* Config of another type */
	parse_ok("{\"Config\":[{\"Labels\":{\"io.kubernetes.container.name\":\"app\"}}]}", &ri);
	check_empty(&ri);
	parse_ok("{\"Config\":null}", &ri);
	check_empty(&ri);
	/* label values that are not strings are skipped, the others kept */
	parse_ok("{\"Config\":{\"Labels\":{\"io.kubernetes.container.name\":5,"
		 "\"io.kubernetes.pod.uid\":null,\"io.kubernetes.pod.name\":{\"n\":\"p\"},"
		 "\"io.kubernetes.pod.namespace\":\"ns\"}}}",
		 &ri);
	CHECK_STR_EQ(ri.name, "");
	CHECK_STR_EQ(ri.pod_uid, "");
	CHECK_STR_EQ(ri.pod_name, "");
	CHECK_STR_EQ(ri.pod_namespace, "ns");
	/* labels elsewhere than Config.Labels, or keys of other runtimes, or
	 * near misses, are not docker's Kubernetes labels */
	parse_ok("{\"Labels\":{\"io.kubernetes.container.name\":\"a\"},"
		 "\"annotations\":{\"io.kubernetes.container.name\":\"b\"},"
		 "\"config\":{\"labels\":[\"io.kubernetes.container.name=c\"],"
		 "\"Labels\":{\"io.kubernetes.container.name\":\"d\"}},"
		 "\"Config\":{\"labels\":{\"io.kubernetes.container.name\":\"e\"},"
		 "\"Labels\":{\"io.kubernetes.cri.container-name\":\"f\","
		 "\"io.kubernetes.cri-o.LogPath\":\"/var/log/pods/x/y/0.log\","
		 "\"io.kubernetes.container.name.x\":\"g\",\"IO.KUBERNETES.POD.UID\":\"h\","
		 "\"io.kubernetes.pod.nam\":\"i\"}}}",
		 &ri);
	check_empty(&ri);
	/* JSON escapes in a value are decoded; "" stays "" */
	parse_ok("{\"Config\":{\"Labels\":{\"io.kubernetes.pod.namespace\":\"a\\u0062\\/c\","
		 "\"io.kubernetes.container.name\":\"\"}}}",
		 &ri);
	CHECK_STR_EQ(ri.pod_namespace, "ab/c");
	CHECK_STR_EQ(ri.name, "");
}

TEST(test_parse_not_json)
{
	struct runtime_info ri;

	/* -EINVAL, with the output cleared all the same */
	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(runtime_parse_docker_config(L("not json"), &ri), -EINVAL);
	check_empty(&ri);
	CHECK_INT_EQ(runtime_parse_docker_config(L("[{\"Config\":{}}]"), &ri), -EINVAL);
	CHECK_INT_EQ(runtime_parse_docker_config(L("\"config\""), &ri), -EINVAL);
	CHECK_INT_EQ(runtime_parse_docker_config(L("null"), &ri), -EINVAL);
	CHECK_INT_EQ(runtime_parse_docker_config(L("42"), &ri), -EINVAL);
	CHECK_INT_EQ(runtime_parse_docker_config("", 0, &ri), -EINVAL);
	/* cut short, as a file read while dockerd replaced it could be if it
	 * were written in place (it is not: dockerd renames a new file in) */
	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(runtime_parse_docker_config(
			 L("{\"State\":{\"Running\":true,\"Pid\":7},\"Config\":{\"Labels\":{"
			   "\"io.kubernetes.container.name\":\"app\""),
			 &ri),
		     -EINVAL);
	check_empty(&ri);
	/* only the first len bytes count */
	CHECK_INT_EQ(runtime_parse_docker_config("{}{\"State\":", 2, &ri), 0);
	CHECK_INT_EQ(runtime_parse_docker_config("{\"a\":1}", 6, &ri), -EINVAL);
}

/* ---- runtime_docker_lookup on a temporary docker root ---- */

static void make_dir(const char *fmt, const char *a, const char *b)
{
	char path[512];

	snprintf(path, sizeof(path), fmt, a, b);
	if (mkdir(path, 0755) != 0) {
		fprintf(stderr, "  mkdir %s failed: %s\n", path, strerror(errno));
		testing_current_failed = 1;
	}
}

/* Writes <root>/containers/<id>/config.v2.json (the dirs made as needed). */
static void put_config(const char *root, const char *id, const char *content, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/containers/%s", root, id);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "  mkdir %s failed: %s\n", path, strerror(errno));
		testing_current_failed = 1;
		return;
	}
	snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", root, id);
	testing_write_file(path, content, len, 0600);
}

static void copy_sample(const char *root, const char *id, const char *sample)
{
	char path[256];
	size_t len;
	char *buf;

	snprintf(path, sizeof(path), DATA_DIR "%s", sample);
	buf = testing_read_file(path, &len);
	CHECK(buf != NULL);
	if (!buf)
		return;
	put_config(root, id, buf, len);
	free(buf);
}

/* A docker root <tmp>/<name> with its containers dir; path in buf. */
static void make_root(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", tmp_dir, name);
	make_dir("%s%s", buf, "");
	make_dir("%s%s", buf, "/containers");
}

TEST(test_lookup)
{
	char root[128], absent[128];
	struct runtime_info ri;

	make_root(root, sizeof(root), "docker");
	copy_sample(root, K8S_ID, "docker_container_config.v2.json");
	copy_sample(root, SANDBOX_ID, "docker_sandbox_config.v2.json");
	copy_sample(root, PLAIN_ID, "docker_plain_config.v2.json");

	CHECK_INT_EQ(runtime_docker_lookup(root, K8S_ID, &ri), 0);
	CHECK_STR_EQ(ri.name, "web");
	CHECK_STR_EQ(ri.pod_uid, POD_UID);
	CHECK_STR_EQ(ri.pod_name, POD_NAME);
	CHECK_STR_EQ(ri.pod_namespace, "shop");
	CHECK(!ri.sandbox);
	CHECK_INT_EQ(ri.init_pid, 48213);
	CHECK_INT_EQ(runtime_docker_lookup(root, SANDBOX_ID, &ri), 0);
	CHECK(ri.sandbox);
	CHECK_INT_EQ(ri.init_pid, 48190);
	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(runtime_docker_lookup(root, PLAIN_ID, &ri), 0);
	check_empty(&ri);
	/* ids in upper case are letters too (docker's are lower-case hex; the
	 * file system decides whether such a container exists) */
	CHECK_INT_EQ(runtime_docker_lookup(root, "ABCDEF0123", &ri), -ENOENT);

	/* a container docker does not know: -ENOENT, out cleared */
	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(runtime_docker_lookup(root, OTHER_ID, &ri), -ENOENT);
	check_empty(&ri);
	/* its dir without config.v2.json (dockerd is creating it) */
	make_dir("%s/containers/%s", root, OTHER_ID);
	CHECK_INT_EQ(runtime_docker_lookup(root, OTHER_ID, &ri), -ENOENT);
	/* a root that does not exist, or has no containers dir */
	snprintf(absent, sizeof(absent), "%s/absent", tmp_dir);
	CHECK_INT_EQ(runtime_docker_lookup(absent, K8S_ID, &ri), -ENOENT);
	CHECK_INT_EQ(runtime_docker_lookup(tmp_dir, K8S_ID, &ri), -ENOENT);
	/* no docker root configured */
	CHECK_INT_EQ(runtime_docker_lookup("", K8S_ID, &ri), -ENOENT);
	/* <root>/containers/<id> as a plain file: like absent */
	{
		char path[512];
		int fd;

		snprintf(path, sizeof(path), "%s/containers/plainfile", root);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(fd >= 0);
		if (fd >= 0)
			close(fd);
		CHECK_INT_EQ(runtime_docker_lookup(root, "plainfile", &ri), -ENOENT);
	}
	/* a root whose path leaves no room for the file's */
	{
		char longroot[4100];

		memset(longroot, 'r', sizeof(longroot) - 1);
		longroot[0] = '/';
		longroot[sizeof(longroot) - 1] = '\0';
		CHECK_INT_EQ(runtime_docker_lookup(longroot, K8S_ID, &ri), -ENAMETOOLONG);
	}
	testing_remove_tree(root);
}

TEST(test_lookup_rejects_odd_ids)
{
	char root[128];
	struct runtime_info ri;

	make_root(root, sizeof(root), "walk");
	/* what an id that walks could reach: <root>/containers/inner/x/…,
	 * <root>/config.v2.json (through ".."), <root>/containers/config.v2.json
	 * (through ".") */
	make_dir("%s/containers/%s", root, "inner");
	put_config(root, "inner/x", L("{}"));
	put_config(root, "..", L("{}"));
	put_config(root, ".", L("{}"));
	/* ids with '-' or '_' are not docker's */
	put_config(root, "ab-cd", L("{}"));
	put_config(root, "ab_cd", L("{}"));

	static const char *const bad[] = {
	    "",	     ".",     "..",    "inner/x", "/inner/x", "../walk/containers/" K8S_ID,
	    "ab-cd", "ab_cd", "ab cd", "ab\ncd",  "..abc",    K8S_ID "/",
	    "ab%cd", "ab*",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ri, 'x', sizeof(ri));
		CHECK_INT_EQ(runtime_docker_lookup(root, bad[i], &ri), -EINVAL);
		check_empty(&ri);
		if (testing_current_failed) {
			fprintf(stderr, "  (id \"%s\")\n", bad[i]);
			break;
		}
	}
	/* the id is checked before anything else */
	CHECK_INT_EQ(runtime_docker_lookup("", "..", &ri), -EINVAL);
	testing_remove_tree(root);
}

TEST(test_lookup_unreadable)
{
	char root[128], path[512];
	struct runtime_info ri;

	make_root(root, sizeof(root), "bad");

	/* one byte over the cap: refused without reading it (a sparse file) */
	put_config(root, "huge", "", 0);
	snprintf(path, sizeof(path), "%s/containers/huge/config.v2.json", root);
	CHECK_INT_EQ(truncate(path, (off_t)RUNTIME_STATE_MAX + 1), 0);
	CHECK_INT_EQ(runtime_docker_lookup(root, "huge", &ri), -EFBIG);
	/* exactly the cap is read (and is not JSON: zeros) */
	CHECK_INT_EQ(truncate(path, (off_t)RUNTIME_STATE_MAX), 0);
	CHECK_INT_EQ(runtime_docker_lookup(root, "huge", &ri), -EINVAL);
	unlink(path);

	/* not JSON, empty, cut short */
	put_config(root, "garbage", L("config of the art"));
	CHECK_INT_EQ(runtime_docker_lookup(root, "garbage", &ri), -EINVAL);
	put_config(root, "empty", "", 0);
	CHECK_INT_EQ(runtime_docker_lookup(root, "empty", &ri), -EINVAL);
	put_config(root, "cut", L("{\"State\":{\"Running\":true,\"Pid\":"));
	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(runtime_docker_lookup(root, "cut", &ri), -EINVAL);
	check_empty(&ri);

	/* a symlink is not followed: an error, not "no such container" */
	make_dir("%s/containers/%s", root, "link");
	snprintf(path, sizeof(path), "%s/containers/link/config.v2.json", root);
	CHECK_INT_EQ(symlink("/etc/hostname", path), 0);
	CHECK_INT_EQ(runtime_docker_lookup(root, "link", &ri), -ELOOP);

	/* a directory named config.v2.json is not a config */
	make_dir("%s/containers/%s", root, "dir");
	make_dir("%s/containers/%s", root, "dir/config.v2.json");
	CHECK_INT_EQ(runtime_docker_lookup(root, "dir", &ri), -EFBIG);

	/* unreadable (only when the test is not root, who reads anything) */
	put_config(root, "noread", L("{}"));
	snprintf(path, sizeof(path), "%s/containers/noread/config.v2.json", root);
	CHECK_INT_EQ(chmod(path, 0), 0);
	if (geteuid() != 0)
		CHECK_INT_EQ(runtime_docker_lookup(root, "noread", &ri), -EACCES);

	testing_remove_tree(root);
}

int main(void)
{
	if (testing_mkdtemp(tmp_dir, sizeof(tmp_dir), "runtime-docker") != 0)
		return 1;
	RUN(test_parse_k8s_container);
	RUN(test_parse_k8s_sandbox);
	RUN(test_parse_plain_container);
	RUN(test_parse_docker_type);
	RUN(test_parse_pid);
	RUN(test_parse_oversize_values);
	RUN(test_parse_wrong_types);
	RUN(test_parse_not_json);
	RUN(test_lookup);
	RUN(test_lookup_rejects_odd_ids);
	RUN(test_lookup_unreadable);
	if (rmdir(tmp_dir) != 0) {
		fprintf(stderr, "temporary dir %s not empty\n", tmp_dir);
		testing_remove_tree(tmp_dir);
	}
	return testing_done();
}
