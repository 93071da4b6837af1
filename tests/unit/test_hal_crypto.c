/* hal_crypto contract, for every enabled backend alone (when its probe
 * passes here: AF_ALG's does not on a kernel without it) and for the chains
 * (the board's; count > soft, count being a SHA-256-only stand-in for an
 * engine, tests/unit/common/crypto_count.h): hashes (known answers,
 * streaming split at every offset == one-shot, clones, canary past
 * the digest), keys (generate, PEM round trip, public key, sign/verify,
 * -ERANGE on short buffers with a canary, -EBADMSG on a bad signature), and
 * bad input refused without a crash. Known-answer tests of signatures are in
 * `zegel selftest` (tests/e2e/selftest.sh, tests/cross/selftest.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/common/crypto_count.h"
#include "tests/unit/common/hal_backends.h"
#include "zegel/config.h"

#define CANARY 0xc3

static const enum hal_hash_alg algs[] = { HAL_HASH_SHA1, HAL_HASH_SHA256, HAL_HASH_SHA384,
	HAL_HASH_SHA512 };

/*
 * Configuration ci of the suite: each backend of test_crypto_backends alone
 * (skipped when its probe fails), then the board's chain, then count > soft.
 * Sets the chain and returns true, or false after the last one. *alone is
 * set for a backend alone: it may lack algorithms (init says -ENOTSUP).
 */
static bool
use_config(unsigned ci, bool *alone)
{
	unsigned nb = 0;

	while (test_crypto_backends[nb])
		nb++;
	*alone = ci < nb;
	if (ci < nb) {
		const struct hal_crypto_ops *b = test_crypto_backends[ci];
		char why[200] = "";

		if (b->probe && b->probe(why, sizeof(why)) < 0) {
			print_message("# %s: skipped, its probe says: %s\n", b->name, why);
			hal_crypto_set(&hal_crypto_soft); /* the contract holds for soft again */
			return true;
		}
		if (b->caps && b->caps() == 0) {
			/* AF_ALG present, but its policy gives it nothing here */
			print_message("# %s: skipped, it serves nothing here: %s\n", b->name, why);
			hal_crypto_set(&hal_crypto_soft);
			return true;
		}
		hal_crypto_set(b);
		return true;
	}
	if (ci == nb) {
		test_crypto_board_chain();
		return true;
	}
	if (ci == nb + 1) {
		test_crypto_count_chain();
		return true;
	}
	test_crypto_board_chain();
	return false;
}

/* Is alg served by the current chain? Only a backend alone may say no. */
static bool
has_alg(enum hal_hash_alg alg, bool alone)
{
	struct hal_hash_ctx c;
	int rc = hal_hash_init(&c, alg);

	hal_hash_free(&c);
	if (rc == -ENOTSUP && alone)
		return false;
	assert_int_equal(rc, 0);
	return true;
}

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
	bool alone;
	for (unsigned ci = 0; use_config(ci, &alone); ci++) {
		unsigned served = 0;
		assert_true(hal_crypto_caps() & HAL_CRYPTO_CAP_SHA);
		for (size_t i = 0; i < 4; i++) {
			size_t len = hal_hash_len(algs[i]);
			if (!has_alg(algs[i], alone))
				continue;
			served++;
			memset(d, CANARY, sizeof(d));
			assert_int_equal(hal_hash(algs[i], (const uint8_t *)"abc", 3, d), 0);
			assert_int_equal(d[len], CANARY);
			memset(hx, 0, sizeof(hx));
			tohex(d, len, hx);
			if (strcmp(hx, abc[i]) != 0)
				fail_msg("%s: alg %d of 'abc' = %s", hal_crypto()->name, algs[i], hx);
		}
		assert_true(served > 0);
		assert_int_equal(hal_hash_len((enum hal_hash_alg)0), 0);
		struct hal_hash_ctx c;
		assert_true(hal_hash_init(&c, (enum hal_hash_alg)99) < 0);
		hal_hash_free(&c); /* a failed init leaves nothing to free */
	}
}

/* Streaming split at every offset equals one-shot; a clone continues
 * independently (the DKIM header-hash snapshot); free of an unfinished,
 * finished, freed or zeroed context is safe. */
