/*
 * The smarthost's name lookups (firmware/relay/hostaddr.c) as a step
 * machine fed with made-up validated answers: the order of the questions
 * (A, AAAA, then TLSA at _PORT._tcp.BASE only after secure addresses), the
 * DANE finding for each TLSA outcome (usable, unusable, denied, insecure,
 * bogus, indeterminate), secure CNAME chains (RFC 7672 2.2.2: the target
 * first, then the host name), and the address rules that were there before
 * (a bogus family fails the name with 4.4.3 words, not 4.7.5).
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

#include "firmware/relay/hostaddr.h"

static struct dns_result R;
static struct hostaddr_req Q;
static struct hal_addr out[4];

static void
res(enum dns_status st)
{
	dnsres_init(&R, st);
}

static void
add(const char *owner, uint16_t type, const uint8_t *rd, size_t n)
{
	dnsres_add(&R, owner, type, rd, n);
}

static void
a(const char *owner, uint8_t last)
{
	dnsres_a(&R, owner, last);
}

static void
cname(const char *owner, const char *target)
{
	dnsres_cname(&R, owner, target);
}

static void
tlsa(const char *owner, uint8_t u, uint8_t s, uint8_t m, uint8_t fill)
{
	uint8_t rd[3 + 32];

	memset(rd, fill, sizeof(rd));
	rd[0] = u, rd[1] = s, rd[2] = m;
	add(owner, DNS_T_TLSA, rd, sizeof(rd));
}

/* The machine must ask exactly this now. */
static void
expect_q(const char *name, uint16_t type)
{
	assert_int_equal(Q.type, type);
	assert_string_equal(hostaddr_qname(&Q), name);
}

/* A secure A answer with one address and a secure AAAA NODATA; returns
 * what feeding the AAAA said (1: a TLSA question is due). */
static int
secure_addrs(const char *host, enum dns_status st)
{
	expect_q(host, DNS_T_A);
	res(st);
	a(host, 7);
	assert_int_equal(hostaddr_feed(&Q, &R), 1);
	expect_q(host, DNS_T_AAAA);
	res(st);
	R.nodata = true;
	return hostaddr_feed(&Q, &R);
}

static void
test_usable_tlsa(void **state)
{
	(void)state;
	assert_int_equal(hostaddr_begin(&Q, "Smtp.Example.NET.", 587, out, 4, true), 0);
	assert_int_equal(secure_addrs("Smtp.Example.NET.", DNS_SECURE), 1);
	expect_q("_587._tcp.Smtp.Example.NET", DNS_T_TLSA);
	res(DNS_SECURE);
	tlsa("_587._tcp.smtp.example.net", 1, 1, 1, 0x11);   /* PKIX-EE: unusable for SMTP */
	tlsa("_587._tcp.smtp.example.net", 3, 1, 1, 0x22);
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.n, 1);
	assert_int_equal(out[0].port, 587);
	assert_true(Q.tlsa_looked_up);
	assert_false(Q.tlsa_failed);
	assert_int_equal(Q.tlsa_status, DNS_SECURE);
	assert_int_equal(Q.dane, HOSTADDR_DANE_USABLE);
	assert_int_equal(Q.ntlsa_seen, 2);
	assert_int_equal(Q.ntlsa, 1);       /* only the usable one is kept */
	assert_int_equal(Q.tlsa[0].usage, 3);
	assert_int_equal(Q.tlsa[0].data[0], 0x22);
	assert_string_equal(Q.tlsa_base, "Smtp.Example.NET");
	assert_string_equal(Q.tlsa_why, "2 TLSA records, 1 usable");
}

