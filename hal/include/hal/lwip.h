/*
 * hal/lwip.h — the lwIP network backend's own controls (hal/lwip/).
 *
 * hal_net_lwip (hal/net.h ops) is zegel's sockets over lwIP's socket API:
 * handles are lwIP sockets offset by HAL_LWIP_HANDLE_BASE, so a poll set may
 * mix them with kernel file descriptors (the console's tty, the key holder's
 * socket) and poll() serves both (hal/lwip/README.md: how, without spinning).
 *
 * The stack starts with the first socket (lwIP's tcpip thread, the loopback
 * interface). hal_lwip_netif_start() adds the interface the appliance owns,
 * once, before its listeners are used: a TAP device (lwIP's unix port
 * tapif) or an existing interface driven through a packet socket
 * (hal/lwip/packetif.c), with a static IPv4 address and gateway, DHCP, and
 * a static IPv6 address (SLAAC from router advertisements on top).
 */
#ifndef HAL_LWIP_H
#define HAL_LWIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HAL_LWIP_HANDLE_BASE 16384 /* handles below are kernel fds */

enum hal_lwip_driver { HAL_LWIP_TAP = 0, HAL_LWIP_PACKET = 1 };

struct hal_lwip_netif_cfg {
	enum hal_lwip_driver driver;
	char ifname[16];          /* "" = "tap0" (TAP) */
	bool dhcp;                /* IPv4 address from lwIP's DHCP client */
	bool has_ip4, has_gw4, has_ip6;
	uint8_t ip4[4], prefix4, gw4[4];
	uint8_t ip6[16], prefix6;
};

/* Add and bring up the interface; 0, or -errno with a reason in why. */
int hal_lwip_netif_start(const struct hal_lwip_netif_cfg *cfg, char *why, size_t cap);

/* `show lwip`: the interface, its addresses, the pools (a line each). */
void hal_lwip_status(void (*emit)(void *arg, const char *line), void *arg);

extern const struct hal_net_ops hal_net_lwip;

#endif
