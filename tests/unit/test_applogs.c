/* test_applogs.c: the dirs of in-container files kept in step with the pods
 * cache and the container table (applogs.c), with a real tail and loop on a
 * temporary kubelet root.
 *
 * The positive /proc/<pid>/root path needs a process in a container's
 * cgroup: tests/e2e/test_applogs.py covers it with runc; here a container
 * whose process is not in its cgroup must be refused.
 */
#include "applogs.h"
#include "containers.h"
#include "log.h"
#include "loop.h"
#include "pods.h"
#include "tail.h"
#include "testing.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#define UID_VOL	  "5a0b1c2d-3e4f-4051-8263-748596a7b8c9"
#define UID_BAD	  "6b1c2d3e-4f50-4162-9374-8596a7b8c9da"
#define UID_PROC  "7c2d3e4f-5061-4273-a485-96a7b8c9daeb"
#define UID_LATE  "8d3e4f50-6172-4384-b596-a7b8c9daebfc"
#define PROC_CID  "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00"
#define EMPTY_DIR "volumes/kubernetes.io~empty-dir"
#define WAIT_MS	  4000

static char tmp_dir[64];

static const char podlist[] =
    "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"items\":["
    "{\"metadata\":{\"name\":\"vol-1\",\"namespace\":\"apps\",\"uid\":\"" UID_VOL "\","
    "\"annotations\":{\"glimpse.io/logs\":\"/var/log/app/*.log\"}},"
    "\"spec\":{\"volumes\":[{\"name\":\"logs\",\"emptyDir\":{}}],"
    "\"containers\":[{\"name\":\"main\",\"volumeMounts\":[{\"name\":\"logs\","
    "\"mountPath\":\"/var/log/app\"}]}]}},"
    "{\"metadata\":{\"name\":\"bad-1\",\"namespace\":\"apps\",\"uid\":\"" UID_BAD "\","
    "\"annotations\":{\"glimpse.io/logs\":\"relative/*.log\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"main\"}]}},"
    "{\"metadata\":{\"name\":\"proc-1\",\"namespace\":\"apps\",\"uid\":\"" UID_PROC "\","
    "\"annotations\":{\"glimpse.io/logs\":\"/own/*.log\"}},"
    "\"spec\":{\"containers\":[{\"name\":\"srv\"}]}},"
    "{\"metadata\":{\"name\":\"late-1\",\"namespace\":\"apps\",\"uid\":\"" UID_LATE "\","
    "\"annotations\":{\"glimpse.io/logs\":\"/data/*.txt\"}},"
    "\"spec\":{\"volumes\":[{\"name\":\"d\",\"emptyDir\":{}}],"
    "\"containers\":[{\"name\":\"main\",\"volumeMounts\":[{\"name\":\"d\","
    "\"mountPath\":\"/data\"}]}]}}"
    "]}";

struct seen {
	int lines, opened, closed;
	char path[256], pod[TAIL_NAME_MAX + 1];
};

static void cb_opened(void *ctx, struct tail_file *f, const struct stat *st)
{
	struct seen *s = ctx;

	(void)st;
	s->opened++;
	snprintf(s->path, sizeof(s->path), "%s", f->container_path ? f->container_path : "");
	snprintf(s->pod, sizeof(s->pod), "%s", f->pod_name);
}

static bool cb_ready(void *ctx, struct tail_file *f)
{
	(void)ctx;
	(void)f;
	return true;
}

static void cb_line(void *ctx, struct tail_file *f, const char *data, size_t len, unsigned flags)
{
	(void)f;
	(void)data;
	(void)len;
	(void)flags;
	((struct seen *)ctx)->lines++;
}

static void cb_truncated(void *ctx, struct tail_file *f, uint64_t handed)
{
	(void)ctx;
	(void)f;
	(void)handed;
}

static void cb_closed(void *ctx, struct tail_file *f, bool drained, bool gone)
{
	(void)f;
	(void)drained;
	(void)gone;
	((struct seen *)ctx)->closed++;
}

static void stop(struct loop *loop, void *arg)
{
	(void)arg;
	loop_stop(loop);
}

/* Runs the loop until *counter reaches want or WAIT_MS passed. */
static bool run_until(struct loop *loop, const int *counter, int want)
{
	for (int i = 0; i < WAIT_MS / 20 && *counter < want; i++) {
		struct loop_timer *t = loop_timer_add(loop, 20, stop, NULL);
		loop_run(loop);
		(void)t;
	}
	return *counter >= want;
}

static void write_file(const char *path, const char *text)
{
	testing_write_file(path, text, strlen(text), 0644);
}

