/* test_runtime.c: the Kubernetes identity of a container from its runtime's
 * state (runtime.c): runc state.json labels written by CRI-O and containerd,
 * an OCI config.json's annotations (samples in tests/data/runtime/), and the
 * lookup of <root>/<id>/state.json under several roots in a temporary tree.
 */
#include "runtime.h"
#include "testing.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define DATA_DIR "tests/data/runtime/"
#define L(s)	 s, sizeof(s) - 1

#define CRIO_ID	    "3f9e2b1c7a6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f"
#define CRIO_UID    "7c1a3f2e-5b6d-4e8f-9a0b-1c2d3e4f5a6b"
#define CRIO_PODDIR "/var/log/pods/batch_batch-job-x7k2p_" CRIO_UID
#define CTRD_UID    "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9"
#define CTRD_ID	    "9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b"
#define OTHER_ID    "1111111111111111111111111111111111111111111111111111111111111111"

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
	ret = runtime_parse_state(buf, len, out);
	free(buf);
	return ret;
}

/* What a sample file parses to; a NULL string is not checked. */
struct sample {
	const char *file;
	const char *name, *pod_uid, *pod_name, *pod_namespace, *log_path;
	bool sandbox;
	int init_pid;
};

/* Parses want->file and checks every field want gives; names the file on failure. */
static void check_sample(const struct sample *want)
{
	struct runtime_info ri;
	int failed_before = testing_current_failed;

	testing_current_failed = 0;
	CHECK_INT_EQ(parse_file(want->file, &ri), 0);
	if (want->name)
		CHECK_STR_EQ(ri.name, want->name);
	if (want->pod_uid)
		CHECK_STR_EQ(ri.pod_uid, want->pod_uid);
	if (want->pod_name)
		CHECK_STR_EQ(ri.pod_name, want->pod_name);
	if (want->pod_namespace)
		CHECK_STR_EQ(ri.pod_namespace, want->pod_namespace);
	if (want->log_path)
		CHECK_STR_EQ(ri.log_path, want->log_path);
	CHECK_INT_EQ(ri.sandbox, want->sandbox);
	CHECK_INT_EQ(ri.init_pid, want->init_pid);
	if (testing_current_failed)
		fprintf(stderr, "  (in %s)\n", want->file);
	testing_current_failed |= failed_before;
}

TEST(test_parse_crio_container)
{
	check_sample(&(struct sample){.file = "crio_container_state.json",
				      .name = "main",
				      .pod_uid = CRIO_UID,
				      .pod_name = "batch-job-x7k2p",
				      .pod_namespace = "batch",
				      .log_path = CRIO_PODDIR "/main/0.log",
				      .sandbox = false,
				      .init_pid = 48213});
}

TEST(test_parse_crio_sandbox)
{
	check_sample(&(struct sample){.file = "crio_sandbox_state.json",
				      .name = "POD",
				      .pod_uid = CRIO_UID,
				      .pod_name = "batch-job-x7k2p",
				      .pod_namespace = "batch",
				      .sandbox = true,
				      .init_pid = 48190});
}

TEST(test_parse_containerd)
{
	check_sample(&(struct sample){.file = "containerd_container_state.json",
				      .name = "worker",
				      .pod_uid = CTRD_UID,
				      .pod_name = "web-5d8f9c7b6-qwert",
				      .pod_namespace = "shop",
				      .log_path = "", /* containerd records no log path here */
				      .sandbox = false,
				      .init_pid = 51002});
	check_sample(&(struct sample){.file = "containerd_sandbox_state.json",
				      .name = "",
				      .pod_uid = CTRD_UID,
				      .pod_namespace = "shop",
				      .sandbox = true,
				      .init_pid = 50990});
}

TEST(test_parse_oci_config)
{
	check_sample(&(struct sample){.file = "oci_config.json",
				      .name = "sidecar",
				      .pod_uid = CTRD_UID,
				      .pod_name = "web-5d8f9c7b6-qwert",
				      .pod_namespace = "shop",
				      .sandbox = false,
				      .init_pid = 0});
}

