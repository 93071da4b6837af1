/*
 * The crash-safe delivery queue (model and kill-point argument in queue.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/spool/dsn.h"
#include "firmware/spool/queue.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/cfg.h"

#define MOD "queue"
#define DIR_MAX (HAL_PATH_MAX - 48)
#define ORIG_HEADERS_MAX 16384
#define NEVER INT64_MAX

struct qent {                       /* index record, one per entry */
	bool used;
	bool settle;                /* bounces/removal waiting for settle_entry() */
	char id[QUEUE_ID_MAX];
	int64_t created;
	int64_t next_due;           /* earliest due pending recipient, NEVER none */
	int64_t settle_after;       /* a failed DSN commit waits until then */
	uint64_t size;
	int slot;                   /* loaded slot or -1 */
	unsigned inflight;          /* jobs out */
	bool dirty;                 /* outcomes recorded in RAM, written at job end */
};

struct qslot {
	int ent;                    /* -1 free */
	unsigned pins;
	unsigned lru;
	struct queue_state st;
};

static char qdir[DIR_MAX];
static bool qopen;
static struct queue_limits lim = {
	.max_messages = CONFIG_QUEUE_MAX_MESSAGES,
	.max_bytes = (uint64_t)CONFIG_QUEUE_MAX_BYTES << 20,
	.min_free = (uint64_t)CONFIG_QUEUE_MIN_FREE << 10,
	.lifetime = CONFIG_QUEUE_LIFETIME,
	.delay_warning = CONFIG_QUEUE_DELAY_WARNING,
	.retry_base = CONFIG_QUEUE_RETRY_BASE,
	.retry_max = CONFIG_QUEUE_RETRY_MAX,
};
static char qhost[256] = "localhost";
static struct qent ents[CONFIG_QUEUE_MAX_ENTRIES];
static unsigned nents;
static uint64_t nbytes;
static struct qslot slots[CONFIG_QUEUE_LOADED];
static unsigned lru_clock;
static char recbuf[QUEUE_STATE_MAX];
static struct queue_state scratch;
static uint8_t copybuf[4096];
static char orighdr[ORIG_HEADERS_MAX];
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

static void
wake(void)
{
	if (wake_fn != NULL)
		wake_fn(wake_arg);
}

bool
queue_is_open(void)
{
	return qopen;
}

void
queue_test_set_fault(void (*fn)(unsigned step))
{
	fault_fn = fn;
	fault_step = 0;
}

static void
fault(void)
{
	if (fault_fn != NULL)
		fault_fn(++fault_step);
}

