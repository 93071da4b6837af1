/*
 * hal private: the clean-text rule of hal_hash_update_text() (hal/crypto.h)
 * on 64 bytes at a time, shared by the portable check (hal/crypto.c) and the
 * SHA-NI loop that checks while it hashes (hal/cpu/sha256_x86.c).
 *
 * For 64 bytes, bit j of each mask is byte j (memory order). A byte breaks
 * clean text when it is an LF without a CR right before it, a byte after a
 * CR that is not an LF, a CR right after an LF (an empty line) or at the
 * start, and for HAL_TEXT_RELAXED an HTAB or the byte after an SP when it
 * is an SP, HTAB or CR. Each test looks at a byte and the one before it:
 * the block before carries its last byte in (struct text64_carry).
 */
#ifndef HAL_CPU_TEXT64_H
#define HAL_CPU_TEXT64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The byte before the next block: CR, LF (or the start: a line start), SP. */
struct text64_carry {
	uint64_t pcr, plf, psp;
};

#define TEXT64_START ((struct text64_carry){ 0, 1, 0 })

struct text64_masks {
	uint64_t cr, lf, sp, ht;
};

/* Bit j set: byte j breaks clean text (see above). */
static inline uint64_t
text64_err(const struct text64_masks *m, bool relaxed, const struct text64_carry *c)
{
	uint64_t err = m->lf ^ ((m->cr << 1) | c->pcr);

	err |= m->cr & ((m->lf << 1) | c->plf);
	if (relaxed)
		err |= m->ht | (((m->sp << 1) | c->psp) & (m->sp | m->ht | m->cr));
	return err;
}

static inline void
text64_next(const struct text64_masks *m, struct text64_carry *c)
{
	c->pcr = m->cr >> 63;
	c->plf = m->lf >> 63;
	c->psp = m->sp >> 63;
}

/* After the last LF of lf that is before the first bit of err (err 0: the
 * last LF), as an offset in the block; 0 when there is none. */
static inline size_t
text64_good(uint64_t lf, uint64_t err)
{
	uint64_t before = err ? lf & ((err & (~err + 1)) - 1) : lf;

	return before ? 64 - (size_t)__builtin_clzll(before) : 0;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* The masks of p[0..64) with SSE2 (the x86-64 baseline); SP and HTAB only
 * for relaxed (0 otherwise). */
static inline void
text64_masks(const uint8_t *p, bool relaxed, struct text64_masks *m)
{
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i sp = _mm_set1_epi8(' '), ht = _mm_set1_epi8('\t');

	m->cr = m->lf = m->sp = m->ht = 0;
#pragma GCC unroll 4
	for (unsigned k = 0; k < 4; k++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));

		m->cr |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, cr)) << (16 * k);
		m->lf |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, lf)) << (16 * k);
		if (relaxed) {
			m->sp |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, sp))
			    << (16 * k);
			m->ht |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, ht))
			    << (16 * k);
		}
	}
}
#define HAVE_TEXT64_MASKS 1
#endif

/*
 * The byte-by-byte rule (hal/crypto.c) from p[i], where text that is clean
 * up to good (a line end, or 0) has no break before i; p[i-1] is the byte
 * before when i > good. Returns the new good: after the last line end of
 * the clean prefix of p[0..n); *dirty when text that is not clean (rather
 * than the end of p) stopped it.
 */
size_t hal_text_scan_tail(bool relaxed, const uint8_t *p, size_t n, size_t i, size_t good,
    bool *dirty);

/*
 * hal_hash_update_text() for a backend without a one-pass loop (hal/crypto.c):
 * check HAL_TEXT_CHUNK bytes, hash them while they are in cache, go on from
 * the line end where the chunk stopped, until text that is not clean or the
 * end of p. A backend's own op falls back to it where its loop does not run.
 */
struct hal_hash_ctx;
int hal_hash_update_text_chunks(struct hal_hash_ctx *c, const uint8_t *p, size_t n,
    unsigned flags, size_t *len, bool *dirty);

#endif
