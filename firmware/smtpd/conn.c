/*
 * A client session: engine events -> spool + header policy + DKIM signer ->
 * relay target (see conn.h). Logs in Postfix's style with a per-message id.
 */
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/config/config.h"
#include "firmware/smtpd/conn.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "zegel/text.h"

#define LOGM "smtpd"

static void env_check(struct smtpd_conn *c);

static smtpd_target_picker target_picker;
/* AUTH failures per client address (fair.h); in .bss */
static struct smtpd_fair_auth auth_table;

void
smtpd_set_target_picker(smtpd_target_picker pick)
{
	target_picker = pick;
}

static const struct handoff_target_ops *
target_of(const struct smtpd_conn *c)
{
	if (c->relay_override)
		return c->relay_override;
	return target_picker ? target_picker(c->cfg) : NULL;
}

static const char *
data_dir(const struct zcfg *cfg)
{
	return cfg->data_dir[0] ? cfg->data_dir : "var";
}

/* smtpd_params.admit: the relay target's say at MAIL time */
static int
conn_admit(void *arg, uint64_t size)
{
	struct smtpd_conn *c = arg;
	const struct handoff_target_ops *t = target_of(c);

	return t != NULL && t->admit != NULL ? t->admit(c->cfg, size) : 0;
}

void
smtpd_conn_init(struct smtpd_conn *c, const struct zcfg *cfg, const struct zcfg_listener *l,
    const struct hal_addr *peer, bool tls_active)
{
	struct smtpd_params prm;
	bool normalise = false;

	memset(c, 0, offsetof(struct smtpd_conn, smtp));    /* msg included */
	c->cfg = cfg;
	c->peer = *peer;
	hal_addr_format(peer, false, c->peer_str, sizeof(c->peer_str));
	snprintf(c->listener, sizeof(c->listener), "%s", l ? l->name : "test");
	memset(&prm, 0, sizeof(prm));
	prm.hostname = cfg->hostname[0] ? cfg->hostname : "zegel.localdomain";
	prm.tls = tls_active;
	/* no-tls: for LAN devices whose STARTTLS cannot work, never offered */
	prm.starttls_offered = l == NULL || (l->mode != ZCFG_LISTEN_TLS &&
	    l->mode != ZCFG_LISTEN_NOTLS);
	prm.auth_plaintext = l && l->auth_plaintext;
	prm.auth_available = smtpd_policy_has_users(cfg);
	prm.trusted_network = smtpd_policy_network(cfg, peer, &normalise);
	prm.normalise = normalise;
	prm.max_size = cfg->max_message_size ? cfg->max_message_size
					     : (uint64_t)CONFIG_SMTP_MAX_MESSAGE_SIZE;
	if (prm.max_size > (uint64_t)CONFIG_SMTP_MAX_MESSAGE_SIZE)
		prm.max_size = CONFIG_SMTP_MAX_MESSAGE_SIZE;
	prm.admit = conn_admit;
	prm.admit_arg = c;
	smtpd_init(&c->smtp, &prm);
	smtpd_start(&c->smtp);
	hal_log(HAL_LOG_INFO, LOGM, "connect from [%s] on %s%s%s", c->peer_str, c->listener,
	    prm.trusted_network ? " (trusted network)" : "",
	    prm.normalise ? " (line-endings normalise)" : "");
}

void
smtpd_conn_tls_started(struct smtpd_conn *c, const char *desc)
{
	smtpd_tls_started(&c->smtp);
	c->want_tls = false;
	env_check(c);
	hal_log(HAL_LOG_INFO, LOGM, "[%s]: TLS established: %s", c->peer_str, desc ? desc : "");
}

/* ------------------------------------------------------------ message */

