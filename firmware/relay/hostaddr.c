/*
 * Relay host names to addresses through the validating resolver. See
 * hostaddr.h for the rules.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/relay/hostaddr.h"
#include "zegel/config.h"
#include "zegel/text.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)
#include "firmware/dns/resolver.h"
#include "firmware/dns/dns.h"
#include "firmware/relay/hostplan.h"
#endif

/* "localhost", "localhost.", "x.localhost": RFC 6761 §6.3 */
static bool
is_localhost(const char *h)
{
	size_t n = strlen(h);
	const char *lh = "localhost";

	if (n > 0 && h[n - 1] == '.')
		n--;
	if (n < 9)
		return false;
	if (strncasecmp(h + n - 9, lh, 9) != 0)
		return false;
	return n == 9 || h[n - 10] == '.';
}

const char *
hostaddr_dane_str(enum hostaddr_dane d)
{
	switch (d) {
	case HOSTADDR_DANE_NO: return "no lookup";
	case HOSTADDR_DANE_NONE: return "none";
	case HOSTADDR_DANE_UNUSABLE: return "unusable";
	case HOSTADDR_DANE_USABLE: return "usable";
	}
	return "?";
}

int
hostaddr_now(const char *host, uint16_t port, struct hal_addr *out, unsigned max, char *err,
    size_t errcap)
{
	if (host == NULL || host[0] == '\0' || max == 0) {
		zegel_strf(err, errcap, "no host name");
		return -1;
	}
	if (hal_addr_parse(&out[0], host, port) == 0) {
		out[0].port = port;
		return 1;
	}
	if (is_localhost(host)) {
		unsigned n = 0;

		(void)hal_addr_parse(&out[n++], "127.0.0.1", port);
		if (n < max)
			(void)hal_addr_parse(&out[n++], "::1", port);
		return (int)n;
	}
	return 0;
}

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)

/* Addresses known: is a TLSA lookup due (RFC 7672 2.2.1)? Sets its name. */
static bool
tlsa_due(struct hostaddr_req *q)
{
	if (!IS_ENABLED(CONFIG_FEATURE_TLS) || !q->want_tlsa)
		return false;
	if (q->any_insecure) {
		zegel_strf(q->tlsa_why, sizeof(q->tlsa_why), "address records not DNSSEC-signed: "
		    "no DANE");
		return false;
	}
	hostplan_tlsa_qname(q->host, q->cname, q->cname_secure && !q->tlsa_orig, q->port,
	    q->tlsa_base, sizeof(q->tlsa_base), q->tlsa_qname, sizeof(q->tlsa_qname));
	return true;
}

#if IS_ENABLED(CONFIG_FEATURE_TLS)
/* The TLSA answer. false: q failed (err). *again: look up the host name
 * itself next (the CNAME target had no TLSA, RFC 7672 2.2.2). */
