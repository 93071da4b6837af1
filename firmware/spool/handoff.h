/*
 * firmware/spool/handoff.h — the hand-off contract between the SMTP server
 * (firmware/smtpd, the producer) and the relay targets (firmware/relay: outbox,
 * smarthost, direct; the consumers). Neither side owns it and neither side
 * includes the other: the application (firmware/app) picks the target for
 * the configuration and gives the server a function that returns it.
 *
 * Model. When a client ends DATA, the SMTP session (firmware/smtpd/conn.c)
 * has the message on the spool (firmware/spool/msg.h) and the
 * DKIM-Signature fields in memory. It
 * fills a struct handoff_msg and calls the configured target's start(). The
 * target delivers the message (outbox: one .eml file; smarthost: an SMTP
 * client over STARTTLS) and reports ONE result through done(). The session
 * turns that result into its final reply to DATA, so in sync mode the client
 * hears the upstream's answer (DESIGN.md "smarthost ... sync").
 *
 * Contract (both sides rely on it):
 *  - start(msg, done, arg, &handle) returns 0 if the target took the job;
 *    done(arg, result) is then called exactly once, either before start()
 *    returns (synchronous targets such as the outbox) or later from the
 *    event loop (asynchronous targets: the smarthost). A negative errno
 *    return means the job was not taken and done() will never be called;
 *    the session answers 451 4.3.0.
 *  - msg and everything it points to (rcpt list, prefix, spool file) stay
 *    valid and unchanged until done() runs or cancel(handle) returns. The
 *    target may read the spool file as often as it likes but must not
 *    modify it. It is committed (complete, fsynced), unless the target's
 *    ops say spool_scratch: then it is complete but NOT durable (a reused
 *    scratch file, msg.h), for a target that only reads it before its
 *    done() and makes its own copy durable before it reports 250 (the
 *    outbox): one file created per message instead of two. A target that keeps
 *    the message beyond done() (the direct queue) TAKES the file with
 *    hal_storage_rename_new() before its done() reports 250: then the body
 *    is written once, and the session's removal after done() finds nothing.
 *    Every other target leaves it: the session removes it after done().
 *  - cancel(handle) (may be NULL for synchronous targets) is called when the
 *    client goes away before done(); after it returns done() must not be
 *    called. The session then discards the message.
 *  - The message to deliver is prefix[0..prefix_len) followed by the spool
 *    file's bytes: CRLF line ends, NOT dot-stuffed (an SMTP client must
 *    dot-stuff it, RFC 5321 4.5.2), each line at most 998 octets + CRLF.
 *    The spool file holds exactly the bytes the signer saw
 *    (firmware/spool/msg.h), so the prefix's signatures verify over it.
 *  - result->code is an SMTP reply code for the client (250 delivered;
 *    4xx transient: the client keeps the message; 5xx permanent). esc is the
 *    enhanced status code ("2.0.0"), text a short human reason, both
 *    NUL-terminated. The target should include what the upstream said in
 *    text (e.g. "250 2.0.0 Ok: queued as 4Xyz") so it reaches the client.
 *  - Logging: the target logs one line per recipient in Postfix style:
 *    "<id>: to=<rcpt>, relay=<name>, status=sent|deferred|bounced (<text>)";
 *    the session logs the rest (client=, from=, signed, removed).
 *  - Targets run on the single event-loop thread; they use sockets only
 *    through firmware/core/loop.h streams.
 *
 * RCPT-time verdicts (optional: open, rcpt and data are all set or all
 * NULL; the outbox and the direct target leave them NULL and get start()).
 * The smarthost in sync mode asks its upstream while the LAN client is
 * still giving recipients, so each RCPT gets the upstream's own answer:
 *  - open(env, &handle) at the transaction's first RCPT. env has id,
 *    mail_from, body_8bit, smtputf8, size (the client's declared SIZE, 0 if
 *    none), client, cfg; rcpts/nrcpt/spool/prefix are empty. Returns 0 (the
 *    target starts connecting) or -errno (not taken: the session relays this
 *    transaction with start() instead). Calls nothing back by itself.
 *    env stays valid and unchanged until cancel() or data()'s done().
 *  - rcpt(handle, addr, done, arg): returns 0 and then calls done(arg,
 *    result) exactly once, before rcpt() returns or later from the loop, or
 *    returns -errno without calling it (the session answers 451 4.3.0). One
 *    rcpt at a time (the session waits for done before the next command). result->code 250: the
 *    upstream accepted it; otherwise the reply for this RCPT (5xx with the
 *    upstream's enhanced code; 4xx and any session problem: 451 4.x.x).
 *    addr is only valid during the call.
 *  - data(handle, msg, done, arg) once the client's message is signed and
 *    spooled: msg as for start() with the recipients the upstream accepted;
 *    the same contract as start() from here on (done() exactly once, sync or
 *    later; cancel(handle) if the client leaves before it). Returns 0, or
 *    -errno (done() not called: the session answers 451 4.3.0; the target
 *    has released the handle).
 *  - cancel(handle) at any time before data()'s done() (client RSET, QUIT,
 *    a new transaction, disconnect, refused message): the target closes the
 *    upstream session politely (QUIT) and never sends the message; no
 *    callback follows.
 */
