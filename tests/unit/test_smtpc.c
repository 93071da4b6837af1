/*
 * SMTP client engine: scripted upstream dialogues.
 *
 * Each script is the upstream's byte stream cut into chunks (one per reply
 * the client must wait for). The harness plays it against the engine the way
 * the smarthost target does (drain output, TLS up on NEED_TLS dropping the
 * rest of the plaintext slice, stream the body on NEED_BODY) and records the
 * client's transcript. Every script runs whole, split at every offset of the
 * upstream stream, and one byte at a time; all runs must give the identical
 * transcript and result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/relay/smtpc.h"

struct run {
	char out[16384];
	size_t out_len;
	size_t tls_at;          /* transcript offset when TLS went up, or -1 */
	enum smtpc_event ev;
	struct smtpc_result res;
	bool in_body;
	size_t discarded;
	size_t body_fed;
	bool tls_used;
	struct smtpc_result rr[3]; /* smtpc_rcpt_result(0..2), code -1 for NULL */
};

static const char *body_src;
static size_t body_len;

static void
drain(struct smtpc *c, struct run *r)
{
	const uint8_t *p;
	size_t n = smtpc_out(c, &p);

	assert_true(r->out_len + n < sizeof(r->out));
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
	/* ack in two parts to exercise partial acks */
	smtpc_out_ack(c, n / 2);
	smtpc_out_ack(c, n - n / 2);
}

/* Handle events until the engine waits for the upstream; returns true when
 * the rest of the current plaintext chunk must be dropped (NEED_TLS). */
static bool
settle(struct smtpc *c, struct run *r)
{
	bool drop = false;

	for (;;) {
		drain(c, r);
		switch (smtpc_event(c)) {
		case SMTPC_EV_NEED_TLS:
			r->tls_at = r->out_len;
			smtpc_tls_up(c);
			drop = true;
			continue;
		case SMTPC_EV_NEED_BODY:
			while (r->body_fed < body_len && smtpc_event(c) == SMTPC_EV_NEED_BODY) {
				size_t k = smtpc_body(c, (const uint8_t *)body_src + r->body_fed,
				    body_len - r->body_fed);
				r->body_fed += k;
				drain(c, r);
			}
			if (smtpc_event(c) != SMTPC_EV_NEED_BODY)
				continue;
			while (smtpc_body_end(c) != 0 && smtpc_event(c) == SMTPC_EV_NEED_BODY)
				drain(c, r);
			continue;
		default:
			return drop;
		}
	}
}

/* mode 0: chunks whole; mode 1: split at offset `split` of the whole stream;
 * mode 2: one byte at a time. */
static void
play(const struct smtpc_params *pp, const char *const *chunks, int mode, size_t split,
    struct run *r)
{
	struct smtpc c;
	size_t base = 0;
	int i;

	memset(r, 0, sizeof(*r));
	r->tls_at = (size_t)-1;
	smtpc_init(&c, pp);
	settle(&c, r);
	for (i = 0; chunks[i] != NULL; i++) {
		const uint8_t *p = (const uint8_t *)chunks[i];
		size_t n = strlen(chunks[i]), off = 0;

		while (off < n) {
			size_t want = n - off, used;
			if (mode == 2)
				want = 1;
			else if (mode == 1 && base + off < split && base + n > split)
				want = split - base - off;
			used = smtpc_push(&c, p + off, want);
			assert_true(used <= want);
			off += used;
			if (settle(&c, r))
				break; /* plaintext after 220 to STARTTLS: dropped */
			if (used == 0)
				break;
		}
		base += n;
	}
	r->ev = smtpc_event(&c);
	r->res = *smtpc_result(&c);
	r->in_body = smtpc_in_body(&c);
	r->discarded = smtpc_discarded(&c);
	r->tls_used = smtpc_tls_used(&c);
	for (i = 0; i < 3; i++) {
		const struct smtpc_result *x = smtpc_rcpt_result(&c, (unsigned)i);
		if (x != NULL)
			r->rr[i] = *x;
		else
			r->rr[i].code = -1;
	}
	smtpc_free(&c);
}

static size_t
script_len(const char *const *chunks)
{
	size_t n = 0;
	int i;

	for (i = 0; chunks[i]; i++)
		n += strlen(chunks[i]);
	return n;
}

/* Runs every feeding mode, checks they agree, returns the whole-chunk run. */
static void
play_all(const struct smtpc_params *pp, const char *const *chunks, struct run *r)
{
	static struct run alt;
	size_t k, total = script_len(chunks);

	play(pp, chunks, 0, 0, r);
	for (k = 0; k <= total + 1; k++) {
		play(pp, chunks, k == total + 1 ? 2 : 1, k, &alt);
		if (alt.out_len != r->out_len || memcmp(alt.out, r->out, r->out_len) != 0) {
			print_error("split %zu: transcript differs:\n%.*s\n--- vs ---\n%.*s\n", k,
			    (int)alt.out_len, alt.out, (int)r->out_len, r->out);
			fail();
		}
		assert_int_equal(alt.ev, r->ev);
		assert_int_equal(alt.res.code, r->res.code);
		assert_string_equal(alt.res.esc, r->res.esc);
		assert_string_equal(alt.res.text, r->res.text);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(alt.rr[i].code, r->rr[i].code);
			if (r->rr[i].code > 0)
				assert_string_equal(alt.rr[i].text, r->rr[i].text);
		}
		assert_int_equal(alt.tls_used, r->tls_used);
	}
	r->out[r->out_len] = '\0';
}

/* No envelope, credential or message byte before TLS. */
static void
assert_nothing_before_tls(const struct run *r)
{
	size_t lim = r->tls_at == (size_t)-1 ? r->out_len : r->tls_at;
	char pre[16384];

	memcpy(pre, r->out, lim);
	pre[lim] = '\0';
	assert_null(strstr(pre, "MAIL"));
	assert_null(strstr(pre, "RCPT"));
	assert_null(strstr(pre, "AUTH"));
	assert_null(strstr(pre, "DATA"));
}

static const char rcpts2[] = "alice@example.net\0bob@example.net";

static struct smtpc_params
params(void)
{
	struct smtpc_params p = {
		.helo = "gw.example.test",
		.mail_from = "printer@example.test",
		.rcpts = rcpts2,
		.nrcpt = 2,
		.size = 40,
	};
	return p;
}

#define GREET "220 mx.example.net ESMTP\r\n"
#define EHLO_PLAIN "250-mx.example.net\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 STARTTLS\r\n"
#define TLS_GO "220 2.0.0 Ready to start TLS\r\n"
#define EHLO_TLS "250-mx.example.net\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"

