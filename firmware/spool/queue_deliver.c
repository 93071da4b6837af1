/*
 * The delivery side of the queue: jobs by recipient domain, outcomes,
 * retries, bounces and delay warnings (DSNs), removal (model in queue.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/spool/queue_int.h"
#include "firmware/spool/dsn.h"
#include "hal/log.h"
#include "zegel/text.h"

static struct queue_core *const qc = &queue_core;
static char orighdr[ORIG_HEADERS_MAX];

/* ------------------------------------------------------------ DSN */

struct dsn_body {
	struct dsn_report *rep;
};

static queue_dsn_sign_fn dsn_signer;
static void *dsn_signer_arg;

void
queue_set_dsn_signer(queue_dsn_sign_fn sign, void *arg)
{
	dsn_signer = sign;
	dsn_signer_arg = arg;
}

static int
dsn_gen(void *gctx, queue_put_fn put, void *parg)
{
	return dsn_write(gctx, put, parg);
}

static int
dsn_sink(void *arg, const void *p, size_t n)
{
	void **a = arg;

	return hal_storage_write(a[1], p, n);
}

static int
dsn_body_fn(void *arg, struct hal_file *f)
{
	struct dsn_body *db = arg;
	void *a[2] = { arg, f };

	return dsn_write(db->rep, dsn_sink, a);
}

/* The original's header section as it was sent (prefix, then the header
 * block of ID.msg), for text/rfc822-headers; bounded. */
static size_t
read_orig_headers(const struct queue_state *st)
{
	char path[HAL_PATH_MAX];
	struct hal_file f;
	size_t len = 0;
	char *end;

	if (st->prefix_len < sizeof(orighdr) - 1) {
		memcpy(orighdr, st->prefix, st->prefix_len);
		len = st->prefix_len;
	}
	if (queue_path_of(path, sizeof(path), st->id, "msg") == 0 &&
	    hal_storage_open_read(&f, path) == 0) {
		while (len < sizeof(orighdr) - 1) {
			ssize_t r = hal_storage_read(&f, orighdr + len, sizeof(orighdr) - 1 - len);

			if (r <= 0)
				break;
			len += (size_t)r;
		}
		hal_storage_close(&f);
	}
	orighdr[len] = 0;
	end = strstr(orighdr, "\r\n\r\n");
	if (end != NULL)
		return (size_t)(end - orighdr) + 2;
	/* truncated: up to the last complete line */
	while (len > 0 && !(len >= 2 && orighdr[len - 2] == '\r' && orighdr[len - 1] == '\n'))
		len--;
	return len;
}

/* Queue a DSN about recipients 'which' (state letter) of st; 0 or -errno. */
static int
send_dsn(struct queue_state *st, char which, bool delayed, int64_t now)
{
	static struct dsn_report rep;
	struct queue_state *dst = &qc->scratch;   /* st is a slot, never qc->scratch */
	struct dsn_body db = { .rep = &rep };
	char id[QUEUE_ID_MAX];
	int rc;

	memset(&rep, 0, sizeof(rep));
	rep.reporting_mta = queue_conf.host;
	rep.orig_id = st->id;
	rep.orig_from = st->from;
	rep.arrival = st->created;
	rep.now = now;
	rep.delayed = delayed;
	rep.retry_until = st->created + queue_conf.lim.lifetime;
	for (unsigned i = 0; i < st->nrcpt && rep.nrcpt < DSN_RCPT_MAX; i++) {
		struct queue_rcpt *r = &st->r[i];

		if (r->state != which || (delayed && r->attempts == 0))
			continue;
		rep.rcpt[rep.nrcpt].addr = r->addr;
		rep.rcpt[rep.nrcpt].code = r->code;
		rep.rcpt[rep.nrcpt].esc = r->esc;
		rep.rcpt[rep.nrcpt].text = r->text;
		rep.rcpt[rep.nrcpt].last_attempt = now;
		rep.nrcpt++;
	}
	if (rep.nrcpt == 0)
		return 0;
	rep.headers = orighdr;
	rep.headers_len = read_orig_headers(st);
	queue_state_init(dst, "", now);
	dst->is_dsn = true;
	dst->body_8bit = st->body_8bit || st->smtputf8;
	for (const char *c = st->from; *c; c++)
		if ((unsigned char)*c >= 0x80)
			dst->smtputf8 = true;   /* RFC 6531: a UTF-8 mailbox needs SMTPUTF8 */
	if (queue_state_add_rcpt(dst, st->from, now) != 0)
		return -EINVAL;
	if (dsn_signer != NULL) {
		static uint8_t sig[4096];
		size_t n = 0;

		if (dsn_signer(dsn_signer_arg, queue_conf.host, dsn_gen, &rep, sig, sizeof(sig), &n) == 0 &&
		    n > 0 && queue_prefix_ok(sig, n)) {
			memcpy(dst->prefix, sig, n);
			dst->prefix_len = n;
		}
	}
	rc = queue_commit_entry(dst, NULL, dsn_body_fn, &db, id);
	if (rc == 0)
		hal_log(HAL_LOG_INFO, MOD, "%s: sender %s notification: %s", st->id,
		    delayed ? "delay" : "non-delivery", id);
	return rc;
}

