/*
 * The event loop (see loop.h): one poll() over a fixed slot table. Every
 * socket of the appliance is opened, polled, read, written and closed here.
 */
#include <string.h>

#include "firmware/core/loop.h"
#include "hal/pools.h"
#include "hal/clock.h"
#include "hal/log.h"

#define NSLOTS LOOP_SLOTS
_Static_assert(LOOP_SLOTS > CONFIG_MAX_SESSIONS + CONFIG_CFG_MAX_LISTENERS &&
    LOOP_MAX_TIMERS >= POOL_RESOLVER_TIMERS + POOL_CONSOLE_TIMERS,
    "the loop's tables hold the pools of hal/include/hal/pools.h");
#define IO_CHUNK 16384

enum slot_kind { SLOT_FREE = 0, SLOT_LISTEN, SLOT_STREAM, SLOT_FD };

struct slot {
	enum slot_kind kind;
	int fd;
	bool closing;
	bool connecting;
	const struct loop_stream_ops *ops;
	const struct loop_listener_ops *lops;
	void (*fdcb)(void *arg, int fd, unsigned revents);
	void *arg;
	uint32_t idle_ms;
	uint64_t last_ms;
};

struct timer {
	bool used;
	uint64_t due;
	void (*cb)(void *arg);
	void *arg;
};

static struct slot slots[NSLOTS];
static struct timer timers[LOOP_MAX_TIMERS];
static bool stop;
static uint64_t now_ms;

void
loop_init(void)
{
	memset(slots, 0, sizeof(slots));
	memset(timers, 0, sizeof(timers));
	stop = false;
	now_ms = hal_clock_mono_ms();
}

void loop_stop(void) { stop = true; }
bool loop_stopping(void) { return stop; }
uint64_t loop_now_ms(void) { return now_ms; }

static int
slot_new(enum slot_kind kind, int fd)
{
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].kind == SLOT_FREE) {
			memset(&slots[i], 0, sizeof(slots[i]));
			slots[i].kind = kind;
			slots[i].fd = fd;
			slots[i].last_ms = now_ms;
			return i;
		}
	return -EMFILE;
}

static struct slot *
slot_get(int h)
{
	if (h < 0 || h >= NSLOTS || slots[h].kind == SLOT_FREE)
		return NULL;
	return &slots[h];
}

int
loop_listen(const struct hal_addr *a, const struct loop_listener_ops *ops, void *arg)
{
	int fd = hal_net_listen_tcp(a, 64), h;

	if (fd < 0)
		return fd;
	if ((h = slot_new(SLOT_LISTEN, fd)) < 0) {
		hal_net_close(fd);
		return h;
	}
	slots[h].lops = ops;
	slots[h].arg = arg;
	return h;
}

int
loop_connect(const struct hal_addr *a, const struct loop_stream_ops *ops, void *arg)
{
	int fd = hal_net_connect_tcp(a), h;

	if (fd < 0)
		return fd;
	if ((h = slot_new(SLOT_STREAM, fd)) < 0) {
		hal_net_close(fd);
		return h;
	}
	slots[h].ops = ops;
	slots[h].arg = arg;
	slots[h].connecting = true;
	return h;
}

void
loop_bind(int h, const struct loop_stream_ops *ops, void *arg)
{
	struct slot *s = slot_get(h);

	if (s && s->kind == SLOT_STREAM) {
		s->ops = ops;
		s->arg = arg;
	}
}

void
loop_reject(int h, const char *line)
{
	struct slot *s = slot_get(h);

	if (s == NULL)
		return;
	if (s->kind == SLOT_STREAM && line)
		(void)hal_net_send(s->fd, line, strlen(line));
	s->closing = true;
}

void
loop_close(int h)
{
	struct slot *s = slot_get(h);

	if (s == NULL)
		return;
	if (s->kind == SLOT_LISTEN) {
		/* at once, so a reload can bind the same address again */
		hal_net_close(s->fd);
		s->kind = SLOT_FREE;
		return;
	}
	s->closing = true;
}

void
loop_set_idle_timeout(int h, uint32_t ms)
{
	struct slot *s = slot_get(h);

	if (s) {
		s->idle_ms = ms;
		s->last_ms = now_ms;
	}
}

int
loop_local_addr(int h, struct hal_addr *a)
{
	struct slot *s = slot_get(h);

	if (s == NULL)
		return -EBADF;
	return hal_net_local_addr(s->fd, a);
}

int
loop_watch_fd(int fd, void (*cb)(void *arg, int fd, unsigned revents), void *arg)
{
	int h = slot_new(SLOT_FD, fd);

	if (h >= 0) {
		slots[h].fdcb = cb;
		slots[h].arg = arg;
	}
	return h;
}

int
loop_timer_add(uint32_t ms, void (*cb)(void *arg), void *arg)
{
	for (int i = 0; i < LOOP_MAX_TIMERS; i++)
		if (!timers[i].used) {
			timers[i] = (struct timer){ true, now_ms + ms, cb, arg };
			return i;
		}
	return -ENOSPC;
}

void
loop_timer_cancel(int id)
{
	if (id >= 0 && id < LOOP_MAX_TIMERS)
		timers[id].used = false;
}

static void
do_accept(struct slot *l)
{
	for (int k = 0; k < 16 && !l->closing; k++) {
		struct hal_addr peer;
		int fd = hal_net_accept(l->fd, &peer), h;

		if (fd < 0)
			return;
		if ((h = slot_new(SLOT_STREAM, fd)) < 0) {
			const char *msg = l->lops->full_reply ? l->lops->full_reply(l->arg) : NULL;

			if (msg)
				(void)hal_net_send(fd, msg, strlen(msg));
			hal_net_close(fd);
			hal_log(HAL_LOG_WARN, "loop", "connection table full, refused a client");
			continue;
		}
		l->lops->accept(l->arg, h, &peer);
		if (slots[h].ops == NULL)       /* not bound: refuse */
			slots[h].closing = true;
	}
}