static void
test_basic_no_pipelining(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"250 2.1.5 Ok\r\n", "250 2.1.5 Ok\r\n", "354 End data with <CR><LF>.<CR><LF>\r\n",
		"250 2.0.0 Ok: queued as 4XyZ\r\n", "221 2.0.0 Bye\r\n", NULL};
	struct run r;

	(void)st;
	body_src = "Subject: x\r\n\r\n.leading dot\r\n..two\r\nend\r\n";
	body_len = strlen(body_src);
	play_all(&p, s, &r);
	assert_string_equal(r.out,
	    "EHLO gw.example.test\r\n"
	    "STARTTLS\r\n"
	    "EHLO gw.example.test\r\n"
	    "MAIL FROM:<printer@example.test> SIZE=40\r\n"
	    "RCPT TO:<alice@example.net>\r\n"
	    "RCPT TO:<bob@example.net>\r\n"
	    "DATA\r\n"
	    "Subject: x\r\n\r\n..leading dot\r\n...two\r\nend\r\n.\r\n"
	    "QUIT\r\n");
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_int_equal(r.res.code, 250);
	assert_string_equal(r.res.esc, "2.0.0");
	assert_string_equal(r.res.text, "250 2.0.0 Ok: queued as 4XyZ");
	assert_nothing_before_tls(&r);
}

static void
test_pipelining_auth_plain(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO,
		"250-mx\r\n250-PIPELINING\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n",
		"235 2.7.0 Authentication successful\r\n",
		"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n", "354 go\r\n",
		"250 2.0.0 Ok: queued\r\n", NULL};
	struct run r;

	(void)st;
	p.username = "zegel";
	p.password = "s3cret";
	body_src = "a\r\n";
	body_len = 3;
	play_all(&p, s, &r);
	/* base64("\0zegel\0s3cret") */
	assert_string_equal(r.out,
	    "EHLO gw.example.test\r\n"
	    "STARTTLS\r\n"
	    "EHLO gw.example.test\r\n"
	    "AUTH PLAIN AHplZ2VsAHMzY3JldA==\r\n"
	    "MAIL FROM:<printer@example.test>\r\n"
	    "RCPT TO:<alice@example.net>\r\n"
	    "RCPT TO:<bob@example.net>\r\n"
	    "DATA\r\n"
	    "a\r\n.\r\n"
	    "QUIT\r\n");
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_nothing_before_tls(&r);
}

static void
test_auth_login(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, "250-mx\r\n250 AUTH=LOGIN\r\n",
		"334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "535 5.7.8 Authentication failed\r\n",
		NULL};
	struct run r;

	(void)st;
	p.username = "zegel";
	p.password = "pw";
	play_all(&p, s, &r);
	assert_string_equal(r.out,
	    "EHLO gw.example.test\r\nSTARTTLS\r\nEHLO gw.example.test\r\n"
	    "AUTH LOGIN\r\nemVnZWw=\r\ncHc=\r\nQUIT\r\n");
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.7.8"); /* admin's problem: the client keeps it */
	assert_non_null(strstr(r.res.text, "relay credentials"));
	assert_non_null(strstr(r.res.text, "535 5.7.8 Authentication failed"));
}

static void
test_no_auth_mechanism(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, "250-mx\r\n250 AUTH CRAM-MD5\r\n", NULL};
	struct run r;

	(void)st;
	p.username = "zegel";
	p.password = "pw";
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.7.0");
	assert_null(strstr(r.out, "AUTH"));
	assert_null(strstr(r.out, "MAIL"));
}

static void
test_no_starttls(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n", NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_string_equal(r.out, "EHLO gw.example.test\r\nQUIT\r\n");
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.7.4");
	assert_int_equal(r.res.err, SMTPC_E_NO_STARTTLS);
	assert_non_null(strstr(r.res.text, "does not offer STARTTLS"));
}

static void
test_starttls_refused(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, "454 4.7.0 TLS not available\r\n", NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_string_equal(r.out, "EHLO gw.example.test\r\nSTARTTLS\r\nQUIT\r\n");
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.7.0");
	assert_non_null(strstr(r.res.text, "454 4.7.0 TLS not available"));
}

static void
test_starttls_injection_discarded(void **st)
{
	struct smtpc_params p = params();
	/* a man in the middle appends a fake post-TLS EHLO reply and more */
	const char *s[] = {GREET, EHLO_PLAIN,
		"220 2.0.0 Ready\r\n250-evil\r\n250 AUTH PLAIN\r\n250 2.1.0 ok\r\n",
		"250-mx\r\n250 8BITMIME\r\n", "250 ok\r\n", "250 ok\r\n", "250 ok\r\n",
		"354 go\r\n", "250 2.0.0 queued\r\n", NULL};
	struct run r;

	(void)st;
	body_src = "x\r\n";
	body_len = 3;
	play(&p, s, 0, 0, &r);
	r.out[r.out_len] = '\0';
	assert_int_equal(r.discarded, strlen("250-evil\r\n250 AUTH PLAIN\r\n250 2.1.0 ok\r\n"));
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	/* EHLO again after TLS; the injected lines were not taken as its reply */
	assert_non_null(strstr(r.out, "STARTTLS\r\nEHLO gw.example.test\r\nMAIL FROM:"));
	assert_nothing_before_tls(&r);
}

static void
test_greeting_421(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {"421 4.3.2 Service shutting down\r\n", NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.3.2");
	assert_non_null(strstr(r.res.text, "421 4.3.2 Service shutting down"));
	assert_string_equal(r.out, "QUIT\r\n");
}

static void
test_greeting_554_becomes_transient(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {"554 5.7.1 go away\r\n", NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.7.1");
}

static void
test_one_rcpt_refused(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"250 2.1.5 Ok\r\n", "550 5.1.1 <bob@example.net>: Recipient address rejected\r\n",
		NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.code, 550);
	assert_string_equal(r.res.esc, "5.1.1");
	assert_int_equal(r.res.err, SMTPC_E_RCPT);
	assert_non_null(strstr(r.res.text, "upstream refused <bob@example.net>"));
	assert_non_null(strstr(r.res.text, "550 5.1.1 <bob@example.net>: Recipient address"));
	assert_null(strstr(r.out, "DATA"));
	assert_non_null(strstr(r.out, "QUIT\r\n"));
	/* per recipient: alice was accepted but nothing was sent (the whole
	 * verdict), bob has his own refusal */
	assert_int_equal(r.rr[0].code, 550);
	assert_non_null(strstr(r.rr[0].text, "not sent to anyone"));
	assert_int_equal(r.rr[1].code, 550);
	assert_string_equal(r.rr[1].esc, "5.1.1");
	assert_string_equal(r.rr[1].text,
	    "upstream refused <bob@example.net>: 550 5.1.1 <bob@example.net>: Recipient address "
	    "rejected");
	assert_int_equal(r.rr[2].code, -1);
}

static void
test_rcpt_permanent_beats_transient(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO,
		"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
		"250 Ok\r\n450 4.2.0 <alice@example.net>: greylisted\r\n550 no such user\r\n", NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 550);
	assert_string_equal(r.res.esc, "5.1.0"); /* upstream gave none: ours, class 5 */
	assert_non_null(strstr(r.res.text, "<bob@example.net>"));
	assert_null(strstr(r.out, "DATA"));
}

static void
test_rcpt_transient(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"452 4.5.3 Too many recipients\r\n", "250 Ok\r\n", NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.5.3");
	assert_null(strstr(r.out, "DATA"));
}

