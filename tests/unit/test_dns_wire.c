/* DNS wire format: strict parsing (compression loops, pointer direction,
 * name and label limits, rdata layouts, truncation at every length), the
 * query builder, canonical order, presentation format; the query transport
 * state machine (ID/source/question checks, TC -> TCP, TCP answers split at
 * every offset, timeouts across servers); trust-anchor files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/dns/dns.h"
#include "firmware/dns/transport.h"
#include "firmware/dns/wire.h"
#include "hal/clock.h"

static struct dns_msg msg;

/* A response: www.example.com A with a compressed owner, CNAME with a
 * compressed target, MX with a compressed exchange. */
static const uint8_t resp1[] = {
	0x12, 0x34, 0x81, 0x80, 0, 1, 0, 3, 0, 0, 0, 0,
	3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, /* @12 */
	0, 1, 0, 1,
	0xc0, 12, 0, 5, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 3, 'f', 'o', 'o', 0xc0, 16,
	0xc0, 16, 0, 15, 0, 1, 0, 0, 0x0e, 0x10, 0, 7, 0, 10, 2, 'm', 'x', 0xc0, 16,
	0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,
};

static void
test_parse_compressed(void **state)
{
	char text[512];

	(void)state;
	assert_int_equal(dns_msg_parse(&msg, resp1, sizeof(resp1)), DNS_E_OK);
	assert_int_equal(msg.id, 0x1234);
	assert_int_equal(msg.nan, 3);
	assert_int_equal(msg.qtype, DNS_T_A);
	assert_int_equal(dns_rr_to_text(msg.rr[0].owner, msg.rr[0].type, msg.rr[0].ttl,
			     msg.rr[0].rdata, msg.rr[0].rdlen, text, sizeof(text)), 0);
	assert_string_equal(text, "www.example.com.\t3600\tIN\tCNAME\tfoo.example.com.");
	assert_int_equal(dns_rr_to_text(msg.rr[1].owner, msg.rr[1].type, msg.rr[1].ttl,
			     msg.rr[1].rdata, msg.rr[1].rdlen, text, sizeof(text)), 0);
	assert_string_equal(text, "example.com.\t3600\tIN\tMX\t10 mx.example.com.");
	/* the decompressed rdata is self-contained (no pointers left) */
	assert_int_equal(msg.rr[1].rdlen, 2 + 16);
}

static void
test_parse_truncated_everywhere(void **state)
{
	(void)state;
	for (size_t n = 0; n < sizeof(resp1); n++)
		assert_int_not_equal(dns_msg_parse(&msg, resp1, n), DNS_E_OK);
	uint8_t longer[sizeof(resp1) + 1];
	memcpy(longer, resp1, sizeof(resp1));
	longer[sizeof(resp1)] = 0;
	assert_int_equal(dns_msg_parse(&msg, longer, sizeof(longer)), DNS_E_TRAILING);
}

static void
test_pointers(void **state)
{
	uint8_t m[64] = { 0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0 };

	(void)state;
	/* a pointer to itself */
	m[12] = 0xc0;
	m[13] = 12;
	assert_int_equal(dns_msg_parse(&msg, m, 18), DNS_E_POINTER);
	/* a forward pointer */
	m[13] = 14;
	m[14] = 0;
	assert_int_equal(dns_msg_parse(&msg, m, 19), DNS_E_POINTER);
	/* two names pointing at each other: a -> b (backwards ok), b -> a (loop) */
	uint8_t loop[] = { 0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
		1, 'a', 0xc0, 16, 1, 'b', 0xc0, 12, 0, 1, 0, 1 };
	assert_int_equal(dns_msg_parse(&msg, loop, sizeof(loop)), DNS_E_POINTER);
	/* extended label types 0x40 and 0x80 */
	m[12] = 0x41;
	assert_int_equal(dns_msg_parse(&msg, m, 20), DNS_E_NAME);
	m[12] = 0x81;
	assert_int_equal(dns_msg_parse(&msg, m, 20), DNS_E_NAME);
}