TEST(test_parse_docker_and_crio_annotations)
{
	struct runtime_info ri;
	static const char docker_sandbox[] =
	    "{\"annotations\":{\"io.kubernetes.docker.type\":\"podsandbox\","
	    "\"io.kubernetes.pod.uid\":\"u1\"}}";
	static const char docker_container[] =
	    "{\"config\":{\"labels\":[\"io.kubernetes.docker.type=container\","
	    "\"io.kubernetes.container.name=app\"]}}";
	static const char crio_annotations[] =
	    "{\"annotations\":{\"io.kubernetes.container.name\":\"c\","
	    "\"io.kubernetes.cri-o.ContainerType\":\"container\","
	    "\"io.kubernetes.cri-o.LogPath\":\"/var/log/pods/a_b_c/c/3.log\","
	    "\"io.kubernetes.pod.name\":\"b\",\"io.kubernetes.pod.namespace\":\"a\"}}";

	CHECK_INT_EQ(runtime_parse_state(L(docker_sandbox), &ri), 0);
	CHECK(ri.sandbox);
	CHECK_STR_EQ(ri.pod_uid, "u1");
	CHECK_INT_EQ(runtime_parse_state(L(docker_container), &ri), 0);
	CHECK(!ri.sandbox);
	CHECK_STR_EQ(ri.name, "app");
	CHECK_INT_EQ(runtime_parse_state(L(crio_annotations), &ri), 0);
	CHECK_STR_EQ(ri.name, "c");
	CHECK_STR_EQ(ri.log_path, "/var/log/pods/a_b_c/c/3.log");
	CHECK_STR_EQ(ri.pod_name, "b");
	CHECK_STR_EQ(ri.pod_namespace, "a");
	CHECK(!ri.sandbox);
}

TEST(test_parse_odd_documents)
{
	struct runtime_info ri;
	char name[400], json[600];

	/* not an object: -EINVAL, and the output is cleared all the same */
	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(runtime_parse_state(L("not json"), &ri), -EINVAL);
	CHECK_STR_EQ(ri.name, "");
	CHECK_INT_EQ(ri.init_pid, 0);
	CHECK(!ri.sandbox);
	CHECK_INT_EQ(runtime_parse_state(L("[\"io.kubernetes.container.name=x\"]"), &ri), -EINVAL);
	CHECK_INT_EQ(runtime_parse_state(L("\"str\""), &ri), -EINVAL);
	CHECK_INT_EQ(runtime_parse_state(L("{\"id\":"), &ri), -EINVAL);
	CHECK_INT_EQ(runtime_parse_state("", 0, &ri), -EINVAL);
	/* only the first len bytes count */
	CHECK_INT_EQ(runtime_parse_state("{}garbage", 2, &ri), 0);

	/* an object without any of it: 0, everything empty */
	memset(&ri, 'x', sizeof(ri));
	CHECK_INT_EQ(runtime_parse_state(L("{}"), &ri), 0);
	CHECK_STR_EQ(ri.name, "");
	CHECK_STR_EQ(ri.pod_uid, "");
	CHECK_STR_EQ(ri.log_path, "");
	CHECK(!ri.sandbox);
	CHECK_INT_EQ(ri.init_pid, 0);

	/* labels that are not "key=value" strings are skipped; a value may hold '=' */
	CHECK_INT_EQ(runtime_parse_state(
			 L("{\"config\":{\"labels\":[5,null,\"io.kubernetes.container.name\","
			   "\"io.kubernetes.pod.name=a=b\",\"=x\",\"io.kubernetes.pod.uid=\"]}}"),
			 &ri),
		     0);
	CHECK_STR_EQ(ri.name, "");
	CHECK_STR_EQ(ri.pod_name, "a=b");
	CHECK_STR_EQ(ri.pod_uid, "");
	/* a key only matches whole */
	CHECK_INT_EQ(
	    runtime_parse_state(L("{\"config\":{\"labels\":[\"io.kubernetes.container.name.x=no\","
				  "\"io.kubernetes.container.nam=no\"]}}"),
				&ri),
	    0);
	CHECK_STR_EQ(ri.name, "");

	/* init_process_pid that is not a plausible pid */
	CHECK_INT_EQ(runtime_parse_state(L("{\"init_process_pid\":-4}"), &ri), 0);
	CHECK_INT_EQ(ri.init_pid, 0);
	CHECK_INT_EQ(runtime_parse_state(L("{\"init_process_pid\":1e30}"), &ri), 0);
	CHECK_INT_EQ(ri.init_pid, 0);
	CHECK_INT_EQ(runtime_parse_state(L("{\"init_process_pid\":\"12\"}"), &ri), 0);
	CHECK_INT_EQ(ri.init_pid, 0);
	CHECK_INT_EQ(runtime_parse_state(L("{\"init_process_pid\":1}"), &ri), 0);
	CHECK_INT_EQ(ri.init_pid, 1);

	/* a name longer than the field is cut, not overflowed */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"annotations\":{\"io.kubernetes.container.name\":\"%s\"}}",
		 name);
	CHECK_INT_EQ(runtime_parse_state(json, strlen(json), &ri), 0);
	CHECK_INT_EQ(strlen(ri.name), RUNTIME_NAME_MAX);
	CHECK(memcmp(ri.name, name, RUNTIME_NAME_MAX) == 0);
}

