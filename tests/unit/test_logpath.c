/* test_logpath.c: unit tests for logpath.c: parsing glimpse.io/logs
 * annotations, resolving their directories through a pod's volume mounts (on
 * PodLists of our own in tests/data/kubelet/, on hand-made pods for what no
 * PodList reaches, and on the shared kubelet fixtures when present), and
 * matching file names.
 *
 * Run from the repository root (the data files are found by relative path).
 */
#include "logpath.h"
#include "pods.h"
#include "testing.h"

#include <errno.h>

#define DATA_DIR     "tests/data/kubelet/"
#define KUBELET_ROOT "/var/lib/kubelet"

/* UIDs of tests/data/kubelet/podlist_volumes.json and podlist_logpath.json */
#define UID_VOLUMES "2c8e6f3d-4d5f-4a71-8cbd-2e3f4a5b6c01"
#define UID_EDGE    "4e0a8b5f-6f7a-4c93-8def-4a5b6c7d8e01"

#define EMPTY_DIR(uid, name) KUBELET_ROOT "/pods/" uid "/volumes/kubernetes.io~empty-dir/" name

static struct logpath_glob globs[LOGPATH_MAX_ENTRIES + 1];

static struct pods *load(const char *file)
{
	struct pods *pods = pods_new(60000);
	size_t len = 0, skipped = 99;
	char *json = testing_read_file(file, &len);
	const char *err = NULL;
	int rc;

	CHECK(pods != NULL && json != NULL);
	if (!pods || !json) {
		fprintf(stderr, "  cannot read %s\n", file);
		free(json);
		return pods;
	}
	rc = pods_update(pods, json, len, 1, &skipped, &err);
	if (rc < 0)
		fprintf(stderr, "  %s: %d (%s)\n", file, rc, err ? err : "?");
	CHECK(rc > 0);
	CHECK_INT_EQ(skipped, 0);
	free(json);
	return pods;
}

/* Parses one entry that must be good into g. */
static bool parse_one(struct logpath_glob *g, const char *entry)
{
	const char *err = NULL;
	int n = logpath_parse(entry, g, 1, &err);

	if (n != 1)
		fprintf(stderr, "  logpath_parse(\"%s\"): %d (%s)\n", entry, n, err ? err : "-");
	return n == 1;
}

/* Resolves entry for a container of pod and checks the outcome: rc, and
 * when 0, the directory, where its part beneath the volume starts (the
 * length of base), and whether it is read via /proc/<pid>/root. */
static void check_resolve_at(int line, const struct pod *pod, const char *container,
			     const char *entry, int rc, const char *dir, const char *base,
			     bool via_proc_root)
{
	struct logpath_glob g;
	const struct pod_container *pc = pod_container_by_name(pod, container);
	int got;

	if (!pod || !pc) {
		fprintf(stderr, "  line %d: no pod, or no container %s\n", line, container);
		testing_current_failed = 1;
		return;
	}
	if (!parse_one(&g, entry)) {
		testing_current_failed = 1;
		return;
	}
	got = logpath_resolve(&g, pod, pc, KUBELET_ROOT);
	if (got != rc) {
		fprintf(stderr, "  line %d: %s in %s: %d, expected %d (dir \"%s\")\n", line, entry,
			container, got, rc, g.dir);
		testing_current_failed = 1;
		return;
	}
	if (rc != 0) {
		CHECK_STR_EQ(g.dir, "");
		return;
	}
	if (strcmp(g.dir, dir) != 0 || g.via_proc_root != via_proc_root ||
	    g.dir_base_len != strlen(base) || strncmp(g.dir, base, strlen(base)) != 0) {
		fprintf(stderr,
			"  line %d: %s in %s: dir \"%s\" base %zu proc %d, expected \"%s\" "
			"base %zu proc %d\n",
			line, entry, container, g.dir, g.dir_base_len, g.via_proc_root, dir,
			strlen(base), via_proc_root);
		testing_current_failed = 1;
	}
}

#define check_resolve(...) check_resolve_at(__LINE__, __VA_ARGS__)

