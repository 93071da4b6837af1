/* The DATA state machine: dot rules, end marker, smuggling variants, limits;
 * every input also fed split at every offset and byte by byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/spool/data.h"

struct result {
	char out[8192];
	size_t outlen;
	enum spool_data_event last;   /* END or ERROR or NONE */
	size_t consumed;              /* bytes consumed in total */
	int err;
	bool toolong, oversize;
};

/* Feed in chunks cut at the given offsets (sorted, < n). */
static void
feed(const char *in, size_t n, const size_t *cuts, size_t ncuts, bool normalise, uint64_t max,
    struct result *r)
{
	struct spool_data d;
	size_t pos = 0, ci = 0;

	memset(r, 0, sizeof(*r));
	spool_data_init(&d, max, normalise);
	while (pos < n) {
		size_t end = ci < ncuts ? cuts[ci++] : n;
		if (end <= pos)
			continue;
		while (pos < end) {
			size_t k = spool_data_push(&d, (const uint8_t *)in + pos, end - pos);
			enum spool_data_event ev = spool_data_event(&d);
			pos += k;
			if (ev == SPOOL_DATA_LINE) {
				size_t ln;
				const uint8_t *l = spool_data_line(&d, &ln);
				assert_true(r->outlen + ln < sizeof(r->out));
				memcpy(r->out + r->outlen, l, ln);
				r->outlen += ln;
				continue;
			}
			if (ev == SPOOL_DATA_END || ev == SPOOL_DATA_ERROR) {
				r->last = ev;
				r->consumed = pos;
				r->err = spool_data_error(&d);
				r->toolong = spool_data_toolong(&d);
				r->oversize = spool_data_oversize(&d);
				return;
			}
			assert_int_equal(k, end - pos + k); /* NONE: all consumed */
		}
	}
	r->last = SPOOL_DATA_NONE;
	r->consumed = pos;
	r->toolong = spool_data_toolong(&d);
	r->oversize = spool_data_oversize(&d);
}

/* Whole, then every 2-way split, then byte by byte: same result each time. */
static void
check_all(const char *in, bool normalise, uint64_t max, struct result *want)
{
	size_t n = strlen(in);
	struct result r;

	feed(in, n, NULL, 0, normalise, max, want);
	for (size_t cut = 1; cut < n; cut++) {
		feed(in, n, &cut, 1, normalise, max, &r);
		assert_int_equal(r.last, want->last);
		assert_int_equal(r.consumed, want->consumed);
		assert_int_equal(r.outlen, want->outlen);
		assert_memory_equal(r.out, want->out, r.outlen);
	}
	{
		size_t cuts[4096];
		assert_true(n < 4096);
		for (size_t i = 0; i < n; i++)
			cuts[i] = i + 1;
		feed(in, n, cuts, n, normalise, max, &r);
		assert_int_equal(r.last, want->last);
		assert_int_equal(r.consumed, want->consumed);
		assert_int_equal(r.outlen, want->outlen);
		assert_memory_equal(r.out, want->out, r.outlen);
	}
}

static void
test_simple(void **st)
{
	struct result r;
	const char *in = "Subject: x\r\n\r\n..dot\r\n.\r\nQUIT\r\n";

	(void)st;
	check_all(in, false, 1 << 20, &r);
	assert_int_equal(r.last, SPOOL_DATA_END);
	assert_int_equal(r.consumed, strlen(in) - strlen("QUIT\r\n"));
	assert_int_equal(r.outlen, strlen("Subject: x\r\n\r\n.dot\r\n"));
	assert_memory_equal(r.out, "Subject: x\r\n\r\n.dot\r\n", r.outlen);
}

static void
test_empty_message(void **st)
{
	struct result r;

	(void)st;
	check_all(".\r\n", false, 100, &r);
	assert_int_equal(r.last, SPOOL_DATA_END);
	assert_int_equal(r.outlen, 0);
}

