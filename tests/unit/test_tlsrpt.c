/*
 * TLS-RPT (RFC 8460), the pure parts: the _smtp._tls record parser
 * (firmware/relay/tlsrpt_record.c), fed whole, split at every offset and
 * byte by byte; the counters and their file form (tlsrpt.c) with their
 * bounds; the JSON report (tlsrpt_json.c) against a golden text and
 * Python's json module; the gzip writer (firmware/util/gzip.c) against the
 * CRC-32 check value and Python's gzip module (compressed and stored); the report mail
 * (tlsrpt_mail.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/relay/tlsrpt.h"
#include "firmware/relay/tlsrpt_record.h"
#include "zegel/gzip.h"

static struct tlsrpt_rec R, R2;

/* The verdict of text, the same whole, split anywhere and byte by byte. */
static int
rec(const char *text)
{
	size_t n = strlen(text);
	int first;

	tlsrpt_rec_init(&R);
	(void)tlsrpt_rec_push(&R, (const uint8_t *)text, n);
	first = tlsrpt_rec_finish(&R);
	for (size_t cut = 0; cut <= n; cut++) {
		int r;

		tlsrpt_rec_init(&R2);
		(void)tlsrpt_rec_push(&R2, (const uint8_t *)text, cut);
		(void)tlsrpt_rec_push(&R2, (const uint8_t *)text + cut, n - cut);
		r = tlsrpt_rec_finish(&R2);
		assert_int_equal(r, first);
		if (r == 1) {
			assert_int_equal(R2.nrua, R.nrua);
			assert_memory_equal(R2.rua, R.rua, sizeof(R.rua));
		}
	}
	tlsrpt_rec_init(&R2);
	for (size_t i = 0; i < n; i++)
		(void)tlsrpt_rec_push(&R2, (const uint8_t *)text + i, 1);
	assert_int_equal(tlsrpt_rec_finish(&R2), first);
	return first;
}

static void
record_valid(void **state)
{
	(void)state;
	/* RFC 8460 3's examples */
	assert_int_equal(rec("v=TLSRPTv1;rua=mailto:reports@example.com"), 1);
	assert_int_equal(R.nrua, 1);
	assert_string_equal(R.rua[0], "mailto:reports@example.com");
	assert_int_equal(rec("v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt"), 1);
	assert_string_equal(R.rua[0], "https://reporting.example.com/v1/tlsrpt");
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:a@example.com , https://r.example/x;"), 1);
	assert_int_equal(R.nrua, 2);
	assert_string_equal(R.rua[1], "https://r.example/x");
	assert_int_equal(rec("v=TLSRPTv1 ;\trua=mailto:a@example.com; ext_1=val;"), 1);
	assert_int_equal(rec("v=TLSRPTv1; x.y-z=1; rua=mailto:a%21b@example.com"), 1);
	assert_string_equal(R.rua[0], "mailto:a%21b@example.com");
	/* more URIs than kept: counted, not an error */
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:1@e.x,mailto:2@e.x,mailto:3@e.x,"
	    "mailto:4@e.x,mailto:5@e.x"), 1);
	assert_int_equal(R.nrua, TLSRPT_RUA_MAX);
	assert_int_equal(R.extra, 1);
}

static void
record_not_ours(void **state)
{
	(void)state;
	assert_int_equal(rec("v=spf1 -all"), 0);
	assert_int_equal(rec("v=STSv1; id=1"), 0);
	assert_int_equal(rec("v=TLSRPTv10; rua=mailto:a@example.com"), 0);
	assert_int_equal(rec("v=TLSRPTv2; rua=mailto:a@example.com"), 0);
	assert_int_equal(rec(" v=TLSRPTv1; rua=mailto:a@example.com"), 0);
	assert_int_equal(rec(""), 0);
	assert_int_equal(rec("v=TLSRPT"), 0);
}

