/* agent.c: see agent.h.
 *
 * A log file of a pod the agent has not seen before is not read until the
 * kubelet has answered about that pod (one coalesced GET /pods) and the file's
 * container id is known, or until metadata_wait_ms has passed: the file is the
 * buffer, so waiting costs nothing and every line carries its metadata. For
 * the same reason no file is read while the sink holds more than
 * max_queued_bytes.
 *
 * Every event gets the next delivery sequence number. After each line the
 * file's checkpoint is marked with the offset up to which every line has
 * become an event (a line held by the CRI joiner, or a long line in pieces,
 * keeps it at that line's start) and the last sequence number; the position
 * is saved once the sink confirms that number.
 */
#include "agent.h"

#include "applogs.h"
#include "cgroup_path.h"
#include "checkpoint.h"
#include "config.h"
#include "containers.h"
#include "cri.h"
#include "dockerlog.h"
#include "hmap.h"
#include "httpcap.h"
#include "httptrack.h"
#include "json.h"
#include "kubelet.h"
#include "lifecycle.h"
#include "log.h"
#include "loop.h"
#include "multiline.h"
#include "pods.h"
#include "runtime.h"
#include "sink.h"
#include "spool.h"
#include "tail.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define AGENT_HOUSEKEEPING_MS	  5000
#define AGENT_KUBELET_BACKOFF_MIN 500
#define AGENT_KUBELET_BACKOFF_MAX 30000
#define AGENT_KUBELET_MAX_BODY	  (64 * 1024 * 1024)
#define AGENT_WAIT_ATTEMPTS	  3
#define AGENT_RUNTIME_TRIES	  8
#define AGENT_CKPT_GRACE_MS	  60000 /* a checkpoint no open file claims is dropped after */
#define AGENT_DRAIN_MS		  5000	/* how long a stop waits for the sink */
#define AGENT_LIMIT_WARN_MS	  10000
#define AGENT_MULTILINE_TICK_MS	  100
#define AGENT_MULTILINE_KEY	  "glimpse.io/multiline"
#define AGENT_APPLOGS_RETRY_MS	  1000

struct agent_counters {
	uint64_t log_events, container_events, http_events, events_without_pod, cri_malformed,
	    lines_split, invalid_utf8_bytes, sink_errors, runtime_errors, kubelet_invalid,
	    rate_limited, paused, multiline_invalid, docker_malformed;
};

/* A pod UID the agent asked the kubelet about. */
struct agent_pod_wait {
	uint64_t seq; /* the fetch that answers for it */
	int64_t since_ms;
	int attempts; /* fetches answered without the pod */
};

struct agent {
	const struct config *cfg;
	struct loop *loop;
	struct lifecycle *lc;
	struct httpcap *httpcap; /* NULL when HTTP capture is off or failed */
	struct httptrack *httptrack;
	char *http_header_keys[HTTPTRACK_HEADERS]; /* "http.request.header.<name>" */
	struct containers *containers;
	struct tail *tail;
	struct applogs *applogs; /* NULL with --exit-on-eof */
	uint64_t applogs_pods_gen, applogs_containers_gen;
	bool applogs_dirty;	  /* a container started or exited */
	int64_t applogs_retry_ms; /* a dir to look for again then; 0: none */
	struct kubelet *kubelet;
	struct pods *pods;
	struct sinks *sinks;
	struct ckpt *ckpt;
	struct hmap *pod_waits; /* uid -> agent_pod_wait */
	struct jbuf ev;
	char *docker_dir; /* <docker root>/containers, or NULL */
	char *dbuf;	  /* a docker record's message, unescaped */
	size_t dbuf_cap;
	uint64_t seq;	/* the last event's delivery sequence number */
	bool paused;	/* the sink is full: no file is read */
	bool finishing; /* --exit-on-eof: every file was read to its end */
	struct loop_timer *ckpt_timer;
	struct loop_timer *ml_timer;
	struct agent_file *ml_files; /* files with multiline joining */
	int sigfd;
	uint64_t kubelet_done_seq; /* the latest fetch that finished, ok or not */
	bool kubelet_failing;
	int64_t kubelet_backoff_ms;
	struct loop_timer *housekeeping;
	struct json_time_cache event_time; /* events' times, to the second */
	struct agent_counters n;
};

/* Per log file: the CRI joiner and the state of a line that came in pieces. */
struct agent_file {
	struct agent *a;
	struct tail_file *f;
	struct cri_joiner joiner;
	bool released;	     /* reading may go on */
	int64_t deadline_ms; /* stop waiting for metadata then */
	uint64_t seq;	     /* the kubelet fetch awaited for the container id, or 0 */
	/* a raw line handed over in pieces */
	bool piece_cri; /* its first piece parsed as CRI */
	enum cri_stream piece_stream;
	int64_t piece_time;
	bool piece_partial;
	struct ckpt_entry *ck;
	uint64_t held[2];   /* offset of the first line the joiner holds, per stream */
	uint64_t msg_start; /* offset of the first line of the message being emitted */
	/* multiline joining, from the pod's annotation (looked up once the pod is
	 * known); ml_held: where the lines it holds begin, per stream */
	struct multiline *ml;
	bool ml_checked, ml_emitted[2];
	uint64_t ml_pods_gen; /* the pods cache when the annotation was looked for */
	uint64_t ml_held[2];
	struct agent_file *next_ml, **prev_ml;
	uint64_t limit_lines, limit_bytes; /* rate limit tokens */
	int64_t limit_ms;		   /* when the tokens were last refilled */
	int64_t limit_warned_ms;
	/* The members every log event of the file carries after its line, as
	 * agent_file_meta rendered them: ",\"log.file.path\":…" up to meta_split,
	 * then what agent_enrich appends. They hold while the pods cache and the
	 * container table are at the generations they were rendered at. */
	struct jbuf meta;
	size_t meta_split;
	bool meta_valid;
	bool meta_pod; /* the pod was in the cache */
	uint64_t meta_pods_gen, meta_containers_gen;
	const char *meta_path;	  /* f->container_path then */
	struct container *meta_c; /* agent_file_container then */
	char source[48];	  /* "<dev>:<inode>", in events' headers */
};

/* Hands the event in a->ev to the sinks: its kind, the pod it belongs to
 * (the message key), and for a log line its file (af) and offset there. */
static void agent_emit(struct agent *a, unsigned kind, const char *pod_uid,
		       const struct agent_file *af)
{
	struct sink_event ev = {.kind = kind};
	bool failed = false;

	jbuf_append(&a->ev, "\n", 1);
	if (a->ev.failed) {
		log_error("event dropped: out of memory building it");
		return;
	}
	ev.data = a->ev.data;
	ev.len = a->ev.len;
	ev.key = pod_uid && *pod_uid ? pod_uid : NULL;
	if (af) {
		ev.source = af->source;
		ev.offset = af->msg_start;
	}
	a->seq = sinks_write(a->sinks, &ev, &failed);
	if (failed) {
		a->n.sink_errors++;
		log_error("event dropped by an output that did not take it");
	}
}

static const char *agent_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* Appends to b the pod and container members every event carries. Returns
 * whether the pod was in the cache (else the event counts as without pod). */
