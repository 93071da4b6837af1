/* The console engine: the same output whatever the input split, editing
 * keys in raw mode, history, refused lines, generated help, registered
 * commands and status, set/commit/discard/save through the console. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/app/commands.h"
#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "hal/storage.h"
#include "tests/unit/common/crypto_count.h"

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
	memset(&out, 0, sizeof(out));
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

static size_t
count(const char *hay, const char *needle)
{
	size_t k = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		k++;
	return k;
}

static const char script[] = "help\n"
			     "set domain example.org canon simple/relaxed\n"
			     "set domain bad_name\r\n"
			     "show config\n"
			     "commit\n"
			     "show running\n"
			     "set network 10.0.0.0/8\n"
			     "discard\n"
			     "show status\n"
			     "show\n"
			     "show nothing\n"
			     "frob \"quoted arg\"\n"
			     "set hostname \"unterminated\n"
			     "\n"
			     "help set\n"
			     "help commit\n"
			     "help nothing\n"
			     "show version\n";

static void
run_split(bool raw, const size_t *cuts, size_t ncuts, struct cap *res)
{
	size_t pos = 0, n = strlen(script);

	config_init();
	memset(res, 0, sizeof(*res));
	console_init(&con, capture, res, raw);
	console_prompt(&con);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		if (end > pos)
			assert_int_equal(console_push(&con, (const uint8_t *)script + pos,
					     end - pos),
			    end - pos);
		pos = end > pos ? end : pos;
	}
}

/* Whole, split at every offset, and byte by byte: the same output. */
static void
test_split_invariance(void **state)
{
	static struct cap whole, part;
	size_t n = strlen(script);

	(void)state;
	for (int raw = 0; raw <= 1; raw++) {
		run_split(raw, NULL, 0, &whole);
		for (size_t cut = 1; cut < n; cut++) {
			run_split(raw, &cut, 1, &part);
			assert_int_equal(part.n, whole.n);
			assert_memory_equal(part.buf, whole.buf, whole.n);
		}
		size_t cuts[sizeof(script)];
		for (size_t i = 0; i < n; i++)
			cuts[i] = i + 1;
		run_split(raw, cuts, n, &part);
		assert_memory_equal(part.buf, whole.buf, whole.n);
	}
	/* And the script did what it says. */
	run_split(false, NULL, 0, &whole);
	assert_non_null(strstr(whole.buf, "commands:\n"));
	assert_non_null(strstr(whole.buf, "commit: ok, generation 1"));
	assert_non_null(strstr(whole.buf,
	    "set domain example.org subdomains off canon "
	    "simple/relaxed envelope-align warn\n"));
	assert_non_null(strstr(whole.buf, "error: set domain: 'bad_name' is not a domain name"));
	assert_non_null(strstr(whole.buf, "discard: candidate reset"));
	assert_non_null(strstr(whole.buf, "config: generation 1, no uncommitted changes\n"));
	assert_non_null(strstr(whole.buf,
	    "error: show what? (config, running, version, status, "
	    "diff, log)\n"));
	assert_non_null(strstr(whole.buf, "error: unknown command 'show nothing'"));
	assert_non_null(strstr(whole.buf, "error: unknown command 'frob' (commands: help, show"));
	assert_non_null(strstr(whole.buf, "error: unbalanced \"quotes\""));
	assert_non_null(strstr(whole.buf, "set domain NAME [subdomains on|off]"));
	assert_non_null(strstr(whole.buf, "usage: commit\n"));
	assert_non_null(strstr(whole.buf, "error: no command 'nothing'"));
	assert_non_null(strstr(whole.buf, "zegel " ZEGEL_VERSION));
	assert_int_equal(count(whole.buf, CONSOLE_PROMPT), 19);
	assert_null(strchr(whole.buf, '\r')); /* piped: no CR, no echo */
	assert_null(strstr(whole.buf, "frob \"quoted"));
	assert_false(console_wants_exit(&con));
	assert_false(zcfg_running()->networks[0].used);
}

