/*
 * hal/clock.h — wall-clock and monotonic time.
 *
 * Protocol engines never read the clock: the event loop passes time in.
 * now() is UNIX seconds and may be wrong on a router that has not synced yet
 * (1970 after a power cut); code that depends on it (DNSSEC validity, DKIM
 * t=) must check hal_clock_plausible().
 */
#ifndef HAL_CLOCK_H
#define HAL_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct hal_clock_ops {
	const char *name;
	int64_t (*now)(void);       /* UNIX time, seconds */
	uint64_t (*mono_ms)(void);  /* monotonic milliseconds, arbitrary origin */
};

/* The active backend, set by board_init(); NULL before. */
const struct hal_clock_ops *hal_clock(void);
void hal_clock_set(const struct hal_clock_ops *ops);
extern const struct hal_clock_ops hal_clock_posix;

static inline int64_t
hal_clock_now(void)
{
	return hal_clock()->now();
}

static inline uint64_t
hal_clock_mono_ms(void)
{
	return hal_clock()->mono_ms();
}

/* The build time (UNIX seconds), a floor for any sane clock. */
extern const int64_t hal_clock_build_time;

/* False when now() is before the build time or a remembered floor. */
bool hal_clock_plausible(int64_t now);
void hal_clock_set_floor(int64_t t);

#endif
