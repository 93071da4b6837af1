/*
 * firmware/dns/transport.h — one DNS query to recursive resolvers, as a
 * non-blocking state machine (UDP with EDNS0, TCP fallback on TC=1).
 *
 * Model. The engine owns no socket and reads no clock. The driver (the
 * event loop's resolver, firmware/dns/resolver.c, for the daemon and the
 * command-line tools alike) asks dns_xfer_next() what to do, does it with
 * hal/net, and feeds back what happened:
 *
 *   dns_xfer_start(x, ...)                 query built, random ID from the caller
 *   loop:
 *     act = dns_xfer_next(x, &io)
 *       DNS_ACT_UDP_SEND   open a fresh UDP socket (random source port),
 *                          send io.out to io.server, wait io.timeout_ms
 *       DNS_ACT_TCP_SEND   connect to io.server, send io.out (length-prefixed)
 *       DNS_ACT_WAIT       keep waiting on the current socket (io.timeout_ms)
 *       DNS_ACT_DONE       answer in the caller's buffer, x->len octets
 *       DNS_ACT_FAIL       x->err: -ETIMEDOUT, -EMSGSIZE (TC and no TCP), -ECONNREFUSED
 *     dns_xfer_push(x, bytes, n, from)     a datagram, or TCP stream bytes (from NULL)
 *     dns_xfer_timeout(x)                  the wait ran out / the socket failed
 *
 * Answers are accepted only from the server asked, with the query's ID, QR
 * set and the same question (RFC 5452 §9.1); anything else is ignored.
 * Each server is tried in turn, DNS_XFER_ROUNDS rounds; a truncated UDP
 * answer switches to TCP on the same server.
 */
#ifndef FIRMWARE_DNS_TRANSPORT_H
#define FIRMWARE_DNS_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/wire.h"
#include "hal/net.h"

#define DNS_XFER_MAX_SERVERS 4
#define DNS_XFER_ROUNDS 2
#define DNS_XFER_UDP_TIMEOUT_MS 1500
#define DNS_XFER_TCP_TIMEOUT_MS 3000

enum dns_act { DNS_ACT_UDP_SEND, DNS_ACT_TCP_SEND, DNS_ACT_WAIT, DNS_ACT_DONE, DNS_ACT_FAIL };

struct dns_xfer_io {
	struct hal_addr server;
	const uint8_t *out;
	size_t outlen;
	int timeout_ms;
};

struct dns_xfer {
	enum { X_START, X_UDP_WAIT, X_TCP_START, X_TCP_WAIT, X_DONE, X_FAIL } state;
	struct hal_addr servers[DNS_XFER_MAX_SERVERS];
	unsigned nservers, cur, tries;
	bool tcp_only, truncated;
	uint16_t id, qtype;
	uint8_t qname[DNS_NAME_MAX];
	uint8_t q[2 + 12 + DNS_NAME_MAX + 4 + 11]; /* 2-octet TCP length prefix first */
	size_t qlen;
	uint8_t *resp;
	size_t cap, len, tcp_have;
	int err;
};

void dns_xfer_start(struct dns_xfer *x, const struct hal_addr *servers, unsigned n, bool tcp_only,
    uint16_t id, const uint8_t *qname, uint16_t qtype, uint8_t *resp, size_t cap);
enum dns_act dns_xfer_next(struct dns_xfer *x, struct dns_xfer_io *io);
/* Returns true when the input completed a valid answer. */
bool dns_xfer_push(struct dns_xfer *x, const uint8_t *p, size_t n, const struct hal_addr *from);
void dns_xfer_timeout(struct dns_xfer *x);
/* Does message p answer (id, qname, qtype)? Header and question only. */
bool dns_answer_matches(const uint8_t *p, size_t n, uint16_t id, const uint8_t *qname,
    uint16_t qtype);

#endif
