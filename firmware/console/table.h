/*
 * firmware/console/table.h — the console's command table: the built-in
 * verbs (commands.c) and the tables other modules register, and which
 * command the words of a line name (unique prefixes, zegel/words.h).
 * Pure: no output, no state but the registry; the line editor (console.c),
 * Tab and '?' (complete.c) and help (commands.c) all read it.
 */
#ifndef ZEGEL_CONSOLE_TABLE_H
#define ZEGEL_CONSOLE_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "zegel/words.h"

#define CONSOLE_MAX_REGISTER 16
/* Words in one line. */
#define CONSOLE_MAX_ARGS 16
/* Keywords at one level of the command table, and the longest one. */
#define CONSOLE_MAX_WORDS 96
#define CONSOLE_WORD_MAX 32

struct console;

struct console_cmd {
	const char *verb; /* "commit", or two words: "show relay" */
	const char *args; /* usage of the arguments after the verb, "" if none */
	const char *help; /* one line */
	/* argv[0..argc) are the words after the verb; line is the whole line.
	 * Return 0, or non-zero after printing one line that says what is wrong. */
	int (*run)(struct console *c, int argc, char **argv, const char *line);
};

/* Add commands (0, or -ENOSPC after CONSOLE_MAX_REGISTER tables). A
 * registered verb may add to "show" and "test"; it may not replace a
 * built-in verb (-EEXIST). */
int console_register(const struct console_cmd *cmds, size_t n);
/* Forget the registered tables (console_reset_registry, unit tests). */
void console_table_reset(void);

extern const struct console_cmd console_builtins[];
extern const size_t console_nbuiltins;

/* Commands in order: built-ins, then registered tables; NULL past the end. */
const struct console_cmd *console_cmd_at(size_t i);
size_t console_verb_words(const char *verb);
bool console_verb_matches(const char *verb, int argc, char **argv);
void console_list_verbs(const char *first, char *buf, size_t cap);

/* The keywords after first (NULL: the first words of every verb); *single
 * (if not NULL) is the one-word verb equal to first, if any. */
size_t console_level(const char *first, struct words_word *set, size_t cap,
    const struct console_cmd **single);
const struct console_cmd *console_find(const char *verb);
/* The command argv names, by unique prefixes: 0 with *cmd and the words it
 * used (1 or 2), or -1 with why (if not NULL) saying what is wrong (unknown,
 * ambiguous: the choices), as one line for the console. */
int console_resolve(int argc, char **argv, const struct console_cmd **cmd, int *used,
    char *why, size_t cap);

#endif