static void
test_name_limits(void **state)
{
	uint8_t n[DNS_NAME_MAX];
	uint16_t nl;
	char s[400];

	(void)state;
	/* 63-octet label fits, 64 does not */
	memset(s, 'a', 63);
	strcpy(s + 63, ".com");
	assert_int_equal(dns_name_from_text(s, n, &nl), DNS_E_OK);
	memset(s, 'a', 64);
	strcpy(s + 64, ".com");
	assert_int_not_equal(dns_name_from_text(s, n, &nl), DNS_E_OK);
	/* 255 octets in wire form fit, 256 do not: 4 x 63-label = 4*64+1 = 257 */
	char *p = s;
	for (int i = 0; i < 3; i++) {
		memset(p, 'b', 63);
		p[63] = '.';
		p += 64;
	}
	memset(p, 'c', 61);
	p[61] = '\0';
	assert_int_equal(dns_name_from_text(s, n, &nl), DNS_E_OK);
	assert_int_equal(nl, 255);
	p[61] = 'c';
	p[62] = '\0';
	assert_int_not_equal(dns_name_from_text(s, n, &nl), DNS_E_OK);
	/* a wire name built from compression that exceeds 255 is refused */
	uint8_t m[600] = { 0, 0, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0 };
	size_t o = 12;
	for (int i = 0; i < 4; i++) {
		m[o++] = 63;
		memset(m + o, 'x', 63);
		o += 63;
	}
	m[o++] = 0;
	m[o++] = 0;
	m[o++] = 1;
	m[o++] = 0;
	m[o++] = 1;
	assert_int_equal(dns_msg_parse(&msg, m, o), DNS_E_NAME);
	/* escapes round trip */
	assert_int_equal(dns_name_from_text("a\\.b.\\065\\\\.example.", n, &nl), DNS_E_OK);
	assert_int_equal(n[0], 3);
	assert_int_equal(dns_name_to_text(n, s, sizeof(s)), DNS_E_OK);
	assert_string_equal(s, "a\\.b.A\\\\.example.");
	assert_int_equal(dns_name_from_text(".", n, &nl), DNS_E_OK);
	assert_int_equal(nl, 1);
	assert_int_not_equal(dns_name_from_text("a..b", n, &nl), DNS_E_OK);
	assert_int_not_equal(dns_name_from_text("\\256.x", n, &nl), DNS_E_OK);
}

/* RFC 4034 §6.1: the example names in canonical order. */
static void
test_canonical_order(void **state)
{
	static const char *names[] = { "example.", "a.example.", "yljkjljk.a.example.",
		"Z.a.example.", "zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.",
		"*.z.example.", "\\200.z.example." };
	uint8_t a[DNS_NAME_MAX], b[DNS_NAME_MAX];
	uint16_t l;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			assert_int_equal(dns_name_from_text(names[i], a, &l), DNS_E_OK);
			assert_int_equal(dns_name_from_text(names[j], b, &l), DNS_E_OK);
			int c = dns_name_cmp(a, b);
			if (i < j)
				assert_true(c < 0);
			else if (i > j)
				assert_true(c > 0);
			else
				assert_int_equal(c, 0);
		}
	assert_int_equal(dns_name_from_text("WWW.Example.COM", a, &l), DNS_E_OK);
	assert_int_equal(dns_name_from_text("www.example.com.", b, &l), DNS_E_OK);
	assert_true(dns_name_eq(a, b));
	assert_true(dns_name_is_sub(a, b + 4));
	assert_false(dns_name_is_sub(b + 4, a));
}

