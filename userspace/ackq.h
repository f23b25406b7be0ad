/* ackq.h: the events a sink has taken and not yet seen confirmed, in
 * sequence order, each with its own copy of the event (a sink may hand that
 * copy to a library that sends it without copying it again).
 *
 * Confirmations may come in any order (Kafka partitions, HTTP batches);
 * ackq_advance pops the confirmed events at the front and tells the highest
 * sequence number below which every event is confirmed. */
#ifndef GLIMPSE_ACKQ_H
#define GLIMPSE_ACKQ_H

#include "sink.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACKQ_KEY_MAX	63 /* a pod UID is 36 */
#define ACKQ_SOURCE_MAX 47 /* "<dev>:<inode>" in decimal */

struct ackq_entry {
	uint64_t seq;
	char *data; /* the event, owned */
	size_t len;
	unsigned kind;
	bool done;
	bool has_key, has_source;
	uint64_t offset;
	char key[ACKQ_KEY_MAX + 1];
	char source[ACKQ_SOURCE_MAX + 1];
};

struct ackq {
	struct ackq_entry *v; /* a ring: n entries from head */
	size_t head, n, cap;
	size_t bytes; /* of the events held */
};

void ackq_init(struct ackq *q);
void ackq_free(struct ackq *q);
/* Takes a copy of ev at the back. NULL on allocation failure; ev->seq must be
 * above every seq in q. The pointer is good until the next ackq_push. */
struct ackq_entry *ackq_push(struct ackq *q, const struct sink_event *ev);
/* The i-th entry from the front (i < n). */
struct ackq_entry *ackq_at(const struct ackq *q, size_t i);
/* The entry of seq, or NULL. */
struct ackq_entry *ackq_find(const struct ackq *q, uint64_t seq);
/* Marks e confirmed and frees its copy of the event. */
void ackq_done(struct ackq *q, struct ackq_entry *e);
/* Pops the confirmed entries at the front; when any went, *confirmed is the
 * last one's seq and true is returned. */
bool ackq_advance(struct ackq *q, uint64_t *confirmed);
/* The entry's event as a sink_event (pointing into e). */
void ackq_event(const struct ackq_entry *e, struct sink_event *ev);

#endif
