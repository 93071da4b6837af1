/*
 * Tab completion and `?` help on a raw terminal, from the same tables the
 * dispatcher uses (table.c for the console's commands, the configuration
 * grammar for the words after set/delete), so they cannot drift apart.
 *
 * The words before the cursor are resolved level by level (first word,
 * second word of a two-word verb, then the setting's path words after
 * set/delete), each by unique prefix. The word under the cursor (empty after
 * a blank) is then completed among the keywords of the next level:
 *   Tab  one match: the rest of it and a blank are inserted; several: their
 *        common prefix is, or if there is none to add they are listed under
 *        the line, which is drawn again; none (or an argument): a bell.
 *   ?    the keywords that fit, one per line with one line of help, or the
 *        usage of the command when only arguments can follow; the line is
 *        drawn again unchanged (the '?' is not inserted).
 * Pure: the line editor (console.c) passes the line and the cursor, and
 * prints what comes back.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "firmware/config/config.h"
#include "firmware/console/complete.h"
#include "firmware/console/table.h"
#include "zegel/config.h"

enum level { L_NONE, L_FIRST, L_SECOND, L_PATH1, L_PATH2, L_ARGS };

struct here {
	enum level level;
	struct words_word set[CONSOLE_MAX_WORDS];
	size_t n;
	const char *partial; /* the word under the cursor (into tok) */
	size_t plen;
	char first[CONSOLE_WORD_MAX]; /* L_SECOND: the verb's first word */
	const char *verb;             /* L_PATH*: "set" or "delete" */
	char path1[CONSOLE_WORD_MAX]; /* L_PATH2: the setting's first word */
	char usage[400];              /* L_ARGS: what may follow */
	char why[200];                /* L_NONE: what is wrong */
	char tok[CONFIG_CONSOLE_LINE_MAX + 1];
};

struct path_ctx {
	struct here *h;
	const char *first; /* NULL: first path words */
};

static void
add_path(void *arg, const char *path, const char *usage)
{
	struct path_ctx *p = arg;
	struct here *h = p->h;

	(void)usage;
	if (p->first == NULL) {
		h->n = words_add(h->set, h->n, CONSOLE_MAX_WORDS, path, strcspn(path, " "));
	} else {
		size_t fl = strlen(p->first);
		if (strncmp(path, p->first, fl) == 0 && path[fl] == ' ')
			h->n = words_add(h->set, h->n, CONSOLE_MAX_WORDS, path + fl + 1,
			    strlen(path + fl + 1));
	}
}

static void
path_level(struct here *h, const char *first)
{
	struct path_ctx p = { h, first };

	h->n = 0;
	config_grammar_each(h->verb, add_path, &p);
}

static void
cmd_usage(struct here *h, const struct console_cmd *k)
{
	snprintf(h->usage, sizeof(h->usage), "%s%s%s: %s", k->verb, k->args[0] ? " " : "",
	    k->args[0] ? k->args : "(no arguments)", k->help);
}

/* Resolve the words before the cursor; the level and keywords of the word
 * under it. False when the line cannot be read (open quote). */