static void
test_mail_refused_pipelined(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO,
		"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
		"553 5.7.1 <printer@example.test>: Sender address rejected\r\n"
		"503 5.5.1 Error: need MAIL command\r\n503 5.5.1 Error: need MAIL command\r\n",
		NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 553);
	assert_string_equal(r.res.esc, "5.7.1");
	assert_int_equal(r.res.err, SMTPC_E_MAIL);
	assert_null(strstr(r.out, "DATA"));
}

static void
test_size_limit(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, "250-mx\r\n250 SIZE 10\r\n", NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 552);
	assert_string_equal(r.res.esc, "5.3.4");
	assert_null(strstr(r.out, "MAIL"));
}

static void
test_8bit_to_7bit_upstream(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, "250-mx\r\n250 SIZE\r\n", "250 ok\r\n",
		"250 ok\r\n", "250 ok\r\n", "354 go\r\n", NULL};
	struct run r;

	(void)st;
	p.body_8bit = true;
	body_src = "Subject: caf\xc3\xa9\r\n\r\nx\r\n";
	body_len = strlen(body_src);
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.code, 554);
	assert_string_equal(r.res.esc, "5.6.3");
	assert_true(r.in_body); /* the caller must close without the final dot */
	assert_null(strstr(r.out, "BODY=8BITMIME"));
	assert_null(strstr(r.out, "\r\n.\r\n"));
	assert_null(strstr(r.out, "QUIT"));
}

static void
test_8bit_declared_and_offered(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 ok\r\n", "250 ok\r\n",
		"250 ok\r\n", "354 go\r\n", "250 2.0.0 ok\r\n", NULL};
	struct run r;

	(void)st;
	p.body_8bit = true;
	body_src = "Subject: caf\xc3\xa9\r\n\r\nx\r\n";
	body_len = strlen(body_src);
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_non_null(strstr(r.out, "MAIL FROM:<printer@example.test> SIZE=40 BODY=8BITMIME\r\n"));
}

static void
test_smtputf8_missing(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, NULL};
	struct run r;

	(void)st;
	p.smtputf8 = true;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 553);
	assert_string_equal(r.res.esc, "5.6.7");
}

/* RFC 8689: REQUIRETLS goes on MAIL only to an upstream that offered it
 * after TLS; else 550 5.7.30 and no MAIL, never plaintext. */
static void
test_requiretls(void **st)
{
	struct smtpc_params p = params();
	const char *ok[] = {GREET, EHLO_PLAIN, TLS_GO,
		"250-mx.example.net\r\n250-REQUIRETLS\r\n250 ENHANCEDSTATUSCODES\r\n",
		"250 2.1.0 Ok\r\n", "250 2.1.5 Ok\r\n", "250 2.1.5 Ok\r\n", "354 go\r\n",
		"250 2.0.0 Ok: queued\r\n", NULL};
	/* offered before STARTTLS only: forgotten (RFC 3207 4.2) */
	const char *lacking[] = {GREET,
		"250-mx.example.net\r\n250-REQUIRETLS\r\n250 STARTTLS\r\n", TLS_GO, EHLO_TLS,
		NULL};
	const char *plain[] = {GREET, "250-mx.example.net\r\n250 REQUIRETLS\r\n", NULL};
	struct run r;

	(void)st;
	p.requiretls = true;
	body_src = "Subject: x\r\n\r\nbody\r\n";
	body_len = strlen(body_src);
	play_all(&p, ok, &r);
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_non_null(strstr(r.out, "MAIL FROM:<printer@example.test> REQUIRETLS\r\n"));
	play_all(&p, lacking, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.code, 550);
	assert_string_equal(r.res.esc, "5.7.30");
	assert_int_equal(r.res.err, SMTPC_E_REQUIRETLS);
	assert_null(strstr(r.out, "MAIL"));
	p.tls_mode = SMTPC_TLS_OPPORTUNISTIC; /* even so: never in plaintext */
	play_all(&p, plain, &r);
	assert_int_equal(r.res.code, 550);
	assert_string_equal(r.res.esc, "5.7.30");
	assert_null(strstr(r.out, "MAIL"));
	/* without the flag nothing changes, and no REQUIRETLS is sent */
	p = params();
	play_all(&p, ok, &r);
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_null(strstr(r.out, "REQUIRETLS"));
}

static void
test_final_dot_outcomes(void **st)
{
	struct smtpc_params p = params();
	const char *s4[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 ok\r\n", "250 ok\r\n",
		"250 ok\r\n", "354 go\r\n", "451 4.3.0 Error: queue file write error\r\n", NULL};
	const char *s5[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 ok\r\n", "250 ok\r\n",
		"250 ok\r\n", "354 go\r\n", "554-5.7.1 rejected\r\n554 5.7.1 spam\r\n", NULL};
	struct run r;

	(void)st;
	body_src = "x\r\n";
	body_len = 3;
	play_all(&p, s4, &r);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.3.0");
	play_all(&p, s5, &r);
	assert_int_equal(r.res.code, 554);
	assert_string_equal(r.res.esc, "5.7.1");
	assert_string_equal(r.res.text, "upstream refused the message: 554 5.7.1 rejected 5.7.1 spam");
}

static void
test_data_refused(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 ok\r\n", "250 ok\r\n",
		"250 ok\r\n", "554 5.5.1 Error: no valid recipients\r\n", NULL};
	struct run r;

	(void)st;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 554);
	assert_int_equal(r.res.err, SMTPC_E_DATA);
}

static void
closed_in(const char *const *s, const char *body, const char *needle, int want_in_body)
{
	struct smtpc_params p = params();
	struct smtpc c;
	size_t i;
	bool tls_done = false;

	body_src = body;
	body_len = strlen(body);
	smtpc_init(&c, &p);
	for (i = 0; s[i]; i++) {
		const uint8_t *o;
		smtpc_push(&c, (const uint8_t *)s[i], strlen(s[i]));
		if (smtpc_event(&c) == SMTPC_EV_NEED_TLS && !tls_done) {
			smtpc_tls_up(&c);
			tls_done = true;
		}
		if (smtpc_event(&c) == SMTPC_EV_NEED_BODY && want_in_body == 0) {
			smtpc_body(&c, (const uint8_t *)body_src, body_len);
			assert_int_equal(smtpc_body_end(&c), 0);
		}
		smtpc_out_ack(&c, smtpc_out(&c, &o));
	}
	smtpc_closed(&c);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_FAILED);
	assert_int_equal(smtpc_result(&c)->code, 451);
	assert_string_equal(smtpc_result(&c)->esc, "4.4.2");
	assert_non_null(strstr(smtpc_result(&c)->text, needle));
	assert_int_equal(smtpc_in_body(&c), want_in_body);
	/* a second close changes nothing */
	smtpc_closed(&c);
	assert_int_equal(smtpc_result(&c)->code, 451);
}

