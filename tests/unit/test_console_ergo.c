/*
 * The console's ergonomics (issue 17 point 6): unique-prefix abbreviations
 * at every word level, an ambiguous prefix naming its choices, Tab
 * completion and '?' help on a raw terminal, and lines with a password kept
 * out of the history whatever abbreviation typed them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/config/config.h"
#include "firmware/console/console.h"

struct cap {
	char buf[65536];
	size_t n;
};

static struct cap out;
static struct console con;

static void
capture(void *arg, const uint8_t *p, size_t n)
{
	struct cap *c = arg;

	assert_true(c->n + n < sizeof(c->buf));
	memcpy(c->buf + c->n, p, n);
	c->n += n;
	c->buf[c->n] = 0;
}

static int
setup(void **state)
{
	(void)state;
	config_init();
	console_reset_registry();
	console_set_save_path(NULL);
	return 0;
}

static void
start(bool raw)
{
	memset(&out, 0, sizeof(out));
	console_init(&con, capture, &out, raw);
	console_prompt(&con);
}

static void
type(const char *s)
{
	size_t n = strlen(s);

	assert_int_equal(console_push(&con, (const uint8_t *)s, n), n);
}

/* The line being edited (not NUL-terminated while editing). */
static void
line_is(const char *want)
{
	char got[sizeof(con.line)];

	memcpy(got, con.line, con.len);
	got[con.len] = 0;
	assert_string_equal(got, want);
}

static void
clear(void)
{
	out.n = 0;
	out.buf[0] = 0;
}

static void
test_abbreviations(void **st)
{
	(void)st;
	start(false);
	type("sh run\n");
	assert_non_null(strstr(out.buf, "set hostname "));
	clear();
	type("s\n");
	assert_non_null(strstr(out.buf, "error: ambiguous: 's' could be show, set, save"));
	clear();
	type("sh r\n"); /* running, relay? relay is not registered here */
	assert_non_null(strstr(out.buf, "set hostname "));
	clear();
	type("sh c\n"); /* config only (no clock, crypto registered) */
	assert_non_null(strstr(out.buf, "set hostname "));
	clear();
	type("sh v\n");
	assert_non_null(strstr(out.buf, "board: "));
	clear();
	type("se rel smart mx.example.net\n");
	assert_string_equal(out.buf, "zegel> ");
	type("se log deb\n"); /* log-level; the value is not abbreviated */
	assert_non_null(strstr(out.buf, "error: "));
	clear();
	type("se log-l debug\nsh conf\n");
	assert_non_null(strstr(out.buf, "set relay smarthost mx.example.net:587"));
	assert_non_null(strstr(out.buf, "set log-level debug"));
	clear();
	type("se re 1.2.3.4\n");
	assert_non_null(
	    strstr(out.buf, "set: ambiguous: 're' could be relay, resolver, resolver-anchors"));
	clear();
	type("se rel p x\n");
	assert_non_null(strstr(out.buf, "ambiguous: 'p' could be password, password-sealed"));
	clear();
	type("del rel username\n"); /* `delete relay`, a one-word setting */
	assert_string_equal(out.buf, "zegel> ");
	type("help sh run\n");
	assert_non_null(strstr(out.buf, "usage: show running [secrets]"));
	clear();
	type("sh ru sec\n");
	assert_non_null(strstr(out.buf, "# SECRET"));
	clear();
	type("qq\n");
	assert_non_null(strstr(out.buf, "error: unknown command 'qq'"));
	clear();
	type("show zz\n");
	assert_non_null(strstr(out.buf, "error: unknown command 'show zz'"));
}

static void
test_tab(void **st)
{
	(void)st;
	start(true);
	type("sh\t");
	line_is("show ");
	type("ru\t");
	line_is("show running ");
	type("\r");
	assert_non_null(strstr(out.buf, "set hostname "));
	clear();
	/* several: listed under the line, which is drawn again */
	type("s\t");
	line_is("s");
	assert_non_null(strstr(out.buf, "\r\nshow, set, save\r\n"));
	assert_non_null(strstr(out.buf, "\rzegel> s"));
	clear();
	/* the common prefix is completed first */
	type("\x15" "set res\t");
	line_is("set resolver");
	type("\t");
	assert_non_null(strstr(out.buf, "resolver, resolver-anchors"));
	type("-\t");
	line_is("set resolver-anchors ");
	/* an argument: nothing to complete */
	clear();
	type("\x15" "set hostname x\t");
	line_is("set hostname x");
	assert_non_null(strstr(out.buf, "\a"));
	/* the grammar's second words */
	type("\x15" "set relay sm\t");
	line_is("set relay smarthost ");
	type("\x03");
}