/* ------------------------------------------------------------ delivery */

static int64_t
backoff(const struct queue_rcpt *r, int64_t created, int64_t now)
{
	int64_t d = queue_conf.lim.retry_base, t, expiry = created + queue_conf.lim.lifetime;

	for (unsigned i = 1; i < r->attempts && d < queue_conf.lim.retry_max; i++)
		d *= 2;
	if (d > queue_conf.lim.retry_max)
		d = queue_conf.lim.retry_max;
	t = now + d;
	if (t > expiry)
		t = expiry;
	return t < now ? now : t;
}

/* Final bookkeeping of an entry without jobs out: DSNs, removal, write. */
static void
settle_entry(int e, int64_t now)
{
	struct queue_state *st;
	bool nullsender, all_final = true, changed = false;

	if (qc->ents[e].inflight > 0 || queue_load(e, &st) != 0)
		return;
	nullsender = st->from[0] == 0 || st->is_dsn;
	for (unsigned i = 0; i < st->nrcpt; i++) {
		if (st->r[i].state != QUEUE_R_BOUNCED)
			continue;
		if (nullsender) {
			char to[TEXT_LOG_ADDR_CAP];

			text_log_addr(to, sizeof(to), st->r[i].addr);
			hal_log(HAL_LOG_INFO, MOD, "%s: to=<%s>: no DSN for a message with the "
			    "null sender", st->id, to);
		} else if (!changed && send_dsn(st, QUEUE_R_BOUNCED, false, now) != 0) {
			hal_log(HAL_LOG_ERR, MOD, "%s: cannot queue the non-delivery "
			    "notification; will try again", st->id);
			qc->ents[e].settle_after = now + queue_conf.lim.retry_base;
			return;
		}
		changed = true;
	}
	for (unsigned i = 0; changed && i < st->nrcpt; i++)
		if (st->r[i].state == QUEUE_R_BOUNCED)
			st->r[i].state = QUEUE_R_NOTIFIED;
	if (!st->warned && !nullsender && queue_conf.lim.delay_warning > 0 &&
	    now - st->created >= queue_conf.lim.delay_warning) {
		bool tried = false;

		for (unsigned i = 0; i < st->nrcpt; i++)
			if (st->r[i].state == QUEUE_R_PENDING && st->r[i].attempts > 0)
				tried = true;
		if (tried && send_dsn(st, QUEUE_R_PENDING, true, now) == 0) {
			st->warned = true;
			changed = true;
		}
	}
	for (unsigned i = 0; i < st->nrcpt; i++)
		if (st->r[i].state != QUEUE_R_SENT && st->r[i].state != QUEUE_R_NOTIFIED)
			all_final = false;
	qc->ents[e].settle = false;
	if (all_final) {
		char id[QUEUE_ID_MAX];

		memcpy(id, st->id, sizeof(id));
		queue_entry_files_remove(id);
		queue_ent_drop(e);
		hal_log(HAL_LOG_INFO, MOD, "%s: removed", id);
		return;
	}
	if (changed && queue_state_write(st) != 0)
		hal_log(HAL_LOG_ERR, MOD, "%s: cannot write state record", st->id);
	queue_refresh(e, st);
}

