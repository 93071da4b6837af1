/*
 * The inbound check of `check domain`: MX present, TLSA records per MX host
 * (DANE, RFC 7672) and whether they match the certificate the host serves.
 * It runs the dane-check job (dane_check.h, the same planner and TLS glue
 * the direct relay uses) in its every-host mode and turns the plan and the
 * per-host verdicts into checklist lines; dane-check's own lines are not
 * shown.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/app/check_domain_int.h"
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC) && IS_ENABLED(CONFIG_FEATURE_TLS)
#include "firmware/app/dane_check.h"
#include "zegel/text.h"

static void
discard(void *arg, const char *line)
{
	(void)arg;
	(void)line;
}

static void
mx_line(const struct mxplan *p)
{
	char hosts[600] = "";
	size_t l = 0;

	for (unsigned i = 0; i < p->nhosts && l < sizeof(hosts); i++)
		l += (size_t)snprintf(hosts + l, sizeof(hosts) - l, "%s%u %s", i ? ", " : "",
		    p->hosts[i].pref, p->hosts[i].name);
	cd_item(CD_PASS, "mx", NULL, "%s: %s%s", cd.domain, hosts,
	    p->mx_status == DNS_SECURE ? "" : " (insecure: not DNSSEC-signed)");
}

/* The MX RRset: false when there is nothing more to say about hosts. */
static bool
judge_mx(const struct mxplan *p)
{
	char fix[400];

	zegel_strf(fix, sizeof(fix), "%s. IN MX 10 mail.%s.", cd.domain, cd.domain);
	if (p->mx_status == DNS_BOGUS || p->mx_status == DNS_INDETERMINATE) {
		cd_item(CD_FAIL, "mx", NULL, "%s: %s (%s)", cd.domain, dns_status_str(p->mx_status),
		    p->reason);
		return false;
	}
	if (p->null_mx) {
		cd_item(CD_WARN, "mx", NULL, "%s has a null MX (RFC 7505): it accepts no mail",
		    cd.domain);
		return false;
	}
	if (p->nhosts == 0) {
		cd_item(CD_FAIL, "mx", fix, "%s: no mail host (%s)", cd.domain, p->reason);
		return false;
	}
	if (p->implicit_mx)
		cd_item(CD_WARN, "mx", fix, "%s has no MX record: senders fall back to its address",
		    cd.domain);
	else
		mx_line(p);
	return true;
}

/* The TLSA side of host h, before any connection. */
static void
judge_tlsa(const struct mxplan *p, const struct mxplan_host *h)
{
	char fix[600];

	zegel_strf(fix, sizeof(fix), "_%u._tcp.%s. IN TLSA 3 1 1 <SHA-256 of the public key %s "
	    "serves>", p->port, h->tlsa_base[0] ? h->tlsa_base : h->name, h->name);
	if (h->naddr == 0) {
		cd_item(CD_FAIL, "tlsa", NULL, "%s: no address (%s)", h->name, h->why);
	} else if (!h->tlsa_looked_up) {
		cd_item(CD_WARN, "tlsa", "sign the zone, then publish TLSA records for the MX hosts",
		    "%s: no DANE (%s)", h->name, h->why);
	} else if (h->tlsa_status == DNS_BOGUS || h->tlsa_status == DNS_INDETERMINATE) {
		cd_item(CD_FAIL, "tlsa", NULL, "_%u._tcp.%s: %s (%s)", p->port, h->tlsa_base,
		    dns_status_str(h->tlsa_status), h->why);
	} else if (h->tls == MXPLAN_DANE) {
		cd_item(CD_PASS, "tlsa", NULL, "_%u._tcp.%s: %u usable record%s (secure)", p->port,
		    h->tlsa_base, h->ntlsa, h->ntlsa == 1 ? "" : "s");
	} else if (h->addr_status != DNS_SECURE || h->tlsa_status != DNS_SECURE) {
		cd_item(CD_WARN, "tlsa", "sign the zone of the MX host, then publish its TLSA record",
		    "%s is in an unsigned zone: no DANE for mail to %s", h->name, cd.domain);
	} else if (h->tlsa_denied) {
		cd_item(CD_WARN, "tlsa", fix, "_%u._tcp.%s: no TLSA record: senders use TLS without "
		    "authentication", p->port, h->tlsa_base);
	} else {
		cd_item(CD_WARN, "tlsa", fix, "_%u._tcp.%s: no usable TLSA record (%u seen; DANE "
		    "uses 2 x x and 3 x x)", p->port, h->tlsa_base, h->ntlsa_seen);
	}
}

static void
on_plan(void *arg, const struct mxplan *p)
{
	(void)arg;
	if (!judge_mx(p))
		return;
	cd.hosts_planned = p->nhosts;
	for (unsigned i = 0; i < p->nhosts; i++)
		judge_tlsa(p, &p->hosts[i]);
}

static void
on_host(void *arg, const struct mxplan_host *h, enum dc_verdict v, const char *why)
{
	char fix[600];

	(void)arg;
	cd.hosts_told++;
	zegel_strf(fix, sizeof(fix), "publish _%u._tcp.%s. IN TLSA 3 1 1 <SHA-256 of the public "
	    "key %s serves>, or serve the certificate the records name", cd.op.mx_port,
	    h->tlsa_base, h->name);
	if (h->tls == MXPLAN_DANE && v == DC_VERIFIED)
		cd_item(CD_PASS, "dane", NULL, "%s: the TLSA records match the certificate it "
		    "serves", h->name);
	else if (h->tls == MXPLAN_DANE)
		cd_item(CD_FAIL, "dane", h->naddr ? fix : NULL, "%s: not DANE-verified (%s): DANE "
		    "senders defer all mail to it", h->name, why);
	else if (v == DC_PLAINTEXT)
		cd_item(CD_WARN, "starttls", "offer STARTTLS on the MX host", "%s offers no "
		    "STARTTLS", h->name);
	else if (v == DC_FAILED && h->naddr > 0)
		cd_item(CD_WARN, "starttls", NULL, "%s: no usable connection (%s)", h->name, why);
	cd.dane_verified_any |= v == DC_VERIFIED;
}

static void
on_done(void *arg, int rc)
{
	(void)arg;
	(void)rc;
	if (cd.hosts_told < cd.hosts_planned)
		cd_item(CD_WARN, "dane", NULL, "%u MX host%s not tried: the time budget of %u s "
		    "was used up", cd.hosts_planned - cd.hosts_told,
		    cd.hosts_planned - cd.hosts_told == 1 ? "" : "s",
		    (unsigned)(cd.op.budget_ms / 1000));
	cd_resume();
}

static bool
mx_job(void)
{
	static const struct dc_out o = { .emit = discard, .plan = on_plan, .host = on_host };
	struct dc_opts op = { .port = cd.op.mx_port ? cd.op.mx_port : 25, .helo = cd.op.helo,
		.budget_ms = cd.op.budget_ms, .all_hosts = true };

	cd.op.mx_port = op.port;
	if (dane_check_start(&o, cd.domain, &op, on_done, NULL) != 0) {
		cd_item(CD_WARN, "mx", "run check domain again when the dane-check is done",
		    "not checked: a dane-check is running");
		return false;
	}
	return true;
}

const struct cd_phase cd_phase_mx = { .name = "mx", .job = mx_job };

#else

static bool
mx_job(void)
{
	cd_item(CD_WARN, "mx", NULL, "not checked: this firmware was built without DNSSEC or TLS support");
	return false;
}

const struct cd_phase cd_phase_mx = { .name = "mx", .job = mx_job };

#endif
