/*
 * RFC 7489 DMARC (firmware/mailauth/dmarc.c): the record parser (tags,
 * defaults, named errors, the 6.6.3 p=none rescue by rua=), the
 * organisational domain from a public suffix list (wildcard and exception
 * rules; Debian's list when installed; the last-two-labels fallback) and the
 * discovery step machine (domain, then organisational domain; multiple
 * records; DNS errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/dns_result_build.h"

#include "firmware/mailauth/dmarc.h"
#include "zegel/board.h"

static struct dmarc_record D;
static struct dmarc_find F;
static struct dns_result R;

static int
setup(void **state)
{
	(void)state;
	board_init();
	return 0;
}

static int
parse(const char *t)
{
	return dmarc_parse(t, strlen(t), &D);
}

static void
test_parse_full(void **state)
{
	(void)state;
	assert_int_equal(
	    parse("v=DMARC1; p=reject; sp=quarantine; pct=50; adkim=s; aspf=r; "
		  "rua=mailto:agg@example.com,mailto:x@example.net!10m; ruf=mailto:f@example.com; "
		  "fo=1:d; rf=afrf; ri=3600"),
	    0);
	assert_true(D.usable);
	assert_int_equal(D.p, DMARC_P_REJECT);
	assert_int_equal(D.sp, DMARC_P_QUARANTINE);
	assert_int_equal(D.effective, DMARC_P_REJECT);
	assert_int_equal(D.pct, 50);
	assert_int_equal(D.adkim, 's');
	assert_int_equal(D.aspf, 'r');
	assert_string_equal(D.rua, "mailto:agg@example.com,mailto:x@example.net!10m");
	assert_string_equal(D.ruf, "mailto:f@example.com");
	assert_string_equal(D.fo, "1:d");
	assert_int_equal(D.ri, 3600);
	assert_int_equal(D.nerr, 0);
	assert_int_equal(D.nwarn, 0);
	/* defaults, spaces, a trailing ';', case-insensitive values */
	assert_int_equal(parse("v=DMARC1;p = None ;"), 0);
	assert_int_equal(D.p, DMARC_P_NONE);
	assert_int_equal(D.sp, DMARC_P_UNSET);
	assert_int_equal(D.pct, 100);
	assert_int_equal(D.adkim, 'r');
	assert_string_equal(D.fo, "0");
	assert_int_equal(D.ri, 86400);
	/* unknown tags: a warning, not an error (6.3) */
	assert_int_equal(parse("v=DMARC1; p=quarantine; np=reject; foo=bar"), 0);
	assert_int_equal(D.nwarn, 2);
	assert_non_null(strstr(D.warn[0], "np"));
}

static void
test_parse_errors(void **state)
{
	(void)state;
	/* v=DMARC1 must come first (6.4) */
	assert_int_equal(parse("p=reject; v=DMARC1"), -1);
	assert_false(D.usable);
	assert_non_null(strstr(D.err[0], "v=DMARC1"));
	assert_int_equal(parse("v=DMARC2; p=reject"), -1);
	assert_false(D.usable);
	assert_int_equal(parse(""), -1);
	/* p missing or invalid: unusable, unless rua= is valid (6.6.3): p=none */
	assert_int_equal(parse("v=DMARC1; pct=10"), -1);
	assert_false(D.usable);
	assert_int_equal(parse("v=DMARC1; p=block; rua=mailto:a@example.com"), -1);
	assert_true(D.usable);
	assert_int_equal(D.effective, DMARC_P_NONE);
	assert_int_equal(parse("v=DMARC1; p=reject; sp=bad"), -1);
	assert_false(D.usable);
	assert_int_equal(parse("v=DMARC1; p=block; rua=not a uri"), -1);
	assert_false(D.usable);
	/* values out of range, duplicates, junk */
	assert_int_equal(parse("v=DMARC1; p=none; pct=101"), -1);
	assert_non_null(strstr(D.err[0], "pct"));
	assert_true(D.usable);
	assert_int_equal(parse("v=DMARC1; p=none; adkim=x"), -1);
	assert_int_equal(parse("v=DMARC1; p=none; fo=2"), -1);
	assert_int_equal(parse("v=DMARC1; p=none; ri=-1"), -1);
	assert_int_equal(parse("v=DMARC1; p=none; p=reject"), -1);
	assert_non_null(strstr(D.err[0], "twice"));
	assert_int_equal(parse("v=DMARC1; p=none; garbage"), -1);
	assert_int_equal(parse("v=DMARC1; p=none; rua=mailto:a@b!x"), -1);
	/* a URI scheme other than mailto: parsed, warned */
	assert_int_equal(parse("v=DMARC1; p=none; rua=https://example.com/r"), 0);
	assert_int_equal(D.nwarn, 1);
}

static const char psl[] = "// comment\n"
			  "com\n"
			  "uk\n"
			  "co.uk\n"
			  "*.ck\n"
			  "!www.ck\n"
			  "\n"
			  "  // ===BEGIN PRIVATE DOMAINS===\n"
			  "blogspot.com\n";

static void
expect_org(const char *domain, const char *want)
{
	char org[DMARC_NAME_MAX];

	assert_int_equal(dmarc_org_domain_mem(domain, psl, sizeof(psl) - 1, org, sizeof(org)), 0);
	assert_string_equal(org, want);
}

