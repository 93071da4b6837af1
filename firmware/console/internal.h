/* firmware/console private header: the built-in table and dispatch helpers. */
#ifndef ZEGEL_CONSOLE_INTERNAL_H
#define ZEGEL_CONSOLE_INTERNAL_H

#include "firmware/console/console.h"
#include "zegel/words.h"

/* Keywords at one level of the command table, and the longest one. */
#define CONSOLE_MAX_WORDS 96
#define CONSOLE_WORD_MAX 32

extern const struct console_cmd console_builtins[];
extern const size_t console_nbuiltins;

/* Commands in order: built-ins, then registered tables; NULL past the end. */
const struct console_cmd *console_cmd_at(size_t i);
size_t console_verb_words(const char *verb);
bool console_verb_matches(const char *verb, int argc, char **argv);
void console_list_verbs(const char *first, char *buf, size_t cap);
void console_run_status(struct console *c);
/* emit() callback writing a line to the console given as arg. */
void console_emit_line(void *arg, const char *line);

/* The keywords after first (NULL: the first words of every verb); *single
 * (if not NULL) is the one-word verb equal to first, if any. */
size_t console_level(const char *first, struct words_word *set, size_t cap,
    const struct console_cmd **single);
const struct console_cmd *console_find(const char *verb);
/* The command argv names, by unique prefixes: 0 with *cmd and the words it
 * used (1 or 2), or -1 after printing why (unknown, ambiguous) unless quiet. */
int console_resolve(struct console *c, int argc, char **argv, const struct console_cmd **cmd,
    int *used, bool quiet);
/* Tab and '?' on the line being edited (complete.c); raw terminals only. */
void console_complete(struct console *c);
void console_help_here(struct console *c);
/* Insert at the cursor, echoing (as typed). */
void console_insert(struct console *c, const char *s, size_t n);
/* Draw the prompt and the line again (after a list printed under it). */
void console_redraw(struct console *c);
/* Whether a line must stay out of the history (a password in it). */
bool console_line_secret(const char *line);

#endif
