/*
 * The validating lookup: answers checked against the chain of trust
 * (trust.c), authenticated denial, CNAME/DNAME chains, the answer cache
 * (cache.c) and the event-loop stepping. See dns.h for the model.
 *
 * Shape of the algorithm.
 *  - A signed RRset is checked with the keys of its RRSIG's signer zone;
 *    zone_get(signer) builds those keys from the parent's DS (itself a
 *    signed RRset, so the recursion walks up to the anchors: RFC 4035 §5).
 *  - An unsigned RRset (or unsigned denial) is only acceptable when some
 *    ancestor is provably insecure: prove_insecure() walks from the root
 *    down, asking each name for its DS, until a signed denial shows a
 *    delegation without DS (RFC 4035 §5.2; NSEC3 opt-out RFC 5155 §8.6),
 *    only unsupported algorithms, or NSEC3 iterations above the limit
 *    (RFC 9276). If the walk stays secure, the missing signature is bogus.
 *  - Denials: NSEC (RFC 4035 §5.4) and NSEC3 (RFC 5155 §8) proofs for
 *    NXDOMAIN, NODATA, wildcard NODATA, empty non-terminals; positive
 *    wildcard answers need their next-closer proof (RFC 4035 §5.3.4,
 *    RFC 5155 §8.8).
 * Zones are cached in ctx->zones with their state and an expiry.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firmware/dns/trust.h"
#include "hal/clock.h"

/* ------------------------------------------------------------------ context */

void
dns_ctx_init(struct dns_ctx *ctx, dns_fetch_fn fetch, void *arg)
{
	int line;

	memset(ctx, 0, sizeof(*ctx));
	ctx->fetch = fetch;
	ctx->fetch_arg = arg;
	(void)dns_ctx_set_anchors(ctx, dns_root_anchors_text, &line);
}

void
dns_ctx_flush(struct dns_ctx *ctx)
{
	for (unsigned i = 0; i < DNS_MAX_ZONES; i++)
		ctx->zones[i].state = DNS_Z_UNUSED;
	for (unsigned i = 0; i < DNS_CACHE_SLOTS; i++)
		ctx->cache[i].used = false;
}

int
dns_ctx_set_anchors(struct dns_ctx *ctx, const char *text, int *line)
{
	char rec[8192];
	size_t rl = 0;
	int depth = 0, ln = 1, startln = 1;
	unsigned n = 0;
	struct dns_anchor tmp[DNS_MAX_ANCHORS];

	for (const char *p = text;; p++) {
		char c = *p;
		bool comment = false;
		if (c == ';') {
			while (p[1] && p[1] != '\n')
				p++;
			comment = true;
		}
		if (!comment && c != '\n' && c != '\0') {
			if (c == '(')
				depth++;
			if (c == ')')
				depth--;
			if (rl + 1 >= sizeof(rec)) {
				*line = startln;
				return -EINVAL;
			}
			rec[rl++] = c;
			continue;
		}
		if (comment)
			continue;
		if ((c == '\n' && depth > 0)) {
			rec[rl++] = ' ';
			ln++;
			continue;
		}
		rec[rl] = '\0';
		/* skip blank lines and $TTL-style directives */
		size_t k = 0;
		while (rec[k] == ' ' || rec[k] == '\t' || rec[k] == '\r')
			k++;
		if (rec[k] != '\0' && rec[k] != '$') {
			uint8_t owner[DNS_NAME_MAX];
			uint16_t ol, type, rdlen;
			if (depth != 0 || n >= DNS_MAX_ANCHORS ||
			    dns_rr_from_text(rec, owner, &ol, &type, tmp[n].rd, sizeof(tmp[n].rd),
				&rdlen) != DNS_E_OK ||
			    ol != 1 || (type != DNS_T_DS && type != DNS_T_DNSKEY)) {
				*line = startln;
				return -EINVAL;
			}
			tmp[n].type = type;
			tmp[n].len = rdlen;
			n++;
		}
		rl = 0;
		depth = 0;
		if (c == '\0')
			break;
		ln++;
		startln = ln;
	}
	if (n == 0) {
		*line = 0;
		return -EINVAL;
	}
	memcpy(ctx->anchors, tmp, sizeof(tmp[0]) * n);
	ctx->nanchors = n;
	dns_ctx_flush(ctx);
	return 0;
}

/* ------------------------------------------------------------------ lookup */

static enum dns_status
worse(enum dns_status a, enum dns_status b)
{
	static const int rank[] = { [DNS_SECURE] = 0, [DNS_INSECURE] = 1,
		[DNS_INDETERMINATE] = 2, [DNS_BOGUS] = 3 };
	return rank[a] >= rank[b] ? a : b;
}