static void
test_raw_editing(void **state)
{
	(void)state;
	start(true);
	type("helpx\x7f\r"); /* backspace (DEL) */
	assert_non_null(strstr(out.buf, "helpx\b \b\r\ncommands:\r\n"));
	start(true);
	type("helpx\b\r"); /* backspace (BS) */
	assert_non_null(strstr(out.buf, "commands:"));
	start(true);
	type("garbage\x15help\r"); /* Ctrl-U */
	assert_non_null(strstr(out.buf, "commands:"));
	assert_null(strstr(out.buf, "unknown command"));
	start(true);
	type("garbage\x03"); /* Ctrl-C */
	assert_string_equal(out.buf, CONSOLE_PROMPT "garbage^C\r\n" CONSOLE_PROMPT);
	type("\r");
	assert_null(strstr(out.buf, "unknown"));
	start(true);
	type("\r\n\r\n"); /* CRLF is one line end */
	assert_int_equal(count(out.buf, CONSOLE_PROMPT), 3);
	if (IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING)) {
		start(true);
		type("hep\x1b[Dl\r"); /* left, insert */
		assert_non_null(strstr(out.buf, "commands:"));
		start(true);
		type("hxelp\x1b[D\x1b[D\x1b[D\x1b[D\x1b[3~\r"); /* Delete key */
		assert_non_null(strstr(out.buf, "commands:"));
		start(true);
		type("hxlp\x1b[D\x1b[D\x1b[D\x1b[C\x7f"
		     "e\r"); /* right, backspace mid-line */
		assert_non_null(strstr(out.buf, "commands:"));
		start(true);
		type("elp\x01h\x05\r"); /* Ctrl-A, Ctrl-E */
		assert_non_null(strstr(out.buf, "commands:"));
		start(true);
		type("elp\x1bOHh\x1bOF\r"); /* Home/End (SS3) */
		assert_non_null(strstr(out.buf, "commands:"));
		start(true);
		type("show version\rdiscard\r\x1b[A\x1b[A\r"); /* history */
		assert_int_equal(count(out.buf, "board: "), 2);
		type("\x1b[A\x1b[B\x1b[B\r"); /* down past the newest: empty */
		assert_int_equal(count(out.buf, "board: "), 2);
		assert_int_equal(count(out.buf, "discard: candidate"), 1);
		/* Secrets are not kept in history. */
		start(true);
		type("set relay password hunter2\r\x1b[A\r");
		assert_int_equal(count(out.buf, "hunter2"), 1); /* the echo only */
	}
	start(true);
	type("\x04"); /* Ctrl-D on an empty line */
	assert_true(console_wants_exit(&con));
}

static void
test_long_and_control(void **state)
{
	char line[CONFIG_CONSOLE_LINE_MAX + 40];

	(void)state;
	memset(line, 'a', sizeof(line));
	memcpy(line + sizeof(line) - 2, "\nh", 2);
	for (int raw = 0; raw <= 1; raw++) {
		start(raw);
		assert_int_equal(console_push(&con, (const uint8_t *)line, sizeof(line)),
		    sizeof(line));
		type("elp\n");
		assert_int_equal(count(out.buf, "error: line longer than"), 1);
		assert_non_null(strstr(out.buf, "commands:")); /* the next line works */
		assert_null(strstr(out.buf, "unknown command"));
	}
	/* Exactly at the limit is fine: "set hostname " + name padding. */
	start(false);
	memset(line, ' ', CONFIG_CONSOLE_LINE_MAX);
	memcpy(line, "help", 4);
	line[CONFIG_CONSOLE_LINE_MAX] = '\n';
	assert_int_equal(console_push(&con, (const uint8_t *)line, CONFIG_CONSOLE_LINE_MAX + 1),
	    CONFIG_CONSOLE_LINE_MAX + 1);
	assert_non_null(strstr(out.buf, "commands:"));
	/* A control byte in a piped line: refused, not run. */
	start(false);
	static const uint8_t ctl[] = "help\x01\nhelp\0\n";
	console_push(&con, ctl, sizeof(ctl) - 1);
	assert_int_equal(count(out.buf, "error: control character 0x01"), 1);
	assert_int_equal(count(out.buf, "error: control character 0x00"), 1);
	assert_null(strstr(out.buf, "commands:"));
}

