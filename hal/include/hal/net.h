/*
 * hal/net.h — non-blocking sockets and poll for the event loop.
 *
 * Only firmware/core (the event loop) and the command-line tools call these;
 * protocol engines get bytes, never sockets. Handles are small ints. Every
 * socket is non-blocking: recv/send return -EAGAIN when they would block, 0 from
 * recv at end of stream. Addresses are IPv4 or IPv6 in struct hal_addr.
 */
#ifndef HAL_NET_H
#define HAL_NET_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hal_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
	uint16_t port;
};

#define HAL_ADDR_STRLEN 56 /* "[ffff:...:ffff]:65535" */

/* "1.2.3.4", "1.2.3.4:25", "::1", "[::1]:25"; default_port if none given. */
int hal_addr_parse(struct hal_addr *a, const char *s, uint16_t default_port);
/* "1.2.3.4:25" or "[::1]:25" (with_port) or the bare address. */
void hal_addr_format(const struct hal_addr *a, bool with_port, char *buf, size_t cap);

#define HAL_POLL_IN  1u
#define HAL_POLL_OUT 2u
#define HAL_POLL_ERR 4u

struct hal_pollfd {
	int fd;
	unsigned events;
	unsigned revents;
};

struct hal_net_ops {
	const char *name;
	int (*listen_tcp)(const struct hal_addr *a, int backlog);      /* fd or -errno */
	int (*accept)(int lfd, struct hal_addr *peer);                 /* fd, -EAGAIN */
	int (*connect_tcp)(const struct hal_addr *a);                  /* fd; in progress */
	int (*connect_result)(int fd);                                 /* 0, -EINPROGRESS, -errno */
	int (*udp_open)(int family);                                   /* random source port */
	ssize_t (*sendto)(int fd, const void *p, size_t n, const struct hal_addr *to);
	ssize_t (*recvfrom)(int fd, void *p, size_t n, struct hal_addr *from);
	ssize_t (*recv)(int fd, void *p, size_t n);
	ssize_t (*send)(int fd, const void *p, size_t n);
	int (*local_addr)(int fd, struct hal_addr *a);
	int (*close)(int fd);
	/* Number of ready descriptors, 0 on timeout, -errno; -EINTR is normal. */
	int (*poll)(struct hal_pollfd *fds, size_t n, int timeout_ms);
};

const struct hal_net_ops *hal_net(void);
void hal_net_set(const struct hal_net_ops *ops);
extern const struct hal_net_ops hal_net_posix;

/* Callers use these wrappers, never hal_net()->op directly. */
static inline const char *hal_net_name(void) { return hal_net()->name; }
static inline int hal_net_listen_tcp(const struct hal_addr *a, int backlog) { return hal_net()->listen_tcp(a, backlog); }
static inline int hal_net_accept(int lfd, struct hal_addr *peer) { return hal_net()->accept(lfd, peer); }
static inline int hal_net_connect_tcp(const struct hal_addr *a) { return hal_net()->connect_tcp(a); }
static inline int hal_net_connect_result(int fd) { return hal_net()->connect_result(fd); }
static inline int hal_net_udp_open(int family) { return hal_net()->udp_open(family); }
static inline ssize_t hal_net_sendto(int fd, const void *p, size_t n, const struct hal_addr *to) { return hal_net()->sendto(fd, p, n, to); }
static inline ssize_t hal_net_recvfrom(int fd, void *p, size_t n, struct hal_addr *from) { return hal_net()->recvfrom(fd, p, n, from); }
static inline ssize_t hal_net_recv(int fd, void *p, size_t n) { return hal_net()->recv(fd, p, n); }
static inline ssize_t hal_net_send(int fd, const void *p, size_t n) { return hal_net()->send(fd, p, n); }
static inline int hal_net_local_addr(int fd, struct hal_addr *a) { return hal_net()->local_addr(fd, a); }
static inline int hal_net_close(int fd) { return hal_net()->close(fd); }
static inline int hal_net_poll(struct hal_pollfd *fds, size_t n, int timeout_ms) { return hal_net()->poll(fds, n, timeout_ms); }

#endif