static void
test_no_tlsa_outcomes(void **state)
{
	(void)state;
	/* secure, none usable: PKIX (the smarthost keeps an authenticated TLS) */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 25, out, 4, true), 0);
	assert_int_equal(secure_addrs("smtp.example.net", DNS_SECURE), 1);
	res(DNS_SECURE);
	tlsa("_25._tcp.smtp.example.net", 0, 0, 1, 0x33);
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.n, 1);
	assert_int_equal(Q.dane, HOSTADDR_DANE_UNUSABLE);
	assert_int_equal(Q.ntlsa, 0);
	assert_non_null(strstr(Q.tlsa_why, "none usable"));

	/* secure denial */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 25, out, 4, true), 0);
	assert_int_equal(secure_addrs("smtp.example.net", DNS_SECURE), 1);
	res(DNS_SECURE);
	R.rcode = DNS_RCODE_NXDOMAIN;
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.n, 1);
	assert_int_equal(Q.dane, HOSTADDR_DANE_NONE);
	assert_non_null(strstr(Q.tlsa_why, "securely denied"));

	/* an insecure TLSA answer (an unsigned zone cut below the host) */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 25, out, 4, true), 0);
	assert_int_equal(secure_addrs("smtp.example.net", DNS_SECURE), 1);
	res(DNS_INSECURE);
	tlsa("_25._tcp.smtp.example.net", 3, 1, 1, 0x44);
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.n, 1);
	assert_int_equal(Q.dane, HOSTADDR_DANE_NONE);
	assert_int_equal(Q.ntlsa, 0);

	/* insecure addresses: no TLSA question at all (RFC 7672 2.2.1) */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 25, out, 4, true), 0);
	assert_int_equal(secure_addrs("smtp.example.net", DNS_INSECURE), 0);
	assert_int_equal(Q.n, 1);
	assert_false(Q.tlsa_looked_up);
	assert_int_equal(Q.dane, HOSTADDR_DANE_NO);
	assert_non_null(strstr(Q.tlsa_why, "not DNSSEC-signed"));

	/* not asked for (hostaddr_start): no TLSA question either */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 25, out, 4, false), 0);
	assert_int_equal(secure_addrs("smtp.example.net", DNS_SECURE), 0);
	assert_int_equal(Q.n, 1);
	assert_int_equal(Q.dane, HOSTADDR_DANE_NO);

	/* literals and localhost never get here (PKIX, no DNS) */
	assert_int_equal(hostaddr_begin(&Q, "192.0.2.1", 25, out, 4, true), -1);
	assert_int_equal(hostaddr_begin(&Q, "localhost", 25, out, 4, true), -1);
}

static void
test_tlsa_failures(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 587, out, 4, true), 0);
		assert_int_equal(secure_addrs("smtp.example.net", DNS_SECURE), 1);
		res(k == 0 ? DNS_BOGUS : DNS_INDETERMINATE);
		tlsa("_587._tcp.smtp.example.net", 3, 1, 1, 0x55);
		assert_int_equal(hostaddr_feed(&Q, &R), 0);
		assert_int_equal(Q.n, -1);
		assert_true(Q.tlsa_failed);
		assert_int_equal(Q.ntlsa, 0);
		print_message("# %s\n", Q.err);
		assert_non_null(strstr(Q.err, k == 0 ?
		    "TLSA lookup for _587._tcp.smtp.example.net is bogus: RRSIG expired" :
		    "TLSA lookup for _587._tcp.smtp.example.net is indeterminate: SERVFAIL"));
	}
	/* a bogus address answer is the old 4.4.3 failure, not a TLSA one */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 587, out, 4, true), 0);
	res(DNS_BOGUS);
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.n, -1);
	assert_false(Q.tlsa_failed);
	assert_false(Q.tlsa_looked_up);
	assert_non_null(strstr(Q.err, "DNS for smtp.example.net is bogus"));
	/* and a bogus AAAA with a secure A too (unlike an MX host in mxplan) */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 587, out, 4, true), 0);
	res(DNS_SECURE);
	a("smtp.example.net", 1);
	assert_int_equal(hostaddr_feed(&Q, &R), 1);
	res(DNS_INDETERMINATE);
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.n, -1);
	assert_false(Q.tlsa_failed);
}

