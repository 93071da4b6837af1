/*
 * The record checks of `check domain`: DNSSEC (the zone's DNSKEY set),
 * DMARC (RFC 7489), MTA-STS discovery (RFC 8461 3.1) and TLS-RPT (RFC 8460
 * 3). Each asks one or two questions and says its verdicts.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/app/check_domain_int.h"
#include "firmware/app/check_domain_txt.h"
#include "zegel/config.h"
#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)
#include "firmware/mailauth/dmarc.h"
#endif
#include "zegel/text.h"

/* ------------------------------------------------------------ DNSSEC */

/* DNSKEY algorithm numbers (IANA "DNS Security Algorithm Numbers"). */
static const char *
alg_name(unsigned a)
{
	static const struct { unsigned n; const char *s; } t[] = {
		{ 1, "RSAMD5" }, { 3, "DSA" }, { 5, "RSASHA1" }, { 6, "DSA-NSEC3-SHA1" },
		{ 7, "RSASHA1-NSEC3-SHA1" }, { 8, "RSASHA256" }, { 10, "RSASHA512" },
		{ 12, "ECC-GOST" }, { 13, "ECDSAP256SHA256" }, { 14, "ECDSAP384SHA384" },
		{ 15, "ED25519" }, { 16, "ED448" },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].n == a)
			return t[i].s;
	return "unknown";
}

/* RFC 8624 3.1: signing with these MUST NOT / NOT RECOMMENDED. */
static bool
alg_deprecated(unsigned a)
{
	return a == 1 || a == 3 || a == 5 || a == 6 || a == 7 || a == 12;
}

static bool dnssec_asked;

static void
dnssec_begin(void)
{
	dnssec_asked = false;
}

static bool
dnssec_ask(char *name, size_t cap, uint16_t *type)
{
	if (dnssec_asked)
		return false;
	dnssec_asked = true;
	zegel_strf(name, cap, "%s", cd.domain);
	*type = DNS_T_DNSKEY;
	return true;
}

/* "13 ECDSAP256SHA256, 8 RSASHA256" from the DNSKEY records; *old when one
 * of them is deprecated. */
static void
dnskey_algs(const struct dns_result *res, char *out, size_t cap, bool *old)
{
	bool seen[256] = { false };
	size_t l = 0;

	out[0] = '\0';
	*old = false;
	for (unsigned k = 0; k < res->nrr; k++) {
		const struct dns_result_rr *rr = &res->rr[k];
		unsigned a;

		if (rr->type != DNS_T_DNSKEY || rr->rdlen < 4)
			continue;
		a = res->data[rr->rd_off + 3];
		if (seen[a])
			continue;
		seen[a] = true;
		*old |= alg_deprecated(a);
		if (l < cap)
			l += (size_t)snprintf(out + l, cap - l, "%s%u %s", l ? ", " : "", a, alg_name(a));
	}
}

static void
dnssec_answer(const struct dns_result *res)
{
	char algs[200];
	bool old;

	cd.zone = res->status;
	cd.zone_known = true;
	if (cd_dns_trouble(res, "dnssec", cd.domain))
		return;
	if (res->status == DNS_INSECURE) {
		cd_item(CD_FAIL, "dnssec", "sign the zone (algorithm 13 or 15) and publish its DS "
		    "record at the parent", "%s is not signed (no chain of trust from the root): "
		    "no DANE, and every record below can be forged", cd.domain);
		return;
	}
	dnskey_algs(res, algs, sizeof(algs), &old);
	if (algs[0] == '\0') {
		cd_item(CD_PASS, "dnssec", NULL, "%s is secure from the root (inside a signed zone)",
		    cd.domain);
		return;
	}
	cd_item(old ? CD_WARN : CD_PASS, "dnssec", "roll to algorithm 13 (ECDSAP256SHA256) or "
	    "15 (ED25519) (RFC 8624)", "%s is signed and secure from the root (algorithm %s)%s",
	    cd.domain, algs, old ? "; a deprecated algorithm" : "");
}

