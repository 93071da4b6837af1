/*
 * The smarthost queue (shqueue.h): the queue's delivery side in smarthost
 * mode. Workers take every due recipient of one entry and hand the message
 * to the smarthost job (smarthost_deliver); the outcomes go back to the
 * queue, which retries, bounces and removes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "firmware/console/console.h"
#include "firmware/core/loop.h"
#include "firmware/relay/queued.h"
#include "firmware/relay/shqueue.h"
#include "firmware/relay/smarthost.h"
#include "firmware/spool/queue.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/text.h"

#define LOGM "relay"

struct shworker {
	bool busy;              /* holds a queue job */
	void *handle;           /* the smarthost job while it runs, else NULL */
	struct queue_job job;
	struct handoff_msg m;
	char rcpts[QUEUE_JOB_RCPTS * QUEUE_ADDR_MAX];
	char path[HAL_PATH_MAX];
	struct smtpc_result rres[QUEUE_JOB_RCPTS];
};

static struct shworker workers[SHQUEUE_WORKERS];
static const struct zcfg *scfg;
static bool started;
static int tick_timer = -1;
static char runner[ZCFG_NAME_MAX + 24];
/* for show status: the last attempt's verdict */
static char last[200];
static int64_t last_at;

static void tick(void *arg);

static int64_t
now_s(void)
{
	return (int64_t)hal_clock_now();
}

unsigned
shqueue_workers_active(void)
{
	unsigned n = 0;

	for (int i = 0; i < SHQUEUE_WORKERS; i++)
		n += workers[i].busy;
	return n;
}

bool
shqueue_running(void)
{
	return started;
}

/* ------------------------------------------------------------ a delivery */

/* The smarthost's verdict: each recipient's outcome to the queue (its own
 * refusal at RCPT, else the message's verdict), then the job back. */
static void
on_done(void *arg, const struct handoff_result *r)
{
	struct shworker *w = arg;
	int64_t now = now_s();
	unsigned sent = 0, bounced = 0, deferred = 0;

	for (unsigned k = 0; k < w->job.nrcpt; k++) {
		const struct smtpc_result *own = &w->rres[k];
		int code = own->code != 0 ? own->code : r->code;

		if (own->code != 0)
			(void)queue_job_result(&w->job, k, own->code, own->esc, own->text, now);
		else
			(void)queue_job_result(&w->job, k, r->code, r->esc, r->text, now);
		sent += code >= 200 && code < 300;
		bounced += code >= 500;
		deferred += code >= 300 && code < 500;
	}
	zegel_strf(last, sizeof(last), "%s: %u sent, %u bounced, %u deferred (%d %s %.100s)",
	    w->job.id, sent, bounced, deferred, r->code, r->esc, r->text);
	last_at = now;
	queue_job_end(&w->job, now); /* retries, DSNs, removal; wakes the scheduler */
	w->busy = false;
	w->handle = NULL;
}

/* The job's message for the smarthost job: fields from the queue entry. */
static int
job_msg(struct shworker *w)
{
	size_t off = 0;

	memset(&w->m, 0, sizeof(w->m));
	zegel_strf(w->m.id, sizeof(w->m.id), "%s", w->job.id);
	for (unsigned k = 0; k < w->job.nrcpt; k++) {
		size_t n = strlen(w->job.rcpt[k]) + 1;

		if (off + n > sizeof(w->rcpts))
			return -ENOSPC; /* cannot happen: 257-octet paths */
		memcpy(w->rcpts + off, w->job.rcpt[k], n);
		off += n;
	}
	if (queue_job_path(&w->job, w->path, sizeof(w->path)) < 0)
		return -ENAMETOOLONG;
	w->m.mail_from = w->job.mail_from;
	w->m.rcpts = w->rcpts;
	w->m.nrcpt = w->job.nrcpt;
	w->m.spool_path = w->path;
	w->m.prefix = w->job.prefix;
	w->m.prefix_len = w->job.prefix_len;
	w->m.size = w->job.size;
	w->m.body_8bit = w->job.body_8bit;
	w->m.smtputf8 = w->job.smtputf8;
	w->m.requiretls = w->job.requiretls;
	w->m.tls_required_no = w->job.tls_required_no;
	w->m.cfg = scfg;
	return 0;
}

/* false: the smarthost job pool is full (the job went back, due at once). */
static bool
job_start(struct shworker *w)
{
	struct handoff_result r;
	int rc;

	w->busy = true;
	w->handle = NULL;
	if (job_msg(w) < 0) {
		handoff_result_set(&r, 451, "4.3.0", "queued message unreadable");
		memset(w->rres, 0, sizeof(w->rres[0]) * w->job.nrcpt);
		on_done(w, &r);
		return true;
	}
	hal_log(HAL_LOG_DEBUG, LOGM, "%s: relaying %u recipient(s) to the smarthost, attempt %u",
	    w->job.id, w->job.nrcpt, w->job.attempts + 1);
	rc = smarthost_deliver(&w->m, w->rres, on_done, w, &w->handle);
	if (rc == -EBUSY) {
		/* every smarthost job is taken (sync sessions, other workers):
		 * not an attempt; due again at once, the timer looks in 1 s */
		queue_job_release(&w->job, now_s());
		w->busy = false;
		return false;
	}
	if (rc < 0) {
		handoff_result_set(&r, 451, "4.3.0", "relay job could not start");
		memset(w->rres, 0, sizeof(w->rres[0]) * w->job.nrcpt);
		on_done(w, &r);
	}
	return true;
}

