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

/* RFC 4616 2: an authorization identity other than the authentication
 * identity is not something zegel can grant: the exchange fails (535 5.7.8)
 * even with the right password; an authzid equal to the authcid is fine. */
static void
test_auth_plain_authzid(void **st)
{
	static const struct {
		const char *b64, *want;
		bool authed;
	} v[] = {
		{ "Ym9iAGFsaWNlAHNlY3JldA==", "535 5.7.8", false },     /* bob\0alice\0secret */
		{ "QWxpY2UAYWxpY2UAc2VjcmV0", "535 5.7.8", false },     /* Alice\0alice\0secret */
		{ "bWFsbG9yeQBhbGljZQB3cm9uZw==", "535 5.7.8", false }, /* mallory\0alice\0wrong */
		{ "YWxpY2UAYWxpY2UAc2VjcmV0", "235 2.7.0", true },      /* alice\0alice\0secret */
		{ "AGFsaWNlAHNlY3JldA==", "235 2.7.0", true },          /* \0alice\0secret */
	};
	char in[128];

	(void)st;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		start(false, true);
		snprintf(in, sizeof(in), "EHLO a.test\r\nAUTH PLAIN %s\r\n", v[i].b64);
		feed((const uint8_t *)in, strlen(in));
		out[outlen] = 0;
		if (strstr(out, v[i].want) == NULL)
			fail_msg("%s: expected %s, got %s", v[i].b64, v[i].want, out);
		assert_int_equal(s.authed, v[i].authed);
		assert_string_equal(s.auth_pass, "");
		/* the same through the 334 continuation */
		start(false, true);
		snprintf(in, sizeof(in), "EHLO a.test\r\nAUTH PLAIN\r\n%s\r\n", v[i].b64);
		feed((const uint8_t *)in, strlen(in));
		out[outlen] = 0;
		if (strstr(out, v[i].want) == NULL)
			fail_msg("%s (continued): expected %s, got %s", v[i].b64, v[i].want, out);
		assert_int_equal(s.authed, v[i].authed);
	}
}

/* RFC 1870 6: size-value ::= 1*20DIGIT. Anything else is a syntax error
 * (501 5.5.4), never "too big" (552); a well-formed value over the limit is
 * 552 5.3.4, even one that does not fit in 64 bits. */
static void
test_mail_size_syntax(void **st)
{
	static const struct {
		const char *param, *want;
	} v[] = {
		{ "SIZE=-1", "501 5.5.4" }, { "SIZE=+5", "501 5.5.4" }, { "SIZE=", "501 5.5.4" },
		{ "SIZE", "501 5.5.4" }, { "SIZE=1x", "501 5.5.4" }, { "SIZE=0x10", "501 5.5.4" },
		{ "SIZE=\t5", "501 5.5.4" }, { "SIZE=1\t", "501 5.5.4" },
		{ "SIZE=1000000000000000000000000", "501 5.5.4" },         /* 25 digits */
		{ "SIZE=000000000000000000001", "501 5.5.4" },             /* 21 digits */
		{ "SIZE=1000000000000000000000000000000000000000", "501 5.5.4" }, /* 40 */
		{ "SIZE=99999999999999999999", "552 5.3.4" },              /* 20 digits > 2^64 */
		{ "SIZE=18446744073709551616", "552 5.3.4" },              /* 2^64 */
		{ "SIZE=100001", "552 5.3.4" },
		{ "SIZE=100000", "250 2.1.0" }, { "SIZE=0", "250 2.1.0" },
		{ "SIZE=00000000000000000100", "250 2.1.0" },             /* 20 digits */
	};
	char in[160];

	(void)st;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		start(true, false);
		snprintf(in, sizeof(in), "EHLO a.test\r\nMAIL FROM:<a@example.test> %s\r\n",
		    v[i].param);
		feed((const uint8_t *)in, strlen(in));
		out[outlen] = 0;
		if (strstr(out, v[i].want) == NULL)
			fail_msg("%s: expected %s, got %s", v[i].param, v[i].want, out);
	}
	/* the declared size is what the engine keeps */
	start(true, false);
	feed((const uint8_t *)"EHLO a.test\r\nMAIL FROM:<a@example.test> SIZE=00000000000000000100\r\n",
	    strlen("EHLO a.test\r\nMAIL FROM:<a@example.test> SIZE=00000000000000000100\r\n"));
	assert_int_equal(s.mail_size, 100);
}

/* RFC 8689: REQUIRETLS offered and taken on TLS sessions only, no value,
 * once; the flag is per transaction. */
static void
test_requiretls(void **st)
{
	static const struct {
		bool tls;
		const char *param, *want;
		bool flag;
	} v[] = {
		{ false, "REQUIRETLS", "530 5.7.10", false },
		{ false, "requiretls", "530 5.7.10", false },
		{ true, "REQUIRETLS", "250 2.1.0", true },
		{ true, "RequireTLS SIZE=10", "250 2.1.0", true },
		{ true, "REQUIRETLS=yes", "501 5.5.4", false },
		{ true, "REQUIRETLS REQUIRETLS", "501 5.5.4", false },
		{ true, "SIZE=10", "250 2.1.0", false },
	};
	char in[160];

	(void)st;
	/* EHLO: not on a plaintext session, after STARTTLS yes */
	start(true, false);
	feed((const uint8_t *)"EHLO a.test\r\n", 13);
	out[outlen] = 0;
	assert_non_null(strstr(out, "250-STARTTLS"));
	assert_null(strstr(out, "REQUIRETLS"));
	feed((const uint8_t *)"STARTTLS\r\n", 10);
	feed((const uint8_t *)"EHLO a.test\r\n", 13);
	out[outlen] = 0;
	assert_non_null(strstr(out, "250-REQUIRETLS\r\n"));
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		start(true, v[i].tls);
		snprintf(in, sizeof(in), "EHLO a.test\r\nMAIL FROM:<a@example.test> %s\r\n",
		    v[i].param);
		feed((const uint8_t *)in, strlen(in));
		out[outlen] = 0;
		if (strstr(out, v[i].want) == NULL)
			fail_msg("%s (tls %d): expected %s, got %s", v[i].param, v[i].tls, v[i].want,
			    out);
		assert_int_equal(s.requiretls, v[i].flag);
	}
	/* RSET forgets it; the null sender may ask for it too */
	start(true, true);
	feed((const uint8_t *)"EHLO a.test\r\nMAIL FROM:<> REQUIRETLS\r\n", 38);
	assert_true(s.requiretls);
	feed((const uint8_t *)"RSET\r\n", 6);
	assert_false(s.requiretls);
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
		cmocka_unit_test(test_auth_plain_authzid),
		cmocka_unit_test(test_mail_size_syntax),
		cmocka_unit_test(test_requiretls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
