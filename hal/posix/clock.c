/* Wall clock and monotonic clock from clock_gettime(2). */
#include <time.h>

#include "hal/clock.h"

static int64_t
posix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}

static uint64_t
posix_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const struct hal_clock_ops hal_clock_posix = {
	.name = "posix (clock_gettime)",
	.now = posix_now,
	.mono_ms = posix_mono_ms,
};
