/* The life of a DKIM key: states, transitions and their file (state.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/keys/state.h"
#include "hal/storage.h"

static struct keystate_table running_table;

struct keystate_table *
keystate_running(void)
{
	return &running_table;
}

static const char *const st_names[] = { "none", "published-pending", "published", "active",
	"retiring" };
static const char *const st_words[] = { "none", "pending", "published", "active", "retiring" };

const char *
keystate_name(enum keystate_st st)
{
	return (unsigned)st < 5 ? st_names[st] : "?";
}

const char *
keystate_alg(enum hal_key_type t)
{
	return t == HAL_KEY_ED25519 ? "ed25519" : "rsa";
}

struct keystate_entry *
keystate_find(struct keystate_table *t, const char *domain, const char *selector)
{
	for (size_t i = 0; i < KEYSTATE_MAX; i++)
		if (t->e[i].used && strcasecmp(t->e[i].domain, domain) == 0 &&
		    strcmp(t->e[i].selector, selector) == 0)
			return &t->e[i];
	return NULL;
}

static struct keystate_entry *
new_entry(struct keystate_table *t, const char *domain, const char *selector,
    enum hal_key_type type)
{
	for (size_t i = 0; i < KEYSTATE_MAX; i++) {
		struct keystate_entry *e = &t->e[i];

		if (e->used)
			continue;
		memset(e, 0, sizeof(*e));
		if (strlen(domain) >= sizeof(e->domain) || strlen(selector) >= sizeof(e->selector))
			return NULL;
		e->used = true;
		memcpy(e->domain, domain, strlen(domain) + 1);
		memcpy(e->selector, selector, strlen(selector) + 1);
		e->type = type;
		return e;
	}
	return NULL;
}

int
keystate_add(struct keystate_table *t, const char *domain, const char *selector,
    enum hal_key_type type, int64_t now, struct keystate_entry **out)
{
	struct keystate_entry *e;

	if (keystate_find(t, domain, selector) != NULL)
		return -EEXIST;
	if ((e = new_entry(t, domain, selector, type)) == NULL)
		return -ENOSPC;
	e->st = KEYSTATE_PENDING;
	e->created = now;
	if (out != NULL)
		*out = e;
	return 0;
}

int
keystate_adopt(struct keystate_table *t, const char *domain, const char *selector,
    enum hal_key_type type)
{
	struct keystate_entry *e;

	if (keystate_find(t, domain, selector) != NULL)
		return -EEXIST;
	if ((e = new_entry(t, domain, selector, type)) == NULL)
		return -ENOSPC;
	e->st = KEYSTATE_ACTIVE;
	return 0;
}

bool
keystate_mark_published(struct keystate_entry *e, int64_t now)
{
	if (e->st != KEYSTATE_PENDING)
		return false;
	e->st = KEYSTATE_PUBLISHED;
	e->published = now;
	return true;
}

int
keystate_activate(struct keystate_table *t, struct keystate_entry *e, int64_t now, bool force,
    struct keystate_entry **retired, unsigned max, unsigned *nretired)
{
	*nretired = 0;
	if (e->st == KEYSTATE_ACTIVE)
		return -EALREADY;
	if (e->st != KEYSTATE_PUBLISHED && !force)
		return -EAGAIN;
	for (size_t i = 0; i < KEYSTATE_MAX; i++) {
		struct keystate_entry *o = &t->e[i];

		if (o == e || !o->used || o->st != KEYSTATE_ACTIVE || o->type != e->type ||
		    strcasecmp(o->domain, e->domain) != 0)
			continue;
		o->st = KEYSTATE_RETIRING;
		o->retiring = now;
		if (*nretired < max)
			retired[(*nretired)++] = o;
	}
	e->st = KEYSTATE_ACTIVE;
	e->activated = now;
	return 0;
}

int64_t
keystate_retire_left(const struct keystate_entry *e, int64_t now, unsigned retire_days)
{
	int64_t end;

	if (e->st != KEYSTATE_RETIRING)
		return -1;
	end = e->retiring + (int64_t)retire_days * 86400;
	return now >= end ? 0 : end - now;
}

int
keystate_retire(struct keystate_entry *e, int64_t now, unsigned retire_days, bool force)
{
	if (e->st == KEYSTATE_ACTIVE)
		return -EBUSY;
	if (e->st == KEYSTATE_RETIRING && !force && keystate_retire_left(e, now, retire_days) > 0)
		return -EAGAIN;
	memset(e, 0, sizeof(*e));
	return 0;
}

bool
keystate_signs(const struct keystate_table *t, const char *domain, const char *selector)
{
	const struct keystate_entry *e =
	    keystate_find((struct keystate_table *)(uintptr_t)t, domain, selector);

	return e == NULL || e->st == KEYSTATE_ACTIVE;
}

/* ------------------------------------------------------------ text form */

