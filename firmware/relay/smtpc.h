/*
 * firmware/relay/smtpc.h — SMTP client engine: one message to one upstream.
 *
 * Model. A byte-fed state machine in the BearSSL shape. It knows nothing of
 * sockets, TLS, clocks or logs. The caller owns the context (static pool,
 * arena or stack) and moves bytes:
 *
 *   smtpc_init(c, &params)            cannot fail; params are copied by pointer
 *                                     and must outlive the context
 *   loop:
 *     smtpc_out(c, &p) -> n           command bytes to send (plaintext; the
 *     smtpc_out_ack(c, n)             caller encrypts them once TLS is up)
 *     smtpc_push(c, p, n) -> used     server reply bytes in; stops at an event
 *     smtpc_event(c)                  what to do next (below)
 *     smtpc_body(c, p, n) -> used     in SMTPC_EV_NEED_BODY: the message bytes,
 *     smtpc_body_end(c)               dot-stuffed by the engine (RFC 5321 4.5.2)
 *
 * Stepwise mode (params->stepwise: the smarthost in sync mode asks the
 * upstream at the LAN client's RCPT time). The session opens with MAIL as
 * soon as it is ready; the caller then gives one recipient at a time and
 * the message only once the client has sent it:
 *     smtpc_rcpt(c, addr)             any time before DATA, one at a time (kept
 *                                     until MAIL is answered); its verdict comes
 *                                     as SMTPC_EV_RCPT, in smtpc_rcpt_last(c)
 *     smtpc_noop(c)                   keep-alive while waiting for the client
 *     smtpc_data(c, size)             after at least one accepted RCPT: DATA,
 *                                     then SMTPC_EV_NEED_BODY as above
 *     smtpc_cancel(c)                 the client reset or left: QUIT (nothing
 *                                     of the message was or will be sent)
 *
 * Events:
 *   SMTPC_EV_NONE       feed more replies, drain output.
 *   SMTPC_EV_NEED_TLS   the upstream said 220 to STARTTLS. Drain nothing more
 *                       in plaintext: start the TLS handshake, then call
 *                       smtpc_tls_up(c). Reply bytes that arrived after the
 *                       220 in the same slice were discarded (client-side
 *                       STARTTLS injection, cf. CVE-2011-0411); the count is
 *                       in smtpc_discarded(c).
 *   SMTPC_EV_NEED_BODY  the upstream said 354: stream the message with
 *                       smtpc_body() and finish with smtpc_body_end().
 *   SMTPC_EV_DONE       the upstream accepted the message (250 to the final
 *                       dot); smtpc_result() has "250 <upstream text>". QUIT
 *                       may still be in the output: drain it, then close.
 *   SMTPC_EV_RCPT       stepwise: the upstream answered the caller's RCPT;
 *                       smtpc_rcpt_last() has the verdict for the client
 *                       (2xx accepted). Cleared by the next smtpc_rcpt/_data.
 *   SMTPC_EV_FAILED     no delivery; smtpc_result() says what to tell the
 *                       submitting client and why. Output may hold a QUIT.
 *                       If it failed inside the body (smtpc_in_body()), the
 *                       caller must close WITHOUT sending more, so the
 *                       upstream discards the partial message.
 *
 * Policy (what the result says). Session-level refusals (greeting, EHLO,
 * STARTTLS, AUTH) and anything about TLS become 451 with a 4.x.x code: the
 * problem is between zegel and its upstream, the client should keep the
 * message and retry. Message-level replies (MAIL, RCPT, DATA, final dot) are
 * passed through: a 5xx stays 5xx with the upstream's enhanced code, a 4xx
 * becomes 451 with the upstream's code. Without partial_ok one reply covers
 * all recipients, so if the upstream refuses any recipient the message is
 * not sent to anyone and the refusal of the first such recipient (a 5xx
 * before a 4xx) is passed through (a partial delivery would make a 250 a lie
 * for the others). With partial_ok (the queue: it records an outcome per
 * recipient) the message goes to the accepted recipients and
 * smtpc_rcpt_result() has each refusal; FAILED only if none was accepted.
 *
 * Security invariants, enforced here: unless params->implicit_tls, nothing
 * but EHLO and STARTTLS is sent before smtpc_tls_up(); a server that does
 * not offer STARTTLS is a failure (4.7.4); AUTH is only ever sent after TLS;
 * after TLS the extension list is forgotten and EHLO is sent again
 * (RFC 3207 4.2). The one exception is SMTPC_TLS_OPPORTUNISTIC (the direct
 * target for a domain without DANE, policy permitting): without an offered
 * or accepted STARTTLS the envelope and message go in plaintext, but AUTH
 * never does (4.7.4 if credentials are configured).
 *
 * Extensions: PIPELINING (RFC 2920: MAIL and every RCPT go in one batch, DATA
 * waits for their replies), SIZE (RFC 1870: SIZE= sent; a message over the
 * upstream's limit fails 552 5.3.4 before MAIL), 8BITMIME (RFC 6152:
 * BODY=8BITMIME when the client declared it; an 8-bit octet in the body to an
 * upstream without 8BITMIME fails 554 5.6.3 before the final dot, never
 * silently rewritten, which would break the DKIM signature), SMTPUTF8
 * (RFC 6531: required if the client used it, else 553 5.6.7), REQUIRETLS
 * (RFC 8689: required if params->requiretls, else 550 5.7.30), AUTH PLAIN
 * (RFC 4616, preferred) or LOGIN, ENHANCEDSTATUSCODES (RFC 2034).
 */
