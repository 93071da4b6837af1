/*
 * The queue's state record (ID.st): parse and format, pure (model in
 * queue.h; the fuzz target tests/fuzz/fuzz_queue_state.c), and the small
 * value checks the rest of the queue shares.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/spool/queue_int.h"

bool
queue_valid_id(const char *s, size_t n)
{
	if (n == 0 || n >= QUEUE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			return false;
	return true;
}

/* An address as the record holds it: printable, no tab, bounded. */
bool
queue_valid_addr(const char *s, size_t n, bool need_at)
{
	if (n >= QUEUE_ADDR_MAX || (need_at && n == 0))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return !need_at || memchr(s, '@', n) != NULL;
}

/* One line of reply text: control characters become spaces, truncated. */
void
queue_put_text(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src != NULL && src[i] != 0 && i + 1 < cap; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? ' ' : src[i];
	dst[i] = 0;
}

void
queue_put_esc(char *dst, const char *esc, int code)
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

const char *
queue_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at != NULL ? at + 1 : "";
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

int
queue_env_add(struct queue_state *st, const char *s, size_t n, const char **out)
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
	if (!queue_valid_addr(tab1 + 1, tn, true) || memchr(tab1 + 1, '\t', tn) != NULL)
		return -EINVAL;
	if (queue_env_add(st, tab1 + 1, tn, &r->addr) != 0)
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
	st->requiretls = st->tls_required_no = false;
	l = next_line(&c, &n);
	if (l == NULL || n != 13 || memcmp(l, "zegel-queue 1", 13) != 0)
		return -EINVAL;
	if ((v = keyed(&c, "id", &vn)) == NULL || !queue_valid_id(v, vn))
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
		else if (tn == 10 && memcmp(t, "requiretls", 10) == 0)
			st->requiretls = true;
		else if (tn == 15 && memcmp(t, "tls-required-no", 15) == 0)
			st->tls_required_no = true;
		else
			return -EINVAL;
	}
	if (p != v + vn)
		return -EINVAL;     /* double or trailing space */
	if ((v = keyed(&c, "from", &vn)) == NULL || !queue_valid_addr(v, vn, false) ||
	    memchr(v, '\t', vn) != NULL || queue_env_add(st, v, vn, &st->from) != 0)
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
	if (st->requiretls)
		OUT(" requiretls");
	if (st->tls_required_no)
		OUT(" tls-required-no");
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

/* A DKIM prefix the record can hold: CRLF lines of 1..998 octets without
 * NUL, CR or LF inside. */
bool
queue_prefix_ok(const uint8_t *p, size_t n)
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

void
queue_state_init(struct queue_state *st, const char *from, int64_t now)
{
	memset(st->id, 0, sizeof(st->id));
	st->created = now;
	st->size = 0;
	st->body_8bit = st->smtputf8 = st->warned = st->is_dsn = false;
	st->requiretls = st->tls_required_no = false;
	st->nrcpt = 0;
	st->envlen = 0;
	st->prefix_len = 0;
	queue_env_add(st, from, strlen(from), &st->from);
}

int
queue_state_add_rcpt(struct queue_state *st, const char *addr, int64_t now)
{
	struct queue_rcpt *r;
	size_t n = strlen(addr);

	if (st->nrcpt >= QUEUE_RCPT_MAX || !queue_valid_addr(addr, n, true))
		return -EINVAL;
	r = &st->r[st->nrcpt];
	memset(r, 0, sizeof(*r));
	if (queue_env_add(st, addr, n, &r->addr) != 0)
		return -EINVAL;
	r->state = QUEUE_R_PENDING;
	r->next = now;
	st->nrcpt++;
	return 0;
}

