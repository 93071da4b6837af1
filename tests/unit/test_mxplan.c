/*
 * The RFC 7672 route planner (firmware/relay/mxplan.c), fed synthetic
 * validated DNS results: the order of questions and the plan for each
 * outcome (bogus/indeterminate MX, NODATA, NXDOMAIN, null MX, insecure
 * MX/addresses, CNAME chains, TLSA secure/insecure/bogus/denied/unusable).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/dns_result_build.h"

#include "firmware/relay/hostplan.h"
#include "firmware/relay/mxplan.h"
#include "zegel/board.h"

static struct dns_result R;
static struct mxplan P;

static void
res(enum dns_status st)
{
	dnsres_init(&R, st);
}

static void
nodata(enum dns_status st)
{
	res(st);
	R.nodata = true;
}

static void
nxdomain(enum dns_status st)
{
	res(st);
	R.rcode = DNS_RCODE_NXDOMAIN;
}

static void
add(const char *owner, uint16_t type, const uint8_t *rd, size_t n)
{
	dnsres_add(&R, owner, type, rd, n);
}

static void
mx(const char *owner, uint16_t pref, const char *target)
{
	uint8_t rd[2 + DNS_NAME_MAX];
	uint16_t wl;

	rd[0] = (uint8_t)(pref >> 8);
	rd[1] = (uint8_t)pref;
	assert_int_equal(dns_name_from_text(target, rd + 2, &wl), 0);
	add(owner, DNS_T_MX, rd, 2u + wl);
}

static void
cname(const char *owner, const char *target)
{
	dnsres_cname(&R, owner, target);
}

static void
a(const char *owner, uint8_t last)
{
	dnsres_a(&R, owner, last);
}

static void
aaaa(const char *owner, uint8_t last)
{
	uint8_t rd[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	rd[15] = last;
	add(owner, DNS_T_AAAA, rd, 16);
}

static void
tlsa(const char *owner, uint8_t u, uint8_t s, uint8_t m)
{
	uint8_t rd[3 + 32];
	memset(rd, 0x5a, sizeof(rd));
	rd[0] = u, rd[1] = s, rd[2] = m;
	add(owner, DNS_T_TLSA, rd, m == 2 ? 3 : sizeof(rd)); /* m 2: too short on purpose */
}

/* The planner must ask exactly this next. */
static void
expect_q(const char *name, uint16_t type)
{
	char n[300];
	uint16_t t = 0;

	assert_int_equal(mxplan_next(&P, n, sizeof(n), &t), MXPLAN_QUERY);
	assert_string_equal(n, name);
	assert_int_equal(t, type);
}

static void
expect_done(void)
{
	char n[300];
	uint16_t t;

	assert_int_equal(mxplan_next(&P, n, sizeof(n), &t), MXPLAN_DONE);
	assert_int_equal(mxplan_next(&P, n, sizeof(n), &t), MXPLAN_DONE);
}

/* Answer the address questions of host: one secure A record each. */
static void
addrs_secure(const char *host, uint8_t last)
{
	expect_q(host, DNS_T_A);
	res(DNS_SECURE);
	a(host, last);
	mxplan_answer(&P, &R);
	expect_q(host, DNS_T_AAAA);
	nodata(DNS_SECURE);
	mxplan_answer(&P, &R);
}