/* ---- runtime_lookup on a temporary tree ---- */

static void make_dir(const char *fmt, const char *a, const char *b)
{
	char path[512];

	snprintf(path, sizeof(path), fmt, a, b);
	if (mkdir(path, 0755) != 0) {
		fprintf(stderr, "  mkdir %s failed\n", path);
		testing_current_failed = 1;
	}
}

static void put_state(const char *root, const char *id, const char *content, size_t len)
{
	char path[512];

	make_dir("%s/%s", root, id);
	snprintf(path, sizeof(path), "%s/%s/state.json", root, id);
	testing_write_file(path, content, len, 0644);
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
	put_state(root, id, buf, len);
	free(buf);
}

static void remove_state(const char *root, const char *id)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/state.json", root, id);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", root, id);
	rmdir(path);
}

TEST(test_lookup_roots)
{
	char r1[128], r2[128], absent[128];
	const char *roots[3];
	struct runtime_info ri;

	snprintf(r1, sizeof(r1), "%s/r1", tmp_dir);
	snprintf(r2, sizeof(r2), "%s/r2", tmp_dir);
	snprintf(absent, sizeof(absent), "%s/absent", tmp_dir);
	make_dir("%s%s", r1, "");
	make_dir("%s%s", r2, "");
	copy_sample(r2, CRIO_ID, "crio_container_state.json");
	copy_sample(r1, CTRD_ID, "containerd_container_state.json");

	/* found in the second root */
	roots[0] = r1;
	roots[1] = r2;
	CHECK_INT_EQ(runtime_lookup(roots, 2, CRIO_ID, &ri), 0);
	CHECK_STR_EQ(ri.name, "main");
	CHECK_STR_EQ(ri.pod_uid, CRIO_UID);
	CHECK_INT_EQ(ri.init_pid, 48213);
	/* and in the first */
	CHECK_INT_EQ(runtime_lookup(roots, 2, CTRD_ID, &ri), 0);
	CHECK_STR_EQ(ri.name, "worker");
	/* a root that does not exist is passed over */
	roots[0] = absent;
	roots[1] = r2;
	CHECK_INT_EQ(runtime_lookup(roots, 2, CRIO_ID, &ri), 0);
	CHECK_STR_EQ(ri.name, "main");

	/* absent everywhere, or no roots */
	roots[0] = r1;
	roots[1] = r2;
	roots[2] = absent;
	CHECK_INT_EQ(runtime_lookup(roots, 3, OTHER_ID, &ri), -ENOENT);
	CHECK_INT_EQ(runtime_lookup(roots, 0, CRIO_ID, &ri), -ENOENT);
	/* only the given number of roots is searched */
	CHECK_INT_EQ(runtime_lookup(roots, 1, CRIO_ID, &ri), -ENOENT);

	remove_state(r2, CRIO_ID);
	remove_state(r1, CTRD_ID);
	rmdir(r1);
	rmdir(r2);
}

TEST(test_lookup_rejects_walking_ids)
{
	char root[128], sub[128], up[128];
	const char *roots[1];
	struct runtime_info ri;
	int fd;

	snprintf(root, sizeof(root), "%s/walk", tmp_dir);
	make_dir("%s%s", root, "");
	snprintf(sub, sizeof(sub), "%s/walk/inner", tmp_dir);
	make_dir("%s%s", sub, "");
	/* <tmp>/walk/inner/x/state.json exists: "inner/x" must not reach it */
	copy_sample(sub, "x", "crio_container_state.json");
	/* <tmp>/state.json exists: ".." from <tmp>/walk must not reach it */
	snprintf(up, sizeof(up), "%s/state.json", tmp_dir);
	fd = open(up, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0)
		close(fd);
	roots[0] = root;

	CHECK_INT_EQ(runtime_lookup(roots, 1, "inner/x", &ri), -EINVAL);
	CHECK_INT_EQ(runtime_lookup(roots, 1, "/inner/x", &ri), -EINVAL);
	CHECK_INT_EQ(runtime_lookup(roots, 1, "..", &ri), -EINVAL);
	CHECK_INT_EQ(runtime_lookup(roots, 1, "../walk/inner/x", &ri), -EINVAL);
	CHECK_INT_EQ(runtime_lookup(roots, 1, "", &ri), -EINVAL);
	/* ids are letters, digits, - and _: any dot is refused */
	CHECK_INT_EQ(runtime_lookup(roots, 1, "..abc", &ri), -EINVAL);

	remove_state(sub, "x");
	unlink(up);
	rmdir(sub);
	rmdir(root);
}