#ifndef ZEGEL_SPOOL_HANDOFF_H
#define ZEGEL_SPOOL_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/net.h"
#include "zegel/cfg.h"

#define HANDOFF_ID_MAX 16

struct handoff_msg {
	char id[HANDOFF_ID_MAX];      /* per-message log id, e.g. "4C2F1A0B3D" */
	const char *mail_from;      /* envelope sender without <>, "" for <> */
	const char *rcpts;          /* nrcpt NUL-terminated addresses back to back */
	unsigned nrcpt;
	const char *spool_path;     /* message body+header as received (see above) */
	const uint8_t *prefix;      /* "DKIM-Signature: ...\r\n" fields, may be empty */
	size_t prefix_len;
	uint64_t size;              /* prefix_len + spool file size, octets */
	bool body_8bit;             /* MAIL ... BODY=8BITMIME */
	bool smtputf8;              /* MAIL ... SMTPUTF8 */
	bool requiretls;            /* MAIL ... REQUIRETLS (RFC 8689): only over authenticated
				       TLS to a next hop that offers REQUIRETLS, else 5.7.30 */
	bool tls_required_no;       /* the header has "TLS-Required: No" (RFC 8689 5); what it
				       means is the relay's choice (set relay tls-required-no) */
	struct hal_addr client;     /* the LAN client, for logs */
	const struct zcfg *cfg;     /* configuration the session started with */
};

struct handoff_result {
	int code;                   /* SMTP reply code for the client */
	char esc[12];               /* "2.0.0" */
	char text[240];             /* reason, one line, no CR/LF */
};

typedef void (*handoff_done_fn)(void *arg, const struct handoff_result *r);

struct handoff_target_ops {
	const char *name;           /* "outbox", "smarthost" — used as relay= */
	int (*start)(const struct handoff_msg *m, handoff_done_fn done, void *arg,
	    void **handle);
	void (*cancel)(void *handle);
	/* optional, see "RCPT-time verdicts" above */
	int (*open)(const struct handoff_msg *env, void **handle);
	int (*rcpt)(void *handle, const char *addr, handoff_done_fn done, void *arg);
	int (*data)(void *handle, const struct handoff_msg *m, handoff_done_fn done, void *arg);
	/* optional: 0 if a message of size octets (0: not declared) can be
	 * taken now, else -ENOSPC; asked at MAIL (452 4.3.1 to the client). */
	int (*admit)(const struct zcfg *cfg, uint64_t size);
	/* true: the spool file need not be durable (see the contract above:
	 * the target never takes it and its own copy is durable before 250) */
	bool spool_scratch;
};

/* Helper for targets: fill a result (text is truncated, CR/LF removed). */
void handoff_result_set(struct handoff_result *r, int code, const char *esc, const char *text);

/* Iterate msg->rcpts: returns the next address after prev (NULL = first), NULL at end. */
const char *handoff_rcpt_next(const struct handoff_msg *m, const char *prev);

#endif
