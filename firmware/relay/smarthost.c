/*
 * Relay target "smarthost": each message goes to the one configured upstream
 * over enforced TLS (STARTTLS on 587, or implicit TLS with `set relay tls
 * implicit`), in sync mode: done() is called only once the upstream has
 * answered the final dot (or it is clear the message was not delivered), so
 * the LAN client's reply to DATA is the upstream's verdict (handoff.h).
 *
 * Two shapes share one job: start() (the whole message at once) and the
 * RCPT-time session open() / rcpt() / data() / cancel() that the SMTP
 * session uses (handoff.h): smtpc in stepwise mode sends MAIL as soon as the
 * upstream session is ready, each rcpt() is forwarded and its reply handed
 * back, data() streams the signed message, cancel() before data() says QUIT.
 * While the session waits for the LAN client, an idle link gets a NOOP
 * instead of the timeout. A job ends (back to the pool) once nobody holds it
 * and its connection is closed.
 *
 * Jobs come from a fixed pool; a full pool makes start()/open() fail
 * (-EBUSY): the session answers 451 4.3.0 (start) or relays that transaction
 * with start() after DATA (open). The CA bundle is loaded once and kept
 * until the configured path changes.
 *
 * Host names (hostaddr.h): an IP literal is used as is, "localhost" is the
 * loopback addresses (RFC 6761), any other name is looked up (A, then AAAA)
 * through zegel's validating resolver on the event loop while the job
 * waits; a bogus or indeterminate answer means 451 4.4.3 with the reason.
 * The certificate is checked against the configured name (or the IP
 * literal's iPAddress SAN).
 *
 * DANE (RFC 7672 2.2 for a next hop without MX lookup, Postfix's "dane"
 * level): when the name's address records are secure, TLSA at
 * _PORT._tcp.HOST is looked up too (hostaddr.h, the rules of
 * mxplan_init_host()). Secure and usable TLSA records: the handshake must
 * match one of them (dane_verify_hook, no CA bundle, SNI = the TLSA base
 * domain), there is no PKIX fallback, and a mismatch is 451 4.7.5 with
 * nothing sent. A bogus or indeterminate TLSA answer: 451 4.7.5 with the
 * reason, no connection. Secure TLSA records none of which is usable, no
 * TLSA, or insecure DNS: PKIX as without DANE. Unlike an MX host (where
 * RFC 7672 allows unauthenticated TLS then), the smarthost always gets an
 * authenticated TLS: the relay credentials and the user's mail go there,
 * and the CA-bundle check is what the configuration asked for. An IP
 * literal or localhost has no TLSA: PKIX.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "zegel/text.h"
#include "hal/pools.h"
#include "firmware/relay/hostaddr.h"
#include "firmware/spool/handoff.h"
#include "firmware/relay/smarthost.h"
#include "firmware/relay/upstream.h"
#include "firmware/tls/dane.h"
#include "hal/log.h"

#define LOGM "relay"

#define SMARTHOST_ADDRS 4
#define SMARTHOST_CONNECT_MS 30000 /* a connect that hangs (black hole) */

#define SMARTHOST_JOBS POOL_SMARTHOST_JOBS /* each holds at most one loop stream */

struct job {
	bool used;
	bool session;           /* opened at RCPT time (handoff.h open/rcpt/data) */
	bool data_given;        /* done() owes the message verdict (start(), data()) */
	bool reported;          /* done() called or cancelled: no callback any more */
	bool early;             /* failed before any connection: verdict in fail */
	bool up_init;           /* up set up; up.attached: its connection is open */
	const struct handoff_msg *m;
	handoff_done_fn done;
	void *arg;
	/* the RCPT whose verdict is due (session) */
	bool rwait;
	handoff_done_fn rdone;
	void *rarg;
	char raddr[SMTPC_ADDR_MAX];
	struct handoff_result fail;
	struct smtpc_params params;
	struct hal_addr addrs[SMARTHOST_ADDRS];
	unsigned naddr, cur;     /* tried in order until one connects */
	char peer[HAL_ADDR_STRLEN + ZCFG_NAME_MAX + 4];
	struct hostaddr_req hq;  /* the smarthost's name being looked up (and its TLSA) */
	bool dane;               /* the handshake is checked against hq.tlsa[] */
	struct dane_verify dv;
	struct handoff_result dres; /* a DANE failure's verdict with the reason */
	struct smtpc_result *rres;  /* the queue's per-recipient refusals (smarthost_deliver) */
	struct upstream up;
};

