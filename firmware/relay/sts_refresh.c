/*
 * Proactive refresh of cached MTA-STS policies (sts_refresh.h).
 */
#include <stdio.h>
#include <string.h>

#include "firmware/core/loop.h"
#include "firmware/relay/sts.h"
#include "firmware/relay/sts_refresh.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/text.h"

#define LOGM "relay"

static const struct zcfg *fcfg;
static int timer = -1;
static struct {
	bool running;
	char names[STS_REFRESH_BATCH][ZCFG_NAME_MAX];
	unsigned n, i, done;
	const struct tls_client_conf *cc;   /* held while running */
	struct sts_req q;
	struct sts_parser p;
	char buf[STS_MX_MAX * (STS_NAME_MAX + 8) + 256];
} job;

static void next(void);

bool
sts_refresh_due(const struct sts_policy *p, int64_t now)
{
	int64_t end = p->fetched + (int64_t)p->max_age, lead = p->max_age / 4;

	if (lead > 86400)
		lead = 86400;
	return p->max_age > 0 && now < end && end - now <= lead;
}

static int
list_cb(void *arg, const char *name)
{
	(void)arg;
	/* cache files are domain names; temporary files have ".tmp." in them */
	if (job.n < STS_REFRESH_BATCH && strstr(name, ".tmp") == NULL && name[0] != '.' &&
	    strlen(name) < ZCFG_NAME_MAX)
		zegel_strf(job.names[job.n++], ZCFG_NAME_MAX, "%s", name);
	return 0;
}

static void
finish(void)
{
	if (job.cc != NULL)
		sts_tls_conf_put();
	job.cc = NULL;
	job.running = false;
	if (job.done > 0)
		hal_log(HAL_LOG_INFO, LOGM, "MTA-STS refresh: %u cached polic%s refreshed",
		    job.done, job.done == 1 ? "y" : "ies");
}

static void
on_done(void *arg, struct sts_req *q)
{
	(void)arg;
	if (q->src == STS_SRC_FETCHED) {
		job.done++;
		hal_log(HAL_LOG_INFO, LOGM, "MTA-STS policy of %s refreshed before it expired: %s",
		    q->domain, q->why);
	} else {
		hal_log(HAL_LOG_WARN, LOGM, "MTA-STS policy of %s not refreshed: %s", q->domain,
		    q->why);
	}
	job.i++;
	next();
}

/* The next due policy of the list, else the end. */
static void
next(void)
{
	char path[ZCFG_PATH_MAX + ZCFG_NAME_MAX + 8];
	int64_t now = (int64_t)hal_clock_now();
	size_t len;

	for (; job.i < job.n; job.i++) {
		const char *dom = job.names[job.i];

		if (sts_cache_path(fcfg->data_dir, dom, path, sizeof(path)) < 0 ||
		    hal_storage_get(path, job.buf, sizeof(job.buf), &len) < 0)
			continue;
		sts_parser_init(&job.p, true);
		if (sts_parser_push(&job.p, (const uint8_t *)job.buf, len) < 0 ||
		    sts_parser_finish(&job.p) < 0 || !sts_refresh_due(&job.p.pol, now))
			continue;
		memset(&job.q, 0, sizeof(job.q));
		job.q.force = true;
		if (sts_start(&job.q, dom, fcfg->data_dir, job.cc, on_done, NULL) == 0) {
			hal_log(HAL_LOG_DEBUG, LOGM, "MTA-STS policy of %s: %lld s left of max_age "
			    "%lu: refreshing", dom, (long long)(job.p.pol.fetched +
			    job.p.pol.max_age - now), (unsigned long)job.p.pol.max_age);
			return; /* on_done() goes on */
		}
		hal_log(HAL_LOG_WARN, LOGM, "MTA-STS policy of %s not refreshed: %s", dom, job.q.why);
	}
	finish();
}

static int
run(char *err, size_t cap)
{
	char dir[ZCFG_PATH_MAX + 8];

	if (job.running) {
		zegel_strf(err, cap, "a refresh is running");
		return -1;
	}
	if (fcfg == NULL || fcfg->data_dir[0] == '\0') {
		zegel_strf(err, cap, "no data dir");
		return -1;
	}
	job.n = job.i = job.done = 0;
	zegel_strf(dir, sizeof(dir), "%s/sts", fcfg->data_dir);
	if (hal_storage_exists(dir) != 1 || hal_storage_list(dir, list_cb, NULL) < 0 || job.n == 0)
		return 0;
	if (sts_tls_conf_get(fcfg->relay.ca_file, &job.cc, err, cap) < 0) {
		job.cc = NULL;
		return -1;
	}
	job.running = true;
	next();
	return 0;
}

static void
tick(void *arg)
{
	char err[200];

	(void)arg;
	timer = loop_timer_add(STS_REFRESH_EVERY_MS, tick, NULL);
	if (run(err, sizeof(err)) < 0)
		hal_log(HAL_LOG_WARN, LOGM, "MTA-STS refresh: %s", err);
}

void
sts_refresh_configure(const struct zcfg *cfg)
{
	fcfg = cfg;
	if (timer < 0)
		timer = loop_timer_add(STS_REFRESH_EVERY_MS, tick, NULL);
}

void
sts_refresh_stop(void)
{
	if (timer >= 0)
		loop_timer_cancel(timer);
	timer = -1;
	if (job.running) {
		sts_cancel(&job.q);
		job.done = 0;
		finish();
	}
}

int
sts_refresh_now(char *err, size_t cap)
{
	return run(err, cap);
}
