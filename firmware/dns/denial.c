/*
 * Authenticated denial: NSEC and NSEC3 proofs over verified records.
 * See denial.h.
 */
#include <string.h>

#include "firmware/dns/denial.h"
#include "firmware/dns/dnssec.h"

void
dns_denial_init(struct dns_denial *d, unsigned max_hashes, unsigned max_iter)
{
	memset(d, 0, offsetof(struct dns_denial, hc));
	d->nhc = 0;
	d->max_hashes = max_hashes;
	d->max_iter = max_iter;
}

static const uint8_t *
nsec_next(const struct dns_rr *rr)
{
	return rr->rdata;
}

static bool
nsec_bits(const struct dns_rr *rr, uint16_t type)
{
	size_t l = dns_name_len(rr->rdata, rr->rdlen);

	return l && dns_bitmap_has(rr->rdata + l, rr->rdlen - l, type);
}

/* NSEC rr proves name does not exist (owner < name < next, RFC 4034 §4.1.1). */
static bool
nsec_covers(const struct dns_rr *rr, const uint8_t *name)
{
	const uint8_t *next = nsec_next(rr);

	if (dns_name_cmp(rr->owner, name) >= 0)
		return false;
	/* a delegation or DNAME above name hides what is below (RFC 4035 §5.4) */
	if (dns_name_is_sub(name, rr->owner) &&
	    ((nsec_bits(rr, DNS_T_NS) && !nsec_bits(rr, DNS_T_SOA)) || nsec_bits(rr, DNS_T_DNAME)))
		return false;
	if (dns_name_cmp(next, rr->owner) <= 0) /* last NSEC of the zone wraps to the apex */
		return dns_name_is_sub(name, next);
	return dns_name_cmp(name, next) < 0;
}

static const struct dns_rr *
nsec_match(const struct dns_denial *d, const uint8_t *name)
{
	for (unsigned i = 0; i < d->nnsec; i++)
		if (dns_name_eq(d->nsec[i]->owner, name))
			return d->nsec[i];
	return NULL;
}

static const struct dns_rr *
nsec_cover(const struct dns_denial *d, const uint8_t *name)
{
	for (unsigned i = 0; i < d->nnsec; i++)
		if (nsec_covers(d->nsec[i], name))
			return d->nsec[i];
	return NULL;
}

static int
common_labels(const uint8_t *a, const uint8_t *b)
{
	int la = dns_name_labels(a), lb = dns_name_labels(b), k = la < lb ? la : lb;

	while (k > 0 && !dns_name_eq(dns_name_suffix(a, k), dns_name_suffix(b, k)))
		k--;
	return k;
}

static void
wildcard_of(const uint8_t *ce, uint8_t out[DNS_NAME_MAX])
{
	size_t l = dns_name_len(ce, DNS_NAME_MAX);

	out[0] = 1;
	out[1] = '*';
	if (l + 2 > DNS_NAME_MAX) {
		out[0] = 0;
		return;
	}
	memcpy(out + 2, ce, l);
}

/* NSEC3 ---------------------------------------------------------------- */

static int
n3_hash(struct dns_denial *d, const uint8_t *name, uint8_t h[20])
{
	for (unsigned i = 0; i < d->nhc; i++)
		if (dns_name_eq(d->hc[i].name, name)) {
			memcpy(h, d->hc[i].h, 20);
			return 0;
		}
	if (d->hashes >= d->max_hashes) {
		d->budget_hit = true;
		return -1;
	}
	d->hashes++;
	if (dns_nsec3_hash(name, d->salt, d->saltlen, d->iter, h) != 0)
		return -1;
	if (d->nhc < 16) {
		memcpy(d->hc[d->nhc].name, name, dns_name_len(name, DNS_NAME_MAX));
		memcpy(d->hc[d->nhc].h, h, 20);
		d->nhc++;
	}
	return 0;
}

static bool
n3_params_same(const struct dns_denial *d, const struct dns_rr *rr)
{
	return dns_get16(rr->rdata + 2) == d->iter && rr->rdata[4] == d->saltlen &&
	    memcmp(rr->rdata + 5, d->salt, d->saltlen) == 0 &&
	    dns_name_eq(dns_name_suffix(rr->owner, dns_name_labels(rr->owner) - 1), d->zone);
}

