/*
 * DNSSEC primitives: key tags, DS digests, RRSIG verification, NSEC3 hash.
 * RFC 4034, RFC 5702 (RSA/SHA-2), RFC 6605 (ECDSA), RFC 8080 (Ed25519),
 * RFC 3110 (RSA key format), RFC 5155 (NSEC3).
 */
#include <string.h>

#include "firmware/dns/dnssec.h"
#include "hal/crypto.h"

uint32_t
dns_sig_ttl(const uint8_t *s)
{
	return dns_get32(s + 4);
}

uint32_t
dns_sig_expiration(const uint8_t *s)
{
	return dns_get32(s + 8);
}

uint16_t
dns_keytag(const uint8_t *k, uint16_t n)
{
	uint32_t ac = 0;

	if (n >= 4 && k[3] == 1)
		return 0; /* RSA/MD5: different rule, not supported */
	for (uint16_t i = 0; i < n; i++)
		ac += (i & 1) ? k[i] : (uint32_t)k[i] << 8;
	ac += (ac >> 16) & 0xffff;
	return (uint16_t)(ac & 0xffff);
}

bool
dns_alg_supported(uint8_t alg)
{
	switch (alg) {
	case 5: case 7: case 8: case 10: case 13: case 14: case 15:
		return true;
	}
	return false;
}

bool
dns_digest_supported(uint8_t t)
{
	return t == 1 || t == 2 || t == 4;
}

static int
digest_alg(uint8_t t, enum hal_hash_alg *a)
{
	switch (t) {
	case 1: *a = HAL_HASH_SHA1; return 0;
	case 2: *a = HAL_HASH_SHA256; return 0;
	case 4: *a = HAL_HASH_SHA384; return 0;
	}
	return -1;
}

int
dns_ds_match(const uint8_t *owner, const uint8_t *ds, uint16_t dslen, const uint8_t *key,
    uint16_t keylen)
{
	uint8_t buf[DNS_NAME_MAX + 4096], md[HAL_HASH_MAX_LEN];
	size_t nl = dns_name_len(owner, DNS_NAME_MAX);
	enum hal_hash_alg a;

	if (dslen < 4 || keylen < 4)
		return 0;
	if (digest_alg(ds[3], &a) != 0)
		return -1;
	if (dns_get16(ds) != dns_keytag(key, keylen) || ds[2] != key[3])
		return 0;
	if ((size_t)(dslen - 4) != hal_hash_len(a) || nl == 0 || nl + keylen > sizeof(buf))
		return 0;
	memcpy(buf, owner, nl);
	dns_name_lower(buf);
	memcpy(buf + nl, key, keylen);
	if (hal_hash(a, buf, nl + keylen, md) != 0)
		return 0;
	return memcmp(md, ds + 4, dslen - 4u) == 0;
}

const char *
dns_sig_strerror(int r)
{
	switch (r) {
	case DNS_SIG_OK: return "ok";
	case DNS_SIG_BAD: return "signature does not verify";
	case DNS_SIG_EXPIRED: return "signature expired";
	case DNS_SIG_NOTYET: return "signature not yet valid";
	case DNS_SIG_UNSUPPORTED: return "unsupported algorithm";
	case DNS_SIG_MALFORMED: return "malformed key or signature";
	case DNS_SIG_MISMATCH: return "RRSIG does not match RRset or key";
	case DNS_SIG_NOSPACE: return "RRset too large";
	}
	return "?";
}

/* Canonical form of one RR for sorting: only the rdata part is compared. */
struct canon {
	const uint8_t *rd;
	uint16_t len;
};

static int
canon_cmp(const struct canon *a, const struct canon *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int d = memcmp(a->rd, b->rd, n);

	if (d)
		return d;
	return (int)a->len - (int)b->len;
}

