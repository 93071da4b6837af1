/*
 * DANE TLSA matching and the mbedTLS verification hook (see dane.h for the
 * model and the RFC 7671/7672 rules it implements).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>

#include "firmware/tls/dane.h"
#include "hal/clock.h"
#include "hal/crypto.h"
#include "zegel/text.h"

int
dane_tlsa_parse(const uint8_t *rdata, size_t len, struct dane_tlsa *t)
{
	memset(t, 0, offsetof(struct dane_tlsa, data));
	if (rdata == NULL || len < 4)
		return -EINVAL;
	t->usage = rdata[0];
	t->selector = rdata[1];
	t->mtype = rdata[2];
	if (len - 3 > DANE_TLSA_DATA_MAX) {
		t->oversize = true;
		t->len = 0;
		return 0;
	}
	t->len = (uint16_t)(len - 3);
	memcpy(t->data, rdata + 3, t->len);
	return 0;
}

bool
dane_tlsa_usable(const struct dane_tlsa *t)
{
	if (t->usage != DANE_USAGE_DANE_TA && t->usage != DANE_USAGE_DANE_EE)
		return false;
	if (t->selector != DANE_SELECTOR_CERT && t->selector != DANE_SELECTOR_SPKI)
		return false;
	switch (t->mtype) {
	case DANE_MTYPE_FULL:
		return t->oversize || t->len > 0;
	case DANE_MTYPE_SHA256:
		return !t->oversize && t->len == 32;
	case DANE_MTYPE_SHA512:
		return !t->oversize && t->len == 64;
	}
	return false;
}

void
dane_tlsa_format(const struct dane_tlsa *t, char *buf, size_t cap)
{
	size_t o;
	unsigned i;
	int n = snprintf(buf, cap, "%u %u %u ", t->usage, t->selector, t->mtype);

	if (n < 0 || (size_t)n >= cap)
		return;
	o = (size_t)n;
	if (t->oversize) {
		zegel_strf(buf + o, cap - o, "(more than %u bytes)", DANE_TLSA_DATA_MAX);
		return;
	}
	for (i = 0; i < t->len && o + 3 <= cap; i++, o += 2)
		snprintf(buf + o, cap - o, "%02x", t->data[i]);
	if (i < t->len && o >= 3) /* cut: say so */
		memcpy(buf + o - 3, "...", 4);
}

/* ------------------------------------------------------------ matching */

static bool
digest_eq(enum hal_hash_alg alg, const uint8_t *p, size_t n, const uint8_t *want)
{
	struct hal_hash_ctx h;
	uint8_t d[HAL_HASH_MAX_LEN];
	size_t dl = hal_hash_len(alg);
	uint8_t diff = 0;

	if (hal_hash_init(&h, alg) != 0)
		return false;
	if (hal_hash_update(&h, p, n) != 0) {
		hal_hash_free(&h);
		return false;
	}
	if (hal_hash_final(&h, d) != 0)
		return false;
	for (size_t i = 0; i < dl; i++)
		diff |= (uint8_t)(d[i] ^ want[i]);
	return diff == 0;
}

bool
dane_match_cert(const struct dane_tlsa *t, const mbedtls_x509_crt *crt)
{
	const uint8_t *p;
	size_t n;

	if (t->oversize || crt == NULL)
		return false;
	if (t->selector == DANE_SELECTOR_CERT) {
		p = crt->raw.p;
		n = crt->raw.len;
	} else if (t->selector == DANE_SELECTOR_SPKI) {
		p = crt->pk_raw.p;
		n = crt->pk_raw.len;
	} else {
		return false;
	}
	if (p == NULL || n == 0)
		return false;
	switch (t->mtype) {
	case DANE_MTYPE_FULL:
		return t->len == n && memcmp(t->data, p, n) == 0;
	case DANE_MTYPE_SHA256:
		return t->len == 32 && digest_eq(HAL_HASH_SHA256, p, n, t->data);
	case DANE_MTYPE_SHA512:
		return t->len == 64 && digest_eq(HAL_HASH_SHA512, p, n, t->data);
	}
	return false;
}

/* ------------------------------------------------------------ names */

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool
label_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lc((unsigned char)a[i]) != lc((unsigned char)b[i]))
			return false;
	return true;
}

/* pattern (from the certificate, not NUL-terminated) against host (host
 * without trailing dot, hl bytes). "*.example.com" matches exactly one
 * left-most label; no partial wildcards ("mx*.example.com"), no wildcard
 * over a public suffix-like two-label name ("*.com"). */
