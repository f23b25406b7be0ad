/* spool.c: see spool.h. */
#include "spool.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define SPOOL_HEADER 8 /* u32 length, u32 crc32 */
#define SPOOL_META   2 /* u8 kind, u8 key length */
#define SPOOL_SUFFIX ".spool"

struct spool {
	char *dir;
	size_t max_bytes;
	size_t segment_bytes; /* a segment is not made longer than this */
	uint64_t first, last; /* segments present: first..last; last is appended to */
	int wfd;
	uint64_t wsize; /* bytes in segment last */
	uint64_t total; /* bytes in every segment */
	int rfd;	/* segment rseg, being read */
	uint64_t rseg, roff;
	uint64_t confirmed; /* position (segment << 32 | offset) */
	bool cursor_dirty, data_dirty, failing;
	char *buf; /* a record, for spool_append and spool_next */
	size_t cap;
	struct spool_stats st;
};

static void spool_segment_path(const struct spool *sp, uint64_t seg, char *out, size_t len)
{
	snprintf(out, len, "%s/%016llx" SPOOL_SUFFIX, sp->dir, (unsigned long long)seg);
}

static bool spool_reserve(struct spool *sp, size_t len)
{
	char *nb;

	if (len <= sp->cap)
		return true;
	nb = realloc(sp->buf, len);
	if (!nb)
		return false;
	sp->buf = nb;
	sp->cap = len;
	return true;
}

static uint32_t spool_get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void spool_put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Reads the record at off of fd into sp->buf: its body length (meta, key
 * and event), or 0 at the end or at a record that is cut short or damaged. */
static size_t spool_read_record(struct spool *sp, int fd, uint64_t off)
{
	unsigned char h[SPOOL_HEADER];
	uint32_t len;

	if (pread(fd, h, sizeof(h), (off_t)off) != (ssize_t)sizeof(h))
		return 0;
	len = spool_get32(h);
	if (len < SPOOL_META || len > SPOOL_RECORD_MAX || !spool_reserve(sp, len) ||
	    pread(fd, sp->buf, len, (off_t)(off + SPOOL_HEADER)) != (ssize_t)len ||
	    crc32(0, (const unsigned char *)sp->buf, len) != spool_get32(h + 4) ||
	    SPOOL_META + (size_t)(unsigned char)sp->buf[1] > len)
		return 0;
	return len;
}

static uint64_t spool_file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Deletes segment first (the oldest); counts its records not confirmed as
 * dropped when asked. */
static void spool_drop_first(struct spool *sp, bool count)
{
	char path[4096];
	uint64_t size, off = 0;
	int fd;

	spool_segment_path(sp, sp->first, path, sizeof(path));
	size = spool_file_size(path);
	if (count && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		uint64_t from = sp->confirmed >> 32 == sp->first ? (sp->confirmed & 0xffffffff) : 0;
		size_t len;
		while ((len = spool_read_record(sp, fd, off)) > 0) {
			if (off >= from) {
				sp->st.dropped++;
				sp->st.dropped_bytes += len;
			}
			off += SPOOL_HEADER + len;
		}
		close(fd);
	}
	unlink(path);
	sp->total -= size < sp->total ? size : sp->total;
	if (sp->rseg == sp->first) {
		if (sp->rfd >= 0)
			close(sp->rfd);
		sp->rfd = -1;
		sp->rseg = sp->first + 1;
		sp->roff = 0;
	}
	sp->first++;
}

static int spool_open_writer(struct spool *sp)
{
	char path[4096];

	spool_segment_path(sp, sp->last, path, sizeof(path));
	sp->wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (sp->wfd < 0)
		return -errno;
	sp->wsize = spool_file_size(path);
	return 0;
}

/* The last segment after a crash: cut at its first record that is not
 * whole. */
