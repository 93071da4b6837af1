/*
 * firmware/dns/trust.h — private to the resolver: what the lookup
 * (resolve.c) uses of the chain of trust (trust.c) and of the answer cache
 * (cache.c). Calls go one way: resolve.c -> trust.c, cache.c. Everything
 * works on the caller's struct dns_ctx (dns.h): its message pool, zone
 * cache, budgets and the first failure reason.
 */
#ifndef FIRMWARE_DNS_TRUST_H
#define FIRMWARE_DNS_TRUST_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/dns/denial.h"
#include "firmware/dns/dns.h"
#include "firmware/dns/dnssec.h"

/* How an RRset or a set of denial records verified. */
enum vres { V_SECURE, V_INSECURE, V_BOGUS, V_NOSIG, V_EMPTY };

#define MAX_DEPTH 24
#define MAX_SIGS_PER_RRSET 8
#define MAX_DENIAL_RRSETS 16
#define MAX_CNAME_HOPS 8

static inline int64_t
dns_min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* ---- trust.c */

/* Record the reason (and RFC 8914 EDE code) of a failure; the first one
 * sticks, it is the one worth reporting. */
void dns_fail(struct dns_ctx *ctx, uint16_t ede, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A name or a type as text for reasons (four rotating static buffers). */
const char *dns_nm(const uint8_t *name);
const char *dns_tn(uint16_t type);

/* Ask (name, type) through ctx->fetch, within the query and pool budgets;
 * NULL on failure (reason set). Give the message back with dns_msg_put(). */
struct dns_msg *dns_query(struct dns_ctx *ctx, const uint8_t *name, uint16_t type);
void dns_msg_put(struct dns_ctx *ctx, struct dns_msg *m);
void dns_rrset_collect(const struct dns_msg *m, int section, const uint8_t *owner, uint16_t type,
    struct dns_rrset *set);

/*
 * Verify the RRset (owner, type) in a section of m. On V_SECURE, *labels is
 * the RRSIG label count that verified and *expires the validity end.
 * parent_only: the signer must be a proper ancestor (DS lives in the parent).
 */
enum vres dns_verify_rrset(struct dns_ctx *ctx, const struct dns_msg *m, int section,
    const uint8_t *owner, uint16_t type, bool parent_only, int depth, int *labels,
    int64_t *expires, const uint8_t **signer_out);

/* Verify every NSEC/NSEC3 RRset in the authority section into d. V_NOSIG
 * when there are none or they are unsigned. */
enum vres dns_denial_collect(struct dns_ctx *ctx, const struct dns_msg *m, struct dns_denial *d,
    int depth, int64_t *expires);
/* Carry the denial's hash count and budget/iteration findings into ctx. */
enum dns_proof dns_denial_done(struct dns_ctx *ctx, const struct dns_denial *d,
    enum dns_proof p);

/* The zone at name with its state (secure with keys, insecure, bogus),
 * from the zone cache or built from its parent's DS up to the anchors. */
struct dns_zone *dns_zone_get(struct dns_ctx *ctx, const uint8_t *name, int depth);
/* Walk the ancestors of name from the root down to `upto` labels: INSECURE
 * if one of them is a provably insecure zone, else BOGUS. */
enum dns_zstate dns_walk_ancestors(struct dns_ctx *ctx, const uint8_t *name, int upto,
    int depth);

/* ---- cache.c */

bool dns_cache_get(struct dns_ctx *ctx, const uint8_t *qname, uint16_t type,
    struct dns_result *res);
void dns_cache_put(struct dns_ctx *ctx, const uint8_t *qname, uint16_t type,
    const struct dns_result *res, int64_t expires);

#endif
