/*
 * hal_uart contract, for every enabled backend: "stdio" opens without
 * touching the terminal; a tty (a pseudo-terminal here) goes to raw mode,
 * so bytes arrive without a newline and without echo, output turns "\n"
 * into "\r\n"; the input handle is what hal_net_poll() watches; close()
 * restores the terminal; a missing device is an error, not a crash. Reads
 * stop at the caller's length (canary byte past the buffer).
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/common/hal_backends.h"

#define CANARY 0xa5

static void
test_stdio(void **state)
{
	(void)state;
	for (const struct hal_uart_ops *const *b = test_uart_backends; *b; b++) {
		struct hal_uart u;

		hal_uart_set(*b);
		assert_int_equal(hal_uart_open(&u, "stdio", false), 0);
		assert_false(u.raw);
		assert_true(hal_uart_handle(&u) >= 0);
		hal_uart_close(&u);
		/* stdin is still there after close. */
		assert_true(fcntl(0, F_GETFD) >= 0);
	}
	hal_uart_set(&hal_uart_posix);
}

static void
test_missing_device(void **state)
{
	(void)state;
	for (const struct hal_uart_ops *const *b = test_uart_backends; *b; b++) {
		struct hal_uart u;

		hal_uart_set(*b);
		assert_int_equal(hal_uart_open(&u, "/nonexistent/ttyZ9", true), -ENOENT);
	}
	hal_uart_set(&hal_uart_posix);
}

/* Waits up to 2 s for input on the uart's handle. */
static void
wait_input(const struct hal_uart *u)
{
	struct hal_pollfd p = { hal_uart_handle(u), HAL_POLL_IN, 0 };
	int r;

	do
		r = hal_net_poll(&p, 1, 2000);
	while (r == -EINTR);
	assert_int_equal(r, 1);
	assert_true(p.revents & HAL_POLL_IN);
}

static void
pty_round_trip(int master, const char *slave)
{
	struct hal_uart u;
	struct termios t;
	uint8_t buf[8];
	char out[16];
	ssize_t n;
	int fd;

	assert_int_equal(hal_uart_open(&u, slave, true), 0);
	assert_true(u.is_tty);
	assert_true(u.raw);
	/* Raw: three bytes, no newline, are readable at once, two at a time. */
	assert_int_equal(write(master, "abc", 3), 3);
	wait_input(&u);
	memset(buf, CANARY, sizeof(buf));
	assert_int_equal(hal_uart_read(&u, buf, 2), 2);
	assert_memory_equal(buf, "ab", 2);
	assert_int_equal(buf[2], CANARY);
	assert_int_equal(hal_uart_read(&u, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 'c');
	/* Output: "\n" leaves as "\r\n"; nothing was echoed before it. */
	assert_int_equal(hal_uart_write(&u, "ok\n", 3), 3);
	n = 0;
	while (n < 4) {
		ssize_t r = read(master, out + n, sizeof(out) - 1 - (size_t)n);
		assert_true(r > 0);
		n += r;
	}
	out[n] = '\0';
	assert_string_equal(out, "ok\r\n");
	hal_uart_close(&u);
	/* The line discipline is back to what it was. */
	fd = open(slave, O_RDWR | O_NOCTTY);
	assert_true(fd >= 0);
	assert_int_equal(tcgetattr(fd, &t), 0);
	assert_true(t.c_lflag & ICANON);
	assert_true(t.c_lflag & ECHO);
	close(fd);
}

static void
test_tty_raw(void **state)
{
	(void)state;
	for (const struct hal_uart_ops *const *b = test_uart_backends; *b; b++) {
		int master = posix_openpt(O_RDWR | O_NOCTTY);
		const char *slave = NULL;

		if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
		    (slave = ptsname(master)) == NULL) {
			if (master >= 0)
				close(master);
			skip();
		}
		hal_uart_set(*b);
		pty_round_trip(master, slave);
		close(master);
	}
	hal_uart_set(&hal_uart_posix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdio),
		cmocka_unit_test(test_missing_device),
		cmocka_unit_test(test_tty_raw),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
