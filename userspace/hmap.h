/* hmap.h: a hash map from byte-string keys to pointers.
 *
 * Keys are copied in; values are owned by the caller. Used for the pods cache
 * (UID), the container table (cgroup id) and the tail's open files.
 */
#ifndef GLIMPSE_HMAP_H
#define GLIMPSE_HMAP_H

#include <stdbool.h>
#include <stddef.h>

struct hmap;

struct hmap *hmap_new(void);
/* Frees the map and its key copies, never the values. */
void hmap_free(struct hmap *map);

/* Inserts or replaces. Returns 0, or -ENOMEM (the map is unchanged). */
int hmap_put(struct hmap *map, const void *key, size_t key_len, void *value);
void *hmap_get(const struct hmap *map, const void *key, size_t key_len);
/* Removes the entry and returns its value, or NULL when absent. */
void *hmap_del(struct hmap *map, const void *key, size_t key_len);
size_t hmap_count(const struct hmap *map);

/* Calls fn for every entry; an entry is removed when fn returns true.
 * fn must not otherwise modify the map. */
typedef bool (*hmap_visit_fn)(const void *key, size_t key_len, void *value, void *ctx);
void hmap_foreach(struct hmap *map, hmap_visit_fn fn, void *ctx);

#endif
