/*
 * firmware/smtpd/fair.h (issue 20): the arithmetic behind the deadlines,
 * shedding and the AUTH backoff table, with time as an argument.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/smtpd/fair.h"

static const struct smtpd_fair_limits L = {
	.command_ms = 3000,
	.transaction_ms = 20000,
	.min_rate = 200,
	.window_ms = 2000,
	.shed_idle_ms = 1000,
	.auth_delay_ms = 1000,
	.auth_delay_max_ms = 8000,
	.auth_lockout = 5,
	.auth_lockout_ms = 60000,
};

static struct hal_addr
v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct hal_addr x;

	memset(&x, 0, sizeof(x));
	x.family = 4;
	x.ip[0] = a, x.ip[1] = b, x.ip[2] = c, x.ip[3] = d;
	x.port = 1234;
	return x;
}

/* A command dripped one octet at a time dies at the command deadline,
 * however often octets arrive; complete commands reset it. */
static void
test_command_deadline(void **st)
{
	struct smtpd_fair_clock k;
	uint64_t due;

	(void)st;
	smtpd_fair_clock_init(&k, 1000);
	assert_int_equal(smtpd_fair_check(&k, &L, 1000, &due), SMTPD_FAIR_OK);
	assert_int_equal(due, 0);   /* idle: the loop's idle timeout, not ours */
	smtpd_fair_note(&k, 1500, 1, true, SMTPD_FAIR_COMMANDS);
	for (uint64_t t = 1600; t < 4500; t += 100) {
		smtpd_fair_note(&k, t, 1, true, SMTPD_FAIR_COMMANDS);
		assert_int_equal(smtpd_fair_check(&k, &L, t, &due), SMTPD_FAIR_OK);
		assert_int_equal(due, 4500);
	}
	assert_int_equal(smtpd_fair_check(&k, &L, 4500, &due), SMTPD_FAIR_COMMAND_LATE);
	/* a complete line clears it and counts as progress */
	smtpd_fair_clock_init(&k, 1000);
	smtpd_fair_note(&k, 1500, 3, true, SMTPD_FAIR_COMMANDS);
	smtpd_fair_note(&k, 4000, 3, false, SMTPD_FAIR_COMMANDS);
	assert_int_equal(k.progress_ms, 4000);
	assert_int_equal(smtpd_fair_check(&k, &L, 9000, &due), SMTPD_FAIR_OK);
}

/* MAIL..final reply within the transaction deadline; waiting for the
 * relay does not count. */
static void
test_transaction_deadline(void **st)
{
	struct smtpd_fair_clock k;
	uint64_t due;

	(void)st;
	smtpd_fair_clock_init(&k, 0);
	smtpd_fair_note(&k, 1000, 20, false, SMTPD_FAIR_TRANSACTION);
	assert_int_equal(smtpd_fair_check(&k, &L, 1000, &due), SMTPD_FAIR_OK);
	assert_int_equal(due, 21000);
	smtpd_fair_note(&k, 5000, 20, false, SMTPD_FAIR_WAITING);  /* RCPT at the upstream */
	assert_int_equal(smtpd_fair_check(&k, &L, 30000, &due), SMTPD_FAIR_OK);
	smtpd_fair_note(&k, 35000, 0, false, SMTPD_FAIR_TRANSACTION);   /* 30 s waited */
	assert_int_equal(smtpd_fair_check(&k, &L, 50000, &due), SMTPD_FAIR_OK);
	assert_int_equal(due, 51000);
	assert_int_equal(smtpd_fair_check(&k, &L, 51000, &due), SMTPD_FAIR_TRANSACTION_LATE);
	/* the transaction's end clears it */
	smtpd_fair_note(&k, 50000, 6, false, SMTPD_FAIR_COMMANDS);
	assert_int_equal(smtpd_fair_check(&k, &L, 90000, &due), SMTPD_FAIR_OK);
}

