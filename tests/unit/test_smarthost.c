/*
 * Smarthost relay target end to end in one process: the real event loop
 * (firmware/core/loop.c), the target (smarthost.c + upstream.c + smtpc + the
 * TLS client) and, on the same loop, a fake upstream on 127.0.0.1 with an
 * mbedTLS server using the test PKI in tests/vectors/relay/. The fake
 * records every byte it received before TLS and everything after, so each
 * case checks the verdict the LAN client would get AND that no envelope or
 * message byte crossed the wire in plaintext.
 *
 * Ports: the fake listens on a port the kernel picks (port 0), so runs of
 * this suite in several checkouts at once do not collide.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>

#include "firmware/app/targets.h"
#include "firmware/core/loop.h"
#include "firmware/spool/handoff.h"
#include "firmware/relay/smarthost.h"
#include "firmware/relay/upstream.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "zegel/board.h"

enum fmode {
	FM_OK = 0,
	FM_NOSTARTTLS,
	FM_BADTLS,       /* 220 to STARTTLS, then garbage instead of a ServerHello */
	FM_GREET421,
	FM_DROPDOT,      /* closes after the final dot, no reply */
	FM_RCPT550,      /* 550 for recipients starting with "bad" */
	FM_INJECT,       /* plaintext pipelined after the 220 to STARTTLS */
	FM_SILENT,       /* never says anything */
	FM_FINAL451,
};

struct fake {
	enum fmode mode;
	const char *cert, *key;
	int h;
	bool tls, in_data, close_after_tx, closed;
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	uint8_t raw[8192];
	size_t raw_len;           /* ciphertext not yet consumed by mbedTLS */
	uint8_t out[16384];
	size_t out_len;
	char line[2048];
	size_t line_len;
	char plain[16384];        /* received before TLS */
	size_t plain_len;
	char app[65536];          /* received inside TLS */
	size_t app_len;
	char data[65536];         /* the DATA content as received (dot-stuffed) */
	size_t data_len;
	int connections;
};

static struct fake F;
static bool got;
static struct handoff_result R;
static char vecdir[512];

static const char *
vec(const char *name)
{
	static char buf[8][600];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", vecdir, name);
	return buf[i];
}

/* ------------------------------------------------------------ fake upstream */

static void
fsend(const char *s)
{
	size_t n = strlen(s);

	if (F.tls) {
		size_t off = 0;
		while (off < n) {
			int r = mbedtls_ssl_write(&F.ssl, (const uint8_t *)s + off, n - off);
			assert_true(r > 0);
			off += (size_t)r;
		}
	} else {
		assert_true(F.out_len + n <= sizeof(F.out));
		memcpy(F.out + F.out_len, s, n);
		F.out_len += n;
	}
}

static int
fbio_send(void *ctx, const unsigned char *p, size_t n)
{
	(void)ctx;
	if (F.out_len + n > sizeof(F.out))
		n = sizeof(F.out) - F.out_len;
	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	memcpy(F.out + F.out_len, p, n);
	F.out_len += n;
	return (int)n;
}

static int
fbio_recv(void *ctx, unsigned char *p, size_t n)
{
	(void)ctx;
	if (F.raw_len == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > F.raw_len)
		n = F.raw_len;
	memcpy(p, F.raw, n);
	memmove(F.raw, F.raw + n, F.raw_len - n);
	F.raw_len -= n;
	return (int)n;
}

static void
fake_tls_start(void)
{
	mbedtls_ssl_config_init(&F.conf);
	mbedtls_x509_crt_init(&F.crt);
	mbedtls_pk_init(&F.pk);
	mbedtls_ssl_init(&F.ssl);
	assert_int_equal(mbedtls_x509_crt_parse_file(&F.crt, F.cert), 0);
	assert_int_equal(mbedtls_pk_parse_keyfile(&F.pk, F.key, NULL), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&F.conf, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT), 0);
	mbedtls_ssl_conf_rng(&F.conf, hal_entropy_rng, NULL);
	assert_int_equal(mbedtls_ssl_conf_own_cert(&F.conf, &F.crt, &F.pk), 0);
	assert_int_equal(mbedtls_ssl_setup(&F.ssl, &F.conf), 0);
	mbedtls_ssl_set_bio(&F.ssl, NULL, fbio_send, fbio_recv, NULL);
	F.tls = true;
}

static void
fake_tls_free(void)
{
	if (!F.tls)
		return;
	mbedtls_ssl_free(&F.ssl);
	mbedtls_ssl_config_free(&F.conf);
	mbedtls_x509_crt_free(&F.crt);
	mbedtls_pk_free(&F.pk);
	F.tls = false;
}

