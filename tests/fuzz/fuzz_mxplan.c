/*
 * libFuzzer: the RFC 7672 route planner (firmware/relay/mxplan.c), the
 * smarthost's lookup step machine (firmware/relay/hostaddr.c; both on the
 * per-host rules of hostplan.c) and TLSA parsing (firmware/tls/dane.c) fed
 * arbitrary validated-DNS results. The first byte picks: bit 2 the smarthost
 * machine, else bit 0 the planner for one host, else for a domain; bit 1
 * require-tls. Then a sequence of answers, one per question asked:
 *   status (1 byte, mod 4), flags (1: bit0 NXDOMAIN, bit1 NODATA), nrr (1),
 *   then nrr records: type selector (1: 0 the question's type, 1 CNAME,
 *   2 MX, 3 A, 4 AAAA, 5 TLSA, else raw 16-bit type from the next 2 bytes),
 *   owner selector (1: even the question name, odd the previous CNAME
 *   target), rdlen (1), rdata.
 * Checks invariants of the plan: bounded counts, permanent/deferred
 * exclusive, ports set, DANE hosts have usable records.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "firmware/relay/hostaddr.h"
#include "firmware/relay/mxplan.h"
#include "zegel/board.h"

static struct mxplan P;
static struct dns_result R;

static void
add(const uint8_t *owner, uint16_t type, const uint8_t *rd, size_t n)
{
	size_t ol = dns_name_len(owner, DNS_NAME_MAX);
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

/* The answer to (name, qtype) from d[*o..n) into R. */
static void
answer(const uint8_t *d, size_t n, size_t *op, const char *name, uint16_t qtype)
{
	static const uint16_t types[] = { 0, DNS_T_CNAME, DNS_T_MX, DNS_T_A, DNS_T_AAAA,
		DNS_T_TLSA };
	uint8_t qn[DNS_NAME_MAX], prev[DNS_NAME_MAX];
	uint16_t ql;
	unsigned nrr;
	size_t o = *op;

	int rc = dns_name_from_text(name, qn, &ql);

	memset(&R, 0, offsetof(struct dns_result, data));
	/* the planners must ask for names that parse back; only "_PORT._tcp." in
	 * front of a long name may pass 255 octets (the resolver refuses it) */
	assert(rc == DNS_E_OK || (rc == DNS_E_NAME && name[0] == '_'));
	if (rc != DNS_E_OK) {
		R.status = DNS_INDETERMINATE;
		return;
	}
	memcpy(prev, qn, ql);
	if (o + 3 > n) {
		R.status = DNS_INDETERMINATE;
		return;
	}
	R.status = (enum dns_status)(d[o] % 4);
	R.rcode = d[o + 1] & 1 ? DNS_RCODE_NXDOMAIN : 0;
	R.nodata = (d[o + 1] & 2) != 0;
	nrr = d[o + 2];
	o += 3;
	for (unsigned i = 0; i < nrr && o + 3 <= n; i++) {
		uint16_t t;
		size_t rl;
		if (d[o] < 6) {
			t = types[d[o]] ? types[d[o]] : qtype;
			o++;
		} else {
			if (o + 5 > n)
				break;
			t = (uint16_t)(d[o + 1] << 8 | d[o + 2]);
			o += 3;
		}
		bool use_prev = d[o] & 1;
		rl = d[o + 1];
		o += 2;
		if (rl > n - o)
			rl = n - o;
		add(use_prev ? prev : qn, t, d + o, rl);
		if (t == DNS_T_CNAME && dns_name_len(d + o, rl) == rl && rl > 0)
			memcpy(prev, d + o, rl);
		o += rl;
	}
	*op = o;
}

/* The smarthost's name: hostaddr_begin/qname/feed. */
static void
smarthost(const uint8_t *d, size_t n, size_t o)
{
	static struct hostaddr_req q;
	struct hal_addr out[4];
	int rounds = 0;

	assert(hostaddr_begin(&q, "smtp.example.org", 587, out, 4, true) == 0);
	do {
		assert(++rounds < 10);
		answer(d, n, &o, hostaddr_qname(&q), q.type);
	} while (hostaddr_feed(&q, &R) == 1);
	assert(q.n == -1 || (q.n > 0 && q.n <= 4));
	assert(!q.tlsa_failed || q.n == -1);
	assert(q.ntlsa <= HOSTADDR_TLSA_MAX && q.ntlsa <= q.ntlsa_seen);
	for (int k = 0; k < q.n; k++)
		assert(out[k].port == 587 && (out[k].family == 4 || out[k].family == 6));
	for (unsigned k = 0; k < q.ntlsa; k++)
		assert(dane_tlsa_usable(&q.tlsa[k]));
	if (q.dane == HOSTADDR_DANE_USABLE)
		assert(q.ntlsa > 0 && q.tlsa_status == DNS_SECURE && !q.any_insecure);
	assert(memchr(q.err, '\0', sizeof(q.err)) != NULL);
	assert(memchr(q.tlsa_why, '\0', sizeof(q.tlsa_why)) != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static bool inited;
	char name[MXPLAN_NAME_MAX + 32];
	uint16_t qtype;
	size_t o = 0;
	int rounds = 0;

	if (!inited) {
		board_init();
		inited = true;
	}
	if (n < 1)
		return 0;
	if (d[0] & 4) {
		smarthost(d, n, 1);
		return 0;
	}
	if (d[0] & 1)
		mxplan_init_host(&P, "mx.example.org", 25, d[0] & 2);
	else
		mxplan_init(&P, "example.org", 25, d[0] & 2);
	o = 1;
	while (mxplan_next(&P, name, sizeof(name), &qtype) == MXPLAN_QUERY) {
		assert(++rounds < 100);
		answer(d, n, &o, name, qtype);
		mxplan_answer(&P, &R);
	}
	assert(!(P.permanent && P.deferred));
	assert(P.nhosts <= MXPLAN_MAX_HOSTS);
	for (unsigned i = 0; i < P.nhosts; i++) {
		const struct mxplan_host *h = &P.hosts[i];
		unsigned usable = 0;
		assert(h->naddr <= MXPLAN_MAX_ADDRS);
		assert(h->ntlsa <= MXPLAN_MAX_TLSA);
		for (unsigned k = 0; k < h->naddr; k++)
			assert(h->addrs[k].port == 25 && (h->addrs[k].family == 4 ||
			    h->addrs[k].family == 6));
		for (unsigned k = 0; k < h->ntlsa; k++) {
			char buf[200];
			usable += dane_tlsa_usable(&h->tlsa[k]);
			dane_tlsa_format(&h->tlsa[k], buf, sizeof(buf));
		}
		if (h->tls == MXPLAN_DANE)
			assert(usable > 0 && h->tlsa_status == DNS_SECURE);
		if (h->tls != MXPLAN_SKIP)
			assert(h->naddr > 0);
		assert(memchr(h->why, '\0', sizeof(h->why)) != NULL);
	}
	return 0;
}
