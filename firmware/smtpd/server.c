/*
 * Listeners and sessions on the event loop (see server.h). Per session:
 *
 *   socket -> rin (ciphertext if TLS) -> [TLS] -> pin -> conn (engine)
 *   conn replies -> [TLS] -> rout -> socket          (plaintext: no rout)
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "firmware/config/config.h"
#include "firmware/core/loop.h"
#include "firmware/smtpd/conn.h"
#include "firmware/smtpd/listeners.h"
#include "firmware/smtpd/server.h"
#include "firmware/tls/tls.h"
#include "hal/crypto.h"
#include "hal/storage.h"
#include "hal/log.h"

#define LOGM "smtpd"
#define SESS_IN 4096
#define SESS_TLS_OUT 8192

struct sess {
	bool used;
	int h;
	struct zcfg_listener lst;   /* a copy: the listener may go while the session lives */
	bool conn_ready;            /* conn initialised (implicit TLS: after handshake) */
	bool tls_on, handshaking, implicit, timed_out;
	size_t rinlen, pinlen, routlen;
	struct hal_addr peer;
	struct smtpd_fair_clock fk; /* deadlines and progress (fair.h) */
	struct tls_server_conn tls;
	/* not zeroed at accept (RSS: only touched pages count) */
	uint8_t rin[SESS_IN];
	uint8_t pin[SESS_IN];
	uint8_t rout[SESS_TLS_OUT];
	struct smtpd_conn conn;
};


static struct sess pool[CONFIG_MAX_SESSIONS];
static const struct zcfg *scfg;
static unsigned nopen, npeak;
static struct smtpd_fair_limits lim;
static int tick_id = -1;
static uint64_t tick_due;

static void process(struct sess *s);
static void tick_arm(uint64_t due);

static void
sess_close(struct sess *s)
{
	if (!s->used)
		return;
	if (s->conn_ready)
		smtpd_conn_free(&s->conn);
	tls_server_conn_free(&s->tls);
	loop_close(s->h);
	s->used = false;
	nopen--;
}

static size_t
rx_space(void *arg, uint8_t **p)
{
	struct sess *s = arg;

	*p = s->rin + s->rinlen;
	return sizeof(s->rin) - s->rinlen;
}

static void
rx_done(void *arg, size_t n)
{
	struct sess *s = arg;

	if (n == 0) {
		sess_close(s);
		return;
	}
	if (s->conn_ready && s->conn.want_tls && !s->tls_on)
		return;                     /* plaintext after STARTTLS: dropped */
	s->rinlen += n;
	process(s);
}

static size_t
tx_data(void *arg, const uint8_t **p)
{
	struct sess *s = arg;
	size_t n = 0;

	if (s->tls_on) {
		*p = s->rout;
		return s->routlen;
	}
	if (!s->conn_ready)
		return 0;
	*p = smtpd_out(&s->conn.smtp, &n);
	return n;
}

static void
tx_done(void *arg, size_t n)
{
	struct sess *s = arg;

	if (s->tls_on) {
		memmove(s->rout, s->rout + n, s->routlen - n);
		s->routlen -= n;
	} else
		smtpd_out_ack(&s->conn.smtp, n);
	process(s);
}

static void
on_event(void *arg, enum loop_event ev, int err)
{
	struct sess *s = arg;

	if (ev == LOOP_EV_TIMEOUT) {
		if (s->timed_out || !s->conn_ready) {
			sess_close(s);
			return;
		}
		s->timed_out = true;
		hal_log(HAL_LOG_INFO, LOGM, "timeout after %s from [%s]",
		    s->conn.smtp.phase == SMTPD_PH_DATA ? "DATA" : "command", s->conn.peer_str);
		smtpd_timeout(&s->conn.smtp);
		loop_set_idle_timeout(s->h, 10000);  /* 10 s to take the 421 */
		process(s);
		return;
	}
	if (ev == LOOP_EV_ERROR)
		hal_log(HAL_LOG_DEBUG, LOGM, "connection error: %s", strerror(-err));
	sess_close(s);
}

static const struct loop_stream_ops sess_ops = {
	.rx_space = rx_space,
	.rx_done = rx_done,
	.tx_data = tx_data,
	.tx_done = tx_done,
	.event = on_event,
};

static void
wake(void *arg)
{
	process(arg);
}

static void
conn_start(struct sess *s, const struct hal_addr *peer, bool tls)
{
	smtpd_conn_init(&s->conn, scfg, &s->lst, peer, tls);
	s->conn.wake = wake;
	s->conn.wake_arg = s;
	s->conn_ready = true;
}

