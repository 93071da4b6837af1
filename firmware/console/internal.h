/* firmware/console private header: the built-in table and dispatch helpers. */
#ifndef ZEGEL_CONSOLE_INTERNAL_H
#define ZEGEL_CONSOLE_INTERNAL_H

#include "firmware/console/console.h"

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

#endif