static bool agent_enrich(struct agent *a, struct jbuf *b, const char *uid, const char *ns,
			 const char *pod_name, const char *cname, const struct container *c,
			 const char *cid)
{
	const struct pod *pod = uid && *uid ? pods_lookup(a->pods, uid) : NULL;
	const struct pod_container *pc = NULL;

	if (c)
		cid = c->id;
	else if (cid && !*cid)
		cid = NULL;

	jbuf_member_str(b, "k8s.node.name", a->cfg->node_name);
	if (pod) {
		ns = pod->namespace_name;
		pod_name = pod->name;
		if (cname)
			pc = pod_container_by_name(pod, cname);
		if (!pc && cid)
			pc = pod_container_by_id(pod, cid);
		if (!cname && pc)
			cname = pc->name;
	}
	if (ns && *ns)
		jbuf_member_str(b, "k8s.namespace.name", ns);
	if (pod_name && *pod_name)
		jbuf_member_str(b, "k8s.pod.name", pod_name);
	if (uid && *uid)
		jbuf_member_str(b, "k8s.pod.uid", uid);
	if (cname && *cname)
		jbuf_member_str(b, "k8s.container.name", cname);
	if (!cid && pc)
		cid = pc->id;
	if (cid && *cid)
		jbuf_member_str(b, "container.id", cid);
	if (c && c->runtime != CGPATH_RUNTIME_UNKNOWN)
		jbuf_member_str(b, "container.runtime", cgpath_runtime_name(c->runtime));
	else if (pc && pc->runtime)
		jbuf_member_str(b, "container.runtime", pc->runtime);
	if (!pod)
		return false;
	if (pc && pc->image)
		jbuf_member_str(b, "container.image.name", pc->image);
	if (pod->job_name)
		jbuf_member_str(b, "k8s.job.name", pod->job_name);
	if (pod->cronjob_name)
		jbuf_member_str(b, "k8s.cronjob.name", pod->cronjob_name);
	if (pod->deployment_name)
		jbuf_member_str(b, "k8s.deployment.name", pod->deployment_name);
	if (pod->replicaset_name)
		jbuf_member_str(b, "k8s.replicaset.name", pod->replicaset_name);
	if (pod->statefulset_name)
		jbuf_member_str(b, "k8s.statefulset.name", pod->statefulset_name);
	if (pod->daemonset_name)
		jbuf_member_str(b, "k8s.daemonset.name", pod->daemonset_name);
	for (size_t i = 0; i < pod->n_labels; i++) {
		char key[512];
		if (snprintf(key, sizeof(key), "k8s.pod.label.%s", pod->labels[i].key) <
		    (int)sizeof(key))
			jbuf_member_str(b, key, pod->labels[i].value);
	}
	return true;
}

static void agent_begin_event(struct agent *a, int64_t time_ns, const char *kind)
{
	char when[JSON_TIME_LEN + 1];

	json_format_time_cached(&a->event_time, time_ns, when);
	jbuf_reset(&a->ev);
	jbuf_puts(&a->ev, "{");
	jbuf_member_str(&a->ev, "time", when);
	jbuf_member_str(&a->ev, "kind", kind);
}

static int64_t agent_realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Monotonic kernel timestamps to wall-clock time. */
static int64_t agent_mono_to_real(int64_t mono_ns)
{
	return agent_realtime_ns() - (loop_now_ns() - mono_ns);
}

/* The container a log file belongs to, as far as the agent knows. */
static struct container *agent_file_container(struct agent *a, const struct tail_file *f)
{
	struct container *c = f->container_id[0] ? containers_by_id(a->containers, f->container_id)
						 : containers_by_log_path(a->containers, f->path);

	return c ? c : containers_by_pod_name(a->containers, f->pod_uid, f->container_name);
}

static void agent_log_discovery(struct container *c)
{
	char fields[1024];
	int n = 0;

	c->discovery_logged = true;
	if (log_get_level() > LOG_DEBUG)
		return;
#define AGENT_FIELD(name, cond, value)                                                             \
	if ((cond) && n >= 0 && (size_t)n < sizeof(fields))                                        \
		n += snprintf(fields + n, sizeof(fields) - (size_t)n, ",\"%s\":%lld", name,        \
			      (long long)(value));
	n = snprintf(fields, sizeof(fields), "\"container.id\":\"%s\",\"k8s.pod.uid\":\"%s\"",
		     c->id, c->pod_uid);
	AGENT_FIELD("cgroup_to_received_ns", c->cgroup_ns && c->received_ns,
		    c->received_ns - c->cgroup_ns);
	AGENT_FIELD("cgroup_to_registered_ns", c->cgroup_ns && c->registered_ns,
		    c->registered_ns - c->cgroup_ns);
	AGENT_FIELD("exec_to_registered_ns", c->exec_ns && c->registered_ns,
		    c->registered_ns - c->exec_ns);
	AGENT_FIELD("cgroup_to_log_open_ns", c->cgroup_ns && c->log_open_ns,
		    c->log_open_ns - c->cgroup_ns);
	AGENT_FIELD("file_create_to_open_ns", c->file_timing_known, c->file_create_to_open_ns);
	AGENT_FIELD("cgroup_to_first_line_ns", c->cgroup_ns, c->first_line_ns - c->cgroup_ns);
	AGENT_FIELD("exec_to_first_line_ns", c->exec_ns, c->first_line_ns - c->exec_ns);
#undef AGENT_FIELD
	if (n > 0 && (size_t)n < sizeof(fields))
		log_fields(LOG_DEBUG, fields, "container discovered");
}

/* The per-file rate limit (a token bucket refilled every second, bursts up
 * to one second's worth). Returns false when the line is to be dropped. */
static bool agent_rate_ok(struct agent *a, struct agent_file *af, size_t len)
{
	const struct config *cfg = a->cfg;
	int64_t now;

	if (!cfg->rate_limit_lines && !cfg->rate_limit_bytes)
		return true;
	now = loop_now_ms();
	if (now - af->limit_ms >= 1000 || !af->limit_ms) {
		af->limit_lines = cfg->rate_limit_lines;
		af->limit_bytes = cfg->rate_limit_bytes;
		af->limit_ms = now;
	}
	if ((cfg->rate_limit_lines && !af->limit_lines) ||
	    (cfg->rate_limit_bytes && af->limit_bytes < len)) {
		a->n.rate_limited++;
		if (now - af->limit_warned_ms >= AGENT_LIMIT_WARN_MS) {
			af->limit_warned_ms = now;
			log_warn(
			    "%s: over the rate limit; lines dropped (%llu so far in all files)",
			    af->f->path, (unsigned long long)a->n.rate_limited);
		}
		return false;
	}
	if (cfg->rate_limit_lines)
		af->limit_lines--;
	if (cfg->rate_limit_bytes)
		af->limit_bytes -= len;
	return true;
}

/* Brings af's rendered members (struct agent_file) up to date: they are
 * rendered again only when the pods cache or the container table changed.
 * Returns false when there was no memory for them. */
static bool agent_file_meta(struct agent *a, struct agent_file *af)
{
	uint64_t pods_gen = pods_generation(a->pods);
	uint64_t containers_gen = containers_generation(a->containers);
	const struct tail_file *f = af->f;

	if (af->meta_valid && af->meta_pods_gen == pods_gen &&
	    af->meta_containers_gen == containers_gen && af->meta_path == f->container_path)
		return true;
	af->meta_path = f->container_path; /* a renamed file has a new one */
	af->meta_c = agent_file_container(a, f);
	/* rendered as the members of an object, whose '{' becomes the ',' that
	 * follows the line's own members */
	jbuf_reset(&af->meta);
	jbuf_puts(&af->meta, "{");
	jbuf_member_str(&af->meta, "log.file.path",
			f->container_path ? f->container_path : f->path);
	af->meta_split = af->meta.len;
	af->meta_pod = agent_enrich(a, &af->meta, f->pod_uid, f->namespace_name, f->pod_name,
				    f->container_name, af->meta_c, f->container_id);
	af->meta_valid = !af->meta.failed;
	if (!af->meta_valid)
		return false;
	af->meta.data[0] = ',';
	af->meta_pods_gen = pods_gen;
	af->meta_containers_gen = containers_gen;
	return true;
}

/* Joiner output: one log event. Its members, in this order: time, kind, body,
 * log.iostream, log.file.path, log.split, then those of agent_enrich. */
