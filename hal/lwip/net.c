/*
 * hal_net over lwIP's socket API (lwip_socket ... lwip_poll). Handles are
 * lwIP socket numbers plus HAL_LWIP_HANDLE_BASE; a handle below the base is
 * a kernel file descriptor (the console, the key holder's socket) that only
 * poll() ever sees: those are waited for by the kernel-fd thread (kwait.c)
 * while this thread sleeps in lwip_poll (README.md).
 */
#include <fcntl.h>
#include <string.h>

#include "lwip/sockets.h"

#include "hal/entropy.h"
#include "hal/lwip.h"
#include "hal/net.h"
#include "hal/lwip/internal.h"

#define B HAL_LWIP_HANDLE_BASE

static int
err_now(void)
{
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

static int
sock_of(int h)
{
	return h >= B ? h - B : -1;
}

/* A non-blocking lwIP socket as a handle, or -errno. */
static int
open_socket(int family, int type)
{
	int s, rc;

	if ((rc = lwip_stack_ensure()) != 0)
		return rc;
	s = lwip_socket(family == 6 ? AF_INET6 : AF_INET, type, 0);
	if (s < 0)
		return errno ? -errno : -ENOBUFS;
	if (lwip_fcntl(s, F_SETFL, O_NONBLOCK) != 0) {
		rc = -errno;
		lwip_close(s);
		return rc;
	}
	return s + B;
}

static int
lw_listen_tcp(const struct hal_addr *a, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)hal_addr_to_sockaddr(a, &ss);
	int one = 1, h = open_socket(a->family, SOCK_STREAM), rc;

	if (h < 0)
		return h;
	lwip_setsockopt(h - B, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* connections the stack took but the loop did not accept yet hold
	 * lwIP pools: at most ZEGEL_LWIP_BACKLOG (lwipopts.h) */
	if (backlog > ZEGEL_LWIP_BACKLOG)
		backlog = ZEGEL_LWIP_BACKLOG;
	if (lwip_bind(h - B, (struct sockaddr *)&ss, sl) != 0 || lwip_listen(h - B, backlog) != 0) {
		rc = -errno;
		lwip_close(h - B);
		return rc;
	}
	return h;
}

static int
lw_accept(int lh, struct hal_addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int s = lwip_accept(sock_of(lh), (struct sockaddr *)&ss, &sl), one = 1;

	if (s < 0)
		return err_now();
	if (lwip_fcntl(s, F_SETFL, O_NONBLOCK) != 0) {
		lwip_close(s);
		return -EIO;
	}
	lwip_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (peer)
		hal_addr_from_sockaddr(&ss, peer);
	return s + B;
}

static int
lw_connect_tcp(const struct hal_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)hal_addr_to_sockaddr(a, &ss);
	int h = open_socket(a->family, SOCK_STREAM), one = 1, rc;

	if (h < 0)
		return h;
	lwip_setsockopt(h - B, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (lwip_connect(h - B, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
		rc = -errno;
		lwip_close(h - B);
		return rc;
	}
	return h;
}

static int
lw_connect_result(int h)
{
	int err = 0;
	socklen_t sl = sizeof(err);
	struct pollfd p = { .fd = sock_of(h), .events = POLLOUT };

	if (lwip_poll(&p, 1, 0) == 0)
		return -EINPROGRESS;
	if (lwip_getsockopt(sock_of(h), SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
		return -errno;
	if (err == 0 && (p.revents & (POLLERR | POLLNVAL)))
		return -ECONNREFUSED;
	return -err;
}

static int
lw_udp_open(int family)
{
	int h = open_socket(family, SOCK_DGRAM);

	if (h < 0)
		return h;
	/* lwIP hands out ephemeral ports in sequence: a DNS query's source
	 * port must be unpredictable (RFC 5452), so pick one at random */
	for (int tries = 0; tries < 8; tries++) {
		struct hal_addr any = { .family = (uint8_t)(family == 6 ? 6 : 4) };
		struct sockaddr_storage ss;
		uint16_t r;
		socklen_t sl;

		if (hal_entropy_fill((uint8_t *)&r, sizeof(r)) != 0)
			break;
		any.port = (uint16_t)(49152 + r % 16384);
		sl = (socklen_t)hal_addr_to_sockaddr(&any, &ss);
		if (lwip_bind(h - B, (struct sockaddr *)&ss, sl) == 0)
			return h;
	}
	return h; /* bound at the first send, by lwIP */
}

static ssize_t
lw_sendto(int h, const void *p, size_t n, const struct hal_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)hal_addr_to_sockaddr(to, &ss);
	ssize_t r = lwip_sendto(sock_of(h), p, n, 0, (struct sockaddr *)&ss, sl);

	return r < 0 ? err_now() : r;
}

static ssize_t
lw_recvfrom(int h, void *p, size_t n, struct hal_addr *from)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t r = lwip_recvfrom(sock_of(h), p, n, 0, (struct sockaddr *)&ss, &sl);

	if (r < 0)
		return err_now();
	if (from)
		hal_addr_from_sockaddr(&ss, from);
	return r;
}

static ssize_t
lw_recv(int h, void *p, size_t n)
{
	ssize_t r = lwip_recv(sock_of(h), p, n, 0);

	return r < 0 ? err_now() : r;
}

static ssize_t
lw_send(int h, const void *p, size_t n)
{
	ssize_t r = lwip_send(sock_of(h), p, n, 0);

	return r < 0 ? err_now() : r;
}

static int
lw_local_addr(int h, struct hal_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (lwip_getsockname(sock_of(h), (struct sockaddr *)&ss, &sl) != 0)
		return -errno;
	hal_addr_from_sockaddr(&ss, a);
	return 0;
}

static int
lw_close(int h)
{
	return lwip_close(sock_of(h)) == 0 ? 0 : -errno;
}

static unsigned
revents_of(short re)
{
	return ((re & (POLLIN | POLLHUP)) ? HAL_POLL_IN : 0) | ((re & POLLOUT) ? HAL_POLL_OUT : 0) |
	    ((re & (POLLERR | POLLNVAL)) ? HAL_POLL_ERR : 0);
}

/*
 * One wait over lwIP sockets and kernel fds. Kernel fds that are ready now
 * end it at once; otherwise the kernel-fd thread waits for them and wakes
 * lwip_poll through the wake-up socket, and this thread's lwip_poll ending
 * first (an lwIP socket, the timeout) cancels that thread's wait.
 */
static int
lw_poll(struct hal_pollfd *fds, size_t n, int timeout_ms)
{
	static struct pollfd lp[LWIP_POLL_MAX + 1], kp[LWIP_POLL_MAX];
	static size_t li[LWIP_POLL_MAX], ki[LWIP_POLL_MAX];
	size_t nl = 0, nk = 0;
	int r, ready = 0;

	if (n > LWIP_POLL_MAX)
		return -EINVAL;
	if ((r = lwip_stack_ensure()) != 0)
		return r;
	lwip_stack_watch(); /* DHCP and SLAAC news for the log (stack.c) */
	for (size_t i = 0; i < n; i++) {
		short ev = (short)(((fds[i].events & HAL_POLL_IN) ? POLLIN : 0) |
		    ((fds[i].events & HAL_POLL_OUT) ? POLLOUT : 0));

		fds[i].revents = 0;
		if (fds[i].h >= B) {
			lp[nl] = (struct pollfd){ fds[i].h - B, ev, 0 };
			li[nl++] = i;
		} else if (fds[i].h >= 0) {
			kp[nk] = (struct pollfd){ fds[i].h, ev, 0 };
			ki[nk++] = i;
		}
	}
	/* lwip_poll takes no empty array (EINVAL): NULL, and it just sleeps */
	if (nk == 0) {
		r = lwip_poll(nl ? lp : NULL, (nfds_t)nl, timeout_ms);
	} else if ((r = poll(kp, (nfds_t)nk, 0)) != 0) {
		if (r < 0)
			return -errno;
		r = nl ? lwip_poll(lp, (nfds_t)nl, 0) : 0;
	} else {
		lp[nl] = (struct pollfd){ lwip_stack_wake_socket(), POLLIN, 0 };
		lwip_kwait_begin(kp, nk);
		r = lwip_poll(lp, (nfds_t)nl + 1, timeout_ms);
		lwip_kwait_end(kp, nk);
		if (lp[nl].revents & POLLIN)
			lwip_stack_wake_drain();
	}
	if (r < 0)
		return -errno;
	for (size_t k = 0; k < nl; k++)
		if ((fds[li[k]].revents = revents_of(lp[k].revents)) != 0)
			ready++;
	for (size_t k = 0; k < nk; k++)
		if ((fds[ki[k]].revents = revents_of(kp[k].revents)) != 0)
			ready++;
	return ready;
}

const struct hal_net_ops hal_net_lwip = {
	.name = "lwip (lwIP 2.1.3 sockets, lwip_poll)",
	.listen_tcp = lw_listen_tcp,       /* SO_REUSEADDR; IPv6 sockets v6-only */
	.accept = lw_accept,
	.connect_tcp = lw_connect_tcp,     /* TCP_NODELAY, as accept */
	.connect_result = lw_connect_result,
	.udp_open = lw_udp_open,           /* a random port 49152..65535 */
	.sendto = lw_sendto,
	.recvfrom = lw_recvfrom,
	.recv = lw_recv,
	.send = lw_send,
	.local_addr = lw_local_addr,
	.close = lw_close,
	.poll = lw_poll,                   /* lwIP sockets and kernel fds, up to 256 */
};