static void
test_hash_streaming(void **state)
{
	uint8_t msg[300], one[HAL_HASH_MAX_LEN], two[HAL_HASH_MAX_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)(i ^ (i >> 3));
	bool alone;
	for (unsigned ci = 0; use_config(ci, &alone); ci++) {
		for (size_t a = 0; a < 4; a++) {
			size_t len = hal_hash_len(algs[a]);
			if (!has_alg(algs[a], alone))
				continue;
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
			assert_int_equal(hal_hash_clone(&snap, &c), 0);
			assert_ptr_equal(snap.ops, c.ops);
			assert_int_equal(hal_hash_update(&c, msg + 100, 200), 0);
			assert_int_equal(hal_hash_final(&c, two), 0);
			assert_memory_equal(one, two, len);
			assert_null(c.ops); /* finished: bound to nothing */
			assert_int_equal(hal_hash_final(&snap, tail), 0);
			assert_int_equal(hal_hash(algs[a], msg, 100, two), 0);
			assert_memory_equal(tail, two, len);
			hal_hash_free(&c);  /* finished: a no-op */
			/* a clone of a fresh context, both continued */
			assert_int_equal(hal_hash_init(&c, algs[a]), 0);
			assert_int_equal(hal_hash_clone(&snap, &c), 0);
			assert_int_equal(hal_hash_update(&snap, msg, 100), 0);
			assert_int_equal(hal_hash_final(&snap, tail), 0);
			assert_memory_equal(tail, two, len);
			/* abandoned unfinished: freed, twice is fine */
			assert_int_equal(hal_hash_update(&c, msg, 7), 0);
			hal_hash_free(&c);
			assert_null(c.ops);
			hal_hash_free(&c);
			assert_int_equal(hal_hash_update(&c, msg, 1), -EINVAL);
			memset(&c, 0, sizeof(c));
			hal_hash_free(&c);
			assert_int_equal(hal_hash_clone(&snap, &c), -EINVAL);
		}
	}
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
	bool alone;
	for (unsigned ci = 0; use_config(ci, &alone); ci++) {
		struct hal_key k;
		if (!(hal_crypto_caps() & HAL_CRYPTO_CAP_KEYGEN))
			continue;
		if (hal_crypto_caps() & HAL_CRYPTO_CAP_ED25519) {
			memset(&k, 0, sizeof(k));
			assert_int_equal(hal_key_generate(&k, HAL_KEY_ED25519, 0), 0);
			assert_int_equal(k.type, HAL_KEY_ED25519);
			sign_verify(hal_crypto(), &k, 64);
			pem_round_trip(&k);
			hal_key_free(&k);
			assert_int_equal(k.type, HAL_KEY_NONE);
		}
		if (hal_crypto_caps() & HAL_CRYPTO_CAP_RSA) {
			memset(&k, 0, sizeof(k));
			assert_int_equal(hal_key_generate(&k, HAL_KEY_RSA, 2048), 0);
			assert_int_equal(k.type, HAL_KEY_RSA);
			assert_int_equal(k.bits, 2048);
			sign_verify(hal_crypto(), &k, 256);
			pem_round_trip(&k);
			hal_key_free(&k);
		}
	}
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
	bool alone;
	for (unsigned ci = 0; use_config(ci, &alone); ci++) {
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
}

/* The chain: SHA-256 goes to the first backend (count), the other hashes and
 * every key operation fall through to soft; caps() is the union. */
static void
test_chain_fallthrough(void **state)
{
	const struct hal_crypto_ops *bs[HAL_CRYPTO_MAX_BACKENDS];
	uint8_t d[HAL_HASH_MAX_LEN], want[HAL_HASH_MAX_LEN];
	struct hal_key k;

	(void)state;
	test_crypto_count_chain();
	assert_int_equal(hal_crypto_backends(bs, HAL_CRYPTO_MAX_BACKENDS), 2);
	assert_ptr_equal(bs[0], &test_crypto_count_ops);
	assert_ptr_equal(bs[1], &hal_crypto_soft);
	assert_non_null(strstr(hal_crypto()->name, "count"));
	assert_non_null(strstr(hal_crypto()->name, " > soft"));
	assert_int_equal(test_crypto_count.probes, 0); /* reset after registration */
	assert_ptr_equal(hal_crypto_hash_backend(HAL_HASH_SHA256), &test_crypto_count_ops);
	assert_ptr_equal(hal_crypto_hash_backend(HAL_HASH_SHA1), &hal_crypto_soft);
	assert_ptr_equal(hal_crypto_hash_backend(HAL_HASH_SHA512), &hal_crypto_soft);
	assert_null(hal_crypto_hash_backend((enum hal_hash_alg)99));
	assert_int_equal(test_crypto_count.live, 0); /* the trial inits were freed */
	assert_int_equal(test_crypto_count.frees, 1);
	test_crypto_count.inits = test_crypto_count.frees = 0;

	assert_int_equal(hal_hash(HAL_HASH_SHA256, (const uint8_t *)"abc", 3, d), 0);
	assert_int_equal(test_crypto_count.inits, 1);
	assert_int_equal(test_crypto_count.finals, 1);
	assert_int_equal(test_crypto_count.live, 0);
	assert_int_equal(hal_hash(HAL_HASH_SHA1, (const uint8_t *)"abc", 3, d), 0);
	assert_int_equal(test_crypto_count.inits, 1); /* not the count backend's */
	assert_ptr_equal(hal_crypto_op_backend(offsetof(struct hal_crypto_ops, sign)),
	    &hal_crypto_soft);
	assert_ptr_equal(hal_crypto_op_backend(offsetof(struct hal_crypto_ops, key_load)),
	    &hal_crypto_soft);
	assert_ptr_equal(hal_crypto_op_backend(offsetof(struct hal_crypto_ops, hash_init)),
	    &test_crypto_count_ops);
	assert_true(hal_crypto_caps() & HAL_CRYPTO_CAP_HW);
	assert_true(hal_crypto_caps() & HAL_CRYPTO_CAP_RSA);
	memset(&k, 0, sizeof(k));
	assert_int_equal(hal_key_generate(&k, HAL_KEY_ED25519, 0), 0);
	assert_ptr_equal(k.ops, &hal_crypto_soft);
	hal_key_free(&k);

	/* the same digest through count as through soft alone */
	assert_int_equal(hal_hash(HAL_HASH_SHA256, (const uint8_t *)"chain", 5, d), 0);
	hal_crypto_set(&hal_crypto_soft);
	assert_int_equal(hal_hash(HAL_HASH_SHA256, (const uint8_t *)"chain", 5, want), 0);
	assert_memory_equal(d, want, 32);
	test_crypto_board_chain();
}

/* A backend whose self-test vector comes out wrong is left out of the chain;
 * so is one registered twice (once is enough). */
static void
test_probe_rejects(void **state)
{
	const struct hal_crypto_ops *bs[HAL_CRYPTO_MAX_BACKENDS];

	(void)state;
	hal_crypto_set(NULL);
	assert_null(hal_crypto());
	test_crypto_count.bad_selftest = 1;
	assert_int_equal(hal_crypto_register(&test_crypto_count_ops), -EIO);
	assert_null(hal_crypto());
	assert_int_equal(hal_crypto_register(&hal_crypto_soft), 0);
	assert_int_equal(hal_crypto_register(&hal_crypto_soft), 0);
	assert_int_equal(hal_crypto_backends(bs, HAL_CRYPTO_MAX_BACKENDS), 1);
	assert_ptr_equal(bs[0], &hal_crypto_soft);
	assert_ptr_equal(hal_crypto_hash_backend(HAL_HASH_SHA256), &hal_crypto_soft);
	test_crypto_count.bad_selftest = 0;
	assert_int_equal(hal_crypto_register(&test_crypto_count_ops), 0); /* after soft */
	assert_ptr_equal(hal_crypto_hash_backend(HAL_HASH_SHA256), &hal_crypto_soft);
	test_crypto_board_chain();
}

/* A clone and its source each hold a context of the backend; final and free
 * release each once, whichever order. */
static void
test_clone_free_counted(void **state)
{
	struct hal_hash_ctx a, b, c;
	uint8_t d[32];

	(void)state;
	test_crypto_count_chain();
	assert_int_equal(hal_hash_init(&a, HAL_HASH_SHA256), 0);
	assert_int_equal(hal_hash_update(&a, (const uint8_t *)"abc", 3), 0);
	assert_int_equal(hal_hash_clone(&b, &a), 0);
	assert_int_equal(hal_hash_clone(&c, &b), 0);
	assert_int_equal(test_crypto_count.live, 3);
	assert_int_equal(test_crypto_count.clones, 2);
	hal_hash_free(&a);
	assert_int_equal(hal_hash_final(&b, d), 0);
	hal_hash_free(&b); /* finished: not freed twice */
	hal_hash_free(&c);
	hal_hash_free(&c);
	assert_int_equal(test_crypto_count.frees, 2);
	assert_int_equal(test_crypto_count.finals, 1);
	assert_int_equal(test_crypto_count.live, 0);
	test_crypto_board_chain();
}

#if IS_ENABLED(CONFIG_HAL_CRYPTO_AFALG)
/* The AF_ALG probe on this kernel: without the socket family (EAFNOSUPPORT,
 * the development and CI machines) it says so and stays out of the chain,
 * whose hashes are then software's; with it, it is in the chain and each
 * hash is served by af_alg or soft (the contract suites ran it above). */
static void
test_afalg_probe(void **state)
{
	const struct hal_crypto_ops *b, *bs[HAL_CRYPTO_MAX_BACKENDS];
	char why[240] = "";
	int fd = socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0), e = errno;
	struct hal_hash_ctx c;
	bool used = false, seen = false;
	const char *v;

	(void)state;
	if (fd >= 0)
		close(fd);
	test_crypto_board_chain();
	for (unsigned i = 0; (v = hal_crypto_verdict(i, &b, &used)) != NULL; i++)
		if (b == &hal_crypto_afalg) {
			seen = true;
			break;
		}
	assert_true(seen);
	if (fd < 0 && e == EAFNOSUPPORT) {
		assert_false(used);
		assert_non_null(strstr(v, "EAFNOSUPPORT"));
		assert_int_equal(hal_crypto_afalg.probe(why, sizeof(why)), -ENOTSUP);
		assert_non_null(strstr(why, "socket(AF_ALG): address family not supported"));
		/* not in the chain, which ends with soft (after cpu, if any) */
		unsigned nb = hal_crypto_backends(bs, HAL_CRYPTO_MAX_BACKENDS);
		assert_true(nb >= 1);
		for (unsigned i = 0; i < nb; i++)
			assert_ptr_not_equal(bs[i], &hal_crypto_afalg);
		assert_ptr_equal(bs[nb - 1], &hal_crypto_soft);
		/* unprobed, it takes nothing: a chain with it first still works */
		c.ops = NULL;
		assert_int_equal(hal_crypto_afalg.hash_init(&c, HAL_HASH_SHA256), -ENOTSUP);
		assert_false(hal_crypto_afalg.caps() & HAL_CRYPTO_CAP_SHA);
	} else {
		print_message("# AF_ALG present: %s\n", v);
		assert_true(used);
	}
	for (enum hal_hash_alg a = HAL_HASH_SHA1; a <= HAL_HASH_SHA512; a++)
		assert_non_null(hal_crypto_hash_backend(a));
}
#endif

