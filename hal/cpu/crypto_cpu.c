/*
 * CPU backend: SHA-256 with the processor's own SHA instructions, from user
 * space (x86 SHA-NI, ARMv8 SHA2; hal/cpu/sha256_*.c). Neither needs the
 * kernel: the development machines have no AF_ALG, and where the kernel has
 * a CPU driver (sha256-ni, sha256-ce) a system call per block costs more
 * than the hashing. It comes first in the chain; every other hash and every
 * key operation passes on (-ENOTSUP, no op) to the backends after it.
 *
 * The context is plain data (state, byte count, a partial block): a clone is
 * a copy, final and free wipe it. The portable part here does the buffering
 * and the padding (FIPS 180-4 §5.1.1); the block function does the rounds.
 *
 * The probe (once, from hal_crypto_register()): ZEGEL_CRYPTO_CPU=off in the
 * environment declines at once (an escape hatch without a rebuild); then
 * the architecture's detection (cpuid, the auxiliary vector) and a self-test
 * against FIPS 180-2 vectors, fed in uneven pieces and through a clone, and
 * of hal_hash_update_text() against the plain update (text_ok()). Any
 * failure leaves SHA-256 to the next backend, with the reason in the verdict.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/cpu/cpu_sha256.h"
#include "hal/crypto.h"

struct cpu_sha256 {
	uint32_t h[8];
	uint64_t bytes;  /* fed so far */
	uint8_t buf[64]; /* the partial block: bytes % 64 of it */
};

_Static_assert(sizeof(struct cpu_sha256) <= sizeof(((struct hal_hash_ctx *)0)->state),
    "cpu hash state too big");

_Alignas(16) const uint32_t hal_cpu_sha256_k[64] = { 0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
	0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
	0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152,
	0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
	0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624,
	0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3,
	0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2 };

static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f,
	0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

static hal_cpu_sha256_blocks_fn blocks; /* set by a passing probe */
static hal_cpu_sha256_text_fn text_blocks; /* the same, checking clean text */
static char found[120];                 /* what the detection found */
static char verdict[240];

static void
wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n--)
		*v++ = 0;
}

static uint32_t
cpu_caps(void)
{
	return blocks ? HAL_CRYPTO_CAP_SHA : 0;
}

static int
cpu_hash_init(struct hal_hash_ctx *c, enum hal_hash_alg alg)
{
	struct cpu_sha256 *s = (struct cpu_sha256 *)&c->state;

	if (alg != HAL_HASH_SHA256 || blocks == NULL)
		return -ENOTSUP;
	memcpy(s->h, iv, sizeof(iv));
	s->bytes = 0;
	c->ops = &hal_crypto_cpu;
	c->alg = alg;
	return 0;
}

static int
cpu_hash_update(struct hal_hash_ctx *c, const uint8_t *p, size_t n)
{
	struct cpu_sha256 *s = (struct cpu_sha256 *)&c->state;
	size_t have = (size_t)(s->bytes % 64), k;

	s->bytes += n;
	if (have > 0) {
		k = 64 - have < n ? 64 - have : n;
		memcpy(s->buf + have, p, k);
		p += k;
		n -= k;
		if (have + k < 64)
			return 0;
		blocks(s->h, s->buf, 1);
	}
	if (n >= 64) { /* whole blocks straight from the caller's bytes */
		blocks(s->h, p, n / 64);
		p += n & ~(size_t)63;
		n &= 63;
	}
	if (n > 0)
		memcpy(s->buf, p, n);
	return 0;
}