static void
test_dane_two_hosts_in_order(void **st)
{
	(void)st;
	mxplan_init(&P, "example.org.", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 20, "b.example.org");
	mx("example.org", 10, "a.example.org");
	mxplan_answer(&P, &R);
	addrs_secure("a.example.org", 1);
	expect_q("_25._tcp.a.example.org", DNS_T_TLSA);
	res(DNS_SECURE);
	tlsa("_25._tcp.a.example.org", 1, 1, 1);   /* PKIX-EE: unusable */
	tlsa("_25._tcp.a.example.org", 3, 1, 1);
	mxplan_answer(&P, &R);
	addrs_secure("b.example.org", 2);
	expect_q("_25._tcp.b.example.org", DNS_T_TLSA);
	res(DNS_SECURE);
	tlsa("_25._tcp.b.example.org", 0, 0, 1);
	tlsa("_25._tcp.b.example.org", 3, 1, 2);   /* wrong digest length: unusable */
	mxplan_answer(&P, &R);
	expect_done();

	assert_false(P.deferred);
	assert_false(P.permanent);
	assert_int_equal(P.mx_status, DNS_SECURE);
	assert_int_equal(P.nhosts, 2);
	assert_string_equal(P.hosts[0].name, "a.example.org");
	assert_int_equal(P.hosts[0].pref, 10);
	assert_int_equal(P.hosts[0].tls, MXPLAN_DANE);
	assert_int_equal(P.hosts[0].ntlsa, 2);
	assert_int_equal(P.hosts[0].ntlsa_seen, 2);
	assert_int_equal(P.hosts[0].tlsa[0].usage, 3); /* usable records first */
	assert_int_equal(P.hosts[0].tlsa[1].usage, 1);
	assert_string_equal(P.hosts[0].tlsa_base, "a.example.org");
	assert_int_equal(P.hosts[0].naddr, 1);
	assert_int_equal(P.hosts[0].addrs[0].family, 4);
	assert_int_equal(P.hosts[0].addrs[0].ip[3], 1);
	assert_int_equal(P.hosts[0].addrs[0].port, 25);
	assert_string_equal(P.hosts[1].name, "b.example.org");
	assert_int_equal(P.hosts[1].tls, MXPLAN_ENCRYPT);
	assert_non_null(strstr(P.hosts[1].why, "none usable"));
	assert_string_equal(mxplan_tls_str(P.hosts[1].tls), "encrypt");
}

static void
test_mx_failures_defer_the_domain(void **st)
{
	(void)st;
	for (int k = 0; k < 2; k++) {
		mxplan_init(&P, "example.org", 25, false);
		expect_q("example.org", DNS_T_MX);
		res(k == 0 ? DNS_BOGUS : DNS_INDETERMINATE);
		mxplan_answer(&P, &R);
		expect_done(); /* no fallback to A */
		assert_true(P.deferred);
		assert_false(P.permanent);
		assert_int_equal(P.nhosts, 0);
		assert_string_equal(P.esc, "4.4.3");
		assert_non_null(strstr(P.reason, k == 0 ? "MX lookup bogus: RRSIG expired" :
		    "MX lookup indeterminate: SERVFAIL"));
	}
}

static void
test_implicit_nxdomain_nullmx(void **st)
{
	(void)st;
	/* NODATA: the domain is its own MX */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	nodata(DNS_SECURE);
	mxplan_answer(&P, &R);
	addrs_secure("example.org", 7);
	expect_q("_25._tcp.example.org", DNS_T_TLSA);
	nxdomain(DNS_SECURE);
	mxplan_answer(&P, &R);
	expect_done();
	assert_true(P.implicit_mx);
	assert_int_equal(P.nhosts, 1);
	assert_string_equal(P.hosts[0].name, "example.org");
	assert_int_equal(P.hosts[0].tls, MXPLAN_MAY);
	assert_true(P.hosts[0].tlsa_denied);
	/* NXDOMAIN: permanent */
	mxplan_init(&P, "nonexistent.example", 25, false);
	expect_q("nonexistent.example", DNS_T_MX);
	nxdomain(DNS_SECURE);
	mxplan_answer(&P, &R);
	expect_done();
	assert_true(P.permanent);
	assert_string_equal(P.esc, "5.1.2");
	/* null MX (RFC 7505) */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_INSECURE);
	mx("example.org", 0, ".");
	mxplan_answer(&P, &R);
	expect_done();
	assert_true(P.permanent);
	assert_true(P.null_mx);
	assert_string_equal(P.esc, "5.1.10");
	assert_int_equal(P.nhosts, 0);
	/* an invalid domain name */
	mxplan_init(&P, "a..b", 25, false);
	expect_done();
	assert_true(P.permanent);
}