/* soft's digest of p[0..n) */
static void
soft_digest(const uint8_t *p, size_t n, uint8_t out[32])
{
	struct hal_hash_ctx c;

	c.ops = NULL;
	assert_int_equal(hal_crypto_soft.hash_init(&c, HAL_HASH_SHA256), 0);
	assert_int_equal(hal_hash_update(&c, p, n), 0);
	assert_int_equal(hal_hash_final(&c, out), 0);
}

/*
 * hal_hash_update_text() and hal_text_clean_len() against a byte-by-byte
 * reference of the clean-text rule (hal/crypto.h), for every configuration
 * (cpu checks inside its SHA-NI loop, the others check then hash): text of
 * clean lines of random lengths with one offending byte (bare LF, bare CR,
 * HTAB, SP before SP, SP before CRLF, an empty line) at every position 0..63
 * of a 64-byte block, in blocks at the start, after a few, and around the
 * 32 KiB chunk of the separate pass; the context holding 0, 1, 17 or 63
 * bytes before (a partial block); both rules. The length and *dirty must be
 * the reference's, the digest that of the bytes before plus the prefix.
 */
static size_t
ref_clean(const uint8_t *p, size_t n, bool relaxed, bool *dirty)
{
	size_t good = 0, j;

	*dirty = false;
	for (;;) { /* at a line start: good */
		for (j = good; j < n; j++) {
			uint8_t c = p[j];

			if (c == '\r') {
				if (j + 1 >= n)
					return good;
				if (p[j + 1] != '\n' || j == good || (relaxed && p[j - 1] == ' '))
					break;
				good = j + 2;
				j = good - 1;
				continue;
			}
			if (c == '\n' || (relaxed && c == '\t'))
				break;
			if (relaxed && c == ' ') {
				if (j + 1 >= n)
					return good;
				if (p[j + 1] == ' ' || p[j + 1] == '\t' || p[j + 1] == '\r')
					break;
			}
		}
		if (j < n)
			*dirty = true;
		return good;
	}
}

