/* config.h: the agent's settings, from defaults, then the JSON config file,
 * then the command line. Every setting has the same name in both places
 * (--kubelet-url on the command line is "kubelet_url" in the file). */
#ifndef GLIMPSE_CONFIG_H
#define GLIMPSE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_LIST 8 /* entries of a list setting */

/* A list setting: set in the config file only, as a JSON array of strings. */
struct config_list {
	char *v[CONFIG_MAX_LIST];
	size_t n;
};

/* An output: its --output value and its entry of "outputs" in the config
 * file as JSON text (NULL when it has none). */
struct config_output {
	char *spec;
	char *settings;
};

struct config_outputs {
	struct config_output v[CONFIG_MAX_LIST];
	size_t n;
};

struct config {
	char *pods_log_dir;
	char *kubelet_root_dir;
	char *docker_root; /* "" when docker's json-file logs are not read */
	char *kubelet_url;
	char *kubelet_token_file;
	char *kubelet_ca_file;
	bool kubelet_insecure;
	/* The token and CA were set explicitly (file or command line), not left
	 * at the service account's defaults. */
	bool kubelet_token_file_set;
	bool kubelet_ca_file_set;
	int64_t kubelet_timeout_ms;
	char *node_name;
	char *state_dir;
	/* Where events go: "output" (a string or a list of them) or "outputs"
	 * (entries with settings) in the file; --output, repeatable, on the
	 * command line replaces them, keeping the settings of the file's entry
	 * with the same URL. */
	struct config_outputs outputs;
	struct config_outputs file_outputs; /* the file's, while --output replaces them */
	bool outputs_from_command_line;
	int log_level;
	size_t max_line_size;
	int64_t metadata_wait_ms;
	int64_t pod_retention_ms;
	int64_t rescan_interval_ms;
	int64_t checkpoint_interval_ms;
	size_t max_queued_bytes;
	size_t spool_max_bytes; /* per output, of container and http events */
	size_t max_deleted_files;
	size_t rate_limit_lines; /* per second per file; 0: no limit */
	size_t rate_limit_bytes;
	int64_t multiline_flush_ms;
	bool http_capture;
	bool http_trace_host;
	char *http_hooks; /* "auto", "socket" or "syscall" */
	size_t http_capture_bytes;
	int64_t http_timeout_ms;
	bool exit_on_eof;
	struct config_list runc_roots;
	/* request headers given in http events, lower case; a secret one
	 * (Authorization, Cookie, ...) is "REDACTED" unless http_secret_headers */
	struct config_list http_headers;
	bool http_secret_headers;
};

enum config_action {
	CONFIG_RUN,	/* run the agent */
	CONFIG_EXIT_OK, /* --help or --version was printed */
	CONFIG_ERROR,	/* a bad setting was reported */
};

/* Fills cfg from defaults, the config file named by --config and the command
 * line, reporting a bad key or value by name with the reason on stderr. */
enum config_action config_load(struct config *cfg, int argc, char **argv);

/* Applies one JSON document (the config file's content) over cfg. Returns 0,
 * or -EINVAL with a message "<key>: <reason>" in err. */
int config_apply_json(struct config *cfg, const char *json, size_t len, char *err, size_t err_len);

void config_defaults(struct config *cfg);
void config_free(struct config *cfg);

#endif
