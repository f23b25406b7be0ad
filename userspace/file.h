/* file.h: reading a whole small file (runtime state, saved positions) into
 * memory, bounded. */
#ifndef GLIMPSE_FILE_H
#define GLIMPSE_FILE_H

#include <stdbool.h>
#include <stddef.h>

/* Reads the file at path into a NUL-terminated buffer the caller frees.
 * nofollow: a symlink at path is refused (ELOOP). Returns 0, or a negative
 * errno: -EFBIG when it is not a regular file of at most max bytes, -ENOMEM,
 * or open's error. A read cut short keeps what was read. */
int file_read_all(const char *path, size_t max, bool nofollow, char **buf_out, size_t *len_out);

#endif
