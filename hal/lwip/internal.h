/* hal/lwip/: what its files share (not an interface of hal/). */
#ifndef HAL_LWIP_INTERNAL_H
#define HAL_LWIP_INTERNAL_H

#include <poll.h>
#include <stddef.h>

#include "lwip/netif.h"

#define LWIP_POLL_MAX 256 /* handles per hal_net_poll(), as the POSIX backend */

/* stack.c: start lwIP once (tcpip thread, loopback, the wake-up pair); 0 or -errno. */
int lwip_stack_ensure(void);
/* stack.c: the socket the kernel-fd waiter's datagram makes readable. */
int lwip_stack_wake_socket(void);
/* stack.c: drain it. */
void lwip_stack_wake_drain(void);
/* stack.c: log what DHCP and router advertisements changed on the
 * interface since the last look (the loop's thread: net.c's poll). */
void lwip_stack_watch(void);

/* kwait.c: the kernel-fd waiter thread (README.md). begin() hands it the
 * kernel half of a poll set (it polls those plus its cancel eventfd and,
 * when one is ready, sends the wake-up datagram); end() cancels the wait if
 * still running, waits for the thread and copies the revents back. */
int lwip_kwait_init(void (*wake)(void));
void lwip_kwait_begin(const struct pollfd *kp, size_t n);
void lwip_kwait_end(struct pollfd *kp, size_t n);

/* packetif.c: netif init for an existing interface through AF_PACKET;
 * netif->state points to the interface name (char[16]). */
err_t lwip_packetif_init(struct netif *netif);

#endif