/* DATA: at least min_rate octets per second over each window. */
static void
test_data_rate(void **st)
{
	struct smtpd_fair_clock k;
	uint64_t due, t;

	(void)st;
	smtpd_fair_clock_init(&k, 0);
	smtpd_fair_note(&k, 1000, 0, false, SMTPD_FAIR_DATA);
	/* 500 octets a second: fine for many windows */
	for (t = 1100; t <= 9000; t += 100) {
		smtpd_fair_note(&k, t, 50, false, SMTPD_FAIR_DATA);
		assert_int_equal(smtpd_fair_check(&k, &L, t, &due), SMTPD_FAIR_OK);
	}
	/* then a drip of 10 octets a second: the next window ends it */
	for (t = 9100; t < 11000; t += 100) {
		smtpd_fair_note(&k, t, 1, false, SMTPD_FAIR_DATA);
		assert_int_equal(smtpd_fair_check(&k, &L, t, &due), SMTPD_FAIR_OK);
	}
	assert_int_equal(smtpd_fair_check(&k, &L, 11100, &due), SMTPD_FAIR_DATA_SLOW);
	/* exactly the rate is enough: 400 octets in 2 s */
	smtpd_fair_clock_init(&k, 0);
	smtpd_fair_note(&k, 1000, 0, false, SMTPD_FAIR_DATA);
	smtpd_fair_note(&k, 2000, 400, false, SMTPD_FAIR_DATA);
	assert_int_equal(smtpd_fair_check(&k, &L, 3000, &due), SMTPD_FAIR_OK);
	assert_int_equal(due, 5000);
	/* a late tick asks for the elapsed time's worth: 399 in 2 s is short */
	smtpd_fair_note(&k, 4000, 399, false, SMTPD_FAIR_DATA);
	assert_int_equal(smtpd_fair_check(&k, &L, 5000, &due), SMTPD_FAIR_DATA_SLOW);
}

/* Who may be shed: idle long enough, not in DATA, not waiting. */
static void
test_sheddable(void **st)
{
	struct smtpd_fair_clock k;
	struct smtpd_fair_limits never = L;
	uint64_t idle;

	(void)st;
	never.shed_idle_ms = 0;
	smtpd_fair_clock_init(&k, 1000);
	assert_false(smtpd_fair_sheddable(&k, &L, 1500, &idle));
	assert_int_equal(idle, 500);
	assert_true(smtpd_fair_sheddable(&k, &L, 2000, &idle));
	assert_false(smtpd_fair_sheddable(&k, &never, 99000, &idle));
	/* a drip is no progress: sheddable although octets keep arriving */
	smtpd_fair_note(&k, 2500, 1, true, SMTPD_FAIR_COMMANDS);
	assert_true(smtpd_fair_sheddable(&k, &L, 2600, &idle));
	assert_int_equal(idle, 1600);
	smtpd_fair_note(&k, 2700, 1, false, SMTPD_FAIR_DATA);
	assert_false(smtpd_fair_sheddable(&k, &L, 9000, &idle));
	smtpd_fair_note(&k, 2800, 0, false, SMTPD_FAIR_WAITING);
	assert_false(smtpd_fair_sheddable(&k, &L, 9000, &idle));
}

static void
test_auth_delay(void **st)
{
	(void)st;
	assert_int_equal(smtpd_fair_auth_delay(&L, 1), 1000);
	assert_int_equal(smtpd_fair_auth_delay(&L, 2), 2000);
	assert_int_equal(smtpd_fair_auth_delay(&L, 3), 4000);
	assert_int_equal(smtpd_fair_auth_delay(&L, 4), 8000);
	assert_int_equal(smtpd_fair_auth_delay(&L, 5), 8000);
	assert_int_equal(smtpd_fair_auth_delay(&L, 4000000000u), 8000);
}

/* Failures from one address: doubling delays, serialised across its
 * connections, lockout after the fifth, a success forgets. */
