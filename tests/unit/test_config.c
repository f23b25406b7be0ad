/* test_config.c: settings from defaults, the JSON config file and the command
 * line (config.c). Every rejection is checked for its return value and for
 * the key and the reason in the message; every acceptance for the value it
 * stored. config_load prints to stdout and stderr: both are captured into
 * temporary files while it runs.
 */
#include "config.h"
#include "log.h"
#include "testing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <unistd.h>

static char tmp_dir[64];

/* ---- config_apply_json ---- */

/* Applies json over defaults; returns the result and leaves the message in err. */
static int apply(struct config *cfg, const char *json, char *err, size_t err_len)
{
	err[0] = '\0';
	config_defaults(cfg);
	return config_apply_json(cfg, json, strlen(json), err, err_len);
}

/* json must be refused with -EINVAL and a message that contains each of the
 * NULL-terminated fragments. */
static void check_rejected(int line, const char *json, ...)
{
	struct config cfg;
	char err[512];
	int ret = apply(&cfg, json, err, sizeof(err));
	va_list ap;
	const char *want;

	if (ret != -EINVAL) {
		fprintf(stderr, "  line %d: %s gave %d, expected -EINVAL\n", line, json, ret);
		testing_current_failed = 1;
	}
	va_start(ap, json);
	while ((want = va_arg(ap, const char *)) != NULL) {
		if (!strstr(err, want)) {
			fprintf(stderr, "  line %d: %s: message \"%s\" lacks \"%s\"\n", line, json,
				err, want);
			testing_current_failed = 1;
		}
	}
	va_end(ap);
	config_free(&cfg);
}

#define REJECTED(json, ...) check_rejected(__LINE__, json, __VA_ARGS__, (const char *)NULL)

TEST(test_defaults)
{
	struct config cfg;

	setenv("NODE_NAME", "node-from-env", 1);
	config_defaults(&cfg);
	unsetenv("NODE_NAME");
	CHECK_STR_EQ(cfg.pods_log_dir, "/var/log/pods");
	CHECK_STR_EQ(cfg.kubelet_url, "https://127.0.0.1:10250");
	CHECK_STR_EQ(cfg.node_name, "node-from-env");
	CHECK_STR_EQ(cfg.state_dir, "/var/lib/glimpse");
	CHECK_INT_EQ(cfg.outputs.n, 1);
	CHECK_STR_EQ(cfg.outputs.v[0].spec, "stdout");
	CHECK(!cfg.kubelet_insecure);
	CHECK_INT_EQ(cfg.kubelet_timeout_ms, 5000);
	CHECK_INT_EQ(cfg.log_level, LOG_INFO);
	CHECK_INT_EQ(cfg.max_line_size, 128 * 1024);
	CHECK_INT_EQ(cfg.metadata_wait_ms, 1000);
	CHECK_INT_EQ(cfg.pod_retention_ms, 300000);
	CHECK_INT_EQ(cfg.rescan_interval_ms, 10000);
	CHECK_INT_EQ(cfg.runc_roots.n, 3);
	CHECK_STR_EQ(cfg.runc_roots.v[0], "/run/runc");
	CHECK_STR_EQ(cfg.runc_roots.v[1], "/run/containerd/runc/k8s.io");
	CHECK_STR_EQ(cfg.runc_roots.v[2], "/run/docker/runtime-runc/moby");
	config_free(&cfg);

	/* without $NODE_NAME: the host name */
	char host[256] = "";
	gethostname(host, sizeof(host) - 1);
	config_defaults(&cfg);
	CHECK_STR_EQ(cfg.node_name, host);
	config_free(&cfg);
}

