/* The resolver on the real event loop (firmware/dns/resolver.h): lookups go
 * over real loopback UDP/TCP sockets to a fake recursive server that runs on
 * the same loop (127.0.0.1, a free port) and answers from the sessions recorded
 * from the signed e2e tree (tests/vectors/dns/tree, as test_dns_resolve.c).
 * The validation clock is a fake wall clock at the recording's time; the
 * trust anchor is given as a `set resolver-anchors` file. Checked: verdicts,
 * FIFO order, done() exactly once and never inside resolver_lookup(),
 * cancel before and while in flight, timeouts -> indeterminate, TC=1 -> TCP
 * over the loop, queue full -> -EBUSY, bad anchors file -> indeterminate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/relay/hostaddr.h"
#include "hal/clock.h"
#include "hal/net.h"
#include "tests/fuzz/dns_replay.h"
#include "zegel/config.h"

#define DIR_TREE "tests/vectors/dns/tree"
static uint16_t srv_port;  /* chosen by the backend: UDP and TCP on the same number */
static char anchor_file[64];
#define SRV_PORT srv_port
#define ANCHOR_FILE anchor_file

/* ------------------------------------------------------------ recordings */

static const char *const sessions[] = {
	"secure-a.bin", "secure-tlsa.bin", "bogus-badsig.bin", "insecure-nsec.bin",
	"nxdomain-nsec.bin", "p384.bin",
};
#define NSESS (sizeof(sessions) / sizeof(sessions[0]))
static struct replay rec[NSESS];
static uint8_t files[NSESS][65536];

static int64_t fake_now;
static int64_t
fake_wall(void)
{
	return fake_now;
}
static uint64_t
real_mono(void)
{
	return hal_clock_posix.mono_ms();
}
static const struct hal_clock_ops test_clock = { "test", fake_wall, real_mono, NULL, NULL };

static struct replay *
session(const char *name)
{
	for (unsigned i = 0; i < NSESS; i++)
		if (strcmp(sessions[i], name) == 0)
			return &rec[i];
	fail_msg("no session %s", name);
	return NULL;
}

static const char *
qname_text(const struct replay *r)
{
	static char buf[4][DNS_NAME_MAX * 4];
	static int k;
	char *b = buf[k++ & 3];

	assert_int_equal(dns_name_to_text(r->qname, b, sizeof(buf[0])), 0);
	return b;
}

/* ------------------------------------------------------------ fake server */

enum srv_mode { SRV_ANSWER, SRV_DROP, SRV_TC };
static struct {
	enum srv_mode mode;
	unsigned udp_queries, tcp_queries;
	int cancel_on_query;   /* resolver_cancel(this) when a query arrives, -1 none */
	int udp_fd, udp_h, listen_h;
	/* one TCP connection at a time */
	int conn_h;
	uint8_t in[2048];
	size_t inlen;
	uint8_t out[65537];
	size_t outlen, outsent;
} srv;

/* The recorded answer to the query in p (with the query's ID), or 0. */
static size_t
answer_for(const uint8_t *p, size_t n, uint8_t *out, size_t cap)
{
	uint8_t qn[DNS_NAME_MAX];
	uint16_t ql;
	size_t off = 12;

	if (n < 12 || dns_name_unpack(p, n, &off, qn, &ql, true) != DNS_E_OK || off + 4 > n)
		return 0;
	uint16_t qt = (uint16_t)(p[off] << 8 | p[off + 1]);
	for (unsigned s = 0; s < NSESS; s++)
		for (unsigned i = 0; i < rec[s].n; i++) {
			const uint8_t *m = rec[s].msg[i];
			size_t l = rec[s].len[i];
			if (l < 12 || l > cap ||
			    !dns_answer_matches(m, l, (uint16_t)(m[0] << 8 | m[1]), qn, qt))
				continue;
			memcpy(out, m, l);
			out[0] = p[0];
			out[1] = p[1];
			return l;
		}
	return 0;
}

