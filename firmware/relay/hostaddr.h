/*
 * firmware/relay/hostaddr.h — the addresses of a relay host name (the
 * smarthost), through zegel's own validating resolver, never the C library.
 *
 * Rules (the same for the daemon and for `zegel relay-check`):
 *  - an IP literal ("192.0.2.1", "2001:db8::1") is used as is;
 *  - "localhost" (and names under it) are the loopback addresses 127.0.0.1
 *    and ::1 without asking DNS (RFC 6761 §6.3);
 *  - any other name: A and AAAA lookups, validated (dns.h). Secure and
 *    insecure answers are used; a bogus or indeterminate answer for either
 *    type fails the whole name ("DNS for NAME is bogus: REASON"), as does a
 *    name with no address at all. Addresses: IPv4 first, then IPv6, in the
 *    order the answers gave them, at most the caller's max.
 *
 * Daemon (event loop): hostaddr_start() queues the lookups on resolver.h and
 * calls done() once, later, from the loop (never inside hostaddr_start());
 * hostaddr_cancel() before that means no done(). The request struct is the
 * caller's and must stay put until done() or cancel.
 * CLI: hostaddr_resolve_blocking() does the same over the blocking transport.
 */
#ifndef ZEGEL_RELAY_HOSTADDR_H
#define ZEGEL_RELAY_HOSTADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/net.h"
#include "zegel/cfg.h"

struct hostaddr_req;
typedef void (*hostaddr_done_fn)(void *arg, struct hostaddr_req *q);

struct hostaddr_req {
	bool busy;              /* lookups queued or running */
	int id;                 /* resolver request id, -1 none */
	uint16_t type;          /* the type being looked up now */
	char host[ZCFG_NAME_MAX];
	uint16_t port;
	struct hal_addr *out;
	unsigned max;
	unsigned n4;            /* addresses from the A lookup */
	int n;                  /* out: number of addresses, or -1 (err says why) */
	char err[200];          /* out: why n is -1 */
	bool any_insecure;      /* out: some answer was insecure (not signed) */
	hostaddr_done_fn done;
	void *arg;
};

/*
 * Literal or localhost: the addresses now (> 0). A name that needs DNS: 0.
 * -1 for an empty or malformed host (err).
 */
int hostaddr_now(const char *host, uint16_t port, struct hal_addr *out, unsigned max, char *err,
    size_t errcap);

/*
 * On the event loop, for a name that needs DNS (hostaddr_now() said 0).
 * 0: done(arg, q) follows (q->n, q->err). -1: could not start (q->err: the
 * resolver's queue is full, or host is not such a name; no done()).
 */
int hostaddr_start(struct hostaddr_req *q, const char *host, uint16_t port, struct hal_addr *out,
    unsigned max, hostaddr_done_fn done, void *arg);
void hostaddr_cancel(struct hostaddr_req *q);

/*
 * Blocking, for the command-line tools: servers as resolver.h picks them
 * from cfg (NULL: /etc/resolv.conf, else 127.0.0.1), anchors from
 * cfg->resolver_anchors (else built-in); validation clock hal_clock_now().
 * Count > 0, or -1 with err.
 */
int hostaddr_resolve_blocking(const struct zcfg *cfg, const char *host, uint16_t port,
    struct hal_addr *out, unsigned max, char *err, size_t errcap);

#endif
