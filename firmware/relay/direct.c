/*
 * Relay target "direct" and its delivery workers (direct.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/config/config.h"
#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/relay/direct.h"
#include "firmware/relay/mxplan.h"
#include "firmware/relay/queued.h"
#include "firmware/relay/sts.h"
#include "firmware/relay/tlsrpt_direct.h"
#include "firmware/relay/upstream.h"
#include "firmware/spool/queue.h"
#include "firmware/tls/dane.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "zegel/text.h"

#define LOGM "relay"

enum wstate { W_FREE = 0, W_PLAN, W_STS, W_CONNECT };

struct worker {
	enum wstate st;
	struct queue_job job;
	struct mxplan plan;
	int dns_id;             /* resolver request, -1 none */
	unsigned host, addr;    /* next candidate */
	struct dane_verify dv;
	struct smtpc_params params;
	char rcpts[QUEUE_JOB_RCPTS * QUEUE_ADDR_MAX];
	struct smtpc_result rres[QUEUE_JOB_RCPTS]; /* per-recipient verdicts */
	char path[ZCFG_PATH_MAX + 64];
	char peer[HAL_ADDR_STRLEN + ZCFG_NAME_MAX + 4];
	char tls_host[ZCFG_NAME_MAX];
	bool up_live;           /* up holds a connection's state (up.attached: it is open) */
	bool job_open;          /* job taken from the queue, not yet given back */
	bool need_tls;          /* the current host's policy requires TLS */
	unsigned reused;        /* messages sent over this connection before the current */
	struct upstream up;
	/* the most telling failure so far, for recipients left open at the end */
	int fail_code;
	char fail_esc[12];
	char fail_text[240];
	bool final[QUEUE_JOB_RCPTS];
	/* MTA-STS (RFC 8461) for a domain without DANE: sts.c */
	struct sts_req sts;
	bool sts_on;            /* sts holds the outcome for this domain */
	const struct tls_client_conf *sts_cc; /* held (sts_tls_conf_get) while set */
	/* REQUIRETLS (RFC 8689) and "TLS-Required: No" for the current job */
	bool rt;                /* MAIL ... REQUIRETLS: DANE or MTA-STS enforce + REQUIRETLS */
	bool relax;             /* TLS-Required: No, honoured: DANE/MTA-STS not enforced */
	bool rt_fail;           /* a host was passed over for REQUIRETLS (rt_text says why) */
	bool other_fail;        /* ... and some host failed for another reason */
	char rt_text[240];
	bool authed;            /* the current connection's TLS is authenticated (DANE, PKIX) */
	bool rpt_noted;         /* this connection is counted for TLS-RPT */
};

static struct worker workers[DIRECT_WORKERS];
static const struct zcfg *dcfg;
static bool started;
static int tick_timer = -1;
static uint32_t direct_timeout_ms = DIRECT_TIMEOUT_MS;
static char qdir[ZCFG_PATH_MAX + 16];

static void plan_step(struct worker *w);
static bool sts_begin(struct worker *w);
static void try_next(struct worker *w);
static void tick(void *arg);

void
direct_set_timeout(uint32_t ms)
{
	direct_timeout_ms = ms ? ms : DIRECT_TIMEOUT_MS;
}

unsigned
direct_workers_active(void)
{
	unsigned n = 0;

	for (int i = 0; i < DIRECT_WORKERS; i++)
		n += workers[i].st != W_FREE;
	return n;
}

static int64_t
now_s(void)
{
	return (int64_t)hal_clock_now();
}

/* ------------------------------------------------------------ outcomes */

