/* Unit tests for file.c: whole small files read, bounded. */
#include "testing.h"

#include "file.h"

static char tmp_dir[64];

static void write_file(const char *path, const char *data)
{
	FILE *f = fopen(path, "w");

	CHECK(f != NULL);
	if (f) {
		fputs(data, f);
		fclose(f);
	}
}

TEST(test_reads_whole_file)
{
	char path[256], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/a", tmp_dir);
	write_file(path, "hello\n");
	CHECK_INT_EQ(file_read_all(path, 6, true, &buf, &len), 0);
	CHECK_INT_EQ(len, 6);
	if (buf)
		CHECK_STR_EQ(buf, "hello\n");
	free(buf);
}

TEST(test_refuses_what_it_must)
{
	char path[256], link[256], *buf = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/b", tmp_dir);
	write_file(path, "0123456789");
	CHECK_INT_EQ(file_read_all(path, 9, true, &buf, &len), -EFBIG);
	CHECK_INT_EQ(file_read_all(tmp_dir, 4096, true, &buf, &len), -EFBIG);
	snprintf(link, sizeof(link), "%s/missing", tmp_dir);
	CHECK_INT_EQ(file_read_all(link, 4096, true, &buf, &len), -ENOENT);
	snprintf(link, sizeof(link), "%s/link", tmp_dir);
	CHECK_INT_EQ(symlink(path, link), 0);
	CHECK_INT_EQ(file_read_all(link, 4096, true, &buf, &len), -ELOOP);
	CHECK_INT_EQ(file_read_all(link, 4096, false, &buf, &len), 0);
	CHECK_INT_EQ(len, 10);
	free(buf);
}

int main(void)
{
	if (testing_mkdtemp(tmp_dir, sizeof(tmp_dir), "file") != 0)
		return 1;
	RUN(test_reads_whole_file);
	RUN(test_refuses_what_it_must);
	testing_remove_tree(tmp_dir);
	return testing_done();
}
