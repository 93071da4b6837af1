/*
 * hal/crypto.h — hashes, signatures and keys behind one ops table.
 *
 * Model. A backend is a const struct hal_crypto_ops. board_init() registers
 * backends in order of preference (hal_crypto_register(): e.g. cpu, af_alg,
 * then soft); each one's probe runs there and decides whether it is usable (engine
 * or socket family present, algorithm present, self-test vector right); the
 * verdicts are kept for `show crypto` and the daemon's start log. Callers
 * go through the static inline wrappers below, never through mbedTLS or
 * libsodium directly; the wrappers call the chain (hal_crypto()), which hands
 * each operation to the first usable backend that has it: an op left NULL or
 * answering -ENOTSUP (a hash_init for an algorithm the engine lacks) falls
 * through to the next backend, the software one last.
 *
 * Memory. Hash contexts are caller-allocated (stack, pool, session arena).
 * hal_hash_init() binds a context to the backend that took it; update and
 * final go straight to that backend. A context may hold a file descriptor or
 * engine state (AF_ALG: an operation socket), so it is never copied with
 * memcpy: hal_hash_clone() snapshots it, and every context that was
 * initialised ends with hal_hash_final() or hal_hash_free() (an aborted
 * message). Both leave it bound to nothing; hal_hash_free() accepts a zeroed,
 * a finished or an already freed context, and one whose init failed.
 * A struct hal_key is caller-allocated too;
 * hal_key_load()/hal_key_generate() attach backend state that
 * hal_key_free() releases and wipes. A zeroed struct hal_key may be freed.
 *
 * Errors are negative errno values: -EINVAL bad input, -ENOTSUP an operation
 * or algorithm the backend lacks, -EBADMSG a signature that does not verify,
 * -ENOMEM, -ERANGE an output buffer too small, -EIO an engine failure.
 */
#ifndef HAL_CRYPTO_H
#define HAL_CRYPTO_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hal_hash_alg {
	HAL_HASH_SHA1 = 1,
	HAL_HASH_SHA256,
	HAL_HASH_SHA384,
	HAL_HASH_SHA512,
};

#define HAL_HASH_MAX_LEN 64

/* "sha256", or "?" for an unknown algorithm. */
static inline const char *
hal_hash_name(enum hal_hash_alg alg)
{
	switch (alg) {
	case HAL_HASH_SHA1: return "sha1";
	case HAL_HASH_SHA256: return "sha256";
	case HAL_HASH_SHA384: return "sha384";
	case HAL_HASH_SHA512: return "sha512";
	}
	return "?";
}

/* Digest length in bytes, 0 for an unknown algorithm. */
static inline size_t
hal_hash_len(enum hal_hash_alg alg)
{
	switch (alg) {
	case HAL_HASH_SHA1: return 20;
	case HAL_HASH_SHA256: return 32;
	case HAL_HASH_SHA384: return 48;
	case HAL_HASH_SHA512: return 64;
	}
	return 0;
}

struct hal_crypto_ops;

/* Opaque storage big enough for any backend's hash state (mbedTLS SHA-512 is
 * 216 bytes). Backends check with a static assertion. */
struct hal_hash_ctx {
	const struct hal_crypto_ops *ops;
	enum hal_hash_alg alg;
	union {
		uint64_t u64[48];
		void *ptr;
	} state;
};

enum hal_key_type {
	HAL_KEY_NONE = 0,
	HAL_KEY_RSA,
	HAL_KEY_ED25519,
	/* hal_key_generate() only: an RSA key made inside the TPM (hal/tpm2.h);
	 * the key is then of type HAL_KEY_RSA */
	HAL_KEY_RSA_TPM,
};

struct hal_key {
	const struct hal_crypto_ops *ops;
	enum hal_key_type type;
	unsigned bits;  /* RSA modulus bits; 256 for Ed25519 */
	void *impl;     /* backend state, owned by the backend */
};

enum hal_ecdsa_curve {
	HAL_ECDSA_P256 = 1,
	HAL_ECDSA_P384,
};

/* Capabilities, for caps(). */
#define HAL_CRYPTO_CAP_SHA      (1u << 0)
#define HAL_CRYPTO_CAP_RSA      (1u << 1)
#define HAL_CRYPTO_CAP_ECDSA    (1u << 2)
#define HAL_CRYPTO_CAP_ED25519  (1u << 3)
#define HAL_CRYPTO_CAP_KEYGEN   (1u << 4)
#define HAL_CRYPTO_CAP_HW       (1u << 31) /* a hardware engine does the work */

