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

#include "zegel/cfg.h"

/* How often a listener whose port was taken at start is bound again. */
#define SMTPD_LISTEN_RETRY_MS 10000u

/* The number of listeners open. */
int smtpd_server_start(const struct zcfg *cfg);
/* 0, or a negative errno with err set ("listener NAME on ADDR: reason"). */
int smtpd_server_apply(const struct zcfg *cfg, char *err, size_t cap);
void smtpd_server_listeners(void (*emit)(void *arg, const char *line), void *arg);
void smtpd_server_stop(void);
/* Sessions open now / most ever open, for `show status`. */
unsigned smtpd_server_sessions(unsigned *peak);

#endif
