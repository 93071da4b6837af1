/*
 * DNS wire format: strict parser, query builder, canonical forms and
 * presentation output. See wire.h for the model and the bounds.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <arpa/inet.h>

#include "firmware/dns/wire.h"

static const char *const wire_errs[] = {
	"ok", "message truncated", "bad name", "bad compression pointer",
	"bad rdata", "message too big", "trailing octets", "syntax error",
	"buffer too small",
};

const char *
dns_wire_strerror(int err)
{
	if (err > 0 || -err >= (int)(sizeof(wire_errs) / sizeof(wire_errs[0])))
		return "unknown error";
	return wire_errs[-err];
}

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t
lc(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* ------------------------------------------------------------------ names */

int
dns_name_unpack(const uint8_t *msg, size_t n, size_t *off, uint8_t out[DNS_NAME_MAX],
    uint16_t *outlen, bool allow_compression)
{
	size_t pos = *off, end = 0, len = 0;
	int ptrs = 0;
	bool jumped = false;

	for (;;) {
		if (pos >= n)
			return DNS_E_SHORT;
		uint8_t c = msg[pos];
		if ((c & 0xc0) == 0xc0) {
			if (!allow_compression)
				return DNS_E_POINTER;
			if (pos + 1 >= n)
				return DNS_E_SHORT;
			size_t target = (size_t)(c & 0x3f) << 8 | msg[pos + 1];
			/* strictly backwards: no loops, bounded by DNS_MAX_POINTERS */
			if (target >= pos || ++ptrs > DNS_MAX_POINTERS)
				return DNS_E_POINTER;
			if (!jumped)
				end = pos + 2;
			jumped = true;
			pos = target;
			continue;
		}
		if (c & 0xc0)
			return DNS_E_NAME; /* 0x40/0x80: extended/reserved label types */
		if (len + 1 + c > DNS_NAME_MAX)
			return DNS_E_NAME;
		if (pos + 1 + c > n)
			return DNS_E_SHORT;
		memcpy(out + len, msg + pos, 1 + (size_t)c);
		len += 1 + (size_t)c;
		pos += 1 + (size_t)c;
		if (c == 0)
			break;
	}
	*outlen = (uint16_t)len;
	*off = jumped ? end : pos;
	return DNS_E_OK;
}

size_t
dns_name_len(const uint8_t *p, size_t max)
{
	size_t len = 0;

	for (;;) {
		if (len >= max)
			return 0;
		uint8_t c = p[len];
		if (c > DNS_LABEL_MAX)
			return 0;
		if (len + 1 + c > DNS_NAME_MAX)
			return 0;
		len += 1 + (size_t)c;
		if (c == 0)
			return len <= max ? len : 0;
	}
}

int
dns_name_labels(const uint8_t *name)
{
	int k = 0;

	while (*name) {
		k++;
		name += 1 + *name;
	}
	return k;
}

const uint8_t *
dns_name_suffix(const uint8_t *name, int keep)
{
	int skip = dns_name_labels(name) - keep;

	while (skip-- > 0)
		name += 1 + *name;
	return name;
}

void
dns_name_lower(uint8_t *name)
{
	while (*name) {
		for (int i = 1; i <= *name; i++)
			name[i] = lc(name[i]);
		name += 1 + *name;
	}
}

bool
dns_name_eq(const uint8_t *a, const uint8_t *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		if (*a == 0)
			return true;
		for (int i = 1; i <= *a; i++)
			if (lc(a[i]) != lc(b[i]))
				return false;
		a += 1 + *a;
		b += 1 + *b;
	}
}

bool
dns_name_is_sub(const uint8_t *a, const uint8_t *b)
{
	int la = dns_name_labels(a), lb = dns_name_labels(b);

	if (la < lb)
		return false;
	return dns_name_eq(dns_name_suffix(a, lb), b);
}

int
dns_name_cmp(const uint8_t *a, const uint8_t *b)
{
	const uint8_t *la[128] = { 0 }, *lb[128] = { 0 };
	int na = 0, nb = 0;

	for (const uint8_t *p = a; *p && na < 128; p += 1 + *p)
		la[na++] = p;
	for (const uint8_t *p = b; *p && nb < 128; p += 1 + *p)
		lb[nb++] = p;
	while (na > 0 && nb > 0) {
		const uint8_t *x = la[--na], *y = lb[--nb];
		int n = *x < *y ? *x : *y;
		for (int i = 1; i <= n; i++) {
			int d = (int)lc(x[i]) - (int)lc(y[i]);
			if (d)
				return d;
		}
		if (*x != *y)
			return (int)*x - (int)*y;
	}
	return na - nb;
}

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

/* ------------------------------------------------------------------ parse */

