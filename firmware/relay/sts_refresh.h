/*
 * firmware/relay/sts_refresh.h — the proactive refresh of cached MTA-STS
 * policies (RFC 8461 5.1: senders should refresh a cached policy before it
 * expires, so that a domain that is not mailed for a while, or whose policy
 * server is down just when the cache runs out, keeps its protection).
 *
 * Model. Every STS_REFRESH_EVERY_MS (and at sts_refresh_now(), the
 * console's `sts-refresh`) a job on the event loop lists DATA_DIR/sts/ and
 * takes each cached policy that sts_refresh_due() calls due; one at a time
 * it runs sts_start() with force set: the TXT record is looked up and the
 * policy fetched even though the cached one is current; a fetched policy
 * replaces the cache (a new max_age from now), a failed fetch leaves it as
 * it was (it stays in use until it expires, 5.1). Logged per domain.
 *
 * Due: not expired, and less than a quarter of its max_age left (at most a
 * day before the end: a one-year policy is refreshed in its last day, not
 * its last quarter).
 */
#ifndef ZEGEL_RELAY_STS_REFRESH_H
#define ZEGEL_RELAY_STS_REFRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/relay/sts_policy.h"
#include "zegel/cfg.h"

#define STS_REFRESH_EVERY_MS (3600u * 1000u)
#define STS_REFRESH_BATCH 32    /* policies looked at per run (the rest: next run) */

bool sts_refresh_due(const struct sts_policy *p, int64_t now);
/* At start and after each commit (direct mode); cfg stays valid. */
void sts_refresh_configure(const struct zcfg *cfg);
void sts_refresh_stop(void);
/* Run the job now: 0, or -1 with err set (one is running, no data dir). */
int sts_refresh_now(char *err, size_t cap);

#endif
