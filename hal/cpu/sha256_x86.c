/*
 * SHA-256 blocks with the x86 SHA extensions (SHA-NI: Intel since Goldmont
 * and Ice Lake, AMD since Zen). Intel's SDM describes the instructions:
 * sha256rnds2 runs two rounds on the state split as ABEF and CDGH (A in the
 * top lane), taking W[t] + K[t] of both rounds in the low lanes of its third
 * operand; sha256msg1 and sha256msg2 compute the message schedule
 * (FIPS 180-4 §6.2.2 step 1) four words at a time. SSSE3 reverses the bytes
 * of each word (the message is big-endian), SSE4.1 blends the state halves.
 *
 * The function carries a target attribute, so the rest of zegel is built
 * for the baseline CPU; hal_cpu_sha256_x86() checks cpuid before anyone may
 * call it.
 */
#include <stdbool.h>
#include <stdio.h>

#include "hal/cpu/cpu_sha256.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cpuid.h>
#include <immintrin.h>

#define SHANI __attribute__((target("sha,sse4.1,ssse3")))

#include "hal/cpu/text64.h"

/* The 64 rounds of one block p[0..64) on the state in the instructions'
 * layout (ABEF, CDGH). */
SHANI static inline __attribute__((always_inline)) void
rounds(__m128i *abef_io, __m128i *cdgh_io, const uint8_t *p)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i abef = *abef_io, cdgh = *cdgh_io, w[4], wk;

#pragma GCC unroll 16
	for (int g = 0; g < 16; g++) {
		if (g < 4) {
			w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), bswap);
		} else {
			/* W[t..t+3] from the four groups before: msg1 adds sigma0,
			 * the words t-7..t-4 are added here, msg2 adds sigma1 */
			__m128i t = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);

			t = _mm_add_epi32(t, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
			w[g & 3] = _mm_sha256msg2_epu32(t, w[(g + 3) & 3]);
		}
		wk = _mm_add_epi32(w[g & 3],
		    _mm_loadu_si128((const __m128i *)&hal_cpu_sha256_k[4 * g]));
		/* two rounds: the old ABEF becomes CDGH */
		cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
		abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
	}
	*abef_io = _mm_add_epi32(abef, *abef_io);
	*cdgh_io = _mm_add_epi32(cdgh, *cdgh_io);
}

/* h[8] (a ... h) to the instructions' layout, top lane first: ABEF, CDGH */
SHANI static inline __attribute__((always_inline)) void
load_state(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
	__m128i abcd = _mm_loadu_si128((const __m128i *)&h[0]); /* lanes a b c d */
	__m128i efgh = _mm_loadu_si128((const __m128i *)&h[4]); /* lanes e f g h */
	__m128i badc = _mm_shuffle_epi32(abcd, 0xb1);           /* lanes b a d c */
	__m128i hgfe = _mm_shuffle_epi32(efgh, 0x1b);           /* lanes h g f e */

	*abef = _mm_alignr_epi8(badc, hgfe, 8);
	*cdgh = _mm_blend_epi16(hgfe, badc, 0xf0);
}

/* back to a b c d, e f g h */
SHANI static inline __attribute__((always_inline)) void
store_state(uint32_t h[8], __m128i abef, __m128i cdgh)
{
	__m128i fe_ba = _mm_shuffle_epi32(abef, 0x1b); /* lanes a b e f */
	__m128i dc_hg = _mm_shuffle_epi32(cdgh, 0xb1); /* lanes g h c d */

	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(fe_ba, dc_hg, 0xf0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dc_hg, fe_ba, 8));
}

SHANI static void
blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
	__m128i abef, cdgh;

	load_state(h, &abef, &cdgh);
	for (; n > 0; n--, p += 64)
		rounds(&abef, &cdgh, p);
	store_state(h, abef, cdgh);
}