static void mkdirs(const char *path)
{
	char p[512];

	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
}

TEST(test_sync_follows_pods_and_containers)
{
	struct tail_callbacks cb = {.opened = cb_opened,
				    .ready = cb_ready,
				    .line = cb_line,
				    .truncated = cb_truncated,
				    .closed = cb_closed};
	char pods_dir[128], vol[256], late[256], file[320];
	struct seen seen = {0};
	struct loop *loop = loop_new();
	struct pods *pods = pods_new(0);
	struct containers *cs = containers_new(1000);
	struct applogs *x = applogs_new(tmp_dir);
	struct tail *tail = NULL;
	struct applogs_stats st;
	struct tail_stats ts;
	struct cgpath_info info = {.kind = CGPATH_CONTAINER};
	struct container *c;
	const char *err = NULL;
	bool created;

	CHECK(loop && pods && cs && x);
	snprintf(pods_dir, sizeof(pods_dir), "%s/logs", tmp_dir);
	mkdirs(pods_dir);
	snprintf(vol, sizeof(vol), "%s/pods/%s/%s/logs", tmp_dir, UID_VOL, EMPTY_DIR);
	mkdirs(vol);
	snprintf(file, sizeof(file), "%s/app.log", vol);
	write_file(file, "one\ntwo\n");
	snprintf(file, sizeof(file), "%s/other.txt", vol);
	write_file(file, "not asked for\n");
	{
		struct tail_options to = {.pods_dir = pods_dir,
					  .max_line = 1024,
					  .rescan_ms = 60000,
					  .deleted_grace_ms = 100,
					  .read_budget = 1 << 20,
					  .max_deleted_open = 16};
		CHECK_INT_EQ(tail_open(&tail, loop, &to, &cb, &seen), 0);
	}
	CHECK(pods_update(pods, podlist, sizeof(podlist) - 1, 1, NULL, &err) == 4);
	/* the proc-root pod's container, whose process is not in its cgroup */
	snprintf(info.pod_uid, sizeof(info.pod_uid), "%s", UID_PROC);
	snprintf(info.container_id, sizeof(info.container_id), "%s", PROC_CID);
	c = containers_add_cgroup(cs, 4242, &info, &created);
	CHECK(c != NULL);
	if (c) {
		CHECK_INT_EQ(containers_set_name(cs, c, "srv", NULL), 0);
		c->init_tgid = getpid();
		c->started = true;
	}

	/* the late pod's emptyDir is not there yet: ask again */
	CHECK(applogs_sync(x, pods, cs, tail, 1));
	applogs_get_stats(x, &st);
	CHECK_INT_EQ(st.dirs, 1);
	CHECK_INT_EQ(st.invalid, 1);
	CHECK_INT_EQ(st.proc_root_refused, 1);
	CHECK(run_until(loop, &seen.lines, 2));
	CHECK_INT_EQ(seen.opened, 1);
	CHECK_STR_EQ(seen.path, "/var/log/app/app.log");
	CHECK_STR_EQ(seen.pod, "vol-1");

	/* once there, it is watched; a complaint is made once */
	snprintf(late, sizeof(late), "%s/pods/%s/%s/d", tmp_dir, UID_LATE, EMPTY_DIR);
	mkdirs(late);
	snprintf(file, sizeof(file), "%s/out.txt", late);
	write_file(file, "late\n");
	CHECK(!applogs_sync(x, pods, cs, tail, 1));
	applogs_get_stats(x, &st);
	CHECK_INT_EQ(st.dirs, 2);
	CHECK_INT_EQ(st.invalid, 1);
	CHECK(run_until(loop, &seen.lines, 3));
	CHECK_STR_EQ(seen.path, "/data/out.txt");

	/* pods gone: their dirs are dropped and their files drained and closed */
	pods_expire(pods, 1000000);
	CHECK(!applogs_sync(x, pods, cs, tail, 1));
	applogs_get_stats(x, &st);
	CHECK_INT_EQ(st.dirs, 0);
	tail_get_stats(tail, &ts);
	CHECK_INT_EQ(ts.dirs_watched, 0);
	CHECK(run_until(loop, &seen.closed, 2));
	CHECK_INT_EQ(seen.lines, 3);

	tail_close(tail);
	applogs_free(x);
	containers_free(cs);
	pods_free(pods);
	loop_free(loop);
}

int main(void)
{
	if (testing_mkdtemp(tmp_dir, sizeof(tmp_dir), "applogs") != 0)
		return 1;
	log_set_level(LOG_ERROR);
	RUN(test_sync_follows_pods_and_containers);
	testing_remove_tree(tmp_dir);
	return testing_done();
}
