/*
 * libFuzzer: the MTA-STS texts (firmware/relay/sts_policy.c): the policy
 * file (RFC 8461 3.2) and the _mta-sts TXT record (3.1).
 * Input: byte 0 picks a split point, the rest is one policy file (and, as
 * it is, one TXT record). Invariants: no crash, no read past the input
 * (ASan); the policy parsed whole and in two slices gives the same verdict
 * and the same policy; a refusal has a reason; an accepted policy formats
 * to a text that parses back to itself (the cache round trip) and its mx
 * patterns match themselves; a TXT id is 1..32 alphanumerics.
 */
#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/relay/sts_policy.h"

static int
parse(struct sts_parser *p, const uint8_t *d, size_t n, size_t cut, bool cache)
{
	sts_parser_init(p, cache);
	if (cut > n)
		cut = n;
	if (sts_parser_push(p, d, cut) < 0 || sts_parser_push(p, d + cut, n - cut) < 0)
		return -1;
	return sts_parser_finish(p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct sts_parser a, b, c;
	static char text[STS_MX_MAX * (STS_NAME_MAX + 8) + 256];
	char id[STS_ID_MAX + 1], why[STS_WHY_MAX];
	size_t cut, len;
	char *s;
	int ra, rb;

	if (n == 0)
		return 0;
	cut = d[0];
	d++, n--;
	ra = parse(&a, d, n, n, false);
	rb = parse(&b, d, n, cut, false);
	assert(ra == rb);
	if (ra < 0) {
		assert(a.why[0] != '\0' && b.why[0] != '\0');
	} else {
		assert(memcmp(&a.pol, &b.pol, sizeof(a.pol)) == 0);
		assert(a.pol.nmx <= STS_MX_MAX && a.pol.max_age <= STS_MAX_AGE_MAX);
		assert(a.pol.mode == STS_MODE_NONE || a.pol.nmx > 0);
		if (a.pol.id[0] == '\0') /* the fetcher sets the record's id */
			memcpy(a.pol.id, "fuzz", 5);
		len = sts_policy_format(&a.pol, text, sizeof(text), true);
		assert(len > 0);
		assert(parse(&c, (const uint8_t *)text, len, len / 2, true) == 0);
		assert(c.pol.mode == a.pol.mode && c.pol.max_age == a.pol.max_age &&
		    c.pol.nmx == a.pol.nmx);
		for (unsigned i = 0; i < a.pol.nmx; i++) {
			assert(strcmp(c.pol.mx[i], a.pol.mx[i]) == 0);
			if (a.pol.mx[i][0] != '*')
				assert(sts_mx_match(&a.pol, a.pol.mx[i]));
		}
	}
	s = malloc(n ? n : 1);
	if (s == NULL)
		return 0;
	memcpy(s, d, n); /* exactly n bytes: ASan sees any read past them */
	why[0] = '\0';
	switch (sts_txt_parse(s, n, id, why, sizeof(why))) {
	case 1:
		len = strlen(id);
		assert(len >= 1 && len <= STS_ID_MAX);
		for (size_t i = 0; i < len; i++)
			assert(isalnum((unsigned char)id[i]));
		break;
	case -1:
		assert(why[0] != '\0');
		break;
	default:
		break;
	}
	/* the pattern matcher on arbitrary text: one half as pattern */
	if (n > 1) {
		char *pat = malloc(n / 2 + 1), *host = malloc(n - n / 2 + 1);

		if (pat != NULL && host != NULL) {
			memcpy(pat, s, n / 2);
			pat[n / 2] = '\0';
			memcpy(host, s + n / 2, n - n / 2);
			host[n - n / 2] = '\0';
			(void)sts_pattern_match(pat, host);
		}
		free(pat);
		free(host);
	}
	free(s);
	return 0;
}
