/* Remote syslog over UDP or TCP on the event loop (syslog.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "firmware/console/console.h"
#include "firmware/core/loop.h"
#include "firmware/syslog/syslog.h"
#include "hal/log.h"
#include "hal/net.h"

#define LOGM "syslog"

/* The TCP queue's bytes, out of the initialised struct: .bss. */
static char q_buf[SYSLOG_QUEUE];

static struct {
	struct zcfg_syslog want;    /* as configured, to notice a change */
	struct zcfg_syslog cfg;
	char host[ZCFG_NAME_MAX];   /* our HOSTNAME field */
	struct hal_addr addr;
	bool on;
	int udp_fd;
	int tcp_h;
	bool connected;
	int timer;
	/* TCP queue of octet-counted frames: head, used; frame_left = bytes of
	 * the frame at head not sent yet (0: head is at a frame boundary) */
	size_t head, used, frame_left;
	unsigned long sent, dropped, dropped_note;
	bool drop_logged, fail_logged;
	char err[96];
} S = { .udp_fd = -1, .tcp_h = -1, .timer = -1 };

static void tcp_connect(void);

/* ------------------------------------------------------------ queue */

static size_t
q_room(void)
{
	return SYSLOG_QUEUE - S.used;
}

static void
q_put(const char *p, size_t n)
{
	size_t tail = (S.head + S.used) % SYSLOG_QUEUE;
	size_t first = n < SYSLOG_QUEUE - tail ? n : SYSLOG_QUEUE - tail;

	memcpy(q_buf + tail, p, first);
	memcpy(q_buf, p + first, n - first);
	S.used += n;
}

static char
q_at(size_t i)
{
	return q_buf[(S.head + i) % SYSLOG_QUEUE];
}

/* The length of the whole frame at head ("LEN SP MSG"). */
static size_t
q_frame_len(void)
{
	size_t len = 0, i = 0;

	while (i < S.used && q_at(i) >= '0' && q_at(i) <= '9')
		len = len * 10 + (size_t)(q_at(i++) - '0');
	return i + 1 + len;
}

static void
q_consume(size_t n)
{
	S.head = (S.head + n) % SYSLOG_QUEUE;
	S.used -= n;
}

/* Sent bytes: keep frame_left in step so a broken stream can resume at the
 * next frame boundary. */
static void
q_sent(size_t n)
{
	while (n > 0) {
		size_t k;

		if (S.frame_left == 0)
			S.frame_left = q_frame_len();
		k = n < S.frame_left ? n : S.frame_left;
		q_consume(k);
		S.frame_left -= k;
		n -= k;
		if (S.frame_left == 0)
			S.sent++;
	}
}

/* ------------------------------------------------------------ sending */

static void
drop(void)
{
	S.dropped++;
	S.dropped_note++;
	if (!S.drop_logged) {
		S.drop_logged = true;   /* once per episode; the tap does not see it */
		hal_log(HAL_LOG_WARN, LOGM, "log lines to %s dropped (%s)", S.cfg.host,
		    S.err[0] ? S.err : "collector slow or unreachable");
	}
}

/* One message to the collector, or counted as dropped. */
static bool
send_msg(const char *msg, size_t n)
{
	char pre[24];
	size_t pl;
	ssize_t w;

	if (!S.cfg.tcp) {
		w = S.udp_fd >= 0 ? hal_net_sendto(S.udp_fd, msg, n, &S.addr) : -EBADF;
		if (w == (ssize_t)n) {
			S.sent++;
			return true;
		}
		snprintf(S.err, sizeof(S.err), "%s", w < 0 ? strerror((int)-w) : "short send");
		return false;
	}
	pl = syslog_frame_prefix(pre, sizeof(pre), n);
	if (pl == 0 || q_room() < pl + n)
		return false;
	q_put(pre, pl);
	q_put(msg, n);
	return true;
}

static void
syslog_tap(void *arg, int64_t t_ms, enum hal_log_level lvl, const char *module, const char *line)
{
	char msg[SYSLOG_MSG_MAX], note[96];
	size_t n;

	(void)arg;
	if (!S.on)
		return;
	if (S.dropped_note > 0) {
		/* Lines are dropping: go on dropping until half the queue is
		 * free, then the count goes first. Without the margin a short
		 * note fits where the next longer line does not, and one episode
		 * of drops is logged again and again. */
		if (S.cfg.tcp && q_room() < SYSLOG_QUEUE / 2) {
			drop();
			return;
		}
		snprintf(note, sizeof(note), "%lu log line%s dropped (collector slow or unreachable)",
		    S.dropped_note, S.dropped_note == 1 ? "" : "s");
		n = syslog_format(msg, sizeof(msg), S.cfg.rfc3164, S.cfg.facility, HAL_LOG_WARN, t_ms,
		    S.host, (long)getpid(), LOGM, note);
		if (n == 0 || !send_msg(msg, n)) {
			drop();
			return;
		}
		S.dropped_note = 0;
		S.drop_logged = false;
	}
	n = syslog_format(msg, sizeof(msg), S.cfg.rfc3164, S.cfg.facility, lvl, t_ms, S.host,
	    (long)getpid(), module, line);
	if (n == 0 || !send_msg(msg, n))
		drop();
}

/* ------------------------------------------------------------ TCP */

static uint8_t rx_sink[64];

static size_t
tcp_rx_space(void *arg, uint8_t **p)
{
	(void)arg;
	*p = rx_sink;
	return sizeof(rx_sink);
}

static void tcp_failed(const char *why);

static void
tcp_rx_done(void *arg, size_t n)
{
	(void)arg;
	if (n == 0)
		tcp_failed("collector closed the connection");
	/* anything the collector says is ignored */
}

