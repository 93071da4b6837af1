/*
 * DANE (firmware/tls/dane.c): TLSA parsing and usability, name checks, and
 * the verification hook inside real mbedTLS handshakes, in memory (the test
 * moves ciphertext between zegel's TLS client and an mbedTLS server). The
 * certificates and the expected TLSA data come from
 * tests/vectors/dane/mkcerts.sh (openssl, see PROVENANCE): the digests are
 * computed by openssl, not by the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>


#include "firmware/tls/dane.h"
#include "common/tls_peer.h"
#include "zegel/board.h"

static char vecdir[512];

static const char *
vec(const char *name)
{
	static char buf[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", vecdir, name);
	return buf[i];
}

/* ------------------------------------------------------------ TLSA data */

static int
unhex(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The record for certificate name/selector/mtype from tlsa.txt, with usage. */
static struct dane_tlsa
rec(const char *name, int usage, int sel, int mtype)
{
	struct dane_tlsa t;
	char line[8192], n[64];
	int u, s, m;
	FILE *f = fopen(vec("tlsa.txt"), "r");

	memset(&t, 0, sizeof(t));
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char hex[8000];
		if (sscanf(line, "%63s %d %d %d %7999s", n, &u, &s, &m, hex) != 5)
			continue;
		if (strcmp(n, name) != 0 || s != sel || m != mtype)
			continue;
		t.usage = (uint8_t)usage;
		t.selector = (uint8_t)sel;
		t.mtype = (uint8_t)mtype;
		for (size_t i = 0; hex[2 * i] && hex[2 * i + 1]; i++) {
			assert_true(i < DANE_TLSA_DATA_MAX);
			t.data[i] = (uint8_t)(unhex(hex[2 * i]) << 4 | unhex(hex[2 * i + 1]));
			t.len = (uint16_t)(i + 1);
		}
		fclose(f);
		return t;
	}
	fclose(f);
	fail_msg("no TLSA data for %s %d %d", name, sel, mtype);
	return t;
}

static struct tls_client C;
static struct dane_verify V;
static struct dane_tlsa T[8];
static unsigned NT;

static void
recs(unsigned n, ...)
{
	va_list ap;

	va_start(ap, n);
	for (NT = 0; NT < n; NT++)
		T[NT] = va_arg(ap, struct dane_tlsa);
	va_end(ap);
}

/* Handshake with a server presenting chain/key, DANE hook over T[0..NT). */
static int
dane_connect(const char *chain, const char *key, const char *base, const char *nexthop)
{
	char err[200];
	const struct tls_client_conf *cc = dane_tls_conf(err, sizeof(err));

	assert_non_null(cc);
	tls_peer_start(vec(chain), vec(key));
	dane_verify_init(&V, T, NT, base, nexthop);
	assert_int_equal(tls_client_start(&C, cc, base), 0);
	tls_client_set_verify(&C, dane_verify_hook, &V);
	return tls_peer_shuttle(&C);
}

static void
done(void)
{
	tls_client_free(&C);
	tls_peer_free();
}

/* ------------------------------------------------------------ tests */

