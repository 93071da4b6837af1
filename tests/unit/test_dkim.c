/*
 * DKIM signer: RFC 8463 Appendix A known answers (byte-exact b= for
 * ed25519-sha256 and rsa-sha256), canonicalisation cases against canonical
 * forms written out by hand from RFC 6376 §3.4, streaming == one-shot at
 * every split offset, header selection and oversigning, and the refusals.
 * The keys and message are those of tests/vectors/dkim/rfc8463-appendix-a.txt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dkim/dkim.h"
#include "firmware/app/commands.h"
#include "tests/unit/common/crypto_count.h"

static const char rsa_pem[] =
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

/* PKCS#8 wrapping (RFC 8410) of the RFC 8032 §7.1 TEST 1 seed
 * nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A= */
static const char ed_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";

static const char msg[] =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n"
    "\r\n";

#define KAT_T 1528637909
static const char kat_ed_b[] = "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY"
			       "5OsU7ZbnKELq+eXdp1Q1Dw==";
static const char kat_rsa_b[] = "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrS"
				"jV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2JzdA+L10TeYt9B"
				"gDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=";
static const char kat_bh[] = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";

static const char *const kat_h[] = { "from", "to", "subject", "date", "message-id", NULL };
static const char *const kat_o[] = { "from", "subject", "date", NULL };
static const char *const no_oversign[] = { NULL };

static struct hal_key rsa, ed;
static struct dkim_signer sg;
static uint8_t hbuf[CONFIG_DKIM_MAX_HEADER_BYTES];
static char out[4096];