static bool
locate(const char *line, size_t cur, struct here *h)
{
	char *words[CONSOLE_MAX_ARGS], **argv = words;
	int argc, done;
	const struct console_cmd *k = NULL, *single;

	memset(h, 0, sizeof(*h));
	memcpy(h->tok, line, cur);
	h->tok[cur] = 0;
	argc = config_tokenize(h->tok, words, CONSOLE_MAX_ARGS);
	if (argc < 0)
		return false;
	if (argc > 0 && cur > 0 && line[cur - 1] != ' ') {
		h->partial = argv[--argc];
		h->plen = strlen(h->partial);
		/* a quoted or escaped word under the cursor is an argument */
		if (cur < h->plen || memcmp(line + cur - h->plen, h->partial, h->plen) != 0)
			return false;
	} else {
		h->partial = "";
	}
	/* level 1: the command's first word */
	h->n = console_level(NULL, h->set, CONSOLE_MAX_WORDS, NULL);
	h->level = L_FIRST;
	if (argc == 0)
		return true;
	int m = words_match(h->set, h->n, argv[0], strlen(argv[0]));
	if (m < 0 || h->set[m].n >= sizeof(h->first)) {
		snprintf(h->why, sizeof(h->why), "%s command '%s'",
		    m == WORDS_AMBIGUOUS ? "ambiguous" : "no", argv[0]);
		h->level = L_NONE;
		return true;
	}
	memcpy(h->first, h->set[m].s, h->set[m].n);
	h->first[h->set[m].n] = 0;
	/* level 2: the second word of a two-word verb */
	h->n = console_level(h->first, h->set, CONSOLE_MAX_WORDS, &single);
	if (h->n > 0) {
		if (argc == 1) {
			h->level = L_SECOND;
			return true;
		}
		if (console_resolve(argc, argv, &k, &done, NULL, 0) != 0) {
			snprintf(h->why, sizeof(h->why), "no command '%s %s'", h->first, argv[1]);
			h->level = L_NONE;
			return true;
		}
	} else {
		k = single ? single : console_find(h->first);
		done = 1;
		if (k == NULL)
			return false;
	}
	argc -= done;
	argv += done;
	if (strcmp(k->verb, "set") != 0 && strcmp(k->verb, "delete") != 0) {
		h->level = L_ARGS;
		cmd_usage(h, k);
		return true;
	}
	/* set/delete: the setting's path words */
	h->verb = k->verb;
	path_level(h, NULL);
	h->level = L_PATH1;
	if (argc == 0)
		return true;
	m = words_match(h->set, h->n, argv[0], strlen(argv[0]));
	if (m < 0 || h->set[m].n >= sizeof(h->path1)) {
		snprintf(h->why, sizeof(h->why), "%s setting '%s'",
		    m == WORDS_AMBIGUOUS ? "ambiguous" : "no", argv[0]);
		h->level = L_NONE;
		return true;
	}
	memcpy(h->path1, h->set[m].s, h->set[m].n);
	h->path1[h->set[m].n] = 0;
	path_level(h, h->path1);
	if (h->n > 0 && argc == 1) {
		h->level = L_PATH2;
		return true;
	}
	{
		char path[2 * CONSOLE_WORD_MAX + 2];
		const char *usage = NULL;
		int w = config_resolve_path(h->verb, argc, argv, path, sizeof(path), &usage);

		if (w <= 0 || usage == NULL) {
			snprintf(h->why, sizeof(h->why), "no setting '%s %s%s%s'", h->verb,
			    h->path1, argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
			h->level = L_NONE;
			return true;
		}
		snprintf(h->usage, sizeof(h->usage), "%s %s%s%s", h->verb, path,
		    usage[0] ? " " : "", usage[0] ? usage : "(no more words)");
	}
	h->level = L_ARGS;
	return true;
}

enum complete_result
complete_tab(const char *line, size_t cur, char *out, size_t cap)
{
	static struct here h; /* large; the console runs on one thread */
	size_t common = 0, matches;

	out[0] = 0;
	if (cur > CONFIG_CONSOLE_LINE_MAX || !locate(line, cur, &h) || h.level == L_NONE ||
	    h.level == L_ARGS)
		return COMPLETE_BELL;
	matches = words_common(h.set, h.n, h.partial, h.plen, &common);
	if (matches == 0)
		return COMPLETE_BELL;
	for (size_t i = 0; i < h.n; i++) {
		if (!words_starts(&h.set[i], h.partial, h.plen))
			continue;
		if (common > h.plen) {
			snprintf(out, cap, "%.*s%s", (int)(common - h.plen), h.set[i].s + h.plen,
			    matches == 1 ? " " : "");
			return COMPLETE_INSERT;
		}
		break;
	}
	if (matches == 1) { /* typed in full already */
		snprintf(out, cap, " ");
		return COMPLETE_INSERT;
	}
	words_join(h.set, h.n, h.partial, h.plen, out, cap);
	return COMPLETE_LIST;
}

/* One line of help for keyword w at h's level. */
static void
word_help(struct here *h, const struct words_word *w, char *out, size_t cap)
{
	char name[2 * CONSOLE_WORD_MAX + 2];
	const struct console_cmd *k;
	struct here sub;

	out[0] = 0;
	switch (h->level) {
	case L_FIRST:
		snprintf(name, sizeof(name), "%.*s", (int)w->n, w->s);
		if ((k = console_find(name)) != NULL) {
			snprintf(out, cap, "%s", k->help);
			return;
		}
		memset(&sub, 0, sizeof(sub));
		sub.n = console_level(name, sub.set, CONSOLE_MAX_WORDS, NULL);
		words_join(sub.set, sub.n, "", 0, out, cap);
		return;
	case L_SECOND:
		snprintf(name, sizeof(name), "%s %.*s", h->first, (int)w->n, w->s);
		if ((k = console_find(name)) != NULL)
			snprintf(out, cap, "%s%s%s", k->args, k->args[0] ? ": " : "", k->help);
		return;
	case L_PATH1:
	case L_PATH2: {
		char *argv[2], a0[CONSOLE_WORD_MAX], a1[CONSOLE_WORD_MAX];
		const char *usage = NULL;
		int argc = 1;

		snprintf(a0, sizeof(a0), "%.*s", (int)(h->level == L_PATH1 ? w->n : strlen(h->path1)),
		    h->level == L_PATH1 ? w->s : h->path1);
		argv[0] = a0;
		if (h->level == L_PATH2) {
			snprintf(a1, sizeof(a1), "%.*s", (int)w->n, w->s);
			argv[1] = a1;
			argc = 2;
		}
		if (config_resolve_path(h->verb, argc, argv, name, sizeof(name), &usage) > 0 &&
		    usage != NULL) {
			snprintf(out, cap, "%s", usage);
		} else {
			struct path_ctx p = { &sub, a0 };

			memset(&sub, 0, sizeof(sub));
			config_grammar_each(h->verb, add_path, &p);
			words_join(sub.set, sub.n, "", 0, out, cap);
		}
		return;
	}
	default:
		return;
	}
}

void
complete_help(const char *line, size_t cur, void (*emit)(void *arg, const char *line), void *arg)
{
	static struct here h;
	char help[300], text[sizeof(((struct here *)0)->usage) + 16];
	size_t shown = 0;

	if (cur > CONFIG_CONSOLE_LINE_MAX || !locate(line, cur, &h)) {
		emit(arg, "  (inside a quoted value: type ctrl-V ? for a literal '?')");
	} else if (h.level == L_NONE) {
		snprintf(text, sizeof(text), "  %s (try 'help')", h.why);
		emit(arg, text);
	} else if (h.level == L_ARGS) {
		snprintf(text, sizeof(text), "  usage: %s", h.usage);
		emit(arg, text);
	} else {
		for (size_t i = 0; i < h.n; i++) {
			if (!words_starts(&h.set[i], h.partial, h.plen))
				continue;
			word_help(&h, &h.set[i], help, sizeof(help));
			snprintf(text, sizeof(text), "  %-20.*s %s", (int)h.set[i].n, h.set[i].s,
			    help);
			emit(arg, text);
			shown++;
		}
		if (shown == 0) {
			snprintf(text, sizeof(text), "  nothing starts with '%s' here", h.partial);
			emit(arg, text);
		}
	}
}