static void
test_connection_lost(void **st)
{
	const char *after_dot[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 ok\r\n", "250 ok\r\n",
		"250 ok\r\n", "354 go\r\n", NULL};
	const char *early[] = {GREET, NULL};

	(void)st;
	closed_in(after_dot, "x\r\n", "after the message was sent", 0);
	closed_in(after_dot, "x\r\n", "while sending the message", 1);
	closed_in(early, "", "upstream closed the connection (in ehlo)", 0);
}

static void
test_bare_lf_in_body(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 ok\r\n", "250 ok\r\n",
		"250 ok\r\n", "354 go\r\n", NULL};
	struct run r;

	(void)st;
	body_src = "a\r\nb\n.\r\nMAIL FROM:<x>\r\n";
	body_len = strlen(body_src);
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 554);
	assert_string_equal(r.res.esc, "5.6.0");
	assert_true(r.in_body);
	assert_null(strstr(r.out, "b\n"));
	body_src = "a\r\nb\r.\r\n";
	body_len = strlen(body_src);
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 554);
	body_src = "a\r\nb\r";
	body_len = strlen(body_src);
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 554);
}

static void
test_body_without_final_crlf(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 ok\r\n", "250 ok\r\n",
		"250 ok\r\n", "354 go\r\n", "250 ok\r\n", NULL};
	struct run r;

	(void)st;
	body_src = "H: v\r\n\r\n.\r\nlast";
	body_len = strlen(body_src);
	play_all(&p, s, &r);
	assert_non_null(strstr(r.out, "DATA\r\nH: v\r\n\r\n..\r\nlast\r\n.\r\nQUIT\r\n"));
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_string_equal(r.res.esc, "2.0.0");
}

static void
test_implicit_tls(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, "250-mx\r\n250 AUTH PLAIN\r\n", "235 ok\r\n", "250 ok\r\n",
		"250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 ok\r\n", NULL};
	struct run r;

	(void)st;
	p.implicit_tls = true;
	p.username = "u";
	p.password = "p";
	body_src = "x\r\n";
	body_len = 3;
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_null(strstr(r.out, "STARTTLS"));
	assert_non_null(strstr(r.out, "EHLO gw.example.test\r\nAUTH PLAIN AHUAcA==\r\nMAIL"));
}

static void
test_malformed_replies(void **st)
{
	struct smtpc_params p = params();
	const char *s1[] = {"hello there\r\n", NULL};
	const char *s2[] = {"220-a\r\n230 b\r\n", NULL};
	const char *s3[] = {"22\r\n", NULL};
	const char *s4[] = {"220x\r\n", NULL};
	static char longline[4000];
	const char *s5[] = {longline, NULL};
	struct run r;

	(void)st;
	play_all(&p, s1, &r);
	assert_int_equal(r.res.err, SMTPC_E_SYNTAX);
	assert_int_equal(r.res.code, 451);
	play_all(&p, s2, &r);
	assert_int_equal(r.res.err, SMTPC_E_SYNTAX);
	play_all(&p, s3, &r);
	assert_int_equal(r.res.err, SMTPC_E_SYNTAX);
	play_all(&p, s4, &r);
	assert_int_equal(r.res.err, SMTPC_E_SYNTAX);
	memset(longline, 'a', sizeof(longline) - 3);
	memcpy(longline, "220 ", 4);
	memcpy(longline + sizeof(longline) - 3, "\r\n", 3);
	play_all(&p, s5, &r);
	assert_int_equal(r.res.err, SMTPC_E_LINE);
	assert_string_equal(r.res.esc, "4.5.0");
}

static void
test_reply_before_command(void **st)
{
	struct smtpc_params p = params();
	/* pipelined garbage: three RCPT replies for two recipients, before DATA */
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, "250-mx\r\n250 PIPELINING\r\n",
		"250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n250 ok\r\n", NULL};
	struct run r;

	(void)st;
	body_src = "x\r\n";
	body_len = 3;
	play(&p, s, 0, 0, &r);
	/* the third 250 is taken for DATA's reply, which is wrong: not 354 */
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_null(strstr(r.out, "x\r\n.\r\n"));
}

static void
test_misuse_is_harmless(void **st)
{
	struct smtpc_params p = params();
	struct smtpc c;

	(void)st;
	smtpc_init(&c, &p);
	assert_int_equal(smtpc_body(&c, (const uint8_t *)"x", 1), 0);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_FAILED);
	assert_int_equal(smtpc_result(&c)->err, SMTPC_E_STATE);
	smtpc_init(&c, &p);
	assert_int_equal(smtpc_body_end(&c), -1);
	smtpc_init(&c, &p);
	smtpc_tls_up(&c);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_FAILED);
	assert_string_equal(smtpc_state_name(SMTPC_S_DOT), "final-dot");
	assert_string_equal(smtpc_strerror(SMTPC_E_NO_STARTTLS), "upstream does not offer STARTTLS");
	assert_string_equal(smtpc_strerror((enum smtpc_err)-99), "?");
}

static char trace_buf[1024];

static void
trace(void *arg, const char *from, const char *to)
{
	size_t l = strlen(trace_buf);
	(void)arg;
	snprintf(trace_buf + l, sizeof(trace_buf) - l, "%s->%s ", from, to);
}

static void
test_trace_names(void **st)
{
	struct smtpc_params p = params();
	struct smtpc c;
	const char *s[] = {GREET, "250-mx\r\n250 STARTTLS\r\n", TLS_GO, NULL};
	int i;

	(void)st;
	trace_buf[0] = '\0';
	smtpc_init(&c, &p);
	smtpc_set_trace(&c, trace, NULL);
	for (i = 0; s[i]; i++)
		smtpc_push(&c, (const uint8_t *)s[i], strlen(s[i]));
	smtpc_tls_up(&c);
	assert_string_equal(trace_buf,
	    "greeting->ehlo ehlo->starttls starttls->tls-handshake tls-handshake->ehlo-tls ");
}

static void
test_secret_wiped_after_drain(void **st)
{
	struct smtpc_params p = params();
	struct smtpc c;
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, "250-mx\r\n250 AUTH PLAIN\r\n", NULL};
	const uint8_t *o;
	size_t i, n;

	(void)st;
	p.username = "zegel";
	p.password = "s3cret";
	smtpc_init(&c, &p);
	for (i = 0; s[i]; i++) {
		smtpc_push(&c, (const uint8_t *)s[i], strlen(s[i]));
		if (smtpc_event(&c) == SMTPC_EV_NEED_TLS)
			smtpc_tls_up(&c);
		n = smtpc_out(&c, &o);
		smtpc_out_ack(&c, n);
	}
	for (i = 0; i + 4 <= sizeof(c.out); i++)
		assert_false(memcmp(c.out + i, "AHpl", 4) == 0);
}

/* ------------------------------------------------------------ opportunistic TLS */

#define EHLO_NO_TLS "250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000\r\n"

