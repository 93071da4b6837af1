/*
 * libFuzzer target: address text (hal/addr.c).
 *
 * The input, cut at 127 bytes and NUL-terminated, goes through
 * hal_addr_parse() and hal_addr_parse_ip() for both families; whatever is
 * accepted must format within the documented sizes and parse back to the
 * same address (round trip). The first 16 input bytes, taken as a raw IPv4
 * and IPv6 address, must format and parse back too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hal/addr.h"

static void
raw_round_trip(int family, const uint8_t *ip)
{
	char text[HAL_ADDR_IP_STRLEN];
	uint8_t back[16];
	size_t len = family == 4 ? 4 : 16;

	if (hal_addr_format_ip(family, ip, text, sizeof(text)) >= sizeof(text))
		abort();
	if (hal_addr_parse_ip(family, text, back) != 0 || memcmp(back, ip, len) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	char s[128], text[HAL_ADDR_STRLEN];
	struct hal_addr a, b;
	uint8_t ip[16];

	if (n >= 16) {
		raw_round_trip(4, data);
		raw_round_trip(6, data);
	}
	if (n >= sizeof(s))
		n = sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	if (hal_addr_parse(&a, s, 25) == 0) {
		hal_addr_format(&a, true, text, sizeof(text));
		if (strlen(text) >= sizeof(text) - 1 || hal_addr_parse(&b, text, 0) != 0 ||
		    b.family != a.family || b.port != a.port ||
		    memcmp(b.ip, a.ip, sizeof(a.ip)) != 0)
			abort();
	}
	for (int family = 4; family <= 6; family += 2)
		if (hal_addr_parse_ip(family, s, ip) == 0)
			raw_round_trip(family, ip);
	return 0;
}