static int
store_bytes(struct dns_msg *m, const uint8_t *p, size_t n, const uint8_t **where)
{
	if (m->used + n > sizeof(m->store))
		return DNS_E_TOOBIG;
	memcpy(m->store + m->used, p, n);
	*where = m->store + m->used;
	m->used += n;
	return DNS_E_OK;
}

/* Append a (possibly compressed) name from the message to the rdata being built. */
static int
rd_name(struct dns_msg *m, const uint8_t *p, size_t n, size_t *off, size_t end, bool compress)
{
	uint8_t nm[DNS_NAME_MAX];
	uint16_t nl;
	int rc = dns_name_unpack(p, end, off, nm, &nl, compress);
	const uint8_t *w;

	(void)n;
	if (rc != DNS_E_OK)
		return rc == DNS_E_SHORT ? DNS_E_RDATA : rc;
	return store_bytes(m, nm, nl, &w);
}

static int
rd_copy(struct dns_msg *m, const uint8_t *p, size_t *off, size_t k, size_t end)
{
	const uint8_t *w;

	if (*off + k > end)
		return DNS_E_RDATA;
	int rc = store_bytes(m, p + *off, k, &w);
	*off += k;
	return rc;
}

/*
 * Decompress and check one rdata: p[off..off+rdlen) inside the message p[0..n).
 */
static int
parse_rdata(struct dns_msg *m, uint16_t type, const uint8_t *p, size_t n, size_t off,
    size_t rdlen, const uint8_t **rd, uint16_t *outlen)
{
	size_t end = off + rdlen, start = m->used;
	int rc = DNS_E_OK;

	if (end > n)
		return DNS_E_SHORT;
	switch (type) {
	case DNS_T_A:
		if (rdlen != 4)
			return DNS_E_RDATA;
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	case DNS_T_AAAA:
		if (rdlen != 16)
			return DNS_E_RDATA;
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		rc = rd_name(m, p, n, &off, end, type != DNS_T_DNAME);
		break;
	case DNS_T_MX: case DNS_T_AFSDB: case DNS_T_RT: case DNS_T_KX:
		rc = rd_copy(m, p, &off, 2, end);
		if (!rc)
			rc = rd_name(m, p, n, &off, end, type == DNS_T_MX);
		break;
	case DNS_T_SOA: case DNS_T_MINFO: case DNS_T_RP:
		rc = rd_name(m, p, n, &off, end, type != DNS_T_RP);
		if (!rc)
			rc = rd_name(m, p, n, &off, end, type != DNS_T_RP);
		if (!rc && type == DNS_T_SOA)
			rc = rd_copy(m, p, &off, 20, end);
		break;
	case DNS_T_SRV:
		rc = rd_copy(m, p, &off, 6, end);
		if (!rc)
			rc = rd_name(m, p, n, &off, end, false);
		break;
	case DNS_T_RRSIG:
		rc = rd_copy(m, p, &off, 18, end);
		if (!rc)
			rc = rd_name(m, p, n, &off, end, false);
		if (!rc && end - off < 1)
			rc = DNS_E_RDATA;
		if (!rc)
			rc = rd_copy(m, p, &off, end - off, end);
		break;
	case DNS_T_NSEC:
		rc = rd_name(m, p, n, &off, end, false);
		if (!rc && !dns_bitmap_valid(p + off, end - off))
			rc = DNS_E_RDATA;
		if (!rc)
			rc = rd_copy(m, p, &off, end - off, end);
		break;
	case DNS_T_NSEC3: {
		/* alg, flags, iterations(2), salt len, salt, hash len, hash, bitmap */
		if (rdlen < 5 || off + 5 + p[off + 4] >= end)
			return DNS_E_RDATA;
		size_t h = off + 5 + p[off + 4];
		if (p[h] == 0 || h + 1 + p[h] > end ||
		    !dns_bitmap_valid(p + h + 1 + p[h], end - (h + 1 + p[h])))
			return DNS_E_RDATA;
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	}
	case DNS_T_NSEC3PARAM:
		if (rdlen < 5 || 5u + p[off + 4] != rdlen)
			return DNS_E_RDATA;
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	case DNS_T_DS:
		if (rdlen < 5)
			return DNS_E_RDATA;
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	case DNS_T_DNSKEY:
		if (rdlen < 5)
			return DNS_E_RDATA;
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	case DNS_T_TLSA:
		if (rdlen < 4)
			return DNS_E_RDATA;
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	case DNS_T_TXT: {
		size_t q = off;
		if (rdlen == 0)
			return DNS_E_RDATA;
		while (q < end)
			q += 1 + (size_t)p[q];
		if (q != end)
			return DNS_E_RDATA;
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	}
	default:
		rc = rd_copy(m, p, &off, rdlen, end);
		break;
	}
	if (rc)
		return rc;
	if (off != end)
		return DNS_E_RDATA;
	if (m->used - start > 65535)
		return DNS_E_TOOBIG;
	*rd = m->store + start;
	*outlen = (uint16_t)(m->used - start);
	return DNS_E_OK;
}

