/*
 * Issue 17 point 5: the listener certificate and key.
 *
 * The pure checks (firmware/tls/material.c): a certificate that does not
 * parse, a key that does not parse, a key that is not the certificate's;
 * zegel's own self-signed certificate has subjectAltName DNS:HOST and is
 * recognised (also the SAN-less ones earlier versions made), an admin's is
 * not. Then the files (firmware/tls/server.c over hal/storage in a temporary
 * directory): paths an admin named are never written, not even when missing;
 * zegel's own pair is generated, a key without certificate keeps its key,
 * a host name change makes the certificate again for the same key, an
 * admin's certificate at the default path is never replaced.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "firmware/tls/material.h"
#include "firmware/tls/tls.h"
#include "hal/entropy.h"
#include "hal/storage.h"

#define NOW 1767225600 /* 2026-01-01 */

static uint8_t k1[2048], k2[2048], c1[4096];
static size_t k1l, k2l, c1l;

static void
make_pair(void)
{
	assert_int_equal(tls_material_new_key(hal_entropy_rng, NULL, k1, sizeof(k1), &k1l), 0);
	assert_int_equal(tls_material_new_key(hal_entropy_rng, NULL, k2, sizeof(k2), &k2l), 0);
	assert_int_equal(tls_material_self_signed(k1, k1l, "mail.example.test", NOW,
			     hal_entropy_rng, NULL, c1, sizeof(c1), &c1l),
	    0);
}

/* A certificate for key whose subject is subject (no SAN): an admin's, or
 * what zegel made before subjectAltName. */
static size_t
other_cert(const uint8_t *key, size_t keylen, const char *subject, uint8_t *out, size_t cap)
{
	mbedtls_pk_context pk;
	mbedtls_x509write_cert w;
	mbedtls_mpi serial;

	mbedtls_pk_init(&pk);
	mbedtls_x509write_crt_init(&w);
	mbedtls_mpi_init(&serial);
	assert_int_equal(mbedtls_pk_parse_key(&pk, key, keylen, NULL, 0), 0);
	assert_int_equal(mbedtls_mpi_lset(&serial, 7), 0);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &pk);
	mbedtls_x509write_crt_set_issuer_key(&w, &pk);
	assert_int_equal(mbedtls_x509write_crt_set_serial(&w, &serial), 0);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, subject), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, subject), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20250101000000", "20350101000000"),
	    0);
	assert_int_equal(mbedtls_x509write_crt_pem(&w, out, cap, hal_entropy_rng, NULL), 0);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&w);
	mbedtls_pk_free(&pk);
	return strlen((char *)out) + 1;
}

static void
test_check(void **state)
{
	static const uint8_t junk[] = "-----BEGIN CERTIFICATE-----\nnot base64\n"
				      "-----END CERTIFICATE-----\n";

	(void)state;
	make_pair();
	assert_int_equal(tls_material_check(c1, c1l, k1, k1l), TLS_MAT_OK);
	assert_int_equal(tls_material_check(c1, c1l, k2, k2l), TLS_MAT_MISMATCH);
	assert_int_equal(tls_material_check(junk, sizeof(junk), k1, k1l), TLS_MAT_CERT);
	/* a certificate where the key should be: the typo of issue 17 */
	assert_int_equal(tls_material_check(c1, c1l, c1, c1l), TLS_MAT_KEY);
	assert_int_equal(tls_material_check(k1, k1l, k1, k1l), TLS_MAT_CERT);
	assert_int_equal(tls_material_key_check(k1, k1l), TLS_MAT_OK);
	assert_int_equal(tls_material_key_check(c1, c1l), TLS_MAT_KEY);
	assert_string_equal(tls_material_strerror(TLS_MAT_MISMATCH),
	    "the key is not the certificate's (public keys differ)");
}

