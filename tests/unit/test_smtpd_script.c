/*
 * The SMTP dialogue scripts (tests/vectors/smtp/ scripts) run in-process
 * against the engine and session layer: no sockets, TLS simulated at the
 * STARTTLS point, real spool, signer and outbox in a temporary directory.
 * The same scripts run over TCP against the daemon in tests/e2e/smtpd_script.sh.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/app/targets.h"
#include "firmware/smtpd/conn.h"
#include "hal/log.h"
#include "tests/unit/smtpd_testcfg.h"

#ifndef VECTORS
#define VECTORS "tests/vectors/smtp"
#endif

static struct smtpd_conn conn;
static char rbuf[1 << 20];
static size_t rlen;
static char workdir[256];
static const struct zcfg *cfgp;
#define cfg (*cfgp)

static size_t
unescape(const char *s, uint8_t *out, size_t cap)
{
	size_t k = 0;

	for (; *s && k < cap; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			switch (*s) {
			case 'r': out[k++] = '\r'; continue;
			case 'n': out[k++] = '\n'; continue;
			case 't': out[k++] = '\t'; continue;
			case '\\': out[k++] = '\\'; continue;
			case 'x': {
				char h[3] = { s[1], s[2], 0 };
				out[k++] = (uint8_t)strtoul(h, NULL, 16);
				s += 2;
				continue;
			}
			default: out[k++] = '\\'; break;
			}
		}
		out[k++] = (uint8_t)*s;
	}
	return k;
}

static void
drain(void)
{
	size_t n;
	const uint8_t *o = smtpd_out(&conn.smtp, &n);

	assert_true(rlen + n < sizeof(rbuf));
	memcpy(rbuf + rlen, o, n);
	rlen += n;
	smtpd_out_ack(&conn.smtp, n);
}

/* Feed bytes the way a socket would, in chunks of at most chunk_max bytes
 * (each script runs with 1000 and with 1: same replies either way). */
static size_t chunk_max = 1000;

static void
send_bytes(const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t chunk = n > chunk_max ? chunk_max : n, k;

		if (smtpd_closing(&conn.smtp))
			return;             /* server closed: bytes go nowhere */
		k = smtpd_conn_input(&conn, p, chunk);
		/* a held AUTH reply (fair.h backoff): what the server's timer does
		 * when its time comes */
		if (smtpd_conn_due(&conn) != 0)
			smtpd_conn_tick(&conn, smtpd_conn_due(&conn));
		drain();
		if (conn.want_tls)
			return;             /* the rest of this packet is discarded */
		assert_true(k > 0);
		p += k;
		n -= k;
	}
}

/* One full reply from rbuf into r (lines joined with \n); false if none. */
static bool
reply(char *r, size_t cap, char code[4])
{
	size_t pos = 0, k = 0;

	for (;;) {
		char *e = memchr(rbuf + pos, '\n', rlen - pos);
		size_t ll;

		if (e == NULL)
			return false;
		ll = (size_t)(e - (rbuf + pos)) + 1;
		if (k + ll < cap) {
			memcpy(r + k, rbuf + pos, ll);
			k += ll;
		}
		if (ll < 5 || rbuf[pos + 3] != '-') {
			memcpy(code, rbuf + pos, 3);
			code[3] = 0;
			pos += ll;
			break;
		}
		pos += ll;
	}
	r[k] = 0;
	memmove(rbuf, rbuf + pos, rlen - pos);
	rlen -= pos;
	return true;
}

static int
outbox_count(void)
{
	DIR *d = opendir(cfg.relay.outbox);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t l = strlen(e->d_name);
		if (l > 4 && strcmp(e->d_name + l - 4, ".eml") == 0)
			n++;
	}
	closedir(d);
	return n;
}

static bool
code_ok(const char *want, const char *got)
{
	if (strlen(want) == 3 && want[1] == 'x' && want[2] == 'x')
		return want[0] == got[0];
	return strncmp(want, got, 3) == 0;
}