static struct job jobs[SMARTHOST_JOBS];
static bool try_next_address(struct job *j);
static struct tls_client_conf tlsconf;
static uint32_t smarthost_timeout_ms = SMARTHOST_TIMEOUT_MS;

void
smarthost_set_timeout(uint32_t ms)
{
	smarthost_timeout_ms = ms ? ms : SMARTHOST_TIMEOUT_MS;
}

unsigned
smarthost_jobs_active(void)
{
	unsigned n = 0;

	for (int i = 0; i < SMARTHOST_JOBS; i++)
		n += jobs[i].used;
	return n;
}

int
smarthost_tls_conf(const char *ca_file, const struct tls_client_conf **out, char *err,
    size_t errcap)
{
	const char *want = ca_file && ca_file[0] ? ca_file : TLS_CLIENT_DEFAULT_CA;

	if (!tlsconf.loaded || strcmp(tlsconf.ca_file, want) != 0) {
		bool busy = false;
		for (int i = 0; i < SMARTHOST_JOBS; i++)
			busy |= jobs[i].used;
		if (tlsconf.loaded && busy) {
			/* keep the old bundle until the running jobs end */
			*out = &tlsconf;
			return 0;
		}
		if (tlsconf.loaded)
			tls_client_conf_free(&tlsconf);
		if (tls_client_conf_load(&tlsconf, want, false, err, errcap) < 0)
			return -1;
	}
	*out = &tlsconf;
	return 0;
}

static uint16_t
smarthost_port(const struct zcfg_relay *r)
{
	return r->port ? r->port : (r->implicit_tls ? 465 : 587);
}

void
smarthost_peer_name(const struct zcfg_relay *r, const struct hal_addr *a, char *buf, size_t cap)
{
	char ip[HAL_ADDR_STRLEN];

	hal_addr_format(a, false, ip, sizeof(ip));
	zegel_strf(buf, cap, "%s[%s]:%u", r->host, ip, a->port);
}

/* ------------------------------------------------------------ job life */

static const struct handoff_result *
job_result(struct job *j)
{
	const struct handoff_result *r;

	if (j->early)
		return &j->fail;
	r = upstream_result(&j->up);
	/* a DANE mismatch: say which records did not match */
	if (j->dane && j->dv.matched < 0 && j->dv.why[0] && r->code == 451 &&
	    strcmp(r->esc, "4.7.5") == 0 && !j->up.tls.handshaken) {
		char t[sizeof(j->dres.text)];

		zegel_strf(t, sizeof(t), "%s (DANE: %s)", r->text, j->dv.why);
		handoff_result_set(&j->dres, r->code, r->esc, t);
		return &j->dres;
	}
	return r;
}

static bool
job_finished(struct job *j)
{
	return j->early || upstream_finished(&j->up);
}

static void
early_fail(struct job *j, int code, const char *esc, const char *text)
{
	handoff_result_set(&j->fail, code, esc, text);
	j->early = true;
}

static void
job_release(struct job *j)
{
	hostaddr_cancel(&j->hq);
	if (j->up_init)
		upstream_free(&j->up);
	j->up_init = false;
	j->used = false;
}

