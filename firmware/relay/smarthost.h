/*
 * firmware/relay/smarthost.h — the smarthost relay target and its helpers
 * (shared with `test relay` / `zegel relay-check`).
 *
 *   relay_smarthost          the relay target (handoff.h contract), sync mode
 *   smarthost_deliver()      one queued message with an outcome per recipient
 *                            (the smarthost queue, shqueue.h)
 *   smarthost_tls_conf()     the shared TLS client config for a CA file
 *   smarthost_probe_start()  a job on the event loop (`test relay`, `zegel
 *                            relay-check`): connect, STARTTLS, verify, EHLO,
 *                            QUIT; never MAIL. Prints what it found through emit().
 */
#ifndef ZEGEL_RELAY_SMARTHOST_H
#define ZEGEL_RELAY_SMARTHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/relay/hostaddr.h"
#include "firmware/relay/smtpc.h"
#include "firmware/spool/handoff.h"
#include "firmware/tls/client.h"
#include "zegel/cfg.h"

#define SMARTHOST_TIMEOUT_MS 120000 /* no byte from the upstream for this long: 4.4.2 */

extern const struct handoff_target_ops relay_smarthost;

/* The smarthost queue's delivery (shqueue.h): m as for start() (the whole
 * message at once), but a recipient the upstream refuses does not stop the
 * others (smtpc partial_ok). rres has m->nrcpt entries, caller-owned, valid
 * until done() ran or cancel() returned: after done(), rres[k].code != 0 is
 * recipient k's own refusal (5xx, or 451 with the upstream's code), else
 * the verdict given to done() is its outcome. Logs one line per recipient.
 * 0 (done() follows exactly once, maybe before this returns: then *handle
 * is NULL), -EBUSY (the job pool is full: try later), -EINVAL. */
int smarthost_deliver(const struct handoff_msg *m, struct smtpc_result *rres, handoff_done_fn done,
    void *arg, void **handle);

void smarthost_set_timeout(uint32_t ms);
/* Messages being relayed right now (for `show relay`). */
unsigned smarthost_jobs_active(void);
void smarthost_peer_name(const struct zcfg_relay *r, const struct hal_addr *a, char *buf,
    size_t cap);
int smarthost_tls_conf(const char *ca_file, const struct tls_client_conf **out, char *err,
    size_t errcap);

/* `show relay` and `test relay` on the console (firmware/relay/console_relay.c). */
int relay_console_register(void);

/* The probe, a job on the event loop: lines go to emit() as they come
 * (the first ones, or the reason it cannot start, before this returns),
 * then done(arg, 0 | -1) once, from the loop, after the last line; 0 means
 * TLS was verified and EHLO answered. A host name is looked up with
 * resolver.h (servers and anchors: resolver_configure()). Returns 0 if the
 * job runs (done() follows), -EBUSY while another probe runs, -EINVAL if it
 * could not start (emit said why; no done()). One probe at a time. */
int smarthost_probe_start(const struct zcfg_relay *r, const char *helo, uint32_t timeout_ms,
    void (*emit)(void *arg, const char *line), void (*done)(void *arg, int rc), void *arg);
bool smarthost_probe_running(void);

#endif