static void
result_add(struct dns_ctx *ctx, struct dns_result *res, const struct dns_msg *m,
    const uint8_t *owner, uint16_t type)
{
	struct dns_rrset set;

	dns_rrset_collect(m, DNS_S_AN, owner, type, &set);
	for (unsigned i = 0; i < set.n && res->nrr < DNS_RESULT_MAX_RR; i++) {
		const struct dns_rr *rr = set.rr[i];
		if (res->used + rr->olen + rr->rdlen > sizeof(res->data))
			break;
		struct dns_result_rr *o = &res->rr[res->nrr++];
		o->owner_off = (uint16_t)res->used;
		memcpy(res->data + res->used, rr->owner, rr->olen);
		res->used += rr->olen;
		o->rd_off = (uint16_t)res->used;
		memcpy(res->data + res->used, rr->rdata, rr->rdlen);
		res->used += rr->rdlen;
		o->rdlen = rr->rdlen;
		o->type = rr->type;
		o->ttl = rr->ttl;
	}
	(void)ctx;
}

/* Does the answer prove that no closer name than the wildcard's exists? */
static bool
wildcard_proven(struct dns_ctx *ctx, const struct dns_msg *m, const uint8_t *owner, int labels,
    int depth)
{
	struct dns_denial d;
	int64_t exp;

	if (dns_denial_collect(ctx, m, &d, depth, &exp) != V_SECURE)
		return false;
	return dns_denial_done(ctx, &d, dns_denial_wildcard(&d, owner, labels)) == DNS_PROOF_PROVEN;
}

static enum dns_status
zstate_status(struct dns_ctx *ctx, enum dns_zstate st)
{
	if (ctx->net_fail)
		return DNS_INDETERMINATE;
	return st == DNS_Z_INSECURE ? DNS_INSECURE : DNS_BOGUS;
}

/*
 * RFC 4035 §5.3.1: the signer must be the zone that holds the RRset, not
 * just an ancestor. No zone cut may lie strictly between the signer and the
 * owner (names below a wildcard's source are proven absent already; the
 * owner itself is not asked: a parent holds no signed data at a cut).
 */
static bool
signer_is_zone(struct dns_ctx *ctx, const uint8_t *owner, int labels, const uint8_t *signer)
{
	int top = dns_name_labels(owner) - 1;

	if (labels < top)
		top = labels;
	for (int k = dns_name_labels(signer) + 1; k <= top; k++) {
		const uint8_t *n = dns_name_suffix(owner, k);
		struct dns_zone *z = dns_zone_get(ctx, n, 1);
		if (ctx->net_fail || ctx->budget_hit)
			return false;
		if (z->state != DNS_Z_NOTZONE) {
			ctx->reason[0] = '\0';
			dns_fail(ctx, DNS_EDE_BOGUS, "%s signed by %s, but %s is a zone cut (wrong signer)",
			    dns_nm(owner), dns_nm(signer), dns_nm(n));
			return false;
		}
	}
	return true;
}

static enum dns_status
check_positive(struct dns_ctx *ctx, const struct dns_msg *m, const uint8_t *owner, uint16_t type)
{
	int labels;
	int64_t exp;
	const uint8_t *signer = NULL;
	enum vres r = dns_verify_rrset(ctx, m, DNS_S_AN, owner, type, false, 0, &labels, &exp,
	    &signer);

	if (ctx->net_fail)
		return DNS_INDETERMINATE;
	switch (r) {
	case V_SECURE: {
		int ol = dns_name_labels(owner);
		bool literal = owner[0] == 1 && owner[1] == '*' && labels == ol - 1;
		if (labels < ol && !literal && !wildcard_proven(ctx, m, owner, labels, 0)) {
			if (ctx->net_fail)
				return DNS_INDETERMINATE;
			dns_fail(ctx, DNS_EDE_NSEC_MISSING,
			    "wildcard answer for %s without proof that no closer name exists",
			    dns_nm(owner));
			return DNS_BOGUS;
		}
		if (!signer_is_zone(ctx, owner, labels, signer))
			return ctx->net_fail ? DNS_INDETERMINATE : DNS_BOGUS;
		return DNS_SECURE;
	}
	case V_INSECURE:
		return DNS_INSECURE;
	case V_NOSIG: {
		enum dns_zstate st = dns_walk_ancestors(ctx, owner, dns_name_labels(owner), 0);
		if (st == DNS_Z_BOGUS && !ctx->net_fail && !ctx->budget_hit)
			ctx->reason[0] = '\0';
		if (st == DNS_Z_BOGUS)
			dns_fail(ctx, DNS_EDE_RRSIGS_MISSING, "%s/%s has no RRSIG in a signed zone",
			    dns_nm(owner), dns_tn(type));
		return zstate_status(ctx, st);
	}
	default:
		return ctx->net_fail ? DNS_INDETERMINATE : DNS_BOGUS;
	}
}