struct hal_crypto_ops {
	const char *name;
	uint32_t (*caps)(void);
	/* Optional, run once by hal_crypto_register(): 0 when the backend is
	 * usable here, else a negative error and a one-line reason in why
	 * ("socket(AF_ALG): address family not supported"). */
	int (*probe)(char *why, size_t cap);
	/* Optional: lines for `show crypto` (drivers, verdicts, counters). */
	void (*describe)(void (*emit)(void *arg, const char *line), void *arg);

	int (*hash_init)(struct hal_hash_ctx *c, enum hal_hash_alg alg);
	int (*hash_update)(struct hal_hash_ctx *c, const uint8_t *p, size_t n);
	/* Writes hal_hash_len(alg) bytes; the context is then finished and
	 * holds nothing (also when it fails). */
	int (*hash_final)(struct hal_hash_ctx *c, uint8_t *out);
	/* dst becomes an independent copy of src's state (src unchanged). */
	int (*hash_clone)(struct hal_hash_ctx *dst, const struct hal_hash_ctx *src);
	/* Releases what an unfinished context holds (descriptor, engine
	 * state) and wipes it. */
	void (*hash_free)(struct hal_hash_ctx *c);
	/* Optional: hal_hash_update_text() done in one pass (the check inside
	 * the hash's own loop); when NULL the wrapper checks, then updates. */
	int (*hash_update_text)(struct hal_hash_ctx *c, const uint8_t *p, size_t n,
	    unsigned flags, size_t *len, bool *dirty);

	/* PEM: RSA as PKCS#1 ("RSA PRIVATE KEY") or PKCS#8 ("PRIVATE KEY"),
	 * Ed25519 as PKCS#8 (what `openssl genpkey -algorithm ed25519` writes). */
	int (*key_load)(struct hal_key *k, const uint8_t *pem, size_t n);
	int (*key_generate)(struct hal_key *k, enum hal_key_type t, unsigned bits);
	/* PKCS#8 PEM (RSA may be PKCS#1), NUL-terminated; *len excludes the NUL. */
	int (*key_write_pem)(const struct hal_key *k, char *buf, size_t cap, size_t *len);
	/* The public key as DKIM publishes it in p= (before base64):
	 * RSA SubjectPublicKeyInfo DER, Ed25519 the raw 32 bytes (RFC 8463 §4). */
	int (*key_public)(const struct hal_key *k, uint8_t *buf, size_t cap, size_t *len);
	/* RSA: PKCS#1 v1.5 over a digest of algorithm alg (msg = digest).
	 * Ed25519: pure Ed25519 over msg (alg ignored). */
	int (*sign)(const struct hal_key *k, enum hal_hash_alg alg, const uint8_t *msg,
	    size_t n, uint8_t *sig, size_t cap, size_t *siglen);
	void (*key_free)(struct hal_key *k);

	/* RSA PKCS#1 v1.5 verification of a digest with a public key given as
	 * modulus and exponent (big-endian), as DNSSEC (RFC 3110) carries it. */
	int (*rsa_verify)(const uint8_t *mod, size_t modlen, const uint8_t *exp,
	    size_t explen, enum hal_hash_alg alg, const uint8_t *digest,
	    const uint8_t *sig, size_t siglen);
	/* RSA verification with a SubjectPublicKeyInfo DER key (DKIM p=). */
	int (*rsa_verify_spki)(const uint8_t *spki, size_t spkilen, enum hal_hash_alg alg,
	    const uint8_t *digest, const uint8_t *sig, size_t siglen);
	/* ECDSA: pub is x||y (uncompressed, no 0x04 prefix), sig is r||s, as in
	 * RFC 6605. The digest is over the signed data with the curve's hash. */
	int (*ecdsa_verify)(enum hal_ecdsa_curve curve, const uint8_t *pub, size_t publen,
	    const uint8_t *digest, size_t dlen, const uint8_t *sig, size_t siglen);
	int (*ed25519_verify)(const uint8_t pub[32], const uint8_t *msg, size_t n,
	    const uint8_t sig[64]);
};