static void
test_auth_backoff(void **st)
{
	static struct smtpd_fair_auth t;
	struct hal_addr a = v4(192, 0, 2, 7), b = v4(192, 0, 2, 8);
	uint32_t f;
	bool locked;
	uint64_t r;

	(void)st;
	memset(&t, 0, sizeof(t));
	assert_int_equal(smtpd_fair_auth_locked(&t, &a, 0), 0);
	r = smtpd_fair_auth_result(&t, &a, false, &L, 10000, &f, &locked);
	assert_int_equal(r, 11000);
	assert_int_equal(f, 1);
	/* a second connection of the same address, at once: after the first */
	r = smtpd_fair_auth_result(&t, &a, false, &L, 10000, &f, &locked);
	assert_int_equal(r, 13000);
	/* another address is not slowed down */
	r = smtpd_fair_auth_result(&t, &b, true, &L, 10000, &f, &locked);
	assert_int_equal(r, 10000);
	/* the port does not make another address */
	a.port = 999;
	r = smtpd_fair_auth_result(&t, &a, false, &L, 13000, &f, &locked);
	assert_int_equal(r, 17000);
	r = smtpd_fair_auth_result(&t, &a, false, &L, 17000, &f, &locked);
	assert_int_equal(r, 25000);
	assert_false(locked);
	r = smtpd_fair_auth_result(&t, &a, false, &L, 25000, &f, &locked);
	assert_int_equal(r, 33000);
	assert_int_equal(f, 5);
	assert_true(locked);
	assert_int_equal(smtpd_fair_auth_locked(&t, &a, 33000), 60000);
	assert_int_equal(smtpd_fair_auth_locked(&t, &a, 92999), 1);
	assert_int_equal(smtpd_fair_auth_locked(&t, &a, 93000), 0);
	/* after the lockout one more failure locks again */
	smtpd_fair_auth_result(&t, &a, false, &L, 93000, &f, &locked);
	assert_true(locked);
	assert_int_equal(smtpd_fair_auth_locked(&t, &a, 101000), 60000);
	/* a success (after the lockout) forgets the failures */
	r = smtpd_fair_auth_result(&t, &a, true, &L, 200000, &f, &locked);
	assert_int_equal(r, 200000);
	r = smtpd_fair_auth_result(&t, &a, false, &L, 200000, &f, &locked);
	assert_int_equal(r, 201000);
}

/* The table is bounded: the least recently used address is reused, a
 * locked-out one only when every entry is locked. */
static void
test_auth_table_lru(void **st)
{
	static struct smtpd_fair_auth t;
	struct smtpd_fair_limits one = L;
	struct hal_addr evil = v4(10, 0, 0, 1), x;
	uint32_t f;
	bool locked;

	(void)st;
	memset(&t, 0, sizeof(t));
	one.auth_lockout = 1;
	smtpd_fair_auth_result(&t, &evil, false, &one, 1000, &f, &locked);
	assert_true(locked);
	/* many other addresses (IPv6 privacy addresses, say) fail once each */
	for (unsigned i = 0; i < 3 * SMTPD_FAIR_ADDRS; i++) {
		memset(&x, 0, sizeof(x));
		x.family = 6;
		x.ip[0] = 0xfd;
		x.ip[14] = (uint8_t)(i >> 8);
		x.ip[15] = (uint8_t)i;
		smtpd_fair_auth_result(&t, &x, false, &L, 2000 + i, &f, &locked);
		assert_int_equal(f, 1);
	}
	/* the locked-out address is still locked: it was not evicted */
	assert_true(smtpd_fair_auth_locked(&t, &evil, 5000) > 0);
	unsigned used = 0;
	for (unsigned i = 0; i < SMTPD_FAIR_ADDRS; i++)
		used += t.a[i].used;
	assert_int_equal(used, SMTPD_FAIR_ADDRS);
	/* IPv4 and IPv6 with the same first octets are different addresses */
	x = v4(10, 0, 0, 1);
	x.family = 6;
	assert_int_equal(smtpd_fair_auth_locked(&t, &x, 5000), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_command_deadline),
		cmocka_unit_test(test_transaction_deadline),
		cmocka_unit_test(test_data_rate),
		cmocka_unit_test(test_sheddable),
		cmocka_unit_test(test_auth_delay),
		cmocka_unit_test(test_auth_backoff),
		cmocka_unit_test(test_auth_table_lru),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
