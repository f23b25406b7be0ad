/* config.c: defaults, the JSON config file (cJSON) and the command line
 * (getopt_long), one table of settings behind both. */
#include "config.h"

#include "log.h"
#include "sink.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef GLIMPSE_VERSION
#define GLIMPSE_VERSION "0.0.0-dev"
#endif

#define CONFIG_FILE_MAX (1024 * 1024)

enum config_type {
	CT_STRING,
	CT_BOOL,
	CT_INT,
	CT_SIZE,
	CT_LEVEL,
	CT_STRINGS,
	CT_OUTPUT,  /* "output": a string or a list of them; --output repeats */
	CT_OUTPUTS, /* "outputs": a list of objects with "url" (file only) */
};

struct config_setting {
	const char *name; /* in the file; the flag is "--" + name with '_' -> '-' */
	enum config_type type;
	size_t offset;
	int64_t scale;	  /* CT_INT: file/flag units -> stored units */
	int64_t min, max; /* CT_INT and CT_SIZE, in file/flag units */
	const char *help;
};

#define OFF(f) offsetof(struct config, f)

static const struct config_setting config_settings[] = {
    {"pods_log_dir", CT_STRING, OFF(pods_log_dir), 0, 0, 0,
     "CRI log files, <dir>/<ns>_<pod>_<uid>/<container>/<n>.log"},
    {"kubelet_root_dir", CT_STRING, OFF(kubelet_root_dir), 0, 0, 0,
     "the kubelet's root dir: emptyDir volumes named by glimpse.io/logs are under it"},
    {"docker_root", CT_STRING, OFF(docker_root), 0, 0, 0,
     "dockerd's root: <dir>/containers/<id>/<id>-json.log are read (\"\" for none)"},
    {"kubelet_url", CT_STRING, OFF(kubelet_url), 0, 0, 0,
     "kubelet base URL; GET <url>/pods gives pod metadata"},
    {"kubelet_token_file", CT_STRING, OFF(kubelet_token_file), 0, 0, 0,
     "bearer token for the kubelet (\"\" for none)"},
    {"kubelet_ca_file", CT_STRING, OFF(kubelet_ca_file), 0, 0, 0,
     "CA bundle that signed the kubelet's certificate"},
    {"kubelet_insecure", CT_BOOL, OFF(kubelet_insecure), 0, 0, 0,
     "do not verify the kubelet's certificate"},
    {"kubelet_timeout_ms", CT_INT, OFF(kubelet_timeout_ms), 1, 100, 600000,
     "timeout of one GET /pods"},
    {"node_name", CT_STRING, OFF(node_name), 0, 0, 0,
     "k8s.node.name of every event (default: $NODE_NAME, else the host name)"},
    {"state_dir", CT_STRING, OFF(state_dir), 0, 0, 0, "where the agent keeps its state"},
    {"output", CT_OUTPUT, OFF(outputs), 0, 0, 0,
     "stdout, file:PATH or kafka://BROKER[,BROKER...]/TOPIC; repeat it for several"},
    {"outputs", CT_OUTPUTS, OFF(outputs), 0, 0, 0,
     "outputs with their settings: objects with \"url\" (file only)"},
    {"log_level", CT_LEVEL, OFF(log_level), 0, 0, 0, "debug, info, warn or error"},
    {"max_line_size", CT_SIZE, OFF(max_line_size), 1, 1024, 16 * 1024 * 1024,
     "longest log message in one event; longer ones are split"},
    {"metadata_wait_ms", CT_INT, OFF(metadata_wait_ms), 1, 0, 60000,
     "how long a new pod's lines wait for its metadata from the kubelet"},
    {"pod_retention_s", CT_INT, OFF(pod_retention_ms), 1000, 0, 86400,
     "how long metadata of a pod gone from the kubelet is kept"},
    {"rescan_interval_s", CT_INT, OFF(rescan_interval_ms), 1000, 1, 3600,
     "safety-net rescan of the pods log dir"},
    {"checkpoint_interval_ms", CT_INT, OFF(checkpoint_interval_ms), 1, 10, 60000,
     "how often delivered read positions are saved to the state dir"},
    {"max_queued_bytes", CT_SIZE, OFF(max_queued_bytes), 1, 1024 * 1024,
     (int64_t)16 * 1024 * 1024 * 1024, "events held for slow sinks; past it reading pauses"},
    {"spool_max_bytes", CT_SIZE, OFF(spool_max_bytes), 1, 1024 * 1024,
     (int64_t)1024 * 1024 * 1024 * 1024,
     "container and http events kept on disk per output while it is down; past it the "
     "oldest go"},
    {"max_deleted_files", CT_SIZE, OFF(max_deleted_files), 1, 1, 1000000,
     "deleted log files held open until drained; past it the oldest is closed"},
    {"rate_limit_lines", CT_SIZE, OFF(rate_limit_lines), 1, 0, (int64_t)1 << 40,
     "log lines per second per file before lines are dropped (0: no limit)"},
    {"rate_limit_bytes", CT_SIZE, OFF(rate_limit_bytes), 1, 0, (int64_t)1 << 50,
     "log bytes per second per file before lines are dropped (0: no limit)"},
    {"multiline_flush_ms", CT_INT, OFF(multiline_flush_ms), 1, 10, 60000,
     "how long a multi-line event (glimpse.io/multiline) waits for its next line"},
    {"http_capture", CT_BOOL, OFF(http_capture), 0, 0, 0,
     "record HTTP/1.x exchanges of containers (=false: no HTTP programs are loaded)"},
    {"http_trace_host", CT_BOOL, OFF(http_trace_host), 0, 0, 0,
     "record HTTP/1.x exchanges of every process, not only containers'"},
    {"http_hooks", CT_STRING, OFF(http_hooks), 0, 0, 0,
     "where HTTP bytes are seen: socket (tracepoints on socket I/O, kernel >= 6.3), syscall "
     "(the sys_exit tracepoint: every syscall pays) or auto (socket where the kernel has it)"},
    {"http_capture_bytes", CT_SIZE, OFF(http_capture_bytes), 1, 64, 4096,
     "bytes of each socket read or write copied for parsing"},
    {"http_timeout_ms", CT_INT, OFF(http_timeout_ms), 1, 100, 3600000,
     "a request without a response goes out as incomplete after this"},
    {"exit_on_eof", CT_BOOL, OFF(exit_on_eof), 0, 0, 0,
     "read every file found to its end, deliver, save positions, exit"},
    {"runc_roots", CT_STRINGS, OFF(runc_roots), 0, 0, 0,
     "runc state dirs to read container annotations from (file only)"},
    {"http_headers", CT_STRINGS, OFF(http_headers), 0, 0, 0,
     "request headers given in http events (file only)"},
    {"http_secret_headers", CT_BOOL, OFF(http_secret_headers), 0, 0, 0,
     "give the values of Authorization, Cookie and the like when listed in http_headers"},
};