static void
on_query(void)
{
	if (srv.cancel_on_query >= 0) {
		resolver_cancel(srv.cancel_on_query);
		srv.cancel_on_query = -1;
	}
}

static void
srv_udp(void *arg, int fd, unsigned rev)
{
	uint8_t in[2048], out[65535];
	struct hal_addr from;
	ssize_t n;

	(void)arg;
	(void)rev;
	while ((n = hal_net_recvfrom(fd, in, sizeof(in), &from)) > 0) {
		size_t l = 0;

		srv.udp_queries++;
		on_query();
		if (srv.mode == SRV_DROP)
			continue;
		if (srv.mode == SRV_TC) { /* header + question, TC=1 */
			if ((size_t)n < 12)
				continue;
			memcpy(out, in, (size_t)n);
			out[2] = (uint8_t)(out[2] | 0x80 | 0x02);
			out[7] = out[9] = out[11] = 0;
			out[6] = out[8] = out[10] = 0;
			l = (size_t)n - 11; /* drop the OPT record (11 octets) */
		} else {
			l = answer_for(in, (size_t)n, out, sizeof(out));
		}
		if (l)
			(void)hal_net_sendto(fd, out, l, &from);
	}
}

static size_t
c_rx_space(void *arg, uint8_t **p)
{
	(void)arg;
	*p = srv.in + srv.inlen;
	return sizeof(srv.in) - srv.inlen;
}

static void
c_rx_done(void *arg, size_t n)
{
	(void)arg;
	if (n == 0) {
		loop_close(srv.conn_h);
		srv.conn_h = -1;
		return;
	}
	srv.inlen += n;
	if (srv.inlen >= 2 && srv.inlen >= 2 + (size_t)(srv.in[0] << 8 | srv.in[1])) {
		size_t l;

		srv.tcp_queries++;
		on_query();
		if (srv.mode == SRV_DROP)
			return;
		l = answer_for(srv.in + 2, srv.inlen - 2, srv.out + 2, sizeof(srv.out) - 2);
		srv.out[0] = (uint8_t)(l >> 8);
		srv.out[1] = (uint8_t)l;
		srv.outlen = l ? l + 2 : 0;
		srv.outsent = 0;
		srv.inlen = 0;
	}
}

static size_t
c_tx_data(void *arg, const uint8_t **p)
{
	(void)arg;
	*p = srv.out + srv.outsent;
	return srv.outlen - srv.outsent;
}

static void
c_tx_done(void *arg, size_t n)
{
	(void)arg;
	srv.outsent += n;
}

static void
c_event(void *arg, enum loop_event ev, int err)
{
	(void)arg;
	(void)err;
	if (ev != LOOP_EV_CONNECTED && srv.conn_h >= 0) {
		loop_close(srv.conn_h);
		srv.conn_h = -1;
	}
}

static const struct loop_stream_ops conn_ops = { c_rx_space, c_rx_done, c_tx_data, c_tx_done,
	c_event };

static void
srv_accept(void *arg, int h, const struct hal_addr *peer)
{
	(void)arg;
	(void)peer;
	if (srv.conn_h >= 0)
		loop_close(srv.conn_h);
	srv.conn_h = h;
	srv.inlen = srv.outlen = srv.outsent = 0;
	loop_bind(h, &conn_ops, NULL);
}

static const struct loop_listener_ops listen_ops = { srv_accept, NULL };

/* The server's UDP socket on 127.0.0.1; sets srv_port. The resolver's
 * sockets are the board's network backend's: with lwIP they live on lwIP's
 * own loopback interface, which kernel sockets cannot reach, so the server's
 * is one of lwIP's too (bound to a random port when opened). The POSIX
 * backend's UDP sockets are unbound until they send: a kernel socket then. */