static void
do_stream(struct slot *s, unsigned rev)
{
	if (s->connecting) {
		int rc = hal_net_connect_result(s->fd);

		if (rc == -EINPROGRESS)
			return;
		s->connecting = false;
		s->last_ms = now_ms;
		s->ops->event(s->arg, rc == 0 ? LOOP_EV_CONNECTED : LOOP_EV_ERROR, rc);
		return;
	}
	if (rev & HAL_POLL_OUT) {
		const uint8_t *p;
		size_t n = s->ops->tx_data(s->arg, &p);

		if (n > 0) {
			ssize_t k = hal_net_send(s->fd, p, n);

			if (k > 0) {
				s->last_ms = now_ms;
				s->ops->tx_done(s->arg, (size_t)k);
			} else if (k < 0 && k != -EAGAIN && k != -EINTR) {
				s->ops->event(s->arg, LOOP_EV_ERROR, (int)k);
				return;
			}
		}
	}
	if (s->closing)
		return;
	if (rev & (HAL_POLL_IN | HAL_POLL_ERR)) {
		uint8_t *p;
		size_t n = s->ops->rx_space(s->arg, &p);

		if (n == 0) {
			if (rev & HAL_POLL_ERR)
				s->ops->event(s->arg, LOOP_EV_ERROR, -EIO);
			return;
		}
		if (n > IO_CHUNK)
			n = IO_CHUNK;
		ssize_t k = hal_net_recv(s->fd, p, n);

		if (k >= 0) {
			s->last_ms = now_ms;
			s->ops->rx_done(s->arg, (size_t)k);
		} else if (k != -EAGAIN && k != -EINTR)
			s->ops->event(s->arg, LOOP_EV_ERROR, (int)k);
	}
}

static int
next_timeout(void)
{
	int64_t t = 1000;

	for (int i = 0; i < LOOP_MAX_TIMERS; i++)
		if (timers[i].used) {
			int64_t d = (int64_t)(timers[i].due - now_ms);
			if (timers[i].due < now_ms)
				d = 0;
			if (d < t)
				t = d;
		}
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].kind == SLOT_STREAM && slots[i].idle_ms && !slots[i].closing) {
			uint64_t due = slots[i].last_ms + slots[i].idle_ms;
			int64_t d = due > now_ms ? (int64_t)(due - now_ms) : 0;
			if (d < t)
				t = d;
		}
	return (int)t;
}

static void
reap(void)
{
	for (int i = 0; i < NSLOTS; i++)
		if (slots[i].kind != SLOT_FREE && slots[i].closing) {
			if (slots[i].kind != SLOT_FD)
				hal_net_close(slots[i].fd);
			slots[i].kind = SLOT_FREE;
		}
}

int
loop_run(void)
{
	static struct hal_pollfd pfd[NSLOTS];
	static int map[NSLOTS];

	while (!stop) {
		size_t np = 0;
		int rc;

		now_ms = hal_clock_mono_ms();
		reap();
		for (int i = 0; i < NSLOTS; i++) {
			struct slot *s = &slots[i];
			unsigned ev = 0;

			if (s->kind == SLOT_FREE || s->closing)
				continue;
			if (s->kind == SLOT_LISTEN || s->kind == SLOT_FD)
				ev = HAL_POLL_IN;
			else if (s->connecting)
				ev = HAL_POLL_OUT;
			else if (s->ops) {
				uint8_t *p;
				const uint8_t *q;

				if (s->ops->rx_space(s->arg, &p) > 0)
					ev |= HAL_POLL_IN;
				if (s->ops->tx_data(s->arg, &q) > 0)
					ev |= HAL_POLL_OUT;
			}
			/* nothing wanted: let poll skip it (no spinning on HUP) */
			pfd[np] = (struct hal_pollfd){ ev ? s->fd : -1, ev, 0 };
			map[np++] = i;
		}
		rc = hal_net_poll(pfd, np, next_timeout());
		if (rc < 0 && rc != -EINTR)
			return rc;
		now_ms = hal_clock_mono_ms();
		for (size_t k = 0; rc > 0 && k < np; k++) {
			struct slot *s = &slots[map[k]];

			if (!pfd[k].revents || s->closing || s->kind == SLOT_FREE)
				continue;
			switch (s->kind) {
			case SLOT_LISTEN:
				do_accept(s);
				break;
			case SLOT_STREAM:
				if (s->ops)
					do_stream(s, pfd[k].revents);
				break;
			case SLOT_FD:
				s->fdcb(s->arg, s->fd, pfd[k].revents);
				break;
			default:
				break;
			}
		}
		for (int i = 0; i < NSLOTS; i++) {
			struct slot *s = &slots[i];

			if (s->kind == SLOT_STREAM && s->idle_ms && !s->closing && s->ops &&
			    now_ms >= s->last_ms + s->idle_ms) {
				s->last_ms = now_ms;
				s->ops->event(s->arg, LOOP_EV_TIMEOUT, 0);
			}
		}
		for (int i = 0; i < LOOP_MAX_TIMERS; i++)
			if (timers[i].used && timers[i].due <= now_ms) {
				timers[i].used = false;
				timers[i].cb(timers[i].arg);
			}
	}
	reap();
	return 0;
}