/* One recipient's outcome: logged, then made durable by the queue. */
static void
rcpt_outcome(struct worker *w, unsigned k, const char *relay, int code, const char *esc,
    const char *text)
{
	char tls[96];
	char lead[24];
	char to[TEXT_LOG_ADDR_CAP];
	const char *status = code >= 200 && code < 300 ? "sent" : code >= 500 ? "bounced"
									: "deferred";

	if (w->final[k])
		return;
	w->final[k] = true;
	/* smtpc's texts for upstream replies already start with "250 2.0.0" */
	snprintf(lead, sizeof(lead), "%d ", code);
	if (strncmp(text, lead, strlen(lead)) == 0)
		lead[0] = '\0';
	else
		snprintf(lead, sizeof(lead), "%d %s ", code, esc);
	text_log_addr(to, sizeof(to), w->job.rcpt[k]);
	hal_log(HAL_LOG_INFO, LOGM, "%s: to=<%s>, relay=%s, tls=%s, status=%s (%s%s)",
	    w->job.id, to, relay, upstream_tls_words(&w->up, tls, sizeof(tls)),
	    status, lead, text);
	if (queue_job_result(&w->job, k, code, esc, text, now_s()) < 0)
		hal_log(HAL_LOG_ERR, LOGM, "%s: cannot record the outcome for <%s>: it will be "
		    "tried again", w->job.id, to);
}

static void
note_failure(struct worker *w, int code, const char *esc, const char *text)
{
	/* A permanent verdict sticks; otherwise the latest failure is kept (as
	 * Postfix reports the last MX tried). */
	w->other_fail = true;
	if (w->fail_code >= 500)
		return;
	w->fail_code = code;
	zegel_strf(w->fail_esc, sizeof(w->fail_esc), "%s", esc);
	zegel_strf(w->fail_text, sizeof(w->fail_text), "%s", text);
}

/* A host not used for a REQUIRETLS message (RFC 8689 4.1), logged with why. */
static void
note_rt(struct worker *w, const char *text)
{
	w->rt_fail = true;
	zegel_strf(w->rt_text, sizeof(w->rt_text), "REQUIRETLS: %s", text);
	hal_log(HAL_LOG_WARN, LOGM, "%s: %s", w->job.id, w->rt_text);
}

/* The current job's recipients without an outcome get the most telling
 * failure; the queue takes the job back (retry, bounce or removal). A
 * REQUIRETLS message that no host could take for REQUIRETLS reasons alone
 * (no authenticated TLS, no REQUIRETLS offered) bounces now with 5.7.30
 * (RFC 8689 4.1, 6); one with some other, transient failure waits for the
 * next attempt. */
static void
job_close(struct worker *w)
{
	if (!w->job_open)
		return;
	if (w->rt && w->rt_fail && !w->other_fail) {
		w->fail_code = 550;
		zegel_strf(w->fail_esc, sizeof(w->fail_esc), "5.7.30");
		zegel_strf(w->fail_text, sizeof(w->fail_text), "%s", w->rt_text);
		hal_log(HAL_LOG_WARN, LOGM, "%s: REQUIRETLS message to %s not sent: no next hop "
		    "with authenticated TLS and REQUIRETLS; returned to the sender (5.7.30)",
		    w->job.id, w->job.domain);
	}
	for (unsigned k = 0; k < w->job.nrcpt; k++)
		if (!w->final[k])
			rcpt_outcome(w, k, w->peer[0] ? w->peer : "none",
			    w->fail_code ? w->fail_code : 451, w->fail_code ? w->fail_esc : "4.4.1",
			    w->fail_text[0] ? w->fail_text : "no MX host could be used");
	queue_job_end(&w->job, now_s());
	w->job_open = false;
}

static void
worker_release(struct worker *w)
{
	if (w->up_live)
		upstream_free(&w->up);
	if (w->dns_id >= 0)
		resolver_cancel(w->dns_id);
	sts_cancel(&w->sts);
	if (w->sts_cc != NULL)
		sts_tls_conf_put();
	memset(w, 0, sizeof(*w));
	w->st = W_FREE;
	w->dns_id = -1;
	direct_kick();
}

static void
worker_end(struct worker *w)
{
	job_close(w);
	worker_release(w);
}