static enum dns_status
check_negative(struct dns_ctx *ctx, const struct dns_msg *m, const uint8_t *name, uint16_t type)
{
	struct dns_denial d;
	int64_t exp;
	enum vres r = dns_denial_collect(ctx, m, &d, 0, &exp);
	bool nx = m->rcode == DNS_RCODE_NXDOMAIN;

	if (ctx->net_fail)
		return DNS_INDETERMINATE;
	if (r == V_INSECURE)
		return DNS_INSECURE;
	if (r == V_NOSIG) {
		enum dns_zstate st = dns_walk_ancestors(ctx, name, dns_name_labels(name), 0);
		if (st == DNS_Z_BOGUS && !ctx->net_fail && !ctx->budget_hit)
			ctx->reason[0] = '\0'; /* the missing proof is the cause, not the walk */
		if (st == DNS_Z_BOGUS)
			dns_fail(ctx, DNS_EDE_NSEC_MISSING, "%s for %s/%s without signed NSEC/NSEC3",
			    nx ? "NXDOMAIN" : "NODATA", dns_nm(name), dns_tn(type));
		return zstate_status(ctx, st);
	}
	if (r != V_SECURE)
		return ctx->net_fail ? DNS_INDETERMINATE : DNS_BOGUS;
	/* the denial must come from a zone that holds the name */
	switch (dns_denial_done(ctx, &d, nx ? dns_denial_nxdomain(&d, name)
					  : dns_denial_nodata(&d, name, type))) {
	case DNS_PROOF_PROVEN: return DNS_SECURE;
	case DNS_PROOF_INSECURE: return DNS_INSECURE;
	case DNS_PROOF_ERROR: return DNS_BOGUS;
	case DNS_PROOF_NONE: break;
	}
	dns_fail(ctx, DNS_EDE_NSEC_MISSING, "%s for %s/%s: the NSEC/NSEC3 records do not prove it",
	    nx ? "NXDOMAIN" : "NODATA", dns_nm(name), dns_tn(type));
	return DNS_BOGUS;
}

/* A DNAME in the answer whose owner is a proper ancestor of name. */
static const struct dns_rr *
find_dname(const struct dns_msg *m, const uint8_t *name)
{
	for (unsigned i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];
		if (rr->section == DNS_S_AN && rr->type == DNS_T_DNAME && rr->rclass == DNS_C_IN &&
		    dns_name_is_sub(name, rr->owner) && !dns_name_eq(name, rr->owner))
			return rr;
	}
	return NULL;
}

/* name with the DNAME owner suffix replaced by its target (RFC 6672 §2.2). */
static bool
dname_subst(const uint8_t *name, const struct dns_rr *dn, uint8_t out[DNS_NAME_MAX])
{
	const uint8_t *suf = dns_name_suffix(name, dns_name_labels(dn->owner));
	size_t pre = (size_t)(suf - name);
	size_t tl = dns_name_len(dn->rdata, dn->rdlen);

	if (tl == 0 || pre + tl > DNS_NAME_MAX)
		return false;
	memcpy(out, name, pre);
	memcpy(out + pre, dn->rdata, tl);
	return true;
}

static bool
has_denial_for(const struct dns_msg *m)
{
	for (unsigned i = 0; i < m->nrr; i++)
		if (m->rr[i].section == DNS_S_NS &&
		    (m->rr[i].type == DNS_T_NSEC || m->rr[i].type == DNS_T_NSEC3 ||
			m->rr[i].type == DNS_T_SOA))
			return true;
	return false;
}

int
dns_lookup_wire(struct dns_ctx *ctx, const uint8_t *qname, uint16_t type, int64_t now,
    struct dns_result *res)
{
	uint8_t cur[DNS_NAME_MAX];
	struct dns_msg *m;
	enum dns_status st = DNS_SECURE;
	int hops = 0;

	memset(res, 0, offsetof(struct dns_result, data));
	ctx->now = now;
	ctx->queries = ctx->sig_checks = ctx->nsec3_hashes = 0;
	ctx->budget_hit = ctx->net_fail = false;
	ctx->reason[0] = '\0';
	ctx->ede = 0;
	ctx->msg_used = 0;
	if (CONFIG_DNS_CACHE_ENTRIES == 0)
		dns_ctx_flush(ctx);
	memcpy(cur, qname, dns_name_len(qname, DNS_NAME_MAX));

