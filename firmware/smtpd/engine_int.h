/*
 * firmware/smtpd/engine_int.h (private to firmware/smtpd) — the engine's
 * parts: engine.c (command table, phases, DATA) calls auth.c (AUTH), both
 * call reply.c (replies, output buffer, shared helpers); never upwards.
 */
#ifndef ZEGEL_SMTPD_ENGINE_INT_H
#define ZEGEL_SMTPD_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "firmware/smtpd/smtpd.h"

/* reply.c: a continuation line ("250-...") and a final reply whose
 * enhanced status code is given as text ("5.7.1"), from the session layer. */
void smtpd_reply_cont(struct smtpd_session *s, int code, enum esc_code e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
void smtpd_reply_escstr(struct smtpd_session *s, int code, const char *esc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Overwrite n bytes at p in a way the compiler keeps (secrets). */
void smtpd_wipe(void *p, size_t n);
/* Forget an AUTH exchange: the password wiped, no mechanism. */
void smtpd_auth_wipe(struct smtpd_session *s);
/* EHLO/HELO came first, else 503 (and false). */
bool smtpd_check_ready(struct smtpd_session *s);
/* auth.c: the AUTH command (the command table's proceed), and each later line of
 * an AUTH exchange (a base64 response, or "*" to cancel). */
void smtpd_do_auth(struct smtpd_session *s, const char *args);
void smtpd_auth_step(struct smtpd_session *s, const char *resp);

#endif