TEST(test_parse_good)
{
	const char *err = "unset";

	CHECK_INT_EQ(logpath_parse(" /var/log/app/*.log, /data/out/*.txt ", globs,
				   LOGPATH_MAX_ENTRIES, &err),
		     2);
	CHECK(err == NULL);
	CHECK_STR_EQ(globs[0].container_dir, "/var/log/app");
	CHECK_STR_EQ(globs[0].pattern, "*.log");
	CHECK_STR_EQ(globs[1].container_dir, "/data/out");
	CHECK_STR_EQ(globs[1].pattern, "*.txt");
	CHECK_STR_EQ(globs[1].dir, "");
	CHECK(!globs[1].via_proc_root);

	/* a YAML block scalar: line ends and indentation around entries */
	CHECK_INT_EQ(logpath_parse("/a/[0-9]?.log,\n  /b/c/app.log\n\t, /my dir/x y.log\n", globs,
				   LOGPATH_MAX_ENTRIES, NULL),
		     3);
	CHECK_STR_EQ(globs[0].container_dir, "/a");
	CHECK_STR_EQ(globs[0].pattern, "[0-9]?.log");
	CHECK_STR_EQ(globs[1].container_dir, "/b/c");
	CHECK_STR_EQ(globs[1].pattern, "app.log");
	/* spaces inside an entry are its own */
	CHECK_STR_EQ(globs[2].container_dir, "/my dir");
	CHECK_STR_EQ(globs[2].pattern, "x y.log");

	/* a trailing '/' names every file of the directory; the root alone too */
	CHECK_INT_EQ(logpath_parse("/var/log/app/, /, /top.log", globs, 3, NULL), 3);
	CHECK_STR_EQ(globs[0].container_dir, "/var/log/app");
	CHECK_STR_EQ(globs[0].pattern, "*");
	CHECK_STR_EQ(globs[1].container_dir, "/");
	CHECK_STR_EQ(globs[1].pattern, "*");
	CHECK_STR_EQ(globs[2].container_dir, "/");
	CHECK_STR_EQ(globs[2].pattern, "top.log");

	/* dots inside names are not "." or ".." components */
	CHECK_INT_EQ(logpath_parse("/a.d/..b/.../.hidden*", globs, 1, NULL), 1);
	CHECK_STR_EQ(globs[0].container_dir, "/a.d/..b/...");
	CHECK_STR_EQ(globs[0].pattern, ".hidden*");

	/* blank: no entries */
	CHECK_INT_EQ(logpath_parse("", globs, 1, &err), 0);
	CHECK_INT_EQ(logpath_parse(" \n\t ", globs, 1, &err), 0);
	CHECK(err == NULL);
	/* out NULL: only checked */
	CHECK_INT_EQ(logpath_parse("/a/*, /b/*, /c/*", NULL, 0, NULL), 3);
}

TEST(test_parse_limits)
{
	char buf[LOGPATH_MAX_ENTRY * 2 + 64];
	char many[LOGPATH_MAX_ENTRIES * 8 + 16] = "";
	const char *err = NULL;
	size_t len;

	/* 16 entries are taken, 17 are not */
	for (int i = 0; i < LOGPATH_MAX_ENTRIES; i++) {
		len = strlen(many);
		snprintf(many + len, sizeof(many) - len, "%s/d%d/*", i ? "," : "", i);
	}
	CHECK_INT_EQ(logpath_parse(many, globs, LOGPATH_MAX_ENTRIES + 1, &err), 16);
	CHECK_STR_EQ(globs[15].container_dir, "/d15");
	CHECK_INT_EQ(logpath_parse(many, globs, 15, &err), -EINVAL);
	CHECK_STR_EQ(err, "more entries than room for");
	len = strlen(many);
	snprintf(many + len, sizeof(many) - len, ",/d16/*");
	CHECK_INT_EQ(logpath_parse(many, globs, LOGPATH_MAX_ENTRIES + 1, &err), -EINVAL);
	CHECK_STR_EQ(err, "more than 16 entries");
	CHECK_INT_EQ(logpath_parse(many, NULL, 0, &err), -EINVAL);

	/* an entry of 1024 bytes, then 1025; with spaces around, which do not count */
	memset(buf, 0, sizeof(buf));
	buf[0] = ' ';
	for (size_t i = 1; i <= LOGPATH_MAX_ENTRY; i++)
		buf[i] = i % 200 == 1 ? '/' : 'a';
	buf[LOGPATH_MAX_ENTRY + 1] = ' ';
	CHECK_INT_EQ(logpath_parse(buf, globs, 1, &err), 1);
	CHECK_INT_EQ(strlen(globs[0].container_dir) + 1 + strlen(globs[0].pattern),
		     LOGPATH_MAX_ENTRY);
	buf[LOGPATH_MAX_ENTRY + 1] = 'a';
	CHECK_INT_EQ(logpath_parse(buf, globs, 1, &err), -EINVAL);
	CHECK_STR_EQ(err, "entry longer than 1024 bytes");

	/* components of 255 bytes, then 256 */
	memset(buf, 0, sizeof(buf));
	buf[0] = '/';
	memset(buf + 1, 'd', NAME_MAX);
	buf[NAME_MAX + 1] = '/';
	memset(buf + NAME_MAX + 2, 'f', NAME_MAX);
	CHECK_INT_EQ(logpath_parse(buf, globs, 1, &err), 1);
	CHECK_INT_EQ(strlen(globs[0].pattern), NAME_MAX);
	buf[NAME_MAX * 2 + 2] = 'f';
	CHECK_INT_EQ(logpath_parse(buf, globs, 1, &err), -EINVAL);
	CHECK_STR_EQ(err, "component longer than 255 bytes");
	/* ...before the last component too */
	memset(buf, 0, sizeof(buf));
	buf[0] = '/';
	memset(buf + 1, 'd', NAME_MAX + 1);
	memcpy(buf + NAME_MAX + 2, "/x.log", sizeof("/x.log"));
	CHECK_INT_EQ(logpath_parse(buf, globs, 1, &err), -EINVAL);
	CHECK_STR_EQ(err, "component longer than 255 bytes");
}

