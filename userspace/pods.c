/* pods.c: the pods cache. Parses a kubelet PodList with cJSON into struct pod
 * records kept in an hmap keyed by UID.
 *
 * The document is untrusted: every field is type-checked, a field of the wrong
 * type is treated as absent, and everything kept is bounded by the caps below.
 * What the caps leave out is counted in *skipped of pods_update, together with
 * the items skipped whole (see pods_update below).
 *
 * An update is all or nothing: a new map is built holding the old entries and
 * the new pods, and only swapped in once nothing can fail any more.
 */
#include "pods.h"

#include "hmap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Caps, in bytes without the terminating NUL, or in entries. */
#define PODS_MAX_DOC_BYTES   (64u << 20) /* a larger document is refused whole */
#define PODS_MAX_ITEMS	     4096	 /* items beyond are skipped */
#define PODS_MAX_UID	     128	 /* longer uid: item skipped (real ones are 32 or 36) */
#define PODS_MAX_NAME	     253	 /* longer pod name or namespace: item skipped */
#define PODS_MAX_KEY	     317	 /* label/annotation key: 253 prefix + '/' + 63 name */
#define PODS_MAX_VALUE	     4096	 /* values, images, container ids */
#define PODS_MAX_LABELS	     256	 /* per pod */
#define PODS_MAX_ANNOTATIONS 256	 /* per pod */
#define PODS_MAX_CONTAINERS  256	 /* per pod, all kinds together */
#define PODS_MAX_VOLUMES     256	 /* per pod */
#define PODS_MAX_MOUNTS	     256	 /* per container */
#define PODS_MAX_PATH	     4095	 /* mount paths, subPaths, hostPath paths: PATH_MAX - 1 */

/* A CronJob names its Jobs "<cronjob>-<scheduled time in minutes since
 * 1970>"; no label names the CronJob. So a Job name whose last "-" is
 * followed by only digits, at least this many, is taken for a CronJob's: such
 * minute counts have had 8 digits since 1989 and will until 2160, and the
 * bound keeps "migrate-2" or "x-manual-001" from looking like one. */
#define PODS_CRONJOB_MIN_DIGITS 8

struct pods {
	struct hmap *map; /* uid -> struct pod *, owned */
	int64_t retention_ms;
	uint64_t generation; /* see pods_generation */
};

/* The state of building pods from one document. */
struct pod_build {
	size_t dropped; /* entries over a cap and strings cut to their cap */
	bool nomem;
};

/* What each kind of container is called in spec and in status. */
static const struct pod_container_kind {
	const char *spec_key;
	const char *status_key;
	bool init;
} pod_container_kinds[] = {
    {"initContainers", "initContainerStatuses", true},
    {"containers", "containerStatuses", false},
    {"ephemeralContainers", "ephemeralContainerStatuses", false},
};

static void pod_mounts_free(struct pod_volume_mount *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].name);
		free(m[i].mount_path);
		free(m[i].sub_path);
		free(m[i].sub_path_expr);
	}
	free(m);
}

static void pod_container_clear(struct pod_container *c)
{
	free(c->name);
	free(c->id);
	free(c->runtime);
	free(c->image);
	free(c->last_id);
	pod_mounts_free(c->mounts, c->n_mounts);
}

static void pod_volumes_free(struct pod_volume *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].kind_name);
		free(v[i].medium);
		free(v[i].host_path);
	}
	free(v);
}