static int
setup(void **state)
{
	(void)state;
	if (hal_key_load(&rsa, (const uint8_t *)rsa_pem, strlen(rsa_pem)) != 0)
		return -1;
	if (hal_key_load(&ed, (const uint8_t *)ed_pem, strlen(ed_pem)) != 0)
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

static struct dkim_sig_params
kat_params(const struct hal_key *k, const char *sel)
{
	struct dkim_sig_params p = {
		.domain = "football.example.com",
		.selector = sel,
		.key = k,
		.canon_header = DKIM_CANON_RELAXED,
		.canon_body = DKIM_CANON_RELAXED,
		.headers = kat_h,
		.oversign = kat_o,
		.identity = "@football.example.com",
		.flags = DKIM_SIG_RFC8463_LAYOUT,
	};
	return p;
}

/* Value of tag `tag` in a DKIM-Signature field, folding whitespace removed. */
static void
tag(const char *hdr, const char *name, char *val, size_t cap)
{
	char unf[4096], want[16];
	size_t n = 0, k = 0;
	const char *p;

	/* this field only: it ends at a CRLF not followed by WSP */
	for (p = hdr + strlen("DKIM-Signature:"); *p && n + 1 < sizeof(unf); p++) {
		if (p[0] == '\r' && p[1] == '\n' && p[2] != ' ' && p[2] != '\t')
			break;
		if (*p != '\r' && *p != '\n' && *p != ' ' && *p != '\t')
			unf[n++] = *p;
	}
	unf[n] = 0;
	snprintf(want, sizeof(want), ";%s=", name);
	/* the first tag has no ';' before it */
	if (strncmp(unf, want + 1, strlen(want) - 1) == 0)
		p = unf + strlen(want) - 1;
	else if ((p = strstr(unf, want)) != NULL)
		p += strlen(want);
	else {
		val[0] = 0;
		return;
	}
	while (*p && *p != ';' && k + 1 < cap)
		val[k++] = *p++;
	val[k] = 0;
}

/* Sign m (length n) fed in slices of at most `step` bytes after a first slice
 * of `first` bytes; headers into out[] one after the other. */
static int
sign_msg(const struct dkim_sig_params *ps, unsigned nps, const char *m, size_t n, size_t first,
    size_t step)
{
	size_t off = 0, len, total = 0;
	int rc;

	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	for (unsigned i = 0; i < nps; i++)
		if ((rc = dkim_signer_add(&sg, &ps[i])) != DKIM_OK)
			return rc;
	while (off < n) {
		size_t want = off == 0 ? first : step, k;

		if (want == 0 || want > n - off)
			want = n - off;
		/* alternate push() and push_headers() (which may stop early at
		 * the end of the header block) */
		while (want > 0) {
			k = (off & 1) ? dkim_signer_push(&sg, (const uint8_t *)m + off, want)
				      : dkim_signer_push_headers(&sg, (const uint8_t *)m + off, want);
			if (k == 0 && dkim_signer_headers_done(&sg) &&
			    dkim_signer_error(&sg) == DKIM_OK)
				k = dkim_signer_push(&sg, (const uint8_t *)m + off, want);
			if (k == 0)
				return dkim_signer_error(&sg);
			off += k;
			want -= k;
		}
	}
	if ((rc = dkim_signer_finish(&sg, KAT_T)) != DKIM_OK)
		return rc;
	out[0] = 0;
	for (unsigned i = 0; i < dkim_signer_count(&sg); i++) {
		rc = dkim_signer_header(&sg, i, out + total, sizeof(out) - total, &len);
		if (rc != DKIM_OK)
			return rc;
		total += len;
	}
	return DKIM_OK;
}

static void
test_kat_ed25519(void **state)
{
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	char v[800];

	(void)state;
	assert_int_equal(sign_msg(&p, 1, msg, strlen(msg), 0, 0), DKIM_OK);
	tag(out, "b", v, sizeof(v));
	assert_string_equal(v, kat_ed_b);
	tag(out, "bh", v, sizeof(v));
	assert_string_equal(v, kat_bh);
	tag(out, "a", v, sizeof(v));
	assert_string_equal(v, "ed25519-sha256");
}

static void
test_kat_rsa(void **state)
{
	struct dkim_sig_params p = kat_params(&rsa, "test");
	char v[800];

	(void)state;
	assert_int_equal(sign_msg(&p, 1, msg, strlen(msg), 0, 0), DKIM_OK);
	tag(out, "b", v, sizeof(v));
	assert_string_equal(v, kat_rsa_b);
	tag(out, "bh", v, sizeof(v));
	assert_string_equal(v, kat_bh);
}

/* Both signatures in one pass (one shared relaxed body hash), exactly as the
 * RFC prints them, whatever the slicing of the input. */
static void
test_kat_dual_every_offset(void **state)
{
	struct dkim_sig_params p[2] = { kat_params(&ed, "brisbane"), kat_params(&rsa, "test") };
	static char ref[4096];
	size_t n = strlen(msg);
	char v[800];

	(void)state;
	assert_int_equal(sign_msg(p, 2, msg, n, 0, 0), DKIM_OK);
	assert_int_equal(dkim_signer_count(&sg), 2);
	strcpy(ref, out);
	tag(strstr(ref, "DKIM-Signature"), "b", v, sizeof(v));
	assert_string_equal(v, kat_ed_b);
	tag(strstr(ref + 1, "DKIM-Signature"), "b", v, sizeof(v));
	assert_string_equal(v, kat_rsa_b);
	for (size_t k = 1; k <= n; k++) {
		assert_int_equal(sign_msg(p, 2, msg, n, k, n), DKIM_OK);
		assert_string_equal(out, ref);
	}
	for (size_t step = 1; step <= 7; step++) {
		assert_int_equal(sign_msg(p, 2, msg, n, step, step), DKIM_OK);
		assert_string_equal(out, ref);
	}
}

/* prepare(), then the signatures made elsewhere in any order (the key
 * holder's workers, issue 22): the same fields as finish() gives. */
static void
test_prepare_set_sig(void **state)
{
	struct dkim_sig_params p[2] = { kat_params(&ed, "brisbane"), kat_params(&rsa, "test") };
	static char ref[4096], two[4096];
	const struct hal_key *k = NULL;
	const uint8_t *dg = NULL;
	uint8_t sig[DKIM_MAX_SIG_BYTES];
	size_t n = strlen(msg), sl, len, total = 0;

	(void)state;
	assert_int_equal(sign_msg(p, 2, msg, n, 0, 0), DKIM_OK);
	strcpy(ref, out);
	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	assert_int_equal(dkim_signer_add(&sg, &p[0]), DKIM_OK);
	assert_int_equal(dkim_signer_add(&sg, &p[1]), DKIM_OK);
	assert_int_equal(dkim_signer_push(&sg, (const uint8_t *)msg, n), n);
	assert_int_equal(dkim_signer_digest(&sg, 0, &k, &dg), DKIM_ERR_STATE);
	assert_int_equal(dkim_signer_prepare(&sg, KAT_T), DKIM_OK);
	assert_int_equal(dkim_signer_prepare(&sg, KAT_T), DKIM_ERR_STATE); /* sticks */
	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	assert_int_equal(dkim_signer_add(&sg, &p[0]), DKIM_OK);
	assert_int_equal(dkim_signer_add(&sg, &p[1]), DKIM_OK);
	assert_int_equal(dkim_signer_push(&sg, (const uint8_t *)msg, n), n);
	assert_int_equal(dkim_signer_prepare(&sg, KAT_T), DKIM_OK);
	assert_int_equal(dkim_signer_digest(&sg, 2, &k, &dg), DKIM_ERR_STATE);
	assert_int_equal(dkim_signer_count(&sg), 0); /* no field before every signature */
	for (int i = 1; i >= 0; i--) {      /* the RSA one answers first */
		assert_int_equal(dkim_signer_digest(&sg, (unsigned)i, &k, &dg), DKIM_OK);
		assert_ptr_equal(k, p[i].key);
		assert_int_equal(hal_key_sign(k, HAL_HASH_SHA256, dg, DKIM_HASH_LEN, sig,
		    sizeof(sig), &sl), 0);
		assert_int_equal(dkim_signer_set_sig(&sg, (unsigned)i, sig, sl), DKIM_OK);
	}
	assert_int_equal(dkim_signer_count(&sg), 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(dkim_signer_header(&sg, i, two + total, sizeof(two) - total, &len),
		    DKIM_OK);
		total += len;
	}
	assert_string_equal(two, ref);
	assert_int_equal(dkim_signer_set_sig(&sg, 0, sig, sl), DKIM_ERR_STATE);
	/* an empty signature is a key error, and it sticks */
	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	assert_int_equal(dkim_signer_add(&sg, &p[0]), DKIM_OK);
	assert_int_equal(dkim_signer_push(&sg, (const uint8_t *)msg, n), n);
	assert_int_equal(dkim_signer_prepare(&sg, KAT_T), DKIM_OK);
	assert_int_equal(dkim_signer_set_sig(&sg, 0, sig, 0), DKIM_ERR_KEY);
	assert_int_equal(dkim_signer_error(&sg), DKIM_ERR_KEY);
}

/* Bare LF input signs as its CRLF form. */
static void
test_bare_lf(void **state)
{
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	static char lf[sizeof(msg)];
	size_t n = 0;
	char v[800];

	(void)state;
	for (const char *q = msg; *q; q++)
		if (*q != '\r')
			lf[n++] = *q;
	for (size_t k = 1; k <= n; k += 3) {
		assert_int_equal(sign_msg(&p, 1, lf, n, k, 5), DKIM_OK);
		tag(out, "b", v, sizeof(v));
		assert_string_equal(v, kat_ed_b);
	}
}

static void
b64sha(const char *canon, size_t n, char *b64)
{
	uint8_t d[32];

	assert_int_equal(hal_hash(HAL_HASH_SHA256, (const uint8_t *)canon, n, d), 0);
	assert_int_equal(dkim_base64(d, 32, b64, 48), 44);
}

/* Body canonicalisation: each body with its canonical forms written out by
 * hand from RFC 6376 §3.4.3 (simple) and §3.4.4 (relaxed). */
static const struct {
	const char *body, *simple, *relaxed;
} bodies[] = {
	{ "", "\r\n", "" },
	{ "\r\n", "\r\n", "" },
	{ "\r\n\r\n\r\n", "\r\n", "" },
	{ "Hello World\r\n", "Hello World\r\n", "Hello World\r\n" },
	{ "no final line end", "no final line end\r\n", "no final line end\r\n" },
	{ "a  \t b \t\r\n", "a  \t b \t\r\n", "a b\r\n" },
	{ "  lead\r\n", "  lead\r\n", " lead\r\n" },
	/* lines of only WSP are not empty for simple */
	{ " \t \r\n\r\nx\r\n \r\n\t\r\n", " \t \r\n\r\nx\r\n \r\n\t\r\n", "\r\n\r\nx\r\n" },
	{ "x\r\n\r\n\r\ny\r\n\r\n", "x\r\n\r\n\r\ny\r\n", "x\r\n\r\n\r\ny\r\n" },
	{ "lf only\n\nline\n\n\n", "lf only\r\n\r\nline\r\n", "lf only\r\n\r\nline\r\n" },
	{ "bare\rcr\r\n", "bare\rcr\r\n", "bare\rcr\r\n" },
	{ "cr at end\r", "cr at end\r\r\n", "cr at end\r\r\n" },
	{ "two\r\r\n", "two\r\r\n", "two\r\r\n" },
	{ ".\r\n..\r\n", ".\r\n..\r\n", ".\r\n..\r\n" },
	{ "8bit \xc3\xa9t\xc3\xa9 \xff\r\n", "8bit \xc3\xa9t\xc3\xa9 \xff\r\n",
	    "8bit \xc3\xa9t\xc3\xa9 \xff\r\n" },
	{ "tab\tin\t \tmiddle \r\n \r\n", "tab\tin\t \tmiddle \r\n \r\n",
	    "tab in middle\r\n" },
	{ "   \r\n", "   \r\n", "" },
};

static void
test_body_canon(void **state)
{
	static const char hdr[] = "From: a@football.example.com\r\n\r\n";
	static char m[512];
	char want[48], v[800];

	(void)state;
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		for (int c = 0; c < 2; c++) {
			struct dkim_sig_params p = kat_params(&ed, "brisbane");
			const char *canon = c ? bodies[i].relaxed : bodies[i].simple;
			size_t n = strlen(hdr) + strlen(bodies[i].body);

			p.canon_body = c ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
			snprintf(m, sizeof(m), "%s%s", hdr, bodies[i].body);
			b64sha(canon, strlen(canon), want);
			for (size_t k = 1; k <= n; k++) {
				assert_int_equal(sign_msg(&p, 1, m, n, k, 1 + k % 3), DKIM_OK);
				tag(out, "bh", v, sizeof(v));
				if (strcmp(v, want) != 0)
					fail_msg("body %zu canon %s split %zu: bh %s, want %s", i,
					    c ? "relaxed" : "simple", k, v, want);
			}
		}
	}
}

