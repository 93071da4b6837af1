/*
 * zegel check-domain [--config FILE] [--resolver IP[:PORT]] [--anchor FILE]
 *                    [--now UNIXTIME] [--mx-port N] DOMAIN
 * and the console command `check domain NAME`.
 *
 * The checklist of check_domain.h: DNSSEC, DKIM (the keys of the
 * configuration), SPF for the relay path, DMARC, MX/TLSA/DANE, MTA-STS and
 * TLS-RPT, one `pass|warn|fail  CHECK: WHAT` line each, the fixing record
 * under every warn/fail, a summary last. Exit 0 all pass, 1 warnings,
 * 2 failures, 3 usage or setup errors.
 *
 * The CLI reads the keys, the relay mode and the public address from
 * --config (the file `zegel run` reads); its resolvers and anchors too unless
 * --resolver / --anchor are given. The console checks the running
 * configuration, in the background (mail keeps flowing), one check at a time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC) && IS_ENABLED(CONFIG_FEATURE_TLS)
#include "firmware/app/check_domain.h"
#include "firmware/app/tool_loop.h"
#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/dns/dns.h"
#include "firmware/keys/keys.h"
#include "zegel/cfg.h"

#define CD_EXIT_USAGE 3

static int
usage(void)
{
	fprintf(stderr, "usage: zegel check-domain [--config FILE] [--resolver IP[:PORT]] "
			"[--anchor FILE] [--now UNIXTIME] [--mx-port N] DOMAIN\n");
	return CD_EXIT_USAGE;
}

/* A DNS name with at least one label? */
static bool
domain_ok(const char *d)
{
	uint8_t w[DNS_NAME_MAX];
	uint16_t wl;

	return strlen(d) < ZCFG_NAME_MAX && dns_name_from_text(d, w, &wl) == DNS_E_OK && wl > 1;
}

static void
key_error(const struct zcfg_key *k, int err, void *arg)
{
	(void)arg;
	fprintf(stderr, "zegel check-domain: key %s (%s): %s\n", k->selector, k->file,
	    strerror(-err));
}

/* --config FILE: the configuration and its keys; its resolvers and anchors
 * unless the command line named others. */
static int
load_config(const char *path, struct tool_dns *t)
{
	const struct zcfg *c;
	char err[300];

	config_init();
	if (config_load(path, err, sizeof(err)) != 0) {
		fprintf(stderr, "zegel check-domain: %s\n", err);
		return -1;
	}
	c = zcfg_running();
	(void)keys_load_config(c, key_error, NULL);
	if (t->cfg.nresolvers == 0) {
		memcpy(t->cfg.resolvers, c->resolvers, sizeof(c->resolvers));
		t->cfg.nresolvers = c->nresolvers;
	}
	if (t->cfg.resolver_anchors[0] == '\0')
		memcpy(t->cfg.resolver_anchors, c->resolver_anchors, sizeof(c->resolver_anchors));
	return 0;
}

/* --mx-port N or --config FILE (not a DNS option): 1 taken, -1 bad. */
static int
own_option(int argc, char **argv, int *i, const char **conf, uint16_t *port)
{
	char *end;
	long v;

	if (*i + 1 >= argc)
		return -1;
	if (strcmp(argv[*i], "--config") == 0) {
		*conf = argv[++*i];
		return 1;
	}
	if (strcmp(argv[*i], "--mx-port") != 0)
		return -1;
	v = strtol(argv[++*i], &end, 10);
	if (*end || end == argv[*i] || v < 1 || v > 65535) {
		fprintf(stderr, "zegel check-domain: bad --mx-port '%s'\n", argv[*i]);
		return -1;
	}
	*port = (uint16_t)v;
	return 1;
}

int
cmd_check_domain(int argc, char **argv)
{
	static struct tool_dns t;	/* large (a struct zcfg): .bss */
	struct cd_opts op = { .helo = "localhost", .budget_ms = CD_BUDGET_MS };
	const char *conf = NULL;
	int i, k, rc = 2;

	t.prog = "zegel check-domain";
	t.server_opt = "--resolver";
	t.with_now = true;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if ((k = tool_dns_option(&t, argc, argv, &i)) < 0)
			return CD_EXIT_USAGE;
		if (k == 0 && own_option(argc, argv, &i, &conf, &op.mx_port) < 0)
			return usage();
	}
	if (argc - i != 1)
		return usage();
	if (!domain_ok(argv[i])) {
		fprintf(stderr, "zegel check-domain: bad domain '%s'\n", argv[i]);
		return CD_EXIT_USAGE;
	}
	if (conf != NULL && load_config(conf, &t) != 0)
		return CD_EXIT_USAGE;
	op.cfg = conf != NULL ? zcfg_running() : NULL;
	if (op.cfg != NULL && op.mx_port == 0)
		op.mx_port = op.cfg->relay.mx_port;
	if (op.cfg != NULL && op.cfg->hostname[0])
		op.helo = op.cfg->hostname;
	if (tool_dns_start(&t, true) != 0)
		return CD_EXIT_USAGE;
	if (check_domain_start(argv[i], &op, tool_emit_stdout, NULL, tool_done_rc, &rc) != 0)
		return CD_EXIT_USAGE;
	if (tool_loop_run(CD_BUDGET_MS + 480000u) != 0) {
		printf("summary: %s: no verdict in time\n", argv[i]);
		return 2;
	}
	return rc;
}

/* ------------------------------------------------------------ console */

static void
emit_console(void *arg, const char *line)
{
	console_async_puts(arg, line);
}

static void
console_done(void *arg, int rc)
{
	(void)rc;
	console_job_end(arg);
}

static int
console_check_domain(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *cfg = zcfg_running();
	struct cd_opts op = { .cfg = cfg, .mx_port = cfg->relay.mx_port,
		.helo = cfg->hostname[0] ? cfg->hostname : "localhost",
		.budget_ms = CD_CONSOLE_BUDGET_MS };

	(void)line;
	if (argc != 1) {
		console_puts(c, "check domain: usage: check domain NAME");
		return 1;
	}
	if (!domain_ok(argv[0])) {
		console_printf(c, "check domain: bad domain '%s'", argv[0]);
		return 1;
	}
	if (check_domain_running()) {
		console_puts(c, "check domain: a check is running; try again when it has finished");
		return 1;
	}
	console_job_begin(c);
	if (check_domain_start(argv[0], &op, emit_console, c, console_done, c) != 0) {
		console_job_end(c);
		console_printf(c, "check domain: cannot start the check of '%s'", argv[0]);
		return 1;
	}
	return 0;
}

static const struct console_cmd check_cmds[] = {
	{ "check domain", "NAME",
	    "DNSSEC, DKIM, SPF, DMARC, MX/DANE, MTA-STS, TLS-RPT of NAME as a pass/warn/fail "
	    "checklist with the records that fix it; runs in the background",
	    console_check_domain },
};

int
check_domain_console_register(void)
{
	return console_register(check_cmds, sizeof(check_cmds) / sizeof(check_cmds[0]));
}

#else

int
cmd_check_domain(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel check-domain: this firmware was built without DNSSEC or TLS support\n");
	return 3;
}

#endif
