/* sink.c: the table of sinks, --output parsing, and the set of sinks the
 * agent writes to.
 *
 * The set routes each event to the sinks that take its kind and tells the
 * agent up to which sequence number everything is delivered: for each sink,
 * the events it took up to its confirmed_seq; a sink that has confirmed the
 * last event it took holds nothing back, whatever the sequence numbers of
 * the events it was not given. */
#include "sink.h"

#include "deadletter.h"
#include "log.h"
#include "spool.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SINKS_MAX	       8
#define SINKS_DEADLETTER_BYTES (64 * 1024 * 1024)

static const struct sink_ops *const sink_table[] = {
    &sink_stdout_ops,
    &sink_file_ops,
    &sink_kafka_ops,
};

const char *sink_kind_name(unsigned kind)
{
	switch (kind) {
	case SINK_KIND_LOG:
		return "log";
	case SINK_KIND_CONTAINER:
		return "container";
	case SINK_KIND_HTTP:
		return "http";
	}
	return "unknown";
}

static const struct sink_ops *sink_find(const char *spec, const char **target)
{
	for (size_t i = 0; i < sizeof(sink_table) / sizeof(sink_table[0]); i++) {
		const char *scheme = sink_table[i]->scheme;
		size_t n = strlen(scheme);
		if (strncmp(spec, scheme, n) != 0)
			continue;
		if (spec[n] == '\0') {
			*target = "";
			return sink_table[i];
		}
		if (spec[n] == ':') {
			*target = spec + n + 1;
			return sink_table[i];
		}
	}
	return NULL;
}

/* The settings every sink has: which kinds it takes and its name. */
static const char *sink_check_common(const cJSON *settings, unsigned *kinds, char *err,
				     size_t err_len)
{
	const cJSON *v, *k;

	*kinds = SINK_KINDS_ALL;
	if (!settings)
		return NULL;
	if (!cJSON_IsObject(settings))
		return "an entry of outputs must be an object";
	v = cJSON_GetObjectItemCaseSensitive(settings, "name");
	if (v && (!cJSON_IsString(v) || !*v->valuestring || strlen(v->valuestring) > 64 ||
		  strspn(v->valuestring, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					 "0123456789._-") != strlen(v->valuestring)))
		return "name: expected 1 to 64 letters, digits, '.', '_' or '-'";
	v = cJSON_GetObjectItemCaseSensitive(settings, "kinds");
	if (!v)
		return NULL;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) == 0)
		return "kinds: expected a list of log, container and http";
	*kinds = 0;
	cJSON_ArrayForEach(k, v)
	{
		unsigned bit = 0;
		for (unsigned b = SINK_KIND_LOG; b <= SINK_KIND_HTTP; b <<= 1)
			if (cJSON_IsString(k) && strcmp(k->valuestring, sink_kind_name(b)) == 0)
				bit = b;
		if (!bit) {
			snprintf(err, err_len, "kinds: \"%s\" is not log, container or http",
				 cJSON_IsString(k) ? k->valuestring : "(not a string)");
			return err;
		}
		*kinds |= bit;
	}
	return NULL;
}

const char *sink_settings_only(const struct cJSON *settings, const char *const *allowed, char *err,
			       size_t err_len)
{
	static const char *const common[] = {"url", "name", "kinds", NULL};
	const cJSON *item;

	cJSON_ArrayForEach(item, settings)
	{
		bool known = false;
		for (const char *const *k = common; *k && !known; k++)
			known = strcmp(item->string, *k) == 0;
		for (const char *const *k = allowed; k && *k && !known; k++)
			known = strcmp(item->string, *k) == 0;
		if (!known) {
			snprintf(err, err_len, "%s: not a setting of this output", item->string);
			return err;
		}
	}
	return NULL;
}

const char *sink_check(const char *spec, const struct cJSON *settings, char *err, size_t err_len)
{
	const char *target, *why;
	const struct sink_ops *ops = sink_find(spec, &target);
	unsigned kinds;

	if (!ops)
		return "expected stdout, file:PATH or kafka://BROKER[,BROKER...]/TOPIC";
	why = sink_check_common(settings, &kinds, err, err_len);
	if (!why && ops->check)
		why = ops->check(target, settings, err, err_len);
	return why;
}

