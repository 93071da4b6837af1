/*
 * firmware/console/complete.h — Tab completion and '?' help for the line
 * being edited, from the command table (table.h) and the configuration
 * grammar. Pure: the line editor (console.c) hands over the line and the
 * cursor and does the output.
 */
#ifndef ZEGEL_CONSOLE_COMPLETE_H
#define ZEGEL_CONSOLE_COMPLETE_H

#include <stddef.h>

enum complete_result {
	COMPLETE_BELL,   /* nothing to complete here: ring */
	COMPLETE_INSERT, /* insert out at the cursor */
	COMPLETE_LIST,   /* several candidates: print out under the line */
};

/* Tab with the cursor at line[cur]; out gets the text to insert or the list. */
enum complete_result complete_tab(const char *line, size_t cur, char *out, size_t cap);

/* '?' with the cursor at line[cur]: the lines of help, each through
 * emit(arg, line). */
void complete_help(const char *line, size_t cur, void (*emit)(void *arg, const char *line),
    void *arg);

#endif
