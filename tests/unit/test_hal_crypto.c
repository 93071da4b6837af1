/* hal_crypto contract, for every enabled backend: hashes (known answers,
 * streaming split at every offset == one-shot, memcpy snapshots, canary past
 * the digest), keys (generate, PEM round trip, public key, sign/verify,
 * -ERANGE on short buffers with a canary, -EBADMSG on a bad signature), and
 * bad input refused without a crash. Known-answer tests of signatures are in
 * `zegel selftest` (tests/e2e/selftest.sh, tests/cross/selftest.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/common/hal_backends.h"

#define CANARY 0xc3

static const enum hal_hash_alg algs[] = { HAL_HASH_SHA1, HAL_HASH_SHA256, HAL_HASH_SHA384,
	HAL_HASH_SHA512 };

static void
tohex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

static void
test_hash_known(void **state)
{
	static const char *const abc[] = {
		"a9993e364706816aba3e25717850c26c9cd0d89d",
		"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
		"cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
		"8086072ba1e7cc2358baeca134c825a7",
		"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
		"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
	};
	uint8_t d[HAL_HASH_MAX_LEN + 1];
	char hx[2 * HAL_HASH_MAX_LEN + 1];

	(void)state;
	for (const struct hal_crypto_ops *const *b = test_crypto_backends; *b; b++) {
		hal_crypto_set(*b);
		assert_true(hal_crypto_caps() & HAL_CRYPTO_CAP_SHA);
		for (size_t i = 0; i < 4; i++) {
			size_t len = hal_hash_len(algs[i]);
			memset(d, CANARY, sizeof(d));
			assert_int_equal(hal_hash(algs[i], (const uint8_t *)"abc", 3, d), 0);
			assert_int_equal(d[len], CANARY);
			memset(hx, 0, sizeof(hx));
			tohex(d, len, hx);
			if (strcmp(hx, abc[i]) != 0)
				fail_msg("%s: alg %d of 'abc' = %s", (*b)->name, algs[i], hx);
		}
		assert_int_equal(hal_hash_len((enum hal_hash_alg)0), 0);
		struct hal_hash_ctx c;
		assert_true(hal_hash_init(&c, (enum hal_hash_alg)99) < 0);
	}
	hal_crypto_set(&hal_crypto_soft);
}

/* Streaming split at every offset equals one-shot; a memcpy'd context
 * continues independently (the DKIM header-hash snapshot). */
static void
test_hash_streaming(void **state)
{
	uint8_t msg[300], one[HAL_HASH_MAX_LEN], two[HAL_HASH_MAX_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i ^ (i >> 3));
	for (const struct hal_crypto_ops *const *b = test_crypto_backends; *b; b++) {
		hal_crypto_set(*b);
		for (size_t a = 0; a < 4; a++) {
			size_t len = hal_hash_len(algs[a]);
			assert_int_equal(hal_hash(algs[a], msg, sizeof(msg), one), 0);
			for (size_t cut = 0; cut <= sizeof(msg); cut++) {
				struct hal_hash_ctx c;
				assert_int_equal(hal_hash_init(&c, algs[a]), 0);
				assert_int_equal(hal_hash_update(&c, msg, cut), 0);
				assert_int_equal(hal_hash_update(&c, msg + cut, sizeof(msg) - cut),
				    0);
				assert_int_equal(hal_hash_final(&c, two), 0);
				assert_memory_equal(one, two, len);
			}
			/* Snapshot after 100 bytes, finish both ways. */
			struct hal_hash_ctx c, snap;
			uint8_t tail[HAL_HASH_MAX_LEN];
			assert_int_equal(hal_hash_init(&c, algs[a]), 0);
			assert_int_equal(hal_hash_update(&c, msg, 100), 0);
			memcpy(&snap, &c, sizeof(c));
			assert_int_equal(hal_hash_update(&c, msg + 100, 200), 0);
			assert_int_equal(hal_hash_final(&c, two), 0);
			assert_memory_equal(one, two, len);
			assert_int_equal(hal_hash_final(&snap, tail), 0);
			assert_int_equal(hal_hash(algs[a], msg, 100, two), 0);
			assert_memory_equal(tail, two, len);
		}
	}
	hal_crypto_set(&hal_crypto_soft);
}

