/*
 * The active backend of each HAL service. board.c sets them at start; until
 * then (unit tests, tools) the portable defaults answer.
 */
#include "zegel/config.h"

#include "hal/clock.h"
#include "hal/crypto.h"
#include "hal/entropy.h"
#include "hal/net.h"
#include "hal/storage.h"

static const struct hal_crypto_ops *crypto_ops = &hal_crypto_soft;
static const struct hal_entropy_ops *entropy_ops = &hal_entropy_posix;
static const struct hal_clock_ops *clock_ops = &hal_clock_posix;
static const struct hal_storage_ops *storage_ops = &hal_storage_posix;
#if IS_ENABLED(CONFIG_HAL_NET_POSIX)
static const struct hal_net_ops *net_ops = &hal_net_posix;
#else
static const struct hal_net_ops *net_ops;
#endif

const struct hal_crypto_ops *hal_crypto(void) { return crypto_ops; }
void hal_crypto_set(const struct hal_crypto_ops *ops) { crypto_ops = ops; }
const struct hal_entropy_ops *hal_entropy(void) { return entropy_ops; }
void hal_entropy_set(const struct hal_entropy_ops *ops) { entropy_ops = ops; }
const struct hal_clock_ops *hal_clock(void) { return clock_ops; }
void hal_clock_set(const struct hal_clock_ops *ops) { clock_ops = ops; }
const struct hal_storage_ops *hal_storage(void) { return storage_ops; }
void hal_storage_set(const struct hal_storage_ops *ops) { storage_ops = ops; }
const struct hal_net_ops *hal_net(void) { return net_ops; }
void hal_net_set(const struct hal_net_ops *ops) { net_ops = ops; }

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

int
hal_entropy_rng(void *ctx, unsigned char *buf, size_t n)
{
	(void)ctx;
	return hal_entropy_fill(buf, n) == 0 ? 0 : -1;
}