/* RFC 6376 §3.4.3/§3.4.4 written out plainly, as a reference for the signer's
 * engines: lines end at LF (a CR before it belongs to the line end, any
 * other CR is data), a last line without LF counts when non-empty; relaxed
 * reduces WSP runs to one SP and drops WSP at line ends; trailing empty lines
 * go; an empty simple body is one CRLF. Returns the canonical length. */
static size_t
ref_canon(const char *b, size_t n, bool relaxed, char *out)
{
	size_t o = 0, keep = 0, i = 0;

	while (i < n) {
		size_t e = i, end, start = o;
		bool wsp = false;

		while (e < n && b[e] != '\n')
			e++;
		end = e < n && e > i && b[e - 1] == '\r' ? e - 1 : e;
		for (size_t j = i; j < end; j++) {
			if (relaxed && (b[j] == ' ' || b[j] == '\t')) {
				wsp = true;
				continue;
			}
			if (wsp)
				out[o++] = ' ';
			wsp = false;
			out[o++] = b[j];
		}
		if (e == n && o == start)
			break; /* a last line without LF and nothing in it */
		out[o++] = '\r';
		out[o++] = '\n';
		if (o - 2 > start)
			keep = o; /* empty lines after the last non-empty one drop */
		i = e < n ? e + 1 : n;
	}
	o = keep;
	if (!relaxed && o == 0) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	return o;
}

