/*
 * firmware/console/console.h — the serial console: a line editor and a
 * command table, as a pure engine.
 *
 * Model. The caller owns a struct console (static, or on the stack of the
 * event loop) and the device. It feeds every byte read from the device into
 * console_push(); the engine echoes, edits, and when a line is complete runs
 * its command, writing all output through the write callback given to
 * console_init(). There are no sockets, no clock and no reads inside, so the
 * same engine serves stdin on the host, a UART on a board and the unit tests.
 *
 * Call order:
 *   console_init(&c, write, arg, raw_tty);
 *   console_prompt(&c);                       first "zegel> "
 *   loop: n = read(dev); console_push(&c, buf, n);
 *         if (console_wants_exit(&c)) break;
 *   on end of input: console_eof(&c);         runs an unterminated last line
 *
 * Modes. raw_tty: the device is a terminal in raw mode, so the engine echoes
 * and edits: printable bytes insert at the cursor, Backspace/DEL delete
 * before it, Ctrl-U clears the line, Ctrl-C abandons it, Ctrl-D on an empty
 * line exits, and with CONFIG_FEATURE_CONSOLE_EDITING the arrows move
 * (left/right), recall history (up/down), Ctrl-A/Ctrl-E go home/end; Tab
 * completes and '?' lists what may come next (complete.c; a '?' in quotes,
 * in a # comment or after Ctrl-V is a character). Lines that set a password
 * (by any abbreviation) never enter the history. Output
 * lines end in "\r\n". Not raw (a pipe or file): no echo, no editing, lines
 * end at '\n' (a '\r' before it is dropped), output lines end in "\n".
 * Either way a line longer than CONFIG_CONSOLE_LINE_MAX is refused with one
 * message and not run.
 *
 * Commands. A table of {verb, args, help, run}; a verb may be two words
 * ("show relay"). Each word of the line names a verb word by unique prefix
 * (table.c, zegel/words.h: `sh run`); an ambiguous one is an error that
 * lists the choices; a one-word verb whose word also starts two-word verbs
 * runs when the second word names none of them. `help` and `help VERB` are
 * generated from the tables. A handler gets the words after the verb;
 * `line` is the line as typed (abbreviations included). Other modules
 * add their commands and `show status` lines at start with
 * console_register() and console_register_status(); the tables they pass
 * must stay valid for the life of the process.
 */
#ifndef ZEGEL_CONSOLE_CONSOLE_H
#define ZEGEL_CONSOLE_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/console/table.h"
#include "zegel/config.h"

#define CONSOLE_PROMPT "zegel> "
#define CONSOLE_HISTORY 8

struct console {
	void (*write)(void *arg, const uint8_t *p, size_t n);
	void *arg;
	bool raw;
	bool exit;
	bool overflow;     /* the current line went past the limit */
	bool last_cr;      /* a '\r' ended the last line: drop a following '\n' */
	uint8_t esc;       /* escape sequence state: 0, 1 after ESC, 2 after ESC [ or O */
	uint8_t esc_param; /* the number in ESC [ n ~ */
	int bad;           /* first control byte of a piped line + 1, or 0 */
	size_t len, cur;   /* line length and cursor */
	char line[CONFIG_CONSOLE_LINE_MAX + 1];
	unsigned jobs;     /* commands still printing from the loop (console_job_begin) */
	bool executing;    /* a command runs: its output owns the screen */
	bool hidden;       /* console_input_hide() cleared the input line */
	bool literal;      /* Ctrl-V: the next byte is inserted as it is */
#if IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING)
	char hist[CONSOLE_HISTORY][CONFIG_CONSOLE_LINE_MAX + 1];
	unsigned nhist;  /* lines stored (ring, newest at (nhist - 1) % N) */
	unsigned browse; /* 0: editing a new line; k: showing the k-th newest */
#endif
};

void console_init(struct console *c, void (*write)(void *arg, const uint8_t *p, size_t n),
    void *arg, bool raw_tty);

/* Feed input bytes. Returns the bytes consumed: all of them, unless a
 * command asked to exit (the rest is left unread). */
size_t console_push(struct console *c, const uint8_t *p, size_t n);

/* End of input: run an unterminated last line, then want exit. */
void console_eof(struct console *c);

bool console_wants_exit(const struct console *c);

/* Write the prompt, "zegel> ". */
void console_prompt(struct console *c);

/* Run one complete line as if typed (no echo). Used by tests and scripts. */
void console_execute(struct console *c, const char *line);

/* Output for command handlers: one line each, newline added. */
void console_puts(struct console *c, const char *line);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void
console_printf(struct console *c, const char *fmt, ...);

/* Output that arrives later, from the event loop (a job a command started,
 * such as `test relay`): the line is printed above the line being edited; on
 * a terminal the prompt and what was typed so far are drawn again under it.
 * console_job_begin/end count such jobs so that `zegel run` reading piped
 * input waits for their output before it exits (console_busy). */
void console_async_puts(struct console *c, const char *line);

/* Another writer (the log, hal_log_set_console) shares the terminal: hide
 * clears the prompt and the partial input line, show draws them again.
 * Both do nothing on a piped console or while a command runs. arg is the
 * struct console. */
void console_input_hide(void *arg);
void console_input_show(void *arg);
void console_job_begin(struct console *c);
void console_job_end(struct console *c);
bool console_busy(const struct console *c);

/* Add a `show status` contributor: fn emits lines through emit(emit_arg, line). */
int
console_register_status(void (*fn)(void (*emit)(void *, const char *), void *emit_arg, void *arg),
    void *arg);

/* Where `save` writes; default "<running data-dir>/zegel.conf". */
void console_set_save_path(const char *path);

/* Forget registered commands and status providers (unit tests). */
void console_reset_registry(void);

#endif
