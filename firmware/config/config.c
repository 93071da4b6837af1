/*
 * The configuration model: defaults, candidate and running, commit with
 * whole-configuration validation, load and save, and the questions other
 * modules ask of a configuration (AUTH password check, relay permission).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "firmware/config/internal.h"
#include "hal/crypto.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/board.h"

struct zcfg config_defaults;
static struct zcfg candidate, running, scratch;

static struct {
	void (*fn)(const struct zcfg *running, void *arg);
	void *arg;
} hooks[CONFIG_MAX_HOOKS];

const char *const config_log_levels[4] = { "error", "warning", "info", "debug" };
const char *const config_align_names[3] = { "off", "warn", "refuse" };
const char *const config_listen_modes[3] = { "starttls", "tls", "plain" };

int
config_fail(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errcap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Volatile stores the compiler cannot drop: passwords and hashes. */
static void
wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n--)
		*v++ = 0;
}

void
config_derived_paths(const char *data_dir, char outbox[ZCFG_PATH_MAX], char cert[ZCFG_PATH_MAX],
    char key[ZCFG_PATH_MAX])
{
	/* set_data_dir() and config_init() keep data_dir short enough. */
	memset(outbox, 0, ZCFG_PATH_MAX);
	memset(cert, 0, ZCFG_PATH_MAX);
	memset(key, 0, ZCFG_PATH_MAX);
	snprintf(outbox, ZCFG_PATH_MAX, "%.170s/outbox", data_dir);
	snprintf(cert, ZCFG_PATH_MAX, "%.170s/tls/cert.pem", data_dir);
	snprintf(key, ZCFG_PATH_MAX, "%.170s/tls/key.pem", data_dir);
}

static void
default_hostname(char out[ZCFG_NAME_MAX])
{
	char h[256], *argv[5];
	struct zcfg tmp;
	char err[8];
	char line[300];

	strcpy(out, "zegel");
	if (gethostname(h, sizeof(h)) != 0)
		return;
	h[sizeof(h) - 1] = 0;
	/* Take it only if the grammar would accept it. */
	memset(&tmp, 0, sizeof(tmp));
	snprintf(line, sizeof(line), "set hostname %.250s", h);
	if (config_tokenize(line, argv, 5) == 3 &&
	    config_apply(&tmp, 3, argv, err, sizeof(err)) == 0)
		memcpy(out, tmp.hostname, ZCFG_NAME_MAX);
}

void
config_queue_defaults(struct zcfg_queue *q)
{
	q->lifetime = CONFIG_QUEUE_LIFETIME;
	q->delay_warning = CONFIG_QUEUE_DELAY_WARNING;
	q->retry_base = CONFIG_QUEUE_RETRY_BASE;
	q->max_messages = CONFIG_QUEUE_MAX_MESSAGES;
	q->max_size = (uint64_t)CONFIG_QUEUE_MAX_BYTES << 20;
	q->min_free = (uint64_t)CONFIG_QUEUE_MIN_FREE << 10;
}

void
config_init(void)
{
	struct zcfg *d = &config_defaults;

	memset(d, 0, sizeof(*d));
	default_hostname(d->hostname);
	snprintf(d->data_dir, sizeof(d->data_dir), "%.170s", board.data_dir);
	config_derived_paths(d->data_dir, d->relay.outbox, d->tls_cert, d->tls_key);
	d->relay.kind = ZCFG_RELAY_OUTBOX;
	d->relay.port = CONFIG_RELAY_DEFAULT_PORT;
	d->log_level = HAL_LOG_INFO;
	d->max_message_size = CONFIG_SMTP_MAX_MESSAGE_SIZE;
	config_queue_defaults(&d->queue);
	candidate = *d;
	running = *d;
}

const struct zcfg *
zcfg_running(void)
{
	return &running;
}

const struct zcfg *
zcfg_candidate(void)
{
	return &candidate;
}

int
config_tokenize(char *line, char **argv, int max)
{
	char *r = line, *w = line;
	int argc = 0;

	for (;;) {
		while (*r == ' ' || *r == '\t' || *r == '\r' || *r == '\n')
			r++;
		if (*r == 0 || *r == '#')
			break;
		if (argc == max)
			return -E2BIG;
		argv[argc++] = w;
		if (*r == '"') {
			r++;
			for (;;) {
				if (*r == 0)
					return -EINVAL;
				if (*r == '"') {
					r++;
					break;
				}
				if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
					r++;
				*w++ = *r++;
			}
			if (*r != 0 && *r != ' ' && *r != '\t' && *r != '\r' && *r != '\n')
				return -EINVAL;
		} else {
			while (*r && *r != ' ' && *r != '\t' && *r != '\r' && *r != '\n')
				*w++ = *r++;
		}
		/* w never passes r: the terminator lands on a consumed byte. */
		if (*r != 0)
			r++;
		*w++ = 0;
	}
	return argc;
}