	if (!hal_clock_plausible(now)) {
		res->status = DNS_INDETERMINATE;
		res->ede = DNS_EDE_INDETERMINATE;
		time_t tt = (time_t)now;
		struct tm tm;
		char clk[24] = "?";

		if (gmtime_r(&tt, &tm) != NULL)
			strftime(clk, sizeof(clk), "%Y-%m-%dT%H:%M:%SZ", &tm);
		/* DNSSEC signatures cannot be dated: say why and what to do */
		snprintf(res->reason, sizeof(res->reason),
		    "clock not plausible (%s, before the build time): set the clock "
		    "(set ntp server IP; show clock)", clk);
		return 0;
	}
	if (dns_cache_get(ctx, qname, type, res))
		return 0;
	ctx->exp_min = now + 86400;
	m = dns_query(ctx, cur, type);
	while (m != NULL) {
		struct dns_rrset set;

		dns_rrset_collect(m, DNS_S_AN, cur, type, &set);
		if (set.n > 0) {
			st = worse(st, check_positive(ctx, m, cur, type));
			result_add(ctx, res, m, cur, type);
			res->rcode = DNS_RCODE_NOERROR;
			break;
		}
		/* DNAME (RFC 6672): the signed DNAME proves the synthesised CNAME */
		const struct dns_rr *dn = type == DNS_T_DNAME ? NULL : find_dname(m, cur);
		if (dn != NULL) {
			uint8_t syn[DNS_NAME_MAX];
			st = worse(st, check_positive(ctx, m, dn->owner, DNS_T_DNAME));
			result_add(ctx, res, m, dn->owner, DNS_T_DNAME);
			if (st == DNS_BOGUS || st == DNS_INDETERMINATE)
				break;
			if (++hops > MAX_CNAME_HOPS || !dname_subst(cur, dn, syn)) {
				dns_fail(ctx, DNS_EDE_OTHER, "DNAME substitution for %s failed (too long, or loop)",
				    dns_nm(cur));
				st = DNS_BOGUS;
				break;
			}
			dns_rrset_collect(m, DNS_S_AN, cur, DNS_T_CNAME, &set);
			if (set.n == 1 && dns_name_eq(set.rr[0]->rdata, syn))
				result_add(ctx, res, m, cur, DNS_T_CNAME); /* as synthesised */
			memcpy(cur, syn, dns_name_len(syn, DNS_NAME_MAX));
			dns_rrset_collect(m, DNS_S_AN, cur, type, &set);
			struct dns_rrset c2;
			dns_rrset_collect(m, DNS_S_AN, cur, DNS_T_CNAME, &c2);
			if (set.n == 0 && c2.n == 0 && find_dname(m, cur) == NULL && !has_denial_for(m)) {
				dns_msg_put(ctx, m);
				m = dns_query(ctx, cur, type);
			}
			continue;
		}
		dns_rrset_collect(m, DNS_S_AN, cur, DNS_T_CNAME, &set);
		if (set.n > 0 && type != DNS_T_CNAME) {
			st = worse(st, check_positive(ctx, m, cur, DNS_T_CNAME));
			result_add(ctx, res, m, cur, DNS_T_CNAME);
			if (st == DNS_BOGUS || st == DNS_INDETERMINATE)
				break;
			if (++hops > MAX_CNAME_HOPS) {
				dns_fail(ctx, DNS_EDE_OTHER, "CNAME chain longer than %d", MAX_CNAME_HOPS);
				st = DNS_BOGUS;
				break;
			}
			size_t tl = dns_name_len(set.rr[0]->rdata, set.rr[0]->rdlen);
			memcpy(cur, set.rr[0]->rdata, tl);
			/* the target is answered in the same message, or asked anew */
			dns_rrset_collect(m, DNS_S_AN, cur, type, &set);
			struct dns_rrset c2;
			dns_rrset_collect(m, DNS_S_AN, cur, DNS_T_CNAME, &c2);
			if (set.n == 0 && c2.n == 0 &&
			    !(has_denial_for(m) && m->rcode == DNS_RCODE_NXDOMAIN) &&
			    !has_denial_for(m)) {
				dns_msg_put(ctx, m);
				m = dns_query(ctx, cur, type);
			}
			continue;
		}
		res->rcode = m->rcode;
		res->nodata = m->rcode == DNS_RCODE_NOERROR;
		st = worse(st, check_negative(ctx, m, cur, type));
		break;
	}
	if (m == NULL || ctx->net_fail)
		st = worse(st, DNS_INDETERMINATE);
	if (ctx->budget_hit)
		st = DNS_BOGUS;
	res->status = st;
	res->network_error = ctx->net_fail && !ctx->budget_hit;
	if (st == DNS_BOGUS || st == DNS_INDETERMINATE ||
	    (st == DNS_INSECURE && ctx->reason[0])) {
		res->ede = ctx->ede;
		snprintf(res->reason, sizeof(res->reason), "%s",
		    ctx->reason[0] ? ctx->reason : "validation failed");
	}
	if (st == DNS_BOGUS || st == DNS_INDETERMINATE)
		res->nrr = 0; /* never hand out unvalidated data */
	/* no record outlives a signature or key on its chain (RFC 4035 §5.3.3) */
	for (unsigned i = 0; st == DNS_SECURE && i < res->nrr; i++)
		if ((int64_t)res->rr[i].ttl > ctx->exp_min - now)
			res->rr[i].ttl = (uint32_t)(ctx->exp_min > now ? ctx->exp_min - now : 0);
	res->queries = ctx->queries;
	res->sig_checks = ctx->sig_checks;
	res->nsec3_hashes = ctx->nsec3_hashes;
	if (st != DNS_INDETERMINATE && !ctx->budget_hit && !ctx->net_fail)
		dns_cache_put(ctx, qname, type, res, st == DNS_BOGUS ? dns_min64(ctx->exp_min, now + 60)
								 : ctx->exp_min);
	return 0;
}

