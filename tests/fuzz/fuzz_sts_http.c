/*
 * libFuzzer: the HTTP/1.1 response of an MTA-STS policy fetch
 * (firmware/relay/sts_http.c).
 * Input: byte 0 picks a slice size (1..256), the rest is what the server
 * sent before closing. Invariants: no crash, no read past the input (ASan);
 * fed whole or in slices, the parser reaches the same end (done or error)
 * with the same body; the body stays within 64 KiB; an error has a reason;
 * a body slice always lies inside the bytes just pushed.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/relay/sts_http.h"

struct out {
	enum sts_http_ev end;
	size_t blen;
	uint8_t body[STS_HTTP_BODY_MAX];
};

static void
run(const uint8_t *d, size_t n, size_t slice, struct out *o)
{
	static struct sts_http h;
	size_t off = 0;

	sts_http_init(&h);
	o->blen = 0;
	o->end = STS_HTTP_EV_NONE;
	while (o->end == STS_HTTP_EV_NONE) {
		size_t m = n - off < slice ? n - off : slice;
		size_t k = sts_http_push(&h, d + off, m);

		assert(k <= m);
		if (h.ev == STS_HTTP_EV_BODY) {
			assert(h.body >= d + off && h.body + h.body_len <= d + off + k);
			assert(o->blen + h.body_len <= STS_HTTP_BODY_MAX);
			memcpy(o->body + o->blen, h.body, h.body_len);
			o->blen += h.body_len;
		} else if (h.ev == STS_HTTP_EV_DONE || h.ev == STS_HTTP_EV_ERROR) {
			o->end = h.ev;
		} else {
			assert(k == m);
		}
		off += k;
		if (o->end == STS_HTTP_EV_NONE && off == n && h.ev == STS_HTTP_EV_NONE) {
			sts_http_eof(&h);
			o->end = h.ev;
		}
	}
	assert(o->end == STS_HTTP_EV_DONE || o->end == STS_HTTP_EV_ERROR);
	if (o->end == STS_HTTP_EV_ERROR)
		assert(h.why[0] != '\0');
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static struct out a, b;
	uint8_t *copy;
	size_t slice;

	if (n == 0)
		return 0;
	slice = (size_t)d[0] + 1;
	copy = malloc(n - 1 ? n - 1 : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, d + 1, n - 1);
	run(copy, n - 1, n, &a);
	run(copy, n - 1, slice, &b);
	assert(a.end == b.end);
	if (a.end == STS_HTTP_EV_DONE)
		assert(a.blen == b.blen && memcmp(a.body, b.body, a.blen) == 0);
	free(copy);
	return 0;
}
