/*
 * The chain of trust (RFC 4035 §5): queries within the work budgets, RRset
 * verification, zone keys from DS or anchors, the top-down walk that proves
 * a zone insecure, and the NSEC/NSEC3 collection for denials. The lookup
 * (resolve.c) asks; this file never calls back. See resolve.c for the
 * shape of the algorithm.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/dns/trust.h"

void
dns_fail(struct dns_ctx *ctx, uint16_t ede, const char *fmt, ...)
{
	va_list ap;

	if (ctx->reason[0])
		return; /* the first cause is the one worth reporting */
	ctx->ede = ede;
	va_start(ap, fmt);
	vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
	va_end(ap);
}

const char *
dns_nm(const uint8_t *name)
{
	static char buf[4][1024];
	static int k;

	k = (k + 1) & 3;
	if (dns_name_to_text(name, buf[k], sizeof(buf[k])) != 0)
		snprintf(buf[k], sizeof(buf[k]), "?");
	return buf[k];
}

const char *
dns_tn(uint16_t type)
{
	static char buf[4][16];
	static int k;

	k = (k + 1) & 3;
	dns_type_to_text(type, buf[k], sizeof(buf[k]));
	return buf[k];
}


/* ------------------------------------------------------------------ messages */

struct dns_msg *
dns_query(struct dns_ctx *ctx, const uint8_t *name, uint16_t type)
{
	struct dns_msg *m;
	size_t len = 0;
	int rc;

	if (ctx->msg_used >= DNS_MSG_POOL) {
		ctx->budget_hit = true;
		dns_fail(ctx, DNS_EDE_OTHER, "work budget: chain too deep");
		return NULL;
	}
	if (++ctx->queries > CONFIG_DNS_QUERIES_PER_LOOKUP) {
		ctx->budget_hit = true;
		dns_fail(ctx, DNS_EDE_OTHER, "work budget: more than %d queries",
		    CONFIG_DNS_QUERIES_PER_LOOKUP);
		return NULL;
	}
	rc = ctx->fetch(ctx->fetch_arg, name, type, ctx->resp, sizeof(ctx->resp), &len);
	if (rc == -EAGAIN) { /* dns_lookup_step: the answer is not there yet */
		ctx->net_fail = true; /* unwind, remember nothing */
		return NULL;
	}
	if (rc < 0) {
		ctx->net_fail = true;
		dns_fail(ctx, rc == -EMSGSIZE ? DNS_EDE_NETWORK : DNS_EDE_NO_REACHABLE,
		    "network: %s for %s/%s", rc == -ETIMEDOUT ? "no answer"
		    : rc == -EMSGSIZE ? "truncated answer, TCP failed" : strerror(-rc),
		    dns_nm(name), dns_tn(type));
		return NULL;
	}
	m = &ctx->msgs[ctx->msg_used++];
	rc = dns_msg_parse(m, ctx->resp, len);
	if (rc != DNS_E_OK) {
		ctx->msg_used--;
		ctx->net_fail = true;
		dns_fail(ctx, DNS_EDE_NETWORK, "malformed answer for %s: %s", dns_nm(name),
		    dns_wire_strerror(rc));
		return NULL;
	}
	if (m->qnlen == 0 || !dns_name_eq(m->qname, name) || m->qtype != type ||
	    !(m->flags & DNS_F_QR)) {
		ctx->msg_used--;
		ctx->net_fail = true;
		dns_fail(ctx, DNS_EDE_NETWORK, "answer does not match the question %s", dns_nm(name));
		return NULL;
	}
	if (m->rcode != DNS_RCODE_NOERROR && m->rcode != DNS_RCODE_NXDOMAIN) {
		ctx->msg_used--;
		ctx->net_fail = true;
		dns_fail(ctx, DNS_EDE_NO_REACHABLE, "upstream answered rcode %u for %s/%s", m->rcode,
		    dns_nm(name), dns_tn(type));
		return NULL;
	}
	return m;
}

void
dns_msg_put(struct dns_ctx *ctx, struct dns_msg *m)
{
	if (m && ctx->msg_used > 0 && m == &ctx->msgs[ctx->msg_used - 1])
		ctx->msg_used--;
}