static void
record_malformed(void **state)
{
	static char big[400];

	(void)state;
	assert_int_equal(rec("v=TLSRPTv1"), -1);
	assert_int_equal(rec("v=TLSRPTv1;"), -1);
	assert_int_equal(rec("v=TLSRPTv1; ext=1"), -1);                     /* no rua */
	assert_int_equal(rec("v=TLSRPTv1; rua="), -1);
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:a@x; rua=mailto:b@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:a!b@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1; rua=reports@example.com"), -1);   /* no scheme */
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:"), -1);
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:a@x "), -1);           /* trailing blank */
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:a@x,"), -1);
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:a@x mailto:b@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1 rua=mailto:a@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1; =x; rua=mailto:a@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1; ext=; rua=mailto:a@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1; ext=a=b; rua=mailto:a@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1; rua"), -1);
	assert_int_equal(rec("v=TLSRPTv1; _x=1; rua=mailto:a@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1; abcdefghijabcdefghijabcdefghijabc=1; rua=mailto:a@x"), -1);
	assert_int_equal(rec("v=TLSRPTv1; rua=mailto:a@x\x01"), -1);
	snprintf(big, sizeof(big), "v=TLSRPTv1; rua=mailto:%0300d@x", 0);
	assert_int_equal(rec(big), -1);
	assert_non_null(strstr(R.why, "too long"));
}

static void
mailto(void **state)
{
	char a[64];

	(void)state;
	assert_int_equal(tlsrpt_mailto("mailto:reports@example.com", a, sizeof(a)), 0);
	assert_string_equal(a, "reports@example.com");
	assert_int_equal(tlsrpt_mailto("MAILTO:r%2Bx@example.com?subject=hi", a, sizeof(a)), 0);
	assert_string_equal(a, "r+x@example.com");
	assert_int_equal(tlsrpt_mailto("https://example.com/", a, sizeof(a)), -1);
	assert_int_equal(tlsrpt_mailto("mailto:a@b@c", a, sizeof(a)), -1);
	assert_int_equal(tlsrpt_mailto("mailto:noat", a, sizeof(a)), -1);
	assert_int_equal(tlsrpt_mailto("mailto:a%20b@x", a, sizeof(a)), -1);
	assert_int_equal(tlsrpt_mailto("mailto:a%3e@x", a, sizeof(a)), -1);
	assert_int_equal(tlsrpt_mailto("mailto:a%4@x", a, sizeof(a)), -1);
	assert_int_equal(tlsrpt_mailto("mailto:@x", a, sizeof(a)), -1);
	assert_int_equal(tlsrpt_mailto("mailto:a@", a, sizeof(a)), -1);
	assert_int_equal(tlsrpt_mailto("mailto:averylongaddress@example.com", a, 10), -1);
}

/* ------------------------------------------------------------ counters */

static struct tlsrpt_day D, D2;
static char buf[TLSRPT_FILE_MAX];

static void
add(const char *dom, enum tlsrpt_ptype t, enum tlsrpt_result r, const char *mx)
{
	struct tlsrpt_sess s = { .domain = dom, .ptype = t, .result = r, .mx = mx,
		.sending_ip = "192.0.2.1", .receiving_ip = "198.51.100.7",
		.pstr = "version: STSv1\nmode: enforce\nmx: mx.example.com\nmax_age: 86400",
		.mxhost = "mx.example.com" };

	(void)tlsrpt_day_add(&D, &s);
}

