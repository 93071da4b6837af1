/* DNSSEC primitives against the RFCs' own examples (tests/vectors/dns):
 * key tags, DS digests, RRSIG verification (RFC 5702, 6605, 8080), the
 * validity window in serial arithmetic, NSEC3 hashes (RFC 5155 App. A) and
 * the NSEC3 proofs of RFC 5155 Appendix B; NSEC proofs on a small zone. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/dns/denial.h"
#include "firmware/dns/dnssec.h"
#include "firmware/dns/wire.h"
#include "zegel/config.h"

/* ------------------------------------------------------------------ records from text */

struct trr {
	uint8_t owner[DNS_NAME_MAX];
	uint8_t rd[2048];
	struct dns_rr rr;
};

static void
trr_parse(struct trr *t, const char *text)
{
	uint16_t ol, type, rdlen;
	int rc = dns_rr_from_text(text, t->owner, &ol, &type, t->rd, sizeof(t->rd), &rdlen);

	if (rc != DNS_E_OK)
		fail_msg("cannot parse: %s", text);
	memset(&t->rr, 0, sizeof(t->rr));
	t->rr.owner = t->owner;
	t->rr.olen = ol;
	t->rr.type = type;
	t->rr.rclass = DNS_C_IN;
	t->rr.ttl = 3600;
	t->rr.rdata = t->rd;
	t->rr.rdlen = rdlen;
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[65536];
	size_t n;

	if (f == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ RRSIG KATs */

struct kat {
	char name[160];
	int tag;
	struct trr key, ds, rr, sig;
	bool has_ds;
};

static int
load_kats(struct kat *k, int max)
{
	char *text = slurp("tests/vectors/dns/rrsig.txt"), *save = NULL;
	int n = -1;

	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "case ", 5) == 0) {
			assert_true(++n < max);
			memset(&k[n], 0, sizeof(k[n]));
			snprintf(k[n].name, sizeof(k[n].name), "%s", line + 5);
		} else if (strncmp(line, "tag ", 4) == 0) {
			k[n].tag = atoi(line + 4);
		} else if (strncmp(line, "key ", 4) == 0) {
			trr_parse(&k[n].key, line + 4);
		} else if (strncmp(line, "ds ", 3) == 0) {
			trr_parse(&k[n].ds, line + 3);
			k[n].has_ds = true;
		} else if (strncmp(line, "rr ", 3) == 0) {
			trr_parse(&k[n].rr, line + 3);
		} else if (strncmp(line, "sig ", 4) == 0) {
			trr_parse(&k[n].sig, line + 4);
		}
	}
	return n + 1;
}

static struct kat kats[16];
static uint8_t scratch[65536];

