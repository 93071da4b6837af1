/*
 * hal/addr.h — IPv4 and IPv6 addresses as bytes and as text.
 *
 * Pure code (hal/addr.c): no sockets, no libc resolver, no errno. Every
 * backend and every caller shares it, so "1.2.3.4" means the same thing to
 * the console, the resolver, the TLS client and an lwIP or POSIX backend.
 *
 * Text forms. IPv4 is the dotted quad: four decimal parts 0..255, no leading
 * zeros, nothing else (as inet_pton(3) takes it). IPv6 is RFC 4291 §2.2
 * text: eight hex groups, one "::" for a run of zero groups, an optional
 * dotted quad in the last 32 bits. Output follows RFC 5952 §4 (lower case,
 * the longest run of two or more zero groups as "::", the first on a tie)
 * and writes an IPv4-mapped address as "::ffff:1.2.3.4" (RFC 5952 §5).
 *
 * Errors: -EINVAL for text that is not an address, nothing written to the
 * output then except as documented.
 */
#ifndef HAL_ADDR_H
#define HAL_ADDR_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hal_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
	uint16_t port;
};

#define HAL_ADDR_IP_STRLEN 46 /* "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" + NUL */
#define HAL_ADDR_STRLEN 56    /* "[ffff:...:ffff]:65535" */

/* "1.2.3.4", "1.2.3.4:25", "::1", "[::1]:25"; default_port if none given.
 * A port is 1..65535. On error *a is zeroed. */
int hal_addr_parse(struct hal_addr *a, const char *s, uint16_t default_port);

/* "1.2.3.4:25" or "[::1]:25" (with_port) or the bare address. Truncates to
 * cap bytes, always NUL-terminated when cap > 0. */
void hal_addr_format(const struct hal_addr *a, bool with_port, char *buf, size_t cap);

/* Raw addresses, as DNS A/AAAA records and X.509 iPAddress carry them.
 * family is 4 (ip is 4 bytes) or 6 (16 bytes). parse_ip accepts the bare
 * address text only (no brackets, no port) and writes ip only on success;
 * format_ip writes the text and returns its length, or 0 with "" for a
 * family other than 4 and 6 (truncated like hal_addr_format). */
int hal_addr_parse_ip(int family, const char *s, uint8_t *ip);
size_t hal_addr_format_ip(int family, const uint8_t *ip, char *buf, size_t cap);

/* For the net backends (hal/posix, hal/lwip: lwIP built with libc's socket
 * types): a to the kernel's form in ss, returning its length; and back, an
 * IPv4-mapped IPv6 peer (::ffff:a.b.c.d, dual-stack listeners) as IPv4. */
struct sockaddr_storage;
unsigned hal_addr_to_sockaddr(const struct hal_addr *a, struct sockaddr_storage *ss);
void hal_addr_from_sockaddr(const struct sockaddr_storage *ss, struct hal_addr *a);

#endif