/* Every space-separated word of text occurs in r. */
static bool
words_in(const char *text, const char *r)
{
	char w[256];

	while (*text) {
		size_t n = strcspn(text, " ");

		if (n > 0 && n < sizeof(w)) {
			memcpy(w, text, n);
			w[n] = 0;
			if (strstr(r, w) == NULL)
				return false;
		}
		text += n;
		while (*text == ' ')
			text++;
	}
	return true;
}

static void
run_script(const char *path)
{
	static char line[8192], r[16384];
	static uint8_t bytes[1 << 20];
	FILE *f = fopen(path, "r");
	struct hal_addr peer;
	const struct zcfg_listener *lst = &cfg.listeners[0];
	int base = outbox_count(), lineno = 0;
	char code[4];

	assert_non_null(f);
	hal_addr_parse(&peer, "127.0.0.1", 0);
	/* pass 1: client and listener */
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (strncmp(line, "client ", 7) == 0)
			assert_int_equal(hal_addr_parse(&peer, line + 7, 0), 0);
		if (strncmp(line, "listener ", 9) == 0) {
			lst = NULL;
			for (int i = 0; i < CONFIG_CFG_MAX_LISTENERS; i++)
				if (cfg.listeners[i].used && strcmp(cfg.listeners[i].name, line + 9) == 0)
					lst = &cfg.listeners[i];
			assert_non_null(lst);
		}
	}
	rewind(f);
	rlen = 0;
	smtpd_conn_init(&conn, &cfg, lst, &peer, false);
	drain();
	while (fgets(line, sizeof(line), f)) {
		char *arg;

		lineno++;
		line[strcspn(line, "\n")] = 0;
		if (line[0] == '#' || line[0] == 0 || strncmp(line, "client ", 7) == 0 ||
		    strncmp(line, "listener ", 9) == 0)
			continue;
		arg = strchr(line, ' ');
		arg = arg ? arg + 1 : line + strlen(line);
		if (strncmp(line, "writeln", 7) == 0 && (line[7] == ' ' || line[7] == 0)) {
			size_t n = unescape(arg, bytes, sizeof(bytes) - 2);
			bytes[n++] = '\r';
			bytes[n++] = '\n';
			send_bytes(bytes, n);
		} else if (strncmp(line, "write ", 6) == 0) {
			send_bytes(bytes, unescape(arg, bytes, sizeof(bytes)));
		} else if (strncmp(line, "repeat ", 7) == 0) {
			int times = atoi(arg);
			size_t n = unescape(strchr(arg, ' ') + 1, bytes, 4096), tot = n + 2;
			bytes[n] = '\r';
			bytes[n + 1] = '\n';
			for (int i = 1; i < times; i++, tot += n + 2)
				memcpy(bytes + tot, bytes, n + 2);
			send_bytes(bytes, tot);
		} else if (strncmp(line, "expect ", 7) == 0 || strncmp(line, "expect-repeat ", 14) == 0) {
			int times = 1;
			char want[8] = { 0 };
			const char *text;

			if (line[6] == '-') {
				times = atoi(arg);
				arg = strchr(arg, ' ') + 1;
			}
			memcpy(want, arg, 3);
			text = strlen(arg) > 4 ? arg + 4 : "";
			for (int i = 0; i < times; i++) {
				if (!reply(r, sizeof(r), code))
					fail_msg("%s:%d: %s: no reply (server output so far: %.*s)", path,
					    lineno, line, (int)rlen, rbuf);
				if (!code_ok(want, code) || !words_in(text, r))
					fail_msg("%s:%d: %s: got %s", path, lineno, line, r);
			}
		} else if (strcmp(line, "starttls") == 0) {
			if (!conn.want_tls)
				fail_msg("%s:%d: server did not enter STARTTLS", path, lineno);
			if (rlen)
				fail_msg("%s:%d: output after 220: %.*s", path, lineno, (int)rlen, rbuf);
			smtpd_conn_tls_started(&conn, "simulated TLS");
		} else if (strcmp(line, "expect-closed") == 0) {
			if (!smtpd_closing(&conn.smtp) || rlen)
				fail_msg("%s:%d: expected close; closing=%d, pending output: %.*s", path,
				    lineno, smtpd_closing(&conn.smtp), (int)rlen, rbuf);
		} else if (strncmp(line, "outbox ", 7) == 0) {
			int got = outbox_count() - base;
			if (got != atoi(arg))
				fail_msg("%s:%d: outbox has %d new messages, want %s", path, lineno, got, arg);
		} else
			fail_msg("%s:%d: unknown directive %s", path, lineno, line);
	}
	fclose(f);
	smtpd_conn_free(&conn);
}