static void
test_own_and_san(void **state)
{
	static uint8_t c[4096];
	static char longname[256];
	size_t cl;
	bool names;

	(void)state;
	make_pair();
	assert_int_equal(tls_material_own(c1, c1l, "mail.example.test", &names), 1);
	assert_true(names);
	assert_int_equal(tls_material_own(c1, c1l, "MAIL.Example.TEST", &names), 1);
	assert_true(names);
	assert_int_equal(tls_material_own(c1, c1l, "mail.example", &names), 1);
	assert_false(names);
	assert_int_equal(tls_material_own(c1, c1l, "other.example.test", &names), 1);
	assert_false(names);
	/* what zegel made before: self-signed, O=zegel, no SAN */
	cl = other_cert(k1, k1l, "CN=mail.example.test,O=zegel", c, sizeof(c));
	assert_int_equal(tls_material_own(c, cl, "mail.example.test", &names), 1);
	assert_false(names);
	/* an admin's: never zegel's own */
	cl = other_cert(k1, k1l, "CN=mail.example.test,O=Example Ltd", c, sizeof(c));
	assert_int_equal(tls_material_own(c, cl, "mail.example.test", &names), 0);
	assert_int_equal(tls_material_own(k1, k1l, "x", &names), TLS_MAT_CERT);
	/* a long name: the DER lengths take the long form */
	for (int i = 0; i < 4; i++)
		memcpy(longname + i * 62,
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.", 62);
	memcpy(longname + 248, "test", 5);
	assert_int_equal(strlen(longname), 252);
	assert_int_equal(tls_material_self_signed(k2, k2l, longname, NOW, hal_entropy_rng, NULL, c,
			     sizeof(c), &cl),
	    0);
	assert_int_equal(tls_material_own(c, cl, longname, &names), 1);
	assert_true(names);
	assert_int_equal(tls_material_check(c, cl, k2, k2l), TLS_MAT_OK);
	assert_int_equal(tls_material_self_signed(k2, k2l, "", NOW, hal_entropy_rng, NULL, c,
			     sizeof(c), &cl),
	    TLS_MAT_SPACE);
	assert_int_equal(tls_material_self_signed(c1, c1l, "h", NOW, hal_entropy_rng, NULL, c,
			     sizeof(c), &cl),
	    TLS_MAT_KEY);
}

/* ------------------------------------------------------------ the files */

static char dir[128], cert[192], key[192];
static uint8_t buf[8192];

static size_t
get(const char *path)
{
	size_t n = 0;

	assert_int_equal(hal_storage_get(path, buf, sizeof(buf) - 1, &n), 0);
	buf[n++] = 0;
	return n;
}

static void
put(const char *path, const uint8_t *p, size_t n)
{
	assert_int_equal(hal_storage_put(path, p, n - 1, 0600), 0);
}

static int
setup_dir(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/zegel-test-tlsmat.XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(cert, sizeof(cert), "%s/tls/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/tls/key.pem", dir);
	return 0;
}

static int
teardown_dir(void **state)
{
	char cmd[200];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_admin_files_never_written(void **state)
{
	char err[400], typo[200], mykey[200];
	size_t n;

	(void)state;
	make_pair();
	snprintf(typo, sizeof(typo), "%s/mycrt.pem", dir);
	snprintf(mykey, sizeof(mykey), "%s/mykey.pem", dir);
	put(mykey, k1, k1l);
	assert_int_not_equal(tls_server_check(typo, mykey, false, err, sizeof(err)), 0);
	assert_non_null(strstr(err, typo));
	assert_int_not_equal(tls_server_setup(typo, mykey, "h.example", false, err, sizeof(err)),
	    0);
	assert_non_null(strstr(err, typo));
	assert_int_equal(hal_storage_exists(typo), 0);
	n = get(mykey);
	assert_int_equal(n, k1l);
	assert_memory_equal(buf, k1, k1l);
	/* the right certificate, the wrong key: both named */
	snprintf(typo, sizeof(typo), "%s/mycert.pem", dir);
	put(typo, c1, c1l);
	put(mykey, k2, k2l);
	assert_int_not_equal(tls_server_check(typo, mykey, false, err, sizeof(err)), 0);
	assert_non_null(strstr(err, typo));
	assert_non_null(strstr(err, mykey));
	assert_non_null(strstr(err, "does not belong"));
	put(mykey, k1, k1l);
	assert_int_equal(tls_server_check(typo, mykey, false, err, sizeof(err)), 0);
	assert_int_equal(tls_server_setup(typo, mykey, "h.example", false, err, sizeof(err)), 0);
	assert_true(tls_server_ready());
}

static void
test_own_pair(void **state)
{
	static uint8_t k[2048];
	char err[400];
	size_t kl, cl;
	bool names;

	(void)state;
	make_pair();
	/* missing: fine at commit, generated at apply */
	assert_int_equal(tls_server_check(cert, key, true, err, sizeof(err)), 0);
	assert_int_equal(tls_server_setup(cert, key, "one.example", true, err, sizeof(err)), 0);
	kl = get(key);
	memcpy(k, buf, kl);
	cl = get(cert);
	assert_int_equal(tls_material_own(buf, cl, "one.example", &names), 1);
	assert_true(names);
	/* the host name changed: a new certificate, the same key */
	assert_int_equal(tls_server_setup(cert, key, "two.example", true, err, sizeof(err)), 0);
	cl = get(cert);
	assert_int_equal(tls_material_own(buf, cl, "two.example", &names), 1);
	assert_true(names);
	assert_int_equal(get(key), kl);
	assert_memory_equal(buf, k, kl);
	/* the key alone: a certificate for it, the key untouched */
	assert_int_equal(hal_storage_remove(cert), 0);
	assert_int_equal(tls_server_setup(cert, key, "two.example", true, err, sizeof(err)), 0);
	assert_int_equal(get(key), kl);
	assert_memory_equal(buf, k, kl);
	cl = get(cert);
	assert_int_equal(tls_material_check(buf, cl, k, kl), 0);
	/* a key alone that is no key: refused before anything is written */
	assert_int_equal(hal_storage_remove(cert), 0);
	put(key, c1, c1l);
	assert_int_not_equal(tls_server_check(cert, key, true, err, sizeof(err)), 0);
	assert_non_null(strstr(err, key));
	assert_int_equal(hal_storage_exists(cert), 0);
	put(key, k, kl);
	assert_int_equal(tls_server_setup(cert, key, "two.example", true, err, sizeof(err)), 0);
	/* a certificate without its key: refused, nothing written */
	assert_int_equal(hal_storage_remove(key), 0);
	assert_int_not_equal(tls_server_check(cert, key, true, err, sizeof(err)), 0);
	assert_non_null(strstr(err, key));
	assert_int_not_equal(tls_server_setup(cert, key, "two.example", true, err, sizeof(err)), 0);
	assert_int_equal(hal_storage_exists(key), 0);
	/* an admin's certificate at the default path: checked, never replaced */
	make_pair();
	put(key, k1, k1l);
	cl = other_cert(k1, k1l, "CN=mail.example.test,O=Example Ltd", c1, sizeof(c1));
	put(cert, c1, cl);
	assert_int_equal(tls_server_setup(cert, key, "two.example", true, err, sizeof(err)), 0);
	assert_int_equal(get(cert), cl);
	assert_memory_equal(buf, c1, cl);
	put(key, k2, k2l); /* and its key replaced by another: refused naming both */
	assert_int_not_equal(tls_server_check(cert, key, true, err, sizeof(err)), 0);
	assert_non_null(strstr(err, cert));
	assert_non_null(strstr(err, key));
}

/* A key held elsewhere (issue 15 point 4; the TPM through the key holder in
 * zegel run): here a soft RSA key behind the same callback, counted. The
 * certificate is signed through the callback and verifies; its key is the
 * held key's and no other; a callback that fails builds nothing; the
 * server's slot takes the key (an Ed25519 key is refused, and freed). */
static unsigned held_calls;
static bool held_fail;

static int
held_sign_cb(void *ctx, const uint8_t digest[32], uint8_t *sig, size_t cap, size_t *siglen)
{
	held_calls++;
	if (held_fail)
		return -ENODEV;
	return hal_key_sign(ctx, HAL_HASH_SHA256, digest, 32, sig, cap, siglen);
}

static void
test_held(void **state)
{
	static uint8_t spki[1024], spki2[1024], pem[8192];
	struct hal_key hk, other, ed;
	struct tls_material_held h;
	mbedtls_x509_crt crt;
	uint32_t flags = 0;
	size_t sl = 0, sl2 = 0, pl = 0;
	char err[400];
	bool names = false;
	mbedtls_pk_context pk;

	(void)state;
	memset(&hk, 0, sizeof(hk));
	memset(&other, 0, sizeof(other));
	assert_int_equal(hal_key_generate(&hk, HAL_KEY_RSA, 2048), 0);
	assert_int_equal(hal_key_generate(&other, HAL_KEY_RSA, 2048), 0);
	assert_int_equal(hal_key_public(&hk, spki, sizeof(spki), &sl), 0);
	assert_int_equal(hal_key_public(&other, spki2, sizeof(spki2), &sl2), 0);
	h = (struct tls_material_held){ spki, sl, 2048, held_sign_cb, &hk };
	held_calls = 0;
	held_fail = false;
	assert_int_equal(tls_material_self_signed_held(&h, "tpm.example", NOW, hal_entropy_rng, NULL,
			     pem, sizeof(pem), &pl),
	    0);
	assert_int_equal(held_calls, 1); /* the certificate's signature, by the callback */
	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse(&crt, pem, pl), 0);
	/* trusted as itself: the signature the callback made verifies */
	assert_int_equal(mbedtls_x509_crt_verify(&crt, &crt, NULL, NULL, &flags, NULL, NULL), 0);
	assert_int_equal(flags, 0);
	mbedtls_x509_crt_free(&crt);
	assert_int_equal(tls_material_check_held(pem, pl, &h), TLS_MAT_OK);
	assert_int_equal(tls_material_own(pem, pl, "tpm.example", &names), 1);
	assert_true(names);
	h.spki = spki2;
	h.spkilen = sl2;
	assert_int_equal(tls_material_check_held(pem, pl, &h), TLS_MAT_MISMATCH);
	h.spki = spki;
	h.spkilen = sl;
	assert_int_equal(tls_material_check_held((const uint8_t *)"junk", 5, &h), TLS_MAT_CERT);
	/* the mbedTLS key: RSA-alt, too small or without a signer refused */
	mbedtls_pk_init(&pk);
	assert_int_equal(tls_material_pk_held(&pk, &h), TLS_MAT_OK);
	assert_int_equal(mbedtls_pk_get_type(&pk), MBEDTLS_PK_RSA_ALT);
	assert_int_equal(mbedtls_pk_get_bitlen(&pk), 2048);
	mbedtls_pk_free(&pk);
	h.bits = 512;
	mbedtls_pk_init(&pk);
	assert_int_equal(tls_material_pk_held(&pk, &h), TLS_MAT_KEY);
	mbedtls_pk_free(&pk);
	h.bits = 2048;
	/* the signer fails (the TPM gone): nothing built */
	held_fail = true;
	assert_int_not_equal(tls_material_self_signed_held(&h, "tpm.example", NOW, hal_entropy_rng,
				 NULL, pem, sizeof(pem), &pl),
	    TLS_MAT_OK);
	held_fail = false;
	/* the server's slot: made a certificate at the default path, ready */
	assert_int_equal(tls_server_setup_held(cert, "held-key", &hk, "tpm.example", true, err,
			     sizeof(err)),
	    0);
	assert_null(hk.ops); /* taken over by the slot */
	assert_true(tls_server_ready());
	pl = get(cert);
	h.ctx = NULL;
	assert_int_equal(tls_material_check_held(buf, pl, &h), TLS_MAT_OK);
	/* an Ed25519 key cannot be an RSA-alt key: refused, freed */
	memset(&ed, 0, sizeof(ed));
	assert_int_equal(hal_key_generate(&ed, HAL_KEY_ED25519, 0), 0);
	assert_int_not_equal(tls_server_setup_held(cert, "ed-key", &ed, "tpm.example", true, err,
				 sizeof(err)),
	    0);
	assert_non_null(strstr(err, "not an RSA key"));
	assert_null(ed.ops);
	tls_server_disable();
	assert_false(tls_server_ready());
	hal_key_free(&other);
}

static void
test_versions(void **state)
{
	char err[300];

	(void)state;
	assert_int_equal(tls_server_min_supported(0, err, sizeof(err)), 0);
	assert_int_equal(tls_server_min_supported(12, err, sizeof(err)), 0);
	/* mbedTLS 2.28 has no TLS 1.3 server: refused with words, never 1.2 */
	assert_int_not_equal(tls_server_min_supported(13, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "TLS 1.3 is not available"));
#if defined(MBEDTLS_SSL_PROTO_TLS1)
	assert_int_equal(tls_server_min_supported(10, err, sizeof(err)), 0);
#else
	assert_int_not_equal(tls_server_min_supported(10, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "MBEDTLS_SSL_PROTO_TLS1"));
#endif
#if defined(MBEDTLS_SSL_PROTO_TLS1_1)
	assert_int_equal(tls_server_min_supported(11, err, sizeof(err)), 0);
#else
	assert_int_not_equal(tls_server_min_supported(11, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "MBEDTLS_SSL_PROTO_TLS1_1"));
#endif
	assert_int_not_equal(tls_server_min_supported(14, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_own_and_san),
		cmocka_unit_test_setup_teardown(test_admin_files_never_written, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(test_own_pair, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_held, setup_dir, teardown_dir),
		cmocka_unit_test(test_versions),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
