/*
 * A test-only crypto backend standing in for a hardware engine that is not
 * on this machine: it hashes SHA-256 only (through the software backend)
 * and answers -ENOTSUP for every other algorithm and operation, so the
 * chain must pass those on. It counts calls and the contexts it holds open
 * (init and clone open one, final and free close one), the way an AF_ALG
 * context holds a socket: test_crypto_count.live != 0 after a message is a
 * leaked descriptor on real hardware. Its probe hashes "abc" and compares
 * with the FIPS 180-2 vector; bad_selftest makes it compute a wrong digest,
 * so the probe must reject it.
 */
#ifndef ZEGEL_TEST_CRYPTO_COUNT_H
#define ZEGEL_TEST_CRYPTO_COUNT_H

#include "hal/crypto.h"

struct test_crypto_count {
	unsigned inits, updates, finals, clones, frees, probes;
	int live;         /* contexts open: init + clone - final - free */
	int bad_selftest; /* the probe's digest is corrupted */
	int fail_clone;   /* clone answers -EIO (an engine out of contexts) */
};

extern struct test_crypto_count test_crypto_count;
extern const struct hal_crypto_ops test_crypto_count_ops;

/* Zero the counters; the chain becomes count > soft (registered, probed). */
void test_crypto_count_chain(void);
/* Back to the chain board_init() registered: every backend it offered,
 * registered (and probed) again in its order (saved by hal_backends.c's
 * constructor right after board_init()). */
void test_crypto_board_chain(void);
void test_crypto_save_board_chain(void);

#endif