TEST(test_parse_bad)
{
	static const struct {
		const char *annotation;
		const char *reason;
	} cases[] = {
	    {"var/log/*.log", "entry is not an absolute path"},
	    {"*.log", "entry is not an absolute path"},
	    {"/a/*.log, b/*.log", "entry is not an absolute path"},
	    {"~/logs/*.log", "entry is not an absolute path"},
	    {"/a/*.log,,/b/*.log", "empty entry"},
	    {"/a/*.log,", "empty entry"},
	    {",/a/*.log", "empty entry"},
	    {" , ", "empty entry"},
	    {"/var/../etc/*.log", "'.' or '..' component in entry"},
	    {"/var/./log/x.log", "'.' or '..' component in entry"},
	    {"/var/log/..", "'.' or '..' component in entry"},
	    {"/var/log/.", "'.' or '..' component in entry"},
	    {"/..", "'.' or '..' component in entry"},
	    {"/var/log/../", "'.' or '..' component in entry"},
	    {"/var//log/x.log", "empty component in entry"},
	    {"//x.log", "empty component in entry"},
	    {"/var/log//", "empty component in entry"},
	    {"/var/*/x.log", "wildcard before the last component"},
	    {"/var/log?/x.log", "wildcard before the last component"},
	    {"/var/[ab]/x.log", "wildcard before the last component"},
	    {"/var/log/*/", "wildcard before the last component"},
	    {"/var/log/a\tb.log", "control character in entry"},
	    {"/var/log/a\nb.log", "control character in entry"},
	    {"/var/log/\x7f.log", "control character in entry"},
	};
	const char *err = NULL;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = NULL;
		CHECK_INT_EQ(logpath_parse(cases[i].annotation, globs, LOGPATH_MAX_ENTRIES, &err),
			     -EINVAL);
		if (!err || strcmp(err, cases[i].reason) != 0) {
			fprintf(stderr, "  \"%s\": \"%s\", expected \"%s\"\n", cases[i].annotation,
				err ? err : "(null)", cases[i].reason);
			testing_current_failed = 1;
		}
		/* checking alone says the same */
		CHECK_INT_EQ(logpath_parse(cases[i].annotation, NULL, 0, NULL), -EINVAL);
	}
	CHECK_INT_EQ(logpath_parse(NULL, globs, 1, &err), -EINVAL);
	CHECK_STR_EQ(err, "no annotation");
}

