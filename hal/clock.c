/* The clock's plausibility floor (hal/clock.h), for any backend. */
#include "hal/clock.h"

#ifndef ZEGEL_BUILD_TIME
#define ZEGEL_BUILD_TIME 1764374400 /* 2025-11-29: older than any build */
#endif

const int64_t hal_clock_build_time = ZEGEL_BUILD_TIME;
static int64_t clock_floor = ZEGEL_BUILD_TIME;

bool
hal_clock_plausible(int64_t now)
{
	return now >= clock_floor;
}

void
hal_clock_set_floor(int64_t t)
{
	if (t > clock_floor)
		clock_floor = t;
}