/* The signer's fast path hashes text that canonicalisation keeps straight
 * from the input, 64 bytes per step on x86; it must agree with the
 * reference above for bodies of clean lines with every kind of defect
 * (WSP runs, WSP at the end, HTAB, bare CR and LF, empty and WSP-only lines,
 * long lines) in every position, fed whole, in slices and byte by byte,
 * with one body canonicalisation and with both at once. */
static void
test_body_fast_path(void **state)
{
	static const char *const pieces[] = { "abc", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", " ",
		"\t", "  ", "\r\n", "\r\n", "\r\n", "\n", "\r", "x y z", "\r\n\r\n", " \r\n",
		"0123456789012345678901234567890123456789012345678901234567890123456789012345" };
	static const char hdr[] = "From: a@football.example.com\r\n\r\n";
	static char m[4200], canon[2][8400];
	size_t clen[2];
	char want[2][48], v[800];
	unsigned seed = 12345;

	(void)state;
	for (int it = 0; it < 400; it++) {
		size_t n = strlen(hdr), body = n, target = (size_t)(it * 37 % 3000) + 1;
		int clean = it % 3; /* mostly whole clean lines, so the fast path runs */

		memcpy(m, hdr, n);
		while (n < body + target) {
			const char *pc;

			seed = seed * 1103515245u + 12345u;
			if (clean && (seed >> 16) % 16 != 0)
				pc = (seed >> 20) % 2 ? pieces[13] : pieces[5];
			else
				pc = pieces[(seed >> 16) % (sizeof(pieces) / sizeof(pieces[0]))];
			if (n + strlen(pc) >= sizeof(m))
				break;
			memcpy(m + n, pc, strlen(pc));
			n += strlen(pc);
		}
		for (int c = 0; c < 2; c++) {
			clen[c] = ref_canon(m + body, n - body, c == 1, canon[c]);
			b64sha(canon[c], clen[c], want[c]);
		}
		for (int c = 0; c < 3; c++) { /* simple, relaxed, both */
			struct dkim_sig_params p[2] = { kat_params(&ed, "brisbane"),
				kat_params(&ed, "brisbane") };
			static const size_t splits[][2] = { { 0, 0 }, { 1, 1 }, { 100, 7 },
				{ 40, 1000 } };

			p[0].canon_body = c == 1 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
			p[1].canon_body = DKIM_CANON_RELAXED;
			for (size_t si = 0; si < sizeof(splits) / sizeof(splits[0]); si++) {
				assert_int_equal(sign_msg(p, c == 2 ? 2 : 1, m, n, splits[si][0],
						     splits[si][1]),
				    DKIM_OK);
				tag(out, "bh", v, sizeof(v));
				if (strcmp(v, want[c == 1]) != 0)
					fail_msg("body %d (%zu bytes) canon %d split %zu: bh %s, want %s",
					    it, n - body, c, si, v, want[c == 1]);
				if (c == 2) {
					const char *second = strstr(out + 1, "DKIM-Signature:");

					assert_non_null(second);
					tag(second, "bh", v, sizeof(v));
					assert_string_equal(v, want[1]);
				}
			}
		}
	}
}

