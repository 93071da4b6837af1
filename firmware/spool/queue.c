/*
 * The crash-safe delivery queue: the index in RAM, the files on storage,
 * start-up recovery, limits and commit (model and kill-point argument in
 * queue.h; records in queue_record.c, delivery in queue_deliver.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/spool/queue_int.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "zegel/cfg.h"
#include "zegel/text.h"

struct queue_core queue_core;

struct queue_conf queue_conf = {
	.lim = {
		.max_messages = CONFIG_QUEUE_MAX_MESSAGES,
		.max_bytes = (uint64_t)CONFIG_QUEUE_MAX_BYTES << 20,
		.min_free = (uint64_t)CONFIG_QUEUE_MIN_FREE << 10,
		.lifetime = CONFIG_QUEUE_LIFETIME,
		.delay_warning = CONFIG_QUEUE_DELAY_WARNING,
		.retry_base = CONFIG_QUEUE_RETRY_BASE,
		.retry_max = CONFIG_QUEUE_RETRY_MAX,
	},
	.host = "localhost",
};

static struct queue_core *const qc = &queue_core;
static uint8_t copybuf[4096];
static void (*wake_fn)(void *arg);
static void *wake_arg;
static void (*fault_fn)(unsigned step);
static unsigned fault_step;

/* ------------------------------------------------------------ helpers */

void
queue_set_wakeup(void (*fn)(void *arg), void *arg)
{
	wake_fn = fn;
	wake_arg = arg;
}

void
queue_wake(void)
{
	if (wake_fn != NULL)
		wake_fn(wake_arg);
}

bool
queue_is_open(void)
{
	return qc->open;
}

const char *
queue_dir(void)
{
	return qc->dir;
}

static const char *runner;

void
queue_set_runner(const char *what)
{
	runner = what;
}

const char *
queue_runner(void)
{
	return runner;
}

void
queue_test_set_fault(void (*fn)(unsigned step))
{
	fault_fn = fn;
	fault_step = 0;
}

void
queue_fault(void)
{
	if (fault_fn != NULL)
		fault_fn(++fault_step);
}

