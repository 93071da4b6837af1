/* The RFC 3464 DSN builder: fields, structure (CRLF only, lines within 998
 * octets, every part opened and the multipart closed), failed vs delayed,
 * utf-8 addresses (RFC 6533), the original headers as text/rfc822-headers.
 * `test_dsn --write FILE` writes a sample for tests/e2e/queue_dsn.sh, which
 * parses it with Python's email module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/spool/dsn.h"

#define HDRS "DKIM-Signature: v=1; d=example.org;\r\n\tb=abc\r\nFrom: s@example.org\r\n" \
	"Subject: report\r\n"

static char buf[65536];
static size_t len;
static struct dsn_report rep;

static int
sink(void *arg, const void *p, size_t n)
{
	(void)arg;
	if (len + n >= sizeof(buf))
		return -1;
	memcpy(buf + len, p, n);
	len += n;
	buf[len] = 0;
	return 0;
}

static int
fail_after(void *arg, const void *p, size_t n)
{
	unsigned *left = arg;

	(void)p;
	(void)n;
	return (*left)-- == 0 ? -5 : 0;
}

static void
build(bool delayed)
{
	memset(&rep, 0, sizeof(rep));
	rep.reporting_mta = "mx.example.org";
	rep.orig_id = "4C2F1A0B3D";
	rep.orig_from = "s@example.org";
	rep.arrival = 1800000000;
	rep.now = 1800003600;
	rep.retry_until = 1800000000 + 5 * 86400;
	rep.delayed = delayed;
	rep.nrcpt = 2;
	rep.rcpt[0] = (struct dsn_rcpt){ "x@a.test", 550, "5.1.1", "no such user", 1800003600 };
	rep.rcpt[1] = (struct dsn_rcpt){ "j\xc3\xb6rg@b.test", 421, "", "timed out", 1800003000 };
	rep.headers = HDRS;
	rep.headers_len = strlen(HDRS);
	len = 0;
	assert_int_equal(dsn_write(&rep, sink, NULL), 0);
}

static void
check_structure(void)
{
	const char *p = buf, *boundary;
	size_t line = 0;
	char b[80];

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n')
			assert_true(i > 0 && buf[i - 1] == '\r');
		if (buf[i] == '\r')
			assert_true(buf[i + 1] == '\n');
		line = buf[i] == '\n' ? 0 : line + 1;
		assert_true(line <= 999);
	}
	boundary = strstr(p, "boundary=\"");
	assert_non_null(boundary);
	boundary += 10;
	assert_true(strchr(boundary, '"') - boundary < 70);
	snprintf(b, sizeof(b), "\r\n--%.*s\r\n", (int)(strchr(boundary, '"') - boundary), boundary);
	/* three parts and the close delimiter, last */
	p = buf;
	for (int i = 0; i < 3; i++) {
		p = strstr(p, b);
		assert_non_null(p);
		p += strlen(b);
	}
	assert_null(strstr(p, b));
	snprintf(b, sizeof(b), "\r\n--%.*s--\r\n", (int)(strchr(boundary, '"') - boundary), boundary);
	assert_non_null(strstr(p, b));
	assert_int_equal(strlen(strstr(p, b)), strlen(b));
}

static void
test_failed(void **state)
{
	static const char head[] = "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"
	    "To: <s@example.org>\r\nSubject: Undelivered Mail Returned to Sender\r\n"
	    "Date: Fri, 15 Jan 2027 09:00:00 +0000\r\n";

	(void)state;
	build(false);
	check_structure();
	assert_memory_equal(buf, head, strlen(head));
	assert_non_null(strstr(buf, "\r\nAuto-Submitted: auto-replied\r\n"));
	assert_non_null(strstr(buf, "\r\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary="));
	assert_non_null(strstr(buf, "\r\nContent-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; mx.example.org\r\nX-Zegel-Queue-ID: 4C2F1A0B3D\r\n"
	    "Arrival-Date: Fri, 15 Jan 2027 08:00:00 +0000\r\n\r\n"
	    "Final-Recipient: rfc822; x@a.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"
	    "Last-Attempt-Date: Fri, 15 Jan 2027 09:00:00 +0000\r\n\r\n"
	    "Final-Recipient: utf-8; j\xc3\xb6rg@b.test\r\nAction: failed\r\nStatus: 4.0.0\r\n"
	    "Diagnostic-Code: smtp; 421 timed out\r\n"));
	assert_null(strstr(buf, "Will-Retry-Until"));
	assert_non_null(strstr(buf, "Content-Type: text/rfc822-headers\r\n\r\n" HDRS "\r\n--"));
	assert_non_null(strstr(buf, "<x@a.test>: 550 no such user\r\n"));
}

static void
test_delayed(void **state)
{
	(void)state;
	build(true);
	check_structure();
	assert_non_null(strstr(buf, "Subject: Delayed Mail (still being retried)\r\n"));
	assert_non_null(strstr(buf, "Action: delayed\r\n"));
	assert_null(strstr(buf, "Action: failed"));
	assert_non_null(strstr(buf, "Will-Retry-Until: Wed, 20 Jan 2027 08:00:00 +0000\r\n"));
}

static void
test_put_error_stops(void **state)
{
	unsigned left = 3;

	(void)state;
	build(false);
	assert_int_equal(dsn_write(&rep, fail_after, &left), -5);
}

static void
test_date(void **state)
{
	char d[40];

	(void)state;
	dsn_date(0, d);
	assert_string_equal(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	dsn_date(951782400, d);   /* leap day */
	assert_string_equal(d, "Tue, 29 Feb 2000 00:00:00 +0000");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed),
		cmocka_unit_test(test_delayed),
		cmocka_unit_test(test_put_error_stops),
		cmocka_unit_test(test_date),
	};

	if (argc == 3 && strcmp(argv[1], "--write") == 0) {
		FILE *f = fopen(argv[2], "wb");

		build(false);
		if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
			return 1;
		return 0;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
