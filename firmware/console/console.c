/*
 * The console engine: line editing over a byte stream, and the command
 * dispatcher over the built-in and registered command tables.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/config/config.h"
#include "firmware/console/complete.h"
#include "firmware/console/console.h"
#include "firmware/console/internal.h"

static struct {
	void (*fn)(void (*emit)(void *, const char *), void *emit_arg, void *arg);
	void *arg;
} status_fns[CONSOLE_MAX_REGISTER];

/* ------------------------------------------------------------ output */

static void
out(struct console *c, const void *p, size_t n)
{
	if (n > 0)
		c->write(c->arg, p, n);
}

static void
outs(struct console *c, const char *s)
{
	out(c, s, strlen(s));
}

void
console_puts(struct console *c, const char *line)
{
	outs(c, line);
	outs(c, c->raw ? "\r\n" : "\n");
}

void
console_printf(struct console *c, const char *fmt, ...)
{
	char buf[CONFIG_CONSOLE_LINE_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_puts(c, buf);
}

void
console_emit_line(void *arg, const char *line)
{
	console_puts(arg, line);
}

void
console_prompt(struct console *c)
{
	outs(c, CONSOLE_PROMPT);
}

/* ------------------------------------------------------------ registry */

int
console_register_status(void (*fn)(void (*emit)(void *, const char *), void *emit_arg, void *arg),
    void *arg)
{
	for (size_t i = 0; i < CONSOLE_MAX_REGISTER; i++) {
		if (status_fns[i].fn == NULL) {
			status_fns[i].fn = fn;
			status_fns[i].arg = arg;
			return 0;
		}
	}
	return -ENOSPC;
}

void
console_reset_registry(void)
{
	console_table_reset();
	memset(status_fns, 0, sizeof(status_fns));
}

void
console_run_status(struct console *c)
{
	for (size_t i = 0; i < CONSOLE_MAX_REGISTER; i++)
		if (status_fns[i].fn != NULL)
			status_fns[i].fn(console_emit_line, c, status_fns[i].arg);
}

/* ------------------------------------------------------------ dispatch */

void
console_execute(struct console *c, const char *line)
{
	char buf[CONFIG_CONSOLE_LINE_MAX + 1];
	char *argv[CONSOLE_MAX_ARGS];
	char why[512];
	const struct console_cmd *best = NULL;
	size_t n = strlen(line);
	int argc, used = 0;

	if (n >= sizeof(buf)) {
		console_printf(c, "error: line longer than %d characters refused",
		    CONFIG_CONSOLE_LINE_MAX);
		return;
	}
	memcpy(buf, line, n + 1);
	argc = config_tokenize(buf, argv, CONSOLE_MAX_ARGS);
	if (argc == -E2BIG) {
		console_printf(c, "error: too many words (at most %d)", CONSOLE_MAX_ARGS);
		return;
	}
	if (argc < 0) {
		console_puts(c,
		    "error: unbalanced \"quotes\" (a quoted value ends with \" and a "
		    "blank; write \\\" and \\\\ inside)");
		return;
	}
	/* Unique prefixes name the command: `sh run` is `show running`. */
	if (argc > 0) {
		if (console_resolve(argc, argv, &best, &used, why, sizeof(why)) == 0)
			best->run(c, argc - used, argv + used, line);
		else
			console_puts(c, why);
	}
	/* Passwords pass through here. */
	memset(buf, 0, sizeof(buf));
}

/* A `set` line naming a user or the relay password, by any abbreviation,
 * or one that names no setting (it fails, but may hold a secret). */
bool
console_line_secret(const char *line)
{
	char buf[CONFIG_CONSOLE_LINE_MAX + 1], path[64];
	char *argv[CONSOLE_MAX_ARGS];
	const struct console_cmd *k = NULL;
	size_t n = strlen(line);
	int argc, used = 0, w;
	bool secret;

	if (strstr(line, "password") != NULL || n >= sizeof(buf))
		return true;
	memcpy(buf, line, n + 1);
	argc = config_tokenize(buf, argv, CONSOLE_MAX_ARGS);
	if (argc < 0)
		secret = true;
	else if (argc == 0 || console_resolve(argc, argv, &k, &used, NULL, 0) != 0 ||
	    strcmp(k->verb, "set") != 0)
		secret = false;
	else {
		w = config_resolve_path("set", argc - used, argv + used, path, sizeof(path), NULL);
		secret = w <= 0 || strcmp(path, "user") == 0 || strncmp(path, "relay pass", 10) == 0;
	}
	memset(buf, 0, sizeof(buf));
	return secret;
}

/* ------------------------------------------------------------ line editor */

void
console_init(struct console *c, void (*write)(void *arg, const uint8_t *p, size_t n), void *arg,
    bool raw_tty)
{
	memset(c, 0, sizeof(*c));
	c->write = write;
	c->arg = arg;
	c->raw = raw_tty;
}

bool
console_wants_exit(const struct console *c)
{
	return c->exit;
}

static void
redraw(struct console *c)
{
	char mv[24];

	outs(c, "\r" CONSOLE_PROMPT);
	out(c, c->line, c->len);
	outs(c, "\x1b[K");
	if (c->len > c->cur) {
		snprintf(mv, sizeof(mv), "\x1b[%zuD", c->len - c->cur);
		outs(c, mv);
	}
}

void
console_async_puts(struct console *c, const char *line)
{
	if (!c->raw) {
		console_puts(c, line);
		return;
	}
	outs(c, "\r\x1b[K");
	console_puts(c, line);
	if (!c->exit)
		redraw(c);
}

void
console_input_hide(void *arg)
{
	struct console *c = arg;

	if (!c->raw || c->executing || c->exit || c->hidden)
		return;
	outs(c, "\r\x1b[K");
	c->hidden = true;
}

void
console_input_show(void *arg)
{
	struct console *c = arg;

	if (!c->hidden)
		return;
	c->hidden = false;
	if (!c->exit)
		redraw(c);
}

void
console_job_begin(struct console *c)
{
	c->jobs++;
}

void
console_job_end(struct console *c)
{
	if (c->jobs > 0)
		c->jobs--;
}

bool
console_busy(const struct console *c)
{
	return c->jobs > 0;
}

static void
set_line(struct console *c, const char *s)
{
	size_t n = strlen(s);

	memcpy(c->line, s, n + 1);
	c->len = c->cur = n;
	redraw(c);
}

static void
reset_line(struct console *c)
{
	c->len = c->cur = 0;
	c->overflow = false;
	c->bad = 0;
	c->line[0] = 0;
#if IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING)
	c->browse = 0;
#endif
}

static void
end_line(struct console *c)
{
	c->line[c->len] = 0;
	if (c->overflow) {
		console_printf(c, "error: line longer than %d characters refused",
		    CONFIG_CONSOLE_LINE_MAX);
	} else if (c->bad) {
		console_printf(c, "error: control character 0x%02x in line refused", c->bad - 1);
	} else {
#if IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING)
		if (c->raw && c->len > 0 &&
		    (c->nhist == 0 ||
			strcmp(c->hist[(c->nhist - 1) % CONSOLE_HISTORY], c->line) != 0) &&
		    !console_line_secret(c->line)) {
			memcpy(c->hist[c->nhist % CONSOLE_HISTORY], c->line, c->len + 1);
			c->nhist++;
		}
#endif
		c->executing = true;
		console_execute(c, c->line);
		c->executing = false;
	}
	memset(c->line, 0, c->len);
	reset_line(c);
	if (!c->exit)
		console_prompt(c);
}

static void
insert(struct console *c, uint8_t b)
{
	if (c->len >= CONFIG_CONSOLE_LINE_MAX) {
		c->overflow = true;
		if (c->raw)
			outs(c, "\a");
		return;
	}
	memmove(c->line + c->cur + 1, c->line + c->cur, c->len - c->cur);
	c->line[c->cur++] = (char)b;
	c->len++;
	if (!c->raw)
		return;
	if (c->cur == c->len)
		out(c, &b, 1);
	else
		redraw(c);
}

/* Tab: what complete.c finds is inserted as if typed, or listed under the
 * line, which is drawn again. */
static void
tab(struct console *c)
{
	char buf[CONFIG_CONSOLE_LINE_MAX + 256];

	switch (complete_tab(c->line, c->cur, buf, sizeof(buf))) {
	case COMPLETE_INSERT:
		for (size_t i = 0; buf[i] != 0; i++)
			insert(c, (uint8_t)buf[i]);
		break;
	case COMPLETE_LIST:
		outs(c, "\r\n");
		console_puts(c, buf);
		redraw(c);
		break;
	default:
		outs(c, "\a");
		break;
	}
}

/* '?': the help lines under the line, which is drawn again unchanged. */
static void
help_here(struct console *c)
{
	outs(c, "?\r\n");
	complete_help(c->line, c->cur, console_emit_line, c);
	redraw(c);
}

/* Is the cursor inside a "quoted value" or a # comment? There '?' is a
 * character (a pasted export quotes every value with one). */
static bool
in_quotes(const struct console *c)
{
	bool q = false;
	size_t lead = 0;

	while (lead < c->cur && c->line[lead] == ' ')
		lead++;
	if (lead < c->cur && c->line[lead] == '#')
		return true;

	for (size_t i = 0; i < c->cur; i++) {
		if (q && c->line[i] == '\\' && i + 1 < c->cur)
			i++;
		else if (c->line[i] == '"')
			q = !q;
	}
	return q;
}

static void
backspace(struct console *c)
{
	if (c->cur == 0)
		return;
	memmove(c->line + c->cur - 1, c->line + c->cur, c->len - c->cur);
	c->cur--;
	c->len--;
	if (c->cur == c->len)
		outs(c, "\b \b");
	else
		redraw(c);
}

static void
delete_forward(struct console *c)
{
	if (c->cur == c->len)
		return;
	memmove(c->line + c->cur, c->line + c->cur + 1, c->len - c->cur - 1);
	c->len--;
	redraw(c);
}

#if IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING)
static void
history(struct console *c, bool up)
{
	unsigned have = c->nhist < CONSOLE_HISTORY ? c->nhist : CONSOLE_HISTORY;

	if (up && c->browse < have)
		c->browse++;
	else if (!up && c->browse > 0)
		c->browse--;
	else
		return;
	if (c->browse == 0)
		set_line(c, "");
	else
		set_line(c, c->hist[(c->nhist - c->browse) % CONSOLE_HISTORY]);
}
#endif

/* The final byte of "ESC [ ..." or "ESC O ...". */
static void
escape_final(struct console *c, uint8_t b)
{
	if (!IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING))
		return;
#if IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING)
	switch (b) {
	case 'A':
		history(c, true);
		break;
	case 'B':
		history(c, false);
		break;
	case 'C':
		if (c->cur < c->len) {
			c->cur++;
			outs(c, "\x1b[C");
		}
		break;
	case 'D':
		if (c->cur > 0) {
			c->cur--;
			outs(c, "\x1b[D");
		}
		break;
	case 'H':
		c->cur = 0;
		redraw(c);
		break;
	case 'F':
		c->cur = c->len;
		redraw(c);
		break;
	case '~': /* ESC [ 3 ~ is Delete */
		if (c->esc_param == 3)
			delete_forward(c);
		break;
	default:
		break;
	}
#endif
}