static void
fake_line(void)
{
	char *l = F.line;

	if (F.in_data) {
		if (strcmp(l, ".\r\n") == 0) {
			F.in_data = false;
			if (F.mode == FM_DROPDOT) {
				loop_close(F.h);
				F.closed = true;
				return;
			}
			fsend(F.mode == FM_FINAL451 ? "451 4.3.0 Error: queue file write error\r\n" :
			    "250 2.0.0 Ok: queued as FAKE1\r\n");
			return;
		}
		assert_true(F.data_len + F.line_len < sizeof(F.data));
		memcpy(F.data + F.data_len, l, F.line_len);
		F.data_len += F.line_len;
		return;
	}
	if (strncasecmp(l, "EHLO", 4) == 0) {
		fsend("250-fake.test\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n");
		fsend(F.mode == FM_NOSTARTTLS || F.tls ? "250 ENHANCEDSTATUSCODES\r\n" :
		    "250 STARTTLS\r\n");
	} else if (strncasecmp(l, "STARTTLS", 8) == 0 && !F.tls) {
		if (F.mode == FM_BADTLS) {
			fsend("220 2.0.0 Ready to start TLS\r\nthis is no ServerHello\r\n");
			F.close_after_tx = true;
			return;
		}
		fsend(F.mode == FM_INJECT ? "220 2.0.0 Ready\r\n250-injected\r\n250 AUTH PLAIN\r\n" :
		    "220 2.0.0 Ready to start TLS\r\n");
		fake_tls_start();
	} else if (strncasecmp(l, "MAIL", 4) == 0) {
		fsend("250 2.1.0 Ok\r\n");
	} else if (strncasecmp(l, "RCPT", 4) == 0) {
		if (F.mode == FM_RCPT550 && strncasecmp(l, "RCPT TO:<bad", 12) == 0)
			fsend("550 5.1.1 <bad@example.net>: Recipient address rejected\r\n");
		else
			fsend("250 2.1.5 Ok\r\n");
	} else if (strncasecmp(l, "DATA", 4) == 0) {
		F.in_data = true;
		fsend("354 End data with <CR><LF>.<CR><LF>\r\n");
	} else if (strncasecmp(l, "NOOP", 4) == 0) {
		fsend("250 2.0.0 Ok\r\n");
	} else if (strncasecmp(l, "QUIT", 4) == 0) {
		fsend("221 2.0.0 Bye\r\n");
		F.close_after_tx = true;
	} else {
		fsend("502 5.5.2 Error: command not recognized\r\n");
	}
}

static void
fake_bytes(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n && !F.closed; i++) {
		bool was_tls = F.tls;

		assert_true(F.line_len + 1 < sizeof(F.line));
		F.line[F.line_len++] = (char)p[i];
		if (p[i] == '\n') {
			F.line[F.line_len] = '\0';
			fake_line();
			F.line_len = 0;
			if (!was_tls && F.tls) {
				/* bytes after STARTTLS in the same read are ciphertext */
				memcpy(F.raw, p + i + 1, n - i - 1);
				F.raw_len = n - i - 1;
				return;
			}
		}
	}
}

static void
fake_pump(void)
{
	uint8_t buf[4096];
	int r;

	if (!F.tls)
		return;
	for (;;) {
		r = mbedtls_ssl_read(&F.ssl, buf, sizeof(buf));
		if (r > 0) {
			assert_true(F.app_len + (size_t)r < sizeof(F.app));
			memcpy(F.app + F.app_len, buf, (size_t)r);
			F.app_len += (size_t)r;
			fake_bytes(buf, (size_t)r);
			if (F.closed)
				return;
			continue;
		}
		if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		/* handshake failure (the client refused our certificate), close */
		loop_close(F.h);
		F.closed = true;
		return;
	}
}

static size_t
f_rx_space(void *arg, uint8_t **p)
{
	(void)arg;
	if (F.closed)
		return 0;
	if (F.tls) {
		*p = F.raw + F.raw_len;
		return sizeof(F.raw) - F.raw_len;
	}
	*p = F.raw;
	return sizeof(F.raw);
}

static void
f_rx_done(void *arg, size_t n)
{
	(void)arg;
	if (n == 0) {
		loop_close(F.h);
		F.closed = true;
		return;
	}
	if (F.tls) {
		F.raw_len += n;
		fake_pump();
		return;
	}
	assert_true(F.plain_len + n < sizeof(F.plain));
	memcpy(F.plain + F.plain_len, F.raw, n);
	F.plain_len += n;
	fake_bytes(F.raw, n);
	fake_pump();
}

static size_t
f_tx_data(void *arg, const uint8_t **p)
{
	(void)arg;
	*p = F.out;
	return F.out_len;
}

static void
f_tx_done(void *arg, size_t n)
{
	(void)arg;
	memmove(F.out, F.out + n, F.out_len - n);
	F.out_len -= n;
	if (F.out_len == 0 && F.close_after_tx && !F.closed) {
		loop_close(F.h);
		F.closed = true;
	}
}

static void
f_event(void *arg, enum loop_event ev, int err)
{
	(void)arg;
	(void)ev;
	(void)err;
	loop_close(F.h);
	F.closed = true;
}

static const struct loop_stream_ops fake_ops = {
	f_rx_space, f_rx_done, f_tx_data, f_tx_done, f_event,
};

static void
f_accept(void *arg, int h, const struct hal_addr *peer)
{
	(void)arg;
	(void)peer;
	F.h = h;
	F.connections++;
	loop_bind(h, &fake_ops, NULL);
	if (F.mode == FM_GREET421) {
		fsend("421 4.3.2 Service shutting down\r\n");
		F.close_after_tx = true;
	} else if (F.mode != FM_SILENT) {
		fsend("220 fake.test ESMTP\r\n");
	}
}

static const struct loop_listener_ops fake_lops = { f_accept, NULL };

/* ------------------------------------------------------------ driver */

static void
on_done(void *arg, const struct handoff_result *r)
{
	(void)arg;
	R = *r;
	got = true;
}

static void
on_deadline(void *arg)
{
	(void)arg;
	loop_stop();
}

static void
after_done(void *arg)
{
	(void)arg;
	loop_stop();
}

