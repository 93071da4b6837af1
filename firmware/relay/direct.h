/*
 * firmware/relay/direct.h — relay mode `direct`: deliver to each recipient
 * domain's MX from the durable queue, with DANE (RFC 7672) where the domain
 * publishes usable TLSA records.
 *
 * Model.
 *
 *   smtpd session ── start() ──▶ queue_commit (fsync, rename, dir fsync) ──▶ 250 queued as ID
 *                                      │
 *   scheduler (loop timer) ── queue_next_job(now) ──▶ worker (fixed pool, DIRECT_WORKERS)
 *        worker: mxplan ⇄ resolver_lookup (MX, A/AAAA, TLSA; validated by zegel's stub)
 *                ──▶ hosts in MX order: loop_connect ──▶ upstream (smtpc + TLS client with
 *                    the DANE hook, or encrypt-only, or opportunistic STARTTLS)
 *                ──▶ queue_job_result per recipient, queue_job_end (retry / bounce / remove)
 *                ──▶ the next due job for the same domain over the same session
 *                    (connection reuse, at most DIRECT_REUSE_MAX messages), else QUIT
 *
 * TLS policy per host (mxplan.h):
 *   DANE     usable secure TLSA: the handshake must verify against it (inside
 *            the handshake, dane_verify_hook); STARTTLS missing or a mismatch
 *            → this host is not used (4.7.5), the next MX is tried.
 *   ENCRYPT  secure TLSA, none usable (or require-tls on without DANE): TLS
 *            without authentication; no STARTTLS → not used (4.7.4).
 *   MAY      insecure or no TLSA, require-tls off: STARTTLS if offered, else
 *            plaintext (RFC 7672 2.2: opportunistic).
 *   SKIP     TLSA lookup failed (bogus / indeterminate): host not used.
 * A bogus or indeterminate MX defers the whole domain (no fallback to A).
 * Never plaintext where TLS was required: smtpc refuses to send anything but
 * EHLO and STARTTLS before TLS when tls_mode is REQUIRED.
 *
 * Outcome per recipient: 2xx sent, 5xx bounced (DSN by the queue), anything
 * else deferred (retried with backoff by the queue). A session-level failure
 * (unreachable, greeting/EHLO refused, TLS failed, 4xx before MAIL) moves on
 * to the next address / MX; a message-level answer (MAIL/RCPT/DATA/dot) is
 * final for this attempt.
 */
#ifndef ZEGEL_RELAY_DIRECT_H
#define ZEGEL_RELAY_DIRECT_H

#include <stdint.h>

#include "hal/pools.h"
#include "firmware/spool/handoff.h"
#include "zegel/cfg.h"

#define DIRECT_WORKERS POOL_DIRECT_WORKERS /* each holds at most one loop stream */
#define DIRECT_TIMEOUT_MS 300000 /* no byte from an MX for 5 min (RFC 5321 4.5.3.2) */
#ifndef DIRECT_REUSE_MAX
#define DIRECT_REUSE_MAX 100   /* messages per connection before it is closed */
#endif

extern const struct handoff_target_ops relay_direct;

/* Open the queue in cfg->data_dir/queue and start the scheduler. Idempotent;
 * 0 or -1 with err set. Called at start and when the data dir changes. */
int direct_start(const struct zcfg *cfg, char *err, size_t errcap);
/* At shutdown: deliveries still running end now; their recipients count as
 * deferred (tried again at the next start, not reported as "in flight"). */
void direct_stop(void);
/* Look at the queue now (after a commit, a flush, a finished worker). */
void direct_kick(void);
void direct_set_timeout(uint32_t ms);
/* Deliveries running now (for `show relay` / `show queue`). */
unsigned direct_workers_active(void);

#endif
