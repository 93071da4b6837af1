/*
 * One upstream connection: smtpc + tls client + message source (upstream.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/core/loop.h"
#include "firmware/relay/upstream.h"

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void
verdict(struct upstream *u, int code, const char *esc, const char *fmt, ...)
{
	va_list ap;
	char text[sizeof(u->res.text)];

	if (u->finished)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	handoff_result_set(&u->res, code, esc, text);
	u->finished = true;
	if (u->spool_open) {
		hal_storage_close(&u->spool);
		u->spool_open = false;
	}
}

int
upstream_init(struct upstream *u, const struct smtpc_params *params,
    const struct tls_client_conf *tlsconf, const char *tls_host, const char *peer,
    const uint8_t *prefix, size_t prefix_len, const char *spool_path, bool probe)
{
	int rc;

	memset(u, 0, sizeof(*u));
	u->h = -1;
	smtpc_init(&u->smtp, params);
	u->tlsconf = tlsconf;
	snprintf(u->tls_host, sizeof(u->tls_host), "%s", tls_host);
	snprintf(u->peer, sizeof(u->peer), "%s", peer);
	u->prefix = prefix;
	u->prefix_len = prefix_len;
	u->probe = probe;
	if (spool_path != NULL) {
		if ((rc = hal_storage_open_read(&u->spool, spool_path)) < 0)
			return rc;
		u->spool_open = true;
	}
	if (params->implicit_tls) {
		if (tls_client_start(&u->tls, tlsconf, tls_host) < 0) {
			verdict(u, 451, "4.7.5", "TLS with %s failed: %s; not sent", u->peer,
			    tls_client_why(&u->tls));
			u->abort_now = true;
			return 0;
		}
		u->tls_on = true;
	}
	return 0;
}

void
upstream_set_verify(struct upstream *u, tls_client_verify_fn fn, void *arg,
    const struct tls_client_conf *conf)
{
	u->verify_fn = fn;
	u->verify_arg = arg;
	if (conf != NULL && conf != u->tlsconf) {
		u->tlsconf = conf;
		if (u->tls_on && !u->finished) { /* implicit TLS started in init: again */
			tls_client_free(&u->tls);
			if (tls_client_start(&u->tls, conf, u->tls_host) < 0) {
				verdict(u, 451, "4.7.5", "TLS with %s failed: %s; not sent", u->peer,
				    tls_client_why(&u->tls));
				u->abort_now = true;
				return;
			}
		}
	}
	if (u->tls_on && fn != NULL)
		tls_client_set_verify(&u->tls, fn, arg);
}

void
upstream_free(struct upstream *u)
{
	upstream_detach(u);
	if (u->spool_open)
		hal_storage_close(&u->spool);
	tls_client_free(&u->tls);
	smtpc_free(&u->smtp);
	memset(u, 0, sizeof(*u));
	u->h = -1;
}

static void take_smtp_verdict(struct upstream *u);

/* smtpc reached its end (done or failed): take the verdict. */
static void
take_smtp_end(struct upstream *u)
{
	enum smtpc_event ev = smtpc_event(&u->smtp);

	if (ev == SMTPC_EV_DONE || ev == SMTPC_EV_FAILED)
		take_smtp_verdict(u);
}

static void
take_smtp_verdict(struct upstream *u)
{
	const struct smtpc_result *r = smtpc_result(&u->smtp);

	if (smtpc_event(&u->smtp) == SMTPC_EV_DONE && u->probe)
		verdict(u, 250, r->esc, "%s: %s", u->peer, r->text);
	else if (smtpc_event(&u->smtp) == SMTPC_EV_DONE)
		verdict(u, 250, r->esc, "relayed via %s: %s", u->peer, r->text);
	else
		verdict(u, r->code, r->esc, "%s: %s", u->peer, r->text);
	if (smtpc_in_body(&u->smtp))
		u->abort_now = true; /* no final dot: the upstream discards it */
}

/* Feed the message into the engine while it has room. */
static void
feed_body(struct upstream *u)
{
	while (smtpc_event(&u->smtp) == SMTPC_EV_NEED_BODY) {
		size_t k;

		if (u->prefix_off < u->prefix_len) {
			k = smtpc_body(&u->smtp, u->prefix + u->prefix_off,
			    u->prefix_len - u->prefix_off);
			u->prefix_off += k;
		} else if (u->boff < u->blen) {
			k = smtpc_body(&u->smtp, u->bbuf + u->boff, u->blen - u->boff);
			u->boff += k;
		} else if (u->spool_open && !u->spool_eof) {
			ssize_t n = hal_storage_read(&u->spool, u->bbuf, sizeof(u->bbuf));
			if (n < 0) {
				verdict(u, 451, "4.3.0",
				    "local error reading the spooled message; not sent");
				u->abort_now = true;
				return;
			}
			u->boff = 0;
			u->blen = (size_t)n;
			if (n == 0)
				u->spool_eof = true;
			k = 1;
		} else {
			if (smtpc_body_end(&u->smtp) != 0 &&
			    smtpc_event(&u->smtp) == SMTPC_EV_NEED_BODY)
				return; /* output full: drain first */
			k = 1;
		}
		if (k == 0)
			return; /* output full */
	}
}