static bool
take_tlsa(struct hostaddr_req *q, const struct dns_result *res, bool *again)
{
	struct hostplan_tlsa_count c;
	enum hostplan_tlsa f = hostplan_tlsa(res, q->tlsa, HOSTADDR_TLSA_MAX, false, &c);

	*again = false;
	q->tlsa_looked_up = true;
	q->tlsa_status = res->status;
	q->ntlsa = c.kept;
	q->ntlsa_seen = c.seen;
	switch (f) {
	case HOSTPLAN_TLSA_FAILED:
		q->tlsa_failed = true;
		zegel_strf(q->err, sizeof(q->err), "TLSA lookup for %s is %s: %s", q->tlsa_qname,
		    dns_status_str(res->status), res->reason[0] ? res->reason : "no answer");
		zegel_strf(q->tlsa_why, sizeof(q->tlsa_why), "%s", q->err);
		return false;
	case HOSTPLAN_TLSA_INSECURE:
		q->dane = HOSTADDR_DANE_NONE;
		zegel_strf(q->tlsa_why, sizeof(q->tlsa_why), "TLSA records not DNSSEC-signed: no "
		    "DANE");
		break;
	case HOSTPLAN_TLSA_DENIED:
		if (hostplan_tlsa_retry(f, q->cname_secure && !q->tlsa_orig, q->tlsa_base,
		    q->host)) {
			q->tlsa_orig = true;
			*again = tlsa_due(q);
			break;
		}
		q->dane = HOSTADDR_DANE_NONE;
		zegel_strf(q->tlsa_why, sizeof(q->tlsa_why), "no TLSA records (securely denied)");
		break;
	case HOSTPLAN_TLSA_USABLE:
		q->dane = HOSTADDR_DANE_USABLE;
		zegel_strf(q->tlsa_why, sizeof(q->tlsa_why), "%u TLSA record%s, %u usable%s",
		    c.seen, c.seen == 1 ? "" : "s", c.usable,
		    c.usable > c.kept ? " (only the first ones kept)" : "");
		break;
	case HOSTPLAN_TLSA_UNUSABLE:
		q->dane = HOSTADDR_DANE_UNUSABLE;
		zegel_strf(q->tlsa_why, sizeof(q->tlsa_why), "%u TLSA record%s, none usable",
		    c.seen, c.seen == 1 ? "" : "s");
		break;
	}
	return true;
}
#else
static bool
take_tlsa(struct hostaddr_req *q, const struct dns_result *res, bool *again)
{
	(void)q;
	(void)res;
	*again = false;
	return true;
}
#endif

/* Fold one validated answer into q: addresses of type into out. The
 * smarthost's rule: a bogus or indeterminate family fails the name. */
static bool
take(struct hostaddr_req *q, uint16_t type, const struct dns_result *res, int *n)
{
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		zegel_strf(q->err, sizeof(q->err), "DNS for %s is %s: %s (%s lookup)", q->host,
		    dns_status_str(res->status), res->reason[0] ? res->reason : "no reason given",
		    type == DNS_T_A ? "A" : "AAAA");
		return false;
	}
	if (res->status == DNS_INSECURE)
		q->any_insecure = true;
	if (q->cname[0] == '\0') {
		hostplan_cname(res, q->host, q->cname, sizeof(q->cname));
		q->cname_secure = q->cname[0] != '\0' && res->status == DNS_SECURE;
	}
	*n = (int)hostplan_addrs(res, type == DNS_T_AAAA, q->port, q->out, (unsigned)*n, q->max);
	return true;
}

static void
no_address(struct hostaddr_req *q, const struct dns_result *res)
{
	zegel_strf(q->err, sizeof(q->err), "DNS for %s: no address (%s%s)", q->host,
	    res->rcode == DNS_RCODE_NXDOMAIN ? "no such name, " : "",
	    dns_status_str(res->status));
}

static int
prepare(struct hostaddr_req *q, const char *host, uint16_t port, struct hal_addr *out,
    unsigned max)
{
	memset(q, 0, sizeof(*q));
	q->id = -1;
	q->n = -1;
	q->port = port;
	q->out = out;
	q->max = max;
	if (host == NULL || strlen(host) >= sizeof(q->host) || max == 0) {
		zegel_strf(q->err, sizeof(q->err), "bad host name");
		return -1;
	}
	zegel_strf(q->host, sizeof(q->host), "%s", host);
	if (hostaddr_now(host, port, out, max, q->err, sizeof(q->err)) != 0) {
		if (q->err[0] == '\0')
			zegel_strf(q->err, sizeof(q->err), "%s needs no DNS", host);
		return -1;
	}
	return 0;
}

int
hostaddr_begin(struct hostaddr_req *q, const char *host, uint16_t port, struct hal_addr *out,
    unsigned max, bool want_tlsa)
{
	if (prepare(q, host, port, out, max) != 0)
		return -1;
	q->want_tlsa = want_tlsa;
	q->type = DNS_T_A;
	return 0;
}

const char *
hostaddr_qname(const struct hostaddr_req *q)
{
	return q->type == DNS_T_TLSA ? q->tlsa_qname : q->host;
}