static bool
name_match(const uint8_t *pat, size_t pl, const char *host, size_t hl)
{
	const char *p = (const char *)pat;
	const char *dot;

	if (pl > 0 && p[pl - 1] == '.')
		pl--;
	if (pl == 0 || hl == 0)
		return false;
	if (memchr(p, '\0', pl) != NULL)
		return false;
	if (pl == hl && label_eq(p, host, hl))
		return true;
	if (pl < 3 || p[0] != '*' || p[1] != '.')
		return false;
	if (memchr(p + 2, '*', pl - 2) != NULL || memchr(p + 2, '.', pl - 2) == NULL)
		return false;
	dot = memchr(host, '.', hl);
	if (dot == NULL || dot == host)
		return false;
	return (size_t)(host + hl - dot) == pl - 1 && label_eq(p + 1, dot, pl - 1);
}

bool
dane_cert_names(const mbedtls_x509_crt *crt, const char *host)
{
	const mbedtls_x509_sequence *cur;
	const mbedtls_x509_name *nm;
	size_t hl;
	bool any_dns = false;

	if (host == NULL || crt == NULL)
		return false;
	hl = strlen(host);
	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (crt->ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME) {
		for (cur = &crt->subject_alt_names; cur != NULL; cur = cur->next) {
			if ((cur->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != MBEDTLS_X509_SAN_DNS_NAME ||
			    cur->buf.p == NULL)
				continue;
			any_dns = true;
			if (name_match(cur->buf.p, cur->buf.len, host, hl))
				return true;
		}
	}
	if (any_dns)
		return false; /* RFC 6125 6.4.4: no CN when there are dNSName SANs */
	for (nm = &crt->subject; nm != NULL; nm = nm->next)
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &nm->oid) == 0 &&
		    name_match(nm->val.p, nm->val.len, host, hl))
			return true;
	return false;
}

/* ------------------------------------------------------------ the hook */

void
dane_verify_init(struct dane_verify *v, const struct dane_tlsa *t, unsigned n,
    const char *base_domain, const char *nexthop)
{
	memset(v, 0, sizeof(*v));
	v->tlsa = t;
	v->ntlsa = n;
	v->base_domain = base_domain;
	v->nexthop = nexthop;
	v->matched = -1;
	v->matched_depth = -1;
	v->last_depth = -1;
	v->ta_index = -1;
	v->ta_depth = -1;
}

static unsigned
strength(uint8_t mtype)
{
	return mtype == DANE_MTYPE_SHA512 ? 2 : mtype == DANE_MTYPE_SHA256 ? 1 : 0;
}

/* Does record i count (usable, and the strongest matching type among the
 * usable records with its usage and selector: RFC 7671 9)? */
static bool
counts(const struct dane_verify *v, unsigned i)
{
	const struct dane_tlsa *t = &v->tlsa[i];

	if (!dane_tlsa_usable(t))
		return false;
	for (unsigned k = 0; k < v->ntlsa; k++) {
		const struct dane_tlsa *o = &v->tlsa[k];
		if (o->usage == t->usage && o->selector == t->selector && dane_tlsa_usable(o) &&
		    strength(o->mtype) > strength(t->mtype))
			return false;
	}
	return true;
}

/* Index of the first counting record of usage u that matches crt, or -1. */
static int
find_match(const struct dane_verify *v, uint8_t usage, const mbedtls_x509_crt *crt)
{
	for (unsigned i = 0; i < v->ntlsa; i++)
		if (v->tlsa[i].usage == usage && counts(v, i) && dane_match_cert(&v->tlsa[i], crt))
			return (int)i;
	return -1;
}

/* RFC 7671 5.2.2: a DANE-TA "2 1 0" record carries the whole trust anchor
 * key, which the server need not send. Is crt (the top of the chain the
 * server sent) signed by such a key? Index of the record, or -1. */
static int
find_key_anchor(const struct dane_verify *v, const mbedtls_x509_crt *crt)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(crt->sig_md);
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];

	if (md == NULL || mbedtls_md(md, crt->tbs.p, crt->tbs.len, hash) != 0)
		return -1;
	for (unsigned i = 0; i < v->ntlsa; i++) {
		const struct dane_tlsa *t = &v->tlsa[i];
		mbedtls_pk_context pk;
		int ok;

		if (t->usage != DANE_USAGE_DANE_TA || t->selector != DANE_SELECTOR_SPKI ||
		    t->mtype != DANE_MTYPE_FULL || !counts(v, i))
			continue;
		mbedtls_pk_init(&pk);
		ok = mbedtls_pk_parse_public_key(&pk, t->data, t->len) == 0 &&
		    mbedtls_pk_verify_ext(crt->sig_pk, crt->sig_opts, &pk, crt->sig_md, hash,
			mbedtls_md_get_size(md), crt->sig.p, crt->sig.len) == 0;
		mbedtls_pk_free(&pk);
		if (ok)
			return (int)i;
	}
	return -1;
}