static void agent_log_emit(void *ctx, enum cri_stream stream, int64_t time_ns, const char *msg,
			   size_t len, bool truncated)
{
	static const char head[] = "{\"time\":\"", kind[] = "\",\"kind\":\"log\",\"body\":";
	static const char out[] = ",\"log.iostream\":\"stdout\"",
			  err[] = ",\"log.iostream\":\"stderr\"", split[] = ",\"log.split\":true";
	struct agent_file *af = ctx;
	struct agent *a = af->a;
	struct tail_file *f = af->f;
	struct container *c;
	char when[JSON_TIME_LEN + 1];
	bool meta;

	if (!agent_rate_ok(a, af, len))
		return;
	meta = agent_file_meta(a, af);
	c = meta ? af->meta_c : agent_file_container(a, f);

	json_format_time_cached(&a->event_time, time_ns, when);
	jbuf_reset(&a->ev);
	jbuf_append(&a->ev, head, sizeof(head) - 1);
	jbuf_append(&a->ev, when, JSON_TIME_LEN);
	jbuf_append(&a->ev, kind, sizeof(kind) - 1);
	a->n.invalid_utf8_bytes += jbuf_string(&a->ev, msg, len);
	if ((int)stream >= 0 && f->format != TAIL_FORMAT_PLAIN) {
		if (stream == CRI_STDERR)
			jbuf_append(&a->ev, err, sizeof(err) - 1);
		else
			jbuf_append(&a->ev, out, sizeof(out) - 1);
	}
	if (meta) {
		jbuf_append(&a->ev, af->meta.data, af->meta_split);
		if (truncated)
			jbuf_append(&a->ev, split, sizeof(split) - 1);
		jbuf_append(&a->ev, af->meta.data + af->meta_split, af->meta.len - af->meta_split);
		if (!af->meta_pod)
			a->n.events_without_pod++;
	} else {
		jbuf_member_str(&a->ev, "log.file.path",
				f->container_path ? f->container_path : f->path);
		if (truncated)
			jbuf_append(&a->ev, split, sizeof(split) - 1);
		if (!agent_enrich(a, &a->ev, f->pod_uid, f->namespace_name, f->pod_name,
				  f->container_name, c, f->container_id))
			a->n.events_without_pod++;
	}
	jbuf_puts(&a->ev, "}");
	agent_emit(a, SINK_KIND_LOG, f->pod_uid, af);
	a->n.log_events++;
	if (truncated)
		a->n.lines_split++;
	if (c && !c->first_line_ns) {
		c->first_line_ns = loop_now_ns();
		if (!c->log_open_ns) {
			c->log_open_ns = f->open_ns;
			c->file_create_to_open_ns = f->create_to_open_ns;
			c->file_timing_known = f->create_known;
		}
		agent_log_discovery(c);
	}
}

/* A raw line that is not CRI: emitted as it is, so nothing is lost. */
static void agent_ml_emit(void *ctx, int stream, int64_t time_ns, const char *msg, size_t len,
			  bool truncated)
{
	struct agent_file *af = ctx;

	af->ml_emitted[stream] = true;
	agent_log_emit(af, (enum cri_stream)stream, time_ns, msg, len, truncated);
}

/* The pod's multiline annotation, once the pod is known. */
static void agent_ml_setup(struct agent *a, struct agent_file *af)
{
	const struct pod *pod = pods_lookup(a->pods, af->f->pod_uid);
	const char *spec, *why = NULL;

	if (!pod)
		return;
	af->ml_checked = true;
	spec = pod_annotation(pod, AGENT_MULTILINE_KEY);
	if (!spec)
		return;
	if (multiline_new(&af->ml, spec, a->cfg->max_line_size, &why) != 0) {
		a->n.multiline_invalid++;
		log_warn("pod %s/%s: annotation %s: %s; lines go out one by one",
			 pod->namespace_name, pod->name, AGENT_MULTILINE_KEY,
			 why ? why : "invalid");
		af->ml = NULL;
		return;
	}
	af->next_ml = a->ml_files;
	if (a->ml_files)
		a->ml_files->prev_ml = &af->next_ml;
	af->prev_ml = &a->ml_files;
	a->ml_files = af;
}

/* Joiner output: one message, joined with the lines around it when the pod
 * asks for multiline joining, then one log event. */
static void agent_log_event(void *ctx, enum cri_stream stream, int64_t time_ns, const char *msg,
			    size_t len, bool truncated)
{
	struct agent_file *af = ctx;
	struct agent *a = af->a;
	bool was;

	/* the annotation is looked for once the pods cache has changed since */
	if (!af->ml_checked && pods_generation(a->pods) != af->ml_pods_gen) {
		af->ml_pods_gen = pods_generation(a->pods);
		agent_ml_setup(a, af);
	}
	if (!af->ml || (int)stream < 0) {
		agent_log_emit(af, stream, time_ns, msg, len, truncated);
		return;
	}
	was = multiline_holding_stream(af->ml, stream);
	af->ml_emitted[stream] = false;
	if (multiline_add(af->ml, stream, time_ns, msg, len, loop_now_ms(), agent_ml_emit, af) != 0)
		return; /* out of memory: what it held and the line went out as they were */
	/* lines it holds now begin at this message unless it joined what it held */
	if (multiline_holding_stream(af->ml, stream) && (!was || af->ml_emitted[stream]))
		af->ml_held[stream] = af->msg_start;
}

static void agent_raw_line(struct agent_file *af, const char *data, size_t len)
{
	af->msg_start = af->f->line_start;
	agent_log_event(af, (enum cri_stream) - 1, agent_realtime_ns(), data, len, false);
}

/* A line of an in-container file: the message as it is, timed when read.
 * It takes the place of stdout for multiline joining, but its events name
 * no stream. */
static void agent_plain_line(struct agent_file *af, const char *data, size_t len, unsigned flags)
{
	af->msg_start = af->f->line_start;
	agent_log_event(af, CRI_STDOUT, agent_realtime_ns(), data, len,
			(flags & (TAIL_PIECE_MORE | TAIL_PIECE_CONT)) != 0);
}

/* Feeds the joiner, remembering where the first line it holds began. */
static void agent_join(struct agent_file *af, enum cri_stream stream, int64_t time_ns,
		       const char *msg, size_t len, bool partial)
{
	if (!af->joiner.stream[stream].open)
		af->held[stream] = af->f->line_start;
	af->msg_start = af->held[stream];
	cri_joiner_add(&af->joiner, stream, time_ns, msg, len, partial, agent_log_event, af);
}

/* Every line before the returned offset has become an event. */
static uint64_t agent_done_offset(const struct agent_file *af, unsigned flags)
{
	uint64_t done = flags & TAIL_PIECE_MORE ? af->f->line_start : af->f->line_end;

	for (int s = 0; s < 2; s++) {
		if (af->joiner.stream[s].open && af->held[s] < done)
			done = af->held[s];
		if (multiline_holding_stream(af->ml, s) && af->ml_held[s] < done)
			done = af->ml_held[s];
	}
	return done;
}

/* Emits what multiline joining has held for longer than the flush time. */
static void agent_ml_tick(struct loop *loop, void *arg)
{
	struct agent *a = arg;
	int64_t now = loop_now_ms();

	a->ml_timer = loop_timer_add(loop, AGENT_MULTILINE_TICK_MS, agent_ml_tick, a);
	for (struct agent_file *af = a->ml_files; af; af = af->next_ml) {
		uint64_t seq = a->seq;
		multiline_expire(af->ml, now, a->cfg->multiline_flush_ms, agent_ml_emit, af);
		if (a->seq != seq && af->ck)
			ckpt_mark(af->ck, a->seq, agent_done_offset(af, 0));
	}
}

static void agent_ml_free(struct agent_file *af)
{
	if (!af->ml)
		return;
	*af->prev_ml = af->next_ml;
	if (af->next_ml)
		af->next_ml->prev_ml = af->prev_ml;
	multiline_free(af->ml);
	af->ml = NULL;
}

/* A line of docker's json-file: one record, its message joined with the
 * records that continue it. A line too long to come whole (more than
 * max_line_size of JSON) cannot be parsed and goes out raw, like any line
 * that is not a record. */
static void agent_docker_line(struct agent_file *af, const char *data, size_t len, unsigned flags)
{
	struct agent *a = af->a;
	struct dockerlog_record rec;
	int err = flags & (TAIL_PIECE_MORE | TAIL_PIECE_CONT)
		      ? DOCKERLOG_ERR_OBJECT
		      : dockerlog_parse_line(data, len, a->dbuf, a->dbuf_cap, &rec, NULL);

	if (err) {
		a->n.docker_malformed++;
		if (!(flags & TAIL_PIECE_CONT))
			log_fields(LOG_WARN, NULL, "docker: %s: %s; line emitted as it is",
				   af->f->path,
				   flags & TAIL_PIECE_MORE ? "record longer than max_line_size"
							   : dockerlog_strerror(err));
		agent_raw_line(af, data, len);
		return;
	}
	agent_join(af, rec.stream, rec.time_ns, a->dbuf, rec.msg_len, rec.partial);
}