/* After input: the session's fairness clock, and the tick for its next due. */
static void
fair_note(struct sess *s, size_t fed)
{
	uint64_t now = loop_now_ms(), due, d2;
	bool partial;
	enum smtpd_fair_state st;

	if (!s->used)
		return;
	if ((s->tls_on && s->handshaking) || !s->conn_ready) {
		partial = true;             /* a TLS handshake is timed like a command */
		st = SMTPD_FAIR_COMMANDS;
	} else {
		partial = smtpd_partial_line(&s->conn.smtp);
		st = smtpd_conn_fair_state(&s->conn);
	}
	smtpd_fair_note(&s->fk, now, fed, partial, st);
	if (smtpd_fair_check(&s->fk, &lim, now, &due) != SMTPD_FAIR_OK)
		due = now;                  /* late already: the tick acts at once */
	if (s->conn_ready && (d2 = smtpd_conn_due(&s->conn)) != 0 && (due == 0 || d2 < due))
		due = d2;
	tick_arm(due);
}

static void
process_loop(struct sess *s, size_t *fed);

/* Run the TLS layer and the session until nothing moves. */
static void
process(struct sess *s)
{
	size_t fed = 0;

	process_loop(s, &fed);
	fair_note(s, fed);
}

static void
process_loop(struct sess *s, size_t *fed)
{
	for (int guard = 0; guard < 64 && s->used; guard++) {
		bool moved = false;
		size_t n, k;
		const uint8_t *o;

		if (s->tls_on && s->handshaking) {
			int rc = tls_server_conn_handshake(&s->tls);

			if (rc < 0) {
				char e[96], a[HAL_ADDR_STRLEN];

				hal_addr_format(&s->peer, false, a, sizeof(a));
				hal_log(HAL_LOG_INFO, LOGM, "TLS handshake failed with [%s]: %s", a,
				    tls_strerror(rc, e, sizeof(e)));
				sess_close(s);
				return;
			}
			if (rc == TLS_WANT)
				break;
			s->handshaking = false;
			moved = true;
			{
				char d[96];

				tls_server_conn_describe(&s->tls, d, sizeof(d));
				if (s->implicit) {
					conn_start(s, &s->peer, true);
					hal_log(HAL_LOG_INFO, LOGM, "[%s]: TLS established: %s",
					    s->conn.peer_str, d);
				} else
					smtpd_conn_tls_started(&s->conn, d);
			}
		}
		if (!s->conn_ready)
			break;
		/* input */
		if (s->tls_on) {
			while (s->pinlen < sizeof(s->pin)) {
				ssize_t r = tls_server_conn_read(&s->tls, s->pin + s->pinlen,
				    sizeof(s->pin) - s->pinlen);

				if (r == TLS_WANT)
					break;
				if (r < 0) {
					sess_close(s);
					return;
				}
				s->pinlen += (size_t)r;
				moved = true;
			}
			if (s->pinlen) {
				k = smtpd_conn_input(&s->conn, s->pin, s->pinlen);
				*fed += k;
				memmove(s->pin, s->pin + k, s->pinlen - k);
				s->pinlen -= k;
				moved |= k > 0;
			}
			/* output through TLS */
			o = smtpd_out(&s->conn.smtp, &n);
			if (n && s->routlen + n + 256 <= sizeof(s->rout)) {
				ssize_t w = tls_server_conn_write(&s->tls, o, n);

				if (w < 0) {
					sess_close(s);
					return;
				}
				if (w > 0) {
					smtpd_out_ack(&s->conn.smtp, (size_t)w);
					moved = true;
				}
			}
		} else if (s->rinlen && !s->conn.want_tls) {
			k = smtpd_conn_input(&s->conn, s->rin, s->rinlen);
			*fed += k;
			if (s->conn.want_tls)
				k = s->rinlen;      /* CVE-2011-0411: drop the rest */
			memmove(s->rin, s->rin + k, s->rinlen - k);
			s->rinlen -= k;
			moved |= k > 0;
		}
		/* STARTTLS: once the 220 is out, switch to TLS */
		if (!s->tls_on && s->conn.want_tls && s->conn.smtp.outlen == 0) {
			s->rinlen = 0;
			if (tls_server_conn_init(&s->tls, s->lst.tls_min, s->rin, &s->rinlen,
				s->rout, &s->routlen, sizeof(s->rout)) < 0) {
				hal_log(HAL_LOG_ERR, LOGM, "[%s]: cannot start TLS (out of memory?)",
				    s->conn.peer_str);
				sess_close(s);
				return;
			}
			s->tls_on = s->handshaking = true;
			moved = true;
		}
		if (smtpd_closing(&s->conn.smtp) && s->conn.smtp.outlen == 0 && s->routlen == 0) {
			sess_close(s);
			return;
		}
		if (!moved)
			break;
	}
}

