/*
 * firmware/smtpd/conn.h — one client session above the protocol engine:
 * the engine's events become spool writes, header checks, DKIM signing and
 * a relay job. Still no sockets and no TLS (firmware/smtpd/server.c adds
 * those around it), so tests drive a whole session in-process.
 *
 * Call order (the server or a test):
 *   smtpd_conn_init(c, cfg, listener, peer, tls_active)   queues the greeting
 *                                 (for implicit TLS call it after the handshake)
 *   n = smtpd_conn_input(c, p, len)   plaintext from the client; returns the
 *                                 bytes consumed (fewer when the session waits
 *                                 for an asynchronous relay: keep the rest)
 *   smtpd_out()/smtpd_out_ack() on &c->smtp   replies to send
 *   c->want_tls                   STARTTLS accepted: all unconsumed input has
 *                                 been discarded; send the 220, do the
 *                                 handshake, then smtpd_conn_tls_started()
 *   smtpd_closing(&c->smtp)       close once the replies are sent
 *   smtpd_conn_free(c)            always, at the end (cancels a relay job,
 *                                 removes the spool file)
 * c->wake(c->wake_arg) is called when an asynchronous relay result arrived
 * and the session has new output / can take input again.
 *
 * RCPT-time relaying: with a target that has open/rcpt/data (the smarthost),
 * the transaction's first RCPT opens the upstream session and every RCPT
 * waits for the upstream's verdict (the engine takes no input meanwhile, so
 * pipelined commands keep their order); the signed message then goes to
 * data(). RSET, QUIT, a refused or aborted message, a new STARTTLS or the
 * client leaving cancel() the session: the upstream gets QUIT, never the
 * message. If open() is refused (pool full) the transaction falls back to
 * one start() after the final dot.
 *
 * Message pipeline: each dot-unstuffed line goes to the message file
 * (firmware/spool/msg.h): the spool file and, in the same pass, the DKIM
 * signer, which holds the header block (bounded by
 * CONFIG_DKIM_MAX_HEADER_BYTES) and parses From. At the end of the header
 * block the From policy is decided on the signer's parse, before any key is
 * chosen: exactly one From with one mailbox (no group, list, NUL, unbalanced
 * quote), else 550 5.7.1; a header line that is not a field 550 5.6.0; its
 * domain a configured signing domain (or below one, with `subdomains on`),
 * else 550 5.7.1 naming the allowed domains; envelope sender alignment per
 * domain (warn in the log, or refuse 550 5.7.1).
 */
#ifndef ZEGEL_SMTPD_CONN_H
#define ZEGEL_SMTPD_CONN_H

#include "firmware/spool/handoff.h"
#include "firmware/spool/msg.h"
#include "firmware/smtpd/fair.h"
#include "firmware/smtpd/smtpd.h"
#include "hal/storage.h"
#include "zegel/cfg.h"

#define SMTPD_PREFIX_MAX 6144       /* = QUEUE_PREFIX_MAX */

/* The message's small fields; its large buffers (signature prefix, header
 * block, signer) are at the end of struct smtpd_conn. */
struct smtpd_msg {
	char id[HANDOFF_ID_MAX];
	bool active;                /* spool is open or committed: discard at the end */
	/* first refusal found while reading (code 0: none) */
	int code;
	char esc[12];
	char text[240];
	char from_domain[ZCFG_NAME_MAX];
	const struct zcfg_domain *dom;
	size_t prefix_len;
	uint64_t size;
	struct handoff_msg rm;
	const struct handoff_target_ops *target;
	void *relay_handle;
	bool relay_pending;
	bool seal_pending;          /* the final dot waits for its signatures */
	/* RCPT-time relay session (a target with open/rcpt/data, handoff.h) */
	struct handoff_msg env;       /* what open() got; lives until cancel/data */
	char env_from[SMTPD_ADDR_MAX + 1];
	const struct handoff_target_ops *env_target;
	void *env_handle;
	bool env_open;              /* handle held, message not handed over yet */
	bool env_classic;           /* open() refused: this transaction uses start() */
	bool env_wait;              /* a RCPT verdict comes later (async) */
};

struct smtpd_conn {
	const struct zcfg *cfg;
	struct hal_addr peer;
	char peer_str[HAL_ADDR_STRLEN];
	char listener[32];
	bool want_tls;
	void (*wake)(void *arg);
	void *wake_arg;
	/* an AUTH verdict held back (fair.h: per-address backoff) */
	bool auth_held, auth_ok;
	uint64_t auth_release;      /* monotonic ms */
	/* tests: use this target instead of the picker's (smtpd_set_target_picker) */
	const struct handoff_target_ops *relay_override;
	/* Small fields together, large buffers last: only the small ones are
	 * zeroed per session (smtpd_conn_init), so an idle session touches two
	 * or three pages and a message's buffers cost RSS only when a message
	 * uses them (issue 20: a full pool of idle sessions stays small). */
	struct smtpd_msg msg;
	struct smtpd_session smtp;  /* its own large buffers at its end */
	uint8_t prefix[SMTPD_PREFIX_MAX];   /* the signatures sent before the file */
	struct spool_msg spool;     /* the message file, header block, signer */
};

/* The application tells the server which hand-off target serves a
 * configuration (firmware/app/targets.c); NULL (the default) or a NULL answer:
 * messages get 451 4.3.5. The server never includes firmware/relay. */
typedef const struct handoff_target_ops *(*smtpd_target_picker)(const struct zcfg *cfg);
void smtpd_set_target_picker(smtpd_target_picker pick);

void smtpd_conn_init(struct smtpd_conn *c, const struct zcfg *cfg,
    const struct zcfg_listener *l, const struct hal_addr *peer, bool tls_active);
size_t smtpd_conn_input(struct smtpd_conn *c, const uint8_t *p, size_t n);
void smtpd_conn_tls_started(struct smtpd_conn *c, const char *desc);
void smtpd_conn_free(struct smtpd_conn *c);

/* Fairness (fair.h). The limits of a configuration in milliseconds. */
void smtpd_conn_limits(const struct zcfg *cfg, struct smtpd_fair_limits *l);
/* What the session is doing, for its fairness clock. */
enum smtpd_fair_state smtpd_conn_fair_state(const struct smtpd_conn *c);
/* When smtpd_conn_tick() has something to do (0: nothing): a held AUTH reply. */
uint64_t smtpd_conn_due(const struct smtpd_conn *c);
/* Release what is due at now (monotonic ms); true if output was queued. */
bool smtpd_conn_tick(struct smtpd_conn *c, uint64_t now);
/* A deadline passed: log it, discard a message being received, 421 4.4.2. */
void smtpd_conn_deadline(struct smtpd_conn *c, const char *why, unsigned limit_s);

/* Policy helpers (policy.c), pure functions of the configuration. */
bool smtpd_policy_network(const struct zcfg *cfg, const struct hal_addr *peer, bool *normalise);
bool smtpd_policy_user(const struct zcfg *cfg, const char *user, const char *pass);
bool smtpd_policy_has_users(const struct zcfg *cfg);

#endif
