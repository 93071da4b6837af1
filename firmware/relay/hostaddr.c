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
#include "firmware/core/resolver.h"
#include "firmware/dns/dns.h"
#include "firmware/dns/transport.h"
#include "hal/clock.h"
#include "hal/log.h"
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

/* Fold one validated answer into q: addresses of type into out. */
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
	for (unsigned i = 0; i < res->nrr && (unsigned)*n < q->max; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		struct hal_addr *a = &q->out[*n];

		if (rr->type != type || rr->rdlen != (type == DNS_T_A ? 4 : 16))
			continue;
		memset(a, 0, sizeof(*a));
		a->family = type == DNS_T_A ? 4 : 6;
		memcpy(a->ip, res->data + rr->rd_off, rr->rdlen);
		a->port = q->port;
		(*n)++;
	}
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

static void on_answer(void *arg, const struct dns_result *res);

static int
ask(struct hostaddr_req *q, uint16_t type)
{
	q->type = type;
	q->id = resolver_lookup(q->host, type, on_answer, q);
	if (q->id < 0) {
		int rc = q->id;

		q->id = -1;
		zegel_strf(q->err, sizeof(q->err), "DNS for %s: %s", q->host,
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
	int n = q->type == DNS_T_A ? 0 : (int)q->n4;

	q->id = -1;
	if (!take(q, q->type, res, &n)) {
		q->n = -1;
		finish(q);
		return;
	}
	if (q->type == DNS_T_A) {
		q->n4 = (unsigned)n;
		if (ask(q, DNS_T_AAAA) != 0) {
			q->n = -1;
			finish(q);
		}
		return;
	}
	if (n == 0) {
		no_address(q, res);
		q->n = -1;
	} else {
		q->n = n;
		q->err[0] = '\0';
	}
	finish(q);
}

int
hostaddr_start(struct hostaddr_req *q, const char *host, uint16_t port, struct hal_addr *out,
    unsigned max, hostaddr_done_fn done, void *arg)
{
	if (prepare(q, host, port, out, max) != 0)
		return -1;
	q->done = done;
	q->arg = arg;
	if (ask(q, DNS_T_A) != 0)
		return -1;
	q->busy = true;
	return 0;
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

int
hostaddr_resolve_blocking(const struct zcfg *cfg, const char *host, uint16_t port,
    struct hal_addr *out, unsigned max, char *err, size_t errcap)
{
	static struct dns_ctx *ctx;   /* ~800 KB: only when a CLI tool needs it */
	static struct dns_result *res;
	static char *abuf;
	static struct hostaddr_req q;
	struct dns_transport t;
	int n = 0, rc;

	rc = hostaddr_now(host, port, out, max, err, errcap);
	if (rc != 0)
		return rc;
	if (prepare(&q, host, port, out, max) != 0)
		goto fail;
	if (ctx == NULL) {
		ctx = calloc(1, sizeof(*ctx));
		res = calloc(1, sizeof(*res));
		abuf = calloc(1, 65536);
		if (ctx == NULL || res == NULL || abuf == NULL) {
			zegel_strf(q.err, sizeof(q.err), "DNS for %s: out of memory", host);
			free(ctx);
			free(res);
			free(abuf);
			ctx = NULL;
			goto fail;
		}
	}
	memset(&t, 0, sizeof(t));
	t.nservers = resolver_servers(cfg, t.servers, DNS_XFER_MAX_SERVERS);
	dns_ctx_init(ctx, dns_transport_fetch, &t);
	if (resolver_load_anchors(ctx, cfg ? cfg->resolver_anchors : NULL, abuf, 65536, q.err,
	    sizeof(q.err)) != 0)
		goto fail;
	for (int k = 0; k < 2; k++) {
		uint16_t type = k == 0 ? DNS_T_A : DNS_T_AAAA;

		if (dns_lookup(ctx, host, type, hal_clock_now(), res) != 0) {
			zegel_strf(q.err, sizeof(q.err), "DNS for %s: not a valid DNS name", host);
			goto fail;
		}
		if (!take(&q, type, res, &n))
			goto fail;
	}
	if (n == 0) {
		no_address(&q, res);
		goto fail;
	}
	return n;
fail:
	zegel_strf(err, errcap, "%s", q.err);
	return -1;
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

void
hostaddr_cancel(struct hostaddr_req *q)
{
	(void)q;
}

int
hostaddr_resolve_blocking(const struct zcfg *cfg, const char *host, uint16_t port,
    struct hal_addr *out, unsigned max, char *err, size_t errcap)
{
	int rc = hostaddr_now(host, port, out, max, err, errcap);

	(void)cfg;
	if (rc == 0)
		zegel_strf(err, errcap, "cannot resolve %s: built without the resolver (use an "
		    "IP address)", host);
	return rc > 0 ? rc : -1;
}

#endif