static size_t
tcp_tx_data(void *arg, const uint8_t **p)
{
	(void)arg;
	if (!S.connected || S.used == 0)
		return 0;
	*p = (const uint8_t *)q_buf + S.head;
	return S.used < SYSLOG_QUEUE - S.head ? S.used : SYSLOG_QUEUE - S.head;
}

static void
tcp_tx_done(void *arg, size_t n)
{
	(void)arg;
	q_sent(n);
}

static void
tcp_event(void *arg, enum loop_event ev, int err)
{
	(void)arg;
	if (ev == LOOP_EV_CONNECTED) {
		S.connected = true;
		S.fail_logged = false;
		S.err[0] = 0;
		return;
	}
	tcp_failed(ev == LOOP_EV_TIMEOUT ? "timeout" : strerror(-err));
}

static const struct loop_stream_ops tcp_ops = {
	tcp_rx_space, tcp_rx_done, tcp_tx_data, tcp_tx_done, tcp_event,
};

static void
on_timer(void *arg)
{
	(void)arg;
	S.timer = -1;
	if (S.on && S.cfg.tcp && S.tcp_h < 0)
		tcp_connect();
}

static void
tcp_failed(const char *why)
{
	bool was = S.connected;

	if (S.tcp_h >= 0)
		loop_close(S.tcp_h);
	S.tcp_h = -1;
	S.connected = false;
	/* a frame cut in the middle is lost: resume at a frame boundary */
	if (S.frame_left > 0) {
		q_consume(S.frame_left < S.used ? S.frame_left : S.used);
		S.frame_left = 0;
		S.dropped++;
		S.dropped_note++;
	}
	snprintf(S.err, sizeof(S.err), "%s", why);
	if (S.timer < 0)
		S.timer = loop_timer_add(SYSLOG_RECONNECT_MS, on_timer, NULL);
	if (was)
		hal_log(HAL_LOG_WARN, LOGM, "connection to %s lost: %s; reconnecting", S.cfg.host,
		    why);
	else if (!S.fail_logged)
		hal_log(HAL_LOG_WARN, LOGM, "cannot connect to %s:%u: %s; retrying every %d s",
		    S.cfg.host, S.cfg.port, why, SYSLOG_RECONNECT_MS / 1000);
	S.fail_logged = true;
}

static void
tcp_connect(void)
{
	int h = loop_connect(&S.addr, &tcp_ops, NULL);

	if (h < 0) {
		snprintf(S.err, sizeof(S.err), "connect: %s", strerror(-h));
		if (S.timer < 0)
			S.timer = loop_timer_add(SYSLOG_RECONNECT_MS, on_timer, NULL);
		return;
	}
	S.tcp_h = h;
}

/* ------------------------------------------------------------ config */

void
syslog_stop(void)
{
	hal_log_set_tap(NULL, NULL);
	S.on = false;
	if (S.tcp_h >= 0)
		loop_close(S.tcp_h);
	if (S.udp_fd >= 0)
		hal_net_close(S.udp_fd);
	if (S.timer >= 0)
		loop_timer_cancel(S.timer);
	S.tcp_h = S.udp_fd = S.timer = -1;
	S.connected = false;
	S.head = S.used = S.frame_left = 0;
}

void
syslog_configure(const struct zcfg *cfg)
{
	if (S.on && memcmp(&S.want, &cfg->syslog, sizeof(S.want)) == 0 &&
	    strcmp(S.host, cfg->hostname) == 0)
		return;
	syslog_stop();
	S.want = S.cfg = cfg->syslog;
	snprintf(S.host, sizeof(S.host), "%s", cfg->hostname);
	if (S.cfg.host[0] == 0)
		return;
	if (!S.cfg.facility_set)
		S.cfg.facility = 2; /* mail */
	if (hal_addr_parse(&S.addr, S.cfg.host, S.cfg.port) != 0) {
		hal_log(HAL_LOG_ERR, LOGM, "collector %s is not an IP address: no remote syslog",
		    S.cfg.host);
		return;
	}
	S.addr.port = S.cfg.port;
	S.sent = S.dropped = S.dropped_note = 0;
	S.drop_logged = S.fail_logged = false;
	S.err[0] = 0;
	if (!S.cfg.tcp) {
		S.udp_fd = hal_net_udp_open(S.addr.family);
		if (S.udp_fd < 0) {
			hal_log(HAL_LOG_ERR, LOGM, "no UDP socket for %s: %s", S.cfg.host,
			    strerror(-S.udp_fd));
			S.udp_fd = -1;
			return;
		}
	} else {
		tcp_connect();
	}
	S.on = true;
	hal_log_set_tap(syslog_tap, NULL);
	hal_log(HAL_LOG_INFO, LOGM, "sending log lines to %s:%u over %s (%s, facility %u)",
	    S.cfg.host, S.cfg.port, S.cfg.tcp ? "tcp" : "udp",
	    S.cfg.rfc3164 ? "rfc3164" : "rfc5424", S.cfg.facility);
}

static void
status(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	char line[ZCFG_NAME_MAX + 256];

	(void)arg;
	if (!S.on) {
		emit(emit_arg, "syslog: off ('set syslog IP[:PORT] udp|tcp')");
		return;
	}
	snprintf(line, sizeof(line), "syslog: %s:%u %s %s: %s, %lu sent, %lu dropped%s%s",
	    S.cfg.host, S.cfg.port, S.cfg.tcp ? "tcp" : "udp", S.cfg.rfc3164 ? "rfc3164" : "rfc5424",
	    !S.cfg.tcp ? "sending" : S.connected ? "connected" : "not connected", S.sent, S.dropped,
	    S.err[0] ? "; last error: " : "", S.err);
	emit(emit_arg, line);
}

void
syslog_status_register(void)
{
	(void)console_register_status(status, NULL);
}
