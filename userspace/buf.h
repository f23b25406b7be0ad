/* buf.h: a message buffer that grows up to a limit. */
#ifndef GLIMPSE_BUF_H
#define GLIMPSE_BUF_H

#include <stddef.h>

/* Makes room for need bytes (need <= limit) in *buf of capacity *cap: it
 * grows by doubling from 256 bytes, never past limit. Returns 0, or -ENOMEM
 * with *buf and *cap as they were. */
int buf_reserve(char **buf, size_t *cap, size_t need, size_t limit);

#endif
