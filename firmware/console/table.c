/*
 * The console's command table: the built-in verbs and the registered
 * tables, and which command a line names: the keywords at each level (the
 * first words of every verb, then the second words under one), matched by
 * unique prefix (zegel/words.h), so `sh run` is `show running`. The same
 * levels feed Tab completion and `?` (complete.c). Nothing here prints.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/console/table.h"

static struct {
	const struct console_cmd *cmds;
	size_t n;
} registry[CONSOLE_MAX_REGISTER];

int
console_register(const struct console_cmd *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < console_nbuiltins; j++)
			if (strcmp(cmds[i].verb, console_builtins[j].verb) == 0)
				return -EEXIST;
	for (size_t i = 0; i < CONSOLE_MAX_REGISTER; i++) {
		if (registry[i].cmds == NULL) {
			registry[i].cmds = cmds;
			registry[i].n = n;
			return 0;
		}
	}
	return -ENOSPC;
}

void
console_table_reset(void)
{
	memset(registry, 0, sizeof(registry));
}

const struct console_cmd *
console_cmd_at(size_t i)
{
	if (i < console_nbuiltins)
		return &console_builtins[i];
	i -= console_nbuiltins;
	for (size_t t = 0; t < CONSOLE_MAX_REGISTER; t++) {
		if (registry[t].cmds == NULL)
			continue;
		if (i < registry[t].n)
			return &registry[t].cmds[i];
		i -= registry[t].n;
	}
	return NULL;
}

/* Words in a verb: 1 or 2. */
size_t
console_verb_words(const char *verb)
{
	return strchr(verb, ' ') ? 2 : 1;
}

/* Does verb match the first words of argv? */
bool
console_verb_matches(const char *verb, int argc, char **argv)
{
	const char *sp = strchr(verb, ' ');

	if (sp == NULL)
		return argc >= 1 && strcmp(verb, argv[0]) == 0;
	return argc >= 2 && strlen(argv[0]) == (size_t)(sp - verb) &&
	    strncmp(verb, argv[0], (size_t)(sp - verb)) == 0 && strcmp(sp + 1, argv[1]) == 0;
}

/* "a, b, c": second words of verbs whose first word is first (NULL: the
 * distinct first words). */
void
console_list_verbs(const char *first, char *buf, size_t cap)
{
	size_t used = 0;

	buf[0] = 0;
	for (size_t i = 0; console_cmd_at(i) != NULL; i++) {
		const char *v = console_cmd_at(i)->verb, *w;
		size_t wl;
		bool dup = false;

		if (first != NULL) {
			size_t fl = strlen(first);
			if (strncmp(v, first, fl) != 0 || v[fl] != ' ')
				continue;
			w = v + fl + 1;
			wl = strlen(w);
		} else {
			w = v;
			wl = strcspn(v, " ");
		}
		/* Skip a word already listed. */
		for (size_t j = 0; j < i && !dup; j++) {
			const char *u = console_cmd_at(j)->verb, *x;
			if (first != NULL) {
				size_t fl = strlen(first);
				if (strncmp(u, first, fl) != 0 || u[fl] != ' ')
					continue;
				x = u + fl + 1;
				dup = strlen(x) == wl && strncmp(x, w, wl) == 0;
			} else {
				dup = strcspn(u, " ") == wl && strncmp(u, w, wl) == 0;
			}
		}
		if (dup)
			continue;
		int r = snprintf(buf + used, cap - used, "%s%.*s", used ? ", " : "", (int)wl, w);
		if (r < 0 || (size_t)r >= cap - used)
			break;
		used += (size_t)r;
	}
}


size_t
console_level(const char *first, struct words_word *set, size_t cap,
    const struct console_cmd **single)
{
	size_t n = 0, fl = first ? strlen(first) : 0;

	if (single != NULL)
		*single = NULL;
	for (size_t i = 0; console_cmd_at(i) != NULL; i++) {
		const struct console_cmd *k = console_cmd_at(i);
		const char *v = k->verb;

		if (first == NULL) {
			n = words_add(set, n, cap, v, strcspn(v, " "));
		} else if (strncmp(v, first, fl) == 0 && v[fl] == ' ') {
			n = words_add(set, n, cap, v + fl + 1, strlen(v + fl + 1));
		} else if (single != NULL && strcmp(v, first) == 0) {
			*single = k;
		}
	}
	return n;
}

const struct console_cmd *
console_find(const char *verb)
{
	for (size_t i = 0; console_cmd_at(i) != NULL; i++)
		if (strcmp(console_cmd_at(i)->verb, verb) == 0)
			return console_cmd_at(i);
	return NULL;
}

static void
ambiguous(char *why, size_t cap, const char *lead, const struct words_word *set, size_t n,
    const char *w)
{
	char list[256];

	words_join(set, n, w, strlen(w), list, sizeof(list));
	snprintf(why, cap, "error: ambiguous: '%s%s' could be %s%s", lead, w, lead, list);
}

int
console_resolve(int argc, char **argv, const struct console_cmd **cmd, int *used, char *why,
    size_t cap)
{
	const bool quiet = why == NULL || cap == 0;
	struct words_word set[CONSOLE_MAX_WORDS], sub[CONSOLE_MAX_WORDS];
	const struct console_cmd *single;
	char first[CONSOLE_WORD_MAX], verb[2 * CONSOLE_WORD_MAX + 2], valid[256], lead[40];
	size_t n, ns;
	int k;

	if (argc < 1)
		return -1;
	n = console_level(NULL, set, CONSOLE_MAX_WORDS, NULL);
	k = words_match(set, n, argv[0], strlen(argv[0]));
	if (k == WORDS_AMBIGUOUS) {
		if (!quiet)
			ambiguous(why, cap, "", set, n, argv[0]);
		return -1;
	}
	if (k < 0 || set[k].n >= sizeof(first)) {
		if (!quiet) {
			words_join(set, n, "", 0, valid, sizeof(valid));
			snprintf(why, cap, "error: unknown command '%s' (commands: %s; try 'help')",
			    argv[0], valid);
		}
		return -1;
	}
	memcpy(first, set[k].s, set[k].n);
	first[set[k].n] = 0;
	ns = console_level(first, sub, CONSOLE_MAX_WORDS, &single);
	if (ns > 0 && argc >= 2) {
		k = words_match(sub, ns, argv[1], strlen(argv[1]));
		if (k >= 0) {
			snprintf(verb, sizeof(verb), "%s %.*s", first, (int)sub[k].n, sub[k].s);
			*cmd = console_find(verb);
			*used = 2;
			return *cmd ? 0 : -1;
		}
		if (k == WORDS_AMBIGUOUS && single == NULL) {
			if (!quiet) {
				snprintf(lead, sizeof(lead), "%s ", first);
				ambiguous(why, cap, lead, sub, ns, argv[1]);
			}
			return -1;
		}
	}
	if (single == NULL)
		single = console_find(first);
	if (single != NULL) {
		*cmd = single;
		*used = 1;
		return 0;
	}
	if (!quiet) {
		words_join(sub, ns, "", 0, valid, sizeof(valid));
		if (argc < 2)
			snprintf(why, cap, "error: %s what? (%s)", first, valid);
		else
			snprintf(why, cap, "error: unknown command '%s %s' (%s: %s)", first, argv[1],
			    first, valid);
	}
	return -1;
}
