/*
 * firmware/keys/record.c: the DKIM key record parser and its comparison
 * with a real generated key (RSA and Ed25519): the record zegel writes
 * matches; each way a published record can be wrong is named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/keys/record.h"

static struct hal_key rsa, ed;
static uint8_t rpub[600], epub[64];
static size_t rlen, elen;
static struct keyrec r;

static int
setup(void **state)
{
	(void)state;
	if (hal_key_generate(&rsa, HAL_KEY_RSA, 1024) != 0 ||
	    hal_key_generate(&ed, HAL_KEY_ED25519, 0) != 0)
		return -1;
	if (hal_key_public(&rsa, rpub, sizeof(rpub), &rlen) != 0 ||
	    hal_key_public(&ed, epub, sizeof(epub), &elen) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hal_key_free(&rsa);
	hal_key_free(&ed);
	return 0;
}

static unsigned
check(const char *txt, enum hal_key_type t)
{
	return t == HAL_KEY_RSA ? keyrec_check(txt, strlen(txt), t, rpub, rlen, &r)
				: keyrec_check(txt, strlen(txt), t, epub, elen, &r);
}

static void
test_own_record_matches(void **state)
{
	char v[1200], w[1300];
	size_t n;

	(void)state;
	assert_int_equal(keyrec_value(HAL_KEY_RSA, rpub, rlen, v, sizeof(v), &n), 0);
	assert_int_equal(n, strlen(v));
	assert_int_equal(check(v, HAL_KEY_RSA), 0);
	assert_int_equal(r.plen, rlen);
	assert_int_equal(keyrec_value(HAL_KEY_ED25519, epub, elen, v, sizeof(v), NULL), 0);
	assert_int_equal(check(v, HAL_KEY_ED25519), 0);
	/* the other key type: k= and p= both differ */
	assert_int_equal(check(v, HAL_KEY_RSA), KEYREC_KEYTYPE | KEYREC_KEY);
	/* whitespace inside p= (zone-file strings joined with spaces), a final ';' */
	assert_int_equal(keyrec_value(HAL_KEY_RSA, rpub, rlen, v, sizeof(v), NULL), 0);
	n = strlen("v=DKIM1; k=rsa; p=");
	snprintf(w, sizeof(w), " v = DKIM1 ;k=rsa;\tp=%.*s \r\n %s ; ", 40, v + n, v + n + 40);
	assert_int_equal(check(w, HAL_KEY_RSA), 0);
	/* no k=: rsa is the default; h= and s= that allow DKIM signatures */
	snprintf(w, sizeof(w), "v=DKIM1; h=sha1:sha256; s=email; n=hi; x=y; p=%s", v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), 0);
	/* the tiny buffer: ERANGE, no overflow */
	assert_int_equal(keyrec_value(HAL_KEY_RSA, rpub, rlen, v, 40, NULL), -ERANGE);
	assert_int_equal(keyrec_value(HAL_KEY_ED25519, rpub, rlen, v, sizeof(v), NULL), -EINVAL);
}

static void
test_differences(void **state)
{
	char v[1200], w[1300], why[400];
	size_t n = strlen("v=DKIM1; k=rsa; p="), vl;

	(void)state;
	assert_int_equal(keyrec_value(HAL_KEY_RSA, rpub, rlen, v, sizeof(v), &vl), 0);
	/* cut off at a 4-character boundary: decodes, but is a prefix */
	snprintf(w, sizeof(w), "v=DKIM1; k=rsa; p=%.*s", (int)(vl - n - 20), v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), KEYREC_KEY);
	keyrec_explain(KEYREC_KEY, &r, HAL_KEY_RSA, rpub, rlen, why, sizeof(why));
	assert_non_null(strstr(why, "cut off"));
	/* cut off elsewhere: not base64 */
	snprintf(w, sizeof(w), "v=DKIM1; k=rsa; p=%.*s", (int)(vl - n - 3), v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), KEYREC_BASE64);
	/* t=y, missing v=, wrong k= */
	snprintf(w, sizeof(w), "v=DKIM1; k=rsa; t=y; p=%s", v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), KEYREC_TESTING);
	snprintf(w, sizeof(w), "k=rsa; t=s; p=%s", v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), KEYREC_NO_VERSION);
	assert_true(r.t_strict);
	snprintf(w, sizeof(w), "v=DKIM1; k=ed25519; p=%s", v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), KEYREC_KEYTYPE);
	keyrec_explain(KEYREC_KEYTYPE, &r, HAL_KEY_RSA, rpub, rlen, why, sizeof(why));
	assert_string_equal(why, "k=ed25519 but the key is rsa");
	/* v= not first, or another version */
	snprintf(w, sizeof(w), "k=rsa; v=DKIM1; p=%s", v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), KEYREC_VERSION);
	snprintf(w, sizeof(w), "v=DKIM2; p=%s", v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), KEYREC_VERSION);
	/* revoked, no p=, another key (the Ed25519 one as rsa) */
	assert_int_equal(check("v=DKIM1; k=rsa; p=", HAL_KEY_RSA), KEYREC_REVOKED);
	assert_int_equal(check("v=DKIM1; k=rsa", HAL_KEY_RSA), KEYREC_NO_P);
	assert_int_equal(keyrec_value(HAL_KEY_ED25519, epub, elen, w, sizeof(w), NULL), 0);
	assert_int_equal(check(w, HAL_KEY_ED25519), 0);
	/* another key: one base64 letter of p= replaced by another letter (flipping
	 * a bit of the character could make '+', '/', 'z' or 'Z' a non-base64 one,
	 * a different error, as often as the random key had one there) */
	{
		char *c = &w[strlen("v=DKIM1; k=ed25519; p=") + 3];

		*c = *c == 'A' ? 'B' : 'A';
	}
	assert_int_equal(check(w, HAL_KEY_ED25519), KEYREC_KEY);
	keyrec_explain(KEYREC_KEY, &r, HAL_KEY_ED25519, epub, elen, why, sizeof(why));
	assert_non_null(strstr(why, "another key"));
	/* h= and s= that exclude DKIM email signatures */
	snprintf(w, sizeof(w), "v=DKIM1; h=sha1; s=tlsrpt; p=%s", v + n);
	assert_int_equal(check(w, HAL_KEY_RSA), KEYREC_HASH | KEYREC_SERVICE);
	/* every bit explained, the line bounded */
	keyrec_explain(0xfff, &r, HAL_KEY_RSA, rpub, rlen, why, 50);
	assert_int_equal(strlen(why), 49);
}

