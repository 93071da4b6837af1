/*
 * Issue 20 part 3, secrets at rest, through the console as an admin uses
 * it: `show running` never prints the relay password and pasting it back
 * is refused with a clear error (not a password of "********");
 * `show running secrets` pasted back rebuilds the same configuration;
 * `save` writes the relay password sealed with the device key, never in
 * clear, and a configuration whose device key is missing or different
 * fails to load with a clear error. And the `set smtpd ...` settings
 * (issue 20 parts 1-2): bounds, errors, dump round trip.
 */
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
#include "firmware/console/console.h"
#include "hal/storage.h"

struct cap {
	char buf[32768];
	size_t n;
};

static struct cap out;
static struct console con;
static char tmp[128], err[512];
static const char secret[] = "s3 cr\"et\\pw";

static void
capture(void *arg, const uint8_t *p, size_t n)
{
	struct cap *c = arg;

	assert_true(c->n + n < sizeof(c->buf));
	memcpy(c->buf + c->n, p, n);
	c->n += n;
	c->buf[c->n] = 0;
}

static void
console_start(void)
{
	memset(&out, 0, sizeof(out));
	console_reset_registry();
	console_init(&con, capture, &out, false);
}

static void
type(const char *s)
{
	assert_int_equal(console_push(&con, (const uint8_t *)s, strlen(s)), strlen(s));
}

/* The lines of out that are configuration lines (set ... / # ...). */
static void
config_lines(const char *from, char *dst, size_t cap)
{
	const char *p = from;

	dst[0] = 0;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) + 1 : strlen(p);

		if ((strncmp(p, "set ", 4) == 0 || strncmp(p, "# ", 2) == 0) &&
		    strlen(dst) + n < cap)
			strncat(dst, p, n);
		p += n;
	}
}

static void
build(void)
{
	char line[300];

	config_init();
	console_start();
	snprintf(line, sizeof(line), "set data-dir %s/data\n", tmp);
	type(line);
	type("set user printer password hunter2\n");
	type("set relay smarthost mail.example.net:587\n");
	type("set relay username office@example.net\n");
	type("set relay password \"s3 cr\\\"et\\\\pw\"\n");
	type("set smtpd per-address-limit 3\n");
	type("set smtpd min-data-rate 512 window 10s\n");
	type("commit\n");
	assert_non_null(strstr(out.buf, "commit: ok"));
	assert_string_equal(zcfg_running()->relay.password, secret);
}