static void
report(struct job *j)
{
	const struct handoff_result *r = job_result(j);
	const struct handoff_msg *m = j->m;
	const char *status = r->code == 250 ? "sent" : r->code >= 500 ? "bounced" : "deferred";
	char tls[96], to[TEXT_LOG_ADDR_CAP];

	unsigned k = 0;

	upstream_tls_words(&j->up, tls, sizeof(tls));
	for (const char *a = handoff_rcpt_next(m, NULL); a; a = handoff_rcpt_next(m, a), k++) {
		const struct smtpc_result *own = j->rres != NULL ? &j->rres[k] : NULL;

		text_log_addr(to, sizeof(to), a);
		if (own != NULL && own->code != 0) /* the queue: refused at RCPT */
			hal_log(HAL_LOG_INFO, LOGM, "%s: to=<%s>, relay=%s, tls=%s, status=%s "
			    "(%d %s %s)", m->id, to, j->peer, tls, own->code >= 500 ? "bounced" :
			    "deferred", own->code, own->esc, own->text);
		else
			hal_log(HAL_LOG_INFO, LOGM, "%s: to=<%s>, relay=%s, tls=%s, status=%s "
			    "(%d %s %s)", m->id, to, j->peer, tls, status, r->code, r->esc, r->text);
	}
	j->reported = true;
	j->m = NULL;
	j->done(j->arg, r);
}

/* Session: hand the due RCPT verdict to the session (last thing a caller
 * does with j: the callback may re-enter rcpt/data/cancel). */
static void
rcpt_verdict(struct job *j)
{
	struct handoff_result r;
	handoff_done_fn fn = j->rdone;
	char tls[96];

	if (!j->early && smtpc_event(&j->up.smtp) == SMTPC_EV_RCPT) {
		const struct smtpc_result *v = smtpc_rcpt_last(&j->up.smtp);
		char text[sizeof(r.text)];

		if (v->code == 250)
			zegel_strf(text, sizeof(text), "Ok, accepted by %s: %s", j->peer, v->text);
		else
			zegel_strf(text, sizeof(text), "%s: %s", j->peer, v->text);
		handoff_result_set(&r, v->code, v->esc, text);
	} else if (job_finished(j)) {
		r = *job_result(j);
	} else {
		return;
	}
	if (r.code != 250) {
		char to[TEXT_LOG_ADDR_CAP];

		text_log_addr(to, sizeof(to), j->raddr);
		hal_log(HAL_LOG_INFO, LOGM, "%s: RCPT to=<%s>, relay=%s, tls=%s, refused (%d %s %s)",
		    j->m ? j->m->id : "-", to, j->peer,
		    upstream_tls_words(&j->up, tls, sizeof(tls)), r.code, r.esc, r.text);
	}
	j->rwait = false;
	fn(j->rarg, &r);
}

/* After every callback: report once, close when nothing is left to send,
 * release when nobody holds the job any more. */
static void
settle(struct job *j)
{
	if (j->data_given && !j->reported && job_finished(j))
		report(j);
	if (j->up.attached && job_finished(j) && (j->early || upstream_can_close(&j->up)))
		upstream_detach(&j->up);
	if (j->reported && !j->up.attached) {
		job_release(j);
		return;
	}
	if (j->rwait)
		rcpt_verdict(j);
}

/* smtpc's enter_state(): "old -> new" at debug level */
static void
trace_state(void *arg, const char *from, const char *to)
{
	struct job *j = arg;

	hal_log(HAL_LOG_DEBUG, LOGM, "%s: smtp client %s: %s -> %s", j->m ? j->m->id : "-",
	    j->peer, from, to);
}

/* The upstream connection's owner hooks (upstream_attach). */
static void
o_settle(void *arg)
{
	settle(arg);
}

/* Idle while the session waits for its LAN client: keep the upstream's
 * idle timer from running out (RFC 5321 4.1.1.9 NOOP). */
static bool
o_idle(void *arg)
{
	struct job *j = arg;

	return j->session && !j->data_given && !j->reported && !upstream_finished(&j->up) &&
	    j->up.smtp.state == SMTPC_S_ENVELOPE && smtpc_noop(&j->up.smtp) == 0;
}

static bool
o_unreachable(void *arg, int err)
{
	(void)err;
	return try_next_address(arg);
}

static const struct upstream_owner job_owner = {
	.settle = o_settle,
	.idle = o_idle,
	.unreachable = o_unreachable,
};

