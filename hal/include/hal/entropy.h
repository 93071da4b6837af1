/*
 * hal/entropy.h — cryptographically secure random bytes.
 *
 * fill() either writes all n bytes or fails; it never returns short. The
 * POSIX backend reads the kernel's pool (getrandom where the libc has it,
 * /dev/urandom otherwise); a board with a hardware RNG may put it first.
 */
#ifndef HAL_ENTROPY_H
#define HAL_ENTROPY_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

struct hal_entropy_ops {
	const char *name;
	int (*fill)(uint8_t *buf, size_t n); /* 0 or -errno */
};

/* The active backend, set by board_init(); NULL before. */
const struct hal_entropy_ops *hal_entropy(void);
void hal_entropy_set(const struct hal_entropy_ops *ops);
extern const struct hal_entropy_ops hal_entropy_posix;

static inline int
hal_entropy_fill(uint8_t *buf, size_t n)
{
	return hal_entropy()->fill ? hal_entropy()->fill(buf, n) : -ENOTSUP;
}

/* An mbedTLS-style f_rng callback (ctx unused) over hal_entropy_fill. */
int hal_entropy_rng(void *ctx, unsigned char *buf, size_t n);

#endif
