/* read_baseline: the floor for reading a log file line by line, measured on
 * this machine in the same run as the throughput benchmark.
 *
 *     read_baseline FILE
 *
 * Reads FILE to its end with read(2) into a 1 MiB buffer and counts its lines
 * with memchr('\n'), which is the least any agent must do with it. Prints
 * "bytes N" and "lines N", one a line; the caller times it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE (1u << 20)

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: read_baseline FILE\n");
		return 2;
	}
	char *buf = malloc(BUF_SIZE);
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	uint64_t bytes = 0, lines = 0;

	if (!buf || fd < 0) {
		fprintf(stderr, "read_baseline: open %s: %s\n", argv[1],
			buf ? strerror(errno) : "out of memory");
		free(buf);
		return 1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, BUF_SIZE);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "read_baseline: read %s: %s\n", argv[1], strerror(errno));
			close(fd);
			free(buf);
			return 1;
		}
		if (n == 0)
			break;
		bytes += (uint64_t)n;
		for (const char *p = buf, *end = buf + n; (p = memchr(p, '\n', (size_t)(end - p)));
		     p++)
			lines++;
	}
	close(fd);
	free(buf);
	printf("bytes %" PRIu64 "\nlines %" PRIu64 "\n", bytes, lines);
	return 0;
}
