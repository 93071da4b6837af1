/*
 * DNS presentation format (RFC 1035 §5.1, RFC 4034 §2.2 ...): names and
 * types as text, base64 and base32hex, one record as a zone-file line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "firmware/dns/wire.h"
#include "hal/net.h"

int
dns_name_from_text(const char *s, uint8_t out[DNS_NAME_MAX], uint16_t *len)
{
	size_t o = 0, lab = 0;
	uint8_t cur[DNS_LABEL_MAX];

	if (strcmp(s, ".") == 0) {
		out[0] = 0;
		*len = 1;
		return DNS_E_OK;
	}
	for (;;) {
		char c = *s;
		if (c == '.' || c == '\0') {
			if (lab == 0) {
				if (c == '\0' && o > 0)
					break; /* trailing dot already consumed */
				return DNS_E_SYNTAX;
			}
			if (o + 1 + lab + 1 > DNS_NAME_MAX)
				return DNS_E_NAME;
			out[o++] = (uint8_t)lab;
			memcpy(out + o, cur, lab);
			o += lab;
			lab = 0;
			if (c == '\0' || s[1] == '\0')
				break;
			s++;
			continue;
		}
		uint8_t v = (uint8_t)c;
		if (c == '\\') {
			s++;
			if (s[0] >= '0' && s[0] <= '9') {
				if (!(s[1] >= '0' && s[1] <= '9' && s[2] >= '0' && s[2] <= '9'))
					return DNS_E_SYNTAX;
				int d = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
				if (d > 255)
					return DNS_E_SYNTAX;
				v = (uint8_t)d;
				s += 2;
			} else if (s[0] == '\0') {
				return DNS_E_SYNTAX;
			} else {
				v = (uint8_t)s[0];
			}
		}
		if (lab >= DNS_LABEL_MAX)
			return DNS_E_NAME;
		cur[lab++] = v;
		s++;
	}
	out[o++] = 0;
	*len = (uint16_t)o;
	return DNS_E_OK;
}

int
dns_name_to_text(const uint8_t *name, char *buf, size_t cap)
{
	size_t o = 0;

	if (*name == 0) {
		if (cap < 2)
			return DNS_E_SPACE;
		memcpy(buf, ".", 2);
		return DNS_E_OK;
	}
	while (*name) {
		for (int i = 1; i <= *name; i++) {
			uint8_t c = name[i];
			char tmp[5];
			size_t k;
			if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' ||
			    c == ')' || c == '@' || c == '$') {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				k = 2;
			} else if (c <= 0x20 || c >= 0x7f) {
				snprintf(tmp, sizeof(tmp), "\\%03u", c);
				k = 4;
			} else {
				tmp[0] = (char)c;
				k = 1;
			}
			if (o + k + 2 > cap)
				return DNS_E_SPACE;
			memcpy(buf + o, tmp, k);
			o += k;
		}
		buf[o++] = '.';
		name += 1 + *name;
	}
	buf[o] = '\0';
	return DNS_E_OK;
}

/* ------------------------------------------------------------------ types */

static const struct {
	uint16_t type;
	const char *name;
} type_names[] = {
	{ DNS_T_A, "A" }, { DNS_T_NS, "NS" }, { DNS_T_CNAME, "CNAME" }, { DNS_T_SOA, "SOA" },
	{ DNS_T_PTR, "PTR" }, { DNS_T_MX, "MX" }, { DNS_T_TXT, "TXT" }, { DNS_T_AAAA, "AAAA" },
	{ DNS_T_SRV, "SRV" }, { DNS_T_DNAME, "DNAME" }, { DNS_T_OPT, "OPT" }, { DNS_T_DS, "DS" },
	{ DNS_T_RRSIG, "RRSIG" }, { DNS_T_NSEC, "NSEC" }, { DNS_T_DNSKEY, "DNSKEY" },
	{ DNS_T_NSEC3, "NSEC3" }, { DNS_T_NSEC3PARAM, "NSEC3PARAM" }, { DNS_T_TLSA, "TLSA" },
	{ DNS_T_ANY, "ANY" }, { DNS_T_RP, "RP" }, { DNS_T_AFSDB, "AFSDB" }, { DNS_T_KX, "KX" },
	{ DNS_T_RT, "RT" }, { DNS_T_MINFO, "MINFO" }, { 13, "HINFO" }, { 64, "SVCB" }, { 65, "HTTPS" },
	{ 257, "CAA" }, { 99, "SPF" }, { 59, "CDS" }, { 60, "CDNSKEY" },
};
#define NTYPES (sizeof(type_names) / sizeof(type_names[0]))