static void agent_file_line(void *ctx, struct tail_file *f, const char *data, size_t len,
			    unsigned flags)
{
	struct agent *a = ctx;
	struct agent_file *af = f->user;
	struct cri_line cl;
	int err;

	if (!af)
		return;
	if (f->format == TAIL_FORMAT_PLAIN) {
		agent_plain_line(af, data, len, flags);
	} else if (f->format == TAIL_FORMAT_DOCKER) {
		agent_docker_line(af, data, len, flags);
	} else if (flags & TAIL_PIECE_CONT) {
		/* the rest of a raw line longer than the limit */
		bool more = flags & TAIL_PIECE_MORE;
		if (af->piece_cri)
			agent_join(af, af->piece_stream, af->piece_time, data, len,
				   more || af->piece_partial);
		else
			agent_raw_line(af, data, len);
	} else if ((err = cri_parse_line(data, len, &cl)) != 0) {
		a->n.cri_malformed++;
		log_fields(LOG_WARN, NULL, "cri: %s: %s; line emitted as it is", f->path,
			   cri_strerror(err));
		af->piece_cri = false;
		agent_raw_line(af, data, len);
	} else {
		af->piece_cri = true;
		af->piece_stream = cl.stream;
		af->piece_time = cl.time_ns;
		af->piece_partial = cl.partial;
		agent_join(af, cl.stream, cl.time_ns, cl.msg, cl.msg_len,
			   cl.partial || (flags & TAIL_PIECE_MORE));
	}
	if (af->ck)
		ckpt_mark(af->ck, a->seq, agent_done_offset(af, flags));
}

/* A docker log file's pod and container, from dockerd's record of the
 * container (the labels cri-dockerd sets), else from the container table. */
static void agent_docker_names(struct agent *a, struct tail_file *f)
{
	struct runtime_info ri;
	const struct container *c;
	int err = runtime_docker_lookup(a->cfg->docker_root, f->container_id, &ri);

	if (err == 0) {
		snprintf(f->pod_uid, sizeof(f->pod_uid), "%s", ri.pod_uid);
		snprintf(f->namespace_name, sizeof(f->namespace_name), "%s", ri.pod_namespace);
		snprintf(f->pod_name, sizeof(f->pod_name), "%s", ri.pod_name);
		snprintf(f->container_name, sizeof(f->container_name), "%s", ri.name);
	} else if (err != -ENOENT) {
		a->n.runtime_errors++;
		log_warn("docker: config of container %s: %s", f->container_id, strerror(-err));
	}
	c = containers_by_id(a->containers, f->container_id);
	if (c && !f->pod_uid[0])
		snprintf(f->pod_uid, sizeof(f->pod_uid), "%s", c->pod_uid);
	if (c && c->name && !f->container_name[0])
		snprintf(f->container_name, sizeof(f->container_name), "%s", c->name);
}

static void agent_file_opened(void *ctx, struct tail_file *f, const struct stat *st)
{
	struct agent *a = ctx;
	struct agent_file *af = calloc(1, sizeof(*af));
	struct container *c;
	uint64_t start = 0;

	if (!af) {
		log_error("tail: %s: out of memory", f->path);
		return;
	}
	if (a->ckpt) {
		af->ck = ckpt_claim(a->ckpt, f->path, f->fd, st, &start);
		if (af->ck) {
			snprintf(af->ck->pod_uid, sizeof(af->ck->pod_uid), "%s", f->pod_uid);
			snprintf(af->ck->container, sizeof(af->ck->container), "%s",
				 f->container_name);
			af->ck->restart = f->restart;
		} else {
			log_error("checkpoint: %s: out of memory; its position is not kept",
				  f->path);
		}
	}
	if (f->format == TAIL_FORMAT_DOCKER)
		agent_docker_names(a, f);
	f->start_offset = start;
	af->a = a;
	af->f = f;
	snprintf(af->source, sizeof(af->source), "%llu:%llu", (unsigned long long)st->st_dev,
		 (unsigned long long)st->st_ino);
	af->deadline_ms = loop_now_ms() + a->cfg->metadata_wait_ms;
	cri_joiner_init(&af->joiner, a->cfg->max_line_size);
	f->user = af;
	c = agent_file_container(a, f);
	if (c && !c->log_open_ns) {
		c->log_open_ns = f->open_ns;
		c->file_create_to_open_ns = f->create_to_open_ns;
		c->file_timing_known = f->create_known;
	}
}

static bool agent_file_wanted(void *ctx, const char *path, const struct stat *st)
{
	struct agent *a = ctx;

	if (!a->ckpt || !ckpt_wants(a->ckpt, path, st))
		return false;
	log_info("checkpoint: %s (rotated) holds lines not yet delivered; reading it", path);
	return true;
}

static void agent_file_truncated(void *ctx, struct tail_file *f, uint64_t handed)
{
	struct agent *a = ctx;
	struct agent_file *af = f->user;
	struct stat st;

	if (!af)
		return;
	/* a copy of the old content (copytruncate) is read from the first line
	 * not yet emitted: a message the joiner holds in pieces is joined again
	 * there, whole. Without a copy, those pieces went with the old content. */
	for (int s = 0; s < 2; s++)
		if (af->joiner.stream[s].open && af->held[s] < handed)
			handed = af->held[s];
	cri_joiner_free(&af->joiner);
	cri_joiner_init(&af->joiner, a->cfg->max_line_size);
	/* a multi-line event held goes out as far as it got */
	if (af->ml)
		multiline_flush(af->ml, agent_ml_emit, af);
	if (af->ck && fstat(f->fd, &st) == 0)
		af->ck = ckpt_truncated(a->ckpt, af->ck, f->fd, &st, handed);
}

static void agent_file_closed(void *ctx, struct tail_file *f, bool drained, bool gone)
{
	struct agent *a = ctx;
	struct agent_file *af = f->user;

	if (!af)
		return;
	/* a file read to its end gives up what the joiner holds; one closed at a
	 * stop keeps its checkpoint before those lines, to be read again */
	if (drained) {
		cri_joiner_flush(&af->joiner, agent_log_event, af);
		if (af->ml)
			multiline_flush(af->ml, agent_ml_emit, af);
		if (af->ck)
			ckpt_mark(af->ck, a->seq, f->line_end);
	}
	if (af->ck)
		ckpt_release(a->ckpt, af->ck, gone);
	agent_ml_free(af);
	cri_joiner_free(&af->joiner);
	jbuf_free(&af->meta);
	free(af);
	f->user = NULL;
}

/* Makes sure the kubelet is asked about pod uid; returns its wait record. */
static struct agent_pod_wait *agent_want_pod(struct agent *a, const char *uid)
{
	struct agent_pod_wait *w = hmap_get(a->pod_waits, uid, strlen(uid));