static void
counters(void **state)
{
	size_t n;

	(void)state;
	tlsrpt_day_init(&D, 1796560000); /* 2026-12-06 something */
	assert_int_equal(D.start, 1796515200);
	assert_int_equal(tlsrpt_day_last(&D), 1796515200 + 86399);
	add("Example.COM", TLSRPT_STS, TLSRPT_SUCCESS, "mx.example.com");
	add("example.com", TLSRPT_STS, TLSRPT_SUCCESS, "mx.example.com");
	add("example.com", TLSRPT_STS, TLSRPT_CERT_EXPIRED, "mx.example.com");
	add("example.com", TLSRPT_STS, TLSRPT_CERT_EXPIRED, "mx.example.com");
	add("example.com", TLSRPT_TLSA, TLSRPT_TLSA_INVALID, "mx2.example.com");
	add("other.test", TLSRPT_NOPOLICY, TLSRPT_STARTTLS_NOT_SUPPORTED, "");
	assert_int_equal(D.npol, 3);
	assert_string_equal(D.pol[0].domain, "example.com");
	assert_int_equal(D.pol[0].ok, 2);
	assert_int_equal(D.pol[0].fail, 2);
	assert_int_equal(D.pol[0].ndet, 1);
	assert_int_equal(D.pol[0].det[0].count, 2);
	assert_int_equal(D.pol[1].ptype, TLSRPT_TLSA);
	/* round trip through the file form */
	n = tlsrpt_day_format(&D, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(tlsrpt_day_parse(&D2, buf, n), 0);
	assert_memory_equal(&D, &D2, sizeof(D));
	/* a cut file, a bad count, an unknown line: refused */
	assert_int_equal(tlsrpt_day_parse(&D2, buf, n - 1), -1);
	assert_int_equal(tlsrpt_day_parse(&D2, "tlsrpt 1\nperiod 1796515200 0\ndropped 0 0\n"
	    "policy sts a.example 01 0\n", 58), -1);
	assert_int_equal(tlsrpt_day_parse(&D2, "tlsrpt 1\nperiod 1796515201 0\ndropped 0 0\n", 41),
	    -1);
	assert_int_equal(tlsrpt_day_parse(&D2, "tlsrpt 1\nperiod 1796515200 0\ndropped 0 0\nx\n",
	    43), -1);
	assert_int_equal(tlsrpt_day_parse(&D2, "tlsrpt 1\nperiod 1796515200 0\ndropped 0 0\n", 41),
	    0);
}

static void
counters_bounded(void **state)
{
	char dom[32], mx[32];

	(void)state;
	tlsrpt_day_init(&D, 0);
	for (int i = 0; i < TLSRPT_DOMAINS_MAX + 3; i++) {
		snprintf(dom, sizeof(dom), "d%d.example", i);
		add(dom, TLSRPT_NOPOLICY, TLSRPT_SUCCESS, "mx");
	}
	assert_int_equal(D.npol, TLSRPT_DOMAINS_MAX);
	assert_int_equal(D.dropped_sessions, 3);
	for (int i = 0; i < TLSRPT_DETAILS_MAX + 2; i++) {
		snprintf(mx, sizeof(mx), "mx%d.example", i);
		add("d0.example", TLSRPT_NOPOLICY, TLSRPT_VALIDATION_FAILURE, mx);
	}
	assert_int_equal(D.pol[0].ndet, TLSRPT_DETAILS_MAX);
	assert_int_equal(D.pol[0].fail, TLSRPT_DETAILS_MAX + 2); /* the summary still counts */
	assert_int_equal(D.dropped_details, 2);
	/* the fullest table still fits the file buffer */
	assert_true(tlsrpt_day_format(&D, buf, sizeof(buf)) > 0);
}

/* ------------------------------------------------------------ JSON */

static char json[8192];

static const char golden[] =
    "{\"organization-name\":\"Org \\\"Q\\\"\",\"date-range\":{\"start-datetime\":"
    "\"2026-12-06T00:00:00Z\",\"end-datetime\":\"2026-12-06T23:59:59Z\"},\"contact-info\":"
    "\"postmaster@zegel.example\",\"report-id\":\"r1@zegel.example\",\"policies\":[{\"policy\":"
    "{\"policy-type\":\"sts\",\"policy-string\":[\"version: STSv1\",\"mode: enforce\","
    "\"mx: mx.example.com\",\"max_age: 86400\"],\"policy-domain\":\"example.com\",\"mx-host\":"
    "[\"mx.example.com\"]},\"summary\":{\"total-successful-session-count\":1,"
    "\"total-failure-session-count\":1},\"failure-details\":[{\"result-type\":"
    "\"certificate-expired\",\"sending-mta-ip\":\"192.0.2.1\",\"receiving-ip\":\"198.51.100.7\","
    "\"receiving-mx-hostname\":\"mx.example.com\",\"failed-session-count\":1}]},{\"policy\":"
    "{\"policy-type\":\"no-policy-found\",\"policy-domain\":\"example.com\"},\"summary\":"
    "{\"total-successful-session-count\":1,\"total-failure-session-count\":0}}]}";

/* Python's json module takes the text and finds what we put in. */
static void
python_json_ok(const char *text)
{
	char path[] = "/tmp/ztest-tlsrpt-XXXXXX";
	char cmd[256];
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); "
	    "assert r[\"policies\"][0][\"summary\"][\"total-failure-session-count\"]==1; "
	    "assert r[\"organization-name\"]==\"Org \\\"Q\\\"\"' %s", path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
}