static void
test_script(void **state)
{
	chunk_max = 1000;
	run_script(*state);
}

static void
test_script_bytewise(void **state)
{
	chunk_max = 1;
	run_script(*state);
	chunk_max = 1000;
}

static int
setup_all(void **state)
{
	(void)state;
	snprintf(workdir, sizeof(workdir), "/tmp/zegel-smtpd-unit.XXXXXX");
	if (mkdtemp(workdir) == NULL)
		return -1;
	if (smtpd_testcfg_build(&cfgp, workdir) != 0)
		return -1;
	hal_log_set_level(HAL_LOG_ERR);
	smtpd_set_target_picker(app_relay_target);
	return 0;
}

static int
teardown_all(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	return system(cmd) == 0 ? 0 : 0;
}

/* ------------------------------------------------------------ async relay */

static handoff_done_fn async_done;
static void *async_arg;
static const struct handoff_msg *async_msg;
static int async_cancelled;

static int
async_start(const struct handoff_msg *m, handoff_done_fn done, void *arg, void **handle)
{
	async_done = done;
	async_arg = arg;
	async_msg = m;
	*handle = &async_done;
	return 0;
}

static void
async_cancel(void *handle)
{
	assert_ptr_equal(handle, &async_done);
	async_cancelled++;
}

static const struct handoff_target_ops async_target = {
	.name = "fake-async", .start = async_start, .cancel = async_cancel };

static void
feed_str(const char *p)
{
	size_t n = strlen(p), k = smtpd_conn_input(&conn, (const uint8_t *)p, n);

	drain();
	assert_int_equal(k, n);
}

/* A target that answers later (the smarthost in sync mode): the client's
 * reply to DATA waits for it and carries its text; pipelined commands
 * after the dot wait too; a client that leaves cancels the job. */
static void
test_async_relay(void **state)
{
	static const char msg[] = "EHLO x.test\r\nMAIL FROM:<alice@example.test>\r\n"
				  "RCPT TO:<bob@remote.example>\r\nDATA\r\n"
				  "From: alice@example.test\r\n\r\nbody\r\n.\r\nNOOP\r\n";
	struct hal_addr peer;
	struct handoff_result r;
	char rep[4096], code[4];
	size_t n = strlen(msg), k;
	FILE *f;

	(void)state;
	hal_addr_parse(&peer, "127.0.0.1", 0);
	rlen = 0;
	async_done = NULL;
	async_cancelled = 0;
	smtpd_conn_init(&conn, &cfg, &cfg.listeners[0], &peer, false);
	conn.relay_override = &async_target;
	drain();
	k = smtpd_conn_input(&conn, (const uint8_t *)msg, n);
	drain();
	assert_non_null(async_done);
	assert_int_equal(k, n - strlen("NOOP\r\n"));   /* NOOP waits */
	assert_true(smtpd_input_blocked(&conn.smtp));
	rbuf[rlen] = 0;
	assert_null(strstr(rbuf, "250 2.0.0"));
	/* the message the target sees: signatures + spooled message, envelope */
	assert_int_equal(async_msg->nrcpt, 1);
	assert_string_equal(async_msg->rcpts, "bob@remote.example");
	assert_non_null(strstr((const char *)async_msg->prefix, "DKIM-Signature: v=1; a="));
	f = fopen(async_msg->spool_path, "rb");
	assert_non_null(f);
	fclose(f);
	handoff_result_set(&r, 250, "2.0.0", "upstream said: 250 2.0.0 Ok: queued as XYZ");
	async_done(async_arg, &r);
	drain();
	k += smtpd_conn_input(&conn, (const uint8_t *)msg + k, n - k);
	drain();
	assert_int_equal(k, n);
	while (reply(rep, sizeof(rep), code) && strcmp(code, "354") != 0)
		;
	assert_true(reply(rep, sizeof(rep), code));
	assert_string_equal(code, "250");
	assert_non_null(strstr(rep, "upstream said: 250 2.0.0 Ok: queued as XYZ"));
	assert_true(reply(rep, sizeof(rep), code));   /* the NOOP, after it */
	assert_non_null(strstr(rep, "250 2.0.0 Ok"));
	/* second message: the client goes away while the target works */
	async_done = NULL;
	feed_str("MAIL FROM:<alice@example.test>\r\nRCPT TO:<bob@remote.example>\r\nDATA\r\n"
		 "From: alice@example.test\r\n\r\nbody\r\n.\r\n");
	assert_non_null(async_done);
	{
		char spool[HAL_PATH_MAX];

		snprintf(spool, sizeof(spool), "%s", async_msg->spool_path);
		smtpd_conn_free(&conn);
		assert_int_equal(async_cancelled, 1);
		assert_null(fopen(spool, "rb"));        /* spool file removed */
	}
}