	if (w)
		return w;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->since_ms = loop_now_ms();
	w->seq = kubelet_request(a->kubelet);
	if (hmap_put(a->pod_waits, uid, strlen(uid), w) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

static bool agent_file_ready(void *ctx, struct tail_file *f)
{
	struct agent *a = ctx;
	struct agent_file *af = f->user;
	const struct pod *pod;
	const struct pod_container *pc;
	struct container *c;
	struct agent_pod_wait *w;

	if (!af)
		return true;
	if (sinks_queued_bytes(a->sinks) >= a->cfg->max_queued_bytes) {
		if (!a->paused) {
			a->n.paused++;
			log_debug("output holds %zu bytes: reading paused",
				  sinks_queued_bytes(a->sinks));
		}
		a->paused = true;
		return false;
	}
	c = agent_file_container(a, f);
	if (!c && a->lc) {
		/* the exec of the process that wrote these lines may still be queued */
		lifecycle_poll(a->lc);
		c = agent_file_container(a, f);
	}
	if (af->released)
		return true;
	if (loop_now_ms() >= af->deadline_ms || !f->pod_uid[0])
		goto release; /* no pod to ask about: a container docker runs by itself */
	pod = pods_lookup(a->pods, f->pod_uid);
	if (!pod) {
		w = agent_want_pod(a, f->pod_uid);
		if (!w || a->kubelet_done_seq >= w->seq)
			goto release; /* the kubelet answered (or failed) since: go on without */
		return false;
	}
	pc = pod_container_by_name(pod, f->container_name);
	if (!pc && c)
		pc = pod_container_by_id(pod, c->id);
	if (pc && pc->id)
		goto release;
	/* the pod is known but not this container's status (its runtime, image)
	 * yet, even when its cgroup and runtime state named it: a newer /pods
	 * will tell */
	if (!af->seq)
		af->seq = kubelet_request(a->kubelet);
	if (a->kubelet_done_seq >= af->seq)
		goto release;
	return false;
release:
	af->released = true;
	return true;
}

struct agent_wait_check {
	struct agent *a;
	bool answered; /* the kubelet has just answered */
	size_t left;   /* waits kept */
};

/* Drops the wait for a pod the cache now has, or that the kubelet did not
 * list in AGENT_WAIT_ATTEMPTS answers; counts the others. */
static bool agent_check_wait(const void *key, size_t key_len, void *value, void *ctx)
{
	struct agent_wait_check *x = ctx;
	struct agent *a = x->a;
	struct agent_pod_wait *w = value;
	char uid[CGPATH_UID_MAX + 64];

	if (key_len >= sizeof(uid))
		goto drop;
	memcpy(uid, key, key_len);
	uid[key_len] = '\0';
	if (pods_lookup(a->pods, uid))
		goto drop;
	if (x->answered && ++w->attempts >= AGENT_WAIT_ATTEMPTS)
		goto drop;
	if (loop_now_ms() - w->since_ms > a->cfg->pod_retention_ms)
		goto drop;
	x->left++;
	return false;
drop:
	free(w);
	return true;
}

static void agent_kubelet_done(void *ctx, uint64_t seq, bool ok, const char *body, size_t len,
			       const char *err)
{
	struct agent *a = ctx;
	struct agent_wait_check check = {.a = a};
	const char *why = NULL;
	size_t skipped = 0;
	int n = 0;

	a->kubelet_done_seq = seq;
	if (ok) {
		n = pods_update(a->pods, body, len, loop_now_ms(), &skipped, &why);
		if (n < 0) {
			a->n.kubelet_invalid++;
			ok = false;
		}
	}
	if (ok) {
		if (a->kubelet_failing)
			log_info("kubelet: %s/pods answers again (%d pods)", a->cfg->kubelet_url,
				 n);
		else
			log_debug("kubelet: %d pods (%zu entries skipped or cut)", n, skipped);
		a->kubelet_failing = false;
		a->kubelet_backoff_ms = AGENT_KUBELET_BACKOFF_MIN;
	} else {
		if (why)
			log_warn("kubelet: GET %s/pods: invalid PodList: %s; events go on without "
				 "pod metadata",
				 a->cfg->kubelet_url, why);
		else if (!a->kubelet_failing || log_get_level() <= LOG_DEBUG)
			log_warn("kubelet: %s; events go on without pod metadata until it answers",
				 err ? err : "request failed");
		a->kubelet_failing = true;
	}
	/* pods still unknown: ask again, with backoff */
	check.answered = ok;
	hmap_foreach(a->pod_waits, agent_check_wait, &check);
	if (check.left > 0) {
		kubelet_request_after(a->kubelet, a->kubelet_backoff_ms);
		a->kubelet_backoff_ms *= 2;
		if (a->kubelet_backoff_ms > AGENT_KUBELET_BACKOFF_MAX)
			a->kubelet_backoff_ms = AGENT_KUBELET_BACKOFF_MAX;
	}
	tail_wake_pod(a->tail, NULL);
}

/* Reads the container's annotations from its runtime's state. runc writes
 * the state when `runc create` ends, before the container's first exec, so it
 * is looked for at registration and on each exec until found; after
 * AGENT_RUNTIME_TRIES execs without it the runtime is taken as unreadable. */
static void agent_read_runtime(struct agent *a, struct container *c, bool on_exec)
{
	struct runtime_info ri;
	int err;

	if (c->annotated)
		return;
	err = runtime_lookup((const char *const *)a->cfg->runc_roots.v, a->cfg->runc_roots.n, c->id,
			     &ri);
	if (err == -ENOENT) {
		if (on_exec && ++c->runtime_tries >= AGENT_RUNTIME_TRIES)
			c->annotated = true;
		return;
	}
	c->annotated = true;
	if (err) {
		a->n.runtime_errors++;
		log_warn("runtime: state of container %s: %s", c->id, strerror(-err));
		return;
	}
	c->sandbox = ri.sandbox;
	if (ri.init_pid)
		c->init_tgid = ri.init_pid;
	if (ri.name[0]) {
		if (containers_set_name(a->containers, c, ri.name, ri.log_path) != 0)
			log_error("containers: %s: out of memory", c->id);
		tail_wake_pod(a->tail, c->pod_uid);
	}
}

/* An exec the runtime does for itself inside the container's cgroup while
 * setting it up (runc re-executes itself from a memfd), not the container's. */
static bool agent_runtime_exec(const struct lc_proc_event *e)
{
	return strncmp(e->comm, "runc", 4) == 0 || strncmp(e->filename, "/dev/fd/", 8) == 0 ||
	       strncmp(e->filename, "/proc/self/", 11) == 0 ||
	       strncmp(e->filename, "memfd:", 6) == 0;
}

static void agent_container_event(struct agent *a, struct container *c, const char *event,
				  int64_t ts_ns, const struct lc_proc_event *e, bool with_code)
{
	agent_begin_event(a, agent_mono_to_real(ts_ns), "container");
	jbuf_member_str(&a->ev, "event", event);
	jbuf_member_int(&a->ev, "process.pid", e->tgid);
	jbuf_member_str(&a->ev, "process.executable.name",
			e->filename[0] ? agent_basename(e->filename) : e->comm);
	if (with_code) {
		int code =
		    e->exit_code & 0x7f ? 128 + (e->exit_code & 0x7f) : (e->exit_code >> 8) & 0xff;
		jbuf_member_int(&a->ev, "process.exit.code", code);
		if (e->exit_code & 0x7f)
			jbuf_member_int(&a->ev, "process.exit.signal", e->exit_code & 0x7f);
	}
	if (!agent_enrich(a, &a->ev, c->pod_uid, NULL, NULL, c->name, c, NULL))
		a->n.events_without_pod++;
	jbuf_puts(&a->ev, "}");
	agent_emit(a, SINK_KIND_CONTAINER, c->pod_uid, NULL);
	a->n.container_events++;
}

static void agent_proc(void *ctx, const struct lc_proc_event *e)
{
	struct agent *a = ctx;
	struct container *c = containers_by_cgroup(a->containers, e->h.cgroup_id);

	if (!c)
		return;
	if (e->h.type != LC_FORK)
		log_debug("lifecycle: %s pid %d tgid %d comm %s file %s code %d in %s",
			  e->h.type == LC_EXEC ? "exec" : "exit", e->pid, e->tgid, e->comm,
			  e->filename, e->exit_code, c->id);
	switch (e->h.type) {
	case LC_EXEC:
		agent_read_runtime(a, c, true);
		if (c->started)
			break;
		/* the container starts when its init process (runc's init_process_pid)
		 * executes the entrypoint; without runtime state, at the first exec
		 * that is not the runtime's own */
		if (c->init_tgid ? e->tgid != c->init_tgid : agent_runtime_exec(e))
			break;
		c->started = true;
		c->exec_ns = (int64_t)e->h.ts_ns;
		c->init_tgid = e->tgid;
		if (!c->sandbox)
			agent_container_event(a, c, "start", (int64_t)e->h.ts_ns, e, false);
		a->applogs_dirty = true; /* its own files can be reached now */
		break;
	case LC_EXIT:
		if (!c->started || c->exited || e->tgid != c->init_tgid)
			break;
		c->exited = true;
		if (!c->sandbox)
			agent_container_event(a, c, "exit", (int64_t)e->h.ts_ns, e, true);
		a->applogs_dirty = true;
		if (c->name)
			tail_container_finished(a->tail, c->pod_uid, c->name);
		break;
	default:
		break;
	}
}

/* An address as text: IPv4 written here (inet_ntop goes through sprintf,
 * and every http event has two), IPv6 by inet_ntop. */
static void agent_addr(struct jbuf *b, const char *key, int family, const uint8_t *addr)
{
	char text[INET6_ADDRSTRLEN], *p = text;

	if (family == AF_INET) {
		for (int i = 0; i < 4; i++) {
			unsigned v = addr[i];
			if (v >= 100)
				*p++ = (char)('0' + v / 100);
			if (v >= 10)
				*p++ = (char)('0' + v / 10 % 10);
			*p++ = (char)('0' + v % 10);
			*p++ = '.';
		}
		p[-1] = '\0';
	} else if (!inet_ntop(family, addr, text, sizeof(text))) {
		return;
	}
	jbuf_member_str(b, key, text);
}

/* One HTTP exchange: an http event, with the pod of the process's cgroup. */
static void agent_http_exchange(void *ctx, const struct httptrack_exchange *x)
{
	struct agent *a = ctx;
	struct container *c = containers_by_cgroup(a->containers, x->cgroup_id);

	if ((!c || !c->name) && a->lc) {
		/* the process's exec (which names its container) may still be
		 * queued in the other ring buffer */
		lifecycle_poll(a->lc);
		c = containers_by_cgroup(a->containers, x->cgroup_id);
	}
	agent_begin_event(a, agent_mono_to_real(x->request_ns), "http");
	if (x->method[0])
		jbuf_member_str(&a->ev, "http.request.method", x->method);
	jbuf_member_str(&a->ev, "url.path", x->path);
	if (x->has_query)
		jbuf_member_str(&a->ev, "url.query", x->query);
	if (x->status)
		jbuf_member_int(&a->ev, "http.response.status_code", x->status);
	jbuf_member_str(&a->ev, "network.protocol.version", x->version_minor == 0 ? "1.0" : "1.1");
	agent_addr(&a->ev, "server.address", x->family, x->server_addr);
	jbuf_member_int(&a->ev, "server.port", x->server_port);
	agent_addr(&a->ev, "client.address", x->family, x->client_addr);
	jbuf_member_int(&a->ev, "client.port", x->client_port);
	jbuf_member_int(&a->ev, "http.request.body.size", (int64_t)x->request_body);
	if (x->status)
		jbuf_member_int(&a->ev, "http.response.body.size", (int64_t)x->response_body);
	if (x->response_ns)
		jbuf_member_int(&a->ev, "duration_ns", x->response_ns - x->request_ns);
	jbuf_member_str(&a->ev, "http.side", x->side == HTTP_ROLE_SERVER ? "server" : "client");
	for (size_t i = 0; i < HTTPTRACK_HEADERS && a->http_header_keys[i]; i++) {
		if (x->headers[i][0])
			jbuf_member_str(&a->ev, a->http_header_keys[i], x->headers[i]);
	}
	if (x->incomplete)
		jbuf_member_bool(&a->ev, "http.incomplete", true);
	if (x->truncated)
		jbuf_member_bool(&a->ev, "http.request.truncated", true);
	jbuf_member_int(&a->ev, "process.pid", x->tgid);
	if (!agent_enrich(a, &a->ev, c ? c->pod_uid : NULL, NULL, NULL, c ? c->name : NULL, c,
			  NULL))
		a->n.events_without_pod++;
	jbuf_puts(&a->ev, "}");
	agent_emit(a, SINK_KIND_HTTP, c ? c->pod_uid : NULL, NULL);
	a->n.http_events++;
}

static void agent_http_record(void *ctx, const struct http_rec *r)
{
	struct agent *a = ctx;

	httptrack_record(a->httptrack, r);
}

/* Loads the HTTP programs; a failure leaves the rest of the agent running. */
static void agent_start_http(struct agent *a)
{
	const struct config *cfg = a->cfg;
	struct httptrack_options to = {
	    .timeout_ns = cfg->http_timeout_ms * 1000000,
	    .idle_ns = (int64_t)600 * 1000000000,
	    .max_conns = 65536,
	    .max_pending = 64,
	    .max_head = 16384,
	    .max_pending_total = 8192, /* about 6 KiB each: 50 MiB at worst */
	    .max_head_total = 16 * 1024 * 1024,
	    .headers = (const char *const *)cfg->http_headers.v,
	    .n_headers = cfg->http_headers.n,
	    .secret_headers = cfg->http_secret_headers,
	};
	struct httpcap_options co = {
	    .tracked_cgroups_fd = lifecycle_tracked_fd(a->lc),
	    .use_v1_memory = lifecycle_uses_v1(a->lc),
	    .trace_host = cfg->http_trace_host,
	    .hooks = cfg->http_hooks,
	    .capture_bytes = (uint32_t)cfg->http_capture_bytes,
	    .drain_ms = 10,
	};
	struct httpcap_callbacks cb = {.record = agent_http_record};

	if (!cfg->http_capture)
		return;
	for (size_t i = 0; i < cfg->http_headers.n && i < HTTPTRACK_HEADERS; i++) {
		static const char prefix[] = "http.request.header.";
		size_t len = strlen(cfg->http_headers.v[i]);
		char *key = malloc(sizeof(prefix) + len);
		if (!key) {
			log_error("http: out of memory; HTTP capture is off");
			return;
		}
		memcpy(key, prefix, sizeof(prefix) - 1);
		memcpy(key + sizeof(prefix) - 1, cfg->http_headers.v[i], len + 1);
		a->http_header_keys[i] = key;
	}
	a->httptrack = httptrack_new(&to, agent_http_exchange, a);
	if (!a->httptrack) {
		log_error("http: out of memory; HTTP capture is off");
		return;
	}
	if (httpcap_open(&a->httpcap, a->loop, &co, &cb, a) != 0) {
		log_error("http: HTTP capture is off; logs and container events go on");
		a->httpcap = NULL;
	}
}

/* Registers a container cgroup; returns the container or NULL. */
static struct container *agent_register(struct agent *a, uint64_t cgid, const char *path,
					size_t len)
{
	struct cgpath_info info;
	struct container *c;
	bool created;

	if (cgpath_parse(path, len, &info) != 0 || info.kind != CGPATH_CONTAINER ||
	    !info.pod_uid[0]) {
		if (a->lc)
			lifecycle_untrack(a->lc, cgid);
		return NULL;
	}
	c = containers_add_cgroup(a->containers, cgid, &info, &created);
	if (!c) {
		log_error("containers: %s: out of memory", info.container_id);
		return NULL;
	}
	if (!created)
		return c;
	c->registered_ns = loop_now_ns();
	agent_read_runtime(a, c, false);
	if (!pods_lookup(a->pods, c->pod_uid))
		agent_want_pod(a, c->pod_uid);
	tail_pod_hint(a->tail, c->pod_uid);
	log_debug("containers: %s of pod %s registered (cgroup %llu)", c->id, c->pod_uid,
		  (unsigned long long)cgid);
	return c;
}

static void agent_cgroup(void *ctx, bool mkdir, uint64_t cgid, const char *path, size_t len,
			 int64_t ts_ns, int64_t received_ns)
{
	struct agent *a = ctx;
	struct container *c;

	if (!mkdir) {
		c = containers_remove_cgroup(a->containers, cgid, loop_now_ms());
		if (c)
			log_debug("containers: %s gone", c->id);
		return;
	}
	c = agent_register(a, cgid, path, len);
	if (c && !c->cgroup_ns) {
		c->cgroup_ns = ts_ns;
		c->received_ns = received_ns;
	}
}

static void agent_scan_found(void *ctx, uint64_t cgid, const char *rel_path)
{
	struct agent *a = ctx;
	struct container *c = agent_register(a, cgid, rel_path, strlen(rel_path));

	if (!c)
		return;
	if (lifecycle_track(a->lc, cgid) != 0)
		log_warn("lifecycle: track cgroup %s: %s", rel_path, strerror(errno));
	c->started = true; /* running before the agent: no start event */
}

static void agent_signal(struct loop *loop, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events;
	(void)arg;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_warn("SIGHUP: configuration reload is not supported yet; ignored");
			continue;
		}
		log_info("stopping on signal %u", si.ssi_signo);
		loop_stop(loop);
	}
}