static void
refuse(struct smtpd_msg *m, int code, const char *esc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
refuse(struct smtpd_msg *m, int code, const char *esc, const char *fmt, ...)
{
	va_list ap;

	if (m->code)
		return;                     /* the first reason wins */
	m->code = code;
	snprintf(m->esc, sizeof(m->esc), "%s", esc);
	va_start(ap, fmt);
	vsnprintf(m->text, sizeof(m->text), fmt, ap);
	va_end(ap);
}

static void
msg_cleanup(struct smtpd_conn *c)
{
	struct smtpd_msg *m = &c->msg;

	if (m->active)
		spool_msg_discard(&c->spool);
	m->active = false;
	m->relay_pending = false;
	m->seal_pending = false;
	m->relay_handle = NULL;
}

/* The RCPT-time relay session ends with its transaction. */
static void
env_check(struct smtpd_conn *c)
{
	struct smtpd_msg *m = &c->msg;

	if (smtpd_in_transaction(&c->smtp))
		return;
	m->env_classic = false;
	if (!m->env_open)
		return;
	m->env_open = m->env_wait = false;
	hal_log(HAL_LOG_DEBUG, LOGM, "%s: transaction ended, relay session closed", m->env.id);
	m->env_target->cancel(m->env_handle);
	m->env_handle = NULL;
}

/* A refused MAIL or RCPT (the engine noted it): one log line with the
 * client's address, the command and the reply. */
static void
log_refusal(struct smtpd_conn *c)
{
	char cmd[sizeof(c->smtp.cur_line) * 4];

	if (c->smtp.refusal[0] == '\0')
		return;
	text_log_addr(cmd, sizeof(cmd), c->smtp.cur_line);
	hal_log(HAL_LOG_INFO, LOGM, "[%s]: refused %s: %s; command: %s", c->peer_str,
	    c->smtp.cur_verb ? c->smtp.cur_verb : "?", c->smtp.refusal, cmd);
	c->smtp.refusal[0] = '\0';
}

static void
rcpt_verdict(void *arg, const struct handoff_result *r)
{
	struct smtpd_conn *c = arg;
	bool was_async = c->msg.env_wait;

	c->msg.env_wait = false;
	smtpd_rcpt_done(&c->smtp, r->code, r->esc, r->text);
	log_refusal(c);
	if (was_async && c->wake)
		c->wake(c->wake_arg);
}

/* SMTPD_EV_RCPT: ask the upstream (opening the session at the first RCPT). */
static void
rcpt_begin(struct smtpd_conn *c)
{
	struct smtpd_msg *m = &c->msg;
	const struct handoff_target_ops *t = target_of(c);
	int rc;

	if (!m->env_open && !m->env_classic) {
		memset(&m->env, 0, sizeof(m->env));
		if (spool_msg_new_id(m->env.id) < 0) {
			hal_log(HAL_LOG_ERR, LOGM, "entropy source failed: no message id");
			smtpd_rcpt_done(&c->smtp, 451, "4.3.0",
			    "Local error in processing (entropy); try again later");
			return;
		}
		snprintf(m->env_from, sizeof(m->env_from), "%s", c->smtp.mail_from);
		m->env.mail_from = m->env_from;
		m->env.body_8bit = c->smtp.body_8bit;
		m->env.smtputf8 = c->smtp.smtputf8;
		m->env.requiretls = c->smtp.requiretls;
		m->env.size = c->smtp.mail_size;
		m->env.client = c->peer;
		m->env.cfg = c->cfg;
		rc = t->open(&m->env, &m->env_handle);
		if (rc < 0) {
			hal_log(HAL_LOG_INFO, LOGM, "%s: relay %s cannot check recipients now (%s): "
			    "relaying after DATA", m->env.id, t->name, strerror(-rc));
			m->env_classic = true;
		} else {
			m->env_open = true;
			m->env_target = t;
		}
	}
	if (m->env_classic) {
		smtpd_rcpt_done(&c->smtp, 250, "2.1.5", "Ok");
		return;
	}
	m->env_wait = false;
	rc = t->rcpt(m->env_handle, smtpd_rcpt_pending(&c->smtp), rcpt_verdict, c);
	if (rc < 0) {
		smtpd_rcpt_done(&c->smtp, 451, "4.3.0", "Relay not available; try again later");
		return;
	}
	if (c->smtp.phase == SMTPD_PH_WAIT_RCPT)
		m->env_wait = true;
}

static void
msg_begin(struct smtpd_conn *c)
{
	struct smtpd_msg *m = &c->msg;
	const struct handoff_target_ops *t;
	int rc;

	msg_cleanup(c);
	m->code = 0;
	m->from_domain[0] = '\0';
	m->dom = NULL;
	m->prefix_len = 0;
	m->size = 0;
	if (m->env_open) {
		memcpy(m->id, m->env.id, sizeof(m->id)); /* one id for the transaction */
	} else if (spool_msg_new_id(m->id) < 0) {
		hal_log(HAL_LOG_ERR, LOGM, "entropy source failed: no message id");
		snprintf(m->id, sizeof(m->id), "NOID");
		refuse(m, 451, "4.3.0", "Local error in processing (entropy); try again later");
		return;
	}
	m->active = true;
	t = m->env_open ? m->env_target : target_of(c);
	/* a target that copies the message into its own durable file (the
	 * outbox) gets it in a reused scratch file: one creation a message */
	rc = t != NULL && t->spool_scratch ?
	    spool_msg_open_scratch(&c->spool, data_dir(c->cfg), m->id) :
	    spool_msg_open(&c->spool, data_dir(c->cfg), m->id);
	if (rc < 0) {
		hal_log(HAL_LOG_ERR, LOGM, "%s: cannot create spool file %s: %s", m->id,
		    c->spool.path, strerror(-rc));
		refuse(m, 451, "4.3.0", "Local error in processing (spool); try again later");
	}
}

static bool
aligned(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	if (strcasecmp(a, b) == 0)
		return true;
	if (la > lb && a[la - lb - 1] == '.' && strcasecmp(a + la - lb, b) == 0)
		return true;
	if (lb > la && b[lb - la - 1] == '.' && strcasecmp(b + lb - la, a) == 0)
		return true;
	return false;
}

/* A storage or header error of the message file: the reply, once. */
static void
msg_error(struct smtpd_conn *c)
{
	struct smtpd_msg *m = &c->msg;
	struct spool_msg_reply r;
	char allowed[300], text[sizeof(m->text)];

	if (c->spool.sys_err) {
		hal_log(HAL_LOG_ERR, LOGM, "%s: spool write failed: %s", m->id,
		    strerror(-c->spool.sys_err));
		refuse(m, 452, "4.3.1", "Insufficient system storage");
		return;
	}
	config_domain_list(c->cfg, allowed, sizeof(allowed));
	spool_msg_refusal(&c->spool, allowed, &r, text, sizeof(text));
	refuse(m, r.code, r.esc, "%s", text);
}

/* The header block is complete and parsed by the signer: decide the From
 * policy on its From domain, then choose the keys. */
static void
headers_done(struct smtpd_conn *c)
{
	struct smtpd_msg *m = &c->msg;
	const char *why = NULL, *fd = spool_msg_from_domain(&c->spool);
	char allowed[300];

	if (fd == NULL) {           /* the signer refused the header block */
		msg_error(c);
		return;
	}
	snprintf(m->from_domain, sizeof(m->from_domain), "%s", fd);
	if ((m->dom = config_domain_for(c->cfg, m->from_domain)) == NULL) {
		config_domain_list(c->cfg, allowed, sizeof(allowed));
		refuse(m, 550, "5.7.1", "From domain %s is not allowed here; allowed domains: %s",
		    m->from_domain, allowed);
		return;
	}
	if (c->smtp.mail_from[0]) {
		const char *at = strrchr(c->smtp.mail_from, '@');

		if (at && !aligned(at + 1, m->from_domain)) {
			if (m->dom->envelope_align == ZCFG_ALIGN_REFUSE) {
				refuse(m, 550, "5.7.1",
				    "Envelope sender domain %s does not align with From domain %s",
				    at + 1, m->from_domain);
				return;
			}
			if (m->dom->envelope_align == ZCFG_ALIGN_WARN) {
				char from[TEXT_LOG_ADDR_CAP];

				text_log_addr(from, sizeof(from), c->smtp.mail_from);
				hal_log(HAL_LOG_WARN, LOGM,
				    "%s: envelope sender <%s> does not align with From domain %s",
				    m->id, from, m->from_domain);
			}
		}
	}
	if (spool_msg_sign(&c->spool, c->cfg, m->dom, &why) < 0) {
		hal_log(HAL_LOG_ERR, LOGM, "%s: cannot sign for %s: %s", m->id, m->dom->name, why);
		refuse(m, 451, "4.3.5", "Cannot sign for %s (%s); try again later", m->dom->name, why);
	}
}

static void
msg_line(struct smtpd_conn *c, const uint8_t *l, size_t n)
{
	struct smtpd_msg *m = &c->msg;
	int rc;

	m->size += n;
	if (m->code)
		return;             /* refused already: read to the end only */
	rc = spool_msg_line(&c->spool, l, n);
	if (rc == SPOOL_MSG_HEADERS)
		headers_done(c);
	else if (rc < 0)
		msg_error(c);
}

static void
msg_abort(struct smtpd_conn *c, const char *why)
{
	hal_log(HAL_LOG_INFO, LOGM, "%s: discarded from [%s]: %s", c->msg.id, c->peer_str, why);
	msg_cleanup(c);
}

struct siglog {
	struct smtpd_conn *c;
};

static void
log_sig(void *arg, const char *d, const char *s, const char *a)
{
	struct smtpd_conn *c = arg;

	hal_log(HAL_LOG_INFO, LOGM, "%s: signed d=%s s=%s a=%s", c->msg.id, d, s, a);
}

static void
relay_done(void *arg, const struct handoff_result *r)
{
	struct smtpd_conn *c = arg;
	struct smtpd_msg *m = &c->msg;
	bool was_async = m->relay_pending;

	smtpd_message_done(&c->smtp, r->code, r->esc, r->text);
	msg_cleanup(c);
	hal_log(HAL_LOG_INFO, LOGM, "%s: removed", m->id);
	if (was_async && c->wake)
		c->wake(c->wake_arg);
}

static void msg_sealed(struct smtpd_conn *c, int rc, const char *why);

/* The key holder's workers signed (or failed): the final dot goes on. */
static void
sealed_cb(void *arg)
{
	struct smtpd_conn *c = arg;

	if (!c->msg.seal_pending)
		return;
	c->msg.seal_pending = false;
	msg_sealed(c, 0, NULL);
	if (c->wake)
		c->wake(c->wake_arg);
}

static void
msg_end(struct smtpd_conn *c)
{
	struct smtpd_msg *m = &c->msg;
	const char *why = NULL;
	char from[TEXT_LOG_ADDR_CAP], user[TEXT_LOG_ADDR_CAP];
	int rc = 0;

	if (!m->code && !c->spool.in_body) {
		/* no empty line after the header block: add it to file and signer */
		if (spool_msg_end_headers(&c->spool) == SPOOL_MSG_HEADERS)
			headers_done(c);
		else
			msg_error(c);
	}
	/* the last buffered lines: a full disk is 452 4.3.1 as for any line */
	if (!m->code && spool_msg_flush(&c->spool) < 0)
		msg_error(c);
	/* client-chosen text goes into log fields escaped (text_log_addr) */
	text_log_addr(from, sizeof(from), c->smtp.mail_from);
	text_log_addr(user, sizeof(user), c->smtp.authed ? c->smtp.auth_user : "");
	hal_log(HAL_LOG_INFO, LOGM, "%s: client=[%s]%s%s, from=<%s>, size=%llu, nrcpt=%u", m->id,
	    c->peer_str, c->smtp.authed ? ", sasl_username=" : "", user, from,
	    (unsigned long long)m->size, c->smtp.nrcpt);
	if (!m->code) {
		/* the signatures are made by the key holder while the file is made
		 * durable here; the reply waits for both (back-pressure: a full
		 * pool just makes it later) */
		rc = spool_msg_seal(&c->spool, hal_clock_now(), sealed_cb, c, &why);
		if (rc == 0) {
			m->seal_pending = true;
			return;
		}
	}
	msg_sealed(c, rc < 0 ? rc : 0, why);
}

/* Signed and durable (or failed with rc): the reply, or the relay target. */
static void
msg_sealed(struct smtpd_conn *c, int rc, const char *why)
{
	struct smtpd_msg *m = &c->msg;
	struct handoff_msg *rm = &m->rm;
	void *handle = NULL;
	char from[TEXT_LOG_ADDR_CAP];

	text_log_addr(from, sizeof(from), c->smtp.mail_from);
	if (!m->code) {
		if (rc == 0)
			rc = spool_msg_sealed(&c->spool, c->prefix, sizeof(c->prefix),
			    &m->prefix_len, log_sig, c, &why);
		if (rc < 0 && c->spool.sys_err)
			refuse(m, 451, "4.3.0", "Local error in processing (spool); try again later");
		else if (rc == DKIM_ERR_CRYPTO)
			/* a key that cannot sign now (a TPM gone or reset and
			 * not back after one reload): a system problem, the
			 * client keeps the message; never sent unsigned */
			refuse(m, 451, "4.3.5", "Cannot sign for %s (%s); try again later",
			    m->dom ? m->dom->name : "the domain", why ? why : dkim_strerror(rc));
		else if (rc < 0)
			refuse(m, 451, "4.3.0", "Signing failed (%s); try again later",
			    why ? why : dkim_strerror(rc));
	}
	if (!m->code && (m->target = m->env_open ? m->env_target : target_of(c)) == NULL)
		refuse(m, 451, "4.3.5", "No relay target available in this build");
	else if (!m->code && c->spool.scratch && !m->target->spool_scratch)
		/* never: the target is the session's; a scratch file is not durable */
		refuse(m, 451, "4.3.0", "Local error in processing (spool); try again later");
	if (m->code) {
		hal_log(HAL_LOG_INFO, LOGM, "%s: reject: %d %s %s; from=<%s>", m->id, m->code, m->esc,
		    m->text, from);
		smtpd_message_done(&c->smtp, m->code, m->esc, m->text);
		msg_cleanup(c);
		return;
	}
	memset(rm, 0, sizeof(*rm));
	memcpy(rm->id, m->id, sizeof(rm->id));
	rm->mail_from = c->smtp.mail_from;
	rm->rcpts = c->smtp.rcpts;
	rm->nrcpt = c->smtp.nrcpt;
	rm->spool_path = c->spool.path;
	rm->prefix = c->prefix;
	rm->prefix_len = m->prefix_len;
	rm->size = m->prefix_len + c->spool.size;   /* the file: what is sent */
	rm->body_8bit = c->smtp.body_8bit;
	rm->smtputf8 = c->smtp.smtputf8;
	rm->requiretls = c->smtp.requiretls;
	rm->tls_required_no = c->spool.tls_required_no;
	rm->client = c->peer;
	rm->cfg = c->cfg;
	m->relay_pending = false;
	/* done() may run inside start() (outbox): relay_pending tells it apart */
	if (m->env_open) {
		/* the upstream session checked the recipients: now the message */
		m->env_open = false;
		handle = m->env_handle;
		m->env_handle = NULL;
		rc = m->target->data(handle, rm, relay_done, c);
	} else
		rc = m->target->start(rm, relay_done, c, &handle);
	if (rc < 0) {
		hal_log(HAL_LOG_ERR, LOGM, "%s: relay %s did not start: %s", m->id, m->target->name,
		    strerror(-rc));
		smtpd_message_done(&c->smtp, 451, "4.3.0", "Relay not available; try again later");
		msg_cleanup(c);
		return;
	}
	if (c->smtp.phase == SMTPD_PH_WAIT_MSG) {
		m->relay_pending = true;
		m->relay_handle = handle;
	}
}

/* ------------------------------------------------------------ input */

static void
log_auth(const struct smtpd_conn *c, bool ok)
{
	char user[TEXT_LOG_ADDR_CAP];

	text_log_addr(user, sizeof(user), c->smtp.auth_user);
	hal_log(ok ? HAL_LOG_INFO : HAL_LOG_WARN, LOGM, "[%s]: AUTH %s for user %s", c->peer_str,
	    ok ? "succeeded" : "failed", user);
}

/*
 * SMTPD_EV_AUTH: a locked-out address gets 454 without a password check;
 * otherwise the password is checked (an unknown user costs the same hash
 * work, config_user_check) and the reply is held as long as the address's
 * backoff says (fair.h), on the server's timer: the loop never sleeps.
 */
static void
auth_check(struct smtpd_conn *c)
{
	struct smtpd_fair_limits l;
	uint64_t now = hal_clock_mono_ms(), release, locked;
	uint32_t fails = 0;
	bool ok, lock = false;
	char user[TEXT_LOG_ADDR_CAP];

	smtpd_conn_limits(c->cfg, &l);
	text_log_addr(user, sizeof(user), c->smtp.auth_user);
	if ((locked = smtpd_fair_auth_locked(&auth_table, &c->peer, now)) != 0) {
		hal_log(HAL_LOG_WARN, LOGM, "[%s]: AUTH refused for user %s: address locked out "
		    "for %llu s more after repeated failures", c->peer_str, user,
		    (unsigned long long)(locked + 999) / 1000);
		smtpd_auth_locked(&c->smtp, (unsigned)((locked + 999) / 1000));
		return;
	}
	ok = smtpd_policy_user(c->cfg, c->smtp.auth_user, c->smtp.auth_pass);
	smtpd_auth_forget(&c->smtp);
	release = smtpd_fair_auth_result(&auth_table, &c->peer, ok, &l, now, &fails, &lock);
	if (ok)
		log_auth(c, true);
	else
		hal_log(HAL_LOG_WARN, LOGM, "[%s]: AUTH failed for user %s (%u in a row from this "
		    "address, reply delayed %llu ms)%s", c->peer_str, user, (unsigned)fails,
		    (unsigned long long)(release - now), lock ? ": address locked out" : "");
	if (lock)
		hal_log(HAL_LOG_WARN, LOGM, "[%s]: AUTH locked out for %u s after %u failures "
		    "(last user %s)", c->peer_str, (unsigned)(l.auth_lockout_ms / 1000),
		    (unsigned)fails, user);
	if (release <= now) {
		smtpd_auth_result(&c->smtp, ok);
		return;
	}
	c->auth_held = true;
	c->auth_ok = ok;
	c->auth_release = release;
}

void
smtpd_conn_limits(const struct zcfg *cfg, struct smtpd_fair_limits *l)
{
	const struct zcfg_smtpd *f = &cfg->smtpd;

	memset(l, 0, sizeof(*l));
	l->command_ms = f->command_timeout * 1000u;
	l->transaction_ms = f->transaction_timeout * 1000u;
	l->min_rate = f->min_data_rate;
	l->window_ms = f->data_rate_window * 1000u;
	l->shed_idle_ms = f->shed_idle * 1000u;
	l->auth_delay_ms = f->auth_delay * 1000u;
	l->auth_delay_max_ms = f->auth_delay_max * 1000u;
	l->auth_lockout = f->auth_lockout;
	l->auth_lockout_ms = f->auth_lockout_time * 1000u;
}

enum smtpd_fair_state
smtpd_conn_fair_state(const struct smtpd_conn *c)
{
	if (c->auth_held)
		return SMTPD_FAIR_WAITING;
	switch (c->smtp.phase) {
	case SMTPD_PH_MAIL:
	case SMTPD_PH_RCPT:
		return SMTPD_FAIR_TRANSACTION;
	case SMTPD_PH_DATA:
		return SMTPD_FAIR_DATA;
	case SMTPD_PH_INIT:
	case SMTPD_PH_READY:
	case SMTPD_PH_AUTH:
		return SMTPD_FAIR_COMMANDS;
	default:
		return SMTPD_FAIR_WAITING;  /* the relay, an AUTH verdict, TLS, closing */
	}
}

uint64_t
smtpd_conn_due(const struct smtpd_conn *c)
{
	return c->auth_held ? c->auth_release : 0;
}

bool
smtpd_conn_tick(struct smtpd_conn *c, uint64_t now)
{
	if (!c->auth_held || now < c->auth_release)
		return false;
	c->auth_held = false;
	smtpd_auth_result(&c->smtp, c->auth_ok);
	return true;
}

void
smtpd_conn_deadline(struct smtpd_conn *c, const char *why, unsigned limit_s)
{
	hal_log(HAL_LOG_INFO, LOGM, "deadline from [%s]: %s (limit %u s), closing", c->peer_str,
	    why, limit_s);
	if (c->msg.active && !c->msg.relay_pending)
		msg_abort(c, why);  /* nothing half stored: the spool file goes */
	smtpd_deadline(&c->smtp, why);
}

size_t
smtpd_conn_input(struct smtpd_conn *c, const uint8_t *p, size_t n)
{
	const struct handoff_target_ops *t = target_of(c);
	size_t i = 0;

	c->smtp.prm.rcpt_async = t != NULL && t->open != NULL && t->rcpt != NULL &&
	    t->data != NULL;
	env_check(c);

	while (i < n || c->smtp.ev != SMTPD_EV_NONE) {
		size_t k = smtpd_push(&c->smtp, p + i, n - i), ln;
		const uint8_t *l;
	
		i += k;
		log_refusal(c);
		switch (smtpd_event(&c->smtp)) {
		case SMTPD_EV_NONE:
			if (k == 0)
				return i;
			break;
		case SMTPD_EV_STARTTLS:
			c->want_tls = true;
			c->smtp.ev = SMTPD_EV_NONE;
			if (i < n)
				hal_log(HAL_LOG_WARN, LOGM,
				    "[%s]: discarded %zu octets pipelined after STARTTLS (CVE-2011-0411)",
				    c->peer_str, n - i);
			return n;
		case SMTPD_EV_AUTH:
			auth_check(c);
			break;
		case SMTPD_EV_DATA_BEGIN:
			msg_begin(c);
			break;
		case SMTPD_EV_DATA_LINE:
			l = smtpd_data_line(&c->smtp, &ln);
			msg_line(c, l, ln);
			break;
		case SMTPD_EV_DATA_END:
			msg_end(c);
			break;
		case SMTPD_EV_DATA_ABORT:
			msg_abort(c, c->smtp.closing ? "bare CR or LF in DATA" : "too large or overlong line");
			break;
		case SMTPD_EV_RCPT:
			c->smtp.ev = SMTPD_EV_NONE;
			rcpt_begin(c);
			break;
		case SMTPD_EV_CLOSE:
			env_check(c);
			return n;
		}
		c->smtp.ev = SMTPD_EV_NONE;
		env_check(c);
		if (smtpd_closing(&c->smtp))
			return n;
	}
	return i;
}

void
smtpd_conn_free(struct smtpd_conn *c)
{
	struct smtpd_msg *m = &c->msg;

	if (m->env_open && m->env_target)
		m->env_target->cancel(m->env_handle);
	m->env_open = false;
	if (m->relay_pending && m->target && m->target->cancel)
		m->target->cancel(m->relay_handle);
	if (m->relay_pending || m->active)
		msg_abort(c, "client went away");
	hal_log(HAL_LOG_INFO, LOGM, "disconnect from [%s]", c->peer_str);
}