/*
 * The chain. hal_crypto_register() probes a backend and, when it is usable,
 * appends it (at most HAL_CRYPTO_MAX_BACKENDS); it returns 0, or the probe's
 * negative error (the backend is then left out; its verdict is kept either
 * way, hal_crypto_verdict()). hal_crypto_set() makes the chain exactly one backend, unprobed: the
 * contract tests use it to run against each backend alone. hal_crypto() is
 * the chain's own ops table (name "af_alg > soft ..."), NULL before the first
 * backend; its caps() is the union of the backends' caps.
 */
#define HAL_CRYPTO_MAX_BACKENDS 5 /* cpu, af_alg, tpm2, soft and one more */

const struct hal_crypto_ops *hal_crypto(void);
void hal_crypto_set(const struct hal_crypto_ops *ops);
int hal_crypto_register(const struct hal_crypto_ops *ops);
/* The registered backends in order; returns how many (at most cap). */
unsigned hal_crypto_backends(const struct hal_crypto_ops **out, unsigned cap);
/* The backend that serves hashes of alg now (a trial init), NULL if none. */
const struct hal_crypto_ops *hal_crypto_hash_backend(enum hal_hash_alg alg);
/* The first backend with op, e.g. hal_crypto_op_backend(offsetof(struct
 * hal_crypto_ops, sign)); NULL if none. */
const struct hal_crypto_ops *hal_crypto_op_backend(size_t op_offset);
/* The i-th backend offered to hal_crypto_register() (used or not) and its
 * probe's verdict; NULL after the last. */
const char *hal_crypto_verdict(unsigned i, const struct hal_crypto_ops **ops, bool *used);
/* Logs at INFO what each backend's probe found and who hashes what (the
 * daemon at start; registration itself logs at DEBUG only, since every CLI
 * command registers too). */
void hal_crypto_log_verdicts(void);
/* Hashing speed of backend b for alg in KB/s (1000 bytes), hashing 64 KiB
 * blocks (each one message: init, update, final) for about ms milliseconds
 * through b directly; 0 if b cannot. */
unsigned long hal_crypto_hash_kbps(const struct hal_crypto_ops *b, enum hal_hash_alg alg,
    unsigned ms);

/* The software backend (hal/soft): always present. */
extern const struct hal_crypto_ops hal_crypto_soft;
/* SHA-256 with the CPU's SHA instructions, x86 SHA-NI or ARMv8 (hal/cpu). */
extern const struct hal_crypto_ops hal_crypto_cpu;
/* The Linux kernel's crypto API through AF_ALG sockets (hal/linux): hashes. */
extern const struct hal_crypto_ops hal_crypto_afalg;
/* RSA keys held in a TPM 2.0 (hal/tpm2.h): key files "zegel-tpm2-key 1". */
extern const struct hal_crypto_ops hal_crypto_tpm2;

#define HAL_CRYPTO_CALL(op, ...) \
	(hal_crypto()->op ? hal_crypto()->op(__VA_ARGS__) : -ENOTSUP)

static inline uint32_t
hal_crypto_caps(void)
{
	return hal_crypto()->caps ? hal_crypto()->caps() : 0;
}

static inline int
hal_hash_init(struct hal_hash_ctx *c, enum hal_hash_alg alg)
{
	return HAL_CRYPTO_CALL(hash_init, c, alg);
}

static inline int
hal_hash_update(struct hal_hash_ctx *c, const uint8_t *p, size_t n)
{
	return c->ops ? c->ops->hash_update(c, p, n) : -EINVAL;
}

static inline int
hal_hash_final(struct hal_hash_ctx *c, uint8_t *out)
{
	int rc = c->ops ? c->ops->hash_final(c, out) : -EINVAL;

	c->ops = NULL;
	return rc;
}

/* dst (uninitialised or finished; not an unfinished context: free it
 * first) becomes a copy of src; on error dst is bound to nothing. */
static inline int
hal_hash_clone(struct hal_hash_ctx *dst, const struct hal_hash_ctx *src)
{
	int rc;

	dst->ops = NULL;
	if (!src->ops)
		return -EINVAL;
	if (!src->ops->hash_clone)
		return -ENOTSUP;
	rc = src->ops->hash_clone(dst, src);
	if (rc < 0)
		dst->ops = NULL;
	return rc;
}

