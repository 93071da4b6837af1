/* Issue 17 in the configuration model: show diff (config_diff), the saved
 * generations (config_rotate, config_generation_path, config_copy_file),
 * commit warnings (config_warnings), an apply step that fails rolls the
 * commit back, rollback's config_load_candidate, and config_unsaved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/config/config.h"
#include "hal/storage.h"

static char err[512];

struct out {
	char buf[8192];
	size_t n;
	int lines;
};

static void
collect(void *arg, const char *line)
{
	struct out *o = arg;
	int w = snprintf(o->buf + o->n, sizeof(o->buf) - o->n, "%s\n", line);

	assert_true(w > 0 && (size_t)w < sizeof(o->buf) - o->n);
	o->n += (size_t)w;
	o->lines++;
}

static int
setup(void **state)
{
	(void)state;
	config_init();
	config_set_apply(NULL);
	return 0;
}

static void
ok_line(const char *line)
{
	if (config_set_line(line, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", line, err);
}

static void
commit_ok(void)
{
	if (config_commit(err, sizeof(err)) != 0)
		fail_msg("commit refused: %s", err);
}

/* Running := base; candidate := base + edits; the diff, pasted onto the
 * running configuration, must give the candidate. */
static void
roundtrip(const char *const *base, const char *const *edits, struct out *o)
{
	static struct zcfg want;
	char copy[1100];

	config_init();
	for (size_t i = 0; base[i] != NULL; i++)
		ok_line(base[i]);
	commit_ok();
	for (size_t i = 0; edits[i] != NULL; i++)
		ok_line(edits[i]);
	want = *zcfg_candidate();
	memset(o, 0, sizeof(*o));
	assert_true(config_diff(zcfg_running(), zcfg_candidate(), true, collect, o) >= 0);
	if (strstr(o->buf, "# not every change") != NULL)
		fail_msg("the diff is incomplete:\n%s", o->buf);
	config_discard();
	for (char *p = o->buf, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		snprintf(copy, sizeof(copy), "%.*s", (int)(nl - p), p);
		if (config_set_line(copy, err, sizeof(err)) != 0)
			fail_msg("diff line '%s' refused: %s\n%s", copy, err, o->buf);
	}
	want.generation = zcfg_candidate()->generation;
	if (memcmp(&want, zcfg_candidate(), sizeof(want)) != 0)
		fail_msg("the diff does not rebuild the candidate:\n%s", o->buf);
}

static const char *const base1[] = {
	"set hostname mx.example.org",
	"set domain example.org",
	"set domain example.net subdomains on",
	"set key s1 domain example.org file /k/s1.key",
	"set key s2 domain example.net file /k/s2.key",
	"set user printer password secret1",
	"set network 10.0.0.0/8",
	"set network 192.168.1.0/24 line-endings normalise",
	"set listener sub 127.0.0.1:587",
	"set listener smtps 127.0.0.1:465 mode tls",
	"set resolver 127.0.0.1:53",
	"set queue lifetime 1d",
	"set relay username u",
	"set relay password p1",
	"set relay smarthost smtp.example.net:587",
	NULL,
};

static void
test_diff_exact(void **state)
{
	static const char *const none[] = { NULL };
	static const char *const edits[] = {
		"set hostname relay.example.org",
		"delete key s2",
		"delete domain example.net",
		"set network 10.0.0.0/8 line-endings normalise",
		"set listener sub 127.0.0.1:2525",
		"delete user printer",
		"set queue lifetime 5d",
		"set log-level debug",
		NULL,
	};
	struct out o;

	(void)state;
	roundtrip(base1, none, &o);
	assert_int_equal(o.lines, 0);
	roundtrip(base1, edits, &o);
	assert_string_equal(o.buf,
	    "delete domain example.net\n"
	    "delete key s2\n"
	    "delete user printer\n"
	    "set queue lifetime 5d\n"
	    "set hostname relay.example.org\n"
	    "set log-level debug\n"
	    "set network 10.0.0.0/8 line-endings normalise\n"
	    "set listener sub 127.0.0.1:2525 mode starttls auth-plaintext off\n");
}

static void
test_diff_roundtrips(void **state)
{
	static const char *const e1[] = { "set relay outbox /var/out", NULL };
	static const char *const e2[] = { "set relay direct", "set relay require-tls on",
		"delete relay username", "delete relay password", NULL };
	static const char *const e3[] = { "set relay password p2", "set relay tls implicit",
		"delete resolver 127.0.0.1:53", "set resolver 127.0.0.2", NULL };
	static const char *const e4[] = { "set smtpd per-address-limit 3",
		"set smtpd min-data-rate 10 window 1m", "set key-rollover retire-days 9",
		"set public-address 192.0.2.1", "set tls cert /etc/c.pem", NULL };
	static const char *const e5[] = { "delete listener smtps", "delete listener sub",
		"delete network 10.0.0.0/8", "set user scanner password x", NULL };
	static const char *const e6[] = { "set data-dir /srv/zegel", "set domain example.com",
		"set key s3 domain example.com file /k/s3.key", NULL };
	static const char *const e7[] = { "set relay smarthost smtp.example.net:587 queue on",
		NULL };
	static const char *const e8[] = { "set relay smarthost smtp.example.net:587 queue on",
		"set relay direct", NULL };
	static const char *const *const all[] = { e1, e2, e3, e4, e5, e6, e7, e8 };
	struct out o;

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		roundtrip(base1, all[i], &o);
	/* and back: from the edited configuration to the base */
	roundtrip(e4, base1, &o);
	/* the smarthost queue on, then off again by the old line */
	roundtrip(e7, base1, &o);
	roundtrip(e8, base1, &o);
}

