/* The validating lookup, offline: sessions recorded from the e2e tree
 * (tests/vectors/dns/tree, see tests/e2e/dns/record-tree.sh) replayed
 * through dns_lookup. Each must reach the recorded verdict; a secure session
 * with any single octet of any answer flipped must never come out insecure,
 * nor secure with other records (no downgrade, no forgery); zone keys are
 * reused from the cache; the clock is checked. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include <cmocka.h>

#include "tests/fuzz/dns_replay.h"

#define DIR_TREE "tests/vectors/dns/tree"

static struct dns_ctx ctx;
static struct dns_result res;
static uint8_t file[65536];
static struct replay rp;

static size_t
load(const char *name)
{
	char path[512];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", DIR_TREE, name);
	f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	n = fread(file, 1, sizeof(file), f);
	fclose(f);
	assert_true(replay_load(&rp, file, n));
	return n;
}

static enum dns_status
run(void)
{
	dns_ctx_init(&ctx, replay_fetch, &rp);
	replay_anchor(&ctx, &rp);
	assert_int_equal(dns_lookup_wire(&ctx, rp.qname, rp.qtype, rp.now, &res), 0);
	return res.status;
}

static void
test_recorded_sessions(void **state)
{
	DIR *d = opendir(DIR_TREE);
	struct dirent *e;
	int n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".bin") == NULL)
			continue;
		load(e->d_name);
		enum dns_status st = run();
		print_message("# %-28s %-13s %u queries, %u signature checks%s%s\n", e->d_name,
		    dns_status_str(st), res.queries, res.sig_checks, res.reason[0] ? ": " : "",
		    res.reason);
		if ((int)st != rp.expect)
			fail_msg("%s: %s, recorded %d (%s)", e->d_name, dns_status_str(st), rp.expect,
			    res.reason);
		if (st == DNS_SECURE && !res.nodata && res.rcode == 0)
			assert_true(res.nrr > 0);
		if (st == DNS_BOGUS)
			assert_int_equal(res.nrr, 0); /* never hand out bogus data */
		assert_true(res.sig_checks <= CONFIG_DNS_MAX_SIG_CHECKS_PER_QUERY);
		n++;
	}
	closedir(d);
	assert_true(n >= 20);
}

/* The same session again on the same context: the answer, then (answer
 * cache dropped) the zone keys come from the cache. */
static void
test_cache_reuse(void **state)
{
	(void)state;
	load("secure-tlsa.bin");
	assert_int_equal(run(), DNS_SECURE);
	unsigned first = res.queries, nrr = res.nrr;
	assert_int_equal(dns_lookup_wire(&ctx, rp.qname, rp.qtype, rp.now + 10, &res), 0);
	assert_int_equal(res.status, DNS_SECURE);
	assert_int_equal(res.queries, 0); /* from the answer cache */
	assert_int_equal(res.nrr, nrr);
	assert_true(res.rr[0].ttl <= 3600 - 10);
	for (unsigned i = 0; i < DNS_CACHE_SLOTS; i++)
		ctx.cache[i].used = false;
	assert_int_equal(dns_lookup_wire(&ctx, rp.qname, rp.qtype, rp.now + 10, &res), 0);
	assert_int_equal(res.status, DNS_SECURE);
	assert_true(res.queries < first);
	assert_int_equal(res.queries, 1); /* only the TLSA itself */
	/* after the keys' TTL the chain is fetched again */
	assert_int_equal(dns_lookup_wire(&ctx, rp.qname, rp.qtype, rp.now + 7200, &res), 0);
	assert_int_equal(res.status, DNS_SECURE);
	assert_int_equal(res.queries, first);
	/* a bogus answer is cached for at most 60 s, and says so again */
	load("bogus-badsig.bin");
	assert_int_equal(run(), DNS_BOGUS);
	assert_int_equal(dns_lookup_wire(&ctx, rp.qname, rp.qtype, rp.now + 30, &res), 0);
	assert_int_equal(res.status, DNS_BOGUS);
	assert_int_equal(res.queries, 0);
	assert_int_equal(res.nrr, 0);
	assert_int_equal(dns_lookup_wire(&ctx, rp.qname, rp.qtype, rp.now + 61, &res), 0);
	assert_int_equal(res.status, DNS_BOGUS);
	assert_true(res.queries > 0);
	/* a clock before the build time: indeterminate */
	assert_int_equal(dns_lookup_wire(&ctx, rp.qname, rp.qtype, 1, &res), 0);
	assert_int_equal(res.status, DNS_INDETERMINATE);
	/* the signatures expire: bogus, whatever the cache held */
	assert_int_equal(dns_lookup_wire(&ctx, rp.qname, rp.qtype, rp.now + 90 * 86400, &res), 0);
	assert_int_equal(res.status, DNS_BOGUS);
}