const struct cd_phase cd_phase_dnssec = {
	.name = "dnssec", .begin = dnssec_begin, .ask = dnssec_ask, .answer = dnssec_answer,
};

/* ------------------------------------------------------------ DMARC */

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)
/* Discovery (RFC 7489 6.6.3) and the parser are firmware/mailauth/dmarc.h's;
 * the organisational domain comes from Debian's public suffix list. */
static struct dmarc_find df;
static char org_how[200];

static void
dmarc_begin(void)
{
	char org[DMARC_NAME_MAX];

	if (dmarc_org_domain(cd.domain, NULL, org, sizeof(org), org_how, sizeof(org_how)) != 0)
		zegel_strf(org, sizeof(org), "%s", cd.domain);
	zegel_strf(cd.org, sizeof(cd.org), "%s", org);
	dmarc_find_init(&df, cd.domain, org);
}

static bool
dmarc_ask(char *name, size_t cap, uint16_t *type)
{
	return dmarc_find_next(&df, name, cap, type) == DMARC_QUERY;
}

static void
dmarc_missing(void)
{
	char fix[600];

	zegel_strf(fix, sizeof(fix), "_dmarc.%s. IN TXT \"v=DMARC1; p=none; "
	    "rua=mailto:dmarc-reports@%s\" (then p=quarantine once the reports are clean)",
	    cd.domain, cd.domain);
	if (strcmp(cd.org, cd.domain) != 0)
		cd_item(CD_FAIL, "dmarc", fix, "no record at _dmarc.%s nor at _dmarc.%s", cd.domain,
		    cd.org);
	else
		cd_item(CD_FAIL, "dmarc", fix, "no record at _dmarc.%s", cd.domain);
}

/* The policy that applies to cd.domain: sp= when inherited (6.6.3). */
static enum dmarc_policy
applied(const struct dmarc_record *m)
{
	if (df.from_org && m->sp != DMARC_P_UNSET)
		return m->sp;
	return m->effective;
}

static void
dmarc_judge(const struct dmarc_record *m)
{
	enum dmarc_policy p = applied(m);
	char from[300] = "", fix[600], rua[300];

	zegel_strf(rua, sizeof(rua), "mailto:dmarc-reports@%s", df.from_org ? cd.org : cd.domain);
	if (df.from_org)
		zegel_strf(from, sizeof(from), " (inherited from %s, its %s= applies)", cd.org,
		    m->sp != DMARC_P_UNSET ? "sp" : "p");
	zegel_strf(fix, sizeof(fix), "%s. IN TXT \"v=DMARC1; p=%s; rua=%s\"", df.where,
	    p == DMARC_P_NONE ? "quarantine" : dmarc_policy_str(p),
	    m->rua[0] ? m->rua : rua);
	if (m->nerr > 0)
		cd_item(CD_FAIL, "dmarc", fix, "%s: %s", df.where, m->err[0]);
	else if (p == DMARC_P_NONE)
		cd_item(CD_WARN, "dmarc", fix, "p=none%s: receivers only report, forged mail is "
		    "delivered; next step: p=quarantine", from);
	else if (m->pct < 100)
		cd_item(CD_WARN, "dmarc", fix, "p=%s pct=%u%s: the policy covers only part of the "
		    "mail", dmarc_policy_str(p), m->pct, from);
	else
		cd_item(CD_PASS, "dmarc", NULL, "p=%s%s, alignment DKIM %s / SPF %s%s",
		    dmarc_policy_str(p), from, m->adkim == 's' ? "strict" : "relaxed",
		    m->aspf == 's' ? "strict" : "relaxed", df.dnssec == DNS_SECURE ? "" :
		    " (insecure: not DNSSEC-signed)");
	if (m->rua[0] == '\0')
		cd_item(CD_WARN, "dmarc-rua", fix, "no rua=: nobody receives the aggregate reports");
	else
		cd_item(CD_PASS, "dmarc-rua", NULL, "reports go to %s", m->rua);
}

