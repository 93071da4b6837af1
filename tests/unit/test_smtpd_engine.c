/*
 * The SMTP engine alone: the same dialogue fed whole, split at every
 * offset and byte by byte must give the same replies (STYLE 14); mailbox
 * syntax table; ESC formatting; limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/smtpd/smtpd.h"

static struct smtpd_session s;
static char out[65536];
static size_t outlen;
static unsigned nlines_body;

static void
drain(void)
{
	size_t n;
	const uint8_t *o = smtpd_out(&s, &n);

	assert_true(outlen + n < sizeof(out));
	memcpy(out + outlen, o, n);
	outlen += n;
	smtpd_out_ack(&s, n);
}

static void
start(bool trusted, bool tls)
{
	struct smtpd_params prm = {
		.hostname = "mx.test", .tls = tls, .starttls_offered = true,
		.auth_plaintext = false, .auth_available = true,
		.trusted_network = trusted, .normalise = false, .max_size = 100000,
	};

	smtpd_init(&s, &prm);
	smtpd_start(&s);
	outlen = 0;
	nlines_body = 0;
	drain();
}

/* Feed one chunk, answering events like the session layer would. */
static void
feed(const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t k = smtpd_push(&s, p, n);

		switch (smtpd_event(&s)) {
		case SMTPD_EV_STARTTLS:
			drain();
			smtpd_tls_started(&s);
			k = n;              /* CVE-2011-0411: the rest is dropped */
			break;
		case SMTPD_EV_AUTH:
			smtpd_auth_result(&s, strcmp(s.auth_user, "alice") == 0 &&
			    strcmp(s.auth_pass, "secret") == 0);
			break;
		case SMTPD_EV_DATA_LINE:
			nlines_body++;
			break;
		case SMTPD_EV_DATA_END:
			smtpd_message_done(&s, 250, "2.0.0", "Ok: queued");
			break;
		default:
			break;
		}
		drain();
		if (smtpd_closing(&s))
			return;
		if (k == 0 && smtpd_event(&s) == SMTPD_EV_NONE)
			fail_msg("engine stalled at: %.*s", (int)(n > 40 ? 40 : n), p);
		p += k;
		n -= k;
	}
}

static const char dialogue[] =
	"EHLO client.test\r\n"
	"MAIL FROM:<alice@example.test> SIZE=100 BODY=8BITMIME\r\n"
	"RCPT TO:<bob@remote.example>\r\n"
	"RCPT TO:<\"bob smith\"@remote.example>\r\n"
	"DATA\r\n"
	"From: alice@example.test\r\n\r\nline one\r\n..dotted\r\n.\r\n"
	"RSET\r\nNOOP\r\nVRFY bob\r\nBOGUS\r\n"
	"MAIL FROM:<>\r\nRCPT TO:<x@y.example>\r\nDATA\r\n.\r\n"
	"QUIT\r\n";

static void
transcript(const size_t *cuts, size_t ncuts, char *dst, size_t *dlen)
{
	size_t n = strlen(dialogue), pos = 0;

	start(true, false);
	for (size_t i = 0; i <= ncuts; i++) {
		size_t end = i < ncuts ? cuts[i] : n;
		if (end > pos)
			feed((const uint8_t *)dialogue + pos, end - pos);
		pos = end > pos ? end : pos;
	}
	memcpy(dst, out, outlen);
	*dlen = outlen;
}

static void
test_split_invariance(void **st)
{
	static char want[65536], got[65536];
	size_t wl, gl, n = strlen(dialogue);
	static size_t cuts[4096];

	(void)st;
	transcript(NULL, 0, want, &wl);
	assert_non_null(strstr(want, "250 2.0.0 Ok: queued"));
	assert_non_null(strstr(want, "221 2.0.0 Bye"));
	assert_non_null(strstr(want, "502 5.5.1"));
	assert_true(smtpd_closing(&s));
	for (size_t c = 1; c < n; c++) {
		transcript(&c, 1, got, &gl);
		assert_int_equal(gl, wl);
		assert_memory_equal(got, want, wl);
	}
	for (size_t i = 0; i < n; i++)
		cuts[i] = i + 1;
	transcript(cuts, n, got, &gl);
	assert_int_equal(gl, wl);
	assert_memory_equal(got, want, wl);
}

