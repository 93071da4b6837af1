/*
 * The crypto chain (hal/crypto.h): backends in the order board_init()
 * registered them, each probed once; every operation goes to the first
 * backend that has it, and an answer of -ENOTSUP passes it on to the next.
 * Plus helpers over any backend (one-shot hash, speed measurement).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hal/clock.h"
#include "hal/cpu/text64.h"
#include "hal/crypto.h"
#include "hal/log.h"

#define MOD "crypto"

static const struct hal_crypto_ops *chain[HAL_CRYPTO_MAX_BACKENDS];
static unsigned nchain;

/* Every backend offered to hal_crypto_register(), used or not, with the
 * probe's verdict: the start-up log and `show crypto` tell them. */
static struct {
	const struct hal_crypto_ops *ops;
	bool used;
	char why[200];
} tried[HAL_CRYPTO_MAX_BACKENDS];
static unsigned ntried;
static char chain_name[160];
static struct hal_crypto_ops chain_ops;

/* The first backend's op answering other than -ENOTSUP, over every backend
 * that has the op; -ENOTSUP when none does. */
#define CHAIN_CALL(op, ...)                                \
	do {                                               \
		int rc_ = -ENOTSUP;                        \
		for (unsigned i_ = 0; i_ < nchain; i_++) { \
			if (!chain[i_]->op)                \
				continue;                  \
			rc_ = chain[i_]->op(__VA_ARGS__);  \
			if (rc_ != -ENOTSUP)               \
				return rc_;                \
		}                                          \
		return rc_;                                \
	} while (0)

static uint32_t
chain_caps(void)
{
	uint32_t c = 0;

	for (unsigned i = 0; i < nchain; i++)
		c |= chain[i]->caps ? chain[i]->caps() : 0;
	return c;
}

static int
chain_hash_init(struct hal_hash_ctx *c, enum hal_hash_alg alg)
{
	c->ops = NULL;
	if (hal_hash_len(alg) == 0)
		return -ENOTSUP;
	CHAIN_CALL(hash_init, c, alg);
}

static int
chain_key_load(struct hal_key *k, const uint8_t *pem, size_t n)
{
	CHAIN_CALL(key_load, k, pem, n);
}

static int
chain_key_generate(struct hal_key *k, enum hal_key_type t, unsigned bits)
{
	CHAIN_CALL(key_generate, k, t, bits);
}

static int
chain_rsa_verify(const uint8_t *mod, size_t modlen, const uint8_t *exp, size_t explen,
    enum hal_hash_alg alg, const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	CHAIN_CALL(rsa_verify, mod, modlen, exp, explen, alg, digest, sig, siglen);
}

static int
chain_rsa_verify_spki(const uint8_t *spki, size_t spkilen, enum hal_hash_alg alg,
    const uint8_t *digest, const uint8_t *sig, size_t siglen)
{
	CHAIN_CALL(rsa_verify_spki, spki, spkilen, alg, digest, sig, siglen);
}

static int
chain_ecdsa_verify(enum hal_ecdsa_curve curve, const uint8_t *pub, size_t publen,
    const uint8_t *digest, size_t dlen, const uint8_t *sig, size_t siglen)
{
	CHAIN_CALL(ecdsa_verify, curve, pub, publen, digest, dlen, sig, siglen);
}

static int
chain_ed25519_verify(const uint8_t pub[32], const uint8_t *msg, size_t n, const uint8_t sig[64])
{
	CHAIN_CALL(ed25519_verify, pub, msg, n, sig);
}

/* Context- and key-bound ops (update, final, clone, free, sign, key_public,
 * key_write_pem, key_free) go to the backend that took the context or key:
 * the chain table has none of them. */