/*
 * blocks_shani() that checks each block for clean text (hal/cpu/text64.h)
 * before its rounds: the check's loads, compares and mask arithmetic run on
 * the ports that the rounds' dependency chain leaves idle. A block holding
 * a break is not hashed. The state before the block of the last line end
 * is kept (two registers, no branch) so that the caller can go back to it.
 */
#if defined(HAVE_TEXT64_MASKS)
SHANI static inline __attribute__((always_inline)) size_t
text_loop(uint32_t h[8], const uint8_t *p, size_t n, bool relaxed, struct hal_cpu_text *t)
{
	struct text64_carry c = t->carry;
	__m128i abef, cdgh, sabef, scdgh, saved[2][2];
	size_t i, good = 0, snap = 0;

	load_state(h, &abef, &cdgh);
	saved[1][0] = abef;
	saved[1][1] = cdgh;
	t->dirty = false;
	for (i = 0; i < n; i++, p += 64) {
		struct text64_masks m;
		uint64_t err, has;

		text64_masks(p, relaxed, &m);
		err = text64_err(&m, relaxed, &c);
		if (__builtin_expect(err != 0, 0)) {
			size_t g = text64_good(m.lf, err);

			if (g != 0) {
				good = 64 * i + g;
				snap = i;
				saved[1][0] = abef;
				saved[1][1] = cdgh;
			}
			t->dirty = true;
			break;
		}
		/* a line end in this block: the state before it is the one to
		 * go back to, stored into saved[1] (else into saved[0], unused):
		 * no branch (about one block in six of base64 has none, it
		 * would mispredict) and no blend on the vector ports */
		has = (uint64_t)0 - (uint64_t)(m.lf != 0);
		saved[m.lf != 0][0] = abef;
		saved[m.lf != 0][1] = cdgh;
		good = (good & ~has) | ((64 * i + 64 - (size_t)__builtin_clzll(m.lf | 1)) & has);
		snap = (snap & ~has) | (i & has);
		text64_next(&m, &c);
		rounds(&abef, &cdgh, p);
	}
	sabef = saved[1][0];
	scdgh = saved[1][1];
	store_state(h, abef, cdgh);
	store_state(t->hsnap, sabef, scdgh);
	t->carry = c;
	t->good = good;
	t->snap = snap;
	return i;
}

/* the loop specialised for each rule: no test of relaxed per block */
SHANI static size_t
text_shani(uint32_t h[8], const uint8_t *p, size_t n, bool relaxed, struct hal_cpu_text *t)
{
	return relaxed ? text_loop(h, p, n, true, t) : text_loop(h, p, n, false, t);
}
#else
#define text_shani NULL /* an x86 build without SSE2 */
#endif

hal_cpu_sha256_blocks_fn
hal_cpu_sha256_x86(char *what, size_t cap, hal_cpu_sha256_text_fn *text)
{
	unsigned a, b, c, d;
	bool ssse3, sse41, sha;

	*text = NULL;

	if (!__get_cpuid(1, &a, &b, &c, &d)) {
		snprintf(what, cap, "x86: cpuid leaf 1 absent: no SHA-NI");
		return NULL;
	}
	ssse3 = (c & bit_SSSE3) != 0;
	sse41 = (c & bit_SSE4_1) != 0;
	sha = __get_cpuid_max(0, NULL) >= 7 && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
	    (b & bit_SHA) != 0;
	if (sha && ssse3 && sse41)
		snprintf(what, cap, "x86 SHA-NI, SSSE3, SSE4.1 (cpuid)");
	else
		snprintf(what, cap, "x86 without %s (cpuid)",
		    !sha         ? "SHA-NI (leaf 7, EBX bit 29)"
			: !ssse3 ? "SSSE3"
				 : "SSE4.1");
	if (!(sha && ssse3 && sse41))
		return NULL;
	*text = text_shani;
	return blocks_shani;
}

#else

hal_cpu_sha256_blocks_fn
hal_cpu_sha256_x86(char *what, size_t cap, hal_cpu_sha256_text_fn *text)
{
	*text = NULL;
	snprintf(what, cap, "not an x86 build");
	return NULL;
}

#endif
