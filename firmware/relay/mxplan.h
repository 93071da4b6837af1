/*
 * firmware/relay/mxplan.h — where and how to deliver mail for one domain:
 * the RFC 7672 (SMTP DANE) route planner.
 *
 * Model. A pure state machine fed with validated DNS answers; it never
 * touches a socket, a clock or the resolver itself. The caller asks it for
 * the next question and feeds it the struct dns_result of that lookup:
 *
 *   struct mxplan p;                        caller-owned (~70 KiB with the defaults)
 *   mxplan_init(&p, "example.org", 25, require_tls);
 *   while (mxplan_next(&p, name, sizeof(name), &qtype) == MXPLAN_QUERY) {
 *           dns_lookup(ctx, name, qtype, now, &res);    (or resolver_lookup)
 *           mxplan_answer(&p, &res);
 *   }
 *   then read the plan: p.permanent / p.deferred, else p.hosts[0..nhosts).
 *
 * The questions, in order (RFC 7672 2.2):
 *   1. MX of the domain. Bogus or indeterminate: the whole domain waits
 *      (p.deferred, no fallback to A). NXDOMAIN: permanent (5.1.2). NODATA:
 *      the implicit MX (RFC 5321 5.1), the domain itself with preference 0.
 *      A null MX "0 ." (RFC 7505): permanent (5.1.10). Hosts are sorted by
 *      preference (ties keep DNS order), duplicates dropped, at most
 *      MXPLAN_MAX_HOSTS kept.
 *   2. Per host, in preference order: A, then AAAA (at most MXPLAN_MAX_ADDRS
 *      addresses, IPv4 first). A bogus or indeterminate family contributes no
 *      addresses; a host left without any is MXPLAN_SKIP. The host's address
 *      status is secure only when every family that answered was secure.
 *   3. TLSA at _PORT._tcp.BASE, only when the MX RRset (or the implicit MX's
 *      NODATA) and the host's addresses are secure (RFC 7672 2.2.1, 2.2.2;
 *      like Postfix, an insecure MX RRset means no DANE for any of its hosts,
 *      since forged host names would carry forged TLSA records). BASE is the
 *      host name, or — when the address lookup followed a secure CNAME chain —
 *      its final target first and, if that has no TLSA records (secure
 *      NXDOMAIN/NODATA), the original host name (RFC 7672 2.2.2).
 *
 * Per-host TLS policy (hosts[i].tls):
 *   MXPLAN_DANE     secure TLSA with at least one usable record: authenticated
 *                   TLS (dane_verify_hook) or no delivery to this host
 *                   (4.7.5, try the next one); STARTTLS missing = no delivery.
 *   MXPLAN_ENCRYPT  secure TLSA, none usable (RFC 7672 2.2): TLS required,
 *                   certificate not checked; also what MAY becomes when the
 *                   caller asked for require_tls (why says which).
 *   MXPLAN_MAY      insecure MX/addresses, or secure denial of TLSA: STARTTLS
 *                   when offered, any certificate, else plaintext.
 *   MXPLAN_SKIP     must not be used: TLSA lookup bogus/indeterminate, or no
 *                   usable address (why says which).
 * When every host is SKIP, the caller defers the domain (4.7.5 or 4.4.3).
 */
#ifndef ZEGEL_RELAY_MXPLAN_H
#define ZEGEL_RELAY_MXPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/dns.h"
#include "firmware/tls/dane.h"
#include "hal/net.h"

#define MXPLAN_MAX_HOSTS 8
#define MXPLAN_MAX_ADDRS 4
#define MXPLAN_MAX_TLSA 8
#define MXPLAN_NAME_MAX 256 /* presentation form, no trailing dot */

enum { MXPLAN_DONE = 0, MXPLAN_QUERY = 1 };

enum mxplan_tls { MXPLAN_MAY = 0, MXPLAN_ENCRYPT, MXPLAN_DANE, MXPLAN_SKIP };
const char *mxplan_tls_str(enum mxplan_tls t); /* "may", "encrypt", "dane", "skip" */

struct mxplan_host {
	char name[MXPLAN_NAME_MAX];
	uint16_t pref;
	unsigned naddr;
	struct hal_addr addrs[MXPLAN_MAX_ADDRS]; /* port set */
	enum dns_status addr_status;
	bool addr_looked_up;        /* false when the plan stopped before this host */
	char cname_target[MXPLAN_NAME_MAX]; /* final CNAME target of the A/AAAA lookup, or "" */
	bool cname_secure;
	enum mxplan_tls tls;
	char tlsa_base[MXPLAN_NAME_MAX]; /* where the TLSA records were found (or looked for) */
	bool tlsa_looked_up;
	enum dns_status tlsa_status;
	bool tlsa_denied;           /* NXDOMAIN/NODATA */
	unsigned ntlsa;             /* records kept (at most MXPLAN_MAX_TLSA) */
	unsigned ntlsa_seen;        /* records in the RRset */
	char why[160];
	struct dane_tlsa tlsa[MXPLAN_MAX_TLSA]; /* last: host_init() clears what precedes it */
};

struct mxplan {
	/* input */
	char domain[MXPLAN_NAME_MAX];
	uint16_t port;
	bool require_tls;
	/* result */
	enum dns_status mx_status;
	bool implicit_mx;            /* NODATA: the domain is its own MX */
	bool deferred;               /* whole domain waits; reason */
	bool permanent;              /* whole domain fails for good: esc + reason */
	bool null_mx;                /* RFC 7505: esc 5.1.10 */
	char esc[8];                 /* "5.1.10", "5.1.2", "4.4.3", "4.7.5" */
	char reason[200];
	unsigned nhosts;
	struct mxplan_host hosts[MXPLAN_MAX_HOSTS];
	/* private: where the plan is */
	int phase;
	unsigned cur;
	char qname[MXPLAN_NAME_MAX + 16];
	uint16_t qtype;
};

/* domain: the next-hop domain (trailing dot allowed); an invalid name makes
 * the plan permanent at once. port: 25, or the smarthost's. */
void mxplan_init(struct mxplan *p, const char *domain, uint16_t port, bool require_tls);
/* MXPLAN_QUERY with the question in name/qtype, or MXPLAN_DONE. */
int mxplan_next(struct mxplan *p, char *name, size_t cap, uint16_t *qtype);
/* The answer to the last question. */
void mxplan_answer(struct mxplan *p, const struct dns_result *res);
/* Plan for a single named host (the smarthost case: no MX step). */
void mxplan_init_host(struct mxplan *p, const char *host, uint16_t port, bool require_tls);

#endif
