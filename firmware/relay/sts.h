/*
 * firmware/relay/sts.h — the MTA-STS policy of a recipient domain (RFC 8461)
 * for direct delivery: discovery, HTTPS fetch, cache. A job on the event
 * loop, like hostaddr.h.
 *
 * Model. The request struct is the caller's (a direct worker, or the
 * `zegel sts-check` tool) and must stay put until done() or sts_cancel():
 *
 *   sts_start(q, domain, data_dir, cc, done, arg)
 *     1. reads the cached policy DATA_DIR/sts/DOMAIN (if data_dir is set);
 *     2. TXT _mta-sts.DOMAIN through zegel's resolver (3.1): exactly one
 *        record starting v=STSv1 with a valid id, else "no record";
 *     3. the cached policy is used as is when its id is the record's and
 *        max_age has not run out (5.1); otherwise the policy is fetched:
 *        mta-sts.DOMAIN's addresses (hostaddr.h: A then AAAA), TCP 443
 *        (q->port for tests), TLS 1.2+ verified by PKIX against cc (the
 *        relay's CA bundle) for the name mta-sts.DOMAIN, GET
 *        /.well-known/mta-sts.txt (sts_http.h: 200 only, no redirects,
 *        text/plain, 64 KiB), the body parsed strictly (sts_policy.h);
 *        STS_FETCH_IDLE_MS without a byte fails the fetch;
 *     4. a fetched policy is written to the cache crash-safe
 *        (hal_storage_put: temporary file, fsync, rename, directory fsync);
 *     5. done(arg, q) once, later, from the loop (never inside sts_start).
 *
 * Outcome: q->have (a policy applies: q->pol, q->src says whence) and q->why
 * (what happened, in words, for logs). Failures never stop delivery by
 * themselves (RFC 8461 5.1): no record / fetch failure without a usable
 * cached policy → q->have false. A record that disappears while a cached
 * policy is still within max_age: the cached one is used (5.1, 10.3: an
 * attacker who strips the TXT record gains nothing). A policy with mode
 * none is cached and returned (the caller applies nothing).
 */
#ifndef ZEGEL_RELAY_STS_H
#define ZEGEL_RELAY_STS_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/relay/hostaddr.h"
#include "firmware/relay/sts_http.h"
#include "firmware/relay/sts_policy.h"
#include "firmware/tls/client.h"
#include "hal/net.h"
#include "zegel/cfg.h"

#define STS_FETCH_IDLE_MS 20000
#define STS_FETCH_MAX_MS 60000  /* a whole fetch (one address), however it trickles */
#define STS_ADDRS_MAX 4

enum sts_src { STS_SRC_NONE = 0, STS_SRC_FETCHED, STS_SRC_CACHE };
/* Why the last fetch failed, for TLS-RPT (RFC 8460 4.3.2.2): the HTTPS
 * server's certificate, a refused policy text, anything else. */
enum sts_fail { STS_FAIL_FETCH = 0, STS_FAIL_INVALID, STS_FAIL_WEBPKI };

struct sts_req;
typedef void (*sts_done_fn)(void *arg, struct sts_req *q);

struct sts_req {
	/* in */
	char domain[ZCFG_NAME_MAX];
	char data_dir[ZCFG_PATH_MAX];
	const struct tls_client_conf *cc;
	uint16_t port;          /* 443 unless set before sts_start's work begins */
	bool force;             /* set before sts_start: fetch even when the cached
				   policy is current (the proactive refresh, sts_refresh.h) */
	sts_done_fn done;
	void *arg;
	/* out */
	bool have;
	enum sts_src src;
	struct sts_policy pol;  /* meaningful only with have */
	char why[240];
	char txt_id[STS_ID_MAX + 1]; /* the record's id, "" without one */
	bool fetch_failed;
	enum sts_fail fail_kind; /* with fetch_failed */
	/* inside */
	bool busy;
	int step;
	int dns_id;             /* resolver request, -1 none */
	int timer;              /* the 0 ms timer of a synchronous outcome, -1 none */
	int h;                  /* loop stream, -1 none */
	bool cached_ok;         /* q->pol holds the cached policy (until a fetch) */
	char host[ZCFG_NAME_MAX + 8];
	struct hostaddr_req ha;
	struct hal_addr addrs[STS_ADDRS_MAX];
	unsigned naddr, ai;
	bool tls_live, sent;
	uint64_t started_ms;    /* loop time of the current connection's start */
	char req[ZCFG_NAME_MAX + 160];
	size_t req_len, req_off;
	char fail[200];         /* why the last address failed */
	struct tls_client tls;
	struct sts_http http;
	struct sts_parser parser;
};

/*
 * What the policy in q (after done(), q->have) asks of one MX host that has
 * no DANE (RFC 8461 4.1, 4.2; hosts with usable TLSA keep DANE, 2):
 *   STS_HOST_FREE      no policy, mode none: as without MTA-STS
 *   STS_HOST_PKIX      enforce, the name matches: TLS required, the
 *                      certificate PKIX-valid for the MX name
 *   STS_HOST_REFUSE    enforce, the name matches no mx pattern: not used
 *   STS_HOST_REPORT    testing, the name matches no mx pattern: used as
 *                      without MTA-STS, the failure is logged (why)
 */
enum sts_host { STS_HOST_FREE = 0, STS_HOST_PKIX, STS_HOST_REFUSE, STS_HOST_REPORT };
enum sts_host sts_host_check(const struct sts_req *q, const char *mx, char *why, size_t cap);

/* 0: done() follows. -1: could not start (q->why), no done(). */
int sts_start(struct sts_req *q, const char *domain, const char *data_dir,
    const struct tls_client_conf *cc, sts_done_fn done, void *arg);
void sts_cancel(struct sts_req *q);
/*
 * The CA bundle for MTA-STS (the policy fetch and the MX hosts under
 * enforce): relay ca-file (NULL/"": the default bundle), loaded once and
 * shared. Each user holds a reference from get until put; a changed file
 * is loaded only when nobody holds the old one (until then get returns the
 * old one), so a running fetch or session never loses its CA chain.
 * get: 0, or -1 with err set (no reference taken).
 */
int sts_tls_conf_get(const char *ca_file, const struct tls_client_conf **out, char *err,
    size_t errcap);
void sts_tls_conf_put(void);

/* The cache file of domain: 0, or -1 if the name cannot be a file name. */
int sts_cache_path(const char *data_dir, const char *domain, char *out, size_t cap);
/* A cached policy past max_age at now? */
bool sts_expired(const struct sts_policy *p, int64_t now);

#endif
