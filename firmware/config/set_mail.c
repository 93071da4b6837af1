/*
 * `set` / `delete` handlers for what the SMTP server takes: signing domains,
 * DKIM keys, AUTH users, relay networks and listeners.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "firmware/config/grammar.h"
#include "hal/entropy.h"

/* ------------------------------------------------------------ domains, keys */

static struct zcfg_domain *
find_domain(struct zcfg *w, const char *name)
{
	for (int i = 0; i < CONFIG_CFG_MAX_DOMAINS; i++)
		if (w->domains[i].used && streq(w->domains[i].name, name))
			return &w->domains[i];
	return NULL;
}

static int
parse_canon(const char *s, enum zcfg_canon *h, enum zcfg_canon *b)
{
	static const char *const names[] = { "simple", "relaxed" };
	char head[16];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : 0;
	int hi, bi;

	if (slash == NULL || n >= sizeof(head))
		return -1;
	memcpy(head, s, n);
	head[n] = 0;
	hi = config_lookup(head, names, 2);
	bi = config_lookup(slash + 1, names, 2);
	if (hi < 0 || bi < 0)
		return -1;
	*h = (enum zcfg_canon)hi;
	*b = (enum zcfg_canon)bi;
	return 0;
}

int
config_set_domain(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set domain";
	char name[ZCFG_NAME_MAX];
	struct zcfg_domain d, *slot;
	int rc = config_want_dname(what, argv[0], name, err, cap);

	if (rc != 0)
		return rc;
	slot = find_domain(w, name);
	if (slot != NULL) {
		d = *slot;
	} else {
		memset(&d, 0, sizeof(d));
		d.used = true;
		memcpy(d.name, name, sizeof(name));
		d.canon_header = d.canon_body = ZCFG_CANON_RELAXED;
		d.envelope_align = ZCFG_ALIGN_WARN;
	}
	if ((argc - 1) % 2 != 0)
		return config_fail(err, cap,
		    "%s: option '%s' needs a value "
		    "(subdomains on|off, canon H/B, envelope-align off|warn|refuse)",
		    what, argv[argc - 1]);
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (streq(k, "subdomains")) {
			rc = config_want_onoff("set domain subdomains", v, &d.subdomains, err, cap);
			if (rc != 0)
				return rc;
		} else if (streq(k, "canon")) {
			if (parse_canon(v, &d.canon_header, &d.canon_body) != 0)
				return config_fail(err, cap,
				    "%s: canon '%s' is not one of "
				    "relaxed/relaxed, simple/simple, relaxed/simple, simple/relaxed",
				    what, v);
		} else if (streq(k, "envelope-align")) {
			int a = config_lookup(v, config_align_names, 3);
			if (a < 0)
				return config_fail(err, cap,
				    "%s: envelope-align '%s' is not off, "
				    "warn or refuse",
				    what, v);
			d.envelope_align = (enum zcfg_align)a;
		} else {
			return config_fail(err, cap,
			    "%s: unknown option '%s' "
			    "(subdomains, canon, envelope-align)",
			    what, k);
		}
	}
	if (slot == NULL) {
		for (int i = 0; i < CONFIG_CFG_MAX_DOMAINS && slot == NULL; i++)
			if (!w->domains[i].used)
				slot = &w->domains[i];
		if (slot == NULL)
			return config_fail(err, cap,
			    "%s: no room for '%s' (at most %d domains, "
			    "the most this firmware was built for)",
			    what, name, CONFIG_CFG_MAX_DOMAINS);
	}
	*slot = d;
	return 0;
}

int
config_delete_domain(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char name[ZCFG_NAME_MAX];
	struct zcfg_domain *d;

	(void)argc;
	if (config_want_dname("delete domain", argv[0], name, err, cap) != 0)
		return -EINVAL;
	d = find_domain(w, name);
	if (d == NULL)
		return config_fail(err, cap, "delete domain: '%s' is not configured", name);
	memset(d, 0, sizeof(*d));
	return 0;
}

static bool
valid_selector(const char *s, char out[ZCFG_SEL_MAX])
{
	char tmp[ZCFG_NAME_MAX];

	/* RFC 6376 3.1: selector = sub-domain *( "." sub-domain ). */
	if (strlen(s) >= ZCFG_SEL_MAX || !config_valid_dname(s, tmp) || s[strlen(s) - 1] == '.')
		return false;
	memcpy(out, tmp, strlen(tmp) + 1);
	return true;
}