static bool
n3_owner_hash(const struct dns_rr *rr, uint8_t h[20])
{
	size_t got;

	return rr->owner[0] == 32 &&
	    dns_b32hex_decode((const char *)rr->owner + 1, 32, h, 20, &got) == 0 && got == 20;
}

static const uint8_t *
n3_next(const struct dns_rr *rr, uint8_t *hlen)
{
	size_t o = 5u + rr->rdata[4];

	*hlen = rr->rdata[o];
	return rr->rdata + o + 1;
}

static bool
n3_bits(const struct dns_rr *rr, uint16_t type)
{
	size_t o = 5u + rr->rdata[4];

	o += 1u + rr->rdata[o];
	return dns_bitmap_has(rr->rdata + o, rr->rdlen - o, type);
}

/* The NSEC3 hash of name, if name is in the zone; a failed hash sets *err. */
static bool
n3_hash_in_zone(struct dns_denial *d, const uint8_t *name, uint8_t h[20], bool *err)
{
	if (!dns_name_is_sub(name, d->zone))
		return false;
	if (n3_hash(d, name, h) != 0) {
		*err = true;
		return false;
	}
	return true;
}

static const struct dns_rr *
n3_match(struct dns_denial *d, const uint8_t *name, bool *err)
{
	uint8_t h[20], oh[20];

	if (!n3_hash_in_zone(d, name, h, err))
		return NULL;
	for (unsigned i = 0; i < d->nn3; i++)
		if (n3_params_same(d, d->n3[i]) && n3_owner_hash(d->n3[i], oh) &&
		    memcmp(oh, h, 20) == 0)
			return d->n3[i];
	return NULL;
}

static const struct dns_rr *
n3_cover(struct dns_denial *d, const uint8_t *name, bool *err)
{
	uint8_t h[20], oh[20];

	if (!n3_hash_in_zone(d, name, h, err))
		return NULL;
	for (unsigned i = 0; i < d->nn3; i++) {
		uint8_t nl;
		const uint8_t *nx = n3_next(d->n3[i], &nl);
		if (!n3_params_same(d, d->n3[i]) || !n3_owner_hash(d->n3[i], oh) || nl != 20)
			continue;
		int a = memcmp(oh, h, 20), b = memcmp(h, nx, 20);
		if (memcmp(oh, nx, 20) < 0) {
			if (a < 0 && b < 0)
				return d->n3[i];
		} else if (a < 0 || b < 0) { /* last in hash order wraps around */
			return d->n3[i];
		}
	}
	return NULL;
}

/*
 * Closest encloser proof (RFC 5155 §8.3). Returns 1 with *ce labels and the
 * NSEC3 covering the next closer name, 0 if no proof, -1 on budget.
 */
static int
n3_closest_encloser(struct dns_denial *d, const uint8_t *name, int *ce_labels,
    const struct dns_rr **nc_cover)
{
	bool err = false;
	int zl = dns_name_labels(d->zone);

	for (int k = dns_name_labels(name) - 1; k >= zl; k--) {
		const uint8_t *ce = dns_name_suffix(name, k);
		const struct dns_rr *mm = n3_match(d, ce, &err);
		if (err)
			return -1;
		if (mm == NULL)
			continue;
		/* a delegation or DNAME cannot be a closest encloser (RFC 5155 §8.3) */
		if ((n3_bits(mm, DNS_T_NS) && !n3_bits(mm, DNS_T_SOA)) || n3_bits(mm, DNS_T_DNAME))
			return 0;
		const struct dns_rr *cv = n3_cover(d, dns_name_suffix(name, k + 1), &err);
		if (err)
			return -1;
		if (cv == NULL)
			return 0;
		*ce_labels = k;
		*nc_cover = cv;
		return 1;
	}
	return 0;
}

/* Is the NSEC3 chain usable? Iterations above the limit make the zone insecure. */
static enum dns_proof
n3_usable(struct dns_denial *d)
{
	if (d->nn3 == 0)
		return DNS_PROOF_NONE;
	if (d->iter > d->max_iter) {
		d->iter_over = true;
		return DNS_PROOF_INSECURE;
	}
	return DNS_PROOF_PROVEN;
}

/*
 * Proof that name has no DS (for zone_get and the insecure walk):
 * DNS_PROOF_INSECURE = delegation without DS (or opt-out), DNS_PROOF_PROVEN = not a zone cut.
 */