static void
test_question(void **st)
{
	(void)st;
	start(true);
	type("?");
	line_is("");
	assert_non_null(strstr(out.buf, "  commit "));
	assert_non_null(strstr(out.buf, "validate and apply the candidate"));
	assert_non_null(strstr(out.buf, "  show                 config, running, version"));
	clear();
	type("set relay ?");
	line_is("set relay ");
	assert_non_null(strstr(out.buf, "  smarthost            HOST[:PORT]"));
	assert_non_null(strstr(out.buf, "  outbox               DIR"));
	clear();
	type("\x15" "set hostname ?");
	assert_non_null(strstr(out.buf, "usage: set hostname NAME"));
	clear();
	type("\x15" "sh ?");
	assert_non_null(strstr(out.buf, "  running              [secrets]: the running"));
	clear();
	type("\x15" "sh r?");
	assert_non_null(strstr(out.buf, "  running "));
	assert_null(strstr(out.buf, "  config "));
	clear();
	type("\x15" "zz ?");
	assert_non_null(strstr(out.buf, "no command 'zz'"));
	/* a '?' inside quotes, or after Ctrl-V, is a character */
	type("\x15" "set hostname \"a?");
	line_is("set hostname \"a?");
	type("\x15" "x\x16?");
	line_is("x?");
	type("\x03");
	/* piped input: '?' and Tab are ordinary characters */
	start(false);
	type("set hostname a?b\n");
	assert_non_null(strstr(out.buf, "'a?b' is not a domain name"));
}

static void
test_secret_history(void **st)
{
	(void)st;
	start(true);
	type("se us alice pass-word x\r");
	type("se rel pas hunter2\r");
	type("set relay password hunter2\r");
	type("sh ver\r");
	type("\x1b[A");
	line_is("sh ver");
	type("\x1b[A");
	line_is("sh ver"); /* nothing older kept */
	type("\x03");
}

static char dumped[8192];

static void
dump_line(void *arg, const char *line)
{
	(void)arg;
	strncat(dumped, line, sizeof(dumped) - strlen(dumped) - 2);
	strcat(dumped, "\n");
}

/* Sizes with K/M/G wherever a size is set; errors name the setting. */
static void
test_sizes(void **st)
{
	static const char *const bad[] = { "set message-size-limit 10X",
		"set message-size-limit 10MM", "set message-size-limit M",
		"set message-size-limit 100G", "set message-size-limit 1000",
		"set message-size-limit 18446744073709551617", "set queue max-size 1T",
		"set queue min-free -1K", "set queue max-size 16K" };
	char err[320];

	(void)st;
	assert_int_equal(config_set_line("set message-size-limit 10M", err, sizeof(err)), 0);
	assert_int_equal(zcfg_candidate()->max_message_size, 10u << 20);
	assert_int_equal(config_set_line("set queue max-size 1G", err, sizeof(err)), 0);
	assert_int_equal(zcfg_candidate()->queue.max_size, 1ull << 30);
	assert_int_equal(config_set_line("set queue min-free 512k", err, sizeof(err)), 0);
	assert_int_equal(zcfg_candidate()->queue.min_free, 512u << 10);
	assert_int_equal(config_set_line("set queue min-free 3MiB", err, sizeof(err)), 0);
	assert_int_equal(zcfg_candidate()->queue.min_free, 3u << 20);
	assert_int_equal(config_set_line("set message-size-limit 100000", err, sizeof(err)), 0);
	assert_int_equal(zcfg_candidate()->max_message_size, 100000);
	dumped[0] = 0;
	config_dump(zcfg_candidate(), false, dump_line, NULL);
	assert_non_null(strstr(dumped, "set message-size-limit 100000\n"));
	assert_non_null(strstr(dumped, "set queue max-size 1G\n"));
	assert_non_null(strstr(dumped, "set queue min-free 3M\n"));
	assert_int_equal(config_set_line("set message-size-limit 2M", err, sizeof(err)), 0);
	dumped[0] = 0;
	config_dump(zcfg_candidate(), false, dump_line, NULL);
	assert_non_null(strstr(dumped, "set message-size-limit 2M\n"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(config_set_line(bad[i], err, sizeof(err)), 0);
		assert_null(strstr(err, "CONFIG_"));
		assert_non_null(strstr(err, bad[i][4] == 'm' ? "set message-size-limit: "
							      : "set queue "));
	}
	assert_int_equal(config_set_line("set message-size-limit 100G", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is not a size from 1K to"));
	assert_non_null(strstr(err, "the most this firmware takes"));
	assert_int_equal(zcfg_candidate()->max_message_size, 2u << 20); /* unchanged */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_abbreviations, setup),
		cmocka_unit_test_setup(test_tab, setup),
		cmocka_unit_test_setup(test_question, setup),
		cmocka_unit_test_setup(test_secret_history, setup),
		cmocka_unit_test_setup(test_sizes, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
