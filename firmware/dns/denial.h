/*
 * firmware/dns/denial.h — authenticated denial of existence (private):
 * NSEC (RFC 4035 §5.4, RFC 6840 §4) and NSEC3 (RFC 5155 §8) proofs.
 *
 * Model. The caller verifies the signatures of the NSEC/NSEC3 RRsets of a
 * response first (resolve.c) and adds only verified records here with
 * dns_denial_add(); the records stay owned by their parsed message. The
 * proof functions then answer one question each. NSEC3 hashing is counted
 * against max_hashes (CVE-2023-50868); a chain with more iterations than
 * max_iter proves nothing and reports DNS_PROOF_INSECURE (RFC 9276 §3.2).
 * No clock, no I/O; pure over the records.
 */
#ifndef FIRMWARE_DNS_DENIAL_H
#define FIRMWARE_DNS_DENIAL_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/dns/wire.h"

#define DNS_DENIAL_MAX 16

enum dns_proof {
	DNS_PROOF_NONE = 0,  /* the records do not prove it */
	DNS_PROOF_PROVEN,    /* proven */
	DNS_PROOF_INSECURE,  /* an opt-out span or too many iterations: insecure */
	DNS_PROOF_ERROR,     /* budget exhausted (budget_hit set) */
};

struct dns_denial {
	const struct dns_rr *nsec[DNS_DENIAL_MAX];
	unsigned nnsec;
	const struct dns_rr *n3[DNS_DENIAL_MAX];
	unsigned nn3;
	/* NSEC3 parameters of the proof, from the first usable NSEC3 */
	const uint8_t *salt;
	uint8_t saltlen;
	uint16_t iter;
	const uint8_t *zone; /* the NSEC3 records' zone: their owner minus the hash label */
	unsigned hashes, max_hashes, max_iter;
	bool budget_hit, iter_over;
	struct {
		uint8_t name[DNS_NAME_MAX];
		uint8_t h[20];
	} hc[16];
	unsigned nhc;
};

void dns_denial_init(struct dns_denial *d, unsigned max_hashes, unsigned max_iter);
/* Add a verified NSEC or NSEC3; false if it is unusable (ignored) or the set is full. */
bool dns_denial_add(struct dns_denial *d, const struct dns_rr *rr);
/* name does not exist, and neither does a wildcard that could answer it */
enum dns_proof dns_denial_nxdomain(struct dns_denial *d, const uint8_t *name);
/* name exists (or is an empty non-terminal, or matches a wildcard) without type */
enum dns_proof dns_denial_nodata(struct dns_denial *d, const uint8_t *name, uint16_t type);
/*
 * For the walk down the tree: name has no DS. DNS_PROOF_INSECURE: name is a
 * delegation without DS (or covered by opt-out); DNS_PROOF_PROVEN: name is
 * not a zone cut (or does not exist).
 */
enum dns_proof dns_denial_no_ds(struct dns_denial *d, const uint8_t *name);
/*
 * A positive answer at owner expanded from a wildcard (RRSIG labels <
 * owner labels): no closer name exists (RFC 4035 §5.3.4, RFC 5155 §8.8).
 */
enum dns_proof dns_denial_wildcard(struct dns_denial *d, const uint8_t *owner, int labels);

#endif
