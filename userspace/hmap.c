/* hmap.c: separate chaining with a power-of-two bucket array that doubles
 * when the load passes 1. FNV-1a hashing. */
#include "hmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct hmap_entry {
	struct hmap_entry *next;
	uint64_t hash;
	void *value;
	size_t key_len;
	unsigned char key[];
};

struct hmap {
	struct hmap_entry **buckets;
	size_t n_buckets;
	size_t count;
};

static uint64_t hmap_hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ULL;
	}
	return h;
}

struct hmap *hmap_new(void)
{
	struct hmap *map = calloc(1, sizeof(*map));

	if (!map)
		return NULL;
	map->n_buckets = 16;
	map->buckets = calloc(map->n_buckets, sizeof(*map->buckets));
	if (!map->buckets) {
		free(map);
		return NULL;
	}
	return map;
}

void hmap_free(struct hmap *map)
{
	if (!map)
		return;
	for (size_t i = 0; i < map->n_buckets; i++) {
		struct hmap_entry *e = map->buckets[i];
		while (e) {
			struct hmap_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(map->buckets);
	free(map);
}

static struct hmap_entry **hmap_slot(const struct hmap *map, const void *key, size_t key_len,
				     uint64_t hash)
{
	struct hmap_entry **slot = &map->buckets[hash & (map->n_buckets - 1)];

	while (*slot) {
		struct hmap_entry *e = *slot;
		if (e->hash == hash && e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
			break;
		slot = &e->next;
	}
	return slot;
}

static void hmap_grow(struct hmap *map)
{
	size_t n = map->n_buckets * 2;
	struct hmap_entry **buckets = calloc(n, sizeof(*buckets));

	if (!buckets)
		return; /* a fuller map is slower, not wrong */
	for (size_t i = 0; i < map->n_buckets; i++) {
		struct hmap_entry *e = map->buckets[i];
		while (e) {
			struct hmap_entry *next = e->next;
			size_t b = e->hash & (n - 1);
			e->next = buckets[b];
			buckets[b] = e;
			e = next;
		}
	}
	free(map->buckets);
	map->buckets = buckets;
	map->n_buckets = n;
}

int hmap_put(struct hmap *map, const void *key, size_t key_len, void *value)
{
	uint64_t hash = hmap_hash(key, key_len);
	struct hmap_entry **slot = hmap_slot(map, key, key_len, hash);
	struct hmap_entry *e;

	if (*slot) {
		(*slot)->value = value;
		return 0;
	}
	e = malloc(sizeof(*e) + key_len);
	if (!e)
		return -ENOMEM;
	e->next = NULL;
	e->hash = hash;
	e->value = value;
	e->key_len = key_len;
	memcpy(e->key, key, key_len);
	*slot = e;
	if (++map->count > map->n_buckets)
		hmap_grow(map);
	return 0;
}

void *hmap_get(const struct hmap *map, const void *key, size_t key_len)
{
	struct hmap_entry **slot = hmap_slot(map, key, key_len, hmap_hash(key, key_len));

	return *slot ? (*slot)->value : NULL;
}

void *hmap_del(struct hmap *map, const void *key, size_t key_len)
{
	struct hmap_entry **slot = hmap_slot(map, key, key_len, hmap_hash(key, key_len));
	struct hmap_entry *e = *slot;
	void *value;

	if (!e)
		return NULL;
	value = e->value;
	*slot = e->next;
	free(e);
	map->count--;
	return value;
}

size_t hmap_count(const struct hmap *map)
{
	return map->count;
}

void hmap_foreach(struct hmap *map, hmap_visit_fn fn, void *ctx)
{
	for (size_t i = 0; i < map->n_buckets; i++) {
		struct hmap_entry **slot = &map->buckets[i];
		while (*slot) {
			struct hmap_entry *e = *slot;
			if (fn(e->key, e->key_len, e->value, ctx)) {
				*slot = e->next;
				free(e);
				map->count--;
			} else {
				slot = &e->next;
			}
		}
	}
}
