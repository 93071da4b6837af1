/*
 * firmware/keys/state.c: the key life cycle (pending -> published -> active
 * -> retiring -> deleted), who signs, and the state file (text form, bad
 * lines, atomic replacement, a leftover temporary file from a kill).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/config/config.h"
#include "firmware/keys/state.h"

static struct keystate_table t, u;
static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/zegel-keystate.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_lifecycle(void **state)
{
	struct keystate_entry *old, *ed, *nw, *ret[4];
	unsigned n = 9;

	(void)state;
	memset(&t, 0, sizeof(t));
	/* no entry: signs (installs from before key states) */
	assert_true(keystate_signs(&t, "example.org", "old"));
	assert_int_equal(keystate_adopt(&t, "example.org", "old", HAL_KEY_RSA), 0);
	assert_int_equal(keystate_adopt(&t, "example.org", "ed", HAL_KEY_ED25519), 0);
	assert_int_equal(keystate_adopt(&t, "example.org", "old", HAL_KEY_RSA), -EEXIST);
	old = keystate_find(&t, "EXAMPLE.org", "old");
	ed = keystate_find(&t, "example.org", "ed");
	assert_non_null(old);
	assert_int_equal(old->st, KEYSTATE_ACTIVE);
	/* a new key: pending, does not sign, cannot be activated yet */
	assert_int_equal(keystate_add(&t, "example.org", "new", HAL_KEY_RSA, 1000, &nw), 0);
	assert_int_equal(keystate_add(&t, "example.org", "new", HAL_KEY_RSA, 1000, NULL), -EEXIST);
	assert_string_equal(keystate_name(nw->st), "published-pending");
	assert_false(keystate_signs(&t, "example.org", "new"));
	assert_int_equal(keystate_activate(&t, nw, 1500, false, ret, 4, &n), -EAGAIN);
	assert_int_equal(n, 0);
	assert_int_equal(old->st, KEYSTATE_ACTIVE);
	/* pending keys cannot be retired-period blocked; active ones refuse */
	assert_int_equal(keystate_retire(old, 1500, 7, true), -EBUSY);
	/* published: still not signing */
	assert_true(keystate_mark_published(nw, 2000));
	assert_false(keystate_mark_published(nw, 2100));
	assert_int_equal(nw->published, 2000);
	assert_false(keystate_signs(&t, "example.org", "new"));
	/* activate: the RSA key of the domain retires, the Ed25519 one stays */
	assert_int_equal(keystate_activate(&t, nw, 3000, false, ret, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(ret[0], old);
	assert_int_equal(old->st, KEYSTATE_RETIRING);
	assert_int_equal(old->retiring, 3000);
	assert_int_equal(ed->st, KEYSTATE_ACTIVE);
	assert_true(keystate_signs(&t, "example.org", "new"));
	assert_false(keystate_signs(&t, "example.org", "old"));
	assert_true(keystate_signs(&t, "example.org", "ed"));
	assert_int_equal(keystate_activate(&t, nw, 3000, false, ret, 4, &n), -EALREADY);
	/* retire period: 2 days */
	assert_int_equal(keystate_retire_left(old, 3000 + 86400, 2), 86400);
	assert_int_equal(keystate_retire_left(nw, 3000, 2), -1);
	assert_int_equal(keystate_retire(old, 3000 + 86400, 2, false), -EAGAIN);
	assert_int_equal(keystate_retire_left(old, 3000 + 2 * 86400, 2), 0);
	assert_int_equal(keystate_retire(old, 3000 + 2 * 86400, 2, false), 0);
	assert_null(keystate_find(&t, "example.org", "old"));
	/* another domain's key is not touched by this domain's activation */
	assert_int_equal(keystate_adopt(&t, "other.org", "o", HAL_KEY_RSA), 0);
	assert_int_equal(keystate_add(&t, "example.org", "n2", HAL_KEY_RSA, 5000, &nw), 0);
	assert_int_equal(keystate_activate(&t, nw, 5000, true, ret, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ret[0]->selector, "new");
	assert_int_equal(keystate_find(&t, "other.org", "o")->st, KEYSTATE_ACTIVE);
}

static void
test_full_table(void **state)
{
	char sel[16];

	(void)state;
	memset(&t, 0, sizeof(t));
	for (int i = 0; i < KEYSTATE_MAX; i++) {
		snprintf(sel, sizeof(sel), "s%d", i);
		assert_int_equal(keystate_add(&t, "example.org", sel, HAL_KEY_RSA, 1, NULL), 0);
	}
	assert_int_equal(keystate_add(&t, "example.org", "x", HAL_KEY_RSA, 1, NULL), -ENOSPC);
}

static void
test_text_form(void **state)
{
	static const char text[] = "a example.org active rsa 0 0 0 0\n"
				   "b example.org pending ed25519 100 0 0 0\n"
				   "bad line\n"
				   "c example.org flying rsa 1 2 3 4\n"
				   "d example.org retiring rsa 1 2 3 -4\n"
				   "e example.org retiring dsa 1 2 3 4\n"
				   "a example.org pending rsa 0 0 0 0\n"
				   "\n"
				   "f sub.example.org retiring rsa 10 20 30 40";
	char buf[2048];
	size_t n;

	(void)state;
	assert_int_equal(keystate_parse(&t, text, sizeof(text) - 1), 5);
	assert_int_equal(keystate_find(&t, "example.org", "a")->st, KEYSTATE_ACTIVE);
	assert_int_equal(keystate_find(&t, "example.org", "b")->type, HAL_KEY_ED25519);
	assert_int_equal(keystate_find(&t, "example.org", "b")->created, 100);
	assert_int_equal(keystate_find(&t, "sub.example.org", "f")->retiring, 40);
	assert_null(keystate_find(&t, "example.org", "c"));
	assert_int_equal(keystate_format(&t, buf, sizeof(buf), &n), 0);
	assert_int_equal(n, strlen(buf));
	assert_int_equal(keystate_parse(&u, buf, n), 0);
	assert_memory_equal(&t, &u, sizeof(t));
	assert_int_equal(keystate_format(&t, buf, 20, &n), -ERANGE);
}

static void
test_file(void **state)
{
	char p[128], tmp[160];
	unsigned bad = 9;
	FILE *f;

	(void)state;
	snprintf(p, sizeof(p), "%s/state", dir);
	/* a missing file is an empty table */
	memset(&u, 0xff, sizeof(u));
	assert_int_equal(keystate_load(&u, p, &bad), 0);
	assert_int_equal(bad, 0);
	assert_null(keystate_find(&u, "example.org", "a"));
	memset(&t, 0, sizeof(t));
	assert_int_equal(keystate_add(&t, "example.org", "a", HAL_KEY_RSA, 77, NULL), 0);
	assert_int_equal(keystate_save(&t, p), 0);
	/* what a kill during the next save leaves: a temporary file beside it */
	snprintf(tmp, sizeof(tmp), "%s.tmp.1.0", p);
	f = fopen(tmp, "w");
	assert_non_null(f);
	fputs("a example.org act", f);
	fclose(f);
	assert_int_equal(keystate_load(&u, p, &bad), 0);
	assert_int_equal(bad, 0);
	assert_memory_equal(&t, &u, sizeof(t));
}

static void
collect(void *arg, const char *line)
{
	char *buf = arg;

	strcat(buf, line);
	strcat(buf, "\n");
}

static int
refuse(const struct zcfg *c, char *err, size_t cap)
{
	snprintf(err, cap, "refused for %s", c->hostname);
	return -1;
}

/* set key-rollover ...: defaults, checks, dump (only what differs), round
 * trip; the application's commit check (config_set_commit_check). */
static void
test_config_settings(void **state)
{
	static char buf[16384], err[300];
	char *line, *save = NULL;

	(void)state;
	config_init();
	assert_false(zcfg_running()->key_rollover.auto_activate);
	assert_int_equal(zcfg_running()->key_rollover.retire_days, 7);
	assert_int_equal(zcfg_running()->key_rollover.check_interval, 3600);
	buf[0] = 0;
	config_dump(zcfg_running(), true, collect, buf);
	assert_null(strstr(buf, "key-rollover"));
	assert_int_equal(config_set_line("set key-rollover retire-days 366", err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "from 0 to 365"));
	assert_int_equal(config_set_line("set key-rollover check-interval 30s", err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(config_set_line("set key-rollover auto-activate yes", err, sizeof(err)),
	    -EINVAL);
	assert_int_equal(config_set_line("set key-rollover retire-days 0", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set key-rollover check-interval 10m", err, sizeof(err)),
	    0);
	assert_int_equal(config_set_line("set key-rollover auto-activate on", err, sizeof(err)), 0);
	assert_int_equal(config_commit(err, sizeof(err)), 0);
	assert_true(zcfg_running()->key_rollover.auto_activate);
	assert_int_equal(zcfg_running()->key_rollover.retire_days, 0);
	assert_int_equal(zcfg_running()->key_rollover.check_interval, 600);
	buf[0] = 0;
	config_dump(zcfg_running(), true, collect, buf);
	assert_non_null(strstr(buf, "set key-rollover auto-activate on\n"));
	assert_non_null(strstr(buf, "set key-rollover retire-days 0\n"));
	assert_non_null(strstr(buf, "set key-rollover check-interval 10m\n"));
	/* the dump loads back to the same configuration */
	config_init();
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		assert_int_equal(config_set_line(line, err, sizeof(err)), 0);
	assert_int_equal(config_commit(err, sizeof(err)), 0);
	assert_int_equal(zcfg_running()->key_rollover.check_interval, 600);
	assert_true(zcfg_running()->key_rollover.auto_activate);
	/* a commit check that refuses: the commit fails, nothing changes */
	config_set_commit_check(refuse);
	assert_int_equal(config_set_line("set hostname other.example", err, sizeof(err)), 0);
	assert_int_not_equal(config_commit(err, sizeof(err)), 0);
	assert_string_equal(err, "refused for other.example");
	assert_string_not_equal(zcfg_running()->hostname, "other.example");
	config_set_commit_check(NULL);
	assert_int_equal(config_commit(err, sizeof(err)), 0);
	assert_string_equal(zcfg_running()->hostname, "other.example");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_full_table),
		cmocka_unit_test(test_text_form),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_config_settings),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
