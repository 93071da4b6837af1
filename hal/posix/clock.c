/* Wall clock and monotonic clock from clock_gettime(2); setting through
 * clock_settime(2), which needs CAP_SYS_TIME.
 *
 * Test builds (CONFIG_HAL_CLOCK_TEST_SKEW, host board only) add the seconds
 * of the environment variable ZEGEL_TEST_CLOCK_SKEW to the wall clock and
 * never set the system clock (set_ms says EPERM, so a sync is kept as the
 * software offset): the e2e tests start zegel in 1970 that way, and no test
 * changes the machine's time. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "generated/autoconf.h"
#include "hal/clock.h"

static int64_t
test_skew_ms(void)
{
#ifdef CONFIG_HAL_CLOCK_TEST_SKEW
	static int64_t skew;
	static int read;

	if (!read) {
		const char *v = getenv("ZEGEL_TEST_CLOCK_SKEW");

		skew = v != NULL ? strtoll(v, NULL, 10) * 1000 : 0;
		read = 1;
	}
	return skew;
#else
	return 0;
#endif
}

static int64_t
posix_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + test_skew_ms();
}

static int64_t
posix_now(void)
{
	int64_t ms = posix_now_ms();

	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

static uint64_t
posix_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int
posix_set_ms(int64_t t)
{
	struct timespec ts;

	/* A test build never sets the machine's clock (tests run as root on
	 * shared machines): the software offset is used instead. */
#ifdef CONFIG_HAL_CLOCK_TEST_SKEW
	(void)ts;
	(void)t;
	return -EPERM;
#else
	if (t < 0)
		return -EINVAL;
	ts.tv_sec = (time_t)(t / 1000);
	ts.tv_nsec = (long)(t % 1000) * 1000000L;
	return clock_settime(CLOCK_REALTIME, &ts) == 0 ? 0 : -errno;
#endif
}

const struct hal_clock_ops hal_clock_posix = {
	.name = "posix (clock_gettime)",
	.now = posix_now,
	.mono_ms = posix_mono_ms,
	.now_ms = posix_now_ms,
	.set_ms = posix_set_ms,
};