void
dns_rrset_collect(const struct dns_msg *m, int section, const uint8_t *owner, uint16_t type,
    struct dns_rrset *set)
{
	set->n = 0;
	for (unsigned i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];
		if (rr->section == section && rr->type == type && rr->rclass == DNS_C_IN &&
		    dns_name_eq(rr->owner, owner) && set->n < 64)
			set->rr[set->n++] = rr;
	}
}

static unsigned
sigs_collect(const struct dns_msg *m, int section, const uint8_t *owner, uint16_t covered,
    const struct dns_rr **sigs, unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < m->nrr && n < max; i++) {
		const struct dns_rr *rr = &m->rr[i];
		if (rr->section == section && rr->type == DNS_T_RRSIG && rr->rdlen >= 19 &&
		    dns_sig_covered(rr->rdata) == covered && dns_name_eq(rr->owner, owner))
			sigs[n++] = rr;
	}
	return n;
}

/* ------------------------------------------------------------------ zones */

static struct dns_zone *
zone_find(struct dns_ctx *ctx, const uint8_t *name)
{
	for (unsigned i = 0; i < DNS_MAX_ZONES; i++) {
		struct dns_zone *z = &ctx->zones[i];
		if (z->state != DNS_Z_UNUSED && dns_name_eq(z->name, name)) {
			if (z->expires <= ctx->now) {
				z->state = DNS_Z_UNUSED;
				return NULL;
			}
			return z;
		}
	}
	return NULL;
}

static struct dns_zone *
zone_new(struct dns_ctx *ctx, const uint8_t *name)
{
	struct dns_zone *z = NULL;
	unsigned limit = DNS_MAX_ZONES;

	if (CONFIG_DNS_CACHE_ENTRIES > 0 && CONFIG_DNS_CACHE_ENTRIES < DNS_MAX_ZONES)
		limit = CONFIG_DNS_CACHE_ENTRIES < 8 ? 8 : CONFIG_DNS_CACHE_ENTRIES;
	for (unsigned i = 0; i < limit && z == NULL; i++)
		if (ctx->zones[i].state == DNS_Z_UNUSED ||
		    (ctx->zones[i].expires <= ctx->now && ctx->zones[i].expires != INT64_MAX))
			z = &ctx->zones[i];
	if (z == NULL) {
		/* evict the entry that expires first */
		z = &ctx->zones[0];
		for (unsigned i = 1; i < limit; i++)
			if (ctx->zones[i].expires < z->expires)
				z = &ctx->zones[i];
	}
	memset(z, 0, offsetof(struct dns_zone, keys));
	memcpy(z->name, name, dns_name_len(name, DNS_NAME_MAX));
	z->state = DNS_Z_BOGUS;
	z->expires = INT64_MAX; /* in progress: never evicted while being built */
	return z;
}

static void
zone_set(struct dns_ctx *ctx, struct dns_zone *z, enum dns_zstate st, int64_t expires)
{
	z->state = st;
	z->expires = expires;
	if (st == DNS_Z_BOGUS) {
		z->ede = ctx->ede;
		snprintf(z->reason, sizeof(z->reason), "%s", ctx->reason[0] ? ctx->reason : "bogus");
		if (z->expires > ctx->now + 60)
			z->expires = ctx->now + 60;
	}
	/* an answer that failed for network reasons is not remembered */
	if (ctx->net_fail || ctx->budget_hit)
		z->expires = ctx->now;
}

static bool
sig_budget(struct dns_ctx *ctx)
{
	if (ctx->sig_checks >= CONFIG_DNS_MAX_SIG_CHECKS_PER_QUERY) {
		ctx->budget_hit = true;
		dns_fail(ctx, DNS_EDE_BOGUS, "work budget: more than %d signature checks",
		    CONFIG_DNS_MAX_SIG_CHECKS_PER_QUERY);
		return false;
	}
	ctx->sig_checks++;
	return true;
}

