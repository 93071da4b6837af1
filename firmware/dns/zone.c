/*
 * The zone-file parser (RFC 1035 §5.1): one record line in presentation
 * format to owner, type, TTL and wire rdata (trust anchors, test vectors).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/dns/wire.h"
#include "hal/net.h"

/* ------------------------------------------------------------------ text in */

/* Split zone-file text into tokens; parentheses join lines, ';' comments. */
static int
tokenize(const char *s, char tok[][1024], int max)
{
	int n = 0;

	while (*s) {
		if (*s == ';') {
			while (*s && *s != '\n')
				s++;
			continue;
		}
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '(' || *s == ')') {
			s++;
			continue;
		}
		if (n >= max)
			return -1;
		size_t k = 0;
		while (*s && *s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '(' &&
		    *s != ')' && *s != ';') {
			if (k + 1 >= 1024)
				return -1;
			tok[n][k++] = *s++;
		}
		tok[n][k] = '\0';
		n++;
	}
	return n;
}

static int
parse_uint(const char *s, unsigned long max, unsigned long *v)
{
	unsigned long x = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		x = x * 10 + (unsigned long)(*s - '0');
		if (x > max)
			return -1;
	}
	*v = x;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int
hex_into(const char *t, uint8_t *rd, size_t cap, size_t *o)
{
	size_t tl = strlen(t);

	if (tl % 2)
		return DNS_E_SYNTAX;
	for (size_t j = 0; j < tl; j += 2) {
		int hi = hexval(t[j]), lo = hexval(t[j + 1]);
		if (hi < 0 || lo < 0 || *o >= cap)
			return DNS_E_SYNTAX;
		rd[(*o)++] = (uint8_t)(hi << 4 | lo);
	}
	return DNS_E_OK;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* RRSIG time: YYYYMMDDHHmmSS or seconds (RFC 4034 §3.2). */
static int
parse_sigtime(const char *t, uint32_t *v)
{
	unsigned long x;

	if (strlen(t) == 14) {
		unsigned Y, M, D, h, mi, se;
		if (sscanf(t, "%4u%2u%2u%2u%2u%2u", &Y, &M, &D, &h, &mi, &se) != 6 || M < 1 ||
		    M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || se > 60)
			return DNS_E_SYNTAX;
		int64_t s = days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + se;
		*v = (uint32_t)s; /* serial arithmetic: modulo 2^32 */
		return DNS_E_OK;
	}
	if (parse_uint(t, 0xffffffffUL, &x) != 0)
		return DNS_E_SYNTAX;
	*v = (uint32_t)x;
	return DNS_E_OK;
}

static int
put_bitmap(char tok[][1024], int from, int n, uint8_t *rd, size_t cap, size_t *o)
{
	uint8_t win[256][32];
	uint8_t len[256];

	memset(len, 0, sizeof(len));
	memset(win, 0, sizeof(win));
	for (int k = from; k < n; k++) {
		uint16_t t = dns_type_from_text(tok[k]);
		if (t == 0)
			return DNS_E_SYNTAX;
		win[t >> 8][(t & 0xff) >> 3] |= (uint8_t)(0x80 >> (t & 7));
		if (len[t >> 8] < ((t & 0xff) >> 3) + 1)
			len[t >> 8] = (uint8_t)(((t & 0xff) >> 3) + 1);
	}
	for (int w = 0; w < 256; w++) {
		if (len[w] == 0)
			continue;
		if (*o + 2 + len[w] > cap)
			return DNS_E_SPACE;
		rd[(*o)++] = (uint8_t)w;
		rd[(*o)++] = len[w];
		memcpy(rd + *o, win[w], len[w]);
		*o += len[w];
	}
	return DNS_E_OK;
}

static int
put_name(const char *t, uint8_t *rd, size_t cap, size_t *o)
{
	uint8_t nm[DNS_NAME_MAX];
	uint16_t nl;

	if (dns_name_from_text(t, nm, &nl) != DNS_E_OK || *o + nl > cap)
		return DNS_E_SYNTAX;
	memcpy(rd + *o, nm, nl);
	*o += nl;
	return DNS_E_OK;
}

static int
put_b64(char tok[][1024], int from, int n, uint8_t *rd, size_t cap, size_t *o)
{
	static char all[8192];
	size_t al = 0, outl;

	for (int k = from; k < n; k++) {
		size_t tl = strlen(tok[k]);
		if (al + tl >= sizeof(all))
			return DNS_E_SYNTAX;
		memcpy(all + al, tok[k], tl);
		al += tl;
	}
	if (al == 0 || dns_b64_decode(all, al, rd + *o, cap - *o, &outl) != DNS_E_OK || outl == 0)
		return DNS_E_SYNTAX;
	*o += outl;
	return DNS_E_OK;
}

static void
put16(uint8_t *rd, size_t *o, unsigned long v)
{
	rd[(*o)++] = (uint8_t)(v >> 8);
	rd[(*o)++] = (uint8_t)v;
}

static void
put32(uint8_t *rd, size_t *o, uint32_t v)
{
	put16(rd, o, v >> 16);
	put16(rd, o, v & 0xffff);
}

/*
 * An IPv4 (dotted quad) or IPv6 address, nothing else: hal_addr_parse()
 * also takes "1.2.3.4:25" and "[::1]:25", which are no rdata. An IPv6
 * address has at least two colons, so it never reads as v4:port.
 */
static bool
parse_ip(const char *t, int family, uint8_t *rd)
{
	struct hal_addr a;

	if (t[0] == '[' || (family == 4 && strchr(t, ':') != NULL))
		return false;
	if (hal_addr_parse(&a, t, 0) != 0 || a.family != family || a.port != 0)
		return false;
	memcpy(rd, a.ip, family == 4 ? 4 : 16);
	return true;
}

int
dns_rr_from_text(const char *line, uint8_t owner[DNS_NAME_MAX], uint16_t *olen,
    uint16_t *type, uint8_t *rd, size_t cap, uint16_t *rdlen)
{
	static char tok[64][1024];
	int n = tokenize(line, tok, 64), i = 1, rc = DNS_E_OK;
	unsigned long a, b, c;
	size_t o = 0;
	uint32_t t1, t2;

	if (n < 3 || cap < 64)
		return DNS_E_SYNTAX;
	if (dns_name_from_text(tok[0], owner, olen) != DNS_E_OK)
		return DNS_E_SYNTAX;
	if (parse_uint(tok[i], 0x7fffffff, &a) == 0)
		i++;
	if (i < n && strcasecmp(tok[i], "IN") == 0)
		i++;
	if (i < n && parse_uint(tok[i], 0x7fffffff, &a) == 0)
		i++;
	if (i >= n)
		return DNS_E_SYNTAX;
	*type = dns_type_from_text(tok[i++]);
	int left = n - i;
	switch (*type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (left != 1 || !parse_ip(tok[i], *type == DNS_T_A ? 4 : 6, rd))
			return DNS_E_SYNTAX;
		o = *type == DNS_T_A ? 4 : 16;
		break;
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		if (left != 1)
			return DNS_E_SYNTAX;
		rc = put_name(tok[i], rd, cap, &o);
		break;
	case DNS_T_MX:
		if (left != 2 || parse_uint(tok[i], 65535, &a))
			return DNS_E_SYNTAX;
		put16(rd, &o, a);
		rc = put_name(tok[i + 1], rd, cap, &o);
		break;
	case DNS_T_DS:
	case DNS_T_DNSKEY:
		if (left < 4 || parse_uint(tok[i], 65535, &a) || parse_uint(tok[i + 1], 255, &b) ||
		    parse_uint(tok[i + 2], 255, &c))
			return DNS_E_SYNTAX;
		put16(rd, &o, a);
		rd[o++] = (uint8_t)b;
		rd[o++] = (uint8_t)c;
		if (*type == DNS_T_DNSKEY)
			rc = put_b64(tok, i + 3, n, rd, cap, &o);
		else
			for (int k = i + 3; k < n && rc == DNS_E_OK; k++)
				rc = hex_into(tok[k], rd, cap, &o);
		if (o <= 4)
			rc = DNS_E_SYNTAX;
		break;
	case DNS_T_TLSA:
		if (left < 4 || parse_uint(tok[i], 255, &a) || parse_uint(tok[i + 1], 255, &b) ||
		    parse_uint(tok[i + 2], 255, &c))
			return DNS_E_SYNTAX;
		rd[o++] = (uint8_t)a;
		rd[o++] = (uint8_t)b;
		rd[o++] = (uint8_t)c;
		for (int k = i + 3; k < n && rc == DNS_E_OK; k++)
			rc = hex_into(tok[k], rd, cap, &o);
		break;
	case DNS_T_RRSIG: {
		uint16_t cov;
		if (left < 9 || (cov = dns_type_from_text(tok[i])) == 0 ||
		    parse_uint(tok[i + 1], 255, &a) || parse_uint(tok[i + 2], 255, &b) ||
		    parse_uint(tok[i + 3], 0xffffffffUL, &c) || parse_sigtime(tok[i + 4], &t1) ||
		    parse_sigtime(tok[i + 5], &t2))
			return DNS_E_SYNTAX;
		unsigned long tag;
		if (parse_uint(tok[i + 6], 65535, &tag))
			return DNS_E_SYNTAX;
		put16(rd, &o, cov);
		rd[o++] = (uint8_t)a;
		rd[o++] = (uint8_t)b;
		put32(rd, &o, (uint32_t)c);
		put32(rd, &o, t1);
		put32(rd, &o, t2);
		put16(rd, &o, tag);
		rc = put_name(tok[i + 7], rd, cap, &o);
		if (rc == DNS_E_OK)
			rc = put_b64(tok, i + 8, n, rd, cap, &o);
		break;
	}
	case DNS_T_NSEC:
		if (left < 1)
			return DNS_E_SYNTAX;
		rc = put_name(tok[i], rd, cap, &o);
		if (rc == DNS_E_OK)
			rc = put_bitmap(tok, i + 1, n, rd, cap, &o);
		break;
	case DNS_T_NSEC3: case DNS_T_NSEC3PARAM: {
		size_t sl;
		if (left < (*type == DNS_T_NSEC3 ? 5 : 4) || parse_uint(tok[i], 255, &a) ||
		    parse_uint(tok[i + 1], 255, &b) || parse_uint(tok[i + 2], 65535, &c))
			return DNS_E_SYNTAX;
		rd[o++] = (uint8_t)a;
		rd[o++] = (uint8_t)b;
		put16(rd, &o, c);
		sl = o++;
		if (strcmp(tok[i + 3], "-") != 0)
			rc = hex_into(tok[i + 3], rd, cap, &o);
		if (rc != DNS_E_OK || o - sl - 1 > 255)
			return DNS_E_SYNTAX;
		rd[sl] = (uint8_t)(o - sl - 1);
		if (*type == DNS_T_NSEC3PARAM) {
			if (left != 4)
				return DNS_E_SYNTAX;
			break;
		}
		size_t hl = 0;
		if (dns_b32hex_decode(tok[i + 4], strlen(tok[i + 4]), rd + o + 1, cap - o - 1, &hl) ||
		    hl == 0 || hl > 255)
			return DNS_E_SYNTAX;
		rd[o] = (uint8_t)hl;
		o += 1 + hl;
		rc = put_bitmap(tok, i + 5, n, rd, cap, &o);
		break;
	}
	default:
		return DNS_E_SYNTAX;
	}
	if (rc != DNS_E_OK || o > 65535)
		return DNS_E_SYNTAX;
	*rdlen = (uint16_t)o;
	return DNS_E_OK;
}
