/*
 * zegel dane-check [--resolver IP[:PORT]] [--anchor FILE] [--now UNIXTIME] [--port N] DOMAIN
 * and the console command `dane-check DOMAIN`.
 *
 * What the direct relay would do for mail to DOMAIN, shown as Postfix's
 * posttls-finger does: the route plan (firmware/relay/mxplan.h: MX, A/AAAA,
 * TLSA, each validated by zegel's own DNSSEC resolver with blocking
 * dns_lookup), then a connection to the hosts in MX order (every address),
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
 * Time: each connection gets at most 15 s, all of them together 120 s (30 s
 * on the console, which blocks the event loop meanwhile: the DNS lookups
 * come on top, bounded by the resolver's own work and time limits).
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
#include "firmware/console/console.h"
#include "firmware/dns/dns.h"
#include "firmware/dns/transport.h"
#include "firmware/dns/resolver.h"
#include "hal/storage.h"
#include "firmware/relay/mxplan.h"
#include "firmware/relay/upstream.h"
#include "firmware/tls/dane.h"
#include "hal/clock.h"
#include "hal/net.h"
#include "zegel/cfg.h"
#include "zegel/text.h"

#define DANE_CHECK_TIMEOUT_MS 15000          /* per connection */
#define DANE_CHECK_BUDGET_MS 120000          /* all connections of `zegel dane-check` */
#define DANE_CHECK_CONSOLE_BUDGET_MS 30000   /* on the console, which it blocks */

/* Large: static, one check at a time. */
static struct dns_ctx dc_ctx;
static struct dns_result dc_res;
static struct dns_transport dc_tr;
static struct mxplan dc_plan;
static struct upstream dc_up;
static struct dane_verify dc_v;
static char dc_anchors[65536];

struct dc_out {
	void (*emit)(void *arg, const char *line);
	void *arg;
};

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

/* A small text file, NUL-terminated: 0 or -errno (-EFBIG: too large). */
static int
read_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	int rc = hal_storage_get(path, buf, cap - 1, &len);

	buf[rc == 0 ? len : 0] = '\0';
	return rc;
}

