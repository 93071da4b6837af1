/*
 * firmware/relay/tlsrpt_run.h — TLS-RPT (RFC 8460) on the event loop: the
 * counters of today on storage, the daily reports, the console.
 *
 * Model.
 *   direct delivery ── tlsrpt_note(sess) ──▶ today's counters (tlsrpt.h), written
 *        at once to DATA_DIR/tlsrpt/day-YYYYMMDD crash-safe (hal_storage_put:
 *        temporary file, fsync, rename, directory fsync), so a kill or power
 *        cut loses nothing that was counted
 *   timer: after each UTC midnight + 1..5 min (random) ──▶ report job:
 *        every period file but today's (day-* of earlier days, rep-* closed by
 *        `tlsrpt send-now`), one at a time; per policy domain in it:
 *          TXT _smtp._tls.DOMAIN through zegel's resolver (bogus: not used),
 *          exactly one valid v=TLSRPTv1 record (tlsrpt_record.h, RFC 8460 3),
 *          its mailto: rua addresses (https: rua is not done: logged)
 *          ──▶ JSON (4) ──▶ gzip (zegel/gzip.h) ──▶ the mail (5.3), DKIM-signed
 *          for the host name's signing domain (firmware/keys/sign.h, as the
 *          queue's DSNs) ──▶ direct delivery's queue (null sender: a report
 *          that cannot be delivered makes no bounce)
 *        then the file is removed. A crash in between sends a report twice
 *        at worst (at least once).
 *   `tlsrpt send-now` (console): today's counters become a closed period
 *        ending now (rep-YYYYMMDD-HHMMSS), and the job runs at once.
 *
 * Only direct delivery counts (the smarthost's sessions are not the
 * receiving domains' MX). Off (`set tlsrpt off`, the default): nothing is
 * counted or sent; files already on storage stay until it is on again.
 */
#ifndef ZEGEL_RELAY_TLSRPT_RUN_H
#define ZEGEL_RELAY_TLSRPT_RUN_H

#include <stdbool.h>

#include "firmware/relay/tlsrpt.h"
#include "zegel/cfg.h"

/* At start and after each commit; cfg must stay valid (the running one). */
void tlsrpt_configure(const struct zcfg *cfg);
void tlsrpt_stop(void);
bool tlsrpt_enabled(void);
/* One outcome (no-op when off). */
void tlsrpt_note(const struct tlsrpt_sess *s);
/* Close today and run the report job now: 0, or -1 with err set. */
int tlsrpt_send_now(char *err, size_t cap);
/* `show tlsrpt`, `tlsrpt send-now` */
int tlsrpt_console_register(void);

#endif
