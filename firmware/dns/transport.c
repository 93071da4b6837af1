/*
 * Query transport: the state machine (no sockets, no clock); resolver.c
 * drives it on the event loop. See transport.h.
 */
#include <errno.h>
#include <string.h>

#include "firmware/dns/transport.h"

bool
dns_answer_matches(const uint8_t *p, size_t n, uint16_t id, const uint8_t *qname, uint16_t qtype)
{
	uint8_t nm[DNS_NAME_MAX];
	uint16_t nl;
	size_t off = 12;

	if (n < 12 || (uint16_t)(p[0] << 8 | p[1]) != id || !(p[2] & 0x80) ||
	    (p[2] & 0x78) != 0 || p[4] != 0 || p[5] != 1)
		return false;
	if (dns_name_unpack(p, n, &off, nm, &nl, true) != DNS_E_OK || off + 4 > n)
		return false;
	return dns_name_eq(nm, qname) && (uint16_t)(p[off] << 8 | p[off + 1]) == qtype &&
	    p[off + 2] == 0 && p[off + 3] == DNS_C_IN;
}

void
dns_xfer_start(struct dns_xfer *x, const struct hal_addr *servers, unsigned n, bool tcp_only,
    uint16_t id, const uint8_t *qname, uint16_t qtype, uint8_t *resp, size_t cap)
{
	size_t ql = 0;

	memset(x, 0, sizeof(*x));
	if (n > DNS_XFER_MAX_SERVERS)
		n = DNS_XFER_MAX_SERVERS;
	memcpy(x->servers, servers, n * sizeof(servers[0]));
	x->nservers = n;
	x->tcp_only = tcp_only;
	x->id = id;
	x->qtype = qtype;
	x->resp = resp;
	x->cap = cap;
	memcpy(x->qname, qname, dns_name_len(qname, DNS_NAME_MAX));
	if (n == 0 || dns_query_build(x->q + 2, sizeof(x->q) - 2, &ql, id, qname, qtype,
	    DNS_Q_DO | DNS_Q_CD) != DNS_E_OK) {
		x->state = X_FAIL;
		x->err = -EINVAL;
		return;
	}
	x->q[0] = (uint8_t)(ql >> 8);
	x->q[1] = (uint8_t)ql;
	x->qlen = ql;
	x->state = tcp_only ? X_TCP_START : X_START;
}

/* Move on to the next server (or round); fail when all are used up. */
static void
next_server(struct dns_xfer *x)
{
	x->tries++;
	if (x->tries >= x->nservers * DNS_XFER_ROUNDS) {
		x->state = X_FAIL;
		if (x->err == 0)
			x->err = x->truncated ? -EMSGSIZE : -ETIMEDOUT;
		return;
	}
	x->cur = x->tries % x->nservers;
	x->state = x->tcp_only ? X_TCP_START : X_START;
}

enum dns_act
dns_xfer_next(struct dns_xfer *x, struct dns_xfer_io *io)
{
	switch (x->state) {
	case X_START:
		io->server = x->servers[x->cur];
		io->out = x->q + 2;
		io->outlen = x->qlen;
		io->timeout_ms = DNS_XFER_UDP_TIMEOUT_MS;
		x->state = X_UDP_WAIT;
		return DNS_ACT_UDP_SEND;
	case X_TCP_START:
		io->server = x->servers[x->cur];
		io->out = x->q;
		io->outlen = x->qlen + 2;
		io->timeout_ms = DNS_XFER_TCP_TIMEOUT_MS;
		x->tcp_have = 0;
		x->state = X_TCP_WAIT;
		return DNS_ACT_TCP_SEND;
	case X_UDP_WAIT:
		io->timeout_ms = DNS_XFER_UDP_TIMEOUT_MS;
		return DNS_ACT_WAIT;
	case X_TCP_WAIT:
		io->timeout_ms = DNS_XFER_TCP_TIMEOUT_MS;
		return DNS_ACT_WAIT;
	case X_DONE:
		return DNS_ACT_DONE;
	case X_FAIL:
		break;
	}
	return DNS_ACT_FAIL;
}

static bool
same_addr(const struct hal_addr *a, const struct hal_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	    memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

bool
dns_xfer_push(struct dns_xfer *x, const uint8_t *p, size_t n, const struct hal_addr *from)
{
	if (x->state == X_UDP_WAIT) {
		if (from == NULL || !same_addr(from, &x->servers[x->cur]))
			return false;
		if (!dns_answer_matches(p, n, x->id, x->qname, x->qtype))
			return false; /* spoofed or stale: keep waiting */
		if (p[2] & 0x02) { /* TC: retry over TCP with the same server */
			x->truncated = true;
			x->state = X_TCP_START;
			return false;
		}
		if (n > x->cap)
			return false;
		memcpy(x->resp, p, n);
		x->len = n;
		x->state = X_DONE;
		return true;
	}
	if (x->state != X_TCP_WAIT)
		return false;
	/* TCP stream: 2-octet length, then the message (RFC 1035 §4.2.2) */
	for (size_t i = 0; i < n; i++) {
		if (x->tcp_have < 2) {
			x->len = x->tcp_have == 0 ? (size_t)p[i] << 8 : x->len | p[i];
			x->tcp_have++;
			if (x->tcp_have == 2 && (x->len < 12 || x->len > x->cap)) {
				dns_xfer_timeout(x);
				return false;
			}
			continue;
		}
		if (x->tcp_have - 2 < x->len)
			x->resp[x->tcp_have - 2] = p[i];
		x->tcp_have++;
	}
	if (x->tcp_have >= 2 && x->tcp_have - 2 >= x->len) {
		if (!dns_answer_matches(x->resp, x->len, x->id, x->qname, x->qtype)) {
			dns_xfer_timeout(x);
			return false;
		}
		x->state = X_DONE;
		return true;
	}
	return false;
}

void
dns_xfer_timeout(struct dns_xfer *x)
{
	if (x->state == X_TCP_WAIT && x->truncated && !x->tcp_only) {
		/* TCP after TC=1 failed: the whole query fails as truncated */
		x->err = -EMSGSIZE;
	}
	if (x->state == X_UDP_WAIT || x->state == X_TCP_WAIT)
		next_server(x);
}
