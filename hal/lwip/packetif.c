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
#include <sys/uio.h>
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

static uint32_t
sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (n)
		sum += (uint32_t)(p[0] << 8);
	return sum;
}

/*
 * A frame another program on this host sent (a veth peer, a bridge) may
 * come with its TCP/UDP checksum left to a NIC that never saw it
 * (TP_STATUS_CSUMNOTREADY): lwIP would drop it, so write the checksum.
 */
static void
fix_checksum(uint8_t *f, size_t n)
{
	size_t ip = 14, l4, len;
	uint8_t proto;
	uint32_t sum = 0;
	unsigned off;

	if (n < ip + 20)
		return;
	if (f[12] == 0x08 && f[13] == 0x00 && (f[ip] >> 4) == 4) {
		size_t ihl = (size_t)(f[ip] & 15) * 4, tot = (size_t)(f[ip + 2] << 8 | f[ip + 3]);

		if (ihl < 20 || tot < ihl || ip + tot > n)
			return;
		proto = f[ip + 9];
		l4 = ip + ihl;
		len = tot - ihl;
		sum = sum16(sum, f + ip + 12, 8);
	} else if (f[12] == 0x86 && f[13] == 0xdd && n >= ip + 40) {
		len = (size_t)(f[ip + 4] << 8 | f[ip + 5]);
		proto = f[ip + 6]; /* no extension headers: they carry no offload */
		l4 = ip + 40;
		if (l4 + len > n)
			return;
		sum = sum16(sum, f + ip + 8, 32);
	} else {
		return;
	}
	if (proto == 6)
		off = 16;
	else if (proto == 17)
		off = 6;
	else
		return;
	if (len < off + 2U)
		return;
	sum += proto + (uint32_t)len;
	f[l4 + off] = f[l4 + off + 1] = 0;
	sum = sum16(sum, f + l4, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	if (proto == 17 && sum == 0)
		sum = 0xffff;
	f[l4 + off] = (uint8_t)(sum >> 8);
	f[l4 + off + 1] = (uint8_t)sum;
}

static void
pk_thread(void *arg)
{
	struct netif *n = arg;
	struct packetif *st = n->state;
	uint8_t buf[FRAME_MAX] = { 0 }; /* filled through recvmsg's iovec */

	for (;;) {
		struct sockaddr_ll from;
		union {
			struct cmsghdr h;
			uint8_t b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} ctl;
		struct iovec iov = { buf, sizeof(buf) };
		struct msghdr mh = { &from, sizeof(from), &iov, 1, ctl.b, sizeof(ctl.b), 0 };
		ssize_t r = recvmsg(st->fd, &mh, 0);
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
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
				struct tpacket_auxdata aux;

				memcpy(&aux, CMSG_DATA(c), sizeof(aux));
				if (aux.tp_status & TP_STATUS_CSUMNOTREADY)
					fix_checksum(buf, (size_t)r);
			}
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
	int one = 1;

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
	(void)setsockopt(pk.fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
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
