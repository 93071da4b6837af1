/*
 * MTA-STS texts (firmware/relay/sts_policy.c) and the policy fetch's HTTP
 * response machine (firmware/relay/sts_http.c): RFC 8461 examples and
 * refusals, each fed whole, split at every offset and byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/relay/sts_policy.h"
#include "firmware/relay/sts_http.h"
#include "firmware/relay/sts_refresh.h"

static struct sts_parser P;

/* Whole, split at every offset: the same verdict and policy every time. */
static int
parse_all(const char *text, struct sts_policy *out)
{
	size_t n = strlen(text);
	int first = 0;

	for (size_t cut = 0; cut <= n; cut++) {
		int r;

		sts_parser_init(&P, false);
		r = sts_parser_push(&P, (const uint8_t *)text, cut);
		if (r == 0)
			r = sts_parser_push(&P, (const uint8_t *)text + cut, n - cut);
		if (r == 0)
			r = sts_parser_finish(&P);
		if (cut == 0) {
			first = r;
			if (r == 0)
				*out = P.pol;
		} else {
			assert_int_equal(r, first);
			if (r == 0)
				assert_memory_equal(&P.pol, out, sizeof(*out));
		}
	}
	return first;
}

static void
policy_rfc_example(void **state)
{
	struct sts_policy p;

	(void)state;
	/* RFC 8461 3.2's example */
	assert_int_equal(parse_all("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\n"
	    "mx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n", &p), 0);
	assert_int_equal(p.mode, STS_MODE_ENFORCE);
	assert_int_equal(p.max_age, 604800);
	assert_int_equal(p.nmx, 3);
	assert_string_equal(p.mx[1], "*.example.net");
	assert_true(sts_mx_match(&p, "mail.example.com"));
	assert_true(sts_mx_match(&p, "MAIL.Example.COM."));
	assert_true(sts_mx_match(&p, "mx1.example.net"));
	assert_false(sts_mx_match(&p, "example.net"));         /* 3.4: one label */
	assert_false(sts_mx_match(&p, "a.b.example.net"));
	assert_false(sts_mx_match(&p, "mail.example.com.evil"));
	assert_false(sts_mx_match(&p, "xmail.example.com"));
}

static void
policy_variants(void **state)
{
	struct sts_policy p;

	(void)state;
	/* LF only, no final newline, extension fields, a duplicate mode */
	assert_int_equal(parse_all("version: STSv1\nmode: testing\nmx: mx.a.example\n"
	    "x-ext: whatever: at all\nmode: enforce\nmax_age: 86400", &p), 0);
	assert_int_equal(p.mode, STS_MODE_TESTING);
	assert_int_equal(p.nmx, 1);
	assert_int_equal(parse_all("version: STSv1\nmode: none\nmax_age: 0\n", &p), 0);
	assert_int_equal(p.mode, STS_MODE_NONE);
	assert_int_equal(p.nmx, 0);
	assert_int_equal(parse_all("mode:enforce\nmax_age:\t31557600\nmx:a.b\nversion: STSv1\n",
	    &p), 0);
	assert_int_equal(p.max_age, 31557600);
}

static void
policy_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmax_age: 1\n",          /* no mx */
		"version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 31557601\n",
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a.b\n",            /* no max_age */
		"mode: enforce\nmx: a.b\nmax_age: 1\n",                 /* no version */
		"version: STSv1\nmode: enforce\nmx: a..b\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.*.b\nmax_age: 1\n",
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\n\n", /* empty line */
		"version: STSv1\nmode: enforce\nmx: a.b\nmax_age: 1\nno colon\n",
		"version: STSv1\rmode: enforce\nmx: a.b\nmax_age: 1\n",
		"<html>version: STSv1</html>\n",
	};
	struct sts_policy p;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse_all(bad[i], &p), -1);
		assert_true(P.why[0] != '\0');
	}
}

static void
policy_limits(void **state)
{
	char text[8192];
	size_t off;
	struct sts_policy p;

	(void)state;
	off = (size_t)snprintf(text, sizeof(text), "version: STSv1\nmode: enforce\nmax_age: 1\n");
	for (int i = 0; i < STS_MX_MAX; i++)
		off += (size_t)snprintf(text + off, sizeof(text) - off, "mx: mx%d.example\n", i);
	assert_int_equal(parse_all(text, &p), 0);
	snprintf(text + off, sizeof(text) - off, "mx: one.too.many\n");
	assert_int_equal(parse_all(text, &p), -1);
	memset(text, 'a', STS_LINE_MAX + 5);
	memcpy(text, "x-long: ", 8);
	text[STS_LINE_MAX + 5] = '\0';
	assert_int_equal(parse_all(text, &p), -1);
}