static void
json_report(void **state)
{
	struct tlsrpt_meta m = { "Org \"Q\"", "postmaster@zegel.example", "r1@zegel.example" };
	size_t n;

	(void)state;
	tlsrpt_day_init(&D, 1796515200 + 5);
	add("example.com", TLSRPT_STS, TLSRPT_SUCCESS, "mx.example.com");
	add("example.com", TLSRPT_STS, TLSRPT_CERT_EXPIRED, "mx.example.com");
	{
		struct tlsrpt_sess s = { .domain = "example.com", .ptype = TLSRPT_NOPOLICY };
		(void)tlsrpt_day_add(&D, &s);
	}
	add("other.test", TLSRPT_STS, TLSRPT_SUCCESS, "mx");
	n = tlsrpt_json(&D, "example.com", &m, json, sizeof(json));
	assert_int_equal(n, strlen(golden));
	assert_string_equal(json, golden);
	python_json_ok(json);
	/* too small, unknown domain: 0 */
	assert_int_equal(tlsrpt_json(&D, "example.com", &m, json, n), 0);
	assert_int_equal(tlsrpt_json(&D, "nowhere.test", &m, json, sizeof(json)), 0);
	/* a period closed early ends when it was closed */
	D.end = 1796515200 + 3600;
	assert_true(tlsrpt_json(&D, "other.test", &m, json, sizeof(json)) > 0);
	assert_non_null(strstr(json, "\"end-datetime\":\"2026-12-06T01:00:00Z\""));
}

/* ------------------------------------------------------------ gzip */

static uint8_t in[140000], out[140100];

static void
python_gunzip_equal(const uint8_t *gz, size_t gzlen, const uint8_t *orig, size_t n)
{
	char gzp[] = "/tmp/ztest-tlsrpt-gz-XXXXXX", rawp[] = "/tmp/ztest-tlsrpt-raw-XXXXXX";
	char cmd[256];
	int fg = mkstemp(gzp), fr = mkstemp(rawp);

	assert_true(fg >= 0 && fr >= 0);
	assert_int_equal(write(fg, gz, gzlen), (ssize_t)gzlen);
	assert_int_equal(write(fr, orig, n), (ssize_t)n);
	close(fg);
	close(fr);
	snprintf(cmd, sizeof(cmd), "python3 -c 'import gzip,sys; "
	    "assert gzip.open(sys.argv[1]).read()==open(sys.argv[2],\"rb\").read()' %s %s",
	    gzp, rawp);
	assert_int_equal(system(cmd), 0);
	unlink(gzp);
	unlink(rawp);
}