static int
srv_udp_open(void)
{
	struct hal_addr ha;
	int h;

#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	h = hal_net_udp_open(4);
	assert_true(h >= 0);
	if (hal_net_local_addr(h, &ha) != 0 || ha.port == 0)
		fail_msg("no local port for lwIP's UDP socket");
#else
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
	socklen_t al = sizeof(a);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(h >= 0);
	if (bind(h, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    getsockname(h, (struct sockaddr *)&a, &al) != 0)
		fail_msg("cannot bind a UDP socket on 127.0.0.1");
	fcntl(h, F_SETFL, fcntl(h, F_GETFL) | O_NONBLOCK);
	ha.port = ntohs(a.sin_port);
#endif
	srv_port = ha.port;
	return h;
}

static void
srv_start(enum srv_mode mode)
{
	struct hal_addr ha;

	memset(&srv, 0, sizeof(srv));
	srv.mode = mode;
	srv.cancel_on_query = -1;
	srv.conn_h = -1;
	srv.listen_h = -1;
	/* a UDP socket on a free port, then TCP on the same number */
	for (int tries = 0; tries < 50 && srv.listen_h < 0; tries++) {
		srv.udp_fd = srv_udp_open();
		assert_int_equal(hal_addr_parse(&ha, "127.0.0.1", srv_port), 0);
		srv.listen_h = loop_listen(&ha, &listen_ops, NULL);
		if (srv.listen_h < 0)
			hal_net_close(srv.udp_fd);
	}
	assert_true(srv.listen_h >= 0);
	srv.udp_h = loop_watch_fd(srv.udp_fd, srv_udp, NULL);
	assert_true(srv.udp_h >= 0);
}

static void
srv_stop(void)
{
	loop_close(srv.udp_h);
	hal_net_close(srv.udp_fd);
	loop_close(srv.listen_h);
	if (srv.conn_h >= 0)
		loop_close(srv.conn_h);
}

/* ------------------------------------------------------------ results */

#define MAXDONE 64
static struct {
	int tag;
	enum dns_status status;
	bool network_error;
	uint16_t nrr;
	char reason[128];
} got[MAXDONE];
static unsigned ngot, want;
static bool in_lookup;  /* inside resolver_lookup(): done() must not run */
static bool guard_hit;
static int guard_timer;

static void
done_cb(void *arg, const struct dns_result *res)
{
	int tag = (int)(intptr_t)arg;

	if (in_lookup)
		fail_msg("done() called from inside resolver_lookup (tag %d)", tag);
	for (unsigned i = 0; i < ngot; i++)
		if (got[i].tag == tag)
			fail_msg("done() called twice for tag %d", tag);
	assert_true(ngot < MAXDONE);
	got[ngot].tag = tag;
	got[ngot].status = res->status;
	got[ngot].network_error = res->network_error;
	got[ngot].nrr = res->nrr;
	snprintf(got[ngot].reason, sizeof(got[ngot].reason), "%s", res->reason);
	ngot++;
	if (ngot >= want)
		loop_stop();
}

static int
lookup(const char *name, uint16_t type, int tag)
{
	int id;

	in_lookup = true;
	id = resolver_lookup(name, type, done_cb, (void *)(intptr_t)tag);
	in_lookup = false;
	return id;
}

static int
lookup_rec(const char *sess, int tag)
{
	struct replay *r = session(sess);

	return lookup(qname_text(r), r->qtype, tag);
}

static void
on_guard(void *arg)
{
	(void)arg;
	guard_timer = -1;
	guard_hit = true;
	loop_stop();
}

/* Run the loop (once per test: loop_stop() is final until the next
 * loop_init()) until 'n' done() calls or ms passed; returns elapsed ms. */
static uint64_t
run_until(unsigned n, uint32_t ms)
{
	uint64_t t0 = real_mono();

	want = n;
	guard_hit = false;
	guard_timer = loop_timer_add(ms, on_guard, NULL);
	assert_true(guard_timer >= 0);
	assert_int_equal(loop_run(), 0);
	if (guard_timer >= 0)
		loop_timer_cancel(guard_timer);
	guard_timer = -1;
	return real_mono() - t0;
}

static void
reset_results(void)
{
	memset(got, 0, sizeof(got));
	ngot = 0;
}

/* A `set resolver-anchors` file with the recording's root DS. */
static void
write_anchor_file(void)
{
	char line[2048];
	FILE *f;
	static const uint8_t root[1] = { 0 };

	assert_int_equal(dns_rr_to_text(root, DNS_T_DS, 86400, rec[0].anchor, rec[0].anchorlen,
	    line, sizeof(line)), 0);
	f = fopen(ANCHOR_FILE, "w");
	assert_non_null(f);
	fprintf(f, "; test anchor\n%s\n", line);
	fclose(f);
}

static struct zcfg cfg;

static void
configure(const char *anchors)
{
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(hal_addr_parse(&cfg.resolvers[0], "127.0.0.1", SRV_PORT), 0);
	cfg.nresolvers = 1;
	snprintf(cfg.resolver_anchors, sizeof(cfg.resolver_anchors), "%s", anchors);
	resolver_configure(&cfg);
}

static int
setup(void **state)
{
	(void)state;
	for (unsigned i = 0; i < NSESS; i++) {
		char path[256];
		FILE *f;
		size_t n;

		snprintf(path, sizeof(path), "%s/%s", DIR_TREE, sessions[i]);
		f = fopen(path, "rb");
		if (f == NULL)
			fail_msg("cannot open %s (run from the repository root)", path);
		n = fread(files[i], 1, sizeof(files[i]), f);
		fclose(f);
		assert_true(replay_load(&rec[i], files[i], n));
		assert_int_equal(rec[i].anchorlen, rec[0].anchorlen);
		assert_memory_equal(rec[i].anchor, rec[0].anchor, rec[0].anchorlen);
	}
	fake_now = rec[0].now;
	hal_clock_set(&test_clock);
	snprintf(anchor_file, sizeof(anchor_file), "/tmp/zegel-test-resolver.%d.anchors",
	    (int)getpid());
	assert_int_equal(resolver_init(), 0);
	write_anchor_file();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	hal_clock_set(&hal_clock_posix);
	unlink(ANCHOR_FILE);
	return 0;
}

/* Each test: fresh anchors (flushes the caches) and a fresh server. */
static void
begin(enum srv_mode mode)
{
	loop_init();
	srv_start(mode);
	configure("");            /* built-in IANA anchors ... */
	configure(ANCHOR_FILE);   /* ... then the file: a change, so the caches are flushed */
	reset_results();
}

static void
end(void)
{
	srv_stop();
}

/* ------------------------------------------------------------ tests */

static void
test_verdicts_fifo(void **state)
{
	(void)state;
	begin(SRV_ANSWER);
	for (unsigned i = 0; i < NSESS; i++) {
		int id = lookup_rec(sessions[i], (int)i);
		assert_true(id >= 0);
		assert_int_equal(ngot, 0); /* never answered inside resolver_lookup */
	}
	(void)run_until(NSESS, 10000);
	assert_false(guard_hit);
	assert_int_equal(ngot, NSESS);
	for (unsigned i = 0; i < NSESS; i++) {
		assert_int_equal(got[i].tag, (int)i); /* FIFO */
		if ((int)got[i].status != rec[i].expect)
			fail_msg("%s: %s (%s), recorded %d", sessions[i],
			    dns_status_str(got[i].status), got[i].reason, rec[i].expect);
	}
	assert_true(got[0].nrr > 0);
	assert_true(srv.udp_queries > 0);
	end();
}

/* done() may queue the next lookup itself; an answer from the cache still
 * comes later, from the loop, never inside resolver_lookup(). */
static unsigned chain_q;

static void
chain_cb(void *arg, const struct dns_result *res)
{
	done_cb(arg, res);
	if ((intptr_t)arg == 1) {
		unsigned n = ngot;
		chain_q = srv.udp_queries;
		assert_true(lookup_rec("secure-a.bin", 2) >= 0); /* cached now */
		assert_int_equal(ngot, n);
		assert_true(lookup_rec("secure-tlsa.bin", 3) >= 0);
		assert_int_equal(ngot, n);
	}
}

static void
test_lookup_from_done_and_cache(void **state)
{
	struct replay *r = session("secure-a.bin");

	(void)state;
	begin(SRV_ANSWER);
	in_lookup = true;
	assert_true(resolver_lookup(qname_text(r), r->qtype, chain_cb, (void *)1) >= 0);
	in_lookup = false;
	(void)run_until(3, 5000);
	assert_int_equal(ngot, 3);
	assert_int_equal(got[0].status, DNS_SECURE);
	assert_int_equal(got[1].tag, 2);
	assert_int_equal(got[1].status, DNS_SECURE);
	assert_true(got[1].nrr > 0);
	assert_int_equal(got[2].tag, 3);
	assert_int_equal(got[2].status, DNS_SECURE);
	/* the second secure-a came from the answer cache: the tlsa lookup asked less
	   than a cold one would, and nothing was asked between done(1) and done(2) */
	assert_true(srv.udp_queries > chain_q);
	end();
}

static void
test_cancel_queued(void **state)
{
	int a, b, c, d;

	(void)state;
	begin(SRV_ANSWER);
	a = lookup_rec("secure-tlsa.bin", 1);
	b = lookup_rec("secure-a.bin", 2);
	c = lookup_rec("p384.bin", 3);
	d = lookup_rec("insecure-nsec.bin", 4);
	assert_true(a >= 0 && b >= 0 && c >= 0 && d >= 0 && a != b && b != c && c != d);
	resolver_cancel(a); /* the head, before it started */
	resolver_cancel(c);
	resolver_cancel(c); /* twice: harmless */
	resolver_cancel(12345678); /* unknown: ignored */
	(void)run_until(100, 3000);
	assert_true(guard_hit); /* ran on after the two answers: nothing else came */
	assert_int_equal(ngot, 2);
	assert_int_equal(got[0].tag, 2);
	assert_int_equal(got[0].status, DNS_SECURE);
	assert_int_equal(got[1].tag, 4);
	assert_int_equal(got[1].status, DNS_INSECURE);
	end();
}

static unsigned phase_udp, phase_ngot;

static void
answer_from_now(void *arg)
{
	(void)arg;
	phase_udp = srv.udp_queries;
	phase_ngot = ngot;
	srv.mode = SRV_ANSWER;
}

static void
test_cancel_in_flight(void **state)
{
	struct resolver_stats st0, st1;
	int a;

	(void)state;
	begin(SRV_DROP);
	resolver_get_stats(&st0);
	a = lookup_rec("secure-tlsa.bin", 1);
	assert_true(lookup_rec("secure-a.bin", 2) >= 0);
	srv.cancel_on_query = a; /* cancelled the moment its first query arrives */
	assert_true(loop_timer_add(600, answer_from_now, NULL) >= 0);
	/* b's first query is dropped: it times out once (1.5 s), then gets answers.
	   a's attempt would have timed out at 1.5 s too: run on past it. */
	(void)run_until(100, DNS_XFER_UDP_TIMEOUT_MS + 1000);
	assert_int_equal(phase_ngot, 0);
	assert_int_equal(phase_udp, 2); /* a's query, then b's first one */
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].tag, 2);
	assert_int_equal(got[0].status, DNS_SECURE);
	resolver_get_stats(&st1);
	/* a's timer never fired: the only timeout is b's dropped query */
	assert_int_equal(st1.timeouts - st0.timeouts, 1);
	end();
}

