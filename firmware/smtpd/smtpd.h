/*
 * firmware/smtpd/smtpd.h — the SMTP server protocol engine (RFC 5321,
 * RFC 6409 submission, RFC 3207 STARTTLS, RFC 4954 AUTH, RFC 1870 SIZE,
 * RFC 6152 8BITMIME, RFC 2920 PIPELINING, RFC 2034 ENHANCEDSTATUSCODES,
 * RFC 6531 SMTPUTF8).
 *
 * Model. One struct smtpd_session per client, caller-allocated (a fixed
 * pool in conn.c). It knows nothing of sockets, TLS, the clock, files or
 * logs: it is fed the client's plaintext bytes and produces reply bytes.
 *
 *   smtpd_init(s, &params)       params: host name, peer, TLS state, policy
 *   smtpd_start(s)               queue the 220 greeting
 *   loop:
 *     n = smtpd_push(s, p, len)  consumes bytes until an event (below) or
 *                                until it cannot go on (output buffer
 *                                full, waiting for the caller): then it
 *                                returns what it consumed and the caller
 *                                retries later with the rest
 *     smtpd_out(s, &n) / smtpd_out_ack(s, n)   reply bytes to send
 *
 * Events (smtpd_event(s) after each push):
 *   SMTPD_EV_STARTTLS  "220 Ready to start TLS" is queued. Send it, DROP
 *                      every input byte not yet consumed (CVE-2011-0411:
 *                      pipelined plaintext after STARTTLS must not be
 *                      executed), run the handshake, then smtpd_tls_started().
 *   SMTPD_EV_AUTH      credentials complete: smtpd_auth_user/pass(); answer
 *                      with smtpd_auth_result(s, ok). Nothing is consumed
 *                      until then.
 *   SMTPD_EV_RCPT      only with params.rcpt_async: a RCPT passed every local
 *                      check; its address is smtpd_rcpt_pending(s). Answer with
 *                      smtpd_rcpt_done(s, code, esc, text) (possibly much
 *                      later: nothing is consumed until then, so pipelined
 *                      commands keep their order). 2xx adds the recipient.
 *   SMTPD_EV_DATA_BEGIN  354 queued: start a new message (spool, signer).
 *   SMTPD_EV_DATA_LINE smtpd_data_line(s, &n): one dot-unstuffed CRLF line.
 *   SMTPD_EV_DATA_END  final dot: envelope is in smtpd_mail_from()/rcpts.
 *                      Deliver, then smtpd_message_done(s, code, esc, text)
 *                      (possibly much later: the engine waits).
 *   SMTPD_EV_DATA_ABORT the message was refused by the engine (too big, too
 *                      long a line, bare CR/LF): discard what was spooled.
 *   SMTPD_EV_CLOSE     send what is queued, then close (QUIT, 421, 5xx
 *                      smuggling refusal).
 *
 * Policy decided here: relaying needs a trusted network or AUTH (554 5.7.1
 * per RCPT otherwise); AUTH needs TLS unless auth_plaintext; addresses must
 * be qualified and without source routes (553 5.1.3). Header From policy
 * needs the message and is the caller's (conn.c).
 */
#ifndef ZEGEL_SMTPD_SMTPD_H
#define ZEGEL_SMTPD_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/smtpd/esc.h"
#include "firmware/spool/data.h"
#include "zegel/config.h"

#define SMTPD_OUT_MAX 2048
#define SMTPD_ADDR_MAX 256          /* RFC 5321 4.5.3.1.3: path 256 octets */
#define SMTPD_RCPT_BUF (CONFIG_SMTP_MAX_RECIPIENTS * 64 + SMTPD_ADDR_MAX)
#define SMTPD_HOST_MAX 256
#define SMTPD_AUTH_MAX 256

enum smtpd_phase {
	SMTPD_PH_INIT = 0,          /* before greeting / after STARTTLS: need EHLO */
	SMTPD_PH_READY,             /* after EHLO/HELO, no transaction */
	SMTPD_PH_MAIL,              /* MAIL accepted */
	SMTPD_PH_RCPT,              /* at least one RCPT accepted */
	SMTPD_PH_DATA,              /* reading the message */
	SMTPD_PH_WAIT_MSG,          /* final dot seen, waiting for delivery result */
	SMTPD_PH_AUTH,              /* reading AUTH continuation lines */
	SMTPD_PH_WAIT_AUTH,         /* waiting for the caller's credential check */
	SMTPD_PH_TLS,               /* STARTTLS accepted, waiting for handshake */
	SMTPD_PH_WAIT_RCPT,         /* RCPT checked here, waiting for the caller's verdict */
	SMTPD_PH_CLOSED,
};

enum smtpd_event {
	SMTPD_EV_NONE = 0,
	SMTPD_EV_STARTTLS,
	SMTPD_EV_AUTH,
	SMTPD_EV_DATA_BEGIN,
	SMTPD_EV_DATA_LINE,
	SMTPD_EV_DATA_END,
	SMTPD_EV_DATA_ABORT,
	SMTPD_EV_CLOSE,
	SMTPD_EV_RCPT,
};