/* Per-job fields from w->job: the recipient list smtpc reads, the message
 * path. 0, or -1 if the queued message has no usable path. */
static int
job_load(struct worker *w)
{
	size_t off = 0;

	w->job_open = true;
	memset(w->final, 0, sizeof(w->final));
	w->fail_code = 0;
	w->fail_esc[0] = w->fail_text[0] = '\0';
	w->rt = w->job.requiretls;
	/* RFC 8689 4.1: with REQUIRETLS in MAIL the header is ignored */
	w->relax = !w->rt && w->job.tls_required_no && dcfg->relay.tls_required_no;
	w->rt_fail = w->other_fail = false;
	w->rt_text[0] = '\0';
	if (w->job.tls_required_no)
		hal_log(HAL_LOG_INFO, LOGM, "%s: TLS-Required: No %s", w->job.id,
		    w->rt ? "ignored: the message was sent with REQUIRETLS" :
		    w->relax ? "honoured: DANE and MTA-STS not enforced, opportunistic TLS" :
		    "ignored (set relay tls-required-no ignore)");
	for (unsigned k = 0; k < w->job.nrcpt; k++) {
		size_t n = strlen(w->job.rcpt[k]) + 1;
		if (off + n > sizeof(w->rcpts)) { /* cannot happen: 257-octet paths */
			w->job.nrcpt = k;
			break;
		}
		memcpy(w->rcpts + off, w->job.rcpt[k], n);
		off += n;
	}
	if (queue_job_path(&w->job, w->path, sizeof(w->path)) < 0) {
		note_failure(w, 451, "4.3.0", "queued message unreadable");
		return -1;
	}
	return 0;
}

static void
job_params(struct worker *w, bool need_tls)
{
	const struct zcfg *cfg = dcfg;

	w->params = (struct smtpc_params){
		.helo = cfg->hostname[0] ? cfg->hostname : "localhost",
		.mail_from = w->job.mail_from,
		.rcpts = w->rcpts,
		.nrcpt = w->job.nrcpt,
		.size = w->job.size,
		.body_8bit = w->job.body_8bit,
		.smtputf8 = w->job.smtputf8,
		.requiretls = w->rt,
		.tls_mode = need_tls || w->rt ? SMTPC_TLS_REQUIRED : SMTPC_TLS_OPPORTUNISTIC,
		.partial_ok = true,
		.keep_open = true,
		.rcpt_results = w->rres,
	};
}

/* ------------------------------------------------------------ DNS */

static void
on_dns(void *arg, const struct dns_result *res)
{
	struct worker *w = arg;

	w->dns_id = -1;
	mxplan_answer(&w->plan, res);
	plan_step(w);
}

static void
on_sts(void *arg, struct sts_req *q)
{
	struct worker *w = arg;

	w->sts_on = true;
	tlsrpt_direct_sts(w->job.domain, q);
	hal_log(q->have || q->fetch_failed ? HAL_LOG_INFO : HAL_LOG_DEBUG, LOGM,
	    "%s: MTA-STS for %s: %s%s%s", w->job.id, w->job.domain,
	    q->have ? "mode " : "no policy (", q->have ? sts_mode_str(q->pol.mode) : q->why,
	    q->have ? "" : ")");
	if (q->have)
		hal_log(HAL_LOG_DEBUG, LOGM, "%s: MTA-STS for %s: %s", w->job.id, w->job.domain,
		    q->why);
	else if (w->rt && q->fetch_failed)
		/* a policy that may be there and could not be fetched: a
		 * REQUIRETLS message waits for it rather than bouncing */
		note_failure(w, 451, "4.7.5", "REQUIRETLS: the MTA-STS policy could not be "
		    "fetched; will retry");
	w->st = W_CONNECT;
	try_next(w);
}

/* RFC 8461 2: DANE first. A domain none of whose MX hosts has usable TLSA
 * gets its MTA-STS policy looked up (sts.h) before the first connection.
 * true: on_sts() continues. */