static void
chain_rebuild(void)
{
	size_t len = 0;

	chain_name[0] = '\0';
	for (unsigned i = 0; i < nchain && len < sizeof(chain_name); i++) {
		int n = snprintf(chain_name + len, sizeof(chain_name) - len, "%s%s", i ? " > " : "",
		    chain[i]->name);

		if (n < 0)
			break;
		len += (size_t)n;
	}
	chain_ops = (struct hal_crypto_ops){
		.name = chain_name,
		.caps = chain_caps,
		.hash_init = chain_hash_init,
		.key_load = chain_key_load,
		.key_generate = chain_key_generate,
		.rsa_verify = chain_rsa_verify,
		.rsa_verify_spki = chain_rsa_verify_spki,
		.ecdsa_verify = chain_ecdsa_verify,
		.ed25519_verify = chain_ed25519_verify,
	};
}

static void
remember(const struct hal_crypto_ops *ops, bool used, const char *why)
{
	unsigned i;

	for (i = 0; i < ntried && tried[i].ops != ops; i++)
		;
	if (i == HAL_CRYPTO_MAX_BACKENDS)
		return;
	if (i == ntried)
		ntried++;
	tried[i].ops = ops;
	tried[i].used = used;
	snprintf(tried[i].why, sizeof(tried[i].why), "%s", why);
}

const struct hal_crypto_ops *
hal_crypto(void)
{
	return nchain ? &chain_ops : NULL;
}

void
hal_crypto_set(const struct hal_crypto_ops *ops)
{
	nchain = 0;
	ntried = 0;
	if (ops) {
		chain[nchain++] = ops;
		remember(ops, true, "set, not probed");
	}
	chain_rebuild();
}

int
hal_crypto_register(const struct hal_crypto_ops *ops)
{
	char why[200] = "";
	int rc = 0;

	for (unsigned i = 0; i < nchain; i++)
		if (chain[i] == ops)
			return 0;
	if (nchain >= HAL_CRYPTO_MAX_BACKENDS) {
		hal_log(HAL_LOG_ERR, MOD, "%s: not used: more than %d crypto backends", ops->name,
		    HAL_CRYPTO_MAX_BACKENDS);
		return -ENOSPC;
	}
	if (ops->probe && (rc = ops->probe(why, sizeof(why))) < 0) {
		if (!why[0])
			snprintf(why, sizeof(why), "probe failed");
		remember(ops, false, why);
		/* every command starts here: the daemon logs the verdicts at INFO
		 * (hal_crypto_log_verdicts), a CLI tool stays quiet */
		hal_log(HAL_LOG_DEBUG, MOD, "%s: not used: %s", ops->name, why);
		return rc;
	}
	chain[nchain++] = ops;
	chain_rebuild();
	remember(ops, true, why);
	hal_log(HAL_LOG_DEBUG, MOD, "%s: used%s%s", ops->name, why[0] ? ": " : "", why);
	return 0;
}

/* A describe() line; arg is "name: why" of the verdict just logged, which a
 * backend's description may repeat (af_alg's socket family verdict is its
 * probe's reason when the family is missing): that line is not logged twice. */
static void
log_line(void *arg, const char *line)
{
	if (strcmp(line, (const char *)arg) != 0)
		hal_log(HAL_LOG_INFO, MOD, "%s", line);
}

void
hal_crypto_log_verdicts(void)
{
	for (unsigned i = 0; i < ntried; i++) {
		char said[sizeof(tried[i].why) + 40];

		hal_log(HAL_LOG_INFO, MOD, "%s: %s%s%s", tried[i].ops->name,
		    tried[i].used ? "used" : "not used", tried[i].why[0] ? ": " : "",
		    tried[i].why);
		snprintf(said, sizeof(said), "%s: %s", tried[i].ops->name, tried[i].why);
		if (tried[i].ops->describe)
			tried[i].ops->describe(log_line, said);
	}
	for (enum hal_hash_alg a = HAL_HASH_SHA1; a <= HAL_HASH_SHA512; a++) {
		const struct hal_crypto_ops *b = hal_crypto_hash_backend(a);

		hal_log(HAL_LOG_INFO, MOD, "%s: %s", hal_hash_name(a), b ? b->name : "nobody");
	}
}

