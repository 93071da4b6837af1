/*
 * zegel run: the appliance. One event loop (firmware/core/loop.c) carries
 * the console (stdin), the SMTP listeners and sessions, and the relay.
 *
 *   zegel run [--config FILE] [--no-console]
 *
 * Start: load FILE (the `set` lines; missing file = defaults; a key file
 * that is missing or no key fails the commit: keys are made only by `key
 * generate` or `zegel keygen`), generate the TLS certificate if absent,
 * load the keys and their states (console_keys.c), open the listeners. A commit on the console re-applies
 * keys, TLS and listeners (open sessions continue). SIGINT/SIGTERM or
 * `exit` on the console stop it: sessions get 421 and are closed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/app/commands.h"
#include "firmware/app/targets.h"
#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/keys/keys.h"
#include "firmware/relay/direct.h"
#include "firmware/relay/outbox.h"
#include "firmware/relay/smarthost.h"
#include "firmware/spool/msg.h"
#include "firmware/spool/queue.h"
#include "firmware/syslog/syslog.h"
#include "firmware/time/ntp.h"
#include "firmware/smtpd/conn.h"
#include "firmware/smtpd/server.h"
#include "hal/crypto.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "hal/uart.h"
#include "zegel/board.h"

#define LOGM "run"

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
	loop_stop();
}

static void
key_error(const struct zcfg_key *k, int err, void *arg)
{
	(void)arg;
	hal_log(HAL_LOG_ERR, LOGM, "key %s for %s (%s) not loaded: %s", k->selector, k->domain,
	    k->file, strerror(-err));
}

static void
apply_keys(const struct zcfg *cfg)
{
	hal_log_set_level((enum hal_log_level)cfg->log_level);
	keys_load_config(cfg, key_error, NULL);
	keys_app_apply(cfg);
}

/* The queue and its delivery workers: in direct mode, and in any mode while
 * a queue from an earlier direct mode still holds messages (accepted mail is
 * delivered even after the mode changed). */
static void
apply_direct(const struct zcfg *cfg)
{
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
	char dir[ZCFG_PATH_MAX + 16], err[200];

	snprintf(dir, sizeof(dir), "%s/queue", cfg->data_dir);
	if (cfg->relay.kind != ZCFG_RELAY_DIRECT && hal_storage_exists(dir) != 1)
		return;
	if (direct_start(cfg, err, sizeof(err)) < 0)
		hal_log(HAL_LOG_ERR, LOGM, "queue in %s not started: %s", dir, err);
#else
	(void)cfg;
#endif
}

/* config_on_commit hook: keys, TLS material, listeners and the queue again. */
static void
on_commit(const struct zcfg *cfg, void *arg)
{
	(void)arg;
	apply_keys(cfg);
	resolver_configure(cfg);
	ntp_configure(cfg);
	syslog_configure(cfg);
	smtpd_server_reload(cfg);
	apply_direct(cfg);
}

/* ------------------------------------------------------------ log */

/* Log lines a slow console could not take yet (hal/log.h): written from a
 * short timer, never by blocking the loop. One timer at a time. */
static bool log_timer_armed;

static void log_drain_tick(void *arg);

static void
log_waiting(void *arg)
{
	(void)arg;
	if (!log_timer_armed && loop_timer_add(50, log_drain_tick, NULL) >= 0)
		log_timer_armed = true;
}

static void
log_drain_tick(void *arg)
{
	log_timer_armed = false;
	if (hal_log_drain() > 0)
		log_waiting(arg);
}

/* ------------------------------------------------------------ console */

static struct console con;
static struct hal_uart uart;

static void
uart_out(void *arg, const uint8_t *p, size_t n)
{
	hal_uart_write(arg, p, n);
}

static int con_h = -1;

/* Piped input ended: stop once the console's jobs printed their results. */
static void
stop_when_idle(void *arg)
{
	(void)arg;
	if (console_busy(&con) && loop_timer_add(50, stop_when_idle, NULL) >= 0)
		return;
	loop_stop();
}