static int
setup(void **st)
{
	(void)st;
	snprintf(tmp, sizeof(tmp), "/tmp/zegel-test-secrets.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	return 0;
}

static int
teardown(void **st)
{
	char cmd[200];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void
test_show_running_masks_and_paste_refused(void **st)
{
	static char lines[16384];

	(void)st;
	build();
	console_start();
	type("show running\n");
	assert_null(strstr(out.buf, "s3 cr"));
	assert_null(strstr(out.buf, "$zegel-sha256$"));
	assert_non_null(strstr(out.buf, "set relay password ********\n"));
	config_lines(out.buf, lines, sizeof(lines));
	/* pasted into a fresh console: the masked lines are refused, clearly */
	config_init();
	console_start();
	type(lines);
	assert_non_null(strstr(out.buf, "error: set relay password: '********' is what 'show "
	    "running' prints in place of the password, not the password"));
	assert_non_null(strstr(out.buf, "error: set user: '********' is what 'show running' "
	    "prints in place of the secret"));
	assert_string_equal(zcfg_candidate()->relay.password, "");
	/* and typed by hand too */
	assert_int_not_equal(config_set_line("set relay password ********", err, sizeof(err)), 0);
	assert_int_not_equal(config_set_line("set user x password ********", err, sizeof(err)), 0);
}

static void
test_show_running_secrets_pastes_back(void **st)
{
	static char lines[16384];
	struct zcfg before, after;

	(void)st;
	build();
	before = *zcfg_running();
	console_start();
	type("show running secrets\n");
	assert_non_null(strstr(out.buf, "# SECRET: "));
	assert_non_null(strstr(out.buf, "set relay password \"s3 cr\\\"et\\\\pw\"\n"));
	config_lines(out.buf, lines, sizeof(lines));
	config_init();
	console_start();
	type(lines);
	type("commit\n");
	assert_null(strstr(out.buf, "error"));
	after = *zcfg_running();
	before.generation = after.generation = 0;
	assert_memory_equal(&before, &after, sizeof(before));
	assert_int_equal(config_user_check(zcfg_running(), "printer", "hunter2"), 1);
	/* `show running` takes only the one word */
	console_start();
	type("show running everything\n");
	assert_non_null(strstr(out.buf, "error: usage: show running [secrets]"));
}

static void
test_save_seals(void **st)
{
	char path[200], keyp[200], buf[8192];
	size_t len;
	struct stat s;
	struct zcfg before, after;
	uint8_t key[32];

	(void)st;
	build();
	before = *zcfg_running();
	snprintf(path, sizeof(path), "%s/zegel.conf", tmp);
	snprintf(keyp, sizeof(keyp), "%s/data/secret.key", tmp);
	assert_int_equal(config_save(path, err, sizeof(err)), 0);
	assert_int_equal(hal_storage_get(path, buf, sizeof(buf) - 1, &len), 0);
	buf[len] = 0;
	assert_null(strstr(buf, "s3 cr"));
	assert_null(strstr(buf, "set relay password "));
	assert_non_null(strstr(buf, "set relay password-sealed zs1."));
	assert_int_equal(stat(keyp, &s), 0);
	assert_int_equal(s.st_mode & 0777, 0600);
	assert_int_equal(s.st_size, 32);
	/* load: the same configuration */
	config_init();
	if (config_load(path, err, sizeof(err)) != 0)
		fail_msg("load: %s", err);
	after = *zcfg_running();
	before.generation = after.generation = 0;
	assert_memory_equal(&before, &after, sizeof(before));
	/* a second save seals afresh (new nonce) with the same key */
	{
		char again[8192];

		assert_int_equal(config_save(path, err, sizeof(err)), 0);
		assert_int_equal(hal_storage_get(path, again, sizeof(again) - 1, &len), 0);
		again[len] = 0;
		assert_string_not_equal(strstr(buf, "zs1."), strstr(again, "zs1."));
		memcpy(buf, again, len + 1);
	}
	/* another device's key: a clear error, no garbage password */
	memset(key, 0x5a, sizeof(key));
	assert_int_equal(hal_storage_put(keyp, key, sizeof(key), 0600), 0);
	config_init();
	assert_int_not_equal(config_load(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "set relay password-sealed: the device key "));
	assert_non_null(strstr(err, "does not open this secret"));
	assert_string_equal(zcfg_running()->relay.password, "");
	/* no key at all */
	assert_int_equal(unlink(keyp), 0);
	config_init();
	assert_int_not_equal(config_load(path, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "cannot read the device key"));
	/* a damaged sealed value */
	config_init();
	assert_int_not_equal(config_set_line("set relay password-sealed zs1.xyz", err, sizeof(err)),
	    0);
	assert_non_null(strstr(err, "is not a sealed secret"));
}

static void
test_smtpd_settings(void **st)
{
	static char lines[16384];
	struct zcfg before, after;
	const struct zcfg_smtpd *f;

	(void)st;
	config_init();
	f = &zcfg_candidate()->smtpd;
	/* defaults: a quarter of the pool (at least 2), RFC 5321 ceilings */
	assert_int_equal(f->per_address, CONFIG_MAX_SESSIONS / 4 > 2 ? CONFIG_MAX_SESSIONS / 4 : 2);
	assert_int_equal(f->idle_timeout, CONFIG_SMTP_IDLE_TIMEOUT);
	assert_true(f->command_timeout <= 300 && f->command_timeout > 0);
	assert_int_equal(config_set_line("set smtpd per-address-limit 0", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "set smtpd per-address-limit: '0' is not a number from 1 to"));
	assert_int_not_equal(config_set_line("set smtpd command-timeout 6m", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "RFC 5321"));
	assert_int_not_equal(config_set_line("set smtpd idle-timeout 1h", err, sizeof(err)), 0);
	assert_int_not_equal(config_set_line("set smtpd min-data-rate fast", err, sizeof(err)), 0);
	assert_int_not_equal(config_set_line("set smtpd min-data-rate 10 windw 5s", err, sizeof(err)),
	    0);
	assert_int_not_equal(config_set_line("set smtpd auth-delay 5s max 2s", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "below the first delay"));
	assert_int_not_equal(config_set_line("set smtpd shed-idle never", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set smtpd per-address-limit 1", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set smtpd idle-timeout 2m", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set smtpd command-timeout 20s", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set smtpd transaction-timeout 5m", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set smtpd min-data-rate 0", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set smtpd shed-idle off", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set smtpd auth-delay 2s max 1m", err, sizeof(err)), 0);
	assert_int_equal(config_set_line("set smtpd auth-lockout 0", err, sizeof(err)), 0);
	assert_int_equal(config_commit(err, sizeof(err)), 0);
	assert_int_equal(f->shed_idle, 0);
	assert_int_equal(zcfg_running()->smtpd.auth_delay_max, 60);
	before = *zcfg_running();
	console_start();
	type("show running\n");
	assert_non_null(strstr(out.buf, "set smtpd shed-idle off\n"));
	assert_non_null(strstr(out.buf, "set smtpd auth-delay 2s max 1m\n"));
	config_lines(out.buf, lines, sizeof(lines));
	config_init();
	console_start();
	type(lines);
	type("commit\n");
	after = *zcfg_running();
	before.generation = after.generation = 0;
	assert_memory_equal(&before, &after, sizeof(before));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_show_running_masks_and_paste_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_show_running_secrets_pastes_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_seals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smtpd_settings, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