#ifndef ZEGEL_RELAY_SMTPC_H
#define ZEGEL_RELAY_SMTPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTPC_OUT_MAX 2048   /* command/body output buffer */
#define SMTPC_LINE_MAX 1024  /* longest reply line accepted (RFC 5321: 512) */
#define SMTPC_TEXT_MAX 240   /* result text kept, NUL included */
#define SMTPC_ADDR_MAX 513   /* a path without <> (RFC 5321 4.5.3.1.3: 256) + NUL */
#ifndef SMTPC_RCPT_RESULTS
#define SMTPC_RCPT_RESULTS 4  /* per-recipient results kept inside the context
				 (partial_ok without rcpt_results: max nrcpt) */
#endif

/* How much TLS the caller's policy demands (RFC 3207, RFC 7672 2.2). */
enum smtpc_tls_mode {
	SMTPC_TLS_REQUIRED = 0,   /* STARTTLS not offered or refused: no delivery (4.7.4) */
	SMTPC_TLS_OPPORTUNISTIC,  /* STARTTLS if offered; not offered, or refused with a
				     reply: carry on in plaintext (the caller decided that
				     policy allows it). A failed handshake stays a failure
				     (the connection is unusable); the caller may retry a new
				     connection without TLS. smtpc_tls_used() tells. */
};

enum smtpc_state {
	SMTPC_S_GREETING = 0,
	SMTPC_S_EHLO,
	SMTPC_S_STARTTLS,
	SMTPC_S_TLS,          /* waiting for smtpc_tls_up() */
	SMTPC_S_EHLO_TLS,
	SMTPC_S_AUTH_LOGIN_USER, /* AUTH LOGIN sent, waiting for 334 */
	SMTPC_S_AUTH_LOGIN_PASS,
	SMTPC_S_AUTH,         /* credentials sent, waiting for 235 */
	SMTPC_S_MAIL,         /* MAIL (and with PIPELINING all RCPT) sent */
	SMTPC_S_RCPT,
	SMTPC_S_ENVELOPE,     /* stepwise: waiting for the caller's RCPT or DATA */
	SMTPC_S_DATA,
	SMTPC_S_BODY,         /* streaming the message */
	SMTPC_S_DOT,          /* final dot sent, waiting for the verdict */
	SMTPC_S_END,          /* DONE or FAILED reported */
	SMTPC_S_COUNT
};

