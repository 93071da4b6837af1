/*
 * DNS on the event loop: the stepped validating lookup (dns.h) fed by the
 * non-blocking transport state machine (transport.h) over the loop's
 * sockets and timers. See resolver.h for the model and the guarantees.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/core/loop.h"
#include "hal/pools.h"
#include "firmware/dns/resolver.h"
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)

#include "firmware/dns/transport.h"
#include "hal/clock.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "hal/net.h"
#include "hal/storage.h"

#define ANCHORS_FILE_MAX 16384 /* a few DS/DNSKEY records for "." */
#define TCP_RX_CHUNK 4096

struct req {
	int id;
	uint16_t type;
	uint8_t qname[DNS_NAME_MAX];
	resolver_done_fn done;
	void *arg;
};

/* Everything big lives in one block allocated by resolver_init. */
struct rstate {
	struct dns_ctx ctx;
	struct dns_step step;
	struct dns_result res;
	struct dns_xfer x;
	uint8_t resp[DNS_RESP_MAX];
	uint8_t udp_buf[DNS_RESP_MAX];
	uint8_t tcp_rx[TCP_RX_CHUNK];
	char anchors[ANCHORS_FILE_MAX];
};

static struct rstate *R;

/* FIFO of requests; q[0] is the one running when 'active' */
static struct req q[RESOLVER_QUEUE_MAX];
static unsigned nq;
static bool active;       /* q[0] is being looked up */
static bool xfer_active;  /* R->x holds the current query */
static int64_t lookup_now;
static int next_id;

/* transport I/O of the current attempt */
static int udp_fd = -1, udp_h = -1, tcp_h = -1, timer_id = -1, kick_id = -1;
static const uint8_t *tcp_out;
static size_t tcp_outlen, tcp_sent;
static bool tcp_connected;

/* configuration */
static struct hal_addr servers[DNS_XFER_MAX_SERVERS];
static unsigned nservers;
static char anchor_path[ZCFG_PATH_MAX];
static char anchor_err[128];   /* "PATH: why", or "" */
static bool configured;
/* the command-line tools' options (resolver_set_tool_options) */
static int64_t fixed_now = -1;
static bool tcp_only;
static bool tool_mode;      /* the tool says what went wrong itself: no log line */

static struct resolver_stats stats;

/* What this file takes from the loop (pools.h): udp_h or tcp_h, never both
 * (io_close() first); timer_id and kick_id. */
_Static_assert(POOL_RESOLVER_SLOTS >= 1 && POOL_RESOLVER_TIMERS >= 2,
    "the resolver's loop slots and timers (hal/include/hal/pools.h)");

static void pump(void);
static void load_anchors(const char *path);

/* ------------------------------------------------------------------ I/O */

static void
timer_stop(void)
{
	if (timer_id >= 0)
		loop_timer_cancel(timer_id);
	timer_id = -1;
}

/* Drop the sockets of the current attempt (a late answer is never read). */
static void
io_close(void)
{
	timer_stop();
	if (udp_h >= 0)
		loop_close(udp_h);
	if (udp_fd >= 0)
		hal_net_close(udp_fd);
	udp_h = udp_fd = -1;
	if (tcp_h >= 0)
		loop_close(tcp_h);
	tcp_h = -1;
	tcp_out = NULL;
	tcp_outlen = tcp_sent = 0;
	tcp_connected = false;
}

/* The attempt failed (timer ran out, socket error, connection closed). */
static void
attempt_failed(void)
{
	io_close();
	stats.timeouts++;
	stats.failed_in_row++;
	dns_xfer_timeout(&R->x);
	pump();
}

/* A server answered (`show status`: the resolver is reachable). */
static void
answered(void)
{
	stats.answers++;
	stats.failed_in_row = 0;
	stats.last_answer_ms = hal_clock_mono_ms();
}

static void
on_timeout(void *arg)
{
	(void)arg;
	timer_id = -1; /* fired: the id may be reused by anyone now */
	attempt_failed();
}

static void
on_udp(void *arg, int fd, unsigned revents)
{
	(void)arg;
	(void)revents;
	if (fd != udp_fd)
		return;
	for (int k = 0; k < 8; k++) {
		struct hal_addr from;
		ssize_t r = hal_net_recvfrom(fd, R->udp_buf, sizeof(R->udp_buf), &from);

		if (r == -EAGAIN || r == -EINTR)
			return;
		if (r < 0) {
			attempt_failed();
			return;
		}
		(void)dns_xfer_push(&R->x, R->udp_buf, (size_t)r, &from);
		if (R->x.state != X_UDP_WAIT) { /* answered, or TC=1 -> TCP */
			answered();
			io_close();
			pump();
			return;
		}
		/* not for us (spoofed, stale): keep waiting, the deadline stays */
	}
}

