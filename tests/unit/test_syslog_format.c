/*
 * firmware/syslog/format.c: RFC 5424 and RFC 3164 messages (PRI from
 * facility and level, timestamps, header fields without spaces, the text
 * cut to fit) and the RFC 6587 octet-counting prefix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/syslog/syslog.h"

#define T0 1796472000123LL /* 2026-12-05T12:00:00.123Z */

static void
test_rfc5424(void **state)
{
	char b[SYSLOG_MSG_MAX];
	size_t n;

	(void)state;
	n = syslog_format(b, sizeof(b), false, 2, HAL_LOG_INFO, T0, "gw.example", 42, "smtpd",
	    "[192.0.2.7]: refused RCPT");
	assert_string_equal(b,
	    "<22>1 2026-12-05T12:00:00.123Z gw.example zegel 42 smtpd - [192.0.2.7]: refused RCPT");
	assert_int_equal(n, strlen(b));
	/* error in local7: 23 * 8 + 3 */
	syslog_format(b, sizeof(b), false, 23, HAL_LOG_ERR, T0, "", 1, "ntp", "x");
	assert_string_equal(b, "<187>1 2026-12-05T12:00:00.123Z - zegel 1 ntp - x");
	/* a space in a header field cannot shift the fields */
	syslog_format(b, sizeof(b), false, 2, HAL_LOG_DEBUG, T0, "a b", 1, "m o", "t");
	assert_string_equal(b, "<23>1 2026-12-05T12:00:00.123Z a_b zegel 1 m_o - t");
}

static void
test_rfc3164(void **state)
{
	char b[SYSLOG_MSG_MAX];

	(void)state;
	syslog_format(b, sizeof(b), true, 2, HAL_LOG_WARN, T0, "gw", 7, "relay", "down");
	assert_string_equal(b, "<20>Dec  5 12:00:00 gw zegel[7]: relay: down");
	syslog_format(b, sizeof(b), true, 3, HAL_LOG_INFO, 1797422400000LL, "gw", 7, "m", "x");
	assert_string_equal(b, "<30>Dec 16 12:00:00 gw zegel[7]: m: x");
}

static void
test_cut_and_frame(void **state)
{
	char b[64], text[200], pre[24];

	(void)state;
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	assert_int_equal(syslog_format(b, sizeof(b), false, 2, HAL_LOG_INFO, T0, "h", 1, "m", text),
	    sizeof(b) - 1);
	assert_int_equal(strlen(b), sizeof(b) - 1);
	assert_int_equal(syslog_format(b, 10, false, 2, HAL_LOG_INFO, T0, "h", 1, "m", "t"), 0);
	assert_int_equal(syslog_frame_prefix(pre, sizeof(pre), 123), 4);
	assert_string_equal(pre, "123 ");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5424),
		cmocka_unit_test(test_rfc3164),
		cmocka_unit_test(test_cut_and_frame),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