static void pod_kv_free(struct pod_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static void pod_free(struct pod *pod)
{
	if (!pod)
		return;
	free(pod->uid);
	free(pod->name);
	free(pod->namespace_name);
	free(pod->node_name);
	free(pod->qos_class);
	free(pod->job_name);
	free(pod->cronjob_name);
	free(pod->deployment_name);
	free(pod->replicaset_name);
	free(pod->statefulset_name);
	free(pod->daemonset_name);
	pod_kv_free(pod->labels, pod->n_labels);
	pod_kv_free(pod->annotations, pod->n_annotations);
	for (size_t i = 0; i < pod->n_containers; i++)
		pod_container_clear(&pod->containers[i]);
	free(pod->containers);
	pod_volumes_free(pod->volumes, pod->n_volumes);
	free(pod);
}

/* The member key of obj when obj is an object, else NULL. */
static const cJSON *pod_json_get(const cJSON *obj, const char *key)
{
	if (!cJSON_IsObject(obj))
		return NULL;
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

/* The string member key of obj, or NULL when absent, empty or not a string. */
static const char *pod_json_str(const cJSON *obj, const char *key)
{
	const cJSON *item = pod_json_get(obj, key);

	if (!cJSON_IsString(item) || !item->valuestring || !item->valuestring[0])
		return NULL;
	return item->valuestring;
}

/* Copies n bytes of s, cut to cap bytes at a UTF-8 character boundary (a cut
 * is counted). NULL when s is NULL or n is 0, or when out of memory (noted). */
static char *pod_copy_n(struct pod_build *b, const char *s, size_t n, size_t cap)
{
	char *copy;

	if (!s || n == 0)
		return NULL;
	if (n > cap) {
		n = cap;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		b->dropped++;
	}
	copy = malloc(n + 1);
	if (!copy) {
		b->nomem = true;
		return NULL;
	}
	memcpy(copy, s, n);
	copy[n] = '\0';
	return copy;
}

static char *pod_copy(struct pod_build *b, const char *s, size_t cap)
{
	return s ? pod_copy_n(b, s, strlen(s), cap) : NULL;
}

/* Replaces *slot with value when value is not NULL. */
static void pod_set(char **slot, char *value)
{
	if (!value)
		return;
	free(*slot);
	*slot = value;
}

/* Labels or annotations: the string members of obj, at most max of them. */
static void pod_kv_parse(struct pod_build *b, const cJSON *obj, size_t max, struct pod_kv **out,
			 size_t *n_out)
{
	const cJSON *item;
	size_t n = 0;

	if (!cJSON_IsObject(obj))
		return;
	cJSON_ArrayForEach(item, obj)
	{
		if (cJSON_IsString(item) && item->valuestring && item->string && item->string[0])
			n++;
	}
	if (n > max) {
		b->dropped += n - max;
		n = max;
	}
	if (n == 0)
		return;
	*out = calloc(n, sizeof(**out));
	if (!*out) {
		b->nomem = true;
		return;
	}
	cJSON_ArrayForEach(item, obj)
	{
		struct pod_kv *kv = *out + *n_out;

		if (*n_out == n)
			break;
		if (!cJSON_IsString(item) || !item->valuestring || !item->string ||
		    !item->string[0])
			continue;
		kv->key = pod_copy(b, item->string, PODS_MAX_KEY);
		/* an empty value is a value: keep "" rather than NULL */
		kv->value = item->valuestring[0] ? pod_copy(b, item->valuestring, PODS_MAX_VALUE)
						 : calloc(1, 1);
		kv->cut = strlen(item->valuestring) > PODS_MAX_VALUE;
		(*n_out)++;
		if (!kv->key || !kv->value) {
			b->nomem = true;
			return;
		}
	}
}

/* The string member key of obj when it is at most cap bytes; NULL when absent
 * (see pod_json_str). *over is set when it is there but longer. */
static const char *pod_json_str_capped(const cJSON *obj, const char *key, size_t cap, bool *over)
{
	const char *s = pod_json_str(obj, key);

	if (s && strlen(s) > cap) {
		*over = true;
		return NULL;
	}
	return s;
}

/* How many entries to allocate for an array under a cap. */
static size_t pod_room(const cJSON *list, size_t cap)
{
	size_t n = (size_t)cJSON_GetArraySize(list);

	return n < cap ? n : cap;
}

/* The source of a spec.volumes entry: the member that is not its name. */
static const cJSON *pod_volume_source(const cJSON *item)
{
	const cJSON *member;

	cJSON_ArrayForEach(member, item)
	{
		if (member->string && member->string[0] && strcmp(member->string, "name") != 0 &&
		    cJSON_IsObject(member))
			return member;
	}
	return NULL;
}

/* Whether a spec.volumes entry is kept: it has a name, and neither that nor
 * its hostPath path is over its cap (counted when one is). */
static bool pod_volume_keep(struct pod_build *b, const cJSON *item)
{
	const cJSON *src = pod_volume_source(item);
	bool over = false;
	const char *name = pod_json_str_capped(item, "name", PODS_MAX_NAME, &over);

	if (src && strcmp(src->string, "hostPath") == 0)
		pod_json_str_capped(src, "path", PODS_MAX_PATH, &over);
	b->dropped += over;
	return name && !over;
}

/* Fills v from a spec.volumes entry that pod_volume_keep kept. */
static void pod_volume_parse(struct pod_build *b, struct pod_volume *v, const cJSON *item)
{
	const cJSON *src = pod_volume_source(item);
	const char *host_path;

	v->kind = POD_VOLUME_OTHER;
	v->name = pod_copy(b, pod_json_str(item, "name"), PODS_MAX_NAME);
	if (!src)
		return;
	v->kind_name = pod_copy(b, src->string, PODS_MAX_NAME);
	if (strcmp(src->string, "emptyDir") == 0) {
		const char *medium = pod_json_str(src, "medium");

		v->kind = POD_VOLUME_EMPTY_DIR;
		/* no medium is the node's disk: keep "" rather than NULL */
		v->medium = medium ? pod_copy(b, medium, PODS_MAX_NAME) : calloc(1, 1);
		if (!v->medium)
			b->nomem = true;
	} else if (strcmp(src->string, "hostPath") == 0) {
		host_path = pod_json_str(src, "path");
		if (host_path) {
			v->kind = POD_VOLUME_HOST_PATH;
			v->host_path = pod_copy(b, host_path, PODS_MAX_PATH);
		}
	}
}

/* spec.volumes: the first PODS_MAX_VOLUMES kept entries. */
static void pod_volumes_parse(struct pod_build *b, struct pod *pod, const cJSON *spec)
{
	const cJSON *list = pod_json_get(spec, "volumes"), *item;
	size_t room;

	if (!cJSON_IsArray(list))
		return;
	room = pod_room(list, PODS_MAX_VOLUMES);
	if (room == 0)
		return;
	pod->volumes = calloc(room, sizeof(*pod->volumes));
	if (!pod->volumes) {
		b->nomem = true;
		return;
	}
	cJSON_ArrayForEach(item, list)
	{
		if (!pod_volume_keep(b, item))
			continue;
		if (pod->n_volumes == room) {
			b->dropped++;
			continue;
		}
		pod_volume_parse(b, &pod->volumes[pod->n_volumes++], item);
		if (b->nomem)
			return;
	}
}

/* Whether a volumeMounts entry is kept: it has a name and a mountPath, and
 * none of its names and paths is over its cap (counted when one is). */
static bool pod_mount_keep(struct pod_build *b, const cJSON *item)
{
	bool over = false;
	const char *name = pod_json_str_capped(item, "name", PODS_MAX_NAME, &over);
	const char *path = pod_json_str_capped(item, "mountPath", PODS_MAX_PATH, &over);

	pod_json_str_capped(item, "subPath", PODS_MAX_PATH, &over);
	pod_json_str_capped(item, "subPathExpr", PODS_MAX_PATH, &over);
	b->dropped += over;
	return name && path && !over;
}

/* A container's volumeMounts: the first PODS_MAX_MOUNTS kept entries. */
static void pod_mounts_parse(struct pod_build *b, struct pod_container *c, const cJSON *spec_item)
{
	const cJSON *list = pod_json_get(spec_item, "volumeMounts"), *item;
	size_t room;

	if (!cJSON_IsArray(list))
		return;
	room = pod_room(list, PODS_MAX_MOUNTS);
	if (room == 0)
		return;
	c->mounts = calloc(room, sizeof(*c->mounts));
	if (!c->mounts) {
		b->nomem = true;
		return;
	}
	cJSON_ArrayForEach(item, list)
	{
		struct pod_volume_mount *m;

		if (!pod_mount_keep(b, item))
			continue;
		if (c->n_mounts == room) {
			b->dropped++;
			continue;
		}
		m = &c->mounts[c->n_mounts++];
		m->name = pod_copy(b, pod_json_str(item, "name"), PODS_MAX_NAME);
		m->mount_path = pod_copy(b, pod_json_str(item, "mountPath"), PODS_MAX_PATH);
		m->sub_path = pod_copy(b, pod_json_str(item, "subPath"), PODS_MAX_PATH);
		m->sub_path_expr = pod_copy(b, pod_json_str(item, "subPathExpr"), PODS_MAX_PATH);
		m->read_only = cJSON_IsTrue(pod_json_get(item, "readOnly"));
		if (b->nomem)
			return;
	}
}

/* Splits "<runtime>://<id>" into its parts; a containerID without "://" is
 * all id. Both stay NULL when there is no id. */
static void pod_container_id_split(struct pod_build *b, const char *cid, char **runtime, char **id)
{
	const char *sep;

	*runtime = NULL;
	*id = NULL;
	if (!cid)
		return;
	sep = strstr(cid, "://");
	if (!sep) {
		*id = pod_copy(b, cid, PODS_MAX_VALUE);
		return;
	}
	*id = pod_copy(b, sep + 3, PODS_MAX_VALUE);
	if (!*id)
		return;
	*runtime = pod_copy_n(b, cid, (size_t)(sep - cid), PODS_MAX_NAME);
}

/* Appends a container named name, or counts it dropped when the pod is full.
 * Returns it, or NULL. */
static struct pod_container *pod_container_add(struct pod_build *b, struct pod *pod, size_t *cap,
					       const char *name, bool init)
{
	struct pod_container *c;

	if (pod->n_containers == PODS_MAX_CONTAINERS) {
		b->dropped++;
		return NULL;
	}
	if (pod->n_containers == *cap) {
		size_t ncap = *cap ? *cap * 2 : 4;
		struct pod_container *grown;

		if (ncap > PODS_MAX_CONTAINERS)
			ncap = PODS_MAX_CONTAINERS;
		grown = realloc(pod->containers, ncap * sizeof(*grown));
		if (!grown) {
			b->nomem = true;
			return NULL;
		}
		pod->containers = grown;
		*cap = ncap;
	}
	c = &pod->containers[pod->n_containers];
	*c = (struct pod_container){.init = init};
	c->name = pod_copy(b, name, PODS_MAX_NAME);
	if (!c->name)
		return NULL; /* out of memory: nothing to keep */
	pod->n_containers++;
	return c;
}

/* Fills a container from one status entry. */
static void pod_container_status(struct pod_build *b, struct pod_container *c, const cJSON *st)
{
	const cJSON *restarts = pod_json_get(st, "restartCount");
	const cJSON *terminated = pod_json_get(pod_json_get(st, "lastState"), "terminated");
	char *runtime, *id;

	pod_container_id_split(b, pod_json_str(st, "containerID"), &runtime, &id);
	if (id) {
		pod_set(&c->id, id);
		free(c->runtime);
		c->runtime = runtime;
	}
	pod_set(&c->image, pod_copy(b, pod_json_str(st, "image"), PODS_MAX_VALUE));
	/* a whole number in int range; anything else is ignored */
	if (cJSON_IsNumber(restarts) && restarts->valuedouble >= 0 &&
	    restarts->valuedouble <= INT_MAX &&
	    (double)(int)restarts->valuedouble == restarts->valuedouble)
		c->restart_count = (int)restarts->valuedouble;
	pod_container_id_split(b, pod_json_str(terminated, "containerID"), &runtime, &id);
	free(runtime);
	pod_set(&c->last_id, id);
}

/* One kind of container: the spec's list, then its statuses matched by name.
 * A status without a spec entry still makes a container. Only the first
 * PODS_MAX_CONTAINERS entries of each list are read; the rest count as dropped. */
static void pod_containers_kind(struct pod_build *b, struct pod *pod, size_t *cap,
				const cJSON *spec, const cJSON *status,
				const struct pod_container_kind *kind)
{
	const cJSON *list = pod_json_get(spec, kind->spec_key), *item;
	size_t first = pod->n_containers, seen = 0;

	if (cJSON_IsArray(list)) {
		cJSON_ArrayForEach(item, list)
		{
			const char *name = pod_json_str(item, "name");
			struct pod_container *c;

			if (seen++ == PODS_MAX_CONTAINERS) {
				b->dropped +=
				    (size_t)cJSON_GetArraySize(list) - PODS_MAX_CONTAINERS;
				break;
			}
			if (!name)
				continue;
			c = pod_container_add(b, pod, cap, name, kind->init);
			if (c) {
				c->image = pod_copy(b, pod_json_str(item, "image"), PODS_MAX_VALUE);
				pod_mounts_parse(b, c, item);
			}
			if (b->nomem)
				return;
		}
	}
	list = pod_json_get(status, kind->status_key);
	if (!cJSON_IsArray(list))
		return;
	seen = 0;
	cJSON_ArrayForEach(item, list)
	{
		const char *name = pod_json_str(item, "name");
		struct pod_container *c = NULL;

		if (seen++ == PODS_MAX_CONTAINERS) {
			b->dropped += (size_t)cJSON_GetArraySize(list) - PODS_MAX_CONTAINERS;
			break;
		}
		if (!name)
			continue;
		for (size_t i = first; i < pod->n_containers && !c; i++) {
			if (strcmp(pod->containers[i].name, name) == 0)
				c = &pod->containers[i];
		}
		if (!c)
			c = pod_container_add(b, pod, cap, name, kind->init);
		if (c)
			pod_container_status(b, c, item);
		if (b->nomem)
			return;
	}
}

static bool pod_owner_kind_known(const char *kind)
{
	return strcmp(kind, "Job") == 0 || strcmp(kind, "ReplicaSet") == 0 ||
	       strcmp(kind, "StatefulSet") == 0 || strcmp(kind, "DaemonSet") == 0;
}

/* The owner reference that says who controls the pod: the first with
 * controller=true, else the first of a kind we know. NULL when none. */
static const cJSON *pod_owner_pick(const cJSON *meta)
{
	const cJSON *refs = pod_json_get(meta, "ownerReferences"), *ref, *known = NULL;

	if (!cJSON_IsArray(refs))
		return NULL;
	cJSON_ArrayForEach(ref, refs)
	{
		const char *kind = pod_json_str(ref, "kind");

		if (!kind || !pod_json_str(ref, "name"))
			continue;
		if (cJSON_IsTrue(pod_json_get(ref, "controller")))
			return ref;
		if (!known && pod_owner_kind_known(kind))
			known = ref;
	}
	return known;
}

/* The CronJob part of a Job name "<cronjob>-<minutes>", see PODS_CRONJOB_MIN_DIGITS. */
static char *pod_cronjob_from_job(struct pod_build *b, const char *job)
{
	const char *dash = strrchr(job, '-');
	size_t digits;

	if (!dash || dash == job)
		return NULL;
	digits = strlen(dash + 1);
	if (digits < PODS_CRONJOB_MIN_DIGITS || strspn(dash + 1, "0123456789") != digits)
		return NULL;
	return pod_copy_n(b, job, (size_t)(dash - job), PODS_MAX_NAME);
}

static void pod_owners(struct pod_build *b, struct pod *pod, const cJSON *meta)
{
	const cJSON *owner = pod_owner_pick(meta);
	const cJSON *labels = pod_json_get(meta, "labels");

	if (owner) {
		const char *kind = pod_json_str(owner, "kind");
		const char *name = pod_json_str(owner, "name");

		if (strcmp(kind, "Job") == 0) {
			pod->job_name = pod_copy(b, name, PODS_MAX_NAME);
		} else if (strcmp(kind, "ReplicaSet") == 0) {
			const char *hash = pod_json_str(labels, "pod-template-hash");
			size_t len = strlen(name), hlen = hash ? strlen(hash) : 0;

			pod->replicaset_name = pod_copy(b, name, PODS_MAX_NAME);
			if (hash && len > hlen + 1 && name[len - hlen - 1] == '-' &&
			    strcmp(name + len - hlen, hash) == 0)
				pod->deployment_name =
				    pod_copy_n(b, name, len - hlen - 1, PODS_MAX_NAME);
		} else if (strcmp(kind, "StatefulSet") == 0) {
			pod->statefulset_name = pod_copy(b, name, PODS_MAX_NAME);
		} else if (strcmp(kind, "DaemonSet") == 0) {
			pod->daemonset_name = pod_copy(b, name, PODS_MAX_NAME);
		}
	} else {
		const char *job = pod_json_str(labels, "batch.kubernetes.io/job-name");

		if (!job)
			job = pod_json_str(labels, "job-name");
		pod->job_name = pod_copy(b, job, PODS_MAX_NAME);
	}
	if (pod->job_name)
		pod->cronjob_name = pod_cronjob_from_job(b, pod->job_name);
}

/* The string member key of meta when it is a non-empty string of at most cap bytes. */
static const char *pod_identity(const cJSON *meta, const char *key, size_t cap)
{
	const char *s = pod_json_str(meta, key);

	return s && strlen(s) <= cap ? s : NULL;
}

/* Builds the pod of one PodList item. NULL when the item is skipped, or when
 * out of memory (b->nomem). */
static struct pod *pod_build(struct pod_build *b, const cJSON *item, int64_t now_ms)
{
	const cJSON *meta = pod_json_get(item, "metadata");
	const cJSON *spec = pod_json_get(item, "spec");
	const cJSON *status = pod_json_get(item, "status");
	const char *uid = pod_identity(meta, "uid", PODS_MAX_UID);
	const char *name = pod_identity(meta, "name", PODS_MAX_NAME);
	const char *ns = pod_identity(meta, "namespace", PODS_MAX_NAME);
	size_t cap = 0;
	struct pod *pod;

	if (!uid || !name || !ns)
		return NULL;
	pod = calloc(1, sizeof(*pod));
	if (!pod) {
		b->nomem = true;
		return NULL;
	}
	pod->last_seen_ms = now_ms;
	pod->uid = pod_copy(b, uid, PODS_MAX_UID);
	pod->name = pod_copy(b, name, PODS_MAX_NAME);
	pod->namespace_name = pod_copy(b, ns, PODS_MAX_NAME);
	pod->node_name = pod_copy(b, pod_json_str(spec, "nodeName"), PODS_MAX_NAME);
	pod->qos_class = pod_copy(b, pod_json_str(status, "qosClass"), PODS_MAX_NAME);
	pod_kv_parse(b, pod_json_get(meta, "labels"), PODS_MAX_LABELS, &pod->labels,
		     &pod->n_labels);
	pod_kv_parse(b, pod_json_get(meta, "annotations"), PODS_MAX_ANNOTATIONS, &pod->annotations,
		     &pod->n_annotations);
	pod_owners(b, pod, meta);
	pod_volumes_parse(b, pod, spec);
	for (size_t i = 0;
	     i < sizeof(pod_container_kinds) / sizeof(pod_container_kinds[0]) && !b->nomem; i++)
		pod_containers_kind(b, pod, &cap, spec, status, &pod_container_kinds[i]);
	if (b->nomem) {
		pod_free(pod);
		return NULL;
	}
	return pod;
}

/* True when json starts an object or array that it never closes: a cut-off
 * document rather than something that is not JSON at all. */
static bool pod_json_unfinished(const char *json, size_t len)
{
	size_t i = 0, depth = 0;
	bool in_string = false;

	while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
		i++;
	if (i == len || (json[i] != '{' && json[i] != '['))
		return false;
	for (; i < len; i++) {
		char ch = json[i];

		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = false;
		} else if (ch == '"') {
			in_string = true;
		} else if (ch == '{' || ch == '[') {
			depth++;
		} else if ((ch == '}' || ch == ']') && depth > 0) {
			depth--;
		}
	}
	return in_string || depth > 0;
}

/* Why a parsed document is not a PodList, as a static string. */
static const char *pod_list_reason(const cJSON *root)
{
	static const char *const kinds[][2] = {
	    {"Pod", "not a PodList: kind is Pod"},
	    {"Status", "not a PodList: kind is Status"},
	    {"List", "not a PodList: kind is List"},
	    {"Node", "not a PodList: kind is Node"},
	    {"Namespace", "not a PodList: kind is Namespace"},
	};
	const cJSON *kind = pod_json_get(root, "kind");

	if (!cJSON_IsObject(root))
		return "not a PodList: not a JSON object";
	if (kind && !cJSON_IsString(kind))
		return "not a PodList: kind is not a string";
	if (kind && strcmp(kind->valuestring, "PodList") != 0) {
		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
			if (strcmp(kind->valuestring, kinds[i][0]) == 0)
				return kinds[i][1];
		}
		return "not a PodList: kind is not PodList";
	}
	if (pod_json_get(root, "items"))
		return "not a PodList: items is not an array";
	return "not a PodList: no items array";
}

