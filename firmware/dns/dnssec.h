/*
 * firmware/dns/dnssec.h — DNSSEC primitives (private): key tags, DS digests,
 * RRSIG verification over canonical RRsets, NSEC3 hashing.
 *
 * Pure functions: no clock (now is an argument), no I/O. Crypto only through
 * hal/crypto.h. The resolver (resolve.c) builds the chain of trust and the
 * denial proofs from these; the unit tests feed them the RFCs' own examples.
 */
#ifndef FIRMWARE_DNS_DNSSEC_H
#define FIRMWARE_DNS_DNSSEC_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/dns/wire.h"

/* DNSKEY flags (RFC 4034 §2.1.1) */
#define DNS_KEY_ZONE 0x0100
#define DNS_KEY_SEP  0x0001
#define DNS_KEY_REVOKE 0x0080

enum dns_sig_result {
	DNS_SIG_OK = 0,
	DNS_SIG_BAD = -1,        /* does not verify */
	DNS_SIG_EXPIRED = -2,    /* RFC 4034 §3.1.5, serial arithmetic */
	DNS_SIG_NOTYET = -3,
	DNS_SIG_UNSUPPORTED = -4, /* algorithm not implemented */
	DNS_SIG_MALFORMED = -5,  /* bad key or signature layout, label count */
	DNS_SIG_MISMATCH = -6,   /* RRSIG does not cover this RRset / key */
	DNS_SIG_NOSPACE = -7,    /* RRset bigger than the scratch buffer */
};

/* Key tag, RFC 4034 Appendix B (algorithm 1 not supported: gives 0). */
uint16_t dns_keytag(const uint8_t *dnskey, uint16_t n);

/* Is the signing algorithm one we can verify? (5, 7, 8, 10, 13, 14, 15) */
bool dns_alg_supported(uint8_t alg);
/* DS digest type supported? (1, 2, 4) */
bool dns_digest_supported(uint8_t type);

/* Does DS (rdata) match DNSKEY (rdata) at owner? 1 yes, 0 no, <0 unsupported digest. */
int dns_ds_match(const uint8_t *owner, const uint8_t *ds, uint16_t dslen,
    const uint8_t *dnskey, uint16_t keylen);

/* An RRset: records of one owner/class/type, as pointers into parsed messages. */
struct dns_rrset {
	const struct dns_rr *rr[64];
	unsigned n;
};

/*
 * Verify one RRSIG (rdata) over rrset with one DNSKEY (rdata) at time now
 * (UNIX seconds). Checks type covered, algorithm and key tag agreement,
 * label count, validity interval; builds the signed data (RFC 4034 §3.1.8.1,
 * canonical order §6.3, wildcard owner §3.1.3) in scratch[0..cap).
 */
int dns_rrsig_verify(const struct dns_rrset *set, const uint8_t *sig, uint16_t siglen,
    const uint8_t *dnskey, uint16_t keylen, int64_t now, uint8_t *scratch, size_t cap);
const char *dns_sig_strerror(int r);

/* RRSIG rdata accessors (rdata already checked by the parser). */
static inline uint16_t dns_sig_covered(const uint8_t *s) { return (uint16_t)(s[0] << 8 | s[1]); }
static inline uint8_t dns_sig_alg(const uint8_t *s) { return s[2]; }
static inline uint8_t dns_sig_labels(const uint8_t *s) { return s[3]; }
static inline uint16_t dns_sig_keytag(const uint8_t *s) { return (uint16_t)(s[16] << 8 | s[17]); }
static inline const uint8_t *dns_sig_signer(const uint8_t *s) { return s + 18; }
uint32_t dns_sig_ttl(const uint8_t *s);
uint32_t dns_sig_expiration(const uint8_t *s);

/* NSEC3 hash (RFC 5155 §5): SHA-1, iterations extra rounds. out[20]. */
int dns_nsec3_hash(const uint8_t *name, const uint8_t *salt, uint8_t saltlen,
    uint16_t iterations, uint8_t out[20]);

#endif
