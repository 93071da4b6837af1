/*
 * Software crypto backend: mbedTLS for hashes, RSA and ECDSA; libsodium for
 * Ed25519 (Debian's mbedTLS 2.28 has none).
 */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pem.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/version.h>
#include <sodium.h>

#include "hal/crypto.h"
#include "hal/entropy.h"

_Static_assert(sizeof(mbedtls_sha512_context) <= sizeof(((struct hal_hash_ctx *)0)->state),
    "hash state too small for SHA-512");
_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((struct hal_hash_ctx *)0)->state),
    "hash state too small for SHA-256");
_Static_assert(sizeof(mbedtls_sha1_context) <= sizeof(((struct hal_hash_ctx *)0)->state),
    "hash state too small for SHA-1");

static uint32_t
soft_caps(void)
{
	return HAL_CRYPTO_CAP_SHA | HAL_CRYPTO_CAP_RSA | HAL_CRYPTO_CAP_ECDSA |
	    HAL_CRYPTO_CAP_ED25519 | HAL_CRYPTO_CAP_KEYGEN;
}

/* ------------------------------------------------------------------ hashes */

static int
soft_hash_init(struct hal_hash_ctx *c, enum hal_hash_alg alg)
{
	void *st = &c->state;
	int rc;

	c->ops = &hal_crypto_soft;
	c->alg = alg;
	switch (alg) {
	case HAL_HASH_SHA1:
		mbedtls_sha1_init(st);
		rc = mbedtls_sha1_starts_ret(st);
		break;
	case HAL_HASH_SHA256:
		mbedtls_sha256_init(st);
		rc = mbedtls_sha256_starts_ret(st, 0);
		break;
	case HAL_HASH_SHA384:
	case HAL_HASH_SHA512:
		mbedtls_sha512_init(st);
		rc = mbedtls_sha512_starts_ret(st, alg == HAL_HASH_SHA384);
		break;
	default:
		return -ENOTSUP;
	}
	return rc ? -EIO : 0;
}

static int
soft_hash_update(struct hal_hash_ctx *c, const uint8_t *p, size_t n)
{
	void *st = &c->state;
	int rc;

	switch (c->alg) {
	case HAL_HASH_SHA1: rc = mbedtls_sha1_update_ret(st, p, n); break;
	case HAL_HASH_SHA256: rc = mbedtls_sha256_update_ret(st, p, n); break;
	case HAL_HASH_SHA384:
	case HAL_HASH_SHA512: rc = mbedtls_sha512_update_ret(st, p, n); break;
	default: return -EINVAL;
	}
	return rc ? -EIO : 0;
}

static int
soft_hash_final(struct hal_hash_ctx *c, uint8_t *out)
{
	void *st = &c->state;
	uint8_t tmp[64];
	int rc;

	switch (c->alg) {
	case HAL_HASH_SHA1:
		rc = mbedtls_sha1_finish_ret(st, out);
		mbedtls_sha1_free(st);
		break;
	case HAL_HASH_SHA256:
		rc = mbedtls_sha256_finish_ret(st, out);
		mbedtls_sha256_free(st);
		break;
	case HAL_HASH_SHA384: /* SHA-512's state, cut to 48 bytes */
	case HAL_HASH_SHA512:
		rc = mbedtls_sha512_finish_ret(st, tmp);
		memcpy(out, tmp, hal_hash_len(c->alg));
		mbedtls_platform_zeroize(tmp, sizeof(tmp));
		mbedtls_sha512_free(st);
		break;
	default:
		return -EINVAL;
	}
	return rc ? -EIO : 0;
}

/* mbedTLS 2.28's SHA contexts hold no pointers: a copy is a snapshot. */
static int
soft_hash_clone(struct hal_hash_ctx *dst, const struct hal_hash_ctx *src)
{
	memcpy(dst, src, sizeof(*dst));
	return 0;
}

static void
soft_hash_free(struct hal_hash_ctx *c)
{
	mbedtls_platform_zeroize(&c->state, sizeof(c->state));
}

static mbedtls_md_type_t
md_type(enum hal_hash_alg alg)
{
	switch (alg) {
	case HAL_HASH_SHA1: return MBEDTLS_MD_SHA1;
	case HAL_HASH_SHA256: return MBEDTLS_MD_SHA256;
	case HAL_HASH_SHA384: return MBEDTLS_MD_SHA384;
	case HAL_HASH_SHA512: return MBEDTLS_MD_SHA512;
	}
	return MBEDTLS_MD_NONE;
}