TEST(test_apply_valid_overrides_defaults)
{
	static const char json[] = "{\"pods_log_dir\": \"/logs/pods\","
				   " \"kubelet_url\": \"http://127.0.0.1:10255\","
				   " \"kubelet_token_file\": \"\","
				   " \"kubelet_ca_file\": \"/etc/ca.pem\","
				   " \"kubelet_insecure\": true,"
				   " \"kubelet_timeout_ms\": 250,"
				   " \"node_name\": \"node-7\","
				   " \"state_dir\": \"/state\","
				   " \"output\": \"file:/tmp/out.json\","
				   " \"log_level\": \"debug\","
				   " \"max_line_size\": 2048,"
				   " \"metadata_wait_ms\": 0,"
				   " \"pod_retention_s\": 2,"
				   " \"rescan_interval_s\": 3600,"
				   " \"runc_roots\": [\"/a\", \"/b/c\"]}";
	struct config cfg;
	char err[512];

	CHECK_INT_EQ(apply(&cfg, json, err, sizeof(err)), 0);
	CHECK_STR_EQ(err, "");
	CHECK_STR_EQ(cfg.pods_log_dir, "/logs/pods");
	CHECK_STR_EQ(cfg.kubelet_url, "http://127.0.0.1:10255");
	CHECK_STR_EQ(cfg.kubelet_token_file, "");
	CHECK_STR_EQ(cfg.kubelet_ca_file, "/etc/ca.pem");
	CHECK(cfg.kubelet_insecure);
	CHECK_INT_EQ(cfg.kubelet_timeout_ms, 250);
	CHECK_STR_EQ(cfg.node_name, "node-7");
	CHECK_STR_EQ(cfg.state_dir, "/state");
	CHECK_INT_EQ(cfg.outputs.n, 1);
	CHECK_STR_EQ(cfg.outputs.v[0].spec, "file:/tmp/out.json");
	CHECK_INT_EQ(cfg.log_level, LOG_DEBUG);
	CHECK_INT_EQ(cfg.max_line_size, 2048);
	CHECK_INT_EQ(cfg.metadata_wait_ms, 0);
	CHECK_INT_EQ(cfg.pod_retention_ms, 2000); /* seconds in the file, ms inside */
	CHECK_INT_EQ(cfg.rescan_interval_ms, 3600 * 1000);
	CHECK_INT_EQ(cfg.runc_roots.n, 2);
	CHECK_STR_EQ(cfg.runc_roots.v[0], "/a");
	CHECK_STR_EQ(cfg.runc_roots.v[1], "/b/c");
	config_free(&cfg);

	/* an empty object changes nothing */
	CHECK_INT_EQ(apply(&cfg, "{}", err, sizeof(err)), 0);
	CHECK_INT_EQ(cfg.max_line_size, 128 * 1024);
	CHECK_INT_EQ(cfg.runc_roots.n, 3);
	config_free(&cfg);

	/* the range ends are inclusive */
	CHECK_INT_EQ(apply(&cfg, "{\"max_line_size\": 1024, \"kubelet_timeout_ms\": 600000}", err,
			   sizeof(err)),
		     0);
	CHECK_INT_EQ(cfg.max_line_size, 1024);
	CHECK_INT_EQ(cfg.kubelet_timeout_ms, 600000);
	config_free(&cfg);
	CHECK_INT_EQ(apply(&cfg, "{\"max_line_size\": 16777216}", err, sizeof(err)), 0);
	CHECK_INT_EQ(cfg.max_line_size, 16 * 1024 * 1024);
	config_free(&cfg);

	/* https and stdout are accepted too */
	CHECK_INT_EQ(apply(&cfg,
			   "{\"kubelet_url\": \"https://node:10250\", \"output\": \"stdout\"}", err,
			   sizeof(err)),
		     0);
	CHECK_STR_EQ(cfg.kubelet_url, "https://node:10250");
	CHECK_INT_EQ(cfg.outputs.n, 1);
	CHECK_STR_EQ(cfg.outputs.v[0].spec, "stdout");
	config_free(&cfg);
}

TEST(test_apply_rejects_unknown_and_malformed)
{
	REJECTED("{\"bogus_setting\": 1}", "bogus_setting", "unknown");
	/* the flag spelling is not the file spelling */
	REJECTED("{\"max-line-size\": 2048}", "max-line-size", "unknown");
	REJECTED("{\"pod_retention_ms\": 5}", "pod_retention_ms", "unknown");
	REJECTED("{", "not valid JSON");
	REJECTED("", "not valid JSON");
	REJECTED("[1, 2]", "object");
	REJECTED("\"stdout\"", "object");
}

TEST(test_apply_rejects_wrong_types)
{
	REJECTED("{\"kubelet_insecure\": \"true\"}", "kubelet_insecure", "true or false");
	REJECTED("{\"kubelet_insecure\": 1}", "kubelet_insecure", "true or false");
	REJECTED("{\"kubelet_timeout_ms\": 1500.5}", "kubelet_timeout_ms", "integer");
	REJECTED("{\"kubelet_timeout_ms\": \"5000\"}", "kubelet_timeout_ms", "integer");
	REJECTED("{\"kubelet_timeout_ms\": 1e20}", "kubelet_timeout_ms", "integer");
	REJECTED("{\"max_line_size\": true}", "max_line_size", "integer");
	REJECTED("{\"pods_log_dir\": 5}", "pods_log_dir", "a string");
	REJECTED("{\"node_name\": null}", "node_name", "a string");
	REJECTED("{\"log_level\": 3}", "log_level", "a string");
	REJECTED("{\"log_level\": \"verbose\"}", "log_level", "verbose", "debug, info, warn");
	REJECTED("{\"runc_roots\": \"/run/runc\"}", "runc_roots", "array of strings");
}