static void
sign_verify(const struct hal_crypto_ops *b, struct hal_key *k, size_t siglen_want)
{
	uint8_t digest[32], sig[512 + 1], pub[600 + 1], bad[512];
	size_t siglen = 0, publen = 0;
	int rc;

	assert_int_equal(hal_hash(HAL_HASH_SHA256, (const uint8_t *)"message", 7, digest), 0);
	/* Short output buffers: -ERANGE, nothing written past them. */
	memset(sig, CANARY, sizeof(sig));
	rc =
	    hal_key_sign(k, HAL_HASH_SHA256, digest, sizeof(digest), sig, siglen_want - 1, &siglen);
	assert_int_equal(rc, -ERANGE);
	assert_int_equal(sig[siglen_want - 1], CANARY);
	memset(sig, 0, sizeof(sig));
	sig[siglen_want] = CANARY;
	assert_int_equal(hal_key_sign(k, HAL_HASH_SHA256, digest, sizeof(digest), sig, siglen_want,
			     &siglen),
	    0);
	assert_int_equal(siglen, siglen_want);
	assert_int_equal(sig[siglen_want], CANARY);

	memset(pub, CANARY, sizeof(pub));
	assert_int_equal(hal_key_public(k, pub, 10, &publen), -ERANGE);
	assert_int_equal(pub[10], CANARY);
	assert_int_equal(hal_key_public(k, pub, sizeof(pub) - 1, &publen), 0);
	assert_int_equal(pub[sizeof(pub) - 1], CANARY);

	memcpy(bad, sig, siglen);
	bad[siglen / 2] ^= 0x20;
	if (k->type == HAL_KEY_ED25519) {
		assert_int_equal(publen, 32);
		assert_int_equal(hal_ed25519_verify(pub, digest, sizeof(digest), sig), 0);
		assert_int_equal(hal_ed25519_verify(pub, digest, sizeof(digest), bad), -EBADMSG);
		digest[0] ^= 1;
		assert_int_equal(hal_ed25519_verify(pub, digest, sizeof(digest), sig), -EBADMSG);
	} else {
		assert_int_equal(hal_rsa_verify_spki(pub, publen, HAL_HASH_SHA256, digest, sig,
				     siglen),
		    0);
		assert_int_equal(hal_rsa_verify_spki(pub, publen, HAL_HASH_SHA256, digest, bad,
				     siglen),
		    -EBADMSG);
		/* A truncated signature or a wrong algorithm: refused. */
		assert_true(
		    hal_rsa_verify_spki(pub, publen, HAL_HASH_SHA256, digest, sig, siglen - 1) < 0);
		assert_true(
		    hal_rsa_verify_spki(pub, publen, HAL_HASH_SHA1, digest, sig, siglen) < 0);
		assert_true(
		    hal_rsa_verify_spki(pub, publen / 2, HAL_HASH_SHA256, digest, sig, siglen) < 0);
	}
	(void)b;
}

