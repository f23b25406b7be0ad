/* spool.h: an output's events that have no file behind them (container and
 * http events), kept on disk while the output cannot take them, and handed
 * back in order when it can.
 *
 * A directory of segment files <dir>/<number>.spool (at most
 * SPOOL_SEGMENT_BYTES each), records appended to the newest:
 *   u32 length of what follows the header, u32 crc32 of it,
 *   u8 kind, u8 key length, the key, the event.
 * <dir>/cursor holds the position (segment << 32 | offset) up to which the
 * output confirmed delivery; after a restart reading resumes there (events
 * handed out and not confirmed come again: at least once). A record cut
 * short by a crash, or failing its crc, ends its segment. Past max_bytes the
 * oldest segment is deleted and its records counted as dropped. */
#ifndef GLIMPSE_SPOOL_H
#define GLIMPSE_SPOOL_H

#include "sink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_SEGMENT_BYTES (16 * 1024 * 1024)
#define SPOOL_RECORD_MAX    (16 * 1024 * 1024)

struct spool;

struct spool_stats {
	uint64_t appended, replayed, dropped, dropped_bytes, errors, bytes;
};

/* Opens (creating) dir and finds what an earlier run left there. NULL on
 * failure, logged. */
struct spool *spool_open(const char *dir, size_t max_bytes);
void spool_close(struct spool *sp);

/* Appends ev (its kind, key and data). Returns 0 or a negative errno
 * (logged once until it works again, counted). */
int spool_append(struct spool *sp, const struct sink_event *ev);
/* Whether every record has been handed out by spool_next. */
bool spool_drained(const struct spool *sp);
/* Whether nothing is spooled or handed out unconfirmed. */
bool spool_empty(const struct spool *sp);
/* The next record not handed out yet: 1 with *ev (kind, key, data, valid
 * until the next call) and *pos (its end, for spool_confirm), 0 when none. */
int spool_next(struct spool *sp, struct sink_event *ev, uint64_t *pos);
/* Every record before pos was delivered: whole segments behind it go. */
void spool_confirm(struct spool *sp, uint64_t pos);
/* Makes appended records and the cursor durable. */
int spool_sync(struct spool *sp);
void spool_get_stats(const struct spool *sp, struct spool_stats *st);

#endif
