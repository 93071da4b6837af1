/*
 * zegel dane-check [--resolver IP[:PORT]] [--anchor FILE] [--now UNIXTIME] [--port N] DOMAIN
 * and the console command `dane-check DOMAIN`.
 *
 * What the direct relay would do for mail to DOMAIN, shown as Postfix's
 * posttls-finger does: the route plan (firmware/relay/mxplan.h: MX, A/AAAA,
 * TLSA, each validated by zegel's own DNSSEC resolver, resolver.h), then a connection to the hosts in MX order (every address),
 * EHLO, STARTTLS and the handshake with the policy the plan gave that host:
 * DANE (dane_verify_hook: authenticated or nothing), encrypt (any
 * certificate), may (STARTTLS when offered, else plaintext). It sends no
 * mail: it stops after the EHLO over TLS and QUITs.
 *
 * The first host that gives a usable outcome decides. A DANE host that fails
 * authentication or does not offer STARTTLS (stripping) is passed over for
 * the next address / MX host, as the relay would (RFC 7672 2.2, 2.3). One fact
 * per line (the format is a contract with tests/e2e/dane_check.sh):
 *   mx: addr: tlsa: connect: tls: cert: match: host: status:
 * the last line being the decision: status: verified|encrypted|plaintext HOST,
 * or status: deferred (REASON). Exit 0 / 1 (deferred) / 2 (usage).
 *
 * Certificate dates are checked against the system clock (mbedTLS); --now
 * sets the time for DNSSEC validation only.
 *
 * It runs as a job on the event loop, the daemon's own (the console: mail
 * keeps flowing meanwhile, the lines come as they are found) or the one
 * `zegel dane-check` sets up (firmware/app/tool_loop.h), with the same
 * resolver, planner and upstream glue the direct relay uses.
 *
 * Time: each connection gets at most 15 s, all of them together 120 s (30 s
 * on the console; the DNS lookups come on top, bounded by the resolver's own
 * work and time limits). One check at a time; the console queues a few.
 *
 * A "may" host whose TLS handshake fails is reported failed and passed over;
 * the relay may instead retry it in plaintext (RFC 7672 2.2 allows both).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC) && IS_ENABLED(CONFIG_FEATURE_TLS)
#include "firmware/app/dane_check.h"
#include "firmware/app/tool_loop.h"
#include "firmware/console/console.h"
#include "firmware/core/loop.h"
#include "hal/pools.h"
#include "firmware/dns/dns.h"
#include "firmware/dns/resolver.h"
#include "firmware/relay/mxplan.h"
#include "firmware/relay/upstream.h"
#include "firmware/tls/dane.h"
#include "hal/clock.h"
#include "hal/net.h"
#include "zegel/cfg.h"
#include "zegel/text.h"

#define DANE_CHECK_TIMEOUT_MS 15000          /* per connection */
#define DANE_CHECK_BUDGET_MS 120000          /* all connections of `zegel dane-check` */
#define DANE_CHECK_CONSOLE_BUDGET_MS 30000   /* on the console */
#define DANE_CHECK_CONSOLE_QUEUE 4           /* console checks waiting for the running one */

