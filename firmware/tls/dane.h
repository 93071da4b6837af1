/*
 * firmware/tls/dane.h — DANE for SMTP (RFC 7671, RFC 7672): TLSA records and
 * certificate matching inside the mbedTLS handshake.
 *
 * Model. The route planner (firmware/relay/mxplan.h) finds the TLSA RRset of
 * an MX host with the validating stub resolver; each record's rdata is parsed
 * with dane_tlsa_parse() into a caller-owned struct dane_tlsa. A connection
 * that must be DANE-authenticated then:
 *
 *   const struct tls_client_conf *cc = dane_tls_conf(err, cap);   shared, no CA bundle
 *   struct dane_verify v;                      caller-owned, lives as long as the connection
 *   dane_verify_init(&v, tlsa, n, base_domain, nexthop);
 *   tls_client_start(&c, cc, base_domain);     SNI = TLSA base domain (RFC 7672 8.1)
 *   tls_client_set_verify(&c, dane_verify_hook, &v);
 *   ... handshake: the hook decides; a failure aborts the handshake with
 *       "certificate not trusted" (v.why says which records did not match).
 *
 * A host with a secure but all-unusable TLSA RRset, or one whose policy asks
 * for TLS without authentication, uses dane_encrypt_only_hook instead.
 *
 * What counts (RFC 7672 3.1):
 *   usable records: usage DANE-TA(2) or DANE-EE(3), selector Cert(0) or
 *     SPKI(1), matching type Full(0), SHA2-256(1) or SHA2-512(2) with the right
 *     digest length. PKIX-TA(0)/PKIX-EE(1) are unusable for SMTP.
 *   DANE-EE(3): matches the server's own certificate (depth 0) only; then its
 *     name, validity dates and chain are ignored (RFC 7672 3.1.1).
 *   DANE-TA(2): matches a certificate the server presented above the leaf
 *     (depth >= 1) in the chain mbedTLS built; that certificate is the trust
 *     anchor (its own dates and its issuer are ignored), the signatures and
 *     dates of everything below it, down to the leaf, are checked as usual, and
 *     the leaf must name the TLSA base domain or the next-hop domain in a
 *     dNSName subjectAltName (else the CN when there is no dNSName), with a
 *     wildcard only as the whole left-most label (RFC 7672 3.2.2, RFC 6125 6.4.3).
 *     A trust anchor the server does not send can only be used when the
 *     record holds its whole key ("2 1 0", RFC 7671 5.2.2): if that key
 *     verifies the signature of the top certificate sent, the key is the
 *     anchor one level above it (the top's own "no parent" is then answered;
 *     a leaf sent alone may be signed by it directly). A digest of an
 *     anchor that is not sent ("2 x 1/2", "2 0 0") cannot match.
 *   Digest agility (RFC 7671 9): among the usable records with the same usage
 *     and selector, only those with the strongest matching type present count
 *     (SHA2-512 > SHA2-256 > Full), as OpenSSL's DANE code (used by Postfix)
 *     does. So a "3 1 2" record next to a "3 1 1" makes the "3 1 1" one inert.
 *
 * How the hook works with mbedTLS 2.28 (x509_crt_verify_chain): the callback
 * runs once per certificate of the chain mbedTLS built, from the top (highest
 * depth) down to the leaf (depth 0), and the flags each call leaves are ORed
 * into the verdict. Without trusted CAs the top certificate always carries
 * BADCERT_NOT_TRUSTED ("no parent"), a certificate whose signature by its
 * parent fails carries NOT_TRUSTED too, and the leaf carries CN_MISMATCH from
 * mbedTLS's own name check against the SNI. Since the decision needs the leaf,
 * the hook holds back the flags of every depth >= 1 (clears them and remembers
 * them) and decides at depth 0, where it writes the verdict: all clear for an
 * EE match; for a TA match at depth t the flags of depths 1..t-1 plus the
 * leaf's own (with mbedTLS's CN_MISMATCH replaced by the check above); for no
 * match NOT_TRUSTED.
 */
#ifndef ZEGEL_TLS_DANE_H
#define ZEGEL_TLS_DANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/tls/client.h"