static void
done_watch(void *arg)
{
	(void)arg;
	/* give the relay a moment to say QUIT and close, then stop */
	if (got && (F.closed || F.connections == 0))
		loop_timer_add(50, after_done, NULL);
	else
		loop_timer_add(10, done_watch, NULL);
}

/* The fake's listener of the last run. loop_init() forgets handles without
 * closing them, and the lwIP backend has only a few listening PCBs
 * (MEMP_NUM_TCP_PCB_LISTEN): a listener leaked per test ran out of them, so
 * each run closes the last one before loop_init(). */
static int fake_lh = -1;

static void
loop_restart(void)
{
	if (fake_lh >= 0)
		loop_close(fake_lh);
	fake_lh = -1;
	loop_init();
}

/* Listen for the fake on 127.0.0.1:0; returns the port the kernel chose. */
static uint16_t
fake_listen(void)
{
	struct hal_addr a;
	int h;

	assert_int_equal(hal_addr_parse(&a, "127.0.0.1", 0), 0);
	h = loop_listen(&a, &fake_lops, NULL);
	assert_true(h >= 0);
	fake_lh = h;
	assert_int_equal(loop_local_addr(h, &a), 0);
	assert_true(a.port != 0);
	return a.port;
}

/* A port nobody listens on: bind one, close it. */
static uint16_t
closed_port(void)
{
	struct hal_addr a;
	int fd;

	assert_int_equal(hal_addr_parse(&a, "127.0.0.1", 0), 0);
	fd = hal_net_listen_tcp(&a, 1);
	assert_true(fd >= 0);
	assert_int_equal(hal_net_local_addr(fd, &a), 0);
	hal_net_close(fd);
	return a.port;
}

static uint16_t last_port;
static char spool_path[600];
static struct zcfg cfg;
/* set: relay_one() goes through smarthost_deliver() (the smarthost queue) */
static struct smtpc_result *deliver_rres;

static void
relay_one(enum fmode mode, const char *cert, bool listen, const char *rcpts,
    unsigned nrcpt, const char *message, bool body_8bit)
{
	struct handoff_msg m;
	void *handle = NULL;
	FILE *f;
	uint16_t port;
	static const char prefix[] = "DKIM-Signature: v=1; a=ed25519-sha256; d=example.test;\r\n";

	fake_tls_free();
	memset(&F, 0, sizeof(F));
	F.mode = mode;
	F.cert = vec(cert ? cert : "good.crt");
	{
		static char keyp[600];
		snprintf(keyp, sizeof(keyp), "%s", F.cert);
		strcpy(keyp + strlen(keyp) - 3, "key");
		F.key = keyp;
	}
	F.h = -1;
	got = false;
	memset(&R, 0, sizeof(R));
	loop_restart();
	port = listen ? fake_listen() : closed_port();
	last_port = port;
	f = fopen(spool_path, "wb");
	assert_non_null(f);
	fputs(message, f);
	fclose(f);

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.hostname, "gw.example.test");
	cfg.relay.kind = ZCFG_RELAY_SMARTHOST;
	strcpy(cfg.relay.host, "127.0.0.1");
	cfg.relay.port = port;
	snprintf(cfg.relay.ca_file, sizeof(cfg.relay.ca_file), "%s", vec("ca.crt"));

	memset(&m, 0, sizeof(m));
	strcpy(m.id, "T0001");
	m.mail_from = "printer@example.test";
	m.rcpts = rcpts;
	m.nrcpt = nrcpt;
	m.spool_path = spool_path;
	m.prefix = (const uint8_t *)prefix;
	m.prefix_len = strlen(prefix);
	m.size = m.prefix_len + strlen(message);
	m.body_8bit = body_8bit;
	m.cfg = &cfg;

	assert_ptr_equal(app_relay_target(&cfg), &relay_smarthost);
	smarthost_set_timeout(1500);
	if (deliver_rres != NULL)
		assert_int_equal(smarthost_deliver(&m, deliver_rres, on_done, NULL, &handle), 0);
	else
		assert_int_equal(relay_smarthost.start(&m, on_done, NULL, &handle), 0);
	loop_timer_add(8000, on_deadline, NULL);
	loop_timer_add(10, done_watch, NULL);
	loop_run();
	assert_true(got);
	fake_tls_free();
	F.plain[F.plain_len] = '\0';
	F.app[F.app_len] = '\0';
	F.data[F.data_len] = '\0';
}

/* ------------------------------------------------------------ the probe */

static char probe_out[8192];
static int probe_rc;

static void
probe_emit(void *arg, const char *line)
{
	size_t l = strlen(probe_out);

	(void)arg;
	snprintf(probe_out + l, sizeof(probe_out) - l, "%s\n", line);
}

static void
probe_done(void *arg, int rc)
{
	(void)arg;
	probe_rc = rc;
	loop_timer_add(50, after_done, NULL); /* let QUIT and close_notify go out */
}

/* `test relay` / `zegel relay-check`: the probe job on the loop against the
 * fake (STARTTLS, certificate cert, EHLO, QUIT; never MAIL). */
