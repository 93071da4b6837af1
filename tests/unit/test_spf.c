/*
 * RFC 7208 check_host() (firmware/mailauth/spf.c) over a small in-test zone:
 * the macro examples of section 7.4, the record syntax rules, every
 * mechanism, the lookup and void-lookup limits, include/redirect edge cases
 * (include of none, redirect chains, redirect beside all), DNS errors and the
 * DNSSEC status of the answers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "common/dns_result_build.h"

#include "firmware/mailauth/spf.h"
#include "zegel/board.h"

static struct spf S;
static struct dns_result R;

/* The zone: name, type, value (TXT text, address, "PREF NAME", PTR name). */
struct rec {
	const char *name;
	uint16_t type;
	const char *v;
};

static const struct rec *zone;
static size_t nzone;
static enum dns_status zone_status; /* the status of every answer */
static const char *servfail_name;   /* this name answers indeterminate */
static const char *bogus_name;      /* this name answers bogus */
static unsigned asked;

static void
add_rec(const struct rec *r)
{
	uint8_t rd[1024];
	size_t n = 0;

	switch (r->type) {
	case DNS_T_TXT: {
		size_t l = strlen(r->v), o = 0;
		do { /* 255-octet character-strings */
			size_t c = l - o > 255 ? 255 : l - o;
			rd[n++] = (uint8_t)c;
			memcpy(rd + n, r->v + o, c);
			n += c;
			o += c;
		} while (o < l);
		break;
	}
	case DNS_T_A:
		assert_int_equal(inet_pton(AF_INET, r->v, rd), 1);
		n = 4;
		break;
	case DNS_T_AAAA:
		assert_int_equal(inet_pton(AF_INET6, r->v, rd), 1);
		n = 16;
		break;
	case DNS_T_MX: {
		unsigned pref = (unsigned)atoi(r->v);
		uint16_t wl;
		rd[0] = (uint8_t)(pref >> 8);
		rd[1] = (uint8_t)pref;
		assert_int_equal(dns_name_from_text(strchr(r->v, ' ') + 1, rd + 2, &wl), 0);
		n = 2 + wl;
		break;
	}
	case DNS_T_PTR: {
		uint16_t wl;
		assert_int_equal(dns_name_from_text(r->v, rd, &wl), 0);
		n = wl;
		break;
	}
	default:
		fail();
	}
	dnsres_add(&R, r->name, r->type, rd, n);
}

/* Answer name/type from the zone. */
static void
lookup(const char *name, uint16_t type)
{
	bool exists = false;

	asked++;
	if (servfail_name && strcasecmp(name, servfail_name) == 0) {
		dnsres_init(&R, DNS_INDETERMINATE);
		return;
	}
	if (bogus_name && strcasecmp(name, bogus_name) == 0) {
		dnsres_init(&R, DNS_BOGUS);
		return;
	}
	dnsres_init(&R, zone_status);
	for (size_t i = 0; i < nzone; i++) {
		if (strcasecmp(zone[i].name, name) != 0)
			continue;
		exists = true;
		if (zone[i].type == type)
			add_rec(&zone[i]);
	}
	if (!exists)
		R.rcode = DNS_RCODE_NXDOMAIN;
	else if (R.nrr == 0)
		R.nodata = true;
}

static enum spf_result
run(const char *ip, const char *sender)
{
	char name[SPF_NAME_MAX + 80];
	uint16_t qtype;
	const char *at = strrchr(sender, '@');

	asked = 0;
	assert_int_equal(spf_init(&S, ip, at ? at + 1 : sender, sender, "helo.example"), 0);
	while (spf_next(&S, name, sizeof(name), &qtype) == SPF_QUERY) {
		assert_true(asked < 200);
		lookup(name, qtype);
		spf_answer(&S, &R);
	}
	assert_true(S.done);
	return S.result;
}

#define ZONE(z) (zone = (z), nzone = sizeof(z) / sizeof((z)[0]))

