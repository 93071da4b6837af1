/*
 * lwIP's start and its interface: the tcpip thread (lwIP's unix port
 * sys_arch), the loopback interface with the loop's wake-up socket pair,
 * and the one interface the appliance owns (TAP or packet socket) with its
 * addresses; `show lwip`.
 */
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_tun.h>

#include "lwip/dhcp.h"
#include "lwip/ip_addr.h"
#include "lwip/mld6.h"
#include "lwip/netif.h"
#include "lwip/sockets.h"
#include "lwip/stats.h"
#include "lwip/tcpip.h"
#include "netif/tapif.h"

#include "hal/addr.h"
#include "hal/entropy.h"
#include "hal/lwip.h"
#include "hal/lwip/internal.h"

/* this file sees lwip/sockets.h, and so <netinet/tcp.h>, like lwIP's memp.c:
 * the pools are sized for lwipopts.h's MSS only if that header's TCP_MSS
 * stayed out (lwipopts.h) */
_Static_assert(TCP_MSS == ZEGEL_LWIP_MSS, "TCP_MSS is not lwipopts.h's: a libc header redefined it");

static bool started;
static int wake_rx = -1, wake_tx = -1;
static struct sockaddr_in wake_to;
static struct netif nif;
static bool nif_added;
static struct hal_lwip_netif_cfg nif_cfg;
static char nif_name[16];

static void
init_done(void *arg)
{
	sem_post(arg);
}

/* runs in the kernel-fd thread */
static void
wake(void)
{
	(void)lwip_sendto(wake_tx, "w", 1, 0, (struct sockaddr *)&wake_to, sizeof(wake_to));
}

/* lwIP's own threads take no signals: they go to the loop's thread or the
 * kernel-fd waiter, whose waits they end. Except SIGSYS: the seccomp
 * filter's (firmware/privsep/seccomp.c) is forced on the calling thread,
 * and blocked it kills the process without its handler saying which call
 * it was */
static void
block_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, old);
}

int
lwip_stack_ensure(void)
{
	sem_t s;
	sigset_t old;
	unsigned seed = 0;
	socklen_t sl = sizeof(wake_to);
	int rc;

	if (started)
		return 0;
	/* LWIP_RAND (the unix port: rand()) picks initial ports, IDs */
	(void)hal_entropy_fill((uint8_t *)&seed, sizeof(seed));
	srand(seed);
	if (sem_init(&s, 0, 0) != 0)
		return -errno;
	block_signals(&old);
	tcpip_init(init_done, &s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	while (sem_wait(&s) != 0 && errno == EINTR) {
	}
	sem_destroy(&s);
	started = true;
	/* the wake-up pair on lwIP's loopback interface */
	memset(&wake_to, 0, sizeof(wake_to));
	wake_to.sin_family = AF_INET;
	wake_to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	wake_rx = lwip_socket(AF_INET, SOCK_DGRAM, 0);
	wake_tx = lwip_socket(AF_INET, SOCK_DGRAM, 0);
	if (wake_rx < 0 || wake_tx < 0 ||
	    lwip_bind(wake_rx, (struct sockaddr *)&wake_to, sizeof(wake_to)) != 0 ||
	    lwip_getsockname(wake_rx, (struct sockaddr *)&wake_to, &sl) != 0 ||
	    lwip_fcntl(wake_rx, F_SETFL, O_NONBLOCK) != 0)
		return errno ? -errno : -ENOBUFS;
	if ((rc = lwip_kwait_init(wake)) != 0)
		return rc;
	return 0;
}

int
lwip_stack_wake_socket(void)
{
	return wake_rx;
}

void
lwip_stack_wake_drain(void)
{
	char b[16];

	while (lwip_recv(wake_rx, b, sizeof(b), MSG_DONTWAIT) > 0) {
	}
}

/* Can this process attach to TAP device name? 0 or -errno. */
static int
tap_try(const char *name)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) != 0)
		rc = -errno;
	close(fd);
	return rc;
}

static void
mask_of(unsigned prefix, ip4_addr_t *m)
{
	uint32_t v = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);

	ip4_addr_set_u32(m, lwip_htonl(v));
}