static void
dmarc_answer(const struct dns_result *res)
{
	dmarc_find_answer(&df, res);
}

/* The verdict once discovery is over (dmarc_ask said no more). */
static bool
dmarc_ask_and_judge(char *name, size_t cap, uint16_t *type)
{
	if (dmarc_ask(name, cap, type))
		return true;
	if (df.found == DMARC_FOUND)
		dmarc_judge(&df.rec);
	else if (df.found == DMARC_MULTIPLE)
		cd_item(CD_FAIL, "dmarc", "keep one v=DMARC1 record", "%s: %s", df.where, df.why);
	else if (df.found == DMARC_TEMPERROR)
		cd_item(CD_FAIL, "dmarc", NULL, "%s", df.why);
	else
		dmarc_missing();
	if (strcmp(cd.org, cd.domain) != 0 && strncmp(org_how, "last two", 8) == 0)
		cd_report_more(&cd.r, "note", org_how);
	return false;
}

const struct cd_phase cd_phase_dmarc = {
	.name = "dmarc", .begin = dmarc_begin, .ask = dmarc_ask_and_judge, .answer = dmarc_answer,
};
#else
static bool
dmarc_off(char *name, size_t cap, uint16_t *type)
{
	(void)name;
	(void)cap;
	(void)type;
	cd_item(CD_WARN, "dmarc", NULL, "not checked: this firmware was built without DNSSEC support");
	return false;
}

const struct cd_phase cd_phase_dmarc = { .name = "dmarc", .ask = dmarc_off };
#endif

/* ------------------------------------------------------------ MTA-STS */

static unsigned sts_asked;	/* 0, 1 (the TXT), 2 (the policy host) */

static void
sts_begin(void)
{
	sts_asked = 0;
}

static bool
sts_ask(char *name, size_t cap, uint16_t *type)
{
	if (sts_asked == 2 || (sts_asked == 1 && !cd.sts_found))
		return false;
	zegel_strf(name, cap, sts_asked == 0 ? "_mta-sts.%s" : "mta-sts.%s", cd.domain);
	*type = sts_asked == 0 ? DNS_T_TXT : DNS_T_A;
	sts_asked++;
	return true;
}

static void
sts_txt(const struct dns_result *res)
{
	char why[CDT_WHY_MAX];
	struct cdt_sts s;
	unsigned n = 0;
	int l;

	zegel_strf(cd.txt, sizeof(cd.txt), "_mta-sts.%s", cd.domain);
	if (cd_dns_trouble(res, "mta-sts", cd.txt))
		return;
	for (unsigned i = 0; (l = cd_txt(res, i)) >= 0; i++) {
		enum cdt_verdict v = cdt_sts_parse(cd.txt, (size_t)l, &s, why, sizeof(why));

		if (v == CDT_BAD) {
			cd_item(CD_FAIL, "mta-sts", "_mta-sts.DOMAIN. IN TXT \"v=STSv1; id=20260101\"",
			    "_mta-sts.%s is malformed: %s", cd.domain, why);
			return;
		}
		if (v == CDT_OK && n++ == 0)
			memcpy(cd.sts_id, s.id, sizeof(cd.sts_id));
	}
	if (n > 1) {
		cd_item(CD_FAIL, "mta-sts", "keep one v=STSv1 record", "_mta-sts.%s has %u records: "
		    "senders treat that as no policy (RFC 8461 3.1)", cd.domain, n);
	} else if (n == 0) {
		cd_item(cd.dane_verified_any ? CD_PASS : CD_WARN, "mta-sts", "publish a policy at "
		    "https://mta-sts.DOMAIN/.well-known/mta-sts.txt and _mta-sts.DOMAIN. IN TXT "
		    "\"v=STSv1; id=1\"", "no record at _mta-sts.%s%s", cd.domain,
		    cd.dane_verified_any ? " (DANE already protects inbound mail)" :
		    ": senders without DANE may deliver in plaintext");
	} else {
		cd.sts_found = true;
	}
}