static bool
sts_begin(struct worker *w)
{
	char err[200];

	if (w->relax)
		return false; /* TLS-Required: No (RFC 8689 5): no MTA-STS */
	for (unsigned i = 0; i < w->plan.nhosts; i++)
		if (w->plan.hosts[i].tls == MXPLAN_DANE)
			return false;
	if (w->sts_cc == NULL &&
	    sts_tls_conf_get(dcfg->relay.ca_file, &w->sts_cc, err, sizeof(err)) < 0) {
		hal_log(HAL_LOG_WARN, LOGM, "%s: MTA-STS not checked for %s: CA bundle: %s",
		    w->job.id, w->job.domain, err);
		if (w->rt)
			note_failure(w, 451, "4.7.5", "REQUIRETLS: MTA-STS not checked (CA bundle)");
		return false;
	}
	if (sts_start(&w->sts, w->job.domain, dcfg->data_dir, w->sts_cc, on_sts, w) < 0) {
		hal_log(HAL_LOG_WARN, LOGM, "%s: MTA-STS not checked for %s: %s", w->job.id,
		    w->job.domain, w->sts.why);
		if (w->rt)
			note_failure(w, 451, "4.7.5", "REQUIRETLS: MTA-STS not checked; will retry");
		return false;
	}
	w->st = W_STS;
	return true;
}

static void
plan_step(struct worker *w)
{
	char name[DNS_NAME_MAX + 1];
	uint16_t qtype;
	int id;

	if (mxplan_next(&w->plan, name, sizeof(name), &qtype) == MXPLAN_QUERY) {
		id = resolver_lookup(name, qtype, on_dns, w);
		if (id < 0) {
			note_failure(w, 451, "4.4.3", "DNS resolver busy; will retry");
			worker_end(w);
			return;
		}
		w->dns_id = id;
		return;
	}
	if (w->plan.permanent || w->plan.deferred) {
		/* RFC 7505 null MX and NXDOMAIN are permanent; bogus or
		 * indeterminate DNS makes the whole domain wait */
		if (w->plan.permanent)
			note_failure(w, w->plan.null_mx ? 556 : 550,
			    w->plan.esc[0] ? w->plan.esc : "5.1.2", w->plan.reason);
		else
			note_failure(w, 451, w->plan.esc[0] ? w->plan.esc : "4.4.3",
			    w->plan.reason);
		worker_end(w);
		return;
	}
	if (sts_begin(w))
		return;
	w->st = W_CONNECT;
	try_next(w);
}

/* ------------------------------------------------------------ connection */

static void
settle_connection(struct worker *w);

static void
o_settle(void *arg)
{
	settle_connection(arg);
}

/* A failed connect or a silent MX fails this connection; settle_connection()
 * moves on to the next address or MX. */
static const struct upstream_owner worker_owner = { .settle = o_settle };

/* Did this connection get as far as the message (MAIL answered)? */
static bool
reached_message(const struct worker *w)
{
	const struct smtpc_result *r = smtpc_result(&w->up.smtp);

	switch (r->err) {
	case SMTPC_OK:
	case SMTPC_E_MAIL:
	case SMTPC_E_RCPT:
	case SMTPC_E_DATA:
	case SMTPC_E_MESSAGE:
		return true;
	case SMTPC_E_SIZE:
	case SMTPC_E_8BIT:
	case SMTPC_E_UTF8:
		return r->code >= 500; /* permanent for this message at this MX */
	default:
		/* lost after the final dot: the message went out, unconfirmed */
		return smtpc_dot_sent(&w->up.smtp);
	}
}

/* After a delivered message: the next due job for the same domain goes
 * over the same session (RFC 5321 3.3; the plan, TLS and its verification
 * stay what they were). true if one was started. */
