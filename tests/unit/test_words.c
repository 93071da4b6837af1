/*
 * zegel/words.h: unique-prefix matching of keywords (the console's
 * abbreviations, Tab completion and '?' lists).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "zegel/words.h"

static size_t
fill(struct words_word *set, size_t cap, const char *const *w)
{
	size_t n = 0;

	for (; *w; w++)
		n = words_add(set, n, cap, *w, strlen(*w));
	return n;
}

static const char *const cmds[] = { "show", "set", "save", "help", "delete", "discard",
	"dane-check", "resolver", "resolver-anchors", "show", NULL };

static void
test_add_dedups(void **st)
{
	struct words_word set[16];
	size_t n;

	(void)st;
	n = fill(set, 16, cmds);
	assert_int_equal(n, 9); /* "show" once */
	assert_int_equal(words_add(set, n, 16, "x", 0), n); /* empty word: not added */
	assert_int_equal(words_add(set, 2, 2, "new", 3), 2); /* full set */
	/* a word of a longer text */
	n = words_add(set, 0, 16, "show running", 4);
	n = words_add(set, n, 16, "show", 4);
	assert_int_equal(n, 1);
}

static void
test_match(void **st)
{
	struct words_word set[16];
	size_t n = fill(set, 16, cmds);

	(void)st;
	assert_int_equal(words_match(set, n, "sh", 2), 0);
	assert_int_equal(words_match(set, n, "show", 4), 0);
	assert_int_equal(words_match(set, n, "se", 2), 1);
	assert_int_equal(words_match(set, n, "sa", 2), 2);
	assert_int_equal(words_match(set, n, "s", 1), WORDS_AMBIGUOUS);
	assert_int_equal(words_match(set, n, "d", 1), WORDS_AMBIGUOUS);
	assert_int_equal(words_match(set, n, "del", 3), 4);
	assert_int_equal(words_match(set, n, "x", 1), WORDS_NONE);
	assert_int_equal(words_match(set, n, "", 0), WORDS_NONE);
	assert_int_equal(words_match(set, n, "shows", 5), WORDS_NONE);
	/* an exact keyword wins over the longer ones it starts */
	assert_int_equal(words_match(set, n, "resolver", 8), 7);
	assert_int_equal(words_match(set, n, "resolver-", 9), 8);
	assert_int_equal(words_match(set, n, "res", 3), WORDS_AMBIGUOUS);
	/* also when the exact one comes after a longer one */
	n = words_add(set, 0, 16, "abcd", 4);
	n = words_add(set, n, 16, "abc", 3);
	assert_int_equal(words_match(set, n, "abc", 3), 1);
	assert_int_equal(words_match(set, n, "ab", 2), WORDS_AMBIGUOUS);
}

static void
test_common(void **st)
{
	struct words_word set[16];
	size_t n = fill(set, 16, cmds), common = 99;

	(void)st;
	assert_int_equal(words_common(set, n, "r", 1, &common), 2);
	assert_int_equal(common, 8); /* "resolver" */
	assert_int_equal(words_common(set, n, "d", 1, &common), 3);
	assert_int_equal(common, 1);
	assert_int_equal(words_common(set, n, "sh", 2, &common), 1);
	assert_int_equal(common, 4);
	assert_int_equal(words_common(set, n, "q", 1, &common), 0);
	assert_int_equal(common, 0);
	assert_int_equal(words_common(set, n, "", 0, NULL), 9);
}

static void
test_join(void **st)
{
	struct words_word set[16];
	size_t n = fill(set, 16, cmds);
	char buf[64];

	(void)st;
	assert_int_equal(words_join(set, n, "s", 1, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "show, set, save");
	assert_int_equal(words_join(set, n, "zz", 2, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	/* cut at a whole word */
	assert_int_equal(words_join(set, n, "", 0, buf, 16), 3);
	assert_string_equal(buf, "show, set, save");
	assert_int_equal(words_join(set, n, "", 0, buf, 15), 2);
	assert_string_equal(buf, "show, set");
	assert_int_equal(words_join(set, n, "", 0, buf, 1), 0);
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_dedups),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_common),
		cmocka_unit_test(test_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
