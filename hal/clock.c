/* The clock's plausibility floor and the software offset (hal/clock.h), for
 * any backend. */
#include <errno.h>
#include <stddef.h>

#include "hal/clock.h"

#ifndef ZEGEL_BUILD_TIME
#define ZEGEL_BUILD_TIME 1764374400 /* 2025-11-29: older than any build */
#endif

const int64_t hal_clock_build_time = ZEGEL_BUILD_TIME;
static int64_t clock_floor = ZEGEL_BUILD_TIME;
static int64_t soft_offset_ms;

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

int64_t
hal_clock_floor(void)
{
	return clock_floor;
}

static int64_t
raw_ms(void)
{
	const struct hal_clock_ops *c = hal_clock();

	return c->now_ms != NULL ? c->now_ms() : c->now() * 1000;
}

int64_t
hal_clock_now_ms(void)
{
	return raw_ms() + soft_offset_ms;
}

int64_t
hal_clock_now(void)
{
	int64_t ms = hal_clock_now_ms();

	/* floor division: a clock before 1970 still counts whole seconds */
	return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

int
hal_clock_step(int64_t offset_ms)
{
	const struct hal_clock_ops *c = hal_clock();
	int64_t target = hal_clock_now_ms() + offset_ms;
	int rc = c->set_ms != NULL ? c->set_ms(target) : -ENOTSUP;

	if (rc == 0) {
		soft_offset_ms = 0;
		return 0;
	}
	soft_offset_ms += offset_ms;
	return rc < 0 ? rc : -EIO;
}

int64_t
hal_clock_soft_offset_ms(void)
{
	return soft_offset_ms;
}