static void
test_query_build(void **state)
{
	uint8_t q[512], n[DNS_NAME_MAX];
	uint16_t nl;
	size_t len;

	(void)state;
	assert_int_equal(dns_name_from_text("_25._tcp.mail.example.", n, &nl), DNS_E_OK);
	assert_int_equal(dns_query_build(q, sizeof(q), &len, 0xbeef, n, DNS_T_TLSA,
			     DNS_Q_DO | DNS_Q_CD), DNS_E_OK);
	assert_int_equal(dns_msg_parse(&msg, q, len), DNS_E_OK);
	assert_int_equal(msg.id, 0xbeef);
	assert_true(msg.flags & DNS_F_RD);
	assert_true(msg.flags & DNS_F_CD);
	assert_false(msg.flags & DNS_F_QR);
	assert_true(msg.has_opt);
	assert_true(msg.edns_do);
	assert_int_equal(msg.edns_size, 1232);
	assert_int_equal(msg.qtype, DNS_T_TLSA);
	assert_true(dns_name_eq(msg.qname, n));
	assert_int_equal(dns_query_build(q, sizeof(q), &len, 1, n, DNS_T_A, 0), DNS_E_OK);
	assert_int_equal(dns_msg_parse(&msg, q, len), DNS_E_OK);
	assert_false(msg.flags & DNS_F_CD);
	assert_false(msg.edns_do);
	assert_int_equal(dns_query_build(q, 20, &len, 1, n, DNS_T_A, 0), DNS_E_SPACE);
}

/* zone-file text -> wire -> presentation text */
static void
test_presentation(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "a.example. 300 IN A 192.0.2.1", "a.example.\t300\tIN\tA\t192.0.2.1" },
		{ "a.example. 300 IN AAAA 2001:db8::1", "a.example.\t300\tIN\tAAAA\t2001:db8::1" },
		{ "a.example. 300 IN MX 10 mx.example.", "a.example.\t300\tIN\tMX\t10 mx.example." },
		{ "a.example. 300 IN NS ns.example.", "a.example.\t300\tIN\tNS\tns.example." },
		{ "a.example. 300 IN CNAME b.example.", "a.example.\t300\tIN\tCNAME\tb.example." },
		{ "example. 300 IN DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118",
		    "example.\t300\tIN\tDS\t60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118" },
		{ "example. 300 IN DNSKEY 257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
		    "example.\t300\tIN\tDNSKEY\t257 3 15 l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=" },
		{ "_25._tcp.mx.example. 300 IN TLSA 3 1 1 0c72ac70b745ac19998811b131d662c9",
		    "_25._tcp.mx.example.\t300\tIN\tTLSA\t3 1 1 0C72AC70B745AC19998811B131D662C9" },
		{ "example. 300 IN RRSIG MX 15 2 3600 1440021600 1438207200 3613 example. AAECAw==",
		    "example.\t300\tIN\tRRSIG\tMX 15 2 3600 20150819220000 20150729220000 3613 example. AAECAw==" },
		{ "a.example. 300 IN NSEC b.example. A MX RRSIG NSEC TYPE1234",
		    "a.example.\t300\tIN\tNSEC\tb.example. A MX RRSIG NSEC TYPE1234" },
		{ "x.example. 300 IN NSEC3 1 1 12 aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG",
		    "x.example.\t300\tIN\tNSEC3\t1 1 12 AABBCCDD 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG" },
		{ "example. 300 IN NSEC3PARAM 1 0 0 -", "example.\t300\tIN\tNSEC3PARAM\t1 0 0 -" },
	};
	uint8_t owner[DNS_NAME_MAX], rd[1024];
	uint16_t ol, type, rdlen;
	char out[2048];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(dns_rr_from_text(v[i].in, owner, &ol, &type, rd, sizeof(rd), &rdlen),
		    DNS_E_OK);
		assert_int_equal(dns_rr_to_text(owner, type, 300, rd, rdlen, out, sizeof(out)), 0);
		assert_string_equal(out, v[i].out);
	}
	/* TXT, SOA and an unknown type, built as wire rdata */
	const uint8_t txt[] = { 5, 'h', 'e', '"', 'l', 'o', 3, 'a', '\\', 1 };
	assert_int_equal(dns_name_from_text("t.example.", owner, &ol), DNS_E_OK);
	assert_int_equal(dns_rr_to_text(owner, DNS_T_TXT, 1, txt, sizeof(txt), out, sizeof(out)), 0);
	assert_string_equal(out, "t.example.\t1\tIN\tTXT\t\"he\\\"lo\" \"a\\\\\\001\"");
	const uint8_t soa[] = { 2, 'n', 's', 0, 1, 'h', 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0,
		0, 0, 4, 0, 0, 0, 5 };
	assert_int_equal(dns_rr_to_text(owner, DNS_T_SOA, 1, soa, sizeof(soa), out, sizeof(out)), 0);
	assert_string_equal(out, "t.example.\t1\tIN\tSOA\tns. h. 1 2 3 4 5");
	assert_int_equal(dns_rr_to_text(owner, 4321, 1, soa, 3, out, sizeof(out)), 0);
	assert_string_equal(out, "t.example.\t1\tIN\tTYPE4321\t\\# 3 026E73");
	/* too small a buffer is an error, never a silent cut */
	assert_int_equal(dns_rr_to_text(owner, DNS_T_SOA, 1, soa, sizeof(soa), out, 20),
	    DNS_E_SPACE);
}

