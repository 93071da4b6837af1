/* SNTP rounds on the event loop and `show clock` (ntp.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firmware/console/console.h"
#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/dns/wire.h"
#include "firmware/time/ntp.h"
#include "firmware/time/sntp.h"
#include "hal/clock.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "hal/net.h"

#define LOGM "ntp"

enum srv_state { SRV_IDLE, SRV_RESOLVING, SRV_WAITING, SRV_DONE };

struct srv {
	struct hal_addr addr;
	enum srv_state state;
	int fd, h, rid;
	uint64_t xmt;           /* the transmit timestamp we sent */
	int64_t t1;             /* our wall clock at sending, ms */
	uint64_t t1_mono;
	bool answered, agrees, banned;
	struct sntp_sample sample;
	char note[160];         /* this round, for `show clock` */
};

static struct {
	struct zcfg_ntp cfg;
	struct srv s[ZCFG_NTP_SERVERS];
	int round_timer, next_timer;
	bool in_round;
	uint32_t retry_s;
	uint64_t next_mono;
	/* the last verdict */
	bool synced;
	int64_t sync_wall;
	uint64_t sync_mono;
	int64_t offset_ms, delay_ms;
	unsigned agree, answers;
	bool stepped;
	int step_rc;            /* 0: system clock set; -errno: software offset */
	char last[160];
} N = { .round_timer = -1, .next_timer = -1 };

void
clock_format(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "@%lld", (long long)t);
}

static void
fmt_ms(int64_t ms, char *buf, size_t cap)
{
	int64_t a = ms < 0 ? -ms : ms;

	snprintf(buf, cap, "%c%lld.%03lld s", ms < 0 ? '-' : '+', (long long)(a / 1000),
	    (long long)(a % 1000));
}

void
clock_log_boot(void)
{
	int64_t now = hal_clock_now();
	char t[40], f[40];

	clock_format(now, t, sizeof(t));
	clock_format(hal_clock_floor(), f, sizeof(f));
	if (hal_clock_plausible(now))
		hal_log(HAL_LOG_INFO, "clock", "clock %s is plausible (not before the build time %s)",
		    t, f);
	else
		hal_log(HAL_LOG_WARN, "clock",
		    "clock %s is NOT plausible (before the build time %s): DKIM signatures "
		    "get no t=, DNSSEC lookups fail until it is set ('set ntp server IP')",
		    t, f);
}

/* ------------------------------------------------------------ one server */

static void
srv_close(struct srv *v)
{
	if (v->h >= 0)
		loop_close(v->h);
	if (v->fd >= 0)
		hal_net_close(v->fd);
	v->h = v->fd = -1;
	if (v->rid >= 0)
		resolver_cancel(v->rid);
	v->rid = -1;
}

static void round_end(void);

static bool
round_complete(void)
{
	for (unsigned i = 0; i < N.cfg.nservers; i++)
		if (N.s[i].state == SRV_RESOLVING || N.s[i].state == SRV_WAITING)
			return false;
	return true;
}

static void
srv_done(struct srv *v)
{
	srv_close(v);
	v->state = SRV_DONE;
	if (N.in_round && round_complete())
		round_end();
}