static bool
same_host(const struct hal_addr *a, const struct hal_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

static unsigned
sessions_from(const struct hal_addr *peer)
{
	unsigned n = 0;

	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++)
		if (pool[i].used && same_host(&pool[i].peer, peer))
			n++;
	return n;
}

/* Every slot is taken: the unauthenticated session longest without
 * progress, not in DATA and not waiting for the relay (fair.h), or NULL. */
static struct sess *
shed_victim(uint64_t now, uint64_t *idle)
{
	struct sess *v = NULL;

	*idle = 0;
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		struct sess *s = &pool[i];
		uint64_t t;

		if (!s->used || s->timed_out || (s->conn_ready && s->conn.smtp.authed))
			continue;
		if (s->conn_ready && (smtpd_closing(&s->conn.smtp) || s->conn.msg.active))
			continue;
		if (smtpd_fair_sheddable(&s->fk, &lim, now, &t) && (v == NULL || t > *idle)) {
			v = s;
			*idle = t;
		}
	}
	return v;
}

static void
shed(struct sess *v, uint64_t idle, const struct hal_addr *newcomer)
{
	char a[HAL_ADDR_STRLEN], b[HAL_ADDR_STRLEN];
	static char line[SMTPD_HOST_MAX + 96];

	hal_addr_format(&v->peer, false, a, sizeof(a));
	hal_addr_format(newcomer, false, b, sizeof(b));
	hal_log(HAL_LOG_INFO, LOGM, "session pool full (%d): closed idle session of [%s] "
	    "(%llu s without a command) to admit [%s]", CONFIG_MAX_SESSIONS, a,
	    (unsigned long long)(idle / 1000), b);
	snprintf(line, sizeof(line), "421 4.4.2 %s Idle session closed to admit another client\r\n",
	    scfg->hostname[0] ? scfg->hostname : "zegel.localdomain");
	if (v->conn_ready)
		smtpd_conn_free(&v->conn);
	tls_server_conn_free(&v->tls);
	/* one direct send (loop_reject): the slot must be free now; not in TLS */
	loop_reject(v->h, v->tls_on ? NULL : line);
	v->used = false;
	nopen--;
}

static bool
admit(int h, const struct hal_addr *peer, struct sess **out)
{
	char a[HAL_ADDR_STRLEN];
	unsigned n = sessions_from(peer);
	uint64_t idle;
	struct sess *v;

	*out = NULL;
	hal_addr_format(peer, false, a, sizeof(a));
	/* the cap first: a host's own extra connections are refused, nobody is shed for them */
	if (n >= scfg->smtpd.per_address) {
		hal_log(HAL_LOG_WARN, LOGM, "too many sessions from [%s] (%u, limit %u): refused", a, n,
		    (unsigned)scfg->smtpd.per_address);
		loop_reject(h, "421 4.7.0 Too many connections from your address, try again later\r\n");
		return false;
	}
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++)
		if (!pool[i].used) {
			*out = &pool[i];
			return true;
		}
	if ((v = shed_victim(loop_now_ms(), &idle)) != NULL) {
		shed(v, idle, peer);
		*out = v;
		return true;
	}
	hal_log(HAL_LOG_WARN, LOGM, "session pool full (%d): refused [%s]", CONFIG_MAX_SESSIONS, a);
	loop_reject(h, "421 4.3.2 Too many connections, try again later\r\n");
	return false;
}

static void
on_accept(void *arg, int h, const struct hal_addr *peer)
{
	struct smtpd_lsn *l = arg;
	struct sess *s = NULL;

	if (!admit(h, peer, &s))
		return;
	memset(s, 0, offsetof(struct sess, tls));
	s->used = true;
	s->h = h;
	s->lst = l->l;
	s->peer = *peer;
	smtpd_fair_clock_init(&s->fk, loop_now_ms());
	nopen++;
	if (nopen > npeak)
		npeak = nopen;
	loop_bind(h, &sess_ops, s);
	loop_set_idle_timeout(h, scfg->smtpd.idle_timeout * 1000u);
	if (l->l.mode == ZCFG_LISTEN_TLS) {
		s->implicit = true;
		if (tls_server_conn_init(&s->tls, l->l.tls_min, s->rin, &s->rinlen, s->rout,
			&s->routlen, sizeof(s->rout)) < 0) {
			loop_reject(h, NULL);
			s->used = false;
			nopen--;
			return;
		}
		s->tls_on = s->handshaking = true;
		fair_note(s, 0);
		return;
	}
	conn_start(s, peer, false);
	/* without TLS material (a start with a lost certificate): no STARTTLS
	 * that could only end in a closed connection */
	if (!tls_server_ready())
		s->conn.smtp.prm.starttls_offered = false;
	process(s);
}

