/*
 * The built-in console commands. `help` is generated from this table and the
 * registered ones; `help set` and `help delete` from the configuration
 * grammar (firmware/config/parse.c), so the text cannot drift from the code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/config/config.h"
#include "firmware/console/internal.h"
#include "hal/crypto.h"
#include "hal/log.h"
#include "hal/net.h"
#include "zegel/board.h"

#ifndef ZEGEL_VERSION
#define ZEGEL_VERSION "unknown"
#endif
#ifndef ZEGEL_GIT_REV
#define ZEGEL_GIT_REV "unknown"
#endif

static char save_path[ZCFG_PATH_MAX + 16];

void
console_set_save_path(const char *path)
{
	snprintf(save_path, sizeof(save_path), "%s", path ? path : "");
}

static int
usage_error(struct console *c, const char *verb, const char *args)
{
	console_printf(c, "error: usage: %s%s%s", verb, args[0] ? " " : "", args);
	return 1;
}

static int
cmd_help(struct console *c, int argc, char **argv, const char *line)
{
	char head[64];
	int found = 0;

	(void)line;
	if (argc > 2)
		return usage_error(c, "help", "[COMMAND]");
	if (argc == 0) {
		console_puts(c, "commands:");
		for (size_t i = 0; console_cmd_at(i) != NULL; i++) {
			const struct console_cmd *k = console_cmd_at(i);
			snprintf(head, sizeof(head), "%s%s%s", k->verb, k->args[0] ? " " : "",
			    k->args);
			console_printf(c, "  %-26s %s", head, k->help);
		}
		console_puts(c,
		    "'help COMMAND' shows one command; 'help set' and 'help delete' "
		    "list every setting.");
		return 0;
	}
	for (size_t i = 0; console_cmd_at(i) != NULL; i++) {
		const struct console_cmd *k = console_cmd_at(i);
		size_t fl = strlen(argv[0]);
		bool match = argc == 2 ? console_verb_matches(k->verb, argc, argv)
				       : (strncmp(k->verb, argv[0], fl) == 0 &&
					     (k->verb[fl] == 0 || k->verb[fl] == ' '));
		if (!match)
			continue;
		console_printf(c, "usage: %s%s%s", k->verb, k->args[0] ? " " : "", k->args);
		console_printf(c, "  %s", k->help);
		found++;
	}
	if (found == 0) {
		console_printf(c, "error: no command '%s%s%s' (try 'help')", argv[0],
		    argc == 2 ? " " : "", argc == 2 ? argv[1] : "");
		return 1;
	}
	if (argc == 1 && (strcmp(argv[0], "set") == 0 || strcmp(argv[0], "delete") == 0)) {
		console_puts(c, "settings:");
		config_usage(argv[0], console_emit_line, c);
	}
	return 0;
}

static void
emit_indented(void *arg, const char *line)
{
	console_puts(arg, line);
}

static int
cmd_show_config(struct console *c, int argc, char **argv, const char *line)
{
	(void)argv;
	(void)line;
	if (argc != 0)
		return usage_error(c, "show config", "");
	if (config_modified())
		console_puts(c,
		    "# candidate with uncommitted changes ('commit' applies them, "
		    "'discard' drops them)");
	config_dump(zcfg_candidate(), false, emit_indented, c);
	return 0;
}

static int
cmd_show_running(struct console *c, int argc, char **argv, const char *line)
{
	bool secrets = argc == 1 && strcmp(argv[0], "secrets") == 0;

	(void)line;
	if (argc != 0 && !secrets)
		return usage_error(c, "show running", "[secrets]");
	if (secrets)
		console_puts(c, "# SECRET: the relay password in clear and the user password hashes; "
		    "pasted into the console these lines rebuild this configuration. Keep them private.");
	config_dump(zcfg_running(), secrets, emit_indented, c);
	return 0;
}

static int
cmd_show_version(struct console *c, int argc, char **argv, const char *line)
{
	(void)argv;
	(void)line;
	if (argc != 0)
		return usage_error(c, "show version", "");
	console_printf(c, "zegel %s (%s)", ZEGEL_VERSION, ZEGEL_GIT_REV);
	console_printf(c, "board: %s (%s, %s)", board.name, CONFIG_ARCH_NAME, CONFIG_LIBC_NAME);
	console_printf(c, "crypto: %s", hal_crypto()->name);
	console_printf(c, "net: %s", hal_net() ? hal_net_name() : "none");
	return 0;
}

static int
cmd_show_status(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *r = zcfg_running();

	(void)argv;
	(void)line;
	if (argc != 0)
		return usage_error(c, "show status", "");
	console_printf(c, "config: generation %u, %s", (unsigned)r->generation,
	    config_modified() ? "uncommitted changes" : "no uncommitted changes");
	console_run_status(c);
	return 0;
}

/* `show log [N] [error|warning|info|debug] [ID]`: the last N lines (64
 * without filters, every kept one with a level or ID), at the level or
 * more severe, containing ID (a queue or message id, an address, any text). */