struct pods *pods_new(int64_t retention_ms)
{
	struct pods *pods = calloc(1, sizeof(*pods));

	if (!pods)
		return NULL;
	pods->map = hmap_new();
	if (!pods->map) {
		free(pods);
		return NULL;
	}
	pods->retention_ms = retention_ms > 0 ? retention_ms : 0;
	return pods;
}

static bool pods_visit_free(const void *key, size_t key_len, void *value, void *ctx)
{
	(void)key;
	(void)key_len;
	(void)ctx;
	pod_free(value);
	return true;
}

void pods_free(struct pods *pods)
{
	if (!pods)
		return;
	hmap_foreach(pods->map, pods_visit_free, NULL);
	hmap_free(pods->map);
	free(pods);
}

/* Copies every entry of the cache into the map being built (ctx). */
struct pods_copy {
	struct hmap *next;
	bool nomem;
};

static bool pods_visit_copy(const void *key, size_t key_len, void *value, void *ctx)
{
	struct pods_copy *copy = ctx;

	if (!copy->nomem && hmap_put(copy->next, key, key_len, value) != 0)
		copy->nomem = true;
	return false;
}

/* Frees the pods of the map being built (ctx is the cache's map) that are not
 * the cache's own: the new ones, on failure. */
static bool pods_visit_discard_new(const void *key, size_t key_len, void *value, void *ctx)
{
	if (hmap_get(ctx, key, key_len) != value)
		pod_free(value);
	return true;
}

