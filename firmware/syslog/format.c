/* syslog message formats (syslog.h), pure. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firmware/syslog/syslog.h"

static unsigned
severity(enum hal_log_level lvl)
{
	switch (lvl) {
	case HAL_LOG_ERR: return 3;
	case HAL_LOG_WARN: return 4;
	case HAL_LOG_INFO: return 6;
	default: return 7;
	}
}

/* RFC 5424 6.2.4: HOSTNAME and the other header fields are printable
 * US-ASCII without spaces; "-" when empty. */
static void
field(char *out, size_t cap, const char *s, size_t max)
{
	size_t n = 0;

	for (; s != NULL && *s && n + 1 < cap && n < max; s++)
		out[n++] = (*s > 32 && *s < 127) ? *s : '_';
	if (n == 0 && cap > 1)
		out[n++] = '-';
	out[n] = 0;
}

size_t
syslog_format(char *buf, size_t cap, bool rfc3164, unsigned facility, enum hal_log_level lvl,
    int64_t t_ms, const char *host, long pid, const char *module, const char *text)
{
	static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	unsigned pri = (facility % 24) * 8 + severity(lvl);
	time_t t = (time_t)(t_ms >= 0 ? t_ms / 1000 : 0);
	char h[256], m[33];
	struct tm tm;
	int k;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	if (rfc3164) {
		field(h, sizeof(h), host, 255);
		/* RFC 3164 4.1.2: "Mmm dd hh:mm:ss", the day padded with a space */
		k = snprintf(buf, cap, "<%u>%s %2d %02d:%02d:%02d %s zegel[%ld]: %s: ", pri,
		    mon[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, h, pid,
		    module);
	} else {
		field(h, sizeof(h), host, 255);
		field(m, sizeof(m), module, 32);
		k = snprintf(buf, cap, "<%u>1 %04d-%02d-%02dT%02d:%02d:%02d.%03dZ %s zegel %ld %s - ",
		    pri, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, (int)(t_ms >= 0 ? t_ms % 1000 : 0), h, pid, m);
	}
	if (k < 0 || (size_t)k >= cap)
		return 0;
	k += snprintf(buf + k, cap - (size_t)k, "%s", text);
	return (size_t)k < cap ? (size_t)k : cap - 1;
}

size_t
syslog_frame_prefix(char *buf, size_t cap, size_t n)
{
	int k = snprintf(buf, cap, "%zu ", n);

	return k > 0 && (size_t)k < cap ? (size_t)k : 0;
}
