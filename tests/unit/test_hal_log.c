/*
 * hal/log: logging must not stall the event loop (issue 21). The output is
 * a pipe (or socket) nobody reads, filled to the brim: hal_log() must
 * still return at once (an alarm() kills the test if it blocks), keep the
 * newest lines, drop the oldest with a count, and write everything that
 * survived once the reader comes back. Also: the level prefix, one event
 * per line, and the notify hook.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "generated/autoconf.h"
#include "hal/log.h"

#define NLINES 5000
#define GUARD_S 20

static char got[1 << 20];
static size_t gotlen;

/* Fill the write end until it would block; it is left blocking again. */
static void
fill(int wfd)
{
	static const char filler[4096] = { 0 };
	int fl = fcntl(wfd, F_GETFL);

	assert_int_equal(fcntl(wfd, F_SETFL, fl | O_NONBLOCK), 0);
	for (;;) {
		ssize_t w = write(wfd, filler, sizeof(filler));

		if (w < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			break;
		}
	}
	/* a stream socket may still take a few small bytes */
	while (write(wfd, filler, 1) == 1)
		;
	assert_int_equal(fcntl(wfd, F_SETFL, fl), 0);
}

/* The reader comes back: read everything, draining the log as it goes;
 * got[] keeps what followed the filler's NUL bytes. */
static void
read_all(int rfd)
{
	char buf[8192];
	int fl = fcntl(rfd, F_GETFL);
	int quiet = 0;

	assert_int_equal(fcntl(rfd, F_SETFL, fl | O_NONBLOCK), 0);
	gotlen = 0;
	while (quiet < 3) {
		ssize_t n = read(rfd, buf, sizeof(buf));

		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != '\0') {
					assert_true(gotlen < sizeof(got) - 1);
					got[gotlen++] = buf[i];
				}
			quiet = 0;
		} else if (hal_log_drain() == 0)
			quiet++;
	}
	got[gotlen] = '\0';
	assert_int_equal(hal_log_pending(), 0);
}

/* Every line is whole and in order; returns the dropped count reported. */
static unsigned long
check_lines(const char *tag, unsigned total)
{
	unsigned long dropped = 0, seen = 0, notes = 0;
	long last = -1;
	char want[64];

	for (char *l = got, *nl; *l; l = nl + 1) {
		const char *d, *t;

		nl = strchr(l, '\n');
		assert_non_null(nl);
		*nl = '\0';
		if ((d = strstr(l, " zegel/log[")) != NULL) {
			unsigned long k;

			assert_non_null(strstr(d, "]: warning: "));
			assert_int_equal(sscanf(strstr(d, "warning: "), "warning: %lu log line", &k), 1);
			assert_non_null(strstr(d, "dropped (output too slow)"));
			/* the notice stands where the dropped lines were: before the survivors */
			assert_int_equal(seen, 0);
			dropped += k;
			notes++;
			continue;
		}
		snprintf(want, sizeof(want), " zegel/test[%ld]: %s ", (long)getpid(), tag);
		if ((t = strstr(l, want)) == NULL)
			fail_msg("unexpected output line: %s", l);
		assert_true(strtol(t + strlen(want), NULL, 10) > last);
		last = strtol(t + strlen(want), NULL, 10);
		seen++;
	}
	assert_true(notes >= 1);
	/* the newest lines survived, and every line is either out or counted */
	assert_int_equal(last, total - 1);
	assert_int_equal(seen + dropped, total);
	/* at least the buffer's worth of newest lines */
	assert_true(seen * 80 >= CONFIG_LOG_BUFFER_SIZE / 2);
	return dropped;
}

/* Log n lines into a full output; returns what waits. No assertion here:
 * stderr may be the full pipe, where cmocka's message would block. */
static size_t
flood(const char *tag, unsigned n)
{
	alarm(GUARD_S);        /* a blocking write would hang here: SIGALRM ends the test */
	for (unsigned i = 0; i < n; i++)
		hal_log(HAL_LOG_INFO, "test", "%s %u padding to make it a longer line", tag, i);
	alarm(0);
	return hal_log_pending();
}

/* Bounded: the buffer plus the drop notice. */
static void
check_pending(size_t pending)
{
	assert_true(pending > CONFIG_LOG_BUFFER_SIZE / 2);
	assert_true(pending <= CONFIG_LOG_BUFFER_SIZE + 160);
}