static int
verify(struct kat *k, const struct dns_rr *rr, const uint8_t *sig, uint16_t siglen, int64_t now)
{
	struct dns_rrset set = { { rr }, 1 };

	return dns_rrsig_verify(&set, sig, siglen, k->key.rd, k->key.rr.rdlen, now, scratch,
	    sizeof(scratch));
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
test_rrsig_kats(void **state)
{
	int n = load_kats(kats, 16);

	(void)state;
	assert_int_equal(n, 7);
	for (int i = 0; i < n; i++) {
		struct kat *k = &kats[i];
		print_message("# %s\n", k->name);
		/* RFC 4034 Appendix B key tag, as the RFC states it */
		assert_int_equal(dns_keytag(k->key.rd, k->key.rr.rdlen), k->tag);
		if (k->has_ds) {
			assert_int_equal(dns_ds_match(k->key.owner, k->ds.rd, k->ds.rr.rdlen, k->key.rd,
					     k->key.rr.rdlen), 1);
			uint8_t bad[256];
			memcpy(bad, k->ds.rd, k->ds.rr.rdlen);
			bad[k->ds.rr.rdlen - 1] ^= 1;
			assert_int_equal(dns_ds_match(k->key.owner, bad, k->ds.rr.rdlen, k->key.rd,
					     k->key.rr.rdlen), 0);
		}
		if (k->sig.rr.rdlen == 0)
			continue;
		uint32_t exp = be32(k->sig.rd + 8), inc = be32(k->sig.rd + 12);
		/* inside the window, at both ends */
		assert_int_equal(verify(k, &k->rr.rr, k->sig.rd, k->sig.rr.rdlen, inc), DNS_SIG_OK);
		assert_int_equal(verify(k, &k->rr.rr, k->sig.rd, k->sig.rr.rdlen, exp), DNS_SIG_OK);
		/* outside it */
		assert_int_equal(verify(k, &k->rr.rr, k->sig.rd, k->sig.rr.rdlen, (int64_t)exp + 1),
		    DNS_SIG_EXPIRED);
		assert_int_equal(verify(k, &k->rr.rr, k->sig.rd, k->sig.rr.rdlen, (int64_t)inc - 1),
		    DNS_SIG_NOTYET);
		/* the owner in another case and another TTL still verify (RFC 4034 §6.2) */
		struct trr up = k->rr;
		up.rr.owner = up.owner;
		up.rr.rdata = up.rd;
		for (int j = 1; j < up.owner[0] + 1; j++)
			if (up.owner[j] >= 'a' && up.owner[j] <= 'z')
				up.owner[j] -= 32;
		up.rr.ttl = 5;
		assert_int_equal(verify(k, &up.rr, k->sig.rd, k->sig.rr.rdlen, inc), DNS_SIG_OK);
		/* a changed rdata octet or signature octet does not */
		struct trr ch = k->rr;
		ch.rr.owner = ch.owner;
		ch.rr.rdata = ch.rd;
		ch.rd[ch.rr.rdlen - 1] ^= 1;
		assert_int_equal(verify(k, &ch.rr, k->sig.rd, k->sig.rr.rdlen, inc), DNS_SIG_BAD);
		uint8_t sig[2048];
		memcpy(sig, k->sig.rd, k->sig.rr.rdlen);
		sig[k->sig.rr.rdlen - 5] ^= 0x10;
		assert_int_equal(verify(k, &k->rr.rr, sig, k->sig.rr.rdlen, inc), DNS_SIG_BAD);
		/* a signature for another type or key tag is not even tried */
		memcpy(sig, k->sig.rd, k->sig.rr.rdlen);
		sig[1] ^= 1;
		assert_int_equal(verify(k, &k->rr.rr, sig, k->sig.rr.rdlen, inc), DNS_SIG_MISMATCH);
		memcpy(sig, k->sig.rd, k->sig.rr.rdlen);
		sig[17] ^= 1;
		assert_int_equal(verify(k, &k->rr.rr, sig, k->sig.rr.rdlen, inc), DNS_SIG_MISMATCH);
		/* a label count above the owner's is malformed */
		memcpy(sig, k->sig.rd, k->sig.rr.rdlen);
		sig[3] = 9;
		assert_int_equal(verify(k, &k->rr.rr, sig, k->sig.rr.rdlen, inc), DNS_SIG_MALFORMED);
		/* an RRset with one more record does not verify */
		struct trr extra;
		trr_parse(&extra, k->rr.rr.type == DNS_T_A ? "www.example.net. 3600 IN A 192.0.2.200"
							     : "example.com. 3600 IN MX 20 mx2.example.com.");
		extra.rr.owner = k->rr.owner;
		struct dns_rrset two = { { &k->rr.rr, &extra.rr }, 2 };
		assert_int_equal(dns_rrsig_verify(&two, k->sig.rd, k->sig.rr.rdlen, k->key.rd,
				     k->key.rr.rdlen, inc, scratch, sizeof(scratch)), DNS_SIG_BAD);
		/* the same record twice is one record (RFC 4034 §6.3 duplicates) */
		struct dns_rrset dup = { { &k->rr.rr, &k->rr.rr }, 2 };
		assert_int_equal(dns_rrsig_verify(&dup, k->sig.rd, k->sig.rr.rdlen, k->key.rd,
				     k->key.rr.rdlen, inc, scratch, sizeof(scratch)), DNS_SIG_OK);
		/* a revoked or non-zone key is not used */
		struct trr key = k->key;
		key.rd[1] |= DNS_KEY_REVOKE;
		struct dns_rrset one = { { &k->rr.rr }, 1 };
		assert_int_not_equal(dns_rrsig_verify(&one, k->sig.rd, k->sig.rr.rdlen, key.rd,
					 key.rr.rdlen, inc, scratch, sizeof(scratch)), DNS_SIG_OK);
		/* a scratch buffer too small is reported, not overrun */
		assert_int_equal(dns_rrsig_verify(&one, k->sig.rd, k->sig.rr.rdlen, k->key.rd,
				     k->key.rr.rdlen, inc, scratch, 40), DNS_SIG_NOSPACE);
	}
}

/* RFC 1982 serial arithmetic: a window that wraps past 2^32 (year 2106). */
static void
test_serial_wrap(void **state)
{
	struct kat *k = &kats[2]; /* P-256: cheap, and any window works for the time check */
	uint8_t sig[2048];
	uint16_t n = k->sig.rr.rdlen;

	(void)state;
	memcpy(sig, k->sig.rd, n);
	/* expiration 0x00000100, inception 0xffffff00: valid at 2^32 + 5 */
	sig[8] = 0; sig[9] = 0; sig[10] = 1; sig[11] = 0;
	sig[12] = 0xff; sig[13] = 0xff; sig[14] = 0xff; sig[15] = 0;
	int r = verify(k, &k->rr.rr, sig, n, (int64_t)0x100000005LL);
	assert_true(r == DNS_SIG_BAD); /* inside the window: the crypto decides */
	assert_int_equal(verify(k, &k->rr.rr, sig, n, (int64_t)0x100000200LL), DNS_SIG_EXPIRED);
	assert_int_equal(verify(k, &k->rr.rr, sig, n, (int64_t)0xfffffe00LL), DNS_SIG_NOTYET);
}

static void
test_algorithms(void **state)
{
	static const uint8_t yes[] = { 5, 7, 8, 10, 13, 14, 15 };
	static const uint8_t no[] = { 0, 1, 3, 6, 12, 16, 17, 253, 254 };

	(void)state;
	for (size_t i = 0; i < sizeof(yes); i++)
		assert_true(dns_alg_supported(yes[i]));
	for (size_t i = 0; i < sizeof(no); i++)
		assert_false(dns_alg_supported(no[i]));
	assert_true(dns_digest_supported(1) && dns_digest_supported(2) && dns_digest_supported(4));
	assert_false(dns_digest_supported(3) || dns_digest_supported(5));
}

/* ------------------------------------------------------------------ NSEC3 */

#define MAXREC 64
static struct trr recs[MAXREC];
static char reckey[MAXREC][32];
static int nrec;

static void
test_nsec3_hashes(void **state)
{
	char *text = slurp("tests/vectors/dns/nsec3.txt"), *save = NULL;
	int n = 0;
	const uint8_t salt[] = { 0xaa, 0xbb, 0xcc, 0xdd };

	(void)state;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[256], want[64], got[64];
		uint8_t nm[DNS_NAME_MAX], h[20];
		uint16_t nl;
		if (sscanf(line, "hash %255s %63s", name, want) != 2)
			continue;
		assert_int_equal(dns_name_from_text(name, nm, &nl), DNS_E_OK);
		assert_int_equal(dns_nsec3_hash(nm, salt, 4, 12, h), 0);
		assert_int_equal(dns_b32hex_encode(h, 20, got, sizeof(got)), DNS_E_OK);
		assert_string_equal(got, want);
		n++;
	}
	assert_int_equal(n, 13);
}

