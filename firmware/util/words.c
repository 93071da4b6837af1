/*
 * Unique-prefix matching of keywords (zegel/words.h).
 */
#include <string.h>

#include "zegel/words.h"

size_t
words_add(struct words_word *set, size_t count, size_t cap, const char *s, size_t n)
{
	if (n == 0 || count >= cap)
		return count;
	for (size_t i = 0; i < count; i++)
		if (set[i].n == n && memcmp(set[i].s, s, n) == 0)
			return count;
	set[count].s = s;
	set[count].n = n;
	return count + 1;
}

bool
words_starts(const struct words_word *k, const char *w, size_t wl)
{
	return k->n >= wl && memcmp(k->s, w, wl) == 0;
}

int
words_match(const struct words_word *set, size_t count, const char *w, size_t wl)
{
	int found = WORDS_NONE;

	if (wl == 0)
		return WORDS_NONE;
	for (size_t i = 0; i < count; i++) {
		if (!words_starts(&set[i], w, wl))
			continue;
		if (set[i].n == wl)
			return (int)i;
		found = found == WORDS_NONE ? (int)i : WORDS_AMBIGUOUS;
	}
	/* An exact match later in the set still wins. */
	if (found == WORDS_AMBIGUOUS)
		for (size_t i = 0; i < count; i++)
			if (set[i].n == wl && memcmp(set[i].s, w, wl) == 0)
				return (int)i;
	return found;
}

size_t
words_common(const struct words_word *set, size_t count, const char *w, size_t wl,
    size_t *common)
{
	const struct words_word *first = NULL;
	size_t matches = 0, len = 0;

	for (size_t i = 0; i < count; i++) {
		if (!words_starts(&set[i], w, wl))
			continue;
		if (first == NULL) {
			first = &set[i];
			len = set[i].n;
		} else {
			size_t k = wl;

			while (k < len && k < set[i].n && set[i].s[k] == first->s[k])
				k++;
			len = k;
		}
		matches++;
	}
	if (common != NULL)
		*common = len;
	return matches;
}

size_t
words_join(const struct words_word *set, size_t count, const char *w, size_t wl, char *buf,
    size_t cap)
{
	size_t used = 0, listed = 0;

	if (cap == 0)
		return 0;
	buf[0] = 0;
	for (size_t i = 0; i < count; i++) {
		size_t sep = listed ? 2 : 0;

		if (!words_starts(&set[i], w, wl))
			continue;
		if (used + sep + set[i].n + 1 > cap)
			break;
		if (sep) {
			memcpy(buf + used, ", ", 2);
			used += 2;
		}
		memcpy(buf + used, set[i].s, set[i].n);
		used += set[i].n;
		buf[used] = 0;
		listed++;
	}
	return listed;
}
