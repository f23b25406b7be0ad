/* pods.h: the pods cache, filled from the kubelet's GET /pods (a v1 PodList).
 *
 * Pods are kept by UID. A pod that disappears from /pods keeps its metadata for
 * the retention time, so the last lines of a finished Job are still enriched.
 * The cache never blocks and never does I/O: kubelet.c fetches, this parses.
 */
#ifndef GLIMPSE_PODS_H
#define GLIMPSE_PODS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pod_kv {
	char *key;
	char *value;
	bool cut; /* the value was cut to its cap: it says less than the pod did */
};

/* What backs a volume. Only the kinds whose files have a known place on the
 * host are told apart; every other source is POD_VOLUME_OTHER. */
enum pod_volume_kind {
	POD_VOLUME_OTHER,
	POD_VOLUME_EMPTY_DIR, /* under the kubelet's pods/<uid>/volumes/kubernetes.io~empty-dir/ */
	POD_VOLUME_HOST_PATH, /* host_path on the host */
};

/* One entry of spec.volumes. */
struct pod_volume {
	char *name;
	enum pod_volume_kind kind;
	/* The source's member name as the pod gives it ("emptyDir", "hostPath",
	 * "configMap", "persistentVolumeClaim", ...), or NULL when it has none.
	 * A hostPath without a string path is POD_VOLUME_OTHER named "hostPath". */
	char *kind_name;
	char *medium;	 /* emptyDir.medium: "" (the node's disk), "Memory", ...; else NULL */
	char *host_path; /* hostPath.path when kind is POD_VOLUME_HOST_PATH, else NULL */
};

/* One entry of a container's volumeMounts. */
struct pod_volume_mount {
	char *name;	  /* the volume's name */
	char *mount_path; /* where the container sees it, as the pod wrote it */
	char *sub_path;	  /* the part of the volume mounted, or NULL for all of it */
	/* subPathExpr: a subPath with $(VAR)s from the container's environment,
	 * which this cache does not know, so where it lands is not known; or NULL. */
	char *sub_path_expr;
	bool read_only;
};

struct pod_container {
	char *name;
	char *id; /* containerStatuses[].containerID without "<runtime>://", or NULL */
	char *
	    runtime; /* the "<runtime>" of containerID ("containerd", "cri-o", "docker"), or NULL */
	char *image; /* status image, else the spec's image, or NULL */
	int restart_count;
	bool init;     /* from spec.initContainers */
	char *last_id; /* lastState.terminated.containerID without prefix, or NULL */
	struct pod_volume_mount *mounts; /* the spec's volumeMounts, in its order */
	size_t n_mounts;
};

struct pod {
	char *uid;
	char *name;
	char *namespace_name;
	char *node_name; /* spec.nodeName, or NULL */
	char *qos_class; /* status.qosClass, or NULL */
	/* The owner chain as far as metadata tells it; NULL when not known.
	 * job: owner kind Job (else the job-name labels). cronjob: the Job's name
	 * minus a "-<8 or more digits>" suffix (a CronJob names its Jobs
	 * <cronjob>-<scheduled unix minutes>).
	 * deployment: a ReplicaSet owner's name minus the pod-template-hash label.
	 * replicaset, statefulset, daemonset: owner of that kind. */
	char *job_name;
	char *cronjob_name;
	char *deployment_name;
	char *replicaset_name;
	char *statefulset_name;
	char *daemonset_name;
	struct pod_kv *labels;
	size_t n_labels;
	struct pod_kv *annotations;
	size_t n_annotations;
	struct pod_container *containers; /* init containers, then containers, then ephemeral */
	size_t n_containers;
	struct pod_volume *volumes; /* spec.volumes, in its order */
	size_t n_volumes;
	int64_t last_seen_ms; /* the last update whose PodList held this pod */
};

struct pods;

struct pods *pods_new(int64_t retention_ms);
void pods_free(struct pods *pods);

/* Parses one PodList document and merges it into the cache: pods in it are
 * added or replaced (last_seen_ms = now_ms); pods not in it are left to expire.
 * Items that lack metadata.uid, name or namespace are skipped; they, and
 * labels, annotations, containers, volumes or volume mounts dropped over a cap
 * and strings cut to their cap, are counted in *skipped (may be NULL). A
 * volume or mount whose name or path is over its cap is dropped whole rather
 * than cut, since a cut path names another place. Returns the number of pods
 * taken, or -EINVAL when the document is not JSON or not a PodList (no "items"
 * array), with *err set to a static English reason; -ENOMEM on allocation
 * failure. The cache is left as it was on error. */
int pods_update(struct pods *pods, const char *json, size_t len, int64_t now_ms, size_t *skipped,
		const char **err);

/* The cached pod with this UID, or NULL. Valid until the next pods_update or pods_expire. */
const struct pod *pods_lookup(const struct pods *pods, const char *uid);

/* Drops pods not seen for longer than the retention time. Returns how many. */
size_t pods_expire(struct pods *pods, int64_t now_ms);
size_t pods_count(const struct pods *pods);
/* Changes whenever what pods_lookup answers, or the pods it points to, may
 * have changed (every pods_update that succeeds, every pods_expire that drops
 * a pod): what was derived from the cache at one generation holds while the
 * generation is the same. */
uint64_t pods_generation(const struct pods *pods);

/* Calls fn for every cached pod, in no particular order, until it returns
 * true. fn must not change the cache. */
void pods_foreach(const struct pods *pods, bool (*fn)(const struct pod *pod, void *ctx), void *ctx);

/* The container of that name (any kind), or NULL. */
const struct pod_container *pod_container_by_name(const struct pod *pod, const char *name);
/* The container whose current or last id is id (no runtime prefix), or NULL. */
const struct pod_container *pod_container_by_id(const struct pod *pod, const char *id);
/* The volume of that name, or NULL. */
const struct pod_volume *pod_volume_by_name(const struct pod *pod, const char *name);
/* The value of the annotation key ("" when set empty), or NULL when the pod
 * has none, or when its value was cut to its cap (see struct pod_kv). */
const char *pod_annotation(const struct pod *pod, const char *key);

#endif