/* Connect to addrs[cur]; false if none is left or all fail at once. */
static bool
connect_from(struct job *j, const struct zcfg_relay *rc)
{
	for (; j->cur < j->naddr; j->cur++) {
		smarthost_peer_name(rc, &j->addrs[j->cur], j->peer, sizeof(j->peer));
		snprintf(j->up.peer, sizeof(j->up.peer), "%s", j->peer);
		if (upstream_attach(&j->up, &j->addrs[j->cur], smarthost_timeout_ms <
		    SMARTHOST_CONNECT_MS ? smarthost_timeout_ms : SMARTHOST_CONNECT_MS,
		    smarthost_timeout_ms, &job_owner, j) == 0)
			return true;
	}
	return false;
}

/* A connect that failed (refused, timeout): the next address if any. */
static bool
try_next_address(struct job *j)
{
	if (j->cur + 1 >= j->naddr || j->m == NULL)
		return false;
	hal_log(HAL_LOG_INFO, LOGM, "%s: relay %s not reachable, trying the next address", j->m->id,
	    j->peer);
	j->cur++;
	return connect_from(j, &j->m->cfg->relay);
}

static struct job *
job_alloc(const struct handoff_msg *m)
{
	for (int i = 0; i < SMARTHOST_JOBS; i++)
		if (!jobs[i].used) {
			struct job *j = &jobs[i];

			memset(j, 0, sizeof(*j));
			j->used = true;
			j->m = m;
			return j;
		}
	return NULL;
}

/* The smarthost's addresses are known (a literal at once, a name from the
 * resolver): connect to the first that takes. */
static void
job_connect(struct job *j)
{
	if (!connect_from(j, &j->m->cfg->relay))
		upstream_fail_io(&j->up, -ENETUNREACH);
}

/* The TLSA finding (hostaddr.h): DANE for this connection, or PKIX as
 * configured. 0 go on, -1 failed early. */
static int
job_dane(struct job *j, const struct hostaddr_req *q)
{
	const struct tls_client_conf *cc;
	char err[200];

	if (q->tlsa_looked_up || q->tlsa_why[0])
		hal_log(HAL_LOG_INFO, LOGM, "%s: relay %s: TLSA %s: %s%s%s -> %s", j->m->id,
		    j->m->cfg->relay.host, q->tlsa_qname[0] ? q->tlsa_qname : "not looked up",
		    q->tlsa_looked_up ? dns_status_str(q->tlsa_status) : "",
		    q->tlsa_looked_up ? ", " : "", q->tlsa_why,
		    q->dane == HOSTADDR_DANE_USABLE ? "DANE (no PKIX fallback)" : "PKIX");
	if (q->dane != HOSTADDR_DANE_USABLE)
		return 0;
	if ((cc = dane_tls_conf(err, sizeof(err))) == NULL) {
		early_fail(j, 451, "4.7.5", err);
		return -1;
	}
	/* SNI and the DANE-TA name check: the TLSA base domain; the next hop
	 * is the configured smarthost name (RFC 7672 3.2.2) */
	zegel_strf(j->up.tls_host, sizeof(j->up.tls_host), "%s", q->tlsa_base);
	dane_verify_init(&j->dv, q->tlsa, q->ntlsa, j->up.tls_host, q->host);
	upstream_set_verify(&j->up, dane_verify_hook, &j->dv, cc);
	j->dane = true;
	if (j->up.finished) { /* implicit TLS could not start again */
		early_fail(j, upstream_result(&j->up)->code, upstream_result(&j->up)->esc,
		    upstream_result(&j->up)->text);
		return -1;
	}
	return 0;
}