/* Published body hashes: RFC 8463 body simple (double space kept), empty. */
static void
test_body_published(void **state)
{
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	char v[800];

	(void)state;
	p.canon_body = DKIM_CANON_SIMPLE;
	assert_int_equal(sign_msg(&p, 1, msg, strlen(msg), 0, 0), DKIM_OK);
	tag(out, "bh", v, sizeof(v));
	assert_string_equal(v, "4bLNXImK9drULnmePzZNEBleUanJCX5PIsDIFoH4KTQ=");
	assert_int_equal(sign_msg(&p, 1, "From: a@football.example.com\r\n", 30, 0, 0), DKIM_OK);
	tag(out, "bh", v, sizeof(v));
	assert_string_equal(v, "frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=");
	p.canon_body = DKIM_CANON_RELAXED;
	assert_int_equal(sign_msg(&p, 1, "From: a@football.example.com\r\n\r\n", 32, 0, 0),
	    DKIM_OK);
	tag(out, "bh", v, sizeof(v));
	assert_string_equal(v, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

/* Relaxed header canonicalisation: the same fields with different case,
 * folding and whitespace sign identically; simple does not. */
static void
test_header_relaxed(void **state)
{
	static const char a[] = "From: Joe <joe@football.example.com>\r\n"
				"Subject: hello   world\r\n\r\nbody\r\n";
	static const char b[] = "fROM :\tJoe\r\n  <joe@football.example.com>  \r\n"
				"SUBJECT:hello\r\n\t world \r\n\r\nbody\r\n";
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	char va[800], vb[800];

	(void)state;
	p.oversign = no_oversign;
	assert_int_equal(sign_msg(&p, 1, a, strlen(a), 0, 0), DKIM_OK);
	tag(out, "b", va, sizeof(va));
	assert_int_equal(sign_msg(&p, 1, b, strlen(b), 0, 0), DKIM_OK);
	tag(out, "b", vb, sizeof(vb));
	assert_string_equal(va, vb);
	p.canon_header = DKIM_CANON_SIMPLE;
	assert_int_equal(sign_msg(&p, 1, a, strlen(a), 0, 0), DKIM_OK);
	tag(out, "b", va, sizeof(va));
	assert_int_equal(sign_msg(&p, 1, b, strlen(b), 0, 0), DKIM_OK);
	tag(out, "b", vb, sizeof(vb));
	assert_string_not_equal(va, vb);
}

/* Default selection: present fields once per instance, then oversigning. */
static void
test_default_h(void **state)
{
	static const char m[] = "Received: x\r\nFrom: a@mail.example.org\r\nTo: b@x.example\r\n"
				"To: c@x.example\r\nX-Other: 1\r\nSubject: s\r\n"
				"MIME-Version: 1.0\r\n\r\n";
	struct dkim_sig_params p = {
		.domain = "example.org", .selector = "s1", .key = &ed,
		.canon_header = DKIM_CANON_RELAXED, .canon_body = DKIM_CANON_RELAXED,
	};
	char v[800];

	(void)state;
	assert_int_equal(sign_msg(&p, 1, m, strlen(m), 0, 0), DKIM_OK);
	tag(out, "h", v, sizeof(v));
	assert_string_equal(v, "from:subject:to:to:mime-version:from:subject:date:to:cc:"
			       "reply-to:message-id");
	tag(out, "d", v, sizeof(v));
	assert_string_equal(v, "example.org");
	tag(out, "t", v, sizeof(v));
	assert_string_equal(v, "1528637909");
	tag(out, "c", v, sizeof(v));
	assert_string_equal(v, "relaxed/relaxed");
	assert_null(strstr(out, "l="));
	assert_string_equal(dkim_signer_from_domain(&sg), "mail.example.org");
	/* an added To (a third instance) changes the signature */
	{
		static const char m2[] = "Received: x\r\nFrom: a@mail.example.org\r\n"
					 "To: b@x.example\r\nTo: c@x.example\r\nX-Other: 1\r\n"
					 "Subject: s\r\nMIME-Version: 1.0\r\nTo: evil@x.example\r\n"
					 "\r\n";
		char b1[800], b2[800];

		tag(out, "b", b1, sizeof(b1));
		assert_int_equal(sign_msg(&p, 1, m2, strlen(m2), 0, 0), DKIM_OK);
		tag(out, "h", v, sizeof(v));
		assert_string_equal(v, "from:subject:to:to:to:mime-version:from:subject:date:to:"
				       "cc:reply-to:message-id");
		tag(out, "b", b2, sizeof(b2));
		assert_string_not_equal(b1, b2);
	}
	/* x= */
	p.expire_after = 86400;
	assert_int_equal(sign_msg(&p, 1, m, strlen(m), 0, 0), DKIM_OK);
	tag(out, "x", v, sizeof(v));
	assert_string_equal(v, "1528724309");
}

/* Every line of every signature field is at most 78 columns + CRLF and
 * continuation lines start with a space (RFC 5322 §2.1.1, §2.2.3). */
static void
test_folding(void **state)
{
	struct dkim_sig_params p[2] = { kat_params(&ed, "brisbane"), kat_params(&rsa, "test") };
	const char *line = out, *e;

	(void)state;
	assert_int_equal(sign_msg(p, 2, msg, strlen(msg), 0, 0), DKIM_OK);
	while ((e = strstr(line, "\r\n")) != NULL) {
		assert_true(e - line <= 78);
		assert_true(strncmp(line, "DKIM-Signature: ", 16) == 0 || line[0] == ' ');
		line = e + 2;
	}
	assert_int_equal(*line, 0);
	assert_null(strchr(out, '\n') == NULL ? NULL : strstr(out, "\n\n"));
}

static void
expect_err(const char *m, int err)
{
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	size_t k;

	assert_int_equal(sign_msg(&p, 1, m, strlen(m), 0, 0), err);
	/* the error sticks: nothing more is consumed, finish reports it */
	assert_int_equal(dkim_signer_error(&sg), err);
	k = dkim_signer_push(&sg, (const uint8_t *)"x\r\n", 3);
	assert_int_equal(k, 0);
	assert_int_equal(dkim_signer_finish(&sg, 1), err);
	assert_int_equal(dkim_signer_count(&sg), 0);
}

static void
test_refusals(void **state)
{
	(void)state;
	expect_err("To: a@b.example\r\n\r\nbody\r\n", DKIM_ERR_NO_FROM);
	expect_err("", DKIM_ERR_NO_FROM);
	expect_err("From: a@football.example.com\r\nfrom: b@football.example.com\r\n\r\n",
	    DKIM_ERR_MULTIPLE_FROM);
	expect_err("From: a@football.example.com, b@football.example.com\r\n\r\n",
	    DKIM_ERR_FROM_SYNTAX);
	expect_err("From: undisclosed:;\r\n\r\n", DKIM_ERR_FROM_SYNTAX);
	expect_err("From: joe\r\n\r\n", DKIM_ERR_FROM_SYNTAX);
	expect_err("From: <joe@[192.0.2.1]>\r\n\r\n", DKIM_ERR_FROM_SYNTAX);
	expect_err("From: a <b@football.example.com> <c@football.example.com>\r\n\r\n",
	    DKIM_ERR_FROM_SYNTAX);
	expect_err("From: joe@evil.example\r\n\r\n", DKIM_ERR_DOMAIN_MISMATCH);
	expect_err("From: joe@xfootball.example.com\r\n\r\n", DKIM_ERR_DOMAIN_MISMATCH);
	expect_err("From joe@football.example.com Sat Jan 1\r\nFrom: a@football.example.com\r\n\r\n",
	    DKIM_ERR_HEADER_SYNTAX);
	expect_err(" leading continuation\r\nFrom: a@football.example.com\r\n\r\n",
	    DKIM_ERR_HEADER_SYNTAX);
	expect_err("From: a@football.example.com\r\nno colon here\r\n\r\n", DKIM_ERR_HEADER_SYNTAX);
	expect_err(": empty name\r\n\r\n", DKIM_ERR_HEADER_SYNTAX);
}

static void
test_from_forms(void **state)
{
	static const struct {
		const char *from, *dom;
	} c[] = {
		{ "From: joe@Football.Example.COM\r\n", "football.example.com" },
		{ "From: \"Joe, the <boss> @ home\" <joe@sub.football.example.com>\r\n",
		    "sub.football.example.com" },
		{ "From: (comment, with @ x.example) joe@football.example.com (more)\r\n",
		    "football.example.com" },
		{ "From: Joe\r\n <joe@football.example.com.>\r\n", "football.example.com" },
		{ "From: <@relay.example,@r2.example:joe@football.example.com>\r\n",
		    "football.example.com" },
		{ "From: \"q\\\"uote\" <joe@football.example.com>\r\n", "football.example.com" },
		{ "FROM   :  =?utf-8?q?J=C3=B6e?= <joe@football.example.com>\r\n",
		    "football.example.com" },
	};
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	char m[512];

	(void)state;
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		snprintf(m, sizeof(m), "%s\r\nbody\r\n", c[i].from);
		assert_int_equal(sign_msg(&p, 1, m, strlen(m), 0, 0), DKIM_OK);
		assert_string_equal(dkim_signer_from_domain(&sg), c[i].dom);
	}
}

static void
test_limits(void **state)
{
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	static uint8_t small[64];
	static char m[65536];
	size_t n = 0;

	(void)state;
	/* header block over the caller's buffer */
	dkim_signer_init(&sg, small, sizeof(small));
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_OK);
	assert_int_equal(dkim_signer_push(&sg, (const uint8_t *)msg, strlen(msg)), 0);
	assert_int_equal(dkim_signer_error(&sg), DKIM_ERR_HEADER_TOO_BIG);
	/* more fields than the Kconfig limit */
	n += (size_t)snprintf(m, sizeof(m), "From: a@football.example.com\r\n");
	for (int i = 0; i < CONFIG_DKIM_MAX_HEADERS; i++)
		n += (size_t)snprintf(m + n, sizeof(m) - n, "X: %d\r\n", i);
	n += (size_t)snprintf(m + n, sizeof(m) - n, "\r\n");
	assert_int_equal(sign_msg(&p, 1, m, n, 0, 0), DKIM_ERR_TOO_MANY_HEADERS);
}

