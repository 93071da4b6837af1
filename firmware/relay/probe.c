/*
 * smarthost_probe_start(): `test relay` on the console and `zegel
 * relay-check`, a job on the event loop. It drives the same upstream glue
 * the relay target uses, with a TLS config that verifies optionally so the
 * certificate can be shown even when it is wrong. It never sends MAIL
 * (smtpc probe mode stops after EHLO over TLS) and reports failure when the
 * certificate does not verify.
 *
 * DANE as the relay target does it (smarthost.c): a name with secure
 * addresses gets its TLSA records looked up; usable ones mean the handshake
 * must match them (no CA bundle, no PKIX fallback, verified=dane), and the
 * probe prints the records and which one matched; otherwise PKIX with the
 * CA file. A bogus or indeterminate TLSA answer fails the probe (4.7.5)
 * before any connection.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/core/loop.h"
#include "hal/pools.h"
#include "firmware/relay/hostaddr.h"
#include "firmware/relay/smarthost.h"
#include "firmware/relay/upstream.h"
#include "firmware/tls/dane.h"

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
say(void (*emit)(void *, const char *), void *arg, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(arg, line);
}

/* Static: one probe at a time, and the struct is large for a stack. It
 * holds one loop stream (the upstream) and one timer (the deadline). */
_Static_assert(POOL_PROBES == 1, "one probe: hal/include/hal/pools.h");
static struct upstream pu;
static struct tls_client_conf probe_conf;
static bool probe_conf_loaded;
static struct dane_verify pdv;
static bool pdane;               /* this probe checks the certificate with DANE */
static char tlsa_text[DANE_TLSA_TEXT_MAX];
static struct {
	bool running;
	int timer;
	struct smtpc_params params;
	char helo[ZCFG_NAME_MAX];
	void (*emit)(void *arg, const char *line);
	void (*done)(void *arg, int rc);
	void *arg;
	/* `test relay` with a host name: looked up on the loop first */
	struct zcfg_relay relay;
	uint32_t timeout_ms;
	struct hostaddr_req hq;
	struct hal_addr addrs[1];
} async = { .timer = -1 };

/* What the TLSA lookup found (q: the name's lookup; NULL for an IP literal). */
static void
probe_tlsa_say(const struct hostaddr_req *q, void (*emit)(void *arg, const char *line),
    void *arg)
{
	if (q == NULL || (!q->tlsa_looked_up && q->tlsa_why[0] == '\0')) {
		say(emit, arg, "relay: TLSA: not looked up (an IP address or localhost): PKIX");
		return;
	}
	if (!q->tlsa_looked_up) {
		say(emit, arg, "relay: TLSA: not looked up (%s): PKIX", q->tlsa_why);
		return;
	}
	say(emit, arg, "relay: TLSA %s: %s, %s", q->tlsa_qname, dns_status_str(q->tlsa_status),
	    q->tlsa_why);
	for (unsigned i = 0; i < q->ntlsa; i++) {
		dane_tlsa_format(&q->tlsa[i], tlsa_text, sizeof(tlsa_text));
		say(emit, arg, "relay: TLSA %.300s usable", tlsa_text);
	}
	if (q->dane == HOSTADDR_DANE_USABLE)
		say(emit, arg, "relay: DANE: the certificate must match a TLSA record (no PKIX "
		    "fallback)");
	else
		say(emit, arg, "relay: no usable TLSA: PKIX with the CA file");
}

/* For address a (q: its name's lookup, NULL for a literal or localhost):
 * load the CA bundle or the DANE config, announce, set up pu. 0, or -1
 * (said why). */
