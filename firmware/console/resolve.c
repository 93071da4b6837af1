/*
 * Which command a line names: the console's keywords at each level (the
 * first words of every verb, then the second words under one), matched by
 * unique prefix (zegel/words.h), so `sh run` is `show running`. The same
 * levels feed Tab completion and `?` (complete.c).
 */
#include <stdio.h>
#include <string.h>

#include "firmware/console/internal.h"

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
ambiguous(struct console *c, const char *lead, const struct words_word *set, size_t n,
    const char *w)
{
	char list[256];

	words_join(set, n, w, strlen(w), list, sizeof(list));
	console_printf(c, "error: ambiguous: '%s%s' could be %s%s", lead, w, lead, list);
}

int
console_resolve(struct console *c, int argc, char **argv, const struct console_cmd **cmd,
    int *used, bool quiet)
{
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
			ambiguous(c, "", set, n, argv[0]);
		return -1;
	}
	if (k < 0 || set[k].n >= sizeof(first)) {
		if (!quiet) {
			words_join(set, n, "", 0, valid, sizeof(valid));
			console_printf(c, "error: unknown command '%s' (commands: %s; try 'help')",
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
				ambiguous(c, lead, sub, ns, argv[1]);
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
			console_printf(c, "error: %s what? (%s)", first, valid);
		else
			console_printf(c, "error: unknown command '%s %s' (%s: %s)", first, argv[1],
			    first, valid);
	}
	return -1;
}