TEST(test_resolve_volume_kinds)
{
	struct pods *pods = load(DATA_DIR "podlist_volumes.json");
	const struct pod *pod = pods_lookup(pods, UID_VOLUMES);

	CHECK(pod != NULL);
	/* emptyDir, at the mount and beneath it */
	check_resolve(pod, "app", "/var/log/app/*.log", 0, EMPTY_DIR(UID_VOLUMES, "app-logs"),
		      EMPTY_DIR(UID_VOLUMES, "app-logs"), false);
	check_resolve(pod, "app", "/var/log/app/nested/deeper/*.log", 0,
		      EMPTY_DIR(UID_VOLUMES, "app-logs") "/nested/deeper",
		      EMPTY_DIR(UID_VOLUMES, "app-logs"), false);
	/* emptyDir with a subPath: the subPath is beneath the volume */
	check_resolve(pod, "app", "/data/out/*.txt", 0,
		      EMPTY_DIR(UID_VOLUMES, "app-logs") "/out/app",
		      EMPTY_DIR(UID_VOLUMES, "app-logs"), false);
	/* an emptyDir in memory is at the same place */
	check_resolve(pod, "app", "/cache/*.log", 0, EMPTY_DIR(UID_VOLUMES, "cache"),
		      EMPTY_DIR(UID_VOLUMES, "cache"), false);
	/* hostPath with a subPath */
	check_resolve(pod, "app", "/var/log/host/*.log", 0, "/var/log/shared/app",
		      "/var/log/shared", false);
	check_resolve(pod, "app", "/var/log/host/x/", 0, "/var/log/shared/app/x", "/var/log/shared",
		      false);
	/* configMap, PVC, projected: through the container's root */
	check_resolve(pod, "app", "/etc/app/*.conf", 0, "/etc/app", "", true);
	check_resolve(pod, "sidecar", "/database/pg/*.log", 0, "/database/pg", "", true);
	check_resolve(pod, "app", "/var/run/secrets/kubernetes.io/serviceaccount/*", 0,
		      "/var/run/secrets/kubernetes.io/serviceaccount", "", true);
	/* above every mount, or next to one */
	check_resolve(pod, "app", "/var/log/*.log", 0, "/var/log", "", true);
	check_resolve(pod, "app", "/var/log/application/*.log", 0, "/var/log/application", "",
		      true);
	check_resolve(pod, "app", "/data/*.txt", 0, "/data", "", true);
	check_resolve(pod, "app", "/*.log", 0, "/", "", true);
	/* the same volume elsewhere in another container */
	check_resolve(pod, "sidecar", "/logs/*.log", 0, EMPTY_DIR(UID_VOLUMES, "app-logs"),
		      EMPTY_DIR(UID_VOLUMES, "app-logs"), false);
	check_resolve(pod, "sidecar", "/var/log/app/*.log", 0, "/var/log/app", "", true);
	/* init and ephemeral containers have their mounts too */
	check_resolve(pod, "setup", "/var/log/app/*.log", 0, EMPTY_DIR(UID_VOLUMES, "app-logs"),
		      EMPTY_DIR(UID_VOLUMES, "app-logs"), false);
	check_resolve(pod, "debug", "/debug/logs/*.log", 0, EMPTY_DIR(UID_VOLUMES, "app-logs"),
		      EMPTY_DIR(UID_VOLUMES, "app-logs"), false);
	/* a container without mounts, one only the status names, and a
	 * subPathExpr, whose expansion is not known */
	check_resolve(pod, "bare", "/var/log/app/*.log", 0, "/var/log/app", "", true);
	check_resolve(pod, "late", "/var/log/app/*.log", 0, "/var/log/app", "", true);
	check_resolve(pod, "expr", "/var/log/app/*.log", 0, "/var/log/app", "", true);
	pods_free(pods);
}