static void
test_timeout_indeterminate(void **state)
{
	uint64_t ms;
	struct resolver_stats st0, st1;

	(void)state;
	begin(SRV_DROP);
	resolver_get_stats(&st0);
	assert_true(lookup_rec("secure-a.bin", 1) >= 0);
	ms = run_until(1, 10000);
	assert_int_equal(ngot, 1);
	assert_int_equal(got[0].status, DNS_INDETERMINATE);
	assert_true(got[0].network_error);
	assert_int_equal(got[0].nrr, 0);
	resolver_get_stats(&st1);
	/* one server, DNS_XFER_ROUNDS attempts of DNS_XFER_UDP_TIMEOUT_MS each */
	assert_int_equal(st1.udp_sent - st0.udp_sent, DNS_XFER_ROUNDS);
	assert_int_equal(srv.udp_queries, DNS_XFER_ROUNDS);
	assert_true(ms + 50 >= (uint64_t)DNS_XFER_ROUNDS * DNS_XFER_UDP_TIMEOUT_MS);
	assert_true(ms < (uint64_t)DNS_XFER_ROUNDS * DNS_XFER_UDP_TIMEOUT_MS + 1500);
	print_message("# timed out after %llu ms: %s\n", (unsigned long long)ms, got[0].reason);
	end();
}

