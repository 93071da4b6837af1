/*
 * firmware/time/ntp.h — the clock on a router without RTC: SNTP sync from
 * the event loop, and `show clock`.
 *
 * A round asks every configured server at once (one UDP socket each), waits
 * for the answers or NTP_ROUND_MS, and gives the valid answers to
 * sntp_select(): the median of the agreeing majority (offsets within
 * NTP_AGREE_MS) is the offset; kiss-o'-death, stratum 0/16, a zero transmit
 * timestamp and answers that do not echo our transmit timestamp are
 * rejected, as is a result before the plausibility floor (the build time).
 * An offset of a second or more steps the clock (hal_clock_step(): the
 * system clock when permitted, else a software offset); a smaller one is
 * only recorded. Rounds repeat every `set ntp interval` (default 1 h); a
 * round without a verdict is retried after 1 min, doubling up to the
 * interval.
 *
 * Names and DNSSEC. A server given by name is resolved through zegel's
 * validating resolver, which needs a plausible clock. While the clock is
 * not plausible names are not looked up (the log says so): at least one
 * server should be an IP address, which breaks the circle without trusting
 * an unvalidated DNS answer.
 */
#ifndef ZEGEL_TIME_NTP_H
#define ZEGEL_TIME_NTP_H

#include "zegel/cfg.h"

#define NTP_ROUND_MS 3000
#define NTP_AGREE_MS 1000
#define NTP_STEP_MS 1000
#define NTP_RETRY_S 60

/* At start and after every commit: a changed server list starts a round. */
void ntp_configure(const struct zcfg *cfg);
void ntp_stop(void);
/* `show clock` */
void ntp_console_register(void);
/* One log line: the clock's value and whether it is plausible. */
void clock_log_boot(void);
/* "2026-12-05T12:00:00Z" */
void clock_format(int64_t t, char *buf, size_t cap);

#endif
