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

#include <stddef.h>
#include <stdint.h>

typedef void (*hal_cpu_sha256_blocks_fn)(uint32_t h[8], const uint8_t *p, size_t n);

/* FIPS 180-4 §4.2.2, the 64 round constants. */
extern const uint32_t hal_cpu_sha256_k[64];

/*
 * The block function of this architecture when the CPU (and the kernel, which
 * reports it) has the instructions, else NULL. Either way what names what
 * was found ("x86 SHA-NI (cpuid 7.EBX bit 29), SSSE3, SSE4.1" or why not).
 */
hal_cpu_sha256_blocks_fn hal_cpu_sha256_x86(char *what, size_t cap);
hal_cpu_sha256_blocks_fn hal_cpu_sha256_arm(char *what, size_t cap);

#endif
