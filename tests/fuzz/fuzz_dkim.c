/*
 * libFuzzer target for the DKIM signer's header parser and canonicalisers.
 *
 * Input: 4 control bytes, then the message.
 *   c[0]      bits 0-1: header/body canonicalisation; bit 2: a second
 *             signature with the other body canonicalisation; bit 3: default
 *             header list instead of a custom one
 *   c[1..3]   how to slice the message: first slice length, then a step
 * The message is signed three times with the same Ed25519 key and t=: in one
 * push() (the body's clean text goes the signer's fast path, hashed straight
 * from the input), in slices (alternating push() and push_headers()) and byte
 * by byte (a byte never holds a whole line: the line-by-line path). All runs
 * must end the same way (same error, or byte-identical DKIM-Signature fields).
 * Also checked: push() never reports more bytes than given, header() output
 * is NUL-terminated, CRLF-terminated and matches its length.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"

static const char ed_pem[] = "-----BEGIN PRIVATE KEY-----\n"
			     "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
			     "-----END PRIVATE KEY-----\n";

static struct hal_key key;
static struct dkim_signer s1, s2, s3;
static uint8_t h1[CONFIG_DKIM_MAX_HEADER_BYTES], h2[CONFIG_DKIM_MAX_HEADER_BYTES],
    h3[CONFIG_DKIM_MAX_HEADER_BYTES];
static char o1[2][4096], o2[2][4096], o3[2][4096];

static const char *const hdrs[] = { "from", "subject", "x-a", "to", NULL };
static const char *const over[] = { "from", "x-b", NULL };

static int
run(struct dkim_signer *s, uint8_t *hb, const uint8_t *c, const uint8_t *m, size_t n, bool sliced,
    char out[2][4096])
{
	struct dkim_sig_params p = {
		.domain = "example.com",
		.selector = "fz",
		.key = &key,
		.canon_header = (c[0] & 1) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		.canon_body = (c[0] & 2) ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
		.headers = (c[0] & 8) ? NULL : hdrs,
		.oversign = (c[0] & 8) ? NULL : over,
	};
	size_t off = 0, step = (size_t)c[2] << 8 | c[3], first = c[1];
	int rc;
	bool alt = false;

	dkim_signer_init(s, hb, CONFIG_DKIM_MAX_HEADER_BYTES);
	if ((rc = dkim_signer_add(s, &p)) != DKIM_OK)
		abort();
	if (c[0] & 4) {
		p.canon_body = p.canon_body == DKIM_CANON_RELAXED ? DKIM_CANON_SIMPLE
								  : DKIM_CANON_RELAXED;
		if (dkim_signer_add(s, &p) != DKIM_OK)
			abort();
	}
	if (!sliced) {
		size_t k = dkim_signer_push(s, m, n);

		if (k != n && k != 0)
			abort();
	} else {
		if (step == 0)
			step = 1;
		while (off < n) {
			size_t want = off == 0 ? first : step, k;

			if (want == 0 || want > n - off)
				want = n - off;
			alt = !alt;
			k = alt ? dkim_signer_push_headers(s, m + off, want)
				: dkim_signer_push(s, m + off, want);
			if (k > want)
				abort();
			if (k == 0) {
				if (dkim_signer_error(s) != DKIM_OK)
					break;
				k = dkim_signer_push(s, m + off, want);
				if (k != want)
					abort();
			}
			off += k;
		}
	}
	rc = dkim_signer_finish(s, 1700000000);
	if (rc != DKIM_OK)
		return rc;
	for (unsigned i = 0; i < dkim_signer_count(s); i++) {
		size_t len = 0;

		if (dkim_signer_header(s, i, out[i], sizeof(out[i]), &len) != DKIM_OK)
			return 1;
		if (strlen(out[i]) != len || len < 4 || memcmp(out[i] + len - 2, "\r\n", 2) != 0 ||
		    strncmp(out[i], "DKIM-Signature: v=1; ", 21) != 0)
			abort();
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int r1, r2, r3;
	uint8_t bytewise[4];

	if (key.type == HAL_KEY_NONE &&
	    hal_key_load(&key, (const uint8_t *)ed_pem, sizeof(ed_pem) - 1) != 0)
		abort();
	if (size < 4)
		return 0;
	r1 = run(&s1, h1, data, data + 4, size - 4, false, o1);
	r2 = run(&s2, h2, data, data + 4, size - 4, true, o2);
	memcpy(bytewise, (const uint8_t[4]){ data[0], 1, 0, 1 }, 4);
	r3 = run(&s3, h3, bytewise, data + 4, size - 4, true, o3);
	if (r1 != r3) {
		fprintf(stderr, "one-shot %d (%s), byte by byte %d (%s)\n", r1, dkim_strerror(r1),
		    r3, dkim_strerror(r3));
		abort();
	}
	if (r1 == 0)
		for (unsigned i = 0; i < dkim_signer_count(&s3); i++)
			if (strcmp(o1[i], o3[i]) != 0) {
				fprintf(stderr, "one-shot:\n%s\nbyte by byte:\n%s\n", o1[i], o3[i]);
				abort();
			}
	if (r1 != r2) {
		fprintf(stderr, "one-shot %d (%s), sliced %d (%s)\n", r1, dkim_strerror(r1), r2,
		    dkim_strerror(r2));
		abort();
	}
	if (r1 == 0) {
		for (unsigned i = 0; i < dkim_signer_count(&s1); i++)
			if (strcmp(o1[i], o2[i]) != 0) {
				fprintf(stderr, "one-shot:\n%s\nsliced:\n%s\n", o1[i], o2[i]);
				abort();
			}
		if (dkim_signer_from_domain(&s1) == NULL ||
		    strcmp(dkim_signer_from_domain(&s1), dkim_signer_from_domain(&s2)) != 0)
			abort();
	}
	return 0;
}
