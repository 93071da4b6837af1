/*
 * An lwIP netif on an existing Linux interface through a packet socket
 * (AF_PACKET, SOCK_RAW): zegel owns that interface (or VLAN) with addresses
 * the kernel does not have. It uses a MAC address of its own (the
 * interface's, locally administered and changed in its last byte), added to
 * the interface's unicast filter (PACKET_MR_UNICAST, so no promiscuous
 * mode), and takes only frames to that MAC, broadcasts and multicasts: the
 * kernel's own traffic on the interface stays the kernel's. A thread reads
 * frames and hands them to the tcpip thread (tcpip_input); output is one
 * send() per frame from the tcpip thread.
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/sys.h"

#include "hal/lwip/internal.h"

#define FRAME_MAX 1518

struct packetif {
	int fd;
};

static struct packetif pk = { -1 };

static err_t
pk_output(struct netif *n, struct pbuf *p)
{
	uint8_t buf[FRAME_MAX];
	struct packetif *st = n->state;
	u16_t len = pbuf_copy_partial(p, buf, sizeof(buf), 0);

	if (len != p->tot_len)
		return ERR_BUF;
	return send(st->fd, buf, len, 0) == (ssize_t)len ? ERR_OK : ERR_IF;
}

static void
pk_thread(void *arg)
{
	struct netif *n = arg;
	struct packetif *st = n->state;
	uint8_t buf[FRAME_MAX];

	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t r = recvfrom(st->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		struct pbuf *p;

		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)
				continue;
			return; /* the interface went away */
		}
		if (r < 14 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		/* ours: our MAC, a broadcast or a multicast (the low bit) */
		if (!(buf[0] & 1) && memcmp(buf, n->hwaddr, 6) != 0)
			continue;
		p = pbuf_alloc(PBUF_RAW, (u16_t)r, PBUF_POOL);
		if (p == NULL)
			continue; /* out of pool: dropped, TCP sends again */
		if (pbuf_take(p, buf, (u16_t)r) != ERR_OK || n->input(p, n) != ERR_OK)
			pbuf_free(p);
	}
}

err_t
lwip_packetif_init(struct netif *n)
{
	const char *name = n->state;
	struct sockaddr_ll sll;
	struct packet_mreq mr;
	struct ifreq ifr;
	unsigned idx = if_nametoindex(name);

	if (idx == 0 || strlen(name) >= sizeof(ifr.ifr_name))
		return ERR_IF;
	pk.fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (pk.fd < 0)
		return ERR_IF;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = (int)idx;
	if (bind(pk.fd, (struct sockaddr *)&sll, sizeof(sll)) != 0 ||
	    ioctl(pk.fd, SIOCGIFHWADDR, &ifr) != 0)
		goto fail;
	memcpy(n->hwaddr, ifr.ifr_hwaddr.sa_data, 6);
	n->hwaddr[0] |= 0x02; /* locally administered */
	n->hwaddr[5] ^= 0x5a; /* and never the kernel's own */
	n->hwaddr_len = 6;
	memset(&mr, 0, sizeof(mr));
	mr.mr_ifindex = (int)idx;
	mr.mr_type = PACKET_MR_UNICAST;
	mr.mr_alen = 6;
	memcpy(mr.mr_address, n->hwaddr, 6);
	if (setsockopt(pk.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) != 0)
		goto fail;
	mr.mr_type = PACKET_MR_ALLMULTI; /* IPv6 neighbour discovery */
	(void)setsockopt(pk.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr));
	n->mtu = ioctl(pk.fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu >= 576 && ifr.ifr_mtu <= 1500 ?
	    (u16_t)ifr.ifr_mtu : 1500;
	n->state = &pk;
	n->name[0] = 'p';
	n->name[1] = 'k';
	n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_MLD6;
	n->output = etharp_output;
	n->output_ip6 = ethip6_output;
	n->linkoutput = pk_output;
	sys_thread_new("packetif", pk_thread, n, DEFAULT_THREAD_STACKSIZE, DEFAULT_THREAD_PRIO);
	return ERR_OK;
fail:
	close(pk.fd);
	pk.fd = -1;
	return ERR_IF;
}