static uint32_t text_seed = 12345;

static unsigned
text_rand(unsigned m)
{
	text_seed = text_seed * 1103515245u + 12345u;
	return (text_seed >> 8) % m;
}

/* n bytes of clean lines (1 to 300 bytes of letters, digits, single SPs
 * inside, each with CRLF); the last line may be cut. */
static void
clean_lines(uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t len = 1 + text_rand(text_rand(4) == 0 ? 300 : 80);

		for (size_t k = 0; k < len && i < n; k++, i++)
			p[i] = k > 0 && k + 1 < len && p[i - 1] != ' ' && text_rand(6) == 0
			    ? ' '
			    : (uint8_t)"abcdefghijklmnopqrstuvwxyz0123456789+/="[text_rand(39)];
		if (i < n)
			p[i++] = '\r';
		if (i < n)
			p[i++] = '\n';
	}
}

/* The text with one offence of kind kind at pos (pos > 2). */
static void
offend(uint8_t *p, size_t pos, unsigned kind)
{
	switch (kind) {
	case 0: p[pos] = '\n'; break;                                /* bare LF */
	case 1: p[pos] = '\r'; p[pos + 1] = 'x'; break;              /* bare CR */
	case 2: p[pos] = '\t'; break;                                /* HTAB */
	case 3: p[pos - 1] = 'y'; p[pos] = ' '; p[pos + 1] = ' '; p[pos + 2] = 'z'; break;
	case 4: p[pos - 1] = 'y'; p[pos] = ' '; p[pos + 1] = '\r'; p[pos + 2] = '\n'; break;
	default: p[pos - 2] = '\r'; p[pos - 1] = '\n'; p[pos] = '\r'; p[pos + 1] = '\n'; break;
	}
}

