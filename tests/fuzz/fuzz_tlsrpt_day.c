/*
 * libFuzzer: TLS-RPT's counter file (firmware/relay/tlsrpt.c, what
 * DATA_DIR/tlsrpt/ holds) and the JSON report built from what it accepts.
 * Input: any bytes, as a file. Invariants: no crash, no read past the input
 * (ASan); an accepted file formats back to a text that parses to the same
 * counters; the report of each of its domains is bounded and balanced.
 */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "firmware/relay/tlsrpt.h"

static struct tlsrpt_day d, d2;
static char buf[TLSRPT_FILE_MAX], json[65536];

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct tlsrpt_meta m = { "org", "c@x", "id" };
	size_t k;

	if (tlsrpt_day_parse(&d, (const char *)p, n) < 0)
		return 0;
	k = tlsrpt_day_format(&d, buf, sizeof(buf));
	assert(k > 0);
	assert(tlsrpt_day_parse(&d2, buf, k) == 0);
	assert(memcmp(&d, &d2, sizeof(d)) == 0);
	for (unsigned i = 0; i < d.npol; i++) {
		size_t j = tlsrpt_json(&d, d.pol[i].domain, &m, json, sizeof(json));
		int depth = 0;
		bool instr = false;

		assert(j > 0 && j < sizeof(json) && json[j] == '\0');
		for (size_t x = 0; x < j; x++) {
			if (instr) {
				if (json[x] == '\\')
					x++;
				else if (json[x] == '"')
					instr = false;
				continue;
			}
			if (json[x] == '"')
				instr = true;
			else if (json[x] == '{' || json[x] == '[')
				depth++;
			else if (json[x] == '}' || json[x] == ']')
				depth--;
			assert(depth >= 0);
		}
		assert(depth == 0 && !instr);
	}
	return 0;
}
