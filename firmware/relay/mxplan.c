/*
 * RFC 7672 route planner: MX, addresses, TLSA (see mxplan.h).
 */
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC) && IS_ENABLED(CONFIG_FEATURE_TLS)

#include <stdio.h>
#include <string.h>

#include "firmware/relay/hostplan.h"
#include "firmware/relay/mxplan.h"
#include "zegel/text.h"

enum { PH_MX = 0, PH_A, PH_AAAA, PH_TLSA, PH_TLSA_ORIG, PH_DONE };

const char *
mxplan_tls_str(enum mxplan_tls t)
{
	switch (t) {
	case MXPLAN_MAY: return "may";
	case MXPLAN_ENCRYPT: return "encrypt";
	case MXPLAN_DANE: return "dane";
	case MXPLAN_SKIP: return "skip";
	}
	return "?";
}

/* Copy a name the caller gave us, validated, without its trailing dot. */
static bool
set_name(char *dst, const char *src)
{
	uint8_t w[DNS_NAME_MAX];
	uint16_t wl;

	if (dns_name_from_text(src, w, &wl) != DNS_E_OK || wl <= 1)
		return false;
	return hostplan_name(w, dst, MXPLAN_NAME_MAX);
}

static void
plan_reset(struct mxplan *p, uint16_t port, bool require_tls)
{
	memset(p, 0, offsetof(struct mxplan, hosts));
	p->port = port;
	p->require_tls = require_tls;
	p->mx_status = DNS_INDETERMINATE;
}

static void
permanent(struct mxplan *p, const char *esc, const char *reason)
{
	p->permanent = true;
	zegel_strf(p->esc, sizeof(p->esc), "%s", esc);
	zegel_strf(p->reason, sizeof(p->reason), "%s", reason);
	p->phase = PH_DONE;
}

void
mxplan_init(struct mxplan *p, const char *domain, uint16_t port, bool require_tls)
{
	plan_reset(p, port, require_tls);
	p->phase = PH_MX;
	if (!set_name(p->domain, domain)) {
		zegel_strf(p->domain, sizeof(p->domain), "?");
		permanent(p, "5.1.2", "invalid domain name");
	}
}

static void
host_init(struct mxplan *p, struct mxplan_host *h, const char *name, uint16_t pref)
{
	memset(h, 0, offsetof(struct mxplan_host, tlsa));
	zegel_strf(h->name, sizeof(h->name), "%s", name);
	h->pref = pref;
	h->addr_status = DNS_INDETERMINATE;
	h->tlsa_status = DNS_INDETERMINATE;
	h->tls = MXPLAN_MAY;
	(void)p;
}

void
mxplan_init_host(struct mxplan *p, const char *host, uint16_t port, bool require_tls)
{
	char n[MXPLAN_NAME_MAX];

	plan_reset(p, port, require_tls);
	if (!set_name(n, host)) {
		zegel_strf(p->domain, sizeof(p->domain), "?");
		permanent(p, "5.1.2", "invalid host name");
		return;
	}
	zegel_strf(p->domain, sizeof(p->domain), "%s", n);
	/* a configured host name is as trustworthy as a secure MX RRset */
	p->mx_status = DNS_SECURE;
	host_init(p, &p->hosts[0], n, 0);
	p->nhosts = 1;
	p->cur = 0;
	p->phase = PH_A;
}

/* ------------------------------------------------------------ answers */

static void
take_mx(struct mxplan *p, const struct dns_result *res)
{
	p->mx_status = res->status;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		p->deferred = true;
		zegel_strf(p->esc, sizeof(p->esc), "4.4.3");
		zegel_strf(p->reason, sizeof(p->reason), "MX lookup %s: %s",
		    dns_status_str(res->status), res->reason[0] ? res->reason : "no answer");
		p->phase = PH_DONE;
		return;
	}
	if (res->rcode == DNS_RCODE_NXDOMAIN) {
		permanent(p, "5.1.2", "the domain does not exist (NXDOMAIN)");
		return;
	}
	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		const uint8_t *rd = res->data + rr->rd_off;
		char name[MXPLAN_NAME_MAX];
		uint16_t pref;
		unsigned k;

		if (rr->type != DNS_T_MX || rr->rdlen < 3)
			continue;
		pref = (uint16_t)(rd[0] << 8 | rd[1]);
		if (dns_name_len(rd + 2, rr->rdlen - 2) != (size_t)rr->rdlen - 2 ||
		    !hostplan_name(rd + 2, name, sizeof(name)))
			continue;
		if (name[0] == '\0') {
			/* RFC 7505 3: "0 ." says the domain accepts no mail */
			p->null_mx = true;
			continue;
		}
		for (k = 0; k < p->nhosts && !hostplan_name_eq(p->hosts[k].name, name); k++)
			;
		if (k < p->nhosts) {
			if (pref >= p->hosts[k].pref)
				continue;
			/* listed again, more preferred: move it */
			memmove(&p->hosts[k], &p->hosts[k + 1],
			    (p->nhosts - k - 1) * sizeof(p->hosts[0]));
			p->nhosts--;
		}
		/* insert sorted by preference, stable for ties */
		for (k = p->nhosts; k > 0 && p->hosts[k - 1].pref > pref; k--)
			;
		if (k >= MXPLAN_MAX_HOSTS)
			continue;
		if (p->nhosts == MXPLAN_MAX_HOSTS)
			p->nhosts--; /* drop the least preferred */
		memmove(&p->hosts[k + 1], &p->hosts[k], (p->nhosts - k) * sizeof(p->hosts[0]));
		host_init(p, &p->hosts[k], name, pref);
		p->nhosts++;
	}
	if (p->null_mx) {
		p->nhosts = 0;
		permanent(p, "5.1.10", "the domain accepts no mail (null MX, RFC 7505)");
		return;
	}
	if (p->nhosts == 0) {
		/* NODATA (or nothing usable): the implicit MX, RFC 5321 5.1 */
		p->implicit_mx = true;
		host_init(p, &p->hosts[0], p->domain, 0);
		p->nhosts = 1;
	}
	p->cur = 0;
	p->phase = PH_A;
}