static uint16_t
sig_ede(int r)
{
	return r == DNS_SIG_EXPIRED ? DNS_EDE_SIG_EXPIRED
	    : r == DNS_SIG_NOTYET ? DNS_EDE_SIG_NOTYET : DNS_EDE_BOGUS;
}

/*
 * Verify the RRset (owner, type) in a section of m. On V_SECURE, *labels is
 * the RRSIG label count that verified and *expires the validity end.
 * parent_only: the signer must be a proper ancestor (DS lives in the parent).
 */
enum vres
dns_verify_rrset(struct dns_ctx *ctx, const struct dns_msg *m, int section, const uint8_t *owner,
    uint16_t type, bool parent_only, int depth, int *labels, int64_t *expires,
    const uint8_t **signer_out)
{
	struct dns_rrset set;
	const struct dns_rr *sigs[MAX_SIGS_PER_RRSET];
	unsigned nsig;
	int first_err = 0;
	bool any_zone_bogus = false;

	dns_rrset_collect(m, section, owner, type, &set);
	if (set.n == 0)
		return V_EMPTY;
	nsig = sigs_collect(m, section, owner, type, sigs, MAX_SIGS_PER_RRSET);
	if (nsig == 0)
		return V_NOSIG;
	for (unsigned i = 0; i < nsig; i++) {
		const uint8_t *sig = sigs[i]->rdata, *signer = dns_sig_signer(sig);
		uint16_t slen = sigs[i]->rdlen;
		struct dns_zone *z;
		unsigned tried = 0;

		if (!dns_name_is_sub(owner, signer) ||
		    (parent_only && dns_name_eq(owner, signer))) {
			first_err = first_err ? first_err : DNS_SIG_MISMATCH;
			continue;
		}
		z = dns_zone_get(ctx, signer, depth + 1);
		if (ctx->budget_hit || ctx->net_fail)
			return V_BOGUS;
		if (z->state == DNS_Z_INSECURE)
			return V_INSECURE;
		if (z->state == DNS_Z_NOTZONE) {
			dns_fail(ctx, DNS_EDE_BOGUS, "%s/%s signed by %s, which is not a zone", dns_nm(owner),
			    dns_tn(type), dns_nm(signer));
			any_zone_bogus = true;
			continue;
		}
		if (z->state != DNS_Z_SECURE) {
			dns_fail(ctx, z->ede, "%s", z->reason);
			any_zone_bogus = true;
			continue;
		}
		if (!dns_alg_supported(dns_sig_alg(sig))) {
			first_err = first_err ? first_err : DNS_SIG_UNSUPPORTED;
			continue;
		}
		for (unsigned k = 0; k < z->nkeys; k++) {
			const uint8_t *key = z->keys + z->koff[k];
			uint16_t kl = z->klen[k];
			int r;

			if (key[3] != dns_sig_alg(sig) || dns_keytag(key, kl) != dns_sig_keytag(sig))
				continue;
			if (++tried > CONFIG_DNS_MAX_KEYTAG_COLLISIONS) {
				dns_fail(ctx, DNS_EDE_BOGUS,
				    "work budget: more than %d keys with tag %u for %s/%s",
				    CONFIG_DNS_MAX_KEYTAG_COLLISIONS, dns_sig_keytag(sig), dns_nm(owner),
				    dns_tn(type));
				ctx->budget_hit = true;
				return V_BOGUS;
			}
			if (!sig_budget(ctx))
				return V_BOGUS;
			r = dns_rrsig_verify(&set, sig, slen, key, kl, ctx->now, ctx->scratch,
			    sizeof(ctx->scratch));
			if (r == DNS_SIG_OK) {
				int64_t e = ctx->now + (int64_t)(int32_t)(dns_sig_expiration(sig) -
				    (uint32_t)ctx->now);
				uint32_t ttl = dns_sig_ttl(sig);
				for (unsigned j = 0; j < set.n; j++)
					if (set.rr[j]->ttl < ttl)
						ttl = set.rr[j]->ttl;
				if (sigs[i]->ttl < ttl)
					ttl = sigs[i]->ttl;
				*expires = dns_min64(e, ctx->now + ttl);
				ctx->exp_min = dns_min64(ctx->exp_min, *expires);
				*labels = dns_sig_labels(sig);
				if (signer_out)
					*signer_out = signer;
				return V_SECURE;
			}
			if (!first_err || first_err == DNS_SIG_MISMATCH ||
			    first_err == DNS_SIG_UNSUPPORTED)
				first_err = r;
		}
		if (tried == 0 && !first_err)
			first_err = DNS_SIG_MISMATCH;
	}
	if (first_err == DNS_SIG_UNSUPPORTED && !any_zone_bogus) {
		dns_fail(ctx, DNS_EDE_UNSUP_DNSKEY_ALG,
		    "%s/%s only signed with unsupported algorithms in a secure zone", dns_nm(owner),
		    dns_tn(type));
		return V_BOGUS;
	}
	if (first_err == DNS_SIG_MISMATCH)
		dns_fail(ctx, DNS_EDE_DNSKEY_MISSING, "no key of the signer matches the RRSIG of %s/%s",
		    dns_nm(owner), dns_tn(type));
	else if (first_err)
		dns_fail(ctx, sig_ede(first_err), "RRSIG of %s/%s: %s", dns_nm(owner), dns_tn(type),
		    dns_sig_strerror(first_err));
	else
		dns_fail(ctx, DNS_EDE_BOGUS, "no usable RRSIG for %s/%s", dns_nm(owner), dns_tn(type));
	return V_BOGUS;
}

