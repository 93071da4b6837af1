/*
 * SHA-256 blocks with the ARMv8 Cryptography Extension (SHA2): sha256h and
 * sha256h2 run four rounds on the state halves ABCD and EFGH, sha256su0 and
 * sha256su1 compute the message schedule four words at a time (Arm ARM,
 * "SHA256H"). The same ACLE intrinsics (arm_neon.h) serve AArch64 and
 * AArch32: a Cortex-A53/A55/A72 router SoC has them in both states, an
 * ARMv7 core (Cortex-A7/A9/A15) has none, and the kernel says which through
 * the auxiliary vector (AArch64 AT_HWCAP bit 6 HWCAP_SHA2; AArch32
 * AT_HWCAP2 bit 3 HWCAP2_SHA2, with AT_HWCAP bit 12 HWCAP_NEON; a kernel
 * without /proc mounted reads as none).
 *
 * The function carries a target attribute: the board is built for its
 * baseline (armv7-a, vfpv3-d16), and hal_cpu_sha256_arm() asks the kernel
 * before anyone may call it.
 */
#include <stdio.h>

#include "hal/cpu/cpu_sha256.h"

/* clang before 16 declares the SHA2 intrinsics only when the whole file is
 * built for them (-march=armv8-a+crypto), not for one function */
#if defined(__clang__) && __clang_major__ < 16 && !defined(__ARM_FEATURE_SHA2)
#define CE_NO_INTRINSICS
#endif

#if (defined(__aarch64__) || (defined(__arm__) && defined(__ARM_FP) && __ARM_ARCH >= 7)) && \
    !defined(CE_NO_INTRINSICS)

#include <arm_neon.h>

#if defined(__aarch64__)
#if defined(__clang__)
#define CE __attribute__((target("crypto")))
#else
#define CE __attribute__((target("+crypto")))
#endif
#define HWCAP_WORD 16         /* AT_HWCAP */
#define HWCAP_BITS (1ul << 6) /* HWCAP_SHA2 */
#define ARCH_NAME "AArch64"
#define BITS_TEXT "AT_HWCAP bit 6"
#else
#define CE __attribute__((target("arch=armv8-a,fpu=crypto-neon-fp-armv8")))
#define HWCAP_WORD 26         /* AT_HWCAP2 */
#define HWCAP_BITS (1ul << 3) /* HWCAP2_SHA2 */
#define NEON_BIT (1ul << 12)  /* AT_HWCAP: HWCAP_NEON */
#define ARCH_NAME "AArch32"
#define BITS_TEXT "AT_HWCAP2 bit 3, NEON"
#endif

CE static void
blocks_ce(uint32_t h[8], const uint8_t *p, size_t n)
{
	uint32x4_t abcd = vld1q_u32(&h[0]), efgh = vld1q_u32(&h[4]);

	for (; n > 0; n--, p += 64) {
		uint32x4_t w[4], wk, abcd0 = abcd, efgh0 = efgh, prev;

		for (int g = 0; g < 16; g++) {
			if (g < 4) /* big-endian words */
				w[g] = vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8(p + 16 * g)));
			else
				w[g & 3] =
				    vsha256su1q_u32(vsha256su0q_u32(w[g & 3], w[(g + 1) & 3]),
					w[(g + 2) & 3], w[(g + 3) & 3]);
			wk = vaddq_u32(w[g & 3], vld1q_u32(&hal_cpu_sha256_k[4 * g]));
			prev = abcd; /* four rounds */
			abcd = vsha256hq_u32(abcd, efgh, wk);
			efgh = vsha256h2q_u32(efgh, prev, wk);
		}
		abcd = vaddq_u32(abcd, abcd0);
		efgh = vaddq_u32(efgh, efgh0);
	}
	vst1q_u32(&h[0], abcd);
	vst1q_u32(&h[4], efgh);
}

/* An entry of the auxiliary vector, 0 if absent: read from /proc/self/auxv,
 * since uClibc-ng (the boards' C library) has no getauxval(). */
static unsigned long
auxval(unsigned long type)
{
	unsigned long pair[2], v = 0;
	FILE *f = fopen("/proc/self/auxv", "rb");

	if (f == NULL)
		return 0;
	while (fread(pair, sizeof(pair), 1, f) == 1 && pair[0] != 0)
		if (pair[0] == type) {
			v = pair[1];
			break;
		}
	fclose(f);
	return v;
}

hal_cpu_sha256_blocks_fn
hal_cpu_sha256_arm(char *what, size_t cap)
{
	unsigned long caps = auxval(HWCAP_WORD);
	int ok = (caps & HWCAP_BITS) != 0;

#if !defined(__aarch64__)
	ok = ok && (auxval(16 /* AT_HWCAP */) & NEON_BIT) != 0;
#endif
	snprintf(what, cap, "%s %s the SHA2 extension (%s)", ARCH_NAME, ok ? "with" : "without",
	    BITS_TEXT);
	return ok ? blocks_ce : NULL;
}

#else

hal_cpu_sha256_blocks_fn
hal_cpu_sha256_arm(char *what, size_t cap)
{
#if defined(__aarch64__) || defined(__arm__)
	snprintf(what, cap, "ARM build without the SHA2 intrinsics (clang < 16)");
#else
	snprintf(what, cap, "not an ARM build");
#endif
	return NULL;
}

#endif
