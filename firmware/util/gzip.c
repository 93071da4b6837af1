/*
 * gzip (RFC 1952) with stored DEFLATE blocks (RFC 1951 3.2.4) and CRC-32
 * (zegel/gzip.h).
 */
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

size_t
zgz_write(const void *in, size_t n, uint32_t mtime, uint8_t *out, size_t cap)
{
	const uint8_t *src = in;
	size_t o = 0, left = n;

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
	le32(out + o, zgz_crc32(0, in, n));
	o += 4;
	le32(out + o, (uint32_t)n); /* ISIZE: the size modulo 2^32 */
	o += 4;
	return o;
}
