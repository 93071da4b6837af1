/*
 * zegel run [--config FILE] [--no-console]: load the configuration, then
 * serve the console on the board's console device until exit or end of
 * input.
 *
 * The configuration comes from FILE, else from <data-dir>/zegel.conf if that
 * exists, else the defaults. A file that does not parse stops the start
 * (exit 1) with file:line and the reason on stderr: an appliance must not
 * come up half-configured. `save` on the console writes back to the same
 * file.
 *
 * The console engine is byte-fed (firmware/console/console.h), so the
 * event loop (firmware/core/loop.c, with the listeners) can poll the
 * console device next to its sockets and feed it the same way.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/core/commands.h"
#include "hal/storage.h"
#include "hal/uart.h"
#include "zegel/board.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
uart_out(void *arg, const uint8_t *p, size_t n)
{
	struct hal_uart *u = arg;

	hal_uart_posix.write(u, p, n);
}

static int
serve_console(void)
{
	static struct console con;
	struct hal_uart u;
	uint8_t buf[256];
	int rc = hal_uart_posix.open(&u, board.console_device, true);

	if (rc != 0) {
		fprintf(stderr, "zegel run: cannot open console %s: %s\n", board.console_device,
		    strerror(-rc));
		return 1;
	}
	console_init(&con, uart_out, &u, u.raw);
	console_prompt(&con);
	while (!console_wants_exit(&con) && !stop) {
		ssize_t r = hal_uart_posix.read(&u, buf, sizeof(buf));
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r <= 0) {
			console_eof(&con);
			break;
		}
		console_push(&con, buf, (size_t)r);
	}
	hal_uart_posix.close(&u);
	return 0;
}

int
cmd_run(int argc, char **argv)
{
	char path[ZCFG_PATH_MAX + 16], err[512];
	const char *config = NULL;
	bool console = true;
	struct sigaction sa;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config = argv[++i];
		} else if (strcmp(argv[i], "--no-console") == 0) {
			console = false;
		} else {
			fprintf(stderr, "usage: zegel run [--config FILE] [--no-console]\n");
			return 2;
		}
	}
	config_init();
	if (config == NULL) {
		snprintf(path, sizeof(path), "%s/zegel.conf", zcfg_running()->data_dir);
		if (hal_storage()->exists(path) == 1)
			config = path;
	}
	if (config != NULL) {
		if (config_load(config, err, sizeof(err)) != 0) {
			fprintf(stderr, "zegel run: %s\n", err);
			return 1;
		}
		console_set_save_path(config);
	}
	/* No SA_RESTART: a signal interrupts the console read. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	if (console)
		return serve_console();
	while (!stop)
		pause();
	return 0;
}