static inline void
hal_hash_free(struct hal_hash_ctx *c)
{
	if (c->ops && c->ops->hash_free)
		c->ops->hash_free(c);
	c->ops = NULL;
}

/* One-shot hash. */
int hal_hash(enum hal_hash_alg alg, const uint8_t *p, size_t n, uint8_t *out);

/*
 * Clean text: the bytes that the DKIM body canonicalisations (RFC 6376
 * §3.4.3, §3.4.4) keep as they are, so the signer hashes them straight from
 * its input (signer/canon.h). The clean prefix of p[0..n), which starts at
 * a line start, is whole non-empty lines, each ending in CRLF, with no other
 * CR or LF; with HAL_TEXT_RELAXED also no HTAB and no SP before SP or CR.
 * hal_text_clean_len() returns its length (0 when there is none) and whether
 * text that is not clean stopped it (*dirty), rather than the end of p.
 *
 * hal_hash_update_text() hashes that prefix into c: *len is its length,
 * *dirty as above; the result is hal_text_clean_len() then
 * hal_hash_update() of that many bytes. A backend's hash_update_text op may
 * do both in one pass (hal/cpu: inside the SHA-NI rounds' loop, whose
 * latency leaves the other execution ports idle); without it the check runs
 * over 32 KiB at a time before the hash reads the same bytes from cache
 * (then a line longer than that ends the prefix, without *dirty). Returns 0
 * or the update's error (then nothing is said about c).
 */
#define HAL_TEXT_RELAXED 1u
#define HAL_TEXT_CHUNK   32768

size_t hal_text_clean_len(const uint8_t *p, size_t n, unsigned flags, bool *dirty);
int hal_hash_update_text(struct hal_hash_ctx *c, const uint8_t *p, size_t n, unsigned flags,
    size_t *len, bool *dirty);

static inline int
hal_key_load(struct hal_key *k, const uint8_t *pem, size_t n)
{
	return HAL_CRYPTO_CALL(key_load, k, pem, n);
}

static inline int
hal_key_generate(struct hal_key *k, enum hal_key_type t, unsigned bits)
{
	return HAL_CRYPTO_CALL(key_generate, k, t, bits);
}

static inline int
hal_key_write_pem(const struct hal_key *k, char *buf, size_t cap, size_t *len)
{
	return k->ops && k->ops->key_write_pem ? k->ops->key_write_pem(k, buf, cap, len)
					       : -ENOTSUP;
}

static inline int
hal_key_public(const struct hal_key *k, uint8_t *buf, size_t cap, size_t *len)
{
	return k->ops && k->ops->key_public ? k->ops->key_public(k, buf, cap, len) : -ENOTSUP;
}

static inline int
hal_key_sign(const struct hal_key *k, enum hal_hash_alg alg, const uint8_t *msg, size_t n,
    uint8_t *sig, size_t cap, size_t *siglen)
{
	return k->ops && k->ops->sign ? k->ops->sign(k, alg, msg, n, sig, cap, siglen)
				      : -ENOTSUP;
}

static inline void
hal_key_free(struct hal_key *k)
{
	if (k->ops && k->ops->key_free)
		k->ops->key_free(k);
	k->ops = NULL;
	k->impl = NULL;
	k->type = HAL_KEY_NONE;
	k->bits = 0;
}

static inline int
hal_rsa_verify(const uint8_t *mod, size_t modlen, const uint8_t *exp, size_t explen,
    enum hal_hash_alg alg, const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	return HAL_CRYPTO_CALL(rsa_verify, mod, modlen, exp, explen, alg, digest, sig, siglen);
}

static inline int
hal_rsa_verify_spki(const uint8_t *spki, size_t spkilen, enum hal_hash_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	return HAL_CRYPTO_CALL(rsa_verify_spki, spki, spkilen, alg, digest, sig, siglen);
}

static inline int
hal_ecdsa_verify(enum hal_ecdsa_curve curve, const uint8_t *pub, size_t publen,
    const uint8_t *digest, size_t dlen, const uint8_t *sig, size_t siglen)
{
	return HAL_CRYPTO_CALL(ecdsa_verify, curve, pub, publen, digest, dlen, sig, siglen);
}

static inline int
hal_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t n, const uint8_t sig[64])
{
	return HAL_CRYPTO_CALL(ed25519_verify, pub, msg, n, sig);
}

#endif