/* The one check (large: static): one loop stream and one timer at a time. */
_Static_assert(POOL_DANE_CHECKS == 1, "one dane-check: hal/include/hal/pools.h");
static struct {
	bool running;
	struct dc_out o;
	uint16_t port;
	char helo[ZCFG_NAME_MAX];
	uint32_t budget_ms;
	bool all_hosts;         /* check domain: every host, each once */
	bool host_said;         /* o.host told about dc.host already */
	void (*done)(void *arg, int rc);
	void *done_arg;
	int dns_id, timer;
	unsigned host, addr;    /* the next candidate */
	uint64_t deadline;
	char last[300];         /* the last failure, for the final line */
	bool up_live;           /* an attempt is running in up */
	struct mxplan plan;
	struct dns_result res;  /* a lookup that could not even be asked */
	struct smtpc_params params; /* the engine keeps a pointer: lives as long as up */
	struct upstream up;
	struct dane_verify v;
} dc;	/* zero (.bss): dane_check_start() sets dns_id and timer to -1 */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
say(const struct dc_out *o, const char *fmt, ...)
{
	char line[DANE_TLSA_TEXT_MAX + 300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	o->emit(o->arg, line);
}

/* ------------------------------------------------------------ the plan */

static void
print_plan(const struct dc_out *o, const struct mxplan *p)
{
	char line[600];
	size_t l;

	if (p->mx_status == DNS_BOGUS || p->mx_status == DNS_INDETERMINATE || p->permanent) {
		say(o, "mx: %s %s (%s)", p->domain, dns_status_str(p->mx_status), p->reason);
		return;
	}
	if (p->implicit_mx) {
		say(o, "mx: %s %s implicit", p->domain, dns_status_str(p->mx_status));
	} else {
		l = (size_t)snprintf(line, sizeof(line), "mx: %s %s", p->domain,
		    dns_status_str(p->mx_status));
		for (unsigned i = 0; i < p->nhosts && l < sizeof(line); i++)
			l += (size_t)snprintf(line + l, sizeof(line) - l, " %u %s", p->hosts[i].pref,
			    p->hosts[i].name);
		o->emit(o->arg, line);
	}
	for (unsigned i = 0; i < p->nhosts; i++) {
		const struct mxplan_host *h = &p->hosts[i];

		if (!h->addr_looked_up)
			continue;
		if (h->naddr == 0) {
			say(o, "addr: %s %s (%s)", h->name, dns_status_str(h->addr_status), h->why);
		} else {
			l = (size_t)snprintf(line, sizeof(line), "addr: %s %s", h->name,
			    dns_status_str(h->addr_status));
			for (unsigned k = 0; k < h->naddr && l < sizeof(line); k++) {
				char ip[HAL_ADDR_STRLEN];
				hal_addr_format(&h->addrs[k], false, ip, sizeof(ip));
				l += (size_t)snprintf(line + l, sizeof(line) - l, " %s", ip);
			}
			if (h->cname_target[0] && l < sizeof(line))
				snprintf(line + l, sizeof(line) - l, " (CNAME %s, %s)", h->cname_target,
				    h->cname_secure ? "secure" : "not secure");
			o->emit(o->arg, line);
		}
		if (!h->tlsa_looked_up) {
			if (h->naddr > 0)
				say(o, "tlsa: _%u._tcp.%s not-looked-up (%s)", p->port, h->name, h->why);
			continue;
		}
		if (h->tlsa_status == DNS_BOGUS || h->tlsa_status == DNS_INDETERMINATE)
			say(o, "tlsa: _%u._tcp.%s %s (%s)", p->port, h->tlsa_base,
			    dns_status_str(h->tlsa_status), h->why);
		else
			say(o, "tlsa: _%u._tcp.%s %s %u records%s", p->port, h->tlsa_base,
			    dns_status_str(h->tlsa_status), h->ntlsa_seen,
			    h->tlsa_denied ? " (NXDOMAIN/NODATA)" : "");
		for (unsigned k = 0; k < h->ntlsa; k++) {
			char t[DANE_TLSA_TEXT_MAX];
			dane_tlsa_format(&h->tlsa[k], t, sizeof(t));
			say(o, "tlsa: _%u._tcp.%s %s %s", p->port, h->tlsa_base, t,
			    dane_tlsa_usable(&h->tlsa[k]) ? "usable" : "unusable");
		}
	}
}

/* ------------------------------------------------------------ one connection */

enum outcome { OUT_FAILED = DC_FAILED, OUT_VERIFIED = DC_VERIFIED, OUT_ENCRYPTED = DC_ENCRYPTED,
	OUT_PLAINTEXT = DC_PLAINTEXT };

static void next_attempt(void);
static void console_next(void);

static void
finish(int rc)
{
	void (*done)(void *, int) = dc.done;

	dc.running = false;
	done(dc.done_arg, rc);
	console_next();	/* a console check may wait for check domain's job */
}

/* What the attempt at host h came to; why gets the failure. Frees dc.up. */
static enum outcome
attempt_outcome(const struct mxplan_host *h, const char *peer, char *why, size_t cap)
{
	const struct handoff_result *res = upstream_result(&dc.up);
	const struct smtpc_result *sr = smtpc_result(&dc.up.smtp);
	const struct dc_out *o = &dc.o;
	bool dane = h->tls == MXPLAN_DANE;
	enum outcome out = OUT_FAILED;

	if (dc.up.tls.handshaken)
		say(o, "tls: %s %s %s", peer, tls_client_version(&dc.up.tls),
		    tls_client_suite(&dc.up.tls));
	if (dc.up.tls.subject[0])
		say(o, "cert: subject=%s issuer=%s not-after=%s", dc.up.tls.subject,
		    dc.up.tls.issuer, dc.up.tls.not_after);
	if (dane && dc.up.tls.subject[0]) {
		if (dc.v.matched >= 0 && dc.up.tls.verified_by != NULL) {
			char t[DANE_TLSA_TEXT_MAX];
			dane_tlsa_format(&h->tlsa[dc.v.matched], t, sizeof(t));
			say(o, "match: %s depth %d", t, dc.v.matched_depth);
		} else {
			say(o, "match: none (%s)", dc.v.why[0] ? dc.v.why : tls_client_why(&dc.up.tls));
		}
	}
	if (res->code == 250 && dc.up.tls.handshaken && dc.up.tls.verified_by != NULL) {
		out = strcmp(dc.up.tls.verified_by, "dane") == 0 ? OUT_VERIFIED : OUT_ENCRYPTED;
		if (dane && out != OUT_VERIFIED) { /* cannot happen: the hook decides */
			out = OUT_FAILED;
			zegel_strf(why, cap, "4.7.5 not DANE-verified");
		}
	} else if (h->tls == MXPLAN_MAY && !dc.up.tls_on &&
	    (sr->err == SMTPC_E_NO_STARTTLS || sr->err == SMTPC_E_STARTTLS)) {
		out = OUT_PLAINTEXT;
	} else if (dane && !dc.up.tls_on &&
	    (sr->err == SMTPC_E_NO_STARTTLS || sr->err == SMTPC_E_STARTTLS)) {
		zegel_strf(why, cap, "4.7.5 STARTTLS %s where DANE requires TLS (%s)",
		    sr->err == SMTPC_E_NO_STARTTLS ? "not offered" : "refused", res->text);
	} else {
		zegel_strf(why, cap, "%s %s", res->esc, res->text);
	}
	upstream_free(&dc.up);
	return out;
}

/* check domain's per-host callback, once per host. */
static void
tell_host(const struct mxplan_host *h, enum dc_verdict v, const char *why)
{
	if (dc.o.host != NULL && !dc.host_said)
		dc.o.host(dc.o.arg, h, v, why);
	dc.host_said = true;
}

/* The host's verdict: the final line, or on to the next candidate. */
static void
host_verdict(const struct mxplan_host *h, enum outcome r, const char *why)
{
	static const char *const word[] = { "failed", "verified", "encrypted", "plaintext" };

	if (r != OUT_FAILED) {
		say(&dc.o, "host: %s %s", h->name, word[r]);
		if (dc.all_hosts) {
			tell_host(h, (enum dc_verdict)r, "");
			dc.host++;
			dc.addr = 0;
			dc.host_said = false;
			next_attempt();
			return;
		}
		say(&dc.o, "status: %s %s", word[r], h->name);
		finish(0);
		return;
	}
	say(&dc.o, "host: %s failed (%s)", h->name, why);
	zegel_strf(dc.last, sizeof(dc.last), "%s: %s", h->name, why);
	next_attempt();
}

/* The running attempt has its verdict (or ran out of time). */
static void
attempt_end(void)
{
	const struct mxplan_host *h = &dc.plan.hosts[dc.host];
	char why[300] = "", peer[sizeof(dc.up.peer)];
	enum outcome r;

	if (!dc.up_live)
		return;
	dc.up_live = false;
	if (dc.timer >= 0)
		loop_timer_cancel(dc.timer);
	dc.timer = -1;
	upstream_detach(&dc.up);
	if (!upstream_finished(&dc.up))
		upstream_fail_io(&dc.up, -ETIMEDOUT);
	memcpy(peer, dc.up.peer, sizeof(peer));
	r = attempt_outcome(h, peer, why, sizeof(why));
	host_verdict(h, r, why);
}

static void
o_settle(void *arg)
{
	(void)arg;
	if (upstream_finished(&dc.up) && (upstream_can_close(&dc.up) || !dc.up.attached))
		attempt_end();
}

static const struct upstream_owner dc_owner = { .settle = o_settle };

static void
on_deadline(void *arg)
{
	(void)arg;
	dc.timer = -1;
	attempt_end();
}

/* Connect to address a of host h with its policy. 0: the verdict comes
 * from the loop; -1: failed at once (why). */
static int
attempt_start(const struct mxplan_host *h, const struct hal_addr *a, uint32_t timeout_ms,
    char *why, size_t cap)
{
	char ip[HAL_ADDR_STRLEN], peer[HAL_ADDR_STRLEN + MXPLAN_NAME_MAX + 16], err[200];
	const struct tls_client_conf *cc = dane_tls_conf(err, sizeof(err));
	bool dane = h->tls == MXPLAN_DANE;
	int rc;

	if (cc == NULL) {
		zegel_strf(why, cap, "%s", err);
		return -1;
	}
	hal_addr_format(a, false, ip, sizeof(ip));
	snprintf(peer, sizeof(peer), "%s[%s]:%u", h->name, ip, a->port);
	say(&dc.o, "connect: %s", peer);
	dc.params = (struct smtpc_params){ .helo = dc.helo, .mail_from = "", .rcpts = "",
		.nrcpt = 0, .probe = true, .tls_mode = SMTPC_TLS_REQUIRED };
	/* SNI: the TLSA base domain for DANE (RFC 7672 8.1), else the MX name */
	if (upstream_init(&dc.up, &dc.params, cc, dane ? h->tlsa_base : h->name, peer, NULL, 0, NULL,
	    true) < 0) {
		zegel_strf(why, cap, "cannot set up the connection");
		return -1;
	}
	if (dane) {
		dane_verify_init(&dc.v, h->tlsa, h->ntlsa, h->tlsa_base, dc.plan.domain);
		upstream_set_verify(&dc.up, dane_verify_hook, &dc.v, cc);
	} else {
		upstream_set_verify(&dc.up, dane_encrypt_only_hook, NULL, cc);
	}
	dc.up_live = true;
	dc.timer = loop_timer_add(timeout_ms, on_deadline, NULL);
	rc = upstream_attach(&dc.up, a, timeout_ms, timeout_ms, &dc_owner, NULL);
	if (rc < 0) {
		upstream_fail_io(&dc.up, rc);
		attempt_end();
	}
	return 0;
}

/* The next address / MX host in order, until one gives a usable outcome. */
static void
next_attempt(void)
{
	const struct mxplan *p = &dc.plan;
	char why[300];

	while (dc.host < p->nhosts) {
		const struct mxplan_host *h = &p->hosts[dc.host];
		uint64_t now = hal_clock_mono_ms();
		uint32_t t;

		if (h->tls == MXPLAN_SKIP || dc.addr >= h->naddr) {
			if (h->tls == MXPLAN_SKIP) {
				say(&dc.o, "host: %s failed (%s)", h->name, h->why);
				zegel_strf(dc.last, sizeof(dc.last), "%s: %s", h->name, h->why);
			}
			tell_host(h, DC_FAILED, h->tls == MXPLAN_SKIP || h->naddr == 0 ? h->why :
			    dc.last);
			dc.host++;
			dc.addr = 0;
			dc.host_said = false;
			continue;
		}
		if (now + 1000 > dc.deadline) {
			say(&dc.o, "status: deferred (4.4.1 time budget of %u s used up; %s)",
			    (unsigned)(dc.budget_ms / 1000), dc.last[0] ? dc.last : "no answer");
			finish(1);
			return;
		}
		t = dc.deadline - now < DANE_CHECK_TIMEOUT_MS ? (uint32_t)(dc.deadline - now) :
		    DANE_CHECK_TIMEOUT_MS;
		if (attempt_start(h, &h->addrs[dc.addr++], t, why, sizeof(why)) == 0)
			return;
		say(&dc.o, "host: %s failed (%s)", h->name, why);
		zegel_strf(dc.last, sizeof(dc.last), "%s: %s", h->name, why);
	}
	say(&dc.o, "status: deferred (%s)", dc.last[0] ? dc.last : "no MX host");
	finish(1);
}

/* ------------------------------------------------------------ the check */

static void plan_step(void);

static void
on_dns(void *arg, const struct dns_result *res)
{
	(void)arg;
	dc.dns_id = -1;
	mxplan_answer(&dc.plan, res);
	plan_step();
}

/* Ask the plan's questions one by one; then connect. */
static void
plan_step(void)
{
	struct mxplan *p = &dc.plan;
	char name[MXPLAN_NAME_MAX + 32];
	uint16_t qtype;

	while (mxplan_next(p, name, sizeof(name), &qtype) == MXPLAN_QUERY) {
		int id = resolver_lookup(name, qtype, on_dns, NULL);

		if (id >= 0) {
			dc.dns_id = id;
			return;
		}
		memset(&dc.res, 0, offsetof(struct dns_result, data));
		dc.res.status = DNS_INDETERMINATE;
		zegel_strf(dc.res.reason, sizeof(dc.res.reason), "%s %s",
		    id == -EINVAL ? "bad name" : "resolver busy for", name);
		mxplan_answer(p, &dc.res);
	}
	print_plan(&dc.o, p);
	if (dc.o.plan != NULL)
		dc.o.plan(dc.o.arg, p);
	if (p->permanent) {
		say(&dc.o, "status: deferred (%s %s; permanent)", p->esc, p->reason);
		finish(1);
		return;
	}
	if (p->deferred && p->nhosts == 0) {
		say(&dc.o, "status: deferred (%s %s)", p->esc, p->reason);
		finish(1);
		return;
	}
	dc.last[0] = '\0';
	dc.host = dc.addr = 0;
	dc.deadline = hal_clock_mono_ms() + dc.budget_ms;
	next_attempt();
}

/* Start the check of domain; done(arg, 0 | 1 deferred) follows, from the
 * loop or (a plan that needs no lookup) at once. -EBUSY: one is running. */
int
dane_check_start(const struct dc_out *o, const char *domain, const struct dc_opts *op,
    void (*done)(void *arg, int rc), void *arg)
{
	if (dc.running)
		return -EBUSY;
	dc.running = true;
	dc.o = *o;
	zegel_strf(dc.helo, sizeof(dc.helo), "%s", op->helo);
	dc.budget_ms = op->budget_ms;
	dc.all_hosts = op->all_hosts;
	dc.host_said = false;
	dc.done = done;
	dc.done_arg = arg;
	dc.dns_id = dc.timer = -1;
	dc.up_live = false;
	mxplan_init(&dc.plan, domain, op->port, false);
	plan_step();
	return 0;
}

/* ------------------------------------------------------------ command line */

static int
usage(void)
{
	fprintf(stderr, "usage: zegel dane-check [--resolver IP[:PORT]] [--anchor FILE] "
			"[--now UNIXTIME] [--mx-port N] DOMAIN\n");
	return 2;
}

/* A DNS name with at least one label? */
static bool
domain_ok(const char *d)
{
	uint8_t w[DNS_NAME_MAX];
	uint16_t wl;

	return dns_name_from_text(d, w, &wl) == DNS_E_OK && wl > 1;
}

int
cmd_dane_check(int argc, char **argv)
{
	static struct tool_dns t;	/* large (a struct zcfg): .bss, filled here */
	struct dc_out o = { .emit = tool_emit_stdout };
	struct dc_opts op = { .port = 25, .helo = "localhost", .budget_ms = DANE_CHECK_BUDGET_MS };
	int i, k, rc = 1;

	t.prog = "zegel dane-check";
	t.server_opt = "--resolver";
	t.with_now = true;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		char *end;
		long v;

		if ((k = tool_dns_option(&t, argc, argv, &i)) < 0)
			return 2;
		if (k > 0)
			continue;
		/* --mx-port as check-domain and `set relay mx-port`; --port is its old name */
		if ((strcmp(argv[i], "--mx-port") != 0 && strcmp(argv[i], "--port") != 0) ||
		    i + 1 >= argc)
			return usage();
		v = strtol(argv[++i], &end, 10);
		if (*end || end == argv[i] || v < 1 || v > 65535) {
			fprintf(stderr, "zegel dane-check: bad %s '%s'\n", argv[i - 1], argv[i]);
			return 2;
		}
		op.port = (uint16_t)v;
	}
	if (argc - i != 1)
		return usage();
	if (tool_dns_start(&t, true) != 0)
		return 2;
	if (!domain_ok(argv[i])) {
		fprintf(stderr, "zegel dane-check: bad domain '%s'\n", argv[i]);
		return 2;
	}
	if (dane_check_start(&o, argv[i], &op, tool_done_rc, &rc) != 0)
		return 2;
	if (tool_loop_run(DANE_CHECK_BUDGET_MS + 480000u) != 0) {
		printf("status: deferred (no verdict in time)\n");
		return 1;
	}
	return rc;
}