/* A and AAAA rdata are bare addresses: the address parser behind them also
 * reads "ADDR:PORT" and "[v6]:PORT" for listeners, which a zone line must
 * not take. Output is the RFC 5952 form. */
static void
test_address_rdata(void **state)
{
	static const char *const bad[] = {
		"a. 1 IN A 192.0.2.1:53", "a. 1 IN A [192.0.2.1]", "a. 1 IN A 192.0.2",
		"a. 1 IN A 256.0.2.1", "a. 1 IN A 2001:db8::1", "a. 1 IN A ::ffff:192.0.2.1",
		"a. 1 IN AAAA [2001:db8::1]", "a. 1 IN AAAA [2001:db8::1]:53",
		"a. 1 IN AAAA 192.0.2.1", "a. 1 IN AAAA 192.0.2.1:53", "a. 1 IN AAAA 1::2::3",
		"a. 1 IN AAAA 1:2:3:4:5:6:7:8:9", "a. 1 IN A 192.0.2.1 192.0.2.2",
	};
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "a. 1 IN A 0.0.0.0", "a.\t1\tIN\tA\t0.0.0.0" },
		{ "a. 1 IN AAAA 2001:DB8:0:0:0:0:0:1", "a.\t1\tIN\tAAAA\t2001:db8::1" },
		{ "a. 1 IN AAAA ::ffff:192.0.2.1", "a.\t1\tIN\tAAAA\t::ffff:192.0.2.1" },
		{ "a. 1 IN AAAA ::", "a.\t1\tIN\tAAAA\t::" },
	};
	uint8_t owner[DNS_NAME_MAX], rd[64];
	uint16_t ol, type, rdlen;
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dns_rr_from_text(bad[i], owner, &ol, &type, rd, sizeof(rd), &rdlen),
		    DNS_E_SYNTAX);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(dns_rr_from_text(good[i].in, owner, &ol, &type, rd, sizeof(rd),
				     &rdlen),
		    DNS_E_OK);
		assert_int_equal(rdlen, type == DNS_T_A ? 4 : 16);
		assert_int_equal(dns_rr_to_text(owner, type, 1, rd, rdlen, out, sizeof(out)), 0);
		assert_string_equal(out, good[i].out);
	}
}

