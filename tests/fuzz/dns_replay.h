/*
 * tests/fuzz/dns_replay.h — replay a recorded validation session (the
 * format of tests/vectors/dns/tree/NAME.bin, see tests/e2e/dns/record-tree.sh)
 * through dns_lookup with a fake fetch that answers each question with the
 * first recorded message carrying that question. Shared by
 * tests/unit/test_dns_resolve.c and tests/fuzz/fuzz_dns_validate.c.
 */
#ifndef TESTS_DNS_REPLAY_H
#define TESTS_DNS_REPLAY_H

#include <errno.h>
#include <string.h>

#include "firmware/dns/dns.h"
#include "firmware/dns/transport.h"

#define REPLAY_MAX 64

struct replay {
	int64_t now;
	uint8_t anchor[1024];
	uint16_t anchorlen;
	uint16_t qtype;
	uint8_t qname[DNS_NAME_MAX];
	uint8_t expect;
	unsigned n;
	const uint8_t *msg[REPLAY_MAX];
	uint16_t len[REPLAY_MAX];
	unsigned fetches;
};

/* Split a recording; false if malformed. The messages point into p. */
static inline bool
replay_load(struct replay *r, const uint8_t *p, size_t n)
{
	size_t o = 0;

	memset(r, 0, sizeof(*r));
	if (n < 8 + 2)
		return false;
	for (int i = 0; i < 8; i++)
		r->now = r->now << 8 | p[i];
	o = 8;
	r->anchorlen = (uint16_t)(p[o] << 8 | p[o + 1]);
	o += 2;
	if (r->anchorlen < 5 || r->anchorlen > sizeof(r->anchor) || o + r->anchorlen + 3 > n)
		return false;
	memcpy(r->anchor, p + o, r->anchorlen);
	o += r->anchorlen;
	r->qtype = (uint16_t)(p[o] << 8 | p[o + 1]);
	o += 2;
	uint8_t ql = p[o++];
	if (ql == 0 || o + ql + 1 > n || dns_name_len(p + o, ql) != ql)
		return false;
	memcpy(r->qname, p + o, ql);
	o += ql;
	r->expect = p[o++];
	while (o + 2 <= n && r->n < REPLAY_MAX) {
		uint16_t l = (uint16_t)(p[o] << 8 | p[o + 1]);
		o += 2;
		if (o + l > n)
			return false;
		r->msg[r->n] = p + o;
		r->len[r->n] = l;
		r->n++;
		o += l;
	}
	return true;
}

static inline int
replay_fetch(void *arg, const uint8_t *qname, uint16_t qtype, uint8_t *resp, size_t cap,
    size_t *len)
{
	struct replay *r = arg;

	r->fetches++;
	for (unsigned i = 0; i < r->n; i++) {
		const uint8_t *m = r->msg[i];
		if (r->len[i] < 12 ||
		    !dns_answer_matches(m, r->len[i], (uint16_t)(m[0] << 8 | m[1]), qname, qtype) ||
		    r->len[i] > cap)
			continue;
		memcpy(resp, m, r->len[i]);
		*len = r->len[i];
		return 0;
	}
	return -ETIMEDOUT;
}

/* Install the recording's anchor (one DS for the root) in ctx. */
static inline void
replay_anchor(struct dns_ctx *ctx, const struct replay *r)
{
	ctx->nanchors = 1;
	ctx->anchors[0].type = DNS_T_DS;
	ctx->anchors[0].len = r->anchorlen;
	memcpy(ctx->anchors[0].rd, r->anchor, r->anchorlen);
	dns_ctx_flush(ctx);
}

#endif
