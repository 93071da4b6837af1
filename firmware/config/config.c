/*
 * The configuration model: defaults, candidate and running, commit with
 * whole-configuration validation, load and save (the questions other
 * modules ask of a configuration are in access.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/config/internal.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/board.h"

struct zcfg config_defaults;
static struct zcfg candidate, running, scratch;
static uint32_t saved_generation; /* the generation the configuration file holds */

static struct {
	void (*fn)(const struct zcfg *running, void *arg);
	void *arg;
} hooks[CONFIG_MAX_HOOKS];

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
	config_key_rollover_defaults(&d->key_rollover);
	config_smtpd_defaults(&d->smtpd);
	candidate = *d;
	running = *d;
	saved_generation = 0;
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
		config_wipe(&scratch, sizeof(scratch));
	}
	config_wipe(buf, sizeof(buf));
	return rc;
}

int
config_set_words(const char *verb, int argc, char **argv, char *err, size_t errcap)
{
	char *av[CONFIG_MAX_TOKENS + 1], v[8];
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	if (argc < 0 || argc >= CONFIG_MAX_TOKENS)
		return config_fail(err, errcap, "too many words (at most %d)", CONFIG_MAX_TOKENS);
	snprintf(v, sizeof(v), "%s", verb);
	av[0] = v;
	for (int i = 0; i < argc; i++)
		av[i + 1] = argv[i];
	scratch = candidate;
	rc = config_apply(&scratch, argc + 1, av, err, errcap);
	if (rc == 0)
		candidate = scratch;
	config_wipe(&scratch, sizeof(scratch));
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

static int (*commit_check)(const struct zcfg *candidate, char *err, size_t cap);
static int (*apply_fn)(const struct zcfg *next, char *err, size_t cap);

void
config_set_commit_check(int (*fn)(const struct zcfg *candidate, char *err, size_t cap))
{
	commit_check = fn;
}

void
config_set_apply(int (*fn)(const struct zcfg *next, char *err, size_t cap))
{
	apply_fn = fn;
}

int
config_commit(char *err, size_t errcap)
{
	char aerr[320];
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	rc = validate(&candidate, err, errcap);
	if (rc == 0 && commit_check != NULL && commit_check(&candidate, err, errcap) != 0)
		rc = -EINVAL;
	if (rc != 0)
		return rc;
	scratch = running;
	candidate.generation = running.generation + 1;
	running = candidate;
	if (apply_fn != NULL && apply_fn(&running, aerr, sizeof(aerr)) != 0) {
		/* the apply step left everything as it was: so does the model */
		running = scratch;
		candidate.generation = running.generation;
		config_wipe(&scratch, sizeof(scratch));
		return config_fail(err, errcap, "commit: failed, rolled back to generation %u: %s",
		    (unsigned)running.generation, aerr);
	}
	config_wipe(&scratch, sizeof(scratch));
	hal_log_set_level((enum hal_log_level)running.log_level);
	for (int i = 0; i < CONFIG_MAX_HOOKS; i++)
		if (hooks[i].fn != NULL)
			hooks[i].fn(&running, hooks[i].arg);
	return 0;
}

bool
config_unsaved(void)
{
	return running.generation != saved_generation;
}

void
config_mark_unsaved(void)
{
	saved_generation = running.generation - 1;
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
	const char *slash = strrchr(path, '/');
	char dir[HAL_PATH_MAX];
	struct temps t;

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
	/* A backend without list (-ENOTSUP) leaves nothing to remove. */
	(void)hal_storage_list(dir, remove_temp, &t);
	if (t.removed > 0)
		(void)hal_storage_sync_dir(dir);
	return (int)t.removed;
}

/* The candidate := defaults + every line of path; no commit. */
static int
load_lines(const char *path, char *err, size_t errcap)
{
	static char line[CONFIG_LINE_MAX + 1];
	char chunk[512], lerr[320];
	struct hal_file f;
	size_t len = 0;
	unsigned lineno = 1;
	bool toolong = false;
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	rc = hal_storage_open_read(&f, path);
	if (rc != 0)
		return config_fail(err, errcap, "%s: cannot read: %s", path, strerror(-rc)), rc;
	candidate = config_defaults;
	for (;;) {
		ssize_t r = hal_storage_read(&f, chunk, sizeof(chunk));
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
out:
	hal_storage_close(&f);
	config_wipe(line, sizeof(line));
	return rc;
}

int
config_load(const char *path, char *err, size_t errcap)
{
	char lerr[320];
	int rc = load_lines(path, err, errcap);

	if (rc == 0 && (rc = config_commit(lerr, sizeof(lerr))) != 0)
		config_fail(err, errcap, "%s: %s", path, lerr);
	if (rc != 0)
		config_discard();
	else
		saved_generation = running.generation;
	return rc;
}

int
config_load_candidate(const char *path, char *err, size_t errcap)
{
	static struct zcfg before;
	int rc;

	before = candidate;
	rc = load_lines(path, err, errcap);
	if (rc != 0)
		candidate = before;
	config_wipe(&before, sizeof(before));
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
	char dir[HAL_PATH_MAX], sealed[CONFIG_SEALED_MAX], serr[200];
	const char *slash = strrchr(path, '/');
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	/* the relay password never in clear on storage (secret.c) */
	sealed[0] = 0;
	if (running.relay.password[0] &&
	    config_secret_seal(running.data_dir, running.relay.password, sealed, sizeof(sealed),
		serr, sizeof(serr)) != 0)
		return config_fail(err, errcap, "save: cannot seal the relay password: %s", serr);
	/* Two passes: measure, then fill an exact buffer. */
	sink_line(&k, head);
	config_dump_sealed(&running, sealed, sink_line, &k);
	k.cap = k.len;
	k.len = 0;
	k.buf = malloc(k.cap);
	if (k.buf == NULL)
		return config_fail(err, errcap, "save: out of memory"), -ENOMEM;
	sink_line(&k, head);
	config_dump_sealed(&running, sealed, sink_line, &k);
	if (slash != NULL && slash != path && (size_t)(slash - path) < sizeof(dir)) {
		memcpy(dir, path, (size_t)(slash - path));
		dir[slash - path] = 0;
		hal_storage_mkdirs(dir, 0700);
	}
	/* the file this replaces becomes <path>.1 (`rollback 1`) */
	rc = config_rotate(path, CONFIG_GENERATIONS, k.buf, k.len, serr, sizeof(serr));
	if (rc != 0) {
		config_wipe(k.buf, k.cap);
		free(k.buf);
		return config_fail(err, errcap, "save: %s (nothing written)", serr), rc;
	}
	rc = hal_storage_put(path, k.buf, k.len, 0600);
	config_wipe(k.buf, k.cap);
	free(k.buf);
	if (rc != 0)
		return config_fail(err, errcap, "save: cannot write %s: %s", path, strerror(-rc)),
		       rc;
	saved_generation = running.generation;
	return 0;
}