static void
job_resolved(void *arg, struct hostaddr_req *q)
{
	struct job *j = arg;

	if (!j->used || j->m == NULL)
		return;
	if (q->n <= 0) {
		hal_log(HAL_LOG_INFO, LOGM, "%s: relay %s: %s", j->m->id, j->m->cfg->relay.host,
		    q->err);
		early_fail(j, 451, q->tlsa_failed ? "4.7.5" : "4.4.3", q->err);
	} else {
		char ip[HAL_ADDR_STRLEN];

		hal_addr_format(&q->out[0], false, ip, sizeof(ip));
		hal_log(HAL_LOG_INFO, LOGM, "%s: relay %s: %d address%s (%s, validating resolver), "
		    "first %s", j->m->id, j->m->cfg->relay.host, q->n, q->n == 1 ? "" : "es",
		    q->any_insecure ? "insecure" : "secure", ip);
		j->naddr = (unsigned)q->n;
		if (job_dane(j, q) == 0)
			job_connect(j);
	}
	settle(j);
}

/* Addresses (or start looking the name up), load the CA bundle, set up the
 * client, connect. Failures before any connection end in j->fail (early),
 * the others in the upstream. */
static void
job_begin(struct job *j, const struct handoff_msg *m, bool stepwise)
{
	const struct zcfg_relay *rc = &m->cfg->relay;
	const struct tls_client_conf *cc;
	char err[200];
	int rv;

	zegel_strf(j->peer, sizeof(j->peer), "%s", rc->host);
	if (rc->host[0] == '\0') {
		early_fail(j, 451, "4.4.3", "no smarthost configured (set relay smarthost "
		    "HOST[:PORT])");
		return;
	}
	rv = hostaddr_now(rc->host, smarthost_port(rc), j->addrs, SMARTHOST_ADDRS, err,
	    sizeof(err));
	if (rv < 0) {
		early_fail(j, 451, "4.4.3", err);
		return;
	}
	j->naddr = (unsigned)rv;
	if (rv > 0)
		smarthost_peer_name(rc, &j->addrs[0], j->peer, sizeof(j->peer));
	if (smarthost_tls_conf(rc->ca_file, &cc, err, sizeof(err)) < 0) {
		early_fail(j, 451, "4.7.5", err);
		return;
	}
	j->params = (struct smtpc_params){
		.helo = m->cfg->hostname[0] ? m->cfg->hostname : "localhost",
		.mail_from = m->mail_from,
		.rcpts = stepwise ? NULL : m->rcpts,
		.nrcpt = stepwise ? 0 : m->nrcpt,
		.size = m->size,
		.body_8bit = m->body_8bit,
		.smtputf8 = m->smtputf8,
		/* RFC 8689: the smarthost's TLS is always authenticated (PKIX or
		 * DANE, above); smtpc asks for REQUIRETLS in its EHLO: 550 5.7.30 */
		.requiretls = m->requiretls,
		.implicit_tls = rc->implicit_tls,
		.username = rc->username,
		.password = rc->password,
		.stepwise = stepwise,
		.partial_ok = j->rres != NULL,
		.rcpt_results = j->rres,
	};
	rv = upstream_init(&j->up, &j->params, cc, rc->host, j->peer, m->prefix, m->prefix_len,
	    stepwise ? NULL : m->spool_path, false);
	j->up_init = true;
	if (rv < 0) {
		early_fail(j, 451, "4.3.0", "cannot read the spooled message");
		return;
	}
	smtpc_set_trace(&j->up.smtp, trace_state, j);
	if (j->naddr == 0) { /* a name: the validating resolver first, then job_resolved() */
		if (hostaddr_start_tlsa(&j->hq, rc->host, smarthost_port(rc), j->addrs,
		    SMARTHOST_ADDRS, job_resolved, j) != 0)
			early_fail(j, 451, "4.4.3", j->hq.err);
		return;
	}
	job_connect(j);
}

static int
sh_start(const struct handoff_msg *m, handoff_done_fn done, void *arg, void **handle)
{
	struct job *j = job_alloc(m);

	if (j == NULL)
		return -EBUSY;
	j->done = done;
	j->arg = arg;
	j->data_given = true;
	job_begin(j, m, false);
	*handle = j;
	settle(j); /* an early failure reports now (done() inside start()) */
	if (j->reported)
		*handle = NULL;
	return 0;
}

