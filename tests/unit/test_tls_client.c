/*
 * TLS client (firmware/tls/client.c) against an mbedTLS server, in memory:
 * the test moves ciphertext between the client's buffers and the server's,
 * with no socket. Checks the policy (TLS 1.2, AEAD suite, PKIX verification
 * with host name / IP SAN checks) and the verification hook DANE will use:
 * a hook can accept a chain PKIX refuses (verified=dane) or refuse one PKIX
 * accepts. Certificates: tests/vectors/relay/ (see PROVENANCE).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>

#include "firmware/tls/client.h"
#include "hal/entropy.h"
#include "zegel/board.h"

static char vecdir[512];

static const char *
vec(const char *name)
{
	static char buf[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", vecdir, name);
	return buf[i];
}

struct srv {
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	uint8_t in[32768];
	size_t in_len;
	uint8_t out[32768];
	size_t out_len;
};

static struct srv S;

static int
s_send(void *ctx, const unsigned char *p, size_t n)
{
	(void)ctx;
	if (n > sizeof(S.out) - S.out_len)
		n = sizeof(S.out) - S.out_len;
	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	memcpy(S.out + S.out_len, p, n);
	S.out_len += n;
	return (int)n;
}

static int
s_recv(void *ctx, unsigned char *p, size_t n)
{
	(void)ctx;
	if (S.in_len == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > S.in_len)
		n = S.in_len;
	memcpy(p, S.in, n);
	memmove(S.in, S.in + n, S.in_len - n);
	S.in_len -= n;
	return (int)n;
}

static void
srv_start(const char *cert)
{
	char key[600];

	snprintf(key, sizeof(key), "%s", vec(cert));
	strcpy(key + strlen(key) - 3, "key");
	memset(&S, 0, sizeof(S));
	mbedtls_ssl_config_init(&S.conf);
	mbedtls_x509_crt_init(&S.crt);
	mbedtls_pk_init(&S.pk);
	mbedtls_ssl_init(&S.ssl);
	assert_int_equal(mbedtls_x509_crt_parse_file(&S.crt, vec(cert)), 0);
	assert_int_equal(mbedtls_pk_parse_keyfile(&S.pk, key, NULL), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&S.conf, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT), 0);
	mbedtls_ssl_conf_rng(&S.conf, hal_entropy_rng, NULL);
	assert_int_equal(mbedtls_ssl_conf_own_cert(&S.conf, &S.crt, &S.pk), 0);
	assert_int_equal(mbedtls_ssl_setup(&S.ssl, &S.conf), 0);
	mbedtls_ssl_set_bio(&S.ssl, NULL, s_send, s_recv, NULL);
}

static void
srv_free(void)
{
	mbedtls_ssl_free(&S.ssl);
	mbedtls_ssl_config_free(&S.conf);
	mbedtls_x509_crt_free(&S.crt);
	mbedtls_pk_free(&S.pk);
}

/* Move ciphertext both ways in small pieces until the client's handshake
 * finishes or fails. Returns the client's last handshake result. */
static int
shuttle(struct tls_client *c)
{
	int r = TLS_CLIENT_AGAIN, i;

	for (i = 0; i < 2000 && r == TLS_CLIENT_AGAIN; i++) {
		const uint8_t *p;
		uint8_t *q;
		size_t n, room;

		r = tls_client_handshake(c);
		n = tls_client_tx_data(c, &p);
		if (n > 700)
			n = 700; /* partial sends */
		memcpy(S.in + S.in_len, p, n);
		S.in_len += n;
		tls_client_tx_done(c, n);
		(void)mbedtls_ssl_handshake(&S.ssl);
		room = tls_client_rx_space(c, &q);
		n = S.out_len < room ? S.out_len : room;
		if (n > 500)
			n = 500;
		memcpy(q, S.out, n);
		tls_client_rx_done(c, n);
		memmove(S.out, S.out + n, S.out_len - n);
		S.out_len -= n;
	}
	return r;
}

static struct tls_client C;
static struct tls_client_conf CC;

static int
connect_to(const char *cert, const char *host, tls_client_verify_fn hook, void *arg)
{
	char err[200];
	int r;

	assert_int_equal(tls_client_conf_load(&CC, vec("ca.crt"), false, err, sizeof(err)), 0);
	srv_start(cert);
	assert_int_equal(tls_client_start(&C, &CC, host), 0);
	if (hook)
		tls_client_set_verify(&C, hook, arg);
	r = shuttle(&C);
	return r;
}

static void
done(void)
{
	tls_client_free(&C);
	tls_client_conf_free(&CC);
	srv_free();
}

