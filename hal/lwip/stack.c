/*
 * lwIP's start and its interface: the tcpip thread (lwIP's unix port
 * sys_arch), the loopback interface with the loop's wake-up socket pair,
 * and the one interface the appliance owns (TAP or packet socket) with its
 * addresses; `show lwip`; the log lines of its DHCP lease and of what
 * router advertisements configure (lwip_stack_watch).
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
#include "lwip/priv/nd6_priv.h"
#include "lwip/prot/dhcp.h"
#include "lwip/sockets.h"
#include "lwip/stats.h"
#include "lwip/tcpip.h"
#include "netif/tapif.h"

#include "hal/addr.h"
#include "hal/clock.h"
#include "hal/entropy.h"
#include "hal/lwip.h"
#include "hal/lwip/internal.h"
#include "hal/log.h"

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
static bool dhcp_on; /* dhcp_start() succeeded */

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
	err_t dhcp_err = ERR_OK;
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
#if LWIP_IPV6_AUTOCONFIG
		nif.ip6_autoconfig_enabled = 1; /* SLAAC from router advertisements */
#endif
		netif_set_link_up(&nif);
		netif_set_up(&nif);
		if (cfg->dhcp)
			dhcp_err = dhcp_start(&nif);
	}
	UNLOCK_TCPIP_CORE();
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (added == NULL) {
		snprintf(why, cap, "%s: the %s interface did not start (lwIP)", nif_name,
		    cfg->driver == HAL_LWIP_TAP ? "TAP" : "packet");
		return -ENODEV;
	}
	nif_added = true;
	/* the interface stays up (IPv6 works without DHCP) */
	dhcp_on = cfg->dhcp && dhcp_err == ERR_OK;
	if (dhcp_err != ERR_OK)
		hal_log(HAL_LOG_ERR, "lwip", "DHCP on %s did not start (lwIP error %d, out of "
		    "memory): no IPv4 address", nif_name, (int)dhcp_err);
	return 0;
}

/*
 * The log lines of what the network gives the interface (DHCP, router
 * advertisements). lwIP's netif callbacks are off (lwipopts.h), and they
 * would run on the tcpip thread, while hal_log belongs to the loop's: the
 * loop's thread (net.c, every hal_net_poll) compares a snapshot taken under
 * the core lock with the last one, at most every 250 ms, and logs what
 * changed. A state that lasts less than that (a renewal's request and its
 * answer) is seen by what it leaves: a DHCP renewal by the count of
 * requests lwIP sent to renew or rebind (lwipopts.h's hook), as the lease
 * looks the same after its ACK as before.
 */
#define WATCH_MS 250
#define DHCP_QUIET_MS 10000 /* no lease so long: say so (once per wait) */

struct netstate {
	u8_t dhcp_state;
	u32_t renewals, lease, t1, t2;
	ip4_addr_t ip, mask, gw, server;
	u8_t st6[LWIP_IPV6_NUM_ADDRESSES];
	u32_t life6[LWIP_IPV6_NUM_ADDRESSES]; /* 0: static (link-local, set lwip address6) */
	ip6_addr_t a6[LWIP_IPV6_NUM_ADDRESSES];
	bool has_rtr[LWIP_ND6_NUM_ROUTERS];
	u32_t rtr_life[LWIP_ND6_NUM_ROUTERS];
	ip6_addr_t rtr[LWIP_ND6_NUM_ROUTERS];
};

static struct netstate seen;
static bool watching, dhcp_warned;
static uint64_t watch_next, dhcp_waiting_since;
static u32_t renewals, bound_renewals; /* requests sent renewing or rebinding */

/* lwipopts.h's LWIP_HOOK_DHCP_APPEND_OPTIONS: the tcpip thread, core lock held */
void
zegel_lwip_dhcp_sending(unsigned char state)
{
	if (state == DHCP_STATE_RENEWING || state == DHCP_STATE_REBINDING)
		renewals++;
}

#define HAS_LEASE(st) ((st) == DHCP_STATE_BOUND || (st) == DHCP_STATE_RENEWING || \
	(st) == DHCP_STATE_REBINDING)