int
smarthost_deliver(const struct handoff_msg *m, struct smtpc_result *rres, handoff_done_fn done,
    void *arg, void **handle)
{
	struct job *j;

	*handle = NULL;
	if (rres == NULL || m->nrcpt == 0)
		return -EINVAL;
	if ((j = job_alloc(m)) == NULL)
		return -EBUSY;
	j->rres = rres;
	memset(rres, 0, m->nrcpt * sizeof(rres[0])); /* an early failure: no refusals */
	j->done = done;
	j->arg = arg;
	j->data_given = true;
	job_begin(j, m, false);
	*handle = j;
	settle(j);
	if (j->reported)
		*handle = NULL;
	return 0;
}

/* ------------------------------------------------------------ RCPT time */

static int
sh_open(const struct handoff_msg *env, void **handle)
{
	struct job *j = job_alloc(env);

	if (j == NULL)
		return -EBUSY;
	j->session = true;
	job_begin(j, env, true);
	if (!j->up.attached && job_finished(j))
		hal_log(HAL_LOG_INFO, LOGM, "%s: relay session to %s failed: %s %s", env->id,
		    j->peer, job_result(j)->esc, job_result(j)->text);
	*handle = j;
	return 0;
}

static int
sh_rcpt(void *handle, const char *addr, handoff_done_fn done, void *arg)
{
	struct job *j = handle;

	if (j == NULL || !j->used || !j->session || j->reported || j->data_given || j->rwait)
		return -EINVAL;
	if (!job_finished(j) && smtpc_rcpt(&j->up.smtp, addr) < 0 &&
	    smtpc_event(&j->up.smtp) != SMTPC_EV_FAILED)
		return -EINVAL;
	j->rdone = done;
	j->rarg = arg;
	zegel_strf(j->raddr, sizeof(j->raddr), "%s", addr);
	j->rwait = true;
	if (!j->early)
		upstream_poke(&j->up);
	settle(j); /* a session that already failed answers at once */
	return 0;
}

static int
sh_data(void *handle, const struct handoff_msg *m, handoff_done_fn done, void *arg)
{
	struct job *j = handle;

	if (j == NULL || !j->used || !j->session || j->reported || j->data_given || j->rwait)
		return -EINVAL;
	j->m = m;
	j->done = done;
	j->arg = arg;
	j->data_given = true;
	if (!job_finished(j)) {
		if (upstream_set_message(&j->up, m->prefix, m->prefix_len, m->spool_path) < 0) {
			early_fail(j, 451, "4.3.0", "cannot read the spooled message");
			smtpc_cancel(&j->up.smtp);
		} else if (smtpc_data(&j->up.smtp, m->size) < 0) {
			early_fail(j, 451, "4.3.0", "internal: the upstream session is not ready for "
			    "the message");
			smtpc_cancel(&j->up.smtp);
		}
		upstream_poke(&j->up);
	}
	settle(j);
	return 0;
}

static void
sh_cancel(void *handle)
{
	struct job *j = handle;

	if (j == NULL || !j->used || j->reported)
		return;
	if (j->data_given) {
		/* the client went away: drop the connection (mid-DATA: no final
		 * dot, so the upstream discards the partial message) */
		hal_log(HAL_LOG_INFO, LOGM, "%s: relay to %s cancelled: client gone",
		    j->m ? j->m->id : "?", j->peer);
		job_release(j);
		return;
	}
	/* a session before the message: QUIT, then close */
	hal_log(HAL_LOG_DEBUG, LOGM, "%s: relay session to %s ended by the client",
	    j->m ? j->m->id : "?", j->peer);
	j->reported = true;
	j->rwait = false;
	j->m = NULL;
	if (j->up_init && !j->early) {
		smtpc_cancel(&j->up.smtp);
		upstream_poke(&j->up);
	}
	if (j->up.attached && (!upstream_finished(&j->up) || !upstream_can_close(&j->up)))
		return; /* QUIT goes out; settle() closes and releases */
	job_release(j);
}

const struct handoff_target_ops relay_smarthost = {
	.name = "smarthost",
	.start = sh_start,
	.cancel = sh_cancel,
	.open = sh_open,
	.rcpt = sh_rcpt,
	.data = sh_data,
};