static void
test_pkix_by_name_and_ip(void **st)
{
	uint8_t buf[64];
	ssize_t n;
	int i;

	(void)st;
	assert_int_equal(connect_to("good.crt", "localhost", NULL, NULL), 0);
	assert_string_equal(tls_client_version(&C), "TLSv1.2");
	assert_non_null(strstr(tls_client_suite(&C), "ECDHE-ECDSA-WITH-"));
	assert_non_null(strstr(tls_client_suite(&C), "GCM") ? "gcm" :
	    strstr(tls_client_suite(&C), "CHACHA20") ? "chacha" : NULL);
	assert_string_equal(C.verified_by, "pkix");
	assert_string_equal(C.subject, "CN=localhost");
	assert_string_equal(C.issuer, "CN=zegel test CA");
	/* application data both ways */
	assert_int_equal(tls_client_write(&C, (const uint8_t *)"EHLO x\r\n", 8), 8);
	{
		const uint8_t *p;
		size_t k = tls_client_tx_data(&C, &p);
		memcpy(S.in + S.in_len, p, k);
		S.in_len += k;
		tls_client_tx_done(&C, k);
	}
	n = mbedtls_ssl_read(&S.ssl, buf, sizeof(buf));
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "EHLO x\r\n", 8);
	assert_int_equal(mbedtls_ssl_write(&S.ssl, (const uint8_t *)"250 ok\r\n", 8), 8);
	{
		uint8_t *q;
		size_t room = tls_client_rx_space(&C, &q);
		assert_true(room >= S.out_len);
		memcpy(q, S.out, S.out_len);
		tls_client_rx_done(&C, S.out_len);
		S.out_len = 0;
	}
	for (i = 0, n = TLS_CLIENT_AGAIN; i < 5 && n == TLS_CLIENT_AGAIN; i++)
		n = tls_client_read(&C, buf, sizeof(buf));
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "250 ok\r\n", 8);
	done();

	assert_int_equal(connect_to("good.crt", "127.0.0.1", NULL, NULL), 0);
	assert_string_equal(C.verified_by, "pkix");
	done();
}

static void
test_pkix_refusals(void **st)
{
	(void)st;
	assert_int_equal(connect_to("good.crt", "mx.example.net", NULL, NULL), TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_NAME);
	assert_non_null(strstr(tls_client_why(&C), "wanted mx.example.net"));
	done();
	assert_int_equal(connect_to("good.crt", "127.0.0.2", NULL, NULL), TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_NAME);
	done();
	assert_int_equal(connect_to("untrusted.crt", "localhost", NULL, NULL), TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_UNTRUSTED);
	assert_string_equal(tls_client_fail_esc(tls_client_fail_kind(&C)), "4.7.5");
	done();
	assert_int_equal(connect_to("expired.crt", "localhost", NULL, NULL), TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_EXPIRED);
	/* a failed client stays failed */
	assert_int_equal(tls_client_write(&C, (const uint8_t *)"x", 1), TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_handshake(&C), TLS_CLIENT_FAIL);
	done();
}

/* A DANE-EE(3 1 x)-style hook: accept exactly this leaf, whatever PKIX says. */
static int
hook_accept_leaf(void *arg, struct tls_client *c, mbedtls_x509_crt *crt, int depth,
    uint32_t *flags)
{
	int *calls = arg;

	(*calls)++;
	if (depth == 0 && strcmp(c->subject, "CN=localhost") == 0) {
		*flags = 0;
		tls_client_set_verified_by(c, "dane");
	}
	(void)crt;
	return 0;
}

static int
hook_refuse(void *arg, struct tls_client *c, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	(void)arg;
	(void)c;
	(void)crt;
	if (depth == 0)
		*flags |= MBEDTLS_X509_BADCERT_NOT_TRUSTED;
	return 0;
}

static void
test_verify_hook(void **st)
{
	int calls = 0;

	(void)st;
	/* untrusted by PKIX, accepted by the hook: verified=dane */
	assert_int_equal(connect_to("untrusted.crt", "localhost", hook_accept_leaf, &calls), 0);
	assert_true(calls >= 1);
	assert_string_equal(C.verified_by, "dane");
	done();
	/* trusted by PKIX, refused by the hook */
	assert_int_equal(connect_to("good.crt", "localhost", hook_refuse, NULL), TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_UNTRUSTED);
	done();
}

static void
test_conf_errors(void **st)
{
	char err[200];

	(void)st;
	assert_int_equal(tls_client_conf_load(&CC, "/nonexistent/ca.pem", false, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "cannot load CA certificates from /nonexistent/ca.pem"));
	memset(&CC, 0, sizeof(CC));
	assert_int_equal(tls_client_start(&C, &CC, "localhost"), -1);
	assert_int_equal(tls_client_handshake(&C), TLS_CLIENT_FAIL);
	tls_client_free(&C);
}

static int
setup(void **st)
{
	const char *top = getenv("TOP");

	(void)st;
	snprintf(vecdir, sizeof(vecdir), "%s/tests/vectors/relay", top ? top : ".");
	board_init();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkix_by_name_and_ip),
		cmocka_unit_test(test_pkix_refusals),
		cmocka_unit_test(test_verify_hook),
		cmocka_unit_test(test_conf_errors),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
