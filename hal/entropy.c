/* Entropy helpers over the active backend (hal/entropy.h), for any backend. */
#include "hal/entropy.h"

int
hal_entropy_rng(void *ctx, unsigned char *buf, size_t n)
{
	(void)ctx;
	return hal_entropy_fill(buf, n) == 0 ? 0 : -1;
}