/* Budgets: the KeyTrap zone stops with a work-budget reason. */
static void
test_keytrap_budget(void **state)
{
	(void)state;
	load("bogus-keytrap.bin");
	assert_int_equal(run(), DNS_BOGUS);
	assert_non_null(strstr(res.reason, "work budget"));
	assert_true(res.sig_checks <= CONFIG_DNS_MAX_SIG_CHECKS_PER_QUERY);
}

/*
 * Flip each octet (every `step`th) of each recorded answer: the verdict may
 * become bogus or indeterminate, or stay secure with the very same records,
 * but never insecure and never secure with different records.
 */
static void
mutate(const char *name, size_t step)
{
	static uint8_t copy[65536];
	static char want[8192];
	size_t n = load(name), wl = 0;
	unsigned tried = 0, kept = 0;

	assert_int_equal(run(), DNS_SECURE);
	for (unsigned i = 0; i < res.nrr; i++) {
		assert_true(wl + 2 + res.rr[i].rdlen < sizeof(want));
		memcpy(want + wl, res.data + res.rr[i].rd_off, res.rr[i].rdlen);
		wl += res.rr[i].rdlen;
	}
	memcpy(copy, file, n);
	for (unsigned m = 0; m < rp.n; m++) {
		size_t base = (size_t)(rp.msg[m] - file);
		for (size_t k = 2; k < rp.len[m]; k += step) { /* keep the ID */
			struct replay r2;
			copy[base + k] ^= 0x41;
			assert_true(replay_load(&r2, copy, n));
			dns_ctx_init(&ctx, replay_fetch, &r2);
			replay_anchor(&ctx, &r2);
			assert_int_equal(dns_lookup_wire(&ctx, r2.qname, r2.qtype, r2.now, &res), 0);
			copy[base + k] ^= 0x41;
			tried++;
			if (res.status == DNS_INSECURE)
				fail_msg("%s: answer %u octet %zu flipped gives insecure", name, m, k);
			if (res.status != DNS_SECURE)
				continue;
			kept++;
			size_t gl = 0;
			static char got[8192];
			for (unsigned i = 0; i < res.nrr && gl + res.rr[i].rdlen < sizeof(got); i++) {
				memcpy(got + gl, res.data + res.rr[i].rd_off, res.rr[i].rdlen);
				gl += res.rr[i].rdlen;
			}
			if (gl != wl || memcmp(got, want, wl) != 0)
				fail_msg("%s: answer %u octet %zu flipped: secure with other data", name,
				    m, k);
		}
	}
	print_message("# %s: %u mutations, %u still secure (TTLs, unsigned sections)\n", name,
	    tried, kept);
}

static void
test_mutations_positive(void **state)
{
	(void)state;
	mutate("secure-a.bin", 3);
}

static void
test_mutations_denial(void **state)
{
	(void)state;
	mutate("nxdomain-nsec3.bin", 5);
}

/* The same sessions driven step by step (as the event loop will): same verdicts. */
static void
test_stepping(void **state)
{
	static struct dns_step st;
	DIR *d = opendir(DIR_TREE);
	struct dirent *e;
	int n = 0;

	(void)state;
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strstr(e->d_name, ".bin") == NULL)
			continue;
		load(e->d_name);
		dns_ctx_init(&ctx, NULL, NULL);
		replay_anchor(&ctx, &rp);
		dns_step_init(&st);
		unsigned steps = 0;
		while (dns_lookup_step(&ctx, &st, rp.qname, rp.qtype, rp.now, &res) ==
		    DNS_STEP_QUERY) {
			uint8_t buf[65535];
			size_t len;
			assert_true(++steps <= DNS_STEP_MAX);
			if (replay_fetch(&rp, st.qname, st.qtype, buf, sizeof(buf), &len) == 0)
				assert_int_equal(dns_step_answer(&st, buf, len), 0);
			else
				dns_step_fail(&st, -ETIMEDOUT);
		}
		if ((int)res.status != rp.expect)
			fail_msg("%s stepped: %s, recorded %d (%s)", e->d_name,
			    dns_status_str(res.status), rp.expect, res.reason);
		assert_true(steps > 0);
		n++;
	}
	closedir(d);
	assert_true(n >= 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recorded_sessions),
		cmocka_unit_test(test_cache_reuse),
		cmocka_unit_test(test_keytrap_budget),
		cmocka_unit_test(test_mutations_positive),
		cmocka_unit_test(test_mutations_denial),
		cmocka_unit_test(test_stepping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
