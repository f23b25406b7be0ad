/* test_containers.c: the container table (containers.c): cgroups mapping to
 * containers, the name and log path indexes, retention of gone containers,
 * and the scan of a cgroup tree, on a temporary directory tree shaped like
 * one.
 */
#include "containers.h"
#include "testing.h"

#include <errno.h>
#include <unistd.h>

#define ID_A  "aaaa000000000000000000000000000000000000000000000000000000000001"
#define ID_B  "bbbb000000000000000000000000000000000000000000000000000000000002"
#define ID_C  "cccc000000000000000000000000000000000000000000000000000000000003"
#define ID_D  "dddd000000000000000000000000000000000000000000000000000000000004"
#define UID_1 "0b6c1d2e-3f40-4152-8637-48596a7b8c9d"
#define UID_2 "1c7d2e3f-4051-4263-9748-596a7b8c9dae"

static char tmp_dir[64];

static struct cgpath_info info_for(const char *id, const char *uid)
{
	struct cgpath_info info;

	memset(&info, 0, sizeof(info));
	info.kind = CGPATH_CONTAINER;
	info.runtime = CGPATH_RUNTIME_CONTAINERD;
	info.qos = CGPATH_QOS_BURSTABLE;
	snprintf(info.container_id, sizeof(info.container_id), "%s", id);
	snprintf(info.pod_uid, sizeof(info.pod_uid), "%s", uid);
	return info;
}

/* One container to add: its info, under cgroup id cgid, the result into *out. */
struct member {
	uint64_t cgid;
	const struct cgpath_info *info;
	struct container **out;
};

/* A new table (retention_ms) holding the n members; NULL, the failure checked,
 * when the table or any member could not be made. */
static struct containers *table_of(int64_t retention_ms, const struct member *m, size_t n)
{
	struct containers *t = containers_new(retention_ms);
	bool created, all = true;

	CHECK(t != NULL);
	if (!t)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		*m[i].out = containers_add_cgroup(t, m[i].cgid, m[i].info, &created);
		all = all && *m[i].out;
	}
	CHECK(all);
	if (!all) {
		containers_free(t);
		return NULL;
	}
	return t;
}

TEST(test_add_and_remove_cgroups)
{
	struct containers *t = containers_new(1000);
	struct cgpath_info a = info_for(ID_A, UID_1), b = info_for(ID_B, UID_1);
	struct container *c1, *c2, *c3, *cb;
	bool created = false;

	CHECK(t != NULL);
	if (!t)
		return;
	c1 = containers_add_cgroup(t, 100, &a, &created);
	CHECK(c1 != NULL);
	CHECK(created);
	if (!c1) {
		containers_free(t);
		return;
	}
	CHECK_STR_EQ(c1->id, ID_A);
	CHECK_STR_EQ(c1->pod_uid, UID_1);
	CHECK_INT_EQ(c1->runtime, CGPATH_RUNTIME_CONTAINERD);
	CHECK_INT_EQ(c1->qos, CGPATH_QOS_BURSTABLE);
	CHECK_INT_EQ(c1->n_cgroups, 1);
	CHECK_INT_EQ(c1->gone_ms, 0);
	CHECK(c1->name == NULL);

	/* a second cgroup of the same container id: the same container */
	c2 = containers_add_cgroup(t, 101, &a, &created);
	CHECK(c2 == c1);
	CHECK(!created);
	CHECK_INT_EQ(c1->n_cgroups, 2);
	CHECK_INT_EQ(containers_count(t), 1);
	/* the same cgroup again changes nothing */
	c3 = containers_add_cgroup(t, 101, &a, &created);
	CHECK(c3 == c1);
	CHECK(!created);
	CHECK_INT_EQ(c1->n_cgroups, 2);

	/* another container */
	cb = containers_add_cgroup(t, 200, &b, &created);
	CHECK(cb != NULL && cb != c1);
	CHECK(created);
	CHECK_INT_EQ(containers_count(t), 2);

	CHECK(containers_by_cgroup(t, 100) == c1);
	CHECK(containers_by_cgroup(t, 101) == c1);
	CHECK(containers_by_cgroup(t, 200) == cb);
	CHECK(containers_by_cgroup(t, 999) == NULL);
	CHECK(containers_by_id(t, ID_A) == c1);
	CHECK(containers_by_id(t, ID_B) == cb);
	CHECK(containers_by_id(t, ID_C) == NULL);

	/* only the last cgroup's removal returns the container */
	CHECK(containers_remove_cgroup(t, 999, 5000) == NULL);
	CHECK(containers_remove_cgroup(t, 100, 5000) == NULL);
	CHECK_INT_EQ(c1->n_cgroups, 1);
	CHECK_INT_EQ(c1->gone_ms, 0);
	CHECK(containers_by_cgroup(t, 100) == NULL);
	CHECK(containers_by_cgroup(t, 101) == c1);
	CHECK(containers_remove_cgroup(t, 101, 5000) == c1);
	CHECK_INT_EQ(c1->n_cgroups, 0);
	CHECK_INT_EQ(c1->gone_ms, 5000);
	/* removing it again is a no-op */
	CHECK(containers_remove_cgroup(t, 101, 6000) == NULL);
	CHECK_INT_EQ(c1->gone_ms, 5000);
	/* kept: still found by id, no longer by cgroup */
	CHECK(containers_by_id(t, ID_A) == c1);
	CHECK(containers_by_cgroup(t, 101) == NULL);
	CHECK_INT_EQ(containers_count(t), 2);

	/* a gone time of 0 is still recorded as gone */
	CHECK(containers_remove_cgroup(t, 200, 0) == cb);
	CHECK(cb->gone_ms != 0);

	/* a new cgroup brings a gone container back */
	c2 = containers_add_cgroup(t, 102, &a, &created);
	CHECK(c2 == c1);
	CHECK(!created);
	CHECK_INT_EQ(c1->n_cgroups, 1);
	CHECK_INT_EQ(c1->gone_ms, 0);
	containers_free(t);
}

