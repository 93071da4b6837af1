/*
 * hal/cpu private: SHA-256 block functions that use the processor's SHA
 * instructions, one file per architecture (sha256_x86.c, sha256_arm.c),
 * and the portable rest (buffering, padding, the backend) in crypto_cpu.c.
 *
 * A block function compresses n whole 64-byte blocks of p into the state
 * h[8] (FIPS 180-4 §6.2.2, h[0] = a ... h[7] = h, host word order). It is
 * compiled for the instructions with a target attribute, so it may only be
 * called after its detect function found them on this CPU at run time.
 */
#ifndef HAL_CPU_SHA256_H
#define HAL_CPU_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/cpu/text64.h"

typedef void (*hal_cpu_sha256_blocks_fn)(uint32_t h[8], const uint8_t *p, size_t n);

/*
 * A block function that checks each block for clean text (hal/cpu/text64.h,
 * hal_hash_update_text()) before it hashes it, and stops before the first
 * block with a break (t->dirty) or after n. Returns the blocks hashed. In t:
 * carry, the byte before p in, the last byte looked at out; good, after the
 * last line end before any break (0: none), in block snap (good - 1 is in
 * p[64 * snap .. 64 * snap + 64)); hsnap, the state before block snap (the
 * state h came in with when good is 0).
 */
struct hal_cpu_text {
	struct text64_carry carry;
	size_t good, snap;
	uint32_t hsnap[8];
	bool dirty;
};
typedef size_t (*hal_cpu_sha256_text_fn)(uint32_t h[8], const uint8_t *p, size_t n, bool relaxed,
    struct hal_cpu_text *t);

/* FIPS 180-4 §4.2.2, the 64 round constants. */
extern const uint32_t hal_cpu_sha256_k[64];

/*
 * The block function of this architecture when the CPU (and the kernel, which
 * reports it) has the instructions, else NULL. Either way what names what
 * was found ("x86 SHA-NI (cpuid 7.EBX bit 29), SSSE3, SSE4.1" or why not).
 * x86 also gives its checking block function in *text (else NULL).
 */
hal_cpu_sha256_blocks_fn hal_cpu_sha256_x86(char *what, size_t cap,
    hal_cpu_sha256_text_fn *text);
hal_cpu_sha256_blocks_fn hal_cpu_sha256_arm(char *what, size_t cap);

#endif