TEST(test_resolve_prefix_edges)
{
	struct pods *pods = load(DATA_DIR "podlist_logpath.json");
	const struct pod *pod = pods_lookup(pods, UID_EDGE);

	CHECK(pod != NULL);
	/* component-wise: /data is not a prefix of /database, nor of /datab */
	check_resolve(pod, "prefix", "/data/*.log", 0, EMPTY_DIR(UID_EDGE, "data"),
		      EMPTY_DIR(UID_EDGE, "data"), false);
	check_resolve(pod, "prefix", "/database/*.log", 0, "/srv/db", "/srv/db", false);
	check_resolve(pod, "prefix", "/database/2024/*.log", 0, "/srv/db/2024", "/srv/db", false);
	check_resolve(pod, "prefix", "/datab/*.log", 0, "/datab", "", true);
	check_resolve(pod, "prefix", "/dat/*.log", 0, "/dat", "", true);
	/* the mount point itself, named with a trailing '/' */
	check_resolve(pod, "prefix", "/data/", 0, EMPTY_DIR(UID_EDGE, "data"),
		      EMPTY_DIR(UID_EDGE, "data"), false);
	/* mount paths with trailing and doubled slashes */
	check_resolve(pod, "trailing", "/data/x/*.log", 0, EMPTY_DIR(UID_EDGE, "data") "/x",
		      EMPTY_DIR(UID_EDGE, "data"), false);
	check_resolve(pod, "trailing", "/logs/app/*.log", 0, "/srv/db", "/srv/db", false);
	check_resolve(pod, "trailing", "/logs/*.log", 0, "/logs", "", true);
	/* a mount at /: everything is beneath it, but longer mounts win */
	check_resolve(pod, "at-root", "/opt/log/*.log", 0, EMPTY_DIR(UID_EDGE, "whole") "/opt/log",
		      EMPTY_DIR(UID_EDGE, "whole"), false);
	check_resolve(pod, "at-root", "/*.log", 0, EMPTY_DIR(UID_EDGE, "whole"),
		      EMPTY_DIR(UID_EDGE, "whole"), false);
	check_resolve(pod, "at-root", "/var/log/*.log", 0, EMPTY_DIR(UID_EDGE, "data") "/log",
		      EMPTY_DIR(UID_EDGE, "data"), false);
	check_resolve(pod, "at-root", "/var/config/*.log", 0, "/var/config", "", true);
	check_resolve(pod, "at-root", "/var/configs/*.log", 0,
		      EMPTY_DIR(UID_EDGE, "data") "/configs", EMPTY_DIR(UID_EDGE, "data"), false);
	/* the host's root as a volume, and a hostPath written untidily */
	check_resolve(pod, "host-root", "/host/var/log/*.log", 0, "/var/log", "", false);
	check_resolve(pod, "host-root", "/host/*.log", 0, "/", "", false);
	check_resolve(pod, "host-root", "/messy/a/*.log", 0, "/srv/logs/x/a", "/srv/logs/x", false);
	/* two mounts of the same path: the later one shadows the earlier */
	check_resolve(pod, "shadow", "/logs/*.log", 0, "/srv/db", "/srv/db", false);
	/* subPaths */
	check_resolve(pod, "subpaths", "/sub-clean/*.log", 0, EMPTY_DIR(UID_EDGE, "data") "/a/b",
		      EMPTY_DIR(UID_EDGE, "data"), false);
	check_resolve(pod, "subpaths", "/sub-host/app/*.log", 0, "/srv/db/pod-1/logs/app",
		      "/srv/db", false);
	check_resolve(pod, "subpaths", "/sub-up/*.log", -EINVAL, NULL, NULL, false);
	check_resolve(pod, "subpaths", "/sub-dots/*.log", -EINVAL, NULL, NULL, false);
	check_resolve(pod, "subpaths", "/sub-abs/*.log", -EINVAL, NULL, NULL, false);
	pods_free(pods);
}

TEST(test_resolve_hostile)
{
	struct pods *pods = load(DATA_DIR "podlist_logpath.json");
	const struct pod *pod = pods_lookup(pods, UID_EDGE);

	CHECK(pod != NULL);
	/* volume names that are not one component */
	check_resolve(pod, "hostile", "/slash/*.log", -EINVAL, NULL, NULL, false);
	check_resolve(pod, "hostile", "/dots/*.log", -EINVAL, NULL, NULL, false);
	/* hostPaths that are relative or climb */
	check_resolve(pod, "hostile", "/relative/*.log", -EINVAL, NULL, NULL, false);
	check_resolve(pod, "hostile", "/up/*.log", -EINVAL, NULL, NULL, false);
	check_resolve(pod, "hostile", "/up-named/*.log", -EINVAL, NULL, NULL, false);
	/* mount paths that climb or are relative never match */
	check_resolve(pod, "hostile", "/y/*.log", 0, "/y", "", true);
	check_resolve(pod, "hostile", "/x/*.log", 0, "/x", "", true);
	check_resolve(pod, "hostile", "/mount/*.log", 0, "/mount", "", true);
	/* a mount of a volume the pod does not have */
	check_resolve(pod, "hostile", "/missing/*.log", 0, "/missing", "", true);

	/* a pod uid that is a path, or "..": no emptyDir path is made of it */
	check_resolve(pods_lookup(pods, "../../../etc"), "c", "/data/*.log", -EINVAL, NULL, NULL,
		      false);
	pod = pods_lookup(pods, "..");
	check_resolve(pod, "c", "/data/*.log", -EINVAL, NULL, NULL, false);
	/* a hostPath does not use the uid */
	check_resolve(pod, "c", "/host/*.log", 0, "/srv/host", "/srv/host", false);
	pods_free(pods);
}