static bool
reuse_connection(struct worker *w)
{
	char domain[sizeof(w->job.domain)];

	if (!started || !w->up.attached || !smtpc_idle(&w->up.smtp) || w->reused + 1 >= DIRECT_REUSE_MAX)
		return false;
	memcpy(domain, w->job.domain, sizeof(domain));
	if (queue_next_job_for(now_s(), domain, &w->job) != 1)
		return false;
	if ((w->job.requiretls && (!w->authed || !smtpc_ext(&w->up.smtp)->requiretls)) ||
	    (w->job.tls_required_no && !w->job.requiretls && dcfg->relay.tls_required_no) !=
	    w->relax) {
		/* this session does not fit that message's TLS demands: it gets
		 * a session of its own (not counted as an attempt) */
		queue_job_release(&w->job, now_s());
		return false;
	}
	if (job_load(w) < 0) {
		job_close(w);
		return false;
	}
	job_params(w, w->need_tls);
	w->reused++;
	hal_log(HAL_LOG_DEBUG, LOGM, "%s: delivering to %u recipient(s) at %s over the open "
	    "session with %s (message %u on it)", w->job.id, w->job.nrcpt, domain, w->peer,
	    w->reused + 1);
	if (upstream_next_message(&w->up, &w->params, w->job.prefix, w->job.prefix_len,
	    w->path) < 0) {
		note_failure(w, 451, "4.3.0", "cannot read the queued message");
		job_close(w);
		return false;
	}
	return true;
}

static void
settle_connection(struct worker *w)
{
	const struct handoff_result *r;

	if (!upstream_finished(&w->up))
		return;
	if (!w->job_open) {
		/* quitting: wait until QUIT and close_notify are out */
		if (upstream_can_close(&w->up) || !w->up.attached)
			worker_release(w);
		return;
	}
	r = upstream_result(&w->up);
	if (!w->rpt_noted) {
		/* RFC 8460: the session's TLS outcome, once per connection */
		w->rpt_noted = true;
		tlsrpt_direct_session(w->job.domain, w->sts_on ? &w->sts : NULL,
		    &w->plan.hosts[w->host], &w->plan.hosts[w->host].addrs[w->addr - 1], &w->up);
	}
	if (reached_message(w)) {
		enum smtpc_err err = smtpc_result(&w->up.smtp)->err;
		bool dot_unconfirmed = smtpc_dot_sent(&w->up.smtp) && err != SMTPC_OK &&
		    err != SMTPC_E_MESSAGE;

		for (unsigned k = 0; k < w->job.nrcpt; k++) {
			const struct smtpc_result *rr = smtpc_rcpt_result(&w->up.smtp, k);

			if (rr != NULL && rr->code != 0 && !dot_unconfirmed)
				rcpt_outcome(w, k, w->peer, rr->code, rr->esc, rr->text);
			else
				rcpt_outcome(w, k, w->peer, r->code, r->esc, r->text);
		}
		job_close(w);
		if (reuse_connection(w)) {
			settle_connection(w); /* it may have failed at once */
			return;
		}
		if (smtpc_idle(&w->up.smtp))
			upstream_quit(&w->up);
		if (upstream_can_close(&w->up) || !w->up.attached)
			worker_release(w);
		return;
	}
	if (!upstream_can_close(&w->up) && w->up.attached)
		return; /* QUIT / close_notify still going out */
	upstream_detach(&w->up);
	/* session-level failure: remember why, next address or MX */
	if (smtpc_result(&w->up.smtp)->err == SMTPC_E_REQUIRETLS) {
		char t[240];
		zegel_strf(t, sizeof(t), "%s %s", w->peer, smtpc_ext(&w->up.smtp)->starttls ||
		    smtpc_tls_used(&w->up.smtp) ? "does not offer REQUIRETLS" : "offers no TLS");
		note_rt(w, t);
	} else if (w->plan.hosts[w->host].tls == MXPLAN_DANE && !w->relax &&
	    (smtpc_result(&w->up.smtp)->err == SMTPC_E_NO_STARTTLS ||
		smtpc_result(&w->up.smtp)->err == SMTPC_E_STARTTLS)) {
		/* RFC 7672 2.2: TLSA published, no TLS: a downgrade, not a choice */
		char t[240];
		zegel_strf(t, sizeof(t), "%s publishes TLSA but did not do STARTTLS "
		    "(stripped?): %s", w->peer, r->text);
		note_failure(w, 451, "4.7.5", t);
	} else {
		note_failure(w, r->code >= 500 ? 451 : r->code, r->code >= 500 ? "4.4.0" : r->esc,
		    r->text);
	}
	hal_log(HAL_LOG_INFO, LOGM, "%s: %s not used: %s %s", w->job.id, w->peer, r->esc, r->text);
	upstream_free(&w->up);
	w->up_live = false;
	try_next(w);
}

