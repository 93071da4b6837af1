/* firmware/console private header: the built-in table and dispatch helpers. */
#ifndef ZEGEL_CONSOLE_INTERNAL_H
#define ZEGEL_CONSOLE_INTERNAL_H

#include "firmware/console/console.h"
#include "firmware/console/table.h"

void console_run_status(struct console *c);
/* emit() callback writing a line to the console given as arg. */
void console_emit_line(void *arg, const char *line);

/* Whether a line must stay out of the history (a password in it). */
bool console_line_secret(const char *line);

#endif