struct smtpd_params {
	const char *hostname;       /* banner and EHLO */
	bool tls;                   /* TLS already active (implicit TLS, 465) */
	bool starttls_offered;      /* listener can do STARTTLS */
	bool auth_plaintext;        /* AUTH allowed without TLS */
	bool auth_available;        /* some users are configured */
	bool trusted_network;       /* client is in a relay network */
	bool normalise;             /* accept bare LF/CR as line ends */
	uint64_t max_size;          /* SIZE, 552 5.3.4 beyond */
	bool rcpt_async;            /* SMTPD_EV_RCPT: the caller decides each RCPT */
	/* Optional: can a message of size octets (0: undeclared) be taken now?
	 * Nonzero refuses MAIL with 452 4.3.1 (RFC 5321 4.5.3.1.10: the queue
	 * or its storage is full; the client keeps the message). */
	int (*admit)(void *arg, uint64_t size);
	void *admit_arg;
};

enum smtpd_auth_mech { SMTPD_AUTH_NONE = 0, SMTPD_AUTH_PLAIN, SMTPD_AUTH_LOGIN };

struct smtpd_session {
	struct smtpd_params prm;
	char hostname[SMTPD_HOST_MAX];
	enum smtpd_phase phase;
	enum smtpd_event ev;
	bool closing;

	/* command line assembly (the buffer is at the end) */
	size_t len;
	bool cr, overflow;
	/* a refused MAIL or RCPT, for the caller's log (the engine logs
	 * nothing): the command and the reply line; refusal "" when none */
	const char *cur_verb;
	char cur_line[128];
	char refusal[160];

	size_t outlen;

	bool esmtp, tls, authed;
	char helo[SMTPD_HOST_MAX];
	char auth_user[SMTPD_AUTH_MAX];
	char auth_pass[SMTPD_AUTH_MAX];
	enum smtpd_auth_mech auth_mech;
	unsigned auth_step;
	unsigned errors;

	/* transaction */
	char mail_from[SMTPD_ADDR_MAX + 1];
	bool body_8bit, smtputf8;
	bool requiretls;            /* MAIL ... REQUIRETLS (RFC 8689), TLS sessions only */
	uint64_t mail_size;         /* MAIL ... SIZE=n, 0 if not declared */
	char rcpt_pending[SMTPD_ADDR_MAX + 1]; /* SMTPD_PH_WAIT_RCPT */
	enum smtpd_phase rcpt_back;
	size_t rcptlen;
	unsigned nrcpt;
	unsigned nmessages;

	/* Large buffers last, not zeroed by smtpd_init() (each is read only up
	 * to its length): a session touches the pages it uses, so an idle one
	 * costs little RSS (issue 20: a full pool must fit in 4 MiB). */
	uint8_t out[SMTPD_OUT_MAX];
	uint8_t line[CONFIG_SMTP_LINE_MAX + 1];
	char rcpts[SMTPD_RCPT_BUF];
	struct spool_data data;     /* spool_data_init() at DATA */
};

void smtpd_init(struct smtpd_session *s, const struct smtpd_params *prm);
void smtpd_start(struct smtpd_session *s);
size_t smtpd_push(struct smtpd_session *s, const uint8_t *p, size_t n);
static inline enum smtpd_event smtpd_event(const struct smtpd_session *s) { return s->ev; }
/* True while the engine takes no input (waiting for the caller, closing). */
bool smtpd_input_blocked(const struct smtpd_session *s);

const uint8_t *smtpd_out(const struct smtpd_session *s, size_t *n);
void smtpd_out_ack(struct smtpd_session *s, size_t n);
static inline bool smtpd_closing(const struct smtpd_session *s) { return s->closing; }

void smtpd_tls_started(struct smtpd_session *s);
void smtpd_auth_result(struct smtpd_session *s, bool ok);
const uint8_t *smtpd_data_line(const struct smtpd_session *s, size_t *n);
void smtpd_message_done(struct smtpd_session *s, int code, const char *esc, const char *text);
static inline const char *smtpd_rcpt_pending(const struct smtpd_session *s) { return s->rcpt_pending; }
void smtpd_rcpt_done(struct smtpd_session *s, int code, const char *esc, const char *text);
/* A mail transaction is open (MAIL given, not yet ended by the final reply,
 * RSET, a refused message, STARTTLS or QUIT). */
bool smtpd_in_transaction(const struct smtpd_session *s);
/* Idle timeout: 421 4.4.2, then close. */
void smtpd_timeout(struct smtpd_session *s);
/* A deadline passed (firmware/smtpd/fair.h): "421 4.4.2 HOST why, closing";
 * in DATA the rest of the message is not read. */
void smtpd_deadline(struct smtpd_session *s, const char *why);
/* Part of a command line received, its CRLF not yet. */
bool smtpd_partial_line(const struct smtpd_session *s);
/* SMTPD_EV_AUTH answered later: wipe the password now, keep the user name
 * (the engine stays waiting for smtpd_auth_result). */
void smtpd_auth_forget(struct smtpd_session *s);
/* The address is locked out after repeated failures: 454 4.7.0 (RFC 4954 6). */
void smtpd_auth_locked(struct smtpd_session *s, unsigned seconds);
/* The server is shutting down or full: 421 4.3.2, then close. */
void smtpd_shutdown(struct smtpd_session *s, const char *why);

/* Queue one reply line (used by the caller for policy refusals). */
void smtpd_reply(struct smtpd_session *s, int code, enum esc_code esc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Validate an RFC 5321 mailbox (no <>): 0, or an ESC-bearing refusal text. */
const char *smtpd_check_mailbox(const char *a, size_t n, bool utf8);

#endif