static struct trr *
rec_find(const char *key)
{
	for (int i = 0; i < nrec; i++)
		if (strcmp(reckey[i], key) == 0)
			return &recs[i];
	fail_msg("no record %s", key);
	return NULL;
}

static void
test_nsec3_proofs(void **state)
{
	char *text = slurp("tests/vectors/dns/nsec3.txt"), *save = NULL;
	int nproofs = 0;

	(void)state;
	nrec = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "rec ", 4) == 0) {
			char *sp = strchr(line + 4, ' ');
			assert_non_null(sp);
			assert_true(nrec < MAXREC);
			snprintf(reckey[nrec], sizeof(reckey[nrec]), "%.*s", (int)(sp - line - 4),
			    line + 4);
			trr_parse(&recs[nrec], sp + 1);
			nrec++;
			continue;
		}
		if (strncmp(line, "proof ", 6) != 0)
			continue;
		char kind[16], qname[256], qtype[16], labels[8], expect[16], keys[512] = "";
		int k = sscanf(line, "proof %15s %255s %15s %7s %15s %511[^\n]", kind, qname, qtype,
		    labels, expect, keys);
		assert_true(k >= 5);
		struct dns_denial d;
		dns_denial_init(&d, 128, 150);
		char *ks = NULL;
		for (char *key = strtok_r(keys, " ", &ks); key; key = strtok_r(NULL, " ", &ks))
			(void)dns_denial_add(&d, &rec_find(key)->rr);
		uint8_t q[DNS_NAME_MAX];
		uint16_t ql;
		assert_int_equal(dns_name_from_text(qname, q, &ql), DNS_E_OK);
		enum dns_proof got;
		if (strcmp(kind, "nxdomain") == 0)
			got = dns_denial_nxdomain(&d, q);
		else if (strcmp(kind, "nodata") == 0)
			got = dns_denial_nodata(&d, q, dns_type_from_text(qtype));
		else if (strcmp(kind, "nods") == 0)
			got = dns_denial_no_ds(&d, q);
		else
			got = dns_denial_wildcard(&d, q, atoi(labels));
		enum dns_proof want = strcmp(expect, "proven") == 0 ? DNS_PROOF_PROVEN
		    : strcmp(expect, "insecure") == 0 ? DNS_PROOF_INSECURE : DNS_PROOF_NONE;
		if (got != want)
			fail_msg("%s: got %d, want %d", line, got, want);
		nproofs++;
	}
	assert_true(nproofs >= 30);
}

