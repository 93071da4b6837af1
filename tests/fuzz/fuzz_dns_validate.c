/* libFuzzer: the whole validating lookup over a recorded session (the
 * format of tests/vectors/dns/tree, see tests/e2e/dns/record-tree.sh): the
 * fuzzer mutates the answers, the anchor, the question and the time. Seeds
 * are the tree recordings (tests/fuzz/corpus/dns_validate). Checks, beyond
 * "no crash": a bogus or indeterminate result hands out no records, and the
 * work budgets hold. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/dns_replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct dns_ctx ctx;
	static struct dns_result res;
	static struct replay rp;

	if (!replay_load(&rp, p, n))
		return 0;
	dns_ctx_init(&ctx, replay_fetch, &rp);
	replay_anchor(&ctx, &rp);
	(void)dns_lookup_wire(&ctx, rp.qname, rp.qtype, rp.now, &res);
	if ((res.status == DNS_BOGUS || res.status == DNS_INDETERMINATE) && res.nrr != 0)
		abort();
	if (res.sig_checks > CONFIG_DNS_MAX_SIG_CHECKS_PER_QUERY ||
	    res.nsec3_hashes > CONFIG_DNS_MAX_NSEC3_HASHES ||
	    rp.fetches > CONFIG_DNS_QUERIES_PER_LOOKUP)
		abort();
	return 0;
}
