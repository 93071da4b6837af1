/*
 * hal/lwip/lwipopts.h — zegel's configuration of lwIP 2.1.3 (Debian's source
 * package, built by toolchain/build-lwip.sh with the board's own autoconf.h).
 *
 * The socket API (lwip_socket, lwip_poll) over the tcpip thread of the unix
 * port's sys_arch (pthreads); IPv4 and IPv6; DHCP; no lwIP DNS (zegel has its
 * own validating stub). Pools are fixed and sized from the event loop's own
 * table (hal/include/hal/pools.h: CONFIG_MAX_SESSIONS sessions plus every relay,
 * resolver, NTP, syslog and console slot), so a flood beyond the appliance's
 * limits runs out of lwIP pools only where the loop would refuse anyway.
 */
#ifndef ZEGEL_LWIPOPTS_H
#define ZEGEL_LWIPOPTS_H

#include "hal/pools.h"

/* A failed LWIP_ASSERT ends the process, as lwIP's default does, but
 * without the message: the strings of some 300 assertions (text, file
 * name) are ~20 KiB of a router's flash. A debug build keeps them. */
#include <stdio.h>
#include <stdlib.h>
#if !(defined ZEGEL_LWIP_DEBUG && ZEGEL_LWIP_DEBUG)
#define LWIP_PLATFORM_ASSERT(x) abort()
#endif

/* threads: the tcpip thread, the tap reader; every API call takes the core lock */
#define NO_SYS 0
#define LWIP_TCPIP_CORE_LOCKING 1
#define SYS_LIGHTWEIGHT_PROT 1
#define LWIP_NETCONN 1
#define LWIP_SOCKET 1
#define LWIP_COMPAT_SOCKETS 0          /* lwip_socket()..., no clash with libc */
#define LWIP_POSIX_SOCKETS_IO_NAMES 0
/* Debian's port/include/posix: lwIP's socket API with libc's own types and
 * constants (struct sockaddr_in, AF_INET, POLLIN, O_NONBLOCK), so the
 * backend includes both without clashes (Debian patches sockets.c for it) */
#define LWIP_SOCKET_EXTERNAL_HEADERS 1
#define LWIP_SOCKET_EXTERNAL_HEADER_SOCKETS_H "posix/sockets.h"
#define LWIP_SOCKET_EXTERNAL_HEADER_INET_H "posix/inet.h"
/* those headers size sin_zero with glibc's __SOCKADDR_COMMON_SIZE, which
 * musl and uClibc-ng lack: glibc's own definition, token for token */
#ifndef __SOCKADDR_COMMON_SIZE
#define __SOCKADDR_COMMON_SIZE (sizeof (unsigned short int))
#endif
#define LWIP_SOCKET_SELECT 1           /* lwip_poll is built on select's callbacks */
#define LWIP_SOCKET_POLL 1
#define LWIP_SO_RCVTIMEO 0
#define LWIP_SO_SNDTIMEO 0
#define LWIP_SO_RCVBUF 0
#define SO_REUSE 1                     /* a restart binds again at once */
#define LWIP_TCP_KEEPALIVE 0
/* size (issue 14: lwIP should add at most 100 KiB): what zegel does not use
 * is off. The interface is configured under the core lock (stack.c), not
 * through netifapi; no status/link callbacks; no DHCP hostname option */
#define LWIP_NETIF_API 0
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_NETIF_HOSTNAME 0

/* protocols */
#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_ARP 1
#define LWIP_ETHERNET 1
#define ARP_QUEUEING 1
#define LWIP_ICMP 1
#define LWIP_ICMP6 1
#define LWIP_IPV6_MLD 1
#define LWIP_IPV6_AUTOCONFIG 1
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS 0 /* a static address is usable at once */
#define LWIP_IPV6_SEND_ROUTER_SOLICIT 1
#define LWIP_IPV6_NUM_ADDRESSES 3
/* reassembly stays (a peer may fragment), fragmenting our own output is
 * never needed: TCP segments fit the MSS, and zegel's datagrams (DNS
 * queries, NTP, syslog at most 1024 bytes) fit any MTU lwIP accepts */
#define LWIP_IPV6_REASS 1
#define LWIP_IPV6_FRAG 0
#define IP_REASSEMBLY 1
#define IP_FRAG 0
#define LWIP_RAW 0
#define LWIP_IGMP 0
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
/* every DHCP message lwIP sends, with its state: stack.c counts renewals
 * and rebinds (on the tcpip thread, under the core lock) for the log, as an
 * ACK of a renewal leaves no other trace (lwIP keeps the xid, the lease's
 * counters are back where they were) */
void zegel_lwip_dhcp_sending(unsigned char state);
#define LWIP_HOOK_DHCP_APPEND_OPTIONS(netif, dhcp, state, msg, msg_type, options_len_ptr) \
	zegel_lwip_dhcp_sending(state)
#define LWIP_DHCP_DOES_ACD_CHECK 0
#define DHCP_DOES_ARP_CHECK 0
#define LWIP_AUTOIP 0
#define LWIP_DNS 0                     /* zegel's own stub (firmware/dns) */
#define LWIP_NETIF_LOOPBACK 1          /* 127.0.0.1: the loop's wake-up socket */
#define LWIP_HAVE_LOOPIF 1
#define LWIP_LOOPBACK_MAX_PBUFS 8
#define LWIP_RANDOMIZE_INITIAL_LOCAL_PORTS 1
#define LWIP_CHECKSUM_ON_COPY 1
#define LWIP_STATS 1                   /* `show lwip`: pool use and failures */
#define LWIP_STATS_DISPLAY 0
#define MEMP_STATS 1
#define TCP_STATS 0
#define UDP_STATS 0
#define IP_STATS 0
#define IP6_STATS 0
#define ICMP_STATS 0
#define ICMP6_STATS 0
#define ETHARP_STATS 0
#define LINK_STATS 0
#define MEM_STATS 0
#define SYS_STATS 0
#define ND6_STATS 0
#define MLD6_STATS 0
#define IPFRAG_STATS 0
#define IP6_FRAG_STATS 0

