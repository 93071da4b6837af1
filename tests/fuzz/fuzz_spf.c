/*
 * libFuzzer: RFC 7208 SPF (firmware/mailauth/spf.c). The first byte picks:
 *   bit 0 clear: the rest is a record: spf_record_check(), then the whole
 *     input expanded as a macro-string (bit 1: as exp= text) for a fixed
 *     client and sender (bit 2: IPv6);
 *   bit 0 set: check_host() as a step machine (bit 2: IPv6 client) fed one
 *     arbitrary validated-DNS answer per question:
 *       status (1 byte, mod 4), flags (1: bit0 NXDOMAIN, bit1 NODATA),
 *       nrr (1), then nrr records: type selector (1: 0 the question's type,
 *       1 TXT, 2 A, 3 AAAA, 4 MX, 5 PTR, else CNAME), rdlen (1), rdata.
 *     Running out of input answers indeterminate.
 * Checks: the machine always ends, within the limits it promises (10
 * DNS-querying terms + 1, 2 void lookups + 1, bounded questions), with a
 * result in range and terminated texts.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "firmware/mailauth/spf.h"
#include "zegel/board.h"

static struct spf S;
static struct dns_result R;

static void
add(const uint8_t *owner, size_t ol, uint16_t type, const uint8_t *rd, size_t n)
{
	struct dns_result_rr *rr;

	if (R.nrr >= DNS_RESULT_MAX_RR || R.used + ol + n > sizeof(R.data))
		return;
	rr = &R.rr[R.nrr++];
	rr->owner_off = (uint16_t)R.used;
	memcpy(R.data + R.used, owner, ol);
	R.used += ol;
	rr->rd_off = (uint16_t)R.used;
	memcpy(R.data + R.used, rd, n);
	R.used += n;
	rr->rdlen = (uint16_t)n;
	rr->type = type;
}

static void
answer(const uint8_t *d, size_t n, size_t *op, const char *name, uint16_t qtype)
{
	static const uint16_t types[] = { 0, DNS_T_TXT, DNS_T_A, DNS_T_AAAA, DNS_T_MX, DNS_T_PTR };
	uint8_t qn[DNS_NAME_MAX];
	uint16_t ql;
	size_t o = *op;
	unsigned nrr;

	memset(&R, 0, offsetof(struct dns_result, data));
	/* the machine must only ask for names that parse */
	assert(dns_name_from_text(name, qn, &ql) == DNS_E_OK);
	if (o + 3 > n) {
		R.status = DNS_INDETERMINATE;
		*op = n;
		return;
	}
	R.status = (enum dns_status)(d[o] % 4);
	R.rcode = d[o + 1] & 1 ? DNS_RCODE_NXDOMAIN : 0;
	R.nodata = (d[o + 1] & 2) != 0;
	nrr = d[o + 2];
	o += 3;
	for (unsigned i = 0; i < nrr && o + 2 <= n; i++) {
		uint16_t t = d[o] < 6 ? (types[d[o]] ? types[d[o]] : qtype) : DNS_T_CNAME;
		size_t rl = d[o + 1];
		o += 2;
		if (rl > n - o)
			rl = n - o;
		add(qn, ql, t, d + o, rl);
		o += rl;
	}
	*op = o;
}

static void
texts_ok(void)
{
	assert(memchr(S.why, '\0', sizeof(S.why)) != NULL);
	assert(memchr(S.mechanism, '\0', sizeof(S.mechanism)) != NULL);
	assert(memchr(S.exp_spec, '\0', sizeof(S.exp_spec)) != NULL);
	assert(S.ntrail <= SPF_TRAIL_MAX);
	for (unsigned i = 0; i < S.ntrail; i++)
		assert(memchr(S.trail[i], '\0', SPF_TRAIL_LINE) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static bool inited;
	static char text[SPF_RECORD_MAX * 2], out[SPF_RECORD_MAX];
	char name[SPF_NAME_MAX + 80], why[300];
	uint16_t qtype;
	size_t o = 1;
	unsigned rounds = 0;
	const char *ip;

	if (!inited) {
		board_init();
		inited = true;
	}
	if (n < 1)
		return 0;
	ip = d[0] & 4 ? "2001:db8::cb01" : "192.0.2.3";
	if (!(d[0] & 1)) {
		size_t l = n - 1 < sizeof(text) - 1 ? n - 1 : sizeof(text) - 1;
		int r;
		memcpy(text, d + 1, l);
		text[l] = '\0';
		(void)spf_record_check(text, l, why, sizeof(why));
		assert(memchr(why, '\0', sizeof(why)) != NULL);
		assert(spf_init(&S, ip, "email.example.com", "strong-bad@email.example.com",
			   "mx.example.org") == 0);
		r = spf_expand(&S, "email.example.com", text, l, d[0] & 2, out, sizeof(out), why,
		    sizeof(why));
		assert(r < (int)sizeof(out));
		if (r >= 0)
			assert(strlen(out) == (size_t)r);
		return 0;
	}
	assert(spf_init(&S, ip, "example.org", "user@example.org", "mx.example.org") == 0);
	while (spf_next(&S, name, sizeof(name), &qtype) == SPF_QUERY) {
		/* 11 records + 10 terms * (1 + 10 names), with room */
		assert(++rounds < 200);
		answer(d, n, &o, name, qtype);
		spf_answer(&S, &R);
	}
	assert(S.done);
	assert(S.result <= SPF_PERMERROR);
	assert(S.lookups <= SPF_MAX_LOOKUPS + 1);
	assert(S.void_lookups <= SPF_MAX_VOID + 1);
	assert(S.lookups <= SPF_MAX_LOOKUPS || S.result == SPF_PERMERROR);
	assert(S.void_lookups <= SPF_MAX_VOID || S.result == SPF_PERMERROR);
	assert(S.dnssec <= DNS_INDETERMINATE);
	texts_ok();
	return 0;
}