/* The first due entry's due recipients: those of one domain (the first
 * due recipient's, or want), or all of them (any). */
static int
next_job(int64_t now, const char *want, bool any, bool (*skip)(void *arg, const char *domain),
    void *skip_arg, struct queue_job *j)
{
	for (unsigned e = 0; qc->open && e < CONFIG_QUEUE_MAX_ENTRIES; e++) {
		struct queue_state *st;
		struct queue_rcpt *first = NULL;
		const char *dom;
		int rc;

		if (!qc->ents[e].used)
			continue;
		if (qc->ents[e].settle && qc->ents[e].inflight == 0 && now >= qc->ents[e].settle_after) {
			settle_entry((int)e, now);
			if (!qc->ents[e].used)
				continue;
		}
		if (qc->ents[e].next_due > now)
			continue;
		if (queue_load((int)e, &st) != 0)
			continue;
		for (unsigned i = 0; i < st->nrcpt && first == NULL; i++)
			if (st->r[i].state == QUEUE_R_PENDING && !st->r[i].inflight &&
			    st->r[i].next <= now &&
			    (want == NULL || strcasecmp(queue_domain_of(st->r[i].addr), want) == 0) &&
			    (skip == NULL || !skip(skip_arg, queue_domain_of(st->r[i].addr))))
				first = &st->r[i];
		if (first == NULL) {
			queue_refresh((int)e, st);
			continue;
		}
		dom = any ? "" : queue_domain_of(first->addr);
		memset(j, 0, sizeof(*j));
		memcpy(j->id, st->id, sizeof(j->id));
		for (size_t k = 0; dom[k] && k + 1 < sizeof(j->domain); k++)
			j->domain[k] = (char)((dom[k] >= 'A' && dom[k] <= 'Z') ? dom[k] + 32 : dom[k]);
		for (unsigned i = 0; i < st->nrcpt && j->nrcpt < QUEUE_JOB_RCPTS; i++) {
			struct queue_rcpt *r = &st->r[i];

			if (r->state != QUEUE_R_PENDING || r->inflight || r->next > now ||
			    (!any && strcasecmp(queue_domain_of(r->addr), dom) != 0))
				continue;
			j->rcpt_index[j->nrcpt] = i;
			j->rcpt[j->nrcpt] = r->addr;
			if (r->attempts > j->attempts)
				j->attempts = r->attempts;
			r->state = QUEUE_R_INFLIGHT;
			r->inflight = true;
			j->nrcpt++;
		}
		rc = queue_state_write(st);
		if (rc != 0) {
			for (unsigned k = 0; k < j->nrcpt; k++) {
				st->r[j->rcpt_index[k]].state = QUEUE_R_PENDING;
				st->r[j->rcpt_index[k]].inflight = false;
			}
			hal_log(HAL_LOG_ERR, MOD, "%s: cannot write state record (%s)", st->id,
			    strerror(-rc));
			return rc;
		}
		j->mail_from = st->from;
		j->prefix = st->prefix;
		j->prefix_len = st->prefix_len;
		j->size = st->size;
		j->body_8bit = st->body_8bit;
		j->smtputf8 = st->smtputf8;
		j->requiretls = st->requiretls;
		j->tls_required_no = st->tls_required_no;
		qc->slots[qc->ents[e].slot].pins++;
		qc->ents[e].inflight++;
		queue_refresh((int)e, st);
		return 1;
	}
	return 0;
}

int
queue_next_job(int64_t now, struct queue_job *j)
{
	return next_job(now, NULL, false, NULL, NULL, j);
}