/* ------------------------------------------------------------ deadlines */

static void
expire(struct sess *s, enum smtpd_fair_verdict v)
{
	unsigned limit = v == SMTPD_FAIR_COMMAND_LATE ? lim.command_ms / 1000
	    : v == SMTPD_FAIR_TRANSACTION_LATE     ? lim.transaction_ms / 1000
						   : lim.window_ms / 1000;

	if (!s->conn_ready || (s->tls_on && s->handshaking)) {
		char a[HAL_ADDR_STRLEN];     /* no channel for a 421 yet */

		hal_addr_format(&s->peer, false, a, sizeof(a));
		hal_log(HAL_LOG_INFO, LOGM, "deadline from [%s]: TLS handshake not completed in "
		    "time (limit %u s), closing", a, limit);
		sess_close(s);
		return;
	}
	smtpd_conn_deadline(&s->conn, smtpd_fair_reason(v), limit);
	s->timed_out = true;
	loop_set_idle_timeout(s->h, 10000);     /* 10 s to take the 421 */
	process(s);
}

/* One timer for every session: released AUTH replies, passed deadlines. */
static void
on_tick(void *arg)
{
	uint64_t now = loop_now_ms(), next = 0, due;

	(void)arg;
	tick_id = -1;
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++) {
		struct sess *s = &pool[i];
		enum smtpd_fair_verdict v;

		if (!s->used)
			continue;
		if (s->conn_ready && smtpd_conn_tick(&s->conn, now))
			process(s);
		if (!s->used || s->timed_out)
			continue;
		if ((v = smtpd_fair_check(&s->fk, &lim, now, &due)) != SMTPD_FAIR_OK) {
			expire(s, v);
			continue;
		}
		if (due != 0 && (next == 0 || due < next))
			next = due;
		if (s->conn_ready && (due = smtpd_conn_due(&s->conn)) != 0 && (next == 0 || due < next))
			next = due;
	}
	tick_arm(next);
}

static void
tick_arm(uint64_t due)
{
	uint64_t now = loop_now_ms();

	if (due == 0 || (tick_id >= 0 && tick_due <= due))
		return;
	if (tick_id >= 0)
		loop_timer_cancel(tick_id);
	tick_due = due;
	tick_id = loop_timer_add(due > now ? (uint32_t)(due - now) : 1u, on_tick, NULL);
	if (tick_id < 0)
		hal_log(HAL_LOG_ERR, LOGM, "no timer for session deadlines (%s)", strerror(-tick_id));
}

static const char *
full_reply(void *arg)
{
	(void)arg;
	return "421 4.3.2 Too many connections, try again later\r\n";
}

static const struct loop_listener_ops lsn_ops = { on_accept, full_reply };

static smtpd_tls_key_fn tls_key_loader;
static int tls_retry_id = -1;

void
smtpd_set_tls_key_loader(smtpd_tls_key_fn fn)
{
	tls_key_loader = fn;
}

static int tls_tpm_setup(const struct zcfg *cfg, const char *cert, const char *dd);

/* The TPM-held TLS key could not be had: tried again until it can (a TPM
 * that comes back brings TLS back without a commit). */
static void
tls_retry(void *arg)
{
	char cert[ZCFG_PATH_MAX + 16];
	const char *dd;

	(void)arg;
	tls_retry_id = -1;
	if (scfg == NULL || !scfg->tls_tpm || tls_server_ready())
		return;
	dd = scfg->data_dir[0] ? scfg->data_dir : "var";
	snprintf(cert, sizeof(cert), "%s", scfg->tls_cert[0] ? scfg->tls_cert : "");
	if (!cert[0])
		snprintf(cert, sizeof(cert), "%s/tls/cert.pem", dd);
	if (tls_tpm_setup(scfg, cert, dd) == 0) {
		char err[200];

		/* implicit-TLS listeners closed for want of TLS are bound again */
		if (smtpd_listeners_apply(scfg, true, &lsn_ops, err, sizeof(err)) < 0)
			hal_log(HAL_LOG_ERR, "tls", "listeners: %s", err);
		smtpd_listeners_check_tls();
	}
}

