/* buf.c: see buf.h. */
#include "buf.h"

#include <errno.h>
#include <stdlib.h>

int buf_reserve(char **buf, size_t *cap, size_t need, size_t limit)
{
	size_t n = *cap;
	char *nb;

	if (need <= n)
		return 0;
	if (n < 256)
		n = 256;
	while (n < need)
		n = n > limit / 2 ? limit : n * 2;
	if (n > limit)
		n = limit;
	nb = realloc(*buf, n);
	if (!nb)
		return -ENOMEM;
	*buf = nb;
	*cap = n;
	return 0;
}