static void
test_params(void **state)
{
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	static const char *const no_from[] = { "to", "subject", NULL };
	static const char *const bad[] = { "from", "sub ject", NULL };
	struct hal_key small = { .type = HAL_KEY_RSA, .bits = 512 };
	struct hal_key big = { .type = HAL_KEY_RSA, .bits = 8192 };
	struct hal_key none = { .type = HAL_KEY_NONE };

	(void)state;
	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	p.domain = "bad_domain.example";
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_PARAM);
	p = kat_params(&ed, "bad;sel");
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_PARAM);
	p = kat_params(&ed, "brisbane");
	p.headers = no_from;
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_PARAM);
	p.headers = bad;
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_PARAM);
	p = kat_params(&ed, "brisbane");
	p.identity = "joe@other.example";
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_PARAM);
	p.identity = "joe@sub.football.example.com";
	p.key = &small;
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_KEY_TOO_SMALL);
	p.key = &big;
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_KEY);
	p.key = &none;
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_KEY);
	p.key = &ed;
	for (int i = 0; i < DKIM_MAX_SIGS; i++)
		assert_int_equal(dkim_signer_add(&sg, &p), DKIM_OK);
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_TOO_MANY_SIGS);
	/* nothing added: finish refuses */
	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	assert_int_equal(dkim_signer_push(&sg, (const uint8_t *)msg, 6), 6);
	assert_int_equal(dkim_signer_finish(&sg, 1), DKIM_ERR_STATE);
	assert_int_equal(dkim_signer_header(&sg, 0, out, sizeof(out), NULL), DKIM_ERR_STATE);
}

/* The SMTP flow: push stops after the header block, the caller looks at the
 * From domain, adds its signatures, then pushes the body. */