/* under the core lock */
static void
snapshot(struct netstate *s)
{
	const struct dhcp *d = netif_dhcp_data(&nif);

	memset(s, 0, sizeof(*s));
	if (d != NULL) {
		s->dhcp_state = d->state;
		s->renewals = renewals;
		s->lease = d->offered_t0_lease;
		s->t1 = d->offered_t1_renew;
		s->t2 = d->offered_t2_rebind;
		ip4_addr_copy(s->server, *ip_2_ip4(&d->server_ip_addr));
	}
	ip4_addr_copy(s->ip, *netif_ip4_addr(&nif));
	ip4_addr_copy(s->mask, *netif_ip4_netmask(&nif));
	ip4_addr_copy(s->gw, *netif_ip4_gw(&nif));
	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
		s->st6[i] = netif_ip6_addr_state(&nif, i);
#if LWIP_IPV6_ADDRESS_LIFETIMES
		s->life6[i] = netif_ip6_addr_valid_life(&nif, i);
#endif
		ip6_addr_copy(s->a6[i], *netif_ip6_addr(&nif, i));
	}
	for (int i = 0; i < LWIP_ND6_NUM_ROUTERS; i++) {
		const struct nd6_router_list_entry *r = &default_router_list[i];

		if (r->neighbor_entry == NULL || r->neighbor_entry->netif != &nif)
			continue;
		s->has_rtr[i] = true;
		s->rtr_life[i] = r->invalidation_timer;
		ip6_addr_copy(s->rtr[i], r->neighbor_entry->next_hop_address);
	}
}

static unsigned
prefix_of(const ip4_addr_t *mask)
{
	return (unsigned)__builtin_popcount(ip4_addr_get_u32(mask));
}

static void
secs(char *b, size_t cap, u32_t v)
{
	if (v == 0xffffffffUL)
		snprintf(b, cap, "no expiry");
	else
		snprintf(b, cap, "%lu s", (unsigned long)v);
}

static void
ip6_text(const ip6_addr_t *a, char *b, size_t cap)
{
	hal_addr_format_ip(6, (const uint8_t *)a->addr, b, cap);
}

static void
watch_dhcp(const struct netstate *now, uint64_t t)
{
	bool was = HAS_LEASE(seen.dhcp_state), is = HAS_LEASE(now->dhcp_state);
	char ip[16], old[16], gw[16], srv[16], l[16];

	ip4addr_ntoa_r(&now->ip, ip, sizeof(ip));
	ip4addr_ntoa_r(&seen.ip, old, sizeof(old));
	ip4addr_ntoa_r(&now->gw, gw, sizeof(gw));
	ip4addr_ntoa_r(&now->server, srv, sizeof(srv));
	secs(l, sizeof(l), now->lease);
	if (is && (!was || !ip4_addr_cmp(&now->ip, &seen.ip))) {
		/* a new lease (a NAK and the next lease can both fall
		 * between two looks: then only the address changed) */
		hal_log(HAL_LOG_INFO, "lwip", "DHCP on %s: address %s/%u, gateway %s, from server %s, "
		    "lease %s%s%s", nif_name, ip, prefix_of(&now->mask),
		    ip4_addr_isany_val(now->gw) ? "none" : gw, srv, l, was ? ", replaces " : "",
		    was ? old : "");
		bound_renewals = now->renewals;
		dhcp_warned = false;
	} else if (now->dhcp_state == DHCP_STATE_BOUND && now->renewals != bound_renewals) {
		hal_log(HAL_LOG_INFO, "lwip", "DHCP on %s: lease %s renewed by server %s, %s",
		    nif_name, ip, srv, l);
		bound_renewals = now->renewals;
	} else if (was && !is) {
		hal_log(HAL_LOG_WARN, "lwip", "DHCP on %s: the lease of %s ended (refused by the "
		    "server or expired): no IPv4 address, asking again", nif_name, old);
		dhcp_waiting_since = t;
	}
	if (now->dhcp_state == DHCP_STATE_REBINDING && seen.dhcp_state != DHCP_STATE_REBINDING)
		hal_log(HAL_LOG_WARN, "lwip", "DHCP on %s: server %s did not renew the lease of %s: "
		    "asking any server (rebinding)", nif_name, srv, ip);
	if (!is && !dhcp_warned && t - dhcp_waiting_since >= DHCP_QUIET_MS) {
		hal_log(HAL_LOG_WARN, "lwip", "DHCP on %s: no DHCP server answered in %u s; still "
		    "asking (no IPv4 address until one does)", nif_name,
		    (unsigned)((t - dhcp_waiting_since) / 1000));
		dhcp_warned = true;
	}
}

static bool
has_router(const struct netstate *s, const ip6_addr_t *a)
{
	for (int i = 0; i < LWIP_ND6_NUM_ROUTERS; i++)
		if (s->has_rtr[i] && ip6_addr_cmp_zoneless(&s->rtr[i], a))
			return true;
	return false;
}

