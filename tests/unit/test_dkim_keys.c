/*
 * firmware/keys: key files (generate with mode 0600, load back, PEM kinds),
 * the DNS record, and the key table filled from a configuration.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/keys/keys.h"

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/zegel-keys.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", dir, name);
}

static void
test_generate_load(void **state)
{
	char p[128], rec[2048];
	struct hal_key k, back;
	struct stat st;
	uint8_t pub1[600], pub2[600];
	size_t l1, l2, n;

	(void)state;
	for (int t = 0; t < 2; t++) {
		enum hal_key_type type = t ? HAL_KEY_ED25519 : HAL_KEY_RSA;

		path(p, sizeof(p), t ? "ed.key" : "rsa.key");
		assert_int_equal(keys_generate_file(p, type, 1024, &k), 0);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
		assert_int_equal(keys_load_file(&back, p), 0);
		assert_int_equal(back.type, type);
		assert_int_equal(hal_key_public(&k, pub1, sizeof(pub1), &l1), 0);
		assert_int_equal(hal_key_public(&back, pub2, sizeof(pub2), &l2), 0);
		assert_int_equal(l1, l2);
		assert_memory_equal(pub1, pub2, l1);
		assert_int_equal(keys_dns_record(&back, "s1", "example.com", rec, sizeof(rec), &n), 0);
		assert_non_null(strstr(rec, t ? "k=ed25519; " : "k=rsa; "));
		assert_int_equal(strlen(rec), n);
		assert_int_equal(keys_dns_record(&back, "s1", "example.com", rec, 40, &n), -ERANGE);
		assert_int_equal(keys_dns_record(&back, "bad sel", "example.com", rec, sizeof(rec),
		    &n), -EINVAL);
		hal_key_free(&k);
		hal_key_free(&back);
	}
	assert_int_equal(keys_generate_file(p, HAL_KEY_RSA, 512, NULL), -EINVAL);
	assert_int_equal(keys_generate_file(p, HAL_KEY_RSA, 8192, NULL), -EINVAL);
}

static void
test_load_errors(void **state)
{
	char p[128];
	struct hal_key k;
	FILE *f;

	(void)state;
	path(p, sizeof(p), "missing.key");
	assert_int_equal(keys_load_file(&k, p), -ENOENT);
	path(p, sizeof(p), "junk.key");
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----\n", f);
	fclose(f);
	assert_true(keys_load_file(&k, p) < 0);
	assert_int_equal(k.type, HAL_KEY_NONE);
	/* a file over the PEM limit */
	path(p, sizeof(p), "huge.key");
	f = fopen(p, "w");
	assert_non_null(f);
	for (int i = 0; i < KEYS_PEM_MAX / 8 + 2; i++)
		fputs("AAAAAAA\n", f);
	fclose(f);
	assert_int_equal(keys_load_file(&k, p), -EFBIG);
}

static int errors;

static void
on_error(const struct zcfg_key *k, int err, void *arg)
{
	(void)arg;
	assert_string_equal(k->selector, "gone");
	assert_int_equal(err, -ENOENT);
	errors++;
}

static void
test_table(void **state)
{
	static struct zcfg cfg;
	const struct keys_entry *e;
	int n = 0;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.keys[0] = (struct zcfg_key){ .used = true, .selector = "rsa", .domain = "example.com" };
	path(cfg.keys[0].file, sizeof(cfg.keys[0].file), "rsa.key");
	cfg.keys[1] = (struct zcfg_key){ .used = true, .selector = "gone", .domain = "example.com" };
	path(cfg.keys[1].file, sizeof(cfg.keys[1].file), "gone.key");
	cfg.keys[2] = (struct zcfg_key){ .used = true, .selector = "ed", .domain = "example.com" };
	path(cfg.keys[2].file, sizeof(cfg.keys[2].file), "ed.key");
	cfg.keys[3] = (struct zcfg_key){ .used = true, .selector = "ed", .domain = "other.example" };
	path(cfg.keys[3].file, sizeof(cfg.keys[3].file), "ed.key");
	assert_int_equal(keys_load_config(&cfg, on_error, NULL), 1);
	assert_int_equal(errors, 1);
	assert_non_null(keys_find("example.com", "rsa"));
	assert_int_equal(keys_find("EXAMPLE.com", "ed")->type, HAL_KEY_ED25519);
	assert_null(keys_find("example.com", "gone"));
	assert_null(keys_find("example.org", "rsa"));
	for (e = keys_next("example.com", NULL); e != NULL; e = keys_next("example.com", e)) {
		assert_string_equal(e->domain, "example.com");
		n++;
	}
	assert_int_equal(n, 2);
	assert_non_null(keys_next("other.example", NULL));
	keys_unload();
	assert_null(keys_find("example.com", "rsa"));
	assert_null(keys_next("example.com", NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_load),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