static void
test_exit_and_eof(void **state)
{
	static const char in[] = "exit\nhelp\n";

	(void)state;
	start(false);
	assert_int_equal(console_push(&con, (const uint8_t *)in, strlen(in)), 5);
	assert_true(console_wants_exit(&con));
	assert_null(strstr(out.buf, "commands:"));
	assert_int_equal(console_push(&con, (const uint8_t *)"x", 1), 0);
	start(false);
	type("quit\n");
	assert_true(console_wants_exit(&con));
	start(false);
	type("help"); /* no newline */
	assert_null(strstr(out.buf, "commands:"));
	console_eof(&con);
	assert_non_null(strstr(out.buf, "commands:"));
	assert_true(console_wants_exit(&con));
	/* committed but not saved: exit warns once, the second one stops */
	config_init();
	start(false);
	type("set hostname unsaved.example\ncommit\nexit\n");
	assert_false(console_wants_exit(&con));
	assert_non_null(strstr(out.buf, "warning: committed changes are not saved"));
	assert_non_null(strstr(out.buf, "enter exit again to stop anyway"));
	type("exit\n");
	assert_true(console_wants_exit(&con));
	assert_non_null(strstr(out.buf, "exit: stopping zegel"));
	/* another commit after the warning warns again */
	start(false);
	type("set hostname u2.example\ncommit\nexit\n");
	assert_false(console_wants_exit(&con));
}

static int relay_tests;

static int
cmd_test_relay(struct console *c, int argc, char **argv, const char *line)
{
	(void)line;
	relay_tests++;
	console_printf(c, "test relay: %d args, first '%s'", argc, argc ? argv[0] : "");
	return 0;
}

static int
cmd_show_relay(struct console *c, int argc, char **argv, const char *line)
{
	(void)argc;
	(void)argv;
	(void)line;
	console_puts(c, "relay: idle");
	return 0;
}

static void
status_fn(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	emit(emit_arg, (const char *)arg);
}

static void
test_registry(void **state)
{
	static const struct console_cmd relay_cmds[] = {
		{ "test relay", "[ADDRESS]", "try the relay now", cmd_test_relay },
		{ "show relay", "", "relay state", cmd_show_relay },
	};
	static const struct console_cmd clash[] = {
		{ "commit", "", "again", cmd_show_relay },
	};

	(void)state;
	assert_int_equal(console_register(relay_cmds, 2), 0);
	assert_int_equal(console_register(clash, 1), -EEXIST);
	assert_int_equal(console_register_status(status_fn, "smtpd: 0 sessions"), 0);
	start(false);
	type("test relay \"a b\" c\nshow relay\nshow status\nhelp\nhelp show\nhelp test\n"
	     "test\nshow\n");
	assert_int_equal(relay_tests, 1);
	assert_non_null(strstr(out.buf, "test relay: 2 args, first 'a b'\n"));
	assert_non_null(strstr(out.buf, "relay: idle\n"));
	assert_non_null(strstr(out.buf, "smtpd: 0 sessions\n"));
	assert_non_null(strstr(out.buf, "  test relay [ADDRESS]")); /* in help */
	assert_non_null(strstr(out.buf, "usage: show relay\n"));    /* in help show */
	assert_non_null(strstr(out.buf, "usage: test relay [ADDRESS]\n  try the relay now\n"));
	assert_non_null(strstr(out.buf, "error: test what? (relay)\n"));
	assert_non_null(strstr(out.buf,
	    "error: show what? (config, running, version, status, "
	    "diff, log, relay)\n"));
	for (int i = 1; i < CONSOLE_MAX_REGISTER; i++)
		assert_int_equal(console_register(relay_cmds, 0), 0);
	assert_int_equal(console_register(relay_cmds, 0), -ENOSPC);
}