TEST(test_names_and_log_paths)
{
	struct cgpath_info a = info_for(ID_A, UID_1), b = info_for(ID_B, UID_1),
			   c = info_for(ID_C, UID_2);
	struct container *ca, *cb, *cc;
	struct containers *t =
	    table_of(1000, (struct member[]){{1, &a, &ca}, {2, &b, &cb}, {3, &c, &cc}}, 3);

	if (!t)
		return;
	CHECK(containers_by_pod_name(t, UID_1, "main") == NULL);
	CHECK_INT_EQ(containers_set_name(t, ca, "main", "/var/log/pods/ns_p_" UID_1 "/main/0.log"),
		     0);
	CHECK_STR_EQ(ca->name, "main");
	CHECK_STR_EQ(ca->log_path, "/var/log/pods/ns_p_" UID_1 "/main/0.log");
	CHECK(containers_by_pod_name(t, UID_1, "main") == ca);
	CHECK(containers_by_pod_name(t, UID_2, "main") == NULL);
	CHECK(containers_by_pod_name(t, UID_1, "mai") == NULL);
	CHECK(containers_by_log_path(t, "/var/log/pods/ns_p_" UID_1 "/main/0.log") == ca);
	CHECK(containers_by_log_path(t, "/var/log/pods/ns_p_" UID_1 "/main/1.log") == NULL);

	/* no log path, or an empty one: not indexed */
	CHECK_INT_EQ(containers_set_name(t, cc, "main", NULL), 0);
	CHECK(cc->log_path == NULL);
	CHECK(containers_by_pod_name(t, UID_2, "main") == cc);
	CHECK_INT_EQ(containers_set_name(t, cc, "main", ""), 0);
	CHECK(cc->log_path == NULL);
	CHECK(containers_by_log_path(t, "") == NULL);
	/* a log path arriving later is indexed then */
	CHECK_INT_EQ(containers_set_name(t, cc, "main", "/l/c.log"), 0);
	CHECK(containers_by_log_path(t, "/l/c.log") == cc);
	/* and is not replaced afterwards */
	CHECK_INT_EQ(containers_set_name(t, cc, "main", "/l/other.log"), 0);
	CHECK_STR_EQ(cc->log_path, "/l/c.log");
	CHECK(containers_by_log_path(t, "/l/other.log") == NULL);

	/* the restarted container of the same pod and name is the latest */
	CHECK_INT_EQ(containers_set_name(t, cb, "main", "/var/log/pods/ns_p_" UID_1 "/main/1.log"),
		     0);
	CHECK(containers_by_pod_name(t, UID_1, "main") == cb);
	CHECK(containers_by_log_path(t, "/var/log/pods/ns_p_" UID_1 "/main/0.log") == ca);
	CHECK(containers_by_log_path(t, "/var/log/pods/ns_p_" UID_1 "/main/1.log") == cb);

	/* the older one expiring leaves the latest indexed */
	CHECK(containers_remove_cgroup(t, 1, 10000) == ca);
	CHECK_INT_EQ(containers_expire(t, 11000), 1);
	CHECK(containers_by_id(t, ID_A) == NULL);
	CHECK(containers_by_pod_name(t, UID_1, "main") == cb);
	CHECK(containers_by_log_path(t, "/var/log/pods/ns_p_" UID_1 "/main/0.log") == NULL);
	CHECK(containers_by_log_path(t, "/var/log/pods/ns_p_" UID_1 "/main/1.log") == cb);
	CHECK_INT_EQ(containers_count(t), 2);
	containers_free(t);
}