TEST(test_apply_rejects_out_of_range)
{
	REJECTED("{\"kubelet_timeout_ms\": -5}", "kubelet_timeout_ms", "-5", "100..600000");
	REJECTED("{\"kubelet_timeout_ms\": 99}", "kubelet_timeout_ms", "99", "100..600000");
	REJECTED("{\"kubelet_timeout_ms\": 600001}", "kubelet_timeout_ms", "100..600000");
	REJECTED("{\"max_line_size\": 10}", "max_line_size", "10", "1024..16777216");
	REJECTED("{\"max_line_size\": -1}", "max_line_size", "1024..16777216");
	REJECTED("{\"max_line_size\": 16777217}", "max_line_size", "1024..16777216");
	REJECTED("{\"metadata_wait_ms\": -1}", "metadata_wait_ms", "0..60000");
	REJECTED("{\"pod_retention_s\": 86401}", "pod_retention_s", "0..86400");
	REJECTED("{\"rescan_interval_s\": 0}", "rescan_interval_s", "1..3600");
}

TEST(test_apply_rejects_bad_strings)
{
	REJECTED("{\"kubelet_url\": \"ftp://node\"}", "kubelet_url", "ftp://node", "http");
	REJECTED("{\"kubelet_url\": \"127.0.0.1:10250\"}", "kubelet_url", "http");
	REJECTED("{\"kubelet_url\": \"\"}", "kubelet_url", "http");
	REJECTED("{\"output\": \"file:\"}", "output", "needs a path");
	REJECTED("{\"output\": \"kafka:broker\"}", "output", "kafka://BROKER");
	REJECTED("{\"pods_log_dir\": \"\"}", "pods_log_dir", "empty");
	REJECTED("{\"state_dir\": \"\"}", "state_dir", "empty");
	REJECTED("{\"node_name\": \"\"}", "node_name", "empty");
}

TEST(test_apply_runc_roots)
{
	struct config cfg;
	char err[512];

	REJECTED("{\"runc_roots\": [\"run/runc\"]}", "runc_roots", "absolute");
	REJECTED("{\"runc_roots\": [\"/ok\", \"\"]}", "runc_roots", "absolute");
	REJECTED("{\"runc_roots\": [\"/ok\", 5]}", "runc_roots", "absolute");
	REJECTED(
	    "{\"runc_roots\": [\"/1\",\"/2\",\"/3\",\"/4\",\"/5\",\"/6\",\"/7\",\"/8\",\"/9\"]}",
	    "runc_roots", "at most 8");

	/* a rejected array leaves the previous roots as they were */
	CHECK_INT_EQ(apply(&cfg, "{\"runc_roots\": [\"/ok\", \"relative\"]}", err, sizeof(err)),
		     -EINVAL);
	CHECK_INT_EQ(cfg.runc_roots.n, 3);
	CHECK_STR_EQ(cfg.runc_roots.v[0], "/run/runc");
	config_free(&cfg);

	/* eight is the limit, and allowed */
	CHECK_INT_EQ(
	    apply(&cfg,
		  "{\"runc_roots\": [\"/1\",\"/2\",\"/3\",\"/4\",\"/5\",\"/6\",\"/7\",\"/8\"]}",
		  err, sizeof(err)),
	    0);
	CHECK_INT_EQ(cfg.runc_roots.n, 8);
	CHECK_STR_EQ(cfg.runc_roots.v[7], "/8");
	config_free(&cfg);

	/* applying twice replaces, it does not append */
	static const char x[] = "{\"runc_roots\": [\"/x\"]}", y[] = "{\"runc_roots\": [\"/y\"]}";
	config_defaults(&cfg);
	CHECK_INT_EQ(config_apply_json(&cfg, x, sizeof(x) - 1, err, sizeof(err)), 0);
	CHECK_INT_EQ(config_apply_json(&cfg, y, sizeof(y) - 1, err, sizeof(err)), 0);
	CHECK_INT_EQ(cfg.runc_roots.n, 1);
	CHECK_STR_EQ(cfg.runc_roots.v[0], "/y");
	config_free(&cfg);

	/* an empty array: no roots */
	CHECK_INT_EQ(apply(&cfg, "{\"runc_roots\": []}", err, sizeof(err)), 0);
	CHECK_INT_EQ(cfg.runc_roots.n, 0);
	config_free(&cfg);
}

