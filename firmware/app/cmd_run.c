/*
 * zegel run: the appliance. One event loop (firmware/core/loop.c) carries
 * the console (stdin), the SMTP listeners and sessions, and the relay.
 *
 *   zegel run [--config FILE] [--no-console] [--user NAME] [--allow-root]
 *
 * Privilege separation (firmware/privsep/privsep.h): the key holder is
 * forked first; once the listeners are bound and the console is open this
 * process becomes NAME (default CONFIG_PRIVSEP_USER), under a seccomp
 * filter (the user right after the fork, the seal and the filter before the
 * console opens and the loop runs). --allow-root (or ZEGEL_ALLOW_ROOT=1) keeps root: a test mode.
 *
 * Start: load FILE (the `set` lines; no file = defaults; a key file
 * that is missing or no key fails the commit: keys are made only by `key
 * generate` or `zegel keygen`). A file that does not load never stops the
 * start: zegel comes up with FILE.good (the last file a start loaded), else
 * FILE.1 .. .3, else the defaults, and says so loudly (load_start_config).
 * Then it generates zegel's own TLS certificate if absent or naming another
 * host (TLS files an admin named are only read), loads the keys and their
 * states (keys_app.c), opens the listeners (a port in use is retried every
 * 10 s). A commit on the console applies listeners, keys, TLS and the rest
 * all or nothing (apply_commit; open sessions continue); console commits
 * also refuse missing or mismatched TLS files (tls_check.c). SIGINT/SIGTERM or
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
#include "firmware/privsep/privsep.h"
#include "firmware/relay/direct.h"
#include "firmware/relay/outbox.h"
#include "firmware/relay/shqueue.h"
#include "firmware/relay/smarthost.h"
#include "firmware/relay/sts_refresh.h"
#include "firmware/relay/tlsrpt_run.h"
#include "firmware/spool/gcommit.h"
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
	hal_log(HAL_LOG_ERR, LOGM, "key %s for %s (%s) not loaded: %s%s", k->selector, k->domain,
	    k->file,
	    err == -ENODEV	   ? "the TPM cannot be reached (see the tpm2 line)"
	    : err == -EKEYREJECTED ? "the TPM refused the key blob"
				   : strerror(-err),
	    "; mail for the domain gets 451 until it loads");
}

/* `set tpm device` to the key holder, before any TPM key (DKIM or TLS) */
static void
apply_tpm(const struct zcfg *cfg)
{
	int rc = privsep_tpm_device(cfg->tpm_device);

	if (rc != 0 && rc != -ENOTSUP)
		hal_log(HAL_LOG_ERR, LOGM, "tpm device %s not taken by the key holder: %s",
		    cfg->tpm_device, strerror(-rc));
	else if (rc == -ENOTSUP && cfg->tpm_device[0])
		hal_log(HAL_LOG_ERR, LOGM, "tpm device %s: this build has no TPM support",
		    cfg->tpm_device);
}

static void
apply_keys(const struct zcfg *cfg)
{
	hal_log_set_level((enum hal_log_level)cfg->log_level);
	apply_tpm(cfg);
	keys_load_config(cfg, key_error, NULL);
	keys_app_apply(cfg);
}

/* The queue and who delivers it: in direct mode the direct workers; in
 * smarthost mode the smarthost queue (relay/shqueue.h), with `queue on` or
 * while a queue from earlier may still hold messages; in other modes the
 * direct workers while a queue from an earlier mode is there (accepted mail
 * is delivered even after the mode changed). One side at a time: the other
 * is stopped first (its jobs in flight go back to the queue). */
static void
apply_direct(const struct zcfg *cfg)
{
	char dir[ZCFG_PATH_MAX + 16], err[200];

	snprintf(dir, sizeof(dir), "%s/queue", cfg->data_dir);
	(void)err;
#if IS_ENABLED(CONFIG_FEATURE_RELAY_SMARTHOST)
	if (cfg->relay.kind == ZCFG_RELAY_SMARTHOST &&
	    (cfg->relay.queue || hal_storage_exists(dir) == 1)) {
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
		direct_stop();
#endif
		if (shqueue_start(cfg, err, sizeof(err)) < 0)
			hal_log(HAL_LOG_ERR, LOGM, "queue in %s not started: %s", dir, err);
		return;
	}
	shqueue_stop();
#endif
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
	if (cfg->relay.kind != ZCFG_RELAY_DIRECT && hal_storage_exists(dir) != 1)
		return;
	if (direct_start(cfg, err, sizeof(err)) < 0)
		hal_log(HAL_LOG_ERR, LOGM, "queue in %s not started: %s", dir, err);
	tlsrpt_configure(cfg); /* TLS-RPT counts direct delivery's sessions */
	sts_refresh_configure(cfg); /* cached MTA-STS policies refreshed before they expire */
#endif
}