static void
on_udp(void *arg, int fd, unsigned revents)
{
	struct srv *v = arg;
	uint8_t buf[128];
	struct hal_addr from;
	struct sntp_reply r;
	enum sntp_err e;
	ssize_t n;
	int64_t t4;

	(void)revents;
	n = hal_net_recvfrom(fd, buf, sizeof(buf), &from);
	if (n == -EAGAIN || n == -EINTR)
		return;
	t4 = v->t1 + (int64_t)(hal_clock_mono_ms() - v->t1_mono);
	if (n < 0) {
		snprintf(v->note, sizeof(v->note), "error: %s", strerror((int)-n));
		srv_done(v);
		return;
	}
	if (from.family != v->addr.family || memcmp(from.ip, v->addr.ip, 16) != 0 ||
	    from.port != v->addr.port)
		return; /* not from the server: keep waiting for it */
	e = sntp_parse(buf, (size_t)n, v->xmt, &r);
	if (e == SNTP_ERR_ORIGIN)
		return; /* a stray or late answer: the real one may still come */
	if (e == SNTP_ERR_KOD) {
		snprintf(v->note, sizeof(v->note), "kiss-o'-death %s", r.kiss);
		/* RFC 4330 8: DENY and RSTR mean stop asking this server */
		if (strcmp(r.kiss, "DENY") == 0 || strcmp(r.kiss, "RSTR") == 0)
			v->banned = true;
	} else if (e != SNTP_OK) {
		snprintf(v->note, sizeof(v->note), "rejected: %s", sntp_strerror(e));
	} else {
		sntp_sample(v->t1, sntp_to_unix_ms(r.receive), sntp_to_unix_ms(r.transmit), t4,
		    &v->sample);
		v->answered = true;
		snprintf(v->note, sizeof(v->note), "answered, stratum %u", r.stratum);
	}
	srv_done(v);
}

static void
srv_send(struct srv *v)
{
	uint8_t pkt[SNTP_PACKET_LEN], rnd[4] = { 0 };
	ssize_t w;

	v->fd = hal_net_udp_open(v->addr.family);
	if (v->fd < 0) {
		snprintf(v->note, sizeof(v->note), "no socket: %s", strerror(-v->fd));
		v->fd = -1;
		srv_done(v);
		return;
	}
	v->h = loop_watch_fd(v->fd, on_udp, v);
	if (v->h < 0) {
		snprintf(v->note, sizeof(v->note), "no loop slot");
		srv_done(v);
		return;
	}
	v->t1 = hal_clock_now_ms();
	v->t1_mono = hal_clock_mono_ms();
	/* random low bits: an off-path forger cannot guess the origin (RFC 5905 9.1) */
	hal_entropy_fill(rnd, sizeof(rnd));
	v->xmt = (sntp_from_unix_ms(v->t1) & ~0xffffffull) |
	    ((uint64_t)rnd[0] << 16 | (uint64_t)rnd[1] << 8 | rnd[2]);
	sntp_request(pkt, v->xmt);
	w = hal_net_sendto(v->fd, pkt, sizeof(pkt), &v->addr);
	if (w != (ssize_t)sizeof(pkt)) {
		snprintf(v->note, sizeof(v->note), "send failed: %s",
		    w < 0 ? strerror((int)-w) : "short");
		srv_done(v);
		return;
	}
	v->state = SRV_WAITING;
	snprintf(v->note, sizeof(v->note), "no answer");
}

static void
on_resolved(void *arg, const struct dns_result *res)
{
	struct srv *v = arg;
	unsigned i = (unsigned)(v - N.s);

	v->rid = -1;
	if (res->status == DNS_SECURE || res->status == DNS_INSECURE) {
		for (unsigned k = 0; k < res->nrr; k++) {
			if (res->rr[k].type != DNS_T_A || res->rr[k].rdlen != 4)
				continue;
			memset(&v->addr, 0, sizeof(v->addr));
			v->addr.family = 4;
			memcpy(v->addr.ip, res->data + res->rr[k].rd_off, 4);
			v->addr.port = N.cfg.port[i];
			srv_send(v);
			return;
		}
		snprintf(v->note, sizeof(v->note), "name has no IPv4 address");
	} else {
		snprintf(v->note, sizeof(v->note), "name not resolved: %.120s", res->reason);
	}
	hal_log(HAL_LOG_WARN, LOGM, "server %s: %s", N.cfg.host[i], v->note);
	srv_done(v);
}

/* ------------------------------------------------------------ rounds */

static void on_next(void *arg);

