/*
 * firmware/dns/resolver.h — DNS for the daemon: zegel's validating stub
 * (firmware/dns/dns.h) driven by the main event loop (loop.h).
 *
 * Model. One validating context (struct dns_ctx, ~800 KB, allocated once, at
 * the first lookup, and kept for the life of the process: its zone-key and
 * answer caches survive across lookups) and one stepped lookup
 * (struct dns_step). Callers queue requests; the resolver runs them one
 * after another in FIFO order:
 *
 *   resolver_lookup(name, type, done, arg)  -> id, queued (RESOLVER_QUEUE_MAX)
 *     ... a 0 ms timer starts the head of the queue:
 *     dns_lookup_step() asks for a question -> dns_xfer (transport.h) sends it
 *       UDP: hal_net udp_open (kernel-chosen source port), sendto, loop_watch_fd
 *       TC=1: the same server over TCP with loop_connect
 *       timeouts: a loop timer per attempt (DNS_XFER_UDP/TCP_TIMEOUT_MS)
 *     the answer (or the failure) goes back with dns_step_answer/dns_step_fail,
 *     and the lookup is stepped again until it has a verdict
 *     done(arg, &res) from the event loop, then the next request starts
 *
 * Guarantees.
 *  - done() is called exactly once per request, LATER, from an event-loop
 *    callback: never from inside resolver_lookup() (an answer from the cache
 *    is still delivered through the 0 ms timer) and never from inside
 *    resolver_cancel(). done() may call resolver_lookup() and
 *    resolver_cancel() (for other ids).
 *  - resolver_cancel(id) before done(): done() is never called for it. Works
 *    for a queued request and for the one in flight (its socket and timer are
 *    dropped at once; a late answer is never read). Unknown or finished ids
 *    are ignored.
 *  - res (struct dns_result, dns.h) is valid only during done(): copy what
 *    you need. Its status is one of secure / insecure / bogus /
 *    indeterminate; a query that no server answered in time makes the lookup
 *    indeterminate (res->network_error set).
 *  - The validation clock is the HAL wall clock (hal_clock_now()) read when
 *    the lookup starts; query IDs come from hal_entropy.
 *
 * Configuration (resolver_configure, at start and after every commit):
 *  servers: cfg->resolvers, else the nameservers of /etc/resolv.conf, else
 *  127.0.0.1:53 (at most DNS_XFER_MAX_SERVERS, tried in turn).
 *  anchors: `set resolver-anchors PATH` (DS/DNSKEY records for "." in zone
 *  file syntax, as `zegel resolve --anchor` takes), else the built-in IANA
 *  root anchors. A file that cannot be read or parsed makes every lookup
 *  indeterminate (with the reason) until it is fixed: the resolver never
 *  silently falls back to other anchors. A changed configuration flushes the
 *  caches.
 *
 * Not thread-safe: call from the event-loop thread only (as everything).
 */
#ifndef ZEGEL_CORE_RESOLVER_H
#define ZEGEL_CORE_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/dns/dns.h"
#include "zegel/cfg.h"

#define RESOLVER_QUEUE_MAX 32

/* Once at start, after hal and loop_init(): 0, -ENOMEM. Idempotent. */
int resolver_init(void);
/* Servers and anchors from cfg (NULL: resolv.conf / built-in anchors). */
void resolver_configure(const struct zcfg *cfg);

typedef void (*resolver_done_fn)(void *arg, const struct dns_result *res);

/*
 * Queue a lookup of name (presentation form, "smtp.example.net") / type.
 * Returns a request id >= 0, or -EBUSY (queue full), -EINVAL (bad name or
 * done == NULL), -ENODEV (resolver_init not called), -ENOMEM (the context,
 * allocated at the first lookup, could not be).
 */
int resolver_lookup(const char *name, uint16_t type, resolver_done_fn done, void *arg);
void resolver_cancel(int id);

/* The nameservers of /etc/resolv.conf (at most max): for the CLI tools too. */
unsigned resolver_resolv_conf(struct hal_addr *out, unsigned max);
/* The servers resolver_configure(cfg) would use (cfg may be NULL); count. */
unsigned resolver_servers(const struct zcfg *cfg, struct hal_addr *out, unsigned max);
/* Anchors for ctx from a `set resolver-anchors` file (path "" or NULL: the
 * built-in ones); buf is scratch for the file text. 0, or -errno with err. */
int resolver_load_anchors(struct dns_ctx *ctx, const char *path, char *buf, size_t bufcap,
    char *err, size_t errcap);

/* For the command-line tools (zegel resolve --now/--tcp, dane-check --now):
 * validate at time now (Unix seconds) instead of the wall clock (-1: the
 * clock), and ask over TCP only. The daemon never sets them. */
void resolver_set_tool_options(int64_t now, bool tcp_only);
/* Allocate the context and load the configured anchors now: 0, or -1 with
 * why ("PATH: No such file or directory", "PATH:3: expected DS or DNSKEY
 * records for '.'"). Lookups would be indeterminate with that reason. */
int resolver_check_anchors(char *err, size_t errcap);

/* Counters for tests and `show` output. answers: attempts a server
 * answered; failed_in_row: attempts without an answer since the last one
 * answered (a server that does not answer); last_answer_ms: when
 * (hal_clock_mono_ms), 0 never. */
struct resolver_stats {
	unsigned lookups, udp_sent, tcp_sent, timeouts, queued;
	unsigned answers, failed_in_row;
	uint64_t last_answer_ms;
};
void resolver_get_stats(struct resolver_stats *s);

#endif
