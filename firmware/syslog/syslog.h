/*
 * firmware/syslog/syslog.h — log lines to a remote collector.
 *
 * Formats (pure, syslog_format): RFC 5424
 *   <PRI>1 2026-12-05T12:00:00.123Z HOST zegel PID MODULE - text
 * or RFC 3164 for old collectors
 *   <PRI>Dec  5 12:00:00 HOST zegel[PID]: MODULE: text
 * with PRI = facility * 8 + severity (error 3, warning 4, info 6, debug 7).
 * Over UDP one message per datagram; over TCP each message is framed by
 * octet counting (RFC 6587 3.4.1: "LEN SP MSG").
 *
 * Transport (syslog.c, on the event loop) never blocks the loop: every log
 * line (hal_log_set_tap) is formatted at once; UDP sends it with one
 * non-blocking sendto, TCP appends the frame to a bounded queue
 * (SYSLOG_QUEUE bytes) the loop writes when the stream takes it. A full
 * queue, a datagram the kernel does not take or a collector that is down
 * drops the line: drops are counted (`show status`), logged once, and the
 * collector gets "N log lines dropped" before the next line. A closed or
 * failed TCP stream is reconnected after SYSLOG_RECONNECT_MS; the queue keeps
 * what waits meanwhile. The collector is an IP address: a log sink must work
 * when DNS does not.
 */
#ifndef ZEGEL_SYSLOG_H
#define ZEGEL_SYSLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/log.h"
#include "zegel/cfg.h"

#define SYSLOG_QUEUE 16384
#define SYSLOG_RECONNECT_MS 5000
#define SYSLOG_MSG_MAX 1024     /* RFC 3164 4.1's limit, enough for a log line */

/* The message (no framing, no line end): its length, or 0 if cap is too
 * small for the header. The text is cut to fit. */
size_t syslog_format(char *buf, size_t cap, bool rfc3164, unsigned facility,
    enum hal_log_level lvl, int64_t t_ms, const char *host, long pid, const char *module,
    const char *text);
/* "LEN SP" before a message of n octets (RFC 6587): the prefix length. */
size_t syslog_frame_prefix(char *buf, size_t cap, size_t n);

/* At start and after every commit. */
void syslog_configure(const struct zcfg *cfg);
void syslog_stop(void);
/* For `show status`. */
void syslog_status_register(void);

#endif