int
dns_msg_parse(struct dns_msg *m, const uint8_t *p, size_t n)
{
	size_t off = 12;
	uint16_t cnt[4];
	int rc;

	m->used = 0;
	m->nrr = m->nan = m->nns = m->nar = 0;
	m->has_opt = false;
	m->edns_do = false;
	m->edns_size = 0;
	m->qnlen = 0;
	if (n < 12)
		return DNS_E_SHORT;
	m->id = get16(p);
	m->flags = get16(p + 2);
	m->rcode = p[3] & 0x0f;
	for (int i = 0; i < 4; i++)
		cnt[i] = get16(p + 4 + 2 * i);
	if (cnt[0] > 1)
		return DNS_E_TOOBIG;
	if (cnt[0] == 1) {
		rc = dns_name_unpack(p, n, &off, m->qname, &m->qnlen, true);
		if (rc)
			return rc;
		if (off + 4 > n)
			return DNS_E_SHORT;
		m->qtype = get16(p + off);
		m->qclass = get16(p + off + 2);
		off += 4;
	}
	for (int s = 1; s <= 3; s++) {
		for (unsigned i = 0; i < cnt[s]; i++) {
			uint8_t nm[DNS_NAME_MAX];
			uint16_t nl, type, rclass, rdlen;
			uint32_t ttl;

			rc = dns_name_unpack(p, n, &off, nm, &nl, true);
			if (rc)
				return rc;
			if (off + 10 > n)
				return DNS_E_SHORT;
			type = get16(p + off);
			rclass = get16(p + off + 2);
			ttl = get32(p + off + 4);
			rdlen = get16(p + off + 8);
			off += 10;
			if (off + rdlen > n)
				return DNS_E_SHORT;
			if (type == DNS_T_OPT) {
				/* RFC 6891 §6.1.1: one OPT, owner root, additional section */
				if (s != 3 || m->has_opt || nl != 1)
					return DNS_E_RDATA;
				m->has_opt = true;
				m->edns_size = rclass;
				m->rcode |= (uint8_t)((ttl >> 24) << 4);
				m->edns_do = (ttl & 0x8000) != 0;
				off += rdlen;
				continue;
			}
			if (m->nrr >= DNS_MSG_MAX_RR)
				return DNS_E_TOOBIG;
			struct dns_rr *rr = &m->rr[m->nrr];
			rc = store_bytes(m, nm, nl, &rr->owner);
			if (rc)
				return rc;
			rr->olen = nl;
			rr->type = type;
			rr->rclass = rclass;
			rr->ttl = ttl & 0x7fffffff; /* RFC 2181 §8 */
			rr->section = (uint8_t)s;
			rc = parse_rdata(m, type, p, n, off, rdlen, &rr->rdata, &rr->rdlen);
			if (rc)
				return rc;
			off += rdlen;
			m->nrr++;
			if (s == 1)
				m->nan++;
			else if (s == 2)
				m->nns++;
			else
				m->nar++;
		}
	}
	if (off != n)
		return DNS_E_TRAILING;
	return DNS_E_OK;
}

/* ------------------------------------------------------------------ build */

int
dns_query_build(uint8_t *buf, size_t cap, size_t *len, uint16_t id, const uint8_t *name,
    uint16_t type, unsigned flags)
{
	size_t nl = dns_name_len(name, DNS_NAME_MAX);
	size_t need = 12 + nl + 4 + 11;

	if (nl == 0)
		return DNS_E_NAME;
	if (cap < need)
		return DNS_E_SPACE;
	memset(buf, 0, 12);
	buf[0] = (uint8_t)(id >> 8);
	buf[1] = (uint8_t)id;
	buf[2] = 0x01; /* RD */
	buf[3] = (flags & DNS_Q_CD) ? 0x10 : 0;
	buf[5] = 1;  /* QDCOUNT */
	buf[11] = 1; /* ARCOUNT: OPT */
	memcpy(buf + 12, name, nl);
	size_t o = 12 + nl;
	buf[o++] = (uint8_t)(type >> 8);
	buf[o++] = (uint8_t)type;
	buf[o++] = 0;
	buf[o++] = DNS_C_IN;
	/* OPT: root, type 41, class = UDP size, ttl = ext-rcode/version/DO, rdlen 0 */
	buf[o++] = 0;
	buf[o++] = 0;
	buf[o++] = DNS_T_OPT;
	buf[o++] = DNS_EDNS_BUFSIZE >> 8;
	buf[o++] = DNS_EDNS_BUFSIZE & 0xff;
	buf[o++] = 0;
	buf[o++] = 0;
	buf[o++] = (flags & DNS_Q_DO) ? 0x80 : 0;
	buf[o++] = 0;
	buf[o++] = 0;
	buf[o++] = 0;
	*len = o;
	return DNS_E_OK;
}

