/*
 * hal/log.h — one log line per event.
 *
 * Modules log through hal_log(); protocol engines do not log at all (their
 * callers do). The line format follows Postfix: "zegel/<module>[pid]: id: ...".
 * The sink is the console/stderr on the host and a ring the console's
 * `show log` reads on a board.
 */
#ifndef HAL_LOG_H
#define HAL_LOG_H

#include <stdarg.h>

enum hal_log_level { HAL_LOG_ERR = 0, HAL_LOG_WARN, HAL_LOG_INFO, HAL_LOG_DEBUG };

struct hal_log_ops {
	const char *name;
	void (*write)(enum hal_log_level lvl, const char *module, const char *line);
};

void hal_log_set(const struct hal_log_ops *ops);
void hal_log_set_level(enum hal_log_level lvl);
enum hal_log_level hal_log_level(void);
extern const struct hal_log_ops hal_log_stderr;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void hal_log(enum hal_log_level lvl, const char *module, const char *fmt, ...);
void hal_vlog(enum hal_log_level lvl, const char *module, const char *fmt, va_list ap);

/* The last lines logged, oldest first, for the console's `show log`. */
void hal_log_ring_dump(void (*emit)(void *arg, const char *line), void *arg, unsigned max);

#endif