/* Start a connection to the next usable address; ends the job when none is left. */
static void
try_next(struct worker *w)
{
	const struct zcfg *cfg = dcfg;
	char err[200], ip[HAL_ADDR_STRLEN];

	while (w->host < w->plan.nhosts) {
		const struct mxplan_host *mh = &w->plan.hosts[w->host];
		const struct tls_client_conf *cc;
		enum sts_host sh = STS_HOST_FREE;
		bool need_tls;
		int rc;

		if (mh->tls == MXPLAN_SKIP || w->addr >= mh->naddr) {
			if (mh->tls == MXPLAN_SKIP && w->addr == 0) {
				char t[240];
				zegel_strf(t, sizeof(t), "MX %s not used: %s", mh->name, mh->why);
				note_failure(w, 451, "4.7.5", t);
				hal_log(HAL_LOG_INFO, LOGM, "%s: %s", w->job.id, t);
				tlsrpt_direct_fail(w->job.domain, NULL, mh, TLSRPT_DNSSEC_INVALID);
			} else if (mh->naddr == 0 && w->addr == 0) {
				char t[240];
				zegel_strf(t, sizeof(t), "MX %s has no address: %s", mh->name,
				    mh->why[0] ? mh->why : "none found");
				note_failure(w, 451, "4.4.4", t);
			}
			w->host++;
			w->addr = 0;
			continue;
		}
		if (w->sts_on && mh->tls != MXPLAN_DANE && !w->relax) {
			char t[240];

			sh = sts_host_check(&w->sts, mh->name, t, sizeof(t));
			if (sh == STS_HOST_REFUSE) {
				/* RFC 8461 4.1: not a valid MX for this domain */
				note_failure(w, 451, "4.7.5", t);
				hal_log(HAL_LOG_WARN, LOGM, "%s: %s: not used", w->job.id, t);
				tlsrpt_direct_fail(w->job.domain, &w->sts, mh, TLSRPT_VALIDATION_FAILURE);
				w->host++;
				w->addr = 0;
				continue;
			}
			if (sh == STS_HOST_REPORT && w->addr == 0)
				hal_log(HAL_LOG_WARN, LOGM, "%s: %s: testing mode, used anyway",
				    w->job.id, t);
		}
		if (w->rt && mh->tls != MXPLAN_DANE && sh != STS_HOST_PKIX) {
			/* RFC 8689 4.1: only a next hop whose TLS is authenticated */
			char t[240];
			zegel_strf(t, sizeof(t), "MX %s not used: no authenticated TLS (no usable "
			    "DANE TLSA, no MTA-STS policy in enforce mode)", mh->name);
			note_rt(w, t);
			w->host++;
			w->addr = 0;
			continue;
		}
		hal_addr_format(&mh->addrs[w->addr], false, ip, sizeof(ip));
		zegel_strf(w->peer, sizeof(w->peer), "%s[%s]:%u", mh->name, ip,
		    mh->addrs[w->addr].port);
		if (w->relax) /* TLS-Required: No: only our own require-tls */
			need_tls = cfg->relay.require_tls;
		else
			need_tls = mh->tls != MXPLAN_MAY || cfg->relay.require_tls ||
			    sh == STS_HOST_PKIX;
		w->need_tls = need_tls;
		w->authed = (mh->tls == MXPLAN_DANE && !w->relax) || sh == STS_HOST_PKIX;
		job_params(w, need_tls);
		if (sh == STS_HOST_PKIX) {
			/* RFC 8461 4.2: PKIX for the MX name, the relay's CA bundle */
			cc = w->sts_cc;
		} else if ((cc = dane_tls_conf(err, sizeof(err))) == NULL) {
			note_failure(w, 451, "4.7.5", err);
			break;
		}
		zegel_strf(w->tls_host, sizeof(w->tls_host), "%s",
		    mh->tls == MXPLAN_DANE && !w->relax && mh->tlsa_base[0] ? mh->tlsa_base :
		    mh->name);
		/* TLS-RPT: testing mode, MX not in the policy: the session counts
		 * as the policy's failure (RFC 8461 5), not as a success; a
		 * TLS-Required: No session (policies not applied) is not counted */
		w->rpt_noted = sh == STS_HOST_REPORT || w->relax;
		if (sh == STS_HOST_REPORT)
			tlsrpt_direct_fail(w->job.domain, &w->sts, mh, TLSRPT_VALIDATION_FAILURE);
		rc = upstream_init(&w->up, &w->params, cc, w->tls_host, w->peer, w->job.prefix,
		    w->job.prefix_len, w->path, false);
		w->up_live = true;
		w->addr++;
		if (rc < 0) {
			note_failure(w, 451, "4.3.0", "cannot read the queued message");
			break;
		}
		if (sh == STS_HOST_PKIX) {
			/* upstream_init's configuration verifies: PKIX, name = MX */
		} else if (mh->tls == MXPLAN_DANE && !w->relax) {
			dane_verify_init(&w->dv, mh->tlsa, mh->ntlsa, w->tls_host, w->job.domain);
			upstream_set_verify(&w->up, dane_verify_hook, &w->dv, cc);
		} else {
			upstream_set_verify(&w->up, dane_encrypt_only_hook, NULL, cc);
		}
		hal_log(HAL_LOG_DEBUG, LOGM, "%s: trying %s (tls policy %s%s%s)", w->job.id, w->peer,
		    sh == STS_HOST_PKIX ? "mta-sts enforce: pkix" : mxplan_tls_str(mh->tls),
		    w->relax ? ", not enforced: TLS-Required: No" : need_tls ? ", required" : "",
		    w->rt ? ", REQUIRETLS" : "");
		rc = upstream_attach(&w->up, &mh->addrs[w->addr - 1], direct_timeout_ms,
		    direct_timeout_ms, &worker_owner, w);
		if (rc < 0) {
			upstream_fail_io(&w->up, rc);
			settle_connection(w);
		}
		return;
	}
	worker_end(w);
}