/* ---- config_load ---- */

struct captured {
	enum config_action action;
	char *out; /* what went to stdout */
	char *err; /* what went to stderr */
};

static char *capture_read(const char *path)
{
	char *s = testing_read_file(path, NULL);

	unlink(path);
	return s ? s : strdup("");
}

/* Runs config_load on the NULL-terminated arguments after "glimpse". */
static struct captured load(struct config *cfg, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;
	struct captured c;
	char out_path[128], err_path[128];
	int saved_out, saved_err, fd_out, fd_err;

	argv[argc++] = "glimpse";
	va_start(ap, cfg);
	while (argc < 31 && (argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	argv[argc] = NULL;

	snprintf(out_path, sizeof(out_path), "%s/stdout", tmp_dir);
	snprintf(err_path, sizeof(err_path), "%s/stderr", tmp_dir);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	fd_out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	fd_err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	dup2(fd_out, STDOUT_FILENO);
	dup2(fd_err, STDERR_FILENO);
	close(fd_out);
	close(fd_err);

	c.action = config_load(cfg, argc, argv);

	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	c.out = capture_read(out_path);
	c.err = capture_read(err_path);
	return c;
}

static void captured_free(struct captured *c)
{
	free(c->out);
	free(c->err);
}

static void write_file(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (!f)
		return;
	fputs(content, f);
	fclose(f);
}

TEST(test_load_help_and_version)
{
	struct config cfg;
	struct captured c;

	c = load(&cfg, "--help", NULL);
	CHECK_INT_EQ(c.action, CONFIG_EXIT_OK);
	CHECK(strstr(c.out, "usage: glimpse") != NULL);
	CHECK(strstr(c.out, "--max-line-size") != NULL);
	CHECK(strstr(c.out, "--kubelet-url") != NULL);
	CHECK(strstr(c.out, "--config FILE") != NULL);
	CHECK(strstr(c.out, "runc-roots") == NULL); /* file only */
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--version", NULL);
	CHECK_INT_EQ(c.action, CONFIG_EXIT_OK);
	CHECK(strncmp(c.out, "glimpse ", 8) == 0);
	CHECK(strlen(c.out) > 9);
	captured_free(&c);
	config_free(&cfg);

	/* --help wins even after other options */
	c = load(&cfg, "--max-line-size", "4096", "--help", NULL);
	CHECK_INT_EQ(c.action, CONFIG_EXIT_OK);
	captured_free(&c);
	config_free(&cfg);
}

TEST(test_load_errors)
{
	struct config cfg;
	struct captured c;
	char missing[128];

	c = load(&cfg, "--no-such-option", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, "--no-such-option") != NULL);
	CHECK(strstr(c.err, "unknown option") != NULL);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--max-line-size", "10", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, "max_line_size") != NULL);
	CHECK(strstr(c.err, "1024..16777216") != NULL);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--max-line-size", "lots", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, "integer") != NULL);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--max-line-size", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, "needs a value") != NULL);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "stray", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, "stray") != NULL);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--kubelet-url", "ftp://x", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, "kubelet_url") != NULL);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--output", "file:", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--kubelet-insecure=maybe", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	captured_free(&c);
	config_free(&cfg);

	/* runc_roots is file only */
	c = load(&cfg, "--runc-roots", "/x", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	captured_free(&c);
	config_free(&cfg);

	/* a directory is not a config file */
	c = load(&cfg, "--config", tmp_dir, NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, tmp_dir) != NULL);
	captured_free(&c);
	config_free(&cfg);

	snprintf(missing, sizeof(missing), "%s/absent.json", tmp_dir);
	c = load(&cfg, "--config", missing, NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, missing) != NULL);
	captured_free(&c);
	config_free(&cfg);
}