static void
test_add_after_headers(void **state)
{
	const uint8_t *m = (const uint8_t *)msg;
	size_t n = strlen(msg), k, off = 0;
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	struct dkim_sig_params q = p;
	char v[800];

	(void)state;
	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	assert_false(dkim_signer_headers_done(&sg));
	assert_null(dkim_signer_from_domain(&sg));
	k = dkim_signer_push_headers(&sg, m, n);
	assert_true(k < n);
	assert_int_equal(dkim_signer_push_headers(&sg, m + k, n - k), 0);
	assert_int_equal(m[k - 1], '\n');
	assert_int_equal(m[k - 3], '\n');
	assert_true(dkim_signer_headers_done(&sg));
	assert_string_equal(dkim_signer_from_domain(&sg), "football.example.com");
	assert_string_equal(dkim_signing_domain(dkim_signer_from_domain(&sg), "example.com"),
	    "example.com");
	q.domain = "other.example";
	q.identity = NULL;
	assert_int_equal(dkim_signer_add(&sg, &q), DKIM_ERR_DOMAIN_MISMATCH);
	assert_int_equal(dkim_signer_error(&sg), DKIM_OK);
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_OK);
	off = k;
	assert_int_equal(dkim_signer_push(&sg, m + off, n - off), n - off);
	assert_int_equal(dkim_signer_add(&sg, &p), DKIM_ERR_STATE);
	assert_int_equal(dkim_signer_finish(&sg, KAT_T), DKIM_OK);
	assert_int_equal(dkim_signer_header(&sg, 0, out, sizeof(out), NULL), DKIM_OK);
	tag(out, "b", v, sizeof(v));
	assert_string_equal(v, kat_ed_b);
	assert_int_equal(dkim_signer_header(&sg, 0, out, 100, NULL), DKIM_ERR_OUTPUT_SPACE);
	assert_int_equal(dkim_signer_finish(&sg, KAT_T), DKIM_ERR_STATE);
}

/* push() takes every byte it is given, header end or not (the SMTP path
 * feeds DATA chunks and treats a short count as an error). */
static void
test_push_all(void **state)
{
	struct dkim_sig_params p = kat_params(&ed, "brisbane");
	size_t n = strlen(msg);
	char v[800];

	(void)state;
	for (size_t k = 1; k < n; k++) {
		dkim_signer_init(&sg, hbuf, sizeof(hbuf));
		assert_int_equal(dkim_signer_add(&sg, &p), DKIM_OK);
		assert_int_equal(dkim_signer_push(&sg, (const uint8_t *)msg, k), k);
		assert_int_equal(dkim_signer_push(&sg, (const uint8_t *)msg + k, n - k), n - k);
		assert_int_equal(dkim_signer_finish(&sg, KAT_T), DKIM_OK);
		assert_int_equal(dkim_signer_header(&sg, 0, out, sizeof(out), NULL), DKIM_OK);
		tag(out, "b", v, sizeof(v));
		assert_string_equal(v, kat_ed_b);
	}
}

static void
test_signing_domain(void **state)
{
	(void)state;
	assert_non_null(dkim_signing_domain("example.com", "example.com"));
	assert_non_null(dkim_signing_domain("Mail.Example.com", "example.COM"));
	assert_null(dkim_signing_domain("badexample.com", "example.com"));
	assert_null(dkim_signing_domain("example.com", "mail.example.com"));
	assert_null(dkim_signing_domain(NULL, "example.com"));
	assert_true(dkim_valid_domain("a-b.example"));
	assert_false(dkim_valid_domain("-a.example"));
	assert_false(dkim_valid_domain("a..example"));
	assert_false(dkim_valid_domain("a.example."));
	assert_true(dkim_valid_selector("2024_01.rsa"));
	assert_false(dkim_valid_selector("a b"));
}

/* RFC 4648 §10 test vectors. */
static void
test_base64(void **state)
{
	static const char *const v[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	char b[16];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(dkim_base64((const uint8_t *)v[i][0], strlen(v[i][0]), b,
		    sizeof(b)), strlen(v[i][1]));
		assert_string_equal(b, v[i][1]);
	}
	assert_int_equal(dkim_base64((const uint8_t *)"foobar", 6, b, 8), 0);
}

/* The A.2 records of RFC 8463, rebuilt from the private keys. */
static void
test_dns_record(void **state)
{
	uint8_t pub[1024];
	size_t pl, n;
	char rec[2048];

	(void)state;
	assert_int_equal(hal_key_public(&ed, pub, sizeof(pub), &pl), 0);
	assert_int_equal(dkim_dns_record("brisbane", "football.example.com", HAL_KEY_ED25519, pub,
	    pl, rec, sizeof(rec), &n), DKIM_OK);
	assert_string_equal(rec, "brisbane._domainkey\tIN\tTXT\t( \"v=DKIM1; k=ed25519; \"\n"
				 "\t  \"p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\" )  ; "
				 "----- DKIM key brisbane for football.example.com\n");
	assert_int_equal(hal_key_public(&rsa, pub, sizeof(pub), &pl), 0);
	assert_int_equal(dkim_dns_record("test", "football.example.com", HAL_KEY_RSA, pub, pl,
	    rec, sizeof(rec), &n), DKIM_OK);
	assert_non_null(strstr(rec, "\"p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWR"
				    "iGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3Fu"
				    "tACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBf"
				    "O2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\""));
	assert_int_equal(dkim_dns_record("test", "football.example.com", HAL_KEY_RSA, pub, pl,
	    rec, 64, &n), DKIM_ERR_OUTPUT_SPACE);
}

/* A 2048-bit key's p= is 392 characters: two strings of at most 255. */
static void
test_dns_record_split(void **state)
{
	struct hal_key k;
	uint8_t pub[1024];
	size_t pl, n;
	char rec[2048], *q, *e;
	int strings = 0;

	(void)state;
	assert_int_equal(hal_key_generate(&k, HAL_KEY_RSA, 2048), 0);
	assert_int_equal(hal_key_public(&k, pub, sizeof(pub), &pl), 0);
	hal_key_free(&k);
	assert_int_equal(dkim_dns_record("s", "example.com", HAL_KEY_RSA, pub, pl, rec,
	    sizeof(rec), &n), DKIM_OK);
	for (q = strchr(rec, '"'); q != NULL; q = strchr(e + 1, '"')) {
		e = strchr(q + 1, '"');
		assert_non_null(e);
		assert_true(e - q - 1 <= 255);
		strings++;
	}
	assert_int_equal(strings, 3);
	assert_non_null(strstr(rec, "\"v=DKIM1; k=rsa; \""));
}