/* Iterations above the limit: insecure, and nothing hashed (RFC 9276). */
static void
test_nsec3_iterations_and_budget(void **state)
{
	struct dns_denial d;
	uint8_t q[DNS_NAME_MAX];
	uint16_t ql;

	(void)state;
	assert_int_equal(dns_name_from_text("a.c.x.w.example.", q, &ql), DNS_E_OK);
	dns_denial_init(&d, 128, 10); /* the zone uses 12 */
	dns_denial_add(&d, &rec_find("0p9m")->rr);
	dns_denial_add(&d, &rec_find("b4um")->rr);
	dns_denial_add(&d, &rec_find("35mt")->rr);
	assert_int_equal(dns_denial_nxdomain(&d, q), DNS_PROOF_INSECURE);
	assert_true(d.iter_over);
	assert_int_equal(d.hashes, 0);
	/* a hash budget of 2 cannot finish the closest-encloser proof */
	dns_denial_init(&d, 2, 150);
	dns_denial_add(&d, &rec_find("0p9m")->rr);
	dns_denial_add(&d, &rec_find("b4um")->rr);
	dns_denial_add(&d, &rec_find("35mt")->rr);
	assert_int_equal(dns_denial_nxdomain(&d, q), DNS_PROOF_ERROR);
	assert_true(d.budget_hit);
	assert_true(d.hashes <= 2);
}

/* ------------------------------------------------------------------ NSEC */

/* The NSEC chain of the example zone of RFC 4035 Appendix A (abridged):
 * example, a, ai, b, ns1, ns2, *.w, x.w, x.y.w, xx. */
static const char *nsec_chain[] = {
	"example. 3600 IN NSEC a.example. NS SOA MX RRSIG NSEC DNSKEY",
	"a.example. 3600 IN NSEC ai.example. NS DS RRSIG NSEC",
	"ai.example. 3600 IN NSEC b.example. A HINFO AAAA RRSIG NSEC",
	"b.example. 3600 IN NSEC ns1.example. NS RRSIG NSEC",
	"ns1.example. 3600 IN NSEC ns2.example. A RRSIG NSEC",
	"ns2.example. 3600 IN NSEC *.w.example. A RRSIG NSEC",
	"*.w.example. 3600 IN NSEC x.w.example. MX RRSIG NSEC",
	"x.w.example. 3600 IN NSEC x.y.w.example. MX RRSIG NSEC",
	"x.y.w.example. 3600 IN NSEC xx.example. MX RRSIG NSEC",
	"xx.example. 3600 IN NSEC example. A HINFO AAAA RRSIG NSEC",
};
#define NNSEC (sizeof(nsec_chain) / sizeof(nsec_chain[0]))

static enum dns_proof
nsec_proof(const char *kind, const char *qname, uint16_t type, const int *use, int nuse)
{
	static struct trr t[NNSEC];
	struct dns_denial d;
	uint8_t q[DNS_NAME_MAX];
	uint16_t ql;

	dns_denial_init(&d, 0, 0);
	for (int i = 0; i < nuse; i++) {
		trr_parse(&t[i], nsec_chain[use[i]]);
		assert_true(dns_denial_add(&d, &t[i].rr));
	}
	assert_int_equal(dns_name_from_text(qname, q, &ql), DNS_E_OK);
	if (strcmp(kind, "nxdomain") == 0)
		return dns_denial_nxdomain(&d, q);
	if (strcmp(kind, "nods") == 0)
		return dns_denial_no_ds(&d, q);
	if (strcmp(kind, "wildcard") == 0)
		return dns_denial_wildcard(&d, q, (int)type);
	return dns_denial_nodata(&d, q, type);
}