static void
test_org_domain(void **state)
{
	char org[DMARC_NAME_MAX], how[300];

	(void)state;
	expect_org("mail.example.com", "example.com");
	expect_org("example.com", "example.com");
	expect_org("a.b.example.co.uk", "example.co.uk");
	expect_org("Example.CO.UK.", "example.co.uk");
	expect_org("x.y.foo.ck", "y.foo.ck"); /* *.ck: foo.ck is a suffix */
	expect_org("a.www.ck", "www.ck");     /* !www.ck: www.ck is not */
	expect_org("me.blogspot.com", "me.blogspot.com");
	expect_org("a.b.example.zz", "example.zz"); /* no rule: "*" */
	expect_org("com", "com");
	assert_int_equal(dmarc_org_domain_mem("bad..name", psl, sizeof(psl) - 1, org, sizeof(org)),
	    -1);
	/* no list: the last two labels, and it says so */
	assert_int_equal(dmarc_org_domain("a.b.example.co.uk", "/nonexistent/psl.dat", org,
			     sizeof(org), how, sizeof(how)),
	    0);
	assert_string_equal(org, "co.uk");
	assert_non_null(strstr(how, "last two labels"));
	/* Debian's list, when the publicsuffix package is installed */
	if (access(DMARC_PSL_DEBIAN, R_OK) == 0) {
		assert_int_equal(dmarc_org_domain("a.b.example.co.uk", NULL, org, sizeof(org), how,
				     sizeof(how)),
		    0);
		assert_string_equal(org, "example.co.uk");
		assert_non_null(strstr(how, "public suffix list"));
	}
}

static void
txt(const char *owner, const char *t)
{
	uint8_t rd[300];
	size_t n = strlen(t);

	rd[0] = (uint8_t)n;
	memcpy(rd + 1, t, n);
	dnsres_add(&R, owner, DNS_T_TXT, rd, n + 1);
}

static void
step(const char *want_name)
{
	char name[DMARC_NAME_MAX + 8];
	uint16_t qtype;

	assert_int_equal(dmarc_find_next(&F, name, sizeof(name), &qtype), DMARC_QUERY);
	assert_string_equal(name, want_name);
	assert_int_equal(qtype, DNS_T_TXT);
}

static void
done(void)
{
	char name[DMARC_NAME_MAX + 8];
	uint16_t qtype;

	assert_int_equal(dmarc_find_next(&F, name, sizeof(name), &qtype), DMARC_DONE);
}

static void
test_find(void **state)
{
	(void)state;
	/* at the domain itself */
	dmarc_find_init(&F, "Mail.Example.com", "example.com");
	step("_dmarc.mail.example.com");
	dnsres_init(&R, DNS_SECURE);
	txt("_dmarc.mail.example.com", "some other text");
	txt("_dmarc.mail.example.com", "v=DMARC1; p=quarantine");
	dmarc_find_answer(&F, &R);
	done();
	assert_int_equal(F.found, DMARC_FOUND);
	assert_false(F.from_org);
	assert_int_equal(F.rec.p, DMARC_P_QUARANTINE);
	assert_int_equal(F.dnssec, DNS_SECURE);
	/* none there (NXDOMAIN): the organisational domain's */
	dmarc_find_init(&F, "mail.example.com", "example.com");
	step("_dmarc.mail.example.com");
	dnsres_init(&R, DNS_SECURE);
	R.rcode = DNS_RCODE_NXDOMAIN;
	dmarc_find_answer(&F, &R);
	step("_dmarc.example.com");
	dnsres_init(&R, DNS_INSECURE);
	txt("_dmarc.example.com", "v=DMARC1;p=reject");
	dmarc_find_answer(&F, &R);
	done();
	assert_int_equal(F.found, DMARC_FOUND);
	assert_true(F.from_org);
	assert_string_equal(F.where, "_dmarc.example.com");
	assert_int_equal(F.dnssec, DNS_INSECURE);
	/* none anywhere; the org domain is asked only once */
	dmarc_find_init(&F, "example.com", "example.com");
	step("_dmarc.example.com");
	dnsres_init(&R, DNS_SECURE);
	R.nodata = true;
	dmarc_find_answer(&F, &R);
	done();
	assert_int_equal(F.found, DMARC_NOTFOUND);
	/* two records: no policy (6.6.3) */
	dmarc_find_init(&F, "example.com", NULL);
	step("_dmarc.example.com");
	dnsres_init(&R, DNS_SECURE);
	txt("_dmarc.example.com", "v=DMARC1; p=none");
	txt("_dmarc.example.com", "v=DMARC1; p=reject");
	dmarc_find_answer(&F, &R);
	done();
	assert_int_equal(F.found, DMARC_MULTIPLE);
	/* a failed lookup: temperror, no fallback */
	dmarc_find_init(&F, "mail.example.com", "example.com");
	step("_dmarc.mail.example.com");
	dnsres_init(&R, DNS_BOGUS);
	dmarc_find_answer(&F, &R);
	done();
	assert_int_equal(F.found, DMARC_TEMPERROR);
	assert_int_equal(F.dnssec, DNS_BOGUS);
	/* a bad name: nothing asked */
	dmarc_find_init(&F, "bad..example", NULL);
	done();
	assert_int_equal(F.found, DMARC_NOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_full),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_find),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
