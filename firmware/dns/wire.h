/*
 * firmware/dns/wire.h — DNS wire format: names, messages, records (private).
 *
 * Model. A received message (RFC 1035 §4) is parsed once, whole, into a
 * caller-allocated struct dns_msg. Parsing decompresses every name (owner
 * names and the names inside NS, CNAME, PTR, MX, SOA, DNAME, SRV... rdata) into
 * the message's own store, so afterwards every record is self-contained:
 * owner name in uncompressed wire form, rdata as it would be sent without
 * compression. Nothing points back into the received bytes; the receive
 * buffer can be reused at once.
 *
 * Bounds (all checked, any violation rejects the whole message):
 *  - names: labels <= 63 octets, names <= 255 octets (RFC 1035 §2.3.4);
 *  - compression pointers must point strictly backwards (before the octet
 *    that holds the pointer), at most DNS_MAX_POINTERS per name: no loops;
 *  - every rdata is parsed against its type's layout where the type is one
 *    zegel uses, and must end exactly at RDLENGTH;
 *  - at most DNS_MSG_MAX_RR records and DNS_MSG_STORE octets of names and
 *    rdata (a bigger message gives DNS_E_TOOBIG, never a silent cut).
 *
 * Names are kept in their received case; dns_name_cmp() and the canonical
 * forms (RFC 4034 §6) lower-case where the RFCs say so.
 */
#ifndef FIRMWARE_DNS_WIRE_H
#define FIRMWARE_DNS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 255
#define DNS_LABEL_MAX 63
#define DNS_MAX_POINTERS 64
#define DNS_MSG_MAX_RR 256
#define DNS_MSG_STORE 24576
#define DNS_EDNS_BUFSIZE 1232 /* the DNS Flag Day 2020 value */

/* RR types (RFC 1035, 3596, 4034, 5155, 6698) */
enum {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
	DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_RP = 17, DNS_T_AFSDB = 18, DNS_T_AAAA = 28,
	DNS_T_SRV = 33, DNS_T_KX = 36, DNS_T_DNAME = 39, DNS_T_OPT = 41, DNS_T_DS = 43,
	DNS_T_RRSIG = 46, DNS_T_NSEC = 47, DNS_T_DNSKEY = 48, DNS_T_NSEC3 = 50,
	DNS_T_NSEC3PARAM = 51, DNS_T_TLSA = 52, DNS_T_ANY = 255,
	DNS_T_RT = 21, DNS_T_MINFO = 14,
};
#define DNS_C_IN 1

/* Header flags (RFC 1035 §4.1.1, RFC 4035 §3.2) as one 16-bit word. */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010

enum { DNS_RCODE_NOERROR = 0, DNS_RCODE_FORMERR = 1, DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3 };

enum dns_wire_err {
	DNS_E_OK = 0,
	DNS_E_SHORT = -1,     /* message ends inside a field */
	DNS_E_NAME = -2,      /* bad label type, label or name too long */
	DNS_E_POINTER = -3,   /* compression pointer forward, looping, or too many */
	DNS_E_RDATA = -4,     /* rdata does not match its type's layout */
	DNS_E_TOOBIG = -5,    /* more records or octets than the parser holds */
	DNS_E_TRAILING = -6,  /* octets after the last record */
	DNS_E_SYNTAX = -7,    /* text input (names, zone-file records) */
	DNS_E_SPACE = -8,     /* output buffer too small */
};
const char *dns_wire_strerror(int err);

enum dns_section { DNS_S_AN = 1, DNS_S_NS = 2, DNS_S_AR = 3 };

struct dns_rr {
	const uint8_t *owner; /* uncompressed wire name, in msg->store */
	uint16_t olen;
	uint16_t type, rclass;
	uint32_t ttl;
	const uint8_t *rdata; /* decompressed, in msg->store */
	uint16_t rdlen;
	uint8_t section;
};

struct dns_msg {
	uint16_t id, flags;
	uint8_t rcode; /* with EDNS extended bits folded in */
	uint8_t qname[DNS_NAME_MAX];
	uint16_t qnlen; /* 0 if the message has no question */
	uint16_t qtype, qclass;
	bool has_opt;
	uint16_t edns_size;
	bool edns_do;
	uint16_t nrr;
	uint16_t nan, nns, nar; /* per-section counts (OPT not listed) */
	struct dns_rr rr[DNS_MSG_MAX_RR];
	size_t used;
	uint8_t store[DNS_MSG_STORE];
};

