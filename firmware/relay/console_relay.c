/*
 * Console commands of the relay: `show relay` and `test relay`.
 *
 *   show relay   the relay settings in force (password shown only as set/unset),
 *                the address the smarthost resolves to, jobs in flight, the
 *                smarthost queue (queue on) 
 *   test relay   connect to the smarthost, STARTTLS (or implicit TLS), verify
 *                the certificate, EHLO, QUIT — sends no mail — and print the
 *                certificate subject, issuer, expiry, TLS version and suite.
 *                It runs as a job on the event loop (at most
 *                RELAY_TEST_TIMEOUT_MS): the prompt comes back at once, SMTP
 *                sessions go on, and the findings are printed as they come
 *                (console_async_puts), ending with "relay: OK" or "relay: FAILED".
 *                A name with DNSSEC-signed addresses gets its TLSA records
 *                looked up and, when usable, checked with DANE (probe.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/console/console.h"
#include "firmware/dns/resolver.h"
#include "firmware/relay/direct.h"
#include "firmware/relay/hostaddr.h"
#include "firmware/relay/shqueue.h"
#include "firmware/spool/queue.h"
#include "firmware/relay/smarthost.h"
#include "zegel/cfg.h"

#define RELAY_TEST_TIMEOUT_MS 15000

static void
emit_line(void *arg, const char *line)
{
	console_async_puts(arg, line);
}

static void
test_done(void *arg, int rc)
{
	(void)rc;
	console_job_end(arg);
}

static int
show_relay(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *cfg = zcfg_running();
	const struct zcfg_relay *r = &cfg->relay;
	struct hal_addr a;
	char err[200], peer[HAL_ADDR_STRLEN + ZCFG_NAME_MAX + 4];

	(void)argc;
	(void)argv;
	(void)line;
	switch (r->kind) {
	case ZCFG_RELAY_OUTBOX:
		console_printf(c, "relay: outbox %s (local files; nothing leaves the box)", r->outbox);
		return 0;
	case ZCFG_RELAY_DIRECT: {
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
		struct hal_addr rs[4];
		unsigned n = resolver_servers(cfg, rs, 4);
		char list[4 * (HAL_ADDR_STRLEN + 8)] = "";

		for (unsigned i = 0; i < n; i++) {
			char a[HAL_ADDR_STRLEN + 8];
			hal_addr_format(&rs[i], true, a, sizeof(a));
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			    i ? ", " : "", a);
		}
		console_printf(c, "relay: direct to each domain's MX, port %u, DANE where TLSA is "
		    "published; without TLSA: %s", r->mx_port ? r->mx_port : 25,
		    r->require_tls ? "TLS required (require-tls on)"
				   : "STARTTLS when offered, else plaintext");
		console_printf(c, "relay: REQUIRETLS messages only over DANE or MTA-STS enforce to a "
		    "next hop offering REQUIRETLS, else 5.7.30; 'TLS-Required: No': %s",
		    r->tls_required_no ? "honoured (delivered without DANE/MTA-STS, "
		    "tls-required-no honour)" : "ignored (tls-required-no ignore)");
		console_printf(c, "relay: validating resolver via %s; trust anchors: %s",
		    n ? list : "(none)", cfg->resolver_anchors[0] ? cfg->resolver_anchors
								  : "built-in IANA root KSKs");
		console_printf(c, "relay: deliveries running: %u; queue: %u messages, %llu octets "
		    "(show queue)", direct_workers_active(), queue_count(),
		    (unsigned long long)queue_bytes());
#else
		console_printf(c, "relay: direct (not built in)");
#endif
		return 0;
	}
	case ZCFG_RELAY_SMARTHOST:
		break;
	}
	console_printf(c, "relay: smarthost %s port %u, %s, %s", r->host,
	    r->port ? r->port : (r->implicit_tls ? 465 : 587),
	    r->implicit_tls ? "implicit TLS" : "STARTTLS required",
	    r->queue ? "queue on (accepted once stored, retried by zegel)" : "sync mode");
	if (r->queue || (queue_is_open() && queue_count() > 0))
		console_printf(c, "relay: queue: %u messages, %llu octets, %u deliveries running "
		    "(show queue)", queue_count(), (unsigned long long)queue_bytes(),
		    shqueue_workers_active());
	console_printf(c, "relay: REQUIRETLS messages only if the smarthost offers REQUIRETLS, "
	    "else 5.7.30");
	console_printf(c, "relay: credentials: %s%s%s", r->username[0] ? "user " : "none",
	    r->username, r->username[0] ? (r->password[0] ? ", password set" : ", NO password") :
	    "");
	console_printf(c, "relay: CA file: %s%s", r->ca_file[0] ? r->ca_file : TLS_CLIENT_DEFAULT_CA,
	    r->ca_file[0] ? "" : " (default)");
	{
		int n = hostaddr_now(r->host, r->port ? r->port : (r->implicit_tls ? 465 : 587), &a,
		    1, err, sizeof(err));

		if (n > 0) {
			smarthost_peer_name(r, &a, peer, sizeof(peer));
			console_printf(c, "relay: connects to %s", peer);
		} else if (n == 0) { /* never a blocking lookup on the console */
			console_printf(c, "relay: addresses of %s from the validating resolver at "
			    "each relay", r->host);
			console_printf(c, "relay: DANE: TLSA at _%u._tcp.%s when its addresses are "
			    "DNSSEC-signed (usable records: DANE, else PKIX)",
			    r->port ? r->port : (r->implicit_tls ? 465 : 587), r->host);
		} else {
			console_printf(c, "relay: %s", err);
		}
	}
	console_printf(c, "relay: messages in flight: %u", smarthost_jobs_active());
	return 0;
}

static int
test_relay(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *cfg = zcfg_running();
	int rc;

	(void)argc;
	(void)argv;
	(void)line;
	if (cfg->relay.kind != ZCFG_RELAY_SMARTHOST) {
		console_puts(c, "test relay: no smarthost configured (set relay smarthost HOST[:PORT])");
		return 1;
	}
	rc = smarthost_probe_start(&cfg->relay, cfg->hostname[0] ? cfg->hostname : "localhost",
	    RELAY_TEST_TIMEOUT_MS, emit_line, test_done, c);
	if (rc == -EBUSY) {
		console_puts(c, "test relay: a test is already running; its result follows");
		return 1;
	}
	if (rc < 0)
		return 1; /* the probe said why */
	console_job_begin(c);
	return 0;
}

static const struct console_cmd relay_cmds[] = {
	{ "show relay", "", "show the relay target and its settings", show_relay },
	{ "test relay", "", "connect to the smarthost, STARTTLS, verify; sends no mail",
	    test_relay },
};

int
relay_console_register(void)
{
	(void)shqueue_console_register(); /* its show status lines */
	return console_register(relay_cmds, sizeof(relay_cmds) / sizeof(relay_cmds[0]));
}