/* Keeps the dirs of in-container files in step with the pods and containers. */
static void agent_sync_applogs(struct agent *a)
{
	uint64_t pods_gen = pods_generation(a->pods);
	uint64_t containers_gen = containers_generation(a->containers);
	int64_t now;

	if (!a->applogs)
		return;
	now = loop_now_ms();
	if (!a->applogs_dirty && pods_gen == a->applogs_pods_gen &&
	    containers_gen == a->applogs_containers_gen &&
	    (!a->applogs_retry_ms || now < a->applogs_retry_ms))
		return;
	a->applogs_dirty = false;
	a->applogs_pods_gen = pods_gen;
	a->applogs_containers_gen = containers_gen;
	a->applogs_retry_ms = applogs_sync(a->applogs, a->pods, a->containers, a->tail, now)
				  ? now + AGENT_APPLOGS_RETRY_MS
				  : 0;
}

static void agent_idle(struct loop *loop, void *arg)
{
	struct agent *a = arg;

	agent_sync_applogs(a);

	if (sinks_flush(a->sinks) != 0)
		a->n.sink_errors++;
	if (a->paused && sinks_queued_bytes(a->sinks) < a->cfg->max_queued_bytes / 2) {
		a->paused = false;
		log_debug("output holds %zu bytes: reading again", sinks_queued_bytes(a->sinks));
		tail_wake_pod(a->tail, NULL);
	}
	/* paused, the files are not at their end: they wait for the outputs */
	if (a->cfg->exit_on_eof && !a->finishing && !a->paused && !tail_busy(a->tail)) {
		a->finishing = true;
		tail_finish(a->tail);
		loop_stop(loop);
	}
}

