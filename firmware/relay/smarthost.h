/*
 * firmware/relay/smarthost.h — the smarthost relay target and its helpers
 * (shared with `test relay` / `zegel relay-check`).
 *
 *   relay_smarthost          the relay target (handoff.h contract), sync mode
 *   smarthost_resolve()      cfg host -> address (blocking; CLI only, hostaddr.h)
 *   smarthost_tls_conf()     the shared TLS client config for a CA file
 *   smarthost_probe()        blocking: connect, STARTTLS, verify, EHLO, QUIT;
 *                            never MAIL. Prints what it found through emit().
 *   smarthost_probe_start()  the same on the event loop (`test relay`)
 */
#ifndef ZEGEL_RELAY_SMARTHOST_H
#define ZEGEL_RELAY_SMARTHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/relay/hostaddr.h"
#include "firmware/spool/handoff.h"
#include "firmware/tls/client.h"
#include "zegel/cfg.h"

#define SMARTHOST_TIMEOUT_MS 120000 /* no byte from the upstream for this long: 4.4.2 */

extern const struct handoff_target_ops relay_smarthost;

void smarthost_set_timeout(uint32_t ms);
/* Messages being relayed right now (for `show relay`). */
unsigned smarthost_jobs_active(void);
/* Blocking lookups (hostaddr.h rules) for the command-line tools: the first
 * address / all of them (at most max), count or -1. The relay target itself
 * never blocks: it looks names up through resolver.h on the event loop.
 * smarthost_set_dns(cfg): the resolvers/anchors these use (NULL: resolv.conf
 * and the built-in anchors). */
void smarthost_set_dns(const struct zcfg *cfg);
int smarthost_resolve(const struct zcfg_relay *r, struct hal_addr *a, char *err, size_t errcap);
int smarthost_resolve_all(const struct zcfg_relay *r, struct hal_addr *out, unsigned max,
    char *err, size_t errcap);
/* Blocking as smarthost_resolve_all(), with the TLSA step (hostaddr.h) into
 * the caller's q: the DANE finding for `zegel relay-check`. Count or -1
 * (q->err; q->tlsa_failed for a bogus/indeterminate TLSA answer). */
int smarthost_resolve_dane(const struct zcfg_relay *r, struct hostaddr_req *q,
    struct hal_addr *out, unsigned max);
void smarthost_peer_name(const struct zcfg_relay *r, const struct hal_addr *a, char *buf,
    size_t cap);
int smarthost_tls_conf(const char *ca_file, const struct tls_client_conf **out, char *err,
    size_t errcap);

/* `show relay` and `test relay` on the console (firmware/relay/console_relay.c). */
int relay_console_register(void);

/* Returns 0 if TLS was verified and EHLO answered, -1 otherwise; every
 * finding goes to emit(arg, line). timeout_ms bounds the whole probe.
 * Blocking (own poll loop): for `zegel relay-check`, not inside `zegel run`. */
int smarthost_probe(const struct zcfg_relay *r, const char *helo, uint32_t timeout_ms,
    void (*emit)(void *arg, const char *line), void *arg);
/* The same probe as a job on the event loop (`test relay`): lines go to
 * emit() as they come (the first ones, or the reason it cannot start, before
 * this returns), then done(arg, 0 verified | -1) once, from the loop, after
 * the last line. Returns 0 if the job runs (done() follows), -EBUSY while
 * another probe runs, -EINVAL if it could not start (emit said why; no
 * done()). One probe at a time. */
int smarthost_probe_start(const struct zcfg_relay *r, const char *helo, uint32_t timeout_ms,
    void (*emit)(void *arg, const char *line), void (*done)(void *arg, int rc), void *arg);
bool smarthost_probe_running(void);

#endif
