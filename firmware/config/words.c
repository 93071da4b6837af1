/*
 * The word checks every `set` handler shares: names, paths, on/off,
 * addresses, networks, numbers and durations. Each either fills its output
 * or writes the one-line error (what is wrong, what is valid).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/config/grammar.h"

/* A host or domain name (RFC 1035 2.3.1 LDH labels; digits may lead, RFC
 * 1123 2.1). Lower-cased into out, trailing dot dropped. */
bool
config_valid_dname(const char *s, char out[ZCFG_NAME_MAX])
{
	size_t n = strlen(s), label = 0;

	memset(out, 0, ZCFG_NAME_MAX);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-') {
			if (c == '-' && label == 0)
				return false;
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0 || s[n - 1] == '-')
		return false;
	out[n] = 0;
	return true;
}

int
config_want_dname(const char *what, const char *s, char out[ZCFG_NAME_MAX], char *err, size_t cap)
{
	if (config_valid_dname(s, out))
		return 0;
	return config_fail(err, cap,
	    "%s: '%s' is not a domain name (letters, digits, '-', '.'; labels of 1-63)", what, s);
}

/* Names of things (listeners): letters, digits, '-', '_'. */
bool
config_valid_word(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && (extra == NULL || !strchr(extra, c)))
			return false;
	}
	return true;
}

int
config_want_path(const char *what, const char *s, char out[ZCFG_PATH_MAX], char *err, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0)
		return config_fail(err, cap, "%s: the path is empty", what);
	if (n >= ZCFG_PATH_MAX)
		return config_fail(err, cap, "%s: path too long (at most %d characters)", what,
		    ZCFG_PATH_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return config_fail(err, cap, "%s: control character in path", what);
	put(out, ZCFG_PATH_MAX, s);
	return 0;
}

int
config_want_onoff(const char *what, const char *s, bool *out, char *err, size_t cap)
{
	if (streq(s, "on")) {
		*out = true;
		return 0;
	}
	if (streq(s, "off")) {
		*out = false;
		return 0;
	}
	return config_fail(err, cap, "%s: '%s' is not on or off", what, s);
}

/* Index of s in names[0..n), or -1. */
int
config_lookup(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (streq(s, names[i]))
			return i;
	return -1;
}

/* An address with a port: "1.2.3.4:587", "[::1]:587". */
int
config_want_addr_port(const char *what, const char *s, struct hal_addr *a, char *err, size_t cap)
{
	if (hal_addr_parse(a, s, 0) != 0)
		return config_fail(err, cap,
		    "%s: '%s' is not an address (1.2.3.4:PORT or [2001:db8::1]:PORT)", what, s);
	if (a->port == 0)
		return config_fail(err, cap, "%s: '%s' has no port (1.2.3.4:PORT or [::1]:PORT)",
		    what, s);
	return 0;
}

int
config_parse_cidr(const char *what, const char *s, struct zcfg_network *n, char *err, size_t cap)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	unsigned maxp;

	memset(n, 0, sizeof(*n));
	if (len == 0 || len >= sizeof(ip) || strchr(s, '[') || strchr(s, ']'))
		goto bad;
	memcpy(ip, s, len);
	ip[len] = 0;
	/* hal_addr_parse takes "1.2.3.4:25" too; a CIDR has no port. */
	if (hal_addr_parse(&n->addr, ip, 0) != 0 || n->addr.port != 0)
		goto bad;
	maxp = n->addr.family == 4 ? 32 : 128;
	if (slash == NULL) {
		prefix = maxp;
	} else {
		char *end;
		if (!isdigit((unsigned char)slash[1]))
			goto bad;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end != 0 || prefix > maxp)
			return config_fail(err, cap, "%s: prefix length in '%s' must be 0-%u", what,
			    s, maxp);
	}
	n->prefix = (uint8_t)prefix;
	/* Keep the network address only: 192.168.1.7/24 is 192.168.1.0/24. */
	for (unsigned bit = (unsigned)prefix; bit < maxp; bit++)
		n->addr.ip[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
bad:
	return config_fail(err, cap,
	    "%s: '%s' is not a network (192.168.1.0/24, 10.0.0.5, 2001:db8::/32)", what, s);
}

bool
config_same_addr(const struct hal_addr *a, const struct hal_addr *b, bool port)
{
	size_t n = a->family == 4 ? 4 : 16;

	return a->family == b->family && memcmp(a->ip, b->ip, n) == 0 &&
	    (!port || a->port == b->port);
}

uint32_t
config_parse_u32(const char *s, bool *ok)
{
	char *end;
	unsigned long long v;

	*ok = false;
	if (!isdigit((unsigned char)s[0]))
		return 0;
	v = strtoull(s, &end, 10);
	if (*end != 0 || v > 0xffffffffull)
		return 0;
	*ok = true;
	return (uint32_t)v;
}

/* "90", "30s", "5m", "4h", "5d" -> seconds (at most 10 years) */
bool
config_parse_duration(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v, mul = 1;

	if (!isdigit((unsigned char)s[0]))
		return false;
	v = strtoull(s, &end, 10);
	if (end[0] != 0 && end[1] != 0)
		return false;
	switch (end[0]) {
	case 0: case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: return false;
	}
	if (v > 315360000ull / mul)
		return false;
	*out = (uint32_t)(v * mul);
	return true;
}

/* "4096", "512K", "10M", "1G" (binary units, any case, an optional "B"
 * or "iB": 10MB = 10MiB = 10485760) -> bytes, below 2^50. */
bool
config_parse_u64_bytes(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!isdigit((unsigned char)s[0]))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	switch (tolower((unsigned char)end[0])) {
	case 'k': shift = 10; end++; break;
	case 'm': shift = 20; end++; break;
	case 'g': shift = 30; end++; break;
	default: break;
	}
	if (shift != 0 && (streq(end, "B") || streq(end, "b") || streq(end, "iB") ||
	    streq(end, "ib")))
		end += strlen(end);
	if (*end != 0 || v >= (1ull << (50 - shift)))
		return false;
	*out = (uint64_t)v << shift;
	return true;
}

/* Bytes as the admin would write them: "25M" when a whole number of MiB
 * ("4K", "1G" likewise), else the number. config_parse_u64_bytes reads it. */
void
config_format_bytes(uint64_t v, char *out, size_t cap)
{
	static const char units[] = "GMK";

	for (unsigned i = 0; i < 3; i++) {
		unsigned shift = 30 - 10 * i;

		if (v != 0 && (v & ((1ull << shift) - 1)) == 0) {
			snprintf(out, cap, "%llu%c", (unsigned long long)(v >> shift), units[i]);
			return;
		}
	}
	snprintf(out, cap, "%llu", (unsigned long long)v);
}
