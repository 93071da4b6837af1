/*
 * firmware/smtpd/server.h — the listeners and the fixed session pool
 * (CONFIG_MAX_SESSIONS) on the event loop: sockets (through loop.h), TLS
 * (firmware/tls) and the session layer (conn.h) wired together.
 *
 *   smtpd_server_start(cfg)    TLS certificate (generated if absent), listeners;
 *                              a port that cannot be bound is retried every
 *                              SMTPD_LISTEN_RETRY_MS (the appliance comes up)
 *   smtpd_server_apply(cfg, err, cap)  a configuration commit: all or nothing.
 *                              Listeners whose address stays keep their socket;
 *                              new ones are bound first, and if one cannot be
 *                              (port in use, address not here) nothing changes
 *                              and err says which; then old ones close and the
 *                              TLS material is loaded again. Sessions continue.
 *   smtpd_server_stop()        421 to every session, close listeners
 *   smtpd_server_listeners()   one line per listener and its state (show status)
 * Fairness (fair.h, `set smtpd ...`): a client address beyond its cap gets
 * "421 4.7.0"; with the pool full the longest-idle unauthenticated session
 * is closed with "421 4.4.2" to admit the newcomer, and if none may be, the
 * newcomer gets "421 4.3.2"; command, transaction and DATA-rate deadlines
 * and held AUTH replies run on one loop timer.
 */
#ifndef ZEGEL_SMTPD_SERVER_H
#define ZEGEL_SMTPD_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "zegel/cfg.h"

/* How often a listener whose port was taken at start is bound again. */
#define SMTPD_LISTEN_RETRY_MS 10000u

/* The number of listeners open. */
int smtpd_server_start(const struct zcfg *cfg);
/* 0, or a negative errno with err set ("listener NAME on ADDR: reason"). */
int smtpd_server_apply(const struct zcfg *cfg, char *err, size_t cap);
void smtpd_server_listeners(void (*emit)(void *arg, const char *line), void *arg);
void smtpd_server_stop(void);
/*
 * `set tls key-store tpm` (issue 15 point 4): how the TLS key held by the
 * key holder is had; the app hands it in (firmware/app/tls_tpm.c) so the
 * server never includes keys/. generate: make it (RSA-2048 in the TPM,
 * key_path gets the wrapped blob) when key_path does not exist. 0 and *out
 * (a key whose sign() goes to the key holder), or -errno and err.
 */
struct hal_key;
typedef int (*smtpd_tls_key_fn)(const char *key_path, bool generate, struct hal_key *out,
    char *err, size_t cap);
void smtpd_set_tls_key_loader(smtpd_tls_key_fn fn);
/* How often TLS is tried again while the TPM-held TLS key cannot be used. */
#define SMTPD_TLS_TPM_RETRY_MS 15000u

/* Sessions open now / most ever open, for `show status`. */
unsigned smtpd_server_sessions(unsigned *peak);

#endif
