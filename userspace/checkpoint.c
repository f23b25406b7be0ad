/* checkpoint.c: see checkpoint.h.
 *
 * Entries sit on one list and in a map by device and inode. positions.json:
 *
 *   {"version":1,"files":[{"path":"…","dev":"2049","ino":"1234",
 *     "fp_len":512,"fp":"9f…","offset":4096,"pod_uid":"…","container":"…",
 *     "restart":0}, …]}
 *
 * dev, ino and fp are strings because JSON numbers lose 64-bit precision.
 */
#include "checkpoint.h"

#include "file.h"
#include "hmap.h"
#include "json.h"
#include "log.h"
#include "loop.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CKPT_MAX_BYTES (256 * 1024 * 1024) /* a positions.json larger than this is not read */

struct ckpt {
	char *dir;
	char *path, *tmp_path, *bad_path;
	struct hmap *by_id; /* dev+ino -> entry */
	struct ckpt_entry *head;
	size_t n_orphans; /* entries waiting for a copy */
	bool dirty;
	bool failing;		 /* the last save failed */
	int64_t unseen_after_ns; /* until ckpt_startup_done: the loaded file's mtime */
	struct jbuf out;
	struct ckpt_stats stats;
};

struct ckpt_key {
	uint64_t dev, ino;
};

static uint64_t ckpt_hash(const unsigned char *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Hashes the first min(size, CKPT_FP_MAX) bytes of fd (or exactly want bytes
 * when want is not 0). Returns false when they cannot be read. */
static bool ckpt_fingerprint(int fd, uint32_t want, uint32_t *len, uint64_t *fp)
{
	unsigned char buf[CKPT_FP_MAX];
	size_t got = 0, limit = want ? want : CKPT_FP_MAX;

	while (got < limit) {
		ssize_t n = pread(fd, buf + got, limit - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (want && got != want)
		return false;
	*len = (uint32_t)got;
	*fp = ckpt_hash(buf, got);
	return true;
}

static void ckpt_unlink_entry(struct ckpt *c, struct ckpt_entry *e)
{
	struct ckpt_key k = {e->dev, e->ino};

	if (hmap_get(c->by_id, &k, sizeof(k)) == e)
		hmap_del(c->by_id, &k, sizeof(k));
	if (e->orphan)
		c->n_orphans--;
	for (struct ckpt_entry **pos = &c->head; *pos; pos = &(*pos)->next) {
		if (*pos == e) {
			*pos = e->next;
			break;
		}
	}
	free(e->path);
	free(e);
}

static struct ckpt_entry *ckpt_new_entry(struct ckpt *c, const char *path, uint64_t dev,
					 uint64_t ino)
{
	struct ckpt_entry *e = calloc(1, sizeof(*e));
	struct ckpt_key k = {dev, ino};

	if (!e || !(e->path = strdup(path))) {
		free(e);
		return NULL;
	}
	e->dev = dev;
	e->ino = ino;
	e->fd = -1;
	if (hmap_put(c->by_id, &k, sizeof(k), e) != 0) {
		free(e->path);
		free(e);
		return NULL;
	}
	e->next = c->head;
	c->head = e;
	return e;
}

static void ckpt_copy_str(char *dst, const cJSON *v)
{
	size_t n = cJSON_IsString(v) ? strlen(v->valuestring) : 0;

	dst[0] = '\0';
	if (n && n <= CKPT_META_MAX)
		memcpy(dst, v->valuestring, n + 1);
}

static bool ckpt_parse_u64(const cJSON *v, int base, uint64_t *out)
{
	char *end;

	if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) > 20)
		return false;
	errno = 0;
	*out = strtoull(v->valuestring, &end, base);
	return errno == 0 && *end == '\0';
}

/* One member of "files"; returns false when it is not a valid entry. */
static bool ckpt_load_entry(struct ckpt *c, const cJSON *it, int64_t now_ms)
{
	const cJSON *path = cJSON_GetObjectItemCaseSensitive(it, "path");
	const cJSON *fp_len = cJSON_GetObjectItemCaseSensitive(it, "fp_len");
	const cJSON *offset = cJSON_GetObjectItemCaseSensitive(it, "offset");
	const cJSON *restart = cJSON_GetObjectItemCaseSensitive(it, "restart");
	uint64_t dev, ino, fp;
	struct ckpt_entry *e;

	if (!cJSON_IsString(path) || strlen(path->valuestring) >= PATH_MAX ||
	    !ckpt_parse_u64(cJSON_GetObjectItemCaseSensitive(it, "dev"), 10, &dev) ||
	    !ckpt_parse_u64(cJSON_GetObjectItemCaseSensitive(it, "ino"), 10, &ino) ||
	    !ckpt_parse_u64(cJSON_GetObjectItemCaseSensitive(it, "fp"), 16, &fp) ||
	    !cJSON_IsNumber(fp_len) || fp_len->valuedouble < 0 ||
	    fp_len->valuedouble > CKPT_FP_MAX || !cJSON_IsNumber(offset) ||
	    offset->valuedouble < 0 || offset->valuedouble > 9007199254740992.0)
		return false;
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "orphan")))
		dev = ino = 0;
	e = ckpt_new_entry(c, path->valuestring, dev, ino);
	if (!e)
		return false;
	if (!dev && !ino) {
		struct ckpt_key k = {0, 0};
		if (hmap_get(c->by_id, &k, sizeof(k)) == e)
			hmap_del(c->by_id, &k, sizeof(k));
		e->orphan = true;
		c->n_orphans++;
	}
	e->fp = fp;
	e->fp_len = (uint32_t)fp_len->valuedouble;
	e->offset = (uint64_t)offset->valuedouble;
	e->loaded_ms = now_ms;
	ckpt_copy_str(e->pod_uid, cJSON_GetObjectItemCaseSensitive(it, "pod_uid"));
	ckpt_copy_str(e->container, cJSON_GetObjectItemCaseSensitive(it, "container"));
	if (cJSON_IsNumber(restart) && restart->valuedouble >= 0 && restart->valuedouble <= INT_MAX)
		e->restart = (int)restart->valuedouble;
	return true;
}