int sink_open(struct sink **out, const char *spec, const struct sink_params *p)
{
	char err[256];
	const char *target = NULL, *why = sink_check(spec, p->settings, err, sizeof(err));
	const struct sink_ops *ops = sink_find(spec, &target);
	struct sink_params params = *p;

	if (why || !ops) {
		log_error("output %s: %s", spec, why);
		return -EINVAL;
	}
	params.target = target;
	return ops->open(out, &params);
}

/* --- the set ------------------------------------------------------------------- */

#define SINKS_REPLAY_BATCH 4096 /* spooled events handed back per flush at most */

/* Spooled events handed back to a sink, in order: their sequence numbers
 * and where each ends in the spool. */
struct sinks_replayed {
	uint64_t *seq, *pos;
	size_t head, n, cap;
};

struct sinks_member {
	struct sink *sink;
	char *name;
	unsigned kinds;
	uint64_t last_taken; /* seq of the last event it took */
	struct spool *spool; /* opened the first time it is needed */
	bool spool_failed;   /* could not be opened (logged once) */
	struct sinks_replayed replayed;
};

struct sinks {
	struct sinks_member m[SINKS_MAX];
	size_t n;
	uint64_t seq;	    /* of the last event given to the set */
	uint64_t confirmed; /* what sinks_confirmed last said */
	struct sinks_limits limits;
	char *state_dir;
	struct deadletter *dl;
};

/* "stdout-1", "file-2", "kafka-3": the scheme and the place in the list. */
static char *sinks_default_name(const char *spec, size_t i)
{
	size_t n = strcspn(spec, ":");
	char *name;

	if (asprintf(&name, "%.*s-%zu", (int)n, spec, i + 1) < 0)
		return NULL;
	return name;
}

static struct spool *sinks_spool(struct sinks *ss, struct sinks_member *m, bool create)
{
	char path[4096];
	struct stat st;

	if (m->spool || m->spool_failed)
		return m->spool;
	snprintf(path, sizeof(path), "%s/spool/%s", ss->state_dir, m->name);
	if (!create && stat(path, &st) != 0)
		return NULL; /* nothing from an earlier run */
	snprintf(path, sizeof(path), "%s/spool", ss->state_dir);
	if (mkdir(path, 0700) != 0 && errno != EEXIST)
		log_warn("output %s: spool dir %s: %s", m->name, path, strerror(errno));
	snprintf(path, sizeof(path), "%s/spool/%s", ss->state_dir, m->name);
	m->spool = spool_open(path, ss->limits.spool_max_bytes);
	m->spool_failed = !m->spool;
	return m->spool;
}

int sinks_open(struct sinks **out, const struct sinks_spec *specs, size_t n, const char *state_dir,
	       const struct sinks_limits *limits, struct loop *loop)
{
	struct sinks *ss = calloc(1, sizeof(*ss));
	int err = 0;

	if (!ss)
		return -ENOMEM;
	if (n == 0 || n > SINKS_MAX) {
		log_error("outputs: %zu given, expected 1 to %d", n, SINKS_MAX);
		free(ss);
		return -EINVAL;
	}
	ss->limits = *limits;
	ss->state_dir = strdup(state_dir);
	ss->dl = deadletter_new(state_dir, SINKS_DEADLETTER_BYTES);
	if (!ss->state_dir || !ss->dl) {
		sinks_close(ss);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n && !err; i++) {
		struct sinks_member *m = &ss->m[i];
		cJSON *settings = NULL;
		const cJSON *name;
		char why[256];
		struct sink_params p = {.loop = loop, .dl = ss->dl};

		if (specs[i].settings && !(settings = cJSON_Parse(specs[i].settings))) {
			err = -ENOMEM;
			break;
		}
		name = cJSON_GetObjectItemCaseSensitive(settings, "name");
		m->name = cJSON_IsString(name) ? strdup(name->valuestring)
					       : sinks_default_name(specs[i].spec, i);
		if (!m->name)
			err = -ENOMEM;
		else if (sink_check_common(settings, &m->kinds, why, sizeof(why)))
			err = -EINVAL; /* checked with the config: not seen */
		p.name = m->name;
		p.settings = settings;
		if (!err)
			err = sink_open(&m->sink, specs[i].spec, &p);
		cJSON_Delete(settings);
		if (err) {
			free(m->name);
			m->name = NULL;
			break;
		}
		m->sink->name = m->name;
		ss->n++;
		sinks_spool(ss, m, false); /* what an earlier run spooled goes first */
	}
	if (err) {
		sinks_close(ss);
		return err;
	}
	*out = ss;
	return 0;
}

