/* hal_storage contract, for every enabled backend: a file visible under its
 * final name is complete (put/commit replace atomically, abort leaves
 * nothing), get() is bounded (-EFBIG, canary past the buffer), and the
 * helpers (mkdirs, exists, remove, free_bytes) answer; rename_new() never
 * replaces a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/common/hal_backends.h"

#define CANARY 0x5a

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zegel-test-storage.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	hal_storage_set(&hal_storage_posix);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Entries in dir (except . and ..). */
static int
entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
test_put_get(void **state)
{
	static uint8_t data[10000], buf[10001];
	char path[128];
	size_t len;
	struct stat st;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	for (const struct hal_storage_ops *const *b = test_storage_backends; *b; b++) {
		hal_storage_set(*b);
		snprintf(path, sizeof(path), "%s/f", dir);
		assert_int_equal(hal_storage_put(path, data, sizeof(data), 0640), 0);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
		assert_int_equal(entries(), 1); /* no temporary file left */
		/* Exactly the size: fine, and nothing written past it. */
		memset(buf, 0, sizeof(buf));
		buf[sizeof(data)] = CANARY;
		assert_int_equal(hal_storage_get(path, buf, sizeof(data), &len), 0);
		assert_int_equal(len, sizeof(data));
		assert_memory_equal(buf, data, sizeof(data));
		assert_int_equal(buf[sizeof(data)], CANARY);
		/* One byte short: -EFBIG, still no overrun. */
		buf[sizeof(data) - 1] = CANARY;
		assert_int_equal(hal_storage_get(path, buf, sizeof(data) - 1, &len), -EFBIG);
		assert_int_equal(buf[sizeof(data) - 1], CANARY);
		assert_int_equal(hal_storage_get(path, buf, 0, &len), -EFBIG);
		/* Replace: the new content, still one file. */
		assert_int_equal(hal_storage_put(path, "short", 5, 0600), 0);
		assert_int_equal(hal_storage_get(path, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 5);
		assert_memory_equal(buf, "short", 5);
		assert_int_equal(entries(), 1);
		/* Empty file. */
		assert_int_equal(hal_storage_put(path, "", 0, 0600), 0);
		assert_int_equal(hal_storage_get(path, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 0);
		assert_int_equal((*b)->remove(path), 0);
		assert_int_equal(entries(), 0);
	}
}

/* open_scratch (issue 22.2): created the first time, then truncated in
 * place (the same inode, no temporary name); never over a directory or
 * through a symbolic link; close keeps the file, abort removes it. */
static void
test_open_scratch(void **state)
{
	char path[128], link_path[128];
	uint8_t buf[64];
	size_t len;
	struct hal_file f;
	struct stat st;
	ino_t ino;

	(void)state;
	for (const struct hal_storage_ops *const *b = test_storage_backends; *b; b++) {
		if ((*b)->open_scratch == NULL)
			continue;
		hal_storage_set(*b);
		snprintf(path, sizeof(path), "%s/scratch-0", dir);
		assert_int_equal(hal_storage_open_scratch(&f, path, 0600), 0);
		assert_int_equal(hal_storage_write(&f, "first message", 13), 0);
		hal_storage_close(&f);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		ino = st.st_ino;
		assert_int_equal(hal_storage_get(path, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 13);
		/* again: truncated, the same inode, still one entry */
		assert_int_equal(hal_storage_open_scratch(&f, path, 0600), 0);
		assert_int_equal(hal_storage_write(&f, "two", 3), 0);
		hal_storage_close(&f);
		assert_int_equal(stat(path, &st), 0);
		assert_true(st.st_ino == ino);
		assert_int_equal(hal_storage_get(path, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 3);
		assert_memory_equal(buf, "two", 3);
		assert_int_equal(entries(), 1);
		/* abort removes it */
		assert_int_equal(hal_storage_open_scratch(&f, path, 0600), 0);
		hal_storage_abort(&f);
		assert_int_equal(entries(), 0);
		/* not over a directory, not through a symbolic link */
		assert_int_equal(mkdir(path, 0700), 0);
		assert_int_equal(hal_storage_open_scratch(&f, path, 0600), -EPERM);
		assert_int_equal(rmdir(path), 0);
		snprintf(link_path, sizeof(link_path), "%s/target", dir);
		assert_int_equal(symlink(link_path, path), 0);
		assert_true(hal_storage_open_scratch(&f, path, 0600) < 0);
		assert_int_equal(access(link_path, F_OK), -1);  /* nothing created */
		assert_int_equal(unlink(path), 0);
		/* not a FIFO (the open must not wait for a reader) */
		assert_int_equal(mkfifo(path, 0600), 0);
		assert_int_equal(hal_storage_open_scratch(&f, path, 0600), -EPERM);
		assert_int_equal(unlink(path), 0);
		/* not a second link of another file: O_TRUNC would empty it */
		assert_int_equal(hal_storage_put(link_path, "keep me", 7, 0600), 0);
		assert_int_equal(link(link_path, path), 0);
		assert_int_equal(hal_storage_open_scratch(&f, path, 0600), -EPERM);
		assert_int_equal(hal_storage_get(link_path, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 7);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(unlink(link_path), 0);
		assert_int_equal(entries(), 0);
	}
}

static void
test_commit_is_atomic(void **state)
{
	char path[128];
	uint8_t buf[64];
	size_t len;
	struct hal_file f;

	(void)state;
	for (const struct hal_storage_ops *const *b = test_storage_backends; *b; b++) {
		hal_storage_set(*b);
		snprintf(path, sizeof(path), "%s/conf", dir);
		assert_int_equal(hal_storage_put(path, "old", 3, 0600), 0);
		assert_int_equal((*b)->open_write(&f, path, 0600), 0);
		assert_int_equal((*b)->write(&f, "new content", 11), 0);
		/* Before commit the final name still holds the old file, whole. */
		assert_int_equal(hal_storage_get(path, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 3);
		assert_memory_equal(buf, "old", 3);
		assert_int_equal((*b)->commit(&f, path), 0);
		assert_int_equal(hal_storage_get(path, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 11);
		assert_memory_equal(buf, "new content", 11);
		assert_int_equal(entries(), 1);
		/* Abort: the old file stays, the temporary goes. */
		assert_int_equal((*b)->open_write(&f, path, 0600), 0);
		assert_int_equal((*b)->write(&f, "discarded", 9), 0);
		(*b)->abort(&f);
		assert_int_equal(hal_storage_get(path, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 11);
		assert_int_equal(entries(), 1);
		/* Abort of a new file leaves no file at all. */
		snprintf(path, sizeof(path), "%s/never", dir);
		assert_int_equal((*b)->open_write(&f, path, 0600), 0);
		(*b)->abort(&f);
		assert_int_equal((*b)->exists(path), 0);
		assert_int_equal(entries(), 1);
	}
}

static void
test_refusals(void **state)
{
	char path[300];
	uint8_t buf[8];
	size_t len;

	(void)state;
	for (const struct hal_storage_ops *const *b = test_storage_backends; *b; b++) {
		hal_storage_set(*b);
		snprintf(path, sizeof(path), "%s/missing", dir);
		assert_int_equal(hal_storage_get(path, buf, sizeof(buf), &len), -ENOENT);
		/* Never replace a directory (or a device) by rename. */
		snprintf(path, sizeof(path), "%s/sub", dir);
		assert_int_equal((*b)->mkdirs(path, 0700), 0);
		assert_int_equal(hal_storage_put(path, "x", 1, 0600), -EPERM);
		assert_int_equal(entries(), 1);
		/* A missing parent directory is an error, not a crash. */
		snprintf(path, sizeof(path), "%s/no/such/dir/f", dir);
		assert_true(hal_storage_put(path, "x", 1, 0600) < 0);
		/* A name too long for the temporary file. */
		memset(path, 'a', sizeof(path) - 1);
		path[sizeof(path) - 1] = 0;
		memcpy(path, "/tmp/", 5);
		assert_true(hal_storage_put(path, "x", 1, 0600) < 0);
		snprintf(path, sizeof(path), "%s/sub", dir);
		assert_int_equal(rmdir(path), 0);
	}
}

static void
test_helpers(void **state)
{
	char path[128];
	uint64_t free_bytes = 0;

	(void)state;
	for (const struct hal_storage_ops *const *b = test_storage_backends; *b; b++) {
		hal_storage_set(*b);
		snprintf(path, sizeof(path), "%s/a/b/c", dir);
		assert_int_equal((*b)->exists(path), 0);
		assert_int_equal((*b)->mkdirs(path, 0700), 0);
		assert_int_equal((*b)->mkdirs(path, 0700), 0); /* again: fine */
		assert_int_equal((*b)->exists(path), 1);
		snprintf(path, sizeof(path), "%s/a/b/c/file", dir);
		assert_int_equal(hal_storage_put(path, "1", 1, 0600), 0);
		assert_int_equal((*b)->exists(path), 1);
		assert_int_equal((*b)->remove(path), 0);
		assert_int_equal((*b)->remove(path), -ENOENT);
		assert_int_equal((*b)->free_bytes(dir, &free_bytes), 0);
		assert_true(free_bytes > 0);
		assert_int_equal((*b)->mkdirs("", 0700), -EINVAL);
	}
}

struct seen {
	unsigned n, mask;
	bool remove_b;
};

static int
seen_fn(void *arg, const char *name)
{
	struct seen *s = arg;
	char path[160];

	s->n++;
	if (strcmp(name, "a") == 0)
		s->mask |= 1;
	else if (strcmp(name, "b") == 0)
		s->mask |= 2;
	else if (strcmp(name, "sub") == 0)
		s->mask |= 4;
	else
		s->mask |= 8;
	if (s->remove_b && strcmp(name, "b") == 0) {
		snprintf(path, sizeof(path), "%s/b", dir);
		assert_int_equal(hal_storage_remove(path), 0);
	}
	return 0;
}

static int
stop_fn(void *arg, const char *name)
{
	(void)arg;
	(void)name;
	return 7;
}

/* list() names every entry once (no . ..), tolerates removal of the current
 * entry, stops on a non-zero callback; sync_dir() answers. */
static void
test_list_sync(void **state)
{
	char path[160];

	(void)state;
	for (const struct hal_storage_ops *const *b = test_storage_backends; *b; b++) {
		struct seen s = { 0, 0, true };

		hal_storage_set(*b);
		snprintf(path, sizeof(path), "%s/a", dir);
		assert_int_equal(hal_storage_put(path, "1", 1, 0600), 0);
		snprintf(path, sizeof(path), "%s/b", dir);
		assert_int_equal(hal_storage_put(path, "2", 1, 0600), 0);
		snprintf(path, sizeof(path), "%s/sub", dir);
		assert_int_equal((*b)->mkdirs(path, 0700), 0);
		assert_int_equal((*b)->list(dir, seen_fn, &s), 0);
		assert_int_equal(s.n, 3);
		assert_int_equal(s.mask, 7);
		assert_int_equal((*b)->sync_dir(dir), 0);
		assert_int_equal(entries(), 2); /* b removed inside the walk */
		assert_int_equal((*b)->list(dir, stop_fn, NULL), 7);
		snprintf(path, sizeof(path), "%s/nonexistent", dir);
		assert_int_equal((*b)->list(path, seen_fn, &s), -ENOENT);
		assert_int_equal((*b)->sync_dir(path), -ENOENT);
		snprintf(path, sizeof(path), "%s/a", dir);
		assert_int_equal((*b)->remove(path), 0);
		snprintf(path, sizeof(path), "%s/sub", dir);
		assert_int_equal(rmdir(path), 0);
	}
}

/* rename_new() moves a committed file within a directory and into another
 * one, keeps its bytes and mode, and NEVER replaces: an existing target
 * gives -EEXIST with both files untouched; a missing source -ENOENT. */
static void
test_rename_new(void **state)
{
	char a[160], b[160], sub[160], c[160];
	uint8_t buf[64];
	size_t len;
	struct stat st;

	(void)state;
	for (const struct hal_storage_ops *const *be = test_storage_backends; *be; be++) {
		hal_storage_set(*be);
		snprintf(a, sizeof(a), "%s/a", dir);
		snprintf(b, sizeof(b), "%s/b", dir);
		snprintf(sub, sizeof(sub), "%s/sub", dir);
		snprintf(c, sizeof(c), "%s/sub/c", dir);
		assert_int_equal(hal_storage_mkdirs(sub, 0700), 0);
		assert_int_equal(hal_storage_put(a, "first", 5, 0640), 0);
		assert_int_equal(hal_storage_put(b, "second", 6, 0600), 0);
		/* never over an existing file */
		assert_int_equal(hal_storage_rename_new(a, b), -EEXIST);
		assert_int_equal(hal_storage_get(a, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 5);
		assert_memory_equal(buf, "first", 5);
		assert_int_equal(hal_storage_get(b, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 6);
		assert_memory_equal(buf, "second", 6);
		/* into another directory: the same bytes and mode, one name only */
		assert_int_equal(hal_storage_rename_new(a, c), 0);
		assert_int_equal(hal_storage_exists(a), 0);
		assert_int_equal(hal_storage_get(c, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 5);
		assert_memory_equal(buf, "first", 5);
		assert_int_equal(stat(c, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0640);
		assert_int_equal(st.st_nlink, 1);
		/* within a directory */
		assert_int_equal(hal_storage_rename_new(b, a), 0);
		assert_int_equal(hal_storage_exists(b), 0);
		assert_int_equal(hal_storage_get(a, buf, sizeof(buf), &len), 0);
		assert_memory_equal(buf, "second", 6);
		assert_int_equal(hal_storage_rename_new(b, a), -ENOENT);
		assert_int_equal(entries(), 2); /* a, sub: no temporary or second name */
		assert_int_equal(hal_storage_remove(a), 0);
		assert_int_equal(hal_storage_remove(c), 0);
		assert_int_equal(rmdir(sub), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_is_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helpers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_scratch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
