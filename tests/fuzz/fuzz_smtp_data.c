/*
 * libFuzzer: the DATA state machine. First byte: strict/normalise and a
 * small or large size limit. The input is fed whole and again in 1..16 byte
 * chunks; both runs must agree (same lines, same end position, same error).
 * Lines emitted are at most 998 octets + CRLF with no bare CR or LF in
 * strict mode, and never the end marker itself.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "firmware/spool/data.h"

struct run {
	uint64_t hash;
	size_t end, lines;
	int ev;
	int err;
};

static void
feed(const uint8_t *p, size_t n, bool normalise, uint64_t max, size_t step, struct run *r)
{
	static struct spool_data d;
	size_t pos = 0;

	memset(r, 0, sizeof(*r));
	r->hash = 1469598103934665603ull;
	spool_data_init(&d, max, normalise);
	while (pos < n) {
		size_t len = step ? (n - pos < step ? n - pos : step) : n - pos;
		size_t k = spool_data_push(&d, p + pos, len);
		enum spool_data_event ev = spool_data_event(&d);

		pos += k;
		if (ev == SPOOL_DATA_LINE) {
			size_t ln;
			const uint8_t *l = spool_data_line(&d, &ln);

			assert(ln >= 2 && ln <= SPOOL_LINE_MAX + 2);
			assert(l[ln - 2] == '\r' && l[ln - 1] == '\n');
			for (size_t i = 0; i + 2 < ln; i++)
				assert(l[i] != '\r' && l[i] != '\n');
			for (size_t i = 0; i < ln; i++)
				r->hash = (r->hash ^ l[i]) * 1099511628211ull;
			r->lines++;
			continue;
		}
		if (ev == SPOOL_DATA_END || ev == SPOOL_DATA_ERROR) {
			r->ev = ev;
			r->end = pos;
			r->err = spool_data_error(&d);
			return;
		}
		assert(k == len);
	}
	r->end = pos;
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct run a, b;
	bool normalise;
	uint64_t max;

	if (n < 2)
		return 0;
	normalise = p[0] & 1;
	max = (p[0] & 2) ? 64 : 1 << 20;
	size_t step = (size_t)(p[0] >> 4) + 1;
	p++, n--;
	feed(p, n, normalise, max, 0, &a);
	feed(p, n, normalise, max, step, &b);
	assert(a.ev == b.ev && a.end == b.end && a.lines == b.lines && a.hash == b.hash &&
	    a.err == b.err);
	return 0;
}