/* Hash contexts never outlive a message, through a backend that holds one
 * (count: SHA-256 only, like an engine whose contexts are sockets): signed,
 * abandoned mid-body (the session's abort path), failed in finish(). Two
 * signatures over the same fields share the header-field hash by a clone. */
static void
test_hash_contexts_released(void **state)
{
	struct dkim_sig_params p[2] = { kat_params(&ed, "brisbane"), kat_params(&rsa, "test") };
	const char *body = strstr(msg, "\r\n\r\n") + 4;
	char v[800];

	(void)state;
	test_crypto_count_chain();
	assert_int_equal(sign_msg(p, 2, msg, strlen(msg), 0, 0), DKIM_OK);
	tag(strstr(out, "DKIM-Signature"), "b", v, sizeof(v));
	assert_string_equal(v, kat_ed_b); /* the clone gives the same bytes */
	assert_int_equal(test_crypto_count.live, 0);
	assert_int_equal(test_crypto_count.clones, 2); /* the snapshot, then sig 2 from it */
	assert_true(test_crypto_count.frees >= 1);    /* the snapshot */

	/* clones refused: each signature hashes its fields again, same bytes */
	memset(&test_crypto_count, 0, sizeof(test_crypto_count));
	test_crypto_count.fail_clone = 1;
	assert_int_equal(sign_msg(p, 2, msg, strlen(msg), 0, 0), DKIM_OK);
	tag(strstr(out + 1, "DKIM-Signature"), "b", v, sizeof(v));
	assert_string_equal(v, kat_rsa_b);
	assert_int_equal(test_crypto_count.clones, 0);
	assert_int_equal(test_crypto_count.inits, 3); /* body, fields twice */
	assert_int_equal(test_crypto_count.live, 0);

	/* abandoned after part of the body: free releases the body hash */
	memset(&test_crypto_count, 0, sizeof(test_crypto_count));
	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	assert_int_equal(dkim_signer_add(&sg, &p[0]), DKIM_OK);
	assert_int_equal(dkim_signer_add(&sg, &p[1]), DKIM_OK);
	assert_int_equal(test_crypto_count.live, 1); /* one shared relaxed body hash */
	assert_int_equal(dkim_signer_push(&sg, (const uint8_t *)msg, (size_t)(body - msg) + 5),
	    (size_t)(body - msg) + 5);
	dkim_signer_free(&sg);
	assert_int_equal(test_crypto_count.live, 0);
	assert_int_equal(test_crypto_count.frees, 1);
	dkim_signer_free(&sg); /* twice: nothing more */
	assert_int_equal(test_crypto_count.frees, 1);

	/* finish() after a sticky error frees too (no From: the message fails) */
	memset(&test_crypto_count, 0, sizeof(test_crypto_count));
	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	assert_int_equal(dkim_signer_add(&sg, &p[0]), DKIM_OK);
	dkim_signer_push(&sg, (const uint8_t *)"Subject: x\r\n\r\nbody\r\n", 20);
	assert_int_equal(dkim_signer_finish(&sg, KAT_T), DKIM_ERR_NO_FROM);
	assert_int_equal(test_crypto_count.live, 0);
	test_crypto_board_chain();
}

/* `zegel sign` whose input cannot be read (a directory: EISDIR) gives up
 * after the signer took its keys: the body hash is released on that exit. */
static void
test_cmd_sign_read_error_frees(void **state)
{
	char dir[] = "/tmp/zegel-dkim-sign.XXXXXX", key[64], karg[80], cmd[128];
	char *argv[] = { "sign", "-d", "football.example.com", "-k", karg, dir, NULL };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/ed.pem", dir);
	f = fopen(key, "w");
	assert_non_null(f);
	fputs(ed_pem, f);
	fclose(f);
	snprintf(karg, sizeof(karg), "brisbane:%s", key);
	test_crypto_count_chain();
	assert_int_equal(cmd_sign(6, argv), 1);
	assert_int_equal(test_crypto_count.inits, 1); /* the body hash was open */
	assert_int_equal(test_crypto_count.live, 0);
	assert_int_equal(test_crypto_count.frees, 1);
	test_crypto_board_chain();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_ed25519),
		cmocka_unit_test(test_hash_contexts_released),
		cmocka_unit_test(test_cmd_sign_read_error_frees),
		cmocka_unit_test(test_kat_rsa),
		cmocka_unit_test(test_kat_dual_every_offset),
		cmocka_unit_test(test_prepare_set_sig),
		cmocka_unit_test(test_bare_lf),
		cmocka_unit_test(test_body_canon),
		cmocka_unit_test(test_body_fast_path),
		cmocka_unit_test(test_body_published),
		cmocka_unit_test(test_header_relaxed),
		cmocka_unit_test(test_default_h),
		cmocka_unit_test(test_folding),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_from_forms),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_add_after_headers),
		cmocka_unit_test(test_push_all),
		cmocka_unit_test(test_signing_domain),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_dns_record),
		cmocka_unit_test(test_dns_record_split),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
