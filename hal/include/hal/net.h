/*
 * hal/net.h — non-blocking sockets and poll for the event loop.
 *
 * Only firmware/core (the event loop) and the command-line tools call these;
 * protocol engines get bytes, never sockets. A socket is a handle: a small
 * non-negative int the backend hands out and alone interprets (a file
 * descriptor for POSIX, a socket number for lwIP); errors are -errno. Every
 * socket is non-blocking: recv/send return -EAGAIN when they would block, 0
 * from recv at end of stream. Addresses are IPv4 or IPv6 in struct hal_addr
 * (hal/addr.h). board_init() picks the backend (hal_net_set()).
 */
#ifndef HAL_NET_H
#define HAL_NET_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hal/addr.h"

#define HAL_POLL_IN  1u
#define HAL_POLL_OUT 2u
#define HAL_POLL_ERR 4u

struct hal_pollfd {
	int h;             /* a handle of this backend (a socket, or the uart's
			    * hal_uart_handle()); negative: skipped */
	unsigned events;   /* HAL_POLL_IN | HAL_POLL_OUT */
	unsigned revents;  /* set by poll() */
};

struct hal_net_ops {
	const char *name;
	int (*listen_tcp)(const struct hal_addr *a, int backlog);      /* handle or -errno */
	int (*accept)(int lh, struct hal_addr *peer);                  /* handle, -EAGAIN */
	int (*connect_tcp)(const struct hal_addr *a);                  /* handle; in progress */
	int (*connect_result)(int h);                                  /* 0, -EINPROGRESS, -errno */
	int (*udp_open)(int family);                                   /* random source port */
	ssize_t (*sendto)(int h, const void *p, size_t n, const struct hal_addr *to);
	ssize_t (*recvfrom)(int h, void *p, size_t n, struct hal_addr *from);
	ssize_t (*recv)(int h, void *p, size_t n);
	ssize_t (*send)(int h, const void *p, size_t n);
	int (*local_addr)(int h, struct hal_addr *a);
	int (*close)(int h);
	/* Number of ready handles, 0 on timeout, -errno; -EINTR is normal. */
	int (*poll)(struct hal_pollfd *fds, size_t n, int timeout_ms);
};

/* The active backend, set by board_init(); NULL before. */
const struct hal_net_ops *hal_net(void);
void hal_net_set(const struct hal_net_ops *ops);

extern const struct hal_net_ops hal_net_posix;

/* Callers use these wrappers, never hal_net()->op directly. */
static inline const char *
hal_net_name(void)
{
	return hal_net()->name;
}

static inline int
hal_net_listen_tcp(const struct hal_addr *a, int backlog)
{
	return hal_net()->listen_tcp(a, backlog);
}

static inline int
hal_net_accept(int lh, struct hal_addr *peer)
{
	return hal_net()->accept(lh, peer);
}

static inline int
hal_net_connect_tcp(const struct hal_addr *a)
{
	return hal_net()->connect_tcp(a);
}

static inline int
hal_net_connect_result(int h)
{
	return hal_net()->connect_result(h);
}

static inline int
hal_net_udp_open(int family)
{
	return hal_net()->udp_open(family);
}

static inline ssize_t
hal_net_sendto(int h, const void *p, size_t n, const struct hal_addr *to)
{
	return hal_net()->sendto(h, p, n, to);
}

static inline ssize_t
hal_net_recvfrom(int h, void *p, size_t n, struct hal_addr *from)
{
	return hal_net()->recvfrom(h, p, n, from);
}

static inline ssize_t
hal_net_recv(int h, void *p, size_t n)
{
	return hal_net()->recv(h, p, n);
}

static inline ssize_t
hal_net_send(int h, const void *p, size_t n)
{
	return hal_net()->send(h, p, n);
}

static inline int
hal_net_local_addr(int h, struct hal_addr *a)
{
	return hal_net()->local_addr(h, a);
}

static inline int
hal_net_close(int h)
{
	return hal_net()->close(h);
}

static inline int
hal_net_poll(struct hal_pollfd *fds, size_t n, int timeout_ms)
{
	return hal_net()->poll(fds, n, timeout_ms);
}

#endif
