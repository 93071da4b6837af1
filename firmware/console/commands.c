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
#include "hal/storage.h"
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

/* `help sh run` is `help show running`: unique prefixes, as for commands. */
static void
expand_help_words(int argc, char **argv, char w0[CONSOLE_WORD_MAX], char w1[CONSOLE_WORD_MAX])
{
	struct words_word set[CONSOLE_MAX_WORDS];
	size_t n = console_level(NULL, set, CONSOLE_MAX_WORDS, NULL);
	int k = words_match(set, n, argv[0], strlen(argv[0]));

	if (k < 0 || set[k].n >= CONSOLE_WORD_MAX)
		return;
	memcpy(w0, set[k].s, set[k].n);
	w0[set[k].n] = 0;
	argv[0] = w0;
	if (argc < 2)
		return;
	n = console_level(w0, set, CONSOLE_MAX_WORDS, NULL);
	k = words_match(set, n, argv[1], strlen(argv[1]));
	if (k < 0 || set[k].n >= CONSOLE_WORD_MAX)
		return;
	memcpy(w1, set[k].s, set[k].n);
	w1[set[k].n] = 0;
	argv[1] = w1;
}

/* Is a a non-empty prefix of keyword ("sec" for "secrets")? */
static bool
prefix_of(const char *a, const char *keyword)
{
	size_t n = strlen(a);

	return n > 0 && strncmp(a, keyword, n) == 0;
}

static int
cmd_help(struct console *c, int argc, char **argv, const char *line)
{
	char head[64], w0[CONSOLE_WORD_MAX], w1[CONSOLE_WORD_MAX];
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
		    "list every setting. Words may be cut to a unique prefix ('sh run' is "
		    "'show running'); on a terminal Tab completes a word and '?' lists what "
		    "may come next.");
		return 0;
	}
	expand_help_words(argc, argv, w0, w1);
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
	bool secrets = argc == 1 && prefix_of(argv[0], "secrets");

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
	char fw[128], kern[256];

	(void)argv;
	(void)line;
	if (argc != 0)
		return usage_error(c, "show version", "");
	board_versions(fw, sizeof(fw), kern, sizeof(kern));
	console_printf(c, "zegel %s (%s)", ZEGEL_VERSION, ZEGEL_GIT_REV);
	console_printf(c, "firmware: %s", fw);
	console_printf(c, "kernel: %s", kern);
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
	if (config_unsaved())
		console_puts(c, "config: the running configuration is not saved ('save'; 'show diff' "
				"after 'rollback 0' shows what differs)");
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

/* The words, not the line: the verb may have been typed abbreviated. */
static int
set_or_delete(struct console *c, const char *verb, int argc, char **argv)
{
	char err[320];

	if (config_set_words(verb, argc, argv, err, sizeof(err)) != 0) {
		console_printf(c, "error: %s", err);
		return 1;
	}
	return 0;
}

static int
cmd_set(struct console *c, int argc, char **argv, const char *line)
{
	(void)line;
	return set_or_delete(c, "set", argc, argv);
}

static int
cmd_delete(struct console *c, int argc, char **argv, const char *line)
{
	(void)line;
	return set_or_delete(c, "delete", argc, argv);
}

static void
warn_line(void *arg, const char *line)
{
	console_printf(arg, "warning: %s", line);
}

static int
cmd_commit(struct console *c, int argc, char **argv, const char *line)
{
	char err[400];
	int nw;

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
		console_printf(c,
		    "commit: nothing applied: the running configuration is unchanged (generation "
		    "%u); the candidate keeps the edits ('show diff', fix, commit; or 'discard')",
		    (unsigned)zcfg_running()->generation);
		return 1;
	}
	nw = config_warnings(zcfg_running(), warn_line, c);
	if (nw > 0)
		console_printf(c, "commit: ok, generation %u, with %d warning%s above",
		    (unsigned)zcfg_running()->generation, nw, nw == 1 ? "" : "s");
	else
		console_printf(c, "commit: ok, generation %u", (unsigned)zcfg_running()->generation);
	return 0;
}

static int
cmd_show_diff(struct console *c, int argc, char **argv, const char *line)
{
	bool secrets = argc == 1 && prefix_of(argv[0], "secrets");
	int n;

	(void)line;
	if (argc != 0 && !secrets)
		return usage_error(c, "show diff", "[secrets]");
	n = config_diff(zcfg_running(), zcfg_candidate(), secrets, console_emit_line, c);
	if (n < 0) {
		console_puts(c, "error: show diff: out of memory");
		return 1;
	}
	if (n == 0)
		console_puts(c, "show diff: the candidate is the running configuration");
	return 0;
}

