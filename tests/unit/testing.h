/* testing.h: the smallest unit-test harness that reports what it saw.
 *
 * A test program defines TEST functions and calls them with RUN() from main,
 * then returns testing_done(). Each test prints "ok", "FAIL" or "skip"; the
 * last line is "N passed, N failed, N skipped", which tests/run sums up.
 */
#ifndef GLIMPSE_TESTING_H
#define GLIMPSE_TESTING_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int testing_passed, testing_failed, testing_skipped;
static int testing_current_failed, testing_current_skipped;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "  %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			testing_current_failed = 1;                                                \
		}                                                                                  \
	} while (0)

#define CHECK_INT_EQ(a, b)                                                                         \
	do {                                                                                       \
		long long testing_a_ = (long long)(a), testing_b_ = (long long)(b);                \
		if (testing_a_ != testing_b_) {                                                    \
			fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__,    \
				__LINE__, #a, testing_a_, #b, testing_b_);                         \
			testing_current_failed = 1;                                                \
		}                                                                                  \
	} while (0)

#define CHECK_STR_EQ(a, b)                                                                         \
	do {                                                                                       \
		const char *testing_a_ = (a), *testing_b_ = (b);                                   \
		if (!testing_a_ || !testing_b_ || strcmp(testing_a_, testing_b_) != 0) {           \
			fprintf(stderr, "  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__,      \
				__LINE__, #a, testing_a_ ? testing_a_ : "(null)",                  \
				testing_b_ ? testing_b_ : "(null)");                               \
			testing_current_failed = 1;                                                \
		}                                                                                  \
	} while (0)

#define CHECK_MEM_EQ(a, alen, b, blen)                                                             \
	do {                                                                                       \
		if ((size_t)(alen) != (size_t)(blen) || memcmp((a), (b), (alen)) != 0) {           \
			fprintf(stderr, "  %s:%d: %s (%zu bytes) differs from %s (%zu bytes)\n",   \
				__FILE__, __LINE__, #a, (size_t)(alen), #b, (size_t)(blen));       \
			testing_current_failed = 1;                                                \
		}                                                                                  \
	} while (0)

/* Marks the running test skipped, with the reason printed; returns from it. */
#define SKIP(...)                                                                                  \
	do {                                                                                       \
		fprintf(stderr, "  skip: ");                                                       \
		fprintf(stderr, __VA_ARGS__);                                                      \
		fprintf(stderr, "\n");                                                             \
		testing_current_skipped = 1;                                                       \
		return;                                                                            \
	} while (0)

#define RUN(name) testing_run(#name, name)

static inline void testing_run(const char *name, void (*fn)(void))
{
	testing_current_failed = 0;
	testing_current_skipped = 0;
	fn();
	if (testing_current_failed) {
		testing_failed++;
		printf("FAIL %s\n", name);
	} else if (testing_current_skipped) {
		testing_skipped++;
		printf("skip %s\n", name);
	} else {
		testing_passed++;
		printf("ok   %s\n", name);
	}
	fflush(stdout);
}

static inline int testing_done(void)
{
	printf("%d passed, %d failed, %d skipped\n", testing_passed, testing_failed,
	       testing_skipped);
	fflush(stdout); /* before LeakSanitizer's exit handler can end the process */
	return testing_failed ? 1 : 0;
}

/* The shared fixtures folder when present ($GLIMPSE_FIXTURES, else
 * ../shared/fixtures from the repository root), or NULL. */
static inline const char *testing_fixtures_dir(void)
{
	const char *dir = getenv("GLIMPSE_FIXTURES");
	struct stat st;

	if (!dir || !*dir)
		dir = "../shared/fixtures";
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return NULL;
	return dir;
}

/* Messages an emitter (a joiner, a parser) handed to a test's callback,
 * copied in order. */
struct testing_msg {
	int stream;
	int64_t time_ns;
	char *msg; /* a NUL-terminated copy */
	size_t len;
	bool truncated;
	const char *ptr; /* the pointer the emitter passed */
	int tag;	 /* the collection's tag when it came (a test's own mark) */
};

struct testing_msgs {
	struct testing_msg *v;
	size_t n, cap;
	int tag;
	int oom;
};

static inline void testing_msgs_add(struct testing_msgs *s, int stream, int64_t time_ns,
				    const char *msg, size_t len, bool truncated)
{
	char *copy;

	if (s->n == s->cap) {
		size_t cap = s->cap * 2 + 16;
		struct testing_msg *v = realloc(s->v, cap * sizeof(*v));
		if (!v) {
			s->oom = 1;
			return;
		}
		s->v = v;
		s->cap = cap;
	}
	copy = malloc(len + 1);
	if (!copy) {
		s->oom = 1;
		return;
	}
	if (len)
		memcpy(copy, msg, len);
	copy[len] = '\0';
	s->v[s->n++] = (struct testing_msg){stream, time_ns, copy, len, truncated, msg, s->tag};
}

/* Frees the copies; a failed allocation on the way fails the test. */
static inline void testing_msgs_free(struct testing_msgs *s)
{
	CHECK(!s->oom);
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].msg);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Reads a whole file into a NUL-terminated buffer the caller frees; NULL if unreadable. */
static inline char *testing_read_file(const char *path, size_t *len_out)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

/* Writes len bytes of data to path, created with mode or truncated; a
 * failure fails the test. */
static inline void testing_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_INT_EQ(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Makes a new directory /tmp/glimpse-test-<name>-XXXXXX, its path in buf; 0, or
 * -1 with the reason printed, buf "" and errno kept from the failure. */
static inline int testing_mkdtemp(char *buf, size_t cap, const char *name)
{
	int n = snprintf(buf, cap, "/tmp/glimpse-test-%s-XXXXXX", name);
	int err;

	if (n < 0 || (size_t)n >= cap) {
		fprintf(stderr, "testing_mkdtemp: no room for /tmp/glimpse-test-%s-XXXXXX\n", name);
		if (cap)
			buf[0] = '\0';
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!mkdtemp(buf)) {
		err = errno;
		fprintf(stderr, "mkdtemp /tmp/glimpse-test-%s-XXXXXX: %s\n", name, strerror(err));
		buf[0] = '\0';
		errno = err;
		return -1;
	}
	return 0;
}

static inline int testing_remove_entry(const char *path, const struct stat *st, int type,
				       struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* Removes path and everything under it, following no links; 0, or -1. Only
 * ever a tree under /tmp/glimpse-test- (what testing_mkdtemp makes): any other
 * path is refused with -1. */
static inline int testing_remove_tree(const char *path)
{
	static const char prefix[] = "/tmp/glimpse-test-";

	if (strncmp(path, prefix, sizeof(prefix) - 1) != 0)
		return -1;
	return nftw(path, testing_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