static struct zcfg_key *
find_key(struct zcfg *w, const char *sel)
{
	for (int i = 0; i < CONFIG_CFG_MAX_KEYS; i++)
		if (w->keys[i].used && streq(w->keys[i].selector, sel))
			return &w->keys[i];
	return NULL;
}

int
config_set_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set key";
	struct zcfg_key k, *slot;
	bool have_domain = false, have_file = false;
	int rc;

	memset(&k, 0, sizeof(k));
	k.used = true;
	if (!valid_selector(argv[0], k.selector))
		return config_fail(err, cap,
		    "%s: '%s' is not a selector (letters, digits, '-', "
		    "'.'; at most %d characters)",
		    what, argv[0], ZCFG_SEL_MAX - 1);
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			return config_fail(err, cap,
			    "%s: '%s' needs a value (domain NAME file PATH)", what, argv[i]);
		if (streq(argv[i], "domain")) {
			rc = config_want_dname("set key domain", argv[i + 1], k.domain, err, cap);
			have_domain = true;
		} else if (streq(argv[i], "file")) {
			rc = config_want_path("set key file", argv[i + 1], k.file, err, cap);
			have_file = true;
		} else {
			rc = config_fail(err, cap,
			    "%s: unknown option '%s' (domain NAME file PATH)", what, argv[i]);
		}
		if (rc != 0)
			return rc;
	}
	if (!have_domain || !have_file)
		return config_fail(err, cap,
		    "%s: both domain and file are needed: "
		    "set key SELECTOR domain NAME file PATH",
		    what);
	slot = find_key(w, k.selector);
	for (int i = 0; i < CONFIG_CFG_MAX_KEYS && slot == NULL; i++)
		if (!w->keys[i].used)
			slot = &w->keys[i];
	if (slot == NULL)
		return config_fail(err, cap,
		    "%s: no room for '%s' (at most %d keys, "
		    "the most this firmware was built for)",
		    what, k.selector, CONFIG_CFG_MAX_KEYS);
	*slot = k;
	return 0;
}

int
config_delete_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char sel[ZCFG_SEL_MAX];
	struct zcfg_key *k;

	(void)argc;
	if (!valid_selector(argv[0], sel))
		return config_fail(err, cap, "delete key: '%s' is not a selector", argv[0]);
	k = find_key(w, sel);
	if (k == NULL)
		return config_fail(err, cap, "delete key: selector '%s' is not configured", sel);
	memset(k, 0, sizeof(*k));
	return 0;
}

/* `set key-rollover ...`: how new keys become active (firmware/keys/state.h) */
int
config_set_rollover_auto(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return config_want_onoff("set key-rollover auto-activate", argv[0],
	    &w->key_rollover.auto_activate, err, cap);
}

int
config_set_rollover_retire(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	bool ok;
	uint32_t d = config_parse_u32(argv[0], &ok);

	(void)argc;
	if (!ok || d > 365)
		return config_fail(err, cap,
		    "set key-rollover retire-days: '%s' is not a number of days from 0 to 365",
		    argv[0]);
	w->key_rollover.retire_days = (uint16_t)d;
	return 0;
}

int
config_set_rollover_check(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	uint32_t d;

	(void)argc;
	if (!config_parse_duration(argv[0], &d) || d < 60 || d > 86400)
		return config_fail(err, cap,
		    "set key-rollover check-interval: '%s' is not a duration from 1m to 1d "
		    "(such as 10m, 1h)",
		    argv[0]);
	w->key_rollover.check_interval = d;
	return 0;
}

/* ------------------------------------------------------------ users */

static struct zcfg_user *
find_user(struct zcfg *w, const char *name)
{
	for (int i = 0; i < CFG_NUSERS; i++)
		if (w->users[i].used && streq(w->users[i].name, name))
			return &w->users[i];
	return NULL;
}

