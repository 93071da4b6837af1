/*
 * firmware/smtpd/engine_int.h (private to firmware/smtpd) — what the
 * engine (engine.c) shares with its AUTH part (auth.c).
 */
#ifndef ZEGEL_SMTPD_ENGINE_INT_H
#define ZEGEL_SMTPD_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "firmware/smtpd/smtpd.h"

/* Overwrite n bytes at p in a way the compiler keeps (secrets). */
void smtpd_wipe(void *p, size_t n);
/* Forget an AUTH exchange: the password wiped, no mechanism. */
void smtpd_auth_wipe(struct smtpd_session *s);
/* EHLO/HELO came first, else 503 (and false). */
bool smtpd_check_ready(struct smtpd_session *s);
/* The AUTH command (the command table's proceed), and each later line of
 * an AUTH exchange (a base64 response, or "*" to cancel). */
void smtpd_do_auth(struct smtpd_session *s, const char *args);
void smtpd_auth_step(struct smtpd_session *s, const char *resp);

#endif