TEST(test_resolve_arguments)
{
	struct pods *pods = load(DATA_DIR "podlist_volumes.json");
	const struct pod *pod = pods_lookup(pods, UID_VOLUMES);
	const struct pod_container *app = pod_container_by_name(pod, "app");
	struct logpath_glob g;

	CHECK(pod != NULL && app != NULL);
	CHECK(parse_one(&g, "/var/log/app/*.log"));
	/* the kubelet's root as given: trailing '/', the root itself */
	CHECK_INT_EQ(logpath_resolve(&g, pod, app, KUBELET_ROOT "/"), 0);
	CHECK_STR_EQ(g.dir, EMPTY_DIR(UID_VOLUMES, "app-logs"));
	CHECK_INT_EQ(logpath_resolve(&g, pod, app, "/"), 0);
	CHECK_STR_EQ(g.dir, "/pods/" UID_VOLUMES "/volumes/kubernetes.io~empty-dir/app-logs");
	/* no kubelet root, or not an absolute one, or one that climbs */
	CHECK_INT_EQ(logpath_resolve(&g, pod, app, NULL), -EINVAL);
	CHECK_STR_EQ(g.dir, "");
	CHECK_INT_EQ(logpath_resolve(&g, pod, app, "var/lib/kubelet"), -EINVAL);
	CHECK_INT_EQ(logpath_resolve(&g, pod, app, "/var/lib/../kubelet"), -EINVAL);
	/* ...which a hostPath does not need */
	CHECK(parse_one(&g, "/var/log/host/*.log"));
	CHECK_INT_EQ(logpath_resolve(&g, pod, app, NULL), 0);
	CHECK_STR_EQ(g.dir, "/var/log/shared/app");
	/* no container, or no pod: only the container's root */
	CHECK(parse_one(&g, "/var/log/app/*.log"));
	CHECK_INT_EQ(logpath_resolve(&g, pod, NULL, KUBELET_ROOT), 0);
	CHECK(g.via_proc_root && g.dir_base_len == 0);
	CHECK_STR_EQ(g.dir, "/var/log/app");
	CHECK_INT_EQ(logpath_resolve(&g, NULL, app, KUBELET_ROOT), 0);
	CHECK(g.via_proc_root);
	CHECK_STR_EQ(g.dir, "/var/log/app");
	CHECK_INT_EQ(logpath_resolve(NULL, pod, app, KUBELET_ROOT), -EINVAL);
	/* resolving again for another container starts over */
	CHECK_INT_EQ(logpath_resolve(&g, pod, app, KUBELET_ROOT), 0);
	CHECK(!g.via_proc_root);
	CHECK_INT_EQ(logpath_resolve(&g, pod, pod_container_by_name(pod, "bare"), KUBELET_ROOT), 0);
	CHECK(g.via_proc_root && g.dir_base_len == 0);

	/* entries not as logpath_parse makes them */
	static const char *const bad_dirs[] = {
	    "", "var/log", "/var/../log", "/var/./log", "/var//log", "/var/log/", "/var/*/log"};
	for (size_t i = 0; i < sizeof(bad_dirs) / sizeof(bad_dirs[0]); i++) {
		memset(&g, 0, sizeof(g));
		snprintf(g.container_dir, sizeof(g.container_dir), "%s", bad_dirs[i]);
		g.pattern[0] = '*';
		CHECK_INT_EQ(logpath_resolve(&g, pod, app, KUBELET_ROOT), -EINVAL);
	}
	memset(&g, 'a', sizeof(g)); /* no NUL in container_dir */
	g.container_dir[0] = '/';
	CHECK_INT_EQ(logpath_resolve(&g, pod, app, KUBELET_ROOT), -EINVAL);
	pods_free(pods);
}

