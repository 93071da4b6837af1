/*
 * zegel sts-check: the MTA-STS policy (RFC 8461) of a domain, as direct
 * delivery would find it (firmware/relay/sts.h: _mta-sts TXT through
 * zegel's validating resolver, the policy over HTTPS verified against the
 * CA bundle), and the verdict for each of the domain's MX hosts. Sends no
 * mail. With --data-dir the daemon's cache is read and refreshed as the
 * daemon would; without it nothing is written.
 * Exit 0: a policy was found (any mode); 1: none, or it could not be had.
 * On the console: `sts-check DOMAIN`, one at a time, in the background: a
 * fresh lookup and fetch (the delivery cache is neither read nor written),
 * lines printed as they are known.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "firmware/app/tool_loop.h"
#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/dns/resolver.h"
#include "firmware/dns/wire.h"
#include "firmware/relay/hostplan.h"
#include "firmware/relay/sts.h"
#include "firmware/relay/sts_refresh.h"

static struct sts_req sq;
static int rc = 1;
/* where the lines go: stdout (the tool) or a console */
static void (*emit)(void *arg, const char *line);
static void *emit_arg;
static void (*job_done)(void *arg, int rc);
static bool running;

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(emit_arg, line);
}

static void
end(void)
{
	running = false;
	job_done(emit_arg, rc);
}

static void
on_mx(void *arg, const struct dns_result *res)
{
	char name[ZCFG_NAME_MAX], why[240];
	unsigned n = 0;

	(void)arg;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		say("mta-sts: MX %s is %s: %s", sq.domain, dns_status_str(res->status),
		    res->reason);
		end();
		return;
	}
	for (unsigned k = 0; k < res->nrr; k++) {
		const struct dns_result_rr *rr = &res->rr[k];
		const uint8_t *rd = res->data + rr->rd_off;
		enum sts_host h;

		if (rr->type != DNS_T_MX || rr->rdlen < 3 ||
		    dns_name_len(rd + 2, rr->rdlen - 2) != (size_t)rr->rdlen - 2 ||
		    !hostplan_name(rd + 2, name, sizeof(name)) || name[0] == '\0')
			continue;
		n++;
		h = sts_host_check(&sq, name, why, sizeof(why));
		say("mta-sts: MX %u %s: %s", (unsigned)(rd[0] << 8 | rd[1]), name,
		    h == STS_HOST_PKIX ? "matches: TLS required, certificate PKIX-valid for the "
					 "MX name (unless it publishes usable TLSA: DANE first)"
		    : h == STS_HOST_REFUSE ? "does not match any mx pattern: never used (4.7.5)"
		    : h == STS_HOST_REPORT ? "does not match any mx pattern: used anyway "
					     "(testing), logged"
					   : "no MTA-STS constraint");
	}
	if (n == 0)
		say("mta-sts: %s has no MX host", sq.domain);
	end();
}

static void
on_sts(void *arg, struct sts_req *q)
{
	(void)arg;
	if (q->txt_id[0])
		say("mta-sts: _mta-sts.%s id=%s", q->domain, q->txt_id);
	say("mta-sts: %s", q->why);
	if (!q->have) {
		say("mta-sts: no policy applies: delivery as without MTA-STS");
		end();
		return;
	}
	rc = 0;
	say("mta-sts: policy: mode %s, max_age %u", sts_mode_str(q->pol.mode),
	    (unsigned)q->pol.max_age);
	for (unsigned i = 0; i < q->pol.nmx; i++)
		say("mta-sts: policy: mx %s", q->pol.mx[i]);
	if (resolver_lookup(q->domain, DNS_T_MX, on_mx, NULL) < 0)
		end();
}