int
keystate_format(const struct keystate_table *t, char *buf, size_t cap, size_t *len)
{
	size_t o = 0;

	for (size_t i = 0; i < KEYSTATE_MAX; i++) {
		const struct keystate_entry *e = &t->e[i];
		int k;

		if (!e->used)
			continue;
		k = snprintf(buf + o, cap - o,
		    "%s %s %s %s %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 "\n", e->selector,
		    e->domain, st_words[e->st % 5], keystate_alg(e->type), e->created, e->published,
		    e->activated, e->retiring);
		if (k < 0 || (size_t)k >= cap - o)
			return -ERANGE;
		o += (size_t)k;
	}
	if (o >= cap)
		return -ERANGE;
	buf[o] = 0;
	*len = o;
	return 0;
}

static bool
parse_time(const char *s, int64_t *out)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == 0 || *end != 0 || v < 0)
		return false;
	*out = (int64_t)v;
	return true;
}

/* One line (NUL-terminated, no newline) into a new entry of t. */
static bool
parse_line(struct keystate_table *t, char *line)
{
	char *w[9], *save = NULL;
	int n = 0, st = -1;
	struct keystate_entry *e, tmp;
	enum hal_key_type type;

	for (char *p = strtok_r(line, " \t\r", &save); p != NULL && n < 9;
	     p = strtok_r(NULL, " \t\r", &save))
		w[n++] = p;
	if (n != 8)
		return false;
	for (int i = 1; i < 5; i++)
		if (strcmp(w[2], st_words[i]) == 0)
			st = i;
	if (st < 0)
		return false;
	if (strcmp(w[3], "rsa") == 0)
		type = HAL_KEY_RSA;
	else if (strcmp(w[3], "ed25519") == 0)
		type = HAL_KEY_ED25519;
	else
		return false;
	memset(&tmp, 0, sizeof(tmp));
	if (!parse_time(w[4], &tmp.created) || !parse_time(w[5], &tmp.published) ||
	    !parse_time(w[6], &tmp.activated) || !parse_time(w[7], &tmp.retiring))
		return false;
	if (keystate_find(t, w[1], w[0]) != NULL || (e = new_entry(t, w[1], w[0], type)) == NULL)
		return false;
	e->st = (enum keystate_st)st;
	e->created = tmp.created;
	e->published = tmp.published;
	e->activated = tmp.activated;
	e->retiring = tmp.retiring;
	return true;
}

unsigned
keystate_parse(struct keystate_table *t, const char *text, size_t n)
{
	unsigned bad = 0;
	size_t i = 0;
	char line[512];

	memset(t, 0, sizeof(*t));
	while (i < n) {
		size_t s = i, l;

		while (i < n && text[i] != '\n')
			i++;
		l = i - s;
		i++;
		if (l == 0)
			continue;
		if (l >= sizeof(line) || memchr(text + s, 0, l) != NULL) {
			bad++;
			continue;
		}
		memcpy(line, text + s, l);
		line[l] = 0;
		if (!parse_line(t, line))
			bad++;
	}
	return bad;
}

/* ------------------------------------------------------------ file */

int
keystate_load(struct keystate_table *t, const char *path, unsigned *bad)
{
	char *buf = malloc(KEYSTATE_FILE_MAX);
	size_t n = 0;
	unsigned b = 0;
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	rc = hal_storage_get(path, buf, KEYSTATE_FILE_MAX, &n);
	if (rc == -ENOENT) {
		memset(t, 0, sizeof(*t));
		rc = 0;
	} else if (rc == 0) {
		b = keystate_parse(t, buf, n);
	}
	free(buf);
	if (bad != NULL)
		*bad = b;
	return rc;
}

int
keystate_save(const struct keystate_table *t, const char *path)
{
	char *buf = malloc(KEYSTATE_FILE_MAX);
	size_t n = 0;
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	rc = keystate_format(t, buf, KEYSTATE_FILE_MAX, &n);
	if (rc == 0)
		rc = hal_storage_put(path, buf, n, 0600);
	free(buf);
	return rc;
}
