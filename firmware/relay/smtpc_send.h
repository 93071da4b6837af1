/*
 * firmware/relay/smtpc_send.h — private to the SMTP client: the lower half
 * (smtpc_send.c) that the reply-driven state machine (smtpc.c) calls. The
 * output buffer is c->out, drained by the caller through smtpc_out() and
 * smtpc_out_ack(); a result is written once into c->res (or a recipient's
 * slot) and the session ends in SMTPC_S_END with c->ev set.
 */
#ifndef FIRMWARE_RELAY_SMTPC_SEND_H
#define FIRMWARE_RELAY_SMTPC_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/relay/smtpc.h"

/* Change state, telling the trace hook "old -> new". */
void smtpc_enter_state(struct smtpc *c, enum smtpc_state s);

/* ---- output */

/* Append a formatted command to c->out; false (nothing added) if full. */
bool smtpc_emit(struct smtpc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "<prefix><base64 of src>\r\n", marked secret (wiped once sent). */
bool smtpc_emit_secret(struct smtpc *c, const char *prefix, const uint8_t *src, size_t n);
/* Polite end: QUIT if there is room (there is unless the peer misbehaves). */
void smtpc_send_quit(struct smtpc *c);
/* The recipient after r in the NUL-separated list. */
const char *smtpc_rcpt_after(const struct smtpc *c, const char *r);
bool smtpc_send_next_rcpt(struct smtpc *c);
/* Stepwise: the caller's RCPT goes out (MAIL was accepted). */
void smtpc_send_pending(struct smtpc *c);
/* The envelope checks, then MAIL FROM (and with PIPELINING the RCPTs). */
void smtpc_start_mail(struct smtpc *c);
/* SMTPC_TLS_OPPORTUNISTIC without TLS: the envelope and message may go in
 * plaintext, credentials never. */
void smtpc_go_plaintext(struct smtpc *c, const char *why);
/* EHLO answered over TLS (or, opportunistic, without): probe verdict,
 * AUTH PLAIN or LOGIN, or MAIL. */
void smtpc_after_ehlo_tls(struct smtpc *c);

/* ---- results */

/* "X.Y.Z" at the start of s, class matching code; copies it into esc. */
bool smtpc_parse_esc(const char *s, int code, char esc[12]);
/* Write the verdict into c->res and end the session (SMTPC_S_END). */
void smtpc_finish(struct smtpc *c, enum smtpc_event ev, enum smtpc_err err, int code,
    const char *esc, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A refusal between zegel and its upstream: 451, the upstream's detail
 * (class made transient) or ours; then QUIT. */
void smtpc_fail_session(struct smtpc *c, enum smtpc_err err, const char *def_esc,
    const char *what);
/* A refusal of this message (or of one recipient) into r: 5xx passed
 * through, 4xx as 451. Records only; the caller decides when to finish. */
void smtpc_record_into(struct smtpc *c, struct smtpc_result *r, enum smtpc_err err,
    const char *def_esc, const char *what);
void smtpc_record_message(struct smtpc *c, enum smtpc_err err, const char *def_esc,
    const char *what);
/* End with what was recorded in c->res; then QUIT. */
void smtpc_fail_recorded(struct smtpc *c);
/* A protocol violation or internal error: 451 4.5.0, no QUIT. */
void smtpc_fail_unexpected(struct smtpc *c, enum smtpc_err err, const char *what);

#endif
