/*
 * The validating lookup: chain of trust, authenticated denial, CNAME chains,
 * budgets. See dns.h for the model.
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
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "firmware/dns/denial.h"
#include "firmware/dns/dns.h"
#include "firmware/dns/dnssec.h"
#include "hal/clock.h"

enum vres { V_SECURE, V_INSECURE, V_BOGUS, V_NOSIG, V_EMPTY };

#define MAX_DEPTH 24
#define MAX_SIGS_PER_RRSET 8
#define MAX_DENIAL_RRSETS 16
#define MAX_CNAME_HOPS 8

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void fail(struct dns_ctx *ctx, uint16_t ede, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct dns_ctx *ctx, uint16_t ede, const char *fmt, ...)
{
	va_list ap;

	if (ctx->reason[0])
		return; /* the first cause is the one worth reporting */
	ctx->ede = ede;
	va_start(ap, fmt);
	vsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
	va_end(ap);
}

static const char *
nm(const uint8_t *name)
{
	static char buf[4][1024];
	static int k;

	k = (k + 1) & 3;
	if (dns_name_to_text(name, buf[k], sizeof(buf[k])) != 0)
		snprintf(buf[k], sizeof(buf[k]), "?");
	return buf[k];
}

static const char *
tn(uint16_t type)
{
	static char buf[4][16];
	static int k;

	k = (k + 1) & 3;
	dns_type_to_text(type, buf[k], sizeof(buf[k]));
	return buf[k];
}

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

/* ------------------------------------------------------------------ messages */