int
queue_next_job_skip(int64_t now, bool (*skip)(void *arg, const char *domain), void *arg,
    struct queue_job *j)
{
	return next_job(now, NULL, false, skip, arg, j);
}

int
queue_next_job_for(int64_t now, const char *domain, struct queue_job *j)
{
	return next_job(now, domain, false, NULL, NULL, j);
}

int
queue_next_job_all(int64_t now, struct queue_job *j)
{
	return next_job(now, NULL, true, NULL, NULL, j);
}

int
queue_job_open(const struct queue_job *j, struct hal_file *f)
{
	char path[HAL_PATH_MAX];

	if (queue_path_of(path, sizeof(path), j->id, "msg") != 0)
		return -ENAMETOOLONG;
	return hal_storage_open_read(f, path);
}

int
queue_job_path(const struct queue_job *j, char *buf, size_t cap)
{
	return queue_path_of(buf, cap, j->id, "msg") != 0 ? -ENAMETOOLONG : 0;
}

static struct queue_state *
job_state(const struct queue_job *j, int *e)
{
	*e = queue_find_ent(j->id);
	if (*e < 0 || qc->ents[*e].slot < 0 || qc->ents[*e].inflight == 0)
		return NULL;
	return &qc->slots[qc->ents[*e].slot].st;
}

static void
apply_result(struct queue_state *st, struct queue_rcpt *r, int code, const char *esc,
    const char *text, int64_t now)
{
	r->inflight = false;
	r->code = (int16_t)(code >= 200 && code < 600 ? code : 451);
	queue_put_esc(r->esc, esc, r->code);
	queue_put_text(r->text, sizeof(r->text), text);
	if (r->code < 300) {
		r->state = QUEUE_R_SENT;
		r->next = now;
	} else if (r->code >= 500) {
		r->state = QUEUE_R_BOUNCED;
		r->next = now;
	} else {
		if (r->attempts < 65535)
			r->attempts++;
		if (now >= st->created + queue_conf.lim.lifetime) {
			char to[TEXT_LOG_ADDR_CAP];

			r->state = QUEUE_R_BOUNCED;
			r->next = now;
			text_log_addr(to, sizeof(to), r->addr);
			hal_log(HAL_LOG_INFO, MOD, "%s: to=<%s>: lifetime expired, bounced",
			    st->id, to);
		} else {
			r->state = QUEUE_R_PENDING;
			r->next = backoff(r, st->created, now);
		}
	}
}

int
queue_job_result(struct queue_job *j, unsigned k, int code, const char *esc,
    const char *text, int64_t now)
{
	struct queue_state *st;
	struct queue_rcpt *r;
	int e;

	/* k is the position in the job (j->rcpt[k]), not the entry's index */
	if ((st = job_state(j, &e)) == NULL || k >= j->nrcpt ||
	    j->rcpt_index[k] >= st->nrcpt)
		return -EINVAL;
	r = &st->r[j->rcpt_index[k]];
	if (!r->inflight)
		return -EALREADY;
	apply_result(st, r, code, esc, text, now);
	qc->ents[e].dirty = true;   /* one write for the whole job, in job_end() */
	return 0;
}

static void
job_end(struct queue_job *j, int64_t now, bool count_attempt)
{
	struct queue_state *st;
	bool changed = false;
	int e;

	if ((st = job_state(j, &e)) == NULL)
		return;
	for (unsigned k = 0; k < j->nrcpt; k++) {
		struct queue_rcpt *r = &st->r[j->rcpt_index[k]];

		if (j->rcpt_index[k] >= st->nrcpt || !r->inflight)
			continue;
		if (count_attempt) {
			apply_result(st, r, 451, "4.4.0", "delivery attempt ended without a result",
			    now);
		} else {
			/* not an attempt: pending again, due now, nothing counted */
			r->inflight = false;
			r->state = QUEUE_R_PENDING;
			r->next = now;
		}
		changed = true;
	}
	if ((changed || qc->ents[e].dirty) && queue_state_write(st) != 0)
		hal_log(HAL_LOG_ERR, MOD, "%s: cannot write state record", st->id);
	qc->ents[e].dirty = false;
	qc->slots[qc->ents[e].slot].pins--;
	qc->ents[e].inflight--;
	queue_refresh(e, st);
	qc->ents[e].settle = true;
	settle_entry(e, now);
	j->nrcpt = 0;
	queue_wake();
}

