/* hal_entropy contract, for every enabled backend: fill() writes exactly n
 * bytes (canary past the buffer), never the same twice, roughly balanced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/common/hal_backends.h"

#define CANARY 0xa5

static void
test_fill_sizes(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 16, 31, 32, 33, 255, 4096, 65536 };
	static uint8_t buf[65536 + 1];

	(void)state;
	for (const struct hal_entropy_ops *const *b = test_entropy_backends; *b; b++) {
		hal_entropy_set(*b);
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			memset(buf, 0, n);
			buf[n] = CANARY;
			assert_int_equal(hal_entropy_fill(buf, n), 0);
			if (buf[n] != CANARY)
				fail_msg("%s: fill(%zu) wrote past the buffer", (*b)->name, n);
			if (n >= 16) {
				size_t zeros = 0;
				for (size_t k = 0; k < n; k++)
					zeros += buf[k] == 0;
				/* All-zero output (an unfilled buffer) is impossible by chance. */
				assert_true(zeros < n);
			}
		}
	}
	hal_entropy_set(&hal_entropy_posix);
}

static void
test_fills_differ(void **state)
{
	uint8_t a[32], b2[32];

	(void)state;
	for (const struct hal_entropy_ops *const *b = test_entropy_backends; *b; b++) {
		hal_entropy_set(*b);
		assert_int_equal(hal_entropy_fill(a, sizeof(a)), 0);
		assert_int_equal(hal_entropy_fill(b2, sizeof(b2)), 0);
		assert_memory_not_equal(a, b2, sizeof(a));
		/* The mbedTLS-style callback is the same source. */
		assert_int_equal(hal_entropy_rng(NULL, a, sizeof(a)), 0);
		assert_memory_not_equal(a, b2, sizeof(a));
	}
	hal_entropy_set(&hal_entropy_posix);
}

/* 64 KiB = 524288 bits: the share of ones is 0.5 +- 0.0007 (1 sigma); a 1 %
 * window is 14 sigma, so an honest source never fails, a stuck or biased
 * one (e.g. ASCII text, counters) does. Also every byte value shows up. */
static void
test_balance(void **state)
{
	static uint8_t buf[65536];

	(void)state;
	for (const struct hal_entropy_ops *const *b = test_entropy_backends; *b; b++) {
		unsigned long ones = 0;
		unsigned seen[256] = { 0 };
		hal_entropy_set(*b);
		assert_int_equal(hal_entropy_fill(buf, sizeof(buf)), 0);
		for (size_t i = 0; i < sizeof(buf); i++) {
			ones += (unsigned long)__builtin_popcount(buf[i]);
			seen[buf[i]]++;
		}
		double share = (double)ones / (sizeof(buf) * 8.0);
		if (share < 0.495 || share > 0.505)
			fail_msg("%s: share of one bits %.4f", (*b)->name, share);
		for (int v = 0; v < 256; v++)
			if (seen[v] == 0)
				fail_msg("%s: byte value %d never seen in 64 KiB", (*b)->name, v);
	}
	hal_entropy_set(&hal_entropy_posix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_sizes),
		cmocka_unit_test(test_fills_differ),
		cmocka_unit_test(test_balance),
	};
	assert_non_null(test_entropy_backends[0]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
