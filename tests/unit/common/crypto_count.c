/* The counting SHA-256-only crypto backend (crypto_count.h). */
#include <string.h>

#include "tests/unit/common/crypto_count.h"

struct test_crypto_count test_crypto_count;

static uint32_t
count_caps(void)
{
	return HAL_CRYPTO_CAP_SHA | HAL_CRYPTO_CAP_HW;
}

static int
count_hash_init(struct hal_hash_ctx *c, enum hal_hash_alg alg)
{
	int rc;

	if (alg != HAL_HASH_SHA256)
		return -ENOTSUP;
	rc = hal_crypto_soft.hash_init(c, alg);
	if (rc < 0)
		return rc;
	c->ops = &test_crypto_count_ops;
	test_crypto_count.inits++;
	test_crypto_count.live++;
	return 0;
}

static int
count_hash_update(struct hal_hash_ctx *c, const uint8_t *p, size_t n)
{
	test_crypto_count.updates++;
	return hal_crypto_soft.hash_update(c, p, n);
}

static int
count_hash_final(struct hal_hash_ctx *c, uint8_t *out)
{
	test_crypto_count.finals++;
	test_crypto_count.live--;
	return hal_crypto_soft.hash_final(c, out);
}

static int
count_hash_clone(struct hal_hash_ctx *dst, const struct hal_hash_ctx *src)
{
	int rc;

	if (test_crypto_count.fail_clone)
		return -EIO;
	rc = hal_crypto_soft.hash_clone(dst, src);

	if (rc == 0) {
		test_crypto_count.clones++;
		test_crypto_count.live++;
	}
	return rc;
}

static void
count_hash_free(struct hal_hash_ctx *c)
{
	test_crypto_count.frees++;
	test_crypto_count.live--;
	hal_crypto_soft.hash_free(c);
}

static int
count_probe(char *why, size_t cap)
{
	static const uint8_t want[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41,
		0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a,
		0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
	struct hal_hash_ctx c;
	uint8_t d[32];

	test_crypto_count.probes++;
	if (count_hash_init(&c, HAL_HASH_SHA256) != 0 ||
	    count_hash_update(&c, (const uint8_t *)"abc", 3) != 0 || count_hash_final(&c, d) != 0)
		return -EIO;
	if (test_crypto_count.bad_selftest)
		d[0] ^= 1;
	if (memcmp(d, want, sizeof(d)) != 0) {
		strncpy(why, "SHA-256 self-test: wrong digest of \"abc\"", cap - 1);
		why[cap - 1] = '\0';
		return -EIO;
	}
	return 0;
}

const struct hal_crypto_ops test_crypto_count_ops = {
	.name = "count (test: SHA-256 only)",
	.caps = count_caps,
	.probe = count_probe,
	.hash_init = count_hash_init,
	.hash_update = count_hash_update,
	.hash_final = count_hash_final,
	.hash_clone = count_hash_clone,
	.hash_free = count_hash_free,
};

/* What board_init() offered to the chain, used or not, in order. */
static const struct hal_crypto_ops *board_chain[HAL_CRYPTO_MAX_BACKENDS];
static unsigned board_n;

void
test_crypto_save_board_chain(void)
{
	const struct hal_crypto_ops *b;
	bool used;

	for (board_n = 0;
	     board_n < HAL_CRYPTO_MAX_BACKENDS && hal_crypto_verdict(board_n, &b, &used) != NULL;
	     board_n++)
		board_chain[board_n] = b;
}

void
test_crypto_board_chain(void)
{
	hal_crypto_set(NULL);
	for (unsigned i = 0; i < board_n; i++)
		(void)hal_crypto_register(board_chain[i]); /* probed again, as at start */
}

void
test_crypto_count_chain(void)
{
	memset(&test_crypto_count, 0, sizeof(test_crypto_count));
	hal_crypto_set(NULL);
	(void)hal_crypto_register(&test_crypto_count_ops);
	(void)hal_crypto_register(&hal_crypto_soft);
	test_crypto_count.probes = 0;
	test_crypto_count.inits = test_crypto_count.finals = 0;
}
