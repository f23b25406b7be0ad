/* sockloop.c: the cost of one write(2) + read(2) pair on a loopback TCP
 * connection, for tests/bench/http_overhead.py.
 *
 *     sockloop PAIRS KIND [SIZE]
 *
 * Makes a connected pair on 127.0.0.1 (socket, bind to port 0, listen,
 * connect, accept), then PAIRS times writes one message on the connecting
 * socket and reads it back, whole, from the accepted one. KIND is the
 * message:
 *
 *   junk  SIZE bytes (default 64) of 'x': not HTTP, so a tracer that sniffs
 *         the first bytes of a connection gives up on it at once (skip path);
 *   http  "GET / HTTP/1.1\r\n\r\n" (18 bytes, SIZE ignored): every write and
 *         read looks like a request (capture path).
 *
 * 1,000 pairs go first and are not timed: the tracer has met both descriptors
 * by then. Prints "name value" lines: pairs, bytes, ns_total, ns_per_pair.
 * Exits 1 on any error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define WARMUP	 1000
#define MAX_SIZE 65536

static const char http_msg[] = "GET / HTTP/1.1\r\n\r\n";

static int die(const char *what)
{
	fprintf(stderr, "sockloop: %s: %s\n", what, strerror(errno));
	return 1;
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* One message out on wfd and all of it back from rfd. */
static int pair(int wfd, int rfd, const char *msg, char *buf, size_t len)
{
	size_t got = 0;
	ssize_t n = write(wfd, msg, len);

	if (n != (ssize_t)len)
		return -1;
	while (got < len) {
		n = read(rfd, buf + got, len - got);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char msg[MAX_SIZE], buf[MAX_SIZE];
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t alen = sizeof(addr);
	long long pairs, t0, t1;
	size_t len = 64;
	int lfd, cfd, sfd, one = 1;

	if (argc < 3 || (pairs = atoll(argv[1])) <= 0) {
		fprintf(stderr, "usage: sockloop PAIRS junk|http [SIZE]\n");
		return 2;
	}
	if (strcmp(argv[2], "http") == 0) {
		len = sizeof(http_msg) - 1;
		memcpy(msg, http_msg, len);
	} else if (strcmp(argv[2], "junk") == 0) {
		if (argc > 3)
			len = (size_t)atol(argv[3]);
		if (len < 1 || len > MAX_SIZE) {
			fprintf(stderr, "sockloop: SIZE must be 1 to %d\n", MAX_SIZE);
			return 2;
		}
		memset(msg, 'x', len);
	} else {
		fprintf(stderr, "sockloop: KIND must be junk or http\n");
		return 2;
	}

	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0)
		return die("socket");
	if (bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return die("bind 127.0.0.1:0");
	if (listen(lfd, 1) != 0)
		return die("listen");
	if (getsockname(lfd, (struct sockaddr *)&addr, &alen) != 0)
		return die("getsockname");
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (cfd < 0)
		return die("socket");
	if (connect(cfd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		return die("connect");
	sfd = accept(lfd, NULL, NULL);
	if (sfd < 0)
		return die("accept");
	/* one message per segment, sent at once */
	setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	for (int i = 0; i < WARMUP; i++)
		if (pair(cfd, sfd, msg, buf, len) != 0)
			return die("warm-up write/read");
	t0 = now_ns();
	for (long long i = 0; i < pairs; i++)
		if (pair(cfd, sfd, msg, buf, len) != 0)
			return die("write/read");
	t1 = now_ns();

	printf("pairs %lld\nbytes %zu\nns_total %lld\nns_per_pair %.1f\n", pairs, len, t1 - t0,
	       (double)(t1 - t0) / (double)pairs);
	close(sfd);
	close(cfd);
	close(lfd);
	return 0;
}