static void
pem_round_trip(struct hal_key *k)
{
	static char pem[4096];
	uint8_t pub1[600], pub2[600];
	size_t len = 0, l1 = 0, l2 = 0;
	struct hal_key k2;

	assert_int_equal(hal_key_write_pem(k, pem, 20, &len), -ERANGE);
	assert_int_equal(hal_key_write_pem(k, pem, sizeof(pem), &len), 0);
	assert_int_equal(strlen(pem), len);
	assert_non_null(strstr(pem, "-----BEGIN"));
	memset(&k2, 0, sizeof(k2));
	assert_int_equal(hal_key_load(&k2, (const uint8_t *)pem, len), 0);
	assert_int_equal(k2.type, k->type);
	assert_int_equal(k2.bits, k->bits);
	assert_int_equal(hal_key_public(k, pub1, sizeof(pub1), &l1), 0);
	assert_int_equal(hal_key_public(&k2, pub2, sizeof(pub2), &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(pub1, pub2, l1);
	hal_key_free(&k2);
	/* Truncated PEM: refused. */
	memset(&k2, 0, sizeof(k2));
	assert_true(hal_key_load(&k2, (const uint8_t *)pem, len / 2) < 0);
	hal_key_free(&k2);
}

static void
test_keys(void **state)
{
	(void)state;
	for (const struct hal_crypto_ops *const *b = test_crypto_backends; *b; b++) {
		struct hal_key k;
		hal_crypto_set(*b);
		if (!(hal_crypto_caps() & HAL_CRYPTO_CAP_KEYGEN))
			continue;
		if (hal_crypto_caps() & HAL_CRYPTO_CAP_ED25519) {
			memset(&k, 0, sizeof(k));
			assert_int_equal(hal_key_generate(&k, HAL_KEY_ED25519, 0), 0);
			assert_int_equal(k.type, HAL_KEY_ED25519);
			sign_verify(*b, &k, 64);
			pem_round_trip(&k);
			hal_key_free(&k);
			assert_int_equal(k.type, HAL_KEY_NONE);
		}
		if (hal_crypto_caps() & HAL_CRYPTO_CAP_RSA) {
			memset(&k, 0, sizeof(k));
			assert_int_equal(hal_key_generate(&k, HAL_KEY_RSA, 2048), 0);
			assert_int_equal(k.type, HAL_KEY_RSA);
			assert_int_equal(k.bits, 2048);
			sign_verify(*b, &k, 256);
			pem_round_trip(&k);
			hal_key_free(&k);
		}
	}
	hal_crypto_set(&hal_crypto_soft);
}

static void
test_bad_input(void **state)
{
	static const char junk[] = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n"
				   "-----END PRIVATE KEY-----\n";
	uint8_t digest[64] = { 0 }, sig[256] = { 1 }, pub[96] = { 4 }, mod[256];
	static const uint8_t e[3] = { 1, 0, 1 };
	struct hal_key k;

	(void)state;
	memset(mod, 0xff, sizeof(mod));
	for (const struct hal_crypto_ops *const *b = test_crypto_backends; *b; b++) {
		hal_crypto_set(*b);
		memset(&k, 0, sizeof(k));
		assert_true(hal_key_load(&k, (const uint8_t *)junk, strlen(junk)) < 0);
		assert_true(hal_key_load(&k, (const uint8_t *)"", 0) < 0);
		assert_true(hal_key_load(&k, (const uint8_t *)"garbage", 7) < 0);
		hal_key_free(&k); /* a zeroed key may be freed */
		hal_key_free(&k);
		assert_true(hal_rsa_verify(mod, sizeof(mod), e, sizeof(e), HAL_HASH_SHA256, digest,
				sig, sizeof(sig)) < 0);
		assert_true(hal_rsa_verify(mod, 0, e, sizeof(e), HAL_HASH_SHA256, digest, sig,
				sizeof(sig)) < 0);
		assert_true(hal_rsa_verify_spki(pub, sizeof(pub), HAL_HASH_SHA256, digest, sig,
				sizeof(sig)) < 0);
		if (hal_crypto_caps() & HAL_CRYPTO_CAP_ECDSA) {
			assert_true(
			    hal_ecdsa_verify(HAL_ECDSA_P256, pub, 64, digest, 32, sig, 64) < 0);
			assert_true(
			    hal_ecdsa_verify(HAL_ECDSA_P256, pub, 63, digest, 32, sig, 64) < 0);
			assert_true(
			    hal_ecdsa_verify(HAL_ECDSA_P384, pub, 96, digest, 48, sig, 95) < 0);
			assert_true(hal_ecdsa_verify((enum hal_ecdsa_curve)9, pub, 64, digest, 32,
					sig, 64) < 0);
		}
		if (hal_crypto_caps() & HAL_CRYPTO_CAP_ED25519)
			assert_int_equal(hal_ed25519_verify(pub, digest, 32, sig), -EBADMSG);
	}
	hal_crypto_set(&hal_crypto_soft);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_known),
		cmocka_unit_test(test_hash_streaming),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bad_input),
	};
	assert_non_null(test_crypto_backends[0]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