static int
crypto_verify(uint8_t alg, const uint8_t *key, size_t keylen, const uint8_t *data, size_t n,
    const uint8_t *sig, size_t siglen)
{
	uint8_t md[HAL_HASH_MAX_LEN];
	enum hal_hash_alg h;
	int rc;

	switch (alg) {
	case 5: case 7: case 8: case 10: {
		/* RFC 3110 §2: exponent length (1 octet, or 0 and 2 octets), exponent, modulus */
		size_t el, o;
		if (keylen < 3)
			return DNS_SIG_MALFORMED;
		if (key[0]) {
			el = key[0];
			o = 1;
		} else {
			el = dns_get16(key + 1);
			o = 3;
		}
		if (el == 0 || o + el >= keylen || keylen - o - el > 512 || keylen - o - el < 64)
			return DNS_SIG_MALFORMED;
		h = alg == 8 ? HAL_HASH_SHA256 : alg == 10 ? HAL_HASH_SHA512 : HAL_HASH_SHA1;
		if (hal_hash(h, data, n, md) != 0)
			return DNS_SIG_BAD;
		rc = hal_rsa_verify(key + o + el, keylen - o - el, key + o, el, h, md, sig, siglen);
		break;
	}
	case 13: case 14: {
		size_t cl = alg == 13 ? 32 : 48;
		h = alg == 13 ? HAL_HASH_SHA256 : HAL_HASH_SHA384;
		if (keylen != 2 * cl || siglen != 2 * cl)
			return DNS_SIG_MALFORMED;
		if (hal_hash(h, data, n, md) != 0)
			return DNS_SIG_BAD;
		rc = hal_ecdsa_verify(alg == 13 ? HAL_ECDSA_P256 : HAL_ECDSA_P384, key, keylen, md,
		    cl, sig, siglen);
		break;
	}
	case 15:
		if (keylen != 32 || siglen != 64)
			return DNS_SIG_MALFORMED;
		rc = hal_ed25519_verify(key, data, n, sig);
		break;
	default:
		return DNS_SIG_UNSUPPORTED;
	}
	if (rc == -ENOTSUP)
		return DNS_SIG_UNSUPPORTED;
	return rc == 0 ? DNS_SIG_OK : DNS_SIG_BAD;
}