static void
explain(struct dane_verify *v, uint32_t f)
{
	if (f & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
		zegel_strf(v->why, sizeof(v->why), "DANE-TA matched at depth %d, but a certificate "
		    "below it is %s%s", v->ta_depth,
		    f & MBEDTLS_X509_BADCERT_EXPIRED ? "expired" : "not yet valid",
		    hal_clock_plausible(hal_clock_now())
			? ""
			: " (the clock is NOT plausible: likely the cause; see show clock)");
	else if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		zegel_strf(v->why, sizeof(v->why), "DANE-TA matched, but the certificate names "
		    "neither %s nor %s", v->base_domain ? v->base_domain : "-",
		    v->nexthop ? v->nexthop : "-");
	else if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		zegel_strf(v->why, sizeof(v->why), "DANE-TA matched at depth %d, but a signature "
		    "below it does not verify", v->ta_depth);
	else
		zegel_strf(v->why, sizeof(v->why), "DANE-TA matched, but the chain below it has "
		    "problems (flags 0x%x)", (unsigned)f);
}

int
dane_verify_hook(void *arg, struct tls_client *c, mbedtls_x509_crt *crt, int depth,
    uint32_t *flags)
{
	struct dane_verify *v = arg;
	int i;

	if (v->last_depth < 0 || depth >= v->last_depth) {
		/* a new chain walk starts at its top */
		v->ta_index = v->ta_depth = -1;
		v->held = 0;
		v->matched = v->matched_depth = -1;
		v->why[0] = '\0';
		/* the top may be signed by a published "2 1 0" key (not sent):
		 * then that key is the anchor one level up, and the top's
		 * "no parent" NOT_TRUSTED is answered */
		i = find_key_anchor(v, crt);
		if (i >= 0) {
			v->ta_index = i;
			v->ta_depth = depth + 1;
			*flags &= ~MBEDTLS_X509_BADCERT_NOT_TRUSTED;
		}
	}
	v->last_depth = depth;
	if (depth > 0) {
		i = find_match(v, DANE_USAGE_DANE_TA, crt);
		if (i >= 0) {
			/* a trust anchor: what lies above it and its own state do not matter */
			v->ta_index = i;
			v->ta_depth = depth;
			v->held = 0;
		} else {
			v->held |= *flags;
		}
		*flags = 0;
		return 0;
	}
	/* the leaf: decide */
	v->last_depth = -1;
	i = find_match(v, DANE_USAGE_DANE_EE, crt);
	if (i >= 0) {
		v->matched = i;
		v->matched_depth = 0;
		*flags = 0;
		if (c != NULL)
			tls_client_set_verified_by(c, "dane");
		return 0;
	}
	if (v->ta_index >= 0) {
		uint32_t f = (*flags & ~MBEDTLS_X509_BADCERT_CN_MISMATCH) | v->held;
		if (!dane_cert_names(crt, v->base_domain) &&
		    (v->nexthop == NULL || !dane_cert_names(crt, v->nexthop)))
			f |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
		*flags = f;
		v->matched = v->ta_index;
		v->matched_depth = v->ta_depth;
		if (f == 0) {
			if (c != NULL)
				tls_client_set_verified_by(c, "dane");
			return 0;
		}
		explain(v, f);
		return 0;
	}
	*flags |= MBEDTLS_X509_BADCERT_NOT_TRUSTED | v->held;
	zegel_strf(v->why, sizeof(v->why), "no usable TLSA record matches the certificate chain "
	    "(%u records)", v->ntlsa);
	return 0;
}

int
dane_encrypt_only_hook(void *arg, struct tls_client *c, mbedtls_x509_crt *crt, int depth,
    uint32_t *flags)
{
	(void)arg;
	(void)crt;
	*flags = 0;
	if (depth == 0 && c != NULL)
		tls_client_set_verified_by(c, "none");
	return 0;
}

const struct tls_client_conf *
dane_tls_conf(char *err, size_t cap)
{
	static struct tls_client_conf cc;

	if (!cc.loaded && tls_client_conf_load_noca(&cc, err, cap) != 0)
		return NULL;
	return &cc;
}
