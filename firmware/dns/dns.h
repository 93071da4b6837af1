/*
 * firmware/dns/dns.h — zegel's DNSSEC-validating stub resolver (public API).
 *
 * Model. zegel never trusts an upstream's AD bit. A lookup sends queries with
 * DO and CD set to a recursive resolver and validates everything itself,
 * from the root trust anchors down (RFC 4033-4035, 5155, 6840):
 *
 *   ctx (caller-allocated, long-lived) ── dns_lookup(ctx, name, type, now, &res)
 *        │   fetch(arg, qname, qtype) ──▶ transport (UDP/TCP, transport.h) or a test fake
 *        ├── zone keys: validated DNSKEY sets per zone, with status and expiry (the
 *        │   cache: survives across lookups, bounded by TTL, RRSIG expiry and
 *        │   CONFIG_DNS_CACHE_ENTRIES)
 *        └── message pool and scratch: no allocation while a lookup runs
 *
 * Every lookup ends in one of four states:
 *   DNS_SECURE         the answer (or its authenticated denial) chains to an anchor
 *   DNS_INSECURE       provably unsigned: an insecure delegation (NSEC/NSEC3, opt-out),
 *                      only unsupported algorithms/digests, or NSEC3 iterations above
 *                      CONFIG_DNS_MAX_NSEC3_ITERATIONS (RFC 9276)
 *   DNS_BOGUS          validation failed; reason + RFC 8914 extended error code
 *   DNS_INDETERMINATE  could not decide: clock not plausible, upstream failed
 *                      (SERVFAIL, no answer, truncated with TCP unavailable)
 * Work is bounded per lookup (KeyTrap CVE-2023-50387, CVE-2023-50868):
 * CONFIG_DNS_MAX_SIG_CHECKS_PER_QUERY signature checks, CONFIG_DNS_MAX_KEYTAG_COLLISIONS
 * keys tried per RRSIG, CONFIG_DNS_MAX_NSEC3_HASHES hashes, CONFIG_DNS_QUERIES_PER_LOOKUP
 * queries; exceeding one is bogus ("work budget: ...").
 *
 * Calls: dns_ctx_init() once; optionally dns_ctx_set_anchors() (else the built-in
 * IANA root KSKs 20326 and 38696); then dns_lookup() as often as needed.
 * dns_lookup() is synchronous over fetch() (unit tests pass recorded
 * answers); the event loop (resolver.h, daemon and tools) uses dns_lookup_step() instead,
 * which returns each question to send, and the non-blocking transport state
 * machine of transport.h. Memory: a ctx is about 800 KB with the default
 * Kconfig (message pool, zone keys, answer cache): allocate it once.
 */
#ifndef FIRMWARE_DNS_DNS_H
#define FIRMWARE_DNS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/wire.h"
#include "zegel/config.h"

enum dns_status { DNS_SECURE = 0, DNS_INSECURE, DNS_BOGUS, DNS_INDETERMINATE };
const char *dns_status_str(enum dns_status s);

/* RFC 8914 extended DNS error codes used here. */
enum dns_ede {
	DNS_EDE_OTHER = 0, DNS_EDE_UNSUP_DNSKEY_ALG = 1, DNS_EDE_UNSUP_DS_DIGEST = 2,
	DNS_EDE_INDETERMINATE = 5, DNS_EDE_BOGUS = 6, DNS_EDE_SIG_EXPIRED = 7,
	DNS_EDE_SIG_NOTYET = 8, DNS_EDE_DNSKEY_MISSING = 9, DNS_EDE_RRSIGS_MISSING = 10,
	DNS_EDE_NO_ZONE_KEY = 11, DNS_EDE_NSEC_MISSING = 12, DNS_EDE_NO_REACHABLE = 22,
	DNS_EDE_NETWORK = 23, DNS_EDE_NSEC3_ITER = 27,
};

/*
 * fetch: send one query (qname wire form, qtype; DO and CD set) and put the
 * whole answer message in resp. Returns 0, or a negative errno for a network
 * failure (-ETIMEDOUT, -ECONNREFUSED, -EMSGSIZE for a truncated answer that
 * could not be fetched over TCP). Must check the answer matches the question.
 */
typedef int (*dns_fetch_fn)(void *arg, const uint8_t *qname, uint16_t qtype, uint8_t *resp,
    size_t cap, size_t *len);

#define DNS_MAX_ANCHORS 8
#define DNS_MAX_ZONES 24 /* zone-key entries; also bounded by CONFIG_DNS_CACHE_ENTRIES */
#define DNS_ZONE_KEYDATA 6144
#define DNS_MSG_POOL 10
#define DNS_RESULT_MAX_RR 64
#define DNS_RESULT_DATA 16384
#define DNS_RESP_MAX 65535

struct dns_anchor {
	uint16_t type; /* DNS_T_DS or DNS_T_DNSKEY, owner always the root */
	uint16_t len;
	uint8_t rd[1024];
};

enum dns_zstate { DNS_Z_UNUSED = 0, DNS_Z_SECURE, DNS_Z_INSECURE, DNS_Z_NOTZONE, DNS_Z_BOGUS };

struct dns_zone {
	enum dns_zstate state;
	uint8_t name[DNS_NAME_MAX];
	int64_t expires; /* UNIX time: min(TTLs, RRSIG expirations) */
	uint16_t nkeys;
	uint16_t koff[32], klen[32];
	uint8_t keys[DNS_ZONE_KEYDATA];
	uint16_t ede;
	char reason[128];
};