int
config_set_line(const char *line, char *err, size_t errcap)
{
	static char buf[CONFIG_LINE_MAX];
	char *argv[CONFIG_MAX_TOKENS];
	size_t n = strlen(line);
	int argc, rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	if (n >= sizeof(buf))
		return config_fail(err, errcap, "line too long (%zu characters, at most %d)", n,
		    CONFIG_LINE_MAX - 1);
	memcpy(buf, line, n + 1);
	argc = config_tokenize(buf, argv, CONFIG_MAX_TOKENS);
	if (argc == -EINVAL)
		rc = config_fail(err, errcap,
		    "unbalanced \"quotes\" (a quoted value ends with \" "
		    "and a blank; write \\\" and \\\\ inside)");
	else if (argc < 0)
		rc = config_fail(err, errcap, "too many words (at most %d)", CONFIG_MAX_TOKENS);
	else if (argc == 0)
		rc = 0;
	else {
		scratch = candidate;
		rc = config_apply(&scratch, argc, argv, err, errcap);
		if (rc == 0)
			candidate = scratch;
		wipe(&scratch, sizeof(scratch));
	}
	wipe(buf, sizeof(buf));
	return rc;
}

static int
validate(const struct zcfg *c, char *err, size_t cap)
{
	char a[HAL_ADDR_STRLEN];

	for (int i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		const struct zcfg_key *k = &c->keys[i];
		bool found = false;
		if (!k->used)
			continue;
		for (int j = 0; j < CONFIG_CFG_MAX_DOMAINS; j++)
			if (c->domains[j].used && strcmp(c->domains[j].name, k->domain) == 0)
				found = true;
		if (!found)
			return config_fail(err, cap,
			    "commit: key '%s' is for domain '%s', which is "
			    "not configured (set domain %s, or delete key %s)",
			    k->selector, k->domain, k->domain, k->selector);
	}
	for (int i = 0; i < CONFIG_CFG_MAX_LISTENERS; i++) {
		const struct zcfg_listener *l = &c->listeners[i];
		if (!l->used)
			continue;
		for (int j = i + 1; j < CONFIG_CFG_MAX_LISTENERS; j++) {
			const struct zcfg_listener *m = &c->listeners[j];
			size_t n = l->addr.family == 4 ? 4 : 16;
			if (m->used && m->addr.family == l->addr.family &&
			    m->addr.port == l->addr.port &&
			    memcmp(m->addr.ip, l->addr.ip, n) == 0) {
				hal_addr_format(&l->addr, true, a, sizeof(a));
				return config_fail(err, cap,
				    "commit: listeners '%s' and '%s' both use "
				    "%s (give one another address or port)",
				    l->name, m->name, a);
			}
		}
	}
	if ((c->relay.username[0] != 0) != (c->relay.password[0] != 0))
		return config_fail(err, cap,
		    "commit: the relay needs both a username and a "
		    "password, or neither (set relay username U / set relay password P)");
	if (c->relay.kind == ZCFG_RELAY_SMARTHOST && c->relay.host[0] == 0)
		return config_fail(err, cap,
		    "commit: relay smarthost without a host "
		    "(set relay smarthost HOST[:PORT])");
	return 0;
}

int
config_commit(char *err, size_t errcap)
{
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	rc = validate(&candidate, err, errcap);
	if (rc != 0)
		return rc;
	candidate.generation = running.generation + 1;
	running = candidate;
	hal_log_set_level((enum hal_log_level)running.log_level);
	for (int i = 0; i < CONFIG_MAX_HOOKS; i++)
		if (hooks[i].fn != NULL)
			hooks[i].fn(&running, hooks[i].arg);
	return 0;
}

void
config_discard(void)
{
	candidate = running;
}

bool
config_modified(void)
{
	struct zcfg a = candidate;

	a.generation = running.generation;
	return memcmp(&a, &running, sizeof(a)) != 0;
}

int
config_on_commit(void (*hook)(const struct zcfg *running, void *arg), void *arg)
{
	for (int i = 0; i < CONFIG_MAX_HOOKS; i++) {
		if (hooks[i].fn == NULL) {
			hooks[i].fn = hook;
			hooks[i].arg = arg;
			return 0;
		}
	}
	return -ENOSPC;
}

/* ------------------------------------------------------------ load, save */

struct temps {
	const char *dir;
	char prefix[HAL_PATH_MAX];
	size_t plen;
	unsigned removed;
};