static void
test_rdata_layouts(void **state)
{
	/* header + question + one answer whose rdata we vary */
	uint8_t m[128] = { 0, 0, 0x81, 0x80, 0, 0, 0, 1, 0, 0, 0, 0,
		0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5 };

	(void)state;
	assert_int_equal(dns_msg_parse(&msg, m, 28), DNS_E_RDATA); /* A of 5 octets */
	m[14] = DNS_T_TXT;
	m[23] = 5; /* TXT string longer than the rdata */
	assert_int_equal(dns_msg_parse(&msg, m, 28), DNS_E_RDATA);
	m[23] = 4;
	m[22] = 0;
	m[21] = 0; /* rdlength 0 TXT */
	assert_int_equal(dns_msg_parse(&msg, m, 23), DNS_E_RDATA);
	m[14] = DNS_T_NSEC; /* next name fine, bitmap window length 0 */
	m[22] = 4;
	m[23] = 0;
	m[24] = 0;
	m[25] = 0;
	m[26] = 0;
	assert_int_equal(dns_msg_parse(&msg, m, 27), DNS_E_RDATA);
	/* two OPT records */
	uint8_t o[] = { 0, 0, 0x81, 0x80, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 41, 4, 0, 0, 0, 0, 0, 0, 0 };
	assert_int_equal(dns_msg_parse(&msg, o, sizeof(o)), DNS_E_RDATA);
	assert_int_equal(dns_msg_parse(&msg, o, sizeof(o) - 11), DNS_E_SHORT);
}

/* ------------------------------------------------------------------ transport */

static size_t
make_answer(uint8_t *buf, uint16_t id, const char *name, uint16_t type, bool tc)
{
	uint8_t n[DNS_NAME_MAX];
	uint16_t nl;
	size_t len;

	assert_int_equal(dns_name_from_text(name, n, &nl), DNS_E_OK);
	assert_int_equal(dns_query_build(buf, 512, &len, id, n, type, 0), DNS_E_OK);
	buf[2] |= 0x80;
	if (tc)
		buf[2] |= 0x02;
	return len;
}

static void
test_xfer_udp_checks(void **state)
{
	struct dns_xfer x;
	struct dns_xfer_io io;
	struct hal_addr srv[2], other;
	uint8_t resp[4096], a[512], n[DNS_NAME_MAX];
	uint16_t nl;
	size_t al;

	(void)state;
	assert_int_equal(hal_addr_parse(&srv[0], "127.0.0.1:5300", 53), 0);
	assert_int_equal(hal_addr_parse(&srv[1], "127.0.0.2", 53), 0);
	assert_int_equal(hal_addr_parse(&other, "127.0.0.3:5300", 53), 0);
	assert_int_equal(dns_name_from_text("example.", n, &nl), DNS_E_OK);
	dns_xfer_start(&x, srv, 2, false, 0x4242, n, DNS_T_MX, resp, sizeof(resp));
	assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_UDP_SEND);
	assert_int_equal(io.server.port, 5300);
	assert_int_equal(dns_msg_parse(&msg, io.out, io.outlen), DNS_E_OK);
	assert_true(msg.flags & DNS_F_CD);
	assert_true(msg.edns_do);
	/* wrong source, wrong ID, wrong question, wrong type: all ignored */
	al = make_answer(a, 0x4242, "example.", DNS_T_MX, false);
	assert_false(dns_xfer_push(&x, a, al, &other));
	al = make_answer(a, 0x4243, "example.", DNS_T_MX, false);
	assert_false(dns_xfer_push(&x, a, al, &srv[0]));
	al = make_answer(a, 0x4242, "example.org.", DNS_T_MX, false);
	assert_false(dns_xfer_push(&x, a, al, &srv[0]));
	al = make_answer(a, 0x4242, "example.", DNS_T_A, false);
	assert_false(dns_xfer_push(&x, a, al, &srv[0]));
	assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_WAIT);
	/* a timeout moves to the second server */
	dns_xfer_timeout(&x);
	assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_UDP_SEND);
	assert_int_equal(io.server.port, 53);
	al = make_answer(a, 0x4242, "EXAMPLE.", DNS_T_MX, false); /* case-insensitive */
	assert_true(dns_xfer_push(&x, a, al, &srv[1]));
	assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_DONE);
	assert_int_equal(x.len, al);
	assert_memory_equal(resp, a, al);
}