static void
test_opportunistic_no_starttls(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_NO_TLS, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n",
		"354 go\r\n", "250 2.0.0 Ok: queued as P1\r\n", NULL};
	struct run r;

	(void)st;
	p.tls_mode = SMTPC_TLS_OPPORTUNISTIC;
	body_src = "Subject: x\r\n\r\n.dot\r\n";
	body_len = strlen(body_src);
	play_all(&p, s, &r);
	assert_string_equal(r.out,
	    "EHLO gw.example.test\r\n"
	    "MAIL FROM:<printer@example.test> SIZE=40\r\n"
	    "RCPT TO:<alice@example.net>\r\n"
	    "RCPT TO:<bob@example.net>\r\n"
	    "DATA\r\n"
	    "Subject: x\r\n\r\n..dot\r\n.\r\n"
	    "QUIT\r\n");
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_int_equal(r.res.code, 250);
	assert_false(r.tls_used);
	assert_int_equal(r.tls_at, (size_t)-1);
	/* the same script with the default mode: no delivery */
	p.tls_mode = SMTPC_TLS_REQUIRED;
	play_all(&p, s, &r);
	assert_string_equal(r.out, "EHLO gw.example.test\r\nQUIT\r\n");
	assert_string_equal(r.res.esc, "4.7.4");
}

static void
test_opportunistic_uses_offered_starttls(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"250 2.1.5 Ok\r\n", "250 2.1.5 Ok\r\n", "354 go\r\n", "250 2.0.0 Ok\r\n", NULL};
	struct run r;

	(void)st;
	p.tls_mode = SMTPC_TLS_OPPORTUNISTIC;
	body_src = "x\r\n";
	body_len = 3;
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_true(r.tls_used);
	assert_non_null(strstr(r.out, "STARTTLS\r\nEHLO gw.example.test\r\nMAIL FROM:"));
	assert_nothing_before_tls(&r);
}

static void
test_opportunistic_starttls_refused(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, "454 4.7.0 TLS not available due to local problem\r\n",
		"250 ok\r\n", "250 ok\r\n", "250 ok\r\n", "354 go\r\n", "250 2.0.0 Ok\r\n", NULL};
	struct run r;

	(void)st;
	p.tls_mode = SMTPC_TLS_OPPORTUNISTIC;
	body_src = "x\r\n";
	body_len = 3;
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_false(r.tls_used);
	assert_non_null(strstr(r.out, "STARTTLS\r\nMAIL FROM:<printer@example.test> SIZE=40\r\n"));
	assert_null(strstr(r.out, "EHLO gw.example.test\r\nSTARTTLS\r\nEHLO"));
}

static void
test_opportunistic_never_sends_credentials_in_plaintext(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, "250-mx\r\n250 AUTH PLAIN LOGIN\r\n", NULL};
	const char *s2[] = {GREET, EHLO_PLAIN, "454 4.7.0 no TLS now\r\n", NULL};
	struct run r;

	(void)st;
	p.tls_mode = SMTPC_TLS_OPPORTUNISTIC;
	p.username = "zegel";
	p.password = "s3cret";
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.7.4");
	assert_string_equal(r.out, "EHLO gw.example.test\r\nQUIT\r\n");
	play_all(&p, s2, &r);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.7.0");
	assert_non_null(strstr(r.res.text, "credentials are not sent in plaintext"));
	assert_string_equal(r.out, "EHLO gw.example.test\r\nSTARTTLS\r\nQUIT\r\n");
}

/* ------------------------------------------------------------ partial_ok */

static void
test_partial_ok_one_refused(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"250 2.1.5 Ok\r\n", "550 5.1.1 <bob@example.net>: Recipient address rejected\r\n",
		"354 go\r\n", "250 2.0.0 Ok: queued as Q7\r\n", NULL};
	struct run r;

	(void)st;
	p.partial_ok = true;
	body_src = "x\r\n";
	body_len = 3;
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_non_null(strstr(r.out, "RCPT TO:<bob@example.net>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n"));
	assert_int_equal(r.rr[0].code, 250);
	assert_string_equal(r.rr[0].text, "250 2.0.0 Ok: queued as Q7");
	assert_int_equal(r.rr[1].code, 550);
	assert_string_equal(r.rr[1].esc, "5.1.1");
	assert_int_equal(r.rr[1].err, SMTPC_E_RCPT);
	assert_int_equal(r.rr[1].upstream_code, 550);
	assert_string_equal(r.rr[1].text,
	    "upstream refused <bob@example.net>: 550 5.1.1 <bob@example.net>: Recipient address "
	    "rejected");
	assert_int_equal(r.rr[2].code, -1); /* there is no third recipient */
}

/* keep_open: after a delivered message the session stays open (no QUIT);
 * smtpc_next() sends the next transaction without EHLO or a new TLS
 * handshake; smtpc_quit() ends it. */
static void
feed(struct smtpc *c, struct run *r, const char *s)
{
	assert_int_equal(smtpc_push(c, (const uint8_t *)s, strlen(s)), strlen(s));
	settle(c, r);
}

static void
test_keep_open_reuse(void **st)
{
	struct smtpc_params p = params(), p2;
	struct smtpc_result rres[2];
	static struct run r;
	struct smtpc c;
	size_t mark;

	(void)st;
	p.keep_open = true;
	p.partial_ok = true;
	p.rcpt_results = rres;
	memset(&r, 0, sizeof(r));
	r.tls_at = (size_t)-1;
	body_src = "x\r\n";
	body_len = 3;
	smtpc_init(&c, &p);
	settle(&c, &r);
	/* the first smtpc_next() before any delivery is refused */
	assert_int_equal(smtpc_next(&c, &p), -1);
	feed(&c, &r, GREET);
	feed(&c, &r, EHLO_PLAIN);
	feed(&c, &r, TLS_GO);
	feed(&c, &r, EHLO_TLS);
	feed(&c, &r, "250 2.1.0 Ok\r\n");
	feed(&c, &r, "250 2.1.5 Ok\r\n");
	feed(&c, &r, "250 2.1.5 Ok\r\n");
	feed(&c, &r, "354 go\r\n");
	feed(&c, &r, "250 2.0.0 Ok: queued as A1\r\n");
	assert_int_equal(smtpc_event(&c), SMTPC_EV_DONE);
	assert_true(smtpc_idle(&c));
	assert_true(smtpc_dot_sent(&c));
	r.out[r.out_len] = '\0';
	assert_null(strstr(r.out, "QUIT"));
	mark = r.out_len;

	p2 = p;
	p2.mail_from = "scanner@example.test";
	p2.rcpts = "carol@example.net";
	p2.nrcpt = 1;
	p2.size = 20;
	r.body_fed = 0;
	assert_int_equal(smtpc_next(&c, &p2), 0);
	settle(&c, &r);
	assert_false(smtpc_idle(&c));
	assert_false(smtpc_dot_sent(&c)); /* a new transaction */
	assert_int_equal(smtpc_event(&c), SMTPC_EV_NONE);
	feed(&c, &r, "250 2.1.0 Ok\r\n");
	feed(&c, &r, "550 5.1.1 no such user\r\n"); /* the only recipient: FAILED, no DATA */
	assert_int_equal(smtpc_event(&c), SMTPC_EV_FAILED);
	assert_false(smtpc_idle(&c)); /* a failed transaction is not reused */
	r.out[r.out_len] = '\0';
	assert_string_equal(r.out + mark, "MAIL FROM:<scanner@example.test> SIZE=20\r\n"
	    "RCPT TO:<carol@example.net>\r\nQUIT\r\n");
	assert_int_equal(smtpc_rcpt_result(&c, 0)->code, 550);
	assert_true(smtpc_tls_used(&c));
	assert_int_equal(smtpc_next(&c, &p2), -1);
	smtpc_free(&c);
}