/* Frees the cache's pods that the new map (ctx) replaced, on success. */
static bool pods_visit_free_replaced(const void *key, size_t key_len, void *value, void *ctx)
{
	if (hmap_get(ctx, key, key_len) != value)
		pod_free(value);
	return false;
}

/* A document is taken when it is a JSON object with an "items" array, whatever
 * its "kind" says (fluent-bit's kubelet-style test list says "Pod"); the kind
 * only names the reason when items is missing.
 *
 * *skipped counts, besides items skipped whole (not an object, no valid uid,
 * name or namespace, a uid already seen in the same document, items past
 * PODS_MAX_ITEMS), every label, annotation and container dropped over its cap
 * and every string cut to its cap: anything the document held that the cache
 * does not. It is set, not added to; 0 on error. */
int pods_update(struct pods *pods, const char *json, size_t len, int64_t now_ms, size_t *skipped,
		const char **err)
{
	struct pod_build b = {0};
	struct pods_copy copy = {0};
	const char *reason = NULL, *end = NULL;
	const cJSON *items, *item;
	cJSON *root;
	size_t n_skipped = 0, seen = 0;
	int taken = 0;

	if (skipped)
		*skipped = 0;
	if (err)
		*err = NULL;
	if (!pods)
		reason = "no cache";
	else if (!json || len == 0)
		reason = "empty document";
	else if (len > PODS_MAX_DOC_BYTES)
		reason = "document larger than 64 MiB";
	if (reason) {
		if (err)
			*err = reason;
		return -EINVAL;
	}

	root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!root) {
		reason = pod_json_unfinished(json, len) ? "truncated JSON" : "not JSON";
	} else {
		while (end < json + len && (*end == ' ' || *end == '\t' || *end == '\n' ||
					    *end == '\r' || *end == '\0'))
			end++;
		if (end != json + len)
			reason = "not JSON: data after the document";
	}
	items = pod_json_get(root, "items");
	if (!reason && !cJSON_IsArray(items))
		reason = pod_list_reason(root);
	if (reason) {
		cJSON_Delete(root);
		if (err)
			*err = reason;
		return -EINVAL;
	}

	copy.next = hmap_new();
	if (!copy.next)
		goto nomem;
	hmap_foreach(pods->map, pods_visit_copy, &copy);
	if (copy.nomem)
		goto nomem;
	cJSON_ArrayForEach(item, items)
	{
		struct pod *pod, *cur;
		size_t uid_len;

		if (seen++ == PODS_MAX_ITEMS) {
			n_skipped += (size_t)cJSON_GetArraySize(items) - PODS_MAX_ITEMS;
			break;
		}
		pod = pod_build(&b, item, now_ms);
		if (b.nomem)
			goto nomem;
		if (!pod) {
			n_skipped++;
			continue;
		}
		uid_len = strlen(pod->uid);
		cur = hmap_get(copy.next, pod->uid, uid_len);
		if (cur && cur != hmap_get(pods->map, pod->uid, uid_len)) {
			pod_free(pod); /* the same uid twice in one document: the first wins */
			n_skipped++;
			continue;
		}
		if (hmap_put(copy.next, pod->uid, uid_len, pod) != 0) {
			pod_free(pod);
			goto nomem;
		}
		taken++;
	}
	cJSON_Delete(root);

	hmap_foreach(pods->map, pods_visit_free_replaced, copy.next);
	hmap_free(pods->map);
	pods->map = copy.next;
	pods->generation++;
	if (skipped)
		*skipped = n_skipped + b.dropped;
	return taken;