static void
test_tc_tcp_fallback(void **state)
{
	struct resolver_stats st0, st1;

	(void)state;
	begin(SRV_TC);
	resolver_get_stats(&st0);
	assert_true(lookup_rec("secure-a.bin", 1) >= 0);
	assert_true(lookup_rec("bogus-badsig.bin", 2) >= 0);
	(void)run_until(2, 10000);
	assert_int_equal(ngot, 2);
	assert_int_equal(got[0].status, DNS_SECURE);
	assert_true(got[0].nrr > 0);
	assert_int_equal(got[1].status, DNS_BOGUS);
	resolver_get_stats(&st1);
	assert_true(srv.tcp_queries > 0);
	assert_int_equal(srv.tcp_queries, srv.udp_queries); /* every query retried over TCP */
	assert_int_equal(st1.tcp_sent - st0.tcp_sent, srv.tcp_queries);
	end();
}

static void
test_queue_full_and_bad_name(void **state)
{
	int ids[RESOLVER_QUEUE_MAX];

	(void)state;
	begin(SRV_ANSWER);
	for (int i = 0; i < RESOLVER_QUEUE_MAX; i++) {
		ids[i] = lookup_rec("secure-a.bin", 100 + i);
		assert_true(ids[i] >= 0);
	}
	assert_int_equal(lookup_rec("secure-a.bin", 999), -EBUSY);
	assert_int_equal(lookup("bad..name", DNS_T_A, 998), -EINVAL);
	assert_int_equal(resolver_lookup("example.tld", DNS_T_A, NULL, NULL), -EINVAL);
	/* a cancelled entry frees its place */
	resolver_cancel(ids[5]);
	assert_true(lookup_rec("secure-a.bin", 200) >= 0);
	(void)run_until(RESOLVER_QUEUE_MAX, 10000);
	assert_int_equal(ngot, RESOLVER_QUEUE_MAX);
	for (unsigned i = 0; i < ngot; i++) {
		assert_int_equal(got[i].status, DNS_SECURE);
		assert_int_not_equal(got[i].tag, 105);
	}
	assert_int_equal(got[ngot - 1].tag, 200);
	end();
}