int
hal_lwip_netif_start(const struct hal_lwip_netif_cfg *cfg, char *why, size_t cap)
{
	ip4_addr_t ip, mask, gw;
	netif_init_fn init;
	void *state = NULL;
	sigset_t old;
	struct netif *added;
	int rc;

	if ((rc = lwip_stack_ensure()) != 0) {
		snprintf(why, cap, "lwIP did not start: %s", strerror(-rc));
		return rc;
	}
	if (nif_added) {
		snprintf(why, cap, "the lwIP interface is up already (a change takes a restart)");
		return -EALREADY;
	}
	nif_cfg = *cfg;
	snprintf(nif_name, sizeof(nif_name), "%s", cfg->ifname[0] ? cfg->ifname : "tap0");
	ip4_addr_set_zero(&ip);
	ip4_addr_set_zero(&mask);
	ip4_addr_set_zero(&gw);
	if (cfg->has_ip4 && !cfg->dhcp) {
		memcpy(&ip, cfg->ip4, 4);
		mask_of(cfg->prefix4, &mask);
	}
	if (cfg->has_gw4 && !cfg->dhcp)
		memcpy(&gw, cfg->gw4, 4);
	if (cfg->driver == HAL_LWIP_TAP) {
		/* the unix port's tapif exits the process when it cannot
		 * attach: attach once here first, and say why not */
		if ((rc = tap_try(nif_name)) != 0) {
			snprintf(why, cap, "TAP %s: %s (create it: ip tuntap add dev %s mode tap "
			    "user <the network process's user>)", nif_name, strerror(-rc), nif_name);
			return rc;
		}
		/* set: tapif attaches to the existing device, never runs ifconfig */
		setenv("PRECONFIGURED_TAPIF", nif_name, 1);
		init = tapif_init;
	} else {
		init = lwip_packetif_init;
		state = nif_name;
	}
	block_signals(&old); /* the interface's reader thread */
	LOCK_TCPIP_CORE();
	added = netif_add(&nif, &ip, &mask, &gw, state, init, tcpip_input);
	if (added != NULL) {
		netif_set_default(&nif);
		netif_create_ip6_linklocal_address(&nif, 1);
		if (cfg->has_ip6) {
			ip6_addr_t a6;
			s8_t idx;

			memcpy(a6.addr, cfg->ip6, 16);
			ip6_addr_clear_zone(&a6);
			if (netif_add_ip6_address(&nif, &a6, &idx) == ERR_OK)
				netif_ip6_addr_set_state(&nif, idx, IP6_ADDR_PREFERRED);
		}
		/* without duplicate address detection lwIP joins no
		 * solicited-node group: join them, or neighbour solicitations
		 * for our addresses go unanswered */
		for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
			if (ip6_addr_isvalid(netif_ip6_addr_state(&nif, i))) {
				ip6_addr_t sn;

				ip6_addr_set_solicitednode(&sn, netif_ip6_addr(&nif, i)->addr[3]);
				mld6_joingroup_netif(&nif, &sn);
			}
		nif.ip6_autoconfig_enabled = 1; /* SLAAC from router advertisements */
		netif_set_link_up(&nif);
		netif_set_up(&nif);
		if (cfg->dhcp)
			dhcp_start(&nif);
	}
	UNLOCK_TCPIP_CORE();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (added == NULL) {
		snprintf(why, cap, "%s: the %s interface did not start (lwIP)", nif_name,
		    cfg->driver == HAL_LWIP_TAP ? "TAP" : "packet");
		return -ENODEV;
	}
	nif_added = true;
	return 0;
}

static void
pool_line(void (*emit)(void *, const char *), void *arg, const char *what, int type)
{
	char line[120];
	const struct stats_mem *m = lwip_stats.memp[type];

	if (m == NULL)
		return;
	snprintf(line, sizeof(line), "lwip pool %-10s %u used, %u peak, %u max, %u refused", what,
	    (unsigned)m->used, (unsigned)m->max, (unsigned)m->avail, (unsigned)m->err);
	emit(arg, line);
}

void
hal_lwip_status(void (*emit)(void *arg, const char *line), void *arg)
{
	char line[200], a[48], m[48], g[48];

	if (!nif_added) {
		emit(arg, started ? "lwip: no interface (set lwip driver/interface/address, then "
				    "save and restart)" : "lwip: not started");
		return;
	}
	LOCK_TCPIP_CORE();
	snprintf(line, sizeof(line), "lwip interface %s (%s), mac %02x:%02x:%02x:%02x:%02x:%02x, "
	    "link %s, %s", nif_name, nif_cfg.driver == HAL_LWIP_TAP ? "tap" : "packet",
	    nif.hwaddr[0], nif.hwaddr[1], nif.hwaddr[2], nif.hwaddr[3], nif.hwaddr[4],
	    nif.hwaddr[5], netif_is_link_up(&nif) ? "up" : "down",
	    netif_is_up(&nif) ? "up" : "down");
	emit(arg, line);
	ip4addr_ntoa_r(netif_ip4_addr(&nif), a, sizeof(a));
	ip4addr_ntoa_r(netif_ip4_netmask(&nif), m, sizeof(m));
	ip4addr_ntoa_r(netif_ip4_gw(&nif), g, sizeof(g));
	snprintf(line, sizeof(line), "lwip ipv4 %s netmask %s gateway %s%s", a, m, g,
	    !nif_cfg.dhcp ? "" : dhcp_supplied_address(&nif) ? " (dhcp: bound)" : " (dhcp: waiting)");
	emit(arg, line);
	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
		if (!ip6_addr_isinvalid(netif_ip6_addr_state(&nif, i))) {
			hal_addr_format_ip(6, (const uint8_t *)netif_ip6_addr(&nif, i)->addr, a,
			    sizeof(a));
			snprintf(line, sizeof(line), "lwip ipv6 %s%s", a,
			    ip6_addr_ispreferred(netif_ip6_addr_state(&nif, i)) ? "" : " (tentative)");
			emit(arg, line);
		}
	pool_line(emit, arg, "tcp", MEMP_TCP_PCB);
	pool_line(emit, arg, "netconn", MEMP_NETCONN);
	pool_line(emit, arg, "tcp-seg", MEMP_TCP_SEG);
	pool_line(emit, arg, "pbuf-pool", MEMP_PBUF_POOL);
	pool_line(emit, arg, "udp", MEMP_UDP_PCB);
	UNLOCK_TCPIP_CORE();
}