static int
cmd_show_log(struct console *c, int argc, char **argv, const char *line)
{
	struct hal_log_filter f = { 0, HAL_LOG_DEBUG, NULL };
	bool num = false, lvl = false;

	(void)line;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		int k;

		for (k = 0; k < 4; k++)
			if (strcmp(a, hal_log_level_name((enum hal_log_level)k)) == 0)
				break;
		if (a[0] >= '0' && a[0] <= '9' && strspn(a, "0123456789") == strlen(a) && !num) {
			unsigned long v = strtoul(a, NULL, 10);

			if (v == 0 || v > 100000)
				return usage_error(c, "show log", "[N (1-100000)] [LEVEL] [ID]");
			f.max = (unsigned)v;
			num = true;
		} else if (k < 4 && !lvl) {
			f.level = (enum hal_log_level)k;
			lvl = true;
		} else if (f.match == NULL) {
			f.match = a;
		} else {
			return usage_error(c, "show log", "[N] [error|warning|info|debug] [ID]");
		}
	}
	if (!num && !lvl && f.match == NULL)
		f.max = 64;
	if (hal_log_ring_query(&f, console_emit_line, c) == 0)
		console_puts(c, "show log: no matching lines");
	return 0;
}

static int
cmd_set(struct console *c, int argc, char **argv, const char *line)
{
	char err[320];

	(void)argc;
	(void)argv;
	if (config_set_line(line, err, sizeof(err)) != 0) {
		console_printf(c, "error: %s", err);
		return 1;
	}
	return 0;
}

static int
cmd_commit(struct console *c, int argc, char **argv, const char *line)
{
	char err[320];

	(void)argv;
	(void)line;
	if (argc != 0)
		return usage_error(c, "commit", "");
	if (!config_modified()) {
		console_puts(c, "commit: no changes");
		return 0;
	}
	if (config_commit(err, sizeof(err)) != 0) {
		console_printf(c, "error: %s", err);
		return 1;
	}
	console_printf(c, "commit: ok, generation %u", (unsigned)zcfg_running()->generation);
	return 0;
}

static int
cmd_save(struct console *c, int argc, char **argv, const char *line)
{
	char path[ZCFG_PATH_MAX + 16], err[320];

	(void)argv;
	(void)line;
	if (argc != 0)
		return usage_error(c, "save", "");
	if (save_path[0])
		snprintf(path, sizeof(path), "%s", save_path);
	else
		snprintf(path, sizeof(path), "%s/zegel.conf", zcfg_running()->data_dir);
	if (config_modified())
		console_puts(c, "note: uncommitted changes are not saved ('commit' first)");
	if (config_save(path, err, sizeof(err)) != 0) {
		console_printf(c, "error: %s", err);
		return 1;
	}
	console_printf(c, "save: wrote %s", path);
	return 0;
}

static int
cmd_discard(struct console *c, int argc, char **argv, const char *line)
{
	(void)argv;
	(void)line;
	if (argc != 0)
		return usage_error(c, "discard", "");
	config_discard();
	console_puts(c, "discard: candidate reset to the running configuration");
	return 0;
}

static int
cmd_exit(struct console *c, int argc, char **argv, const char *line)
{
	(void)argc;
	(void)argv;
	(void)line;
	if (config_modified())
		console_puts(c, "note: leaving with uncommitted changes");
	c->exit = true;
	return 0;
}

const struct console_cmd console_builtins[] = {
	{ "help", "[COMMAND]", "list the commands, or show one's usage", cmd_help },
	{ "show config", "", "the candidate configuration (what commit would apply)",
	    cmd_show_config },
	{ "show running", "[secrets]",
	    "the running configuration; 'secrets': with the passwords, to paste back",
	    cmd_show_running },
	{ "show version", "", "version, board and backends", cmd_show_version },
	{ "show status", "", "configuration generation and the state of each module",
	    cmd_show_status },
	{ "show log", "[N] [error|warning|info|debug] [ID]",
	    "log lines with time and level: the last N, at a level or worse, containing ID",
	    cmd_show_log },
	{ "set", "SETTING VALUE...", "change the candidate ('help set' lists settings)", cmd_set },
	{ "delete", "SETTING NAME", "remove from the candidate ('help delete')", cmd_set },
	{ "commit", "", "validate the candidate and make it the running configuration",
	    cmd_commit },
	{ "save", "", "write the running configuration to the configuration file", cmd_save },
	{ "discard", "", "drop uncommitted changes", cmd_discard },
	{ "exit", "", "leave the console", cmd_exit },
	{ "quit", "", "leave the console", cmd_exit },
};

const size_t console_nbuiltins = sizeof(console_builtins) / sizeof(console_builtins[0]);