static void
test_secure_cname(void **state)
{
	(void)state;
	/* TLSA at the CNAME target */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 587, out, 4, true), 0);
	res(DNS_SECURE);
	cname("smtp.example.net", "Relay.Provider.example");
	a("relay.provider.example", 9);
	assert_int_equal(hostaddr_feed(&Q, &R), 1);
	res(DNS_SECURE);
	cname("smtp.example.net", "relay.provider.example");
	R.nodata = true;
	assert_int_equal(hostaddr_feed(&Q, &R), 1);
	assert_string_equal(Q.cname, "relay.provider.example");
	assert_true(Q.cname_secure);
	expect_q("_587._tcp.relay.provider.example", DNS_T_TLSA);
	res(DNS_SECURE);
	tlsa("_587._tcp.relay.provider.example", 2, 0, 1, 0x66);
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.dane, HOSTADDR_DANE_USABLE);
	assert_string_equal(Q.tlsa_base, "relay.provider.example");

	/* none at the target: the host name itself (RFC 7672 2.2.2) */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 587, out, 4, true), 0);
	res(DNS_SECURE);
	cname("smtp.example.net", "relay.provider.example");
	a("relay.provider.example", 9);
	assert_int_equal(hostaddr_feed(&Q, &R), 1);
	res(DNS_SECURE);
	R.nodata = true;
	assert_int_equal(hostaddr_feed(&Q, &R), 1);
	expect_q("_587._tcp.relay.provider.example", DNS_T_TLSA);
	res(DNS_SECURE);
	R.nodata = true;
	assert_int_equal(hostaddr_feed(&Q, &R), 1);
	expect_q("_587._tcp.smtp.example.net", DNS_T_TLSA);
	res(DNS_SECURE);
	tlsa("_587._tcp.smtp.example.net", 3, 1, 1, 0x77);
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.n, 1);
	assert_int_equal(Q.dane, HOSTADDR_DANE_USABLE);
	assert_string_equal(Q.tlsa_base, "smtp.example.net");
	assert_int_equal(Q.tlsa[0].data[0], 0x77);

	/* an insecure CNAME chain (insecure A answer): no TLSA is asked at all */
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 587, out, 4, true), 0);
	res(DNS_INSECURE);
	cname("smtp.example.net", "relay.provider.example");
	a("relay.provider.example", 9);
	assert_int_equal(hostaddr_feed(&Q, &R), 1);
	res(DNS_INSECURE);
	R.nodata = true;
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_false(Q.cname_secure);
	assert_int_equal(Q.dane, HOSTADDR_DANE_NO);
}

static void
test_many_records(void **state)
{
	(void)state;
	assert_int_equal(hostaddr_begin(&Q, "smtp.example.net", 587, out, 4, true), 0);
	assert_int_equal(secure_addrs("smtp.example.net", DNS_SECURE), 1);
	res(DNS_SECURE);
	for (int i = 0; i < HOSTADDR_TLSA_MAX + 2; i++)
		tlsa("_587._tcp.smtp.example.net", 3, 1, 1, (uint8_t)(0x80 + i));
	assert_int_equal(hostaddr_feed(&Q, &R), 0);
	assert_int_equal(Q.dane, HOSTADDR_DANE_USABLE);
	assert_int_equal(Q.ntlsa, HOSTADDR_TLSA_MAX);
	assert_int_equal(Q.ntlsa_seen, HOSTADDR_TLSA_MAX + 2);
	for (int i = 0; i < HOSTADDR_TLSA_MAX; i++)
		assert_int_equal(Q.tlsa[i].data[0], 0x80 + i);
	assert_non_null(strstr(Q.tlsa_why, "only the first ones kept"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usable_tlsa),
		cmocka_unit_test(test_no_tlsa_outcomes),
		cmocka_unit_test(test_tlsa_failures),
		cmocka_unit_test(test_secure_cname),
		cmocka_unit_test(test_many_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
