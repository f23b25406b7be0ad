/* deadletter.h: events a sink refused for good (too large, not authorized, a
 * 400 from an endpoint), kept on the node with the reason instead of being
 * dropped.
 *
 * One JSON object per line in <state dir>/deadletter.json:
 *   {"time":"…","output":"kafka-1","reason":"…","event":{…the event…}}
 * Past max_bytes the file is renamed to deadletter.json.1 (replacing the one
 * before) and a new one begun, so the two together stay under twice that. */
#ifndef GLIMPSE_DEADLETTER_H
#define GLIMPSE_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#define DEADLETTER_FILE_NAME "deadletter.json"

struct deadletter;

/* The file is created at the first entry. NULL on allocation failure. */
struct deadletter *deadletter_new(const char *dir, size_t max_bytes);
/* Appends one entry; event is one JSON object, a trailing '\n' allowed.
 * Failures are logged (once until it works again) and counted. */
void deadletter_write(struct deadletter *dl, const char *output, const char *reason,
		      const char *event, size_t len);
/* fdatasync of what was written since the last call. */
int deadletter_sync(struct deadletter *dl);
uint64_t deadletter_entries(const struct deadletter *dl);
uint64_t deadletter_errors(const struct deadletter *dl);
void deadletter_free(struct deadletter *dl);

#endif
