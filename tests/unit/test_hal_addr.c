/*
 * hal_addr (hal/addr.c, common to every backend): address text <-> struct
 * hal_addr and raw 4/16-byte addresses. The C library's inet_pton/inet_ntop
 * are the reference here (and only here): random addresses must format and
 * parse as they do; malformed text is refused; output stops at the buffer
 * (canary byte past it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "hal/addr.h"

#define CANARY 'X'

static void
test_parse_format(void **state)
{
	static const struct {
		const char *in;
		uint16_t defport;
		int family;
		uint16_t port;
		const char *bare, *full;
	} good[] = {
		{ "1.2.3.4", 25, 4, 25, "1.2.3.4", "1.2.3.4:25" },
		{ "1.2.3.4:587", 25, 4, 587, "1.2.3.4", "1.2.3.4:587" },
		{ "1.2.3.4:0587", 25, 4, 587, "1.2.3.4", "1.2.3.4:587" },
		{ "0.0.0.0", 0, 4, 0, "0.0.0.0", "0.0.0.0:0" },
		{ "::1", 53, 6, 53, "::1", "[::1]:53" },
		{ "::", 53, 6, 53, "::", "[::]:53" },
		{ "[::1]:26053", 53, 6, 26053, "::1", "[::1]:26053" },
		{ "[1.2.3.4]:25", 0, 4, 25, "1.2.3.4", "1.2.3.4:25" },
		{ "[2001:DB8::1]", 0, 6, 0, "2001:db8::1", "[2001:db8::1]:0" },
		{ "2001:db8:0:0:0:0:0:2", 1, 6, 1, "2001:db8::2", "[2001:db8::2]:1" },
		{ "2001:0db8:0000:0001:0000:0000:0000:0001", 1, 6, 1, "2001:db8:0:1::1",
		    "[2001:db8:0:1::1]:1" },
		{ "1:0:0:2:0:0:0:3", 1, 6, 1, "1:0:0:2::3", "[1:0:0:2::3]:1" },
		{ "1:0:0:2:0:0:3:4", 1, 6, 1, "1::2:0:0:3:4", "[1::2:0:0:3:4]:1" },
		{ "1:0:2:3:4:5:6:7", 1, 6, 1, "1:0:2:3:4:5:6:7", "[1:0:2:3:4:5:6:7]:1" },
		{ "1::", 1, 6, 1, "1::", "[1::]:1" },
		{ "::ffff:10.0.0.1", 2, 6, 2, "::ffff:10.0.0.1", "[::ffff:10.0.0.1]:2" },
		{ "::ffff:a00:1", 2, 6, 2, "::ffff:10.0.0.1", "[::ffff:10.0.0.1]:2" },
		{ "64:ff9b::192.0.2.33", 2, 6, 2, "64:ff9b::c000:221", "[64:ff9b::c000:221]:2" },
		{ "255.255.255.255:65535", 0, 4, 65535, "255.255.255.255",
		    "255.255.255.255:65535" },
	};
	static const char *const bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1",
		"1.2.3.04", "01.2.3.4", "1..2.3", ".1.2.3.4", "1.2.3.4.", "1.2.3.-4",
		"1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:99999999999999999999",
		"1.2.3.4:x", "1.2.3.4:+25", "1.2.3.4: 25", "1.2.3.4:-1", "[::1", "[::1]x",
		"[::1]:", "[::1]:0", "[]", "[]:25", "host.example", "host:25", "::1::2",
		"[1.2.3.4]:25x", " 1.2.3.4", "1.2.3.4 ", "1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7::8", "1:2:3:4:5:6:7", "12345::", ":1::", ":1", "1::2:",
		"1:", ":::", "1:::2", "::g", "::1.2.3", "::1.2.3.4:5", "1.2.3.4::",
		"1:2:3:4:5:6:7:1.2.3.4", "fe80::1%eth0", "::ffff:256.0.0.1",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
	struct hal_addr a;
	char buf[HAL_ADDR_STRLEN + 1], tiny[6];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (hal_addr_parse(&a, good[i].in, good[i].defport) != 0)
			fail_msg("'%s' refused", good[i].in);
		assert_int_equal(a.family, good[i].family);
		assert_int_equal(a.port, good[i].port);
		hal_addr_format(&a, false, buf, sizeof(buf));
		assert_string_equal(buf, good[i].bare);
		hal_addr_format(&a, true, buf, sizeof(buf));
		assert_string_equal(buf, good[i].full);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0xee, sizeof(a));
		if (hal_addr_parse(&a, bad[i], 25) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(a.family, 0); /* zeroed, not half-filled */
		assert_int_equal(a.port, 0);
	}
	/* Format truncates to the buffer, NUL-terminated, never past it. */
	assert_int_equal(hal_addr_parse(&a, "[2001:db8::1]:587", 0), 0);
	memset(tiny, CANARY, sizeof(tiny));
	hal_addr_format(&a, true, tiny, 5);
	assert_string_equal(tiny, "[200");
	assert_int_equal(tiny[5], CANARY);
}