/* Saves the positions every sink has confirmed (force: even if unchanged). */
static void agent_checkpoint(struct agent *a, bool force)
{
	uint64_t confirmed;

	if (!a->ckpt)
		return;
	if (sinks_flush(a->sinks) != 0)
		a->n.sink_errors++;
	confirmed = sinks_confirmed(a->sinks);
	if (sinks_sync(a->sinks) != 0)
		return; /* not durable: the positions wait */
	ckpt_confirm(a->ckpt, confirmed);
	ckpt_save(a->ckpt, loop_now_ms(), AGENT_CKPT_GRACE_MS, force);
}

static void agent_checkpoint_tick(struct loop *loop, void *arg)
{
	struct agent *a = arg;

	a->ckpt_timer =
	    loop_timer_add(loop, a->cfg->checkpoint_interval_ms, agent_checkpoint_tick, a);
	agent_checkpoint(a, false);
}

static int agent_open_sinks(struct agent *a)
{
	struct sinks_spec specs[CONFIG_MAX_LIST];
	const struct config_outputs *o = &a->cfg->outputs;
	struct sinks_limits limits = {a->cfg->max_queued_bytes, a->cfg->spool_max_bytes};

	for (size_t i = 0; i < o->n; i++)
		specs[i] = (struct sinks_spec){o->v[i].spec, o->v[i].settings};
	return sinks_open(&a->sinks, specs, o->n, a->cfg->state_dir, &limits, a->loop);
}

/* At a stop: gives the sinks a bounded time to take what they hold. */
static void agent_drain_sinks(struct agent *a)
{
	int64_t give_up = loop_now_ms() + AGENT_DRAIN_MS;

	sinks_flush(a->sinks);
	while (sinks_queued_bytes(a->sinks) && loop_now_ms() < give_up) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		sinks_flush(a->sinks);
	}
	if (sinks_queued_bytes(a->sinks))
		log_warn("output still holds %zu bytes at exit; their lines are read again "
			 "at the next start",
			 sinks_queued_bytes(a->sinks));
}

static void agent_housekeeping(struct loop *loop, void *arg)
{
	struct agent *a = arg;
	struct agent_wait_check check = {.a = a};
	int64_t now = loop_now_ms();

	a->housekeeping = loop_timer_add(loop, AGENT_HOUSEKEEPING_MS, agent_housekeeping, a);
	pods_expire(a->pods, now);
	containers_expire(a->containers, now);
	if (a->httptrack)
		httptrack_expire(a->httptrack, loop_now_ns());
	hmap_foreach(a->pod_waits, agent_check_wait, &check);
}

static void agent_log_summary(struct agent *a)
{
	struct tail_stats ts;
	struct lifecycle_stats ls = {0};
	struct ckpt_stats cs = {0};
	struct applogs_stats as = {0};
	struct httpcap_stats hs = {0};
	struct httptrack_stats hts = {0};
	char fields[4096];
	int n;

	tail_get_stats(a->tail, &ts);
	if (a->applogs)
		applogs_get_stats(a->applogs, &as);
	if (a->httpcap)
		httpcap_get_stats(a->httpcap, &hs);
	if (a->httptrack)
		httptrack_get_stats(a->httptrack, &hts);
	if (a->lc)
		lifecycle_get_stats(a->lc, &ls);
	if (a->ckpt)
		ckpt_get_stats(a->ckpt, &cs);
	n = snprintf(fields, sizeof(fields),
		     "\"log_events\":%llu,\"container_events\":%llu,\"events_without_pod\":%llu,"
		     "\"cri_malformed\":%llu,\"docker_malformed\":%llu,\"lines_split\":%llu,"
		     "\"invalid_utf8_bytes\":%llu,"
		     "\"sink_errors\":%llu,\"files_opened\":%llu,\"bytes_read\":%llu,"
		     "\"ringbuf_records\":%llu,\"ringbuf_dropped\":%llu,\"ringbuf_malformed\":%llu",
		     (unsigned long long)a->n.log_events, (unsigned long long)a->n.container_events,
		     (unsigned long long)a->n.events_without_pod,
		     (unsigned long long)a->n.cri_malformed,
		     (unsigned long long)a->n.docker_malformed,
		     (unsigned long long)a->n.lines_split + (unsigned long long)ts.lines_split,
		     (unsigned long long)a->n.invalid_utf8_bytes,
		     (unsigned long long)a->n.sink_errors, (unsigned long long)ts.files_opened,
		     (unsigned long long)ts.bytes_read, (unsigned long long)ls.received,
		     (unsigned long long)ls.dropped, (unsigned long long)ls.malformed);
	if (n > 0 && (size_t)n < sizeof(fields))
		snprintf(
		    fields + n, sizeof(fields) - (size_t)n,
		    ",\"files_resumed\":%llu,\"files_restarted\":%llu,\"copies_followed\":%llu,"
		    "\"positions_saved\":%llu,\"position_save_errors\":%llu,"
		    "\"rate_limited\":%llu,\"reading_paused\":%llu,\"truncations\":%llu,"
		    "\"deleted_closed_unread\":%llu,\"deleted_unread_bytes\":%llu,"
		    "\"file_dirs_watched\":%llu,\"file_dir_errors\":%llu,\"symlinks_skipped\":%llu,"
		    "\"files_refused\":%llu,"
		    "\"file_globs_invalid\":%llu,\"proc_root_refused\":%llu",
		    (unsigned long long)cs.resumed,
		    (unsigned long long)cs.restarted_identity + cs.restarted_shrunk,
		    (unsigned long long)cs.copies_followed, (unsigned long long)cs.saves,
		    (unsigned long long)cs.save_errors, (unsigned long long)a->n.rate_limited,
		    (unsigned long long)a->n.paused, (unsigned long long)ts.truncations,
		    (unsigned long long)ts.deleted_closed_unread,
		    (unsigned long long)ts.deleted_unread_bytes,
		    (unsigned long long)ts.dirs_watched, (unsigned long long)ts.dir_errors,
		    (unsigned long long)ts.symlinks_skipped, (unsigned long long)ts.files_refused,
		    (unsigned long long)as.invalid, (unsigned long long)as.proc_root_refused);
	n = (int)strlen(fields);
	snprintf(fields + n, sizeof(fields) - (size_t)n,
		 ",\"http_events\":%llu,\"http_incomplete\":%llu,\"http_records\":%llu,"
		 "\"http_dropped\":%llu,\"http_malformed\":%llu,\"http_desyncs\":%llu,"
		 "\"http_conns\":%llu,\"http_conns_not_http\":%llu,\"http_conns_dropped\":%llu,"
		 "\"http_requests_dropped\":%llu,"
		 "\"http_unpaired_responses\":%llu,\"http_attach_failed\":%llu",
		 (unsigned long long)a->n.http_events, (unsigned long long)hts.incomplete,
		 (unsigned long long)hs.received, (unsigned long long)hs.dropped,
		 (unsigned long long)hts.malformed + (unsigned long long)hs.malformed,
		 (unsigned long long)hts.desyncs, (unsigned long long)hs.conns,
		 (unsigned long long)hs.not_http, (unsigned long long)hts.conns_dropped,
		 (unsigned long long)hts.pending_dropped,
		 (unsigned long long)hts.unpaired_responses, (unsigned long long)hs.attach_failed);
	for (size_t i = 0; a->sinks && i < sinks_count(a->sinks); i++) {
		const struct sink *s = sinks_get(a->sinks, i);
		struct spool_stats sp;
		sinks_spool_stats(a->sinks, i, &sp);
		n = (int)strlen(fields);
		snprintf(fields + n, sizeof(fields) - (size_t)n,
			 "%s{\"name\":\"%s\",\"events\":%llu,\"delivered\":%llu,"
			 "\"dead_lettered\":%llu,\"errors\":%llu,\"retries\":%llu,"
			 "\"queued_bytes\":%zu,\"spooled\":%llu,\"replayed\":%llu,"
			 "\"spool_dropped\":%llu,\"spool_bytes\":%llu}%s",
			 i == 0 ? ",\"outputs\":[" : ",", s->name,
			 (unsigned long long)s->stats.events,
			 (unsigned long long)s->stats.delivered,
			 (unsigned long long)s->stats.dead_lettered,
			 (unsigned long long)s->stats.errors, (unsigned long long)s->stats.retries,
			 s->queued_bytes, (unsigned long long)sp.appended,
			 (unsigned long long)sp.replayed, (unsigned long long)sp.dropped,
			 (unsigned long long)sp.bytes, i + 1 == sinks_count(a->sinks) ? "]" : "");
	}
	log_fields(LOG_INFO, fields, "stopped");
}