static enum dns_status
combine(enum dns_status a, enum dns_status b)
{
	return a > b ? a : b; /* SECURE < INSECURE < BOGUS < INDETERMINATE */
}

static void
take_addrs(struct mxplan *p, struct mxplan_host *h, const struct dns_result *res, bool v6)
{
	bool failed = res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE;

	if (!v6) {
		h->addr_looked_up = true;
		h->addr_status = res->status;
	} else if (!failed) {
		/* failed families do not count; a secure and an insecure one make it insecure */
		if (h->addr_status == DNS_BOGUS || h->addr_status == DNS_INDETERMINATE)
			h->addr_status = res->status;
		else
			h->addr_status = combine(h->addr_status, res->status);
	}
	if (failed) {
		zegel_strf(h->why, sizeof(h->why), "%s lookup %s: %s", v6 ? "AAAA" : "A",
		    dns_status_str(res->status), res->reason[0] ? res->reason : "no answer");
		return;
	}
	if (h->cname_target[0] == '\0') {
		hostplan_cname(res, h->name, h->cname_target, sizeof(h->cname_target));
		h->cname_secure = h->cname_target[0] != '\0' && res->status == DNS_SECURE;
	}
	h->naddr = hostplan_addrs(res, v6, p->port, h->addrs, h->naddr, MXPLAN_MAX_ADDRS);
}

static void
set_tls(struct mxplan *p, struct mxplan_host *h, enum mxplan_tls t, const char *why)
{
	if (t == MXPLAN_MAY && p->require_tls) {
		t = MXPLAN_ENCRYPT;
		zegel_strf(h->why, sizeof(h->why), "%s; TLS required by configuration", why);
	} else {
		zegel_strf(h->why, sizeof(h->why), "%s", why);
	}
	h->tls = t;
}

/* After the address lookups: usable at all, and is a TLSA lookup due? */
static int
after_addrs(struct mxplan *p, struct mxplan_host *h)
{
	if (h->naddr == 0) {
		if (h->why[0] == '\0')
			zegel_strf(h->why, sizeof(h->why), "no A or AAAA records");
		h->tls = MXPLAN_SKIP;
		return PH_DONE;
	}
	if (p->mx_status != DNS_SECURE) {
		set_tls(p, h, MXPLAN_MAY, "MX records not DNSSEC-signed: no DANE");
		return PH_DONE;
	}
	if (h->addr_status != DNS_SECURE) {
		set_tls(p, h, MXPLAN_MAY, "address records not DNSSEC-signed: no DANE");
		return PH_DONE;
	}
	h->why[0] = '\0'; /* a failed other family does not matter any more */
	zegel_strf(h->tlsa_base, sizeof(h->tlsa_base), "%s",
	    h->cname_secure ? h->cname_target : h->name);
	return PH_TLSA;
}

static enum hostplan_tlsa
take_tlsa(struct mxplan *p, struct mxplan_host *h, const struct dns_result *res)
{
	struct hostplan_tlsa_count c;
	char why[160];
	enum hostplan_tlsa f = hostplan_tlsa(res, h->tlsa, MXPLAN_MAX_TLSA, true, &c);

	h->tlsa_looked_up = true;
	h->tlsa_status = res->status;
	switch (f) {
	case HOSTPLAN_TLSA_FAILED:
		zegel_strf(why, sizeof(why), "TLSA lookup %s: %s", dns_status_str(res->status),
		    res->reason[0] ? res->reason : "no answer");
		set_tls(p, h, MXPLAN_SKIP, why);
		break;
	case HOSTPLAN_TLSA_INSECURE:
		set_tls(p, h, MXPLAN_MAY, "TLSA records not DNSSEC-signed: no DANE");
		break;
	case HOSTPLAN_TLSA_DENIED:
		set_tls(p, h, MXPLAN_MAY, "no TLSA records (securely denied)");
		break;
	case HOSTPLAN_TLSA_USABLE:
		set_tls(p, h, MXPLAN_DANE, "usable TLSA records");
		break;
	case HOSTPLAN_TLSA_UNUSABLE:
		set_tls(p, h, MXPLAN_ENCRYPT, "TLSA records present, none usable: TLS "
		    "without authentication");
		break;
	}
	h->ntlsa = c.kept;
	h->ntlsa_seen = c.seen;
	h->tlsa_denied = f == HOSTPLAN_TLSA_DENIED;
	return f;
}