/* Move engine output into TLS. Returns true if something moved. */
static bool
flush_to_tls(struct upstream *u)
{
	const uint8_t *p;
	size_t n = smtpc_out(&u->smtp, &p);
	ssize_t w;

	if (n == 0 || !u->tls.handshaken)
		return false;
	w = tls_client_write(&u->tls, p, n);
	if (w == TLS_CLIENT_AGAIN)
		return false;
	if (w < 0) {
		smtpc_closed(&u->smtp);
		verdict(u, 451, tls_client_fail_esc(tls_client_fail_kind(&u->tls)),
		    "TLS with %s failed: %s", u->peer, tls_client_why(&u->tls));
		return false;
	}
	smtpc_out_ack(&u->smtp, (size_t)w);
	return true;
}

static size_t
out_pending(const struct upstream *u)
{
	const uint8_t *p;

	return smtpc_out(&u->smtp, &p);
}

static void
pump(struct upstream *u)
{
	uint8_t buf[1024];
	bool progress = true;
	int guard = 0;

	while (progress && !u->abort_now && guard++ < 10000) {
		progress = false;
		if (u->tls_on && !u->tls.handshaken) {
			int r;
			if (u->tls.failed)
				return;
			r = tls_client_handshake(&u->tls);
			if (r == TLS_CLIENT_AGAIN)
				return;
			if (r != 0) {
				verdict(u, 451, tls_client_fail_esc(tls_client_fail_kind(&u->tls)),
				    "TLS with %s failed: %s; not sent", u->peer,
				    tls_client_why(&u->tls));
				smtpc_closed(&u->smtp);
				return;
			}
			if (u->probe && u->tls.vflags != 0) {
				/* the probe completed the handshake to show the
				 * certificate; it says what is wrong and stops */
				tls_client_explain(&u->tls);
				verdict(u, 451, tls_client_fail_esc(tls_client_fail_kind(&u->tls)),
				    "TLS with %s: %s", u->peer, tls_client_why(&u->tls));
				u->abort_now = true;
				return;
			}
			if (!u->smtp.p->implicit_tls)
				smtpc_tls_up(&u->smtp);
			progress = true;
		}
		if (u->tls_on && u->tls.handshaken && !u->finished) {
			ssize_t n = tls_client_read(&u->tls, buf, sizeof(buf));
			if (n > 0) {
				size_t off = 0;
				while (off < (size_t)n) {
					size_t k = smtpc_push(&u->smtp, buf + off, (size_t)n - off);
					if (k == 0)
						break;
					off += k;
				}
				progress = true;
			} else if (n == TLS_CLIENT_EOF) {
				smtpc_closed(&u->smtp);
			} else if (n == TLS_CLIENT_FAIL) {
				smtpc_closed(&u->smtp);
				if (smtpc_result(&u->smtp)->err == SMTPC_E_CLOSED) {
					const struct smtpc_result *r = smtpc_result(&u->smtp);
					verdict(u, r->code, r->esc, "%s: %s (%s)", u->peer, r->text,
					    tls_client_why(&u->tls));
				}
			}
		}
		switch (smtpc_event(&u->smtp)) {
		case SMTPC_EV_NEED_BODY:
			feed_body(u);
			break;
		case SMTPC_EV_DONE:
		case SMTPC_EV_FAILED:
			take_smtp_verdict(u);
			break;
		default:
			break;
		}
		if (u->abort_now)
			return;
		if (u->tls_on && flush_to_tls(u))
			progress = true;
		if (u->finished && u->tls_on && u->tls.handshaken && !u->tls.failed &&
		    out_pending(u) == 0 && !u->notify_sent && !smtpc_idle(&u->smtp)) {
			tls_client_close_notify(&u->tls);
			u->notify_sent = true;
		}
	}
}

int
upstream_set_message(struct upstream *u, const uint8_t *prefix, size_t prefix_len,
    const char *spool_path)
{
	int rc;

	if (u->spool_open)
		return -EBUSY;
	u->prefix = prefix;
	u->prefix_len = prefix_len;
	u->prefix_off = 0;
	u->boff = u->blen = 0;
	u->spool_eof = false;
	if ((rc = hal_storage_open_read(&u->spool, spool_path)) < 0)
		return rc;
	u->spool_open = true;
	return 0;
}

