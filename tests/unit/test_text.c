/*
 * zegel/text.h: text_log_addr() renders client-supplied text for a log
 * field so it cannot end its <...> field early or forge a field (issue 21:
 * a quoted local part put ", relay=..., status=sent (250 ok)" into a log
 * line); zegel_strf() cuts and terminates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "zegel/text.h"

static void
test_log_addr_plain(void **st)
{
	char out[TEXT_LOG_ADDR_CAP];

	(void)st;
	/* ordinary addresses are unchanged, including a quoted local part */
	assert_int_equal(text_log_addr(out, sizeof(out), "alice@example.test"), 18);
	assert_string_equal(out, "alice@example.test");
	text_log_addr(out, sizeof(out), "\"bob smith\"@[192.0.2.1]");
	assert_string_equal(out, "\"bob smith\"@[192.0.2.1]");
	text_log_addr(out, sizeof(out), "a+b!c%d/e@x.test");
	assert_string_equal(out, "a+b!c%d/e@x.test");
	assert_int_equal(text_log_addr(out, sizeof(out), ""), 0);
	assert_string_equal(out, "");
}

/* The attack: the log line must keep exactly its own fields. */
static void
test_log_addr_forgery(void **st)
{
	static const char evil[] = "\"x>, relay=mx.evil, status=sent (250 ok)\"@example.test";
	char out[TEXT_LOG_ADDR_CAP], line[2048];
	const char *p;
	int fields = 0;

	(void)st;
	text_log_addr(out, sizeof(out), evil);
	assert_string_equal(out,
	    "\"x\\x3e\\x2c relay\\x3dmx.evil\\x2c status\\x3dsent (250 ok)\"@example.test");
	snprintf(line, sizeof(line), "ID: to=<%s>, relay=outbox, status=deferred (x)", out);
	/* one '<...>' field, ended by the real '>' */
	assert_ptr_equal(strchr(line, '>'), strstr(line, ">, relay=outbox"));
	assert_null(strstr(line, "relay=mx.evil"));
	assert_null(strstr(line, "status=sent"));
	for (p = line; (p = strchr(p, '=')) != NULL; p++)
		fields++;
	assert_int_equal(fields, 3);
}

static void
test_log_addr_bytes(void **st)
{
	char out[TEXT_LOG_ADDR_CAP], in[256];

	(void)st;
	text_log_addr(out, sizeof(out), "a\r\nb\tc\x7f\x1b[2J@x");
	assert_string_equal(out, "a\\x0d\\x0ab\\x09c\\x7f\\x1b[2J@x");
	/* non-ASCII (UTF-8 C1 CSI U+009B, e-acute) and the escape char itself */
	text_log_addr(out, sizeof(out), "\xc2\x9b\xc3\xa9\\;<>@x");
	assert_string_equal(out, "\\xc2\\x9b\\xc3\\xa9\\x5c\\x3b\\x3c\\x3e@x");
	/* every byte 1..255: the output is printable ASCII, no field syntax */
	for (int i = 0; i < 255; i++)
		in[i] = (char)(i + 1);
	in[255] = '\0';
	assert_true(text_log_addr(out, sizeof(out), in) < sizeof(out));
	for (const char *p = out; *p; p++) {
		assert_true(*p >= 0x20 && *p < 0x7f);
		assert_null(strchr("<>,;=", *p));
	}
	/* a 256-octet path of escaped bytes fits TEXT_LOG_ADDR_CAP */
	memset(in, '>', 255);
	assert_int_equal(text_log_addr(out, sizeof(out), in), 255 * 4);
	assert_int_equal(strlen(out), 255 * 4);
}

/* Cut to the buffer, never inside an escape; the full length is reported. */
static void
test_log_addr_cut(void **st)
{
	char out[16];

	(void)st;
	memset(out, 'Z', sizeof(out));
	assert_int_equal(text_log_addr(out, 7, "abc>defgh"), 12);
	assert_string_equal(out, "abc"); /* "abc\x3e" needs 8 bytes with the NUL */
	assert_int_equal(out[7], 'Z');
	assert_int_equal(text_log_addr(out, 8, "abc>defgh"), 12);
	assert_string_equal(out, "abc\\x3e");
	assert_int_equal(text_log_addr(out, 9, "abc>defgh"), 12);
	assert_string_equal(out, "abc\\x3ed");
	assert_int_equal(text_log_addr(out, 1, "abc"), 3);
	assert_string_equal(out, "");
	out[0] = 'Z';
	assert_int_equal(text_log_addr(out, 0, "abc"), 3);
	assert_int_equal(out[0], 'Z');
	/* a cut never resumes after a smaller character */
	assert_int_equal(text_log_addr(out, 6, "ab>cdefgh"), 12);
	assert_string_equal(out, "ab");
}

static void
test_strf(void **st)
{
	char d[8];

	(void)st;
	memset(d, 'Z', sizeof(d));
	zegel_strf(d, 4, "%s", "abcdef");
	assert_string_equal(d, "abc");
	assert_int_equal(d[4], 'Z');
	zegel_strf(d, 0, "%s", "abcdef");
	assert_string_equal(d, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_addr_plain),
		cmocka_unit_test(test_log_addr_forgery),
		cmocka_unit_test(test_log_addr_bytes),
		cmocka_unit_test(test_log_addr_cut),
		cmocka_unit_test(test_strf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