static void
test_nsec_proofs(void **state)
{
	(void)state;
	/* RFC 4035 B.2: ml.example does not exist (b..ns1 covers it; example..a covers *.example) */
	assert_int_equal(nsec_proof("nxdomain", "ml.example.", DNS_T_A, (int[]){ 3, 0 }, 2),
	    DNS_PROOF_PROVEN);
	assert_int_equal(nsec_proof("nxdomain", "ml.example.", DNS_T_A, (int[]){ 3 }, 1),
	    DNS_PROOF_NONE); /* the wildcard is not denied */
	assert_int_equal(nsec_proof("nxdomain", "ml.example.", DNS_T_A, (int[]){ 0 }, 1),
	    DNS_PROOF_NONE);
	/* B.3: ns1.example has no MX */
	assert_int_equal(nsec_proof("nodata", "ns1.example.", DNS_T_MX, (int[]){ 4 }, 1),
	    DNS_PROOF_PROVEN);
	assert_int_equal(nsec_proof("nodata", "ns1.example.", DNS_T_A, (int[]){ 4 }, 1),
	    DNS_PROOF_NONE);
	/* y.w.example is an empty non-terminal: x.w..x.y.w covers it */
	assert_int_equal(nsec_proof("nodata", "y.w.example.", DNS_T_A, (int[]){ 7 }, 1),
	    DNS_PROOF_PROVEN);
	assert_int_equal(nsec_proof("nxdomain", "y.w.example.", DNS_T_A, (int[]){ 7, 0 }, 2),
	    DNS_PROOF_NONE);
	/* B.6 wildcard expansion a.z.w.example: x.y.w..xx covers it in canonical order */
	assert_int_equal(nsec_proof("wildcard", "a.z.w.example.", 2, (int[]){ 8 }, 1),
	    DNS_PROOF_PROVEN);
	assert_int_equal(nsec_proof("wildcard", "a.z.w.example.", 2, (int[]){ 6 }, 1),
	    DNS_PROOF_NONE);
	/* B.7 wildcard no data: a.z.w.example AAAA (cover + the wildcard's own NSEC) */
	assert_int_equal(nsec_proof("nodata", "a.z.w.example.", DNS_T_AAAA, (int[]){ 8, 6 }, 2),
	    DNS_PROOF_PROVEN);
	assert_int_equal(nsec_proof("nodata", "a.z.w.example.", DNS_T_AAAA, (int[]){ 8 }, 1),
	    DNS_PROOF_NONE);
	assert_int_equal(nsec_proof("nodata", "a.z.w.example.", DNS_T_MX, (int[]){ 8, 6 }, 2),
	    DNS_PROOF_NONE);
	/* the delegation NSEC of a.example hides names below it */
	assert_int_equal(nsec_proof("nxdomain", "x.a.example.", DNS_T_A, (int[]){ 1, 0 }, 2),
	    DNS_PROOF_NONE);
	/* ... and only denies DS at a.example, not other types */
	assert_int_equal(nsec_proof("nodata", "a.example.", DNS_T_A, (int[]){ 1 }, 1),
	    DNS_PROOF_NONE);
	/* walk: b.example is an unsigned delegation, ns1 is no cut, a has a DS */
	assert_int_equal(nsec_proof("nods", "b.example.", 0, (int[]){ 3 }, 1), DNS_PROOF_INSECURE);
	assert_int_equal(nsec_proof("nods", "ns1.example.", 0, (int[]){ 4 }, 1), DNS_PROOF_PROVEN);
	assert_int_equal(nsec_proof("nods", "a.example.", 0, (int[]){ 1 }, 1), DNS_PROOF_NONE);
	assert_int_equal(nsec_proof("nods", "example.", 0, (int[]){ 0 }, 1), DNS_PROOF_NONE);
	/* the last NSEC wraps to the apex: covers names after xx.example */
	assert_int_equal(nsec_proof("nxdomain", "z.example.", DNS_T_A, (int[]){ 9, 0 }, 2),
	    DNS_PROOF_PROVEN);
	/* and nothing outside the zone */
	assert_int_equal(nsec_proof("nxdomain", "z.example.org.", DNS_T_A, (int[]){ 9, 0 }, 2),
	    DNS_PROOF_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rrsig_kats),
		cmocka_unit_test(test_serial_wrap),
		cmocka_unit_test(test_algorithms),
		cmocka_unit_test(test_nsec3_hashes),
		cmocka_unit_test(test_nsec3_proofs),
		cmocka_unit_test(test_nsec3_iterations_and_budget),
		cmocka_unit_test(test_nsec_proofs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