static bool
valid_hash(const char *s)
{
	static const char prefix[] = "$zegel-sha256$";
	size_t p = sizeof(prefix) - 1;

	if (strncmp(s, prefix, p) != 0 || strlen(s) != p + 32 + 1 + 64 || s[p + 32] != '$')
		return false;
	for (size_t i = p; s[i]; i++)
		if (i != p + 32 && !isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

int
config_set_user(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set user";
	struct zcfg_user u, *slot;
	int rc = 0;

	(void)argc;
	if (CFG_NUSERS == 0)
		return config_fail(err, cap, "%s: this firmware was built without users",
		    what);
	memset(&u, 0, sizeof(u));
	u.used = true;
	if (!config_valid_word(argv[0], ZCFG_USER_MAX, ".@+"))
		return config_fail(err, cap,
		    "%s: '%s' is not a user name (letters, digits, "
		    "'.', '-', '_', '@', '+'; at most %d)",
		    what, argv[0], ZCFG_USER_MAX - 1);
	memcpy(u.name, argv[0], strlen(argv[0]) + 1);
	if (streq(argv[2], CONFIG_SECRET_MASK))
		return config_fail(err, cap, "%s: '%s' is what 'show running' prints in place of "
		    "the secret, not the secret (type the password, or paste the lines of "
		    "'show running secrets')", what, CONFIG_SECRET_MASK);
	if (streq(argv[1], "password")) {
		uint8_t salt[16];
		size_t n = strlen(argv[2]);
		if (n == 0 || n >= ZCFG_SECRET_MAX)
			return config_fail(err, cap,
			    "%s: the password must have 1 to %d characters", what,
			    ZCFG_SECRET_MAX - 1);
		if (hal_entropy_fill(salt, sizeof(salt)) != 0)
			return config_fail(err, cap, "%s: no entropy for the salt", what);
		rc = config_password_hash(argv[2], salt, u.hash, sizeof(u.hash));
		if (rc != 0)
			return config_fail(err, cap, "%s: hashing failed (%d)", what, rc);
	} else if (streq(argv[1], "password-hash")) {
		if (!valid_hash(argv[2]))
			return config_fail(err, cap,
			    "%s: '%s' is not a password hash "
			    "($zegel-sha256$<32 hex>$<64 hex>)",
			    what, argv[2]);
		memcpy(u.hash, argv[2], strlen(argv[2]) + 1);
	} else {
		return config_fail(err, cap,
		    "%s: expected 'password SECRET' or "
		    "'password-hash HASH' after the name, not '%s'",
		    what, argv[1]);
	}
	slot = find_user(w, u.name);
	for (int i = 0; i < CFG_NUSERS && slot == NULL; i++)
		if (!w->users[i].used)
			slot = &w->users[i];
	if (slot == NULL)
		return config_fail(err, cap,
		    "%s: no room for '%s' (at most %d users, "
		    "the most this firmware was built for)",
		    what, u.name, CFG_NUSERS);
	*slot = u;
	return rc;
}

int
config_delete_user(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_user *u = find_user(w, argv[0]);

	(void)argc;
	if (u == NULL)
		return config_fail(err, cap, "delete user: '%s' is not configured", argv[0]);
	memset(u, 0, sizeof(*u));
	return 0;
}

/* ------------------------------------------------------------ networks */

static struct zcfg_network *
find_network(struct zcfg *w, const struct zcfg_network *n)
{
	for (int i = 0; i < CFG_NNETWORKS; i++)
		if (w->networks[i].used && w->networks[i].prefix == n->prefix &&
		    config_same_addr(&w->networks[i].addr, &n->addr, false))
			return &w->networks[i];
	return NULL;
}

int
config_set_network(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set network";
	struct zcfg_network n, *slot;
	int rc;

	if (CFG_NNETWORKS == 0)
		return config_fail(err, cap,
		    "%s: this firmware was built without "
		    "networks",
		    what);
	rc = config_parse_cidr(what, argv[0], &n, err, cap);
	if (rc != 0)
		return rc;
	n.used = true;
	slot = find_network(w, &n);
	if (slot != NULL)
		n.normalise_line_endings = slot->normalise_line_endings;
	if (argc == 2 || argc > 3 || (argc == 3 && !streq(argv[1], "line-endings")))
		return config_fail(err, cap,
		    "%s: after the network only "
		    "'line-endings strict|normalise' may follow",
		    what);
	if (argc == 3) {
		if (streq(argv[2], "strict"))
			n.normalise_line_endings = false;
		else if (streq(argv[2], "normalise") || streq(argv[2], "normalize"))
			n.normalise_line_endings = true;
		else
			return config_fail(err, cap,
			    "%s: line-endings '%s' is not strict or "
			    "normalise",
			    what, argv[2]);
	}
	for (int i = 0; i < CFG_NNETWORKS && slot == NULL; i++)
		if (!w->networks[i].used)
			slot = &w->networks[i];
	if (slot == NULL)
		return config_fail(err, cap,
		    "%s: no room for '%s' (at most %d networks, "
		    "the most this firmware was built for)",
		    what, argv[0], CFG_NNETWORKS);
	*slot = n;
	return 0;
}

int
config_delete_network(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_network n, *slot;
	int rc = config_parse_cidr("delete network", argv[0], &n, err, cap);

	(void)argc;
	if (rc != 0)
		return rc;
	slot = find_network(w, &n);
	if (slot == NULL)
		return config_fail(err, cap, "delete network: '%s' is not configured", argv[0]);
	memset(slot, 0, sizeof(*slot));
	return 0;
}

/* ------------------------------------------------------------ listeners */

static struct zcfg_listener *
find_listener(struct zcfg *w, const char *name)
{
	for (int i = 0; i < CONFIG_CFG_MAX_LISTENERS; i++)
		if (w->listeners[i].used && streq(w->listeners[i].name, name))
			return &w->listeners[i];
	return NULL;
}

int
config_set_listener(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set listener";
	struct zcfg_listener l, *slot;
	int rc;

	if (!config_valid_word(argv[0], sizeof(l.name), NULL))
		return config_fail(err, cap,
		    "%s: '%s' is not a listener name (letters, digits, "
		    "'-', '_'; at most %d)",
		    what, argv[0], (int)sizeof(l.name) - 1);
	slot = find_listener(w, argv[0]);
	if (slot != NULL) {
		l = *slot;
	} else {
		memset(&l, 0, sizeof(l));
		l.used = true;
		l.mode = ZCFG_LISTEN_STARTTLS;
		memcpy(l.name, argv[0], strlen(argv[0]) + 1);
	}
	rc = config_want_addr_port(what, argv[1], &l.addr, err, cap);
	if (rc != 0)
		return rc;
	for (int i = 2; i < argc; i += 2) {
		if (i + 1 >= argc)
			return config_fail(err, cap,
			    "%s: '%s' needs a value "
			    "(mode starttls|tls|plain|no-tls, auth-plaintext on|off, "
			    "tls-min 1.0|1.1|1.2|1.3)",
			    what, argv[i]);
		if (streq(argv[i], "mode")) {
			int m = config_lookup(argv[i + 1], config_listen_modes, ZCFG_LISTEN_NMODES);
			if (m < 0)
				return config_fail(err, cap,
				    "%s: mode '%s' is not starttls, tls, plain or "
				    "no-tls",
				    what, argv[i + 1]);
			l.mode = (enum zcfg_listener_mode)m;
		} else if (streq(argv[i], "tls-min")) {
			static const char *const v[4] = { "1.0", "1.1", "1.2", "1.3" };
			int m = config_lookup(argv[i + 1], v, 4);
			if (m < 0)
				return config_fail(err, cap,
				    "%s: tls-min '%s' is not 1.0, 1.1, 1.2 or 1.3", what,
				    argv[i + 1]);
			l.tls_min = m == 2 ? 0 : (uint8_t)(10 + m);
		} else if (streq(argv[i], "auth-plaintext")) {
			rc = config_want_onoff("set listener auth-plaintext", argv[i + 1],
			    &l.auth_plaintext, err, cap);
			if (rc != 0)
				return rc;
		} else {
			return config_fail(err, cap,
			    "%s: unknown option '%s' (mode, auth-plaintext, tls-min)", what,
			    argv[i]);
		}
	}
	if (l.mode == ZCFG_LISTEN_NOTLS && l.tls_min != 0)
		return config_fail(err, cap, "%s: tls-min has no meaning with mode no-tls (set "
		    "tls-min 1.2 with it, or use mode plain to offer STARTTLS)", what);
	for (int i = 0; i < CONFIG_CFG_MAX_LISTENERS && slot == NULL; i++)
		if (!w->listeners[i].used)
			slot = &w->listeners[i];
	if (slot == NULL)
		return config_fail(err, cap,
		    "%s: no room for '%s' (at most %d listeners, "
		    "the most this firmware was built for)",
		    what, argv[0], CONFIG_CFG_MAX_LISTENERS);
	*slot = l;
	return 0;
}

int
config_delete_listener(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_listener *l = find_listener(w, argv[0]);

	(void)argc;
	if (l == NULL)
		return config_fail(err, cap, "delete listener: '%s' is not configured", argv[0]);
	memset(l, 0, sizeof(*l));
	return 0;
}