int
dns_lookup(struct dns_ctx *ctx, const char *name, uint16_t type, int64_t now,
    struct dns_result *res)
{
	uint8_t q[DNS_NAME_MAX];
	uint16_t ql;

	if (dns_name_from_text(name, q, &ql) != DNS_E_OK)
		return -EINVAL;
	return dns_lookup_wire(ctx, q, type, now, res);
}

/* ------------------------------------------------------------------ stepping */

void
dns_step_init(struct dns_step *st)
{
	st->n = 0;
	st->used = 0;
	st->pending = false;
}

static int
step_fetch(void *arg, const uint8_t *qname, uint16_t qtype, uint8_t *resp, size_t cap,
    size_t *len)
{
	struct dns_step *st = arg;

	for (unsigned i = 0; i < st->n; i++) {
		if (st->a[i].type != qtype || !dns_name_eq(st->a[i].name, qname))
			continue;
		if (st->a[i].err)
			return st->a[i].err;
		if (st->a[i].len > cap)
			return -EMSGSIZE;
		memcpy(resp, st->store + st->a[i].off, st->a[i].len);
		*len = st->a[i].len;
		return 0;
	}
	if (st->n >= DNS_STEP_MAX)
		return -ENOSPC;
	memcpy(st->qname, qname, dns_name_len(qname, DNS_NAME_MAX));
	st->qtype = qtype;
	st->pending = true;
	return -EAGAIN;
}

int
dns_lookup_step(struct dns_ctx *ctx, struct dns_step *st, const uint8_t *qname, uint16_t type,
    int64_t now, struct dns_result *res)
{
	dns_fetch_fn f = ctx->fetch;
	void *a = ctx->fetch_arg;

	st->pending = false;
	ctx->fetch = step_fetch;
	ctx->fetch_arg = st;
	(void)dns_lookup_wire(ctx, qname, type, now, res);
	ctx->fetch = f;
	ctx->fetch_arg = a;
	return st->pending ? DNS_STEP_QUERY : DNS_STEP_DONE;
}

static int
step_add(struct dns_step *st, int err, const uint8_t *p, size_t n)
{
	if (!st->pending || st->n >= DNS_STEP_MAX)
		return -EINVAL;
	if (st->used + n > sizeof(st->store))
		return -ENOSPC;
	memcpy(st->a[st->n].name, st->qname, dns_name_len(st->qname, DNS_NAME_MAX));
	st->a[st->n].type = st->qtype;
	st->a[st->n].err = err;
	st->a[st->n].off = (uint32_t)st->used;
	st->a[st->n].len = (uint16_t)n;
	if (n)
		memcpy(st->store + st->used, p, n);
	st->used += n;
	st->n++;
	st->pending = false;
	return 0;
}

int
dns_step_answer(struct dns_step *st, const uint8_t *p, size_t n)
{
	if (n > 65535)
		return -EMSGSIZE;
	return step_add(st, 0, p, n);
}

void
dns_step_fail(struct dns_step *st, int err)
{
	(void)step_add(st, err < 0 ? err : -EIO, NULL, 0);
}