/*
 * Trust points: DS records (from the parent, or the anchors) or DNSKEY
 * anchors. Fetch the zone's DNSKEY RRset and accept it when an RRSIG made by
 * a key matching a trust point verifies (RFC 4035 §5.2).
 */
struct tpoint {
	uint16_t type;
	const uint8_t *rd;
	uint16_t len;
};

static enum dns_zstate
zone_keys(struct dns_ctx *ctx, struct dns_zone *z, const struct tpoint *tp, unsigned ntp,
    int64_t *expires)
{
	bool sha2 = false, usable = false;
	struct dns_msg *m;
	struct dns_rrset keys;
	const struct dns_rr *sigs[MAX_SIGS_PER_RRSET];
	unsigned nsig, tried = 0;
	int err = 0;

	for (unsigned i = 0; i < ntp; i++)
		if (tp[i].type == DNS_T_DS && (tp[i].rd[3] == 2 || tp[i].rd[3] == 4) &&
		    dns_alg_supported(tp[i].rd[2]))
			sha2 = true;
	for (unsigned i = 0; i < ntp; i++) {
		if (tp[i].type == DNS_T_DS) {
			if (dns_alg_supported(tp[i].rd[2]) && dns_digest_supported(tp[i].rd[3]) &&
			    !(sha2 && tp[i].rd[3] == 1))
				usable = true;
		} else if (tp[i].len >= 4 && dns_alg_supported(tp[i].rd[3])) {
			usable = true;
		}
	}
	if (!usable)
		return DNS_Z_INSECURE; /* RFC 4035 §5.2: only unsupported algorithms/digests */

	m = dns_query(ctx, z->name, DNS_T_DNSKEY);
	if (m == NULL)
		return DNS_Z_BOGUS;
	dns_rrset_collect(m, DNS_S_AN, z->name, DNS_T_DNSKEY, &keys);
	if (keys.n == 0) {
		dns_fail(ctx, DNS_EDE_DNSKEY_MISSING, "no DNSKEY for %s", dns_nm(z->name));
		dns_msg_put(ctx, m);
		return DNS_Z_BOGUS;
	}
	nsig = sigs_collect(m, DNS_S_AN, z->name, DNS_T_DNSKEY, sigs, MAX_SIGS_PER_RRSET);
	if (nsig == 0) {
		dns_fail(ctx, DNS_EDE_RRSIGS_MISSING, "DNSKEY of %s without RRSIG", dns_nm(z->name));
		dns_msg_put(ctx, m);
		return DNS_Z_BOGUS;
	}
	for (unsigned i = 0; i < keys.n; i++) {
		const uint8_t *k = keys.rr[i]->rdata;
		uint16_t kl = keys.rr[i]->rdlen;
		bool trusted = false;

		if (kl < 5 || !(dns_get16(k) & DNS_KEY_ZONE) || (dns_get16(k) & DNS_KEY_REVOKE) ||
		    !dns_alg_supported(k[3]))
			continue;
		for (unsigned t = 0; t < ntp && !trusted; t++) {
			if (tp[t].type == DNS_T_DS) {
				if (sha2 && tp[t].rd[3] == 1)
					continue;
				trusted = dns_ds_match(z->name, tp[t].rd, tp[t].len, k, kl) == 1;
			} else {
				trusted = tp[t].len == kl && memcmp(tp[t].rd, k, kl) == 0;
			}
		}
		if (!trusted)
			continue;
		for (unsigned s = 0; s < nsig; s++) {
			const uint8_t *sig = sigs[s]->rdata;
			int r;
			if (dns_sig_keytag(sig) != dns_keytag(k, kl) || dns_sig_alg(sig) != k[3] ||
			    !dns_name_eq(dns_sig_signer(sig), z->name))
				continue;
			if (++tried > CONFIG_DNS_MAX_KEYTAG_COLLISIONS) {
				ctx->budget_hit = true;
				dns_fail(ctx, DNS_EDE_BOGUS,
				    "work budget: more than %d key-tag candidates for DNSKEY %s",
				    CONFIG_DNS_MAX_KEYTAG_COLLISIONS, dns_nm(z->name));
				dns_msg_put(ctx, m);
				return DNS_Z_BOGUS;
			}
			if (!sig_budget(ctx)) {
				dns_msg_put(ctx, m);
				return DNS_Z_BOGUS;
			}
			r = dns_rrsig_verify(&keys, sig, sigs[s]->rdlen, k, kl, ctx->now,
			    ctx->scratch, sizeof(ctx->scratch));
			if (r != DNS_SIG_OK) {
				if (!err || err == DNS_SIG_MISMATCH)
					err = r;
				continue;
			}
			/* trusted: keep the zone keys */
			uint32_t ttl = dns_sig_ttl(sig);
			size_t used = 0;
			for (unsigned j = 0; j < keys.n; j++)
				if (keys.rr[j]->ttl < ttl)
					ttl = keys.rr[j]->ttl;
			z->nkeys = 0;
			for (unsigned j = 0; j < keys.n && z->nkeys < 32; j++) {
				const struct dns_rr *kr = keys.rr[j];
				if (kr->rdlen < 5 || !(dns_get16(kr->rdata) & DNS_KEY_ZONE) ||
				    (dns_get16(kr->rdata) & DNS_KEY_REVOKE) ||
				    used + kr->rdlen > sizeof(z->keys))
					continue;
				memcpy(z->keys + used, kr->rdata, kr->rdlen);
				z->koff[z->nkeys] = (uint16_t)used;
				z->klen[z->nkeys] = kr->rdlen;
				z->nkeys++;
				used += kr->rdlen;
			}
			*expires = dns_min64(*expires, ctx->now + ttl);
			*expires = dns_min64(*expires, ctx->now + (int64_t)(int32_t)(
			    dns_sig_expiration(sig) - (uint32_t)ctx->now));
			dns_msg_put(ctx, m);
			return DNS_Z_SECURE;
		}
	}
	dns_msg_put(ctx, m);
	if (err)
		dns_fail(ctx, sig_ede(err), "DNSKEY RRset of %s: %s", dns_nm(z->name),
		    dns_sig_strerror(err));
	else
		dns_fail(ctx, DNS_EDE_DNSKEY_MISSING,
		    "no DNSKEY of %s matches a DS and signs the key set", dns_nm(z->name));
	return DNS_Z_BOGUS;
}