nomem:
	if (copy.next) {
		hmap_foreach(copy.next, pods_visit_discard_new, pods->map);
		hmap_free(copy.next);
	}
	cJSON_Delete(root);
	if (err)
		*err = "out of memory";
	return -ENOMEM;
}

const struct pod *pods_lookup(const struct pods *pods, const char *uid)
{
	if (!pods || !uid)
		return NULL;
	return hmap_get(pods->map, uid, strlen(uid));
}

struct pods_expiry {
	int64_t now_ms;
	int64_t retention_ms;
	size_t dropped;
};

static bool pods_visit_expire(const void *key, size_t key_len, void *value, void *ctx)
{
	struct pods_expiry *ex = ctx;
	struct pod *pod = value;

	(void)key;
	(void)key_len;
	/* last_seen + retention < now, without overflowing */
	if (pod->last_seen_ms > INT64_MAX - ex->retention_ms ||
	    pod->last_seen_ms + ex->retention_ms >= ex->now_ms)
		return false;
	pod_free(pod);
	ex->dropped++;
	return true;
}

size_t pods_expire(struct pods *pods, int64_t now_ms)
{
	struct pods_expiry ex = {.now_ms = now_ms, .retention_ms = 0, .dropped = 0};

	if (!pods)
		return 0;
	ex.retention_ms = pods->retention_ms;
	hmap_foreach(pods->map, pods_visit_expire, &ex);
	if (ex.dropped)
		pods->generation++;
	return ex.dropped;
}