/* ------------------------------------------------------------------ bitmaps */

bool
dns_bitmap_valid(const uint8_t *bm, size_t n)
{
	size_t o = 0;
	int last = -1;

	while (o < n) {
		if (o + 2 > n)
			return false;
		uint8_t win = bm[o], len = bm[o + 1];
		if ((int)win <= last || len == 0 || len > 32 || o + 2 + len > n)
			return false;
		last = win;
		o += 2 + (size_t)len;
	}
	return true;
}

bool
dns_bitmap_has(const uint8_t *bm, size_t n, uint16_t type)
{
	size_t o = 0;

	while (o + 2 <= n) {
		uint8_t win = bm[o], len = bm[o + 1];
		if (o + 2 + len > n)
			return false;
		if (win == type >> 8) {
			unsigned byte = (type & 0xff) >> 3;
			if (byte >= len)
				return false;
			return (bm[o + 2 + byte] & (0x80 >> (type & 7))) != 0;
		}
		o += 2 + (size_t)len;
	}
	return false;
}

/* ------------------------------------------------------------------ canonical */

static void
lower_name_at(uint8_t *p, size_t max)
{
	size_t o = 0;

	while (o < max && p[o]) {
		uint8_t l = p[o];
		for (size_t i = 1; i <= l && o + i < max; i++)
			p[o + i] = lc(p[o + i]);
		o += 1 + (size_t)l;
	}
}

int
dns_rdata_canonical(uint16_t type, const uint8_t *rd, uint16_t rdlen, uint8_t *out)
{
	size_t first = 0, l1;

	memcpy(out, rd, rdlen);
	switch (type) {
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		lower_name_at(out, rdlen);
		break;
	case DNS_T_MX: case DNS_T_AFSDB: case DNS_T_RT: case DNS_T_KX:
		if (rdlen > 2)
			lower_name_at(out + 2, rdlen - 2u);
		break;
	case DNS_T_SRV:
		if (rdlen > 6)
			lower_name_at(out + 6, rdlen - 6u);
		break;
	case DNS_T_SOA: case DNS_T_MINFO: case DNS_T_RP:
		l1 = dns_name_len(out, rdlen);
		if (l1 == 0)
			return DNS_E_RDATA;
		lower_name_at(out, l1);
		lower_name_at(out + l1, rdlen - l1);
		(void)first;
		break;
	default:
		break;
	}
	return DNS_E_OK;
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
		char c = (char)lc((uint8_t)s[i]);
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

#include <stdarg.h>
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
	case DNS_T_A: {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET, rd, a, sizeof(a));
		tput(&t, "%s", a);
		break;
	}
	case DNS_T_AAAA: {
		char a[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, rd, a, sizeof(a));
		tput(&t, "%s", a);
		break;
	}
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		tname(&t, rd);
		break;
	case DNS_T_MX:
		tput(&t, "%u ", get16(rd));
		tname(&t, rd + 2);
		break;
	case DNS_T_SRV:
		tput(&t, "%u %u %u ", get16(rd), get16(rd + 2), get16(rd + 4));
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
		tput(&t, " %u %u %u %u %u", get32(rd + l), get32(rd + l + 4), get32(rd + l + 8),
		    get32(rd + l + 12), get32(rd + l + 16));
		break;
	case DNS_T_DS:
		tput(&t, "%u %u %u ", get16(rd), rd[2], rd[3]);
		thex(&t, rd + 4, rdlen - 4u);
		break;
	case DNS_T_DNSKEY:
		tput(&t, "%u %u %u ", get16(rd), rd[2], rd[3]);
		tb64(&t, rd + 4, rdlen - 4u);
		break;
	case DNS_T_TLSA:
		tput(&t, "%u %u %u ", rd[0], rd[1], rd[2]);
		thex(&t, rd + 3, rdlen - 3u);
		break;
	case DNS_T_RRSIG:
		dns_type_to_text(get16(rd), ty, sizeof(ty));
		tput(&t, "%s %u %u %u ", ty, rd[2], rd[3], get32(rd + 4));
		ttime(&t, get32(rd + 8));
		tput(&t, " ");
		ttime(&t, get32(rd + 12));
		tput(&t, " %u ", get16(rd + 16));
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
		tput(&t, "%u %u %u ", rd[0], rd[1], get16(rd + 2));
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
		if (left != 1 || inet_pton(*type == DNS_T_A ? AF_INET : AF_INET6, tok[i], rd) != 1)
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
