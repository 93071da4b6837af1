/*
 * libFuzzer: the TXT records `check domain` parses itself
 * (firmware/app/check_domain_txt.c): tag lists, MTA-STS discovery (RFC 8461
 * 3.1) and TLS-RPT (RFC 8460 3).
 * Input: any bytes, as one record. Invariants: no crash, no read past the
 * input (ASan), the outputs NUL-terminated and within their bounds, a
 * CDT_BAD verdict always has a reason, and an MTA-STS id is 1..32
 * alphanumerics.
 */
#include <assert.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/check_domain_txt.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	char *s = malloc(n ? n : 1), why[CDT_WHY_MAX];
	struct cdt_tags t;
	struct cdt_sts sts;
	struct cdt_tlsrpt r;
	size_t l;

	if (s == NULL)
		return 0;
	memcpy(s, d, n); /* exactly n bytes: ASan sees any read past them */
	why[0] = '\0';
	if (cdt_tags_parse(s, n, &t, why, sizeof(why)) == CDT_BAD)
		assert(why[0] != '\0');
	else
		for (unsigned i = 0; i < t.n; i++)
			assert(t.t[i].name >= s && t.t[i].val + t.t[i].vlen <= s + n);
	why[0] = '\0';
	switch (cdt_sts_parse(s, n, &sts, why, sizeof(why))) {
	case CDT_OK:
		l = strlen(sts.id);
		assert(l >= 1 && l <= 32);
		for (size_t i = 0; i < l; i++)
			assert(isalnum((unsigned char)sts.id[i]));
		break;
	case CDT_BAD:
		assert(why[0] != '\0');
		break;
	default:
		break;
	}
	why[0] = '\0';
	if (cdt_tlsrpt_parse(s, n, &r, why, sizeof(why)) == CDT_OK)
		assert(r.nrua >= 1 && strlen(r.rua) < sizeof(r.rua));
	free(s);
	return 0;
}