/* addresses and routers from router advertisements (SLAAC): not static */
static void
watch_ip6(const struct netstate *now)
{
	char a[48], l[16];

	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++) {
		bool v = ip6_addr_isvalid(now->st6[i]) && now->life6[i] != 0;
		bool vs = ip6_addr_isvalid(seen.st6[i]) && seen.life6[i] != 0;
		bool same = ip6_addr_cmp_zoneless(&now->a6[i], &seen.a6[i]);

		if (vs && (!v || !same)) {
			ip6_text(&seen.a6[i], a, sizeof(a));
			hal_log(HAL_LOG_INFO, "lwip", "IPv6 %s (SLAAC) removed: its lifetime ended", a);
		}
		if (v && (!vs || !same)) {
			ip6_text(&now->a6[i], a, sizeof(a));
			secs(l, sizeof(l), now->life6[i]);
			hal_log(HAL_LOG_INFO, "lwip", "IPv6 %s from a router advertisement (SLAAC), "
			    "valid %s", a, l);
		}
	}
	for (int i = 0; i < LWIP_ND6_NUM_ROUTERS; i++) {
		if (seen.has_rtr[i] && !has_router(now, &seen.rtr[i])) {
			ip6_text(&seen.rtr[i], a, sizeof(a));
			hal_log(HAL_LOG_INFO, "lwip", "IPv6 default router %s gone", a);
		}
		if (now->has_rtr[i] && !has_router(&seen, &now->rtr[i])) {
			ip6_text(&now->rtr[i], a, sizeof(a));
			secs(l, sizeof(l), now->rtr_life[i]);
			hal_log(HAL_LOG_INFO, "lwip", "IPv6 default router %s (router advertisement, "
			    "lifetime %s)", a, l);
		}
	}
}

void
lwip_stack_watch(void)
{
	struct netstate now;
	uint64_t t;

	if (!nif_added)
		return;
	t = hal_clock_mono_ms();
	if (watching && t < watch_next)
		return;
	watch_next = t + WATCH_MS;
	LOCK_TCPIP_CORE();
	snapshot(&now);
	UNLOCK_TCPIP_CORE();
	if (!watching) {
		watching = true;
		dhcp_waiting_since = t;
		if (dhcp_on)
			hal_log(HAL_LOG_INFO, "lwip", "DHCP on %s: asking for an IPv4 address", nif_name);
	}
	if (dhcp_on)
		watch_dhcp(&now, t);
	watch_ip6(&now);
	seen = now;
}

static const char *
dhcp_state_name(u8_t st)
{
	switch (st) {
	case DHCP_STATE_BOUND: return "bound";
	case DHCP_STATE_RENEWING: return "renewing";
	case DHCP_STATE_REBINDING: return "rebinding";
	case DHCP_STATE_SELECTING: return "selecting (discover sent)";
	case DHCP_STATE_REQUESTING: return "requesting";
	case DHCP_STATE_REBOOTING: return "rebooting";
	case DHCP_STATE_BACKING_OFF: return "backing off";
	case DHCP_STATE_OFF: return "off";
	default: return "starting";
	}
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
	struct netstate now;

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
	snapshot(&now);
	if (nif_cfg.dhcp) {
		char lt[16], t1[16], t2[16];

		ip4addr_ntoa_r(&now.server, a, sizeof(a));
		secs(lt, sizeof(lt), now.lease);
		secs(t1, sizeof(t1), now.t1);
		secs(t2, sizeof(t2), now.t2);
		if (HAS_LEASE(now.dhcp_state))
			snprintf(line, sizeof(line), "lwip dhcp %s, server %s, lease %s, renew after "
			    "%s, rebind after %s (lwIP times them in whole minutes)",
			    dhcp_state_name(now.dhcp_state), a, lt, t1, t2);
		else
			snprintf(line, sizeof(line), "lwip dhcp %s, no lease", dhcp_state_name(now.dhcp_state));
		emit(arg, line);
	}
	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
		if (!ip6_addr_isinvalid(now.st6[i])) {
			char lt[16], slaac[32] = "";

			ip6_text(&now.a6[i], a, sizeof(a));
			secs(lt, sizeof(lt), now.life6[i]);
			if (now.life6[i] != 0) /* not static: SLAAC */
				snprintf(slaac, sizeof(slaac), " (slaac, valid %s)", lt);
			snprintf(line, sizeof(line), "lwip ipv6 %s%s%s", a,
			    ip6_addr_ispreferred(now.st6[i]) ? "" : " (tentative)", slaac);
			emit(arg, line);
		}
	for (int i = 0; i < LWIP_ND6_NUM_ROUTERS; i++)
		if (now.has_rtr[i]) {
			char lt[16];

			ip6_text(&now.rtr[i], a, sizeof(a));
			secs(lt, sizeof(lt), now.rtr_life[i]);
			snprintf(line, sizeof(line), "lwip ipv6 router %s (router advertisement, %s left)",
			    a, lt);
			emit(arg, line);
		}
	pool_line(emit, arg, "tcp", MEMP_TCP_PCB);
	pool_line(emit, arg, "netconn", MEMP_NETCONN);
	pool_line(emit, arg, "tcp-seg", MEMP_TCP_SEG);
	pool_line(emit, arg, "pbuf-pool", MEMP_PBUF_POOL);
	pool_line(emit, arg, "udp", MEMP_UDP_PCB);
	UNLOCK_TCPIP_CORE();
}