static void
check_text(const uint8_t *p, size_t n, size_t pre, unsigned flags, const char *what)
{
	static uint8_t both[70000];
	uint8_t want[32], d[32];
	struct hal_hash_ctx c;
	size_t rl, len = 0, cl;
	bool rd, dirty = true, cd;

	rl = ref_clean(p, n, (flags & HAL_TEXT_RELAXED) != 0, &rd);
	cl = hal_text_clean_len(p, n, flags, &cd);
	if (cl != rl || cd != rd)
		fail_msg("%s: hal_text_clean_len %zu/%d, reference %zu/%d", what, cl, cd, rl, rd);
	memset(both, 'j', pre);
	memcpy(both + pre, p, rl);
	soft_digest(both, pre + rl, want);
	assert_int_equal(hal_hash_init(&c, HAL_HASH_SHA256), 0);
	assert_int_equal(hal_hash_update(&c, both, pre), 0);
	assert_int_equal(hal_hash_update_text(&c, p, n, flags, &len, &dirty), 0);
	assert_int_equal(hal_hash_final(&c, d), 0);
	if (len != rl || dirty != rd || memcmp(d, want, 32) != 0)
		fail_msg("%s: %s: %zu/%d, reference %zu/%d, digest %s", hal_crypto()->name, what,
		    len, dirty, rl, rd, memcmp(d, want, 32) ? "differs" : "same");
}

static void
test_hash_update_text(void **state)
{
	static const size_t at[] = { 0, 64, 320, HAL_TEXT_CHUNK - 128, HAL_TEXT_CHUNK - 64,
		HAL_TEXT_CHUNK };
	static const size_t pres[] = { 0, 1, 17, 63 };
	static uint8_t base[HAL_TEXT_CHUNK + 1024], p[sizeof(base)];
	char what[120];
	bool alone;

	(void)state;
	for (unsigned ci = 0; use_config(ci, &alone); ci++) {
		if (!has_alg(HAL_HASH_SHA256, alone))
			continue;
		text_seed = 12345;
		clean_lines(base, sizeof(base));
		for (size_t ai = 0; ai < sizeof(at) / sizeof(at[0]); ai++)
			for (size_t j = 0; j < 64; j++)
				for (unsigned kind = 0; kind < 6; kind++) {
					size_t pos = at[ai] + j + 3, n = at[ai] + 64 + 3 + 200;
					unsigned flags = (j + kind) & 1 ? HAL_TEXT_RELAXED : 0;

					memcpy(p, base, n);
					offend(p, pos, kind);
					snprintf(what, sizeof(what), "kind %u at %zu, %s", kind, pos,
					    flags ? "relaxed" : "simple");
					check_text(p, n, pres[(j + ai) % 4], flags, what);
					check_text(p, n, pres[(j + ai + kind) % 4], flags ^ HAL_TEXT_RELAXED,
					    what);
				}
		/* no offence: ends at the last line end (cut lines, CR or SP last),
		 * over 32 KiB; and where the text starts with an offence */
		for (size_t n = 0; n < 300; n++)
			check_text(base, n, n % 64, n & 1 ? HAL_TEXT_RELAXED : 0, "clean, short");
		for (size_t n = sizeof(base) - 130; n < sizeof(base); n++)
			check_text(base, n, n % 64, n & 1 ? HAL_TEXT_RELAXED : 0, "clean, long");
		for (unsigned kind = 0; kind < 6; kind++) {
			memcpy(p, base, 400);
			p[0] = 'a';
			p[1] = 'b';
			offend(p, 2 + (kind == 5) * 2, kind);
			check_text(p, 400, 5, HAL_TEXT_RELAXED, "offence in the first line");
			check_text(p, 400, 0, 0, "offence in the first line");
			p[0] = kind == 0 ? '\n' : kind == 1 ? '\r' : kind == 2 ? '\t' : ' ';
			check_text(p, 400, 0, HAL_TEXT_RELAXED, "offence first");
		}
	}
}

#if IS_ENABLED(CONFIG_HAL_CRYPTO_CPU)
/* The cpu backend (SHA instructions) against software: every length to
 * 1,100 bytes fed in pieces of 1, 3, 55, 63, 64, 65 and 200 bytes with a
 * clone taken after the first piece and both finished; 1 MiB at once; an
 * abandoned context is wiped; ZEGEL_CRYPTO_CPU=off takes it out of the
 * chain. Without the instructions here its verdict must say so and it must
 * take nothing. */
