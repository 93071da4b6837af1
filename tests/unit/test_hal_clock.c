/* hal_clock contract, for every enabled backend: wall clock agrees with the
 * system, is after the build; the monotonic clock never goes back and
 * measures a sleep; the plausibility floor works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "tests/unit/common/hal_backends.h"

static void
test_wall_clock(void **state)
{
	(void)state;
	for (const struct hal_clock_ops *const *b = test_clock_backends; *b; b++) {
		hal_clock_set(*b);
		int64_t now = hal_clock_now();
		int64_t sys = (int64_t)time(NULL);
		assert_true(now >= sys - 2 && now <= sys + 2);
		assert_true(now >= hal_clock_build_time);
		assert_true(hal_clock_plausible(now));
	}
	hal_clock_set(&hal_clock_posix);
}

static void
test_monotonic(void **state)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	(void)state;
	for (const struct hal_clock_ops *const *b = test_clock_backends; *b; b++) {
		hal_clock_set(*b);
		uint64_t prev = hal_clock_mono_ms(), t0 = prev;
		for (int i = 0; i < 100000; i++) {
			uint64_t t = hal_clock_mono_ms();
			assert_true(t >= prev);
			prev = t;
		}
		t0 = hal_clock_mono_ms();
		nanosleep(&ts, NULL);
		uint64_t dt = hal_clock_mono_ms() - t0;
		if (dt < 45 || dt > 2000)
			fail_msg("%s: a 50 ms sleep measured %llu ms", (*b)->name,
			    (unsigned long long)dt);
	}
	hal_clock_set(&hal_clock_posix);
}

static void
test_plausible(void **state)
{
	int64_t now = hal_clock_now();

	(void)state;
	assert_false(hal_clock_plausible(0)); /* 1970 after a power cut */
	assert_false(hal_clock_plausible(hal_clock_build_time - 1));
	hal_clock_set_floor(now + 1000);
	assert_false(hal_clock_plausible(now));
	assert_true(hal_clock_plausible(now + 1000));
	hal_clock_set_floor(100); /* never lowers */
	assert_false(hal_clock_plausible(now));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wall_clock),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_plausible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