static void
schedule(uint32_t s)
{
	if (N.next_timer >= 0)
		loop_timer_cancel(N.next_timer);
	N.next_timer = loop_timer_add(s * 1000u, on_next, NULL);
	N.next_mono = hal_clock_mono_ms() + (uint64_t)s * 1000u;
}

static uint32_t
interval(void)
{
	return N.cfg.interval ? N.cfg.interval : 3600;
}

static void
srv_name(unsigned i, char *buf, size_t cap)
{
	snprintf(buf, cap, strchr(N.cfg.host[i], ':') ? "[%s]:%u" : "%s:%u", N.cfg.host[i],
	    N.cfg.port[i]);
}

/* The clock follows the agreeing majority. */
static void
apply(int64_t offset, unsigned agree, unsigned answers, int64_t delay)
{
	int64_t now = hal_clock_now();
	int64_t then = now + offset / 1000;
	char t[40], o[32], f[40];

	fmt_ms(offset, o, sizeof(o));
	if (!hal_clock_plausible(then)) {
		clock_format(then, t, sizeof(t));
		clock_format(hal_clock_floor(), f, sizeof(f));
		snprintf(N.last, sizeof(N.last),
		    "servers say %s, before the build time %s: not taken", t, f);
		hal_log(HAL_LOG_WARN, LOGM, "%s", N.last);
		return;
	}
	N.synced = true;
	N.offset_ms = offset;
	N.delay_ms = delay;
	N.agree = agree;
	N.answers = answers;
	if (offset >= NTP_STEP_MS || offset <= -NTP_STEP_MS) {
		bool was = hal_clock_plausible(now);

		N.step_rc = hal_clock_step(offset);
		N.stepped = true;
		clock_format(hal_clock_now(), t, sizeof(t));
		snprintf(N.last, sizeof(N.last), "clock stepped by %s to %s (%u of %u servers agree)",
		    o, t, agree, answers);
		if (N.step_rc == 0)
			hal_log(HAL_LOG_INFO, LOGM, "%s; system clock set", N.last);
		else
			hal_log(HAL_LOG_INFO, LOGM, "%s; software offset (system clock not set: %s)",
			    N.last, strerror(-N.step_rc));
		if (!was)
			hal_log(HAL_LOG_INFO, "clock", "clock %s is plausible now", t);
	} else {
		snprintf(N.last, sizeof(N.last), "clock within %s (%u of %u servers agree)", o, agree,
		    answers);
		hal_log(HAL_LOG_DEBUG, LOGM, "%s", N.last);
	}
	N.sync_wall = hal_clock_now();
	N.sync_mono = hal_clock_mono_ms();
}

static void
round_end(void)
{
	struct sntp_sample smp[ZCFG_NTP_SERVERS];
	unsigned n = 0, agree;
	int64_t offset = 0;
	uint32_t next;

	N.in_round = false;
	if (N.round_timer >= 0)
		loop_timer_cancel(N.round_timer);
	N.round_timer = -1;
	for (unsigned i = 0; i < N.cfg.nservers; i++) {
		N.s[i].agrees = false;
		srv_close(&N.s[i]);
		if (N.s[i].answered) {
			smp[n] = N.s[i].sample;
			smp[n++].server = i;
		}
	}
	agree = sntp_select(smp, n, NTP_AGREE_MS, &offset);
	for (unsigned k = 0; k < agree; k++)
		N.s[smp[k].server].agrees = true;
	for (unsigned i = 0; i < N.cfg.nservers; i++) {
		struct srv *v = &N.s[i];
		char name[ZCFG_NAME_MAX + 8], o[32];

		srv_name(i, name, sizeof(name));
		if (v->answered) {
			fmt_ms(v->sample.offset_ms, o, sizeof(o));
			snprintf(v->note, sizeof(v->note), "offset %s, delay %lld ms%s", o,
			    (long long)v->sample.delay_ms, v->agrees ? "" : ": outlier, rejected");
			if (!v->agrees && agree > 0)
				hal_log(HAL_LOG_WARN, LOGM, "server %s disagrees with the majority (%s)",
				    name, v->note);
		} else if (strncmp(v->note, "kiss", 4) == 0 || strncmp(v->note, "rejected", 8) == 0) {
			hal_log(HAL_LOG_WARN, LOGM, "server %s: %s", name, v->note);
		}
	}
	if (agree == 0) {
		snprintf(N.last, sizeof(N.last),
		    n == 0 ? "no usable answer from %u server(s): clock not changed"
			   : "no agreeing majority among %u answers: clock not changed",
		    n == 0 ? N.cfg.nservers : n);
		hal_log(HAL_LOG_WARN, LOGM, "%s", N.last);
		next = N.retry_s;
		N.retry_s = N.retry_s * 2 < interval() ? N.retry_s * 2 : interval();
	} else {
		int64_t delay = smp[agree / 2].delay_ms;

		apply(offset, agree, n, delay);
		next = interval();
		N.retry_s = NTP_RETRY_S;
	}
	schedule(next);
}