static size_t
tcp_rx_space(void *arg, uint8_t **p)
{
	(void)arg;
	if (!tcp_connected || tcp_sent < tcp_outlen)
		return 0;
	*p = R->tcp_rx;
	return sizeof(R->tcp_rx);
}

static void
tcp_rx_done(void *arg, size_t n)
{
	(void)arg;
	if (n == 0) { /* closed before a whole answer */
		attempt_failed();
		return;
	}
	(void)dns_xfer_push(&R->x, R->tcp_rx, n, NULL);
	if (R->x.state != X_TCP_WAIT) { /* answered, or a bad answer moved it on */
		answered();
		io_close();
		pump();
	}
}

static size_t
tcp_tx_data(void *arg, const uint8_t **p)
{
	(void)arg;
	if (!tcp_connected || tcp_out == NULL || tcp_sent >= tcp_outlen)
		return 0;
	*p = tcp_out + tcp_sent;
	return tcp_outlen - tcp_sent;
}

static void
tcp_tx_done(void *arg, size_t n)
{
	(void)arg;
	tcp_sent += n;
}

static void
tcp_event(void *arg, enum loop_event ev, int err)
{
	(void)arg;
	(void)err;
	if (ev == LOOP_EV_CONNECTED) {
		tcp_connected = true;
		return;
	}
	attempt_failed();
}

static const struct loop_stream_ops tcp_ops = {
	.rx_space = tcp_rx_space,
	.rx_done = tcp_rx_done,
	.tx_data = tcp_tx_data,
	.tx_done = tcp_tx_done,
	.event = tcp_event,
};

static int
arm_timer(int ms)
{
	timer_id = loop_timer_add((uint32_t)ms, on_timeout, NULL);
	return timer_id < 0 ? timer_id : 0;
}

static int
udp_send(const struct dns_xfer_io *io)
{
	io_close();
	udp_fd = hal_net_udp_open(io->server.family);
	if (udp_fd < 0) {
		udp_fd = -1;
		return -EIO;
	}
	if (hal_net_sendto(udp_fd, io->out, io->outlen, &io->server) != (ssize_t)io->outlen)
		goto fail;
	if ((udp_h = loop_watch_fd(udp_fd, on_udp, NULL)) < 0 || arm_timer(io->timeout_ms) != 0)
		goto fail;
	stats.udp_sent++;
	return 0;
fail:
	io_close();
	return -EIO;
}

static int
tcp_start(const struct dns_xfer_io *io)
{
	io_close();
	tcp_out = io->out;
	tcp_outlen = io->outlen;
	tcp_sent = 0;
	tcp_connected = false;
	if ((tcp_h = loop_connect(&io->server, &tcp_ops, NULL)) < 0) {
		tcp_h = -1;
		return -EIO;
	}
	if (arm_timer(io->timeout_ms) != 0) {
		io_close();
		return -EIO;
	}
	stats.tcp_sent++;
	return 0;
}

/* ------------------------------------------------------------------ lookups */

static void start_head(void *arg);

static void
schedule_kick(void)
{
	if (kick_id >= 0 || active || nq == 0)
		return;
	kick_id = loop_timer_add(0, start_head, NULL);
	if (kick_id < 0)
		hal_log(HAL_LOG_ERR, "resolver", "no free loop timer: lookups stall until the "
		    "next request");
}

/* Remove q[0] (the running or finished head). */
static struct req
pop_head(void)
{
	struct req r = q[0];

	memmove(&q[0], &q[1], (nq - 1) * sizeof(q[0]));
	nq--;
	active = false;
	xfer_active = false;
	return r;
}

/* The head has a verdict in R->res: tell its owner, start the next. */
static void
finish(void)
{
	struct req r;

	io_close();
	r = pop_head();
	schedule_kick();
	r.done(r.arg, &R->res); /* may queue or cancel others: state is consistent */
}

static void
fail_now(enum dns_status st, uint16_t ede, const char *reason)
{
	memset(&R->res, 0, offsetof(struct dns_result, rr));
	R->res.status = st;
	R->res.ede = ede;
	snprintf(R->res.reason, sizeof(R->res.reason), "%s", reason);
	finish();
}