static void
config_path(char *path, size_t cap)
{
	if (save_path[0])
		snprintf(path, cap, "%s", save_path);
	else
		snprintf(path, cap, "%s/zegel.conf", zcfg_running()->data_dir);
}

/* `rollback [N]`: saved generation N (1 the newest; 0 the file itself)
 * into the candidate; commit applies it. */
static int
cmd_rollback(struct console *c, int argc, char **argv, const char *line)
{
	char conf[ZCFG_PATH_MAX + 16], path[ZCFG_PATH_MAX + 24], err[400];
	unsigned long n = 1;
	bool edits = config_modified();
	char *end;

	(void)line;
	if (argc > 1 || (argc == 1 && ((n = strtoul(argv[0], &end, 10)) > CONFIG_GENERATIONS ||
					  *end != 0 || argv[0][0] < '0' || argv[0][0] > '9'))) {
		console_printf(c, "error: usage: rollback [N]: N is 0 (the saved file) to %d (the "
				  "oldest generation save kept)",
		    CONFIG_GENERATIONS);
		return 1;
	}
	config_path(conf, sizeof(conf));
	if (n == 0)
		snprintf(path, sizeof(path), "%s", conf);
	else
		(void)config_generation_path(conf, (unsigned)n, path, sizeof(path));
	if (hal_storage_exists(path) != 1) {
		console_printf(c, "error: rollback %lu: %s does not exist (each save keeps the file it "
				  "replaces, up to %d)",
		    n, path, CONFIG_GENERATIONS);
		return 1;
	}
	if (config_load_candidate(path, err, sizeof(err)) != 0) {
		console_printf(c, "error: rollback %lu: %s (the candidate is unchanged)", n, err);
		return 1;
	}
	console_printf(c, "rollback %lu: the candidate is now %s%s; 'commit' applies it, 'discard' "
			  "drops it. The changes:",
	    n, path, edits ? " (your uncommitted edits are replaced)" : "");
	if (config_diff(zcfg_running(), zcfg_candidate(), false, console_emit_line, c) == 0)
		console_puts(c, "  (none: it is the running configuration)");
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
	config_path(path, sizeof(path));
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

/* `exit` stops the appliance. With committed changes that are not saved it
 * warns once per running generation and wants `exit` again. */
static bool exit_armed;
static uint32_t exit_armed_gen;

static int
cmd_exit(struct console *c, int argc, char **argv, const char *line)
{
	char path[ZCFG_PATH_MAX + 16];

	(void)argc;
	(void)argv;
	(void)line;
	if (config_unsaved() && (!exit_armed || exit_armed_gen != zcfg_running()->generation)) {
		config_path(path, sizeof(path));
		console_printf(c,
		    "warning: committed changes are not saved: the next start loads %s without "
		    "them ('save' writes them). exit stops zegel: enter exit again to stop anyway",
		    path);
		exit_armed = true;
		exit_armed_gen = zcfg_running()->generation;
		return 1;
	}
	if (config_modified())
		console_puts(c, "note: leaving with uncommitted changes");
	console_puts(c, "exit: stopping zegel: no mail is accepted until it starts again");
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
	{ "show version", "",
	    "versions of zegel, the firmware image and the kernel; board and backends",
	    cmd_show_version },
	{ "show status", "", "configuration generation and the state of each module",
	    cmd_show_status },
	{ "show diff", "[secrets]",
	    "what commit would change: set/delete lines from running to candidate", cmd_show_diff },
	{ "show log", "[N] [error|warning|info|debug] [ID]",
	    "log lines with time and level: the last N, at a level or worse, containing ID",
	    cmd_show_log },
	{ "set", "SETTING VALUE...", "change the candidate ('help set' lists settings)", cmd_set },
	{ "delete", "SETTING NAME", "remove from the candidate ('help delete')", cmd_delete },
	{ "commit", "",
	    "validate and apply the candidate, all or nothing (a failure rolls back and says "
	    "what failed; warnings are printed)",
	    cmd_commit },
	{ "save", "",
	    "write the running configuration to the configuration file (the one replaced is "
	    "kept: rollback 1..3)",
	    cmd_save },
	{ "rollback", "[N]",
	    "load saved generation N (1 newest .. 3; 0 the saved file) into the candidate",
	    cmd_rollback },
	{ "discard", "", "drop uncommitted changes", cmd_discard },
	{ "exit", "", "stop zegel (the appliance); warns first if committed changes are unsaved",
	    cmd_exit },
	{ "quit", "", "the same as exit: stops zegel", cmd_exit },
};

const size_t console_nbuiltins = sizeof(console_builtins) / sizeof(console_builtins[0]);
