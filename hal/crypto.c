/* Crypto helpers over the active backend (hal/crypto.h), for any backend. */
#include "hal/crypto.h"

int
hal_hash(enum hal_hash_alg alg, const uint8_t *p, size_t n, uint8_t *out)
{
	struct hal_hash_ctx c;
	int rc = hal_hash_init(&c, alg);

	if (rc == 0)
		rc = hal_hash_update(&c, p, n);
	if (rc == 0)
		rc = hal_hash_final(&c, out);
	return rc;
}