/* ------------------------------------------------------------ scheduler */

static void
job_start(struct worker *w)
{
	uint16_t port = dcfg->relay.mx_port ? dcfg->relay.mx_port : 25;

	w->dns_id = -1;
	if (job_load(w) < 0) {
		worker_end(w);
		return;
	}
	hal_log(HAL_LOG_DEBUG, LOGM, "%s: delivering to %u recipient(s) at %s, attempt %u",
	    w->job.id, w->job.nrcpt, w->job.domain, w->job.attempts + 1);
	mxplan_init(&w->plan, w->job.domain, port, dcfg->relay.require_tls);
	w->st = W_PLAN;
	plan_step(w);
}

static void
arm(void)
{
	if (tick_timer >= 0)
		loop_timer_cancel(tick_timer);
	tick_timer = loop_timer_add(queue_timer_ms(now_s()), tick, NULL);
}

/* One session per recipient domain at a time: its other due jobs wait and
 * then go over that session (reuse_connection) or the next one. */
static bool
domain_busy(void *arg, const char *domain)
{
	(void)arg;
	for (int i = 0; i < DIRECT_WORKERS; i++)
		if (workers[i].st != W_FREE && workers[i].job_open &&
		    strcasecmp(workers[i].job.domain, domain) == 0)
			return true;
	return false;
}