/* xorshift32: bytes no LZ77 match or fixed code makes smaller */
static void
noise(uint8_t *p, size_t n)
{
	uint32_t x = 2463534242u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void
gzip_writer(void **state)
{
	size_t n;

	(void)state;
	/* the CRC-32 check value (ISO 3309) and chaining */
	assert_int_equal(zgz_crc32(0, "123456789", 9), 0xCBF43926u);
	assert_int_equal(zgz_crc32(zgz_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
	assert_int_equal(zgz_crc32(0, "", 0), 0);
	/* empty: one final fixed-code block holding only end-of-block
	 * (BFINAL 1, BTYPE 01, code 256 = seven 0 bits: 0x03 0x00) */
	n = zgz_write("", 0, 0, out, sizeof(out));
	assert_int_equal(n, 10 + 2 + 8);
	assert_int_equal(out[0], 0x1f);
	assert_int_equal(out[1], 0x8b);
	assert_int_equal(out[2], 8);
	assert_memory_equal(out + 10, "\x03\x00", 2);
	python_gunzip_equal(out, n, (const uint8_t *)"", 0);
	/* the report's JSON: compressed (a JSON report repeats its keys) */
	n = zgz_write(golden, strlen(golden), 1796515200, out, sizeof(out));
	assert_true(n < zgz_size(strlen(golden)) * 3 / 4);
	assert_int_equal(out[10] & 7, 3); /* BFINAL, fixed codes */
	python_gunzip_equal(out, n, (const uint8_t *)golden, strlen(golden));
	/* repetitive input longer than the window and than one stored block:
	 * matches up to 258 bytes, distances up to 32768 */
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i * 7 + (i >> 9));
	n = zgz_write(in, sizeof(in), 0, out, sizeof(out));
	assert_true(n < sizeof(in) / 4);
	python_gunzip_equal(out, n, in, sizeof(in));
	/* noise: stored, three blocks 65535 + 65535 + rest, only the last final */
	noise(in, sizeof(in));
	n = zgz_write(in, sizeof(in), 0, out, sizeof(out));
	assert_int_equal(n, 10 + 3 * 5 + sizeof(in) + 8);
	assert_int_equal(out[10], 0);
	assert_int_equal(out[10 + 5 + 65535], 0);
	assert_int_equal(out[10 + 2 * (5 + 65535)], 1);
	python_gunzip_equal(out, n, in, sizeof(in));
	/* exactly one block's worth of noise */
	n = zgz_write(in, 65535, 0, out, sizeof(out));
	assert_int_equal(n, 10 + 5 + 65535 + 8);
	python_gunzip_equal(out, n, in, 65535);
	/* a short run: 1 literal and a match of 257 at distance 1 */
	memset(in, 'a', 258);
	n = zgz_write(in, 258, 0, out, sizeof(out));
	assert_true(n < 10 + 8 + 8);
	python_gunzip_equal(out, n, in, 258);
	/* no room: 0, whatever the input would compress to */
	assert_int_equal(zgz_write(in, 100, 0, out, zgz_size(100) - 1), 0);
}

/* ------------------------------------------------------------ the mail */

static char mailbuf[8192];

static void
report_mail(void **state)
{
	static const uint8_t gz[100] = { 0x1f, 0x8b };
	const char *to[2] = { "a@example.com", "b@example.com" };
	struct tlsrpt_mail m = { .submitter = "zegel.example", .domain = "example.com",
		.report_id = "r1@zegel.example", .to = to, .nto = 2,
		.date = "Sun, 06 Dec 2026 00:05:00 +0000", .boundary = "b0", .start = 1796515200,
		.end = 1796601599, .gz = gz, .gzlen = sizeof(gz) };
	size_t n;

	(void)state;
	n = tlsrpt_mail_write(&m, mailbuf, sizeof(mailbuf));
	assert_true(n > 0);
	assert_non_null(strstr(mailbuf, "\r\nSubject: Report Domain: example.com Submitter: "
	    "zegel.example Report-ID: <r1@zegel.example>\r\n"));
	assert_non_null(strstr(mailbuf, "\r\nTLS-Report-Domain: example.com\r\n"));
	assert_non_null(strstr(mailbuf, "\r\nTLS-Report-Submitter: zegel.example\r\n"));
	assert_non_null(strstr(mailbuf, "Content-Type: multipart/report; report-type=\"tlsrpt\";"));
	assert_non_null(strstr(mailbuf, "\r\nContent-Type: application/tlsrpt+gzip\r\n"));
	assert_non_null(strstr(mailbuf, "filename=\"zegel.example!example.com!1796515200!"
	    "1796601599.json.gz\""));
	assert_non_null(strstr(mailbuf, "To: <a@example.com>,\r\n <b@example.com>\r\n"));
	/* base64 lines of 76, CRLF everywhere, no bare LF */
	assert_non_null(strstr(mailbuf, "\r\nH4sAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAA\r\n"));
	for (size_t i = 0; i < n; i++)
		if (mailbuf[i] == '\n')
			assert_int_equal(mailbuf[i - 1], '\r');
	assert_int_equal(strcmp(mailbuf + n - 8, "\r\n--b0--") == 0 ||
	    strcmp(mailbuf + n - 10, "\r\n--b0--\r\n") == 0, 1);
	assert_int_equal(tlsrpt_mail_write(&m, mailbuf, 300), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_valid),
		cmocka_unit_test(record_not_ours),
		cmocka_unit_test(record_malformed),
		cmocka_unit_test(mailto),
		cmocka_unit_test(counters),
		cmocka_unit_test(counters_bounded),
		cmocka_unit_test(json_report),
		cmocka_unit_test(gzip_writer),
		cmocka_unit_test(report_mail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