/* "." is not a container id either: <root>/./state.json is <root>/state.json. */
TEST(test_lookup_rejects_dot_id)
{
	char root[128], path[256];
	const char *roots[1];
	struct runtime_info ri;
	int fd, ret;

	snprintf(root, sizeof(root), "%s/dot", tmp_dir);
	make_dir("%s%s", root, "");
	snprintf(path, sizeof(path), "%s/state.json", root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(write(fd, L("{\"init_process_pid\":77}")), 23);
		close(fd);
	}
	roots[0] = root;
	ret = runtime_lookup(roots, 1, ".", &ri);
	CHECK_INT_EQ(ret, -EINVAL);
	unlink(path);
	rmdir(root);
}

TEST(test_lookup_unreadable_states)
{
	char root[128], path[512], r2[128];
	const char *roots[2];
	struct runtime_info ri;
	int fd;

	snprintf(root, sizeof(root), "%s/big", tmp_dir);
	snprintf(r2, sizeof(r2), "%s/big2", tmp_dir);
	make_dir("%s%s", root, "");
	make_dir("%s%s", r2, "");
	roots[0] = root;
	roots[1] = r2;

	/* one byte over the limit: refused without reading (a sparse file) */
	make_dir("%s/%s", root, "huge");
	snprintf(path, sizeof(path), "%s/huge/state.json", root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(ftruncate(fd, (off_t)RUNTIME_STATE_MAX + 1), 0);
		close(fd);
	}
	CHECK_INT_EQ(runtime_lookup(roots, 1, "huge", &ri), -EFBIG);
	/* a state file that exists but is refused is an error, not "try the next root" */
	copy_sample(r2, "huge", "crio_container_state.json");
	CHECK_INT_EQ(runtime_lookup(roots, 2, "huge", &ri), -EFBIG);
	remove_state(r2, "huge");

	/* exactly the limit is read (and is not JSON: zeros) */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_INT_EQ(ftruncate(fd, (off_t)RUNTIME_STATE_MAX), 0);
		close(fd);
	}
	CHECK_INT_EQ(runtime_lookup(roots, 1, "huge", &ri), -EINVAL);
	remove_state(root, "huge");

	/* not JSON */
	put_state(root, "garbage", L("state of the art"));
	CHECK_INT_EQ(runtime_lookup(roots, 1, "garbage", &ri), -EINVAL);
	remove_state(root, "garbage");

	/* an empty file */
	put_state(root, "empty", "", 0);
	CHECK_INT_EQ(runtime_lookup(roots, 1, "empty", &ri), -EINVAL);
	remove_state(root, "empty");

	/* a symlink is not followed */
	make_dir("%s/%s", root, "link");
	snprintf(path, sizeof(path), "%s/link/state.json", root);
	CHECK_INT_EQ(symlink("/etc/hostname", path), 0);
	CHECK(runtime_lookup(roots, 1, "link", &ri) < 0);
	CHECK(runtime_lookup(roots, 1, "link", &ri) != -ENOENT);
	remove_state(root, "link");

	/* a directory named state.json is not a state file */
	make_dir("%s/%s", root, "dir");
	make_dir("%s/%s", root, "dir/state.json");
	CHECK(runtime_lookup(roots, 1, "dir", &ri) < 0);
	snprintf(path, sizeof(path), "%s/dir/state.json", root);
	rmdir(path);
	remove_state(root, "dir");

	/* <root>/<id> as a plain file: like absent */
	snprintf(path, sizeof(path), "%s/plain", root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0)
		close(fd);
	CHECK_INT_EQ(runtime_lookup(roots, 1, "plain", &ri), -ENOENT);
	unlink(path);

	rmdir(root);
	rmdir(r2);
}

int main(void)
{
	if (testing_mkdtemp(tmp_dir, sizeof(tmp_dir), "runtime") != 0)
		return 1;
	RUN(test_parse_crio_container);
	RUN(test_parse_crio_sandbox);
	RUN(test_parse_containerd);
	RUN(test_parse_oci_config);
	RUN(test_parse_docker_and_crio_annotations);
	RUN(test_parse_odd_documents);
	RUN(test_lookup_roots);
	RUN(test_lookup_rejects_walking_ids);
	RUN(test_lookup_rejects_dot_id);
	RUN(test_lookup_unreadable_states);
	if (rmdir(tmp_dir) != 0) {
		fprintf(stderr, "temporary dir %s not empty\n", tmp_dir);
		testing_remove_tree(tmp_dir);
	}
	return testing_done();
}