void
mxplan_answer(struct mxplan *p, const struct dns_result *res)
{
	struct mxplan_host *h = p->cur < p->nhosts ? &p->hosts[p->cur] : NULL;

	switch (p->phase) {
	case PH_MX:
		take_mx(p, res);
		return;
	case PH_A:
		take_addrs(p, h, res, false);
		p->phase = PH_AAAA;
		return;
	case PH_AAAA:
		take_addrs(p, h, res, true);
		p->phase = after_addrs(p, h);
		break;
	case PH_TLSA:
		/* RFC 7672 2.2.2: no TLSA at the CNAME target -> try the original name */
		if (hostplan_tlsa_retry(take_tlsa(p, h, res), h->cname_secure, h->tlsa_base,
		    h->name)) {
			zegel_strf(h->tlsa_base, sizeof(h->tlsa_base), "%s", h->name);
			p->phase = PH_TLSA_ORIG;
			return;
		}
		p->phase = PH_DONE;
		break;
	case PH_TLSA_ORIG:
		take_tlsa(p, h, res);
		p->phase = PH_DONE;
		break;
	default:
		return;
	}
	if (p->phase == PH_DONE) {
		/* this host is finished: on to the next */
		p->cur++;
		if (p->cur < p->nhosts)
			p->phase = PH_A;
	}
}

/* The plan is complete: is any host usable at all? */
static void
conclude(struct mxplan *p)
{
	bool tlsa_fail = false;

	if (p->deferred || p->permanent)
		return;
	for (unsigned i = 0; i < p->nhosts; i++) {
		if (p->hosts[i].tls != MXPLAN_SKIP)
			return;
		if (p->hosts[i].tlsa_looked_up)
			tlsa_fail = true;
	}
	p->deferred = true;
	zegel_strf(p->esc, sizeof(p->esc), "%s", tlsa_fail ? "4.7.5" : "4.4.3");
	if (p->nhosts > 0)
		zegel_strf(p->reason, sizeof(p->reason), "no usable MX host: %s: %s",
		    p->hosts[0].name, p->hosts[0].why);
	else
		zegel_strf(p->reason, sizeof(p->reason), "no MX host");
}

int
mxplan_next(struct mxplan *p, char *name, size_t cap, uint16_t *qtype)
{
	const struct mxplan_host *h = p->cur < p->nhosts ? &p->hosts[p->cur] : NULL;
	uint8_t w[DNS_NAME_MAX];
	uint16_t wl;

	switch (p->phase) {
	case PH_MX:
		zegel_strf(p->qname, sizeof(p->qname), "%s", p->domain);
		p->qtype = DNS_T_MX;
		break;
	case PH_A:
	case PH_AAAA:
		zegel_strf(p->qname, sizeof(p->qname), "%s", h->name);
		p->qtype = p->phase == PH_A ? DNS_T_A : DNS_T_AAAA;
		break;
	case PH_TLSA:
	case PH_TLSA_ORIG:
		zegel_strf(p->qname, sizeof(p->qname), "_%u._tcp.%s", (unsigned)p->port,
		    h->tlsa_base);
		p->qtype = DNS_T_TLSA;
		break;
	default:
		p->phase = PH_DONE;
		conclude(p);
		return MXPLAN_DONE;
	}
	if (strlen(p->qname) >= cap || dns_name_from_text(p->qname, w, &wl) != DNS_E_OK) {
		/* a question that cannot be asked: this host cannot be planned */
		struct mxplan_host *hh = &p->hosts[p->cur];
		if (p->phase == PH_MX) {
			permanent(p, "5.1.2", "invalid domain name");
		} else {
			hh->tls = MXPLAN_SKIP;
			zegel_strf(hh->why, sizeof(hh->why), "cannot look up %s (name too long)",
			    p->qname);
			p->cur++;
			p->phase = p->cur < p->nhosts ? PH_A : PH_DONE;
		}
		return mxplan_next(p, name, cap, qtype);
	}
	memcpy(name, p->qname, strlen(p->qname) + 1);
	*qtype = p->qtype;
	return MXPLAN_QUERY;
}

#endif