/* ------------------------------------------------------------ RCPT-time relay */

/* A target with open/rcpt/data (the smarthost's shape): every RCPT waits
 * for its verdict, which the test gives by hand. */
static struct {
	int opens, cancels, starts, datas;
	int open_rc;
	const struct handoff_msg *env, *msg;
	char addr[300];
	handoff_done_fn done;
	void *arg;
	char mail_from[300];
	uint64_t size;
} S;

static int
s_open(const struct handoff_msg *env, void **handle)
{
	if (S.open_rc < 0)
		return S.open_rc;
	S.opens++;
	S.env = env;
	snprintf(S.mail_from, sizeof(S.mail_from), "%s", env->mail_from);
	S.size = env->size;
	*handle = &S;
	return 0;
}

static int
s_rcpt(void *h, const char *addr, handoff_done_fn done, void *arg)
{
	assert_ptr_equal(h, &S);
	assert_null(S.done); /* one at a time */
	snprintf(S.addr, sizeof(S.addr), "%s", addr);
	if (strncmp(addr, "sync", 4) == 0) {
		struct handoff_result r;
		handoff_result_set(&r, 250, "2.1.5", "Ok, answered at once");
		done(arg, &r);
		return 0;
	}
	S.done = done;
	S.arg = arg;
	return 0;
}

static int
s_data(void *h, const struct handoff_msg *m, handoff_done_fn done, void *arg)
{
	assert_ptr_equal(h, &S);
	S.datas++;
	S.msg = m;
	S.done = done;
	S.arg = arg;
	return 0;
}

static int
s_start(const struct handoff_msg *m, handoff_done_fn done, void *arg, void **handle)
{
	S.starts++;
	S.msg = m;
	S.done = done;
	S.arg = arg;
	*handle = &S;
	return 0;
}

static void
s_cancel(void *h)
{
	assert_ptr_equal(h, &S);
	S.cancels++;
	S.done = NULL;
}

static const struct handoff_target_ops s_target = {
	.name = "fake-session", .start = s_start, .cancel = s_cancel,
	.open = s_open, .rcpt = s_rcpt, .data = s_data,
};

static void
s_answer(int code, const char *esc, const char *text)
{
	struct handoff_result r;
	handoff_done_fn fn = S.done;

	assert_non_null(fn);
	S.done = NULL;
	handoff_result_set(&r, code, esc, text);
	fn(S.arg, &r);
	drain();
}

static void
next_reply(const char *want_code, const char *needle)
{
	char rep[4096], code[4];

	assert_true(reply(rep, sizeof(rep), code));
	if (strcmp(code, want_code) != 0 || (needle && !strstr(rep, needle))) {
		print_error("want %s /%s/, got: %s", want_code, needle ? needle : "", rep);
		fail();
	}
}

