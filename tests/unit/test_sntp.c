/*
 * firmware/time/sntp.c: the request's bytes, every rejection of an answer
 * (short, version, mode, stratum 0 kiss-o'-death, stratum 16, leap 3, zero
 * transmit, origin mismatch), the timestamp conversion across the 2036 era,
 * the RFC 4330 offset/delay arithmetic, and the majority selection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/time/sntp.h"

#define T0 1796472000000LL /* 2026-12-05T12:00:00Z in ms */

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* A server answer (LI 0, VN 4, mode 4, stratum 2) to sent. */
static void
answer(uint8_t p[SNTP_PACKET_LEN], uint64_t sent, int64_t rx_ms, int64_t tx_ms)
{
	memset(p, 0, SNTP_PACKET_LEN);
	p[0] = 4 << 3 | 4;
	p[1] = 2;
	memcpy(p + 12, "GPS", 3);
	put64(p + 24, sent);
	put64(p + 32, sntp_from_unix_ms(rx_ms));
	put64(p + 40, sntp_from_unix_ms(tx_ms));
}

static void
test_request(void **state)
{
	uint8_t p[SNTP_PACKET_LEN];
	uint64_t x = sntp_from_unix_ms(T0);

	(void)state;
	sntp_request(p, x);
	assert_int_equal(p[0], 0x23); /* LI 0, VN 4, mode 3 */
	for (int i = 1; i < 40; i++)
		assert_int_equal(p[i], 0);
	/* 2026-12-05T12:00:00Z = NTP seconds 4005460800 = 0xeebe7b40 */
	assert_int_equal(p[40], 0xee);
	assert_int_equal(p[41], 0xbe);
	assert_int_equal(p[42], 0x7b);
	assert_int_equal(p[43], 0x40);
	assert_int_equal(p[44] | p[45] | p[46] | p[47], 0);
}

static void
test_timestamps(void **state)
{
	(void)state;
	assert_int_equal(sntp_to_unix_ms(sntp_from_unix_ms(T0 + 250)), T0 + 250);
	assert_int_equal(sntp_to_unix_ms(sntp_from_unix_ms(0)), 0);
	/* era 1: 2036-02-07T06:28:16Z is NTP seconds 0 again */
	assert_int_equal(sntp_from_unix_ms(2085978496000LL) >> 32, 0);
	assert_int_equal(sntp_to_unix_ms(sntp_from_unix_ms(2200000000000LL)), 2200000000000LL);
	assert_int_equal(sntp_to_unix_ms(sntp_from_unix_ms(-1000)), -1000);
}

static void
test_parse_ok(void **state)
{
	uint8_t p[SNTP_PACKET_LEN + 20];
	uint64_t sent = sntp_from_unix_ms(T0) | 0x1234;
	struct sntp_reply r;

	(void)state;
	answer(p, sent, T0 + 3600000, T0 + 3600001);
	assert_int_equal(sntp_parse(p, SNTP_PACKET_LEN, sent, &r), SNTP_OK);
	assert_int_equal(r.stratum, 2);
	assert_int_equal(r.mode, 4);
	assert_int_equal(sntp_to_unix_ms(r.transmit), T0 + 3600001);
	/* extension fields / a MAC after the 48 bytes are ignored */
	assert_int_equal(sntp_parse(p, sizeof(p), sent, &r), SNTP_OK);
}

static void
test_parse_rejects(void **state)
{
	uint8_t p[SNTP_PACKET_LEN];
	uint64_t sent = sntp_from_unix_ms(T0) | 0x77;
	struct sntp_reply r;

	(void)state;
	answer(p, sent, T0, T0);
	assert_int_equal(sntp_parse(p, 47, sent, &r), SNTP_ERR_SHORT);
	assert_int_equal(sntp_parse(p, SNTP_PACKET_LEN, sent + 1, &r), SNTP_ERR_ORIGIN);
	p[0] = 4 << 3 | 3; /* a client request, not an answer */
	assert_int_equal(sntp_parse(p, SNTP_PACKET_LEN, sent, &r), SNTP_ERR_MODE);
	p[0] = 0 << 3 | 4;
	assert_int_equal(sntp_parse(p, SNTP_PACKET_LEN, sent, &r), SNTP_ERR_VERSION);
	p[0] = 3 << 6 | 4 << 3 | 4;
	assert_int_equal(sntp_parse(p, SNTP_PACKET_LEN, sent, &r), SNTP_ERR_UNSYNC);
	p[0] = 4 << 3 | 4;
	p[1] = 16;
	assert_int_equal(sntp_parse(p, SNTP_PACKET_LEN, sent, &r), SNTP_ERR_STRATUM);
	p[1] = 0;
	memcpy(p + 12, "DENY", 4);
	assert_int_equal(sntp_parse(p, SNTP_PACKET_LEN, sent, &r), SNTP_ERR_KOD);
	assert_string_equal(r.kiss, "DENY");
	p[1] = 3;
	memset(p + 40, 0, 8);
	assert_int_equal(sntp_parse(p, SNTP_PACKET_LEN, sent, &r), SNTP_ERR_ZERO_XMT);
	assert_string_not_equal(sntp_strerror(SNTP_ERR_ORIGIN), "?");
}

static void
test_offset_delay(void **state)
{
	struct sntp_sample s;

	(void)state;
	/* RFC 4330 5: server 1 h ahead, 20 ms each way, 10 ms inside it */
	sntp_sample(T0, T0 + 3600000 + 20, T0 + 3600000 + 30, T0 + 50, &s);
	assert_int_equal(s.offset_ms, 3600000);
	assert_int_equal(s.delay_ms, 40);
	/* a clock in 1970: the offset is the whole distance */
	sntp_sample(5000, T0, T0, 5000, &s);
	assert_int_equal(s.offset_ms, T0 - 5000);
}

static struct sntp_sample
smp(int64_t off, unsigned server)
{
	struct sntp_sample s = { off, 1, server };

	return s;
}

static void
test_select(void **state)
{
	struct sntp_sample s[4];
	int64_t off = -1;

	(void)state;
	/* two agree, one a day off: the median of the two */
	s[0] = smp(86400000, 0);
	s[1] = smp(3600000, 1);
	s[2] = smp(3600200, 2);
	assert_int_equal(sntp_select(s, 3, 1000, &off), 2);
	assert_int_equal(off, 3600100);
	assert_int_equal(s[0].server, 1);
	assert_int_equal(s[1].server, 2);
	/* one of two disagrees: no majority, offset untouched */
	off = -1;
	s[0] = smp(0, 0);
	s[1] = smp(86400000, 1);
	assert_int_equal(sntp_select(s, 2, 1000, &off), 0);
	assert_int_equal(off, -1);
	/* a single server is its own majority */
	s[0] = smp(-42, 0);
	assert_int_equal(sntp_select(s, 1, 1000, &off), 1);
	assert_int_equal(off, -42);
	/* three of four agree: the median of the three */
	s[0] = smp(10, 0);
	s[1] = smp(-5000, 1);
	s[2] = smp(30, 2);
	s[3] = smp(20, 3);
	assert_int_equal(sntp_select(s, 4, 1000, &off), 3);
	assert_int_equal(off, 20);
	assert_int_equal(sntp_select(s, 0, 1000, &off), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_offset_delay),
		cmocka_unit_test(test_select),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