/* ------------------------------------------------------------ scheduler */

static void
arm(void)
{
	if (tick_timer >= 0)
		loop_timer_cancel(tick_timer);
	tick_timer = loop_timer_add(queue_timer_ms(now_s()), tick, NULL);
}

static void
tick(void *arg)
{
	(void)arg;
	tick_timer = -1;
	if (!started)
		return;
	for (int i = 0; i < SHQUEUE_WORKERS; i++) {
		struct shworker *w = &workers[i];

		if (w->busy)
			continue;
		if (queue_next_job_all(now_s(), &w->job) != 1)
			break;
		if (!job_start(w))
			break;
	}
	if (started)
		arm();
}

void
shqueue_kick(void)
{
	if (!started)
		return;
	if (tick_timer >= 0)
		loop_timer_cancel(tick_timer);
	tick_timer = loop_timer_add(0, tick, NULL);
}

static void
wakeup(void *arg)
{
	(void)arg;
	shqueue_kick();
}

int
shqueue_start(const struct zcfg *cfg, char *err, size_t errcap)
{
	char dir[ZCFG_PATH_MAX + 16];
	struct queue_limits lim;
	const struct zcfg_relay *r = &cfg->relay;

	scfg = cfg;
	zegel_strf(dir, sizeof(dir), "%s/queue", cfg->data_dir);
	if (!queue_is_open() || strcmp(queue_dir(), dir) != 0) {
		if (shqueue_workers_active() > 0) {
			zegel_strf(err, errcap, "deliveries running: the queue stays in %s for now",
			    queue_dir());
			return -1;
		}
		if (queue_open(dir, err, errcap) < 0)
			return -1;
	}
	queue_limits_from_cfg(cfg, &lim);
	queue_set_limits(&lim);
	queue_set_hostname(cfg->hostname[0] ? cfg->hostname : "localhost");
	zegel_strf(runner, sizeof(runner), "smarthost %s:%u%s", r->host,
	    r->port ? r->port : (r->implicit_tls ? 465 : 587),
	    r->queue ? "" : " (queue off: delivering what is left)");
	queue_set_runner(runner);
	queue_set_wakeup(wakeup, NULL);
	queued_dsn_signer(cfg);
	if (!started)
		hal_log(HAL_LOG_INFO, LOGM, "queue %s: delivered by the %s", dir, runner);
	started = true;
	shqueue_kick();
	return 0;
}

void
shqueue_stop(void)
{
	if (!started)
		return;
	started = false;
	for (int i = 0; i < SHQUEUE_WORKERS; i++) {
		struct shworker *w = &workers[i];

		if (!w->busy)
			continue;
		hal_log(HAL_LOG_INFO, LOGM, "%s: relay to the smarthost interrupted by the stop; "
		    "tried again at the next start (if it was sent already, it may arrive twice)",
		    w->job.id);
		if (w->handle != NULL)
			relay_smarthost.cancel(w->handle);
		w->handle = NULL;
		queue_job_release(&w->job, now_s());
		w->busy = false;
	}
	if (tick_timer >= 0)
		loop_timer_cancel(tick_timer);
	tick_timer = -1;
	queue_set_wakeup(NULL, NULL);
	queue_set_runner(NULL);
}

/* ------------------------------------------------------------ the target */

static int
q_start(const struct handoff_msg *m, handoff_done_fn done, void *arg, void **handle)
{
	*handle = NULL;
	queued_accept(m, started, done, arg);
	return 0;
}

static int
q_admit(const struct zcfg *cfg, uint64_t size)
{
	(void)cfg;
	return started ? queue_admit(size) : 0; /* not started: 451 at the end of DATA */
}

const struct handoff_target_ops relay_smarthost_queue = {
	.name = "smarthost",
	.start = q_start,
	.cancel = NULL,
	.admit = q_admit,
};

/* ------------------------------------------------------------ show status */

static void
status(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	char line[400];

	(void)arg;
	if (!started || (!scfg->relay.queue && queue_count() == 0))
		return; /* queue off and nothing left: sync mode says it all */
	zegel_strf(line, sizeof(line), "relay queue: delivered by the %s; %u messages, %" PRIu64
	    " octets, %u deliveries running (show queue)", runner, queue_count(), queue_bytes(),
	    shqueue_workers_active());
	emit(emit_arg, line);
	if (last[0]) {
		zegel_strf(line, sizeof(line), "relay queue: last attempt %" PRId64 " s ago: %s",
		    now_s() - last_at, last);
		emit(emit_arg, line);
	}
}

int
shqueue_console_register(void)
{
	return console_register_status(status, NULL);
}
