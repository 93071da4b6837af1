/*
 * libFuzzer target for the gzip writer (firmware/util/gzip.c): any input is
 * written into a buffer of exactly zgz_size(n) bytes (ASan sees any write
 * past it), then read back by the small inflater below, which knows the two
 * block types the writer makes (stored and fixed Huffman codes, RFC 1951
 * 3.2.4-3.2.6): the bytes, the CRC-32 and ISIZE must come back unchanged.
 * The inflater is a test oracle, not firmware code.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "zegel/gzip.h"

struct rd {
	const uint8_t *p;
	size_t n, pos; /* pos counts bits */
};

static unsigned
bit(struct rd *r)
{
	assert(r->pos / 8 < r->n);
	unsigned b = (r->p[r->pos / 8] >> (r->pos % 8)) & 1u;
	r->pos++;
	return b;
}

static unsigned
bits(struct rd *r, unsigned k) /* extra bits: least significant first */
{
	unsigned v = 0;

	for (unsigned i = 0; i < k; i++)
		v |= bit(r) << i;
	return v;
}

static unsigned
code(struct rd *r, unsigned k) /* Huffman code bits: most significant first */
{
	unsigned v = 0;

	while (k--)
		v = v << 1 | bit(r);
	return v;
}

static unsigned
litlen(struct rd *r)
{
	unsigned v = code(r, 7);

	if (v <= 0x17)
		return 256 + v;
	v = v << 1 | bit(r);
	if (v >= 0x30 && v <= 0xbf)
		return v - 0x30;
	if (v >= 0xc0 && v <= 0xc7)
		return 280 + (v - 0xc0);
	v = v << 1 | bit(r);
	assert(v >= 0x190 && v <= 0x1ff);
	return 144 + (v - 0x190);
}

static const uint16_t lbase[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
	35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t lext[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
	4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dbase[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
	257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t dext[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8,
	9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

/* inflate the DEFLATE data at r into out[0..cap); its length */
static size_t
inflate(struct rd *r, uint8_t *out, size_t cap)
{
	size_t o = 0;
	unsigned final;

	do {
		final = bit(r);
		unsigned type = bits(r, 2);

		if (type == 0) {
			r->pos = (r->pos + 7) / 8 * 8;
			size_t at = r->pos / 8;
			assert(at + 4 <= r->n);
			unsigned len = r->p[at] | r->p[at + 1] << 8;
			unsigned nlen = r->p[at + 2] | r->p[at + 3] << 8;
			assert((len ^ nlen) == 0xffffu);
			assert(at + 4 + len <= r->n && o + len <= cap);
			memcpy(out + o, r->p + at + 4, len);
			o += len;
			r->pos = (at + 4 + len) * 8;
			continue;
		}
		assert(type == 1);
		for (;;) {
			unsigned s = litlen(r);

			if (s < 256) {
				assert(o < cap);
				out[o++] = (uint8_t)s;
				continue;
			}
			if (s == 256)
				break;
			assert(s <= 285);
			unsigned len = lbase[s - 257] + bits(r, lext[s - 257]);
			unsigned d = code(r, 5);
			assert(d < 30);
			unsigned dist = dbase[d] + bits(r, dext[d]);
			assert(dist <= o && dist <= 32768 && o + len <= cap);
			for (unsigned i = 0; i < len; i++, o++)
				out[o] = out[o - dist];
		}
	} while (!final);
	r->pos = (r->pos + 7) / 8 * 8;
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	size_t cap = zgz_size(n), len;
	uint8_t *gz = malloc(cap), *back = malloc(n + 1);

	assert(gz && back);
	len = zgz_write(p, n, 0, gz, cap);
	assert(len >= 18 && len <= cap);
	assert(gz[0] == 0x1f && gz[1] == 0x8b && gz[2] == 8 && gz[3] == 0);
	struct rd r = { .p = gz, .n = len - 8, .pos = 80 };
	assert(inflate(&r, back, n + 1) == n);
	assert(r.pos / 8 == len - 8);
	assert(n == 0 || memcmp(back, p, n) == 0);
	uint32_t crc = gz[len - 8] | gz[len - 7] << 8 | gz[len - 6] << 16 | (uint32_t)gz[len - 5] << 24;
	uint32_t isize = gz[len - 4] | gz[len - 3] << 8 | gz[len - 2] << 16 | (uint32_t)gz[len - 1] << 24;
	assert(crc == zgz_crc32(0, p, n) && isize == (uint32_t)n);
	/* one byte short of the bound: refused, nothing written past it */
	assert(zgz_write(p, n, 0, gz, cap - 1) == 0);
	free(gz);
	free(back);
	return 0;
}
