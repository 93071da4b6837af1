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


#include "firmware/tls/client.h"
#include "common/tls_peer.h"
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

/* cert: "x.crt" under vecdir, its key "x.key" next to it */
static void
srv_start(const char *cert)
{
	char key[600];

	snprintf(key, sizeof(key), "%s", vec(cert));
	strcpy(key + strlen(key) - 3, "key");
	tls_peer_start(vec(cert), key);
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
	r = tls_peer_shuttle(&C);
	return r;
}

static void
done(void)
{
	tls_client_free(&C);
	tls_client_conf_free(&CC);
	tls_peer_free();
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
	n = tls_peer_read(&C, buf, sizeof(buf));
	assert_int_equal(n, 8);
	assert_memory_equal(buf, "EHLO x\r\n", 8);
	tls_peer_write(&C, "250 ok\r\n", 8);
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