static int
path_of(char *out, size_t cap, const char *id, const char *ext)
{
	int n = snprintf(out, cap, "%s/%s.%s", qdir, id, ext);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static bool
valid_id(const char *s, size_t n)
{
	if (n == 0 || n >= QUEUE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

/* An address as the record holds it: printable, no tab, bounded. */
static bool
valid_addr(const char *s, size_t n, bool need_at)
{
	if (n >= QUEUE_ADDR_MAX || (need_at && n == 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return !need_at || memchr(s, '@', n) != NULL;
}

/* One line of reply text: control characters become spaces, truncated. */
static void
put_text(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != 0 && i + 1 < cap; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? ' ' : src[i];
	dst[i] = 0;
}

static void
put_esc(char *dst, const char *esc, int code)
{
	size_t n = esc != NULL ? strlen(esc) : 0;
	bool ok = n >= 5 && n < 12;

	for (size_t i = 0; ok && i < n; i++)
		ok = (esc[i] >= '0' && esc[i] <= '9') || esc[i] == '.';
	if (ok && esc[0] == '0' + code / 100) {
		memcpy(dst, esc, n + 1);
		return;
	}
	if (code >= 200 && code < 600)
		snprintf(dst, 12, "%d.0.0", code / 100);
	else
		dst[0] = 0;
}

static const char *
domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
}

static int
find_ent(const char *id)
{
	for (unsigned i = 0; i < CONFIG_QUEUE_MAX_ENTRIES; i++)
		if (ents[i].used && strcmp(ents[i].id, id) == 0)
			return (int)i;
	return -1;
}

static int
free_ent(void)
{
	for (unsigned i = 0; i < CONFIG_QUEUE_MAX_ENTRIES; i++)
		if (!ents[i].used)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------ records */

static int
parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

struct cur {
	const char *p, *end;
};

/* The next line (without '\n') or NULL; CR and NUL are refused. */
static const char *
next_line(struct cur *c, size_t *n)
{
	const char *nl, *l = c->p;

	if (c->p >= c->end)
		return NULL;
	nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	if (nl == NULL)
		return NULL;
	*n = (size_t)(nl - l);
	if (memchr(l, 0, *n) != NULL || memchr(l, '\r', *n) != NULL)
		return NULL;
	c->p = nl + 1;
	return l;
}

/* "key value" line: value and its length, or NULL */
static const char *
keyed(struct cur *c, const char *key, size_t *vn)
{
	size_t n, k = strlen(key);
	const char *l = next_line(c, &n);

	if (l == NULL || n < k || memcmp(l, key, k) != 0)
		return NULL;
	if (n == k) {
		*vn = 0;
		return l + n;
	}
	if (l[k] != ' ')
		return NULL;
	*vn = n - k - 1;
	return l + k + 1;
}

static int
keyed_num(struct cur *c, const char *key, uint64_t max, uint64_t *out)
{
	size_t vn;
	const char *v = keyed(c, key, &vn);

	return v == NULL ? -EINVAL : parse_u64(v, vn, max, out);
}

/* Next space-separated token of [*p, end). */
static const char *
token(const char **p, const char *end, size_t *n)
{
	const char *t = *p, *sp;

	if (t >= end)
		return NULL;
	sp = memchr(t, ' ', (size_t)(end - t));
	if (sp == NULL)
		sp = end;
	*n = (size_t)(sp - t);
	*p = sp < end ? sp + 1 : end;
	return *n > 0 ? t : NULL;
}

static int
env_add(struct queue_state *st, const char *s, size_t n, const char **out)
{
	if (n + 1 > sizeof(st->env) - st->envlen)
		return -EINVAL;
	memcpy(st->env + st->envlen, s, n);
	st->env[st->envlen + n] = 0;
	*out = st->env + st->envlen;
	st->envlen += n + 1;
	return 0;
}

static int
parse_rcpt(struct queue_state *st, const char *l, size_t n)
{
	struct queue_rcpt *r = &st->r[st->nrcpt];
	const char *end = l + n, *p = l + 2, *t, *tab1, *tab2;
	size_t tn;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	tab1 = memchr(l, '\t', n);
	if (n < 2 || memcmp(l, "r ", 2) != 0 || tab1 == NULL)
		return -EINVAL;
	tab2 = memchr(tab1 + 1, '\t', (size_t)(end - tab1 - 1));
	if (tab2 == NULL)
		return -EINVAL;
	/* r STATE ATTEMPTS CODE NEXT ESC\tADDR\tTEXT */
	if ((t = token(&p, tab1, &tn)) == NULL || tn != 1 || strchr("PFSBX", t[0]) == NULL)
		return -EINVAL;
	r->state = t[0];
	if ((t = token(&p, tab1, &tn)) == NULL || parse_u64(t, tn, 65535, &v) != 0)
		return -EINVAL;
	r->attempts = (uint16_t)v;
	if ((t = token(&p, tab1, &tn)) == NULL || parse_u64(t, tn, 599, &v) != 0 ||
	    (v != 0 && v < 200))
		return -EINVAL;
	r->code = (int16_t)v;
	if ((t = token(&p, tab1, &tn)) == NULL || parse_u64(t, tn, INT64_MAX, &v) != 0)
		return -EINVAL;
	r->next = (int64_t)v;
	if ((t = token(&p, tab1, &tn)) == NULL || tn >= sizeof(r->esc) || p != tab1)
		return -EINVAL;
	if (tn == 1 && t[0] == '-') {
		r->esc[0] = 0;
	} else {
		for (size_t i = 0; i < tn; i++)
			if (!((t[i] >= '0' && t[i] <= '9') || t[i] == '.'))
				return -EINVAL;
		memcpy(r->esc, t, tn);
		r->esc[tn] = 0;
	}
	tn = (size_t)(tab2 - tab1 - 1);
	if (!valid_addr(tab1 + 1, tn, true) || memchr(tab1 + 1, '\t', tn) != NULL)
		return -EINVAL;
	if (env_add(st, tab1 + 1, tn, &r->addr) != 0)
		return -EINVAL;
	tn = (size_t)(end - tab2 - 1);
	if (tn >= sizeof(r->text))
		return -EINVAL;
	for (size_t i = 0; i < tn; i++)
		if ((unsigned char)tab2[1 + i] < 0x20 || tab2[1 + i] == 0x7f)
			return -EINVAL;
	memcpy(r->text, tab2 + 1, tn);
	r->text[tn] = 0;
	return 0;
}

int
queue_state_parse(const char *buf, size_t len, struct queue_state *st)
{
	struct cur c = { buf, buf + len };
	const char *l, *v, *p, *t;
	size_t n, vn, tn;
	uint64_t x;

	st->nrcpt = 0;
	st->envlen = 0;
	st->from = NULL;
	st->body_8bit = st->smtputf8 = st->warned = st->is_dsn = false;
	l = next_line(&c, &n);
	if (l == NULL || n != 13 || memcmp(l, "zegel-queue 1", 13) != 0)
		return -EINVAL;
	if ((v = keyed(&c, "id", &vn)) == NULL || !valid_id(v, vn))
		return -EINVAL;
	memcpy(st->id, v, vn);
	st->id[vn] = 0;
	if (keyed_num(&c, "created", INT64_MAX, &x) != 0)
		return -EINVAL;
	st->created = (int64_t)x;
	if (keyed_num(&c, "size", UINT64_MAX, &x) != 0)
		return -EINVAL;
	st->size = x;
	if ((v = keyed(&c, "flags", &vn)) == NULL)
		return -EINVAL;
	for (p = v; (t = token(&p, v + vn, &tn)) != NULL;) {
		if (tn == 4 && memcmp(t, "8bit", 4) == 0)
			st->body_8bit = true;
		else if (tn == 8 && memcmp(t, "smtputf8", 8) == 0)
			st->smtputf8 = true;
		else if (tn == 6 && memcmp(t, "warned", 6) == 0)
			st->warned = true;
		else if (tn == 3 && memcmp(t, "dsn", 3) == 0)
			st->is_dsn = true;
		else
			return -EINVAL;
	}
	if (p != v + vn)
		return -EINVAL;     /* double or trailing space */
	if ((v = keyed(&c, "from", &vn)) == NULL || !valid_addr(v, vn, false) ||
	    memchr(v, '\t', vn) != NULL || env_add(st, v, vn, &st->from) != 0)
		return -EINVAL;
	st->prefix_len = 0;
	for (;;) {
		l = next_line(&c, &n);
		if (l == NULL)
			return -EINVAL;
		if (n > 4 && memcmp(l, "end ", 4) == 0)
			break;
		if (n >= 2 && memcmp(l, "p ", 2) == 0) {
			/* a line of the DKIM prefix, before the recipients */
			if (st->nrcpt > 0 || n == 2 || n - 2 > 998 ||
			    st->prefix_len + n > sizeof(st->prefix))
				return -EINVAL;
			memcpy(st->prefix + st->prefix_len, l + 2, n - 2);
			memcpy(st->prefix + st->prefix_len + n - 2, "\r\n", 2);
			st->prefix_len += n;
			continue;
		}
		if (st->nrcpt >= QUEUE_RCPT_MAX || parse_rcpt(st, l, n) != 0)
			return -EINVAL;
		st->nrcpt++;
	}
	if (parse_u64(l + 4, n - 4, QUEUE_RCPT_MAX, &x) != 0 || x != st->nrcpt ||
	    st->nrcpt == 0 || c.p != c.end)
		return -EINVAL;
	return 0;
}

int
queue_state_format(const struct queue_state *st, char *buf, size_t cap)
{
	size_t off = 0;
	int n;

#define OUT(...) do { \
		n = snprintf(buf + off, cap - off, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= cap - off) \
			return -ENOSPC; \
		off += (size_t)n; \
	} while (0)
	OUT("zegel-queue 1\nid %s\ncreated %" PRId64 "\nsize %" PRIu64 "\nflags", st->id,
	    st->created, st->size);
	if (st->body_8bit)
		OUT(" 8bit");
	if (st->smtputf8)
		OUT(" smtputf8");
	if (st->warned)
		OUT(" warned");
	if (st->is_dsn)
		OUT(" dsn");
	OUT("\nfrom%s%s\n", st->from[0] ? " " : "", st->from);
	for (size_t i = 0, k; i < st->prefix_len; i = k + 2) {
		for (k = i; k + 1 < st->prefix_len && st->prefix[k] != '\r'; k++)
			;
		OUT("p %.*s\n", (int)(k - i), (const char *)st->prefix + i);
	}
	for (unsigned i = 0; i < st->nrcpt; i++) {
		const struct queue_rcpt *r = &st->r[i];

		OUT("r %c %u %d %" PRId64 " %s\t%s\t%s\n", r->state, (unsigned)r->attempts,
		    (int)r->code, r->next < 0 ? 0 : r->next, r->esc[0] ? r->esc : "-",
		    r->addr, r->text);
	}
	OUT("end %u\n", st->nrcpt);
#undef OUT
	return (int)off;
}

/* ------------------------------------------------------------ storage */

static int
write_file(const char *path, const void *p, size_t n)
{
	const struct hal_storage_ops *s = hal_storage();
	struct hal_file f;
	size_t half = n / 2;
	int rc;

	fault();
	rc = s->open_write(&f, path, 0600);
	if (rc != 0)
		return rc;
	fault();
	rc = s->write(&f, p, half);
	if (rc == 0) {
		fault();
		rc = s->write(&f, (const uint8_t *)p + half, n - half);
	}
	if (rc != 0) {
		s->abort(&f);
		return rc;
	}
	fault();
	rc = s->commit(&f, path);
	fault();
	return rc;
}

static int
state_write(const struct queue_state *st)
{
	char path[HAL_PATH_MAX];
	int n = queue_state_format(st, recbuf, sizeof(recbuf));

	if (n < 0)
		return n;
	if (path_of(path, sizeof(path), st->id, "st") != 0)
		return -ENAMETOOLONG;
	return write_file(path, recbuf, (size_t)n);
}

static int
state_read(const char *id, struct queue_state *st)
{
	char path[HAL_PATH_MAX];
	size_t len;
	int rc;

	if (path_of(path, sizeof(path), id, "st") != 0)
		return -ENAMETOOLONG;
	rc = hal_storage_get(path, recbuf, sizeof(recbuf), &len);
	if (rc != 0)
		return rc;
	rc = queue_state_parse(recbuf, len, st);
	if (rc == 0 && strcmp(st->id, id) != 0)
		rc = -EINVAL;
	return rc;
}

static void
entry_files_remove(const char *id)
{
	const struct hal_storage_ops *s = hal_storage();
	char path[HAL_PATH_MAX];

	fault();
	if (path_of(path, sizeof(path), id, "st") == 0)
		s->remove(path);
	fault();
	if (s->sync_dir != NULL)
		s->sync_dir(qdir);
	fault();
	if (path_of(path, sizeof(path), id, "msg") == 0)
		s->remove(path);
	fault();
	if (s->sync_dir != NULL)
		s->sync_dir(qdir);
}

/* ------------------------------------------------------------ index/slots */

static void
refresh(int e, const struct queue_state *st)
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
	ents[e].next_due = due;
	if (settle)
		ents[e].settle = true;
}

static void
ent_drop(int e)
{
	if (ents[e].slot >= 0)
		slots[ents[e].slot].ent = -1;
	nbytes -= ents[e].size;
	nents--;
	memset(&ents[e], 0, sizeof(ents[e]));
	ents[e].slot = -1;
}

/* The loaded state of entry e: -EBUSY when every slot is pinned. */
static int
load(int e, struct queue_state **out)
{
	int best = -1, rc;

	if (ents[e].slot >= 0) {
		slots[ents[e].slot].lru = ++lru_clock;
		*out = &slots[ents[e].slot].st;
		return 0;
	}
	for (int s = 0; s < CONFIG_QUEUE_LOADED; s++) {
		if (slots[s].ent < 0) {
			best = s;
			break;
		}
		if (slots[s].pins == 0 && (best < 0 || slots[s].lru < slots[best].lru))
			best = s;
	}
	if (best < 0)
		return -EBUSY;
	if (slots[best].ent >= 0)
		ents[slots[best].ent].slot = -1;
	slots[best].ent = -1;
	rc = state_read(ents[e].id, &slots[best].st);
	if (rc != 0) {
		hal_log(HAL_LOG_ERR, MOD, "%s: state record unreadable (%s)", ents[e].id,
		    strerror(-rc));
		return rc;
	}
	slots[best].ent = e;
	slots[best].pins = 0;
	slots[best].lru = ++lru_clock;
	ents[e].slot = best;
	*out = &slots[best].st;
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

	if (snprintf(path, sizeof(path), "%s/%s", qdir, name) >= (int)sizeof(path))
		return 0;
	if (strstr(name, ".tmp.") != NULL) {
		if (sc->pass == 0) {
			hal_log(HAL_LOG_INFO, MOD, "removing leftover temporary file %s", name);
			hal_storage_remove(path);
		}
		return 0;
	}
	if (sc->pass == 1 && has_suffix(name, ".st", &stem)) {
		if (!valid_id(name, stem))
			return 0;
		memcpy(id, name, stem);
		id[stem] = 0;
		if (find_ent(id) >= 0)
			return 0;
		rc = state_read(id, &scratch);
		if (rc != 0) {
			hal_log(HAL_LOG_ERR, MOD, "%s: damaged state record left alone (%s)",
			    name, rc == -EINVAL ? "malformed" : strerror(-rc));
			sc->bad++;
			return 0;
		}
		if (path_of(path, sizeof(path), id, "msg") != 0 ||
		    hal_storage_exists(path) != 1) {
			hal_log(HAL_LOG_ERR, MOD, "%s: message file missing, entry skipped", id);
			sc->bad++;
			return 0;
		}
		e = free_ent();
		if (e < 0) {
			hal_log(HAL_LOG_ERR, MOD, "%s: queue index full (CONFIG_QUEUE_MAX_ENTRIES), "
			    "entry left on storage", id);
			return 0;
		}
		memset(&ents[e], 0, sizeof(ents[e]));
		ents[e].used = true;
		ents[e].slot = -1;
		memcpy(ents[e].id, id, stem + 1);
		ents[e].created = scratch.created;
		ents[e].size = scratch.size;
		nents++;
		nbytes += scratch.size;
		refresh(e, &scratch);
		for (unsigned i = 0; i < scratch.nrcpt; i++)
			if (scratch.r[i].state == QUEUE_R_INFLIGHT)
				ents[e].settle = true;   /* recovered below */
		return 0;
	}
	if (sc->pass == 2 && has_suffix(name, ".msg", &stem)) {
		if (stem < QUEUE_ID_MAX) {
			memcpy(id, name, stem);
			id[stem] = 0;
			if (find_ent(id) >= 0)
				return 0;
			if (path_of(path, sizeof(path), id, "st") == 0 &&
			    hal_storage_exists(path) == 1)
				return 0;   /* damaged record: keep its message */
		}
		hal_log(HAL_LOG_WARN, MOD, "removing %s: its commit never completed", name);
		snprintf(path, sizeof(path), "%s/%s", qdir, name);
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

	if (load(e, &st) != 0)
		return;
	for (unsigned i = 0; i < st->nrcpt; i++) {
		if (st->r[i].state != QUEUE_R_INFLIGHT)
			continue;
		st->r[i].state = QUEUE_R_PENDING;
		st->r[i].next = 0;
		changed = true;
		hal_log(HAL_LOG_WARN, MOD, "%s: to=<%s>, delivery was in flight when zegel "
		    "stopped: retried (may arrive twice)", st->id, st->r[i].addr);
	}
	if (changed && state_write(st) != 0)
		hal_log(HAL_LOG_ERR, MOD, "%s: cannot rewrite state record", st->id);
	refresh(e, st);
}

void
queue_close(void)
{
	memset(ents, 0, sizeof(ents));
	for (unsigned i = 0; i < CONFIG_QUEUE_MAX_ENTRIES; i++)
		ents[i].slot = -1;
	for (int s = 0; s < CONFIG_QUEUE_LOADED; s++) {
		slots[s].ent = -1;
		slots[s].pins = 0;
	}
	nents = 0;
	nbytes = 0;
	qopen = false;
}

int
queue_open(const char *dir, char *err, size_t cap)
{
	const struct hal_storage_ops *s = hal_storage();
	struct scan sc = { 0, 0 };
	int rc;

	queue_close();
	if (strlen(dir) >= sizeof(qdir)) {
		snprintf(err, cap, "queue directory name too long");
		return -ENAMETOOLONG;
	}
	strcpy(qdir, dir);
	if (s->list == NULL) {
		snprintf(err, cap, "storage backend %s cannot list directories", s->name);
		return -ENOTSUP;
	}
	rc = s->mkdirs(qdir, 0700);
	for (sc.pass = 0; rc == 0 && sc.pass < 3; sc.pass++)
		rc = s->list(qdir, scan_fn, &sc);
	if (rc != 0) {
		snprintf(err, cap, "queue %s: %s", qdir, strerror(-rc));
		return rc;
	}
	if (s->sync_dir != NULL)
		s->sync_dir(qdir);
	for (unsigned i = 0; i < CONFIG_QUEUE_MAX_ENTRIES; i++)
		if (ents[i].used && ents[i].settle)
			recover((int)i);
	qopen = true;
	hal_log(HAL_LOG_INFO, MOD, "%s: %u messages, %" PRIu64 " bytes%s", qdir, nents,
	    nbytes, sc.bad ? " (damaged records left alone, see above)" : "");
	return 0;
}

void
queue_set_limits(const struct queue_limits *l)
{
	lim = *l;
	if (lim.retry_base < 1)
		lim.retry_base = 1;
	if (lim.retry_max < lim.retry_base)
		lim.retry_max = lim.retry_base;
	if (lim.lifetime < 1)
		lim.lifetime = 1;
}

void
queue_set_hostname(const char *host)
{
	put_text(qhost, sizeof(qhost), host != NULL && host[0] ? host : "localhost");
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
	return nents;
}

uint64_t
queue_bytes(void)
{
	return nbytes;
}

int
queue_admit(uint64_t size)
{
	uint64_t avail;

	if (!qopen)
		return -ENOSPC;
	if (nents >= CONFIG_QUEUE_MAX_ENTRIES ||
	    (lim.max_messages && nents >= lim.max_messages))
		return -ENOSPC;
	if (lim.max_bytes && (size > lim.max_bytes || nbytes > lim.max_bytes - size))
		return -ENOSPC;
	if (hal_storage()->free_bytes != NULL &&
	    hal_storage_free_bytes(qdir, &avail) == 0 &&
	    (avail < size || avail - size < lim.min_free))
		return -ENOSPC;
	return 0;
}

/* ------------------------------------------------------------ commit */

typedef int (*body_fn)(void *arg, const struct hal_storage_ops *s, struct hal_file *f);

/* The copy of a spool file, for when it cannot be taken by rename (another
 * medium, a backend without rename_new). */
static int
spool_copy(void *arg, const struct hal_storage_ops *s, struct hal_file *f)
{
	const struct queue_new *n = arg;
	struct hal_file in;
	int rc;

	if (n->spool_path == NULL)
		return 0;
	fault();
	rc = s->open_read(&in, n->spool_path);
	if (rc != 0)
		return rc;
	for (;;) {
		ssize_t r = s->read(&in, copybuf, sizeof(copybuf));

		if (r <= 0) {
			rc = (int)r;
			break;
		}
		rc = s->write(f, copybuf, (size_t)r);
		if (rc != 0)
			break;
		fault();
	}
	s->close(&in);
	return rc;
}

/* A DKIM prefix the record can hold: CRLF lines of 1..998 octets without
 * NUL, CR or LF inside. */
static bool
prefix_ok(const uint8_t *p, size_t n)
{
	size_t len = 0;

	if (n > QUEUE_PREFIX_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == 0 || p[i] == '\n')
			return false;
		if (p[i] != '\r') {
			len++;
			continue;
		}
		if (i + 1 >= n || p[i + 1] != '\n' || len == 0 || len > 998)
			return false;
		i++;
		len = 0;
	}
	return len == 0;
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
		if (find_ent(id) >= 0 || path_of(path, sizeof(path), id, "msg") != 0 ||
		    hal_storage_exists(path) != 0)
			continue;
		if (path_of(path, sizeof(path), id, "st") == 0 && hal_storage_exists(path) == 0)
			return 0;
	}
	return -EEXIST;
}

/* The message file of a new entry: taken by rename from the spool when
 * there is one (take != NULL), else written by body(). Sets st->size. */
static int
msg_file(struct queue_state *st, const struct queue_new *take, body_fn body, void *arg)
{
	const struct hal_storage_ops *s = hal_storage();
	char path[HAL_PATH_MAX];
	struct hal_file f;
	int rc;

	if (path_of(path, sizeof(path), st->id, "msg") != 0)
		return -ENAMETOOLONG;
	if (take != NULL && take->spool_path != NULL) {
		fault();
		rc = hal_storage_rename_new(take->spool_path, path);
		fault();
		if (rc == 0) {
			st->size = st->prefix_len + take->spool_size;
			return 0;
		}
		if (rc != -EXDEV && rc != -ENOTSUP)
			return rc;
		body = spool_copy;
		arg = (void *)take;
	}
	fault();
	rc = s->open_write(&f, path, 0600);
	if (rc != 0)
		return rc;
	fault();
	rc = body != NULL ? body(arg, s, &f) : 0;
	if (rc != 0) {
		s->abort(&f);
		return rc;
	}
	st->size = st->prefix_len + f.written;
	fault();
	return s->commit(&f, path);
}

/* Message file, then state record; the entry exists from the rename of the
 * record on. st (scratch) holds the envelope and the prefix already. */
static int
commit_entry(struct queue_state *st, const struct queue_new *take, body_fn body, void *arg,
    char id[QUEUE_ID_MAX])
{
	int e, rc;

	if (!qopen)
		return -EIO;
	e = free_ent();
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
	rc = state_write(st);
	if (rc != 0) {
		entry_files_remove(st->id);
		return rc;
	}
	memset(&ents[e], 0, sizeof(ents[e]));
	ents[e].used = true;
	ents[e].slot = -1;
	memcpy(ents[e].id, st->id, sizeof(ents[e].id));
	ents[e].created = st->created;
	ents[e].size = st->size;
	refresh(e, st);
	nents++;
	nbytes += st->size;
	memcpy(id, st->id, QUEUE_ID_MAX);
	wake();
	return 0;
}

static void
state_init(struct queue_state *st, const char *from, int64_t now)
{
	memset(st->id, 0, sizeof(st->id));
	st->created = now;
	st->size = 0;
	st->body_8bit = st->smtputf8 = st->warned = st->is_dsn = false;
	st->nrcpt = 0;
	st->envlen = 0;
	st->prefix_len = 0;
	env_add(st, from, strlen(from), &st->from);
}

static int
state_add_rcpt(struct queue_state *st, const char *addr, int64_t now)
{
	struct queue_rcpt *r;
	size_t n = strlen(addr);

	if (st->nrcpt >= QUEUE_RCPT_MAX || !valid_addr(addr, n, true))
		return -EINVAL;
	r = &st->r[st->nrcpt];
	memset(r, 0, sizeof(*r));
	if (env_add(st, addr, n, &r->addr) != 0)
		return -EINVAL;
	r->state = QUEUE_R_PENDING;
	r->next = now;
	st->nrcpt++;
	return 0;
}

int
queue_commit(const struct queue_new *n, char id[QUEUE_ID_MAX])
{
	struct queue_state *st = &scratch;
	const char *a = n->rcpts;
	int rc;

	if (n->mail_from == NULL || !valid_addr(n->mail_from, strlen(n->mail_from), false) ||
	    n->nrcpt == 0 || n->nrcpt > QUEUE_RCPT_MAX ||
	    (n->prefix_len > 0 && !prefix_ok(n->prefix, n->prefix_len)))
		return -EINVAL;
	state_init(st, n->mail_from, n->now);
	st->body_8bit = n->body_8bit;
	st->smtputf8 = n->smtputf8;
	memcpy(st->prefix, n->prefix, n->prefix_len);
	st->prefix_len = n->prefix_len;
	for (unsigned i = 0; i < n->nrcpt; i++, a += strlen(a) + 1)
		if (state_add_rcpt(st, a, n->now) != 0)
			return -EINVAL;
	rc = commit_entry(st, n, NULL, NULL, id);
	if (rc == 0)
		hal_log(HAL_LOG_INFO, MOD, "%s: from=<%s>, size=%" PRIu64 ", nrcpt=%u (queued)",
		    id, n->mail_from, st->size, n->nrcpt);
	return rc;
}

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
dsn_body_fn(void *arg, const struct hal_storage_ops *s, struct hal_file *f)
{
	struct dsn_body *db = arg;
	void *a[2] = { arg, f };

	(void)s;
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
	if (path_of(path, sizeof(path), st->id, "msg") == 0 &&
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
	struct queue_state *dst = &scratch;   /* st is a slot, never scratch */
	struct dsn_body db = { .rep = &rep };
	char id[QUEUE_ID_MAX];
	int rc;

	memset(&rep, 0, sizeof(rep));
	rep.reporting_mta = qhost;
	rep.orig_id = st->id;
	rep.orig_from = st->from;
	rep.arrival = st->created;
	rep.now = now;
	rep.delayed = delayed;
	rep.retry_until = st->created + lim.lifetime;
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
	state_init(dst, "", now);
	dst->is_dsn = true;
	dst->body_8bit = st->body_8bit || st->smtputf8;
	for (const char *c = st->from; *c; c++)
		if ((unsigned char)*c >= 0x80)
			dst->smtputf8 = true;   /* RFC 6531: a UTF-8 mailbox needs SMTPUTF8 */
	if (state_add_rcpt(dst, st->from, now) != 0)
		return -EINVAL;
	if (dsn_signer != NULL) {
		static uint8_t sig[4096];
		size_t n = 0;

		if (dsn_signer(dsn_signer_arg, qhost, dsn_gen, &rep, sig, sizeof(sig), &n) == 0 &&
		    n > 0 && prefix_ok(sig, n)) {
			memcpy(dst->prefix, sig, n);
			dst->prefix_len = n;
		}
	}
	rc = commit_entry(dst, NULL, dsn_body_fn, &db, id);
	if (rc == 0)
		hal_log(HAL_LOG_INFO, MOD, "%s: sender %s notification: %s", st->id,
		    delayed ? "delay" : "non-delivery", id);
	return rc;
}

/* ------------------------------------------------------------ delivery */

static int64_t
backoff(const struct queue_rcpt *r, int64_t created, int64_t now)
{
	int64_t d = lim.retry_base, t, expiry = created + lim.lifetime;

	for (unsigned i = 1; i < r->attempts && d < lim.retry_max; i++)
		d *= 2;
	if (d > lim.retry_max)
		d = lim.retry_max;
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

	if (ents[e].inflight > 0 || load(e, &st) != 0)
		return;
	nullsender = st->from[0] == 0 || st->is_dsn;
	for (unsigned i = 0; i < st->nrcpt; i++) {
		if (st->r[i].state != QUEUE_R_BOUNCED)
			continue;
		if (nullsender) {
			hal_log(HAL_LOG_INFO, MOD, "%s: to=<%s>: no DSN for a message with the "
			    "null sender", st->id, st->r[i].addr);
		} else if (!changed && send_dsn(st, QUEUE_R_BOUNCED, false, now) != 0) {
			hal_log(HAL_LOG_ERR, MOD, "%s: cannot queue the non-delivery "
			    "notification; will try again", st->id);
			ents[e].settle_after = now + lim.retry_base;
			return;
		}
		changed = true;
	}
	for (unsigned i = 0; changed && i < st->nrcpt; i++)
		if (st->r[i].state == QUEUE_R_BOUNCED)
			st->r[i].state = QUEUE_R_NOTIFIED;
	if (!st->warned && !nullsender && lim.delay_warning > 0 &&
	    now - st->created >= lim.delay_warning) {
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
	ents[e].settle = false;
	if (all_final) {
		char id[QUEUE_ID_MAX];

		memcpy(id, st->id, sizeof(id));
		entry_files_remove(id);
		ent_drop(e);
		hal_log(HAL_LOG_INFO, MOD, "%s: removed", id);
		return;
	}
	if (changed && state_write(st) != 0)
		hal_log(HAL_LOG_ERR, MOD, "%s: cannot write state record", st->id);
	refresh(e, st);
}

static int
next_job(int64_t now, const char *want, bool (*skip)(void *arg, const char *domain),
    void *skip_arg, struct queue_job *j)
{
	for (unsigned e = 0; qopen && e < CONFIG_QUEUE_MAX_ENTRIES; e++) {
		struct queue_state *st;
		struct queue_rcpt *first = NULL;
		const char *dom;
		int rc;

		if (!ents[e].used)
			continue;
		if (ents[e].settle && ents[e].inflight == 0 && now >= ents[e].settle_after) {
			settle_entry((int)e, now);
			if (!ents[e].used)
				continue;
		}
		if (ents[e].next_due > now)
			continue;
		if (load((int)e, &st) != 0)
			continue;
		for (unsigned i = 0; i < st->nrcpt && first == NULL; i++)
			if (st->r[i].state == QUEUE_R_PENDING && !st->r[i].inflight &&
			    st->r[i].next <= now &&
			    (want == NULL || strcasecmp(domain_of(st->r[i].addr), want) == 0) &&
			    (skip == NULL || !skip(skip_arg, domain_of(st->r[i].addr))))
				first = &st->r[i];
		if (first == NULL) {
			refresh((int)e, st);
			continue;
		}
		dom = domain_of(first->addr);
		memset(j, 0, sizeof(*j));
		memcpy(j->id, st->id, sizeof(j->id));
		for (size_t k = 0; dom[k] && k + 1 < sizeof(j->domain); k++)
			j->domain[k] = (char)((dom[k] >= 'A' && dom[k] <= 'Z') ? dom[k] + 32 : dom[k]);
		for (unsigned i = 0; i < st->nrcpt && j->nrcpt < QUEUE_JOB_RCPTS; i++) {
			struct queue_rcpt *r = &st->r[i];

			if (r->state != QUEUE_R_PENDING || r->inflight || r->next > now ||
			    strcasecmp(domain_of(r->addr), dom) != 0)
				continue;
			j->rcpt_index[j->nrcpt] = i;
			j->rcpt[j->nrcpt] = r->addr;
			if (r->attempts > j->attempts)
				j->attempts = r->attempts;
			r->state = QUEUE_R_INFLIGHT;
			r->inflight = true;
			j->nrcpt++;
		}
		rc = state_write(st);
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
		slots[ents[e].slot].pins++;
		ents[e].inflight++;
		refresh((int)e, st);
		return 1;
	}
	return 0;
}

int
queue_next_job(int64_t now, struct queue_job *j)
{
	return next_job(now, NULL, NULL, NULL, j);
}

int
queue_next_job_skip(int64_t now, bool (*skip)(void *arg, const char *domain), void *arg,
    struct queue_job *j)
{
	return next_job(now, NULL, skip, arg, j);
}

int
queue_next_job_for(int64_t now, const char *domain, struct queue_job *j)
{
	return next_job(now, domain, NULL, NULL, j);
}

int
queue_job_open(const struct queue_job *j, struct hal_file *f)
{
	char path[HAL_PATH_MAX];

	if (path_of(path, sizeof(path), j->id, "msg") != 0)
		return -ENAMETOOLONG;
	return hal_storage_open_read(f, path);
}

int
queue_job_path(const struct queue_job *j, char *buf, size_t cap)
{
	return path_of(buf, cap, j->id, "msg") != 0 ? -ENAMETOOLONG : 0;
}

static struct queue_state *
job_state(const struct queue_job *j, int *e)
{
	*e = find_ent(j->id);
	if (*e < 0 || ents[*e].slot < 0 || ents[*e].inflight == 0)
		return NULL;
	return &slots[ents[*e].slot].st;
}

static void
apply_result(struct queue_state *st, struct queue_rcpt *r, int code, const char *esc,
    const char *text, int64_t now)
{
	r->inflight = false;
	r->code = (int16_t)(code >= 200 && code < 600 ? code : 451);
	put_esc(r->esc, esc, r->code);
	put_text(r->text, sizeof(r->text), text);
	if (r->code < 300) {
		r->state = QUEUE_R_SENT;
		r->next = now;
	} else if (r->code >= 500) {
		r->state = QUEUE_R_BOUNCED;
		r->next = now;
	} else {
		if (r->attempts < 65535)
			r->attempts++;
		if (now >= st->created + lim.lifetime) {
			r->state = QUEUE_R_BOUNCED;
			r->next = now;
			hal_log(HAL_LOG_INFO, MOD, "%s: to=<%s>: lifetime expired, bounced",
			    st->id, r->addr);
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
	ents[e].dirty = true;   /* one write for the whole job, in job_end() */
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
	if ((changed || ents[e].dirty) && state_write(st) != 0)
		hal_log(HAL_LOG_ERR, MOD, "%s: cannot write state record", st->id);
	ents[e].dirty = false;
	slots[ents[e].slot].pins--;
	ents[e].inflight--;
	refresh(e, st);
	ents[e].settle = true;
	settle_entry(e, now);
	j->nrcpt = 0;
	wake();
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

int64_t
queue_next_due(void)
{
	int64_t due = NEVER;
	bool slot_free = false;

	for (int k = 0; k < CONFIG_QUEUE_LOADED; k++)
		if (slots[k].ent < 0 || slots[k].pins == 0)
			slot_free = true;
	for (unsigned e = 0; e < CONFIG_QUEUE_MAX_ENTRIES; e++) {
		if (!ents[e].used)
			continue;
		/* every slot busy with jobs: only loaded entries can go now; the
		 * next queue_job_end() wakes the scheduler */
		if (ents[e].slot < 0 && !slot_free)
			continue;
		if (ents[e].settle && ents[e].inflight == 0 && ents[e].settle_after < due)
			due = ents[e].settle_after;
		if (ents[e].next_due < due)
			due = ents[e].next_due;
	}
	return due == NEVER ? -1 : due;
}

void
queue_flush(int64_t now)
{
	for (unsigned e = 0; e < CONFIG_QUEUE_MAX_ENTRIES; e++) {
		struct queue_state *st;
		bool changed = false;

		if (!ents[e].used || load((int)e, &st) != 0)
			continue;
		for (unsigned i = 0; i < st->nrcpt; i++) {
			if (st->r[i].state == QUEUE_R_PENDING && st->r[i].next > now) {
				st->r[i].next = now;
				changed = true;
			}
		}
		if (changed && state_write(st) != 0)
			hal_log(HAL_LOG_ERR, MOD, "%s: cannot write state record", st->id);
		refresh((int)e, st);
	}
	hal_log(HAL_LOG_INFO, MOD, "flush: every waiting message is due now");
	wake();
}

int
queue_delete(const char *id)
{
	int e = find_ent(id);

	if (e < 0)
		return -ENOENT;
	if (ents[e].inflight > 0)
		return -EBUSY;
	entry_files_remove(ents[e].id);
	hal_log(HAL_LOG_WARN, MOD, "%s: deleted by the operator (no bounce)", ents[e].id);
	ent_drop(e);
	return 0;
}

int
queue_state_get(const char *id, struct queue_state *st)
{
	int e = find_ent(id);

	if (e < 0)
		return -ENOENT;
	if (ents[e].slot >= 0) {
		const struct queue_state *src = &slots[ents[e].slot].st;

		/* copy with the string pointers re-based into st->env */
		memcpy(st, src, sizeof(*st));
		st->from = st->env + (src->from - src->env);
		for (unsigned i = 0; i < st->nrcpt; i++)
			st->r[i].addr = st->env + (src->r[i].addr - src->env);
		return 0;
	}
	return state_read(id, st);
}

void
queue_foreach(void (*fn)(void *arg, const char *id), void *arg)
{
	for (unsigned e = 0; e < CONFIG_QUEUE_MAX_ENTRIES; e++)
		if (ents[e].used)
			fn(arg, ents[e].id);
}