/* ------------------------------------------------------------------ keys */

/* Backend state of an Ed25519 key: libsodium's 64-byte secret key
 * (seed || public) and the public key. */
struct ed25519_impl {
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
};

/* DER prefix of an RFC 8410 PKCS#8 Ed25519 private key (version 0):
 * SEQ { INT 0, SEQ { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } } */
static const uint8_t ed25519_pkcs8_prefix[] = {
	0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
	0x04, 0x22, 0x04, 0x20,
};

static int
ed25519_from_seed(struct hal_key *k, const uint8_t seed[32])
{
	struct ed25519_impl *e;

	/*
	 * No sodium_init(): it only picks CPU-specific implementations of
	 * primitives zegel does not use (BLAKE2b, ChaCha20, Argon2, X25519 ...)
	 * and seeds randombytes, which zegel does not call. Ed25519 (ref10 +
	 * SHA-512) has no runtime dispatch. Calling it links all of those in:
	 * ~50 KiB of a router's flash.
	 */
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	crypto_sign_seed_keypair(e->pk, e->sk, seed);
	k->ops = &hal_crypto_soft;
	k->type = HAL_KEY_ED25519;
	k->bits = 256;
	k->impl = e;
	return 0;
}

/*
 * Find the 32-byte seed in a PKCS#8 OneAsymmetricKey (RFC 5958, RFC 8410):
 * version 0 (seed only) or 1 (with the public key after it).
 */
static int
ed25519_parse_pkcs8(const uint8_t *der, size_t n, const uint8_t **seed)
{
	static const uint8_t algid[] = { 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70 };
	size_t i = 0;

	if (n < 48 || der[i++] != 0x30)
		return -EINVAL;
	if (der[i] & 0x80) { /* long form length */
		size_t nb = der[i++] & 0x7f;
		if (nb > 2)
			return -EINVAL;
		i += nb;
	} else {
		i++;
	}
	if (i + 3 > n || der[i] != 0x02 || der[i + 1] != 0x01 || der[i + 2] > 1)
		return -EINVAL;
	i += 3;
	if (i + sizeof(algid) > n || memcmp(der + i, algid, sizeof(algid)) != 0)
		return -ENOTSUP;
	i += sizeof(algid);
	if (i + 4 + 32 > n || der[i] != 0x04 || der[i + 1] != 0x22 || der[i + 2] != 0x04 ||
	    der[i + 3] != 0x20)
		return -EINVAL;
	*seed = der + i + 4;
	return 0;
}

static int
soft_key_load(struct hal_key *k, const uint8_t *pem, size_t n)
{
	mbedtls_pk_context *pk;
	mbedtls_pem_context pc;
	unsigned char *buf;
	const uint8_t *seed;
	size_t used;
	int rc;

	memset(k, 0, sizeof(*k));
	/* mbedTLS wants PEM NUL-terminated, with the NUL counted. */
	buf = malloc(n + 1);
	if (buf == NULL)
		return -ENOMEM;
	memcpy(buf, pem, n);
	buf[n] = 0;

	pk = calloc(1, sizeof(*pk));
	if (pk == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	mbedtls_pk_init(pk);
	rc = mbedtls_pk_parse_key(pk, buf, n + 1, NULL, 0);
	if (rc == 0) {
		if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA) {
			mbedtls_pk_free(pk);
			free(pk);
			rc = -ENOTSUP;
			goto out;
		}
		k->ops = &hal_crypto_soft;
		k->type = HAL_KEY_RSA;
		k->bits = (unsigned)mbedtls_pk_get_bitlen(pk);
		k->impl = pk;
		goto out;
	}
	mbedtls_pk_free(pk);
	free(pk);

	/* Not RSA: an Ed25519 PKCS#8 key? */
	mbedtls_pem_init(&pc);
	rc = mbedtls_pem_read_buffer(&pc, "-----BEGIN PRIVATE KEY-----",
	    "-----END PRIVATE KEY-----", buf, NULL, 0, &used);
	if (rc != 0) {
		mbedtls_pem_free(&pc);
		rc = -EINVAL;
		goto out;
	}
	{
		/* mbedTLS 2.28 keeps the decoded DER in pc.buf/pc.buflen. */
		rc = ed25519_parse_pkcs8(pc.buf, pc.buflen, &seed);
		if (rc == 0)
			rc = ed25519_from_seed(k, seed);
	}
	mbedtls_pem_free(&pc); /* wipes the decoded DER */
out:
	mbedtls_platform_zeroize(buf, n + 1);
	free(buf);
	return rc;
}