int
queue_path_of(char *out, size_t cap, const char *id, const char *ext)
{
	int n = snprintf(out, cap, "%s/%s.%s", qc->dir, id, ext);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int
queue_find_ent(const char *id)
{
	for (unsigned i = 0; i < CONFIG_QUEUE_MAX_ENTRIES; i++)
		if (qc->ents[i].used && strcmp(qc->ents[i].id, id) == 0)
			return (int)i;
	return -1;
}

int
queue_free_ent(void)
{
	for (unsigned i = 0; i < CONFIG_QUEUE_MAX_ENTRIES; i++)
		if (!qc->ents[i].used)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ storage */

static int
write_file(const char *path, const void *p, size_t n)
{
	struct hal_file f;
	size_t half = n / 2;
	int rc;

	queue_fault();
	rc = hal_storage_open_write(&f, path, 0600);
	if (rc != 0)
		return rc;
	queue_fault();
	rc = hal_storage_write(&f, p, half);
	if (rc == 0) {
		queue_fault();
		rc = hal_storage_write(&f, (const uint8_t *)p + half, n - half);
	}
	if (rc != 0) {
		hal_storage_abort(&f);
		return rc;
	}
	queue_fault();
	rc = hal_storage_commit(&f, path);
	queue_fault();
	return rc;
}

int
queue_state_write(const struct queue_state *st)
{
	char path[HAL_PATH_MAX];
	int n = queue_state_format(st, qc->recbuf, sizeof(qc->recbuf));

	if (n < 0)
		return n;
	if (queue_path_of(path, sizeof(path), st->id, "st") != 0)
		return -ENAMETOOLONG;
	return write_file(path, qc->recbuf, (size_t)n);
}

int
queue_state_read(const char *id, struct queue_state *st)
{
	char path[HAL_PATH_MAX];
	size_t len;
	int rc;

	if (queue_path_of(path, sizeof(path), id, "st") != 0)
		return -ENAMETOOLONG;
	rc = hal_storage_get(path, qc->recbuf, sizeof(qc->recbuf), &len);
	if (rc != 0)
		return rc;
	rc = queue_state_parse(qc->recbuf, len, st);
	if (rc == 0 && strcmp(st->id, id) != 0)
		rc = -EINVAL;
	return rc;
}

void
queue_entry_files_remove(const char *id)
{
	char path[HAL_PATH_MAX];

	queue_fault();
	if (queue_path_of(path, sizeof(path), id, "st") == 0)
		hal_storage_remove(path);
	queue_fault();
	hal_storage_sync_dir(qc->dir);
	queue_fault();
	if (queue_path_of(path, sizeof(path), id, "msg") == 0)
		hal_storage_remove(path);
	queue_fault();
	hal_storage_sync_dir(qc->dir);
}

/* ------------------------------------------------------------ index/qc->slots */

void
queue_refresh(int e, const struct queue_state *st)
{
	int64_t due = NEVER;
	bool settle = false, all_final = true;

	for (unsigned i = 0; i < st->nrcpt; i++) {
		const struct queue_rcpt *r = &st->r[i];

		if (r->state == QUEUE_R_PENDING && !r->inflight && r->next < due)
			due = r->next;
		if (r->state == QUEUE_R_BOUNCED)
			settle = true;
		if (r->state != QUEUE_R_SENT && r->state != QUEUE_R_NOTIFIED)
			all_final = false;
	}
	/* every outcome recorded but the entry still here (a stop between the
	 * last result and the removal): remove it at the next settle */
	if (all_final)
		settle = true;
	qc->ents[e].next_due = due;
	if (settle)
		qc->ents[e].settle = true;
}

void
queue_ent_drop(int e)
{
	if (qc->ents[e].slot >= 0)
		qc->slots[qc->ents[e].slot].ent = -1;
	qc->nbytes -= qc->ents[e].size;
	qc->nents--;
	memset(&qc->ents[e], 0, sizeof(qc->ents[e]));
	qc->ents[e].slot = -1;
}

/* The loaded state of entry e: -EBUSY when every slot is pinned. */
int
queue_load(int e, struct queue_state **out)
{
	int best = -1, rc;

	if (qc->ents[e].slot >= 0) {
		qc->slots[qc->ents[e].slot].lru = ++qc->lru_clock;
		*out = &qc->slots[qc->ents[e].slot].st;
		return 0;
	}
	for (int s = 0; s < CONFIG_QUEUE_LOADED; s++) {
		if (qc->slots[s].ent < 0) {
			best = s;
			break;
		}
		if (qc->slots[s].pins == 0 && (best < 0 || qc->slots[s].lru < qc->slots[best].lru))
			best = s;
	}
	if (best < 0)
		return -EBUSY;
	if (qc->slots[best].ent >= 0)
		qc->ents[qc->slots[best].ent].slot = -1;
	qc->slots[best].ent = -1;
	rc = queue_state_read(qc->ents[e].id, &qc->slots[best].st);
	if (rc != 0) {
		hal_log(HAL_LOG_ERR, MOD, "%s: state record unreadable (%s)", qc->ents[e].id,
		    strerror(-rc));
		return rc;
	}
	qc->slots[best].ent = e;
	qc->slots[best].pins = 0;
	qc->slots[best].lru = ++qc->lru_clock;
	qc->ents[e].slot = best;
	*out = &qc->slots[best].st;
	return 0;
}

/* ------------------------------------------------------------ open */

struct scan {
	int pass;
	unsigned bad;
};

static bool
has_suffix(const char *name, const char *suf, size_t *stem)
{
	size_t n = strlen(name), k = strlen(suf);

	if (n <= k || strcmp(name + n - k, suf) != 0)
		return false;
	*stem = n - k;
	return true;
}

static int
scan_fn(void *arg, const char *name)
{
	struct scan *sc = arg;
	char path[HAL_PATH_MAX], id[QUEUE_ID_MAX];
	size_t stem;
	int e, rc;

	if (snprintf(path, sizeof(path), "%s/%s", qc->dir, name) >= (int)sizeof(path))
		return 0;
	if (strstr(name, ".tmp.") != NULL) {
		if (sc->pass == 0) {
			hal_log(HAL_LOG_INFO, MOD, "removing leftover temporary file %s", name);
			hal_storage_remove(path);
		}
		return 0;
	}
	if (sc->pass == 1 && has_suffix(name, ".st", &stem)) {
		if (!queue_valid_id(name, stem))
			return 0;
		memcpy(id, name, stem);
		id[stem] = 0;
		if (queue_find_ent(id) >= 0)
			return 0;
		rc = queue_state_read(id, &qc->scratch);
		if (rc != 0) {
			hal_log(HAL_LOG_ERR, MOD, "%s: damaged state record left alone (%s)",
			    name, rc == -EINVAL ? "malformed" : strerror(-rc));
			sc->bad++;
			return 0;
		}
		if (queue_path_of(path, sizeof(path), id, "msg") != 0 ||
		    hal_storage_exists(path) != 1) {
			hal_log(HAL_LOG_ERR, MOD, "%s: message file missing, entry skipped", id);
			sc->bad++;
			return 0;
		}
		e = queue_free_ent();
		if (e < 0) {
			hal_log(HAL_LOG_ERR, MOD, "%s: queue index full (%d entries, the most this "
			    "firmware holds), entry left on storage", id, CONFIG_QUEUE_MAX_ENTRIES);
			return 0;
		}
		memset(&qc->ents[e], 0, sizeof(qc->ents[e]));
		qc->ents[e].used = true;
		qc->ents[e].slot = -1;
		memcpy(qc->ents[e].id, id, stem + 1);
		qc->ents[e].created = qc->scratch.created;
		qc->ents[e].size = qc->scratch.size;
		qc->nents++;
		qc->nbytes += qc->scratch.size;
		queue_refresh(e, &qc->scratch);
		for (unsigned i = 0; i < qc->scratch.nrcpt; i++)
			if (qc->scratch.r[i].state == QUEUE_R_INFLIGHT)
				qc->ents[e].settle = true;   /* recovered below */
		return 0;
	}
	if (sc->pass == 2 && has_suffix(name, ".msg", &stem)) {
		if (stem < QUEUE_ID_MAX) {
			memcpy(id, name, stem);
			id[stem] = 0;
			if (queue_find_ent(id) >= 0)
				return 0;
			if (queue_path_of(path, sizeof(path), id, "st") == 0 &&
			    hal_storage_exists(path) == 1)
				return 0;   /* damaged record: keep its message */
		}
		hal_log(HAL_LOG_WARN, MOD, "removing %s: its commit never completed", name);
		snprintf(path, sizeof(path), "%s/%s", qc->dir, name);
		hal_storage_remove(path);
	}
	return 0;
}

/* In-flight recipients of a crashed run become due now (at-least-once). */
static void
recover(int e)
{
	struct queue_state *st;
	bool changed = false;

	if (queue_load(e, &st) != 0)
		return;
	for (unsigned i = 0; i < st->nrcpt; i++) {
		if (st->r[i].state != QUEUE_R_INFLIGHT)
			continue;
		char to[TEXT_LOG_ADDR_CAP];

		st->r[i].state = QUEUE_R_PENDING;
		st->r[i].next = 0;
		changed = true;
		text_log_addr(to, sizeof(to), st->r[i].addr);
		hal_log(HAL_LOG_WARN, MOD, "%s: to=<%s>, delivery was in flight when zegel "
		    "stopped: retried (may arrive twice)", st->id, to);
	}
	if (changed && queue_state_write(st) != 0)
		hal_log(HAL_LOG_ERR, MOD, "%s: cannot rewrite state record", st->id);
	queue_refresh(e, st);
}

void
queue_close(void)
{
	memset(qc->ents, 0, sizeof(qc->ents));
	for (unsigned i = 0; i < CONFIG_QUEUE_MAX_ENTRIES; i++)
		qc->ents[i].slot = -1;
	for (int s = 0; s < CONFIG_QUEUE_LOADED; s++) {
		qc->slots[s].ent = -1;
		qc->slots[s].pins = 0;
	}
	qc->nents = 0;
	qc->nbytes = 0;
	qc->open = false;
}

int
queue_open(const char *dir, char *err, size_t cap)
{
	struct scan sc = { 0, 0 };
	int rc;

	queue_close();
	if (strlen(dir) >= sizeof(qc->dir)) {
		snprintf(err, cap, "queue directory name too long");
		return -ENAMETOOLONG;
	}
	strcpy(qc->dir, dir);
	if (hal_storage()->list == NULL) {
		snprintf(err, cap, "storage backend %s cannot list directories",
		    hal_storage()->name);
		return -ENOTSUP;
	}
	rc = hal_storage_mkdirs(qc->dir, 0700);
	for (sc.pass = 0; rc == 0 && sc.pass < 3; sc.pass++)
		rc = hal_storage_list(qc->dir, scan_fn, &sc);
	if (rc != 0) {
		snprintf(err, cap, "queue %s: %s", qc->dir, strerror(-rc));
		return rc;
	}
	hal_storage_sync_dir(qc->dir);
	for (unsigned i = 0; i < CONFIG_QUEUE_MAX_ENTRIES; i++)
		if (qc->ents[i].used && qc->ents[i].settle)
			recover((int)i);
	qc->open = true;
	hal_log(HAL_LOG_INFO, MOD, "%s: %u messages, %" PRIu64 " bytes%s", qc->dir, qc->nents,
	    qc->nbytes, sc.bad ? " (damaged records left alone, see above)" : "");
	return 0;
}

void
queue_set_limits(const struct queue_limits *l)
{
	queue_conf.lim = *l;
	if (queue_conf.lim.retry_base < 1)
		queue_conf.lim.retry_base = 1;
	if (queue_conf.lim.retry_max < queue_conf.lim.retry_base)
		queue_conf.lim.retry_max = queue_conf.lim.retry_base;
	if (queue_conf.lim.lifetime < 1)
		queue_conf.lim.lifetime = 1;
}

void
queue_set_hostname(const char *host)
{
	queue_put_text(queue_conf.host, sizeof(queue_conf.host), host != NULL && host[0] ? host : "localhost");
}

void
queue_limits_from_cfg(const struct zcfg *cfg, struct queue_limits *l)
{
	const struct zcfg_queue *q = &cfg->queue;

	l->lifetime = q->lifetime ? q->lifetime : CONFIG_QUEUE_LIFETIME;
	l->delay_warning = q->delay_warning;
	l->retry_base = q->retry_base ? q->retry_base : CONFIG_QUEUE_RETRY_BASE;
	/* 5 min doubling to 1 h by default; a shorter base (tests) scales the cap */
	l->retry_max = (int64_t)CONFIG_QUEUE_RETRY_MAX * l->retry_base / CONFIG_QUEUE_RETRY_BASE;
	if (l->retry_max < l->retry_base)
		l->retry_max = l->retry_base;
	l->max_messages = q->max_messages ? q->max_messages : CONFIG_QUEUE_MAX_MESSAGES;
	l->max_bytes = q->max_size ? q->max_size : (uint64_t)CONFIG_QUEUE_MAX_BYTES << 20;
	l->min_free = q->min_free;
}

unsigned
queue_count(void)
{
	return qc->nents;
}

uint64_t
queue_bytes(void)
{
	return qc->nbytes;
}

int
queue_admit(uint64_t size)
{
	uint64_t avail;

	if (!qc->open)
		return -ENOSPC;
	if (qc->nents >= CONFIG_QUEUE_MAX_ENTRIES ||
	    (queue_conf.lim.max_messages && qc->nents >= queue_conf.lim.max_messages))
		return -ENOSPC;
	if (queue_conf.lim.max_bytes && (size > queue_conf.lim.max_bytes || qc->nbytes > queue_conf.lim.max_bytes - size))
		return -ENOSPC;
	if (hal_storage_free_bytes(qc->dir, &avail) == 0 &&
	    (avail < size || avail - size < queue_conf.lim.min_free))
		return -ENOSPC;
	return 0;
}

/* ------------------------------------------------------------ commit */


/* The copy of a spool file, for when it cannot be taken by rename (another
 * medium, a backend without rename_new). */
static int
spool_copy(void *arg, struct hal_file *f)
{
	const struct queue_new *n = arg;
	struct hal_file in;
	int rc;

	if (n->spool_path == NULL)
		return 0;
	queue_fault();
	rc = hal_storage_open_read(&in, n->spool_path);
	if (rc != 0)
		return rc;
	for (;;) {
		ssize_t r = hal_storage_read(&in, copybuf, sizeof(copybuf));

		if (r <= 0) {
			rc = (int)r;
			break;
		}
		rc = hal_storage_write(f, copybuf, (size_t)r);
		if (rc != 0)
			break;
		queue_fault();
	}
	hal_storage_close(&in);
	return rc;
}

static int
new_id(char id[QUEUE_ID_MAX])
{
	static const char hex[] = "0123456789ABCDEF";
	char path[HAL_PATH_MAX];
	uint8_t b[5];

	for (int tries = 0; tries < 32; tries++) {
		if (hal_entropy_fill(b, sizeof(b)) != 0)
			return -EIO;
		for (int i = 0; i < 5; i++) {
			id[2 * i] = hex[b[i] >> 4];
			id[2 * i + 1] = hex[b[i] & 15];
		}
		id[10] = 0;
		if (queue_find_ent(id) >= 0 || queue_path_of(path, sizeof(path), id, "msg") != 0 ||
		    hal_storage_exists(path) != 0)
			continue;
		if (queue_path_of(path, sizeof(path), id, "st") == 0 && hal_storage_exists(path) == 0)
			return 0;
	}
	return -EEXIST;
}

/* The message file of a new entry: taken by rename from the spool when
 * there is one (take != NULL), else written by body(). Sets st->size. */
static int
msg_file(struct queue_state *st, const struct queue_new *take, queue_body_fn body, void *arg)
{
	char path[HAL_PATH_MAX];
	struct hal_file f;
	int rc;

	if (queue_path_of(path, sizeof(path), st->id, "msg") != 0)
		return -ENAMETOOLONG;
	if (take != NULL && take->spool_path != NULL) {
		queue_fault();
		rc = hal_storage_rename_new(take->spool_path, path);
		queue_fault();
		if (rc == 0) {
			st->size = st->prefix_len + take->spool_size;
			return 0;
		}
		if (rc != -EXDEV && rc != -ENOTSUP)
			return rc;
		body = spool_copy;
		arg = (void *)take;
	}
	queue_fault();
	rc = hal_storage_open_write(&f, path, 0600);
	if (rc != 0)
		return rc;
	queue_fault();
	rc = body != NULL ? body(arg, &f) : 0;
	if (rc != 0) {
		hal_storage_abort(&f);
		return rc;
	}
	st->size = st->prefix_len + f.written;
	queue_fault();
	return hal_storage_commit(&f, path);
}

/* Message file, then state record; the entry exists from the rename of the
 * record on. st (qc->scratch) holds the envelope and the prefix already. */
int
queue_commit_entry(struct queue_state *st, const struct queue_new *take, queue_body_fn body, void *arg,
    char id[QUEUE_ID_MAX])
{
	int e, rc;

	if (!qc->open)
		return -EIO;
	e = queue_free_ent();
	if (e < 0)
		return -ENOSPC;
	for (int tries = 0;; tries++) {
		rc = new_id(st->id);
		if (rc != 0)
			return rc;
		rc = msg_file(st, take, body, arg);
		if (rc != -EEXIST || tries >= 8)
			break;
		/* an ID.msg appeared since new_id() looked: another name */
	}
	if (rc != 0)
		return rc;
	rc = queue_state_write(st);
	if (rc != 0) {
		queue_entry_files_remove(st->id);
		return rc;
	}
	memset(&qc->ents[e], 0, sizeof(qc->ents[e]));
	qc->ents[e].used = true;
	qc->ents[e].slot = -1;
	memcpy(qc->ents[e].id, st->id, sizeof(qc->ents[e].id));
	qc->ents[e].created = st->created;
	qc->ents[e].size = st->size;
	queue_refresh(e, st);
	qc->nents++;
	qc->nbytes += st->size;
	memcpy(id, st->id, QUEUE_ID_MAX);
	queue_wake();
	return 0;
}

int
queue_commit(const struct queue_new *n, char id[QUEUE_ID_MAX])
{
	struct queue_state *st = &qc->scratch;
	const char *a = n->rcpts;
	int rc;

	if (n->mail_from == NULL || !queue_valid_addr(n->mail_from, strlen(n->mail_from), false) ||
	    n->nrcpt == 0 || n->nrcpt > QUEUE_RCPT_MAX ||
	    (n->prefix_len > 0 && !queue_prefix_ok(n->prefix, n->prefix_len)))
		return -EINVAL;
	queue_state_init(st, n->mail_from, n->now);
	st->body_8bit = n->body_8bit;
	st->smtputf8 = n->smtputf8;
	st->requiretls = n->requiretls;
	st->tls_required_no = n->tls_required_no;
	if (n->prefix_len > 0)
		memcpy(st->prefix, n->prefix, n->prefix_len);
	st->prefix_len = n->prefix_len;
	for (unsigned i = 0; i < n->nrcpt; i++, a += strlen(a) + 1)
		if (queue_state_add_rcpt(st, a, n->now) != 0)
			return -EINVAL;
	rc = queue_commit_entry(st, n, NULL, NULL, id);
	if (rc == 0) {
		char from[TEXT_LOG_ADDR_CAP];

		text_log_addr(from, sizeof(from), n->mail_from);
		hal_log(HAL_LOG_INFO, MOD, "%s: from=<%s>, size=%" PRIu64 ", nrcpt=%u (queued)",
		    id, from, st->size, n->nrcpt);
	}
	return rc;
}