static void
test_cpu_backend(void **state)
{
	static const size_t pieces[] = { 1, 3, 55, 63, 64, 65, 200 };
	static uint8_t big[1 << 20];
	uint8_t want[32], d[32], e[32];
	char why[200] = "";
	struct hal_hash_ctx c, k;
	const struct hal_crypto_ops *bs[HAL_CRYPTO_MAX_BACKENDS];

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)((i * 2654435761u) >> 13);
	unsetenv("ZEGEL_CRYPTO_CPU");
	if (hal_crypto_cpu.probe(why, sizeof(why)) != 0) {
		print_message("# cpu: no SHA instructions here, its checks skipped: %s\n", why);
		assert_true(strstr(why, "without") != NULL || strstr(why, "no SHA") != NULL);
		c.ops = NULL;
		assert_int_equal(hal_crypto_cpu.hash_init(&c, HAL_HASH_SHA256), -ENOTSUP);
		assert_int_equal(hal_crypto_cpu.caps(), 0);
		return;
	}
	assert_string_equal(why, "serves sha256");
	assert_int_equal(hal_crypto_cpu.caps(), HAL_CRYPTO_CAP_SHA);
	c.ops = NULL;
	assert_int_equal(hal_crypto_cpu.hash_init(&c, HAL_HASH_SHA1), -ENOTSUP);
	assert_int_equal(hal_crypto_cpu.hash_init(&c, HAL_HASH_SHA512), -ENOTSUP);
	for (size_t n = 0; n <= 1100; n++) {
		soft_digest(big, n, want);
		for (size_t pi = 0; pi < sizeof(pieces) / sizeof(pieces[0]); pi++) {
			size_t off = 0;
			bool cloned = false;

			assert_int_equal(hal_crypto_cpu.hash_init(&c, HAL_HASH_SHA256), 0);
			while (off < n) {
				size_t len = n - off < pieces[pi] ? n - off : pieces[pi];

				assert_int_equal(hal_hash_update(&c, big + off, len), 0);
				if (cloned)
					assert_int_equal(hal_hash_update(&k, big + off, len), 0);
				off += len;
				if (!cloned) {
					assert_int_equal(hal_hash_clone(&k, &c), 0);
					cloned = true;
				}
			}
			if (!cloned)
				assert_int_equal(hal_hash_clone(&k, &c), 0);
			assert_ptr_equal(k.ops, &hal_crypto_cpu);
			assert_int_equal(hal_hash_final(&c, d), 0);
			assert_int_equal(hal_hash_final(&k, e), 0);
			if (memcmp(d, want, 32) != 0 || memcmp(e, want, 32) != 0)
				fail_msg("cpu sha256 of %zu bytes in pieces of %zu differs", n,
				    pieces[pi]);
		}
	}
	soft_digest(big, sizeof(big), want);
	assert_int_equal(hal_crypto_cpu.hash_init(&c, HAL_HASH_SHA256), 0);
	assert_int_equal(hal_hash_update(&c, big, sizeof(big)), 0);
	assert_int_equal(hal_hash_final(&c, d), 0);
	assert_memory_equal(d, want, 32);
	/* an aborted message: freed, its state wiped */
	assert_int_equal(hal_crypto_cpu.hash_init(&c, HAL_HASH_SHA256), 0);
	assert_int_equal(hal_hash_update(&c, big, 100), 0);
	hal_hash_free(&c);
	assert_null(c.ops);
	for (size_t i = 0; i < sizeof(c.state); i++)
		assert_int_equal(((const uint8_t *)&c.state)[i], 0);
	hal_hash_free(&c);
	/* the board's chain: SHA-256 by cpu, the other hashes and keys after it */
	test_crypto_board_chain();
	assert_true(hal_crypto_backends(bs, HAL_CRYPTO_MAX_BACKENDS) >= 2);
	assert_ptr_equal(bs[0], &hal_crypto_cpu);
	assert_ptr_equal(hal_crypto_hash_backend(HAL_HASH_SHA256), &hal_crypto_cpu);
	assert_ptr_not_equal(hal_crypto_hash_backend(HAL_HASH_SHA1), &hal_crypto_cpu);
	/* key files: the TPM backend first where built (it passes PEM keys on) */
	assert_ptr_equal(hal_crypto_op_backend(offsetof(struct hal_crypto_ops, key_load)),
	    IS_ENABLED(CONFIG_HAL_CRYPTO_TPM2) ? &hal_crypto_tpm2 : &hal_crypto_soft);
	assert_int_equal(strncmp(hal_crypto()->name, "cpu > ", 6), 0);
	/* ZEGEL_CRYPTO_CPU=off: declined, the chain without it */
	setenv("ZEGEL_CRYPTO_CPU", "off", 1);
	hal_crypto_set(NULL);
	assert_int_equal(hal_crypto_register(&hal_crypto_cpu), -ENOTSUP);
	assert_int_equal(hal_crypto_register(&hal_crypto_soft), 0);
	assert_string_equal(hal_crypto()->name, hal_crypto_soft.name);
	assert_ptr_equal(hal_crypto_hash_backend(HAL_HASH_SHA256), &hal_crypto_soft);
	{
		const struct hal_crypto_ops *b;
		bool used = true;
		const char *v = hal_crypto_verdict(0, &b, &used);

		assert_ptr_equal(b, &hal_crypto_cpu);
		assert_false(used);
		assert_non_null(strstr(v, "ZEGEL_CRYPTO_CPU=off"));
	}
	unsetenv("ZEGEL_CRYPTO_CPU");
	test_crypto_board_chain();
	assert_ptr_equal(hal_crypto_hash_backend(HAL_HASH_SHA256), &hal_crypto_cpu);
}
#endif