static int
soft_key_generate(struct hal_key *k, enum hal_key_type t, unsigned bits)
{
	memset(k, 0, sizeof(*k));
	if (t == HAL_KEY_ED25519) {
		uint8_t seed[32];
		int rc = hal_entropy_fill(seed, sizeof(seed));
		if (rc == 0)
			rc = ed25519_from_seed(k, seed);
		sodium_memzero(seed, sizeof(seed));
		return rc;
	}
	if (t == HAL_KEY_RSA) {
		mbedtls_pk_context *pk;
		int rc;

		if (bits < 1024 || bits > 4096)
			return -EINVAL;
		pk = calloc(1, sizeof(*pk));
		if (pk == NULL)
			return -ENOMEM;
		mbedtls_pk_init(pk);
		rc = mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
		if (rc == 0)
			rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), hal_entropy_rng, NULL, bits, 65537);
		if (rc != 0) {
			mbedtls_pk_free(pk);
			free(pk);
			return -EIO;
		}
		k->ops = &hal_crypto_soft;
		k->type = HAL_KEY_RSA;
		k->bits = bits;
		k->impl = pk;
		return 0;
	}
	return -ENOTSUP;
}

static int
soft_key_write_pem(const struct hal_key *k, char *buf, size_t cap, size_t *len)
{
	if (k->type == HAL_KEY_RSA) {
		if (mbedtls_pk_write_key_pem(k->impl, (unsigned char *)buf, cap) != 0)
			return -ERANGE;
		*len = strlen(buf);
		return 0;
	}
	if (k->type == HAL_KEY_ED25519) {
		const struct ed25519_impl *e = k->impl;
		uint8_t der[48];
		size_t olen;
		int rc;

		memcpy(der, ed25519_pkcs8_prefix, sizeof(ed25519_pkcs8_prefix));
		memcpy(der + 16, e->sk, 32); /* libsodium's sk starts with the seed */
		rc = mbedtls_pem_write_buffer("-----BEGIN PRIVATE KEY-----\n",
		    "-----END PRIVATE KEY-----\n", der, sizeof(der), (unsigned char *)buf, cap,
		    &olen);
		sodium_memzero(der, sizeof(der));
		if (rc != 0)
			return -ERANGE;
		*len = strlen(buf);
		return 0;
	}
	return -EINVAL;
}

static int
soft_key_public(const struct hal_key *k, uint8_t *buf, size_t cap, size_t *len)
{
	if (k->type == HAL_KEY_RSA) {
		int n = mbedtls_pk_write_pubkey_der(k->impl, buf, cap);
		if (n <= 0)
			return -ERANGE;
		/* mbedTLS writes at the end of the buffer. */
		memmove(buf, buf + cap - (size_t)n, (size_t)n);
		*len = (size_t)n;
		return 0;
	}
	if (k->type == HAL_KEY_ED25519) {
		const struct ed25519_impl *e = k->impl;
		if (cap < 32)
			return -ERANGE;
		memcpy(buf, e->pk, 32);
		*len = 32;
		return 0;
	}
	return -EINVAL;
}

static int
soft_sign(const struct hal_key *k, enum hal_hash_alg alg, const uint8_t *msg, size_t n,
    uint8_t *sig, size_t cap, size_t *siglen)
{
	if (k->type == HAL_KEY_RSA) {
		mbedtls_pk_context *pk = k->impl;
		size_t need = mbedtls_pk_get_len(pk);

		if (cap < need)
			return -ERANGE;
		if (n != hal_hash_len(alg))
			return -EINVAL;
		if (mbedtls_pk_sign(pk, md_type(alg), msg, n, sig, siglen, hal_entropy_rng, NULL) != 0)
			return -EIO;
		return 0;
	}
	if (k->type == HAL_KEY_ED25519) {
		const struct ed25519_impl *e = k->impl;
		unsigned long long sl;

		if (cap < crypto_sign_BYTES)
			return -ERANGE;
		crypto_sign_detached(sig, &sl, msg, n, e->sk);
		*siglen = (size_t)sl;
		return 0;
	}
	return -EINVAL;
}

static void
soft_key_free(struct hal_key *k)
{
	if (k->impl == NULL)
		return;
	if (k->type == HAL_KEY_RSA) {
		mbedtls_pk_free(k->impl); /* zeroizes the key material */
		free(k->impl);
	} else if (k->type == HAL_KEY_ED25519) {
		sodium_memzero(k->impl, sizeof(struct ed25519_impl));
		free(k->impl);
	}
	k->impl = NULL;
}