static void
test_tlsa_parse(void **st)
{
	struct dane_tlsa t;
	uint8_t rd[1100];
	char buf[200];

	(void)st;
	memset(rd, 0xab, sizeof(rd));
	rd[0] = 3, rd[1] = 1, rd[2] = 1;
	assert_int_equal(dane_tlsa_parse(rd, 35, &t), 0);
	assert_int_equal(t.usage, 3);
	assert_int_equal(t.len, 32);
	assert_true(dane_tlsa_usable(&t));
	dane_tlsa_format(&t, buf, sizeof(buf));
	assert_string_equal(buf, "3 1 1 abababababababababababababababababababababababababababababababab");
	/* cut to the buffer: says so */
	dane_tlsa_format(&t, buf, 20);
	assert_string_equal(buf, "3 1 1 ababababa...");
	/* wrong digest length for SHA2-256 */
	assert_int_equal(dane_tlsa_parse(rd, 34, &t), 0);
	assert_false(dane_tlsa_usable(&t));
	/* too short */
	assert_int_equal(dane_tlsa_parse(rd, 3, &t), -22);
	assert_int_equal(dane_tlsa_parse(NULL, 0, &t), -22);
	/* PKIX usages, unknown selector / matching type: unusable */
	for (int u = 0; u < 5; u++) {
		rd[0] = (uint8_t)u;
		assert_int_equal(dane_tlsa_parse(rd, 35, &t), 0);
		assert_int_equal(dane_tlsa_usable(&t), u == 2 || u == 3);
	}
	rd[0] = 3, rd[1] = 2;
	dane_tlsa_parse(rd, 35, &t);
	assert_false(dane_tlsa_usable(&t));
	rd[1] = 1, rd[2] = 3;
	dane_tlsa_parse(rd, 35, &t);
	assert_false(dane_tlsa_usable(&t));
	rd[2] = 2;
	dane_tlsa_parse(rd, 3 + 64, &t);
	assert_true(dane_tlsa_usable(&t));
	/* a full record larger than we keep: usable, oversize, never matches */
	rd[2] = 0;
	assert_int_equal(dane_tlsa_parse(rd, 3 + DANE_TLSA_DATA_MAX + 1, &t), 0);
	assert_true(t.oversize);
	assert_true(dane_tlsa_usable(&t));
	dane_tlsa_format(&t, buf, sizeof(buf));
	assert_non_null(strstr(buf, "more than"));
}

static void
test_names(void **st)
{
	mbedtls_x509_crt c;

	(void)st;
	mbedtls_x509_crt_init(&c);
	assert_int_equal(mbedtls_x509_crt_parse_file(&c, vec("wild.crt")), 0);
	assert_true(dane_cert_names(&c, "mx.example.net"));
	assert_true(dane_cert_names(&c, "MX.Example.NET."));
	assert_false(dane_cert_names(&c, "a.mx.example.net"));
	assert_false(dane_cert_names(&c, "example.net"));
	assert_false(dane_cert_names(&c, "mx.example.org"));
	mbedtls_x509_crt_free(&c);
	mbedtls_x509_crt_init(&c);
	assert_int_equal(mbedtls_x509_crt_parse_file(&c, vec("leaf.crt")), 0);
	assert_true(dane_cert_names(&c, "mx.example.net"));
	assert_false(dane_cert_names(&c, "mx2.example.net"));
	assert_false(dane_cert_names(&c, NULL));
	mbedtls_x509_crt_free(&c);
}

static void
test_match_cert(void **st)
{
	mbedtls_x509_crt c;
	struct dane_tlsa t;

	(void)st;
	mbedtls_x509_crt_init(&c);
	assert_int_equal(mbedtls_x509_crt_parse_file(&c, vec("leaf.crt")), 0);
	for (int s = 0; s < 2; s++)
		for (int m = 0; m < 3; m++) {
			t = rec("leaf", 3, s, m);
			assert_true(dane_match_cert(&t, &c));
			t = rec("mitm", 3, s, m);
			assert_false(dane_match_cert(&t, &c));
			t = rec("leaf", 3, s, m);
			t.data[t.len - 1] ^= 1;
			assert_false(dane_match_cert(&t, &c));
		}
	mbedtls_x509_crt_free(&c);
}

static void
test_ee(void **st)
{
	(void)st;
	/* 3 1 1 on the leaf */
	recs(1, rec("leaf", 3, 1, 1));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL), 0);
	assert_string_equal(C.verified_by, "dane");
	assert_int_equal(V.matched, 0);
	assert_int_equal(V.matched_depth, 0);
	done();
	/* every selector and matching type; a non-matching record first */
	for (int s = 0; s < 2; s++)
		for (int m = 0; m < 3; m++) {
			recs(2, rec("mitm", 3, s, m), rec("leaf", 3, s, m));
			assert_int_equal(dane_connect("leaf.crt", "leaf.key", "mx.example.net", NULL), 0);
			assert_string_equal(C.verified_by, "dane");
			assert_int_equal(V.matched, 1);
			done();
		}
	/* DANE-EE ignores the name (the SNI differs) and the chain (leaf alone) */
	recs(1, rec("leaf", 3, 1, 1));
	assert_int_equal(dane_connect("leaf.crt", "leaf.key", "other.example.com", "x.example"), 0);
	assert_string_equal(C.verified_by, "dane");
	done();
	/* ... and the expiry */
	recs(1, rec("expired", 3, 1, 1));
	assert_int_equal(dane_connect("expired-chain.crt", "expired.key", "mx.example.net", NULL), 0);
	assert_string_equal(C.verified_by, "dane");
	done();
	/* a self-signed man in the middle with the right name */
	recs(2, rec("leaf", 3, 1, 1), rec("leaf", 3, 0, 1));
	assert_int_equal(dane_connect("mitm.crt", "mitm.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	assert_int_equal(V.matched, -1);
	assert_non_null(strstr(V.why, "no usable TLSA record matches"));
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_UNTRUSTED);
	assert_null(C.verified_by);
	done();
	/* DANE-EE on an intermediate's key does not make it an anchor */
	recs(1, rec("inter", 3, 1, 1));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
}