/* Run the head lookup as far as it goes without waiting. */
static void
pump(void)
{
	struct dns_xfer_io io;

	if (!active)
		return;
	for (;;) {
		if (!xfer_active) {
			uint8_t idb[2];

			if (dns_lookup_step(&R->ctx, &R->step, q[0].qname, q[0].type, lookup_now,
			    &R->res) == DNS_STEP_DONE) {
				finish();
				return;
			}
			if (hal_entropy_fill(idb, 2) != 0) {
				fail_now(DNS_INDETERMINATE, DNS_EDE_OTHER,
				    "no entropy for a query ID");
				return;
			}
			dns_xfer_start(&R->x, servers, nservers, tcp_only,
			    (uint16_t)(idb[0] << 8 | idb[1]), R->step.qname, R->step.qtype, R->resp,
			    sizeof(R->resp));
			xfer_active = true;
		}
		switch (dns_xfer_next(&R->x, &io)) {
		case DNS_ACT_DONE:
			io_close();
			xfer_active = false;
			if (dns_step_answer(&R->step, R->resp, R->x.len) != 0)
				dns_step_fail(&R->step, -ENOSPC);
			continue;
		case DNS_ACT_FAIL:
			io_close();
			xfer_active = false;
			dns_step_fail(&R->step, R->x.err ? R->x.err : -ETIMEDOUT);
			continue;
		case DNS_ACT_UDP_SEND:
			if (udp_send(&io) == 0)
				return;
			dns_xfer_timeout(&R->x);
			continue;
		case DNS_ACT_TCP_SEND:
			if (tcp_start(&io) == 0)
				return;
			dns_xfer_timeout(&R->x);
			continue;
		case DNS_ACT_WAIT:
			if (timer_id < 0 && arm_timer(io.timeout_ms) != 0) {
				dns_xfer_timeout(&R->x);
				continue;
			}
			return;
		}
	}
}

static void
start_head(void *arg)
{
	(void)arg;
	kick_id = -1;
	if (active || nq == 0)
		return;
	active = true;
	xfer_active = false;
	stats.lookups++;
	if (anchor_err[0])
		load_anchors(anchor_path); /* the file may have appeared since */
	if (anchor_err[0]) {
		char why[sizeof(R->res.reason)];

		snprintf(why, sizeof(why), "resolver-anchors %.100s", anchor_err);
		fail_now(DNS_INDETERMINATE, DNS_EDE_OTHER, why);
		return;
	}
	lookup_now = fixed_now >= 0 ? fixed_now : hal_clock_now();
	dns_step_init(&R->step);
	pump();
}

/* ------------------------------------------------------------------ API */

static bool inited;

/* The ~1 MB context is allocated at the first lookup, not at start: a box
 * that relays to an outbox or a smarthost given as an address never needs
 * it, and dns_ctx_init() touches every page of it. */
static int
ensure_ctx(void)
{
	if (R != NULL)
		return 0;
	R = calloc(1, sizeof(*R));
	if (R == NULL)
		return -ENOMEM;
	dns_ctx_init(&R->ctx, NULL, NULL);
	load_anchors(anchor_path);
	return 0;
}

int
resolver_init(void)
{
	if (inited)
		return 0;
	nq = 0;
	active = xfer_active = false;
	udp_fd = udp_h = tcp_h = timer_id = kick_id = -1;
	if (!configured)
		resolver_configure(NULL);
	inited = true;
	return 0;
}

static void resolv_conf(struct hal_addr *out, unsigned *n, unsigned max);

unsigned
resolver_resolv_conf(struct hal_addr *out, unsigned max)
{
	unsigned n = 0;

	resolv_conf(out, &n, max);
	return n;
}

static void
resolv_conf(struct hal_addr *out, unsigned *n, unsigned max)
{
	static char buf[4096];
	size_t len = 0;
	char *line, *save = NULL;

	if (hal_storage_get("/etc/resolv.conf", buf, sizeof(buf) - 1, &len) != 0)
		return;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line && *n < max;
	    line = strtok_r(NULL, "\n", &save)) {
		char ip[128];

		/* hal_addr_parse takes no zone index: "fe80::1%eth0" is skipped */
		if (sscanf(line, " nameserver %127s", ip) == 1 &&
		    hal_addr_parse(&out[*n], ip, 53) == 0)
			(*n)++;
	}
}

unsigned
resolver_servers(const struct zcfg *cfg, struct hal_addr *out, unsigned max)
{
	unsigned n = 0;

	if (max == 0)
		return 0;
	memset(out, 0, max * sizeof(*out));
	if (cfg)
		for (unsigned i = 0; i < cfg->nresolvers && n < max; i++)
			out[n++] = cfg->resolvers[i];
	if (n == 0)
		resolv_conf(out, &n, max);
	if (n == 0) {
		(void)hal_addr_parse(&out[0], "127.0.0.1", 53);
		n = 1;
	}
	return n;
}

int
resolver_load_anchors(struct dns_ctx *ctx, const char *path, char *buf, size_t bufcap, char *err,
    size_t errcap)
{
	size_t len = 0;
	int rc, line = 0;

	if (path == NULL || path[0] == '\0')
		return dns_ctx_set_anchors(ctx, dns_root_anchors_text, &line);
	rc = hal_storage_get(path, buf, bufcap - 1, &len);
	if (rc != 0) {
		snprintf(err, errcap, "%.64s: %s", path, strerror(-rc));
		return rc;
	}
	buf[len] = '\0';
	if (dns_ctx_set_anchors(ctx, buf, &line) != 0) {
		snprintf(err, errcap, "%.64s:%d: expected DS or DNSKEY records for '.'", path,
		    line);
		return -EINVAL;
	}
	return 0;
}