enum smtpc_event {
	SMTPC_EV_NONE = 0,
	SMTPC_EV_NEED_TLS,
	SMTPC_EV_NEED_BODY,
	SMTPC_EV_DONE,
	SMTPC_EV_FAILED,
	SMTPC_EV_RCPT,
};

/* Why it failed (sticks in the context; smtpc_strerror() has the words). */
enum smtpc_err {
	SMTPC_OK = 0,
	SMTPC_E_SYNTAX = -1,      /* malformed reply */
	SMTPC_E_LINE = -2,        /* reply line too long */
	SMTPC_E_GREETING = -3,    /* greeting not 220 */
	SMTPC_E_EHLO = -4,        /* EHLO refused */
	SMTPC_E_NO_STARTTLS = -5, /* STARTTLS not offered */
	SMTPC_E_STARTTLS = -6,    /* STARTTLS refused */
	SMTPC_E_NO_AUTH = -7,     /* credentials configured, no usable mechanism */
	SMTPC_E_AUTH = -8,        /* credentials refused */
	SMTPC_E_SIZE = -9,        /* over the upstream's SIZE */
	SMTPC_E_8BIT = -10,       /* 8-bit body, upstream 7-bit only */
	SMTPC_E_UTF8 = -11,       /* SMTPUTF8 needed, not offered */
	SMTPC_E_MAIL = -12,       /* MAIL refused */
	SMTPC_E_RCPT = -13,       /* a recipient refused */
	SMTPC_E_DATA = -14,       /* DATA refused */
	SMTPC_E_MESSAGE = -15,    /* final dot refused */
	SMTPC_E_BARE_EOL = -16,   /* bare CR or LF in the message */
	SMTPC_E_UNEXPECTED = -17, /* reply bytes when none was due */
	SMTPC_E_STATE = -18,      /* API misuse */
	SMTPC_E_CLOSED = -19,     /* upstream closed (smtpc_closed) */
	SMTPC_E_CANCELLED = -20,  /* the caller ended it (smtpc_cancel) */
	SMTPC_E_REQUIRETLS = -21, /* REQUIRETLS message, upstream without REQUIRETLS (or no TLS):
				     550 5.7.30, nothing of the message sent */
};

struct smtpc_params {
	const char *helo;         /* our EHLO name */
	const char *mail_from;    /* without <>, "" for the null sender */
	const char *rcpts;        /* nrcpt NUL-terminated addresses back to back */
	unsigned nrcpt;
	uint64_t size;            /* message octets (before dot-stuffing) */
	bool body_8bit;           /* client declared BODY=8BITMIME */
	bool smtputf8;            /* client declared SMTPUTF8 */
	bool requiretls;          /* RFC 8689: MAIL ... REQUIRETLS; only over TLS to an
				     upstream that offers it (else SMTPC_E_REQUIRETLS, 550
				     5.7.30, before MAIL). Whether the TLS was authenticated
				     is the caller's business: it sets requiretls only then. */
	bool implicit_tls;        /* the stream is TLS from the first byte (465) */
	const char *username;     /* NULL or "" : no AUTH */
	const char *password;
	bool probe;               /* stop after EHLO over TLS: DONE, no AUTH, no MAIL */
	enum smtpc_tls_mode tls_mode; /* 0: SMTPC_TLS_REQUIRED */
	bool stepwise;            /* recipients come one by one (smtpc_rcpt), the message
				     later (smtpc_data); rcpts/nrcpt unused; size is the
				     client's declared SIZE (0: none, no SIZE= sent) */
	bool partial_ok;          /* queue mode: refused recipients are recorded one by one
				     (smtpc_rcpt_result) and the message goes to the accepted
				     ones; none accepted: FAILED. nrcpt <= SMTPC_RCPT_RESULTS
				     unless rcpt_results is given. */
	bool keep_open;           /* after 250 to the final dot: no QUIT; the session
				     stays open for smtpc_next() or smtpc_quit() */
	struct smtpc_result *rcpt_results; /* optional, caller-owned, nrcpt entries
				     (zeroed by smtpc_init): where smtpc_rcpt_result()
				     keeps its records; NULL: the context's own
				     SMTPC_RCPT_RESULTS */
};