/* ------------------------------------------------------------ console */

/* Checks asked for while one runs, in order. */
static struct {
	struct console *c;
	char domain[MXPLAN_NAME_MAX];
} waiting[DANE_CHECK_CONSOLE_QUEUE];
static unsigned nwaiting;

static void
emit_console(void *arg, const char *line)
{
	console_async_puts(arg, line);
}

static void
console_done(void *arg, int rc)
{
	(void)rc;
	console_job_end(arg);
	console_next();
}

static void
console_next(void)
{
	const struct zcfg *cfg = zcfg_running();
	struct dc_opts op = { .port = cfg->relay.mx_port ? cfg->relay.mx_port : 25,
		.helo = cfg->hostname[0] ? cfg->hostname : "localhost",
		.budget_ms = DANE_CHECK_CONSOLE_BUDGET_MS };
	struct dc_out o = { .emit = emit_console };
	char domain[MXPLAN_NAME_MAX];

	if (dc.running || nwaiting == 0)
		return;
	o.arg = waiting[0].c;
	memcpy(domain, waiting[0].domain, sizeof(domain));
	memmove(&waiting[0], &waiting[1], (nwaiting - 1) * sizeof(waiting[0]));
	nwaiting--;
	(void)dane_check_start(&o, domain, &op, console_done, o.arg);
}

