/*
 * libFuzzer target: zegel/words.h. The input is keywords separated by
 * '\n'; the last piece is the typed word. Properties checked:
 *   words_match: an index names a keyword the word starts (equal to it, or
 *     the only one it starts); WORDS_AMBIGUOUS means at least two start
 *     with it and none equals it; WORDS_NONE means none starts with it.
 *   words_common: the count agrees, and the common prefix starts every
 *     match and is no shorter than the word.
 *   words_join: fits its buffer, NUL-terminated, lists at most the matches.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zegel/words.h"

#define MAXW 64

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct words_word set[MAXW];
	const char *s = (const char *)data, *w;
	size_t n = 0, start = 0, wl, matches = 0, common, exact = 0;
	char buf[128];
	int k;

	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n') {
			n = words_add(set, n, MAXW, s + start, i - start);
			start = i + 1;
		}
	}
	w = s + start;
	wl = size - start;
	for (size_t i = 0; i < n; i++) {
		if (words_starts(&set[i], w, wl)) {
			matches++;
			exact += set[i].n == wl;
		}
	}
	k = words_match(set, n, w, wl);
	if (k >= 0) {
		if ((size_t)k >= n || !words_starts(&set[k], w, wl) || wl == 0)
			abort();
		if (set[k].n != wl && (matches != 1 || exact != 0))
			abort();
	} else if (k == WORDS_AMBIGUOUS) {
		if (matches < 2 || exact != 0 || wl == 0)
			abort();
	} else if (k == WORDS_NONE) {
		if (wl != 0 && matches != 0)
			abort();
	} else {
		abort();
	}
	if (words_common(set, n, w, wl, &common) != matches)
		abort();
	if (matches > 0) {
		if (common < wl)
			abort();
		const struct words_word *first = NULL;
		bool longer = true; /* a longer common prefix would fit them all */

		for (size_t i = 0; i < n; i++) {
			if (!words_starts(&set[i], w, wl))
				continue;
			if (first == NULL)
				first = &set[i];
			if (set[i].n < common || memcmp(set[i].s, first->s, common) != 0)
				abort();
			if (set[i].n == common || set[i].s[common] != first->s[common])
				longer = false;
		}
		if (longer)
			abort();
	}
	size_t cap = 1 + (size ? data[0] % sizeof(buf) : 0);
	size_t listed = words_join(set, n, w, wl, buf, cap);
	if (listed > matches || strlen(buf) >= cap)
		abort();
	return 0;
}