#if IS_ENABLED(CONFIG_HAL_CRYPTO_TPM2)
/*
 * The contract against the tpm2 backend (a key backend: no hashes) with a
 * real TPM: swtpm started here on a loopback port and a private state
 * directory, the backend pointed at it with hal_tpm2_set_device(). Without
 * swtpm installed: skipped (cmocka's SKIP, with the reason), never passed.
 * Alone: RSA-2048 made in the TPM, sign/verify with the same buffer rules
 * as every backend (-ERANGE with a canary, the public key, a bad signature
 * refused), the key file written and loaded again (same public key, a
 * truncated or junk file refused, a PEM key passed on with -ENOTSUP),
 * keys of other types and sizes refused. In the board's chain: the TPM key
 * file loads through the chain, a PEM key goes past tpm2 to the next
 * backend, and the TPM restarted between sign and sign: loaded again.
 */
#include <signal.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include "hal/tpm2.h"

static pid_t swtpm_pid;
static char swtpm_dir[64];
static unsigned short swtpm_port;

/* swtpm over swtpm_dir on swtpm_port; true when it accepts */
static bool
swtpm_run(void)
{
	struct sockaddr_in sa;
	char server[64], state[96];

	snprintf(server, sizeof(server), "type=tcp,port=%u,bindaddr=127.0.0.1", swtpm_port);
	snprintf(state, sizeof(state), "dir=%s", swtpm_dir);
	if ((swtpm_pid = fork()) == 0) {
		execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", state, "--server", server,
		    "--flags", "not-need-init,startup-clear", (char *)NULL);
		_exit(127);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(swtpm_port);
	for (int i = 0; i < 100; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		int rc = connect(c, (struct sockaddr *)&sa, sizeof(sa));

		close(c);
		if (rc == 0)
			return true;
		usleep(50000);
	}
	return false;
}

static void
swtpm_kill(void)
{
	if (swtpm_pid > 0) {
		kill(swtpm_pid, SIGTERM);
		waitpid(swtpm_pid, NULL, 0);
		swtpm_pid = 0;
	}
}

static bool
swtpm_start(char *why, size_t cap)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd;

	if (system("command -v swtpm >/dev/null 2>&1") != 0) {
		snprintf(why, cap, "swtpm is not installed (scripts/bootstrap.sh peers)");
		return false;
	}
	/* a free loopback port, for swtpm to bind */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
		snprintf(why, cap, "no loopback port");
		return false;
	}
	close(fd);
	swtpm_port = ntohs(sa.sin_port);
	snprintf(swtpm_dir, sizeof(swtpm_dir), "/tmp/zegel-unit-swtpm-XXXXXX");
	if (mkdtemp(swtpm_dir) == NULL) {
		swtpm_dir[0] = 0;
		snprintf(why, cap, "mkdtemp failed");
		return false;
	}
	if (!swtpm_run()) {
		snprintf(why, cap, "swtpm did not open port %u", swtpm_port);
		return false;
	}
	return true;
}

static void
swtpm_stop(void)
{
	char cmd[128];

	swtpm_kill();
	if (swtpm_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", swtpm_dir);
		assert_int_equal(system(cmd), 0);
	}
}