static void ckpt_load(struct ckpt *c)
{
	size_t len = 0, bad = 0, n = 0;
	char *text = NULL;
	int err = file_read_all(c->path, CKPT_MAX_BYTES, false, &text, &len);
	const cJSON *files, *it;
	cJSON *doc;
	int64_t now = loop_now_ms();

	if (!err) {
		struct stat st;
		if (stat(c->path, &st) == 0)
			c->unseen_after_ns =
			    (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	}
	if (err) {
		if (err != -ENOENT) {
			c->stats.load_errors++;
			log_error("checkpoint: read %s: %s; files are read from their start",
				  c->path, strerror(-err));
		}
		return;
	}
	doc = cJSON_ParseWithLength(text, len);
	free(text);
	files = doc ? cJSON_GetObjectItemCaseSensitive(doc, "files") : NULL;
	if (!cJSON_IsArray(files)) {
		c->stats.load_errors++;
		log_error("checkpoint: %s is not a positions file; kept as %s, files are read "
			  "from their start",
			  c->path, c->bad_path);
		if (rename(c->path, c->bad_path) != 0)
			log_warn("checkpoint: rename %s: %s", c->path, strerror(errno));
		cJSON_Delete(doc);
		return;
	}
	cJSON_ArrayForEach(it, files)
	{
		if (ckpt_load_entry(c, it, now))
			n++;
		else
			bad++;
	}
	cJSON_Delete(doc);
	if (bad) {
		c->stats.load_errors += bad;
		log_warn("checkpoint: %s: %zu entries invalid, skipped (their files are read "
			 "from their start)",
			 c->path, bad);
	}
	log_info("checkpoint: %zu positions loaded from %s", n, c->path);
}

static char *ckpt_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int ckpt_open(struct ckpt **out, const char *dir)
{
	struct ckpt *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	jbuf_init(&c->out);
	c->dir = strdup(dir);
	c->path = ckpt_join(dir, CKPT_FILE_NAME);
	c->tmp_path = ckpt_join(dir, CKPT_FILE_NAME ".tmp");
	c->bad_path = ckpt_join(dir, CKPT_FILE_NAME ".bad");
	c->by_id = hmap_new();
	if (!c->dir || !c->path || !c->tmp_path || !c->bad_path || !c->by_id) {
		ckpt_free(c);
		return -ENOMEM;
	}
	ckpt_load(c);
	*out = c;
	return 0;
}

void ckpt_free(struct ckpt *c)
{
	if (!c)
		return;
	while (c->head) {
		struct ckpt_entry *e = c->head;
		c->head = e->next;
		free(e->path);
		free(e);
	}
	hmap_free(c->by_id);
	jbuf_free(&c->out);
	free(c->dir);
	free(c->path);
	free(c->tmp_path);
	free(c->bad_path);
	free(c);
}

/* The entry's file no longer holds its old content (it was truncated):
 * the entry leaves the identity map and waits, as an orphan, for a rotated
 * file that begins with the same bytes (a copy) to resume in at offset. */
static void ckpt_orphan(struct ckpt *c, struct ckpt_entry *e, uint64_t resume)
{
	struct ckpt_key k = {e->dev, e->ino};

	if (hmap_get(c->by_id, &k, sizeof(k)) == e)
		hmap_del(c->by_id, &k, sizeof(k));
	e->orphan = true;
	c->n_orphans++;
	e->dev = e->ino = 0;
	e->claimed = false;
	e->released = false;
	e->fd = -1;
	/* its marks stay: a copy holds the same bytes at the same offsets */
	e->resume = resume;
	e->loaded_ms = loop_now_ms();
	c->dirty = true;
}

struct ckpt_entry *ckpt_claim(struct ckpt *c, const char *path, int fd, const struct stat *st,
			      uint64_t *start)
{
	struct ckpt_key k = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};
	struct ckpt_entry *e = hmap_get(c->by_id, &k, sizeof(k));
	uint32_t fp_len;
	uint64_t fp;

	*start = 0;
	if (e && !e->claimed) {
		const char *why = NULL;
		if ((uint64_t)st->st_size < e->offset) {
			why = "it is shorter than its checkpoint";
			c->stats.restarted_shrunk++;
		} else if (e->fp_len &&
			   (!ckpt_fingerprint(fd, e->fp_len, &fp_len, &fp) || fp != e->fp)) {
			why = "its first bytes changed";
			c->stats.restarted_identity++;
		}
		if (!why) {
			*start = e->resume > e->offset ? e->resume : e->offset;
			c->stats.resumed++;
			if (strcmp(e->path, path) != 0) {
				char *p = strdup(path);
				if (p) {
					free(e->path);
					e->path = p;
				}
			}
			if (e->offset)
				log_debug("checkpoint: %s resumes at %" PRIu64, path, e->offset);
		} else {
			/* copytruncate (the file shrank, or was truncated and grew
			 * again): the lines after the checkpoint may be in a copy */
			log_info("checkpoint: %s: %s; reading it from the start, and a copy of "
				 "it from the checkpoint if there is one",
				 path, why);
			ckpt_orphan(c, e, e->offset);
			e = NULL;
		}
	} else if (e) {
		/* the same file open twice (a second name): this one starts over */
		hmap_del(c->by_id, &k, sizeof(k));
		e = NULL;
	}
	if (!e) {
		e = ckpt_new_entry(c, path, k.dev, k.ino);
		if (!e)
			return NULL;
		c->dirty = true;
	}
	e->claimed = true;
	e->released = false;
	e->resume = 0;
	e->fd = fd;
	if (!ckpt_fingerprint(fd, 0, &e->fp_len, &e->fp))
		e->fp_len = 0, e->fp = ckpt_hash(NULL, 0);
	return e;
}