/* ------------------------------------------------------------------ denial */


/*
 * Verify every NSEC/NSEC3 RRset in the authority section. V_NOSIG when
 * there are none or they are unsigned.
 */
enum vres
dns_denial_collect(struct dns_ctx *ctx, const struct dns_msg *m, struct dns_denial *d, int depth,
    int64_t *expires)
{
	unsigned nsets = 0;

	dns_denial_init(d, CONFIG_DNS_MAX_NSEC3_HASHES > ctx->nsec3_hashes ?
	    CONFIG_DNS_MAX_NSEC3_HASHES - ctx->nsec3_hashes : 0, CONFIG_DNS_MAX_NSEC3_ITERATIONS);
	*expires = INT64_MAX;
	for (unsigned i = 0; i < m->nrr; i++) {
		const struct dns_rr *rr = &m->rr[i];
		int labels;
		int64_t exp;
		bool seen = false;

		if (rr->section != DNS_S_NS || (rr->type != DNS_T_NSEC && rr->type != DNS_T_NSEC3))
			continue;
		for (unsigned j = 0; j < i; j++)
			if (m->rr[j].section == DNS_S_NS && m->rr[j].type == rr->type &&
			    dns_name_eq(m->rr[j].owner, rr->owner))
				seen = true;
		if (seen)
			continue;
		if (++nsets > MAX_DENIAL_RRSETS) {
			dns_fail(ctx, DNS_EDE_BOGUS, "work budget: too many NSEC/NSEC3 RRsets");
			ctx->budget_hit = true;
			return V_BOGUS;
		}
		enum vres r = dns_verify_rrset(ctx, m, DNS_S_NS, rr->owner, rr->type, false, depth,
		    &labels, &exp, NULL);
		if (r == V_NOSIG)
			continue; /* an unsigned NSEC proves nothing; maybe others do */
		if (r != V_SECURE)
			return r;
		/* an NSEC/NSEC3 is never a wildcard expansion */
		int ol = dns_name_labels(rr->owner);
		if (rr->owner[0] == 1 && rr->owner[1] == '*')
			ol--; /* RFC 4034 §3.1.3: the "*" label is not counted */
		if (labels != ol) {
			dns_fail(ctx, DNS_EDE_BOGUS, "NSEC at %s signed as a wildcard", dns_nm(rr->owner));
			return V_BOGUS;
		}
		*expires = dns_min64(*expires, exp);
		(void)dns_denial_add(d, rr); /* unusable NSEC3s (unknown hash) prove nothing */
	}
	if (d->nnsec == 0 && d->nn3 == 0)
		return V_NOSIG;
	return V_SECURE;
}

