/* Non-blocking POSIX sockets and poll(2) for the event loop. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hal/net.h"

static int
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* A non-blocking, close-on-exec socket of family 4 or 6, or -errno. */
static int
open_socket(int family, int type)
{
	int fd = socket(family == 6 ? AF_INET6 : AF_INET, type, 0), rc;

	if (fd < 0)
		return -errno;
	rc = set_nonblock(fd);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static int
posix_listen_tcp(const struct hal_addr *a, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)hal_addr_to_sockaddr(a, &ss);
	int one = 1, fd = open_socket(a->family, SOCK_STREAM), rc;

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->family == 6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, backlog) != 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int
posix_accept(int lfd, struct hal_addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd = accept(lfd, (struct sockaddr *)&ss, &sl);
	int one = 1;

	if (fd < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (set_nonblock(fd) != 0) {
		close(fd);
		return -EIO;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (peer)
		hal_addr_from_sockaddr(&ss, peer);
	return fd;
}

static int
posix_connect_tcp(const struct hal_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)hal_addr_to_sockaddr(a, &ss);
	int fd = open_socket(a->family, SOCK_STREAM);
	int one = 1, rc;

	if (fd < 0)
		return fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
		rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static int
posix_connect_result(int fd)
{
	int err = 0;
	socklen_t sl = sizeof(err);
	struct pollfd p = { .fd = fd, .events = POLLOUT };

	if (poll(&p, 1, 0) == 0)
		return -EINPROGRESS;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) != 0)
		return -errno;
	return -err;
}

static int
posix_udp_open(int family)
{
	/* unbound: the kernel picks a random ephemeral port on send */
	return open_socket(family, SOCK_DGRAM);
}

static ssize_t
posix_sendto(int fd, const void *p, size_t n, const struct hal_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = (socklen_t)hal_addr_to_sockaddr(to, &ss);
	ssize_t r = sendto(fd, p, n, MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);

	return r < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : r;
}

static ssize_t
posix_recvfrom(int fd, void *p, size_t n, struct hal_addr *from)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t r = recvfrom(fd, p, n, 0, (struct sockaddr *)&ss, &sl);

	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (from)
		hal_addr_from_sockaddr(&ss, from);
	return r;
}

static ssize_t
posix_recv(int fd, void *p, size_t n)
{
	ssize_t r = recv(fd, p, n, 0);

	return r < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : r;
}

static ssize_t
posix_send(int fd, const void *p, size_t n)
{
	ssize_t r = send(fd, p, n, MSG_NOSIGNAL);

	return r < 0 ? (errno == EWOULDBLOCK ? -EAGAIN : -errno) : r;
}

static int
posix_local_addr(int fd, struct hal_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -errno;
	hal_addr_from_sockaddr(&ss, a);
	return 0;
}

static int
posix_net_close(int fd)
{
	return close(fd) == 0 ? 0 : -errno;
}

static int
posix_poll(struct hal_pollfd *fds, size_t n, int timeout_ms)
{
	struct pollfd p[256];
	int r;

	if (n > 256)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		p[i].fd = fds[i].h;
		p[i].events = (short)(((fds[i].events & HAL_POLL_IN) ? POLLIN : 0) |
		    ((fds[i].events & HAL_POLL_OUT) ? POLLOUT : 0));
		p[i].revents = 0;
	}
	r = poll(p, (nfds_t)n, timeout_ms);
	if (r < 0)
		return -errno;
	for (size_t i = 0; i < n; i++) {
		fds[i].revents = ((p[i].revents & (POLLIN | POLLHUP)) ? HAL_POLL_IN : 0) |
		    ((p[i].revents & POLLOUT) ? HAL_POLL_OUT : 0) |
		    ((p[i].revents & (POLLERR | POLLNVAL)) ? HAL_POLL_ERR : 0);
	}
	return r;
}

const struct hal_net_ops hal_net_posix = {
	.name = "posix (sockets, poll)",
	.listen_tcp = posix_listen_tcp,     /* SO_REUSEADDR; IPv6 sockets v6-only */
	.accept = posix_accept,
	.connect_tcp = posix_connect_tcp,   /* TCP_NODELAY, as accept */
	.connect_result = posix_connect_result,
	.udp_open = posix_udp_open,         /* unbound: the kernel picks the port */
	.sendto = posix_sendto,
	.recvfrom = posix_recvfrom,
	.recv = posix_recv,
	.send = posix_send,
	.local_addr = posix_local_addr,
	.close = posix_net_close,
	.poll = posix_poll,                 /* up to 256 handles */
};
