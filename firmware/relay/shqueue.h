/*
 * firmware/relay/shqueue.h — the smarthost with its queue on
 * (`set relay smarthost HOST[:PORT] queue on`): zegel accepts a message once
 * it is safely stored and relays it to the smarthost itself, retrying until
 * the queue's lifetime, with a DSN per refused recipient. For LAN devices
 * that never retry a 451 (many printers and scanners).
 *
 * Model.
 *
 *   smtpd session ── start() ──▶ queued_accept: queue_commit (message file
 *                    renamed in, state record written, both fsynced) ──▶ 250 queued as ID
 *   scheduler (one loop timer) ── queue_next_job_all(now): every due recipient
 *        of one entry ──▶ worker (SHQUEUE_WORKERS) ──▶ smarthost_deliver(): the
 *        smarthost job of sync mode (address lookup, DANE or PKIX, STARTTLS,
 *        AUTH), partial_ok ──▶ queue_job_result per recipient, queue_job_end
 *
 * The queue, its crash-safety argument, retries, bounces and delay warnings
 * are direct mode's (firmware/spool/queue.h); nothing is duplicated here.
 * Per recipient: 2xx sent (done); 5xx (refused at RCPT, or the message
 * refused at DATA / the final dot) bounced: the queue sends one DSN per
 * attempt's bounces to the envelope sender; 4xx and every session failure
 * (unreachable, TLS, AUTH, greeting) deferred with backoff (`set queue
 * retry-base`, doubling, capped at 12x) until `set queue lifetime`, then
 * bounced with the last 4.x.x.
 *
 * At least once, never lost: recipients are recorded in flight (fsynced)
 * before the job goes out. A kill between the smarthost's 250 and the
 * rewrite of the state record leaves them in flight; the next start sends
 * them again (logged "delivery was in flight when zegel stopped: retried
 * (may arrive twice)"): such a message may arrive twice, never zero times.
 *
 * Who delivers the queue follows the relay mode (`zegel run`, cmd_run.c):
 * in smarthost mode this runner (queue on; or queue off while an earlier
 * queue still holds messages), in direct mode the direct workers. A commit
 * that switches stops the other side first: its deliveries in flight are
 * released, due again at once.
 */
#ifndef ZEGEL_RELAY_SHQUEUE_H
#define ZEGEL_RELAY_SHQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/spool/handoff.h"
#include "zegel/cfg.h"

#define SHQUEUE_WORKERS 2 /* each holds one smarthost job (POOL_SMARTHOST_JOBS) */

/* The receiving side: start() commits to the queue (queued.h). */
extern const struct handoff_target_ops relay_smarthost_queue;

/* Open the queue in cfg->data_dir/queue (unless open there already) and
 * start delivering it to cfg's smarthost. Idempotent (a commit: new limits,
 * host name, smarthost); 0, or -1 with err set. cfg: the running config. */
int shqueue_start(const struct zcfg *cfg, char *err, size_t errcap);
/* Deliveries in flight are dropped (their recipients due again at once:
 * a message already sent may arrive twice); the queue stays open. */
void shqueue_stop(void);
void shqueue_kick(void);
unsigned shqueue_workers_active(void);
bool shqueue_running(void);
/* A `show status` line (console_register_status); 0 or -ENOSPC. */
int shqueue_console_register(void);

#endif
