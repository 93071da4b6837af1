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

SHANI static void
blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
	__m128i abcd = _mm_loadu_si128((const __m128i *)&h[0]); /* lanes a b c d */
	__m128i efgh = _mm_loadu_si128((const __m128i *)&h[4]); /* lanes e f g h */
	__m128i badc = _mm_shuffle_epi32(abcd, 0xb1);           /* lanes b a d c */
	__m128i hgfe = _mm_shuffle_epi32(efgh, 0x1b);           /* lanes h g f e */
	/* the instructions' layout, top lane first: ABEF and CDGH */
	__m128i abef = _mm_alignr_epi8(badc, hgfe, 8);
	__m128i cdgh = _mm_blend_epi16(hgfe, badc, 0xf0);

	for (; n > 0; n--, p += 64) {
		__m128i w[4], wk, abef0 = abef, cdgh0 = cdgh;

#pragma GCC unroll 16
		for (int g = 0; g < 16; g++) {
			if (g < 4) {
				w[g] =
				    _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)),
					bswap);
			} else {
				/* W[t..t+3] from the four groups before: msg1 adds
				 * sigma0, the words t-7..t-4 are added here, msg2
				 * adds sigma1 */
				__m128i t = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);

				t = _mm_add_epi32(t,
				    _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
				w[g & 3] = _mm_sha256msg2_epu32(t, w[(g + 3) & 3]);
			}
			wk = _mm_add_epi32(w[g & 3],
			    _mm_loadu_si128((const __m128i *)&hal_cpu_sha256_k[4 * g]));
			/* two rounds: the old ABEF becomes CDGH */
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, wk);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(wk, 0x0e));
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	/* back to a b c d, e f g h */
	{
		__m128i fe_ba = _mm_shuffle_epi32(abef, 0x1b); /* lanes a b e f */
		__m128i dc_hg = _mm_shuffle_epi32(cdgh, 0xb1); /* lanes g h c d */

		_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(fe_ba, dc_hg, 0xf0));
		_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(dc_hg, fe_ba, 8));
	}
}

hal_cpu_sha256_blocks_fn
hal_cpu_sha256_x86(char *what, size_t cap)
{
	unsigned a, b, c, d;
	bool ssse3, sse41, sha;

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
	return sha && ssse3 && sse41 ? blocks_shani : NULL;
}

#else

hal_cpu_sha256_blocks_fn
hal_cpu_sha256_x86(char *what, size_t cap)
{
	snprintf(what, cap, "not an x86 build");
	return NULL;
}

#endif