static int
cpu_hash_final(struct hal_hash_ctx *c, uint8_t *out)
{
	struct cpu_sha256 *s = (struct cpu_sha256 *)&c->state;
	size_t have = (size_t)(s->bytes % 64);
	uint64_t bits = s->bytes * 8;

	s->buf[have++] = 0x80;
	if (have > 56) {
		memset(s->buf + have, 0, 64 - have);
		blocks(s->h, s->buf, 1);
		have = 0;
	}
	memset(s->buf + have, 0, 56 - have);
	for (int i = 0; i < 8; i++)
		s->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
	blocks(s->h, s->buf, 1);
	for (int i = 0; i < 8; i++) {
		out[4 * i] = (uint8_t)(s->h[i] >> 24);
		out[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
		out[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
		out[4 * i + 3] = (uint8_t)s->h[i];
	}
	wipe(s, sizeof(*s));
	return 0;
}

/*
 * hal_hash_update_text() in one pass where the architecture has a checking
 * block function (x86): the partial block first (its bytes checked with the
 * masks of the first 64 cut to them), then text_blocks() over the whole
 * blocks, then the byte-by-byte rule over the rest. The prefix ends at a
 * line end, usually inside a block already hashed: the state goes back to
 * the one before that block (text_blocks() kept it) and the bytes from
 * there to the line end are hashed again. Elsewhere (ARMv8), and for short
 * inputs, hal_hash_update_text_chunks() as for every other backend: the
 * whole clean prefix, checked and hashed HAL_TEXT_CHUNK bytes at a time (it
 * once stopped after the first chunk, which the ARM unit tests under
 * qemu-user caught).
 */
static int
cpu_hash_update_text(struct hal_hash_ctx *c, const uint8_t *p, size_t n, unsigned flags,
    size_t *len, bool *dirty)
{
	struct cpu_sha256 *s = (struct cpu_sha256 *)&c->state;
	size_t a = (size_t)((64 - s->bytes % 64) % 64); /* to fill the partial block */

	*dirty = false;
#if defined(HAVE_TEXT64_MASKS)
	if (text_blocks != NULL && n >= a + 128) {
		bool relaxed = (flags & HAL_TEXT_RELAXED) != 0;
		struct hal_cpu_text t = { .carry = TEXT64_START };
		struct cpu_sha256 before = *s;
		size_t good = 0, k, end, g, at;

		if (a > 0) {
			struct text64_masks m;
			uint64_t cut = (1ULL << a) - 1, err;

			text64_masks(p, relaxed, &m);
			m.cr &= cut;
			m.lf &= cut;
			m.sp &= cut;
			m.ht &= cut;
			/* (a CR last in the head looks for its LF at bit a) */
			err = text64_err(&m, relaxed, &t.carry) & cut;
			good = text64_good(m.lf, err);
			if (err != 0) {
				*dirty = true;
				*len = good;
				return cpu_hash_update(c, p, good);
			}
			t.carry.pcr = (m.cr >> (a - 1)) & 1;
			t.carry.plf = (m.lf >> (a - 1)) & 1;
			t.carry.psp = (m.sp >> (a - 1)) & 1;
			cpu_hash_update(c, p, a); /* completes the partial block */
		}
		k = text_blocks(s->h, p + a, (n - a) / 64, relaxed, &t);
		s->bytes += 64 * k;
		end = a + 64 * k;
		if (t.good != 0)
			good = a + t.good;
		if (!t.dirty) {
			/* a CR or SP at the end: the byte-by-byte rule looks at
			 * it again (k > 0 here) */
			g = hal_text_scan_tail(relaxed, p, n,
			    t.carry.pcr || t.carry.psp ? end - 1 : end, good, dirty);
			if (g > good) { /* a line end after the blocks hashed */
				*len = g;
				return cpu_hash_update(c, p + end, g - end);
			}
		}
		/* back to the state before the block of the last line end */
		*dirty = *dirty || t.dirty;
		*len = good;
		if (t.good != 0) {
			at = a + 64 * t.snap;
			memcpy(s->h, t.hsnap, sizeof(s->h));
			s->bytes = before.bytes + at; /* a block boundary */
		} else {
			at = 0;
			*s = before;
		}
		return cpu_hash_update(c, p + at, good - at);
	}
#endif
	(void)a;
	return hal_hash_update_text_chunks(c, p, n, flags, len, dirty);
}

/* Plain data: a copy is a snapshot. */
static int
cpu_hash_clone(struct hal_hash_ctx *dst, const struct hal_hash_ctx *src)
{
	memcpy(dst, src, sizeof(*dst));
	return 0;
}

static void
cpu_hash_free(struct hal_hash_ctx *c)
{
	wipe(&c->state, sizeof(c->state));
}

/* ------------------------------------------------------------ probe */

/* FIPS 180-2 Appendix B: "abc", the 448-bit two-block message, one million
 * 'a'; and the empty message. */
static const uint8_t d_abc[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
	0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10,
	0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
static const uint8_t d_448[32] = { 0x24, 0x8d, 0x6a, 0x61, 0xd2, 0x06, 0x38, 0xb8, 0xe5, 0xc0, 0x26,
	0x93, 0x0c, 0x3e, 0x60, 0x39, 0xa3, 0x3c, 0xe4, 0x59, 0x64, 0xff, 0x21, 0x67, 0xf6, 0xec,
	0xed, 0xd4, 0x19, 0xdb, 0x06, 0xc1 };
static const uint8_t d_million[32] = { 0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1,
	0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67, 0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04,
	0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0 };
static const uint8_t d_empty[32] = { 0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb,
	0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4,
	0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55 };

/* msg, repeat times, fed in pieces of uneven lengths, cloned halfway and
 * both fed the rest: the source and the clone must both give want. */
static bool
vector_ok(const uint8_t *msg, size_t n, size_t repeat, const uint8_t want[32])
{
	static const size_t piece[] = { 1, 63, 64, 65, 3, 128, 7, 1000 };
	struct hal_hash_ctx c, k;
	uint8_t d[32], e[32];
	size_t total = n * repeat, done = 0, i = 0;
	bool cloned = false;

	if (cpu_hash_init(&c, HAL_HASH_SHA256) != 0)
		return false;
	while (done < total) {
		size_t off = done % n, len = piece[i++ % (sizeof(piece) / sizeof(piece[0]))];

		if (len > n - off)
			len = n - off;
		if (len > total - done)
			len = total - done;
		cpu_hash_update(&c, msg + off, len);
		if (cloned) /* the clone goes on with the same bytes */
			cpu_hash_update(&k, msg + off, len);
		done += len;
		if (!cloned && done >= total / 2) {
			cpu_hash_clone(&k, &c);
			cloned = true;
		}
	}
	if (!cloned)
		cpu_hash_clone(&k, &c);
	cpu_hash_final(&c, d);
	cpu_hash_final(&k, e);
	return memcmp(d, want, 32) == 0 && memcmp(e, want, 32) == 0;
}

/* The checking path: 14 lines of 40 bytes (a partial block before them),
 * then 220 bytes without a line end and a bare LF, must give the prefix of
 * 14 lines (the state goes back three blocks) and the digest of the plain
 * path over the same bytes. */
static bool
text_ok(void)
{
	uint8_t msg[800], d[32], e[32];
	struct hal_hash_ctx c, k;
	size_t len = 0;
	bool dirty = false;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)('a' + i % 26);
	for (size_t i = 40; i <= 14 * 40; i += 40) {
		msg[i - 2] = '\r';
		msg[i - 1] = '\n';
	}
	msg[sizeof(msg) - 20] = '\n';
	if (cpu_hash_init(&c, HAL_HASH_SHA256) != 0 || cpu_hash_init(&k, HAL_HASH_SHA256) != 0)
		return false;
	cpu_hash_update(&c, msg, 7);
	cpu_hash_update(&k, msg, 7);
	cpu_hash_update_text(&c, msg, sizeof(msg), HAL_TEXT_RELAXED, &len, &dirty);
	cpu_hash_update(&k, msg, 14 * 40);
	cpu_hash_final(&c, d);
	cpu_hash_final(&k, e);
	return len == 14 * 40 && dirty && memcmp(d, e, 32) == 0;
}

static int
cpu_probe(char *why, size_t cap)
{
	static const char m448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static uint8_t a1000[1000];
	const char *env = getenv("ZEGEL_CRYPTO_CPU");
	hal_cpu_sha256_blocks_fn fn;

	blocks = NULL;
	text_blocks = NULL;
	found[0] = '\0';
	if (env != NULL && strcmp(env, "off") == 0) {
		snprintf(verdict, sizeof(verdict), "off (ZEGEL_CRYPTO_CPU=off)");
		snprintf(why, cap, "%s", verdict);
		return -ENOTSUP;
	}
	fn = hal_cpu_sha256_x86(found, sizeof(found), &text_blocks);
	if (fn == NULL && strncmp(found, "not an ", 7) == 0)
		fn = hal_cpu_sha256_arm(found, sizeof(found));
	if (fn == NULL) {
		if (strncmp(found, "not an ", 7) == 0)
			snprintf(found, sizeof(found),
			    "no SHA instructions known for this architecture");
		snprintf(verdict, sizeof(verdict), "%s: software hashes", found);
		snprintf(why, cap, "%s", verdict);
		return -ENOTSUP;
	}
	blocks = fn; /* for the self-test */
	memset(a1000, 'a', sizeof(a1000));
	if (!vector_ok((const uint8_t *)"abc", 3, 1, d_abc) ||
	    !vector_ok((const uint8_t *)m448, sizeof(m448) - 1, 1, d_448) ||
	    !vector_ok(a1000, sizeof(a1000), 1000, d_million) || !vector_ok(a1000, 1, 0, d_empty) ||
	    !text_ok()) {
		blocks = NULL;
		text_blocks = NULL;
		snprintf(verdict, sizeof(verdict),
		    "%s, but the self-test vectors came out wrong: "
		    "software hashes",
		    found);
		snprintf(why, cap, "%s", verdict);
		return -EIO;
	}
	snprintf(verdict, sizeof(verdict), "sha256: %s; FIPS 180-2 vectors pass", found);
	snprintf(why, cap, "serves sha256");
	return 0;
}

static void
cpu_describe(void (*emit)(void *arg, const char *line), void *arg)
{
	char line[260];

	snprintf(line, sizeof(line), "cpu: %s", verdict[0] ? verdict : "not probed");
	emit(arg, line);
	if (blocks)
		emit(arg, "cpu: sha1, sha384, sha512: not offered (the next backend)");
}

const struct hal_crypto_ops hal_crypto_cpu = {
	.name = "cpu",
	.caps = cpu_caps,
	.probe = cpu_probe,
	.describe = cpu_describe,
	.hash_init = cpu_hash_init,
	.hash_update = cpu_hash_update,
	.hash_final = cpu_hash_final,
	.hash_clone = cpu_hash_clone,
	.hash_free = cpu_hash_free,
	.hash_update_text = cpu_hash_update_text,
};