size_t
dns_txt_join(const uint8_t *rd, size_t rdlen, char *out, size_t cap, size_t *full)
{
	size_t tl = 0, o = 0, all = 0;

	while (o < rdlen) {
		size_t sl = rd[o++];

		if (sl > rdlen - o)
			sl = rdlen - o;
		for (size_t k = 0; k < sl && tl + 1 < cap; k++)
			out[tl++] = (char)rd[o + k];
		all += sl;
		o += sl;
	}
	if (cap > 0)
		out[tl] = '\0';
	if (full != NULL)
		*full = all;
	return tl;
}

uint16_t
dns_type_from_text(const char *s)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (strcasecmp(s, type_names[i].name) == 0)
			return type_names[i].type;
	if (strncasecmp(s, "TYPE", 4) == 0 && s[4] >= '0' && s[4] <= '9') {
		unsigned long v = 0;
		for (const char *p = s + 4; *p; p++) {
			if (*p < '0' || *p > '9')
				return 0;
			v = v * 10 + (unsigned long)(*p - '0');
			if (v > 65535)
				return 0;
		}
		return (uint16_t)v;
	}
	return 0;
}

void
dns_type_to_text(uint16_t type, char *buf, size_t cap)
{
	for (size_t i = 0; i < NTYPES; i++)
		if (type_names[i].type == type) {
			snprintf(buf, cap, "%s", type_names[i].name);
			return;
		}
	snprintf(buf, cap, "TYPE%u", type);
}

/* ------------------------------------------------------------------ base64/32 */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b32[] = "0123456789abcdefghijklmnopqrstuv";

int
dns_b64_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (cap < (n + 2) / 3 * 4 + 1)
		return DNS_E_SPACE;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return DNS_E_OK;
}

int
dns_b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0, pad = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		const char *q;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (pad || c == '\0' || (q = strchr(b64, c)) == NULL)
			return DNS_E_SYNTAX;
		acc = acc << 6 | (uint32_t)(q - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return DNS_E_SPACE;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (pad > 2)
		return DNS_E_SYNTAX;
	*outlen = o;
	return DNS_E_OK;
}

int
dns_b32hex_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (cap < (n * 8 + 4) / 5 + 1)
		return DNS_E_SPACE;
	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | p[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			out[o++] = b32[acc >> bits & 31];
		}
	}
	if (bits > 0)
		out[o++] = b32[acc << (5 - bits) & 31];
	out[o] = '\0';
	return DNS_E_OK;
}

int
dns_b32hex_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = (char)dns_lc((uint8_t)s[i]);
		const char *q = c ? strchr(b32, c) : NULL;
		if (q == NULL)
			return DNS_E_SYNTAX;
		acc = acc << 5 | (uint32_t)(q - b32);
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return DNS_E_SPACE;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return DNS_E_OK;
}

/* ------------------------------------------------------------------ text out */

struct tbuf {
	char *p;
	size_t cap, o;
	bool over;
};