TEST(test_load_file_and_command_line)
{
	struct config cfg;
	struct captured c;
	char path[128], bad[128];

	snprintf(path, sizeof(path), "%s/glimpse.json", tmp_dir);
	write_file(path, "{\"max_line_size\": 4096, \"node_name\": \"from-file\","
			 " \"kubelet_timeout_ms\": 1234, \"log_level\": \"warn\","
			 " \"runc_roots\": [\"/r1\"]}");

	/* the file alone */
	c = load(&cfg, "--config", path, NULL);
	CHECK_INT_EQ(c.action, CONFIG_RUN);
	CHECK_INT_EQ(cfg.max_line_size, 4096);
	CHECK_STR_EQ(cfg.node_name, "from-file");
	CHECK_INT_EQ(cfg.kubelet_timeout_ms, 1234);
	CHECK_INT_EQ(cfg.log_level, LOG_WARN);
	CHECK_INT_EQ(cfg.runc_roots.n, 1);
	CHECK_STR_EQ(cfg.runc_roots.v[0], "/r1");
	CHECK_INT_EQ(cfg.outputs.n, 1);
	CHECK_STR_EQ(cfg.outputs.v[0].spec, "stdout"); /* untouched default */
	captured_free(&c);
	config_free(&cfg);

	/* the command line wins over the file, before or after --config */
	c = load(&cfg, "--config", path, "--max-line-size", "8192", "--node-name=from-flag", NULL);
	CHECK_INT_EQ(c.action, CONFIG_RUN);
	CHECK_INT_EQ(cfg.max_line_size, 8192);
	CHECK_STR_EQ(cfg.node_name, "from-flag");
	CHECK_INT_EQ(cfg.kubelet_timeout_ms, 1234);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--log-level", "error", "--config", path, NULL);
	CHECK_INT_EQ(c.action, CONFIG_RUN);
	CHECK_INT_EQ(cfg.log_level, LOG_ERROR);
	CHECK_INT_EQ(cfg.max_line_size, 4096);
	captured_free(&c);
	config_free(&cfg);

	/* a bad file is an error even when the flags are fine */
	snprintf(bad, sizeof(bad), "%s/bad.json", tmp_dir);
	write_file(bad, "{\"max_line_size\": 10}");
	c = load(&cfg, "--config", bad, "--max-line-size", "4096", NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, bad) != NULL);
	CHECK(strstr(c.err, "max_line_size") != NULL);
	captured_free(&c);
	config_free(&cfg);
	write_file(bad, "not json");
	c = load(&cfg, "--config", bad, NULL);
	CHECK_INT_EQ(c.action, CONFIG_ERROR);
	CHECK(strstr(c.err, "not valid JSON") != NULL);
	captured_free(&c);
	config_free(&cfg);
	unlink(bad);
	unlink(path);
}

TEST(test_load_flags)
{
	struct config cfg;
	struct captured c;

	c = load(&cfg, NULL);
	CHECK_INT_EQ(c.action, CONFIG_RUN);
	CHECK_INT_EQ(cfg.max_line_size, 128 * 1024);
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--kubelet-insecure", "--pod-retention-s", "7", "--rescan-interval-s=2",
		 "--metadata-wait-ms", "0", "--kubelet-url", "http://localhost:10255", "--output",
		 "file:/tmp/x.json", "--pods-log-dir", "/p", NULL);
	CHECK_INT_EQ(c.action, CONFIG_RUN);
	CHECK(cfg.kubelet_insecure);
	CHECK_INT_EQ(cfg.pod_retention_ms, 7000);
	CHECK_INT_EQ(cfg.rescan_interval_ms, 2000);
	CHECK_INT_EQ(cfg.metadata_wait_ms, 0);
	CHECK_STR_EQ(cfg.kubelet_url, "http://localhost:10255");
	CHECK_INT_EQ(cfg.outputs.n, 1);
	CHECK_STR_EQ(cfg.outputs.v[0].spec, "file:/tmp/x.json");
	CHECK_STR_EQ(cfg.pods_log_dir, "/p");
	captured_free(&c);
	config_free(&cfg);

	c = load(&cfg, "--kubelet-insecure=true", "--kubelet-insecure=false", NULL);
	CHECK_INT_EQ(c.action, CONFIG_RUN);
	CHECK(!cfg.kubelet_insecure);
	captured_free(&c);
	config_free(&cfg);

	/* the last of a repeated flag wins */
	c = load(&cfg, "--max-line-size", "2048", "--max-line-size", "3072", NULL);
	CHECK_INT_EQ(c.action, CONFIG_RUN);
	CHECK_INT_EQ(cfg.max_line_size, 3072);
	captured_free(&c);
	config_free(&cfg);
}

int main(void)
{
	if (testing_mkdtemp(tmp_dir, sizeof(tmp_dir), "config") != 0)
		return 1;
	RUN(test_defaults);
	RUN(test_apply_valid_overrides_defaults);
	RUN(test_apply_rejects_unknown_and_malformed);
	RUN(test_apply_rejects_wrong_types);
	RUN(test_apply_rejects_out_of_range);
	RUN(test_apply_rejects_bad_strings);
	RUN(test_apply_runc_roots);
	RUN(test_load_help_and_version);
	RUN(test_load_errors);
	RUN(test_load_file_and_command_line);
	RUN(test_load_flags);
	testing_remove_tree(tmp_dir);
	return testing_done();
}
