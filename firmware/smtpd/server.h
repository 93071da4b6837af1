/*
 * firmware/smtpd/server.h — the listeners and the fixed session pool
 * (CONFIG_MAX_SESSIONS) on the event loop: sockets (through loop.h), TLS
 * (firmware/tls) and the session layer (conn.h) wired together.
 *
 *   smtpd_server_start(cfg)    TLS certificate (generated if absent), listeners
 *   smtpd_server_reload(cfg)   after a configuration commit: listeners and
 *                              TLS material again; open sessions continue
 *   smtpd_server_stop()        421 to every session, close listeners
 * Fairness (fair.h, `set smtpd ...`): a client address beyond its cap gets
 * "421 4.7.0"; with the pool full the longest-idle unauthenticated session
 * is closed with "421 4.4.2" to admit the newcomer, and if none may be, the
 * newcomer gets "421 4.3.2"; command, transaction and DATA-rate deadlines
 * and held AUTH replies run on one loop timer.
 */
#ifndef ZEGEL_SMTPD_SERVER_H
#define ZEGEL_SMTPD_SERVER_H

#include "zegel/cfg.h"

int smtpd_server_start(const struct zcfg *cfg);
int smtpd_server_reload(const struct zcfg *cfg);
void smtpd_server_stop(void);
/* Sessions open now / most ever open, for `show status`. */
unsigned smtpd_server_sessions(unsigned *peak);

#endif