/* The connection is lost after the final dot: FAILED, but the message went
 * out (smtpc_dot_sent): the caller must treat it as unconfirmed, not as
 * never sent. Lost before the dot: not sent. */
static void
test_lost_after_dot(void **st)
{
	struct smtpc_params p = params();
	static struct run r;
	struct smtpc c;

	(void)st;
	memset(&r, 0, sizeof(r));
	r.tls_at = (size_t)-1;
	body_src = "x\r\n";
	body_len = 3;
	smtpc_init(&c, &p);
	settle(&c, &r);
	feed(&c, &r, GREET);
	feed(&c, &r, EHLO_PLAIN);
	feed(&c, &r, TLS_GO);
	feed(&c, &r, EHLO_TLS);
	feed(&c, &r, "250 2.1.0 Ok\r\n");
	feed(&c, &r, "250 2.1.5 Ok\r\n");
	assert_false(smtpc_dot_sent(&c));
	feed(&c, &r, "250 2.1.5 Ok\r\n");
	feed(&c, &r, "354 go\r\n");
	assert_true(smtpc_dot_sent(&c));
	smtpc_closed(&c);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_FAILED);
	assert_int_equal(smtpc_result(&c)->err, SMTPC_E_CLOSED);
	assert_true(smtpc_dot_sent(&c));
	smtpc_free(&c);

	memset(&r, 0, sizeof(r));
	r.tls_at = (size_t)-1;
	smtpc_init(&c, &p);
	settle(&c, &r);
	feed(&c, &r, GREET);
	feed(&c, &r, EHLO_PLAIN);
	smtpc_closed(&c);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_FAILED);
	assert_false(smtpc_dot_sent(&c));
	smtpc_free(&c);
}

static void
test_keep_open_quit(void **st)
{
	struct smtpc_params p = params();
	static struct run r;
	struct smtpc c;
	size_t mark;

	(void)st;
	p.keep_open = true;
	memset(&r, 0, sizeof(r));
	r.tls_at = (size_t)-1;
	body_src = "x\r\n";
	body_len = 3;
	smtpc_init(&c, &p);
	settle(&c, &r);
	feed(&c, &r, GREET);
	feed(&c, &r, EHLO_PLAIN);
	feed(&c, &r, TLS_GO);
	feed(&c, &r, EHLO_TLS);
	feed(&c, &r, "250 2.1.0 Ok\r\n");
	feed(&c, &r, "250 2.1.5 Ok\r\n");
	feed(&c, &r, "250 2.1.5 Ok\r\n");
	feed(&c, &r, "354 go\r\n");
	feed(&c, &r, "250 2.0.0 Ok: queued as A1\r\n");
	assert_true(smtpc_idle(&c));
	mark = r.out_len;
	smtpc_quit(&c);
	settle(&c, &r);
	r.out[r.out_len] = '\0';
	assert_string_equal(r.out + mark, "QUIT\r\n");
	assert_false(smtpc_idle(&c));
	assert_int_equal(smtpc_next(&c, &p), -1);
	smtpc_free(&c);
}

static void
test_partial_ok_transient_and_pipelined(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO,
		"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
		"250 Ok\r\n450 4.2.0 <alice@example.net>: greylisted\r\n250 2.1.5 Ok\r\n",
		"354 go\r\n", "250 2.0.0 queued\r\n", NULL};
	struct run r;

	(void)st;
	p.partial_ok = true;
	body_src = "x\r\n";
	body_len = 3;
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_int_equal(r.rr[0].code, 451); /* deferred, with the upstream's code */
	assert_string_equal(r.rr[0].esc, "4.2.0");
	assert_int_equal(r.rr[0].upstream_code, 450);
	assert_int_equal(r.rr[1].code, 250);
}

static void
test_partial_ok_none_accepted(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"452 4.2.2 mailbox full\r\n", "550 5.1.1 no such user\r\n", NULL};
	struct run r;

	(void)st;
	p.partial_ok = true;
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_null(strstr(r.out, "DATA"));
	assert_int_equal(r.res.code, 550); /* the permanent one decides the whole */
	assert_int_equal(r.rr[0].code, 451);
	assert_string_equal(r.rr[0].esc, "4.2.2");
	assert_int_equal(r.rr[1].code, 550);
	assert_string_equal(r.rr[1].esc, "5.1.1");
}

static void
test_partial_ok_dot_refused(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"550 5.1.1 unknown\r\n", "250 2.1.5 Ok\r\n", "354 go\r\n",
		"554 5.7.1 spam\r\n", NULL};
	struct run r;

	(void)st;
	p.partial_ok = true;
	body_src = "x\r\n";
	body_len = 3;
	play_all(&p, s, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.rr[0].code, 550);
	assert_string_equal(r.rr[0].esc, "5.1.1");
	assert_int_equal(r.rr[1].code, 554); /* the accepted one: the final dot's verdict */
	assert_string_equal(r.rr[1].esc, "5.7.1");
}

static void
test_partial_ok_mail_refused(void **st)
{
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO,
		"250-mx\r\n250-PIPELINING\r\n250 STARTTLS\r\n",
		"553 5.7.1 sender rejected\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n", NULL};
	struct run r;

	(void)st;
	p.partial_ok = true;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 553);
	/* the 503s are not taken as recipient verdicts */
	assert_int_equal(r.rr[0].code, 553);
	assert_int_equal(r.rr[1].code, 553);
	assert_int_equal(r.rr[1].err, SMTPC_E_MAIL);
}