static void
session_start(void)
{
	struct hal_addr peer;

	hal_addr_parse(&peer, "127.0.0.1", 0);
	rlen = 0;
	memset(&S, 0, sizeof(S));
	smtpd_conn_init(&conn, &cfg, &cfg.listeners[0], &peer, false);
	conn.relay_override = &s_target;
	drain();
	next_reply("220", NULL);
}

static void
test_rcpt_time_relay(void **state)
{
	static const char msg[] = "EHLO x.test\r\nMAIL FROM:<alice@example.test> SIZE=123\r\n"
				  "RCPT TO:<bob@remote.example>\r\nRCPT TO:<bad@remote.example>\r\n"
				  "DATA\r\nFrom: alice@example.test\r\n\r\nbody\r\n.\r\nNOOP\r\n";
	size_t n = strlen(msg), k, head;

	(void)state;
	session_start();
	/* pipelined: everything up to the first RCPT, then the session waits */
	k = smtpd_conn_input(&conn, (const uint8_t *)msg, n);
	drain();
	head = (size_t)(strstr(msg, "RCPT TO:<bad") - msg);
	assert_int_equal(k, head);
	assert_int_equal(S.opens, 1);
	assert_string_equal(S.mail_from, "alice@example.test");
	assert_int_equal(S.size, 123);
	assert_string_equal(S.addr, "bob@remote.example");
	next_reply("250", NULL); /* EHLO */
	next_reply("250", NULL); /* MAIL */
	assert_int_equal(rlen, 0); /* no RCPT reply before the upstream's */
	s_answer(250, "2.1.5", "Ok, accepted by up[127.0.0.1]:587: 250 2.1.5 Ok");
	next_reply("250", "250 2.1.5 Ok, accepted by up");
	k += smtpd_conn_input(&conn, (const uint8_t *)msg + k, n - k);
	drain();
	assert_string_equal(S.addr, "bad@remote.example");
	assert_int_equal(rlen, 0);
	s_answer(550, "5.1.1", "up: upstream refused <bad@remote.example>: 550 5.1.1 unknown");
	next_reply("550", "550 5.1.1 up: upstream refused <bad@remote.example>");
	k += smtpd_conn_input(&conn, (const uint8_t *)msg + k, n - k);
	drain();
	/* the message went to data() with the accepted recipient only */
	assert_int_equal(S.datas, 1);
	assert_int_equal(S.starts, 0);
	assert_int_equal(S.msg->nrcpt, 1);
	assert_string_equal(S.msg->rcpts, "bob@remote.example");
	assert_string_equal(S.msg->id, S.env->id); /* one id for the transaction */
	assert_non_null(strstr((const char *)S.msg->prefix, "DKIM-Signature:"));
	next_reply("354", NULL);
	assert_int_equal(rlen, 0);
	s_answer(250, "2.0.0", "relayed via up: 250 2.0.0 Ok: queued as Q");
	next_reply("250", "relayed via up");
	k += smtpd_conn_input(&conn, (const uint8_t *)msg + k, n - k);
	drain();
	assert_int_equal(k, n);
	next_reply("250", NULL); /* NOOP */
	assert_int_equal(S.cancels, 0);

	/* RSET ends the transaction: the session is cancelled, never data() */
	feed_str("MAIL FROM:<alice@example.test>\r\nRCPT TO:<sync@remote.example>\r\n");
	assert_int_equal(S.opens, 2);
	next_reply("250", NULL);
	next_reply("250", "Ok, answered at once");
	feed_str("RSET\r\n");
	assert_int_equal(S.cancels, 1);
	next_reply("250", NULL);
	/* every RCPT refused: DATA is refused here, RSET cancels */
	feed_str("MAIL FROM:<alice@example.test>\r\n");
	smtpd_conn_input(&conn, (const uint8_t *)"RCPT TO:<x@remote.example>\r\n", 28);
	s_answer(451, "4.4.1", "upstream unreachable");
	feed_str("DATA\r\nRSET\r\n");
	next_reply("250", NULL);
	next_reply("451", "4.4.1 upstream unreachable");
	next_reply("554", "No valid recipients");
	next_reply("250", NULL);
	assert_int_equal(S.cancels, 2);
	assert_int_equal(S.datas, 1);
	/* a message refused here (no From) cancels the session too */
	feed_str("MAIL FROM:<alice@example.test>\r\nRCPT TO:<sync@remote.example>\r\n"
		 "DATA\r\nSubject: no from\r\n\r\nx\r\n.\r\n");
	assert_int_equal(S.cancels, 3);
	assert_int_equal(S.datas, 1);
	/* QUIT while the session is open */
	rlen = 0;
	feed_str("MAIL FROM:<alice@example.test>\r\nRCPT TO:<sync@remote.example>\r\nQUIT\r\n");
	assert_int_equal(S.cancels, 4);
	smtpd_conn_free(&conn);
	assert_int_equal(S.cancels, 4);

	/* the client leaves while a verdict is due */
	session_start();
	feed_str("EHLO x.test\r\nMAIL FROM:<alice@example.test>\r\n");
	smtpd_conn_input(&conn, (const uint8_t *)"RCPT TO:<b@remote.example>\r\n", 28);
	assert_non_null(S.done);
	smtpd_conn_free(&conn);
	assert_int_equal(S.cancels, 1);

	/* open() refused (pool full): this transaction relays after DATA */
	session_start();
	S.open_rc = -EBUSY;
	feed_str("EHLO x.test\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<b@remote.example>\r\n"
		 "DATA\r\nFrom: alice@example.test\r\n\r\nx\r\n.\r\n");
	assert_int_equal(S.opens, 0);
	assert_int_equal(S.starts, 1);
	assert_int_equal(S.msg->nrcpt, 1);
	s_answer(250, "2.0.0", "relayed");
	next_reply("250", NULL);
	next_reply("250", NULL);
	next_reply("250", "2.1.5 Ok");
	next_reply("354", NULL);
	next_reply("250", "relayed");
	smtpd_conn_free(&conn);
	assert_int_equal(S.cancels, 0);
}