static void
probe_one(enum fmode mode, const char *cert, bool listen, uint32_t timeout_ms)
{
	struct zcfg_relay r;
	uint16_t port;

	fake_tls_free();
	memset(&F, 0, sizeof(F));
	F.mode = mode;
	F.cert = vec(cert ? cert : "good.crt");
	{
		static char keyp[600];
		snprintf(keyp, sizeof(keyp), "%s", F.cert);
		strcpy(keyp + strlen(keyp) - 3, "key");
		F.key = keyp;
	}
	F.h = -1;
	loop_restart();
	port = listen ? fake_listen() : closed_port();
	memset(&r, 0, sizeof(r));
	strcpy(r.host, "127.0.0.1");
	r.port = port;
	snprintf(r.ca_file, sizeof(r.ca_file), "%s", vec("ca.crt"));
	probe_out[0] = '\0';
	probe_rc = 99;
	assert_int_equal(smarthost_probe_start(&r, "gw.example.test", timeout_ms, probe_emit,
	    probe_done, NULL), 0);
	assert_true(smarthost_probe_running());
	assert_int_equal(probe_rc, 99); /* done() only later, from the loop */
	loop_timer_add(8000, on_deadline, NULL);
	loop_run();
	assert_false(smarthost_probe_running());
	fake_tls_free();
	F.plain[F.plain_len] = '\0';
	F.app[F.app_len] = '\0';
}

static void
test_probe(void **st)
{
	(void)st;
	probe_one(FM_OK, NULL, true, 3000);
	assert_int_equal(probe_rc, 0);
	assert_non_null(strstr(probe_out, "relay: TLS: TLSv1.2, "));
	assert_non_null(strstr(probe_out, "verified=pkix"));
	assert_non_null(strstr(probe_out, "relay: OK: 250 "));
	assert_string_equal(F.plain, "EHLO gw.example.test\r\nSTARTTLS\r\n");
	assert_null(strstr(F.app, "MAIL"));
	assert_non_null(strstr(F.app, "QUIT\r\n"));
	/* a certificate the CA file does not vouch for: shown, then refused */
	probe_one(FM_OK, "untrusted.crt", true, 3000);
	assert_int_equal(probe_rc, -1);
	assert_non_null(strstr(probe_out, "relay: certificate subject: "));
	assert_non_null(strstr(probe_out, "relay: FAILED: 451 4.7.5 "));
	/* nobody listening; a silent upstream: its time limit */
	probe_one(FM_OK, NULL, false, 3000);
	assert_int_equal(probe_rc, -1);
	assert_non_null(strstr(probe_out, "relay: FAILED: 451 4.4.1 "));
	probe_one(FM_SILENT, NULL, true, 500);
	assert_int_equal(probe_rc, -1);
	assert_non_null(strstr(probe_out, "relay: FAILED: 451 4.4.1 "));
	assert_non_null(strstr(probe_out, "no greeting"));
}

static const char msg1[] = "From: printer@example.test\r\nTo: alice@example.net\r\n"
			   "Subject: scan\r\n\r\nPage one.\r\n.hidden dot line\r\nSECRET-BODY\r\n";

/* Nothing but EHLO and STARTTLS ever in plaintext. */
static void
assert_plaintext_clean(void)
{
	assert_null(strstr(F.plain, "MAIL"));
	assert_null(strstr(F.plain, "RCPT"));
	assert_null(strstr(F.plain, "DATA"));
	assert_null(strstr(F.plain, "AUTH"));
	assert_null(strstr(F.plain, "SECRET-BODY"));
	assert_null(strstr(F.plain, "DKIM-Signature"));
}

static void
test_delivered(void **st)
{
	(void)st;
	relay_one(FM_OK, NULL, true, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 250);
	assert_string_equal(R.esc, "2.0.0");
	{
		char want[64];
		snprintf(want, sizeof(want), "relayed via 127.0.0.1[127.0.0.1]:%u:", last_port);
		assert_non_null(strstr(R.text, want));
	}
	assert_non_null(strstr(R.text, "250 2.0.0 Ok: queued as FAKE1"));
	assert_string_equal(F.plain, "EHLO gw.example.test\r\nSTARTTLS\r\n");
	assert_plaintext_clean();
	/* the signature first, then the message, dot-stuffed on the wire */
	assert_non_null(strstr(F.data, "DKIM-Signature: v=1; a=ed25519-sha256; d=example.test;\r\n"
	    "From: printer@example.test\r\n"));
	assert_non_null(strstr(F.data, "\r\n..hidden dot line\r\nSECRET-BODY\r\n"));
	assert_non_null(strstr(F.app, "MAIL FROM:<printer@example.test> SIZE="));
	assert_non_null(strstr(F.app, "QUIT\r\n"));
}