/* stderr itself (the default output) is a full pipe. */
static void
test_stderr_pipe_full(void **st)
{
	int p[2], saved = dup(2);
	unsigned long dropped;
	size_t pending;

	(void)st;
	assert_true(saved >= 0);
	assert_int_equal(pipe(p), 0);
	fill(p[1]);
	assert_int_equal(dup2(p[1], 2), 2);
	hal_log_set_fd(2);
	pending = flood("stderr", NLINES);
	dup2(saved, 2);         /* cmocka may print again */
	hal_log_set_fd(p[1]);   /* the waiting lines still go to the pipe */
	check_pending(pending);
	read_all(p[0]);
	hal_log_set_fd(2);
	dropped = check_lines("stderr", NLINES);
	assert_true(dropped > 0);
	/* the console's descriptor was not made non-blocking behind its back */
	assert_int_equal(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	close(p[0]);
	close(p[1]);
	close(saved);
}

/* The same through hal_log_set_fd() and a stream socket (send path). */
static void
test_socket_full(void **st)
{
	int sv[2];

	(void)st;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	fill(sv[1]);
	hal_log_set_fd(sv[1]);
	check_pending(flood("sock", NLINES));
	read_all(sv[0]);
	hal_log_set_fd(2);
	assert_true(check_lines("sock", NLINES) > 0);
	close(sv[0]);
	close(sv[1]);
}

/* Nothing dropped when the reader keeps up; a full pipe that clears
 * before the buffer fills loses nothing either. */
static void
test_no_drop(void **st)
{
	int p[2];

	(void)st;
	assert_int_equal(pipe(p), 0);
	fill(p[1]);
	hal_log_set_fd(p[1]);
	alarm(GUARD_S);
	for (unsigned i = 0; i < 20; i++)
		hal_log(HAL_LOG_INFO, "test", "few %u", i);
	alarm(0);
	read_all(p[0]);
	hal_log_set_fd(2);
	assert_null(strstr(got, "dropped"));
	for (unsigned i = 0; i < 20; i++) {
		char w[32];

		snprintf(w, sizeof(w), ": few %u\n", i);
		assert_non_null(strstr(got, w));
	}
	close(p[0]);
	close(p[1]);
}

static unsigned notified;

static void
on_notify(void *arg)
{
	(void)arg;
	notified++;
}

/* The loop's owner is told after each line that has to wait, not when the
 * output took it. */
static void
test_notify(void **st)
{
	int p[2];

	(void)st;
	assert_int_equal(pipe(p), 0);
	fill(p[1]);
	hal_log_set_fd(p[1]);
	hal_log_set_notify(on_notify, NULL);
	notified = 0;
	hal_log(HAL_LOG_INFO, "test", "n 1");
	hal_log(HAL_LOG_INFO, "test", "n 2");
	assert_int_equal(notified, 2);
	assert_true(hal_log_drain() > 0);
	assert_int_equal(notified, 2);
	read_all(p[0]);
	hal_log(HAL_LOG_INFO, "test", "n 3"); /* written at once: nobody is told */
	assert_int_equal(notified, 2);
	read_all(p[0]);
	hal_log_set_notify(NULL, NULL);
	hal_log_set_fd(2);
	assert_non_null(strstr(got, ": n 3\n"));
	close(p[0]);
	close(p[1]);
}

/* "warning: " comes from the level once; a message is one line. */
static void
test_format(void **st)
{
	int p[2];

	(void)st;
	assert_int_equal(pipe(p), 0);
	hal_log_set_fd(p[1]);
	hal_log(HAL_LOG_WARN, "test", "ID: sender <a@b> not aligned");
	hal_log(HAL_LOG_ERR, "test", "broken");
	hal_log(HAL_LOG_INFO, "test", "two\r\nlines\x1b[2J here");
	read_all(p[0]);
	hal_log_set_fd(2);
	assert_non_null(strstr(got, "]: warning: ID: sender <a@b> not aligned\n"));
	assert_non_null(strstr(got, "]: error: broken\n"));
	assert_non_null(strstr(got, "]: two??lines?[2J here\n"));
	close(p[0]);
	close(p[1]);
}

static char shown[8192];

static void
emit_line(void *arg, const char *line)
{
	(void)arg;
	strncat(shown, line, sizeof(shown) - strlen(shown) - 2);
	strcat(shown, "\n");
}

static unsigned
query(unsigned max, enum hal_log_level lvl, const char *match)
{
	struct hal_log_filter f = { max, lvl, match };

	shown[0] = 0;
	return hal_log_ring_query(&f, emit_line, NULL);
}

/* `show log` filters: the last N, a level or worse, a text; each line with
 * its time and level. */
static void
test_ring_query(void **st)
{
	int p[2];

	(void)st;
	assert_int_equal(pipe(p), 0);
	hal_log_set_fd(p[1]);
	hal_log_set_level(HAL_LOG_DEBUG);
	hal_log(HAL_LOG_INFO, "smtpd", "Q1abc: client=[192.0.2.1]");
	hal_log(HAL_LOG_WARN, "relay", "Q1abc: deferred");
	hal_log(HAL_LOG_DEBUG, "ntp", "clock within +0.001 s");
	hal_log(HAL_LOG_ERR, "keys", "key missing");
	hal_log(HAL_LOG_INFO, "smtpd", "Q2def: client=[192.0.2.2]");
	hal_log_set_level(HAL_LOG_INFO);
	read_all(p[0]);
	hal_log_set_fd(2);
	assert_int_equal(query(2, HAL_LOG_DEBUG, NULL), 2);
	assert_non_null(strstr(shown, " error zegel/keys: key missing\n"));
	assert_non_null(strstr(shown, " info zegel/smtpd: Q2def: client=[192.0.2.2]\n"));
	assert_int_equal(shown[4], '-');
	assert_int_equal(shown[10], 'T');
	assert_int_equal(shown[19], 'Z');
	assert_true(query(0, HAL_LOG_WARN, NULL) >= 2); /* earlier tests logged some too */
	assert_non_null(strstr(shown, " warning zegel/relay: Q1abc: deferred\n"));
	assert_null(strstr(shown, " info "));
	assert_int_equal(query(0, HAL_LOG_DEBUG, "Q1abc"), 2);
	assert_null(strstr(shown, "Q2def"));
	assert_int_equal(query(1, HAL_LOG_DEBUG, "Q1abc"), 1);
	assert_non_null(strstr(shown, "deferred"));
	assert_int_equal(query(0, HAL_LOG_DEBUG, "no such thing"), 0);
	close(p[0]);
	close(p[1]);
}

static char tapped[4096];

static void
tap_fn(void *arg, int64_t t_ms, enum hal_log_level lvl, const char *module, const char *line)
{
	(void)arg;
	assert_true(t_ms > 0);
	snprintf(tapped + strlen(tapped), sizeof(tapped) - strlen(tapped), "%d %s %s|", (int)lvl,
	    module, line);
	hal_log(HAL_LOG_WARN, "tap", "inside the tap"); /* kept, not tapped again */
}

/* The tap (remote syslog) sees every line once, never its own. */
static void
test_tap(void **st)
{
	int p[2];

	(void)st;
	assert_int_equal(pipe(p), 0);
	hal_log_set_fd(p[1]);
	tapped[0] = 0;
	hal_log_set_tap(tap_fn, NULL);
	hal_log(HAL_LOG_INFO, "m", "one");
	hal_log(HAL_LOG_DEBUG, "m", "below the level");
	hal_log(HAL_LOG_ERR, "m", "two");
	hal_log_set_tap(NULL, NULL);
	read_all(p[0]);
	hal_log_set_fd(2);
	assert_string_equal(tapped, "2 m one|0 m two|");
	assert_non_null(strstr(got, "]: warning: inside the tap\n"));
	close(p[0]);
	close(p[1]);
}

static int con_fd;

static void
con_hide(void *arg)
{
	(void)arg;
	assert_int_equal(write(con_fd, "<H>", 3), 3);
}

static void
con_show(void *arg)
{
	(void)arg;
	assert_int_equal(write(con_fd, "<S>", 3), 3);
}

/* A console sharing the output: its input line is hidden before a log line
 * and shown again after it, never in the middle of one. */
static void
test_console_hooks(void **st)
{
	int p[2];

	(void)st;
	assert_int_equal(pipe(p), 0);
	con_fd = p[1];
	hal_log_set_fd(p[1]);
	hal_log_set_console(con_hide, con_show, NULL);
	hal_log(HAL_LOG_INFO, "m", "a log line");
	hal_log_set_console(NULL, NULL, NULL);
	hal_log(HAL_LOG_INFO, "m", "no console");
	read_all(p[0]);
	hal_log_set_fd(2);
	assert_true(strncmp(got, "<H>", 3) == 0);
	assert_non_null(strstr(got, "]: a log line\n<S>"));
	assert_null(strstr(strstr(got, "<S>") + 3, "<"));
	close(p[0]);
	close(p[1]);
}

/* hal_log_flush() writes what waits once the reader comes, and gives up
 * after a bounded wait when nobody reads. */
static void
test_flush_bounded(void **st)
{
	int p[2];

	(void)st;
	assert_int_equal(pipe(p), 0);
	fill(p[1]);
	hal_log_set_fd(p[1]);
	hal_log(HAL_LOG_INFO, "test", "stuck");
	alarm(GUARD_S);
	hal_log_flush();        /* ~2 s, then gives up */
	alarm(0);
	assert_true(hal_log_pending() > 0);
	read_all(p[0]);
	hal_log_set_fd(2);
	assert_non_null(strstr(got, ": stuck\n"));
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stderr_pipe_full),
		cmocka_unit_test(test_socket_full),
		cmocka_unit_test(test_no_drop),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_ring_query),
		cmocka_unit_test(test_tap),
		cmocka_unit_test(test_console_hooks),
		cmocka_unit_test(test_flush_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