#define DANE_USAGE_PKIX_TA 0
#define DANE_USAGE_PKIX_EE 1
#define DANE_USAGE_DANE_TA 2
#define DANE_USAGE_DANE_EE 3
#define DANE_SELECTOR_CERT 0
#define DANE_SELECTOR_SPKI 1
#define DANE_MTYPE_FULL 0
#define DANE_MTYPE_SHA256 1
#define DANE_MTYPE_SHA512 2

/* Largest association data kept. Digests are 32/64 bytes; a "Full" record
 * (a whole certificate or key) larger than this is kept as oversize: it stays
 * usable (the host still needs DANE) but never matches, so such a host fails
 * closed instead of being downgraded. */
#define DANE_TLSA_DATA_MAX 1024

struct dane_tlsa {
	uint8_t usage, selector, mtype;
	bool oversize;          /* data longer than DANE_TLSA_DATA_MAX: len 0, never matches */
	uint16_t len;
	uint8_t data[DANE_TLSA_DATA_MAX];
};

/* TLSA rdata (RFC 6698 2.1): usage, selector, mtype, data. 0, or -EINVAL when
 * shorter than 4 bytes (3 fields and at least one data byte). Longer data than
 * DANE_TLSA_DATA_MAX sets oversize and returns 0. */
int dane_tlsa_parse(const uint8_t *rdata, size_t len, struct dane_tlsa *t);
/* usage 2|3, selector 0|1, mtype 0|1|2, digest length 32/64 for mtypes 1/2. */
bool dane_tlsa_usable(const struct dane_tlsa *t);
/* "3 1 1 0a1b2c..." with all the data in hex (ending in "..." if cap is too
 * small: 2 * DANE_TLSA_DATA_MAX + 32 always suffices), for logs. */
#define DANE_TLSA_TEXT_MAX (2 * DANE_TLSA_DATA_MAX + 32)
void dane_tlsa_format(const struct dane_tlsa *t, char *buf, size_t cap);

/* Does the certificate crt match record t (selector + matching type)? Ignores
 * usage and usability. */
bool dane_match_cert(const struct dane_tlsa *t, const mbedtls_x509_crt *crt);
/* Does the certificate name host (dNSName SANs, else CN; one left-most
 * wildcard label)? host may end in a dot. */
bool dane_cert_names(const mbedtls_x509_crt *crt, const char *host);

struct dane_verify {            /* caller-owned, lives as long as the TLS connection */
	const struct dane_tlsa *tlsa;
	unsigned ntlsa;
	const char *base_domain; /* TLSA base domain (also the SNI) */
	const char *nexthop;     /* next-hop domain (the recipient domain), may be NULL */
	int matched;             /* out: index of the TLSA that matched, -1 none */
	int matched_depth;       /* out */
	char why[160];           /* out: why verification failed */
	/* private: state of one chain walk (top to leaf) */
	int last_depth;
	int ta_index, ta_depth;
	uint32_t held;           /* flags of depths below the trust anchor, above the leaf */
};

void dane_verify_init(struct dane_verify *v, const struct dane_tlsa *t, unsigned n,
    const char *base_domain, const char *nexthop);
/* The tls_client_set_verify() hook; arg = struct dane_verify *. On success it
 * leaves no flags and sets verified_by "dane"; on failure BADCERT_NOT_TRUSTED
 * (no match), or the flags of the chain below the trust anchor. */
int dane_verify_hook(void *arg, struct tls_client *c, mbedtls_x509_crt *crt, int depth,
    uint32_t *flags);
/* "Encrypt only" (no usable secure TLSA, RFC 7672 2.2): accepts any
 * certificate, verified_by "none". arg unused. */
int dane_encrypt_only_hook(void *arg, struct tls_client *c, mbedtls_x509_crt *crt, int depth,
    uint32_t *flags);
/* A shared TLS client config without CA bundle for DANE / encrypt-only
 * connections (loaded on first use; NULL with err set on failure). */
const struct tls_client_conf *dane_tls_conf(char *err, size_t cap);

#endif
