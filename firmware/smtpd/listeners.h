/*
 * firmware/smtpd/listeners.h — the listener sockets of the SMTP server
 * (private to firmware/smtpd; server.c owns the sessions).
 *
 * Slots are not the configuration's indexes: an apply binds the new
 * listeners in free slots while the old ones still listen, so that a port
 * that cannot be bound changes nothing. At start (retry) such a port is
 * bound again every SMTPD_LISTEN_RETRY_MS instead. A slot is the arg of its
 * loop listener: ops->accept gets the struct smtpd_lsn.
 */
#ifndef ZEGEL_SMTPD_LISTENERS_H
#define ZEGEL_SMTPD_LISTENERS_H

#include <stdbool.h>
#include <stddef.h>

#include "firmware/core/loop.h"
#include "zegel/cfg.h"

enum smtpd_lsn_state { LSN_FREE = 0, LSN_OPEN, LSN_RETRY, LSN_NO_TLS };

struct smtpd_lsn {
	enum smtpd_lsn_state st;
	int h;
	int err; /* LSN_RETRY: the last bind error */
	unsigned tries;
	struct zcfg_listener l;
};

/* Forget every slot (start; sockets are not closed). */
void smtpd_listeners_reset(void);
/* The listeners of cfg, all or nothing: 0, or a negative errno with err
 * set ("listener NAME on ADDR: reason") and nothing changed. retry: a port
 * that cannot be bound is retried instead (start). */
int smtpd_listeners_apply(const struct zcfg *cfg, bool retry, const struct loop_listener_ops *ops,
    char *err, size_t cap);
/* After the TLS material was loaded: implicit-TLS listeners without it close. */
void smtpd_listeners_check_tls(void);
/* How many listen now. */
unsigned smtpd_listeners_open(void);
void smtpd_listeners_close(void);

#endif