/* `set tls key-store tpm`: zegel's own pair has its key in the TPM
 * (<data-dir>/tls/key.tpmkey, made there when missing); an admin's key
 * (`set tls key`) must be a TPM key file. Any failure leaves TLS off,
 * never another key in its place. */
static int
tls_tpm_setup(const struct zcfg *cfg, const char *cert, const char *dd)
{
	char key[ZCFG_PATH_MAX + 16], terr[240];
	bool generated = config_tls_generated(cfg);
	struct hal_key k;
	int rc;

	(void)dd;
	memset(&k, 0, sizeof(k));
	config_tls_tpm_key(cfg, key);
	terr[0] = 0;
	if (tls_key_loader == NULL)
		rc = -ENOTSUP, snprintf(terr, sizeof(terr), "this build has no TPM-held TLS key");
	else
		rc = tls_key_loader(key, generated && hal_storage_exists(key) != 1, &k, terr,
		    sizeof(terr));
	if (rc == 0)
		rc = tls_server_setup_held(cert, key, &k, cfg->hostname[0] ? cfg->hostname
									   : "zegel.localdomain",
		    generated, terr, sizeof(terr));
	if (rc == 0) {
		hal_log(HAL_LOG_INFO, "tls", "TLS key %s held in the TPM, signing through the key "
		    "holder", key);
		return 0;
	}
	tls_server_disable();
	hal_log(HAL_LOG_ERR, "tls", "TLS unavailable: the TLS key in the TPM (%s) cannot be "
	    "used: %s; no other key is used, STARTTLS and port 465 are refused, tried again "
	    "every %u s", key, terr, SMTPD_TLS_TPM_RETRY_MS / 1000);
	if (tls_retry_id < 0)
		tls_retry_id = loop_timer_add(SMTPD_TLS_TPM_RETRY_MS, tls_retry, NULL);
	return rc;
}

static int
setup(const struct zcfg *cfg, bool start, char *err, size_t cap)
{
	char cert[ZCFG_PATH_MAX + 16], key[ZCFG_PATH_MAX + 16], terr[200];
	const char *dd = cfg->data_dir[0] ? cfg->data_dir : "var";
	int rc;

	if ((rc = smtpd_listeners_apply(cfg, start, &lsn_ops, err, cap)) < 0)
		return rc; /* nothing changed */
	scfg = cfg;
	smtpd_conn_limits(cfg, &lim);
	if (cfg->tls_cert[0])
		snprintf(cert, sizeof(cert), "%s", cfg->tls_cert);
	else
		snprintf(cert, sizeof(cert), "%s/tls/cert.pem", dd);
	if (cfg->tls_key[0])
		snprintf(key, sizeof(key), "%s", cfg->tls_key);
	else
		snprintf(key, sizeof(key), "%s/tls/key.pem", dd);
	if (cfg->tls_tpm)
		(void)tls_tpm_setup(cfg, cert, dd);
	else if ((rc = tls_server_setup(cert, key,
		      cfg->hostname[0] ? cfg->hostname : "zegel.localdomain",
		      config_tls_generated(cfg), terr, sizeof(terr))) < 0)
		hal_log(HAL_LOG_ERR, "tls", "%s: %s",
		    tls_server_ready() ? "TLS material not replaced" : "TLS unavailable", terr);
	smtpd_listeners_check_tls();
	return (int)smtpd_listeners_open();
}

int
smtpd_server_start(const struct zcfg *cfg)
{
	/* pool is zero (BSS) at start: do not memset it, that would make every
	 * page of every session's buffers resident */
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++)
		pool[i].used = false;
	smtpd_listeners_reset();
	nopen = npeak = 0;
	tick_id = -1;
	return setup(cfg, true, NULL, 0);
}

int
smtpd_server_apply(const struct zcfg *cfg, char *err, size_t cap)
{
	int rc = setup(cfg, false, err, cap);

	return rc < 0 ? rc : 0;
}

void
smtpd_server_stop(void)
{
	smtpd_listeners_close();
	if (tls_retry_id >= 0)
		loop_timer_cancel(tls_retry_id);
	tls_retry_id = -1;
	if (tick_id >= 0)
		loop_timer_cancel(tick_id);
	tick_id = -1;
	for (unsigned i = 0; i < CONFIG_MAX_SESSIONS; i++)
		if (pool[i].used) {
			if (pool[i].conn_ready) {
				smtpd_shutdown(&pool[i].conn.smtp, "Service shutting down");
				process(&pool[i]);
			}
			sess_close(&pool[i]);
		}
}

unsigned
smtpd_server_sessions(unsigned *peak)
{
	if (peak)
		*peak = npeak;
	return nopen;
}
