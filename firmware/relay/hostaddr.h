/*
 * firmware/relay/hostaddr.h — the addresses of a relay host name (the
 * smarthost), through zegel's own validating resolver, never the C library.
 *
 * Rules (the same for the daemon and for `zegel relay-check`):
 *  - an IP literal ("192.0.2.1", "2001:db8::1") is used as is;
 *  - "localhost" (and names under it) are the loopback addresses 127.0.0.1
 *    and ::1 without asking DNS (RFC 6761 §6.3);
 *  - any other name: A and AAAA lookups, validated (dns.h). Secure and
 *    insecure answers are used; a bogus or indeterminate answer for either
 *    type fails the whole name ("DNS for NAME is bogus: REASON"), as does a
 *    name with no address at all. Addresses: IPv4 first, then IPv6, in the
 *    order the answers gave them, at most the caller's max.
 *
 * Daemon (event loop): hostaddr_start() queues the lookups on resolver.h and
 * calls done() once, later, from the loop (never inside hostaddr_start());
 * hostaddr_cancel() before that means no done(). The request struct is the
 * caller's and must stay put until done() or cancel. The command-line tools
 * run the same lookups on their own loop (firmware/app/tool_loop.h).
 *
 * DANE for the smarthost (RFC 7672 2.2, Postfix's "dane" level for a next
 * hop without MX lookup; the same rules mxplan_init_host() plans): with
 * want_tlsa (hostaddr_start_tlsa()), when
 * both address answers were secure, a TLSA lookup at _PORT._tcp.BASE
 * follows. BASE is the host name, or the final target of a secure CNAME
 * chain of the A (else AAAA) answer, and when that target has no TLSA
 * (secure NXDOMAIN/NODATA) the host name again (RFC 7672 2.2.2; the rules
 * themselves: firmware/relay/hostplan.h, shared with mxplan). Outcome
 * in q->dane:
 *   HOSTADDR_DANE_NO        no TLSA lookup (literal, localhost, insecure
 *                           addresses, not asked for)
 *   HOSTADDR_DANE_NONE      secure denial of TLSA, or an insecure answer
 *   HOSTADDR_DANE_UNUSABLE  secure TLSA records, none usable (dane.h)
 *   HOSTADDR_DANE_USABLE    secure TLSA with usable records: q->tlsa[0..ntlsa)
 *                           (the usable ones, at most HOSTADDR_TLSA_MAX: more
 *                           are dropped, which can only fail closed)
 * A bogus or indeterminate TLSA answer fails the whole name: n = -1,
 * q->tlsa_failed, err "TLSA lookup for _PORT._tcp.BASE is bogus: REASON"
 * (the caller answers 451 4.7.5, not 4.4.3). q->tlsa_why says in words what
 * was found, for logs and `test relay`.
 */
#ifndef ZEGEL_RELAY_HOSTADDR_H
#define ZEGEL_RELAY_HOSTADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/dns.h"
#include "firmware/tls/dane.h"
#include "hal/net.h"
#include "zegel/cfg.h"

#define HOSTADDR_TLSA_MAX 4

enum hostaddr_dane {
	HOSTADDR_DANE_NO = 0,
	HOSTADDR_DANE_NONE,
	HOSTADDR_DANE_UNUSABLE,
	HOSTADDR_DANE_USABLE,
};
const char *hostaddr_dane_str(enum hostaddr_dane d); /* "no lookup", "none", "unusable", "usable" */

struct hostaddr_req;
typedef void (*hostaddr_done_fn)(void *arg, struct hostaddr_req *q);

struct hostaddr_req {
	bool busy;              /* lookups queued or running */
	int id;                 /* resolver request id, -1 none */
	uint16_t type;          /* the type being looked up now */
	char host[ZCFG_NAME_MAX];
	uint16_t port;
	struct hal_addr *out;
	unsigned max;
	unsigned n4;            /* addresses from the A lookup */
	int n;                  /* out: number of addresses, or -1 (err says why) */
	char err[200];          /* out: why n is -1 */
	bool any_insecure;      /* out: some answer was insecure (not signed) */
	hostaddr_done_fn done;
	void *arg;
	/* DANE (want_tlsa): see the top of this file */
	bool want_tlsa;
	bool tlsa_orig;         /* looking at the host name after a CNAME target had none */
	char cname[ZCFG_NAME_MAX];       /* final target of a CNAME chain, or "" */
	bool cname_secure;
	bool tlsa_looked_up;    /* out */
	bool tlsa_failed;       /* out: n = -1 because of the TLSA answer (4.7.5) */
	enum hostaddr_dane dane; /* out */
	enum dns_status tlsa_status; /* out, when tlsa_looked_up */
	char tlsa_base[ZCFG_NAME_MAX];   /* out: TLSA base domain (also the SNI) */
	char tlsa_qname[ZCFG_NAME_MAX + 16]; /* out: _PORT._tcp.BASE */
	char tlsa_why[160];     /* out: the finding in words */
	unsigned ntlsa_seen;    /* out: records in the secure RRset */
	unsigned ntlsa;         /* out: usable records kept in tlsa[] */
	struct dane_tlsa tlsa[HOSTADDR_TLSA_MAX];
};

/*
 * Literal or localhost: the addresses now (> 0). A name that needs DNS: 0.
 * -1 for an empty or malformed host (err).
 */
int hostaddr_now(const char *host, uint16_t port, struct hal_addr *out, unsigned max, char *err,
    size_t errcap);

/*
 * On the event loop, for a name that needs DNS (hostaddr_now() said 0).
 * 0: done(arg, q) follows (q->n, q->err). -1: could not start (q->err: the
 * resolver's queue is full, or host is not such a name; no done()).
 */
int hostaddr_start(struct hostaddr_req *q, const char *host, uint16_t port, struct hal_addr *out,
    unsigned max, hostaddr_done_fn done, void *arg);
/*
 * The lookups as a step machine without I/O (what hostaddr_start() drives;
 * unit tests feed it made-up answers):
 *   hostaddr_begin(q, ...)            -1 for a literal/localhost/bad name (err)
 *   while (question due) {            first: q->type DNS_T_A
 *           look up hostaddr_qname(q), q->type
 *           if (hostaddr_feed(q, &res) == 0) break;   1: the next question is due
 *   }
 *   then q->n, q->err, the TLSA findings.
 */
int hostaddr_begin(struct hostaddr_req *q, const char *host, uint16_t port,
    struct hal_addr *out, unsigned max, bool want_tlsa);
const char *hostaddr_qname(const struct hostaddr_req *q);
int hostaddr_feed(struct hostaddr_req *q, const struct dns_result *res);

/* The same with the TLSA step (want_tlsa) after secure addresses. */
int hostaddr_start_tlsa(struct hostaddr_req *q, const char *host, uint16_t port,
    struct hal_addr *out, unsigned max, hostaddr_done_fn done, void *arg);
void hostaddr_cancel(struct hostaddr_req *q);

#endif