const char *
hal_crypto_verdict(unsigned i, const struct hal_crypto_ops **ops, bool *used)
{
	if (i >= ntried)
		return NULL;
	*ops = tried[i].ops;
	*used = tried[i].used;
	return tried[i].why;
}

unsigned
hal_crypto_backends(const struct hal_crypto_ops **out, unsigned cap)
{
	unsigned n = nchain < cap ? nchain : cap;

	for (unsigned i = 0; i < n; i++)
		out[i] = chain[i];
	return nchain;
}

const struct hal_crypto_ops *
hal_crypto_hash_backend(enum hal_hash_alg alg)
{
	struct hal_hash_ctx c;
	const struct hal_crypto_ops *b;

	if (!nchain || chain_hash_init(&c, alg) != 0)
		return NULL;
	b = c.ops;
	hal_hash_free(&c);
	return b;
}

const struct hal_crypto_ops *
hal_crypto_op_backend(size_t op_offset)
{
	for (unsigned i = 0; i < nchain; i++) {
		void *fn;

		memcpy(&fn, (const char *)chain[i] + op_offset, sizeof(fn));
		if (fn != NULL)
			return chain[i];
	}
	return NULL;
}

unsigned long
hal_crypto_hash_kbps(const struct hal_crypto_ops *b, enum hal_hash_alg alg, unsigned ms)
{
	static uint8_t block[64 * 1024];
	uint8_t d[HAL_HASH_MAX_LEN];
	uint64_t t0, dt;
	unsigned long long bytes = 0;

	if (!b->hash_init || hal_clock() == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(block); i++)
		block[i] = (uint8_t)(i * 131u + 7u);
	t0 = hal_clock_mono_ms();
	do {
		struct hal_hash_ctx c;

		/* each block a message of its own: init, one update, final */
		c.ops = NULL;
		if (b->hash_init(&c, alg) != 0)
			return 0;
		if (hal_hash_update(&c, block, sizeof(block)) != 0) {
			hal_hash_free(&c);
			return 0;
		}
		if (hal_hash_final(&c, d) != 0)
			return 0;
		bytes += sizeof(block);
		dt = hal_clock_mono_ms() - t0;
	} while (dt < ms);
	return (unsigned long)(bytes / (dt ? dt : 1)); /* bytes per ms = KB/s */
}

int
hal_hash(enum hal_hash_alg alg, const uint8_t *p, size_t n, uint8_t *out)
{
	struct hal_hash_ctx c;
	int rc = hal_hash_init(&c, alg);

	if (rc == 0)
		rc = hal_hash_update(&c, p, n);
	if (rc == 0)
		return hal_hash_final(&c, out);
	hal_hash_free(&c);
	return rc;
}

/* ---------------------------------------------------------- clean text */

/* 0x80 in each byte of x that is zero, exactly (no borrow into the next byte,
 * so the first flagged byte is the first zero in either byte order). */
static inline uint64_t
zero8(uint64_t x)
{
	const uint64_t m = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((x & m) + m) | x | m);
}

/* The bytes of x (8 in memory order) equal to CR or LF, and for relaxed to SP
 * or HTAB: 0x80 in each. */
static inline uint64_t
special8(uint64_t x, bool relaxed)
{
	const uint64_t one = 0x0101010101010101ULL;
	uint64_t f = zero8(x ^ (one * '\r')) | zero8(x ^ (one * '\n'));

	if (relaxed)
		f |= zero8(x ^ (one * ' ')) | zero8(x ^ (one * '\t'));
	return f;
}

/* Index (0-7, memory order) of the first flagged byte of a special8() mask. */
static inline unsigned
first8(uint64_t f)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (unsigned)__builtin_clzll(f) / 8;
#else
	return (unsigned)__builtin_ctzll(f) / 8;