static bool sinks_fileless(unsigned kind)
{
	return kind == SINK_KIND_CONTAINER || kind == SINK_KIND_HTTP;
}

/* Whether m's container and http events go to its spool now: while events
 * wait there (order), or when m holds more than it may. */
static bool sinks_spills(struct sinks *ss, struct sinks_member *m)
{
	if (m->spool && !spool_drained(m->spool))
		return true;
	if (m->sink->queued_bytes < ss->limits.max_queued_bytes)
		return false;
	if (!m->spool && sinks_spool(ss, m, true))
		log_warn("output %s holds %zu bytes: its container and http events wait in its "
			 "spool until it takes them",
			 m->name, m->sink->queued_bytes);
	return m->spool != NULL;
}

/* Hands ev to m. */
static int sinks_give(struct sinks_member *m, const struct sink_event *ev)
{
	int err = sink_write(m->sink, ev);

	if (err) {
		m->sink->stats.errors++;
		return err;
	}
	m->last_taken = ev->seq;
	return 0;
}

uint64_t sinks_write(struct sinks *ss, const struct sink_event *in, bool *failed)
{
	struct sink_event ev = *in;

	ev.seq = ++ss->seq;
	for (size_t i = 0; i < ss->n; i++) {
		struct sinks_member *m = &ss->m[i];
		if (!(m->kinds & ev.kind))
			continue;
		if (sinks_fileless(ev.kind) && sinks_spills(ss, m)) {
			if (spool_append(m->spool, &ev) != 0) {
				m->sink->stats.errors++;
				*failed = true;
			}
			continue;
		}
		if (sinks_give(m, &ev) != 0)
			*failed = true;
	}
	return ev.seq;
}

static bool sinks_replayed_push(struct sinks_replayed *r, uint64_t seq, uint64_t pos)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		uint64_t *ns = malloc(cap * sizeof(*ns)), *np = malloc(cap * sizeof(*np));
		if (!ns || !np) {
			free(ns);
			free(np);
			return false;
		}
		for (size_t i = 0; i < r->n; i++) {
			ns[i] = r->seq[(r->head + i) % r->cap];
			np[i] = r->pos[(r->head + i) % r->cap];
		}
		free(r->seq);
		free(r->pos);
		r->seq = ns;
		r->pos = np;
		r->cap = cap;
		r->head = 0;
	}
	r->seq[(r->head + r->n) % r->cap] = seq;
	r->pos[(r->head + r->n) % r->cap] = pos;
	r->n++;
	return true;
}

/* Confirms to m's spool what m delivered of its replayed events, then
 * hands m more of them while it has room. */
static void sinks_replay(struct sinks *ss, struct sinks_member *m)
{
	struct sinks_replayed *r = &m->replayed;
	uint64_t pos = 0;
	bool confirmed = false;

	while (r->n && r->seq[r->head] <= m->sink->confirmed_seq) {
		pos = r->pos[r->head];
		confirmed = true;
		r->head = (r->head + 1) % r->cap;
		r->n--;
	}
	if (confirmed)
		spool_confirm(m->spool, pos);
	for (int i = 0; i < SINKS_REPLAY_BATCH && !spool_drained(m->spool) &&
			m->sink->queued_bytes < ss->limits.max_queued_bytes / 2;
	     i++) {
		struct sink_event ev;
		if (spool_next(m->spool, &ev, &pos) != 1)
			break;
		ev.seq = ++ss->seq;
		/* one refused is counted as a write would be; one not tracked
		 * (no memory) is confirmed with the next one tracked */
		sinks_give(m, &ev);
		sinks_replayed_push(r, ev.seq, pos);
	}
}

