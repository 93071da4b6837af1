/*
 * libFuzzer: the TLS-RPT record parser (firmware/relay/tlsrpt_record.c,
 * RFC 8460 3) and the mailto: address of each URI it keeps.
 * Input: any bytes, as one TXT record. Invariants: no crash, no read past
 * the input (ASan); the same verdict fed whole and split at a point the
 * input chooses; a valid record has 1..TLSRPT_RUA_MAX NUL-terminated URIs
 * each with a scheme; a refused one a reason; an address is one '@' and
 * no blank.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/relay/tlsrpt_record.h"

static struct tlsrpt_rec a, b;

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	size_t cut = n ? d[0] % (n + 1) : 0;
	char addr[TLSRPT_URI_MAX];
	int va, vb;

	tlsrpt_rec_init(&a);
	(void)tlsrpt_rec_push(&a, d, n);
	va = tlsrpt_rec_finish(&a);
	tlsrpt_rec_init(&b);
	(void)tlsrpt_rec_push(&b, d, cut);
	(void)tlsrpt_rec_push(&b, d + cut, n - cut);
	vb = tlsrpt_rec_finish(&b);
	assert(va == vb);
	assert(va >= -1 && va <= 1);
	if (va < 0)
		assert(a.why[0] != '\0');
	if (va == 1) {
		assert(a.nrua >= 1 && a.nrua <= TLSRPT_RUA_MAX);
		assert(memcmp(a.rua, b.rua, sizeof(a.rua)) == 0);
		for (unsigned i = 0; i < a.nrua; i++) {
			assert(memchr(a.rua[i], '\0', sizeof(a.rua[i])) != NULL);
			assert(strchr(a.rua[i], ':') != NULL);
			if (tlsrpt_mailto(a.rua[i], addr, sizeof(addr)) == 0) {
				const char *at = strchr(addr, '@');
				assert(at != NULL && strchr(at + 1, '@') == NULL);
				assert(strchr(addr, ' ') == NULL);
			}
		}
	}
	return 0;
}