static void
anchors_cb(void *arg, const struct dns_result *res)
{
	done_cb(arg, res);
	if ((intptr_t)arg == 1) {
		/* the built-in IANA anchors do not vouch for the test tree */
		configure("");
		assert_true(lookup_rec("secure-a.bin", 2) >= 0);
	}
}

static void
test_bad_anchor_file(void **state)
{
	struct replay *r = session("secure-a.bin");

	(void)state;
	begin(SRV_ANSWER);
	configure("build/host/tests/no-such-anchors-file");
	assert_true(resolver_lookup(qname_text(r), r->qtype, anchors_cb, (void *)1) >= 0);
	(void)run_until(2, 5000);
	assert_int_equal(ngot, 2);
	assert_int_equal(got[0].status, DNS_INDETERMINATE);
	assert_non_null(strstr(got[0].reason, "resolver-anchors"));
	assert_int_equal(got[1].status, DNS_BOGUS);
	print_message("# with the IANA anchors: %s\n", got[1].reason);
	end();
}

/* firmware/relay/hostaddr.c: the smarthost rules on top of the resolver. */
static struct hostaddr_req hq;
static struct hal_addr haddrs[4];
static int hq_calls;

static void
hq_done(void *arg, struct hostaddr_req *q)
{
	(void)arg;
	assert_ptr_equal(q, &hq);
	hq_calls++;
	loop_stop();
}