static void
test_insecure_no_tlsa(void **st)
{
	(void)st;
	/* insecure MX: no TLSA lookups at all */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_INSECURE);
	mx("example.org", 10, "mx.example.org");
	mxplan_answer(&P, &R);
	addrs_secure("mx.example.org", 1);
	expect_done();
	assert_int_equal(P.hosts[0].tls, MXPLAN_MAY);
	assert_false(P.hosts[0].tlsa_looked_up);
	/* secure MX, insecure addresses: no TLSA; require_tls makes it ENCRYPT */
	for (int req = 0; req < 2; req++) {
		mxplan_init(&P, "example.org", 25, req);
		expect_q("example.org", DNS_T_MX);
		res(DNS_SECURE);
		mx("example.org", 10, "mx.hoster.example");
		mxplan_answer(&P, &R);
		expect_q("mx.hoster.example", DNS_T_A);
		res(DNS_INSECURE);
		a("mx.hoster.example", 3);
		mxplan_answer(&P, &R);
		expect_q("mx.hoster.example", DNS_T_AAAA);
		res(DNS_INSECURE);
		aaaa("mx.hoster.example", 3);
		mxplan_answer(&P, &R);
		expect_done();
		assert_int_equal(P.hosts[0].addr_status, DNS_INSECURE);
		assert_int_equal(P.hosts[0].naddr, 2);
		assert_int_equal(P.hosts[0].addrs[1].family, 6);
		assert_int_equal(P.hosts[0].tls, req ? MXPLAN_ENCRYPT : MXPLAN_MAY);
		if (req)
			assert_non_null(strstr(P.hosts[0].why, "required by configuration"));
	}
	/* secure A, insecure AAAA: the host counts as insecure */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 10, "mx.example.org");
	mxplan_answer(&P, &R);
	expect_q("mx.example.org", DNS_T_A);
	res(DNS_SECURE);
	a("mx.example.org", 3);
	mxplan_answer(&P, &R);
	expect_q("mx.example.org", DNS_T_AAAA);
	res(DNS_INSECURE);
	mxplan_answer(&P, &R);
	expect_done();
	assert_int_equal(P.hosts[0].tls, MXPLAN_MAY);
}

static void
test_tlsa_outcomes(void **st)
{
	(void)st;
	/* TLSA bogus / indeterminate: that host is skipped, the next one used */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 10, "a.example.org");
	mx("example.org", 20, "b.example.org");
	mx("example.org", 30, "c.example.org");
	mxplan_answer(&P, &R);
	addrs_secure("a.example.org", 1);
	expect_q("_25._tcp.a.example.org", DNS_T_TLSA);
	res(DNS_BOGUS);
	mxplan_answer(&P, &R);
	addrs_secure("b.example.org", 2);
	expect_q("_25._tcp.b.example.org", DNS_T_TLSA);
	res(DNS_INDETERMINATE);
	mxplan_answer(&P, &R);
	addrs_secure("c.example.org", 3);
	expect_q("_25._tcp.c.example.org", DNS_T_TLSA);
	res(DNS_INSECURE);
	tlsa("_25._tcp.c.example.org", 3, 1, 1);
	mxplan_answer(&P, &R);
	expect_done();
	assert_false(P.deferred);
	assert_int_equal(P.hosts[0].tls, MXPLAN_SKIP);
	assert_non_null(strstr(P.hosts[0].why, "TLSA lookup bogus"));
	assert_int_equal(P.hosts[1].tls, MXPLAN_SKIP);
	assert_non_null(strstr(P.hosts[1].why, "TLSA lookup indeterminate"));
	assert_int_equal(P.hosts[2].tls, MXPLAN_MAY); /* insecure TLSA: no DANE */
	assert_int_equal(P.hosts[2].ntlsa, 0);
	/* the only host skipped: the domain waits (4.7.5), never plaintext */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 10, "a.example.org");
	mxplan_answer(&P, &R);
	addrs_secure("a.example.org", 1);
	expect_q("_25._tcp.a.example.org", DNS_T_TLSA);
	res(DNS_BOGUS);
	mxplan_answer(&P, &R);
	expect_done();
	assert_true(P.deferred);
	assert_string_equal(P.esc, "4.7.5");
	assert_non_null(strstr(P.reason, "a.example.org: TLSA lookup bogus"));
	/* secure NODATA: may */
	mxplan_init(&P, "example.org", 587, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 10, "a.example.org");
	mxplan_answer(&P, &R);
	addrs_secure("a.example.org", 1);
	expect_q("_587._tcp.a.example.org", DNS_T_TLSA);
	nodata(DNS_SECURE);
	mxplan_answer(&P, &R);
	expect_done();
	assert_int_equal(P.hosts[0].tls, MXPLAN_MAY);
	assert_int_equal(P.hosts[0].addrs[0].port, 587);
}

