/*
 * Test-only hooks of the network process (CONFIG_PRIVSEP_TEST_HOOKS, off in
 * the boards' firmware, on in the host build the tests use), active only
 * when ZEGEL_TEST_HOOKS=1 is in the environment at start:
 *   SIGUSR1  open ZEGEL_TEST_KEYREAD (a key file) for reading and write to
 *            stderr "privsep-hook: open PATH: ok" or "...: <errno text> (N)"
 *   SIGUSR2  make a system call the seccomp filter forbids (mount): the
 *            process must die of SIGSYS
 *   SIGHUP   create ZEGEL_TEST_WRITEOUT (a file outside the data dir),
 *            then ZEGEL_TEST_WRITEIN (one inside), O_CREAT|O_EXCL, and
 *            write "privsep-hook: create PATH: ok" or "...: <errno> (N)"
 *            for each (Landlock, landlock.c)
 * tests/e2e/privsep.sh proves with them that the dropped network process
 * cannot read a key, cannot create a file outside the data dir and that
 * the filter kills, not passes.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "firmware/privsep/privsep.h"
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_PRIVSEP_TEST_HOOKS)
static char keyread[256], writes[2][256];

static void
on_usr1(int sig)
{
	char line[400];
	int fd = open(keyread, O_RDONLY | O_CLOEXEC), e = errno, n;

	(void)sig;
	if (fd >= 0) {
		close(fd);
		n = snprintf(line, sizeof(line), "privsep-hook: open %s: ok\n", keyread);
	} else {
		n = snprintf(line, sizeof(line), "privsep-hook: open %s: %s (%d)\n", keyread,
		    strerror(e), e);
	}
	if (n > 0)
		(void)!write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
}

static void
on_hup(int sig)
{
	char line[400];
	int n;

	(void)sig;
	for (int i = 0; i < 2; i++) {
		int fd, e;

		if (writes[i][0] == 0)
			continue;
		fd = open(writes[i], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		e = errno;
		if (fd >= 0) {
			close(fd);
			n = snprintf(line, sizeof(line), "privsep-hook: create %s: ok\n", writes[i]);
		} else {
			n = snprintf(line, sizeof(line), "privsep-hook: create %s: %s (%d)\n",
			    writes[i], strerror(e), e);
		}
		if (n > 0)
			(void)!write(STDERR_FILENO, line,
			    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line));
	}
}

static void
on_usr2(int sig)
{
	static const char m[] = "privsep-hook: calling mount(2)\n";
	static const char m2[] = "privsep-hook: mount(2) returned: NO SECCOMP FILTER\n";

	(void)sig;
	(void)!write(STDERR_FILENO, m, sizeof(m) - 1);
	(void)syscall(SYS_mount, NULL, NULL, NULL, 0L, NULL);
	(void)!write(STDERR_FILENO, m2, sizeof(m2) - 1);
}
#endif

void
privsep_test_hooks(void)
{
#if IS_ENABLED(CONFIG_PRIVSEP_TEST_HOOKS)
	const char *on = getenv("ZEGEL_TEST_HOOKS"), *kr = getenv("ZEGEL_TEST_KEYREAD");
	const char *wo = getenv("ZEGEL_TEST_WRITEOUT"), *wi = getenv("ZEGEL_TEST_WRITEIN");
	struct sigaction sa;

	if (on == NULL || strcmp(on, "1") != 0)
		return;
	snprintf(keyread, sizeof(keyread), "%s", kr != NULL ? kr : "/nonexistent");
	snprintf(writes[0], sizeof(writes[0]), "%s", wo != NULL ? wo : "");
	snprintf(writes[1], sizeof(writes[1]), "%s", wi != NULL ? wi : "");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	fprintf(stderr, "privsep-hook: test hooks on (SIGUSR1 reads %s, SIGUSR2 calls mount, "
	    "SIGHUP creates files)\n", keyread);
#endif
}
