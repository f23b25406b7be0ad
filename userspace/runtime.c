/* runtime.c: the Kubernetes identity of a container from its runtime's state
 * (see runtime.h). */
#include "runtime.h"

#include "file.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void runtime_copy(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool runtime_is(const char *key, size_t key_len, const char *want)
{
	return strlen(want) == key_len && memcmp(key, want, key_len) == 0;
}

/* Applies one annotation to out. */
static void runtime_annotation(struct runtime_info *out, const char *key, size_t key_len,
			       const char *value)
{
	size_t vlen = strlen(value);

	if (runtime_is(key, key_len, "io.kubernetes.container.name") ||
	    runtime_is(key, key_len, "io.kubernetes.cri.container-name")) {
		runtime_copy(out->name, sizeof(out->name), value, vlen);
		if (strcmp(value, "POD") == 0)
			out->sandbox = true;
	} else if (runtime_is(key, key_len, "io.kubernetes.pod.uid") ||
		   runtime_is(key, key_len, "io.kubernetes.cri.sandbox-uid")) {
		runtime_copy(out->pod_uid, sizeof(out->pod_uid), value, vlen);
	} else if (runtime_is(key, key_len, "io.kubernetes.pod.name") ||
		   runtime_is(key, key_len, "io.kubernetes.cri.sandbox-name")) {
		runtime_copy(out->pod_name, sizeof(out->pod_name), value, vlen);
	} else if (runtime_is(key, key_len, "io.kubernetes.pod.namespace") ||
		   runtime_is(key, key_len, "io.kubernetes.cri.sandbox-namespace")) {
		runtime_copy(out->pod_namespace, sizeof(out->pod_namespace), value, vlen);
	} else if (runtime_is(key, key_len, "io.kubernetes.cri-o.LogPath")) {
		runtime_copy(out->log_path, sizeof(out->log_path), value, vlen);
	} else if (runtime_is(key, key_len, "io.kubernetes.cri-o.ContainerType") ||
		   runtime_is(key, key_len, "io.kubernetes.cri.container-type")) {
		out->sandbox = strcmp(value, "sandbox") == 0;
	} else if (runtime_is(key, key_len, "io.kubernetes.docker.type")) {
		out->sandbox = strcmp(value, "podsandbox") == 0;
	}
}

int runtime_parse_state(const char *json, size_t len, struct runtime_info *out)
{
	cJSON *root = cJSON_ParseWithLength(json, len), *item;
	const cJSON *labels, *annotations;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "init_process_pid");
	if (cJSON_IsNumber(item) && item->valuedouble > 0 && item->valuedouble < 1 << 30)
		out->init_pid = (int)item->valuedouble;
	/* runc state.json: config.labels = ["key=value", …] */
	labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "config"),
						  "labels");
	cJSON_ArrayForEach(item, labels)
	{
		const char *s = cJSON_GetStringValue(item), *eq;
		if (s && (eq = strchr(s, '=')) != NULL)
			runtime_annotation(out, s, (size_t)(eq - s), eq + 1);
	}
	/* OCI config.json: annotations = {"key": "value"} */
	annotations = cJSON_GetObjectItemCaseSensitive(root, "annotations");
	cJSON_ArrayForEach(item, annotations)
	{
		const char *v = cJSON_GetStringValue(item);
		if (v && item->string)
			runtime_annotation(out, item->string, strlen(item->string), v);
	}
	cJSON_Delete(root);
	return 0;
}

int runtime_lookup(const char *const *roots, size_t n_roots, const char *container_id,
		   struct runtime_info *out)
{
	char path[4096];

	/* container ids come from cgroup paths: letters, digits, '-' and '_' only,
	 * so nothing can walk out of the root */
	if (!*container_id ||
	    strspn(container_id, "0123456789abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ-_") != strlen(container_id))
		return -EINVAL;
	for (size_t i = 0; i < n_roots; i++) {
		char *buf = NULL;
		size_t len = 0;
		int err;

		if (snprintf(path, sizeof(path), "%s/%s/state.json", roots[i], container_id) >=
		    (int)sizeof(path))
			continue;
		err = file_read_all(path, RUNTIME_STATE_MAX, true, &buf, &len);
		if (err == -ENOENT || err == -ENOTDIR)
			continue;
		if (err)
			return err;
		err = runtime_parse_state(buf, len, out);
		free(buf);
		return err;
	}
	return -ENOENT;
}

/* Copies a docker label's value whole, or leaves dst empty when it does not
 * fit: a cut pod uid or name would enrich events with another pod's identity. */
static void runtime_docker_label(char *dst, size_t cap, const cJSON *labels, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(labels, key));
	size_t len;

	if (!v)
		return;
	len = strlen(v);
	if (len < cap)
		memcpy(dst, v, len + 1);
}

int runtime_parse_docker_config(const char *json, size_t len, struct runtime_info *out)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *labels, *state, *pid;
	const char *type;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -EINVAL;
	}
	/* a Config.Labels of another type (null for an image without labels) is
	 * no labels: every look-up below then finds nothing */
	labels = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "Config"),
						  "Labels");
	if (!cJSON_IsObject(labels))
		labels = NULL;
	runtime_docker_label(out->name, sizeof(out->name), labels, "io.kubernetes.container.name");
	runtime_docker_label(out->pod_uid, sizeof(out->pod_uid), labels, "io.kubernetes.pod.uid");
	runtime_docker_label(out->pod_name, sizeof(out->pod_name), labels,
			     "io.kubernetes.pod.name");
	runtime_docker_label(out->pod_namespace, sizeof(out->pod_namespace), labels,
			     "io.kubernetes.pod.namespace");
	type = cJSON_GetStringValue(
	    cJSON_GetObjectItemCaseSensitive(labels, "io.kubernetes.docker.type"));
	out->sandbox = type && strcmp(type, "podsandbox") == 0;
	/* dockerd keeps the last Pid after the container stopped or while it
	 * restarts; only a running container's pid is its process */
	state = cJSON_GetObjectItemCaseSensitive(root, "State");
	pid = cJSON_GetObjectItemCaseSensitive(state, "Pid");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(state, "Running")) &&
	    cJSON_IsNumber(pid) && pid->valuedouble > 0 && pid->valuedouble < 1 << 30 &&
	    pid->valuedouble == (double)(int)pid->valuedouble)
		out->init_pid = (int)pid->valuedouble;
	cJSON_Delete(root);
	return 0;
}

int runtime_docker_lookup(const char *docker_root, const char *container_id,
			  struct runtime_info *out)
{
	char path[4096], *buf = NULL;
	size_t len = 0;
	int n, err;

	memset(out, 0, sizeof(*out));
	/* docker's ids are hex; letters and digits only, so no '/', '.' or ".."
	 * can lead out of <root>/containers */
	if (!*container_id ||
	    strspn(container_id, "0123456789abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != strlen(container_id))
		return -EINVAL;
	if (!*docker_root)
		return -ENOENT;
	n = snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", docker_root,
		     container_id);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	err = file_read_all(path, RUNTIME_STATE_MAX, true, &buf, &len);
	/* <root>/containers/<id> as a plain file: docker knows no such container */
	if (err == -ENOTDIR)
		return -ENOENT;
	if (err)
		return err;
	err = runtime_parse_docker_config(buf, len, out);
	free(buf);
	return err;
}