/* Parse a whole message; on error *m is unspecified. */
int dns_msg_parse(struct dns_msg *m, const uint8_t *p, size_t n);

/*
 * Build a query: one question, RD set, CD as asked, an OPT record with a
 * 1232-octet buffer and DO as asked (RFC 6891, RFC 3225). Writes *len.
 */
#define DNS_Q_DO 1u
#define DNS_Q_CD 2u
int dns_query_build(uint8_t *buf, size_t cap, size_t *len, uint16_t id,
    const uint8_t *name, uint16_t type, unsigned flags);

/* Names (uncompressed wire form, with the final root octet). */
int dns_name_unpack(const uint8_t *msg, size_t n, size_t *off, uint8_t out[DNS_NAME_MAX],
    uint16_t *outlen, bool allow_compression);
/* Length of a wire name at p (<= max), 0 if malformed. No compression. */
size_t dns_name_len(const uint8_t *p, size_t max);
int dns_name_labels(const uint8_t *name); /* root = 0; "*" counts */
/* RFC 4034 §6.1 canonical order: <0, 0, >0. */
int dns_name_cmp(const uint8_t *a, const uint8_t *b);
bool dns_name_eq(const uint8_t *a, const uint8_t *b);
/* a is b or below b. */
bool dns_name_is_sub(const uint8_t *a, const uint8_t *b);
/* Pointer to the suffix of name with `keep` labels (keep <= labels). */
const uint8_t *dns_name_suffix(const uint8_t *name, int keep);
void dns_name_lower(uint8_t *name);
/* Text "www.example.com." (trailing dot optional, \DDD and \X escapes). */
int dns_name_from_text(const char *s, uint8_t out[DNS_NAME_MAX], uint16_t *len);
/* Presentation form with trailing dot, escaping as RFC 4343. */
int dns_name_to_text(const uint8_t *name, char *buf, size_t cap);
/* The character-strings of a TXT RDATA joined without spaces (RFC 7208 3.3,
 * RFC 6376 3.6.2.2), as much as fits into out (cap - 1 bytes, then a NUL);
 * returns the bytes written; *full (may be NULL) gets the whole joined
 * length, more than the return value when out was too small. A string
 * longer than what remains of the RDATA is cut at its end. */
size_t dns_txt_join(const uint8_t *rd, size_t rdlen, char *out, size_t cap, size_t *full);

/* Types by mnemonic ("TLSA", "TYPE52") and back. 0 if unknown. */
uint16_t dns_type_from_text(const char *s);
void dns_type_to_text(uint16_t type, char *buf, size_t cap);

/* One record in presentation format: "owner TTL IN TYPE rdata". */
int dns_rr_to_text(const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
    uint16_t rdlen, char *buf, size_t cap);

/* Type bitmap (NSEC/NSEC3, RFC 4034 §4.1.2): is type present? Malformed → false. */
bool dns_bitmap_has(const uint8_t *bm, size_t n, uint16_t type);
/* Well-formed bitmap? */
bool dns_bitmap_valid(const uint8_t *bm, size_t n);

/*
 * Canonical rdata (RFC 4034 §6.2 item 3, as amended by RFC 6840 §5.1):
 * names embedded in the listed types in lower case. Writes into out (cap >= rdlen).
 */
int dns_rdata_canonical(uint16_t type, const uint8_t *rd, uint16_t rdlen, uint8_t *out);

/* Base64 (RFC 4648 §4) and base32hex (RFC 4648 §7, no padding, lower case). */
int dns_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen);
int dns_b64_encode(const uint8_t *p, size_t n, char *out, size_t cap);
int dns_b32hex_encode(const uint8_t *p, size_t n, char *out, size_t cap);
int dns_b32hex_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen);

/*
 * Zone-file text for one record: "OWNER [TTL] [IN] TYPE rdata", parentheses
 * joining lines, ';' comments. Types: A AAAA NS CNAME PTR DNAME MX DS DNSKEY
 * TLSA RRSIG (times as YYYYMMDDHHmmSS or seconds) NSEC NSEC3 NSEC3PARAM;
 * others give DNS_E_SYNTAX. Used for trust anchors and test vectors. Not
 * reentrant (static token buffers).
 */
int dns_rr_from_text(const char *line, uint8_t owner[DNS_NAME_MAX], uint16_t *olen,
    uint16_t *type, uint8_t *rd, size_t cap, uint16_t *rdlen);

/* Big-endian fields and ASCII lower case, shared by the dns files. */
static inline uint16_t
dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
dns_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint8_t
dns_lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

#endif