static void
test_xfer_timeouts(void **state)
{
	struct dns_xfer x;
	struct dns_xfer_io io;
	struct hal_addr srv[2];
	uint8_t resp[512], n[DNS_NAME_MAX];
	uint16_t nl;
	int sends = 0;

	(void)state;
	hal_addr_parse(&srv[0], "127.0.0.1", 53);
	hal_addr_parse(&srv[1], "127.0.0.2", 53);
	dns_name_from_text("example.", n, &nl);
	dns_xfer_start(&x, srv, 2, false, 1, n, DNS_T_A, resp, sizeof(resp));
	for (int i = 0; i < 20; i++) {
		enum dns_act a = dns_xfer_next(&x, &io);
		if (a == DNS_ACT_FAIL)
			break;
		if (a == DNS_ACT_UDP_SEND)
			sends++;
		dns_xfer_timeout(&x);
	}
	assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_FAIL);
	assert_int_equal(x.err, -ETIMEDOUT);
	assert_int_equal(sends, 2 * DNS_XFER_ROUNDS);
}

/* TC=1 switches to TCP; the TCP answer fed split at every offset gives the same. */
static void
test_xfer_tcp_split(void **state)
{
	struct dns_xfer x;
	struct dns_xfer_io io;
	struct hal_addr srv;
	uint8_t resp[4096], a[512], stream[514], n[DNS_NAME_MAX];
	uint16_t nl;
	size_t al;

	(void)state;
	hal_addr_parse(&srv, "127.0.0.1", 53);
	dns_name_from_text("big.example.", n, &nl);
	al = make_answer(a, 7, "big.example.", DNS_T_TXT, false);
	stream[0] = (uint8_t)(al >> 8);
	stream[1] = (uint8_t)al;
	memcpy(stream + 2, a, al);
	for (size_t cut = 0; cut <= al + 2; cut++) {
		dns_xfer_start(&x, &srv, 1, false, 7, n, DNS_T_TXT, resp, sizeof(resp));
		assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_UDP_SEND);
		uint8_t t[512];
		size_t tl = make_answer(t, 7, "big.example.", DNS_T_TXT, true);
		assert_false(dns_xfer_push(&x, t, tl, &srv));
		assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_TCP_SEND);
		assert_int_equal((size_t)(io.out[0] << 8 | io.out[1]), io.outlen - 2);
		bool done = dns_xfer_push(&x, stream, cut, NULL);
		done = dns_xfer_push(&x, stream + cut, al + 2 - cut, NULL) || done;
		assert_true(done);
		assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_DONE);
		assert_int_equal(x.len, al);
		assert_memory_equal(resp, a, al);
	}
	/* TC and then TCP failing everywhere: -EMSGSIZE (never a truncated answer) */
	dns_xfer_start(&x, &srv, 1, false, 7, n, DNS_T_TXT, resp, sizeof(resp));
	for (int i = 0; i < 10 && dns_xfer_next(&x, &io) != DNS_ACT_FAIL; i++) {
		if (x.state == X_UDP_WAIT) {
			uint8_t t[512];
			size_t tl = make_answer(t, 7, "big.example.", DNS_T_TXT, true);
			dns_xfer_push(&x, t, tl, &srv);
		} else {
			dns_xfer_timeout(&x);
		}
	}
	assert_int_equal(dns_xfer_next(&x, &io), DNS_ACT_FAIL);
	assert_int_equal(x.err, -EMSGSIZE);
}

/* ------------------------------------------------------------------ anchors */

static struct dns_ctx ctx;

static int
nofetch(void *arg, const uint8_t *q, uint16_t t, uint8_t *r, size_t cap, size_t *len)
{
	(void)arg; (void)q; (void)t; (void)r; (void)cap; (void)len;
	return -ETIMEDOUT;
}

