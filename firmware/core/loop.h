/*
 * firmware/core/loop.h — the one event loop; the only owner of sockets.
 *
 * Model. One thread, one poll() over a fixed table of slots (listeners,
 * TCP streams, raw descriptors such as the console or a UDP socket), plus a
 * small table of one-shot timers. Protocol code never sees a socket: a TCP
 * stream is driven through four callbacks that point the loop at the
 * owner's own buffers (so the loop keeps no per-stream buffers and
 * back-pressure is automatic):
 *
 *   rx_space(arg, &p)  -> room for received bytes at p (0: do not read now)
 *   rx_done(arg, n)       n bytes were stored at p; n == 0: peer closed
 *   tx_data(arg, &p)   -> bytes waiting to be sent at p (0: nothing)
 *   tx_done(arg, n)       n of them were sent
 *   event(arg, ev, err)   LOOP_EV_CONNECTED (outgoing connect finished),
 *                         LOOP_EV_ERROR (err = -errno), LOOP_EV_TIMEOUT
 *
 * The poll set is rebuilt on every turn by asking rx_space/tx_data, so a
 * callback that makes output available (for instance a relay finishing for
 * another session) needs no wake-up call. loop_close() may be called from
 * any callback; the slot stops getting callbacks at once and the socket is
 * closed at the end of the turn. Pending output is NOT flushed by
 * loop_close(): call it from tx_done when your buffer is empty.
 *
 * Sizes: LOOP_SLOTS slots and LOOP_MAX_TIMERS timers, derived in
 * hal/include/hal/pools.h from the pools that use them (client sessions,
 * listeners, relay jobs, the resolver, the console). A full table makes
 * loop_connect() return -EMFILE; an accepted client beyond it is handed to
 * the listener's full() callback (421 4.3.2) and closed.
 */
#ifndef ZEGEL_CORE_LOOP_H
#define ZEGEL_CORE_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/net.h"
#include "zegel/config.h"

enum loop_event {
	LOOP_EV_CONNECTED = 1,
	LOOP_EV_ERROR,
	LOOP_EV_TIMEOUT,
};

struct loop_stream_ops {
	size_t (*rx_space)(void *arg, uint8_t **p);
	void (*rx_done)(void *arg, size_t n);
	size_t (*tx_data)(void *arg, const uint8_t **p);
	void (*tx_done)(void *arg, size_t n);
	void (*event)(void *arg, enum loop_event ev, int err);
};

/* Accepting: the listener's accept(arg, h, peer, local) must call loop_bind(h, ...)
 * or loop_close(h). full(fd) may write one short line to the raw socket before
 * it is closed (the loop does it with a single non-blocking send). */
struct loop_listener_ops {
	void (*accept)(void *arg, int h, const struct hal_addr *peer);
	const char *(*full_reply)(void *arg); /* e.g. "421 4.3.2 ...\r\n" */
};

void loop_init(void);
/* Runs until loop_stop(); returns 0, or -errno if poll failed. */
int loop_run(void);
void loop_stop(void);
bool loop_stopping(void);
/* Monotonic milliseconds at the start of the current turn. */
uint64_t loop_now_ms(void);

/* A listening TCP socket; returns a handle or -errno. */
int loop_listen(const struct hal_addr *a, const struct loop_listener_ops *ops, void *arg);
/* An outgoing TCP connection; LOOP_EV_CONNECTED or LOOP_EV_ERROR follows. */
int loop_connect(const struct hal_addr *a, const struct loop_stream_ops *ops, void *arg);
/* Attach callbacks to an accepted stream. */
void loop_bind(int h, const struct loop_stream_ops *ops, void *arg);
/* Refuse an accepted stream: one non-blocking send of line, then close. */
void loop_reject(int h, const char *line);
/* Close any handle (stream, listener, watched fd). */
void loop_close(int h);
/* LOOP_EV_TIMEOUT after ms without any byte received or sent; 0 disables. */
void loop_set_idle_timeout(int h, uint32_t ms);
/* Local/peer address of a stream. */
int loop_local_addr(int h, struct hal_addr *a);

/* A raw descriptor (console on stdin, a UDP socket): cb(arg, fd, revents)
 * when HAL_POLL_IN is ready. The loop does not read it. */
int loop_watch_fd(int fd, void (*cb)(void *arg, int fd, unsigned revents), void *arg);

/* One-shot timer: cb(arg) after ms. Returns an id >= 0 or -ENOSPC. */
int loop_timer_add(uint32_t ms, void (*cb)(void *arg), void *arg);
void loop_timer_cancel(int id);

#endif