static void
test_diff_masks(void **state)
{
	struct out o;

	(void)state;
	ok_line("set relay username u");
	ok_line("set relay password old");
	commit_ok();
	ok_line("set relay password new-secret");
	memset(&o, 0, sizeof(o));
	assert_int_equal(config_diff(zcfg_running(), zcfg_candidate(), false, collect, &o), 1);
	assert_string_equal(o.buf, "set relay password ********\n");
	memset(&o, 0, sizeof(o));
	assert_int_equal(config_diff(zcfg_running(), zcfg_candidate(), true, collect, &o), 1);
	assert_string_equal(o.buf, "set relay password new-secret\n");
}

static void
test_warnings(void **state)
{
	struct out o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(config_warnings(zcfg_candidate(), collect, &o), 0); /* no listener */
	ok_line("set listener sub 127.0.0.1:587");
	assert_int_equal(config_warnings(zcfg_candidate(), collect, &o), 2);
	assert_non_null(
	    strstr(o.buf, "no network and no users: every client is refused (554 5.7.1)"));
	assert_non_null(strstr(o.buf, "no domain: every message is refused"));
	ok_line("set network 10.0.0.0/8");
	ok_line("set domain example.org");
	memset(&o, 0, sizeof(o));
	assert_int_equal(config_warnings(zcfg_candidate(), collect, &o), 1);
	assert_string_equal(o.buf,
	    "domain example.org has no key: its mail is refused until one "
	    "signs (key generate example.org SELECTOR rsa|ed25519)\n");
	ok_line("set key s domain example.org file /k");
	memset(&o, 0, sizeof(o));
	assert_int_equal(config_warnings(zcfg_candidate(), collect, &o), 0);
}

static int apply_calls, hook_calls;
static char apply_hostname[ZCFG_NAME_MAX];

static int
failing_apply(const struct zcfg *next, char *e, size_t cap)
{
	apply_calls++;
	snprintf(apply_hostname, sizeof(apply_hostname), "%s", next->hostname);
	assert_ptr_equal(next, zcfg_running()); /* in place while it runs */
	snprintf(e, cap, "listener x on 127.0.0.1:1: Address already in use");
	return -1;
}

static int
good_apply(const struct zcfg *next, char *e, size_t cap)
{
	(void)next;
	(void)e;
	(void)cap;
	apply_calls++;
	return 0;
}

static void
hook(const struct zcfg *r, void *arg)
{
	(void)r;
	(void)arg;
	hook_calls++;
}

static void
test_apply_rollback(void **state)
{
	static struct zcfg before;

	(void)state;
	config_on_commit(hook, NULL);
	config_set_apply(good_apply);
	ok_line("set hostname one.example");
	commit_ok();
	assert_int_equal(apply_calls, 1);
	assert_int_equal(hook_calls, 1);
	before = *zcfg_running();
	config_set_apply(failing_apply);
	ok_line("set hostname two.example");
	assert_int_not_equal(config_commit(err, sizeof(err)), 0);
	assert_string_equal(apply_hostname, "two.example");
	assert_string_equal(err,
	    "commit: failed, rolled back to generation 1: listener x on "
	    "127.0.0.1:1: Address already in use");
	assert_memory_equal(&before, zcfg_running(), sizeof(before));
	assert_int_equal(hook_calls, 1); /* not for a commit that did not happen */
	assert_true(config_modified());  /* the edits stay in the candidate */
	assert_string_equal(zcfg_candidate()->hostname, "two.example");
	config_set_apply(good_apply);
	commit_ok();
	assert_int_equal(zcfg_running()->generation, 2);
	config_set_apply(NULL);
}

static char dir[128];