#define N_SETTINGS (sizeof(config_settings) / sizeof(config_settings[0]))

static char **config_str(struct config *cfg, const struct config_setting *s)
{
	return (char **)((char *)cfg + s->offset);
}

static int config_set_string(char **slot, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*slot);
	*slot = copy;
	return 0;
}

void config_defaults(struct config *cfg)
{
	static const char *const roots[] = {"/run/runc", "/run/containerd/runc/k8s.io",
					    "/run/docker/runtime-runc/moby"};
	static const char *const headers[] = {"host", "user-agent", "content-type"};
	const char *node = getenv("NODE_NAME");
	char host[HOST_NAME_MAX + 1] = "";

	memset(cfg, 0, sizeof(*cfg));
	cfg->pods_log_dir = strdup("/var/log/pods");
	cfg->kubelet_root_dir = strdup("/var/lib/kubelet");
	cfg->docker_root = strdup("/var/lib/docker");
	cfg->kubelet_url = strdup("https://127.0.0.1:10250");
	cfg->kubelet_token_file = strdup("/var/run/secrets/kubernetes.io/serviceaccount/token");
	cfg->kubelet_ca_file = strdup("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
	cfg->kubelet_timeout_ms = 5000;
	if (!node || !*node) {
		gethostname(host, sizeof(host) - 1);
		node = host;
	}
	cfg->node_name = strdup(node);
	cfg->state_dir = strdup("/var/lib/glimpse");
	cfg->outputs.v[0].spec = strdup("stdout");
	cfg->outputs.n = 1;
	cfg->log_level = LOG_INFO;
	cfg->max_line_size = 128 * 1024;
	cfg->metadata_wait_ms = 1000;
	cfg->pod_retention_ms = 300 * 1000;
	cfg->rescan_interval_ms = 10 * 1000;
	cfg->checkpoint_interval_ms = 1000;
	cfg->max_queued_bytes = 64 * 1024 * 1024;
	cfg->spool_max_bytes = 256 * 1024 * 1024;
	cfg->max_deleted_files = 1024;
	cfg->multiline_flush_ms = 1000;
	cfg->http_capture = true;
	cfg->http_hooks = strdup("auto");
	cfg->http_capture_bytes = 1024;
	cfg->http_timeout_ms = 30000;
	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		cfg->runc_roots.v[cfg->runc_roots.n++] = strdup(roots[i]);
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++)
		cfg->http_headers.v[cfg->http_headers.n++] = strdup(headers[i]);
}