static void spool_repair_last(struct spool *sp)
{
	char path[4096];
	uint64_t off = 0, size;
	size_t len;
	int fd;

	spool_segment_path(sp, sp->last, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	size = spool_file_size(path);
	while ((len = spool_read_record(sp, fd, off)) > 0)
		off += SPOOL_HEADER + len;
	if (off < size) {
		log_warn("spool %s: the last %llu bytes of %016llx" SPOOL_SUFFIX
			 " are not a whole record (a crash while writing); cut",
			 sp->dir, (unsigned long long)(size - off), (unsigned long long)sp->last);
		if (ftruncate(fd, (off_t)off) != 0)
			log_warn("spool %s: truncate: %s", sp->dir, strerror(errno));
	}
	close(fd);
}

static void spool_read_cursor(struct spool *sp)
{
	char path[4096], text[64] = "";
	unsigned long long seg, off;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cursor", sp->dir);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(text, sizeof(text), f) && sscanf(text, "%llx %llu", &seg, &off) == 2 &&
	    off < (1ULL << 32))
		sp->confirmed = (uint64_t)seg << 32 | off;
	else
		log_warn("spool %s: cursor unreadable; everything spooled is sent again", sp->dir);
	fclose(f);
}

struct spool *spool_open(const char *dir, size_t max_bytes)
{
	struct spool *sp = calloc(1, sizeof(*sp));
	struct dirent *de;
	bool any = false;
	DIR *d;

