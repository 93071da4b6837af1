/*
 * hal/pools.h — every fixed pool that takes a slot or a timer of
 * the event loop, in one list (as lwIP's memp_std.h), and the loop's table
 * sizes derived from it. It sits at the bottom, with the HAL, because both
 * the loop (firmware/core) and the lwIP net backend (hal/lwip/lwipopts.h:
 * lwIP's sockets and PCBs) are sized from it; it holds numbers only.
 *
 * Model. Each user sizes its own pool with the POOL_* count below and
 * nothing else (smarthost.c: jobs[POOL_SMARTHOST_JOBS]); the loop sizes its
 * slot and timer tables from the sums. So the loop knows how many of each it
 * must hold, never who the users are, and a pool that grows grows the loop
 * with it. Counts are the most a pool holds at once:
 *
 *   pool                    slots                     timers
 *   listeners               CONFIG_CFG_MAX_LISTENERS  -
 *   SMTP client sessions    CONFIG_MAX_SESSIONS       1 (deadlines, AUTH backoff)
 *   smarthost relay jobs    1 stream each             -
 *   direct workers          1 stream each             1 (the scheduler)
 *   smarthost queue         (smarthost relay jobs)    1 (the scheduler)
 *   resolver                1 UDP fd or TCP stream    2 (attempt, kick)
 *   console                 1 fd                      1 (stop when idle)
 *   `test relay` probe      1 stream                  1 (deadline)
 *   console dane-check      1 stream                  1 (deadline)
 *   the app, CLI tools      -                         POOL_APP_TIMERS
 *   NTP (firmware/time)     1 UDP fd per server       2 (deadline, next round)
 *   remote syslog           1 UDP fd or TCP stream    1 (reconnect)
 *   key holder answers      1 fd (privsep_watch)      1 (deliver kept answers)
 *   group commit            -                         1 (the flush)
 *
 * A closed slot is freed only at the end of the loop's turn (loop.h), so a
 * user that drops a connection and opens the next one in the same callback
 * (the next address of a host, UDP -> TCP) holds two slots for that turn:
 * such pools count LOOP_RECONNECT slots per stream.
 *
 * A pool beyond its count answers with its own error (421 4.3.2, SERVFAIL,
 * "busy"), never by taking another pool's slot.
 */
#ifndef ZEGEL_HAL_POOLS_H
#define ZEGEL_HAL_POOLS_H

#include "generated/autoconf.h"

#ifndef POOL_SMARTHOST_JOBS
#define POOL_SMARTHOST_JOBS 8
#endif
#ifndef POOL_DIRECT_WORKERS
#define POOL_DIRECT_WORKERS 4
#endif
#define LOOP_RECONNECT 2
#define POOL_RESOLVER_SLOTS 1   /* one UDP socket or one TCP stream per attempt */
#define POOL_RESOLVER_TIMERS 2
#define POOL_CONSOLE_SLOTS 1
#define POOL_CONSOLE_TIMERS 1
#define POOL_PROBES 1           /* `test relay`, `zegel relay-check` */
#define POOL_DANE_CHECKS 1      /* console / `zegel dane-check` */
#define POOL_DIRECT_TIMERS 1
#define POOL_SHQUEUE_TIMERS 1   /* the smarthost queue's scheduler (relay/shqueue.c) */
#define POOL_SMTPD_TIMERS 1     /* the server's deadline tick (smtpd/server.c) */
#define POOL_APP_TIMERS 8       /* the app and the tools driving the loop: deadlines */
#define POOL_NTP_SLOTS 4        /* one UDP socket per NTP server of a round */
#define POOL_NTP_TIMERS 2       /* the round's deadline, the next round */
#define POOL_SYSLOG_SLOTS 1     /* the UDP socket or the TCP stream to the collector */
#define POOL_SYSLOG_TIMERS 1    /* reconnect / retry */
#define POOL_ASYNC_TIMERS 2     /* issue 22: the signatures' delivery (privsep/client.c),
				 * the group commit's flush (spool/gcommit.c) */

/* Everything but the client sessions. */
#define LOOP_EXTRA_SLOTS                                                                   \
	(CONFIG_CFG_MAX_LISTENERS + POOL_CONSOLE_SLOTS + POOL_NTP_SLOTS +                   \
	    LOOP_RECONNECT * (POOL_SMARTHOST_JOBS + POOL_DIRECT_WORKERS + POOL_RESOLVER_SLOTS + \
		POOL_PROBES + POOL_DANE_CHECKS + POOL_SYSLOG_SLOTS))
#define LOOP_SLOTS (CONFIG_MAX_SESSIONS + LOOP_EXTRA_SLOTS)
#define LOOP_MAX_TIMERS                                                                    \
	(POOL_DIRECT_TIMERS + POOL_SHQUEUE_TIMERS + POOL_RESOLVER_TIMERS + POOL_CONSOLE_TIMERS + POOL_PROBES +      \
	    POOL_DANE_CHECKS + POOL_SMTPD_TIMERS + POOL_APP_TIMERS + POOL_NTP_TIMERS + \
	    POOL_SYSLOG_TIMERS + POOL_ASYNC_TIMERS)

#endif