static int
console_dane_check(struct console *c, int argc, char **argv, const char *line)
{
	(void)line;
	if (argc != 1) {
		console_puts(c, "dane-check: usage: dane-check DOMAIN");
		return 1;
	}
	if (!domain_ok(argv[0]) || strlen(argv[0]) >= sizeof(waiting[0].domain)) {
		console_printf(c, "dane-check: bad domain '%s'", argv[0]);
		return 1;
	}
	if (nwaiting == DANE_CHECK_CONSOLE_QUEUE) {
		console_puts(c, "dane-check: too many checks waiting; try again later");
		return 1;
	}
	if (dc.running)
		console_printf(c, "dane-check: %s waits for the running check", argv[0]);
	waiting[nwaiting].c = c;
	zegel_strf(waiting[nwaiting].domain, sizeof(waiting[0].domain), "%s", argv[0]);
	nwaiting++;
	console_job_begin(c);
	console_next();
	return 0;
}

static const struct console_cmd dane_cmds[] = {
	{ "dane-check", "DOMAIN",
	    "how mail to DOMAIN would go (MX, TLSA, STARTTLS, DANE); sends no mail; runs in "
	    "the background (DNS, then up to 30 s of connections), mail keeps flowing",
	    console_dane_check },
};

int
dane_console_register(void)
{
	return console_register(dane_cmds, sizeof(dane_cmds) / sizeof(dane_cmds[0]));
}

#else

int
cmd_dane_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel dane-check: this firmware was built without DNSSEC or TLS support\n");
	return 2;
}

#endif