static int
probe_prepare(const struct zcfg_relay *r, const char *helo, const struct hal_addr *a,
    const struct hostaddr_req *q, struct smtpc_params *params,
    void (*emit)(void *arg, const char *line), void *arg)
{
	char err[200], peer[HAL_ADDR_STRLEN + ZCFG_NAME_MAX + 4];
	const struct tls_client_conf *cc;

	pdane = false;
	probe_conf_loaded = false;
	*params = (struct smtpc_params){ .helo = helo, .mail_from = "", .rcpts = "", .nrcpt = 0,
		.implicit_tls = r->implicit_tls, .probe = true };
	smarthost_peer_name(r, a, peer, sizeof(peer));
	probe_tlsa_say(q, emit, arg);
	if (q != NULL && q->dane == HOSTADDR_DANE_USABLE) {
		if ((cc = dane_tls_conf(err, sizeof(err))) == NULL) {
			say(emit, arg, "relay: %s", err);
			return -1;
		}
		say(emit, arg, "relay: connecting to %s (%s, DANE with %u usable TLSA record%s)",
		    peer, r->implicit_tls ? "implicit TLS" : "STARTTLS", q->ntlsa,
		    q->ntlsa == 1 ? "" : "s");
		if (upstream_init(&pu, params, cc, q->tlsa_base, peer, NULL, 0, NULL, true) < 0)
			return -1;
		dane_verify_init(&pdv, q->tlsa, q->ntlsa, pu.tls_host, q->host);
		upstream_set_verify(&pu, dane_verify_hook, &pdv, cc);
		pdane = true;
		return 0;
	}
	if (tls_client_conf_load(&probe_conf, r->ca_file, true, err, sizeof(err)) < 0) {
		say(emit, arg, "relay: %s", err);
		return -1;
	}
	probe_conf_loaded = true;
	say(emit, arg, "relay: connecting to %s (%s, CA file %s)", peer,
	    r->implicit_tls ? "implicit TLS" : "STARTTLS", probe_conf.ca_file);
	if (upstream_init(&pu, params, &probe_conf, r->host, peer, NULL, 0, NULL, true) < 0) {
		tls_client_conf_free(&probe_conf);
		probe_conf_loaded = false;
		return -1;
	}
	return 0;
}

/* What the probe found; frees pu and the TLS config. 0 verified, -1 not. */
static int
probe_report(void (*emit)(void *arg, const char *line), void *arg)
{
	const struct handoff_result *res;
	int rc;

	if (pu.tls.handshaken || pu.tls.subject[0]) {
		say(emit, arg, "relay: certificate subject: %s", pu.tls.subject);
		say(emit, arg, "relay: certificate issuer:  %s", pu.tls.issuer);
		say(emit, arg, "relay: certificate expires: %s UTC", pu.tls.not_after);
	}
	if (pdane && pdv.matched >= 0 && (unsigned)pdv.matched < pdv.ntlsa) {
		dane_tlsa_format(&pdv.tlsa[pdv.matched], tlsa_text, sizeof(tlsa_text));
		say(emit, arg, "relay: DANE: matched TLSA %.300s at depth %d", tlsa_text,
		    pdv.matched_depth);
	} else if (pdane) {
		say(emit, arg, "relay: DANE: no TLSA record matched (%s)",
		    pdv.why[0] ? pdv.why : tls_client_why(&pu.tls));
	}
	if (pu.tls.handshaken)
		say(emit, arg, "relay: TLS: %s, %s, verified=%s", tls_client_version(&pu.tls),
		    tls_client_suite(&pu.tls), pu.tls.verified_by ? pu.tls.verified_by : "no");
	if (!upstream_finished(&pu))
		upstream_fail_io(&pu, -ETIMEDOUT);
	res = upstream_result(&pu);
	rc = res->code == 250 && pu.tls.handshaken && pu.tls.verified_by ? 0 : -1;
	say(emit, arg, "relay: %s: %d %s %s", rc == 0 ? "OK" : "FAILED", res->code, res->esc,
	    res->text);
	upstream_free(&pu);
	if (probe_conf_loaded)
		tls_client_conf_free(&probe_conf);
	probe_conf_loaded = false;
	return rc;
}