static int
remove_temp(void *arg, const char *name)
{
	struct temps *t = arg;
	char p[HAL_PATH_MAX * 2];

	if (strncmp(name, t->prefix, t->plen) != 0)
		return 0;
	snprintf(p, sizeof(p), "%s/%s", t->dir, name);
	if (hal_storage_remove(p) == 0)
		t->removed++;
	return 0;
}

int
config_clean_temps(const char *path)
{
	const struct hal_storage_ops *s = hal_storage();
	const char *slash = strrchr(path, '/');
	char dir[HAL_PATH_MAX];
	struct temps t;

	if (s->list == NULL)
		return 0;
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	memset(&t, 0, sizeof(t));
	t.dir = dir;
	t.plen = (size_t)snprintf(t.prefix, sizeof(t.prefix), "%s.tmp.", slash ? slash + 1 : path);
	if (t.plen >= sizeof(t.prefix))
		return 0;
	(void)s->list(dir, remove_temp, &t);
	if (t.removed > 0 && s->sync_dir != NULL)
		(void)s->sync_dir(dir);
	return (int)t.removed;
}

int
config_load(const char *path, char *err, size_t errcap)
{
	const struct hal_storage_ops *s = hal_storage();
	static char line[CONFIG_LINE_MAX + 1];
	char chunk[512], lerr[320];
	struct hal_file f;
	size_t len = 0;
	unsigned lineno = 1;
	bool toolong = false;
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	rc = s->open_read(&f, path);
	if (rc != 0)
		return config_fail(err, errcap, "%s: cannot read: %s", path, strerror(-rc)), rc;
	candidate = config_defaults;
	for (;;) {
		ssize_t r = s->read(&f, chunk, sizeof(chunk));
		if (r < 0) {
			rc = (int)r;
			config_fail(err, errcap, "%s: read error: %s", path, strerror(-rc));
			goto out;
		}
		if (r == 0) {
			if (len == 0 && !toolong)
				break;
			/* A last line without newline still counts. */
			chunk[0] = '\n';
			r = 1;
		}
		for (ssize_t i = 0; i < r; i++) {
			char ch = chunk[i];
			if (ch != '\n') {
				if (ch == 0) {
					rc = config_fail(err, errcap, "%s:%u: NUL byte in line",
					    path, lineno);
					goto out;
				}
				if (len < CONFIG_LINE_MAX)
					line[len++] = ch;
				else
					toolong = true;
				continue;
			}
			line[len] = 0;
			if (toolong) {
				rc = config_fail(err, errcap,
				    "%s:%u: line too long (at most %d "
				    "characters)",
				    path, lineno, CONFIG_LINE_MAX - 1);
				goto out;
			}
			rc = config_set_line(line, lerr, sizeof(lerr));
			if (rc != 0) {
				config_fail(err, errcap, "%s:%u: %s", path, lineno, lerr);
				goto out;
			}
			len = 0;
			lineno++;
		}
	}
	rc = config_commit(lerr, sizeof(lerr));
	if (rc != 0)
		config_fail(err, errcap, "%s: %s", path, lerr);
out:
	s->close(&f);
	wipe(line, sizeof(line));
	if (rc != 0)
		config_discard();
	return rc;
}

struct sink {
	char *buf;
	size_t cap, len;
};

static void
sink_line(void *arg, const char *line)
{
	struct sink *k = arg;
	size_t n = strlen(line);

	if (k->buf != NULL && k->len + n + 1 <= k->cap) {
		memcpy(k->buf + k->len, line, n);
		k->buf[k->len + n] = '\n';
	}
	k->len += n + 1;
}

int
config_save(const char *path, char *err, size_t errcap)
{
	static const char head[] = "# zegel configuration (written by save; the same lines the "
				   "console accepts)";
	struct sink k = { NULL, 0, 0 };
	char dir[HAL_PATH_MAX];
	const char *slash = strrchr(path, '/');
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	/* Two passes: measure, then fill an exact buffer. */
	sink_line(&k, head);
	config_dump(&running, true, sink_line, &k);
	k.cap = k.len;
	k.len = 0;
	k.buf = malloc(k.cap);
	if (k.buf == NULL)
		return config_fail(err, errcap, "save: out of memory"), -ENOMEM;
	sink_line(&k, head);
	config_dump(&running, true, sink_line, &k);
	if (slash != NULL && slash != path && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
		hal_storage_mkdirs(dir, 0700);
	}
	rc = hal_storage_put(path, k.buf, k.len, 0600);
	wipe(k.buf, k.cap);
	free(k.buf);
	if (rc != 0)
		return config_fail(err, errcap, "save: cannot write %s: %s", path, strerror(-rc)),
		       rc;
	return 0;
}

/* ------------------------------------------------------------ users */

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0'
		    : c >= 'a' && c <= 'f'   ? c - 'a' + 10
		    : c >= 'A' && c <= 'F'   ? c - 'A' + 10
					     : -1;
		if (v < 0)
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

