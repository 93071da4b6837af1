/*
 * zegel/gzip.h — a gzip member (RFC 1952) around DEFLATE data (RFC 1951),
 * and the CRC-32 it needs. Written here, no zlib: zegel only ever writes
 * small reports (TLS-RPT, RFC 8460 5.3).
 *
 *   zgz_crc32(0, p, n)               CRC-32 (ISO 3309 / ITU-T V.42, the
 *                                    polynomial 0xEDB88320 reflected), chainable:
 *                                    zgz_crc32(zgz_crc32(0, a, x), b, y)
 *   zgz_size(n)                      bytes zgz_write() needs for n bytes (the
 *                                    stored form: the most it ever writes)
 *   zgz_write(in, n, mtime, out, cap) the member: header (no name, OS 255);
 *                                    one block with the fixed Huffman codes and
 *                                    LZ77 matches when that is smaller than
 *                                    storing, else ceil(n / 65535) stored blocks
 *                                    (at least one, the last with BFINAL); then
 *                                    CRC-32 and ISIZE, little-endian. Returns its
 *                                    length, or 0 if cap is smaller than
 *                                    zgz_size(n).
 */
#ifndef ZEGEL_GZIP_H
#define ZEGEL_GZIP_H

#include <stddef.h>
#include <stdint.h>

#define ZGZ_BLOCK_MAX 65535u

uint32_t zgz_crc32(uint32_t crc, const void *p, size_t n);
size_t zgz_size(size_t n);
size_t zgz_write(const void *in, size_t n, uint32_t mtime, uint8_t *out, size_t cap);

#endif