static void
sts_host(const struct dns_result *res)
{
	char fix[600];
	bool addr = false;

	for (unsigned k = 0; k < res->nrr; k++)
		addr |= res->rr[k].type == DNS_T_A;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE || !addr) {
		zegel_strf(fix, sizeof(fix), "serve the policy at https://mta-sts.%s/.well-known/"
		    "mta-sts.txt (mta-sts.%s needs an address and a certificate), or remove "
		    "_mta-sts.%s", cd.domain, cd.domain, cd.domain);
		cd_item(CD_FAIL, "mta-sts", fix, "_mta-sts.%s id=%s but no policy host: mta-sts.%s "
		    "has no address (%s)", cd.domain, cd.sts_id, cd.domain,
		    res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE ? res->reason :
		    dns_status_str(res->status));
		return;
	}
	cd_item(CD_PASS, "mta-sts", NULL, "_mta-sts.%s id=%s, policy host mta-sts.%s has an "
	    "address (the policy itself is not fetched: no HTTPS client here)", cd.domain,
	    cd.sts_id, cd.domain);
}

static void
sts_answer(const struct dns_result *res)
{
	if (sts_asked == 1)
		sts_txt(res);
	else
		sts_host(res);
}

const struct cd_phase cd_phase_sts = {
	.name = "mta-sts", .begin = sts_begin, .ask = sts_ask, .answer = sts_answer,
};

/* ------------------------------------------------------------ TLS-RPT */

static bool tlsrpt_asked;

static void
tlsrpt_begin(void)
{
	tlsrpt_asked = false;
}

static bool
tlsrpt_ask(char *name, size_t cap, uint16_t *type)
{
	if (tlsrpt_asked)
		return false;
	tlsrpt_asked = true;
	zegel_strf(name, cap, "_smtp._tls.%s", cd.domain);
	*type = DNS_T_TXT;
	return true;
}

static void
tlsrpt_answer(const struct dns_result *res)
{
	char why[CDT_WHY_MAX], fix[600];
	struct cdt_tlsrpt t, found;
	unsigned n = 0;
	int l;

	zegel_strf(cd.txt, sizeof(cd.txt), "_smtp._tls.%s", cd.domain);
	if (cd_dns_trouble(res, "tls-rpt", cd.txt))
		return;
	zegel_strf(fix, sizeof(fix), "_smtp._tls.%s. IN TXT \"v=TLSRPTv1; "
	    "rua=mailto:tlsrpt@%s\"", cd.domain, cd.domain);
	for (unsigned i = 0; (l = cd_txt(res, i)) >= 0; i++) {
		enum cdt_verdict v = cdt_tlsrpt_parse(cd.txt, (size_t)l, &t, why, sizeof(why));

		if (v == CDT_BAD) {
			cd_item(CD_FAIL, "tls-rpt", fix, "_smtp._tls.%s is malformed: %s", cd.domain,
			    why);
			return;
		}
		if (v == CDT_OK && n++ == 0)
			found = t;
	}
	if (n > 1)
		cd_item(CD_FAIL, "tls-rpt", "keep one v=TLSRPTv1 record", "_smtp._tls.%s has %u "
		    "records: senders report to none (RFC 8460 3)", cd.domain, n);
	else if (n == 0)
		cd_item(CD_WARN, "tls-rpt", fix, "no record at _smtp._tls.%s: nobody hears of "
		    "failed TLS deliveries", cd.domain);
	else
		cd_item(CD_PASS, "tls-rpt", NULL, "reports go to %s", found.rua);
}

const struct cd_phase cd_phase_tlsrpt = {
	.name = "tls-rpt", .begin = tlsrpt_begin, .ask = tlsrpt_ask, .answer = tlsrpt_answer,
};