/* Carry the denial's hash count and budget/iteration findings into ctx. */
enum dns_proof
dns_denial_done(struct dns_ctx *ctx, const struct dns_denial *d, enum dns_proof p)
{
	ctx->nsec3_hashes += d->hashes;
	if (d->budget_hit) {
		ctx->budget_hit = true;
		dns_fail(ctx, DNS_EDE_BOGUS, "work budget: more than %d NSEC3 hashes",
		    CONFIG_DNS_MAX_NSEC3_HASHES);
		return DNS_PROOF_ERROR;
	}
	if (p == DNS_PROOF_INSECURE && d->iter_over)
		dns_fail(ctx, DNS_EDE_NSEC3_ITER, "NSEC3 iterations %u above %d", d->iter,
		    CONFIG_DNS_MAX_NSEC3_ITERATIONS);
	return p;
}

/* ------------------------------------------------------------------ zone_get */

struct dns_zone *
dns_zone_get(struct dns_ctx *ctx, const uint8_t *name, int depth)
{
	struct dns_zone *z = zone_find(ctx, name);
	struct tpoint tp[64];
	unsigned ntp = 0;
	int64_t expires = ctx->now + 86400;
	enum dns_zstate st = DNS_Z_BOGUS;
	struct dns_msg *m = NULL;

	if (z)
		return z;
	z = zone_new(ctx, name);
	if (depth > MAX_DEPTH) {
		dns_fail(ctx, DNS_EDE_BOGUS, "chain of trust too deep at %s", dns_nm(name));
		zone_set(ctx, z, DNS_Z_BOGUS, ctx->now);
		return z;
	}
	if (name[0] == 0) {
		for (unsigned i = 0; i < ctx->nanchors; i++) {
			tp[ntp].type = ctx->anchors[i].type;
			tp[ntp].rd = ctx->anchors[i].rd;
			tp[ntp].len = ctx->anchors[i].len;
			ntp++;
		}
		st = zone_keys(ctx, z, tp, ntp, &expires);
		zone_set(ctx, z, st, expires);
		return z;
	}

	m = dns_query(ctx, name, DNS_T_DS);
	if (m == NULL) {
		zone_set(ctx, z, DNS_Z_BOGUS, ctx->now);
		return z;
	}
	struct dns_rrset ds;
	dns_rrset_collect(m, DNS_S_AN, name, DNS_T_DS, &ds);
	if (ds.n > 0) {
		int labels;
		enum vres r = dns_verify_rrset(ctx, m, DNS_S_AN, name, DNS_T_DS, true, depth, &labels,
		    &expires, NULL);
		if (r == V_NOSIG)
			st = dns_walk_ancestors(ctx, name, dns_name_labels(name) - 1, depth);
		else if (r == V_INSECURE)
			st = DNS_Z_INSECURE;
		else if (r == V_SECURE && labels == dns_name_labels(name)) {
			for (unsigned i = 0; i < ds.n && ntp < 64; i++) {
				tp[ntp].type = DNS_T_DS;
				tp[ntp].rd = ds.rr[i]->rdata;
				tp[ntp].len = ds.rr[i]->rdlen;
				ntp++;
			}
			/* tp points into m: keep m until zone_keys is done */
			st = zone_keys(ctx, z, tp, ntp, &expires);
		} else {
			st = DNS_Z_BOGUS;
		}
		if (st == DNS_Z_BOGUS && ctx->reason[0] == 0)
			dns_fail(ctx, DNS_EDE_BOGUS, "DS of %s does not validate", dns_nm(name));
	} else {
		struct dns_denial d;
		int64_t dexp;
		enum vres r = dns_denial_collect(ctx, m, &d, depth, &dexp);
		if (r == V_NOSIG) {
			st = dns_walk_ancestors(ctx, name, dns_name_labels(name) - 1, depth);
			if (st == DNS_Z_BOGUS)
				dns_fail(ctx, DNS_EDE_NSEC_MISSING, "no signed proof that %s has no DS",
				    dns_nm(name));
		} else if (r == V_INSECURE) {
			st = DNS_Z_INSECURE;
		} else if (r == V_SECURE) {
			expires = dns_min64(expires, dexp);
			switch (dns_denial_done(ctx, &d, dns_denial_no_ds(&d, name))) {
			case DNS_PROOF_INSECURE: st = DNS_Z_INSECURE; break;
			case DNS_PROOF_PROVEN: st = DNS_Z_NOTZONE; break;
			case DNS_PROOF_NONE:
				dns_fail(ctx, DNS_EDE_NSEC_MISSING, "no valid proof that %s has no DS",
				    dns_nm(name));
				st = DNS_Z_BOGUS;
				break;
			case DNS_PROOF_ERROR: st = DNS_Z_BOGUS; break;
			}
		} else {
			st = DNS_Z_BOGUS;
		}
	}
	dns_msg_put(ctx, m);
	zone_set(ctx, z, st, expires);
	return z;
}

/*
 * Walk the ancestors of name from the root down to `upto` labels: INSECURE
 * if one of them is a provably insecure zone, SECURE if the walk stays
 * secure (then whatever is unsigned below is bogus), BOGUS on failure.
 */
enum dns_zstate
dns_walk_ancestors(struct dns_ctx *ctx, const uint8_t *name, int upto, int depth)
{
	for (int k = 0; k <= upto; k++) {
		struct dns_zone *z = dns_zone_get(ctx, dns_name_suffix(name, k), depth + 1);
		if (ctx->budget_hit || ctx->net_fail)
			return DNS_Z_BOGUS;
		if (z->state == DNS_Z_INSECURE)
			return DNS_Z_INSECURE;
		if (z->state == DNS_Z_BOGUS) {
			dns_fail(ctx, z->ede, "%s", z->reason);
			return DNS_Z_BOGUS;
		}
	}
	return DNS_Z_BOGUS; /* all secure: an unsigned record there is bogus */
}