int
dns_rrsig_verify(const struct dns_rrset *set, const uint8_t *sig, uint16_t siglen,
    const uint8_t *key, uint16_t keylen, int64_t now, uint8_t *scratch, size_t cap)
{
	size_t snl, o = 0;
	const uint8_t *owner;
	int olabels, slabels;
	struct canon c[64];
	uint32_t now32 = (uint32_t)now;

	if (set->n == 0 || set->n > 64 || siglen < 19 || keylen < 5)
		return DNS_SIG_MALFORMED;
	snl = dns_name_len(sig + 18, siglen - 18u);
	if (snl == 0 || snl + 18 >= siglen)
		return DNS_SIG_MALFORMED;
	owner = set->rr[0]->owner;
	if (dns_sig_covered(sig) != set->rr[0]->type)
		return DNS_SIG_MISMATCH;
	if (dns_sig_alg(sig) != key[3] || dns_sig_keytag(sig) != dns_keytag(key, keylen))
		return DNS_SIG_MISMATCH;
	if (key[2] != 3 || !(dns_get16(key) & DNS_KEY_ZONE) || (dns_get16(key) & DNS_KEY_REVOKE))
		return DNS_SIG_MISMATCH;
	if (!dns_alg_supported(key[3]))
		return DNS_SIG_UNSUPPORTED;
	/* the signer must be the owner or an ancestor of it (RFC 4035 §5.3.1) */
	if (!dns_name_is_sub(owner, sig + 18))
		return DNS_SIG_MISMATCH;
	olabels = dns_name_labels(owner);
	if (olabels > 0 && owner[0] == 1 && owner[1] == '*')
		olabels--;
	slabels = dns_sig_labels(sig);
	if (slabels > olabels)
		return DNS_SIG_MALFORMED;
	/* RFC 4034 §3.1.5: serial number arithmetic (RFC 1982) */
	if ((int32_t)(dns_get32(sig + 8) - now32) < 0)
		return DNS_SIG_EXPIRED;
	if ((int32_t)(now32 - dns_get32(sig + 12)) < 0)
		return DNS_SIG_NOTYET;

	/* signed data: RRSIG rdata without signature, signer in canonical form */
	if (18 + snl > cap)
		return DNS_SIG_NOSPACE;
	memcpy(scratch, sig, 18 + snl);
	dns_name_lower(scratch + 18);
	o = 18 + snl;

	/* the owner as signed: "*." + the rightmost slabels labels if expanded */
	uint8_t own[DNS_NAME_MAX];
	size_t ol;
	if (slabels < dns_name_labels(owner)) {
		const uint8_t *suf = dns_name_suffix(owner, slabels);
		size_t sl = dns_name_len(suf, DNS_NAME_MAX);
		own[0] = 1;
		own[1] = '*';
		memcpy(own + 2, suf, sl);
		ol = 2 + sl;
	} else {
		ol = dns_name_len(owner, DNS_NAME_MAX);
		memcpy(own, owner, ol);
	}
	dns_name_lower(own);

	/* canonical rdatas, placed at the end of scratch, then sorted */
	size_t top = cap;
	for (unsigned i = 0; i < set->n; i++) {
		const struct dns_rr *rr = set->rr[i];
		if (rr->rdlen > top || top - rr->rdlen < o)
			return DNS_SIG_NOSPACE;
		top -= rr->rdlen;
		if (dns_rdata_canonical(rr->type, rr->rdata, rr->rdlen, scratch + top) != 0)
			return DNS_SIG_MALFORMED;
		c[i].rd = scratch + top;
		c[i].len = rr->rdlen;
	}
	for (unsigned i = 1; i < set->n; i++) /* insertion sort: RRsets are small */
		for (unsigned j = i; j > 0 && canon_cmp(&c[j - 1], &c[j]) > 0; j--) {
			struct canon t = c[j];
			c[j] = c[j - 1];
			c[j - 1] = t;
		}
	for (unsigned i = 0; i < set->n; i++) {
		if (i > 0 && canon_cmp(&c[i - 1], &c[i]) == 0)
			continue; /* duplicates removed (RFC 4034 §6.3) */
		size_t need = ol + 10 + c[i].len;
		if (o + need > top)
			return DNS_SIG_NOSPACE;
		memcpy(scratch + o, own, ol);
		o += ol;
		scratch[o++] = (uint8_t)(set->rr[0]->type >> 8);
		scratch[o++] = (uint8_t)set->rr[0]->type;
		scratch[o++] = (uint8_t)(set->rr[0]->rclass >> 8);
		scratch[o++] = (uint8_t)set->rr[0]->rclass;
		memcpy(scratch + o, sig + 4, 4); /* original TTL */
		o += 4;
		scratch[o++] = (uint8_t)(c[i].len >> 8);
		scratch[o++] = (uint8_t)c[i].len;
		memmove(scratch + o, c[i].rd, c[i].len);
		o += c[i].len;
	}
	return crypto_verify(key[3], key + 4, keylen - 4u, scratch, o, sig + 18 + snl,
	    siglen - 18u - snl);
}

int
dns_nsec3_hash(const uint8_t *name, const uint8_t *salt, uint8_t saltlen, uint16_t iterations,
    uint8_t out[20])
{
	uint8_t buf[DNS_NAME_MAX + 255];
	size_t nl = dns_name_len(name, DNS_NAME_MAX);

	if (nl == 0)
		return -EINVAL;
	memcpy(buf, name, nl);
	dns_name_lower(buf);
	memcpy(buf + nl, salt, saltlen);
	if (hal_hash(HAL_HASH_SHA1, buf, nl + saltlen, out) != 0)
		return -EIO;
	for (unsigned i = 0; i < iterations; i++) {
		memcpy(buf, out, 20);
		memcpy(buf + 20, salt, saltlen);
		if (hal_hash(HAL_HASH_SHA1, buf, 20u + saltlen, out) != 0)
			return -EIO;
	}
	return 0;
}
