/* test_hmap.c: the byte-string hash map (hmap.c): insert, replace, lookup,
 * delete, growth past many doublings, keys holding NUL bytes, and removal
 * from inside hmap_foreach. */
#include "hmap.h"
#include "testing.h"

#include <errno.h>
#include <stdint.h>

#define L(s) s, sizeof(s) - 1

TEST(test_put_get_replace_del)
{
	struct hmap *m = hmap_new();
	int a = 1, b = 2, c = 3;

	CHECK(m != NULL);
	if (!m)
		return;
	CHECK_INT_EQ(hmap_count(m), 0);
	CHECK(hmap_get(m, L("alpha")) == NULL);
	CHECK(hmap_del(m, L("alpha")) == NULL);

	CHECK_INT_EQ(hmap_put(m, L("alpha"), &a), 0);
	CHECK_INT_EQ(hmap_put(m, L("beta"), &b), 0);
	CHECK_INT_EQ(hmap_count(m), 2);
	CHECK(hmap_get(m, L("alpha")) == &a);
	CHECK(hmap_get(m, L("beta")) == &b);
	/* a prefix or an extension of a key is another key */
	CHECK(hmap_get(m, L("alph")) == NULL);
	CHECK(hmap_get(m, L("alphaa")) == NULL);

	/* replace keeps the count */
	CHECK_INT_EQ(hmap_put(m, L("alpha"), &c), 0);
	CHECK_INT_EQ(hmap_count(m), 2);
	CHECK(hmap_get(m, L("alpha")) == &c);

	/* a NULL value is stored as such */
	CHECK_INT_EQ(hmap_put(m, L("gamma"), NULL), 0);
	CHECK_INT_EQ(hmap_count(m), 3);

	CHECK(hmap_del(m, L("alpha")) == &c);
	CHECK_INT_EQ(hmap_count(m), 2);
	CHECK(hmap_get(m, L("alpha")) == NULL);
	CHECK(hmap_del(m, L("alpha")) == NULL);
	CHECK_INT_EQ(hmap_count(m), 2);
	CHECK(hmap_get(m, L("beta")) == &b);

	/* the key is copied: changing the caller's buffer changes nothing */
	char key[8] = "delta";
	CHECK_INT_EQ(hmap_put(m, key, 5, &a), 0);
	memcpy(key, "zzzzz", 5);
	CHECK(hmap_get(m, L("delta")) == &a);
	CHECK(hmap_get(m, L("zzzzz")) == NULL);
	hmap_free(m);
	hmap_free(NULL);
}

TEST(test_binary_keys)
{
	struct hmap *m = hmap_new();
	int v[6];
	static const char k0[] = {0};
	static const char k00[] = {0, 0};
	static const char ka0b[] = {'a', 0, 'b'};
	static const char ka0c[] = {'a', 0, 'c'};
	uint64_t id1 = 1, id2 = 1ULL << 40;

	CHECK(m != NULL);
	if (!m)
		return;
	CHECK_INT_EQ(hmap_put(m, k0, sizeof(k0), &v[0]), 0);
	CHECK_INT_EQ(hmap_put(m, k00, sizeof(k00), &v[1]), 0);
	CHECK_INT_EQ(hmap_put(m, ka0b, sizeof(ka0b), &v[2]), 0);
	CHECK_INT_EQ(hmap_put(m, ka0c, sizeof(ka0c), &v[3]), 0);
	CHECK_INT_EQ(hmap_put(m, &id1, sizeof(id1), &v[4]), 0);
	CHECK_INT_EQ(hmap_put(m, &id2, sizeof(id2), &v[5]), 0);
	CHECK_INT_EQ(hmap_count(m), 6);
	CHECK(hmap_get(m, k0, sizeof(k0)) == &v[0]);
	CHECK(hmap_get(m, k00, sizeof(k00)) == &v[1]);
	CHECK(hmap_get(m, ka0b, sizeof(ka0b)) == &v[2]);
	CHECK(hmap_get(m, ka0c, sizeof(ka0c)) == &v[3]);
	/* "a" alone is not "a\0b" */
	CHECK(hmap_get(m, "a", 1) == NULL);
	CHECK(hmap_get(m, ka0b, 2) == NULL);
	CHECK(hmap_get(m, &id1, sizeof(id1)) == &v[4]);
	CHECK(hmap_get(m, &id2, sizeof(id2)) == &v[5]);
	CHECK(hmap_del(m, ka0b, sizeof(ka0b)) == &v[2]);
	CHECK(hmap_get(m, ka0c, sizeof(ka0c)) == &v[3]);
	CHECK_INT_EQ(hmap_count(m), 5);
	hmap_free(m);
}

#define MANY 100000

static size_t many_key(char *buf, size_t cap, size_t i)
{
	return (size_t)snprintf(buf, cap, "key-%zu", i);
}