TEST(test_resolve_too_long)
{
	static char long_path[PATH_MAX + 64], long_root[PATH_MAX];
	char vname[] = "v", uid[] = "u", kind[] = "hostPath", mpath[] = "/m", sub[] = "s";
	struct pod_volume vol = {
	    .name = vname, .kind = POD_VOLUME_HOST_PATH, .kind_name = kind, .host_path = long_path};
	struct pod_volume_mount mnt = {.name = vname, .mount_path = mpath};
	struct pod_container pc = {.name = vname, .mounts = &mnt, .n_mounts = 1};
	struct pod pod = {.uid = uid, .volumes = &vol, .n_volumes = 1};
	struct logpath_glob g;
	size_t len;

	/* a hostPath of PATH_MAX - 1 bytes fits, with nothing beneath it */
	long_path[0] = '/';
	memset(long_path + 1, 'h', PATH_MAX - 2);
	for (size_t i = 200; i < PATH_MAX - 2; i += 200)
		long_path[i] = '/';
	long_path[PATH_MAX - 1] = '\0';
	CHECK(parse_one(&g, "/m/*.log"));
	CHECK_INT_EQ(logpath_resolve(&g, &pod, &pc, NULL), 0);
	CHECK_INT_EQ(strlen(g.dir), PATH_MAX - 1);
	/* one more component, a subPath, or a longer hostPath does not */
	CHECK(parse_one(&g, "/m/x/*.log"));
	CHECK_INT_EQ(logpath_resolve(&g, &pod, &pc, NULL), -ENAMETOOLONG);
	CHECK_STR_EQ(g.dir, "");
	CHECK(!g.via_proc_root);
	CHECK(parse_one(&g, "/m/*.log"));
	mnt.sub_path = sub;
	CHECK_INT_EQ(logpath_resolve(&g, &pod, &pc, NULL), -ENAMETOOLONG);
	mnt.sub_path = NULL;
	long_path[PATH_MAX - 1] = 'h';
	long_path[PATH_MAX] = '\0';
	CHECK_INT_EQ(logpath_resolve(&g, &pod, &pc, NULL), -ENAMETOOLONG);

	/* a long kubelet root for an emptyDir */
	vol.kind = POD_VOLUME_EMPTY_DIR;
	long_root[0] = '/';
	len = PATH_MAX - 1 - strlen("/pods/u/volumes/kubernetes.io~empty-dir/v");
	memset(long_root + 1, 'k', len - 1);
	long_root[len] = '\0';
	CHECK_INT_EQ(logpath_resolve(&g, &pod, &pc, long_root), 0);
	CHECK_INT_EQ(strlen(g.dir), PATH_MAX - 1);
	long_root[len] = 'k';
	long_root[len + 1] = '\0';
	CHECK_INT_EQ(logpath_resolve(&g, &pod, &pc, long_root), -ENAMETOOLONG);
}

TEST(test_match)
{
	struct logpath_glob g;

	CHECK(parse_one(&g, "/var/log/*.log"));
	CHECK(logpath_match(&g, "app.log"));
	CHECK(logpath_match(&g, ".log") == false); /* a leading '.' is only matched by one */
	CHECK(!logpath_match(&g, ".hidden.log"));
	CHECK(!logpath_match(&g, "app.log.1"));
	CHECK(!logpath_match(&g, "sub/app.log"));
	CHECK(!logpath_match(&g, ""));
	CHECK(!logpath_match(&g, NULL));
	CHECK(!logpath_match(NULL, "app.log"));

	CHECK(parse_one(&g, "/var/log/[0-9]?-*.txt"));
	CHECK(logpath_match(&g, "1a-run.txt"));
	CHECK(!logpath_match(&g, "a1-run.txt"));

	CHECK(parse_one(&g, "/var/log/"));
	CHECK(logpath_match(&g, "anything"));
	CHECK(!logpath_match(&g, ".dotfile"));
	CHECK(!logpath_match(&g, "."));
	CHECK(!logpath_match(&g, ".."));

	CHECK(parse_one(&g, "/var/log/.*"));
	CHECK(logpath_match(&g, ".dotfile"));
	CHECK(!logpath_match(&g, ".."));

	CHECK(parse_one(&g, "/var/log/app.log"));
	CHECK(logpath_match(&g, "app.log"));
	CHECK(!logpath_match(&g, "app.lo"));
	CHECK(!logpath_match(&g, "xapp.log"));
}

/* The pod's own annotation, parsed and resolved for each of its containers. */
TEST(test_annotation_end_to_end)
{
	struct pods *pods = load(DATA_DIR "podlist_volumes.json");
	const struct pod *pod = pods_lookup(pods, UID_VOLUMES);
	const struct pod_container *app = pod_container_by_name(pod, "app");
	const char *err = NULL;
	int n;

	CHECK(app != NULL);
	n = logpath_parse(pod_annotation(pod, LOGPATH_ANNOTATION), globs, LOGPATH_MAX_ENTRIES,
			  &err);
	CHECK_INT_EQ(n, 2);
	if (n != 2 || !app)
		goto out;
	CHECK_INT_EQ(logpath_resolve(&globs[0], pod, app, KUBELET_ROOT), 0);
	CHECK_STR_EQ(globs[0].dir, EMPTY_DIR(UID_VOLUMES, "app-logs"));
	CHECK(logpath_match(&globs[0], "access.log"));
	CHECK_INT_EQ(logpath_resolve(&globs[1], pod, app, KUBELET_ROOT), 0);
	CHECK_STR_EQ(globs[1].dir, EMPTY_DIR(UID_VOLUMES, "app-logs") "/out/app");
	CHECK(logpath_match(&globs[1], "run-1.txt"));
	CHECK(!logpath_match(&globs[1], "run-1.log"));
	/* the sidecar sees neither path through a volume */
	CHECK_INT_EQ(
	    logpath_resolve(&globs[1], pod, pod_container_by_name(pod, "sidecar"), KUBELET_ROOT),
	    0);
	CHECK(globs[1].via_proc_root);
	CHECK_STR_EQ(globs[1].dir, "/data/out");
out:
	pods_free(pods);
}

