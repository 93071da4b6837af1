/* hal/linux/afalg_proc.c: the driver the kernel binds per algorithm, from
 * /proc/crypto texts (tests/vectors/proc_crypto/PROVENANCE), fed whole, split
 * at every offset and byte by byte: the same picks every way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hal/linux/afalg_proc.h"

static const char *const names[4] = { "sha1", "sha256", "sha384", "sha512" };
static char text[65536];
static size_t tlen;

static void
load(const char *file)
{
	char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "tests/vectors/proc_crypto/%s", file);
	f = fopen(path, "rb");
	assert_non_null(f);
	tlen = fread(text, 1, sizeof(text), f);
	fclose(f);
	assert_true(tlen > 0 && tlen < sizeof(text));
}

/* Feed text in slices: first `cut` bytes, then the rest in `step`s. */
static void
parse(struct hal_afalg_pick picks[4], size_t cut, size_t step)
{
	struct hal_afalg_proc c;
	size_t off = 0;

	hal_afalg_proc_init(&c, names, picks, 4);
	hal_afalg_proc_push(&c, (const uint8_t *)text, cut);
	for (off = cut; off < tlen; off += step)
		hal_afalg_proc_push(&c, (const uint8_t *)text + off,
		    tlen - off < step ? tlen - off : step);
	hal_afalg_proc_end(&c);
}

static void
check_split(void)
{
	struct hal_afalg_pick whole[4], part[4];

	parse(whole, tlen, 1);
	for (size_t cut = 0; cut <= tlen; cut += 1 + cut / 64) {
		parse(part, cut, tlen);
		assert_memory_equal(whole, part, sizeof(whole));
	}
	parse(part, 0, 1);
	assert_memory_equal(whole, part, sizeof(whole));
}

static void
test_host(void **state)
{
	struct hal_afalg_pick p[4];

	(void)state;
	load("host-6.18-x86_64.txt");
	parse(p, tlen, 1);
	assert_string_equal(p[0].driver, "sha1-lib");
	assert_string_equal(p[1].driver, "sha256-lib");
	assert_int_equal(p[1].priority, 300);
	assert_string_equal(p[1].type, "shash");
	assert_string_equal(p[2].driver, "sha384-lib");
	assert_string_equal(p[3].driver, "sha512-lib");
	check_split();
}

static void
test_router_engine(void **state)
{
	struct hal_afalg_pick p[4];

	(void)state;
	load("router-engine.txt");
	parse(p, tlen, 1);
	assert_string_equal(p[0].driver, "sha1-generic"); /* the engine's has priority 50 */
	assert_int_equal(p[0].priority, 100);
	assert_string_equal(p[1].driver, "sha256-eip93"); /* not the internal helper */
	assert_int_equal(p[1].priority, 300);
	assert_string_equal(p[1].type, "ahash");
	assert_int_equal(p[2].priority, -1); /* no sha384 entry */
	assert_string_equal(p[2].driver, "");
	assert_string_equal(p[3].driver, "sha512-generic"); /* skcipher ignored */
	check_split();
}

/* Junk: no crash, nothing picked; an entry without the last blank line
 * counts at end(); an overlong line and a bad priority are ignored. */
static void
test_junk(void **state)
{
	struct hal_afalg_proc c;
	struct hal_afalg_pick p[4];
	char longline[400];
	static const char tail[] = "name : sha256\ndriver : x\npriority : 7\ntype : ahash";
	static const char badprio[] = "name : sha1\ndriver : y\npriority : 9x\ntype : shash\n\n";

	(void)state;
	memset(longline, 'a', sizeof(longline));
	hal_afalg_proc_init(&c, names, p, 4);
	hal_afalg_proc_push(&c, (const uint8_t *)longline, sizeof(longline));
	hal_afalg_proc_push(&c, (const uint8_t *)"\n\n\0:\n", 5);
	hal_afalg_proc_push(&c, (const uint8_t *)badprio, strlen(badprio));
	hal_afalg_proc_push(&c, (const uint8_t *)tail, strlen(tail));
	assert_int_equal(p[1].priority, -1); /* not closed yet */
	hal_afalg_proc_end(&c);
	assert_int_equal(p[0].priority, -1);
	assert_int_equal(p[1].priority, 7);
	assert_string_equal(p[1].driver, "x");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_router_engine),
		cmocka_unit_test(test_junk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