static void
on_round_timer(void *arg)
{
	(void)arg;
	N.round_timer = -1;
	if (N.in_round)
		round_end();
}

static void
round_start(void)
{
	bool plausible = hal_clock_plausible(hal_clock_now());

	if (N.cfg.nservers == 0 || N.in_round)
		return;
	N.in_round = true;
	N.round_timer = loop_timer_add(NTP_ROUND_MS, on_round_timer, NULL);
	for (unsigned i = 0; i < N.cfg.nservers; i++) {
		struct srv *v = &N.s[i];

		v->state = SRV_IDLE;
		v->answered = v->agrees = false;
		if (v->banned) {
			snprintf(v->note, sizeof(v->note), "not asked: it sent kiss-o'-death DENY/RSTR");
			v->state = SRV_DONE;
			continue;
		}
		if (hal_addr_parse(&v->addr, N.cfg.host[i], N.cfg.port[i]) == 0) {
			srv_send(v);
			continue;
		}
		if (!plausible) {
			snprintf(v->note, sizeof(v->note),
			    "name not looked up: DNSSEC needs a plausible clock (give an IP address)");
			hal_log(HAL_LOG_WARN, LOGM, "server %s: %s", N.cfg.host[i], v->note);
			v->state = SRV_DONE;
			continue;
		}
		v->state = SRV_RESOLVING;
		v->rid = resolver_lookup(N.cfg.host[i], DNS_T_A, on_resolved, v);
		if (v->rid < 0) {
			snprintf(v->note, sizeof(v->note), "resolver busy: %s", strerror(-v->rid));
			v->rid = -1;
			v->state = SRV_DONE;
		}
	}
	if (N.in_round && round_complete())
		round_end();
}

static void
on_next(void *arg)
{
	(void)arg;
	N.next_timer = -1;
	round_start();
}

void
ntp_stop(void)
{
	for (unsigned i = 0; i < ZCFG_NTP_SERVERS; i++)
		srv_close(&N.s[i]);
	if (N.round_timer >= 0)
		loop_timer_cancel(N.round_timer);
	if (N.next_timer >= 0)
		loop_timer_cancel(N.next_timer);
	N.round_timer = N.next_timer = -1;
	N.in_round = false;
}

void
ntp_configure(const struct zcfg *cfg)
{
	static bool init;

	if (!init) {
		for (unsigned i = 0; i < ZCFG_NTP_SERVERS; i++)
			N.s[i].fd = N.s[i].h = N.s[i].rid = -1;
		init = true;
	}
	if (memcmp(&N.cfg, &cfg->ntp, sizeof(N.cfg)) == 0 && (N.in_round || N.next_timer >= 0))
		return;
	ntp_stop();
	N.cfg = cfg->ntp;
	N.retry_s = NTP_RETRY_S;
	for (unsigned i = 0; i < ZCFG_NTP_SERVERS; i++) {
		N.s[i].banned = false;
		N.s[i].note[0] = 0;
	}
	if (N.cfg.nservers > 0)
		round_start();
}