/* TXT character-strings joined without spaces; cut to the buffer with the
 * whole length reported; a string running past the RDATA cut at its end. */
static void
test_txt_join(void **state)
{
	static const uint8_t two[] = { 3, 'v', '=', 'x', 2, ' ', 'y' };
	static const uint8_t over[] = { 9, 'a', 'b' };
	char out[5];
	size_t full = 0;

	(void)state;
	assert_int_equal(dns_txt_join(two, sizeof(two), out, sizeof(out), &full), 4);
	assert_string_equal(out, "v=x ");
	assert_int_equal(full, 5);
	assert_int_equal(dns_txt_join(over, sizeof(over), out, sizeof(out), &full), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(full, 2);
	assert_int_equal(dns_txt_join(two, 0, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "");
}

static void
test_anchors(void **state)
{
	int line = 0;

	(void)state;
	dns_ctx_init(&ctx, nofetch, NULL);
	assert_int_equal(ctx.nanchors, 2); /* the built-in KSK-2017 and KSK-2024 */
	assert_int_equal(ctx.anchors[0].type, DNS_T_DS);
	assert_int_equal(dns_ctx_set_anchors(&ctx,
			     "; comment\n$TTL 3600\n\n. IN DNSKEY 257 3 15 (\n"
			     "  l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4= ) ; key\n"
			     ". 10 IN DS 3613 15 2 3aa5ab37efce57f737fc1627013fee07bdf241bd10f3b1964ab55c78e79a304b\n",
			     &line), 0);
	assert_int_equal(ctx.nanchors, 2);
	assert_int_equal(ctx.anchors[0].type, DNS_T_DNSKEY);
	assert_int_equal(ctx.anchors[1].type, DNS_T_DS);
	/* not the root, not DS/DNSKEY, garbage: refused with the line number */
	assert_int_equal(dns_ctx_set_anchors(&ctx, "\n\nexample. IN DS 1 8 2 00\n", &line), -EINVAL);
	assert_int_equal(line, 3);
	assert_int_equal(dns_ctx_set_anchors(&ctx, ". IN A 192.0.2.1\n", &line), -EINVAL);
	assert_int_equal(dns_ctx_set_anchors(&ctx, ". IN DS 1 8 2 0g\n", &line), -EINVAL);
	assert_int_equal(dns_ctx_set_anchors(&ctx, "", &line), -EINVAL);
	assert_int_equal(ctx.nanchors, 2); /* unchanged after a refusal */
	/* an unreachable upstream is indeterminate, flagged as a network error */
	struct dns_result *res = calloc(1, sizeof(*res));
	assert_non_null(res);
	assert_int_equal(dns_lookup(&ctx, "www.example.", DNS_T_A, hal_clock_build_time + 10, res), 0);
	assert_int_equal(res->status, DNS_INDETERMINATE);
	assert_true(res->network_error);
	/* a clock before the build date is indeterminate without any query */
	assert_int_equal(dns_lookup(&ctx, "www.example.", DNS_T_A, 1000, res), 0);
	assert_int_equal(res->status, DNS_INDETERMINATE);
	assert_int_equal(res->queries, 0);
	free(res);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_compressed),
		cmocka_unit_test(test_parse_truncated_everywhere),
		cmocka_unit_test(test_pointers),
		cmocka_unit_test(test_name_limits),
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_query_build),
		cmocka_unit_test(test_presentation),
		cmocka_unit_test(test_address_rdata),
		cmocka_unit_test(test_rdata_layouts),
		cmocka_unit_test(test_xfer_udp_checks),
		cmocka_unit_test(test_xfer_timeouts),
		cmocka_unit_test(test_xfer_tcp_split),
		cmocka_unit_test(test_anchors),
		cmocka_unit_test(test_txt_join),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