struct dns_result_rr {
	uint16_t owner_off; /* into data */
	uint16_t type;
	uint32_t ttl;
	uint16_t rd_off, rdlen;
};

struct dns_result {
	enum dns_status status;
	uint16_t ede;
	char reason[128];
	uint8_t rcode;         /* NOERROR or NXDOMAIN of the final answer */
	bool nodata;           /* NOERROR without records of the type */
	bool network_error;    /* indeterminate because the upstream did not answer */
	unsigned queries, sig_checks, nsec3_hashes; /* work done for this lookup */
	uint16_t nrr;
	struct dns_result_rr rr[DNS_RESULT_MAX_RR];
	size_t used;
	uint8_t data[DNS_RESULT_DATA];
};

/*
 * Answer cache: the outcome of a lookup (status, reason, records) by
 * name/type, kept until the first TTL or RRSIG expiration on its chain of
 * trust; bogus answers for at most 60 s (RFC 4035 §4.7), indeterminate ones
 * never. Entries whose records do not fit DNS_CACHE_DATA are not kept.
 */
#define DNS_CACHE_DATA 768
#define DNS_CACHE_RR 16

struct dns_cache_entry {
	bool used;
	uint8_t name[DNS_NAME_MAX];
	uint16_t type;
	int64_t expires;
	uint8_t status, rcode;
	bool nodata;
	uint16_t ede;
	char reason[128];
	uint16_t nrr;
	struct dns_result_rr rr[DNS_CACHE_RR];
	uint16_t used_data;
	uint8_t data[DNS_CACHE_DATA];
};

#define DNS_CACHE_SLOTS (CONFIG_DNS_CACHE_ENTRIES > 0 ? CONFIG_DNS_CACHE_ENTRIES : 1)

struct dns_ctx {
	dns_fetch_fn fetch;
	void *fetch_arg;
	unsigned nanchors;
	struct dns_anchor anchors[DNS_MAX_ANCHORS];
	struct dns_zone zones[DNS_MAX_ZONES];
	struct dns_cache_entry cache[DNS_CACHE_SLOTS];
	unsigned cache_next;
	/* per-lookup state */
	int64_t now, exp_min;
	unsigned queries, sig_checks, nsec3_hashes;
	bool budget_hit, net_fail;
	uint16_t ede;
	char reason[128];
	unsigned msg_used;
	struct dns_msg msgs[DNS_MSG_POOL];
	uint8_t resp[DNS_RESP_MAX];
	uint8_t scratch[DNS_MSG_STORE + 4096];
};

void dns_ctx_init(struct dns_ctx *ctx, dns_fetch_fn fetch, void *arg);
/* Drop cached zone keys and answers (e.g. after the clock jumped). */
void dns_ctx_flush(struct dns_ctx *ctx);
/*
 * Replace the anchors with the DS/DNSKEY records for "." in text (zone-file
 * syntax, one record per line or parenthesised). 0, or -EINVAL with the
 * offending line number in *line.
 */
int dns_ctx_set_anchors(struct dns_ctx *ctx, const char *text, int *line);

/* name: presentation text ("example.com") */
int dns_lookup(struct dns_ctx *ctx, const char *name, uint16_t type, int64_t now,
    struct dns_result *res);
/* The same with a wire-form name. */
int dns_lookup_wire(struct dns_ctx *ctx, const uint8_t *qname, uint16_t type, int64_t now,
    struct dns_result *res);

/*
 * Driving a lookup from an event loop, without a blocking fetch:
 *
 *   struct dns_step *st = ...;   (caller-allocated, ~50 KB)
 *   dns_step_init(st);
 *   while (dns_lookup_step(ctx, st, qname, type, now, &res) == DNS_STEP_QUERY) {
 *           send st->qname/st->qtype (transport.h state machine); later
 *           dns_step_answer(st, bytes, n)  or  dns_step_fail(st, -ETIMEDOUT)
 *   }
 *   res holds the verdict.
 *
 * Each step re-runs the lookup over the answers gathered so far and stops
 * at the first question not yet answered. Zones validated in an earlier step
 * stay in ctx's zone cache, so a re-run repeats little work; nothing from an
 * unfinished run is cached. At most DNS_STEP_MAX answers per lookup.
 */
#define DNS_STEP_MAX 40
#define DNS_STEP_STORE 49152

struct dns_step {
	uint8_t qname[DNS_NAME_MAX]; /* the question to send (DNS_STEP_QUERY) */
	uint16_t qtype;
	bool pending;
	unsigned n;
	struct {
		uint8_t name[DNS_NAME_MAX];
		uint16_t type;
		int err;
		uint32_t off;
		uint16_t len;
	} a[DNS_STEP_MAX];
	size_t used;
	uint8_t store[DNS_STEP_STORE];
};

enum { DNS_STEP_DONE = 0, DNS_STEP_QUERY = 1 };

void dns_step_init(struct dns_step *st);
int dns_lookup_step(struct dns_ctx *ctx, struct dns_step *st, const uint8_t *qname,
    uint16_t type, int64_t now, struct dns_result *res);
/* The answer to st->qname/st->qtype; -ENOSPC when the store is full. */
int dns_step_answer(struct dns_step *st, const uint8_t *p, size_t n);
/* The question could not be answered (network error, as for fetch). */
void dns_step_fail(struct dns_step *st, int err);

/* The built-in root anchors (IANA root-anchors.xml: KSK-2017, KSK-2024). */
extern const char dns_root_anchors_text[];

#endif