/* help lists every built-in, each with its help text. */
static void
test_help_generated(void **state)
{
	static const char *const verbs[] = { "help [COMMAND]", "show config", "show running",
		"show version", "show status", "show log", "set SETTING", "delete SETTING",
		"commit", "save", "discard", "exit", "quit" };

	(void)state;
	start(false);
	type("help\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "\n  %s", verbs[i]);
		if (strstr(out.buf, want) == NULL)
			fail_msg("help lacks '%s':\n%s", verbs[i], out.buf);
	}
	start(false);
	type("help delete\n");
	assert_non_null(strstr(out.buf, "delete listener NAME\n"));
	assert_null(strstr(out.buf, "set hostname"));
}

static void
test_config_flow(void **state)
{
	char dir[] = "/tmp/zegel-test-console.XXXXXX", path[128], cmd[160], buf[4096];
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/saved.conf", dir);
	console_set_save_path(path);
	start(false);
	type("set domain example.org\nset key k domain example.org file /k.pem\ncommit\n"
	     "set network 10.0.0.0/8\nsave\nshow config\n");
	assert_non_null(strstr(out.buf, "commit: ok, generation 1\n"));
	assert_non_null(strstr(out.buf, "note: uncommitted changes are not saved"));
	assert_non_null(strstr(out.buf, "save: wrote "));
	assert_non_null(strstr(out.buf, "# candidate with uncommitted changes"));
	assert_int_equal(hal_storage_get(path, buf, sizeof(buf) - 1, &len), 0);
	buf[len] = 0;
	assert_non_null(strstr(buf, "set key k domain example.org file /k.pem\n"));
	assert_null(strstr(buf, "set network")); /* not committed, not saved */
	start(false);
	type("commit\ncommit\n");
	assert_non_null(
	    strstr(out.buf, "commit: ok, generation 2\n" CONSOLE_PROMPT "commit: no changes\n"));
	/* Errors are one line each and change nothing. */
	start(false);
	type("set key k2 domain missing.org file /k2.pem\ncommit\ndelete key nope\n");
	assert_non_null(strstr(out.buf, "error: commit: key 'k2' is for domain 'missing.org'"));
	assert_non_null(strstr(out.buf, "error: delete key: selector 'nope' is not configured\n"));
	assert_int_equal(zcfg_running()->generation, 2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Lines from a job a command started (`test relay`) arrive while the user
 * types: on a terminal they go above the line being edited, which is drawn
 * again; piped, they are plain lines. */
static void
test_async_lines(void **state)
{
	(void)state;
	start(true);
	type("sho");
	memset(&out, 0, sizeof(out));
	console_async_puts(&con, "relay: TLS: TLSv1.2");
	assert_string_equal(out.buf, "\r\x1b[Krelay: TLS: TLSv1.2\r\n\rzegel> sho\x1b[K");
	start(false);
	memset(&out, 0, sizeof(out));
	console_async_puts(&con, "relay: OK: 250");
	assert_string_equal(out.buf, "relay: OK: 250\n");
	assert_false(console_busy(&con));
	console_job_begin(&con);
	console_job_begin(&con);
	assert_true(console_busy(&con));
	console_job_end(&con);
	assert_true(console_busy(&con));
	console_job_end(&con);
	console_job_end(&con); /* one too many: harmless */
	assert_false(console_busy(&con));
}

/* A log line on the terminal (hal_log_set_console): the input line is
 * cleared first and drawn again after, cursor where it was; nothing on a
 * piped console, and nothing twice. */
static void
test_log_hide_show(void **state)
{
	(void)state;
	start(true);
	type("show ver\x1b[D");
	memset(&out, 0, sizeof(out));
	console_input_hide(&con);
	console_input_hide(&con);
	assert_string_equal(out.buf, "\r\x1b[K");
	memset(&out, 0, sizeof(out));
	console_input_show(&con);
	assert_string_equal(out.buf, "\rzegel> show ver\x1b[K\x1b[1D");
	memset(&out, 0, sizeof(out));
	console_input_show(&con);
	assert_string_equal(out.buf, "");
	start(false);
	type("show");
	memset(&out, 0, sizeof(out));
	console_input_hide(&con);
	console_input_show(&con);
	assert_string_equal(out.buf, "");
}

/* `show crypto`: the chain, each backend's probe verdict, who hashes what
 * with measured MB/s, and who does the key operations. On a kernel without
 * AF_ALG its verdict names EAFNOSUPPORT; with the counting stand-in engine
 * first, SHA-256 is its and the rest software's. */
static void
test_show_crypto(void **state)
{
	(void)state;
	assert_int_equal(crypto_console_register(), 0);
	start(false);
	type("show crypto\nhelp show crypto\n");
	if (getenv("ZEGEL_TEST_PRINT"))
		print_message("%s", out.buf);
	assert_non_null(strstr(out.buf, "backend soft"));
	assert_non_null(strstr(out.buf, "key generation: soft"));
	assert_non_null(strstr(out.buf, "usage: show crypto\n  crypto backends"));
	/* the CPU's SHA instructions (this machine: x86 SHA-NI) come first */
	bool cpu = strstr(out.buf, "backend cpu: used") != NULL;
	const char *head = cpu ? "chain: cpu > " : "chain: ";
	/* the TPM backend (key files only) sits just before soft */
	const char *tpm = IS_ENABLED(CONFIG_HAL_CRYPTO_TPM2) ? "tpm2 > " : "";
	char want[80];
#if IS_ENABLED(CONFIG_HAL_CRYPTO_CPU)
	if (cpu) {
		assert_non_null(strstr(out.buf, "backend cpu: used: serves sha256\n"));
		assert_non_null(strstr(out.buf, "  cpu: sha256: "));
		assert_non_null(strstr(out.buf, "  sha256  by cpu       (cpu "));
	} else {
		assert_non_null(strstr(out.buf, "backend cpu: not used: "));
	}
#else
	assert_null(strstr(out.buf, "backend cpu"));
#endif
	if (strstr(out.buf, "backend af_alg: used") == NULL) {
		/* a kernel without AF_ALG (this machine): software after cpu */
		snprintf(want, sizeof(want), "%s%ssoft", head, tpm);
		assert_non_null(strstr(out.buf, want));
		if (!cpu)
			assert_non_null(strstr(out.buf, "  sha256  by soft      (soft "));
#if IS_ENABLED(CONFIG_HAL_CRYPTO_AFALG)
		assert_non_null(strstr(out.buf, "backend af_alg: not used: socket(AF_ALG)"));
#endif
	} else {
		snprintf(want, sizeof(want), "%saf_alg > %ssoft", head, tpm);
		assert_non_null(strstr(out.buf, want));
		assert_non_null(strstr(out.buf, "  af_alg: sha256: "));
		assert_non_null(strstr(out.buf, "  sha256  by ")); /* cpu, af_alg or soft */
		assert_non_null(strstr(out.buf, "(cpu ") || strstr(out.buf, "(af_alg "));
	}
	test_crypto_count_chain();
	start(false);
	type("show crypto\n");
	assert_non_null(strstr(out.buf, "chain: count (test: SHA-256 only) > soft"));
	assert_non_null(strstr(out.buf, "caps: sha rsa ecdsa ed25519 keygen hw"));
	assert_non_null(strstr(out.buf, "  sha256  by count     (count "));
	assert_non_null(strstr(out.buf, "  sha1    by soft      (count -, soft "));
	assert_int_equal(test_crypto_count.live, 0);
	if (getenv("ZEGEL_TEST_PRINT"))
		print_message("%s", out.buf);
	test_crypto_board_chain();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_split_invariance, setup),
		cmocka_unit_test_setup(test_raw_editing, setup),
		cmocka_unit_test_setup(test_long_and_control, setup),
		cmocka_unit_test_setup(test_exit_and_eof, setup),
		cmocka_unit_test_setup(test_registry, setup),
		cmocka_unit_test_setup(test_help_generated, setup),
		cmocka_unit_test_setup(test_config_flow, setup),
		cmocka_unit_test_setup(test_async_lines, setup),
		cmocka_unit_test_setup(test_log_hide_show, setup),
		cmocka_unit_test_setup(test_show_crypto, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