/* h1 = SHA-256(salt || pw); h(i+1) = SHA-256(h(i) || salt || pw). */
static int
password_digest(const char *pw, const uint8_t salt[16], uint8_t out[32])
{
	struct hal_hash_ctx c;
	size_t n = strlen(pw);
	int rc = 0;

	for (int i = 0; i < CONFIG_PASSWORD_ROUNDS && rc == 0; i++) {
		rc = hal_hash_init(&c, HAL_HASH_SHA256);
		if (rc == 0 && i > 0)
			rc = hal_hash_update(&c, out, 32);
		if (rc == 0)
			rc = hal_hash_update(&c, salt, 16);
		if (rc == 0)
			rc = hal_hash_update(&c, (const uint8_t *)pw, n);
		if (rc == 0)
			rc = hal_hash_final(&c, out);
	}
	wipe(&c, sizeof(c));
	return rc;
}

int
config_password_hash(const char *password, const uint8_t salt[16], char *out, size_t cap)
{
	uint8_t d[32];
	char sh[33], dh[65];
	int rc = password_digest(password, salt, d);

	if (rc != 0)
		return rc;
	hex(salt, 16, sh);
	hex(d, 32, dh);
	wipe(d, sizeof(d));
	if ((size_t)snprintf(out, cap, "$zegel-sha256$%s$%s", sh, dh) >= cap)
		return -ERANGE;
	return 0;
}

int
config_user_check(const struct zcfg *c, const char *user, const char *password)
{
	static const char prefix[] = "$zegel-sha256$";
	const size_t p = sizeof(prefix) - 1;
	const struct zcfg_user *u = NULL;
	uint8_t salt[16] = { 0 }, want[32] = { 0 }, got[32];
	uint8_t diff = 0;

	for (int i = 0; i < CFG_NUSERS; i++)
		if (c->users[i].used && strcmp(c->users[i].name, user) == 0)
			u = &c->users[i];
	if (u != NULL &&
	    (strncmp(u->hash, prefix, p) != 0 || strlen(u->hash) != p + 97 ||
		unhex(u->hash + p, salt, 16) != 0 || unhex(u->hash + p + 33, want, 32) != 0))
		u = NULL;
	/* An unknown user costs the same work, so timing does not tell. */
	if (password_digest(password, salt, got) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(got); i++)
		diff |= (uint8_t)(got[i] ^ want[i]);
	wipe(got, sizeof(got));
	return u != NULL && diff == 0;
}

/* ------------------------------------------------------------ networks */

static bool
prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool
config_network_allows(const struct zcfg *c, const struct hal_addr *peer, bool *normalise)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct hal_addr p = *peer;
	int best = -1;

	if (p.family == 6 && memcmp(p.ip, mapped, 12) == 0) {
		p.family = 4;
		memmove(p.ip, p.ip + 12, 4);
		memset(p.ip + 4, 0, 12);
	}
	for (int i = 0; i < CFG_NNETWORKS; i++) {
		const struct zcfg_network *n = &c->networks[i];
		if (!n->used || n->addr.family != p.family)
			continue;
		if (prefix_match(n->addr.ip, p.ip, n->prefix) &&
		    (best < 0 || n->prefix > c->networks[best].prefix))
			best = i;
	}
	if (normalise != NULL)
		*normalise = best >= 0 && c->networks[best].normalise_line_endings;
	return best >= 0;
}

const struct zcfg_domain *
config_domain_for(const struct zcfg *cfg, const char *dom)
{
	size_t dl = strlen(dom);

	for (unsigned i = 0; i < CONFIG_CFG_MAX_DOMAINS; i++) {
		const struct zcfg_domain *d = &cfg->domains[i];
		size_t nl = strlen(d->name);

		if (!d->used)
			continue;
		if (strcasecmp(d->name, dom) == 0)
			return d;
		if (d->subdomains && dl > nl && dom[dl - nl - 1] == '.' &&
		    strcasecmp(dom + dl - nl, d->name) == 0)
			return d;
	}
	return NULL;
}

void
config_domain_list(const struct zcfg *cfg, char *buf, size_t cap)
{
	size_t k = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < CONFIG_CFG_MAX_DOMAINS && k < cap; i++) {
		const struct zcfg_domain *d = &cfg->domains[i];
		int w;

		if (!d->used)
			continue;
		w = snprintf(buf + k, cap - k, "%s%s%s", k ? ", " : "", d->name,
		    d->subdomains ? " (and subdomains)" : "");
		if (w < 0)
			break;
		k += (size_t)w;
	}
	if (k == 0)
		snprintf(buf, cap, "(none configured)");
}
