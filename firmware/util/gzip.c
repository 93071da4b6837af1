/*
 * gzip (RFC 1952) around one DEFLATE block with the fixed Huffman codes
 * (RFC 1951 3.2.6) and greedy LZ77 matching, or around stored blocks
 * (3.2.4) where that would not be smaller; CRC-32 (zegel/gzip.h).
 */
#include <stdbool.h>
#include <string.h>

#include "zegel/gzip.h"

uint32_t
zgz_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *b = p;

	/* bitwise, reflected: small and fast enough for a daily report */
	crc = ~crc;
	while (n--) {
		crc ^= *b++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

size_t
zgz_size(size_t n)
{
	size_t blocks = n == 0 ? 1 : (n + ZGZ_BLOCK_MAX - 1) / ZGZ_BLOCK_MAX;

	return 10 + blocks * 5 + n + 8;
}

static void
le32(uint8_t *o, uint32_t v)
{
	o[0] = (uint8_t)v;
	o[1] = (uint8_t)(v >> 8);
	o[2] = (uint8_t)(v >> 16);
	o[3] = (uint8_t)(v >> 24);
}

/* ---------------------------------------------------------------- bits */

/* DEFLATE packs bits from the least significant end of each byte; Huffman
 * codes go most significant bit first, so they are reversed on the way in. */
struct bits {
	uint8_t *out;
	size_t cap, len;
	uint32_t acc;
	unsigned n;
	bool full;
};

static void
bits_put(struct bits *b, uint32_t v, unsigned nbits)
{
	b->acc |= v << b->n;
	b->n += nbits;
	while (b->n >= 8) {
		if (b->len < b->cap)
			b->out[b->len++] = (uint8_t)b->acc;
		else
			b->full = true;
		b->acc >>= 8;
		b->n -= 8;
	}
}

static void
bits_code(struct bits *b, uint32_t code, unsigned nbits)
{
	uint32_t r = 0;

	for (unsigned i = 0; i < nbits; i++)
		r |= ((code >> i) & 1u) << (nbits - 1 - i);
	bits_put(b, r, nbits);
}

/* a literal/length symbol 0..287 in the fixed code of RFC 1951 3.2.6 */
static void
bits_litlen(struct bits *b, unsigned sym)
{
	if (sym < 144)
		bits_code(b, 0x30 + sym, 8);
	else if (sym < 256)
		bits_code(b, 0x190 + (sym - 144), 9);
	else if (sym < 280)
		bits_code(b, sym - 256, 7);
	else
		bits_code(b, 0xc0 + (sym - 280), 8);
}

/* RFC 1951 3.2.5: lengths 3..258 as codes 257..285, distances 1..32768 as
 * codes 0..29, each with its extra bits */
static const uint16_t len_base[29] = { 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27,
	31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258 };
static const uint8_t len_extra[29] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3,
	3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0 };
static const uint16_t dist_base[30] = { 1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129,
	193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577 };
static const uint8_t dist_extra[30] = { 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
	8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13 };

static void
bits_match(struct bits *b, unsigned len, unsigned dist)
{
	unsigned l = 28, d = 29;

	while (len_base[l] > len)
		l--;
	bits_litlen(b, 257 + l);
	bits_put(b, len - len_base[l], len_extra[l]);
	while (dist_base[d] > dist)
		d--;
	bits_code(b, d, 5);
	bits_put(b, dist - dist_base[d], dist_extra[d]);
}

/* ---------------------------------------------------------------- LZ77 */

#define HASH_BITS 12
#define WINDOW 32768u
#define MATCH_MIN 3u
#define MATCH_MAX 258u

static unsigned
hash3(const uint8_t *p)
{
	uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];

	return (v * 2654435761u) >> (32 - HASH_BITS);
}

/* One final fixed-Huffman block of in[0..n) into out[0..cap); its length, or
 * 0 if it does not fit (the caller then stores). Greedy matching against the
 * last position seen with the same 3-byte hash: no chains, 16 KiB of stack. */
static size_t
deflate_fixed(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	uint32_t head[1u << HASH_BITS]; /* position + 1 of the last occurrence */
	struct bits b = { .out = out, .cap = cap };
	size_t i = 0;

	memset(head, 0, sizeof(head));
	bits_put(&b, 1, 1); /* BFINAL */
	bits_put(&b, 1, 2); /* BTYPE 01: fixed codes */
	while (i < n && !b.full) {
		unsigned len = 0;
		size_t cand = 0;

		if (n - i >= MATCH_MIN) {
			unsigned h = hash3(in + i);

			cand = head[h];
			head[h] = (uint32_t)(i + 1);
			if (cand && i - (cand - 1) <= WINDOW) {
				size_t c = cand - 1, max = n - i < MATCH_MAX ? n - i : MATCH_MAX;

				while (len < max && in[c + len] == in[i + len])
					len++;
			}
		}
		if (len >= MATCH_MIN) {
			bits_match(&b, len, (unsigned)(i - (cand - 1)));
			/* the positions inside the match are hashed too, for later matches */
			for (size_t k = i + 1; k < i + len && n - k >= MATCH_MIN; k++)
				head[hash3(in + k)] = (uint32_t)(k + 1);
			i += len;
		} else {
			bits_litlen(&b, in[i]);
			i++;
		}
	}
	bits_litlen(&b, 256); /* end of block */
	if (b.n > 0)
		bits_put(&b, 0, 8 - b.n); /* to the byte boundary */
	return b.full ? 0 : b.len;
}

/* ---------------------------------------------------------------- gzip */

static size_t
stored(const uint8_t *src, size_t n, uint8_t *out)
{
	size_t o = 0, left = n;

	do {
		uint16_t len = (uint16_t)(left > ZGZ_BLOCK_MAX ? ZGZ_BLOCK_MAX : left);
		uint16_t nlen = (uint16_t)(0xffffu ^ len);

		/* RFC 1951 3.2.3/3.2.4: BFINAL, BTYPE 00, to the byte boundary, LEN, NLEN */
		out[o++] = left == len ? 1 : 0;
		out[o++] = (uint8_t)len;
		out[o++] = (uint8_t)(len >> 8);
		out[o++] = (uint8_t)nlen;
		out[o++] = (uint8_t)(nlen >> 8);
		if (len > 0)
			memcpy(out + o, src, len);
		o += len;
		src += len;
		left -= len;
	} while (left > 0);
	return o;
}

size_t
zgz_write(const void *in, size_t n, uint32_t mtime, uint8_t *out, size_t cap)
{
	size_t o = 0, body = zgz_size(n) - 18, d;

	if (cap < zgz_size(n))
		return 0;
	/* RFC 1952 2.3: ID1 ID2 CM=8 (deflate) FLG=0 MTIME XFL=0 OS=255 */
	out[o++] = 0x1f;
	out[o++] = 0x8b;
	out[o++] = 8;
	out[o++] = 0;
	le32(out + o, mtime);
	o += 4;
	out[o++] = 0;
	out[o++] = 255;
	/* compressed only where that is smaller than storing */
	d = deflate_fixed(in, n, out + o, body - 1);
	o += d ? d : stored(in, n, out + o);
	le32(out + o, zgz_crc32(0, in, n));
	o += 4;
	le32(out + o, (uint32_t)n); /* ISIZE: the size modulo 2^32 */
	o += 4;
	return o;
}