static void
tick(void *arg)
{
	(void)arg;
	tick_timer = -1;
	if (!started)
		return;
	for (int i = 0; i < DIRECT_WORKERS; i++) {
		struct worker *w = &workers[i];

		if (w->st != W_FREE)
			continue;
		memset(w, 0, sizeof(*w));
		w->dns_id = -1;
		if (queue_next_job_skip(now_s(), domain_busy, NULL, &w->job) != 1)
			break;
		job_start(w);
	}
	arm();
}

void
direct_kick(void)
{
	if (!started)
		return;
	if (tick_timer >= 0)
		loop_timer_cancel(tick_timer);
	tick_timer = loop_timer_add(0, tick, NULL);
}

void
direct_stop(void)
{
	if (!started)
		return;
	started = false; /* worker_end() kicks nothing from here on */
	for (int i = 0; i < DIRECT_WORKERS; i++) {
		struct worker *w = &workers[i];

		if (w->st == W_FREE)
			continue;
		if (w->job_open) {
			/* recipients with an outcome keep it; the others were not
			 * delivered (or not confirmed): due again at the next start */
			bool sent = w->up_live && smtpc_dot_sent(&w->up.smtp);

			hal_log(HAL_LOG_INFO, LOGM, "%s: delivery to %s interrupted by the stop; "
			    "tried again at the next start%s", w->job.id, w->job.domain,
			    sent ? " (the message was sent, unconfirmed: it may arrive twice)" : "");
			queue_job_release(&w->job, now_s());
			w->job_open = false;
		}
		worker_release(w);
	}
	if (tick_timer >= 0)
		loop_timer_cancel(tick_timer);
	tick_timer = -1;
	queue_set_wakeup(NULL, NULL);
}

static void
wakeup(void *arg)
{
	(void)arg;
	direct_kick();
}

int
direct_start(const struct zcfg *cfg, char *err, size_t errcap)
{
	char dir[sizeof(qdir)];
	struct queue_limits lim;

	dcfg = cfg;
	zegel_strf(dir, sizeof(dir), "%s/queue", cfg->data_dir);
	if (started && strcmp(dir, qdir) == 0) {
		queue_limits_from_cfg(cfg, &lim);
		queue_set_limits(&lim);
		queue_set_hostname(cfg->hostname[0] ? cfg->hostname : "localhost");
		return 0;
	}
	if (started && direct_workers_active() > 0) {
		zegel_strf(err, errcap, "deliveries running: the queue stays in %s for now", qdir);
		return -1;
	}
	if (queue_open(dir, err, errcap) < 0)
		return -1;
	queue_limits_from_cfg(cfg, &lim);
	queue_set_limits(&lim);
	queue_set_hostname(cfg->hostname[0] ? cfg->hostname : "localhost");
	zegel_strf(qdir, sizeof(qdir), "%s", dir);
	for (int i = 0; i < DIRECT_WORKERS; i++)
		workers[i].dns_id = -1;
	started = true;
	queue_set_wakeup(wakeup, NULL);
	queued_dsn_signer(cfg);
	direct_kick();
	return 0;
}

/* ------------------------------------------------------------ the target */

static int
d_start(const struct handoff_msg *m, handoff_done_fn done, void *arg, void **handle)
{
	*handle = NULL;
	dcfg = m->cfg;
	queued_accept(m, started, done, arg); /* queue_commit() wakes the scheduler */
	return 0;
}

static int
d_admit(const struct zcfg *cfg, uint64_t size)
{
	(void)cfg;
	return started ? queue_admit(size) : 0; /* not started: 451 at the end of DATA */
}

const struct handoff_target_ops relay_direct = {
	.name = "direct",
	.start = d_start,
	.cancel = NULL,
	.admit = d_admit,
};
