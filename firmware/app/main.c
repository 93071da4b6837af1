/*
 * zegel — one binary, many subcommands: `zegel <command> [args]`.
 * The table below is the only list of commands; `zegel help` prints it.
 */
#include <stdio.h>
#include <string.h>

#include "hal/clock.h"
#include "firmware/app/commands.h"
#include "zegel/board.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *usage;
	const char *summary;
};

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
	{ "help", cmd_help, "help [COMMAND]", "list the commands, or show one's usage" },
	{ "version", cmd_version, "version",
	    "print the versions (zegel, firmware image, kernel), board and enabled features" },
	{ "selftest", cmd_selftest, "selftest [-v]",
	    "known-answer tests of the crypto (SHA, RSA, ECDSA, Ed25519) through the HAL" },
	{ "run", cmd_run, "run [--config FILE] [--no-console] [--user NAME] [--allow-root]",
	    "start the appliance: console, listeners, relay" },
	{ "sign", cmd_sign,
	    "sign -d DOMAIN --key SELECTOR:KEYFILE [--key ...] [-c HEADER/BODY] [--time UNIX] [INFILE]",
	    "DKIM-sign a message, write it to stdout" },
	{ "keygen", cmd_keygen,
	    "keygen -t rsa|ed25519 [-b BITS] [--tpm] -d DOMAIN -s SELECTOR [-o DIR]",
	    "generate a DKIM key and its DNS record" },
	{ "dnsrecord", cmd_dnsrecord, "dnsrecord -d DOMAIN -s SELECTOR -k KEYFILE",
	    "print the DKIM DNS record for an existing key" },
	{ "resolve", cmd_resolve,
	    "resolve [--resolver IP[:PORT] ...] [--anchor FILE] [--now UNIXTIME] [--tcp] TYPE NAME",
	    "look up and DNSSEC-validate a record" },
	{ "dane-check", cmd_dane_check,
	    "dane-check [--resolver IP[:PORT]] [--anchor FILE] [--now UNIXTIME] [--mx-port N] DOMAIN",
	    "how mail to DOMAIN would be delivered: MX, TLSA, STARTTLS, DANE; sends no mail" },
	{ "check-domain", cmd_check_domain,
	    "check-domain [--config FILE] [--resolver IP[:PORT]] [--anchor FILE] [--now UNIXTIME] "
	    "[--mx-port N] DOMAIN",
	    "DNSSEC, DKIM, SPF, DMARC, DANE, MTA-STS, TLS-RPT of DOMAIN: a pass/warn/fail checklist" },
	{ "spf", cmd_spf,
	    "spf [--resolver IP[:PORT]] [--anchor FILE] [--now UNIXTIME] [--helo NAME] IP DOMAIN-or-SENDER",
	    "RFC 7208 SPF check_host(): may IP send for the domain (exit 0 pass, 1 fail, 3 softfail, "
	    "4 neutral, 5 none, 6 permerror, 7 temperror)" },
	{ "relay-check", cmd_relay_check,
	    "relay-check [--ca-file FILE] [--implicit] [--helo NAME] [--timeout S] "
	    "[--resolver IP[:PORT]] [--anchor FILE] HOST[:PORT]",
	    "connect to a smarthost, STARTTLS, verify its certificate; sends no mail" },
	{ "sts-check", cmd_sts_check,
	    "sts-check [--resolver IP[:PORT]] [--anchor FILE] [--ca-file FILE] [--data-dir DIR] "
	    "[--https-port N] "
	    "DOMAIN",
	    "the MTA-STS policy of DOMAIN (fetched over HTTPS) and the verdict per MX; sends no mail" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *
find(const char *name)
{
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static int
cmd_help(int argc, char **argv)
{
	if (argc > 1) {
		const struct command *c = find(argv[1]);
		if (c == NULL) {
			fprintf(stderr, "zegel: no command '%s'; try 'zegel help'\n", argv[1]);
			return 2;
		}
		printf("usage: zegel %s\n  %s\n", c->usage, c->summary);
		return 0;
	}
	printf("usage: zegel <command> [args]\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		printf("  %-12s %s\n", commands[i].name, commands[i].summary);
	printf("\n'zegel help COMMAND' or 'zegel COMMAND --help' shows a command's arguments.\n"
	       "The DNS tools take the same options: --resolver IP[:PORT] (--server is an old\n"
	       "name for it), --anchor FILE, --now UNIXTIME; ports of mail servers are\n"
	       "--mx-port, CA files --ca-file, as in the console's settings.\n");
	return 0;
}

int
main(int argc, char **argv)
{
	const struct command *c;

	board_init();
#ifdef ZEGEL_BUILD_TIME
	/* A clock before this binary was built is wrong (hal/clock.h). */
	hal_clock_set_floor(ZEGEL_BUILD_TIME);
#endif
	if (argc < 2) {
		cmd_help(1, argv);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	c = find(argv[1]);
	/* zegel COMMAND --help (or -h, help): its usage, for every command */
	if (c != NULL && argc == 3 && (strcmp(argv[2], "--help") == 0 ||
	    strcmp(argv[2], "-h") == 0)) {
		char *h[2] = { argv[0], argv[1] };

		return cmd_help(2, h);
	}
	if (c == NULL) {
		fprintf(stderr, "zegel: unknown command '%s'; try 'zegel help'\n", argv[1]);
		return 2;
	}
	return c->run(argc - 1, argv + 1);
}
