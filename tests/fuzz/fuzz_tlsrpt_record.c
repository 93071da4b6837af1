/*
 * libFuzzer: TLS-RPT's two parsers (one target: the CI has little time).
 *
 * Input starting "tlsrpt 1\n": a counter file (firmware/relay/tlsrpt.c, what
 * DATA_DIR/tlsrpt/ holds). An accepted file formats back to a text that
 * parses to the same counters; the JSON report of each of its domains is
 * bounded and balanced.
 *
 * Anything else: one _smtp._tls TXT record (firmware/relay/tlsrpt_record.c,
 * RFC 8460 3). The same verdict fed whole and split at a point the input
 * chooses; a valid record has 1..TLSRPT_RUA_MAX NUL-terminated URIs each
 * with a scheme; a refused one a reason; a mailto: address is one '@' and
 * no blank.
 *
 * Always: no crash, no read past the input (ASan).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/relay/tlsrpt.h"
#include "firmware/relay/tlsrpt_record.h"

static struct tlsrpt_rec a, b;
static struct tlsrpt_day d, d2;
static char buf[TLSRPT_FILE_MAX], json[65536];

static void
json_balanced(const char *j, size_t n)
{
	int depth = 0;
	bool instr = false;

	for (size_t x = 0; x < n; x++) {
		if (instr) {
			if (j[x] == '\\')
				x++;
			else if (j[x] == '"')
				instr = false;
			continue;
		}
		if (j[x] == '"')
			instr = true;
		else if (j[x] == '{' || j[x] == '[')
			depth++;
		else if (j[x] == '}' || j[x] == ']')
			depth--;
		assert(depth >= 0);
	}
	assert(depth == 0 && !instr);
}

static void
counter_file(const uint8_t *p, size_t n)
{
	struct tlsrpt_meta m = { "org", "c@x", "id" };
	size_t k;

	if (tlsrpt_day_parse(&d, (const char *)p, n) < 0)
		return;
	k = tlsrpt_day_format(&d, buf, sizeof(buf));
	assert(k > 0);
	assert(tlsrpt_day_parse(&d2, buf, k) == 0);
	assert(memcmp(&d, &d2, sizeof(d)) == 0);
	for (unsigned i = 0; i < d.npol; i++) {
		size_t j = tlsrpt_json(&d, d.pol[i].domain, &m, json, sizeof(json));

		assert(j > 0 && j < sizeof(json) && json[j] == '\0');
		json_balanced(json, j);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	size_t cut = n ? p[0] % (n + 1) : 0;
	char addr[TLSRPT_URI_MAX];
	int va, vb;

	if (n >= 9 && memcmp(p, "tlsrpt 1\n", 9) == 0) {
		counter_file(p, n);
		return 0;
	}
	tlsrpt_rec_init(&a);
	(void)tlsrpt_rec_push(&a, p, n);
	va = tlsrpt_rec_finish(&a);
	tlsrpt_rec_init(&b);
	(void)tlsrpt_rec_push(&b, p, cut);
	(void)tlsrpt_rec_push(&b, p + cut, n - cut);
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