static enum dns_proof
prove_no_ds(struct dns_denial *d, const uint8_t *name)
{
	const struct dns_rr *r = nsec_match(d, name);
	bool err = false;
	int ce;
	const struct dns_rr *cv;

	if (r) {
		if (nsec_bits(r, DNS_T_DS) || nsec_bits(r, DNS_T_SOA) || nsec_bits(r, DNS_T_CNAME))
			return DNS_PROOF_NONE;
		return nsec_bits(r, DNS_T_NS) ? DNS_PROOF_INSECURE : DNS_PROOF_PROVEN;
	}
	r = nsec_cover(d, name);
	if (r)
		return DNS_PROOF_PROVEN; /* the name does not exist (or is an empty non-terminal) */
	enum dns_proof u = n3_usable(d);
	if (u != DNS_PROOF_PROVEN)
		return u;
	r = n3_match(d, name, &err);
	if (err)
		return DNS_PROOF_ERROR;
	if (r) {
		if (n3_bits(r, DNS_T_DS) || n3_bits(r, DNS_T_SOA) || n3_bits(r, DNS_T_CNAME))
			return DNS_PROOF_NONE;
		return n3_bits(r, DNS_T_NS) ? DNS_PROOF_INSECURE : DNS_PROOF_PROVEN;
	}
	int rc = n3_closest_encloser(d, name, &ce, &cv);
	if (rc < 0)
		return DNS_PROOF_ERROR;
	if (rc == 0)
		return DNS_PROOF_NONE;
	/* RFC 5155 §8.6: the next closer is covered by an opt-out span */
	return (cv->rdata[1] & 1) ? DNS_PROOF_INSECURE : DNS_PROOF_PROVEN;
}

/* NXDOMAIN / NODATA proofs for (name, type) (RFC 4035 §5.4, RFC 5155 §8.4-8.7). */
static enum dns_proof
prove_denial(struct dns_denial *d, const uint8_t *name, uint16_t type,
    bool nxdomain)
{
	const struct dns_rr *r;
	uint8_t wc[DNS_NAME_MAX];
	bool err = false;

	if (d->nnsec > 0) {
		if (!nxdomain && (r = nsec_match(d, name)) != NULL) {
			if (nsec_bits(r, type) || nsec_bits(r, DNS_T_CNAME))
				return DNS_PROOF_NONE;
			/* a parent-side delegation NSEC only denies DS */
			if (type != DNS_T_DS && nsec_bits(r, DNS_T_NS) && !nsec_bits(r, DNS_T_SOA))
				return DNS_PROOF_NONE;
			if (type == DNS_T_DS && nsec_bits(r, DNS_T_SOA) && name[0] != 0)
				return DNS_PROOF_NONE;
			return DNS_PROOF_PROVEN;
		}
		r = nsec_cover(d, name);
		if (r == NULL)
			return DNS_PROOF_NONE;
		/* empty non-terminal: the next name is below name */
		if (dns_name_is_sub(nsec_next(r), name) && !dns_name_eq(nsec_next(r), name))
			return nxdomain ? DNS_PROOF_NONE : DNS_PROOF_PROVEN;
		int c1 = common_labels(name, r->owner), c2 = common_labels(name, nsec_next(r));
		int ce = c1 > c2 ? c1 : c2;
		wildcard_of(dns_name_suffix(name, ce), wc);
		if (wc[0] == 0)
			return DNS_PROOF_NONE;
		if (nxdomain)
			return nsec_cover(d, wc) ? DNS_PROOF_PROVEN : DNS_PROOF_NONE;
		/* wildcard NODATA */
		r = nsec_match(d, wc);
		if (r == NULL || nsec_bits(r, type) || nsec_bits(r, DNS_T_CNAME))
			return DNS_PROOF_NONE;
		return DNS_PROOF_PROVEN;
	}
	enum dns_proof u = n3_usable(d);
	if (u != DNS_PROOF_PROVEN)
		return u;
	if (!nxdomain) {
		r = n3_match(d, name, &err);
		if (err)
			return DNS_PROOF_ERROR;
		if (r) {
			if (n3_bits(r, type) || n3_bits(r, DNS_T_CNAME))
				return DNS_PROOF_NONE;
			if (type != DNS_T_DS && n3_bits(r, DNS_T_NS) && !n3_bits(r, DNS_T_SOA))
				return DNS_PROOF_NONE;
			/* RFC 6840 §4.4: a child's apex record cannot deny its DS */
			if (type == DNS_T_DS && n3_bits(r, DNS_T_SOA) && name[0] != 0)
				return DNS_PROOF_NONE;
			return DNS_PROOF_PROVEN;
		}
	}
	int ce;
	const struct dns_rr *cv;
	int rc = n3_closest_encloser(d, name, &ce, &cv);
	if (rc < 0)
		return DNS_PROOF_ERROR;
	if (rc == 0)
		return DNS_PROOF_NONE;
	if (!nxdomain && type == DNS_T_DS && (cv->rdata[1] & 1))
		return DNS_PROOF_INSECURE; /* §8.6 */
	wildcard_of(dns_name_suffix(name, ce), wc);
	if (wc[0] == 0)
		return DNS_PROOF_NONE;
	if (nxdomain) {
		r = n3_cover(d, wc, &err);
		if (err)
			return DNS_PROOF_ERROR;
		return r ? DNS_PROOF_PROVEN : DNS_PROOF_NONE;
	}
	r = n3_match(d, wc, &err); /* §8.7 wildcard NODATA */
	if (err)
		return DNS_PROOF_ERROR;
	if (r == NULL || n3_bits(r, type) || n3_bits(r, DNS_T_CNAME))
		return DNS_PROOF_NONE;
	return DNS_PROOF_PROVEN;
}