static void
policy_cache_round_trip(void **state)
{
	struct sts_policy p;
	char text[4096];
	size_t n;

	(void)state;
	assert_int_equal(parse_all("version: STSv1\nmode: enforce\nmx: *.a.example\n"
	    "mx: b.example\nmax_age: 600\n", &p), 0);
	memcpy(p.id, "20261206T1", 11);
	p.fetched = 1765000000;
	n = sts_policy_format(&p, text, sizeof(text), true);
	assert_true(n > 0);
	sts_parser_init(&P, true);
	assert_int_equal(sts_parser_push(&P, (const uint8_t *)text, n), 0);
	assert_int_equal(sts_parser_finish(&P), 0);
	assert_memory_equal(&P.pol, &p, sizeof(p));
	/* a fetched policy cannot set the cache fields */
	sts_parser_init(&P, false);
	assert_int_equal(sts_parser_push(&P, (const uint8_t *)text, n), 0);
	assert_int_equal(sts_parser_finish(&P), 0);
	assert_string_equal(P.pol.id, "");
	assert_int_equal(P.pol.fetched, 0);
}

static void
txt_records(void **state)
{
	char id[STS_ID_MAX + 1], why[STS_WHY_MAX];
	const char *s;

	(void)state;
	s = "v=STSv1; id=20160831085700Z;";
	assert_int_equal(sts_txt_parse(s, strlen(s), id, why, sizeof(why)), 1);
	assert_string_equal(id, "20160831085700Z");
	s = "v=STSv1;id=abc; ext=1";
	assert_int_equal(sts_txt_parse(s, strlen(s), id, why, sizeof(why)), 1);
	assert_string_equal(id, "abc");
	s = "v=spf1 -all";
	assert_int_equal(sts_txt_parse(s, strlen(s), id, why, sizeof(why)), 0);
	s = "id=abc; v=STSv1";
	assert_int_equal(sts_txt_parse(s, strlen(s), id, why, sizeof(why)), 0);
	s = "v=STSv1";
	assert_int_equal(sts_txt_parse(s, strlen(s), id, why, sizeof(why)), -1);
	s = "v=STSv1; id=";
	assert_int_equal(sts_txt_parse(s, strlen(s), id, why, sizeof(why)), -1);
	s = "v=STSv1; id=a-b";
	assert_int_equal(sts_txt_parse(s, strlen(s), id, why, sizeof(why)), -1);
	s = "v=STSv1; id=123456789012345678901234567890123";
	assert_int_equal(sts_txt_parse(s, strlen(s), id, why, sizeof(why)), -1);
}

/* ------------------------------------------------------------ HTTP */

struct hres {
	enum sts_http_ev end;
	char body[STS_HTTP_BODY_MAX + 1];
	size_t blen;
	char why[120];
};

static void
http_run(const char *resp, size_t n, size_t slice, struct hres *o)
{
	static struct sts_http h;
	size_t off = 0;

	sts_http_init(&h);
	memset(o, 0, sizeof(*o));
	for (;;) {
		size_t m = n - off < slice ? n - off : slice;
		size_t k = sts_http_push(&h, (const uint8_t *)resp + off, m);

		off += k;
		if (h.ev == STS_HTTP_EV_BODY) {
			memcpy(o->body + o->blen, h.body, h.body_len);
			o->blen += h.body_len;
			continue;
		}
		if (h.ev == STS_HTTP_EV_DONE || h.ev == STS_HTTP_EV_ERROR)
			break;
		if (off == n) {
			sts_http_eof(&h);
			break;
		}
	}
	o->end = h.ev;
	snprintf(o->why, sizeof(o->why), "%s", h.why);
}

/* Every slice size gives the same end and body. */
static enum sts_http_ev
http_all(const char *resp, size_t n, struct hres *o)
{
	static struct hres x;

	http_run(resp, n, n ? n : 1, o);
	for (size_t s = 1; s <= n && s < 64; s++) {
		http_run(resp, n, s, &x);
		assert_int_equal(x.end, o->end);
		assert_int_equal(x.blen, o->blen);
		assert_memory_equal(x.body, o->body, o->blen);
	}
	return o->end;
}

#define POL "version: STSv1\r\nmode: enforce\r\nmx: mx.example\r\nmax_age: 600\r\n"