static void
raw_byte(struct console *c, uint8_t b)
{
	if (c->esc == 1) {
		c->esc = (b == '[' || b == 'O') ? 2 : 0;
		c->esc_param = 0;
		return;
	}
	if (c->esc == 2) {
		if (b >= '0' && b <= '9') {
			c->esc_param = (uint8_t)(c->esc_param * 10 + (b - '0'));
			return;
		}
		if (b == ';')
			return;
		c->esc = 0;
		if (b >= 0x40 && b <= 0x7e)
			escape_final(c, b);
		return;
	}
	if (c->literal) { /* after Ctrl-V: '?' or Tab as typed */
		c->literal = false;
		if (b >= 0x20 || b == '\t')
			insert(c, b == '\t' ? ' ' : b);
		return;
	}
	switch (b) {
	case 0x1b:
		c->esc = 1;
		break;
	case '\t':
		tab(c);
		break;
	case '?':
		if (in_quotes(c))
			insert(c, b);
		else
			help_here(c);
		break;
	case 0x16: /* Ctrl-V: the next byte is inserted as it is */
		c->literal = true;
		break;
	case 0x7f:
	case 0x08:
		backspace(c);
		break;
	case 0x15: /* Ctrl-U */
		c->len = c->cur = 0;
		c->overflow = false;
		redraw(c);
		break;
	case 0x03: /* Ctrl-C */
		c->literal = false;
		outs(c, "^C\r\n");
		reset_line(c);
		console_prompt(c);
		break;
	case 0x04: /* Ctrl-D */
		if (c->len == 0) {
			outs(c, "\r\n");
			c->exit = true;
		} else {
			delete_forward(c);
		}
		break;
	case 0x01: /* Ctrl-A */
		if (IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING)) {
			c->cur = 0;
			redraw(c);
		}
		break;
	case 0x05: /* Ctrl-E */
		if (IS_ENABLED(CONFIG_FEATURE_CONSOLE_EDITING)) {
			c->cur = c->len;
			redraw(c);
		}
		break;
	default:
		if (b >= 0x20 || b == '\t')
			insert(c, b == '\t' ? ' ' : b);
		break;
	}
}

size_t
console_push(struct console *c, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !c->exit; i++) {
		uint8_t b = p[i];

		if (b == '\n' && c->last_cr) {
			c->last_cr = false;
			continue;
		}
		c->last_cr = b == '\r';
		if (b == '\r' || b == '\n') {
			c->esc = 0;
			if (c->raw)
				outs(c, "\r\n");
			end_line(c);
		} else if (c->raw) {
			raw_byte(c, b);
		} else if (b == 0 || (b < 0x20 && b != '\t')) {
			/* A control byte in piped input: refuse the line, never
			 * run something other than what was written. */
			if (c->bad == 0)
				c->bad = b + 1;
		} else {
			insert(c, b);
		}
	}
	return i;
}

void
console_eof(struct console *c)
{
	if (!c->exit && (c->len > 0 || c->overflow || c->bad)) {
		if (c->raw)
			outs(c, "\r\n");
		end_line(c);
	}
	c->exit = true;
}
