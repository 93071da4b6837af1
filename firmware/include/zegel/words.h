/*
 * zegel/words.h — unique-prefix matching of a typed word among keywords:
 * the console's abbreviations (`sh run` for `show running`), its Tab
 * completion and its `?` lists. Pure: no I/O, no allocation.
 *
 * A caller collects the keywords that may come next (words_add() keeps each
 * once, in the order first added) and asks:
 *   words_match()   which keyword a typed word means: the one it equals, else
 *                   the only one it is a prefix of; WORDS_NONE or
 *                   WORDS_AMBIGUOUS otherwise.
 *   words_common()  how far Tab may complete: the longest common prefix of
 *                   the keywords the typed word starts.
 *   words_join()    "a, b, c": the keywords the typed word starts, for an
 *                   error ("'s' could be set, show, save") or a Tab list.
 * A word is a (pointer, length) pair into a string that outlives the set,
 * so a keyword may be one word of a longer text ("show running").
 */
#ifndef ZEGEL_WORDS_H
#define ZEGEL_WORDS_H

#include <stdbool.h>
#include <stddef.h>

struct words_word {
	const char *s;
	size_t n;
};

#define WORDS_NONE (-1)
#define WORDS_AMBIGUOUS (-2)

/* Add s[0..n) unless it is there already (or n == 0, or the set is full).
 * Returns the new count. */
size_t words_add(struct words_word *set, size_t count, size_t cap, const char *s, size_t n);

/* Does keyword k start with w[0..wl)? */
bool words_starts(const struct words_word *k, const char *w, size_t wl);

/* Index of the keyword w[0..wl) means, WORDS_NONE, or WORDS_AMBIGUOUS. An
 * exact match wins over longer keywords it is a prefix of. wl == 0 never
 * matches. */
int words_match(const struct words_word *set, size_t count, const char *w, size_t wl);

/* Number of keywords starting with w[0..wl); *common (if not NULL) is the
 * length of their longest common prefix (>= wl when any match; 0 if none). */
size_t words_common(const struct words_word *set, size_t count, const char *w, size_t wl,
    size_t *common);

/* "a, b, c" of the keywords starting with w[0..wl) (every one if wl == 0),
 * cut at a whole word to fit buf (always NUL-terminated, cap > 0). Returns
 * the number listed. */
size_t words_join(const struct words_word *set, size_t count, const char *w, size_t wl,
    char *buf, size_t cap);

#endif