static void
test_cname(void **st)
{
	(void)st;
	/* secure CNAME: TLSA at the target first, then at the original name */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 10, "mx.example.org");
	mxplan_answer(&P, &R);
	expect_q("mx.example.org", DNS_T_A);
	res(DNS_SECURE);
	cname("mx.example.org", "alias.example.net");
	cname("alias.example.net", "box.hoster.example");
	a("box.hoster.example", 9);
	mxplan_answer(&P, &R);
	expect_q("mx.example.org", DNS_T_AAAA);
	res(DNS_SECURE);
	cname("mx.example.org", "alias.example.net");
	cname("alias.example.net", "box.hoster.example");
	R.nodata = true;
	mxplan_answer(&P, &R);
	expect_q("_25._tcp.box.hoster.example", DNS_T_TLSA);
	nodata(DNS_SECURE);
	mxplan_answer(&P, &R);
	expect_q("_25._tcp.mx.example.org", DNS_T_TLSA);
	res(DNS_SECURE);
	tlsa("_25._tcp.mx.example.org", 2, 0, 1);
	mxplan_answer(&P, &R);
	expect_done();
	assert_string_equal(P.hosts[0].cname_target, "box.hoster.example");
	assert_true(P.hosts[0].cname_secure);
	assert_string_equal(P.hosts[0].tlsa_base, "mx.example.org");
	assert_int_equal(P.hosts[0].tls, MXPLAN_DANE);
	assert_int_equal(P.hosts[0].addrs[0].ip[3], 9);
	/* TLSA found at the target: the base domain is the target */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 10, "mx.example.org");
	mxplan_answer(&P, &R);
	expect_q("mx.example.org", DNS_T_A);
	res(DNS_SECURE);
	cname("mx.example.org", "box.hoster.example");
	a("box.hoster.example", 9);
	mxplan_answer(&P, &R);
	expect_q("mx.example.org", DNS_T_AAAA);
	nodata(DNS_SECURE);
	mxplan_answer(&P, &R);
	expect_q("_25._tcp.box.hoster.example", DNS_T_TLSA);
	res(DNS_SECURE);
	tlsa("_25._tcp.box.hoster.example", 3, 1, 1);
	mxplan_answer(&P, &R);
	expect_done();
	assert_string_equal(P.hosts[0].tlsa_base, "box.hoster.example");
	assert_int_equal(P.hosts[0].tls, MXPLAN_DANE);
	/* an insecure CNAME chain makes the addresses insecure: no TLSA */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 10, "mx.example.org");
	mxplan_answer(&P, &R);
	expect_q("mx.example.org", DNS_T_A);
	res(DNS_INSECURE);
	cname("mx.example.org", "box.hoster.example");
	a("box.hoster.example", 9);
	mxplan_answer(&P, &R);
	expect_q("mx.example.org", DNS_T_AAAA);
	nodata(DNS_INSECURE);
	mxplan_answer(&P, &R);
	expect_done();
	assert_false(P.hosts[0].cname_secure);
	assert_int_equal(P.hosts[0].tls, MXPLAN_MAY);
}

