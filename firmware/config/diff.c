/*
 * config_diff(): `show diff`, the candidate against the running
 * configuration as the lines that turn one into the other.
 *
 * Both configurations are dumped (config_dump(), secrets shown so that a
 * changed password counts). A line is identified by its statement and, for
 * the list entries (domain, key, user, network, listener, resolver), its
 * first argument: "set key s1". A line of `from` whose identity `to` no
 * longer has becomes its `delete` line, or, for a setting without one, the
 * line that sets its default (from a full dump of `to`); a line of `to`
 * that `from` has not is printed as it is. The relay's mode line (always the
 * last of a dump) is printed when it differs or another relay line may have
 * switched the mode. The result is checked by applying it to a copy of
 * `from`: if that does not give `to`, a comment line says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/config/internal.h"

#define ID_MAX 160

struct lines {
	char *buf;
	size_t len, cap;
	size_t *off;
	unsigned n, ncap;
	bool oom;
};

static void
lines_add(void *arg, const char *line)
{
	struct lines *l = arg;
	size_t n = strlen(line) + 1;

	if (l->oom)
		return;
	if (l->len + n > l->cap) {
		size_t cap = (l->cap + n) * 2;
		char *b = realloc(l->buf, cap);

		if (b == NULL) {
			l->oom = true;
			return;
		}
		l->buf = b;
		l->cap = cap;
	}
	if (l->n == l->ncap) {
		unsigned ncap = l->ncap ? l->ncap * 2 : 64;
		size_t *o = realloc(l->off, ncap * sizeof(*o));

		if (o == NULL) {
			l->oom = true;
			return;
		}
		l->off = o;
		l->ncap = ncap;
	}
	memcpy(l->buf + l->len, line, n);
	l->off[l->n++] = l->len;
	l->len += n;
}

static const char *
line_at(const struct lines *l, unsigned i)
{
	return l->buf + l->off[i];
}

static void
lines_free(struct lines *l)
{
	if (l->buf != NULL)
		config_wipe(l->buf, l->cap);
	free(l->buf);
	free(l->off);
	memset(l, 0, sizeof(*l));
}

/* Statements whose identity has three words: a list entry's first
 * argument, or the second word of a two-word statement name. */
static bool
three_words(const char *w)
{
	static const char *const names[] = { "domain", "key", "user", "network", "listener",
		"resolver", "key-rollover", "relay", "queue", "smtpd", "ntp", "tls", "tlsrpt" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(w, names[i]) == 0)
			return true;
	return false;
}

/* "set key s1", "set hostname", "set relay password" (also for
 * password-sealed); "" for a line that does not tokenize. */
static void
identity(const char *line, char id[ID_MAX])
{
	char copy[CONFIG_LINE_MAX], *argv[CONFIG_MAX_TOKENS];
	int argc, k;

	id[0] = 0;
	snprintf(copy, sizeof(copy), "%s", line);
	argc = config_tokenize(copy, argv, CONFIG_MAX_TOKENS);
	if (argc < 2)
		goto out;
	k = three_words(argv[1]) && argc >= 3 ? 3 : 2;
	if (k == 3 && strcmp(argv[1], "relay") == 0 && strcmp(argv[2], "password-sealed") == 0)
		argv[2] = "password";
	if (k == 3 && strcmp(argv[1], "tlsrpt") == 0 &&
	    (strcmp(argv[2], "on") == 0 || strcmp(argv[2], "off") == 0))
		k = 2; /* `set tlsrpt on|off`: one setting */
	snprintf(id, ID_MAX, "%s %s%s%s", argv[0], argv[1], k == 3 ? " " : "",
	    k == 3 ? argv[2] : "");
out:
	config_wipe(copy, sizeof(copy));
}

