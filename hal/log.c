/* Log lines: level filter, a small ring for `show log`, and the sink. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hal/log.h"

#define RING_LINES 64
#define LINE_MAX_LEN 480

static const struct hal_log_ops *sink = &hal_log_stderr;
static enum hal_log_level level = HAL_LOG_INFO;
static char ring[RING_LINES][LINE_MAX_LEN + 48];
static unsigned ring_next;

void hal_log_set(const struct hal_log_ops *ops) { sink = ops; }
void hal_log_set_level(enum hal_log_level lvl) { level = lvl; }
enum hal_log_level hal_log_level(void) { return level; }

void
hal_vlog(enum hal_log_level lvl, const char *module, const char *fmt, va_list ap)
{
	char line[LINE_MAX_LEN];

	if (lvl > level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	snprintf(ring[ring_next % RING_LINES], sizeof(ring[0]), "zegel/%s: %s", module, line);
	ring_next++;
	if (sink && sink->write)
		sink->write(lvl, module, line);
}

void
hal_log(enum hal_log_level lvl, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hal_vlog(lvl, module, fmt, ap);
	va_end(ap);
}

void
hal_log_ring_dump(void (*emit)(void *arg, const char *line), void *arg, unsigned max)
{
	unsigned have = ring_next < RING_LINES ? ring_next : RING_LINES;
	unsigned n = max < have ? max : have;

	for (unsigned i = ring_next - n; i != ring_next; i++)
		emit(arg, ring[i % RING_LINES]);
}

static void
stderr_write(enum hal_log_level lvl, const char *module, const char *line)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s zegel/%s[%ld]: %s%s%s\n", ts, module, (long)getpid(),
	    lvl <= HAL_LOG_WARN ? names[lvl] : "", lvl <= HAL_LOG_WARN ? ": " : "", line);
}

const struct hal_log_ops hal_log_stderr = {
	.name = "stderr",
	.write = stderr_write,
};
