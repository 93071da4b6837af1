/*
 * The server on the real event loop and real sockets, with a fast clock:
 * an idle client gets "421 4.4.2" after CONFIG_SMTP_IDLE_TIMEOUT and the
 * connection is closed. (The clock is a fake that advances 100 s per read,
 * so the test takes a few real seconds, not five minutes.)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/core/loop.h"
#include "firmware/smtpd/server.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "tests/unit/smtpd_testcfg.h"
#include "zegel/board.h"

static uint64_t fake_ms = 1000000;
static char got[4096];
static size_t gotlen;
static bool eof;

static uint64_t
fast_mono(void)
{
	fake_ms += 100000;
	return fake_ms;
}

static int64_t
real_now(void)
{
	return hal_clock_posix.now();
}

static const struct hal_clock_ops fast_clock = { "fast", real_now, fast_mono };

static void
client_rx(void *arg, int fd, unsigned rev)
{
	ssize_t n = recv(fd, got + gotlen, sizeof(got) - 1 - gotlen, MSG_DONTWAIT);

	(void)arg;
	(void)rev;
	if (n > 0)
		gotlen += (size_t)n;
	else if (n == 0) {
		eof = true;
		loop_stop();
	}
}

static void
give_up(void *arg)
{
	(void)arg;
	loop_stop();
}

static void
test_idle_timeout(void **state)
{
	const struct zcfg *cfg;
	char dir[] = "/tmp/zegel-smtpd-loop.XXXXXX", cmd[300];
	struct sockaddr_in sin;
	int fd, h;

	(void)state;
	assert_non_null(mkdtemp(dir));
	board_init();
	assert_int_equal(smtpd_testcfg_build(&cfg, dir), 0);
	hal_log_set_level(HAL_LOG_ERR);
	hal_clock_set(&fast_clock);
	loop_init();
	assert_true(smtpd_server_start(cfg) >= 1);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(22599);     /* the "submission" listener of smtpd_testcfg */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	h = loop_watch_fd(fd, client_rx, NULL);
	assert_true(h >= 0);
	/* safety net: ~40 loop turns of fake time */
	assert_true(loop_timer_add(4000u * 1000u, give_up, NULL) >= 0);
	assert_int_equal(loop_run(), 0);
	got[gotlen] = 0;
	assert_non_null(strstr(got, "220 mx.zegel.test ESMTP"));
	assert_non_null(strstr(got, "421 4.4.2 mx.zegel.test Error: timeout exceeded"));
	assert_true(eof);
	smtpd_server_stop();
	loop_close(h);
	close(fd);
	hal_clock_set(&hal_clock_posix);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