/* The `delete` line for an identity, or false if the setting has none. */
static bool
delete_line(const char *id, char *out, size_t cap)
{
	static const char *const with_arg[] = { "set domain ", "set key ", "set user ",
		"set network ", "set listener ", "set resolver " };
	static const char *const whole[] = { "set resolver-anchors", "set public-address",
		"set relay username", "set relay password", "set relay ca-file", "set ntp server",
		"set syslog" };

	for (size_t i = 0; i < sizeof(with_arg) / sizeof(with_arg[0]); i++)
		if (strncmp(id, with_arg[i], strlen(with_arg[i])) == 0) {
			snprintf(out, cap, "delete %s", id + 4);
			return true;
		}
	for (size_t i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
		if (strcmp(id, whole[i]) == 0) {
			snprintf(out, cap, "delete %s", id + 4);
			return true;
		}
	return false;
}

static bool
relay_mode_id(const char *id)
{
	return strcmp(id, "set relay outbox") == 0 || strcmp(id, "set relay smarthost") == 0 ||
	    strcmp(id, "set relay direct") == 0;
}

/* Is a line with exactly this text among l[0..n)? With id: one with that identity. */
static int
find(const struct lines *l, unsigned n, const char *text, const char *id)
{
	char lid[ID_MAX];

	for (unsigned i = 0; i < n; i++) {
		if (text != NULL && strcmp(line_at(l, i), text) == 0)
			return (int)i;
		if (id != NULL) {
			identity(line_at(l, i), lid);
			if (strcmp(lid, id) == 0)
				return (int)i;
		}
	}
	return -1;
}

#define PACK(arr, n)                                              \
	do {                                                      \
		size_t k = 0;                                     \
		for (size_t i = 0; i < (size_t)(n); i++)          \
			if (c->arr[i].used) {                     \
				if (k != i)                       \
					c->arr[k] = c->arr[i];    \
				k++;                              \
			}                                         \
		for (; k < (size_t)(n); k++)                      \
			memset(&c->arr[k], 0, sizeof(c->arr[k])); \
	} while (0)

void
config_canonical(struct zcfg *c)
{
	PACK(domains, CONFIG_CFG_MAX_DOMAINS);
	PACK(keys, CONFIG_CFG_MAX_KEYS);
	PACK(users, CFG_NUSERS);
	PACK(networks, CFG_NNETWORKS);
	PACK(listeners, CONFIG_CFG_MAX_LISTENERS);
}
#undef PACK

/* Apply the lines to a copy of from: do they give to? */
static bool
reproduces(const struct zcfg *from, const struct zcfg *to, const struct lines *out)
{
	struct zcfg *w = malloc(2 * sizeof(*w)), *t;
	char copy[CONFIG_LINE_MAX], *argv[CONFIG_MAX_TOKENS], err[64];
	bool same;

	if (w == NULL)
		return true; /* cannot check: say nothing */
	t = w + 1;
	*w = *from;
	for (unsigned i = 0; i < out->n; i++) {
		int argc;

		snprintf(copy, sizeof(copy), "%s", line_at(out, i));
		argc = config_tokenize(copy, argv, CONFIG_MAX_TOKENS);
		if (argc > 0)
			(void)config_apply(w, argc, argv, err, sizeof(err));
	}
	*t = *to;
	w->generation = t->generation;
	config_canonical(w);
	config_canonical(t);
	same = memcmp(w, t, sizeof(*w)) == 0;
	config_wipe(copy, sizeof(copy));
	config_wipe(w, 2 * sizeof(*w));
	free(w);
	return same;
}

int
config_diff(const struct zcfg *from, const struct zcfg *to, bool show_secrets,
    void (*emit)(void *arg, const char *line), void *arg)
{
	struct lines a = { 0 }, b = { 0 }, bm = { 0 }, full = { 0 }, out = { 0 };
	char id[ID_MAX], del[ID_MAX + 8];
	bool relay_touched = false;
	int rc = 0, count = 0;

	config_dump(from, true, lines_add, &a);
	config_dump(to, true, lines_add, &b);
	config_dump(to, show_secrets, lines_add, &bm);
	config_dump_full(to, lines_add, &full);
	if (a.oom || b.oom || bm.oom || full.oom || a.n == 0 || b.n == 0 || b.n != bm.n) {
		rc = -ENOMEM;
		goto done;
	}
	/* what `to` no longer has: delete it, or set its default */
	for (unsigned i = 0; i + 1 < a.n; i++) {
		const char *ln = line_at(&a, i);
		int f;

		if (find(&b, b.n - 1, ln, NULL) >= 0)
			continue;
		identity(ln, id);
		if (id[0] == 0 || find(&b, b.n - 1, NULL, id) >= 0)
			continue; /* changed: its new line follows */
		if (delete_line(id, del, sizeof(del))) {
			lines_add(&out, del);
			emit(arg, del);
			count++;
		} else if (!relay_mode_id(id) && (f = find(&full, full.n, NULL, id)) >= 0) {
			lines_add(&out, line_at(&full, (unsigned)f));
			emit(arg, line_at(&full, (unsigned)f));
			count++;
		}
	}
	/* what is new or changed in `to` */
	for (unsigned j = 0; j + 1 < b.n; j++) {
		if (find(&a, a.n - 1, line_at(&b, j), NULL) >= 0)
			continue;
		identity(line_at(&b, j), id);
		relay_touched |= relay_mode_id(id);
		lines_add(&out, line_at(&b, j));
		emit(arg, line_at(&bm, j));
		count++;
	}
	if (relay_touched || strcmp(line_at(&a, a.n - 1), line_at(&b, b.n - 1)) != 0) {
		lines_add(&out, line_at(&b, b.n - 1));
		emit(arg, line_at(&bm, bm.n - 1));
		count++;
	}
	if (out.oom) {
		rc = -ENOMEM;
		goto done;
	}
	if (!reproduces(from, to, &out)) {
		emit(arg,
		    "# not every change has a line here: 'show config' shows the whole "
		    "candidate");
		count++;
	}
	rc = count;
done:
	lines_free(&a);
	lines_free(&b);
	lines_free(&bm);
	lines_free(&full);
	lines_free(&out);
	return rc;
}