TEST(test_expire_only_gone_after_retention)
{
	struct cgpath_info a = info_for(ID_A, UID_1), b = info_for(ID_B, UID_1),
			   d = info_for(ID_D, UID_2);
	struct container *ca, *cb, *cd;
	struct containers *t =
	    table_of(1000, (struct member[]){{1, &a, &ca}, {2, &b, &cb}, {4, &d, &cd}}, 3);
	bool created;

	if (!t)
		return;
	CHECK_INT_EQ(containers_set_name(t, ca, "a", "/logs/a.log"), 0);
	CHECK_INT_EQ(containers_set_name(t, cb, "b", "/logs/b.log"), 0);

	/* live containers never expire */
	CHECK_INT_EQ(containers_expire(t, INT64_MAX / 2), 0);
	CHECK_INT_EQ(containers_count(t), 3);

	CHECK(containers_remove_cgroup(t, 1, 5000) == ca);
	CHECK(containers_remove_cgroup(t, 4, 5500) == cd);
	CHECK_INT_EQ(containers_expire(t, 5000), 0);
	CHECK_INT_EQ(containers_expire(t, 5999), 0);
	CHECK_INT_EQ(containers_count(t), 3);
	CHECK(containers_by_pod_name(t, UID_1, "a") == ca);
	/* gone for exactly the retention time: expired */
	CHECK_INT_EQ(containers_expire(t, 6000), 1);
	CHECK_INT_EQ(containers_count(t), 2);
	CHECK(containers_by_id(t, ID_A) == NULL);
	CHECK(containers_by_pod_name(t, UID_1, "a") == NULL);
	CHECK(containers_by_log_path(t, "/logs/a.log") == NULL);
	CHECK(containers_by_id(t, ID_B) == cb);
	CHECK(containers_by_pod_name(t, UID_1, "b") == cb);
	CHECK(containers_by_id(t, ID_D) == cd);
	CHECK_INT_EQ(containers_expire(t, 6499), 0);
	CHECK_INT_EQ(containers_expire(t, 6500), 1);
	CHECK(containers_by_id(t, ID_D) == NULL);
	CHECK_INT_EQ(containers_count(t), 1);

	/* a container id seen again after expiry is a new container */
	ca = containers_add_cgroup(t, 1, &a, &created);
	CHECK(ca != NULL);
	CHECK(created);
	if (ca)
		CHECK(ca->name == NULL);
	CHECK_INT_EQ(containers_count(t), 2);
	containers_free(t);
}

/* A renamed container must not stay indexed under its old name: once it
 * expires, that entry would point at freed memory. */
TEST(test_rename_drops_old_name)
{
	struct cgpath_info a = info_for(ID_A, UID_1);
	struct container *ca;
	struct containers *t = table_of(0, (struct member[]){{1, &a, &ca}}, 1);

	if (!t)
		return;
	CHECK_INT_EQ(containers_set_name(t, ca, "old", NULL), 0);
	CHECK_INT_EQ(containers_set_name(t, ca, "new", NULL), 0);
	CHECK_STR_EQ(ca->name, "new");
	CHECK(containers_by_pod_name(t, UID_1, "new") == ca);
	CHECK(containers_by_pod_name(t, UID_1, "old") == NULL);
	CHECK(containers_remove_cgroup(t, 1, 100) == ca);
	CHECK_INT_EQ(containers_expire(t, 100), 1);
	CHECK(containers_by_pod_name(t, UID_1, "new") == NULL);
	/* without the fix this is the freed container */
	CHECK(containers_by_pod_name(t, UID_1, "old") == NULL);
	containers_free(t);
}

/* The generation moves with every change of what the lookups answer, and
 * only then: a lookup made at one generation holds until it moves. */
