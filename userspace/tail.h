/* tail.h: finds and reads log files: the CRI log files under the pods log dir,
 * <pods-log-dir>/<namespace>_<pod>_<uid>/<container>/<restart>.log, and the
 * directories of in-container files the caller adds (tail_add_dir).
 *
 * inotify on the pods log dir, on every pod dir and every container dir opens a
 * file the moment it is created and reads it from the offset the caller gives
 * (its checkpoint, else 0); a slow rescan is a safety net. A file stays open
 * until it is drained, even after it is deleted or renamed; files whose name is
 * gone are read before the others. A rotated file (<restart>.log.<suffix>, not
 * compressed) is opened at a scan only when the caller wants it (a checkpoint
 * says it holds lines not yet delivered). Lines are handed over raw (without
 * '\n') with their byte offsets; a line longer than the limit comes in pieces.
 * Whether a file may be read now is the caller's call (it waits briefly for pod
 * metadata, and while its sinks are full): the file is the buffer meanwhile.
 */
#ifndef GLIMPSE_TAIL_H
#define GLIMPSE_TAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct loop;
struct tail;

#define TAIL_NAME_MAX 253
#define TAIL_ID_MAX   64 /* a container id */
/* A line of up to max_line + TAIL_HEADER_ROOM bytes is handed over whole:
 * room for a CRI line's time, stream and tag before the message. */
#define TAIL_HEADER_ROOM 64

enum tail_format {
	TAIL_FORMAT_CRI,    /* a CRI log file: "<time> <stream> <P|F> <message>" */
	TAIL_FORMAT_PLAIN,  /* an in-container file: each line is a message */
	TAIL_FORMAT_DOCKER, /* docker's json-file: {"log":…,"stream":…,"time":…} */
};

struct tail_file {
	const char *path; /* as opened */
	int fd;		  /* for identifying the file; the tail reads it */
	char namespace_name[TAIL_NAME_MAX + 1];
	char pod_name[TAIL_NAME_MAX + 1];
	char pod_uid[TAIL_NAME_MAX + 1];
	char container_name[TAIL_NAME_MAX + 1];
	/* a docker log file's container (its dir's name), else ""; the names
	 * above are then "" until opened() fills them in */
	char container_id[TAIL_ID_MAX + 1];
	int restart;		   /* the <restart> of <restart>.log */
	int64_t open_ns;	   /* CLOCK_MONOTONIC when opened */
	int64_t create_to_open_ns; /* file birth (statx btime) to open; valid if create_known */
	bool create_known;
	bool rotated; /* opened under a rotated name, for lines a checkpoint is owed */
	enum tail_format format;
	/* a file of a directory added with tail_add_dir: its path as the
	 * container sees it (follows renames); NULL for CRI files */
	const char *container_path;
	uint64_t start_offset; /* where reading starts; opened() may set it */
	/* the line (or piece) being handed over: its first byte's offset and the
	 * offset just past it ('\n' included when the line is complete) */
	uint64_t line_start, line_end;
	void *user; /* the agent's per-file state */
};

enum tail_piece {
	TAIL_PIECE_MORE = 1 << 0,	  /* the line continues in the next piece */
	TAIL_PIECE_CONT = 1 << 1,	  /* this piece continues the previous one */
	TAIL_PIECE_UNTERMINATED = 1 << 2, /* the file ended without '\n' after it */
};

struct tail_callbacks {
	/* A file was opened; set f->user and f->start_offset here. */
	void (*opened)(void *ctx, struct tail_file *f, const struct stat *st);
	/* At a scan: open this rotated file (st) of a container dir? May be NULL. */
	bool (*wanted)(void *ctx, const char *path, const struct stat *st);
	/* May f be read now? When false, the tail asks again after tail_wake_pod
	 * or on its next tick. */
	bool (*ready)(void *ctx, struct tail_file *f);
	/* One line, or one piece of a long line (flags: enum tail_piece). */
	void (*line)(void *ctx, struct tail_file *f, const char *data, size_t len, unsigned flags);
	/* The file shrank (copytruncate): reading starts over at offset 0. Every
	 * line before offset handed of the old content was handed over. Then the
	 * rotated files of its dir are offered to wanted() (a copy of the old
	 * content holds the rest). */
	void (*truncated)(void *ctx, struct tail_file *f, uint64_t handed);
	/* The file is about to be closed; release f->user. drained: it was read
	 * to its end (else the tail is closing); gone: it has no name any more. */
	void (*closed)(void *ctx, struct tail_file *f, bool drained, bool gone);
};