static void
test_syntax(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"v=DKIM1; v=DKIM1; p=",
		"v=DKIM1; ; p=",
		"1v=x",
		"v DKIM1",
		"v=DKIM1; p=AB\x01",
		"v=DKIM1; p=\xc3\xa9",
		"=x",
		"v=DKIM1;;",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(keyrec_parse(bad[i], strlen(bad[i]), &r) & KEYREC_SYNTAX,
		    KEYREC_SYNTAX);
	assert_int_equal(keyrec_parse("v=DKIM1; k=rsa; p=AAAA;", 23, &r), 0);
	assert_int_equal(r.plen, 3);
	/* not NUL-terminated: only n bytes are read */
	assert_int_equal(keyrec_parse("v=DKIM1; p=AAAAzzzz", 15, &r), 0);
	assert_int_equal(r.plen, 3);
	/* padding rules */
	assert_int_equal(keyrec_parse("p=AA==", 6, &r), 0);
	assert_true(r.p_base64_ok);
	assert_int_equal(r.plen, 1);
	assert_int_equal(keyrec_parse("p=AA=A", 6, &r), 0);
	assert_false(r.p_base64_ok);
	assert_int_equal(keyrec_parse("p=A===", 6, &r), 0);
	assert_false(r.p_base64_ok);
}

static void
test_txt_join(void **state)
{
	static const uint8_t two[] = { 3, 'v', '=', 'D', 2, 'K', 'I', 0 };
	static const uint8_t bad[] = { 5, 'v', '=' };
	char out[16];
	size_t n;

	(void)state;
	assert_int_equal(keyrec_txt_join(two, sizeof(two), out, sizeof(out), &n), 0);
	assert_string_equal(out, "v=DKI");
	assert_int_equal(n, 5);
	assert_int_equal(keyrec_txt_join(bad, sizeof(bad), out, sizeof(out), &n), -EINVAL);
	assert_int_equal(keyrec_txt_join(two, 0, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(keyrec_txt_join(two, sizeof(two), out, 5, &n), -ERANGE);
}

/* The key records of RFC 8463 Appendix A.2 (tests/vectors/dkim/rfc8463-appendix-a.txt)
 * against its keys: the RSA record as the four TXT strings DNS carries. */
static const char a2_rsa_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";
static const char *const a2_rsa_strings[] = {
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
	"iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutAC"
	"DfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3"
	"Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
};
static const char a2_ed[] = "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
static const uint8_t a2_ed_pub[32] = { 0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b,
	0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf,
	0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a };

static void
test_rfc8463_vectors(void **state)
{
	struct hal_key k;
	uint8_t rd[1024], pub[600];
	char txt[KEYREC_TEXT_MAX];
	size_t o = 0, n, pl;

	(void)state;
	assert_int_equal(keyrec_check(a2_ed, strlen(a2_ed), HAL_KEY_ED25519, a2_ed_pub, 32, &r), 0);
	assert_int_equal(hal_key_load(&k, (const uint8_t *)a2_rsa_pem, strlen(a2_rsa_pem)), 0);
	assert_int_equal(hal_key_public(&k, pub, sizeof(pub), &pl), 0);
	hal_key_free(&k);
	for (size_t i = 0; i < sizeof(a2_rsa_strings) / sizeof(a2_rsa_strings[0]); i++) {
		size_t l = strlen(a2_rsa_strings[i]);

		rd[o++] = (uint8_t)l;
		memcpy(rd + o, a2_rsa_strings[i], l);
		o += l;
	}
	assert_int_equal(keyrec_txt_join(rd, o, txt, sizeof(txt), &n), 0);
	assert_int_equal(keyrec_check(txt, n, HAL_KEY_RSA, pub, pl, &r), 0);
	/* the two records swapped: each names the other's key type and key */
	assert_int_equal(keyrec_check(a2_ed, strlen(a2_ed), HAL_KEY_RSA, pub, pl, &r),
	    KEYREC_KEYTYPE | KEYREC_KEY);
	assert_int_equal(keyrec_check(txt, n, HAL_KEY_ED25519, a2_ed_pub, 32, &r),
	    KEYREC_KEYTYPE | KEYREC_KEY);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_own_record_matches),
		cmocka_unit_test(test_differences),
		cmocka_unit_test(test_syntax),
		cmocka_unit_test(test_txt_join),
		cmocka_unit_test(test_rfc8463_vectors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