/* Loads a shared kubelet fixture; NULL with why set when it is not here. */
static struct pods *load_fixture(const char *file, char *why, size_t why_len)
{
	const char *dir = testing_fixtures_dir();
	char path[4096];

	if (!dir) {
		snprintf(why, why_len,
			 "no fixtures folder ($GLIMPSE_FIXTURES or ../shared/fixtures)");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/kubelet/%s", dir, file);
	if (access(path, R_OK) != 0) {
		snprintf(why, why_len, "cannot read %s", path);
		return NULL;
	}
	return load(path);
}

TEST(test_fixture_kubelet_1_35)
{
	char why[4200];
	struct pods *pods = load_fixture("nri-kubernetes_1_35_kubelet_pods.json", why, sizeof(why));
	const struct pod *pod;

	if (!pods)
		SKIP("%s", why);
	/* metrics-server: an emptyDir at /tmp */
	pod = pods_lookup(pods, "5e5613d6-fccb-40d6-967b-447697d4d871");
	check_resolve(pod, "metrics-server", "/tmp/*.log", 0,
		      EMPTY_DIR("5e5613d6-fccb-40d6-967b-447697d4d871", "tmp-dir"),
		      EMPTY_DIR("5e5613d6-fccb-40d6-967b-447697d4d871", "tmp-dir"), false);
	check_resolve(pod, "metrics-server", "/var/log/*.log", 0, "/var/log", "", true);
	/* storage-provisioner: the host's /tmp at /tmp */
	pod = pods_lookup(pods, "081d040e-c94b-41ea-8278-eb12903ddd99");
	check_resolve(pod, "storage-provisioner", "/tmp/x/*.log", 0, "/tmp/x", "/tmp", false);
	/* coredns: a configMap */
	pod = pods_lookup(pods, "36447428-81f8-45eb-b825-414de2e8012b");
	check_resolve(pod, "coredns", "/etc/coredns/*", 0, "/etc/coredns", "", true);
	/* a StatefulSet's PVC */
	pod = pods_lookup(pods, "b5812e37-ce78-41e2-9d8d-d93a88e481d6");
	check_resolve(pod, "compute-pi-digits", "/output/*.txt", 0, "/output", "", true);
	/* a static pod's hostPath, mounted at a path of the same name */
	pod = pods_lookup(pods, "eaf7d48161d81d9c3359e1c008571fd6");
	check_resolve(pod, "etcd", "/var/lib/minikube/etcd/member/wal/*.wal", 0,
		      "/var/lib/minikube/etcd/member/wal", "/var/lib/minikube/etcd", false);
	check_resolve(pod, "etcd", "/var/lib/minikube/certs/etcd/*.crt", 0,
		      "/var/lib/minikube/certs/etcd", "/var/lib/minikube/certs/etcd", false);
	check_resolve(pod, "etcd", "/var/lib/minikube/*.log", 0, "/var/lib/minikube", "", true);
	pods_free(pods);
}

TEST(test_fixture_kubelet_payload)
{
	char why[4200];
	struct pods *pods =
	    load_fixture("nri-kubernetes_kubelet_pods_payload.json", why, sizeof(why));
	const struct pod *pod;

	if (!pods)
		SKIP("%s", why);
	/* the host's root at /host */
	pod = pods_lookup(pods, "d2026c86-11a3-11e8-a084-080027352a02");
	check_resolve(pod, "newrelic-infra", "/host/var/log/*.log", 0, "/var/log", "", false);
	check_resolve(pod, "newrelic-infra", "/hostile/*.log", 0, "/hostile", "", true);
	/* a secret */
	check_resolve(pod, "newrelic-infra", "/var/run/secrets/kubernetes.io/serviceaccount/*", 0,
		      "/var/run/secrets/kubernetes.io/serviceaccount", "", true);
	pods_free(pods);
}

int main(void)
{
	RUN(test_parse_good);
	RUN(test_parse_limits);
	RUN(test_parse_bad);
	RUN(test_resolve_volume_kinds);
	RUN(test_resolve_prefix_edges);
	RUN(test_resolve_hostile);
	RUN(test_resolve_arguments);
	RUN(test_resolve_too_long);
	RUN(test_match);
	RUN(test_annotation_end_to_end);
	RUN(test_fixture_kubelet_1_35);
	RUN(test_fixture_kubelet_payload);
	return testing_done();
}
