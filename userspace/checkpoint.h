/* checkpoint.h: read positions that mean "delivered".
 *
 * A file is known by its identity: device, inode and a fingerprint (a hash of
 * its first bytes, up to CKPT_FP_MAX, taken again as the file grows, so a
 * one-line file is identified too). Each position carries the delivery
 * sequence number of the last event it covers (a mark); it becomes the file's
 * checkpoint only once every sink has confirmed that sequence number. The
 * checkpoints live in <state dir>/positions.json, replaced atomically (write,
 * fsync, rename, fsync of the dir).
 *
 * After a restart a file resumes at its checkpoint when its identity matches;
 * a file whose identity changed under the same name is read from 0; a file
 * that shrank below its checkpoint was truncated and is read from 0.
 */
#ifndef GLIMPSE_CHECKPOINT_H
#define GLIMPSE_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define CKPT_FP_MAX    512 /* bytes of a file's beginning in its fingerprint */
#define CKPT_MARKS     16  /* unconfirmed positions kept per file; later ones merge */
#define CKPT_FILE_NAME "positions.json"
#define CKPT_META_MAX  253

struct ckpt;

struct ckpt_mark {
	uint64_t seq;	 /* the last event sent for the bytes before offset */
	uint64_t offset; /* a line boundary */
};

struct ckpt_entry {
	char *path; /* the name the file had when last opened */
	uint64_t dev, ino;
	uint32_t fp_len; /* bytes hashed into fp */
	uint64_t fp;
	uint64_t offset; /* delivered up to here */
	uint64_t resume; /* an orphan's copy is read from here (lines already sent) */
	char pod_uid[CKPT_META_MAX + 1];
	char container[CKPT_META_MAX + 1];
	int restart;
	/* private to checkpoint.c */
	int fd;	      /* the open file while claimed, else -1 */
	bool claimed; /* an open file stands for this entry */
	bool orphan;  /* its file was truncated: waits for a copy (no dev/ino) */
	bool released;
	int64_t loaded_ms; /* when read from disk, for unclaimed entries */
	struct ckpt_mark marks[CKPT_MARKS];
	size_t n_marks;
	struct ckpt_entry *next;
};

struct ckpt_stats {
	uint64_t saves, save_errors, resumed, restarted_identity, restarted_shrunk, dropped,
	    load_errors, copies_followed, unseen_rotated;
};

/* Loads <dir>/positions.json if there is one. A file that cannot be parsed is
 * reported, kept as positions.json.bad, and collection starts from offset 0
 * (duplicates, never loss). Returns 0 or a negative errno (memory). */
int ckpt_open(struct ckpt **out, const char *dir);
void ckpt_free(struct ckpt *c);

/* A file was opened (fd, its stat st): finds its checkpoint by identity and
 * returns the entry that now stands for it, with *start the offset to read
 * from (0 for a new file, one whose identity changed, or one that shrank).
 * NULL on allocation failure (*start is 0). */
struct ckpt_entry *ckpt_claim(struct ckpt *c, const char *path, int fd, const struct stat *st,
			      uint64_t *start);
/* Does the rotated file at path (st) hold lines not yet delivered? Either a
 * checkpoint of it (by device and inode) has bytes left, or it is a copy of a
 * file truncated since (copytruncate: it begins with the bytes the truncated
 * file began with), which then takes over that file's position. */
bool ckpt_wants(struct ckpt *c, const char *path, const struct stat *st);
/* Until this is called (after the first scan), a rotated file that no
 * checkpoint knows and that was written after positions.json was last saved
 * is wanted too: it was created and rotated away while no agent ran. */
void ckpt_startup_done(struct ckpt *c);

/* The bytes before offset are covered by events up to seq. */
void ckpt_mark(struct ckpt_entry *e, uint64_t seq, uint64_t offset);
/* The file of e was truncated (st: its stat now); lines of the old content
 * were handed over up to offset emitted. e becomes an orphan that a copy of
 * the old content can take over (see ckpt_wants); the returned entry (NULL
 * on allocation failure) stands for the new content, from offset 0. */
struct ckpt_entry *ckpt_truncated(struct ckpt *c, struct ckpt_entry *e, int fd,
				  const struct stat *st, uint64_t emitted);
/* The file is closed. gone: it was deleted, so the entry is dropped once
 * its marks are confirmed. */
void ckpt_release(struct ckpt *c, struct ckpt_entry *e, bool gone);

/* Every sink has confirmed events up to seq: advances the entries. */
void ckpt_confirm(struct ckpt *c, uint64_t seq);
/* Drops entries that no open file claimed within grace_ms of loading and
 * released entries with nothing left to confirm; writes positions.json when
 * something changed (force: in any case). Returns 0 or a negative errno,
 * after logging it; the last good file stays in place. */
int ckpt_save(struct ckpt *c, int64_t now_ms, int64_t grace_ms, bool force);

void ckpt_get_stats(const struct ckpt *c, struct ckpt_stats *out);

#endif