static void
resolv_conf(struct dns_transport *t)
{
	t->nservers = resolver_resolv_conf(t->servers, DNS_XFER_MAX_SERVERS);
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

/* Drive dc_up over a blocking poll loop until it has a verdict. */
static void
drive(const struct hal_addr *a, uint32_t timeout_ms)
{
	upstream_run_blocking(&dc_up, a, timeout_ms);
}

enum outcome { OUT_FAILED = 0, OUT_VERIFIED, OUT_ENCRYPTED, OUT_PLAINTEXT };

/* One attempt at host h, address a, with its policy. why gets the failure. */
static enum outcome
attempt(const struct dc_out *o, const struct mxplan *p, const struct mxplan_host *h,
    const struct hal_addr *a, const char *helo, uint32_t timeout_ms, char *why, size_t cap)
{
	struct smtpc_params params = { .helo = helo, .mail_from = "", .rcpts = "", .nrcpt = 0,
		.probe = true, .tls_mode = SMTPC_TLS_REQUIRED };
	char ip[HAL_ADDR_STRLEN], peer[HAL_ADDR_STRLEN + MXPLAN_NAME_MAX + 16], err[200];
	const struct tls_client_conf *cc = dane_tls_conf(err, sizeof(err));
	const struct handoff_result *res;
	const struct smtpc_result *sr;
	bool dane = h->tls == MXPLAN_DANE;
	enum outcome out = OUT_FAILED;

	if (cc == NULL) {
		zegel_strf(why, cap, "%s", err);
		return OUT_FAILED;
	}
	hal_addr_format(a, false, ip, sizeof(ip));
	snprintf(peer, sizeof(peer), "%s[%s]:%u", h->name, ip, a->port);
	say(o, "connect: %s", peer);
	/* SNI: the TLSA base domain for DANE (RFC 7672 8.1), else the MX name */
	if (upstream_init(&dc_up, &params, cc, dane ? h->tlsa_base : h->name, peer, NULL, 0, NULL,
	    true) < 0) {
		zegel_strf(why, cap, "cannot set up the connection");
		return OUT_FAILED;
	}
	if (dane) {
		dane_verify_init(&dc_v, h->tlsa, h->ntlsa, h->tlsa_base, p->domain);
		upstream_set_verify(&dc_up, dane_verify_hook, &dc_v, cc);
	} else {
		upstream_set_verify(&dc_up, dane_encrypt_only_hook, NULL, cc);
	}
	drive(a, timeout_ms);
	res = upstream_result(&dc_up);
	sr = smtpc_result(&dc_up.smtp);
	if (dc_up.tls.handshaken)
		say(o, "tls: %s %s %s", peer, tls_client_version(&dc_up.tls),
		    tls_client_suite(&dc_up.tls));
	if (dc_up.tls.subject[0])
		say(o, "cert: subject=%s issuer=%s not-after=%s", dc_up.tls.subject,
		    dc_up.tls.issuer, dc_up.tls.not_after);
	if (dane && dc_up.tls.subject[0]) {
		if (dc_v.matched >= 0 && dc_up.tls.verified_by != NULL) {
			char t[DANE_TLSA_TEXT_MAX];
			dane_tlsa_format(&h->tlsa[dc_v.matched], t, sizeof(t));
			say(o, "match: %s depth %d", t, dc_v.matched_depth);
		} else {
			say(o, "match: none (%s)", dc_v.why[0] ? dc_v.why : tls_client_why(&dc_up.tls));
		}
	}
	if (res->code == 250 && dc_up.tls.handshaken && dc_up.tls.verified_by != NULL) {
		out = strcmp(dc_up.tls.verified_by, "dane") == 0 ? OUT_VERIFIED : OUT_ENCRYPTED;
		if (dane && out != OUT_VERIFIED) { /* cannot happen: the hook decides */
			out = OUT_FAILED;
			zegel_strf(why, cap, "4.7.5 not DANE-verified");
		}
	} else if (h->tls == MXPLAN_MAY && !dc_up.tls_on &&
	    (sr->err == SMTPC_E_NO_STARTTLS || sr->err == SMTPC_E_STARTTLS)) {
		out = OUT_PLAINTEXT;
	} else if (dane && !dc_up.tls_on &&
	    (sr->err == SMTPC_E_NO_STARTTLS || sr->err == SMTPC_E_STARTTLS)) {
		zegel_strf(why, cap, "4.7.5 STARTTLS %s where DANE requires TLS (%s)",
		    sr->err == SMTPC_E_NO_STARTTLS ? "not offered" : "refused", res->text);
	} else {
		zegel_strf(why, cap, "%s %s", res->esc, res->text);
	}
	upstream_free(&dc_up);
	return out;
}

/* ------------------------------------------------------------ the check */

struct dc_opts {
	int64_t now;
	uint16_t port;
	const char *helo;
	uint32_t budget_ms;     /* for all connections together */
};

/* dc_ctx is set up. Returns 0 (verified/encrypted/plaintext) or 1 (deferred). */
static int
dane_check(const struct dc_out *o, const char *domain, const struct dc_opts *op)
{
	struct mxplan *p = &dc_plan;
	char name[MXPLAN_NAME_MAX + 32], why[300], last[300];
	uint16_t qtype;
	uint64_t deadline;

	mxplan_init(p, domain, op->port, false);
	while (mxplan_next(p, name, sizeof(name), &qtype) == MXPLAN_QUERY) {
		if (dns_lookup(&dc_ctx, name, qtype, op->now, &dc_res) != 0) {
			memset(&dc_res, 0, offsetof(struct dns_result, data));
			dc_res.status = DNS_INDETERMINATE;
			zegel_strf(dc_res.reason, sizeof(dc_res.reason), "bad name %s", name);
		}
		mxplan_answer(p, &dc_res);
	}
	print_plan(o, p);
	if (p->permanent) {
		say(o, "status: deferred (%s %s; permanent)", p->esc, p->reason);
		return 1;
	}
	if (p->deferred && p->nhosts == 0) {
		say(o, "status: deferred (%s %s)", p->esc, p->reason);
		return 1;
	}
	last[0] = '\0';
	deadline = hal_clock_mono_ms() + op->budget_ms;
	for (unsigned i = 0; i < p->nhosts; i++) {
		const struct mxplan_host *h = &p->hosts[i];

		if (h->tls == MXPLAN_SKIP) {
			say(o, "host: %s failed (%s)", h->name, h->why);
			zegel_strf(last, sizeof(last), "%s: %s", h->name, h->why);
			continue;
		}
		for (unsigned k = 0; k < h->naddr; k++) {
			uint64_t now = hal_clock_mono_ms();
			enum outcome r;

			if (now + 1000 > deadline) {
				say(o, "status: deferred (4.4.1 time budget of %u s used up; %s)",
				    (unsigned)(op->budget_ms / 1000), last[0] ? last : "no answer");
				return 1;
			}
			r = attempt(o, p, h, &h->addrs[k], op->helo,
			    deadline - now < DANE_CHECK_TIMEOUT_MS ? (uint32_t)(deadline - now) :
			    DANE_CHECK_TIMEOUT_MS, why, sizeof(why));
			switch (r) {
			case OUT_VERIFIED:
				say(o, "host: %s verified", h->name);
				say(o, "status: verified %s", h->name);
				return 0;
			case OUT_ENCRYPTED:
				say(o, "host: %s encrypted", h->name);
				say(o, "status: encrypted %s", h->name);
				return 0;
			case OUT_PLAINTEXT:
				say(o, "host: %s plaintext", h->name);
				say(o, "status: plaintext %s", h->name);
				return 0;
			case OUT_FAILED:
				say(o, "host: %s failed (%s)", h->name, why);
				zegel_strf(last, sizeof(last), "%s: %s", h->name, why);
				break;
			}
		}
	}
	say(o, "status: deferred (%s)", last[0] ? last : "no MX host");
	return 1;
}

/* ------------------------------------------------------------ command line */

static void
emit_stdout(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

static int
usage(void)
{
	fprintf(stderr, "usage: zegel dane-check [--resolver IP[:PORT]] [--anchor FILE] "
			"[--now UNIXTIME] [--port N] DOMAIN\n");
	return 2;
}

/* Anchors from a file (NULL: the built-in root KSKs). 0 or -1 (said why). */
static int
load_anchors(const char *file, char *err, size_t cap)
{
	int line = 0, rc;

	if (file == NULL || file[0] == '\0')
		return 0;
	rc = read_file(file, dc_anchors, sizeof(dc_anchors));
	if (rc != 0) {
		zegel_strf(err, cap, "%s: %s", file, strerror(-rc));
		return -1;
	}
	if (dns_ctx_set_anchors(&dc_ctx, dc_anchors, &line) != 0) {
		zegel_strf(err, cap, "%s:%d: expected DS or DNSKEY records for '.'", file, line);
		return -1;
	}
	return 0;
}

int
cmd_dane_check(int argc, char **argv)
{
	struct dc_out o = { emit_stdout, NULL };
	struct dc_opts op = { .now = hal_clock_now(), .port = 25, .helo = "localhost",
		.budget_ms = DANE_CHECK_BUDGET_MS };
	const char *anchor_file = NULL;
	char err[300];
	int i;

	memset(&dc_tr, 0, sizeof(dc_tr));
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		char *end;
		if (strcmp(argv[i], "--resolver") == 0 && i + 1 < argc) {
			if (dc_tr.nservers >= DNS_XFER_MAX_SERVERS ||
			    hal_addr_parse(&dc_tr.servers[dc_tr.nservers], argv[++i], 53) != 0) {
				fprintf(stderr, "zegel dane-check: bad or too many --resolver '%s'\n",
				    argv[i]);
				return 2;
			}
			dc_tr.nservers++;
		} else if (strcmp(argv[i], "--anchor") == 0 && i + 1 < argc) {
			anchor_file = argv[++i];
		} else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
			long long v = strtoll(argv[++i], &end, 10);
			if (*end || end == argv[i] || v < 0) {
				fprintf(stderr, "zegel dane-check: bad --now '%s'\n", argv[i]);
				return 2;
			}
			op.now = v;
		} else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
			long v = strtol(argv[++i], &end, 10);
			if (*end || end == argv[i] || v < 1 || v > 65535) {
				fprintf(stderr, "zegel dane-check: bad --port '%s'\n", argv[i]);
				return 2;
			}
			op.port = (uint16_t)v;
		} else {
			return usage();
		}
	}
	if (argc - i != 1)
		return usage();
	if (dc_tr.nservers == 0)
		resolv_conf(&dc_tr);
	if (dc_tr.nservers == 0) {
		fprintf(stderr, "zegel dane-check: no --resolver and none in /etc/resolv.conf\n");
		return 2;
	}
	dns_ctx_init(&dc_ctx, dns_transport_fetch, &dc_tr);
	if (load_anchors(anchor_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "zegel dane-check: %s\n", err);
		return 2;
	}
	{
		uint8_t w[DNS_NAME_MAX];
		uint16_t wl;
		if (dns_name_from_text(argv[i], w, &wl) != DNS_E_OK || wl <= 1) {
			fprintf(stderr, "zegel dane-check: bad domain '%s'\n", argv[i]);
			return 2;
		}
	}
	return dane_check(&o, argv[i], &op);
}