int
hostaddr_feed(struct hostaddr_req *q, const struct dns_result *res)
{
	int n;
	bool again;

	switch (q->type) {
	case DNS_T_A:
		n = 0;
		if (!take(q, DNS_T_A, res, &n))
			break;
		q->n4 = (unsigned)n;
		q->type = DNS_T_AAAA;
		return 1;
	case DNS_T_AAAA:
		n = (int)q->n4;
		if (!take(q, DNS_T_AAAA, res, &n))
			break;
		if (n == 0) {
			no_address(q, res);
			break;
		}
		q->n = n;
		q->err[0] = '\0';
		if (!tlsa_due(q))
			return 0;
		q->type = DNS_T_TLSA;
		return 1;
	case DNS_T_TLSA:
		if (!take_tlsa(q, res, &again))
			break;
		return again ? 1 : 0;
	default:
		zegel_strf(q->err, sizeof(q->err), "DNS for %s: internal: no question", q->host);
		break;
	}
	q->n = -1;
	return 0;
}

static void on_answer(void *arg, const struct dns_result *res);

static int
ask(struct hostaddr_req *q)
{
	q->id = resolver_lookup(hostaddr_qname(q), q->type, on_answer, q);
	if (q->id < 0) {
		int rc = q->id;

		q->id = -1;
		zegel_strf(q->err, sizeof(q->err), "DNS for %s: %s", hostaddr_qname(q),
		    rc == -EBUSY ? "resolver busy (too many lookups queued)" :
		    rc == -EINVAL ? "not a valid DNS name" : strerror(-rc));
		return -1;
	}
	return 0;
}

static void
finish(struct hostaddr_req *q)
{
	q->busy = false;
	q->id = -1;
	q->done(q->arg, q);
}

static void
on_answer(void *arg, const struct dns_result *res)
{
	struct hostaddr_req *q = arg;

	q->id = -1;
	if (hostaddr_feed(q, res) == 1) {
		if (ask(q) == 0)
			return;
		q->n = -1;
	}
	finish(q);
}

static int
resolve_start(struct hostaddr_req *q, const char *host, uint16_t port, struct hal_addr *out,
    unsigned max, bool want_tlsa, hostaddr_done_fn done, void *arg)
{
	if (hostaddr_begin(q, host, port, out, max, want_tlsa) != 0)
		return -1;
	q->done = done;
	q->arg = arg;
	if (ask(q) != 0)
		return -1;
	q->busy = true;
	return 0;
}

int
hostaddr_start(struct hostaddr_req *q, const char *host, uint16_t port, struct hal_addr *out,
    unsigned max, hostaddr_done_fn done, void *arg)
{
	return resolve_start(q, host, port, out, max, false, done, arg);
}

int
hostaddr_start_tlsa(struct hostaddr_req *q, const char *host, uint16_t port,
    struct hal_addr *out, unsigned max, hostaddr_done_fn done, void *arg)
{
	return resolve_start(q, host, port, out, max, true, done, arg);
}

void
hostaddr_cancel(struct hostaddr_req *q)
{
	if (q == NULL || !q->busy)
		return;
	if (q->id >= 0)
		resolver_cancel(q->id);
	q->id = -1;
	q->busy = false;
}

#else /* !CONFIG_FEATURE_DNSSEC */

int
hostaddr_start(struct hostaddr_req *q, const char *host, uint16_t port, struct hal_addr *out,
    unsigned max, hostaddr_done_fn done, void *arg)
{
	(void)port;
	(void)out;
	(void)max;
	(void)done;
	(void)arg;
	memset(q, 0, sizeof(*q));
	zegel_strf(q->err, sizeof(q->err), "cannot resolve %s: built without the resolver "
	    "(use an IP address)", host ? host : "");
	return -1;
}

int
hostaddr_start_tlsa(struct hostaddr_req *q, const char *host, uint16_t port,
    struct hal_addr *out, unsigned max, hostaddr_done_fn done, void *arg)
{
	return hostaddr_start(q, host, port, out, max, done, arg);
}

void
hostaddr_cancel(struct hostaddr_req *q)
{
	(void)q;
}

#endif