struct tail_options {
	const char *pods_dir;
	const char *docker_dir;	  /* <docker root>/containers, or NULL */
	size_t max_line;	  /* longest line handed over in one piece */
	int64_t rescan_ms;	  /* safety-net rescan period */
	int64_t deleted_grace_ms; /* a deleted or renamed file at EOF is closed after this */
	size_t read_budget;	  /* bytes read from one file before others get a turn */
	size_t max_deleted_open;  /* deleted files held open; past it the oldest is closed */
};

struct tail_stats {
	uint64_t files_opened, files_closed, files_open, files_deleted_open;
	uint64_t bytes_read, lines_read, lines_split, truncations, open_errors, read_errors;
	uint64_t inotify_overflows, rescans;
	/* tail_add_dir's directories, and files in them not read (a symlink; on
	 * a kernel interface, network or FUSE filesystem) */
	uint64_t dirs_watched, dir_errors, symlinks_skipped, files_refused;
	uint64_t deleted_closed_unread, deleted_unread_bytes; /* closed over max_deleted_open */
};

/* A directory of in-container log files (a pod's glimpse.io/logs). */
struct tail_dir {
	const char *key; /* names it for tail_remove_dir; adding a key again does nothing */
	/* The directory the container controls nothing above: a volume's dir on
	 * the host, or a container's root (/proc/<pid>/root). The tail takes
	 * this descriptor (O_PATH is enough) and closes it. */
	int root_fd;
	const char *root_path; /* its path, for names in logs */
	/* The directory beneath root ("" for root itself), resolved with
	 * openat2: as in a chroot when in_root (a container's absolute symlinks
	 * point into its own root), else never leaving root. */
	const char *rel;
	bool in_root;
	const char *container_dir; /* the directory as the container sees it */
	const char *pattern;	   /* file names read: fnmatch(3) with FNM_PERIOD */
	const char *namespace_name, *pod_name, *pod_uid, *container_name;
};

/* Starts watching. A pods dir that is missing or unreadable is logged with its
 * path and retried on every rescan; that is not an error here. Returns 0 or a
 * negative errno (inotify, eventfd or memory). */
int tail_open(struct tail **out, struct loop *loop, const struct tail_options *opts,
	      const struct tail_callbacks *cb, void *ctx);
/* Closes every file without draining it. */
void tail_close(struct tail *t);
/* Closes every file as read to its end: an unterminated last line is handed
 * over (for --exit-on-eof, once tail_busy is false). */
void tail_finish(struct tail *t);
/* Does a file have bytes to read (or wait for ready())? */
bool tail_busy(const struct tail *t);

/* A pod with this UID has started: watch its log dir now if it exists. */
void tail_pod_hint(struct tail *t, const char *uid);
/* Asks ready() again for the files of this pod (or every file when uid is NULL). */
void tail_wake_pod(struct tail *t, const char *uid);

/* Watches d for files matching its pattern, read from their start (or their
 * checkpoint) like CRI files, as TAIL_FORMAT_PLAIN. A directory not there
 * yet is looked for again every second and at every rescan. Files are opened
 * with O_NOFOLLOW: a symlink is never read. Returns 0 (also when the key is
 * known), -EINVAL for a bad d, or -ENOMEM; root_fd is closed unless kept. */
int tail_add_dir(struct tail *t, const struct tail_dir *d);
/* Stops watching the directory added as key: its files are read to their
 * end, then closed (the container is gone, or the pod no longer asks). */
void tail_remove_dir(struct tail *t, const char *key);
/* The container has exited: its files are read before the others, so their
 * lines go out before more of the running containers'. */
void tail_container_finished(struct tail *t, const char *pod_uid, const char *container_name);

void tail_get_stats(const struct tail *t, struct tail_stats *out);

#endif
