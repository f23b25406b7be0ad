/* bpfmap.h: reading the BPF programs' counter maps. */
#ifndef GLIMPSE_BPFMAP_H
#define GLIMPSE_BPFMAP_H

#include <stdint.h>

struct bpf_map;

/* Sums over every CPU the values of keys 0..n-1 of a per-CPU array of
 * uint64 counters into sums[0..n-1] (0 for a key that cannot be read).
 * Returns 0 or -ENOMEM. */
int bpfmap_percpu_sums(const struct bpf_map *map, uint32_t n, uint64_t *sums);

#endif