void
queue_job_end(struct queue_job *j, int64_t now)
{
	job_end(j, now, true);
}

void
queue_job_release(struct queue_job *j, int64_t now)
{
	job_end(j, now, false);
}

uint32_t
queue_timer_ms(int64_t now)
{
	int64_t due = queue_next_due();

	if (due < 0 || due - now >= 60)
		return 60000;
	return due <= now ? 1000 : (uint32_t)(due - now) * 1000;
}

int64_t
queue_next_due(void)
{
	int64_t due = NEVER;
	bool slot_free = false;

	for (int k = 0; k < CONFIG_QUEUE_LOADED; k++)
		if (qc->slots[k].ent < 0 || qc->slots[k].pins == 0)
			slot_free = true;
	for (unsigned e = 0; e < CONFIG_QUEUE_MAX_ENTRIES; e++) {
		if (!qc->ents[e].used)
			continue;
		/* every slot busy with jobs: only loaded entries can go now; the
		 * next queue_job_end() wakes the scheduler */
		if (qc->ents[e].slot < 0 && !slot_free)
			continue;
		if (qc->ents[e].settle && qc->ents[e].inflight == 0 && qc->ents[e].settle_after < due)
			due = qc->ents[e].settle_after;
		if (qc->ents[e].next_due < due)
			due = qc->ents[e].next_due;
	}
	return due == NEVER ? -1 : due;
}

void
queue_flush(int64_t now)
{
	for (unsigned e = 0; e < CONFIG_QUEUE_MAX_ENTRIES; e++) {
		struct queue_state *st;
		bool changed = false;

		if (!qc->ents[e].used || queue_load((int)e, &st) != 0)
			continue;
		for (unsigned i = 0; i < st->nrcpt; i++) {
			if (st->r[i].state == QUEUE_R_PENDING && st->r[i].next > now) {
				st->r[i].next = now;
				changed = true;
			}
		}
		if (changed && queue_state_write(st) != 0)
			hal_log(HAL_LOG_ERR, MOD, "%s: cannot write state record", st->id);
		queue_refresh((int)e, st);
	}
	hal_log(HAL_LOG_INFO, MOD, "flush: every waiting message is due now");
	queue_wake();
}

int
queue_delete(const char *id)
{
	int e = queue_find_ent(id);

	if (e < 0)
		return -ENOENT;
	if (qc->ents[e].inflight > 0)
		return -EBUSY;
	queue_entry_files_remove(qc->ents[e].id);
	hal_log(HAL_LOG_WARN, MOD, "%s: deleted by the operator (no bounce)", qc->ents[e].id);
	queue_ent_drop(e);
	return 0;
}

int
queue_state_get(const char *id, struct queue_state *st)
{
	int e = queue_find_ent(id);

	if (e < 0)
		return -ENOENT;
	if (qc->ents[e].slot >= 0) {
		const struct queue_state *src = &qc->slots[qc->ents[e].slot].st;

		/* copy with the string pointers re-based into st->env */
		memcpy(st, src, sizeof(*st));
		st->from = st->env + (src->from - src->env);
		for (unsigned i = 0; i < st->nrcpt; i++)
			st->r[i].addr = st->env + (src->r[i].addr - src->env);
		return 0;
	}
	return queue_state_read(id, st);
}

void
queue_foreach(void (*fn)(void *arg, const char *id), void *arg)
{
	for (unsigned e = 0; e < CONFIG_QUEUE_MAX_ENTRIES; e++)
		if (qc->ents[e].used)
			fn(arg, qc->ents[e].id);
}