static void
test_address_failures_and_bounds(void **st)
{
	char name[40];

	(void)st;
	/* A bogus, AAAA secure: the AAAA addresses only, still DANE-eligible */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	mx("example.org", 10, "a.example.org");
	mx("example.org", 20, "b.example.org");
	mxplan_answer(&P, &R);
	expect_q("a.example.org", DNS_T_A);
	res(DNS_BOGUS);
	mxplan_answer(&P, &R);
	expect_q("a.example.org", DNS_T_AAAA);
	res(DNS_SECURE);
	for (int i = 0; i < 6; i++)
		aaaa("a.example.org", (uint8_t)i);
	mxplan_answer(&P, &R);
	expect_q("_25._tcp.a.example.org", DNS_T_TLSA);
	nodata(DNS_SECURE);
	mxplan_answer(&P, &R);
	/* b: both families fail -> skipped */
	expect_q("b.example.org", DNS_T_A);
	res(DNS_INDETERMINATE);
	mxplan_answer(&P, &R);
	expect_q("b.example.org", DNS_T_AAAA);
	res(DNS_BOGUS);
	mxplan_answer(&P, &R);
	expect_done();
	assert_int_equal(P.hosts[0].naddr, MXPLAN_MAX_ADDRS);
	assert_int_equal(P.hosts[0].addrs[0].family, 6);
	assert_int_equal(P.hosts[0].tls, MXPLAN_MAY);
	assert_int_equal(P.hosts[1].tls, MXPLAN_SKIP);
	assert_int_equal(P.hosts[1].naddr, 0);
	assert_non_null(strstr(P.hosts[1].why, "AAAA lookup bogus"));
	assert_false(P.deferred);
	/* more MX hosts than kept: the most preferred ones; duplicates merged */
	mxplan_init(&P, "example.org", 25, false);
	expect_q("example.org", DNS_T_MX);
	res(DNS_SECURE);
	for (int i = 12; i > 0; i--) {
		snprintf(name, sizeof(name), "mx%02d.example.org", i);
		mx("example.org", (uint16_t)(i * 10), name);
	}
	mx("example.org", 5, "MX03.example.org.");
	mx("example.org", 70, "mx02.example.org");
	mxplan_answer(&P, &R);
	assert_int_equal(P.nhosts, MXPLAN_MAX_HOSTS);
	assert_string_equal(P.hosts[0].name, "mx03.example.org");
	assert_int_equal(P.hosts[0].pref, 5);
	assert_string_equal(P.hosts[1].name, "mx01.example.org");
	assert_string_equal(P.hosts[2].name, "mx02.example.org");
	assert_int_equal(P.hosts[2].pref, 20);
	assert_string_equal(P.hosts[7].name, "mx08.example.org");
	/* no addresses at all anywhere: deferred 4.4.3 */
	for (unsigned i = 0; i < MXPLAN_MAX_HOSTS; i++) {
		expect_q(P.hosts[i].name, DNS_T_A);
		nodata(DNS_SECURE);
		mxplan_answer(&P, &R);
		expect_q(P.hosts[i].name, DNS_T_AAAA);
		nxdomain(DNS_SECURE);
		mxplan_answer(&P, &R);
	}
	expect_done();
	assert_true(P.deferred);
	assert_string_equal(P.esc, "4.4.3");
	assert_non_null(strstr(P.hosts[0].why, "no A or AAAA"));
}

static void
test_single_host(void **st)
{
	(void)st;
	/* a smarthost: no MX step, treated like a secure MX target */
	mxplan_init_host(&P, "smtp.provider.example", 587, false);
	addrs_secure("smtp.provider.example", 4);
	expect_q("_587._tcp.smtp.provider.example", DNS_T_TLSA);
	res(DNS_SECURE);
	tlsa("_587._tcp.smtp.provider.example", 3, 1, 1);
	mxplan_answer(&P, &R);
	expect_done();
	assert_int_equal(P.nhosts, 1);
	assert_int_equal(P.hosts[0].tls, MXPLAN_DANE);
}

/* The shared per-host rules (hostplan.h) directly: what mxplan and the
 * smarthost's hostaddr both rely on. */