/* ------------------------------------------------------------ show clock */

static int
cmd_show_clock(struct console *c, int argc, char **argv, const char *line)
{
	int64_t now = hal_clock_now(), soft = hal_clock_soft_offset_ms();
	char t[40], f[40], o[32];

	(void)argv;
	(void)line;
	if (argc != 0) {
		console_puts(c, "error: usage: show clock");
		return 1;
	}
	clock_format(now, t, sizeof(t));
	clock_format(hal_clock_floor(), f, sizeof(f));
	console_printf(c, "clock: %s, %s (floor: build time %s)", t,
	    hal_clock_plausible(now) ? "plausible" : "NOT plausible", f);
	if (soft != 0) {
		fmt_ms(soft, o, sizeof(o));
		console_printf(c, "set by: software offset %s (system clock not set: %s)", o,
		    N.step_rc < 0 ? strerror(-N.step_rc) : "-");
	} else if (N.stepped && N.step_rc == 0) {
		console_puts(c, "set by: system clock (clock_settime)");
	} else {
		console_puts(c, "set by: system clock, not changed by zegel");
	}
	if (N.cfg.nservers == 0) {
		console_puts(c, "ntp: no server configured ('set ntp server IP')");
		return 0;
	}
	if (N.synced) {
		clock_format(N.sync_wall, t, sizeof(t));
		fmt_ms(N.offset_ms, o, sizeof(o));
		console_printf(c,
		    "ntp: last sync %s (%llu s ago), offset %s, delay %lld ms, %u of %u servers agree",
		    t, (unsigned long long)((hal_clock_mono_ms() - N.sync_mono) / 1000), o,
		    (long long)N.delay_ms, N.agree, N.answers);
	} else {
		console_puts(c, "ntp: not synced yet");
	}
	if (N.last[0])
		console_printf(c, "ntp: last round: %s", N.last);
	for (unsigned i = 0; i < N.cfg.nservers; i++) {
		char name[ZCFG_NAME_MAX + 8];

		srv_name(i, name, sizeof(name));
		console_printf(c, "  server %s: %s%s", name, N.s[i].note[0] ? N.s[i].note : "-",
		    N.s[i].agrees ? " (source)" : "");
	}
	if (N.in_round)
		console_puts(c, "ntp: round in progress");
	else if (N.next_timer >= 0)
		console_printf(c, "ntp: next round in %llu s (interval %u s)",
		    (unsigned long long)((N.next_mono - hal_clock_mono_ms()) / 1000),
		    (unsigned)interval());
	return 0;
}

static const struct console_cmd clock_cmds[] = {
	{ "show clock", "", "the clock, its source (NTP) and whether it is plausible",
	    cmd_show_clock },
};

static void
status(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	int64_t now = hal_clock_now();
	char line[160], t[40];

	(void)arg;
	clock_format(now, t, sizeof(t));
	if (N.cfg.nservers == 0)
		snprintf(line, sizeof(line), "clock: %s, %s; ntp off", t,
		    hal_clock_plausible(now) ? "plausible" : "NOT plausible");
	else if (N.synced)
		snprintf(line, sizeof(line), "clock: %s, %s; ntp synced %llu s ago (%u of %u agree)",
		    t, hal_clock_plausible(now) ? "plausible" : "NOT plausible",
		    (unsigned long long)((hal_clock_mono_ms() - N.sync_mono) / 1000), N.agree,
		    N.answers);
	else
		snprintf(line, sizeof(line), "clock: %s, %s; ntp not synced yet", t,
		    hal_clock_plausible(now) ? "plausible" : "NOT plausible");
	emit(emit_arg, line);
}

void
ntp_console_register(void)
{
	(void)console_register(clock_cmds, sizeof(clock_cmds) / sizeof(clock_cmds[0]));
	(void)console_register_status(status, NULL);
}
