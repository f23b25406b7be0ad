/* ackq.c: see ackq.h. */
#include "ackq.h"

#include <stdlib.h>
#include <string.h>

void ackq_init(struct ackq *q)
{
	memset(q, 0, sizeof(*q));
}

void ackq_free(struct ackq *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(ackq_at(q, i)->data);
	free(q->v);
	ackq_init(q);
}

struct ackq_entry *ackq_at(const struct ackq *q, size_t i)
{
	return &q->v[(q->head + i) % q->cap];
}

static bool ackq_grow(struct ackq *q)
{
	size_t cap = q->cap ? q->cap * 2 : 256;
	struct ackq_entry *v = malloc(cap * sizeof(*v));

	if (!v)
		return false;
	for (size_t i = 0; i < q->n; i++)
		v[i] = *ackq_at(q, i);
	free(q->v);
	q->v = v;
	q->cap = cap;
	q->head = 0;
	return true;
}

/* Copies s into dst (size max + 1); false when it does not fit. */
static bool ackq_copy(char *dst, size_t max, const char *s)
{
	size_t len = s ? strlen(s) : 0;

	if (!s || len > max)
		return false;
	memcpy(dst, s, len + 1);
	return true;
}

struct ackq_entry *ackq_push(struct ackq *q, const struct sink_event *ev)
{
	struct ackq_entry *e;
	char *data;

	if (q->n == q->cap && !ackq_grow(q))
		return NULL;
	data = malloc(ev->len ? ev->len : 1);
	if (!data)
		return NULL;
	memcpy(data, ev->data, ev->len);
	e = &q->v[(q->head + q->n) % q->cap];
	e->seq = ev->seq;
	e->data = data;
	e->len = ev->len;
	e->kind = ev->kind;
	e->done = false;
	e->offset = ev->offset;
	e->has_key = ackq_copy(e->key, ACKQ_KEY_MAX, ev->key);
	e->has_source = ackq_copy(e->source, ACKQ_SOURCE_MAX, ev->source);
	q->n++;
	q->bytes += ev->len;
	return e;
}

struct ackq_entry *ackq_find(const struct ackq *q, uint64_t seq)
{
	size_t lo = 0, hi = q->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct ackq_entry *e = ackq_at(q, mid);
		if (e->seq == seq)
			return e;
		if (e->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void ackq_done(struct ackq *q, struct ackq_entry *e)
{
	if (e->done)
		return;
	e->done = true;
	q->bytes -= e->len;
	free(e->data);
	e->data = NULL;
}

bool ackq_advance(struct ackq *q, uint64_t *confirmed)
{
	bool any = false;

	while (q->n && q->v[q->head].done) {
		*confirmed = q->v[q->head].seq;
		q->head = (q->head + 1) % q->cap;
		q->n--;
		any = true;
	}
	return any;
}

void ackq_event(const struct ackq_entry *e, struct sink_event *ev)
{
	ev->seq = e->seq;
	ev->kind = e->kind;
	ev->data = e->data;
	ev->len = e->len;
	ev->key = e->has_key ? e->key : NULL;
	ev->source = e->has_source ? e->source : NULL;
	ev->offset = e->offset;
}
