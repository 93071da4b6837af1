/*
 * hal/log.h — one log line per event.
 *
 * Modules log through hal_log(); protocol engines do not log at all (their
 * callers do). The line format follows Postfix: "zegel/<module>[pid]: id: ...".
 * Errors and warnings get the level after the colon ("warning: ..."), so a
 * message text does not start with it again. The sink is the console/stderr
 * on the host and a ring the console's `show log` reads on a board.
 *
 * Logging never blocks. The stderr sink appends each line to a bounded
 * buffer (CONFIG_LOG_BUFFER_SIZE) and writes what the output takes at once,
 * without waiting; a slow serial console keeps the rest there. Whatever is
 * left is written by the next hal_log() or by hal_log_drain(), which the
 * event loop's owner calls until hal_log_pending() is 0: hal_log_set_notify()
 * tells it when lines start to wait. A full buffer drops its OLDEST lines
 * and, where they were, writes "zegel/log[pid]: warning: N log lines
 * dropped (output too slow)" once the output takes bytes again. At exit
 * (atexit, registered by the first line) or through hal_log_flush() the
 * rest is written, waiting for the output at most about two seconds
 * without progress.
 *
 * A message is one line: CR, LF and other control characters in it are
 * written as '?'. Text a client chose (addresses, names) still needs
 * text_log_addr() (zegel/text.h) so it cannot forge fields.
 */
#ifndef HAL_LOG_H
#define HAL_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

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

/* The last lines logged (CONFIG_LOG_RING_LINES of them, each with its time
 * and level), oldest first, for the console's `show log`:
 * "2026-12-05T12:00:00Z warning zegel/smtpd: text". */
void hal_log_ring_dump(void (*emit)(void *arg, const char *line), void *arg, unsigned max);

/* `show log` filters: the last max lines (0: all kept) of those at level
 * or more severe, whose text contains match (NULL or "": any). */
struct hal_log_filter {
	unsigned max;
	enum hal_log_level level;
	const char *match;
};
/* Returns the number of lines emitted. */
unsigned hal_log_ring_query(const struct hal_log_filter *f,
    void (*emit)(void *arg, const char *line), void *arg);
const char *hal_log_level_name(enum hal_log_level lvl);

/*
 * A second destination (remote syslog): fn is called for every line that
 * passes the level, with its time (UNIX ms, hal_clock_now_ms), after the
 * line is in the ring. fn must not block; a line it logs itself is kept in
 * the ring and on the console but not handed to fn again (no loop).
 */
typedef void (*hal_log_tap_fn)(void *arg, int64_t t_ms, enum hal_log_level lvl,
    const char *module, const char *line);
void hal_log_set_tap(hal_log_tap_fn fn, void *arg);

/*
 * A console that shares the output with the log (a serial console on
 * stderr): hide(arg) is called before the first byte of a log line is
 * written (the console clears the line the admin is typing), show(arg) once
 * the output is at a line boundary again (it reprints prompt and input).
 */
void hal_log_set_console(void (*hide)(void *arg), void (*show)(void *arg), void *arg);

/*
 * The stderr sink's output buffer. hal_log_drain() writes what the output
 * takes now, never waiting, and returns the bytes still waiting (as
 * hal_log_pending()). fn(arg) of hal_log_set_notify() is called after every
 * hal_log() that leaves bytes waiting: arm a short timer there (unless one
 * is armed) that calls hal_log_drain() until it returns 0. fn must not log.
 * hal_log_flush() waits (CLI tools, exit). hal_log_set_fd() points the sink
 * at another descriptor (default 2, stderr); waiting lines go there.
 */
size_t hal_log_drain(void);
size_t hal_log_pending(void);
void hal_log_set_notify(void (*fn)(void *arg), void *arg);
void hal_log_flush(void);
void hal_log_set_fd(int fd);

#endif