/* config_set_apply: a commit. The listeners first: the one step that can
 * fail (a port in use, an address not on this host), and all or nothing;
 * after it nothing fails, so the commit is atomic. */
static int
apply_commit(const struct zcfg *cfg, char *err, size_t cap)
{
	apply_tpm(cfg); /* the TLS key may be in the TPM */
	if (smtpd_server_apply(cfg, err, cap) < 0) {
		hal_log(HAL_LOG_WARN, LOGM, "commit not applied, rolled back: %s", err);
		return -1;
	}
	apply_keys(cfg);
	resolver_configure(cfg);
	ntp_configure(cfg);
	syslog_configure(cfg);
	apply_direct(cfg);
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	app_lwip_commit(cfg);
#endif
	return 0;
}

/* ------------------------------------------------------------ start-up file */

/* Why the configuration file did not load at start ("" when it did), for
 * the banner and `show status`. */
static char boot_error[600];
static char boot_used[ZCFG_PATH_MAX + 24];

/*
 * Load the start-up file. A file that does not load (a line that does not
 * parse, a key file gone) must not stop the start: init would restart zegel
 * forever and nobody could reach the console to fix it. Fall back to the
 * last file a start loaded (<conf>.good), then the saved generations
 * (<conf>.1 .. .3), then the defaults, and say so loudly.
 */
static void
load_start_config(const char *conf)
{
	char err[512], fb[ZCFG_PATH_MAX + 24], ferr[512];
	static const unsigned order[] = { CONFIG_GEN_GOOD, 1, 2, 3 };

	if (config_load(conf, err, sizeof(err)) == 0)
		return;
	snprintf(boot_error, sizeof(boot_error), "%s", err);
	snprintf(boot_used, sizeof(boot_used), "the defaults");
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (config_generation_path(conf, order[i], fb, sizeof(fb)) != 0 ||
		    hal_storage_exists(fb) != 1)
			continue;
		if (config_load(fb, ferr, sizeof(ferr)) == 0) {
			snprintf(boot_used, sizeof(boot_used), "%s", fb);
			break;
		}
		hal_log(HAL_LOG_ERR, LOGM, "fallback %s does not load either: %s", fb, ferr);
	}
	config_mark_unsaved(); /* exit warns: the file still does not load */
	fprintf(stderr,
	    "\n"
	    "**********************************************************************\n"
	    "*** CONFIGURATION NOT LOADED: %s\n"
	    "*** zegel runs with %s instead.\n"
	    "*** Fix it on this console (show running, set ..., commit), then save:\n"
	    "*** save writes %s (the file that failed is kept as %s.1).\n"
	    "**********************************************************************\n",
	    boot_error, boot_used, conf, conf);
	hal_log(HAL_LOG_ERR, LOGM, "configuration not loaded: %s; running with %s", boot_error,
	    boot_used);
}

static void
status_boot(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	char line[sizeof(boot_error) + sizeof(boot_used) + 64];

	(void)arg;
	if (boot_error[0] == 0)
		return;
	snprintf(line, sizeof(line), "start-up: CONFIGURATION NOT LOADED: %s; running with %s",
	    boot_error, boot_used);
	emit(emit_arg, line);
}

static void
status_listeners(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	(void)arg;
	smtpd_server_listeners(emit, emit_arg);
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
	{
		unsigned long batches, files;

		gcommit_counts(&batches, &files);
		snprintf(line, sizeof(line), "group commit: %lu files made durable in %lu batches",
		    files, batches);
		emit(emit_arg, line);
	}
}