static void
test_hostplan_rules(void **st)
{
	struct dane_tlsa t[2];
	struct hostplan_tlsa_count c;
	struct hal_addr out[3];
	char base[64], qn[80], name[64];

	(void)st;
	/* TLSA: usable records first; without keep_unusable only those, and at
	 * most max of them (counted all the same) */
	res(DNS_SECURE);
	tlsa("_25._tcp.mx.example", 1, 1, 1);   /* PKIX-EE: unusable for SMTP */
	tlsa("_25._tcp.mx.example", 3, 1, 1);
	tlsa("_25._tcp.mx.example", 2, 0, 1);
	tlsa("_25._tcp.mx.example", 3, 1, 2);   /* too short: unparsable, still seen */
	assert_int_equal(hostplan_tlsa(&R, t, 2, true, &c), HOSTPLAN_TLSA_USABLE);
	assert_int_equal(c.seen, 4);
	assert_int_equal(c.usable, 2);
	assert_int_equal(c.kept, 2);
	assert_int_equal(t[0].usage, 3);
	assert_int_equal(t[1].usage, 2);
	assert_int_equal(hostplan_tlsa(&R, t, 1, false, &c), HOSTPLAN_TLSA_USABLE);
	assert_int_equal(c.kept, 1);
	assert_int_equal(c.usable, 2);
	res(DNS_SECURE);
	tlsa("_25._tcp.mx.example", 1, 1, 1);
	assert_int_equal(hostplan_tlsa(&R, t, 2, false, &c), HOSTPLAN_TLSA_UNUSABLE);
	assert_int_equal(c.kept, 0);
	assert_int_equal(hostplan_tlsa(&R, t, 2, true, &c), HOSTPLAN_TLSA_UNUSABLE);
	assert_int_equal(c.kept, 1);
	nodata(DNS_SECURE);
	assert_int_equal(hostplan_tlsa(&R, t, 2, true, &c), HOSTPLAN_TLSA_DENIED);
	res(DNS_INSECURE);
	tlsa("_25._tcp.mx.example", 3, 1, 1);
	assert_int_equal(hostplan_tlsa(&R, t, 2, true, &c), HOSTPLAN_TLSA_INSECURE);
	res(DNS_BOGUS);
	assert_int_equal(hostplan_tlsa(&R, t, 2, true, &c), HOSTPLAN_TLSA_FAILED);
	res(DNS_INDETERMINATE);
	assert_int_equal(hostplan_tlsa(&R, t, 2, true, &c), HOSTPLAN_TLSA_FAILED);

	/* RFC 7672 2.2.2: a denial at a secure CNAME target: the host name next,
	 * once (the name itself, in any spelling, is not asked twice) */
	assert_true(hostplan_tlsa_retry(HOSTPLAN_TLSA_DENIED, true, "target.example",
	    "mx.example"));
	assert_false(hostplan_tlsa_retry(HOSTPLAN_TLSA_DENIED, false, "target.example",
	    "mx.example"));
	assert_false(hostplan_tlsa_retry(HOSTPLAN_TLSA_DENIED, true, "MX.Example", "mx.example."));
	assert_false(hostplan_tlsa_retry(HOSTPLAN_TLSA_UNUSABLE, true, "target.example",
	    "mx.example"));
	assert_false(hostplan_tlsa_retry(HOSTPLAN_TLSA_FAILED, true, "target.example",
	    "mx.example"));

	/* base and question: the secure CNAME target, else the host, no dot */
	hostplan_tlsa_qname("mx.example.", "target.example", true, 25, base, sizeof(base), qn,
	    sizeof(qn));
	assert_string_equal(base, "target.example");
	assert_string_equal(qn, "_25._tcp.target.example");
	hostplan_tlsa_qname("mx.example.", "target.example", false, 587, base, sizeof(base), qn,
	    sizeof(qn));
	assert_string_equal(base, "mx.example");
	assert_string_equal(qn, "_587._tcp.mx.example");
	/* an escaped dot at the end of the last label is part of the name, not
	 * the root (fuzz_mxplan found "eximpl\\." losing it) */
	hostplan_tlsa_qname("box.eximpl\\.", "", false, 25, base, sizeof(base), qn, sizeof(qn));
	assert_string_equal(qn, "_25._tcp.box.eximpl\\.");
	hostplan_tlsa_qname("box.back\\\\.", "", false, 25, base, sizeof(base), qn, sizeof(qn));
	assert_string_equal(qn, "_25._tcp.box.back\\\\");

	/* addresses of one family appended, bounded, with the port */
	res(DNS_SECURE);
	a("mx.example", 1);
	aaaa("mx.example", 2);
	a("mx.example", 3);
	assert_int_equal(hostplan_addrs(&R, false, 25, out, 0, 3), 2);
	assert_int_equal(out[1].ip[3], 3);
	assert_int_equal(out[1].port, 25);
	assert_int_equal(hostplan_addrs(&R, true, 25, out, 2, 3), 3);
	assert_int_equal(out[2].family, 6);
	assert_int_equal(hostplan_addrs(&R, true, 25, out, 3, 3), 3);

	/* CNAME chain: its final target, lower case, without the dot */
	res(DNS_SECURE);
	cname("mx.example", "Hop.Example");
	cname("hop.example", "final.example");
	hostplan_cname(&R, "mx.example", name, sizeof(name));
	assert_string_equal(name, "final.example");
	res(DNS_SECURE);
	a("mx.example", 1);
	hostplan_cname(&R, "mx.example", name, sizeof(name));
	assert_string_equal(name, "");
}

static int
setup(void **st)
{
	(void)st;
	board_init();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dane_two_hosts_in_order),
		cmocka_unit_test(test_mx_failures_defer_the_domain),
		cmocka_unit_test(test_implicit_nxdomain_nullmx),
		cmocka_unit_test(test_insecure_no_tlsa),
		cmocka_unit_test(test_tlsa_outcomes),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_address_failures_and_bounds),
		cmocka_unit_test(test_single_host),
		cmocka_unit_test(test_hostplan_rules),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
