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
	/* Optional: UNIX time in milliseconds (NULL: now() * 1000). */
	int64_t (*now_ms)(void);
	/* Optional: set the wall clock to UNIX milliseconds t; 0 or -errno
	 * (-EPERM without the right, -ENOTSUP when the backend cannot). */
	int (*set_ms)(int64_t t);
};

/* The active backend, set by board_init(); NULL before. */
const struct hal_clock_ops *hal_clock(void);
void hal_clock_set(const struct hal_clock_ops *ops);
extern const struct hal_clock_ops hal_clock_posix;

/*
 * now() of the backend plus the software offset: when the wall clock cannot
 * be set (no right to, no set op), a synced time is kept as an offset
 * applied here, so every reader (DNSSEC, DKIM t=, logs) sees the synced time.
 */
int64_t hal_clock_now(void);
int64_t hal_clock_now_ms(void);

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
int64_t hal_clock_floor(void);

/*
 * Move the wall clock by offset_ms (a time sync). Tries the backend's
 * set_ms; if that is missing or fails, the offset is added to the software
 * offset instead. Returns 0 when the backend clock was set, else the
 * -errno of the attempt (-ENOTSUP: no set op) with the software offset in
 * use. Either way hal_clock_now() reads the new time afterwards.
 */
int hal_clock_step(int64_t offset_ms);
/* The software offset in milliseconds (0 when the backend clock is right). */
int64_t hal_clock_soft_offset_ms(void);

#endif