static void
test_partial_ok_limits(void **st)
{
	static char many[(SMTPC_RCPT_RESULTS + 1) * 8];
	struct smtpc_params p = params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, NULL};
	struct smtpc c;
	size_t o = 0;
	struct run r;

	(void)st;
	for (unsigned i = 0; i <= SMTPC_RCPT_RESULTS; i++)
		o += (size_t)snprintf(many + o, sizeof(many) - o, "r%u@x", i) + 1;
	p.rcpts = many;
	p.nrcpt = SMTPC_RCPT_RESULTS + 1;
	p.partial_ok = true;
	play_all(&p, s, &r);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.5.3");
	assert_null(strstr(r.out, "MAIL"));
	/* with the caller's storage there is no such limit */
	{
		static struct smtpc_result rr[SMTPC_RCPT_RESULTS + 1];
		static char replies[(SMTPC_RCPT_RESULTS + 2) * 16];
		const char *s2[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
			replies, "354 go\r\n", "250 2.0.0 Ok\r\n", NULL};
		size_t k = 0;

		for (unsigned i = 0; i <= SMTPC_RCPT_RESULTS; i++)
			k += (size_t)snprintf(replies + k, sizeof(replies) - k, "%s\r\n",
			    i == SMTPC_RCPT_RESULTS ? "550 5.1.1 no" : "250 ok");
		/* one chunk of RCPT replies would be wrong without PIPELINING:
		 * feed them reply by reply through play() */
		memset(rr, 0xa5, sizeof(rr));
		p.rcpt_results = rr;
		body_src = "x\r\n";
		body_len = 3;
		smtpc_init(&c, &p);
		for (int i = 0; s2[i]; i++) {
			const uint8_t *o;
			const char *q = s2[i];
			while (*q) {
				const char *e = strchr(q, '\n') + 1;
				smtpc_push(&c, (const uint8_t *)q, (size_t)(e - q));
				q = e;
				if (smtpc_event(&c) == SMTPC_EV_NEED_TLS)
					smtpc_tls_up(&c);
				if (smtpc_event(&c) == SMTPC_EV_NEED_BODY) {
					smtpc_body(&c, (const uint8_t *)body_src, body_len);
					assert_int_equal(smtpc_body_end(&c), 0);
				}
				smtpc_out_ack(&c, smtpc_out(&c, &o));
			}
		}
		assert_int_equal(smtpc_event(&c), SMTPC_EV_DONE);
		assert_int_equal(smtpc_rcpt_result(&c, 0)->code, 250);
		assert_ptr_equal(smtpc_rcpt_result(&c, SMTPC_RCPT_RESULTS), &rr[SMTPC_RCPT_RESULTS]);
		assert_int_equal(rr[SMTPC_RCPT_RESULTS].code, 550);
		assert_int_equal(rr[0].code, 0); /* zeroed by init: accepted ones stay 0 */
		smtpc_free(&c);
	}
	/* before the end there is no per-recipient verdict */
	p = params();
	p.partial_ok = true;
	smtpc_init(&c, &p);
	assert_null(smtpc_rcpt_result(&c, 0));
	assert_null(smtpc_rcpt_result(&c, 2));
	smtpc_free(&c);
}

/* ------------------------------------------------------------ stepwise */

/* Steps: upstream bytes, or "!rcpt ADDR", "!data SIZE", "!noop", "!cancel".
 * Verdicts of the caller's RCPTs are appended to vlog as "CODE ESC;". */
static char vlog[512];

static void
step_play(const struct smtpc_params *pp, const char *const *steps, bool bytewise, struct run *r)
{
	struct smtpc c;

	memset(r, 0, sizeof(*r));
	vlog[0] = '\0';
	r->tls_at = (size_t)-1;
	smtpc_init(&c, pp);
	settle(&c, r);
	for (int i = 0; steps[i] != NULL; i++) {
		const char *st = steps[i];

		if (strncmp(st, "!rcpt ", 6) == 0) {
			assert_int_equal(smtpc_rcpt(&c, st + 6), 0);
		} else if (strncmp(st, "!data ", 6) == 0) {
			assert_int_equal(smtpc_data(&c, strtoull(st + 6, NULL, 10)), 0);
		} else if (strcmp(st, "!noop") == 0) {
			assert_int_equal(smtpc_noop(&c), 0);
		} else if (strcmp(st, "!cancel") == 0) {
			smtpc_cancel(&c);
		} else {
			size_t n = strlen(st), off = 0;
			unsigned replied = c.rcpt_replied;
			while (off < n) {
				size_t used = smtpc_push(&c, (const uint8_t *)st + off,
				    bytewise ? 1 : n - off);
				off += used;
				if (settle(&c, r))
					break;
			}
			if (smtpc_event(&c) == SMTPC_EV_RCPT && c.rcpt_replied != replied) {
				size_t l = strlen(vlog);
				const struct smtpc_result *v = smtpc_rcpt_last(&c);
				snprintf(vlog + l, sizeof(vlog) - l, "%d %s;", v->code, v->esc);
			}
		}
		settle(&c, r);
	}
	r->out[r->out_len] = '\0';
	r->ev = smtpc_event(&c);
	r->res = *smtpc_result(&c);
	r->in_body = smtpc_in_body(&c);
	smtpc_free(&c);
}

static struct smtpc_params
step_params(void)
{
	struct smtpc_params p = params();

	p.stepwise = true;
	p.rcpts = NULL;
	p.nrcpt = 0;
	p.size = 0;
	return p;
}

static void
test_stepwise_session(void **st)
{
	struct smtpc_params p = step_params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO,
		"!rcpt alice@example.net",      /* before MAIL is even sent: kept */
		EHLO_TLS, "250 2.1.0 Ok\r\n", "250 2.1.5 Ok\r\n",
		"!rcpt bob@example.net", "550 5.1.1 <bob@example.net>: User unknown\r\n",
		"!rcpt carol@example.net", "450 4.2.1 try later\r\n",
		"!noop", "250 2.0.0 Ok\r\n",
		"!data 60", "354 go\r\n", "250 2.0.0 Ok: queued as S1\r\n", NULL};
	struct run r, rb;

	(void)st;
	body_src = "Subject: s\r\n\r\n.x\r\n";
	body_len = strlen(body_src);
	step_play(&p, s, false, &r);
	assert_string_equal(r.out,
	    "EHLO gw.example.test\r\n"
	    "STARTTLS\r\n"
	    "EHLO gw.example.test\r\n"
	    "MAIL FROM:<printer@example.test>\r\n"    /* no SIZE declared: none sent */
	    "RCPT TO:<alice@example.net>\r\n"
	    "RCPT TO:<bob@example.net>\r\n"
	    "RCPT TO:<carol@example.net>\r\n"
	    "NOOP\r\n"
	    "DATA\r\n"
	    "Subject: s\r\n\r\n..x\r\n.\r\n"
	    "QUIT\r\n");
	assert_string_equal(vlog, "250 2.1.5;550 5.1.1;451 4.2.1;");
	assert_int_equal(r.ev, SMTPC_EV_DONE);
	assert_string_equal(r.res.text, "250 2.0.0 Ok: queued as S1");
	assert_nothing_before_tls(&r);
	/* byte by byte: the same transcript and verdicts */
	{
		char v1[512];
		strcpy(v1, vlog);
		step_play(&p, s, true, &rb);
		assert_string_equal(rb.out, r.out);
		assert_string_equal(vlog, v1);
	}
}