/* An orphan whose old content fd begins with, or NULL. */
static struct ckpt_entry *ckpt_find_orphan(struct ckpt *c, int fd, const struct stat *st)
{
	for (struct ckpt_entry *e = c->head; e; e = e->next) {
		uint32_t len;
		uint64_t fp;
		if (e->orphan && e->fp_len && e->fp_len <= (uint64_t)st->st_size &&
		    ckpt_fingerprint(fd, e->fp_len, &len, &fp) && fp == e->fp)
			return e;
	}
	return NULL;
}

bool ckpt_wants(struct ckpt *c, const char *path, const struct stat *st)
{
	struct ckpt_key k = {(uint64_t)st->st_dev, (uint64_t)st->st_ino};
	struct ckpt_entry *e = hmap_get(c->by_id, &k, sizeof(k));
	uint64_t from, fp;
	uint32_t len;
	bool any = c->n_orphans > 0, same;
	int fd;

	if (e && e->claimed)
		return false;
	if (!e && !any)
		goto unseen;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (e) {
		/* an inode number is reused once its file is deleted: the entry
		 * stands for this file only if its first bytes match */
		same = !e->fp_len || (ckpt_fingerprint(fd, e->fp_len, &len, &fp) && fp == e->fp);
		if (same) {
			close(fd);
			return e->offset < (uint64_t)st->st_size;
		}
		ckpt_unlink_entry(c, e);
		c->dirty = true;
	}
	e = any ? ckpt_find_orphan(c, fd, st) : NULL;
	close(fd);
	if (e)
		goto copy;
unseen:
	if (c->unseen_after_ns &&
	    (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec > c->unseen_after_ns) {
		/* written since the last save and never seen: it was created and
		 * rotated away while no agent ran */
		c->stats.unseen_rotated++;
		return true;
	}
	return false;
copy:
	/* the copy takes over the orphan's identity: the claim finds it, and
	 * later scans know it by its inode */
	e->orphan = false;
	c->n_orphans--;
	e->dev = k.dev;
	e->ino = k.ino;
	if (hmap_put(c->by_id, &k, sizeof(k), e) != 0) {
		ckpt_unlink_entry(c, e);
		return false;
	}
	free(e->path);
	e->path = strdup(path);
	if (!e->path) {
		ckpt_unlink_entry(c, e);
		return false;
	}
	c->dirty = true;
	c->stats.copies_followed++;
	from = e->resume > e->offset ? e->resume : e->offset;
	return from < (uint64_t)st->st_size;
}

void ckpt_mark(struct ckpt_entry *e, uint64_t seq, uint64_t offset)
{
	struct ckpt_mark *last = e->n_marks ? &e->marks[e->n_marks - 1] : NULL;

	/* the fingerprint covers what was read, as soon as it is read: a copy of
	 * this content (copytruncate) is recognized by it after a crash */
	if (e->fp_len < CKPT_FP_MAX && offset > e->fp_len && e->fd >= 0) {
		uint32_t want = offset < CKPT_FP_MAX ? (uint32_t)offset : CKPT_FP_MAX, len;
		uint64_t fp;
		if (ckpt_fingerprint(e->fd, want, &len, &fp)) {
			e->fp_len = len;
			e->fp = fp;
		}
	}
	if (last && (last->seq == seq || e->n_marks == CKPT_MARKS)) {
		/* merging into the newest mark only delays its offset: safe */
		last->seq = seq;
		last->offset = offset;
		return;
	}
	e->marks[e->n_marks].seq = seq;
	e->marks[e->n_marks].offset = offset;
	e->n_marks++;
}

struct ckpt_entry *ckpt_truncated(struct ckpt *c, struct ckpt_entry *e, int fd,
				  const struct stat *st, uint64_t emitted)
{
	struct ckpt_entry *fresh;
	char *path = strdup(e->path);
	uint64_t start;

	if (!path)
		return e;
	/* the old content, with what was read of it, may live on in a copy */
	ckpt_orphan(c, e, emitted);
	fresh = ckpt_claim(c, path, fd, st, &start);
	if (fresh) {
		memcpy(fresh->pod_uid, e->pod_uid, sizeof(fresh->pod_uid));
		memcpy(fresh->container, e->container, sizeof(fresh->container));
		fresh->restart = e->restart;
	}
	free(path);
	return fresh;
}

void ckpt_release(struct ckpt *c, struct ckpt_entry *e, bool gone)
{
	e->fd = -1;
	e->claimed = false;
	e->released = gone;
	/* a closed file that still exists keeps its entry until it is known gone:
	 * a restart finds it again by identity */
	e->loaded_ms = loop_now_ms();
	c->dirty = true;
}

void ckpt_confirm(struct ckpt *c, uint64_t seq)
{
	for (struct ckpt_entry *e = c->head; e; e = e->next) {
		size_t i = 0;
		while (i < e->n_marks && e->marks[i].seq <= seq)
			i++;
		if (!i)
			continue;
		if (e->offset != e->marks[i - 1].offset) {
			e->offset = e->marks[i - 1].offset;
			c->dirty = true;
		}
		memmove(e->marks, e->marks + i, (e->n_marks - i) * sizeof(e->marks[0]));
		e->n_marks -= i;
	}
}

/* Drops what no longer needs a checkpoint; refreshes short fingerprints. */
static void ckpt_prune(struct ckpt *c, int64_t now_ms, int64_t grace_ms)
{
	struct ckpt_entry *e = c->head, *next;

	for (; e; e = next) {
		next = e->next;
		if (e->claimed) {
			if (e->fp_len < CKPT_FP_MAX) {
				uint32_t len;
				uint64_t fp;
				if (ckpt_fingerprint(e->fd, 0, &len, &fp) && len > e->fp_len) {
					e->fp_len = len;
					e->fp = fp;
					c->dirty = true;
				}
			}
			continue;
		}
		if (e->n_marks)
			continue;
		if (e->released || now_ms - e->loaded_ms >= grace_ms) {
			if (e->orphan)
				log_debug("checkpoint: no copy of the old content of %s found "
					  "(position %" PRIu64 ")",
					  e->path, e->offset);
			c->stats.dropped++;
			c->dirty = true;
			ckpt_unlink_entry(c, e);
		}
	}
}

static void ckpt_render(struct ckpt *c)
{
	struct jbuf *b = &c->out;
	char num[24];
	bool first = true;

	jbuf_reset(b);
	jbuf_puts(b, "{\"version\":1,\"files\":[");
	for (const struct ckpt_entry *e = c->head; e; e = e->next) {
		if (!first)
			jbuf_puts(b, ",\n");
		first = false;
		jbuf_puts(b, "{");
		jbuf_member_str(b, "path", e->path);
		snprintf(num, sizeof(num), "%" PRIu64, e->dev);
		jbuf_member_str(b, "dev", num);
		snprintf(num, sizeof(num), "%" PRIu64, e->ino);
		jbuf_member_str(b, "ino", num);
		jbuf_member_int(b, "fp_len", e->fp_len);
		snprintf(num, sizeof(num), "%016" PRIx64, e->fp);
		jbuf_member_str(b, "fp", num);
		jbuf_member_int(b, "offset", (int64_t)e->offset);
		if (e->pod_uid[0])
			jbuf_member_str(b, "pod_uid", e->pod_uid);
		if (e->container[0])
			jbuf_member_str(b, "container", e->container);
		jbuf_member_int(b, "restart", e->restart);
		if (e->orphan)
			jbuf_puts(b, ",\"orphan\":true");
		jbuf_puts(b, "}");
	}
	jbuf_puts(b, "]}\n");
}

static int ckpt_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes positions.json.tmp, fsyncs it, renames it over positions.json and
 * fsyncs the dir, so a crash leaves the old file or the new, never a mix. */
static int ckpt_write(struct ckpt *c)
{
	const char *step = "open";
	int fd, dfd, err;

	ckpt_render(c);
	if (c->out.failed)
		return -ENOMEM;
	fd = open(c->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = ckpt_write_all(fd, c->out.data, c->out.len);
	step = "write";
	if (!err && fsync(fd) != 0) {
		err = -errno;
		step = "fsync";
	}
	if (close(fd) != 0 && !err) {
		err = -errno;
		step = "close";
	}
	if (!err && rename(c->tmp_path, c->path) != 0) {
		err = -errno;
		step = "rename";
	}
	if (err) {
		unlink(c->tmp_path);
		if (!c->failing)
			log_error("checkpoint: %s %s: %s; the last good positions stay in place",
				  step, c->tmp_path, strerror(-err));
		return err;
	}
	dfd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (fsync(dfd) != 0)
			log_debug("checkpoint: fsync %s: %s", c->dir, strerror(errno));
		close(dfd);
	}
	return 0;
}

int ckpt_save(struct ckpt *c, int64_t now_ms, int64_t grace_ms, bool force)
{
	int err;

	ckpt_prune(c, now_ms, grace_ms);
	if (!c->dirty && !force)
		return 0;
	err = ckpt_write(c);
	if (err) {
		c->stats.save_errors++;
		c->failing = true;
		return err;
	}
	if (c->failing)
		log_info("checkpoint: %s written again", c->path);
	c->failing = false;
	c->dirty = false;
	c->stats.saves++;
	return 0;
}

void ckpt_startup_done(struct ckpt *c)
{
	c->unseen_after_ns = 0;
}

void ckpt_get_stats(const struct ckpt *c, struct ckpt_stats *out)
{
	*out = c->stats;
}