int
upstream_next_message(struct upstream *u, const struct smtpc_params *params,
    const uint8_t *prefix, size_t prefix_len, const char *spool_path)
{
	int rc;

	if (!smtpc_idle(&u->smtp) || u->abort_now || u->spool_open)
		return -EBUSY;
	if ((rc = upstream_set_message(u, prefix, prefix_len, spool_path)) < 0)
		return rc;
	memset(&u->res, 0, sizeof(u->res));
	u->finished = false;
	if (smtpc_next(&u->smtp, params) != 0) {
		verdict(u, 451, "4.3.0", "internal: session not reusable");
		return -EINVAL;
	}
	upstream_poke(u);
	return 0;
}

void
upstream_quit(struct upstream *u)
{
	smtpc_quit(&u->smtp);
	upstream_poke(u);
}

void
upstream_poke(struct upstream *u)
{
	if (u->tls_on) {
		pump(u);
		return;
	}
	if (smtpc_event(&u->smtp) == SMTPC_EV_NEED_BODY)
		feed_body(u);
	take_smtp_end(u);
}

void
upstream_connected(struct upstream *u)
{
	u->connected = true;
	pump(u); /* implicit TLS: ClientHello */
}

size_t
upstream_rx_space(struct upstream *u, uint8_t **p)
{
	if (u->finished && (u->abort_now || u->notify_sent))
		return 0;
	if (u->tls_on)
		return tls_client_rx_space(&u->tls, p);
	*p = u->prx;
	return sizeof(u->prx);
}

void
upstream_rx_done(struct upstream *u, size_t n)
{
	if (n == 0) {
		if (u->tls_on && !u->tls.handshaken && !u->finished) {
			verdict(u, 451, "4.7.5",
			    "TLS with %s failed: connection closed in the handshake; not sent",
			    u->peer);
			return;
		}
		smtpc_closed(&u->smtp);
		take_smtp_verdict(u);
		u->abort_now = true;
		return;
	}
	if (u->tls_on) {
		tls_client_rx_done(&u->tls, n);
		pump(u);
		return;
	}
	(void)smtpc_push(&u->smtp, u->prx, n);
	if (smtpc_event(&u->smtp) == SMTPC_EV_NEED_BODY)
		feed_body(u); /* SMTPC_TLS_OPPORTUNISTIC went on without TLS */
	if (smtpc_event(&u->smtp) != SMTPC_EV_NEED_TLS) {
		take_smtp_end(u);
		return;
	}
	/* smtpc discarded whatever followed the 220 in plaintext */
	if (tls_client_start(&u->tls, u->tlsconf, u->tls_host) < 0) {
		verdict(u, 451, "4.7.5", "TLS with %s failed: %s; not sent", u->peer,
		    tls_client_why(&u->tls));
		u->abort_now = true;
		return;
	}
	if (u->verify_fn != NULL)
		tls_client_set_verify(&u->tls, u->verify_fn, u->verify_arg);
	u->tls_on = true;
	pump(u);
}

size_t
upstream_tx_data(struct upstream *u, const uint8_t **p)
{
	if (u->abort_now)
		return 0;
	if (u->tls_on)
		return tls_client_tx_data(&u->tls, p);
	/* plaintext: only what smtpc allows before TLS (EHLO, STARTTLS, QUIT;
	 * everything only if SMTPC_TLS_OPPORTUNISTIC went on without TLS) */
	return smtpc_out(&u->smtp, p);
}

void
upstream_tx_done(struct upstream *u, size_t n)
{
	if (u->tls_on) {
		tls_client_tx_done(&u->tls, n);
		pump(u);
	} else {
		smtpc_out_ack(&u->smtp, n);
		if (smtpc_event(&u->smtp) == SMTPC_EV_NEED_BODY) {
			feed_body(u);
			if (smtpc_event(&u->smtp) == SMTPC_EV_FAILED)
				take_smtp_verdict(u);
		}
	}
}