static struct dns_msg *
query(struct dns_ctx *ctx, const uint8_t *name, uint16_t type)
{
	struct dns_msg *m;
	size_t len = 0;
	int rc;

	if (ctx->msg_used >= DNS_MSG_POOL) {
		ctx->budget_hit = true;
		fail(ctx, DNS_EDE_OTHER, "work budget: chain too deep");
		return NULL;
	}
	if (++ctx->queries > CONFIG_DNS_QUERIES_PER_LOOKUP) {
		ctx->budget_hit = true;
		fail(ctx, DNS_EDE_OTHER, "work budget: more than %d queries",
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
		fail(ctx, rc == -EMSGSIZE ? DNS_EDE_NETWORK : DNS_EDE_NO_REACHABLE,
		    "network: %s for %s/%s", rc == -ETIMEDOUT ? "no answer"
		    : rc == -EMSGSIZE ? "truncated answer, TCP failed" : strerror(-rc),
		    nm(name), tn(type));
		return NULL;
	}
	m = &ctx->msgs[ctx->msg_used++];
	rc = dns_msg_parse(m, ctx->resp, len);
	if (rc != DNS_E_OK) {
		ctx->msg_used--;
		ctx->net_fail = true;
		fail(ctx, DNS_EDE_NETWORK, "malformed answer for %s: %s", nm(name),
		    dns_wire_strerror(rc));
		return NULL;
	}
	if (m->qnlen == 0 || !dns_name_eq(m->qname, name) || m->qtype != type ||
	    !(m->flags & DNS_F_QR)) {
		ctx->msg_used--;
		ctx->net_fail = true;
		fail(ctx, DNS_EDE_NETWORK, "answer does not match the question %s", nm(name));
		return NULL;
	}
	if (m->rcode != DNS_RCODE_NOERROR && m->rcode != DNS_RCODE_NXDOMAIN) {
		ctx->msg_used--;
		ctx->net_fail = true;
		fail(ctx, DNS_EDE_NO_REACHABLE, "upstream answered rcode %u for %s/%s", m->rcode,
		    nm(name), tn(type));
		return NULL;
	}
	return m;
}

static void
msg_put(struct dns_ctx *ctx, struct dns_msg *m)
{
	if (m && ctx->msg_used > 0 && m == &ctx->msgs[ctx->msg_used - 1])
		ctx->msg_used--;
}

static void
rrset_collect(const struct dns_msg *m, int section, const uint8_t *owner, uint16_t type,
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

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static struct dns_zone *zone_get(struct dns_ctx *ctx, const uint8_t *name, int depth);

static bool
sig_budget(struct dns_ctx *ctx)
{
	if (ctx->sig_checks >= CONFIG_DNS_MAX_SIG_CHECKS_PER_QUERY) {
		ctx->budget_hit = true;
		fail(ctx, DNS_EDE_BOGUS, "work budget: more than %d signature checks",
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
static enum vres
verify_rrset(struct dns_ctx *ctx, const struct dns_msg *m, int section, const uint8_t *owner,
    uint16_t type, bool parent_only, int depth, int *labels, int64_t *expires,
    const uint8_t **signer_out)
{
	struct dns_rrset set;
	const struct dns_rr *sigs[MAX_SIGS_PER_RRSET];
	unsigned nsig;
	int first_err = 0;
	bool any_zone_bogus = false;

	rrset_collect(m, section, owner, type, &set);
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
		z = zone_get(ctx, signer, depth + 1);
		if (ctx->budget_hit || ctx->net_fail)
			return V_BOGUS;
		if (z->state == DNS_Z_INSECURE)
			return V_INSECURE;
		if (z->state == DNS_Z_NOTZONE) {
			fail(ctx, DNS_EDE_BOGUS, "%s/%s signed by %s, which is not a zone", nm(owner),
			    tn(type), nm(signer));
			any_zone_bogus = true;
			continue;
		}
		if (z->state != DNS_Z_SECURE) {
			fail(ctx, z->ede, "%s", z->reason);
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
				fail(ctx, DNS_EDE_BOGUS,
				    "work budget: more than %d keys with tag %u for %s/%s",
				    CONFIG_DNS_MAX_KEYTAG_COLLISIONS, dns_sig_keytag(sig), nm(owner),
				    tn(type));
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
				*expires = min64(e, ctx->now + ttl);
				ctx->exp_min = min64(ctx->exp_min, *expires);
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
		fail(ctx, DNS_EDE_UNSUP_DNSKEY_ALG,
		    "%s/%s only signed with unsupported algorithms in a secure zone", nm(owner),
		    tn(type));
		return V_BOGUS;
	}
	if (first_err == DNS_SIG_MISMATCH)
		fail(ctx, DNS_EDE_DNSKEY_MISSING, "no key of the signer matches the RRSIG of %s/%s",
		    nm(owner), tn(type));
	else if (first_err)
		fail(ctx, sig_ede(first_err), "RRSIG of %s/%s: %s", nm(owner), tn(type),
		    dns_sig_strerror(first_err));
	else
		fail(ctx, DNS_EDE_BOGUS, "no usable RRSIG for %s/%s", nm(owner), tn(type));
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

	m = query(ctx, z->name, DNS_T_DNSKEY);
	if (m == NULL)
		return DNS_Z_BOGUS;
	rrset_collect(m, DNS_S_AN, z->name, DNS_T_DNSKEY, &keys);
	if (keys.n == 0) {
		fail(ctx, DNS_EDE_DNSKEY_MISSING, "no DNSKEY for %s", nm(z->name));
		msg_put(ctx, m);
		return DNS_Z_BOGUS;
	}
	nsig = sigs_collect(m, DNS_S_AN, z->name, DNS_T_DNSKEY, sigs, MAX_SIGS_PER_RRSET);
	if (nsig == 0) {
		fail(ctx, DNS_EDE_RRSIGS_MISSING, "DNSKEY of %s without RRSIG", nm(z->name));
		msg_put(ctx, m);
		return DNS_Z_BOGUS;
	}
	for (unsigned i = 0; i < keys.n; i++) {
		const uint8_t *k = keys.rr[i]->rdata;
		uint16_t kl = keys.rr[i]->rdlen;
		bool trusted = false;

		if (kl < 5 || !(get16(k) & DNS_KEY_ZONE) || (get16(k) & DNS_KEY_REVOKE) ||
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
				fail(ctx, DNS_EDE_BOGUS,
				    "work budget: more than %d key-tag candidates for DNSKEY %s",
				    CONFIG_DNS_MAX_KEYTAG_COLLISIONS, nm(z->name));
				msg_put(ctx, m);
				return DNS_Z_BOGUS;
			}
			if (!sig_budget(ctx)) {
				msg_put(ctx, m);
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
				if (kr->rdlen < 5 || !(get16(kr->rdata) & DNS_KEY_ZONE) ||
				    (get16(kr->rdata) & DNS_KEY_REVOKE) ||
				    used + kr->rdlen > sizeof(z->keys))
					continue;
				memcpy(z->keys + used, kr->rdata, kr->rdlen);
				z->koff[z->nkeys] = (uint16_t)used;
				z->klen[z->nkeys] = kr->rdlen;
				z->nkeys++;
				used += kr->rdlen;
			}
			*expires = min64(*expires, ctx->now + ttl);
			*expires = min64(*expires, ctx->now + (int64_t)(int32_t)(
			    dns_sig_expiration(sig) - (uint32_t)ctx->now));
			msg_put(ctx, m);
			return DNS_Z_SECURE;
		}
	}
	msg_put(ctx, m);
	if (err)
		fail(ctx, sig_ede(err), "DNSKEY RRset of %s: %s", nm(z->name),
		    dns_sig_strerror(err));
	else
		fail(ctx, DNS_EDE_DNSKEY_MISSING,
		    "no DNSKEY of %s matches a DS and signs the key set", nm(z->name));
	return DNS_Z_BOGUS;
}

/* ------------------------------------------------------------------ denial */


/*
 * Verify every NSEC/NSEC3 RRset in the authority section. V_NOSIG when
 * there are none or they are unsigned.
 */
static enum vres
denial_collect(struct dns_ctx *ctx, const struct dns_msg *m, struct dns_denial *d, int depth,
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
			fail(ctx, DNS_EDE_BOGUS, "work budget: too many NSEC/NSEC3 RRsets");
			ctx->budget_hit = true;
			return V_BOGUS;
		}
		enum vres r = verify_rrset(ctx, m, DNS_S_NS, rr->owner, rr->type, false, depth,
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
			fail(ctx, DNS_EDE_BOGUS, "NSEC at %s signed as a wildcard", nm(rr->owner));
			return V_BOGUS;
		}
		*expires = min64(*expires, exp);
		(void)dns_denial_add(d, rr); /* unusable NSEC3s (unknown hash) prove nothing */
	}
	if (d->nnsec == 0 && d->nn3 == 0)
		return V_NOSIG;
	return V_SECURE;
}

/* Carry the denial's hash count and budget/iteration findings into ctx. */
static enum dns_proof
denial_done(struct dns_ctx *ctx, const struct dns_denial *d, enum dns_proof p)
{
	ctx->nsec3_hashes += d->hashes;
	if (d->budget_hit) {
		ctx->budget_hit = true;
		fail(ctx, DNS_EDE_BOGUS, "work budget: more than %d NSEC3 hashes",
		    CONFIG_DNS_MAX_NSEC3_HASHES);
		return DNS_PROOF_ERROR;
	}
	if (p == DNS_PROOF_INSECURE && d->iter_over)
		fail(ctx, DNS_EDE_NSEC3_ITER, "NSEC3 iterations %u above %d", d->iter,
		    CONFIG_DNS_MAX_NSEC3_ITERATIONS);
	return p;
}

/* ------------------------------------------------------------------ zone_get */

static enum dns_zstate walk_ancestors(struct dns_ctx *ctx, const uint8_t *name, int upto,
    int depth);

static struct dns_zone *
zone_get(struct dns_ctx *ctx, const uint8_t *name, int depth)
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
		fail(ctx, DNS_EDE_BOGUS, "chain of trust too deep at %s", nm(name));
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

	m = query(ctx, name, DNS_T_DS);
	if (m == NULL) {
		zone_set(ctx, z, DNS_Z_BOGUS, ctx->now);
		return z;
	}
	struct dns_rrset ds;
	rrset_collect(m, DNS_S_AN, name, DNS_T_DS, &ds);
	if (ds.n > 0) {
		int labels;
		enum vres r = verify_rrset(ctx, m, DNS_S_AN, name, DNS_T_DS, true, depth, &labels,
		    &expires, NULL);
		if (r == V_NOSIG)
			st = walk_ancestors(ctx, name, dns_name_labels(name) - 1, depth);
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
			fail(ctx, DNS_EDE_BOGUS, "DS of %s does not validate", nm(name));
	} else {
		struct dns_denial d;
		int64_t dexp;
		enum vres r = denial_collect(ctx, m, &d, depth, &dexp);
		if (r == V_NOSIG) {
			st = walk_ancestors(ctx, name, dns_name_labels(name) - 1, depth);
			if (st == DNS_Z_BOGUS)
				fail(ctx, DNS_EDE_NSEC_MISSING, "no signed proof that %s has no DS",
				    nm(name));
		} else if (r == V_INSECURE) {
			st = DNS_Z_INSECURE;
		} else if (r == V_SECURE) {
			expires = min64(expires, dexp);
			switch (denial_done(ctx, &d, dns_denial_no_ds(&d, name))) {
			case DNS_PROOF_INSECURE: st = DNS_Z_INSECURE; break;
			case DNS_PROOF_PROVEN: st = DNS_Z_NOTZONE; break;
			case DNS_PROOF_NONE:
				fail(ctx, DNS_EDE_NSEC_MISSING, "no valid proof that %s has no DS",
				    nm(name));
				st = DNS_Z_BOGUS;
				break;
			case DNS_PROOF_ERROR: st = DNS_Z_BOGUS; break;
			}
		} else {
			st = DNS_Z_BOGUS;
		}
	}
	msg_put(ctx, m);
	zone_set(ctx, z, st, expires);
	return z;
}

/*
 * Walk the ancestors of name from the root down to `upto` labels: INSECURE
 * if one of them is a provably insecure zone, SECURE if the walk stays
 * secure (then whatever is unsigned below is bogus), BOGUS on failure.
 */
static enum dns_zstate
walk_ancestors(struct dns_ctx *ctx, const uint8_t *name, int upto, int depth)
{
	for (int k = 0; k <= upto; k++) {
		struct dns_zone *z = zone_get(ctx, dns_name_suffix(name, k), depth + 1);
		if (ctx->budget_hit || ctx->net_fail)
			return DNS_Z_BOGUS;
		if (z->state == DNS_Z_INSECURE)
			return DNS_Z_INSECURE;
		if (z->state == DNS_Z_BOGUS) {
			fail(ctx, z->ede, "%s", z->reason);
			return DNS_Z_BOGUS;
		}
	}
	return DNS_Z_BOGUS; /* all secure: an unsigned record there is bogus */
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

	rrset_collect(m, DNS_S_AN, owner, type, &set);
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

	if (denial_collect(ctx, m, &d, depth, &exp) != V_SECURE)
		return false;
	return denial_done(ctx, &d, dns_denial_wildcard(&d, owner, labels)) == DNS_PROOF_PROVEN;
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
		struct dns_zone *z = zone_get(ctx, n, 1);
		if (ctx->net_fail || ctx->budget_hit)
			return false;
		if (z->state != DNS_Z_NOTZONE) {
			ctx->reason[0] = '\0';
			fail(ctx, DNS_EDE_BOGUS, "%s signed by %s, but %s is a zone cut (wrong signer)",
			    nm(owner), nm(signer), nm(n));
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
	enum vres r = verify_rrset(ctx, m, DNS_S_AN, owner, type, false, 0, &labels, &exp,
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
			fail(ctx, DNS_EDE_NSEC_MISSING,
			    "wildcard answer for %s without proof that no closer name exists",
			    nm(owner));
			return DNS_BOGUS;
		}
		if (!signer_is_zone(ctx, owner, labels, signer))
			return ctx->net_fail ? DNS_INDETERMINATE : DNS_BOGUS;
		return DNS_SECURE;
	}
	case V_INSECURE:
		return DNS_INSECURE;
	case V_NOSIG: {
		enum dns_zstate st = walk_ancestors(ctx, owner, dns_name_labels(owner), 0);
		if (st == DNS_Z_BOGUS && !ctx->net_fail && !ctx->budget_hit)
			ctx->reason[0] = '\0';
		if (st == DNS_Z_BOGUS)
			fail(ctx, DNS_EDE_RRSIGS_MISSING, "%s/%s has no RRSIG in a signed zone",
			    nm(owner), tn(type));
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
	enum vres r = denial_collect(ctx, m, &d, 0, &exp);
	bool nx = m->rcode == DNS_RCODE_NXDOMAIN;

	if (ctx->net_fail)
		return DNS_INDETERMINATE;
	if (r == V_INSECURE)
		return DNS_INSECURE;
	if (r == V_NOSIG) {
		enum dns_zstate st = walk_ancestors(ctx, name, dns_name_labels(name), 0);
		if (st == DNS_Z_BOGUS && !ctx->net_fail && !ctx->budget_hit)
			ctx->reason[0] = '\0'; /* the missing proof is the cause, not the walk */
		if (st == DNS_Z_BOGUS)
			fail(ctx, DNS_EDE_NSEC_MISSING, "%s for %s/%s without signed NSEC/NSEC3",
			    nx ? "NXDOMAIN" : "NODATA", nm(name), tn(type));
		return zstate_status(ctx, st);
	}
	if (r != V_SECURE)
		return ctx->net_fail ? DNS_INDETERMINATE : DNS_BOGUS;
	/* the denial must come from a zone that holds the name */
	switch (denial_done(ctx, &d, nx ? dns_denial_nxdomain(&d, name)
					  : dns_denial_nodata(&d, name, type))) {
	case DNS_PROOF_PROVEN: return DNS_SECURE;
	case DNS_PROOF_INSECURE: return DNS_INSECURE;
	case DNS_PROOF_ERROR: return DNS_BOGUS;
	case DNS_PROOF_NONE: break;
	}
	fail(ctx, DNS_EDE_NSEC_MISSING, "%s for %s/%s: the NSEC/NSEC3 records do not prove it",
	    nx ? "NXDOMAIN" : "NODATA", nm(name), tn(type));
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

static bool
cache_get(struct dns_ctx *ctx, const uint8_t *qname, uint16_t type, struct dns_result *res)
{
	if (CONFIG_DNS_CACHE_ENTRIES == 0)
		return false;
	for (unsigned i = 0; i < DNS_CACHE_SLOTS; i++) {
		struct dns_cache_entry *e = &ctx->cache[i];
		if (!e->used || e->type != type || !dns_name_eq(e->name, qname))
			continue;
		if (e->expires <= ctx->now) {
			e->used = false;
			return false;
		}
		res->status = (enum dns_status)e->status;
		res->rcode = e->rcode;
		res->nodata = e->nodata;
		res->ede = e->ede;
		memcpy(res->reason, e->reason, sizeof(res->reason));
		res->nrr = e->nrr;
		memcpy(res->rr, e->rr, e->nrr * sizeof(e->rr[0]));
		memcpy(res->data, e->data, e->used_data);
		res->used = e->used_data;
		/* TTLs count down from the time the answer was stored */
		for (unsigned k = 0; k < res->nrr; k++) {
			int64_t left = e->expires - ctx->now;
			if ((int64_t)res->rr[k].ttl > left)
				res->rr[k].ttl = (uint32_t)left;
		}
		return true;
	}
	return false;
}

static void
cache_put(struct dns_ctx *ctx, const uint8_t *qname, uint16_t type, const struct dns_result *res,
    int64_t expires)
{
	struct dns_cache_entry *e = NULL;

	if (CONFIG_DNS_CACHE_ENTRIES == 0 || expires <= ctx->now || res->nrr > DNS_CACHE_RR ||
	    res->used > DNS_CACHE_DATA)
		return;
	for (unsigned i = 0; i < DNS_CACHE_SLOTS && e == NULL; i++)
		if (!ctx->cache[i].used || ctx->cache[i].expires <= ctx->now ||
		    (ctx->cache[i].type == type && dns_name_eq(ctx->cache[i].name, qname)))
			e = &ctx->cache[i];
	if (e == NULL) { /* full: replace round-robin */
		e = &ctx->cache[ctx->cache_next];
		ctx->cache_next = (ctx->cache_next + 1) % DNS_CACHE_SLOTS;
	}
	e->used = true;
	memcpy(e->name, qname, dns_name_len(qname, DNS_NAME_MAX));
	e->type = type;
	e->expires = expires;
	e->status = (uint8_t)res->status;
	e->rcode = res->rcode;
	e->nodata = res->nodata;
	e->ede = res->ede;
	memcpy(e->reason, res->reason, sizeof(e->reason));
	e->nrr = res->nrr;
	memcpy(e->rr, res->rr, res->nrr * sizeof(res->rr[0]));
	memcpy(e->data, res->data, res->used);
	e->used_data = (uint16_t)res->used;
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
		snprintf(res->reason, sizeof(res->reason), "clock not plausible");
		return 0;
	}
	if (cache_get(ctx, qname, type, res))
		return 0;
	ctx->exp_min = now + 86400;
	m = query(ctx, cur, type);
	while (m != NULL) {
		struct dns_rrset set;

		rrset_collect(m, DNS_S_AN, cur, type, &set);
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
				fail(ctx, DNS_EDE_OTHER, "DNAME substitution for %s failed (too long, or loop)",
				    nm(cur));
				st = DNS_BOGUS;
				break;
			}
			rrset_collect(m, DNS_S_AN, cur, DNS_T_CNAME, &set);
			if (set.n == 1 && dns_name_eq(set.rr[0]->rdata, syn))
				result_add(ctx, res, m, cur, DNS_T_CNAME); /* as synthesised */
			memcpy(cur, syn, dns_name_len(syn, DNS_NAME_MAX));
			rrset_collect(m, DNS_S_AN, cur, type, &set);
			struct dns_rrset c2;
			rrset_collect(m, DNS_S_AN, cur, DNS_T_CNAME, &c2);
			if (set.n == 0 && c2.n == 0 && find_dname(m, cur) == NULL && !has_denial_for(m)) {
				msg_put(ctx, m);
				m = query(ctx, cur, type);
			}
			continue;
		}
		rrset_collect(m, DNS_S_AN, cur, DNS_T_CNAME, &set);
		if (set.n > 0 && type != DNS_T_CNAME) {
			st = worse(st, check_positive(ctx, m, cur, DNS_T_CNAME));
			result_add(ctx, res, m, cur, DNS_T_CNAME);
			if (st == DNS_BOGUS || st == DNS_INDETERMINATE)
				break;
			if (++hops > MAX_CNAME_HOPS) {
				fail(ctx, DNS_EDE_OTHER, "CNAME chain longer than %d", MAX_CNAME_HOPS);
				st = DNS_BOGUS;
				break;
			}
			size_t tl = dns_name_len(set.rr[0]->rdata, set.rr[0]->rdlen);
			memcpy(cur, set.rr[0]->rdata, tl);
			/* the target is answered in the same message, or asked anew */
			rrset_collect(m, DNS_S_AN, cur, type, &set);
			struct dns_rrset c2;
			rrset_collect(m, DNS_S_AN, cur, DNS_T_CNAME, &c2);
			if (set.n == 0 && c2.n == 0 &&
			    !(has_denial_for(m) && m->rcode == DNS_RCODE_NXDOMAIN) &&
			    !has_denial_for(m)) {
				msg_put(ctx, m);
				m = query(ctx, cur, type);
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
		cache_put(ctx, qname, type, res, st == DNS_BOGUS ? min64(ctx->exp_min, now + 60)
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