static struct config_list *config_list_of(struct config *cfg, const struct config_setting *s)
{
	return (struct config_list *)((char *)cfg + s->offset);
}

static void config_list_clear(struct config_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	l->n = 0;
}

static void config_outputs_clear(struct config_outputs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		free(o->v[i].spec);
		free(o->v[i].settings);
	}
	o->n = 0;
}

/* Why an entry of list setting s is not acceptable, or NULL. */
static const char *config_check_entry(const struct config_setting *s, const char *v)
{
	if (s->offset == OFF(runc_roots))
		return v[0] == '/' && strlen(v) < PATH_MAX ? NULL : "expected absolute paths";
	/* http_headers: a field name (RFC 9110 token) */
	if (!*v || strlen(v) > 64 ||
	    strspn(
		v,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-.^_`|~") !=
		strlen(v))
		return "expected header names (letters, digits, '-', at most 64 bytes)";
	return NULL;
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (config_settings[i].type == CT_STRING)
			free(*config_str(cfg, &config_settings[i]));
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (config_settings[i].type == CT_STRINGS)
			config_list_clear(config_list_of(cfg, &config_settings[i]));
	config_outputs_clear(&cfg->outputs);
	config_outputs_clear(&cfg->file_outputs);
	memset(cfg, 0, sizeof(*cfg));
}

/* Appends spec and its settings (NULL: none) to o, once the sink found them
 * good. */
static int config_output_add(struct config_outputs *o, const char *spec, const cJSON *settings,
			     char *err, size_t err_len)
{
	char why_buf[256];
	const char *why;
	struct config_output *out;

	if (o->n == CONFIG_MAX_LIST) {
		snprintf(err, err_len, "output: at most %d outputs", CONFIG_MAX_LIST);
		return -EINVAL;
	}
	why = sink_check(spec, settings, why_buf, sizeof(why_buf));
	if (why) {
		snprintf(err, err_len, "output %s: %s", spec, why);
		return -EINVAL;
	}
	out = &o->v[o->n];
	out->spec = strdup(spec);
	out->settings = settings ? cJSON_PrintUnformatted(settings) : NULL;
	if (!out->spec || (settings && !out->settings)) {
		free(out->spec);
		free(out->settings);
		return -ENOMEM;
	}
	o->n++;
	return 0;
}

/* --output V: the first one replaces the file's outputs; V takes the
 * settings of the file's entry with the same URL. */
static int config_output_flag(struct config *cfg, const char *v, char *err, size_t err_len)
{
	cJSON *settings = NULL;
	int ret;

	if (!cfg->outputs_from_command_line) {
		config_outputs_clear(&cfg->file_outputs);
		cfg->file_outputs = cfg->outputs;
		cfg->outputs.n = 0;
		cfg->outputs_from_command_line = true;
	}
	for (size_t i = 0; i < cfg->file_outputs.n && !settings; i++) {
		const struct config_output *o = &cfg->file_outputs.v[i];
		if (o->settings && strcmp(o->spec, v) == 0 &&
		    !(settings = cJSON_Parse(o->settings)))
			return -ENOMEM;
	}
	ret = config_output_add(&cfg->outputs, v, settings, err, err_len);
	cJSON_Delete(settings);
	return ret;
}

/* "output" (a string or a list of them) or "outputs" (objects with "url")
 * in the file: the list of outputs. */
static int config_outputs_json(struct config *cfg, const struct config_setting *s, const cJSON *v,
			       char *err, size_t err_len)
{
	struct config_outputs list = {0};
	const cJSON *item;
	bool shape = cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0;
	int ret = 0;

	const cJSON *entries = shape ? v : NULL;

	if (s->type == CT_OUTPUT && cJSON_IsString(v)) {
		shape = true;
		ret = config_output_add(&list, v->valuestring, NULL, err, err_len);
	}
	cJSON_ArrayForEach(item, entries)
	{
		const cJSON *url = cJSON_GetObjectItemCaseSensitive(item, "url");
		if (s->type == CT_OUTPUT && cJSON_IsString(item))
			ret = config_output_add(&list, item->valuestring, NULL, err, err_len);
		else if (s->type == CT_OUTPUTS && cJSON_IsObject(item) && cJSON_IsString(url))
			ret = config_output_add(&list, url->valuestring, item, err, err_len);
		else
			shape = false;
		if (ret || !shape)
			break;
	}
	if (!shape) {
		snprintf(err, err_len, "%s: expected %s", s->name,
			 s->type == CT_OUTPUT ? "a string or a non-empty list of strings"
					      : "a non-empty list of objects, each with \"url\"");
		ret = -EINVAL;
	}
	if (ret) {
		config_outputs_clear(&list);
		return ret;
	}
	config_outputs_clear(&cfg->outputs);
	cfg->outputs = list;
	return 0;
}

/* Checks a string value of a setting that has rules beyond "a string". */
static const char *config_check_string(const struct config_setting *s, const char *v)
{
	if (strcmp(s->name, "kubelet_url") == 0 && strncmp(v, "http://", 7) != 0 &&
	    strncmp(v, "https://", 8) != 0)
		return "must start with http:// or https://";
	if (strcmp(s->name, "http_hooks") == 0 && strcmp(v, "auto") != 0 &&
	    strcmp(v, "socket") != 0 && strcmp(v, "syscall") != 0)
		return "expected auto, socket or syscall";
	if ((strcmp(s->name, "pods_log_dir") == 0 || strcmp(s->name, "state_dir") == 0 ||
	     strcmp(s->name, "node_name") == 0 || strcmp(s->name, "kubelet_root_dir") == 0) &&
	    !*v)
		return "must not be empty";
	if ((strcmp(s->name, "kubelet_root_dir") == 0 || strcmp(s->name, "docker_root") == 0) &&
	    *v && *v != '/')
		return "must be an absolute path";
	if (strlen(v) >= PATH_MAX)
		return "too long";
	return NULL;
}

/* Sets s from its textual form (command line). */
static int config_set_text(struct config *cfg, const struct config_setting *s, const char *v,
			   char *err, size_t err_len)
{
	const char *why = NULL;
	char *end;
	long long n;

	switch (s->type) {
	case CT_STRING:
		why = config_check_string(s, v);
		if (why)
			break;
		if (s->offset == OFF(kubelet_token_file))
			cfg->kubelet_token_file_set = true;
		else if (s->offset == OFF(kubelet_ca_file))
			cfg->kubelet_ca_file_set = true;
		return config_set_string(config_str(cfg, s), v);
	case CT_BOOL:
		if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
			*(bool *)((char *)cfg + s->offset) = true;
		else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
			*(bool *)((char *)cfg + s->offset) = false;
		else
			why = "expected true or false";
		break;
	case CT_LEVEL:
		n = log_level_parse(v);
		if (n < 0)
			why = "expected debug, info, warn or error";
		else
			*(int *)((char *)cfg + s->offset) = (int)n;
		break;
	case CT_INT:
	case CT_SIZE:
		errno = 0;
		n = strtoll(v, &end, 10);
		if (errno || end == v || *end) {
			why = "expected an integer";
		} else if (n < s->min || n > s->max) {
			snprintf(err, err_len, "%s: %lld is out of range %lld..%lld", s->name, n,
				 (long long)s->min, (long long)s->max);
			return -EINVAL;
		} else if (s->type == CT_INT) {
			*(int64_t *)((char *)cfg + s->offset) = n * s->scale;
		} else {
			*(size_t *)((char *)cfg + s->offset) = (size_t)n;
		}
		break;
	case CT_OUTPUT:
		return config_output_flag(cfg, v, err, err_len);
	case CT_STRINGS:
	case CT_OUTPUTS:
		why = "can only be set in the config file";
		break;
	}
	if (why) {
		snprintf(err, err_len, "%s: \"%s\": %s", s->name, v, why);
		return -EINVAL;
	}
	return 0;
}

static int config_set_json(struct config *cfg, const struct config_setting *s, const cJSON *v,
			   char *err, size_t err_len)
{
	char num[32];
	const cJSON *item;

	switch (s->type) {
	case CT_STRING:
	case CT_LEVEL:
		if (!cJSON_IsString(v))
			break;
		return config_set_text(cfg, s, v->valuestring, err, err_len);
	case CT_BOOL:
		if (!cJSON_IsBool(v))
			break;
		*(bool *)((char *)cfg + s->offset) = cJSON_IsTrue(v);
		return 0;
	case CT_INT:
	case CT_SIZE:
		if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
		    fabs(v->valuedouble) > 1e15) {
			snprintf(err, err_len, "%s: expected an integer", s->name);
			return -EINVAL;
		}
		snprintf(num, sizeof(num), "%.0f", v->valuedouble);
		return config_set_text(cfg, s, num, err, err_len);
	case CT_OUTPUT:
	case CT_OUTPUTS:
		return config_outputs_json(cfg, s, v, err, err_len);
	case CT_STRINGS: {
		struct config_list *l = config_list_of(cfg, s);
		if (!cJSON_IsArray(v))
			break;
		if (cJSON_GetArraySize(v) > CONFIG_MAX_LIST) {
			snprintf(err, err_len, "%s: at most %d entries", s->name, CONFIG_MAX_LIST);
			return -EINVAL;
		}
		cJSON_ArrayForEach(item, v)
		{
			/* not a string: what a bad one would be told */
			const char *why =
			    config_check_entry(s, cJSON_IsString(item) ? item->valuestring : "");
			if (why) {
				snprintf(err, err_len, "%s: %s", s->name, why);
				return -EINVAL;
			}
		}
		config_list_clear(l);
		cJSON_ArrayForEach(item, v)
		{
			char *copy = strdup(item->valuestring);
			if (!copy)
				return -ENOMEM;
			if (s->offset == OFF(http_headers))
				for (char *p = copy; *p; p++)
					*p = (char)tolower((unsigned char)*p);
			l->v[l->n++] = copy;
		}
		return 0;
	}
	}
	snprintf(err, err_len, "%s: expected %s", s->name,
		 s->type == CT_BOOL	 ? "true or false"
		 : s->type == CT_STRINGS ? "an array of strings"
					 : "a string");
	return -EINVAL;
}

static const struct config_setting *config_find(const char *name)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (strcmp(config_settings[i].name, name) == 0)
			return &config_settings[i];
	return NULL;
}

int config_apply_json(struct config *cfg, const char *json, size_t len, char *err, size_t err_len)
{
	cJSON *root = cJSON_ParseWithLength(json, len), *item;
	int ret = 0;

	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		snprintf(err, err_len, "not valid JSON (near byte %td)",
			 at && at >= json && at <= json + len ? at - json : (ptrdiff_t)0);
		return -EINVAL;
	}
	if (!cJSON_IsObject(root)) {
		snprintf(err, err_len, "expected a JSON object of settings");
		cJSON_Delete(root);
		return -EINVAL;
	}
	cJSON_ArrayForEach(item, root)
	{
		const struct config_setting *s = config_find(item->string);
		if (!s) {
			snprintf(err, err_len, "%s: unknown setting", item->string);
			ret = -EINVAL;
			break;
		}
		ret = config_set_json(cfg, s, item, err, err_len);
		if (ret)
			break;
	}
	if (!ret && cJSON_GetObjectItemCaseSensitive(root, "output") &&
	    cJSON_GetObjectItemCaseSensitive(root, "outputs")) {
		snprintf(err, err_len, "output, outputs: give one of them");
		ret = -EINVAL;
	}
	cJSON_Delete(root);
	return ret;
}

static int config_read_file(struct config *cfg, const char *path)
{
	char err[512];
	struct stat st;
	FILE *f = fopen(path, "re");
	char *buf;
	size_t len;
	int ret;

	if (!f) {
		fprintf(stderr, "glimpse: config %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0 || st.st_size > CONFIG_FILE_MAX) {
		fprintf(stderr, "glimpse: config %s: larger than %d bytes\n", path,
			CONFIG_FILE_MAX);
		fclose(f);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		fclose(f);
		return -1;
	}
	len = fread(buf, 1, (size_t)st.st_size, f);
	fclose(f);
	ret = config_apply_json(cfg, buf, len, err, sizeof(err));
	free(buf);
	if (ret) {
		fprintf(stderr, "glimpse: config %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

static void config_usage(FILE *out)
{
	fprintf(out, "usage: glimpse [--config FILE] [--OPTION VALUE]...\n\n"
		     "Collects the logs and lifecycle of every container on this Kubernetes node,\n"
		     "enriched with pod metadata from the kubelet, as JSON lines.\n\n"
		     "  --config FILE            JSON file of settings (same names, with '_')\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		char flag[64];
		if (s->type == CT_STRINGS || s->type == CT_OUTPUTS)
			continue;
		snprintf(flag, sizeof(flag), "--%s%s", s->name, s->type == CT_BOOL ? "" : " V");
		for (char *p = flag; *p; p++)
			if (*p == '_')
				*p = '-';
		fprintf(out, "  %-24s %s\n", flag, s->help);
	}
	fprintf(out, "  --help                   this text\n"
		     "  --version                the version\n");
}

enum config_action config_load(struct config *cfg, int argc, char **argv)
{
	struct option opts[N_SETTINGS + 4];
	char names[N_SETTINGS][64];
	const char *config_file = NULL;
	size_t n = 0;
	int c, idx;

	config_defaults(cfg);
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		if (s->type == CT_STRINGS || s->type == CT_OUTPUTS)
			continue;
		snprintf(names[i], sizeof(names[i]), "%s", s->name);
		for (char *p = names[i]; *p; p++)
			if (*p == '_')
				*p = '-';
		opts[n++] = (struct option){
		    names[i], s->type == CT_BOOL ? optional_argument : required_argument, NULL,
		    1000 + (int)i};
	}
	opts[n++] = (struct option){"config", required_argument, NULL, 'c'};
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	opts[n++] = (struct option){"version", no_argument, NULL, 'V'};
	opts[n] = (struct option){0};

	/* first pass: --config, --help, --version and unknown options */
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, &idx)) != -1) {
		if (c == 'c') {
			config_file = optarg;
		} else if (c == 'h') {
			config_usage(stdout);
			return CONFIG_EXIT_OK;
		} else if (c == 'V') {
			printf("glimpse %s\n", GLIMPSE_VERSION);
			return CONFIG_EXIT_OK;
		} else if (c == '?' || c == ':') {
			fprintf(stderr, "glimpse: %s: %s (see --help)\n", argv[optind - 1],
				c == ':' ? "needs a value" : "unknown option");
			return CONFIG_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "glimpse: %s: unexpected argument (see --help)\n", argv[optind]);
		return CONFIG_ERROR;
	}
	if (config_file && config_read_file(cfg, config_file) != 0)
		return CONFIG_ERROR;
	/* second pass: the command line wins over the file */
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, &idx)) != -1) {
		char err[512];
		const struct config_setting *s;
		if (c < 1000)
			continue;
		s = &config_settings[c - 1000];
		if (config_set_text(cfg, s, s->type == CT_BOOL && !optarg ? "true" : optarg, err,
				    sizeof(err)) != 0) {
			fprintf(stderr, "glimpse: --%s\n", err);
			return CONFIG_ERROR;
		}
	}
	return CONFIG_RUN;
}