static void
tput(struct tbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
tput(struct tbuf *t, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (t->over)
		return;
	va_start(ap, fmt);
	k = vsnprintf(t->p + t->o, t->cap - t->o, fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= t->cap - t->o) {
		t->over = true;
		return;
	}
	t->o += (size_t)k;
}

static void
tname(struct tbuf *t, const uint8_t *name)
{
	char s[1024];

	if (dns_name_to_text(name, s, sizeof(s)) != DNS_E_OK) {
		t->over = true;
		return;
	}
	tput(t, "%s", s);
}

static void
thex(struct tbuf *t, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tput(t, "%02X", p[i]);
}

static void
tb64(struct tbuf *t, const uint8_t *p, size_t n)
{
	char s[4096];

	if (dns_b64_encode(p, n, s, sizeof(s)) != DNS_E_OK) {
		t->over = true;
		return;
	}
	tput(t, "%s", s);
}

static void
tbitmap(struct tbuf *t, const uint8_t *bm, size_t n)
{
	size_t o = 0;

	while (o + 2 <= n) {
		uint8_t win = bm[o], len = bm[o + 1];
		for (unsigned i = 0; i < len && o + 2 + i < n; i++)
			for (unsigned b = 0; b < 8; b++)
				if (bm[o + 2 + i] & (0x80 >> b)) {
					char ty[16];
					dns_type_to_text((uint16_t)(win << 8 | (i * 8 + b)), ty,
					    sizeof(ty));
					tput(t, " %s", ty);
				}
		o += 2 + (size_t)len;
	}
}

static void
ttime(struct tbuf *t, uint32_t v)
{
	time_t tt = (time_t)v;
	struct tm tm;

	gmtime_r(&tt, &tm);
	tput(t, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
tstr(struct tbuf *t, const uint8_t *p, size_t n)
{
	tput(t, "\"");
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (c == '"' || c == '\\')
			tput(t, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			tput(t, "\\%03u", c);
		else
			tput(t, "%c", c);
	}
	tput(t, "\"");
}

int
dns_rr_to_text(const uint8_t *owner, uint16_t type, uint32_t ttl, const uint8_t *rd,
    uint16_t rdlen, char *buf, size_t cap)
{
	struct tbuf t = { buf, cap, 0, false };
	char ty[16];
	size_t l;

	if (cap == 0)
		return DNS_E_SPACE;
	buf[0] = '\0';
	dns_type_to_text(type, ty, sizeof(ty));
	tname(&t, owner);
	tput(&t, "\t%u\tIN\t%s\t", ttl, ty);
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA: {
		struct hal_addr ha = { .family = type == DNS_T_A ? 4 : 6 };
		char a[HAL_ADDR_STRLEN];

		memcpy(ha.ip, rd, type == DNS_T_A ? 4 : 16);
		hal_addr_format(&ha, false, a, sizeof(a));
		tput(&t, "%s", a);
		break;
	}
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		tname(&t, rd);
		break;
	case DNS_T_MX:
		tput(&t, "%u ", dns_get16(rd));
		tname(&t, rd + 2);
		break;
	case DNS_T_SRV:
		tput(&t, "%u %u %u ", dns_get16(rd), dns_get16(rd + 2), dns_get16(rd + 4));
		tname(&t, rd + 6);
		break;
	case DNS_T_TXT:
		for (size_t o = 0; o < rdlen; o += 1 + (size_t)rd[o]) {
			if (o)
				tput(&t, " ");
			tstr(&t, rd + o + 1, rd[o]);
		}
		break;
	case DNS_T_SOA:
		tname(&t, rd);
		tput(&t, " ");
		l = dns_name_len(rd, rdlen);
		tname(&t, rd + l);
		l += dns_name_len(rd + l, rdlen - l);
		tput(&t, " %u %u %u %u %u", dns_get32(rd + l), dns_get32(rd + l + 4), dns_get32(rd + l + 8),
		    dns_get32(rd + l + 12), dns_get32(rd + l + 16));
		break;
	case DNS_T_DS:
		tput(&t, "%u %u %u ", dns_get16(rd), rd[2], rd[3]);
		thex(&t, rd + 4, rdlen - 4u);
		break;
	case DNS_T_DNSKEY:
		tput(&t, "%u %u %u ", dns_get16(rd), rd[2], rd[3]);
		tb64(&t, rd + 4, rdlen - 4u);
		break;
	case DNS_T_TLSA:
		tput(&t, "%u %u %u ", rd[0], rd[1], rd[2]);
		thex(&t, rd + 3, rdlen - 3u);
		break;
	case DNS_T_RRSIG:
		dns_type_to_text(dns_get16(rd), ty, sizeof(ty));
		tput(&t, "%s %u %u %u ", ty, rd[2], rd[3], dns_get32(rd + 4));
		ttime(&t, dns_get32(rd + 8));
		tput(&t, " ");
		ttime(&t, dns_get32(rd + 12));
		tput(&t, " %u ", dns_get16(rd + 16));
		tname(&t, rd + 18);
		l = 18 + dns_name_len(rd + 18, rdlen - 18u);
		tput(&t, " ");
		tb64(&t, rd + l, rdlen - l);
		break;
	case DNS_T_NSEC:
		tname(&t, rd);
		l = dns_name_len(rd, rdlen);
		tbitmap(&t, rd + l, rdlen - l);
		break;
	case DNS_T_NSEC3: case DNS_T_NSEC3PARAM: {
		char h[128];
		tput(&t, "%u %u %u ", rd[0], rd[1], dns_get16(rd + 2));
		if (rd[4] == 0)
			tput(&t, "-");
		else
			thex(&t, rd + 5, rd[4]);
		if (type == DNS_T_NSEC3PARAM)
			break;
		l = 5u + rd[4];
		if (dns_b32hex_encode(rd + l + 1, rd[l], h, sizeof(h)) != DNS_E_OK)
			t.over = true;
		else
			tput(&t, " %s", h);
		l += 1u + rd[l];
		tbitmap(&t, rd + l, rdlen - l);
		break;
	}
	default:
		tput(&t, "\\# %u ", rdlen);
		thex(&t, rd, rdlen);
		break;
	}
	return t.over ? DNS_E_SPACE : DNS_E_OK;
}