static void
test_starttls_injection(void **st)
{
	const char *in = "EHLO a.test\r\nSTARTTLS\r\nMAIL FROM:<x@example.test>\r\n";

	(void)st;
	start(false, false);
	feed((const uint8_t *)in, strlen(in));
	out[outlen] = 0;
	assert_non_null(strstr(out, "220 2.0.0 Ready to start TLS\r\n"));
	/* nothing after the 220: the MAIL was not executed */
	assert_string_equal(strstr(out, "220 2.0.0 Ready") + strlen("220 2.0.0 Ready to start TLS\r\n"), "");
	assert_int_equal(s.phase, SMTPD_PH_INIT);
	assert_true(s.tls);
	assert_string_equal(s.mail_from, "");
}

static void
test_auth_needs_tls(void **st)
{
	const char *in = "EHLO a.test\r\nAUTH PLAIN AGFsaWNlAHNlY3JldA==\r\n";

	(void)st;
	start(false, false);
	feed((const uint8_t *)in, strlen(in));
	out[outlen] = 0;
	assert_null(strstr(out, "AUTH PLAIN LOGIN"));
	assert_non_null(strstr(out, "538 5.7.11"));
	start(false, true);
	feed((const uint8_t *)in, strlen(in));
	out[outlen] = 0;
	assert_non_null(strstr(out, "250-AUTH PLAIN LOGIN"));
	assert_non_null(strstr(out, "235 2.7.0"));
	assert_true(s.authed);
	/* the password does not linger in the session */
	assert_string_equal(s.auth_pass, "");
}

static void
test_mailbox_syntax(void **st)
{
	static const struct {
		const char *a;
		bool ok;
	} v[] = {
		{ "a@b.c", true }, { "a.b+c@example.test", true }, { "\"a b\"@x.test", true },
		{ "\"a@b\"@x.test", true }, { "a@[192.0.2.1]", true }, { "a@[IPv6:::1]", true },
		{ "a", false }, { "\"a@b\"", false }, { "a@", false }, { "@b.c", false },
		{ "a@b..c", false }, { "a@b.c.", false }, { "a@b@c.d", false }, { "a b@c.d", false },
		{ "a@-b_c.d", false }, { "a@[1.2.3.4", false }, { "\"unterminated@x.test", false },
		{ "b!a@c.d", true }, { "a%b@c.d", true }, { "a\xc3\xa9@x.test", false },
	};
	(void)st;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *err = smtpd_check_mailbox(v[i].a, strlen(v[i].a), false);
		if ((err == NULL) != v[i].ok)
			fail_msg("%s: expected %s, got %s", v[i].a, v[i].ok ? "ok" : "refusal",
			    err ? err : "ok");
	}
	assert_null(smtpd_check_mailbox("a\xc3\xa9@x.test", strlen("a\xc3\xa9@x.test"), true));
}

static void
test_output_backpressure(void **st)
{
	static char in[200 * 6 + 1];
	size_t n = 0, k;

	(void)st;
	start(true, false);
	for (int i = 0; i < 200; i++)
		n += (size_t)sprintf(in + n, "NOOP\r\n");
	/* never drained: the engine must stop before its buffer overflows */
	k = smtpd_push(&s, (const uint8_t *)in, n);
	assert_true(k < n);
	assert_true(s.outlen <= SMTPD_OUT_MAX);
	assert_int_equal(smtpd_event(&s), SMTPD_EV_NONE);
}

static void
test_timeout_and_shutdown(void **st)
{
	(void)st;
	start(true, false);
	smtpd_timeout(&s);
	drain();
	out[outlen] = 0;
	assert_non_null(strstr(out, "421 4.4.2"));
	assert_true(smtpd_closing(&s));
	start(true, false);
	smtpd_shutdown(&s, NULL);
	drain();
	out[outlen] = 0;
	assert_non_null(strstr(out, "421 4.3.2"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_invariance),
		cmocka_unit_test(test_starttls_injection),
		cmocka_unit_test(test_auth_needs_tls),
		cmocka_unit_test(test_mailbox_syntax),
		cmocka_unit_test(test_output_backpressure),
		cmocka_unit_test(test_timeout_and_shutdown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