static void
test_stepwise_verdict_texts(void **st)
{
	struct smtpc_params p = step_params();
	struct smtpc c;
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, NULL};
	const uint8_t *o;

	(void)st;
	p.size = 500;
	smtpc_init(&c, &p);
	for (int i = 0; s[i]; i++) {
		smtpc_push(&c, (const uint8_t *)s[i], strlen(s[i]));
		if (smtpc_event(&c) == SMTPC_EV_NEED_TLS)
			smtpc_tls_up(&c);
		smtpc_out_ack(&c, smtpc_out(&c, &o));
	}
	/* no DATA before an accepted recipient, no second RCPT while one waits */
	assert_int_equal(smtpc_data(&c, 10), -1);
	assert_int_equal(smtpc_rcpt(&c, "a@example.net"), 0);
	assert_int_equal(smtpc_rcpt(&c, "b@example.net"), -1);
	smtpc_push(&c, (const uint8_t *)EHLO_TLS, strlen(EHLO_TLS));
	assert_int_equal(smtpc_out(&c, &o), strlen("MAIL FROM:<printer@example.test> SIZE=500\r\n"));
	assert_true(memcmp(o, "MAIL FROM:<printer@example.test> SIZE=500\r\n", 43) == 0);
	smtpc_out_ack(&c, smtpc_out(&c, &o));
	smtpc_push(&c, (const uint8_t *)"250 ok\r\n", 8);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_NONE);
	smtpc_out_ack(&c, smtpc_out(&c, &o));
	smtpc_push(&c, (const uint8_t *)"550 no such user here\r\n", 23);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_RCPT);
	assert_int_equal(smtpc_rcpt_last(&c)->code, 550);
	assert_string_equal(smtpc_rcpt_last(&c)->esc, "5.1.0");
	assert_string_equal(smtpc_rcpt_last(&c)->text,
	    "upstream refused <a@example.net>: 550 no such user here");
	assert_int_equal(smtpc_rcpt_accepted(&c), 0);
	assert_int_equal(smtpc_data(&c, 10), -1);
	assert_int_equal(smtpc_rcpt(&c, "b@example.net"), 0);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_NONE);
	smtpc_out_ack(&c, smtpc_out(&c, &o));
	smtpc_push(&c, (const uint8_t *)"251 2.1.5 will forward\r\n", 24);
	assert_int_equal(smtpc_rcpt_last(&c)->code, 250);
	assert_string_equal(smtpc_rcpt_last(&c)->text, "251 2.1.5 will forward");
	/* over the upstream's SIZE (1000) once the real size is known */
	assert_int_equal(smtpc_data(&c, 1001), 0);
	assert_int_equal(smtpc_event(&c), SMTPC_EV_FAILED);
	assert_int_equal(smtpc_result(&c)->code, 552);
	assert_string_equal(smtpc_result(&c)->esc, "5.3.4");
	assert_int_equal(smtpc_out(&c, &o), 6); /* QUIT */
	assert_int_equal(smtpc_rcpt(&c, "c@example.net"), -1);
	smtpc_free(&c);
}

static void
test_stepwise_mail_refused(void **st)
{
	struct smtpc_params p = step_params();
	const char *s[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "!rcpt alice@example.net",
		"553 5.7.1 <printer@example.test>: Sender address rejected\r\n", NULL};
	struct run r;

	(void)st;
	step_play(&p, s, false, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.code, 553);
	assert_string_equal(r.res.esc, "5.7.1");
	assert_null(strstr(r.out, "RCPT")); /* never sent after a refused MAIL */
	assert_string_equal(vlog, "");
}

static void
test_stepwise_cancel_and_hangup(void **st)
{
	struct smtpc_params p = step_params();
	const char *s1[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"!rcpt alice@example.net", "250 2.1.5 Ok\r\n", "!cancel", "221 Bye\r\n", NULL};
	const char *s2[] = {GREET, EHLO_PLAIN, TLS_GO, EHLO_TLS, "250 2.1.0 Ok\r\n",
		"!rcpt alice@example.net", "250 2.1.5 Ok\r\n",
		"421 4.4.2 mx Error: timeout exceeded\r\n", NULL};
	const char *s3[] = {GREET, "!rcpt alice@example.net", "!cancel", NULL};
	struct run r;

	(void)st;
	step_play(&p, s1, false, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.err, SMTPC_E_CANCELLED);
	assert_null(strstr(r.out, "DATA"));
	assert_non_null(strstr(r.out, "RCPT TO:<alice@example.net>\r\nQUIT\r\n"));
	step_play(&p, s2, false, &r);
	assert_int_equal(r.ev, SMTPC_EV_FAILED);
	assert_int_equal(r.res.code, 451);
	assert_string_equal(r.res.esc, "4.4.2");
	assert_non_null(strstr(r.res.text, "while zegel waited for its client"));
	/* cancelled before TLS: nothing but EHLO and QUIT went out */
	step_play(&p, s3, false, &r);
	assert_string_equal(r.out, "EHLO gw.example.test\r\nQUIT\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_no_pipelining),
		cmocka_unit_test(test_requiretls),
		cmocka_unit_test(test_pipelining_auth_plain),
		cmocka_unit_test(test_auth_login),
		cmocka_unit_test(test_no_auth_mechanism),
		cmocka_unit_test(test_no_starttls),
		cmocka_unit_test(test_starttls_refused),
		cmocka_unit_test(test_starttls_injection_discarded),
		cmocka_unit_test(test_greeting_421),
		cmocka_unit_test(test_greeting_554_becomes_transient),
		cmocka_unit_test(test_one_rcpt_refused),
		cmocka_unit_test(test_rcpt_permanent_beats_transient),
		cmocka_unit_test(test_rcpt_transient),
		cmocka_unit_test(test_mail_refused_pipelined),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_8bit_to_7bit_upstream),
		cmocka_unit_test(test_8bit_declared_and_offered),
		cmocka_unit_test(test_smtputf8_missing),
		cmocka_unit_test(test_final_dot_outcomes),
		cmocka_unit_test(test_data_refused),
		cmocka_unit_test(test_connection_lost),
		cmocka_unit_test(test_bare_lf_in_body),
		cmocka_unit_test(test_body_without_final_crlf),
		cmocka_unit_test(test_implicit_tls),
		cmocka_unit_test(test_malformed_replies),
		cmocka_unit_test(test_reply_before_command),
		cmocka_unit_test(test_misuse_is_harmless),
		cmocka_unit_test(test_trace_names),
		cmocka_unit_test(test_secret_wiped_after_drain),
		cmocka_unit_test(test_opportunistic_no_starttls),
		cmocka_unit_test(test_opportunistic_uses_offered_starttls),
		cmocka_unit_test(test_opportunistic_starttls_refused),
		cmocka_unit_test(test_opportunistic_never_sends_credentials_in_plaintext),
		cmocka_unit_test(test_partial_ok_one_refused),
		cmocka_unit_test(test_partial_ok_transient_and_pipelined),
		cmocka_unit_test(test_partial_ok_none_accepted),
		cmocka_unit_test(test_keep_open_reuse),
		cmocka_unit_test(test_keep_open_quit),
		cmocka_unit_test(test_lost_after_dot),
		cmocka_unit_test(test_partial_ok_dot_refused),
		cmocka_unit_test(test_partial_ok_mail_refused),
		cmocka_unit_test(test_partial_ok_limits),
		cmocka_unit_test(test_stepwise_session),
		cmocka_unit_test(test_stepwise_verdict_texts),
		cmocka_unit_test(test_stepwise_mail_refused),
		cmocka_unit_test(test_stepwise_cancel_and_hangup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