static void
test_tpm2_contract(void **state)
{
	static char file[4096], pem[8192];
	uint8_t pub1[600], pub2[600], digest[32], sig[257];
	size_t len = 0, l1 = 0, l2 = 0, sl = 0;
	char why[160] = "", dev[40];
	struct hal_key k, k2;

	(void)state;
	if (!swtpm_start(why, sizeof(why))) {
		swtpm_stop();
		print_message("# tpm2: contract skipped: %s\n", why);
		skip();
	}
	snprintf(dev, sizeof(dev), "tcp:127.0.0.1:%u", swtpm_port);
	hal_tpm2_set_device(dev);
	assert_string_equal(tpm2_device(), dev);

	/* alone */
	hal_crypto_set(&hal_crypto_tpm2);
	assert_true(hal_crypto_caps() & HAL_CRYPTO_CAP_RSA);
	assert_false(hal_crypto_caps() & HAL_CRYPTO_CAP_SHA);
	memset(&k, 0, sizeof(k));
	assert_int_equal(hal_key_generate(&k, HAL_KEY_RSA, 2048), -ENOTSUP);
	assert_int_equal(hal_key_generate(&k, HAL_KEY_ED25519, 0), -ENOTSUP);
	assert_int_equal(hal_key_generate(&k, HAL_KEY_RSA_TPM, 1024), -EINVAL);
	assert_int_equal(hal_key_generate(&k, HAL_KEY_RSA_TPM, 2048), 0);
	assert_int_equal(k.type, HAL_KEY_RSA);
	assert_int_equal(k.bits, 2048);
	assert_ptr_equal(k.ops, &hal_crypto_tpm2);
	test_crypto_board_chain(); /* hashes for sign_verify's digest */
	sign_verify(&hal_crypto_tpm2, &k, 256);
	/* only SHA-256 digests: what TPM2_Sign is asked for */
	assert_int_equal(hal_hash(HAL_HASH_SHA256, (const uint8_t *)"m", 1, digest), 0);
	assert_int_equal(hal_key_sign(&k, HAL_HASH_SHA1, digest, 20, sig, 256, &sl), -ENOTSUP);
	assert_int_equal(hal_key_sign(&k, HAL_HASH_SHA256, digest, 31, sig, 256, &sl), -ENOTSUP);
	/* the key file: written, loaded again, the same key */
	assert_int_equal(hal_key_write_pem(&k, file, 20, &len), -ERANGE);
	assert_int_equal(hal_key_write_pem(&k, file, sizeof(file), &len), 0);
	assert_int_equal(strlen(file), len);
	assert_int_equal(strncmp(file, "zegel-tpm2-key 1\n", 17), 0);
	assert_null(strstr(file, "PRIVATE KEY"));
	hal_crypto_set(&hal_crypto_tpm2);
	memset(&k2, 0, sizeof(k2));
	assert_int_equal(hal_key_load(&k2, (const uint8_t *)file, len), 0);
	assert_int_equal(hal_key_public(&k, pub1, sizeof(pub1), &l1), 0);
	assert_int_equal(hal_key_public(&k2, pub2, sizeof(pub2), &l2), 0);
	assert_int_equal(l1, l2);
	assert_memory_equal(pub1, pub2, l1);
	hal_key_free(&k2);
	assert_null(k2.impl);
	memset(&k2, 0, sizeof(k2));
	assert_true(hal_key_load(&k2, (const uint8_t *)file, len / 2) < 0);
	assert_int_equal(hal_key_load(&k2, (const uint8_t *)"garbage", 7), -ENOTSUP);
	hal_key_free(&k2);

	/* the board's chain: the TPM file through it, a PEM key past tpm2 */
	test_crypto_board_chain();
	memset(&k2, 0, sizeof(k2));
	assert_int_equal(hal_key_load(&k2, (const uint8_t *)file, len), 0);
	assert_ptr_equal(k2.ops, &hal_crypto_tpm2);
	sign_verify(hal_crypto(), &k2, 256);
	{
		struct hal_key s;
		size_t pl = 0;

		memset(&s, 0, sizeof(s));
		assert_int_equal(hal_key_generate(&s, HAL_KEY_ED25519, 0), 0);
		assert_int_equal(hal_key_write_pem(&s, pem, sizeof(pem), &pl), 0);
		hal_key_free(&s);
		memset(&s, 0, sizeof(s));
		assert_int_equal(hal_key_load(&s, (const uint8_t *)pem, pl), 0);
		assert_ptr_not_equal(s.ops, &hal_crypto_tpm2);
		hal_key_free(&s);
	}
	/* the TPM gone: the signature fails, nothing made up; back (the same
	 * state, restarted: its objects gone): the key is loaded again */
	swtpm_kill();
	memset(sig, 0, sizeof(sig));
	assert_true(hal_key_sign(&k2, HAL_HASH_SHA256, digest, 32, sig, 256, &sl) < 0);
	assert_non_null(strstr(hal_tpm2_why(), "cannot reach the TPM"));
	assert_true(swtpm_run());
	sign_verify(hal_crypto(), &k2, 256);
	hal_key_free(&k2);
	hal_key_free(&k);
	hal_tpm2_set_device(NULL);
	swtpm_stop();
	test_crypto_board_chain();
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_known),
		cmocka_unit_test(test_hash_streaming),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_chain_fallthrough),
		cmocka_unit_test(test_probe_rejects),
		cmocka_unit_test(test_clone_free_counted),
		cmocka_unit_test(test_hash_update_text),
#if IS_ENABLED(CONFIG_HAL_CRYPTO_AFALG)
		cmocka_unit_test(test_afalg_probe),
#endif
#if IS_ENABLED(CONFIG_HAL_CRYPTO_CPU)
		cmocka_unit_test(test_cpu_backend),
#endif
#if IS_ENABLED(CONFIG_HAL_CRYPTO_TPM2)
		cmocka_unit_test(test_tpm2_contract),
#endif
	};
	assert_non_null(test_crypto_backends[0]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