	if (!sp || !(sp->dir = strdup(dir))) {
		free(sp);
		return NULL;
	}
	sp->max_bytes = max_bytes;
	/* several segments fit, so that dropping the oldest frees room */
	sp->segment_bytes =
	    max_bytes / 4 < SPOOL_SEGMENT_BYTES ? max_bytes / 4 : SPOOL_SEGMENT_BYTES;
	sp->wfd = sp->rfd = -1;
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		log_error("spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	d = opendir(dir);
	if (!d) {
		log_error("spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	while ((de = readdir(d))) {
		char *end;
		unsigned long long seg = strtoull(de->d_name, &end, 16);
		char path[4096];
		if (end == de->d_name || strcmp(end, SPOOL_SUFFIX) != 0)
			continue;
		if (!any || seg < sp->first)
			sp->first = seg;
		if (!any || seg > sp->last)
			sp->last = seg;
		any = true;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		sp->total += spool_file_size(path);
	}
	closedir(d);
	spool_read_cursor(sp);
	if (!any) {
		sp->first = sp->last = (sp->confirmed >> 32) + 1;
	} else {
		spool_repair_last(sp);
		while (sp->first < sp->confirmed >> 32 && sp->first < sp->last)
			spool_drop_first(sp, false); /* delivered before the restart */
	}
	sp->rseg = sp->first;
	sp->roff = sp->confirmed >> 32 == sp->first ? (sp->confirmed & 0xffffffff) : 0;
	sp->confirmed = sp->rseg << 32 | sp->roff; /* nothing before it is left */
	if (spool_open_writer(sp) != 0) {
		log_error("spool %s: %s", dir, strerror(errno));
		goto fail;
	}
	if (sp->total)
		log_info(
		    "spool %s: %llu bytes from an earlier run; what was not delivered goes first",
		    dir, (unsigned long long)sp->total);
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void spool_close(struct spool *sp)
{
	if (!sp)
		return;
	spool_sync(sp);
	if (sp->wfd >= 0)
		close(sp->wfd);
	if (sp->rfd >= 0)
		close(sp->rfd);
	free(sp->buf);
	free(sp->dir);
	free(sp);
}

int spool_append(struct spool *sp, const struct sink_event *ev)
{
	size_t key_len = ev->key ? strlen(ev->key) : 0;
	size_t body, len;
	ssize_t n;

	if (key_len > 255)
		key_len = 0;
	body = SPOOL_META + key_len + ev->len;
	len = SPOOL_HEADER + body;
	if (body > SPOOL_RECORD_MAX || !spool_reserve(sp, len)) {
		sp->st.errors++;
		return body > SPOOL_RECORD_MAX ? -EMSGSIZE : -ENOMEM;
	}
	if (sp->wsize && sp->wsize + len > sp->segment_bytes) {
		close(sp->wfd);
		sp->wfd = -1;
		sp->last++;
		if (spool_open_writer(sp) != 0) {
			sp->last--;
			sp->st.errors++;
			return -errno;
		}
	}
	while (sp->total + len > sp->max_bytes && sp->first < sp->last)
		spool_drop_first(sp, true);
	sp->buf[SPOOL_HEADER] = (char)ev->kind;
	sp->buf[SPOOL_HEADER + 1] = (char)key_len;
	if (key_len)
		memcpy(sp->buf + SPOOL_HEADER + SPOOL_META, ev->key, key_len);
	memcpy(sp->buf + SPOOL_HEADER + SPOOL_META + key_len, ev->data, ev->len);
	spool_put32((unsigned char *)sp->buf, (uint32_t)body);
	spool_put32((unsigned char *)sp->buf + 4,
		    (uint32_t)crc32(0, (const unsigned char *)sp->buf + SPOOL_HEADER, (uInt)body));
	n = write(sp->wfd, sp->buf, len);
	if (n != (ssize_t)len) {
		int err = n < 0 ? errno : ENOSPC;
		if (n > 0 && ftruncate(sp->wfd, (off_t)sp->wsize) != 0)
			err = errno;
		sp->st.errors++;
		if (!sp->failing)
			log_error("spool %s: write: %s; events that cannot wait in the spool are "
				  "lost",
				  sp->dir, strerror(err));
		sp->failing = true;
		return -err;
	}
	sp->failing = false;
	sp->wsize += len;
	sp->total += len;
	sp->data_dirty = true;
	sp->st.appended++;
	return 0;
}

bool spool_drained(const struct spool *sp)
{
	return sp->rseg > sp->last || (sp->rseg == sp->last && sp->roff >= sp->wsize);
}

bool spool_empty(const struct spool *sp)
{
	return spool_drained(sp) && sp->confirmed >= (sp->rseg << 32 | sp->roff);
}

int spool_next(struct spool *sp, struct sink_event *ev, uint64_t *pos)
{
	char path[4096];
	size_t len = 0, key_len;

	while (!spool_drained(sp)) {
		if (sp->rfd < 0) {
			spool_segment_path(sp, sp->rseg, path, sizeof(path));
			sp->rfd = open(path, O_RDONLY | O_CLOEXEC);
		}
		if (sp->rfd >= 0 && (len = spool_read_record(sp, sp->rfd, sp->roff)) > 0)
			break;
		if (sp->rseg == sp->last)
			return 0; /* not a whole record yet */
		/* the end of a segment, or a damaged record: the next segment */
		if (sp->rfd >= 0)
			close(sp->rfd);
		sp->rfd = -1;
		sp->rseg++;
		sp->roff = 0;
	}
	if (!len)
		return 0;
	key_len = (unsigned char)sp->buf[1];
	memset(ev, 0, sizeof(*ev));
	ev->kind = (unsigned char)sp->buf[0];
	ev->data = sp->buf + SPOOL_META + key_len;
	ev->len = len - SPOOL_META - key_len;
	if (key_len) {
		/* the key moves over the meta bytes, which are read, to end it */
		memmove(sp->buf, sp->buf + SPOOL_META, key_len);
		sp->buf[key_len] = '\0';
		ev->key = sp->buf;
	}
	sp->roff += SPOOL_HEADER + len;
	*pos = sp->rseg << 32 | sp->roff;
	sp->st.replayed++;
	return 1;
}

void spool_confirm(struct spool *sp, uint64_t pos)
{
	if (pos <= sp->confirmed)
		return;
	sp->confirmed = pos;
	sp->cursor_dirty = true;
	while (sp->first < pos >> 32 && sp->first < sp->last && sp->first < sp->rseg)
		spool_drop_first(sp, false);
}

int spool_sync(struct spool *sp)
{
	char path[4096], tmp[4200];
	FILE *f;
	int err = 0;

	if (sp->data_dirty && sp->wfd >= 0 && fdatasync(sp->wfd) != 0)
		err = -errno;
	sp->data_dirty = false;
	if (!sp->cursor_dirty)
		return err;
	snprintf(path, sizeof(path), "%s/cursor", sp->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "%llx %llu\n", (unsigned long long)(sp->confirmed >> 32),
		(unsigned long long)(sp->confirmed & 0xffffffff));
	if (fflush(f) != 0 || fdatasync(fileno(f)) != 0)
		err = -errno;
	fclose(f);
	if (!err && rename(tmp, path) != 0)
		err = -errno;
	if (!err)
		sp->cursor_dirty = false;
	return err;
}

void spool_get_stats(const struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
	st->bytes = sp->total;
}
