/*
 * firmware/relay/upstream.h — one connection to an upstream: SMTP client
 * engine + TLS client + the message source, driven by byte callbacks.
 *
 * Model. Glue without I/O of its own: upstream_attach() (below) connects
 * it to a stream of the event loop; the unit tests drive it by hand. The
 * driver calls
 *
 *   upstream_rx_space/rx_done   received bytes (rx_done(0): peer closed)
 *   upstream_tx_data/tx_done    bytes to send
 *   upstream_fail_io()          connect failed / timed out / socket error
 *
 * and checks upstream_finished() (the verdict is in upstream_result()) and
 * upstream_can_close() (verdict taken and nothing left worth sending).
 * Before TLS the wire carries the engine's plaintext commands (only EHLO and
 * STARTTLS: smtpc enforces it); after the 220 to STARTTLS the TLS client owns
 * the wire and the engine talks through it. The message is read from
 * prefix + spool file only after the upstream said 354, over TLS (or in
 * plaintext when params->tls_mode is SMTPC_TLS_OPPORTUNISTIC and the
 * upstream offered no STARTTLS: smtpc_tls_used() tells afterwards).
 *
 * Probe mode (`test relay`): stops after a verified handshake and the EHLO
 * that follows; the result then describes the TLS session and no MAIL is
 * ever sent.
 */
#ifndef ZEGEL_RELAY_UPSTREAM_H
#define ZEGEL_RELAY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/spool/handoff.h"
#include "firmware/relay/smtpc.h"
#include "firmware/tls/client.h"
#include "hal/storage.h"

struct upstream_owner;

struct upstream {
	struct smtpc smtp;
	struct tls_client tls;
	const struct tls_client_conf *tlsconf;
	char peer[HAL_ADDR_STRLEN + ZCFG_NAME_MAX + 4]; /* "HOST[IP]:PORT" for texts */
	char tls_host[ZCFG_NAME_MAX];
	bool tls_on;            /* the TLS client owns the wire */
	bool probe;
	bool finished;
	bool connected;
	bool abort_now;         /* failed inside the body: send nothing more */
	bool notify_sent;       /* close_notify queued */
	/* message source */
	const uint8_t *prefix;
	size_t prefix_len, prefix_off;
	struct hal_file spool;
	bool spool_open, spool_eof;
	uint8_t bbuf[2048];
	size_t boff, blen;
	/* plaintext received before TLS */
	uint8_t prx[1024];
	struct handoff_result res;
	/* certificate check other than the config's (DANE): upstream_set_verify */
	tls_client_verify_fn verify_fn;
	void *verify_arg;
	/* on the event loop: upstream_attach */
	bool attached;
	int h;                  /* loop handle while attached, else -1 */
	uint32_t idle_ms;
	const struct upstream_owner *owner;
	void *owner_arg;
};

/* params must outlive u. spool_path NULL in probe mode. Returns 0 or -errno
 * (spool unreadable). */
int upstream_init(struct upstream *u, const struct smtpc_params *params,
    const struct tls_client_conf *tlsconf, const char *tls_host, const char *peer,
    const uint8_t *prefix, size_t prefix_len, const char *spool_path, bool probe);
void upstream_free(struct upstream *u);
/* Check the certificate with fn (tls_client_set_verify: dane_verify_hook or
 * dane_encrypt_only_hook, firmware/tls/dane.h) and conf (dane_tls_conf())
 * instead of the config given to upstream_init. Call right after
 * upstream_init, before any byte moves; arg must outlive u. */
void upstream_set_verify(struct upstream *u, tls_client_verify_fn fn, void *arg,
    const struct tls_client_conf *conf);

/* Stepwise sessions (params->stepwise): the message becomes known only
 * after the envelope. Returns 0 or -errno (spool unreadable). */
int upstream_set_message(struct upstream *u, const uint8_t *prefix, size_t prefix_len,
    const char *spool_path);
/* After the caller drove the engine directly (smtpc_rcpt, smtpc_data,
 * smtpc_noop, smtpc_cancel): move its output towards the wire and take a
 * verdict it may have reached. */
void upstream_poke(struct upstream *u);
/* Connection reuse (params->keep_open): after a delivered message the
 * session is idle (smtpc_idle); upstream_next_message() sends the next one
 * (prefix, then spool_path: the message file) on the same connection,
 * upstream_quit() ends it (QUIT, close_notify). -EBUSY if not idle. */
int upstream_next_message(struct upstream *u, const struct smtpc_params *params,
    const uint8_t *prefix, size_t prefix_len, const char *spool_path);
void upstream_quit(struct upstream *u);

void upstream_connected(struct upstream *u);
size_t upstream_rx_space(struct upstream *u, uint8_t **p);
void upstream_rx_done(struct upstream *u, size_t n);
size_t upstream_tx_data(struct upstream *u, const uint8_t **p);
void upstream_tx_done(struct upstream *u, size_t n);
/* err: -errno from connect/recv/send, or -ETIMEDOUT for an idle timeout. */
void upstream_fail_io(struct upstream *u, int err);

/*
 * On the event loop (the end of upstream.c): connect to a and
 * drive u from the loop's stream callbacks, one behaviour for every owner:
 *   - after each callback owner->settle(arg) runs: it looks at
 *     upstream_finished() / upstream_can_close() and may free u;
 *   - connect_ms bounds the connect, idle_ms every silence afterwards;
 *   - end of stream (the peer closed): a session without a verdict is lost
 *     (upstream_fail_io(-ECONNRESET)), the stream is closed at once: u->h < 0;
 *   - an idle timeout while connected: owner->idle(arg) may keep a waiting
 *     session alive (queue a NOOP and return true); else, and on an error,
 *     the stream is closed, and before the connection stood
 *     owner->unreachable(arg, err) may attach u to another address (return
 *     true); otherwise upstream_fail_io(err) (-ETIMEDOUT for a timeout).
 * Returns 0, or -errno when the connect could not even start (u unchanged
 * but detached). upstream_detach() and upstream_free() close the stream.
 */
struct upstream_owner {
	void (*settle)(void *arg);
	bool (*idle)(void *arg);              /* NULL: an idle timeout fails the session */
	bool (*unreachable)(void *arg, int err); /* NULL: a failed connect fails it */
};
int upstream_attach(struct upstream *u, const struct hal_addr *a, uint32_t connect_ms,
    uint32_t idle_ms, const struct upstream_owner *owner, void *arg);
void upstream_detach(struct upstream *u);

bool upstream_finished(const struct upstream *u);
bool upstream_can_close(const struct upstream *u);
const struct handoff_result *upstream_result(const struct upstream *u);
/* For log lines: "TLSv1.2 verified=dane|pkix|none", or "none" without a
 * TLS session (also for a zeroed or freed u). */
const char *upstream_tls_words(const struct upstream *u, char *buf, size_t cap);

#endif
