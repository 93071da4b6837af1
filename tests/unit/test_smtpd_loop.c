/*
 * The server on the real event loop and real sockets, with a fast clock:
 * an idle client gets "421 4.4.2" after CONFIG_SMTP_IDLE_TIMEOUT and the
 * connection is closed. (The clock is a fake that advances 100 s per read,
 * so the test takes a few real seconds, not five minutes.)
 *
 * And the console's `dane-check` is a job on the same loop: while its MX
 * lookup waits on a resolver that never answers, a client gets its greeting;
 * the verdict comes afterwards.
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

#include "firmware/app/commands.h"
#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/smtpd/server.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "hal/net.h"
#include "tests/unit/smtpd_testcfg.h"
#include "zegel/board.h"
#include "zegel/config.h"

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

static const struct hal_clock_ops fast_clock = { "fast", real_now, fast_mono, NULL, NULL };

/* The test's client and resolver sockets are the board's network backend's
 * (hal_net), as the server's are: lwIP's live on its own loopback interface,
 * which kernel sockets cannot reach. */
static int
client_connect(void)
{
	struct hal_addr a;
	int fd;

	/* the "submission" listener of smtpd_testcfg */
	assert_int_equal(hal_addr_parse(&a, "127.0.0.1", 22599), 0);
	fd = hal_net_connect_tcp(&a);
	assert_true(fd >= 0);
	return fd;
}

/* A UDP socket on 127.0.0.1 that takes every query and answers none; *port
 * its port. hal_net's POSIX UDP sockets are unbound until they send: a
 * kernel socket then; lwIP binds its sockets to a random port when opened. */
static int
silent_resolver(uint16_t *port)
{
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	struct hal_addr a;
	int h = hal_net_udp_open(4);

	assert_true(h >= 0);
	assert_int_equal(hal_net_local_addr(h, &a), 0);
	*port = a.port;
	return h;
#else
	struct sockaddr_in dns;
	socklen_t sl = sizeof(dns);
	int h = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&dns, 0, sizeof(dns));
	dns.sin_family = AF_INET;
	dns.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(h, (struct sockaddr *)&dns, sizeof(dns)), 0);
	assert_int_equal(getsockname(h, (struct sockaddr *)&dns, &sl), 0);
	*port = ntohs(dns.sin_port);
	return h;
#endif
}

static void
client_rx(void *arg, int fd, unsigned rev)
{
	ssize_t n = hal_net_recv(fd, got + gotlen, sizeof(got) - 1 - gotlen);

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
	int fd, h;

	(void)state;
	assert_non_null(mkdtemp(dir));
	board_init();
	assert_int_equal(smtpd_testcfg_build(&cfg, dir), 0);
	hal_log_set_level(HAL_LOG_ERR);
	hal_clock_set(&fast_clock);
	loop_init();
	assert_true(smtpd_server_start(cfg) >= 1);
	fd = client_connect();
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
	hal_net_close(fd);
	hal_clock_set(&hal_clock_posix);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static char con_out[8192];
static size_t con_len;
static bool greeted_before_verdict, greeted;

static void
con_write(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	if (n > sizeof(con_out) - 1 - con_len)
		n = sizeof(con_out) - 1 - con_len;
	memcpy(con_out + con_len, p, n);
	con_len += n;
	con_out[con_len] = '\0';
	if (strstr(con_out, "status: ") != NULL)
		loop_stop();
}

static void
greet_rx(void *arg, int fd, unsigned rev)
{
	ssize_t n = hal_net_recv(fd, got + gotlen, sizeof(got) - 1 - gotlen);

	(void)arg;
	(void)rev;
	if (n <= 0)
		return;
	gotlen += (size_t)n;
	got[gotlen] = '\0';
	if (!greeted && strstr(got, "220 ") != NULL) {
		greeted = true;
		greeted_before_verdict = strstr(con_out, "status: ") == NULL;
	}
}

static void
connect_client(void *arg)
{
	int *fd = arg;

	*fd = client_connect();
	assert_true(loop_watch_fd(*fd, greet_rx, NULL) >= 0);
}

static void
test_console_dane_check_does_not_block(void **state)
{
	static struct console con;
	const struct zcfg *cfg;
	char dir[] = "/tmp/zegel-smtpd-loop.XXXXXX", cmd[300], line[64], err[200];
	uint16_t dns_port;
	int silent, fd = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	board_init();
	assert_int_equal(smtpd_testcfg_build(&cfg, dir), 0);
	/* a resolver that takes every query and answers none */
	silent = silent_resolver(&dns_port);
	snprintf(line, sizeof(line), "set resolver 127.0.0.1:%u", dns_port);
	assert_int_equal(config_set_line(line, err, sizeof(err)), 0);
	assert_int_equal(config_commit(err, sizeof(err)), 0);
	cfg = zcfg_running();
	hal_log_set_level(HAL_LOG_ERR);
	loop_init();
	assert_int_equal(resolver_init(), 0);
	resolver_configure(cfg);
	assert_true(smtpd_server_start(cfg) >= 1);
	console_init(&con, con_write, NULL, false);
	assert_int_equal(dane_console_register(), 0);
	gotlen = 0;
	console_execute(&con, "dane-check example.test");
	/* the command returned at once: no verdict yet */
	assert_null(strstr(con_out, "status: "));
	assert_true(loop_timer_add(200, connect_client, &fd) >= 0);
	assert_true(loop_timer_add(30000, give_up, NULL) >= 0);
	assert_int_equal(loop_run(), 0);
	assert_true(greeted);
	assert_true(greeted_before_verdict);
	assert_non_null(strstr(con_out, "status: deferred (4.4.3 MX lookup indeterminate"));
	smtpd_server_stop();
	hal_net_close(fd);
	hal_net_close(silent);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_console_dane_check_does_not_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