/* ------------------------------------------------------------ on the loop */

static void
async_settle(bool force)
{
	void (*done)(void *, int) = async.done;
	void *arg = async.arg;
	int rc;

	if (!async.running)
		return;
	if (!force && !(upstream_finished(&pu) && (upstream_can_close(&pu) || !pu.attached)))
		return;
	upstream_detach(&pu);
	if (async.timer >= 0)
		loop_timer_cancel(async.timer);
	async.timer = -1;
	rc = probe_report(async.emit, async.arg);
	async.running = false;
	done(arg, rc);
}

static void
o_settle(void *arg)
{
	(void)arg;
	async_settle(false);
}

static const struct upstream_owner probe_owner = { .settle = o_settle };

static void
a_deadline(void *arg)
{
	(void)arg;
	async.timer = -1;
	upstream_fail_io(&pu, -ETIMEDOUT);
	async_settle(true);
}

/* pu is set up for address a: connect (the verdict comes from the loop). */
static void
async_connect(const struct hal_addr *a, uint32_t timeout_ms)
{
	int rc;

	async.timer = loop_timer_add(timeout_ms, a_deadline, NULL);
	rc = upstream_attach(&pu, a, timeout_ms, timeout_ms, &probe_owner, NULL);
	if (rc < 0) {
		upstream_fail_io(&pu, rc);
		/* report from the loop, not inside the command */
		if (async.timer >= 0)
			loop_timer_cancel(async.timer);
		async.timer = loop_timer_add(0, a_deadline, NULL);
		if (async.timer < 0)
			async_settle(true);
	}
}

/* The smarthost's name was looked up (validating resolver, hostaddr.h). */
static void
probe_resolved(void *arg, struct hostaddr_req *q)
{
	(void)arg;
	if (q->n > 0 && probe_prepare(&async.relay, async.helo, &async.addrs[0], q,
	    &async.params, async.emit, async.arg) == 0) {
		async_connect(&async.addrs[0], async.timeout_ms);
		return;
	}
	if (q->n <= 0)
		say(async.emit, async.arg, "relay: FAILED: %s%s", q->tlsa_failed ? "451 4.7.5 " : "",
		    q->err);
	async.running = false;
	async.done(async.arg, -1);
}

int
smarthost_probe_start(const struct zcfg_relay *r, const char *helo, uint32_t timeout_ms,
    void (*emit)(void *arg, const char *line), void (*done)(void *arg, int rc), void *arg)
{
	struct hal_addr a;
	char err[200];
	uint16_t port = r->port ? r->port : (r->implicit_tls ? 465 : 587);
	int n;

	if (async.running)
		return -EBUSY;
	snprintf(async.helo, sizeof(async.helo), "%s", helo);
	n = hostaddr_now(r->host, port, &a, 1, err, sizeof(err));
	if (n == 0) { /* a name: never a blocking lookup inside the daemon */
		async.relay = *r;
		async.timeout_ms = timeout_ms;
		if (hostaddr_start_tlsa(&async.hq, r->host, port, async.addrs, 1, probe_resolved,
		    NULL) != 0) {
			say(emit, arg, "relay: %s", async.hq.err);
			return -EINVAL;
		}
		say(emit, arg, "relay: looking up %s with the validating resolver", r->host);
		async.emit = emit;
		async.done = done;
		async.arg = arg;
		async.running = true;
		return 0;
	}
	if (n < 0) {
		say(emit, arg, "relay: %s", err);
		return -EINVAL;
	}
	if (probe_prepare(r, async.helo, &a, NULL, &async.params, emit, arg) < 0)
		return -EINVAL;
	async.emit = emit;
	async.done = done;
	async.arg = arg;
	async.running = true;
	async_connect(&a, timeout_ms);
	return 0;
}

bool
smarthost_probe_running(void)
{
	return async.running;
}