TEST(test_generation_tracks_changes)
{
	struct cgpath_info a = info_for(ID_A, UID_1);
	struct containers *t = containers_new(1000);
	struct container *ca;
	uint64_t g;
	bool created;

	CHECK(t != NULL);
	if (!t)
		return;
	g = containers_generation(t);
	CHECK(containers_by_pod_name(t, UID_1, "a") == NULL);
	CHECK(containers_by_id(t, ID_A) == NULL);

	ca = containers_add_cgroup(t, 1, &a, &created);
	CHECK(ca != NULL && created);
	if (!ca) {
		containers_free(t);
		return;
	}
	CHECK(containers_generation(t) != g);
	g = containers_generation(t);
	/* another cgroup of the same container, lookups, an expiry that frees
	 * nothing: no change */
	CHECK(containers_add_cgroup(t, 2, &a, &created) == ca && !created);
	CHECK(containers_by_cgroup(t, 2) == ca);
	CHECK_INT_EQ(containers_expire(t, 10000), 0);
	CHECK(containers_remove_cgroup(t, 2, 100) == NULL); /* not its last cgroup */
	CHECK(containers_generation(t) == g);

	CHECK_INT_EQ(containers_set_name(t, ca, "a", "/logs/a.log"), 0);
	CHECK(containers_generation(t) != g);
	g = containers_generation(t);
	CHECK(containers_by_log_path(t, "/logs/a.log") == ca);

	CHECK(containers_remove_cgroup(t, 1, 100) == ca);
	CHECK(containers_generation(t) != g);
	g = containers_generation(t);
	CHECK_INT_EQ(containers_expire(t, 500), 0);
	CHECK(containers_generation(t) == g);
	CHECK_INT_EQ(containers_expire(t, 1100), 1);
	CHECK(containers_generation(t) != g);
	CHECK(containers_by_log_path(t, "/logs/a.log") == NULL);
	containers_free(t);
}

TEST(test_free_with_retained)
{
	struct containers *t = containers_new(1000);
	struct cgpath_info a = info_for(ID_A, UID_1);
	struct container *ca;
	bool created;

	CHECK(t != NULL);
	if (!t)
		return;
	ca = containers_add_cgroup(t, 1, &a, &created);
	if (ca) {
		containers_set_name(t, ca, "x", "/x.log");
		containers_remove_cgroup(t, 1, 1);
	}
	containers_free(t); /* ASan reports what this leaks */
	containers_free(NULL);
}

/* ---- containers_scan ---- */

#define SCAN_UID    "081d040e-c94b-41ea-8278-eb12903ddd99"
#define SCAN_UID_SD "2942c55e_c9cb_428a_93f4_eaf89c1f3ce0"

struct scan_expect {
	const char *rel;
	uint64_t ino;
	int seen;
};

struct scan_ctx {
	struct scan_expect *want;
	size_t n_want;
	int calls;
	int unexpected;
	struct containers *table;
};

static void scan_found(void *arg, uint64_t cgid, const char *rel_path)
{
	struct scan_ctx *x = arg;
	struct cgpath_info info;
	bool created;

	x->calls++;
	for (size_t i = 0; i < x->n_want; i++) {
		if (strcmp(x->want[i].rel, rel_path) == 0) {
			x->want[i].seen++;
			if (x->want[i].ino != cgid) {
				fprintf(stderr, "  %s: id %llu, expected inode %llu\n", rel_path,
					(unsigned long long)cgid,
					(unsigned long long)x->want[i].ino);
				x->unexpected++;
			}
			if (x->table && cgpath_parse(rel_path, strlen(rel_path), &info) == 0)
				containers_add_cgroup(x->table, cgid, &info, &created);
			return;
		}
	}
	fprintf(stderr, "  unexpected container cgroup %s\n", rel_path);
	x->unexpected++;
}

static int mkdirs(const char *root, const char *rel)
{
	char path[4096];
	size_t n = (size_t)snprintf(path, sizeof(path), "%s%s", root, rel);

	for (size_t i = strlen(root) + 1; i <= n; i++) {
		if (path[i] == '/' || path[i] == '\0') {
			char c = path[i];
			path[i] = '\0';
			if (mkdir(path, 0755) != 0 && errno != EEXIST)
				return -1;
			path[i] = c;
		}
	}
	return 0;
}

static uint64_t inode_of(const char *root, const char *rel)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	return stat(path, &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static void touch(const char *root, const char *rel)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	f = fopen(path, "w");
	if (f)
		fclose(f);
}