int
main(void)
{
	static struct CMUnitTest tests[260];
	static char names[260][270], paths[128][800];
	const char *vec = getenv("ZEGEL_SMTP_VECTORS") ? getenv("ZEGEL_SMTP_VECTORS") : VECTORS;
	DIR *d = opendir(vec);
	struct dirent *e;
	size_t n = 0, np = 0;

	if (d == NULL) {
		fprintf(stderr, "cannot open %s (run from the repository root)\n", vec);
		return 1;
	}
	while ((e = readdir(d)) != NULL && np < 128) {
		size_t l = strlen(e->d_name);
		if (l < 8 || strcmp(e->d_name + l - 7, ".script") != 0)
			continue;
		snprintf(names[n], sizeof(names[n]), "%s", e->d_name);
		snprintf(paths[np], sizeof(paths[np]), "%s/%s", vec, e->d_name);
		tests[n] = (struct CMUnitTest){ names[n], test_script, NULL, NULL, paths[np] };
		n++;
		if (snprintf(names[n], sizeof(names[n]), "%s (byte by byte)", e->d_name) >=
		    (int)sizeof(names[n]))
			names[n][sizeof(names[n]) - 1] = 0; /* a long name is only cut in the report */
		tests[n] = (struct CMUnitTest){ names[n], test_script_bytewise, NULL, NULL, paths[np] };
		n++;
		np++;
	}
	closedir(d);
	tests[n++] = (struct CMUnitTest){ "async_relay", test_async_relay, NULL, NULL, NULL };
	tests[n++] = (struct CMUnitTest){ "rcpt_time_relay", test_rcpt_time_relay, NULL, NULL, NULL };
	return _cmocka_run_group_tests("smtpd_script", tests, n, setup_all, teardown_all);
}