TEST(test_many_keys)
{
	struct hmap *m = hmap_new();
	uintptr_t bad = 0;
	char key[32];

	CHECK(m != NULL);
	if (!m)
		return;
	for (size_t i = 0; i < MANY; i++) {
		size_t n = many_key(key, sizeof(key), i);
		if (hmap_put(m, key, n, (void *)(uintptr_t)(i + 1)) != 0)
			bad++;
	}
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(hmap_count(m), MANY);
	/* every key still finds its value after the doublings */
	for (size_t i = 0; i < MANY; i++) {
		size_t n = many_key(key, sizeof(key), i);
		if (hmap_get(m, key, n) != (void *)(uintptr_t)(i + 1))
			bad++;
	}
	CHECK_INT_EQ(bad, 0);
	CHECK(hmap_get(m, L("key-100000")) == NULL);
	/* delete the odd ones */
	for (size_t i = 1; i < MANY; i += 2) {
		size_t n = many_key(key, sizeof(key), i);
		if (hmap_del(m, key, n) != (void *)(uintptr_t)(i + 1))
			bad++;
	}
	CHECK_INT_EQ(bad, 0);
	CHECK_INT_EQ(hmap_count(m), MANY / 2);
	for (size_t i = 0; i < MANY; i++) {
		size_t n = many_key(key, sizeof(key), i);
		void *want = i % 2 ? NULL : (void *)(uintptr_t)(i + 1);
		if (hmap_get(m, key, n) != want)
			bad++;
	}
	CHECK_INT_EQ(bad, 0);
	hmap_free(m);
}

struct visit_ctx {
	size_t visits;
	size_t removed;
	uintptr_t sum;
	unsigned char *seen;
};

/* Removes the entries whose value is even. */
static bool visit_remove_even(const void *key, size_t key_len, void *value, void *arg)
{
	struct visit_ctx *x = arg;
	uintptr_t v = (uintptr_t)value;
	char want[32];
	size_t n = many_key(want, sizeof(want), v - 1);

	/* the key handed over is the one stored with this value */
	if (key_len != n || memcmp(key, want, n) != 0)
		x->sum = UINTPTR_MAX;
	x->visits++;
	x->seen[v - 1]++;
	if (v % 2 == 0) {
		x->removed++;
		return true;
	}
	return false;
}

static bool visit_count(const void *key, size_t key_len, void *value, void *arg)
{
	struct visit_ctx *x = arg;

	(void)key;
	(void)key_len;
	x->visits++;
	x->sum += (uintptr_t)value;
	return false;
}

static bool visit_remove_all(const void *key, size_t key_len, void *value, void *arg)
{
	(void)key;
	(void)key_len;
	(void)value;
	((struct visit_ctx *)arg)->removed++;
	return true;
}

TEST(test_foreach_delete_every_other)
{
	enum { N = 5000 };
	struct hmap *m = hmap_new();
	struct visit_ctx x = {0};
	uintptr_t want_sum = 0;
	char key[32];
	size_t once = 0;

	CHECK(m != NULL);
	if (!m)
		return;
	x.seen = calloc(N, 1);
	for (size_t i = 0; i < N; i++) {
		size_t n = many_key(key, sizeof(key), i);
		CHECK_INT_EQ(hmap_put(m, key, n, (void *)(uintptr_t)(i + 1)), 0);
	}
	hmap_foreach(m, visit_remove_even, &x);
	CHECK_INT_EQ(x.visits, N);
	CHECK_INT_EQ(x.removed, N / 2);
	CHECK(x.sum != UINTPTR_MAX);
	for (size_t i = 0; i < N; i++)
		once += x.seen[i] == 1;
	CHECK_INT_EQ(once, N); /* each entry visited exactly once */
	free(x.seen);
	CHECK_INT_EQ(hmap_count(m), N - N / 2);

	/* what is left is exactly the odd values */
	memset(&x, 0, sizeof(x));
	hmap_foreach(m, visit_count, &x);
	for (size_t v = 1; v <= N; v += 2)
		want_sum += v;
	CHECK_INT_EQ(x.visits, N - N / 2);
	CHECK_INT_EQ(x.sum, want_sum);
	CHECK(hmap_get(m, L("key-0")) == (void *)1);
	CHECK(hmap_get(m, L("key-1")) == NULL);

	/* removing everything leaves a usable empty map */
	memset(&x, 0, sizeof(x));
	hmap_foreach(m, visit_remove_all, &x);
	CHECK_INT_EQ(x.removed, N - N / 2);
	CHECK_INT_EQ(hmap_count(m), 0);
	CHECK_INT_EQ(hmap_put(m, L("again"), (void *)7), 0);
	CHECK(hmap_get(m, L("again")) == (void *)7);
	CHECK_INT_EQ(hmap_count(m), 1);
	hmap_free(m);
}

TEST(test_foreach_empty)
{
	struct hmap *m = hmap_new();
	struct visit_ctx x = {0};

	CHECK(m != NULL);
	if (!m)
		return;
	hmap_foreach(m, visit_count, &x);
	CHECK_INT_EQ(x.visits, 0);
	hmap_free(m);
}

int main(void)
{
	RUN(test_put_get_replace_del);
	RUN(test_binary_keys);
	RUN(test_many_keys);
	RUN(test_foreach_delete_every_other);
	RUN(test_foreach_empty);
	return testing_done();
}