/* What the upstream offered in its last EHLO reply. */
struct smtpc_ext {
	bool starttls, pipelining, size, eightbit, smtputf8, esc, auth_plain, auth_login;
	bool requiretls;          /* RFC 8689 (only believed after TLS: the list before
				     STARTTLS is forgotten) */
	uint64_t size_max;        /* 0: no limit announced */
};

struct smtpc_result {
	int code;                 /* reply for the submitting client */
	char esc[12];
	char text[SMTPC_TEXT_MAX];
	enum smtpc_err err;
	int upstream_code;        /* the reply that decided it, 0 if none */
};

struct smtpc {
	const struct smtpc_params *p;
	enum smtpc_state state;
	enum smtpc_event ev;
	enum smtpc_err err;
	bool tls;                 /* TLS is up (implicit or after STARTTLS) */
	bool eightbit_ok;         /* may send 8-bit octets */
	struct smtpc_ext ext;
	/* reply parser */
	char line[SMTPC_LINE_MAX];
	size_t line_len;
	int reply_code;           /* code of the reply being read, 0 none */
	unsigned reply_lines;     /* lines of it seen so far */
	char reply[SMTPC_TEXT_MAX]; /* its text, lines joined by spaces */
	size_t reply_len;
	/* recipients */
	const char *rcpt_next;    /* next RCPT to send */
	unsigned rcpt_sent, rcpt_replied, rcpt_ok;
	bool rcpt_failed;         /* a refusal is recorded in res */
	bool mail_failed;
	bool plaintext;           /* opportunistic: carrying on without TLS */
	bool idle;                /* keep_open: DONE and no QUIT sent yet */
	bool dot_sent;            /* this transaction's final dot was queued */
	unsigned transactions;    /* messages accepted in this session */
	struct smtpc_result rcpt_res[SMTPC_RCPT_RESULTS]; /* refusals (code != 0) */
	/* stepwise */
	char pend[SMTPC_ADDR_MAX]; /* the caller's RCPT, until answered */
	bool pend_set;
	unsigned noop_pending;    /* NOOPs sent, not yet answered */
	struct smtpc_result rcpt_last;
	/* body */
	bool in_body;             /* 354 seen, final dot not yet queued */
	bool bol;                 /* at the beginning of a line */
	bool cr;                  /* last body octet was CR */
	uint64_t body_octets;
	size_t discarded;         /* plaintext after 220 to STARTTLS */
	/* output */
	uint8_t out[SMTPC_OUT_MAX];
	size_t out_len;
	bool out_secret;          /* out holds credentials: wipe when drained */
	struct smtpc_result res;
	/* optional trace: old -> new state (the caller logs it) */
	void (*trace)(void *arg, const char *from, const char *to);
	void *trace_arg;
};

void smtpc_init(struct smtpc *c, const struct smtpc_params *p);
/* Optional: fn(arg, "ehlo", "starttls") on every state change (after init). */
void smtpc_set_trace(struct smtpc *c, void (*fn)(void *arg, const char *from, const char *to),
    void *arg);
/* Wipes the context (credentials may sit in the output buffer). */
void smtpc_free(struct smtpc *c);

size_t smtpc_push(struct smtpc *c, const uint8_t *p, size_t n);
enum smtpc_event smtpc_event(const struct smtpc *c);

size_t smtpc_out(const struct smtpc *c, const uint8_t **p);
void smtpc_out_ack(struct smtpc *c, size_t n);