int sinks_flush(struct sinks *ss)
{
	int err = 0;

	for (size_t i = 0; i < ss->n; i++) {
		int e = sink_flush(ss->m[i].sink);
		if (e)
			err = e;
		if (ss->m[i].spool)
			sinks_replay(ss, &ss->m[i]);
	}
	return err;
}

int sinks_sync(struct sinks *ss)
{
	int err = deadletter_sync(ss->dl);

	for (size_t i = 0; i < ss->n; i++) {
		int e = sink_sync(ss->m[i].sink);
		if (!e && ss->m[i].spool)
			e = spool_sync(ss->m[i].spool);
		if (e)
			err = e;
	}
	return err;
}

uint64_t sinks_confirmed(struct sinks *ss)
{
	uint64_t low = ss->seq;

	for (size_t i = 0; i < ss->n; i++) {
		const struct sinks_member *m = &ss->m[i];
		if (m->sink->confirmed_seq < m->last_taken && m->sink->confirmed_seq < low)
			low = m->sink->confirmed_seq;
	}
	/* a sink that has new events pending confirmed those before them all
	 * the same: what was confirmed stays confirmed */
	if (low > ss->confirmed)
		ss->confirmed = low;
	return ss->confirmed;
}

size_t sinks_queued_bytes(const struct sinks *ss)
{
	size_t most = 0;

	for (size_t i = 0; i < ss->n; i++)
		if (ss->m[i].sink->queued_bytes > most)
			most = ss->m[i].sink->queued_bytes;
	return most;
}

size_t sinks_count(const struct sinks *ss)
{
	return ss->n;
}

struct sink *sinks_get(const struct sinks *ss, size_t i)
{
	return i < ss->n ? ss->m[i].sink : NULL;
}

uint64_t sinks_dead_lettered(const struct sinks *ss)
{
	return deadletter_entries(ss->dl);
}

void sinks_spool_stats(const struct sinks *ss, size_t i, struct spool_stats *st)
{
	memset(st, 0, sizeof(*st));
	if (i < ss->n && ss->m[i].spool)
		spool_get_stats(ss->m[i].spool, st);
}

struct sinks_keep {
	struct sinks *ss;
	struct sinks_member *m;
	uint64_t kept;
};

static bool sinks_was_replayed(const struct sinks_replayed *r, uint64_t seq)
{
	size_t lo = 0, hi = r->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t s = r->seq[(r->head + mid) % r->cap];
		if (s == seq)
			return true;
		if (s < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static void sinks_keep_one(void *arg, const struct sink_event *ev)
{
	struct sinks_keep *k = arg;

	/* log lines are read again from their files; spooled events handed
	 * back and not confirmed come again from the spool */
	if (!sinks_fileless(ev->kind) || sinks_was_replayed(&k->m->replayed, ev->seq))
		return;
	if (sinks_spool(k->ss, k->m, true) && spool_append(k->m->spool, ev) == 0)
		k->kept++;
}

/* At a stop: the container and http events a sink holds undelivered go to
 * its spool, for the next run (after those already waiting there). */
static void sinks_keep_pending(struct sinks *ss, struct sinks_member *m)
{
	struct sinks_keep k = {ss, m, 0};

	if (!m->sink->ops->pending)
		return;
	m->sink->ops->pending(m->sink, sinks_keep_one, &k);
	if (k.kept)
		log_info("output %s: %llu container and http events not delivered are kept in "
			 "its spool for the next run",
			 m->name, (unsigned long long)k.kept);
}

void sinks_close(struct sinks *ss)
{
	if (!ss)
		return;
	for (size_t i = 0; i < ss->n; i++) {
		struct sinks_member *m = &ss->m[i];
		sink_flush(m->sink);
		sinks_keep_pending(ss, m);
		sink_close(m->sink);
		spool_close(m->spool);
		free(m->replayed.seq);
		free(m->replayed.pos);
		free(m->name);
	}
	deadletter_free(ss->dl);
	free(ss->state_dir);
	free(ss);
}