static void
load_anchors(const char *path)
{
	anchor_err[0] = '\0';
	if (resolver_load_anchors(&R->ctx, path, R->anchors, sizeof(R->anchors), anchor_err,
	    sizeof(anchor_err)) != 0) {
		if (anchor_err[0] == '\0')
			snprintf(anchor_err, sizeof(anchor_err), "%.64s: cannot load", path);
		if (!tool_mode)
			hal_log(HAL_LOG_ERR, "resolver", "resolver-anchors %s (every lookup is "
			    "indeterminate until fixed)", anchor_err);
	}
}

void
resolver_configure(const struct zcfg *cfg)
{
	struct hal_addr s[DNS_XFER_MAX_SERVERS];
	unsigned n;
	const char *ap = cfg ? cfg->resolver_anchors : "";

	n = resolver_servers(cfg, s, DNS_XFER_MAX_SERVERS);
	if (configured && R != NULL && n == nservers && memcmp(s, servers, sizeof(s)) == 0 &&
	    strcmp(ap, anchor_path) == 0 && anchor_err[0] == '\0')
		return; /* nothing changed: keep the caches */
	memcpy(servers, s, sizeof(s));
	nservers = n;
	snprintf(anchor_path, sizeof(anchor_path), "%s", ap);
	configured = true;
	if (R == NULL)
		return; /* resolver_init loads the anchors */
	load_anchors(anchor_path);
	dns_ctx_flush(&R->ctx);
}

int
resolver_lookup(const char *name, uint16_t type, resolver_done_fn done, void *arg)
{
	struct req *r;
	uint8_t qn[DNS_NAME_MAX];
	uint16_t ql;

	int rc;

	if (!inited)
		return -ENODEV;
	if (name == NULL || done == NULL)
		return -EINVAL;
	if ((rc = ensure_ctx()) < 0)
		return rc;
	if (dns_name_from_text(name, qn, &ql) != DNS_E_OK)
		return -EINVAL;
	if (nq >= RESOLVER_QUEUE_MAX)
		return -EBUSY;
	r = &q[nq];
	memcpy(r->qname, qn, ql);
	r->type = type;
	r->done = done;
	r->arg = arg;
	r->id = next_id;
	next_id = next_id == 0x7fffffff ? 0 : next_id + 1;
	nq++;
	stats.queued++;
	schedule_kick();
	return r->id;
}

void
resolver_cancel(int id)
{
	for (unsigned i = 0; i < nq; i++) {
		if (q[i].id != id)
			continue;
		if (i == 0 && active) { /* in flight: drop its sockets and timer */
			io_close();
			(void)pop_head();
			schedule_kick();
			return;
		}
		memmove(&q[i], &q[i + 1], (nq - i - 1) * sizeof(q[0]));
		nq--;
		return;
	}
}

void
resolver_get_stats(struct resolver_stats *s)
{
	*s = stats;
}

void
resolver_set_tool_options(int64_t now, bool tcp)
{
	fixed_now = now;
	tcp_only = tcp;
	tool_mode = true;
}

int
resolver_check_anchors(char *err, size_t errcap)
{
	if (ensure_ctx() < 0) {
		snprintf(err, errcap, "out of memory for the resolver");
		return -1;
	}
	if (anchor_err[0] == '\0')
		return 0;
	snprintf(err, errcap, "%s", anchor_err);
	return -1;
}

#else /* !CONFIG_FEATURE_DNSSEC */

int
resolver_init(void)
{
	return 0;
}

void
resolver_configure(const struct zcfg *cfg)
{
	(void)cfg;
}

int
resolver_lookup(const char *name, uint16_t type, resolver_done_fn done, void *arg)
{
	(void)name;
	(void)type;
	(void)done;
	(void)arg;
	return -ENOTSUP;
}

void
resolver_cancel(int id)
{
	(void)id;
}

void
resolver_get_stats(struct resolver_stats *s)
{
	memset(s, 0, sizeof(*s));
}

unsigned
resolver_servers(const struct zcfg *cfg, struct hal_addr *out, unsigned max)
{
	(void)cfg;
	(void)out;
	(void)max;
	return 0;
}

unsigned
resolver_resolv_conf(struct hal_addr *out, unsigned max)
{
	(void)out;
	(void)max;
	return 0;
}

void
resolver_set_tool_options(int64_t now, bool tcp)
{
	(void)now;
	(void)tcp;
}

int
resolver_check_anchors(char *err, size_t errcap)
{
	snprintf(err, errcap, "this firmware was built without DNSSEC support");
	return -1;
}

#endif