size_t pods_count(const struct pods *pods)
{
	return pods ? hmap_count(pods->map) : 0;
}

struct pods_each {
	bool (*fn)(const struct pod *pod, void *ctx);
	void *ctx;
	bool stop;
};

static bool pods_each_visit(const void *key, size_t key_len, void *value, void *ctx)
{
	struct pods_each *x = ctx;

	(void)key;
	(void)key_len;
	if (!x->stop)
		x->stop = x->fn(value, x->ctx);
	return false;
}

void pods_foreach(const struct pods *pods, bool (*fn)(const struct pod *pod, void *ctx), void *ctx)
{
	struct pods_each x = {fn, ctx, false};

	if (pods)
		hmap_foreach(pods->map, pods_each_visit, &x);
}

uint64_t pods_generation(const struct pods *pods)
{
	return pods ? pods->generation : 0;
}

const struct pod_container *pod_container_by_name(const struct pod *pod, const char *name)
{
	if (!pod || !name)
		return NULL;
	for (size_t i = 0; i < pod->n_containers; i++) {
		if (strcmp(pod->containers[i].name, name) == 0)
			return &pod->containers[i];
	}
	return NULL;
}

const struct pod_volume *pod_volume_by_name(const struct pod *pod, const char *name)
{
	if (!pod || !name)
		return NULL;
	for (size_t i = 0; i < pod->n_volumes; i++) {
		if (strcmp(pod->volumes[i].name, name) == 0)
			return &pod->volumes[i];
	}
	return NULL;
}

const char *pod_annotation(const struct pod *pod, const char *key)
{
	if (!pod || !key)
		return NULL;
	for (size_t i = 0; i < pod->n_annotations; i++) {
		if (strcmp(pod->annotations[i].key, key) == 0)
			return pod->annotations[i].cut ? NULL : pod->annotations[i].value;
	}
	return NULL;
}

const struct pod_container *pod_container_by_id(const struct pod *pod, const char *id)
{
	if (!pod || !id || !*id)
		return NULL;
	for (size_t i = 0; i < pod->n_containers; i++) {
		if (pod->containers[i].id && strcmp(pod->containers[i].id, id) == 0)
			return &pod->containers[i];
	}
	for (size_t i = 0; i < pod->n_containers; i++) {
		if (pod->containers[i].last_id && strcmp(pod->containers[i].last_id, id) == 0)
			return &pod->containers[i];
	}
	return NULL;
}