static void
mkdir_tmp(void)
{
	snprintf(dir, sizeof(dir), "/tmp/zegel-test-gen.XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void
rm_tmp(void)
{
	char cmd[200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
expect_file(const char *path, const char *text)
{
	char buf[256];
	size_t n = 0;

	if (text == NULL) {
		assert_int_equal(hal_storage_exists(path), 0);
		return;
	}
	assert_int_equal(hal_storage_get(path, buf, sizeof(buf) - 1, &n), 0);
	buf[n] = 0;
	assert_string_equal(buf, text);
}

static void
test_generation_paths(void **state)
{
	char p[32];

	(void)state;
	assert_int_equal(config_generation_path("/data/zegel.conf", 1, p, sizeof(p)), 0);
	assert_string_equal(p, "/data/zegel.conf.1");
	assert_int_equal(config_generation_path("/data/zegel.conf", CONFIG_GEN_GOOD, p, sizeof(p)),
	    0);
	assert_string_equal(p, "/data/zegel.conf.good");
	assert_int_equal(config_generation_path("/a/very/long/path/to/zegel.conf", 3, p, sizeof(p)),
	    -ENAMETOOLONG);
}

static void
test_rotate(void **state)
{
	char path[200], g[4][210];
	static const char *const v[] = { "v0\n", "v1\n", "v2\n", "v3\n", "v4\n", "v5\n" };

	(void)state;
	mkdir_tmp();
	snprintf(path, sizeof(path), "%s/zegel.conf", dir);
	for (unsigned i = 1; i <= 3; i++)
		assert_int_equal(config_generation_path(path, i, g[i], sizeof(g[i])), 0);
	/* nothing to keep yet */
	assert_int_equal(config_rotate(path, 3, v[0], 3, err, sizeof(err)), 0);
	expect_file(g[1], NULL);
	/* save = rotate, then put: after each, the file and its predecessors */
	for (unsigned i = 0; i < 6; i++) {
		assert_int_equal(config_rotate(path, 3, v[i], 3, err, sizeof(err)), 0);
		assert_int_equal(hal_storage_put(path, v[i], 3, 0600), 0);
	}
	expect_file(path, "v5\n");
	expect_file(g[1], "v4\n");
	expect_file(g[2], "v3\n");
	expect_file(g[3], "v2\n");
	snprintf(g[0], sizeof(g[0]), "%s.4", path);
	expect_file(g[0], NULL); /* three kept, no more */
	/* the same text again: the generations stay */
	assert_int_equal(config_rotate(path, 3, v[5], 3, err, sizeof(err)), 0);
	expect_file(g[1], "v4\n");
	expect_file(g[3], "v2\n");
	/* a generation missing in the middle is no error; the older one stays */
	assert_int_equal(unlink(g[2]), 0);
	assert_int_equal(config_rotate(path, 3, "v6\n", 3, err, sizeof(err)), 0);
	expect_file(g[1], "v5\n");
	expect_file(g[2], "v4\n");
	expect_file(g[3], "v2\n");
	/* .good: copied, and not rewritten when equal */
	assert_int_equal(config_generation_path(path, CONFIG_GEN_GOOD, g[0], sizeof(g[0])), 0);
	assert_int_equal(config_copy_file(path, g[0], err, sizeof(err)), 0);
	expect_file(g[0], "v5\n");
	snprintf(g[3], sizeof(g[3]), "%s.nothere", path);
	assert_int_not_equal(config_copy_file(g[3], g[0], err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot read"));
	expect_file(g[0], "v5\n");
	rm_tmp();
}

static void
test_load_candidate_and_unsaved(void **state)
{
	char path[200];

	(void)state;
	mkdir_tmp();
	snprintf(path, sizeof(path), "%s/zegel.conf", dir);
	assert_false(config_unsaved());
	ok_line("set hostname a.example");
	commit_ok();
	assert_true(config_unsaved());
	assert_int_equal(config_save(path, err, sizeof(err)), 0);
	assert_false(config_unsaved());
	ok_line("set hostname b.example");
	commit_ok();
	assert_true(config_unsaved());
	/* rollback 0: the saved file into the candidate, nothing committed */
	assert_int_equal(config_load_candidate(path, err, sizeof(err)), 0);
	assert_string_equal(zcfg_candidate()->hostname, "a.example");
	assert_string_equal(zcfg_running()->hostname, "b.example");
	/* a file that does not load leaves the candidate as it was */
	assert_int_equal(hal_storage_put(path, "set hostname c.example\nset bogus\n", 33, 0600), 0);
	assert_int_not_equal(config_load_candidate(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "zegel.conf:2:"));
	assert_string_equal(zcfg_candidate()->hostname, "a.example");
	config_discard();
	assert_int_equal(config_load(path, err, sizeof(err)), -EINVAL);
	assert_string_equal(zcfg_running()->hostname, "b.example");
	config_mark_unsaved();
	assert_true(config_unsaved());
	rm_tmp();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_diff_exact, setup),
		cmocka_unit_test_setup(test_diff_roundtrips, setup),
		cmocka_unit_test_setup(test_diff_masks, setup),
		cmocka_unit_test_setup(test_warnings, setup),
		cmocka_unit_test_setup(test_apply_rollback, setup),
		cmocka_unit_test_setup(test_generation_paths, setup),
		cmocka_unit_test_setup(test_rotate, setup),
		cmocka_unit_test_setup(test_load_candidate_and_unsaved, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
