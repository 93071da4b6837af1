/*
 * DNS wire format: names, the strict message parser, the query builder,
 * type bitmaps and canonical forms (RFC 1035, RFC 4034 §6). The text forms
 * are in text.c (presentation) and zone.c (zone-file parser). See wire.h
 * for the model and the bounds.
 */
#include <string.h>

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
			name[i] = dns_lc(name[i]);
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
			if (dns_lc(a[i]) != dns_lc(b[i]))
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
			int d = (int)dns_lc(x[i]) - (int)dns_lc(y[i]);
			if (d)
				return d;
		}
		if (*x != *y)
			return (int)*x - (int)*y;
	}
	return na - nb;
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
	m->id = dns_get16(p);
	m->flags = dns_get16(p + 2);
	m->rcode = p[3] & 0x0f;
	for (int i = 0; i < 4; i++)
		cnt[i] = dns_get16(p + 4 + 2 * i);
	if (cnt[0] > 1)
		return DNS_E_TOOBIG;
	if (cnt[0] == 1) {
		rc = dns_name_unpack(p, n, &off, m->qname, &m->qnlen, true);
		if (rc)
			return rc;
		if (off + 4 > n)
			return DNS_E_SHORT;
		m->qtype = dns_get16(p + off);
		m->qclass = dns_get16(p + off + 2);
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
			type = dns_get16(p + off);
			rclass = dns_get16(p + off + 2);
			ttl = dns_get32(p + off + 4);
			rdlen = dns_get16(p + off + 8);
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
			p[o + i] = dns_lc(p[o + i]);
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