int
cmd_run(int argc, char **argv)
{
	const char *conf = NULL;
	bool no_console = false;
	char path[ZCFG_PATH_MAX + 16];
	struct sigaction sa;
	struct privsep_opts ps = { NULL, false, NULL };
	const char *env_root = getenv("ZEGEL_ALLOW_ROOT");
	char why[400];
	bool loaded = false;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "--no-console") == 0)
			no_console = true;
		else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			ps.user = argv[++i];
		else if (strcmp(argv[i], "--allow-root") == 0)
			ps.allow_root = true;
		else {
			fprintf(stderr, "usage: zegel run [--config FILE] [--no-console] "
					"[--user NAME] [--allow-root]\n");
			return 2;
		}
	}
	if (env_root != NULL && strcmp(env_root, "1") == 0)
		ps.allow_root = true;
	/* first: the key holder holds nothing of the network's, and every key
	 * this process loads from here on is one the key holder loaded */
	if (privsep_start(why, sizeof(why)) != 0) {
		fprintf(stderr, "zegel run: key holder not started: %s\n", why);
		return 1;
	}
	/* then root goes: what the start creates belongs to the user */
	if (privsep_drop_user(&ps, why, sizeof(why)) != 0) {
		fprintf(stderr, "zegel run: not started: %s\n", why);
		return 1;
	}
	config_init();
	if (conf != NULL && hal_storage_exists(conf) != 1) {
		fprintf(stderr, "zegel run: %s: cannot read: %s\n", conf, strerror(ENOENT));
		return 1;
	}
	/* `save` always writes the file the next start reads (--config, else
	 * the board's <data-dir>/zegel.conf), even after `set data-dir`: the
	 * file carries that setting to the next start */
	if (conf == NULL)
		snprintf(path, sizeof(path), "%s/zegel.conf", zcfg_running()->data_dir);
	else
		snprintf(path, sizeof(path), "%s", conf);
	keys_app_init(path);
	console_set_save_path(path);
	ps.save_path = path; /* Landlock: `save` writes beside it */
	if (hal_storage_exists(path) == 1) {
		int n = config_clean_temps(path);

		if (n > 0)
			hal_log(HAL_LOG_WARN, LOGM, "removed %d unfinished save(s) of %s "
			    "(interrupted by a power cut or a kill)", n, path);
		load_start_config(path);
		loaded = boot_error[0] == 0;
	}
	/* From now on commits also check the TLS material (a start with bad TLS
	 * files logs it and runs without TLS: never a router that cannot boot) */
	config_set_commit_check(app_commit_check);
	/* No SA_RESTART: a signal interrupts poll(). */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	/* lwIP's threads start here, after the key holder's fork; a bad
	 * interface leaves the console up to fix it */
	(void)app_lwip_start(zcfg_running());
#endif
	loop_init();
	privsep_watch();
	hal_log_set_notify(log_waiting, NULL);
	syslog_configure(zcfg_running()); /* first: the collector gets the start too */
	clock_log_boot();
	hal_crypto_log_verdicts(); /* what each crypto probe found, who hashes what */
	(void)resolver_init(); /* its context is allocated at the first lookup */
	resolver_configure(zcfg_running());
	apply_keys(zcfg_running());
	smtpd_set_target_picker(app_relay_target);
	smtpd_set_tls_key_loader(app_tls_tpm_key);
	/* files of sessions a kill or power cut ended: never acknowledged */
	spool_msg_sweep(zcfg_running()->data_dir);
	gcommit_enable(true);   /* group commit of spool and outbox files (issue 22) */
	relay_outbox_sweep(zcfg_running());
	smtpd_server_start(zcfg_running());
	apply_direct(zcfg_running());
	config_set_apply(apply_commit);
	console_register_status(status_boot, NULL);
	console_register_status(privsep_status, NULL);
	console_register_status(status_listeners, NULL);
	console_register_status(status_sessions, NULL);
	app_status_register();
	relay_console_register();
	ntp_console_register();
	syslog_status_register();
	ntp_configure(zcfg_running());
#if IS_ENABLED(CONFIG_FEATURE_DNSSEC) && IS_ENABLED(CONFIG_FEATURE_TLS)
	dane_console_register();
	check_domain_console_register();
	sts_console_register();
#endif
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
	tlsrpt_console_register();
#endif
	queue_console_register();
	keys_console_register();
	crypto_console_register();
#if IS_ENABLED(CONFIG_FEATURE_TLS)
	tls_console_register();
#endif
	lwip_console_register();
	/* the listeners are bound, the keys loaded: seal and confine before
	 * the loop reads a byte (and before the prompt, so these log lines
	 * come above it) */
	if (privsep_confine(zcfg_running(), &ps, why, sizeof(why)) != 0) {
		fprintf(stderr, "zegel run: not started: %s\n", why);
		hal_log(HAL_LOG_ERR, LOGM, "not started: %s", why);
		return 1;
	}
	if (!no_console && console_start() != 0)
		return 1;
	if (loaded) { /* this file started: the first fallback of the next start */
		char good[ZCFG_PATH_MAX + 24], gerr[320];

		if (config_generation_path(path, CONFIG_GEN_GOOD, good, sizeof(good)) == 0 &&
		    config_copy_file(path, good, gerr, sizeof(gerr)) != 0)
			hal_log(HAL_LOG_WARN, LOGM, "cannot keep %s: %s", good, gerr);
	}
	rc = loop_run();
	hal_log_set_notify(NULL, NULL); /* the loop is gone: exit flushes the rest */
	if (got_signal)
		hal_log(HAL_LOG_INFO, LOGM, "signal %d: stopping", (int)got_signal);
	ntp_stop();
	smtpd_server_stop();
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
	tlsrpt_stop();
	sts_refresh_stop();
	direct_stop();
#endif
	shqueue_stop();
	keys_unload();
	hal_log_set_console(NULL, NULL, NULL);
	syslog_stop();
	if (!no_console)
		hal_uart_close(&uart);
	return rc < 0 ? 1 : 0;
}