void
upstream_fail_io(struct upstream *u, int err)
{
	const char *what = strerror(err < 0 ? -err : err);

	if (u->finished)
		return;
	if (!u->connected) {
		verdict(u, 451, "4.4.1", "upstream %s unreachable: %s; not sent", u->peer, what);
		return;
	}
	if (u->tls_on && !u->tls.handshaken) {
		verdict(u, 451, "4.7.5", "TLS with %s failed: %s in the handshake; not sent", u->peer,
		    err == -ETIMEDOUT ? "timeout" : what);
		return;
	}
	if (err == -ETIMEDOUT) {
		enum smtpc_state st = u->smtp.state;
		if (st == SMTPC_S_GREETING)
			verdict(u, 451, "4.4.1", "%s: no greeting from the upstream in time; not sent",
			    u->peer);
		else if (st == SMTPC_S_DOT)
			verdict(u, 451, "4.4.2", "%s: upstream did not answer the final dot in time: "
			    "delivery not confirmed", u->peer);
		else
			verdict(u, 451, "4.4.2", "%s: upstream stopped answering (in %s); not sent",
			    u->peer, smtpc_state_name(st));
		smtpc_closed(&u->smtp);
	} else {
		smtpc_closed(&u->smtp);
		take_smtp_verdict(u);
	}
	u->abort_now = true;
}

bool
upstream_finished(const struct upstream *u)
{
	return u->finished;
}

bool
upstream_can_close(const struct upstream *u)
{
	if (!u->finished)
		return false;
	if (u->abort_now)
		return true;
	if (u->tls_on)
		return u->tls.tx_len == 0 && (u->tls.failed || !u->tls.handshaken ||
		    out_pending(u) == 0);
	return out_pending(u) == 0;
}

const char *
upstream_tls_words(const struct upstream *u, char *buf, size_t cap)
{
	if (u->tls.handshaken)
		snprintf(buf, cap, "%s verified=%s", tls_client_version(&u->tls),
		    u->tls.verified_by ? u->tls.verified_by : "none");
	else
		snprintf(buf, cap, "none");
	return buf;
}

const struct handoff_result *
upstream_result(const struct upstream *u)
{
	return &u->res;
}

/* ------------------------------------------------------------ on the event loop
 *
 * The one set of loop stream callbacks for every owner of a struct upstream
 * (the smarthost jobs, the direct workers, the `test relay` probe,
 * dane-check): upstream_attach() connects and drives it.
 */

static void
drop(struct upstream *u)
{
	if (u->attached)
		loop_close(u->h);
	u->attached = false;
	u->h = -1;
}

static void
settle(struct upstream *u)
{
	u->owner->settle(u->owner_arg);
}

static size_t
s_rx_space(void *arg, uint8_t **p)
{
	return upstream_rx_space(arg, p);
}

/* End of stream: the peer closed. A session without a verdict by then was
 * lost (4.4.2 / 4.4.1 by upstream_fail_io); nothing more can be read, so
 * the stream is closed at once and the owner sees u->h < 0. */
static void
s_rx_done(void *arg, size_t n)
{
	struct upstream *u = arg;

	upstream_rx_done(u, n);
	if (n == 0) {
		if (!upstream_finished(u))
			upstream_fail_io(u, -ECONNRESET);
		drop(u);
	}
	settle(u);
}

static size_t
s_tx_data(void *arg, const uint8_t **p)
{
	return upstream_tx_data(arg, p);
}

static void
s_tx_done(void *arg, size_t n)
{
	struct upstream *u = arg;

	upstream_tx_done(u, n);
	settle(u);
}

static void
s_event(void *arg, enum loop_event ev, int err)
{
	struct upstream *u = arg;

	if (ev == LOOP_EV_CONNECTED) {
		loop_set_idle_timeout(u->h, u->idle_ms);
		upstream_connected(u);
		settle(u);
		return;
	}
	if (ev == LOOP_EV_TIMEOUT && u->connected && u->owner->idle != NULL &&
	    u->owner->idle(u->owner_arg)) {
		upstream_poke(u);
		settle(u);
		return;
	}
	drop(u);
	err = ev == LOOP_EV_TIMEOUT ? -ETIMEDOUT : err ? err : -EIO;
	if (!u->connected && u->owner->unreachable != NULL &&
	    u->owner->unreachable(u->owner_arg, err))
		return; /* the owner attached to another address */
	upstream_fail_io(u, err);
	settle(u);
}

static const struct loop_stream_ops upstream_stream_ops = {
	.rx_space = s_rx_space,
	.rx_done = s_rx_done,
	.tx_data = s_tx_data,
	.tx_done = s_tx_done,
	.event = s_event,
};

int
upstream_attach(struct upstream *u, const struct hal_addr *a, uint32_t connect_ms,
    uint32_t idle_ms, const struct upstream_owner *o, void *arg)
{
	int h;

	drop(u);
	u->owner = o;
	u->owner_arg = arg;
	u->idle_ms = idle_ms;
	if ((h = loop_connect(a, &upstream_stream_ops, u)) < 0)
		return h;
	u->h = h;
	u->attached = true;
	loop_set_idle_timeout(h, connect_ms);
	return 0;
}

void
upstream_detach(struct upstream *u)
{
	drop(u);
}