int
cmd_sts_check(int argc, char **argv)
{
	static struct tool_dns t;	/* large (a struct zcfg): .bss, filled here */
	const struct tls_client_conf *cc;
	const char *ca = NULL, *data_dir = NULL, *domain = NULL;
	char err[200];
	int i, k;

	t.prog = "sts-check";
	t.server_opt = "--resolver";
	t.with_now = false;
	for (i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "--ca-file") == 0 || strcmp(argv[i], "--ca") == 0) &&
		    i + 1 < argc)
			ca = argv[++i];
		else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
			data_dir = argv[++i];
		else if ((strcmp(argv[i], "--https-port") == 0 || strcmp(argv[i], "--port") == 0) &&
		    i + 1 < argc)
			sq.port = (uint16_t)strtoul(argv[++i], NULL, 10);
		else if ((k = tool_dns_option(&t, argc, argv, &i)) < 0)
			return 2;
		else if (k > 0)
			continue;
		else if (argv[i][0] != '-' && domain == NULL)
			domain = argv[i];
		else {
			fprintf(stderr, "usage: zegel sts-check [--resolver IP[:PORT]] [--anchor FILE] "
			    "[--ca-file FILE] [--data-dir DIR] [--https-port N] DOMAIN\n");
			return 2;
		}
	}
	if (domain == NULL) {
		fprintf(stderr, "sts-check: no domain given\n");
		return 2;
	}
	if (tool_dns_start(&t, false) < 0)
		return 2;
	if (sts_tls_conf_get(ca, &cc, err, sizeof(err)) < 0) {
		fprintf(stderr, "sts-check: CA bundle: %s\n", err);
		return 2;
	}
	emit = tool_emit_stdout;
	emit_arg = &rc;
	job_done = tool_done_rc;
	running = true;
	if (sts_start(&sq, domain, data_dir, cc, on_sts, NULL) < 0) {
		printf("mta-sts: %s\n", sq.why);
		return 1;
	}
	if (tool_loop_run(180000u) != 0) {
		printf("mta-sts: FAILED: no verdict in time\n");
		return 1;
	}
	return rc;
}

/* ------------------------------------------------------------ console */

static void
console_emit(void *arg, const char *line)
{
	console_async_puts(arg, line);
}

static void
console_done(void *arg, int r)
{
	(void)r;
	sts_tls_conf_put();
	console_job_end(arg);
}

static int
console_sts_check(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *cfg = zcfg_running();
	const struct tls_client_conf *cc;
	char err[200], path[ZCFG_PATH_MAX + ZCFG_NAME_MAX + 8];

	(void)line;
	if (argc != 1) {
		console_puts(c, "sts-check: usage: sts-check DOMAIN");
		return 1;
	}
	if (sts_cache_path("/", argv[0], path, sizeof(path)) < 0 ||
	    strlen(argv[0]) >= sizeof(sq.domain)) {
		console_printf(c, "sts-check: bad domain '%s'", argv[0]);
		return 1;
	}
	if (running) {
		console_puts(c, "sts-check: a check is running; try again when it is done");
		return 1;
	}
	if (sts_tls_conf_get(cfg->relay.ca_file, &cc, err, sizeof(err)) < 0) {
		console_printf(c, "sts-check: CA bundle: %s", err);
		return 1;
	}
	emit = console_emit;
	emit_arg = c;
	job_done = console_done;
	rc = 1;
	sq.port = 0; /* 443 */
	if (sts_start(&sq, argv[0], NULL, cc, on_sts, NULL) < 0) {
		sts_tls_conf_put();
		console_printf(c, "sts-check: %s", sq.why);
		return 1;
	}
	running = true;
	console_job_begin(c);
	return 0;
}

static int
console_sts_refresh(struct console *c, int argc, char **argv, const char *line)
{
	char err[200];

	(void)argc;
	(void)argv;
	(void)line;
	if (sts_refresh_now(err, sizeof(err)) < 0) {
		console_printf(c, "sts-refresh: %s", err);
		return 1;
	}
	console_puts(c, "sts-refresh: cached policies close to max_age are fetched again in the "
	    "background (see the log)");
	return 0;
}

static const struct console_cmd sts_cmds[] = {
	{ "sts-check", "DOMAIN",
	    "the MTA-STS policy of DOMAIN (fetched over HTTPS with the relay's CA file) and the "
	    "verdict per MX; sends no mail; runs in the background", console_sts_check },
	{ "sts-refresh", "",
	    "fetch again now the cached MTA-STS policies with less than a quarter of max_age "
	    "left (as the hourly refresh does)", console_sts_refresh },
};

int
sts_console_register(void)
{
	return console_register(sts_cmds, sizeof(sts_cmds) / sizeof(sts_cmds[0]));
}