static void
test_ta(void **st)
{
	(void)st;
	/* 2 0 1 on the intermediate the server sends */
	recs(1, rec("inter", 2, 0, 1));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL), 0);
	assert_string_equal(C.verified_by, "dane");
	assert_int_equal(V.matched_depth, 1);
	done();
	/* 2 1 1 on the root, full chain sent (the root's own NOT_TRUSTED is ignored) */
	recs(1, rec("root", 2, 1, 1));
	assert_int_equal(dane_connect("leaf-full.crt", "leaf.key", "mx.example.net", NULL), 0);
	assert_int_equal(V.matched_depth, 2);
	done();
	/* the intermediate as anchor while the root is also sent */
	recs(1, rec("inter", 2, 1, 2));
	assert_int_equal(dane_connect("leaf-full.crt", "leaf.key", "mx.example.net", NULL), 0);
	assert_int_equal(V.matched_depth, 1);
	done();
	/* the root's key published but not sent: not supported, no match */
	recs(1, rec("root", 2, 1, 1));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	/* ... unless the record holds the whole key (2 1 0): it verifies the
	 * intermediate's signature, the anchor is one level above the chain */
	recs(1, rec("root", 2, 1, 0));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL), 0);
	assert_int_equal(V.matched_depth, 2);
	assert_string_equal(C.verified_by, "dane");
	done();
	/* the leaf sent alone, signed by the published intermediate key */
	recs(1, rec("inter", 2, 1, 0));
	assert_int_equal(dane_connect("leaf.crt", "leaf.key", "mx.example.net", NULL), 0);
	assert_int_equal(V.matched_depth, 1);
	done();
	/* ... and still with the name and date checks */
	assert_int_equal(dane_connect("wrongname.crt", "wrongname.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	assert_int_equal(dane_connect("expired.crt", "expired.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	/* a key that signed nothing here; the forged intermediate under the root key */
	recs(1, rec("mitm", 2, 1, 0));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	recs(1, rec("root", 2, 1, 0));
	assert_int_equal(dane_connect("mitm.crt", "mitm.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	assert_int_equal(dane_connect("leaf-interforged.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	/* DANE-TA matching the leaf itself is not a trust anchor (depth 0) */
	recs(1, rec("leaf", 2, 1, 1));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	/* the leaf must name the TLSA base domain or the next-hop domain */
	recs(1, rec("inter", 2, 0, 1));
	assert_int_equal(dane_connect("wrongname-chain.crt", "wrongname.key", "mx.example.net",
	    "example.net"), TLS_CLIENT_FAIL);
	assert_non_null(strstr(V.why, "names neither mx.example.net nor example.net"));
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_NAME);
	done();
	assert_int_equal(dane_connect("nexthop-chain.crt", "nexthop.key", "mx.example.net",
	    "example.org"), 0);
	assert_string_equal(C.verified_by, "dane");
	done();
	assert_int_equal(dane_connect("nexthop-chain.crt", "nexthop.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	/* wildcard: one left-most label */
	assert_int_equal(dane_connect("wild-chain.crt", "wild.key", "mx.example.net", NULL), 0);
	done();
	assert_int_equal(dane_connect("wild-chain.crt", "wild.key", "a.mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	/* an expired leaf under a DANE-TA anchor fails */
	assert_int_equal(dane_connect("expired-chain.crt", "expired.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_EXPIRED);
	assert_non_null(strstr(V.why, "expired"));
	done();
	/* below a root anchor, an expired intermediate fails ... */
	recs(1, rec("root", 2, 1, 1));
	assert_int_equal(dane_connect("leaf-interexpired.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_EXPIRED);
	done();
	/* ... but as the anchor itself its dates do not matter (same key: 2 1 1) */
	recs(1, rec("inter", 2, 1, 1));
	assert_int_equal(dane_connect("leaf-interexpired.crt", "leaf.key", "mx.example.net", NULL),
	    0);
	assert_int_equal(V.matched_depth, 1);
	done();
	/* an intermediate whose signature by the anchor does not verify */
	recs(1, rec("root", 2, 1, 1));
	assert_int_equal(dane_connect("leaf-interforged.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	assert_non_null(strstr(V.why, "signature"));
	done();
	/* an anchor that is not in this chain */
	recs(1, rec("mitm", 2, 0, 1));
	assert_int_equal(dane_connect("leaf-full.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	/* the man in the middle presents the anchor too, but signed his own leaf */
	recs(1, rec("inter", 2, 0, 1));
	assert_int_equal(dane_connect("mitm-inter.crt", "mitm.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
}

static void
test_unusable_and_agility(void **st)
{
	(void)st;
	/* PKIX-EE(1) and PKIX-TA(0) records match but are unusable for SMTP */
	recs(2, rec("leaf", 1, 1, 1), rec("inter", 0, 0, 1));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	/* digest agility (RFC 7671 9): a 3 1 2 record makes 3 1 1 records inert */
	recs(2, rec("leaf", 3, 1, 1), rec("mitm", 3, 1, 2));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
	recs(2, rec("mitm", 3, 1, 1), rec("leaf", 3, 1, 2));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL), 0);
	done();
	/* ... but only within the same usage and selector */
	recs(2, rec("leaf", 3, 1, 1), rec("mitm", 3, 0, 2));
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL), 0);
	done();
	/* a wrong-length SHA-512 record is unusable and does not shadow 3 1 1 */
	{
		struct dane_tlsa bad = rec("mitm", 3, 1, 2);
		bad.len = 40;
		recs(2, bad, rec("leaf", 3, 1, 1));
	}
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL), 0);
	done();
	/* no records at all */
	NT = 0;
	assert_int_equal(dane_connect("leaf-chain.crt", "leaf.key", "mx.example.net", NULL),
	    TLS_CLIENT_FAIL);
	done();
}

static void
test_encrypt_only_and_no_hook(void **st)
{
	char err[200];
	const struct tls_client_conf *cc = dane_tls_conf(err, sizeof(err));

	(void)st;
	assert_non_null(cc);
	tls_peer_start(vec("mitm.crt"), vec("mitm.key"));
	assert_int_equal(tls_client_start(&C, cc, "mx.example.net"), 0);
	tls_client_set_verify(&C, dane_encrypt_only_hook, NULL);
	assert_int_equal(tls_peer_shuttle(&C), 0);
	assert_string_equal(C.verified_by, "none");
	assert_string_equal(tls_client_version(&C), "TLSv1.2");
	done();
	/* the CA-less config without a hook trusts nothing */
	tls_peer_start(vec("leaf-full.crt"), vec("leaf.key"));
	assert_int_equal(tls_client_start(&C, cc, "mx.example.net"), 0);
	assert_int_equal(tls_peer_shuttle(&C), TLS_CLIENT_FAIL);
	assert_int_equal(tls_client_fail_kind(&C), TLS_FAIL_UNTRUSTED);
	done();
}

static int
setup(void **st)
{
	const char *top = getenv("TOP");

	(void)st;
	snprintf(vecdir, sizeof(vecdir), "%s/tests/vectors/dane", top ? top : ".");
	board_init();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tlsa_parse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_match_cert),
		cmocka_unit_test(test_ee),
		cmocka_unit_test(test_ta),
		cmocka_unit_test(test_unusable_and_agility),
		cmocka_unit_test(test_encrypt_only_and_no_hook),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