/* memory: the heap from libc, the pools fixed (their limits are the point) */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 0
#if defined __LP64__
#define MEM_ALIGNMENT 8
#else
#define MEM_ALIGNMENT 4
#endif

/* TCP: sessions and relay connections of the loop, and a backlog of
 * connections the stack took but the loop has not accepted yet */
/* as many as the sessions (up to 64): clients that connect at once (a
 * load of smtp-source sessions) must not have their SYNs dropped and wait
 * for a retransmission; a backlog of 8 gave 27 msgs/s at 32 sessions */
#define ZEGEL_LWIP_BACKLOG (CONFIG_MAX_SESSIONS < 64 ? CONFIG_MAX_SESSIONS : 64)
#define ZEGEL_LWIP_CONNS (LOOP_SLOTS + ZEGEL_LWIP_BACKLOG)
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG ZEGEL_LWIP_BACKLOG
#define MEMP_NUM_NETCONN (ZEGEL_LWIP_CONNS + 4) /* + the wake-up pair, DHCP */
#define MEMP_NUM_TCP_PCB ZEGEL_LWIP_CONNS
#define MEMP_NUM_TCP_PCB_LISTEN (CONFIG_CFG_MAX_LISTENERS + 2)
#define MEMP_NUM_UDP_PCB (POOL_RESOLVER_SLOTS * LOOP_RECONNECT + POOL_NTP_SLOTS + POOL_SYSLOG_SLOTS + 4)
/* glibc's <netinet/tcp.h> defines TCP_MSS too (the socket option, 512), and
 * Debian's posix/inet.h includes it after this file wherever lwip/sockets.h
 * is used: memp.c then sized the receive pool's pbufs for an MSS of 512
 * (592 bytes of payload) while pbuf.c filled them with up to 1536, so every
 * frame over ~600 bytes ran into the next pool element (the SIGBUS while
 * relaying, issue 14). Take the header in first and replace its TCP_MSS; its
 * include guard keeps it from coming back. toolchain/build-lwip.sh checks
 * that every file of lwIP sees the same options. */
#include <netinet/tcp.h>
#undef TCP_MSS
#define ZEGEL_LWIP_MSS 1460
#define TCP_MSS ZEGEL_LWIP_MSS
#define TCP_WND (8 * TCP_MSS)
#define TCP_SND_BUF (8 * TCP_MSS)
#define TCP_SND_QUEUELEN (4 * TCP_SND_BUF / TCP_MSS)
#define MEMP_NUM_TCP_SEG (4 * ZEGEL_LWIP_CONNS + TCP_SND_QUEUELEN)
#define TCP_QUEUE_OOSEQ 1
#define PBUF_POOL_SIZE (32 + 2 * ZEGEL_LWIP_CONNS)
#define MEMP_NUM_PBUF 32
#define MEMP_NUM_NETBUF 16
#define MEMP_NUM_SELECT_CB 4
#define MEMP_NUM_TCPIP_MSG_INPKT 64
#define MEMP_NUM_TCPIP_MSG_API 16
#define MEMP_NUM_SYS_TIMEOUT (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 4)
#define TCPIP_MBOX_SIZE 128
#define DEFAULT_TCP_RECVMBOX_SIZE 32
#define DEFAULT_UDP_RECVMBOX_SIZE 16
#define DEFAULT_ACCEPTMBOX_SIZE ZEGEL_LWIP_BACKLOG
#define DEFAULT_THREAD_STACKSIZE 65536
#define TCPIP_THREAD_STACKSIZE 65536

/* A debug build of lwIP (for hunting memory bugs; tests/e2e/lwip.sh can run
 * it): -DZEGEL_LWIP_DEBUG=1 in the board's flags (make ... TC_CFLAGS=...,
 * which reach lwIP's library too) asserts that every core call holds the
 * core lock (the unix port's sys_check_core_locking) and checks the pools'
 * guard bytes and free lists at every allocation and free; =2 instead takes
 * every pool element from malloc, so that AddressSanitizer sees a use after
 * free or a double free of a pbuf, segment or PCB (pool limits are then not
 * enforced). */
#if defined ZEGEL_LWIP_DEBUG && ZEGEL_LWIP_DEBUG
void sys_lock_tcpip_core(void);
void sys_unlock_tcpip_core(void);
void sys_check_core_locking(void);
void sys_mark_tcpip_thread(void);
#define LOCK_TCPIP_CORE() sys_lock_tcpip_core()
#define UNLOCK_TCPIP_CORE() sys_unlock_tcpip_core()
#define LWIP_ASSERT_CORE_LOCKED() sys_check_core_locking()
#define LWIP_MARK_TCPIP_THREAD() sys_mark_tcpip_thread()
#if ZEGEL_LWIP_DEBUG >= 2
#undef MEMP_MEM_MALLOC
#define MEMP_MEM_MALLOC 1
#else
#define MEMP_OVERFLOW_CHECK 2
#define MEMP_SANITY_CHECK 1
#endif
#endif

#endif