/* The longest text of each family fits the documented sizes. */
static void
test_lengths(void **state)
{
	static const uint8_t ones[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct hal_addr a = { .family = 6, .port = 65535 };
	char buf[HAL_ADDR_STRLEN];

	(void)state;
	memcpy(a.ip, ones, 16);
	assert_int_equal(hal_addr_format_ip(6, ones, buf, sizeof(buf)), 39);
	assert_true(hal_addr_format_ip(4, ones, buf, sizeof(buf)) < HAL_ADDR_IP_STRLEN);
	hal_addr_format(&a, true, buf, sizeof(buf));
	assert_string_equal(buf, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	/* ::ffff:255.255.255.255 and the longest mixed form. */
	assert_int_equal(hal_addr_parse_ip(6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
	    a.ip), 0);
	assert_int_equal(hal_addr_format_ip(6, a.ip, buf, sizeof(buf)), 39);
}

/* Raw addresses: format_ip/parse_ip agree with inet_ntop/inet_pton on
 * random addresses rich in zero groups (every RFC 5952 case: runs at the
 * start, middle, end, ties, single zero groups, IPv4-mapped). */
static void
test_raw_vs_libc(void **state)
{
	char ours[HAL_ADDR_IP_STRLEN + 1], ref[INET6_ADDRSTRLEN];
	uint8_t ip[16], back[16];

	(void)state;
	srand(13);
	for (int round = 0; round < 200000; round++) {
		int family = round % 4 == 0 ? 4 : 6;
		size_t len = family == 4 ? 4 : 16, n;

		for (size_t k = 0; k < len; k += 2) {
			unsigned r = (unsigned)rand();
			unsigned w = r % 3 == 0 ? 0 : r % 7 == 0 ? 0xffff : r >> 8;
			ip[k] = (uint8_t)(w >> 8);
			ip[k + 1] = (uint8_t)w;
		}
		if (family == 6 && round % 5 == 1) /* IPv4-mapped */
			memcpy(ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
		memset(ours, CANARY, sizeof(ours));
		n = hal_addr_format_ip(family, ip, ours, sizeof(ours) - 1);
		assert_non_null(inet_ntop(family == 4 ? AF_INET : AF_INET6, ip, ref, sizeof(ref)));
		if (strcmp(ours, ref) != 0)
			fail_msg("format: ours '%s', libc '%s'", ours, ref);
		assert_int_equal(n, strlen(ref));
		assert_int_equal(ours[sizeof(ours) - 1], CANARY);
		memset(back, 0, sizeof(back));
		assert_int_equal(hal_addr_parse_ip(family, ours, back), 0);
		assert_memory_equal(back, ip, len);
	}
}

/* parse_ip accepts exactly what inet_pton accepts, and writes nothing on a
 * refusal (canary past the 4 or 16 bytes, untouched output on error). */
static void
test_parse_ip_vs_libc(void **state)
{
	static const char *const texts[] = { "0.0.0.0", "1.2.3.4", "255.255.255.255",
		"256.0.0.0", "1.2.3.04", "00.1.2.3", "1.2.3", "1.2.3.4.5", "1.2.3.", "a.b.c.d",
		"1.2.3.4/24", "::", "::1", "1::", "1::2", "::ffff:1.2.3.4", "::1.2.3.4",
		"1:2:3:4:5:6:7:8", "1:2:3:4:5:6::8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:8:9", "1::2::3", ":::", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:",
		"12345::1", "0000:0000::00001", "g::1", "[::1]", "::1.2.3.4.5", "1.2.3.4::",
		"1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:1.2.3", "FFFF::abcd",
		"", " ::1", "::1 " };
	uint8_t ref[17], ours[17];

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		for (int family = 4; family <= 6; family += 2) {
			size_t len = family == 4 ? 4 : 16;
			int want = inet_pton(family == 4 ? AF_INET : AF_INET6, texts[i], ref) == 1;
			int rc;

			memset(ours, CANARY, sizeof(ours));
			rc = hal_addr_parse_ip(family, texts[i], ours);
			if ((rc == 0) != want)
				fail_msg("'%s' (IPv%d): ours %d, libc %s", texts[i], family, rc,
				    want ? "accepts" : "refuses");
			if (want)
				assert_memory_equal(ours, ref, len);
			else
				assert_int_equal(ours[0], CANARY);
			assert_int_equal(ours[len], CANARY);
		}
	}
	assert_int_equal(hal_addr_parse_ip(5, "1.2.3.4", ours), -EINVAL);
	memset(ours, CANARY, 4);
	assert_int_equal(hal_addr_format_ip(5, ours, (char *)ours, 4), 0);
	assert_int_equal(ours[0], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_raw_vs_libc),
		cmocka_unit_test(test_parse_ip_vs_libc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