/* After SMTPC_EV_NEED_TLS and a verified handshake. */
void smtpc_tls_up(struct smtpc *c);

/* SMTPC_EV_NEED_BODY: returns octets consumed (0 when the output is full:
 * drain it). On a policy failure (bare CR/LF, 8-bit to a 7-bit upstream) the
 * event becomes SMTPC_EV_FAILED and nothing more is consumed. */
size_t smtpc_body(struct smtpc *c, const uint8_t *p, size_t n);
/* Ends the message (adds CRLF if it did not end in one, then "."). Returns 0,
 * or -1 if the output has no room yet (drain, call again). */
int smtpc_body_end(struct smtpc *c);

/* The upstream closed the stream (or the caller gave up). Sets FAILED with
 * the right words unless DONE/FAILED was already reported. */
void smtpc_closed(struct smtpc *c);

const struct smtpc_result *smtpc_result(const struct smtpc *c);
/* Recipient i (0-based, params order) after the end: the RCPT reply if the
 * upstream refused it (5xx as is, 4xx as 451 with the upstream's code, its
 * words in text); otherwise the final-dot reply (250 ...) or, if the
 * transaction failed as a whole (session, MAIL, DATA, dot, connection), the
 * same as smtpc_result(). NULL for i >= nrcpt or before the end. Refusals are
 * kept for every recipient with params->rcpt_results, else for the first
 * SMTPC_RCPT_RESULTS. */
const struct smtpc_result *smtpc_rcpt_result(const struct smtpc *c, unsigned i);
/* Stepwise mode. smtpc_rcpt: 0 taken, -1 not now (one is outstanding, DATA
 * was sent, the session ended: see smtpc_event) or too long. smtpc_data: 0
 * (DATA sent, or FAILED with 552 5.3.4 over the upstream's SIZE), -1 not in
 * the envelope phase or no recipient accepted. smtpc_noop: 0 sent, -1 not
 * idle. smtpc_cancel: ends any session (FAILED, SMTPC_E_CANCELLED) with QUIT
 * unless the message was being sent (then close without a byte more). */
/* Connection reuse (params->keep_open; the direct target sends several
 * queued messages for one domain over one session, RFC 5321 3.3). After
 * SMTPC_EV_DONE the engine is idle: smtpc_next(c, p) starts the next
 * transaction (MAIL, RCPTs) with new params on the same session, TLS state
 * and extensions kept; -1 if the session is not idle. smtpc_quit(c) ends
 * an idle session with QUIT. smtpc_idle() tells whether it is idle. */
int smtpc_next(struct smtpc *c, const struct smtpc_params *p);
void smtpc_quit(struct smtpc *c);
bool smtpc_idle(const struct smtpc *c);

int smtpc_rcpt(struct smtpc *c, const char *addr);
const struct smtpc_result *smtpc_rcpt_last(const struct smtpc *c);
int smtpc_data(struct smtpc *c, uint64_t size);
int smtpc_noop(struct smtpc *c);
void smtpc_cancel(struct smtpc *c);
/* Stepwise: recipients the upstream accepted so far. */
unsigned smtpc_rcpt_accepted(const struct smtpc *c);

/* True once the session runs over TLS (implicit or after STARTTLS); false
 * when SMTPC_TLS_OPPORTUNISTIC carried on in plaintext. */
bool smtpc_tls_used(const struct smtpc *c);
const struct smtpc_ext *smtpc_ext(const struct smtpc *c);
/* True if the message was being sent when it stopped: close, send nothing. */
bool smtpc_in_body(const struct smtpc *c);
/* True once this transaction's final dot was queued: a failure after it
 * (connection lost, timeout) leaves the delivery unconfirmed, not undone. */
bool smtpc_dot_sent(const struct smtpc *c);
size_t smtpc_discarded(const struct smtpc *c);
const char *smtpc_state_name(enum smtpc_state s);
const char *smtpc_strerror(enum smtpc_err e);

#endif