/* ------------------------------------------------------------------ verify */

static int
soft_rsa_verify(const uint8_t *mod, size_t modlen, const uint8_t *exp, size_t explen,
    enum hal_hash_alg alg, const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	mbedtls_rsa_context rsa;
	int rc = -EINVAL;

	mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V15, 0);
	while (modlen > 0 && *mod == 0) { /* leading zeros do not count */
		mod++;
		modlen--;
	}
	if (modlen == 0 || modlen > 512 || explen == 0 || explen > 16)
		goto out;
	if (mbedtls_rsa_import_raw(&rsa, mod, modlen, NULL, 0, NULL, 0, NULL, 0, exp, explen) != 0 ||
	    mbedtls_rsa_complete(&rsa) != 0 || mbedtls_rsa_check_pubkey(&rsa) != 0)
		goto out;
	if (siglen != mbedtls_rsa_get_len(&rsa)) {
		rc = -EBADMSG;
		goto out;
	}
	rc = mbedtls_rsa_pkcs1_verify(&rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, md_type(alg),
	    (unsigned)hal_hash_len(alg), digest, sig) == 0 ? 0 : -EBADMSG;
out:
	mbedtls_rsa_free(&rsa);
	return rc;
}

static int
soft_rsa_verify_spki(const uint8_t *spki, size_t spkilen, enum hal_hash_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	mbedtls_pk_context pk;
	int rc;

	mbedtls_pk_init(&pk);
	if (mbedtls_pk_parse_public_key(&pk, spki, spkilen) != 0 ||
	    mbedtls_pk_get_type(&pk) != MBEDTLS_PK_RSA) {
		mbedtls_pk_free(&pk);
		return -EINVAL;
	}
	rc = mbedtls_pk_verify(&pk, md_type(alg), digest, hal_hash_len(alg), sig, siglen) == 0
	    ? 0 : -EBADMSG;
	mbedtls_pk_free(&pk);
	return rc;
}

static int
soft_ecdsa_verify(enum hal_ecdsa_curve curve, const uint8_t *pub, size_t publen,
    const uint8_t *digest, size_t dlen, const uint8_t *sig, size_t siglen)
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi r, s;
	uint8_t point[1 + 96];
	size_t clen = curve == HAL_ECDSA_P256 ? 32 : curve == HAL_ECDSA_P384 ? 48 : 0;
	int rc = -EINVAL;

	if (clen == 0)
		return -ENOTSUP;
	if (publen != 2 * clen || siglen != 2 * clen)
		return -EINVAL;
	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	point[0] = 0x04;
	memcpy(point + 1, pub, publen);
	if (mbedtls_ecp_group_load(&grp, curve == HAL_ECDSA_P256 ? MBEDTLS_ECP_DP_SECP256R1
								 : MBEDTLS_ECP_DP_SECP384R1) != 0 ||
	    mbedtls_ecp_point_read_binary(&grp, &q, point, 1 + publen) != 0 ||
	    mbedtls_ecp_check_pubkey(&grp, &q) != 0 ||
	    mbedtls_mpi_read_binary(&r, sig, clen) != 0 ||
	    mbedtls_mpi_read_binary(&s, sig + clen, clen) != 0)
		goto out;
	rc = mbedtls_ecdsa_verify(&grp, digest, dlen, &q, &r, &s) == 0 ? 0 : -EBADMSG;
out:
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return rc;
}

static int
soft_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t n, const uint8_t sig[64])
{
	return crypto_sign_verify_detached(sig, msg, n, pub) == 0 ? 0 : -EBADMSG;
}

const struct hal_crypto_ops hal_crypto_soft = {
	.name = "soft (mbedTLS " MBEDTLS_VERSION_STRING ", libsodium)",
	.caps = soft_caps,
	.hash_init = soft_hash_init,
	.hash_update = soft_hash_update,
	.hash_final = soft_hash_final,
	.hash_clone = soft_hash_clone,
	.hash_free = soft_hash_free,
	.key_load = soft_key_load,
	.key_generate = soft_key_generate,
	.key_write_pem = soft_key_write_pem,
	.key_public = soft_key_public,
	.sign = soft_sign,
	.key_free = soft_key_free,
	.rsa_verify = soft_rsa_verify,
	.rsa_verify_spki = soft_rsa_verify_spki,
	.ecdsa_verify = soft_ecdsa_verify,
	.ed25519_verify = soft_ed25519_verify,
};
