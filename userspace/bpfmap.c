/* bpfmap.c: see bpfmap.h. */
#include "bpfmap.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bpfmap_percpu_sums(const struct bpf_map *map, uint32_t n, uint64_t *sums)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *vals;

	memset(sums, 0, sizeof(*sums) * n);
	if (ncpu <= 0 || !(vals = calloc((size_t)ncpu, sizeof(*vals))))
		return -ENOMEM;
	for (uint32_t key = 0; key < n; key++) {
		if (bpf_map__lookup_elem(map, &key, sizeof(key), vals, sizeof(*vals) * (size_t)ncpu,
					 0) != 0)
			continue;
		for (int i = 0; i < ncpu; i++)
			sums[key] += vals[i];
	}
	free(vals);
	return 0;
}