static void
con_input(void *arg, int fd, unsigned revents)
{
	uint8_t buf[256];
	ssize_t n;

	(void)arg;
	(void)fd;
	(void)revents;
	n = hal_uart_read(&uart, buf, sizeof(buf));
	if (n == -EAGAIN || n == -EINTR)
		return;
	if (n <= 0) { /* end of input (Ctrl-D) or error */
		console_eof(&con);
		loop_close(con_h);
		stop_when_idle(NULL); /* after the output of `test relay` & co */
		return;
	}
	console_push(&con, buf, (size_t)n);
	if (console_wants_exit(&con))
		loop_stop();
}

static int
console_start(void)
{
	int rc = hal_uart_open(&uart, board.console_device, true);

	if (rc != 0) {
		fprintf(stderr, "zegel run: cannot open console %s: %s\n", board.console_device,
		    strerror(-rc));
		return rc;
	}
	console_init(&con, uart_out, &uart, uart.raw);
	/* log lines print above the line being typed, never into it */
	if (uart.raw)
		hal_log_set_console(console_input_hide, console_input_show, &con);
	console_prompt(&con);
	if ((rc = con_h = loop_watch_fd(hal_uart_handle(&uart), con_input, NULL)) < 0) {
		hal_uart_close(&uart);
		return rc;
	}
	return 0;
}

static void
status_sessions(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	char line[128];
	unsigned peak, open = smtpd_server_sessions(&peak);

	snprintf(line, sizeof(line), "smtp sessions: %u open, %u peak, %d max", open, peak,
	    CONFIG_MAX_SESSIONS);
	(void)arg;
	emit(emit_arg, line);
}

int
cmd_run(int argc, char **argv)
{
	const char *conf = NULL;
	bool no_console = false;
	char err[512], path[ZCFG_PATH_MAX + 16];
	struct sigaction sa;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "--no-console") == 0)
			no_console = true;
		else {
			fprintf(stderr, "usage: zegel run [--config FILE] [--no-console]\n");
			return 2;
		}
	}
	config_init();
	if (conf == NULL) {
		snprintf(path, sizeof(path), "%s/zegel.conf", zcfg_running()->data_dir);
		if (hal_storage_exists(path) == 1)
			conf = path;
	}
	keys_app_init(conf);
	if (conf != NULL) {
		int n = config_clean_temps(conf);

		if (n > 0)
			hal_log(HAL_LOG_WARN, LOGM, "removed %d unfinished save(s) of %s "
			    "(interrupted by a power cut or a kill)", n, conf);
		/* a file that does not parse stops the start: never half-configured */
		if (config_load(conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "zegel run: %s\n", err);
			return 1;
		}
		console_set_save_path(conf);
	}
	/* No SA_RESTART: a signal interrupts poll(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	loop_init();
	hal_log_set_notify(log_waiting, NULL);
	syslog_configure(zcfg_running()); /* first: the collector gets the start too */
	clock_log_boot();
	hal_crypto_log_verdicts(); /* what each crypto probe found, who hashes what */
	(void)resolver_init(); /* its context is allocated at the first lookup */
	resolver_configure(zcfg_running());
	apply_keys(zcfg_running());
	smtpd_set_target_picker(app_relay_target);
	/* files of sessions a kill or power cut ended: never acknowledged */
	spool_msg_sweep(zcfg_running()->data_dir);
	relay_outbox_sweep(zcfg_running());
	smtpd_server_start(zcfg_running());
	apply_direct(zcfg_running());
	config_on_commit(on_commit, NULL);
	console_register_status(status_sessions, NULL);
	relay_console_register();
	ntp_console_register();
	syslog_status_register();
	ntp_configure(zcfg_running());
	dane_console_register();
	check_domain_console_register();
	queue_console_register();
	keys_console_register();
	crypto_console_register();
	if (!no_console && console_start() != 0)
		return 1;
	rc = loop_run();
	hal_log_set_notify(NULL, NULL); /* the loop is gone: exit flushes the rest */
	if (got_signal)
		hal_log(HAL_LOG_INFO, LOGM, "signal %d: stopping", (int)got_signal);
	ntp_stop();
	smtpd_server_stop();
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
	direct_stop();
#endif
	keys_unload();
	hal_log_set_console(NULL, NULL, NULL);
	syslog_stop();
	if (!no_console)
		hal_uart_close(&uart);
	return rc < 0 ? 1 : 0;
}