bool
dns_denial_add(struct dns_denial *d, const struct dns_rr *rr)
{
	uint8_t h[20];

	if (rr->type == DNS_T_NSEC) {
		if (d->nnsec >= DNS_DENIAL_MAX || dns_name_len(rr->rdata, rr->rdlen) == 0)
			return false;
		d->nsec[d->nnsec++] = rr;
		return true;
	}
	if (rr->type != DNS_T_NSEC3 || d->nn3 >= DNS_DENIAL_MAX)
		return false;
	/*
	 * RFC 5155 §8.1/8.2: only hash algorithm 1, flags other than opt-out
	 * unknown, 20-octet hashes, owner = one base32hex label below the zone.
	 */
	uint8_t hl;
	n3_next(rr, &hl);
	if (rr->rdata[0] != 1 || (rr->rdata[1] & 0xfe) != 0 || hl != 20 || !n3_owner_hash(rr, h))
		return false;
	if (d->nn3 == 0) {
		d->salt = rr->rdata + 5;
		d->saltlen = rr->rdata[4];
		d->iter = dns_get16(rr->rdata + 2);
		d->zone = dns_name_suffix(rr->owner, dns_name_labels(rr->owner) - 1);
	} else if (!n3_params_same(d, rr)) {
		return false;
	}
	d->n3[d->nn3++] = rr;
	return true;
}

enum dns_proof
dns_denial_nxdomain(struct dns_denial *d, const uint8_t *name)
{
	return prove_denial(d, name, 0, true);
}

enum dns_proof
dns_denial_nodata(struct dns_denial *d, const uint8_t *name, uint16_t type)
{
	return prove_denial(d, name, type, false);
}

enum dns_proof
dns_denial_no_ds(struct dns_denial *d, const uint8_t *name)
{
	return prove_no_ds(d, name);
}

enum dns_proof
dns_denial_wildcard(struct dns_denial *d, const uint8_t *owner, int labels)
{
	bool err = false;
	int ol = dns_name_labels(owner);

	if (labels >= ol || labels < 0)
		return DNS_PROOF_NONE;
	if (d->nnsec > 0) {
		const struct dns_rr *r = nsec_cover(d, owner);
		/* the NSEC must not prove owner an empty non-terminal */
		if (r && !dns_name_is_sub(nsec_next(r), owner))
			return DNS_PROOF_PROVEN;
	}
	enum dns_proof u = n3_usable(d);
	if (u != DNS_PROOF_PROVEN)
		return u;
	/* the wildcard's closest encloser must be inside the NSEC3 zone */
	if (labels < dns_name_labels(d->zone))
		return DNS_PROOF_NONE;
	const struct dns_rr *r = n3_cover(d, dns_name_suffix(owner, labels + 1), &err);
	if (err)
		return DNS_PROOF_ERROR;
	return r ? DNS_PROOF_PROVEN : DNS_PROOF_NONE;
}