static int agent_prepare_state_dir(const char *dir)
{
	char probe[4096];
	FILE *f;

	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("state dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (snprintf(probe, sizeof(probe), "%s/.probe", dir) >= (int)sizeof(probe))
		return -1;
	f = fopen(probe, "we");
	if (!f) {
		log_error("state dir %s: not writable: %s", dir, strerror(errno));
		return -1;
	}
	fclose(f);
	unlink(probe);
	return 0;
}

static int agent_start(struct agent *a)
{
	const struct config *cfg = a->cfg;
	struct kubelet_options ko = {
	    .url = cfg->kubelet_url,
	    .token_file = cfg->kubelet_token_file,
	    .ca_file = cfg->kubelet_ca_file,
	    .insecure = cfg->kubelet_insecure,
	    .timeout_ms = cfg->kubelet_timeout_ms,
	    .min_interval_ms = 50,
	    .max_body = AGENT_KUBELET_MAX_BODY,
	};
	struct tail_options to = {
	    .pods_dir = cfg->pods_log_dir,
	    .docker_dir = NULL,
	    .max_line = cfg->max_line_size,
	    .rescan_ms = cfg->rescan_interval_ms,
	    .deleted_grace_ms = 1000,
	    .read_budget = 1024 * 1024,
	    .max_deleted_open = cfg->max_deleted_files,
	};
	struct tail_callbacks tc = {
	    .opened = agent_file_opened,
	    .wanted = agent_file_wanted,
	    .ready = agent_file_ready,
	    .line = agent_file_line,
	    .truncated = agent_file_truncated,
	    .closed = agent_file_closed,
	};
	struct lifecycle_callbacks lcb = {.cgroup = agent_cgroup, .proc = agent_proc};
	sigset_t mask;
	int err;

	/* outside a pod the service account's files are absent: that is no error
	 * (a local plain-HTTP endpoint needs neither); a file set explicitly is */
	if (!cfg->kubelet_token_file_set && access(cfg->kubelet_token_file, F_OK) != 0) {
		log_info("kubelet: no service account token at %s; asking without one",
			 cfg->kubelet_token_file);
		ko.token_file = NULL;
	}
	if (!cfg->kubelet_ca_file_set && access(cfg->kubelet_ca_file, F_OK) != 0) {
		log_info("kubelet: no service account CA at %s; verifying with the system's CAs",
			 cfg->kubelet_ca_file);
		ko.ca_file = NULL;
	}
	if (agent_prepare_state_dir(cfg->state_dir) != 0)
		return -1;
	if (cfg->docker_root[0]) {
		size_t n = strlen(cfg->docker_root) + sizeof("/containers");
		a->docker_dir = malloc(n);
		a->dbuf_cap = cfg->max_line_size + TAIL_HEADER_ROOM;
		a->dbuf = malloc(a->dbuf_cap);
		if (!a->docker_dir || !a->dbuf) {
			log_error("start: out of memory");
			return -1;
		}
		snprintf(a->docker_dir, n, "%s/containers", cfg->docker_root);
		to.docker_dir = a->docker_dir;
	}
	a->loop = loop_new();
	if (!a->loop)
		return -1;
	err = ckpt_open(&a->ckpt, cfg->state_dir);
	if (err) {
		log_error("checkpoint: %s: %s", cfg->state_dir, strerror(-err));
		return -1;
	}
	if (agent_open_sinks(a) != 0)
		return -1;
	a->containers = containers_new(cfg->pod_retention_ms);
	a->pods = pods_new(cfg->pod_retention_ms);
	a->pod_waits = hmap_new();
	if (!a->containers || !a->pods || !a->pod_waits) {
		log_error("start: out of memory");
		return -1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	a->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->sigfd < 0 || loop_add_fd(a->loop, a->sigfd, EPOLLIN, agent_signal, a) != 0) {
		log_error("start: signalfd: %s", strerror(errno));
		return -1;
	}
	loop_on_idle(a->loop, agent_idle, a);
	a->kubelet_backoff_ms = AGENT_KUBELET_BACKOFF_MIN;
	a->kubelet = kubelet_new(a->loop, &ko, agent_kubelet_done, a);
	if (!a->kubelet)
		return -1;
	/* the first /pods answers for every pod already on the node */
	kubelet_request(a->kubelet);
	err = tail_open(&a->tail, a->loop, &to, &tc, a);
	if (err) {
		log_error("tail: %s: %s", cfg->pods_log_dir, strerror(-err));
		return -1;
	}
	ckpt_startup_done(a->ckpt);
	a->ckpt_timer =
	    loop_timer_add(a->loop, cfg->checkpoint_interval_ms, agent_checkpoint_tick, a);
	a->ml_timer = loop_timer_add(a->loop, AGENT_MULTILINE_TICK_MS, agent_ml_tick, a);
	/* one pass over the files found: no containers to watch */
	if (!cfg->exit_on_eof) {
		a->applogs = applogs_new(cfg->kubelet_root_dir);
		if (!a->applogs) {
			log_error("start: out of memory");
			return -1;
		}
		err = lifecycle_open(&a->lc, a->loop, &lcb, a);
		if (err)
			return -1;
		err = containers_scan(lifecycle_cgroup_root(a->lc), agent_scan_found, a);
		if (err < 0)
			log_warn("containers: scan %s: %s", lifecycle_cgroup_root(a->lc),
				 strerror(-err));
		agent_start_http(a);
	}
	a->housekeeping = loop_timer_add(a->loop, AGENT_HOUSEKEEPING_MS, agent_housekeeping, a);
	return 0;
}

static bool agent_free_wait(const void *key, size_t key_len, void *value, void *ctx)
{
	(void)key;
	(void)key_len;
	(void)ctx;
	free(value);
	return true;
}

static void agent_stop(struct agent *a)
{
	if (a->tail)
		agent_log_summary(a);
	tail_close(a->tail);
	applogs_free(a->applogs);
	if (a->httpcap)
		httpcap_poll(a->httpcap);
	httpcap_close(a->httpcap);
	httptrack_free(a->httptrack); /* what waits goes out as incomplete */
	for (size_t i = 0; i < HTTPTRACK_HEADERS; i++)
		free(a->http_header_keys[i]);
	lifecycle_close(a->lc);
	kubelet_free(a->kubelet);
	if (a->sinks) {
		agent_drain_sinks(a);
		agent_checkpoint(a, true);
	}
	sinks_close(a->sinks);
	ckpt_free(a->ckpt);
	if (a->housekeeping)
		loop_timer_cancel(a->loop, a->housekeeping);
	if (a->ckpt_timer)
		loop_timer_cancel(a->loop, a->ckpt_timer);
	if (a->ml_timer)
		loop_timer_cancel(a->loop, a->ml_timer);
	if (a->pod_waits)
		hmap_foreach(a->pod_waits, agent_free_wait, NULL);
	hmap_free(a->pod_waits);
	pods_free(a->pods);
	containers_free(a->containers);
	if (a->sigfd > 0)
		close(a->sigfd);
	loop_free(a->loop);
	jbuf_free(&a->ev);
	free(a->docker_dir);
	free(a->dbuf);
}

int agent_run(const struct config *cfg)
{
	struct agent a = {.cfg = cfg, .sigfd = -1};
	struct jbuf fields;
	int status = 0;

	jbuf_init(&a.ev);
	if (agent_start(&a) != 0) {
		agent_stop(&a);
		return 1;
	}
	jbuf_init(&fields);
	jbuf_puts(&fields, "{");
	jbuf_member_int(&fields, "containers", (int64_t)containers_count(a.containers));
	jbuf_member_str(&fields, "k8s.node.name", cfg->node_name);
	log_fields(LOG_INFO, fields.failed ? "" : fields.data + 1, "ready");
	jbuf_free(&fields);
	if (loop_run(a.loop) != 0) {
		log_error("event loop: %s", strerror(errno));
		status = 1;
	}
	agent_stop(&a);
	return status;
}