static int
setup(void **state)
{
	(void)state;
	board_init();
	return 0;
}

static int
reset(void **state)
{
	(void)state;
	zone_status = DNS_SECURE;
	servfail_name = bogus_name = NULL;
	return 0;
}

/* ------------------------------------------------------------ macros (7.4) */

static void
expect_macro(const char *ms, const char *want)
{
	char out[600], why[160] = "";
	int n = spf_expand(&S, "email.example.com", ms, strlen(ms), false, out, sizeof(out), why,
	    sizeof(why));

	if (n < 0)
		fail_msg("%s: %s", ms, why);
	assert_string_equal(out, want);
	assert_int_equal(n, (int)strlen(want));
}

static void
test_macro_examples(void **state)
{
	(void)state;
	assert_int_equal(spf_init(&S, "192.0.2.3", "email.example.com",
			     "strong-bad@email.example.com", "mx.example.org"),
	    0);
	expect_macro("%{s}", "strong-bad@email.example.com");
	expect_macro("%{o}", "email.example.com");
	expect_macro("%{d}", "email.example.com");
	expect_macro("%{d4}", "email.example.com");
	expect_macro("%{d3}", "email.example.com");
	expect_macro("%{d2}", "example.com");
	expect_macro("%{d1}", "com");
	expect_macro("%{dr}", "com.example.email");
	expect_macro("%{d2r}", "example.email");
	expect_macro("%{l}", "strong-bad");
	expect_macro("%{l-}", "strong.bad");
	expect_macro("%{lr}", "strong-bad");
	expect_macro("%{lr-}", "bad.strong");
	expect_macro("%{l1r-}", "strong");
	expect_macro("%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com");
	expect_macro("%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com");
	expect_macro("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
	expect_macro("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com");
	expect_macro("%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net");
	expect_macro("%{h}", "mx.example.org");
	expect_macro("%{p}", "unknown");
	expect_macro("%%%_%-", "% %20");
	expect_macro("%{S}", "strong-bad%40email.example.com");
	expect_macro("%{i}", "192.0.2.3");

	assert_int_equal(spf_init(&S, "2001:db8::cb01", "email.example.com",
			     "strong-bad@email.example.com", "mx.example.org"),
	    0);
	expect_macro("%{ir}.%{v}._spf.%{d2}",
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

static void
test_macro_errors(void **state)
{
	static const char *const bad[] = { "%", "%a", "%{x}", "%{l0}", "%{l", "%{c}", "%{t}", "a b",
		"%{d2r" };
	char out[200], why[160];

	(void)state;
	assert_int_equal(spf_init(&S, "192.0.2.3", "example.com", "a@example.com", "h"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (spf_expand(&S, "example.com", bad[i], strlen(bad[i]), false, out, sizeof(out),
			why, sizeof(why)) >= 0)
			fail_msg("'%s' expanded to '%s'", bad[i], out);
		assert_true(why[0] != '\0');
	}
	/* c, r, t and spaces are fine in an explanation (exp=) */
	assert_true(spf_expand(&S, "example.com", "%{c} at %{r}", 12, true, out, sizeof(out), why,
			sizeof(why)) > 0);
	assert_string_equal(out, "192.0.2.3 at unknown");
}

/* ------------------------------------------------------------ syntax (4.6, 12) */

static void
test_record_syntax(void **state)
{
	static const char *const good[] = {
		"v=spf1",
		"v=spf1 -all",
		"V=SPF1 IP4:192.0.2.0/24 ~ALL",
		"v=spf1 a mx ptr a:x.example.com/24//64 mx//0 ip6:2001:db8::/32 ?all",
		"v=spf1 include:_spf.example.com exists:%{i}._spf.%{d} redirect=_spf.example.org",
		"v=spf1  ip4:192.0.2.1   -all ",
		"v=spf1 foo=bar x-y.z=%{d} exp=explain.%{d}",
		"v=spf1 a:%{d}",
		"v=spf1 a:x.123-4",
	};
	static const char *const bad[] = {
		"v=spf2 -all",
		"v=spf1x -all",
		"v=spf1 ip4:192.0.2.300",
		"v=spf1 ip4:192.0.2.0/33",
		"v=spf1 ip6:2001:db8::/129",
		"v=spf1 a/024",
		"v=spf1 foo:bar.com",
		"v=spf1 include",
		"v=spf1 include:",
		"v=spf1 a:x.123",
		"v=spf1 a:localhost",
		"v=spf1 all:x.com",
		"v=spf1 redirect=a.example redirect=b.example",
		"v=spf1 exp=a.example exp=b.example",
		"v=spf1 exists:%{l0}.x.com",
		"v=spf1 -+all",
		"v=spf1 ip4:192.0.2.1/",
		"v=spf1 mx:/24",
		"v=spf1 a:x.com///24",
		"v=spf1 exists:%{z}.x.com",
		"v=spf1 exists:%{c}.x.com",
	};
	char why[200];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (spf_record_check(good[i], strlen(good[i]), why, sizeof(why)) != 0)
			fail_msg("'%s' refused: %s", good[i], why);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (spf_record_check(bad[i], strlen(bad[i]), why, sizeof(why)) == 0)
			fail_msg("'%s' accepted", bad[i]);
}

/* ------------------------------------------------------------ mechanisms */

static const struct rec basic[] = {
	{ "ip4.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.0/24 -all" },
	{ "ip6.example", DNS_T_TXT, "v=spf1 ip6:2001:db8::/32 ~all" },
	{ "a.example", DNS_T_TXT, "v=spf1 a a:h.a.example/24//64 -all" },
	{ "a.example", DNS_T_A, "198.51.100.7" },
	{ "h.a.example", DNS_T_A, "203.0.113.200" },
	{ "h.a.example", DNS_T_AAAA, "2001:db8:1::1" },
	{ "mx.example", DNS_T_TXT, "v=spf1 mx/30 -all" },
	{ "mx.example", DNS_T_MX, "10 m1.mx.example" },
	{ "mx.example", DNS_T_MX, "20 m2.mx.example" },
	{ "m1.mx.example", DNS_T_A, "198.51.100.1" },
	{ "m2.mx.example", DNS_T_A, "198.51.100.20" },
	{ "ex.example", DNS_T_TXT, "v=spf1 exists:%{ir}.%{v}.ok.%{d} -all" },
	{ "5.2.0.192.in-addr.ok.ex.example", DNS_T_A, "127.0.0.2" },
	{ "ptr.example", DNS_T_TXT, "v=spf1 ptr -all" },
	{ "9.2.0.192.in-addr.arpa", DNS_T_PTR, "host.ptr.example" },
	{ "9.2.0.192.in-addr.arpa", DNS_T_PTR, "other.example" },
	{ "host.ptr.example", DNS_T_A, "192.0.2.9" },
	{ "10.2.0.192.in-addr.arpa", DNS_T_PTR, "liar.ptr.example" },
	{ "liar.ptr.example", DNS_T_A, "192.0.2.99" },
	{ "split.example", DNS_T_TXT,
	    "v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 ip4:192.0.2.3 "
	    "ip4:192.0.2.4 ip4:192.0.2.5 ip4:192.0.2.6 ip4:192.0.2.7 ip4:192.0.2.8 ip4:192.0.2.9 "
	    "ip4:192.0.2.10 ip4:192.0.2.11 ip4:192.0.2.12 ip4:192.0.2.13 ip4:192.0.2.14 "
	    "ip4:192.0.2.15 ip4:192.0.2.16 ip4:192.0.2.17 ip4:192.0.2.18 ip4:192.0.2.77 -all" },
	{ "other.example", DNS_T_TXT, "not spf" },
	{ "other.example", DNS_T_TXT, "v=spf1 ?all" },
	{ "exp.example", DNS_T_TXT, "v=spf1 -all exp=why.%{d}" },
};

static void
test_mechanisms(void **state)
{
	(void)state;
	ZONE(basic);
	assert_int_equal(run("192.0.2.200", "a@ip4.example"), SPF_PASS);
	assert_string_equal(S.mechanism, "ip4:192.0.2.0/24");
	assert_int_equal(S.lookups, 0);
	assert_int_equal(S.dnssec, DNS_SECURE);
	assert_int_equal(run("192.0.3.1", "a@ip4.example"), SPF_FAIL);
	assert_int_equal(run("::ffff:192.0.2.1", "a@ip4.example"), SPF_PASS); /* mapped = IPv4 */
	assert_int_equal(run("2001:db8:ff::1", "a@ip6.example"), SPF_PASS);
	assert_int_equal(run("2001:db9::1", "a@ip6.example"), SPF_SOFTFAIL);
	assert_int_equal(run("192.0.2.1", "a@ip6.example"), SPF_SOFTFAIL);
	/* a: the domain's own A, then h.a.example/24 (and //64 for IPv6) */
	assert_int_equal(run("198.51.100.7", "a@a.example"), SPF_PASS);
	assert_string_equal(S.mechanism, "a");
	assert_int_equal(run("203.0.113.1", "a@a.example"), SPF_PASS);
	assert_int_equal(S.lookups, 2);
	assert_int_equal(run("203.0.114.1", "a@a.example"), SPF_FAIL);
	assert_int_equal(run("2001:db8:1::ffff", "a@a.example"), SPF_PASS);
	assert_int_equal(run("2001:db8:2::1", "a@a.example"), SPF_FAIL);
	/* mx/30: the second host's network */
	assert_int_equal(run("198.51.100.22", "a@mx.example"), SPF_PASS);
	assert_int_equal(run("198.51.100.24", "a@mx.example"), SPF_FAIL);
	assert_int_equal(S.lookups, 1);
	/* exists with macros */
	assert_int_equal(run("192.0.2.5", "a@ex.example"), SPF_PASS);
	assert_int_equal(run("192.0.2.6", "a@ex.example"), SPF_FAIL);
	/* ptr: a validated name below the domain; a PTR name that does not
	 * resolve back (liar) does not count */
	assert_int_equal(run("192.0.2.9", "a@ptr.example"), SPF_PASS);
	assert_int_equal(run("192.0.2.10", "a@ptr.example"), SPF_FAIL);
	assert_int_equal(run("192.0.2.11", "a@ptr.example"), SPF_FAIL); /* no PTR: void */
	/* a record over several TXT strings (3.3), non-SPF TXT ignored (4.5) */
	assert_int_equal(run("192.0.2.77", "a@split.example"), SPF_PASS);
	assert_int_equal(run("192.0.2.77", "a@other.example"), SPF_NEUTRAL);
	/* exp= is kept (not fetched) */
	assert_int_equal(run("192.0.2.77", "a@exp.example"), SPF_FAIL);
	assert_string_equal(S.exp_spec, "why.%{d}");
}

/* ------------------------------------------------------------ include, redirect */

static const struct rec incs[] = {
	{ "inc.example", DNS_T_TXT, "v=spf1 include:in.example ~all" },
	{ "in.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.1 -all" },
	{ "negi.example", DNS_T_TXT, "v=spf1 -include:in.example +all" },
	{ "incnone.example", DNS_T_TXT, "v=spf1 include:norec.example +all" },
	{ "incnx.example", DNS_T_TXT, "v=spf1 include:nx.example +all" },
	{ "norec.example", DNS_T_A, "192.0.2.1" },
	{ "incperm.example", DNS_T_TXT, "v=spf1 include:bad.example +all" },
	{ "bad.example", DNS_T_TXT, "v=spf1 ip4:1.2.3 -all" },
	{ "inctemp.example", DNS_T_TXT, "v=spf1 include:sf.example +all" },
	{ "r1.example", DNS_T_TXT, "v=spf1 redirect=r2.example" },
	{ "r2.example", DNS_T_TXT, "v=spf1 ip4:198.51.100.0/24 redirect=r3.example" },
	{ "r3.example", DNS_T_TXT, "v=spf1 ip4:192.0.2.1 -all" },
	{ "rnone.example", DNS_T_TXT, "v=spf1 redirect=norec.example" },
	{ "rall.example", DNS_T_TXT, "v=spf1 ?all redirect=r3.example" },
	{ "rinc.example", DNS_T_TXT, "v=spf1 include:r1.example -all" },
	{ "loop.example", DNS_T_TXT, "v=spf1 include:loop.example -all" },
	{ "rloop.example", DNS_T_TXT, "v=spf1 redirect=rloop.example" },
	{ "two.example", DNS_T_TXT, "v=spf1 -all" },
	{ "two.example", DNS_T_TXT, "v=spf1 +all" },
};

static void
test_include_redirect(void **state)
{
	(void)state;
	ZONE(incs);
	assert_int_equal(run("192.0.2.1", "a@inc.example"), SPF_PASS);
	assert_string_equal(S.mechanism, "include:in.example");
	assert_string_equal(S.decided_in, "inc.example");
	assert_int_equal(run("192.0.2.2", "a@inc.example"), SPF_SOFTFAIL);
	assert_int_equal(run("192.0.2.1", "a@negi.example"), SPF_FAIL);
	assert_int_equal(run("192.0.2.2", "a@negi.example"), SPF_PASS);
	/* 5.2: include of none, of NXDOMAIN, of permerror: permerror */
	assert_int_equal(run("192.0.2.1", "a@incnone.example"), SPF_PERMERROR);
	assert_int_equal(run("192.0.2.1", "a@incnx.example"), SPF_PERMERROR);
	assert_int_equal(run("192.0.2.1", "a@incperm.example"), SPF_PERMERROR);
	servfail_name = "sf.example";
	assert_int_equal(run("192.0.2.1", "a@inctemp.example"), SPF_TEMPERROR);
	servfail_name = NULL;
	/* 6.1: redirect chains; a redirect to none is permerror */
	assert_int_equal(run("192.0.2.1", "a@r1.example"), SPF_PASS);
	assert_int_equal(S.lookups, 2);
	assert_int_equal(run("198.51.100.1", "a@r1.example"), SPF_PASS);
	assert_int_equal(run("203.0.113.1", "a@r1.example"), SPF_FAIL);
	assert_int_equal(run("192.0.2.1", "a@rnone.example"), SPF_PERMERROR);
	assert_int_equal(run("192.0.2.1", "a@rall.example"), SPF_NEUTRAL);
	/* an include whose target redirects */
	assert_int_equal(run("192.0.2.1", "a@rinc.example"), SPF_PASS);
	assert_string_equal(S.mechanism, "include:r1.example");
	assert_int_equal(run("192.0.2.9", "a@rinc.example"), SPF_FAIL);
	/* loops end at the lookup limit */
	assert_int_equal(run("192.0.2.1", "a@loop.example"), SPF_PERMERROR);
	assert_int_equal(S.lookups, 11);
	assert_int_equal(run("192.0.2.1", "a@rloop.example"), SPF_PERMERROR);
	/* 4.5: two records */
	assert_int_equal(run("192.0.2.1", "a@two.example"), SPF_PERMERROR);
}

/* ------------------------------------------------------------ limits (4.6.4) */

static const struct rec lims[] = {
	{ "ten.example", DNS_T_TXT,
	    "v=spf1 a:h.example a:h.example a:h.example a:h.example "
	    "a:h.example mx:h.example a:h.example a:h.example a:h.example a:h.example "
	    "ip4:192.0.2.1 -all" },
	{ "eleven.example", DNS_T_TXT,
	    "v=spf1 a:h.example a:h.example a:h.example a:h.example "
	    "a:h.example mx:h.example a:h.example a:h.example a:h.example a:h.example "
	    "a:h.example ip4:192.0.2.1 -all" },
	{ "h.example", DNS_T_A, "203.0.113.1" },
	{ "h.example", DNS_T_MX, "10 h.example" },
	{ "void2.example", DNS_T_TXT,
	    "v=spf1 a:nx1.example exists:nx2.example ip4:192.0.2.1 -all" },
	{ "void3.example", DNS_T_TXT,
	    "v=spf1 a:nx1.example exists:nx2.example mx:nx3.example ip4:192.0.2.1 -all" },
	{ "voidnd.example", DNS_T_TXT,
	    "v=spf1 a:h.example/0//0 mx:v.example a:v.example exists:v.example ip4:192.0.2.1 -all" },
	{ "v.example", DNS_T_TXT, "x" },
	{ "mx11.example", DNS_T_TXT, "v=spf1 mx ip4:192.0.2.1 -all" },
	{ "mx11.example", DNS_T_MX, "1 a1.example" },
	{ "mx11.example", DNS_T_MX, "2 a2.example" },
	{ "mx11.example", DNS_T_MX, "3 a3.example" },
	{ "mx11.example", DNS_T_MX, "4 a4.example" },
	{ "mx11.example", DNS_T_MX, "5 a5.example" },
	{ "mx11.example", DNS_T_MX, "6 a6.example" },
	{ "mx11.example", DNS_T_MX, "7 a7.example" },
	{ "mx11.example", DNS_T_MX, "8 a8.example" },
	{ "mx11.example", DNS_T_MX, "9 a9.example" },
	{ "mx11.example", DNS_T_MX, "10 a10.example" },
	{ "mx11.example", DNS_T_MX, "11 a11.example" },
};

static void
test_limits(void **state)
{
	(void)state;
	ZONE(lims);
	assert_int_equal(run("192.0.2.1", "a@ten.example"), SPF_PASS);
	assert_int_equal(S.lookups, 10);
	assert_int_equal(run("192.0.2.1", "a@eleven.example"), SPF_PERMERROR);
	assert_int_equal(S.lookups, 11);
	assert_non_null(strstr(S.why, "a:h.example"));
	assert_int_equal(run("192.0.2.1", "a@void2.example"), SPF_PASS);
	assert_int_equal(S.void_lookups, 2);
	assert_int_equal(run("192.0.2.1", "a@void3.example"), SPF_PERMERROR);
	assert_int_equal(S.void_lookups, 3);
	/* NODATA is void too (a/0 matches everything first: pass) */
	assert_int_equal(run("192.0.2.1", "a@voidnd.example"), SPF_PASS);
	assert_int_equal(run("2001:db8::1", "a@voidnd.example"), SPF_PERMERROR);
	/* more than 10 MX names: permerror */
	assert_int_equal(run("192.0.2.1", "a@mx11.example"), SPF_PERMERROR);
}

/* ------------------------------------------------------------ DNS outcomes */

static const struct rec dnsz[] = {
	{ "ok.example", DNS_T_TXT, "v=spf1 a:sf.example ip4:192.0.2.1 -all" },
	{ "ptrerr.example", DNS_T_TXT, "v=spf1 ptr ip4:192.0.2.1 -all" },
	{ "norec.example", DNS_T_A, "192.0.2.1" },
};

static void
test_dns_outcomes(void **state)
{
	(void)state;
	ZONE(dnsz);
	/* no record / NXDOMAIN / malformed domain: none (4.3, 4.5) */
	assert_int_equal(run("192.0.2.1", "a@norec.example"), SPF_NONE);
	assert_int_equal(run("192.0.2.1", "a@nx.example"), SPF_NONE);
	assert_int_equal(run("192.0.2.1", "a@single"), SPF_NONE);
	assert_int_equal(asked, 0);
	assert_int_equal(run("192.0.2.1", "a@bad..example"), SPF_NONE);
	/* the record lookup fails or is bogus: temperror (4.4) */
	servfail_name = "ok.example";
	assert_int_equal(run("192.0.2.1", "a@ok.example"), SPF_TEMPERROR);
	servfail_name = NULL;
	bogus_name = "ok.example";
	assert_int_equal(run("192.0.2.1", "a@ok.example"), SPF_TEMPERROR);
	assert_int_equal(S.dnssec, DNS_BOGUS);
	bogus_name = NULL;
	/* a mechanism's lookup fails: temperror (5) */
	servfail_name = "sf.example";
	assert_int_equal(run("192.0.2.1", "a@ok.example"), SPF_TEMPERROR);
	/* ... but a PTR lookup error only makes ptr not match (5.5) */
	servfail_name = "1.2.0.192.in-addr.arpa";
	assert_int_equal(run("192.0.2.1", "a@ptrerr.example"), SPF_PASS);
	servfail_name = NULL;
	/* insecure answers are used and reported */
	zone_status = DNS_INSECURE;
	assert_int_equal(run("192.0.2.1", "a@ptrerr.example"), SPF_PASS);
	assert_int_equal(S.dnssec, DNS_INSECURE);
	/* a bad client address */
	assert_int_equal(spf_init(&S, "192.0.2.256", "ok.example", "a@ok.example", NULL), -EINVAL);
	assert_true(S.done);
	assert_int_equal(S.result, SPF_PERMERROR);
}

static const struct rec senders[] = {
	{ "helo.example", DNS_T_TXT, "v=spf1 exists:%{l}.%{o}.x.example -all" },
	{ "postmaster.helo.example.x.example", DNS_T_A, "127.0.0.2" },
	{ "long.example", DNS_T_TXT, "v=spf1 exists:%{l}.%{l}.%{l}.%{l}.%{l}.%{d} -all" },
};

static void
test_sender_and_truncation(void **state)
{
	char name[SPF_NAME_MAX + 80], l[70];
	uint16_t qtype;

	(void)state;
	ZONE(senders);
	/* empty MAIL FROM: postmaster@HELO (4.3) */
	assert_int_equal(spf_init(&S, "192.0.2.1", "helo.example", "", "helo.example"), 0);
	assert_string_equal(S.sender, "postmaster@helo.example");
	assert_int_equal(run("192.0.2.1", "helo.example"), SPF_PASS);
	/* 7.3: a name over 253 octets loses labels on the left */
	memset(l, 'x', 60);
	l[60] = '\0';
	{
		char sender[100];
		snprintf(sender, sizeof(sender), "%s@long.example", l);
		assert_int_equal(spf_init(&S, "192.0.2.1", "long.example", sender, "h"), 0);
	}
	assert_int_equal(spf_next(&S, name, sizeof(name), &qtype), SPF_QUERY);
	lookup(name, qtype);
	spf_answer(&S, &R);
	/* 5 * 61 + 12 octets: two labels go, three stay */
	assert_int_equal(spf_next(&S, name, sizeof(name), &qtype), SPF_QUERY);
	assert_int_equal(qtype, DNS_T_A);
	{
		char want[300];
		snprintf(want, sizeof(want), "%s.%s.%s.long.example", l, l, l);
		assert_string_equal(name, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_macro_examples, reset),
		cmocka_unit_test_setup(test_macro_errors, reset),
		cmocka_unit_test_setup(test_record_syntax, reset),
		cmocka_unit_test_setup(test_mechanisms, reset),
		cmocka_unit_test_setup(test_include_redirect, reset),
		cmocka_unit_test_setup(test_limits, reset),
		cmocka_unit_test_setup(test_dns_outcomes, reset),
		cmocka_unit_test_setup(test_sender_and_truncation, reset),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