#endif
}

size_t
hal_text_scan_tail(bool relaxed, const uint8_t *p, size_t n, size_t i, size_t good, bool *dirty)
{
	size_t line = good; /* where the current line started */

	*dirty = false;
	while (i < n) {
		uint8_t c;

		if (i + 8 <= n) { /* to the next special byte, 8 at a time */
			uint64_t x, f;

			memcpy(&x, p + i, 8);
			f = special8(x, relaxed);
			if (f == 0) {
				i += 8;
				continue;
			}
			i += first8(f);
		}
		c = p[i];
		if (c == '\r') {
			/* CRLF after a non-empty line (relaxed: not after SP) */
			if (i + 1 >= n)
				return good;
			*dirty = p[i + 1] != '\n' || i == line || (relaxed && p[i - 1] == ' ');
			if (*dirty)
				return good;
			i += 2;
			good = line = i;
		} else if (c == '\n' || (relaxed && c == '\t')) {
			*dirty = true; /* a bare LF; relaxed makes HTAB a SP */
			return good;
		} else if (c == ' ' && relaxed) {
			/* one SP before a byte that is not WSP or CR */
			if (i + 1 >= n)
				return good;
			*dirty = p[i + 1] == ' ' || p[i + 1] == '\t' || p[i + 1] == '\r';
			if (*dirty)
				return good;
			i++;
		} else {
			i++;
		}
	}
	return good;
}

size_t
hal_text_clean_len(const uint8_t *p, size_t n, unsigned flags, bool *dirty)
{
	bool relaxed = (flags & HAL_TEXT_RELAXED) != 0;
	size_t i = 0, good = 0;

#if defined(HAVE_TEXT64_MASKS)
	/* 64 bytes at a time, without a branch per line */
	struct text64_carry c = TEXT64_START;

	for (; i + 64 <= n; i += 64) {
		struct text64_masks m;
		uint64_t err;

		text64_masks(p + i, relaxed, &m);
		err = text64_err(&m, relaxed, &c);
		if (err != 0 || m.lf != 0) {
			size_t g = text64_good(m.lf, err);

			if (g != 0)
				good = i + g;
			if (err != 0) {
				*dirty = true;
				return good;
			}
		}
		text64_next(&m, &c);
	}
	/* a CR or SP at the end: the byte-by-byte rule looks at it again */
	if (i > 0 && (c.pcr || c.psp))
		i--;
#endif
	return hal_text_scan_tail(relaxed, p, n, i, good, dirty);
}

int
hal_hash_update_text(struct hal_hash_ctx *c, const uint8_t *p, size_t n, unsigned flags,
    size_t *len, bool *dirty)
{
	*len = 0;
	*dirty = false;
	if (!c->ops)
		return -EINVAL;
	if (c->ops->hash_update_text)
		return c->ops->hash_update_text(c, p, n, flags, len, dirty);
	return hal_hash_update_text_chunks(c, p, n, flags, len, dirty);
}

int
hal_hash_update_text_chunks(struct hal_hash_ctx *c, const uint8_t *p, size_t n, unsigned flags,
    size_t *len, bool *dirty)
{
	size_t done = 0;

	*len = 0;
	*dirty = false;
	/* check a chunk, hash it while it is in cache; the next chunk starts at
	 * the line end where the last one stopped */
	while (done < n) {
		size_t m = n - done > HAL_TEXT_CHUNK + 2 ? HAL_TEXT_CHUNK + 2 : n - done;
		size_t k = hal_text_clean_len(p + done, m, flags, dirty);
		int rc;

		if (k > 0 && (rc = hal_hash_update(c, p + done, k)) != 0)
			return rc;
		done += k;
		*len = done;
		if (*dirty || k == 0 || m == n - (done - k))
			break;
	}
	return 0;
}
