/*
 * firmware/relay/hostplan.h — the per-host rules of RFC 7672 §2.2 (SMTP
 * DANE), once: what one host's validated A/AAAA/TLSA answers mean. Pure
 * functions over struct dns_result (dns.h), no state, no I/O; used by the
 * MX planner (mxplan.c, direct delivery) and by the smarthost's lookup step
 * machine (hostaddr.c), which differ only in what they do with a failure
 * (an MX host is skipped, the smarthost's name fails).
 *
 * Per host, in this order:
 *   1. addresses: hostplan_addrs() for the A, then the AAAA answer;
 *      hostplan_cname() names the final target of a CNAME chain in the
 *      first answer that has one (secure only if that answer was secure).
 *   2. TLSA base (§2.2.2): the secure CNAME target, else the host name;
 *      hostplan_tlsa_qname() makes "_PORT._tcp.BASE".
 *   3. hostplan_tlsa() classifies the TLSA answer and keeps its records;
 *      hostplan_tlsa_retry(): a secure denial at a CNAME target means the
 *      host name itself is asked next (§2.2.2).
 */
#ifndef ZEGEL_RELAY_HOSTPLAN_H
#define ZEGEL_RELAY_HOSTPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/dns.h"
#include "firmware/tls/dane.h"
#include "hal/net.h"

/* Presentation form of a wire name, lower case, without the trailing dot.
 * false: it does not fit (out is then ""). */
bool hostplan_name(const uint8_t *wire, char *out, size_t cap);
/* Case-insensitive, a trailing dot ignored. */
bool hostplan_name_eq(const char *a, const char *b);

/* The final target of the CNAME chain in res from start ("" none). */
void hostplan_cname(const struct dns_result *res, const char *start, char *out, size_t cap);

/* Append res's addresses of one family (A: v6 false) to out[n..max), with
 * port. Returns the new count. */
unsigned hostplan_addrs(const struct dns_result *res, bool v6, uint16_t port,
    struct hal_addr *out, unsigned n, unsigned max);

/* "_PORT._tcp.BASE"; BASE is cname when cname_secure, else host, without a
 * trailing dot (copied to base). */
void hostplan_tlsa_qname(const char *host, const char *cname, bool cname_secure, uint16_t port,
    char *base, size_t basecap, char *qname, size_t qcap);

enum hostplan_tlsa {
	HOSTPLAN_TLSA_FAILED = 0,  /* bogus or indeterminate: the host must not be used */
	HOSTPLAN_TLSA_INSECURE,    /* not DNSSEC-signed: no DANE */
	HOSTPLAN_TLSA_DENIED,      /* secure NXDOMAIN/NODATA: no DANE */
	HOSTPLAN_TLSA_UNUSABLE,    /* secure records, none usable (dane.h) */
	HOSTPLAN_TLSA_USABLE,      /* secure records, some usable: DANE */
};

struct hostplan_tlsa_count {
	unsigned seen;     /* TLSA records in the RRset (unparsable ones too) */
	unsigned usable;   /* usable ones among them */
	unsigned kept;     /* records stored in out[] */
};

/* Classify a TLSA answer. Usable records go to out[] first; with
 * keep_unusable the others follow (for display); at most max are kept
 * (dropping usable ones can only make a match fail: fail closed). */
enum hostplan_tlsa hostplan_tlsa(const struct dns_result *res, struct dane_tlsa *out,
    unsigned max, bool keep_unusable, struct hostplan_tlsa_count *c);
/* After finding f at base: ask the host name itself next? (§2.2.2) */
bool hostplan_tlsa_retry(enum hostplan_tlsa f, bool cname_secure, const char *base,
    const char *host);

#endif