static void
test_hostaddr(void **state)
{
	char err[200], ip[HAL_ADDR_STRLEN];

	(void)state;
	/* no DNS for literals and localhost (RFC 6761 6.3) */
	assert_int_equal(hostaddr_now("192.0.2.9", 25, haddrs, 4, err, sizeof(err)), 1);
	assert_int_equal(haddrs[0].port, 25);
	assert_int_equal(hostaddr_now("2001:db8::9", 25, haddrs, 4, err, sizeof(err)), 1);
	assert_int_equal(haddrs[0].family, 6);
	assert_int_equal(hostaddr_now("LocalHost.", 587, haddrs, 4, err, sizeof(err)), 2);
	hal_addr_format(&haddrs[0], true, ip, sizeof(ip));
	assert_string_equal(ip, "127.0.0.1:587");
	hal_addr_format(&haddrs[1], true, ip, sizeof(ip));
	assert_string_equal(ip, "[::1]:587");
	assert_int_equal(hostaddr_now("smtp.localhost", 587, haddrs, 1, err, sizeof(err)), 1);
	assert_int_equal(hostaddr_now("notlocalhost", 587, haddrs, 4, err, sizeof(err)), 0);
	assert_int_equal(hostaddr_now("www.example.tld", 587, haddrs, 4, err, sizeof(err)), 0);
	assert_int_equal(hostaddr_now("", 587, haddrs, 4, err, sizeof(err)), -1);
	assert_int_equal(hostaddr_start(&hq, "127.0.0.1", 25, haddrs, 4, hq_done, NULL), -1);

	/* a bogus name: the reason, and no address */
	begin(SRV_ANSWER);
	hq_calls = 0;
	assert_int_equal(hostaddr_start(&hq, "www.badsig.tld", 587, haddrs, 4, hq_done, NULL), 0);
	assert_int_equal(hq_calls, 0);
	(void)run_until(1000, 5000);
	assert_false(guard_hit);
	assert_int_equal(hq_calls, 1);
	assert_int_equal(hq.n, -1);
	print_message("# %s\n", hq.err);
	assert_non_null(strstr(hq.err, "DNS for www.badsig.tld is bogus: "));
	end();

	/* cancelled while its lookup is in flight: no callback */
	begin(SRV_DROP);
	hq_calls = 0;
	assert_int_equal(hostaddr_start(&hq, "www.example.tld", 587, haddrs, 4, hq_done, NULL), 0);
	(void)run_until(1000, 200);
	assert_true(srv.udp_queries >= 1);
	hostaddr_cancel(&hq);
	end();
	begin(SRV_DROP);
	(void)run_until(1000, 100);
	assert_int_equal(hq_calls, 0);
	end();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts_fifo),
		cmocka_unit_test(test_lookup_from_done_and_cache),
		cmocka_unit_test(test_cancel_queued),
		cmocka_unit_test(test_cancel_in_flight),
		cmocka_unit_test(test_timeout_indeterminate),
		cmocka_unit_test(test_tc_tcp_fallback),
		cmocka_unit_test(test_queue_full_and_bad_name),
		cmocka_unit_test(test_bad_anchor_file),
		cmocka_unit_test(test_hostaddr),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