/* Each smuggling variant must be an error in strict mode, before the
 * would-be second message is reached. */
static void
test_smuggling_strict(void **st)
{
	static const char *const variants[] = {
		"a\r\n\n.\nMAIL FROM:<x@y.z>\r\n",          /* <LF>.<LF> */
		"a\r\n\r.\rMAIL FROM:<x@y.z>\r\n",          /* <CR>.<CR> */
		"a\r\n\n.\r\nMAIL FROM:<x@y.z>\r\n",        /* <LF>.<CR><LF> */
		"a\r\r\n.\r\nMAIL FROM:<x@y.z>\r\n",        /* \r\r\n.\r\n */
		"a\r\n.\n",                                 /* <CR><LF>.<LF> */
		"a\r\n.\r",                                 /* <CR><LF>.<CR> then more */
		"a\n\r\n.\r\n",
		"a\r\n.\r\r\n",
	};
	(void)st;
	for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		struct result r;
		char buf[256];

		snprintf(buf, sizeof(buf), "%sX", variants[i]); /* X: so <CR> at the end is followed */
		check_all(buf, false, 1 << 20, &r);
		assert_int_equal(r.last, SPOOL_DATA_ERROR);
		assert_true(r.err == SPOOL_DATA_ERR_BARE_LF || r.err == SPOOL_DATA_ERR_BARE_CR);
	}
}

/* Normalise mode: bare LF/CR end lines, re-emitted as CRLF; still exactly
 * one end marker and nothing after it consumed. */
static void
test_normalise(void **st)
{
	struct result r;

	(void)st;
	check_all("a\nb\rc\r\n.\nRSET\r\n", true, 1 << 20, &r);
	assert_int_equal(r.last, SPOOL_DATA_END);
	assert_int_equal(r.outlen, strlen("a\r\nb\r\nc\r\n"));
	assert_memory_equal(r.out, "a\r\nb\r\nc\r\n", r.outlen);
	assert_int_equal(r.consumed, strlen("a\nb\rc\r\n.\n"));
}

static void
test_long_line(void **st)
{
	char in[2200];
	struct result r;

	(void)st;
	memset(in, 'x', 999);                      /* 999 > 998 */
	strcpy(in + 999, "\r\nok\r\n.\r\n");
	check_all(in, false, 1 << 20, &r);
	assert_int_equal(r.last, SPOOL_DATA_END);
	assert_true(r.toolong);
	memset(in, 'x', 998);                      /* exactly 998: fine */
	strcpy(in + 998, "\r\n.\r\n");
	check_all(in, false, 1 << 20, &r);
	assert_int_equal(r.last, SPOOL_DATA_END);
	assert_false(r.toolong);
	assert_int_equal(r.outlen, 1000);
	/* an overlong line that starts with "." is not the end marker */
	in[0] = '.';
	memset(in + 1, ' ', 1200);
	strcpy(in + 1201, "\r\n.\r\n");
	check_all(in, false, 1 << 20, &r);
	assert_int_equal(r.last, SPOOL_DATA_END);
	assert_int_equal(r.consumed, strlen(in));
}

static void
test_oversize(void **st)
{
	struct result r;

	(void)st;
	check_all("0123456789\r\n0123456789\r\n.\r\n", false, 20, &r);
	assert_int_equal(r.last, SPOOL_DATA_END);
	assert_true(r.oversize);
	check_all("0123456789\r\n.\r\n", false, 20, &r);
	assert_false(r.oversize);
}

static void
test_no_end(void **st)
{
	struct result r;

	(void)st;
	check_all("a\r\n.x\r\n .\r\n", false, 1 << 20, &r);
	assert_int_equal(r.last, SPOOL_DATA_NONE);
	assert_memory_equal(r.out, "a\r\nx\r\n .\r\n", r.outlen);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_empty_message),
		cmocka_unit_test(test_smuggling_strict),
		cmocka_unit_test(test_normalise),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_no_end),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