TEST(test_scan_tree)
{
	static const char *const containers[] = {
	    "/kubepods/besteffort/pod" SCAN_UID "/" ID_A,
	    "/kubepods/besteffort/pod" SCAN_UID "/" ID_B,
	    "/kubepods/pod" UID_2 "/" ID_C,
	    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" SCAN_UID_SD
	    ".slice/cri-containerd-" ID_D ".scope",
	};
	static const char *const others[] = {
	    "/system.slice/containerd.service",
	    "/system.slice/kubelet.service",
	    "/user.slice/user-1000.slice/session-1.scope",
	    "/kubepods/burstable",
	    "/kubepods/besteffort/pod" SCAN_UID "/not-a-container",
	    "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" SCAN_UID_SD
	    ".slice/cri-containerd-conmon",
	};
	struct scan_expect want[4];
	struct scan_ctx x = {.want = want, .n_want = 4};
	char root[128];
	int visited, dirs;

	snprintf(root, sizeof(root), "%s/cgroup", tmp_dir);
	CHECK_INT_EQ(mkdir(root, 0755), 0);
	for (size_t i = 0; i < 4; i++) {
		CHECK_INT_EQ(mkdirs(root, containers[i]), 0);
		want[i] = (struct scan_expect){containers[i], inode_of(root, containers[i]), 0};
	}
	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		CHECK_INT_EQ(mkdirs(root, others[i]), 0);
	/* files, as a cgroup fs has them, are not directories to walk */
	touch(root, "/cgroup.procs");
	touch(root, "/kubepods/besteffort/pod" SCAN_UID "/" ID_A "/cgroup.procs");
	{
		char path[4096];
		/* a file named like a container is not a cgroup */
		snprintf(path, sizeof(path), "/kubepods/besteffort/pod%s/%s", SCAN_UID,
			 "eeee000000000000000000000000000000000000000000000000000000000005");
		touch(root, path);
	}

	x.table = containers_new(1000);
	visited = containers_scan(root, scan_found, &x);
	/* root, kubepods, besteffort, pod, A, B, not-a-container, kubepods/pod<uid2>, C,
	 * kubepods.slice, burstable.slice, pod slice, D, conmon, system.slice, 2 services,
	 * user.slice, user-1000.slice, session-1.scope, burstable */
	dirs = 21;
	CHECK_INT_EQ(visited, dirs);
	CHECK_INT_EQ(x.calls, 4);
	CHECK_INT_EQ(x.unexpected, 0);
	for (size_t i = 0; i < 4; i++) {
		if (want[i].seen != 1)
			fprintf(stderr, "  %s seen %d times\n", want[i].rel, want[i].seen);
		CHECK_INT_EQ(want[i].seen, 1);
		CHECK(want[i].ino != 0);
	}
	/* what it found fills the table */
	if (x.table) {
		struct container *c = containers_by_cgroup(x.table, want[0].ino);
		CHECK_INT_EQ(containers_count(x.table), 4);
		CHECK(c != NULL);
		if (c) {
			CHECK_STR_EQ(c->id, ID_A);
			CHECK_STR_EQ(c->pod_uid, SCAN_UID);
			CHECK_INT_EQ(c->qos, CGPATH_QOS_BESTEFFORT);
		}
		c = containers_by_id(x.table, ID_D);
		CHECK(c != NULL);
		if (c) {
			CHECK_INT_EQ(c->runtime, CGPATH_RUNTIME_CONTAINERD);
			CHECK_STR_EQ(c->pod_uid, "2942c55e-c9cb-428a-93f4-eaf89c1f3ce0");
		}
	}
	containers_free(x.table);
	testing_remove_tree(root);
}

TEST(test_scan_missing_root_and_depth)
{
	struct scan_ctx x = {0};
	char root[128], rel[4096] = "";
	size_t n = 0;
	int visited;

	snprintf(root, sizeof(root), "%s/none", tmp_dir);
	CHECK_INT_EQ(containers_scan(root, scan_found, &x), -ENOENT);
	CHECK_INT_EQ(x.calls, 0);

	/* a chain 40 deep: the walk stops well before the bottom */
	snprintf(root, sizeof(root), "%s/deep", tmp_dir);
	CHECK_INT_EQ(mkdir(root, 0755), 0);
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(rel + n, sizeof(rel) - n, "/d%d", i);
	CHECK_INT_EQ(mkdirs(root, rel), 0);
	visited = containers_scan(root, scan_found, &x);
	CHECK(visited > 10);
	CHECK(visited < 40);
	CHECK_INT_EQ(x.calls, 0);
	testing_remove_tree(root);
}

int main(void)
{
	if (testing_mkdtemp(tmp_dir, sizeof(tmp_dir), "containers") != 0)
		return 1;
	RUN(test_add_and_remove_cgroups);
	RUN(test_names_and_log_paths);
	RUN(test_expire_only_gone_after_retention);
	RUN(test_rename_drops_old_name);
	RUN(test_generation_tracks_changes);
	RUN(test_free_with_retained);
	RUN(test_scan_tree);
	RUN(test_scan_missing_root_and_depth);
	testing_remove_tree(tmp_dir);
	return testing_done();
}