static void
test_no_starttls(void **st)
{
	(void)st;
	relay_one(FM_NOSTARTTLS, NULL, true, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.7.4");
	assert_non_null(strstr(R.text, "does not offer STARTTLS"));
	assert_plaintext_clean();
}

static void
test_bad_tls(void **st)
{
	(void)st;
	relay_one(FM_BADTLS, NULL, true, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.7.5");
	{
		char want[64];
		snprintf(want, sizeof(want), "TLS with 127.0.0.1[127.0.0.1]:%u failed", last_port);
		assert_non_null(strstr(R.text, want));
	}
	assert_plaintext_clean();
}

static void
cert_case(const char *cert, const char *words)
{
	relay_one(FM_OK, cert, true, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.7.5");
	if (strstr(R.text, words) == NULL) {
		print_error("text: %s\n", R.text);
		fail();
	}
	assert_plaintext_clean();
	assert_null(strstr(F.app, "MAIL"));
}

static void
test_wrong_name(void **st)
{
	(void)st;
	cert_case("wrongname.crt", "certificate name mismatch: wanted 127.0.0.1");
}

static void
test_untrusted(void **st)
{
	(void)st;
	cert_case("untrusted.crt", "certificate not trusted (issuer CN=rogue CA)");
}

static void
test_expired(void **st)
{
	(void)st;
	cert_case("expired.crt", "certificate expired");
}

static void
test_down(void **st)
{
	(void)st;
	relay_one(FM_OK, NULL, false, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.4.1");
	assert_non_null(strstr(R.text, "unreachable"));
}

static void
test_greeting_421(void **st)
{
	(void)st;
	relay_one(FM_GREET421, NULL, true, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.3.2");
	assert_non_null(strstr(R.text, "421 4.3.2 Service shutting down"));
	assert_plaintext_clean();
}

static void
test_drop_after_dot(void **st)
{
	(void)st;
	relay_one(FM_DROPDOT, NULL, true, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.4.2");
	assert_non_null(strstr(R.text, "after the message was sent"));
	assert_non_null(strstr(F.data, "SECRET-BODY")); /* it did go, inside TLS */
	assert_plaintext_clean();
}

static void
test_one_rcpt_550(void **st)
{
	(void)st;
	relay_one(FM_RCPT550, NULL, true, "alice@example.net\0bad@example.net", 2, msg1,
	    false);
	assert_int_equal(R.code, 550);
	assert_string_equal(R.esc, "5.1.1");
	assert_non_null(strstr(R.text, "<bad@example.net>"));
	assert_null(strstr(F.app, "DATA"));
	assert_int_equal(F.data_len, 0);
	assert_plaintext_clean();
}

/* The smarthost queue's delivery (smarthost_deliver): one recipient refused
 * does not stop the other; each refusal is kept for the queue. */
static void
test_queue_partial(void **st)
{
	static struct smtpc_result rr[2];

	(void)st;
	deliver_rres = rr;
	relay_one(FM_RCPT550, NULL, true, "alice@example.net\0bad@example.net", 2, msg1,
	    false);
	deliver_rres = NULL;
	assert_int_equal(R.code, 250);
	assert_int_equal(rr[0].code, 0);            /* alice: the verdict, 250 */
	assert_int_equal(rr[1].code, 550);
	assert_string_equal(rr[1].esc, "5.1.1");
	assert_non_null(strstr(rr[1].text, "<bad@example.net>"));
	assert_non_null(strstr(F.data, "SECRET-BODY"));
	assert_plaintext_clean();
	/* the upstream down: the verdict for all, no refusal of its own */
	memset(rr, 0x55, sizeof(rr));
	deliver_rres = rr;
	relay_one(FM_OK, NULL, false, "alice@example.net\0bad@example.net", 2, msg1, false);
	deliver_rres = NULL;
	assert_int_equal(R.code, 451);
	assert_int_equal(rr[0].code, 0);
	assert_int_equal(rr[1].code, 0);
}

static void
test_injection(void **st)
{
	(void)st;
	relay_one(FM_INJECT, NULL, true, "alice@example.net", 1, msg1, false);
	/* the injected lines are discarded; the real session goes on */
	assert_int_equal(R.code, 250);
	assert_plaintext_clean();
}

static void
test_silent_upstream(void **st)
{
	(void)st;
	relay_one(FM_SILENT, NULL, true, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.4.1");
	assert_non_null(strstr(R.text, "no greeting from the upstream in time"));
}

static void
test_final_451(void **st)
{
	(void)st;
	relay_one(FM_FINAL451, NULL, true, "alice@example.net", 1, msg1, false);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.3.0");
	assert_non_null(strstr(R.text, "queue file write error"));
}

static void
test_big_message(void **st)
{
	static char big[60000];
	size_t i, o = 0;

	(void)st;
	o += (size_t)sprintf(big, "Subject: big\r\n\r\n");
	for (i = 0; o + 80 < sizeof(big) - 1; i++)
		o += (size_t)sprintf(big + o, "%s%05zu line of a long message body.\r\n",
		    i % 7 == 0 ? "." : "", i);
	big[o] = '\0';
	relay_one(FM_OK, NULL, true, "alice@example.net", 1, big, false);
	assert_int_equal(R.code, 250);
	/* what the upstream got, unstuffed, is prefix + message */
	{
		static char unstuffed[65536];
		size_t j = 0;
		bool bol = true;
		for (i = 0; i < F.data_len; i++) {
			if (bol && F.data[i] == '.') {
				bol = false;
				continue;
			}
			unstuffed[j++] = F.data[i];
			bol = F.data[i] == '\n';
		}
		unstuffed[j] = '\0';
		assert_non_null(strstr(unstuffed, big));
	}
}

static void
cancel_cb(void *arg)
{
	relay_smarthost.cancel(arg);
	loop_timer_add(200, on_deadline, NULL);
}

/* The LAN client went away: cancel() drops the upstream connection and
 * done() is never called. */
static void
test_cancel(void **st)
{
	struct handoff_msg m;
	void *handle = NULL;
	FILE *f;
	uint16_t port;

	(void)st;
	fake_tls_free();
	memset(&F, 0, sizeof(F));
	F.mode = FM_SILENT;
	F.h = -1;
	got = false;
	loop_restart();
	port = fake_listen();
	f = fopen(spool_path, "wb");
	assert_non_null(f);
	fputs(msg1, f);
	fclose(f);
	memset(&cfg, 0, sizeof(cfg));
	cfg.relay.kind = ZCFG_RELAY_SMARTHOST;
	strcpy(cfg.relay.host, "127.0.0.1");
	cfg.relay.port = port;
	snprintf(cfg.relay.ca_file, sizeof(cfg.relay.ca_file), "%s", vec("ca.crt"));
	memset(&m, 0, sizeof(m));
	strcpy(m.id, "T0002");
	m.mail_from = "printer@example.test";
	m.rcpts = "alice@example.net";
	m.nrcpt = 1;
	m.spool_path = spool_path;
	m.size = strlen(msg1);
	m.cfg = &cfg;
	assert_int_equal(smarthost_jobs_active(), 0);
	assert_int_equal(relay_smarthost.start(&m, on_done, NULL, &handle), 0);
	assert_non_null(handle);
	assert_int_equal(smarthost_jobs_active(), 1);
	loop_timer_add(300, cancel_cb, handle);
	loop_timer_add(5000, on_deadline, NULL);
	loop_run();
	assert_false(got);
	assert_int_equal(F.connections, 1);
	assert_true(F.closed); /* the upstream saw the connection go */
	assert_int_equal(smarthost_jobs_active(), 0);
}

/* ------------------------------------------------------------ upstream.c alone */

/* The direct target drives struct upstream itself; with
 * SMTPC_TLS_OPPORTUNISTIC and an upstream without STARTTLS the message must
 * go through in plaintext (body fed from the spool without TLS). */
static struct upstream U;
static int u_h = -1;

static void
u_settle(bool force)
{
	if (upstream_finished(&U) && !got) {
		R = *upstream_result(&U);
		got = true;
	}
	if (got && (force || upstream_can_close(&U)) && u_h >= 0) {
		loop_close(u_h);
		u_h = -1;
	}
}

static size_t
u_rx_space(void *a, uint8_t **p)
{
	(void)a;
	return upstream_rx_space(&U, p);
}

static void
u_rx_done(void *a, size_t n)
{
	(void)a;
	upstream_rx_done(&U, n);
	if (n == 0 && !upstream_finished(&U))
		upstream_fail_io(&U, -ECONNRESET);
	u_settle(n == 0);
}

static size_t
u_tx_data(void *a, const uint8_t **p)
{
	(void)a;
	return upstream_tx_data(&U, p);
}

static void
u_tx_done(void *a, size_t n)
{
	(void)a;
	upstream_tx_done(&U, n);
	u_settle(false);
}

static void
u_event(void *a, enum loop_event ev, int err)
{
	(void)a;
	if (ev == LOOP_EV_CONNECTED) {
		upstream_connected(&U);
		u_settle(false);
		return;
	}
	upstream_fail_io(&U, err ? err : -EIO);
	u_settle(true);
}

static const struct loop_stream_ops u_ops = { u_rx_space, u_rx_done, u_tx_data, u_tx_done,
	u_event };

static void
upstream_one(enum fmode mode, enum smtpc_tls_mode tm, const char *message)
{
	static struct smtpc_params p;
	const struct tls_client_conf *cc;
	struct hal_addr a;
	char err[200];
	FILE *f;

	fake_tls_free();
	memset(&F, 0, sizeof(F));
	F.mode = mode;
	F.cert = vec("good.crt");
	F.key = vec("good.key");
	F.h = -1;
	got = false;
	memset(&R, 0, sizeof(R));
	loop_restart();
	assert_int_equal(hal_addr_parse(&a, "127.0.0.1", fake_listen()), 0);
	f = fopen(spool_path, "wb");
	assert_non_null(f);
	fputs(message, f);
	fclose(f);
	p = (struct smtpc_params){
		.helo = "gw.example.test",
		.mail_from = "printer@example.test",
		.rcpts = "alice@example.net\0bad@example.net",
		.nrcpt = 2,
		.size = strlen(message),
		.tls_mode = tm,
		.partial_ok = true,
	};
	assert_int_equal(smarthost_tls_conf(vec("ca.crt"), &cc, err, sizeof(err)), 0);
	assert_int_equal(upstream_init(&U, &p, cc, "127.0.0.1", "fake", NULL, 0, spool_path,
	    false), 0);
	u_h = loop_connect(&a, &u_ops, NULL);
	assert_true(u_h >= 0);
	loop_set_idle_timeout(u_h, 1500);
	loop_timer_add(8000, on_deadline, NULL);
	loop_timer_add(10, done_watch, NULL);
	loop_run();
	assert_true(got);
	fake_tls_free();
	F.plain[F.plain_len] = '\0';
	F.app[F.app_len] = '\0';
	F.data[F.data_len] = '\0';
}

static void
test_upstream_opportunistic_plaintext(void **st)
{
	static char big[12000];
	size_t o = 0;

	(void)st;
	/* larger than the engine's output buffer, so the body is fed over
	 * several tx_done() turns */
	o += (size_t)sprintf(big, "Subject: plain\r\n\r\n");
	while (o + 40 < sizeof(big) - 1)
		o += (size_t)sprintf(big + o, ".line %05zu of SECRET-BODY\r\n", o);
	upstream_one(FM_NOSTARTTLS, SMTPC_TLS_OPPORTUNISTIC, big);
	assert_int_equal(R.code, 250);
	assert_false(smtpc_tls_used(&U.smtp));
	assert_non_null(strstr(F.plain, "MAIL FROM:<printer@example.test>"));
	assert_non_null(strstr(F.data, "\r\n..line "));
	/* every body line but the first two starts with a dot and was stuffed */
	assert_int_equal(F.data_len, strlen(big) + (strlen(big) - 18) / 28);
	assert_int_equal(smtpc_rcpt_result(&U.smtp, 0)->code, 250);
	upstream_free(&U);
	/* the same upstream with the default policy: nothing but EHLO */
	upstream_one(FM_NOSTARTTLS, SMTPC_TLS_REQUIRED, msg1);
	assert_int_equal(R.code, 451);
	assert_string_equal(R.esc, "4.7.4");
	assert_null(strstr(F.plain, "MAIL"));
	upstream_free(&U);
}

static void
test_upstream_opportunistic_uses_tls(void **st)
{
	(void)st;
	upstream_one(FM_RCPT550, SMTPC_TLS_OPPORTUNISTIC, msg1);
	assert_int_equal(R.code, 250);
	assert_true(smtpc_tls_used(&U.smtp));
	assert_plaintext_clean();
	assert_non_null(strstr(F.data, "SECRET-BODY"));
	/* partial_ok: alice got it, bad@ has its own refusal */
	assert_int_equal(smtpc_rcpt_result(&U.smtp, 0)->code, 250);
	assert_int_equal(smtpc_rcpt_result(&U.smtp, 1)->code, 550);
	assert_string_equal(smtpc_rcpt_result(&U.smtp, 1)->esc, "5.1.1");
	upstream_free(&U);
}

/* ------------------------------------------------------------ RCPT time */

/* The session shape (handoff.h open/rcpt/data): each RCPT gets the upstream's
 * own verdict; the message follows after a pause (the LAN client's DATA). */
static struct {
	void *h;
	int step;
	const char *rcpts[3];
	struct handoff_result rv[3];
	int nrv;
	uint32_t pause_ms;      /* before data() */
	bool cancel_after_rcpts;
	uint64_t t_open, t_first;
	struct handoff_msg env, msg;
} SS;

static void ss_next(void *arg);

static void
ss_rcpt_done(void *arg, const struct handoff_result *r)
{
	(void)arg;
	if (SS.nrv == 0)
		SS.t_first = loop_now_ms();
	SS.rv[SS.nrv++] = *r;
	loop_timer_add(SS.rcpts[SS.step] ? 0 : SS.pause_ms, ss_next, NULL);
}

static void
ss_cancel_done(void *arg)
{
	(void)arg;
	got = true; /* nothing will call done(): let done_watch stop the loop */
}

static void
ss_next(void *arg)
{
	(void)arg;
	if (SS.rcpts[SS.step] != NULL) {
		assert_int_equal(relay_smarthost.rcpt(SS.h, SS.rcpts[SS.step++], ss_rcpt_done, NULL), 0);
		return;
	}
	if (SS.cancel_after_rcpts) {
		relay_smarthost.cancel(SS.h);
		loop_timer_add(300, ss_cancel_done, NULL);
		return;
	}
	assert_int_equal(relay_smarthost.data(SS.h, &SS.msg, on_done, NULL), 0);
}

static void
session_one(enum fmode mode, bool listen, const char *r1, const char *r2, uint32_t pause_ms,
    bool cancel)
{
	static const char prefix[] = "DKIM-Signature: v=1; a=ed25519-sha256; d=example.test;\r\n";
	static char rcpts[200];
	FILE *f;
	uint16_t port;

	fake_tls_free();
	memset(&F, 0, sizeof(F));
	memset(&SS, 0, sizeof(SS));
	F.mode = mode;
	F.cert = vec("good.crt");
	F.key = vec("good.key");
	F.h = -1;
	got = false;
	memset(&R, 0, sizeof(R));
	loop_restart();
	port = listen ? fake_listen() : closed_port();
	f = fopen(spool_path, "wb");
	assert_non_null(f);
	fputs(msg1, f);
	fclose(f);
	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.hostname, "gw.example.test");
	cfg.relay.kind = ZCFG_RELAY_SMARTHOST;
	strcpy(cfg.relay.host, "127.0.0.1");
	cfg.relay.port = port;
	snprintf(cfg.relay.ca_file, sizeof(cfg.relay.ca_file), "%s", vec("ca.crt"));
	strcpy(SS.env.id, "S0001");
	SS.env.mail_from = "printer@example.test";
	SS.env.cfg = &cfg;
	SS.rcpts[0] = r1;
	SS.rcpts[1] = r2;
	SS.pause_ms = pause_ms;
	SS.cancel_after_rcpts = cancel;
	/* the message as the session hands it over: the accepted recipient */
	SS.msg = SS.env;
	snprintf(rcpts, sizeof(rcpts), "%s", r1);
	SS.msg.rcpts = rcpts;
	SS.msg.nrcpt = 1;
	SS.msg.spool_path = spool_path;
	SS.msg.prefix = (const uint8_t *)prefix;
	SS.msg.prefix_len = strlen(prefix);
	SS.msg.size = SS.msg.prefix_len + strlen(msg1);
	smarthost_set_timeout(1500);
	SS.t_open = loop_now_ms();
	assert_int_equal(relay_smarthost.open(&SS.env, &SS.h), 0);
	assert_non_null(SS.h);
	ss_next(NULL);
	loop_timer_add(8000, on_deadline, NULL);
	loop_timer_add(10, done_watch, NULL);
	loop_run();
	assert_true(got);
	fake_tls_free();
	F.plain[F.plain_len] = '\0';
	F.app[F.app_len] = '\0';
	F.data[F.data_len] = '\0';
}

static void
test_session_per_rcpt(void **st)
{
	(void)st;
	session_one(FM_RCPT550, true, "alice@example.net", "bad@example.net", 0, false);
	assert_int_equal(SS.nrv, 2);
	assert_int_equal(SS.rv[0].code, 250);
	assert_string_equal(SS.rv[0].esc, "2.1.5");
	assert_non_null(strstr(SS.rv[0].text, "accepted by 127.0.0.1[127.0.0.1]:"));
	assert_int_equal(SS.rv[1].code, 550);
	assert_string_equal(SS.rv[1].esc, "5.1.1");
	assert_non_null(strstr(SS.rv[1].text, "upstream refused <bad@example.net>: 550 5.1.1"));
	assert_int_equal(R.code, 250);
	assert_non_null(strstr(R.text, "relayed via 127.0.0.1[127.0.0.1]:"));
	assert_non_null(strstr(F.app, "MAIL FROM:<printer@example.test>\r\n"
	    "RCPT TO:<alice@example.net>\r\nRCPT TO:<bad@example.net>\r\nDATA\r\n"));
	assert_non_null(strstr(F.data, "SECRET-BODY"));
	assert_plaintext_clean();
	assert_int_equal(smarthost_jobs_active(), 0);
}

static void
test_session_keepalive(void **st)
{
	(void)st;
	/* the LAN client takes longer than the upstream idle timeout */
	session_one(FM_OK, true, "alice@example.net", NULL, 2200, false);
	assert_int_equal(SS.rv[0].code, 250);
	assert_non_null(strstr(F.app, "RCPT TO:<alice@example.net>\r\nNOOP\r\n"));
	assert_int_equal(R.code, 250);
	assert_non_null(strstr(F.data, "SECRET-BODY"));
}

static void
test_session_down(void **st)
{
	(void)st;
	session_one(FM_OK, false, "alice@example.net", "bob@example.net", 0, true);
	assert_int_equal(SS.nrv, 2);
	assert_int_equal(SS.rv[0].code, 451);
	assert_string_equal(SS.rv[0].esc, "4.4.1");
	assert_non_null(strstr(SS.rv[0].text, "unreachable"));
	assert_int_equal(SS.rv[1].code, 451); /* the same verdict, at once */
	assert_true(SS.t_first - SS.t_open < 1000);
	assert_int_equal(smarthost_jobs_active(), 0);
}

static void
test_session_cancel(void **st)
{
	(void)st;
	/* RSET/QUIT after the RCPTs: QUIT upstream, never DATA */
	session_one(FM_OK, true, "alice@example.net", NULL, 0, true);
	assert_int_equal(SS.rv[0].code, 250);
	assert_non_null(strstr(F.app, "RCPT TO:<alice@example.net>\r\nQUIT\r\n"));
	assert_null(strstr(F.app, "DATA"));
	assert_int_equal(F.data_len, 0);
	assert_true(F.closed);
	assert_int_equal(smarthost_jobs_active(), 0);
}

static void
test_session_silent_upstream(void **st)
{
	(void)st;
	/* accepts the connection, never greets: the RCPT waits for the relay
	 * timeout (1.5 s here), then 451 4.4.1 */
	session_one(FM_SILENT, true, "alice@example.net", NULL, 0, true);
	assert_int_equal(SS.rv[0].code, 451);
	assert_string_equal(SS.rv[0].esc, "4.4.1");
	assert_non_null(strstr(SS.rv[0].text, "no greeting"));
	assert_true(SS.t_first - SS.t_open >= 1400);
	assert_int_equal(smarthost_jobs_active(), 0);
}

static void
test_session_upstream_refuses_session(void **st)
{
	(void)st;
	/* no STARTTLS: every RCPT gets the session's 451 4.7.4 */
	session_one(FM_NOSTARTTLS, true, "alice@example.net", "bob@example.net", 0, true);
	assert_int_equal(SS.rv[0].code, 451);
	assert_string_equal(SS.rv[0].esc, "4.7.4");
	assert_int_equal(SS.rv[1].code, 451);
	assert_null(strstr(F.plain, "RCPT"));
	assert_int_equal(smarthost_jobs_active(), 0);
}

static int
setup(void **st)
{
	const char *top = getenv("TOP");

	(void)st;
	snprintf(vecdir, sizeof(vecdir), "%s/tests/vectors/relay", top ? top : ".");
	snprintf(spool_path, sizeof(spool_path), "/tmp/zegel-test-smarthost.%d", (int)getpid());
	board_init();
	hal_log_set_level(getenv("ZEGEL_TEST_VERBOSE") ? HAL_LOG_DEBUG : HAL_LOG_WARN);
	return 0;
}

static int
teardown(void **st)
{
	(void)st;
	unlink(spool_path);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delivered),
		cmocka_unit_test(test_no_starttls),
		cmocka_unit_test(test_bad_tls),
		cmocka_unit_test(test_wrong_name),
		cmocka_unit_test(test_untrusted),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_down),
		cmocka_unit_test(test_greeting_421),
		cmocka_unit_test(test_drop_after_dot),
		cmocka_unit_test(test_one_rcpt_550),
		cmocka_unit_test(test_queue_partial),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_silent_upstream),
		cmocka_unit_test(test_final_451),
		cmocka_unit_test(test_big_message),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_upstream_opportunistic_plaintext),
		cmocka_unit_test(test_upstream_opportunistic_uses_tls),
		cmocka_unit_test(test_session_per_rcpt),
		cmocka_unit_test(test_session_keepalive),
		cmocka_unit_test(test_session_down),
		cmocka_unit_test(test_session_cancel),
		cmocka_unit_test(test_session_upstream_refuses_session),
		cmocka_unit_test(test_session_silent_upstream),
		cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
