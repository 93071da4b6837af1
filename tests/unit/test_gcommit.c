/* Group commit (firmware/spool/gcommit.h, issue 22.2): files handed over in
 * one turn are made durable in one batch, from the event loop, never from
 * inside gcommit_add(); a replace file replaces, a no-replace one takes
 * "<name>-1.eml" when its name is taken; a cancelled one is removed and
 * gets no callback; off (not enabled) nothing is taken. */
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

#include "firmware/core/loop.h"
#include "firmware/spool/gcommit.h"
#include "hal/storage.h"

static char dir[64];
static int calls, last_rc;
static char paths[4][HAL_PATH_MAX];

static void
done(void *arg, int rc, const char *path)
{
	int i = (int)(intptr_t)arg;

	calls++;
	last_rc = rc;
	snprintf(paths[i], sizeof(paths[i]), "%s", path);
}

static void
stop(void *arg)
{
	(void)arg;
	loop_stop();
}

static void
make(struct hal_file *f, const char *name, const char *text, char *path, size_t cap)
{
	snprintf(path, cap, "%s/%s", dir, name);
	assert_int_equal(hal_storage_open_write(f, path, 0600), 0);
	assert_int_equal(hal_storage_write(f, text, strlen(text)), 0);
}

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
test_batch(void **state)
{
	struct hal_file f[4];
	char p[4][HAL_PATH_MAX], buf[HAL_PATH_MAX], cmd[128];
	uint32_t t[4];
	unsigned long b0, f0, b1, f1;
	size_t n = 0;

	(void)state;
	hal_storage_set(&hal_storage_posix);
	snprintf(dir, sizeof(dir), "/tmp/zegel-test-gcommit.XXXXXX");
	assert_non_null(mkdtemp(dir));
	loop_init();
	/* off: nothing taken, the caller commits */
	make(&f[0], "off", "x", p[0], sizeof(p[0]));
	assert_int_equal(gcommit_add(&f[0], p[0], true, done, (void *)0, &t[0]), -ENOTSUP);
	hal_storage_abort(&f[0]);

	gcommit_enable(true);
	gcommit_counts(&b0, &f0);
	assert_int_equal(hal_storage_put(p[0], "old", 3, 0600), 0);
	make(&f[0], "off", "new", p[0], sizeof(p[0]));            /* replaces */
	assert_int_equal(hal_storage_put(strcat(strcpy(buf, dir), "/ID.eml"), "keep", 4, 0600), 0);
	make(&f[1], "ID.eml", "second", p[1], sizeof(p[1]));       /* taken: ID-1.eml */
	make(&f[2], "gone", "cancelled", p[2], sizeof(p[2]));
	make(&f[3], "plain.eml", "fourth", p[3], sizeof(p[3]));
	for (int i = 0; i < 4; i++)
		assert_int_equal(gcommit_add(&f[i], p[i], i == 0, done, (void *)(intptr_t)i, &t[i]),
		    0);
	gcommit_cancel(t[2]);
	assert_int_equal(calls, 0);        /* never from inside add() */
	assert_true(loop_timer_add(200, stop, NULL) >= 0);
	assert_int_equal(loop_run(), 0);
	assert_int_equal(calls, 3);
	assert_int_equal(last_rc, 0);
	gcommit_counts(&b1, &f1);
	assert_int_equal(b1 - b0, 1);      /* one batch */
	assert_int_equal(f1 - f0, 3);
	assert_int_equal(hal_storage_get(p[0], (uint8_t *)buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "new", 3);
	snprintf(buf, sizeof(buf), "%s/ID-1.eml", dir);
	assert_string_equal(paths[1], buf);
	assert_int_equal(hal_storage_get(paths[1], (uint8_t *)buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(paths[3], p[3]);
	assert_int_equal(hal_storage_exists(p[2]), 0);
	/* off, ID.eml, ID-1.eml, plain.eml: no temporary file left */
	assert_int_equal(entries(), 4);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