/* ------------------------------------------------------------ console */

static void
emit_console(void *arg, const char *line)
{
	console_puts(arg, line);
}

static int
console_dane_check(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *cfg = zcfg_running();
	struct dc_out o = { emit_console, c };
	struct dc_opts op = { .now = hal_clock_now(),
		.port = cfg->relay.mx_port ? cfg->relay.mx_port : 25,
		.helo = cfg->hostname[0] ? cfg->hostname : "localhost",
		.budget_ms = DANE_CHECK_CONSOLE_BUDGET_MS };
	char err[300];

	(void)line;
	if (argc != 1) {
		console_puts(c, "dane-check: usage: dane-check DOMAIN");
		return 1;
	}
	memset(&dc_tr, 0, sizeof(dc_tr));
	for (unsigned k = 0; k < cfg->nresolvers && k < DNS_XFER_MAX_SERVERS; k++)
		dc_tr.servers[dc_tr.nservers++] = cfg->resolvers[k];
	if (dc_tr.nservers == 0)
		resolv_conf(&dc_tr);
	if (dc_tr.nservers == 0) {
		console_puts(c, "dane-check: no resolver (set resolver IP[:PORT])");
		return 1;
	}
	dns_ctx_init(&dc_ctx, dns_transport_fetch, &dc_tr);
	if (load_anchors(cfg->resolver_anchors, err, sizeof(err)) != 0) {
		console_printf(c, "dane-check: %s", err);
		return 1;
	}
	(void)dane_check(&o, argv[0], &op);
	return 0;
}

static const struct console_cmd dane_cmds[] = {
	{ "dane-check", "DOMAIN",
	    "how mail to DOMAIN would go (MX, TLSA, STARTTLS, DANE); sends no mail; blocks "
	    "the console and the relay while it runs (DNS, then up to 30 s of connections)", console_dane_check },
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
	fprintf(stderr, "zegel dane-check: built without CONFIG_FEATURE_DNSSEC/TLS\n");
	return 2;
}

int
dane_console_register(void)
{
	return 0;
}

#endif