static void
http_good(void **state)
{
	static struct hres o;
	const char *r;

	(void)state;
	r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 61\r\n\r\n" POL;
	assert_int_equal(http_all(r, strlen(r), &o), STS_HTTP_EV_DONE);
	assert_int_equal(o.blen, 61);
	assert_memory_equal(o.body, POL, 61);
	r = "HTTP/1.1 200 OK\r\ncontent-type: TEXT/PLAIN; charset=us-ascii\r\n"
	    "Transfer-Encoding: chunked\r\nX-Other: 1\r\n\r\n10\r\nversion: STSv1\r\n\r\n"
	    "2D;ext=1\r\nmode: enforce\r\nmx: mx.example\r\nmax_age: 600\r\n\r\n0\r\nT: 1\r\n\r\n";
	assert_int_equal(http_all(r, strlen(r), &o), STS_HTTP_EV_DONE);
	assert_int_equal(o.blen, 61);
	assert_memory_equal(o.body, POL, 61);
	r = "HTTP/1.0 200 OK\nContent-Type: text/plain\n\n" POL;
	assert_int_equal(http_all(r, strlen(r), &o), STS_HTTP_EV_DONE);
	assert_int_equal(o.blen, 61);
}

static void
http_refused(void **state)
{
	static const char *const bad[] = {
		"HTTP/1.1 301 Moved Permanently\r\nLocation: https://x/\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx",                 /* no type */
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 65537\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nabc",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n"
		"Transfer-Encoding: chunked\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: gzip\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
		"zz\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n folded\r\n\r\n",
		"SMTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
		"10001\r\n",
		"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
		"1\r\nab",
	};
	static struct hres o;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(http_all(bad[i], strlen(bad[i]), &o), STS_HTTP_EV_ERROR);
		assert_true(o.why[0] != '\0');
	}
	http_run(bad[0], strlen(bad[0]), 1000, &o);
	assert_non_null(strstr(o.why, "redirect refused"));
}

static void
http_too_big(void **state)
{
	static char r[STS_HTTP_BODY_MAX + 200];
	static struct hres o;
	size_t n;

	(void)state;
	n = (size_t)snprintf(r, sizeof(r), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n");
	memset(r + n, 'a', STS_HTTP_BODY_MAX + 1);
	http_run(r, n + STS_HTTP_BODY_MAX + 1, 4096, &o);
	assert_int_equal(o.end, STS_HTTP_EV_ERROR);
	http_run(r, n + STS_HTTP_BODY_MAX, 4096, &o);
	assert_int_equal(o.end, STS_HTTP_EV_DONE);
	assert_int_equal(o.blen, STS_HTTP_BODY_MAX);
}

static void
http_request_text(void **state)
{
	char buf[512];
	size_t n;

	(void)state;
	n = sts_http_request("mta-sts.example.com", buf, sizeof(buf));
	assert_true(n > 0);
	assert_memory_equal(buf, "GET /.well-known/mta-sts.txt HTTP/1.1\r\nHost: mta-sts.example.com"
	    "\r\n", 64);
	assert_non_null(strstr(buf, "Connection: close\r\n\r\n"));
	assert_int_equal(sts_http_request("mta-sts.example.com", buf, 20), 0);
}

/* The proactive refresh's rule (sts_refresh.h): the last quarter of
 * max_age, at most its last day, never once expired. */
static void
refresh_due(void **state)
{
	struct sts_policy p = { .mode = STS_MODE_ENFORCE, .max_age = 86400, .fetched = 1000000 };

	(void)state;
	assert_false(sts_refresh_due(&p, 1000000));
	assert_false(sts_refresh_due(&p, 1000000 + 86400 - 21601));
	assert_true(sts_refresh_due(&p, 1000000 + 86400 - 21600));
	assert_true(sts_refresh_due(&p, 1000000 + 86400 - 1));
	assert_false(sts_refresh_due(&p, 1000000 + 86400));     /* expired: not refreshed */
	p.max_age = 31557600;                                      /* a year: its last day */
	assert_false(sts_refresh_due(&p, 1000000 + 31557600 - 86401));
	assert_true(sts_refresh_due(&p, 1000000 + 31557600 - 86400));
	p.max_age = 0;
	assert_false(sts_refresh_due(&p, 1000000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(policy_rfc_example),
		cmocka_unit_test(policy_variants),
		cmocka_unit_test(policy_refused),
		cmocka_unit_test(policy_limits),
		cmocka_unit_test(policy_cache_round_trip),
		cmocka_unit_test(txt_records),
		cmocka_unit_test(http_good),
		cmocka_unit_test(http_refused),
		cmocka_unit_test(http_too_big),
		cmocka_unit_test(http_request_text),
		cmocka_unit_test(refresh_due),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
