/*
 * The `set` / `delete` grammar (firmware/config/README.md): one table of
 * statements, each with its usage line (which is also the help text and the
 * "what is valid" half of every error), and one small handler per
 * statement. Handlers edit a scratch copy of the candidate; config.c copies
 * it back only when the handler succeeded, so nothing is half applied.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/config/internal.h"
#include "hal/entropy.h"

typedef int (*stmt_fn)(struct zcfg *w, int argc, char **argv, char *err, size_t cap);

struct stmt {
	const char *verb; /* "set" or "delete" */
	const char *path; /* one or two words: "hostname", "relay outbox" */
	int min, max;     /* arguments after the path */
	stmt_fn fn;
	const char *usage; /* the arguments, for help and errors */
};

/* ------------------------------------------------------------ lexical checks */

static bool
streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/* Store a string with the rest of the field zeroed, so equal settings are
 * equal bytes (config_modified() and the tests compare whole structs). */
static void
put(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	memset(dst, 0, cap);
	memcpy(dst, src, n < cap ? n : cap - 1);
}

/* A host or domain name (RFC 1035 2.3.1 LDH labels; digits may lead, RFC
 * 1123 2.1). Lower-cased into out, trailing dot dropped. */
static bool
valid_dname(const char *s, char out[ZCFG_NAME_MAX])
{
	size_t n = strlen(s), label = 0;

	memset(out, 0, ZCFG_NAME_MAX);
	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-') {
			if (c == '-' && label == 0)
				return false;
			if (++label > 63)
				return false;
		} else {
			return false;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0 || s[n - 1] == '-')
		return false;
	out[n] = 0;
	return true;
}

static int
want_dname(const char *what, const char *s, char out[ZCFG_NAME_MAX], char *err, size_t cap)
{
	if (valid_dname(s, out))
		return 0;
	return config_fail(err, cap,
	    "%s: '%s' is not a domain name (letters, digits, '-', '.'; labels of 1-63)", what, s);
}

/* Names of things (listeners): letters, digits, '-', '_'. */
static bool
valid_word(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n >= max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && c != '-' && c != '_' && (extra == NULL || !strchr(extra, c)))
			return false;
	}
	return true;
}

static int
want_path(const char *what, const char *s, char out[ZCFG_PATH_MAX], char *err, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0)
		return config_fail(err, cap, "%s: the path is empty", what);
	if (n >= ZCFG_PATH_MAX)
		return config_fail(err, cap, "%s: path too long (at most %d characters)", what,
		    ZCFG_PATH_MAX - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return config_fail(err, cap, "%s: control character in path", what);
	put(out, ZCFG_PATH_MAX, s);
	return 0;
}

static int
want_onoff(const char *what, const char *s, bool *out, char *err, size_t cap)
{
	if (streq(s, "on")) {
		*out = true;
		return 0;
	}
	if (streq(s, "off")) {
		*out = false;
		return 0;
	}
	return config_fail(err, cap, "%s: '%s' is not on or off", what, s);
}

/* Index of s in names[0..n), or -1. */
static int
lookup(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (streq(s, names[i]))
			return i;
	return -1;
}

/* An address with a port: "1.2.3.4:587", "[::1]:587". */
static int
want_addr_port(const char *what, const char *s, struct hal_addr *a, char *err, size_t cap)
{
	if (hal_addr_parse(a, s, 0) != 0)
		return config_fail(err, cap,
		    "%s: '%s' is not an address (1.2.3.4:PORT or [2001:db8::1]:PORT)", what, s);
	if (a->port == 0)
		return config_fail(err, cap, "%s: '%s' has no port (1.2.3.4:PORT or [::1]:PORT)",
		    what, s);
	return 0;
}

static int
parse_cidr(const char *what, const char *s, struct zcfg_network *n, char *err, size_t cap)
{
	char ip[64];
	const char *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	unsigned maxp;

	memset(n, 0, sizeof(*n));
	if (len == 0 || len >= sizeof(ip) || strchr(s, '[') || strchr(s, ']'))
		goto bad;
	memcpy(ip, s, len);
	ip[len] = 0;
	/* hal_addr_parse takes "1.2.3.4:25" too; a CIDR has no port. */
	if (hal_addr_parse(&n->addr, ip, 0) != 0 || n->addr.port != 0)
		goto bad;
	maxp = n->addr.family == 4 ? 32 : 128;
	if (slash == NULL) {
		prefix = maxp;
	} else {
		char *end;
		if (!isdigit((unsigned char)slash[1]))
			goto bad;
		prefix = strtoul(slash + 1, &end, 10);
		if (*end != 0 || prefix > maxp)
			return config_fail(err, cap, "%s: prefix length in '%s' must be 0-%u", what,
			    s, maxp);
	}
	n->prefix = (uint8_t)prefix;
	/* Keep the network address only: 192.168.1.7/24 is 192.168.1.0/24. */
	for (unsigned bit = (unsigned)prefix; bit < maxp; bit++)
		n->addr.ip[bit / 8] &= (uint8_t) ~(0x80u >> (bit % 8));
	return 0;
bad:
	return config_fail(err, cap,
	    "%s: '%s' is not a network (192.168.1.0/24, 10.0.0.5, 2001:db8::/32)", what, s);
}

static bool
same_addr(const struct hal_addr *a, const struct hal_addr *b, bool port)
{
	size_t n = a->family == 4 ? 4 : 16;

	return a->family == b->family && memcmp(a->ip, b->ip, n) == 0 &&
	    (!port || a->port == b->port);
}

static uint32_t
parse_u32(const char *s, bool *ok)
{
	char *end;
	unsigned long long v;

	*ok = false;
	if (!isdigit((unsigned char)s[0]))
		return 0;
	v = strtoull(s, &end, 10);
	if (*end != 0 || v > 0xffffffffull)
		return 0;
	*ok = true;
	return (uint32_t)v;
}

/* ------------------------------------------------------------ scalars */

static int
set_hostname(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return want_dname("set hostname", argv[0], w->hostname, err, cap);
}

static int
set_data_dir(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char old_o[ZCFG_PATH_MAX], old_c[ZCFG_PATH_MAX], old_k[ZCFG_PATH_MAX];
	char dir[ZCFG_PATH_MAX];
	int rc;

	(void)argc;
	rc = want_path("set data-dir", argv[0], dir, err, cap);
	if (rc != 0)
		return rc;
	if (strlen(dir) + sizeof("/tls/cert.pem") > ZCFG_PATH_MAX)
		return config_fail(err, cap, "set data-dir: path too long (at most %d characters)",
		    (int)(ZCFG_PATH_MAX - sizeof("/tls/cert.pem")));
	/* Paths still at their default follow the data directory. */
	config_derived_paths(w->data_dir, old_o, old_c, old_k);
	memcpy(w->data_dir, dir, sizeof(dir));
	if (streq(w->relay.outbox, old_o) || streq(w->tls_cert, old_c) ||
	    streq(w->tls_key, old_k)) {
		char o[ZCFG_PATH_MAX], c[ZCFG_PATH_MAX], k[ZCFG_PATH_MAX];
		config_derived_paths(dir, o, c, k);
		if (streq(w->relay.outbox, old_o))
			memcpy(w->relay.outbox, o, sizeof(o));
		if (streq(w->tls_cert, old_c))
			memcpy(w->tls_cert, c, sizeof(c));
		if (streq(w->tls_key, old_k))
			memcpy(w->tls_key, k, sizeof(k));
	}
	return 0;
}

static int
set_log_level(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	int i = lookup(argv[0], config_log_levels, 4);

	(void)argc;
	if (i < 0)
		return config_fail(err, cap,
		    "set log-level: '%s' is not a level (error, warning, info, debug)", argv[0]);
	w->log_level = i;
	return 0;
}

static int
set_size_limit(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	bool ok;
	uint32_t v = parse_u32(argv[0], &ok);

	(void)argc;
	if (!ok || v < 1024 || v > (uint32_t)CONFIG_SMTP_MAX_MESSAGE_SIZE)
		return config_fail(err, cap,
		    "set message-size-limit: '%s' is not a size in bytes from 1024 to %u "
		    "(CONFIG_SMTP_MAX_MESSAGE_SIZE)",
		    argv[0], (unsigned)CONFIG_SMTP_MAX_MESSAGE_SIZE);
	w->max_message_size = v;
	return 0;
}

static int
set_tls_path(const char *what, char dst[ZCFG_PATH_MAX], const char *s, char *err, size_t cap)
{
	char p[ZCFG_PATH_MAX];
	int rc = want_path(what, s, p, err, cap);

	if (rc == 0)
		memcpy(dst, p, sizeof(p));
	return rc;
}

static int
set_tls_cert(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return set_tls_path("set tls cert", w->tls_cert, argv[0], err, cap);
}

static int
set_tls_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return set_tls_path("set tls key", w->tls_key, argv[0], err, cap);
}

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
	hi = lookup(head, names, 2);
	bi = lookup(slash + 1, names, 2);
	if (hi < 0 || bi < 0)
		return -1;
	*h = (enum zcfg_canon)hi;
	*b = (enum zcfg_canon)bi;
	return 0;
}

static int
set_domain(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set domain";
	char name[ZCFG_NAME_MAX];
	struct zcfg_domain d, *slot;
	int rc = want_dname(what, argv[0], name, err, cap);

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
			rc = want_onoff("set domain subdomains", v, &d.subdomains, err, cap);
			if (rc != 0)
				return rc;
		} else if (streq(k, "canon")) {
			if (parse_canon(v, &d.canon_header, &d.canon_body) != 0)
				return config_fail(err, cap,
				    "%s: canon '%s' is not one of "
				    "relaxed/relaxed, simple/simple, relaxed/simple, simple/relaxed",
				    what, v);
		} else if (streq(k, "envelope-align")) {
			int a = lookup(v, config_align_names, 3);
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
			    "CONFIG_CFG_MAX_DOMAINS)",
			    what, name, CONFIG_CFG_MAX_DOMAINS);
	}
	*slot = d;
	return 0;
}

static int
delete_domain(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char name[ZCFG_NAME_MAX];
	struct zcfg_domain *d;

	(void)argc;
	if (want_dname("delete domain", argv[0], name, err, cap) != 0)
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
	if (strlen(s) >= ZCFG_SEL_MAX || !valid_dname(s, tmp) || s[strlen(s) - 1] == '.')
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

static int
set_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
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
			rc = want_dname("set key domain", argv[i + 1], k.domain, err, cap);
			have_domain = true;
		} else if (streq(argv[i], "file")) {
			rc = want_path("set key file", argv[i + 1], k.file, err, cap);
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
		    "CONFIG_CFG_MAX_KEYS)",
		    what, k.selector, CONFIG_CFG_MAX_KEYS);
	*slot = k;
	return 0;
}

static int
delete_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
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

static int
set_user(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set user";
	struct zcfg_user u, *slot;
	int rc = 0;

	(void)argc;
	if (CFG_NUSERS == 0)
		return config_fail(err, cap, "%s: users are not built in (CONFIG_CFG_MAX_USERS=0)",
		    what);
	memset(&u, 0, sizeof(u));
	u.used = true;
	if (!valid_word(argv[0], ZCFG_USER_MAX, ".@+"))
		return config_fail(err, cap,
		    "%s: '%s' is not a user name (letters, digits, "
		    "'.', '-', '_', '@', '+'; at most %d)",
		    what, argv[0], ZCFG_USER_MAX - 1);
	memcpy(u.name, argv[0], strlen(argv[0]) + 1);
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
		    "CONFIG_CFG_MAX_USERS)",
		    what, u.name, CFG_NUSERS);
	*slot = u;
	return rc;
}

static int
delete_user(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
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
		    same_addr(&w->networks[i].addr, &n->addr, false))
			return &w->networks[i];
	return NULL;
}

static int
set_network(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set network";
	struct zcfg_network n, *slot;
	int rc;

	if (CFG_NNETWORKS == 0)
		return config_fail(err, cap,
		    "%s: networks are not built in "
		    "(CONFIG_CFG_MAX_NETWORKS=0)",
		    what);
	rc = parse_cidr(what, argv[0], &n, err, cap);
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
		    "CONFIG_CFG_MAX_NETWORKS)",
		    what, argv[0], CFG_NNETWORKS);
	*slot = n;
	return 0;
}

static int
delete_network(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_network n, *slot;
	int rc = parse_cidr("delete network", argv[0], &n, err, cap);

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

static int
set_listener(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set listener";
	struct zcfg_listener l, *slot;
	int rc;

	if (!valid_word(argv[0], sizeof(l.name), NULL))
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
	rc = want_addr_port(what, argv[1], &l.addr, err, cap);
	if (rc != 0)
		return rc;
	for (int i = 2; i < argc; i += 2) {
		if (i + 1 >= argc)
			return config_fail(err, cap,
			    "%s: '%s' needs a value "
			    "(mode starttls|tls|plain, auth-plaintext on|off)",
			    what, argv[i]);
		if (streq(argv[i], "mode")) {
			int m = lookup(argv[i + 1], config_listen_modes, 3);
			if (m < 0)
				return config_fail(err, cap,
				    "%s: mode '%s' is not starttls, tls or "
				    "plain",
				    what, argv[i + 1]);
			l.mode = (enum zcfg_listener_mode)m;
		} else if (streq(argv[i], "auth-plaintext")) {
			rc = want_onoff("set listener auth-plaintext", argv[i + 1],
			    &l.auth_plaintext, err, cap);
			if (rc != 0)
				return rc;
		} else {
			return config_fail(err, cap,
			    "%s: unknown option '%s' (mode, auth-plaintext)", what, argv[i]);
		}
	}
	for (int i = 0; i < CONFIG_CFG_MAX_LISTENERS && slot == NULL; i++)
		if (!w->listeners[i].used)
			slot = &w->listeners[i];
	if (slot == NULL)
		return config_fail(err, cap,
		    "%s: no room for '%s' (at most %d listeners, "
		    "CONFIG_CFG_MAX_LISTENERS)",
		    what, argv[0], CONFIG_CFG_MAX_LISTENERS);
	*slot = l;
	return 0;
}

static int
delete_listener(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_listener *l = find_listener(w, argv[0]);

	(void)argc;
	if (l == NULL)
		return config_fail(err, cap, "delete listener: '%s' is not configured", argv[0]);
	memset(l, 0, sizeof(*l));
	return 0;
}

/* ------------------------------------------------------------ relay */

static int
set_relay_outbox(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char p[ZCFG_PATH_MAX];
	int rc = want_path("set relay outbox", argv[0], p, err, cap);

	(void)argc;
	if (rc != 0)
		return rc;
	memcpy(w->relay.outbox, p, sizeof(p));
	w->relay.kind = ZCFG_RELAY_OUTBOX;
	return 0;
}

/* HOST, HOST:PORT, [V6]:PORT, or a bare IPv6 address. */
static int
set_relay_smarthost(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set relay smarthost";
	const char *s = argv[0], *port = NULL, *colon;
	char host[ZCFG_NAME_MAX], tmp[ZCFG_NAME_MAX];
	struct hal_addr a;
	size_t n;

	(void)argc;
	if (!IS_ENABLED(CONFIG_FEATURE_RELAY_SMARTHOST))
		return config_fail(err, cap, "%s: not built in (CONFIG_FEATURE_RELAY_SMARTHOST)",
		    what);
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			goto bad;
		n = (size_t)(close - s - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != 0)
			goto bad;
		s++;
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s);
		port = colon + 1;
	} else {
		n = strlen(s);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = 0;
	if (hal_addr_parse(&a, host, 0) != 0) {
		if (!valid_dname(host, tmp))
			goto bad;
		memcpy(host, tmp, strlen(tmp) + 1);
	} else if (argv[0][0] != '[' && a.family == 6 && port != NULL) {
		goto bad;
	}
	w->relay.port = CONFIG_RELAY_DEFAULT_PORT;
	if (port != NULL) {
		bool ok;
		uint32_t v = parse_u32(port, &ok);
		if (!ok || v == 0 || v > 65535)
			return config_fail(err, cap, "%s: port '%s' is not 1-65535", what, port);
		w->relay.port = (uint16_t)v;
	}
	put(w->relay.host, sizeof(w->relay.host), host);
	w->relay.kind = ZCFG_RELAY_SMARTHOST;
	return 0;
bad:
	return config_fail(err, cap,
	    "%s: '%s' is not HOST[:PORT] (mail.example.net:587, "
	    "192.0.2.1:465, [2001:db8::1]:587)",
	    what, argv[0]);
}

static int
set_relay_direct(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	(void)argv;
	if (!IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT))
		return config_fail(err, cap,
		    "set relay direct: not built in "
		    "(CONFIG_FEATURE_RELAY_DIRECT)");
	w->relay.kind = ZCFG_RELAY_DIRECT;
	return 0;
}

static int
set_relay_username(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	size_t n = strlen(argv[0]);

	(void)argc;
	if (n == 0 || n >= ZCFG_USER_MAX)
		return config_fail(err, cap, "set relay username: must have 1 to %d characters",
		    ZCFG_USER_MAX - 1);
	put(w->relay.username, sizeof(w->relay.username), argv[0]);
	return 0;
}

static int
set_relay_password(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	size_t n = strlen(argv[0]);

	(void)argc;
	if (n == 0 || n >= ZCFG_SECRET_MAX)
		return config_fail(err, cap, "set relay password: must have 1 to %d characters",
		    ZCFG_SECRET_MAX - 1);
	put(w->relay.password, sizeof(w->relay.password), argv[0]);
	return 0;
}

static int
set_relay_ca_file(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char p[ZCFG_PATH_MAX];
	int rc = want_path("set relay ca-file", argv[0], p, err, cap);

	(void)argc;
	if (rc == 0)
		memcpy(w->relay.ca_file, p, sizeof(p));
	return rc;
}

static int
set_relay_tls(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "starttls"))
		w->relay.implicit_tls = false;
	else if (streq(argv[0], "implicit"))
		w->relay.implicit_tls = true;
	else
		return config_fail(err, cap, "set relay tls: '%s' is not starttls or implicit",
		    argv[0]);
	return 0;
}

static int
set_relay_require_tls(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return want_onoff("set relay require-tls", argv[0], &w->relay.require_tls, err, cap);
}

static int
set_relay_mx_port(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char *end;
	unsigned long v;

	(void)argc;
	v = strtoul(argv[0], &end, 10);
	if (argv[0][0] < '0' || argv[0][0] > '9' || *end != '\0' || v == 0 || v > 65535)
		return config_fail(err, cap, "set relay mx-port: '%s' is not a port number "
		    "(1-65535; SMTP between MTAs is 25)", argv[0]);
	w->relay.mx_port = (uint16_t)v;
	return 0;
}

static int
delete_relay(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "username"))
		memset(w->relay.username, 0, sizeof(w->relay.username));
	else if (streq(argv[0], "password"))
		memset(w->relay.password, 0, sizeof(w->relay.password));
	else if (streq(argv[0], "ca-file"))
		memset(w->relay.ca_file, 0, sizeof(w->relay.ca_file));
	else
		return config_fail(err, cap,
		    "delete relay: '%s' cannot be deleted "
		    "(username, password, ca-file)",
		    argv[0]);
	return 0;
}

/* ------------------------------------------------------------ resolvers */

static int
parse_resolver(const char *what, const char *s, struct hal_addr *a, char *err, size_t cap)
{
	if (hal_addr_parse(a, s, CONFIG_RESOLVER_DEFAULT_PORT) != 0)
		return config_fail(err, cap,
		    "%s: '%s' is not IP[:PORT] (192.0.2.53, "
		    "127.0.0.1:5353, [2001:db8::53]:53)",
		    what, s);
	return 0;
}

static int
set_resolver(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct hal_addr a;
	int rc = parse_resolver("set resolver", argv[0], &a, err, cap);

	(void)argc;
	if (rc != 0)
		return rc;
	for (int i = 0; i < w->nresolvers; i++)
		if (same_addr(&w->resolvers[i], &a, true))
			return 0;
	if (w->nresolvers >= CFG_NRESOLVERS)
		return config_fail(err, cap,
		    "set resolver: at most %d resolvers (delete one "
		    "first)",
		    CFG_NRESOLVERS);
	w->resolvers[w->nresolvers++] = a;
	return 0;
}

static int
delete_resolver(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct hal_addr a;
	int rc = parse_resolver("delete resolver", argv[0], &a, err, cap);

	(void)argc;
	if (rc != 0)
		return rc;
	for (int i = 0; i < w->nresolvers; i++) {
		if (same_addr(&w->resolvers[i], &a, true)) {
			memmove(&w->resolvers[i], &w->resolvers[i + 1],
			    (size_t)(w->nresolvers - i - 1) * sizeof(a));
			w->nresolvers--;
			memset(&w->resolvers[w->nresolvers], 0, sizeof(a));
			return 0;
		}
	}
	return config_fail(err, cap, "delete resolver: '%s' is not configured", argv[0]);
}

/* `set resolver-anchors PATH` (an empty PATH means the built-in anchors) */
static int
set_resolver_anchors(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char p[ZCFG_PATH_MAX];
	int rc;

	(void)argc;
	if (argv[0][0] == '\0') {
		memset(w->resolver_anchors, 0, sizeof(w->resolver_anchors));
		return 0;
	}
	rc = want_path("set resolver-anchors", argv[0], p, err, cap);
	if (rc == 0)
		memcpy(w->resolver_anchors, p, sizeof(p));
	return rc;
}

static int
delete_resolver_anchors(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)cap;
	memset(w->resolver_anchors, 0, sizeof(w->resolver_anchors));
	return 0;
}

/* ------------------------------------------------------------ queue */

/* "90", "30s", "5m", "4h", "5d" -> seconds (at most 10 years) */
static bool
parse_duration(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v, mul = 1;

	if (!isdigit((unsigned char)s[0]))
		return false;
	v = strtoull(s, &end, 10);
	if (end[0] != 0 && end[1] != 0)
		return false;
	switch (end[0]) {
	case 0: case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	default: return false;
	}
	if (v > 315360000ull / mul)
		return false;
	*out = (uint32_t)(v * mul);
	return true;
}

static bool
parse_u64_bytes(const char *s, uint64_t *out)
{
	char *end;

	if (!isdigit((unsigned char)s[0]))
		return false;
	*out = strtoull(s, &end, 10);
	return *end == 0 && *out < (1ull << 50);
}

static int
set_queue(struct zcfg *w, const char *what, const char *v, char *err, size_t cap)
{
	struct zcfg_queue *q = &w->queue;
	uint32_t d;
	uint64_t b;

	if (streq(what, "lifetime") || streq(what, "delay-warning") ||
	    streq(what, "retry-base")) {
		bool zero_ok = streq(what, "delay-warning");

		if (!parse_duration(v, &d) || (d == 0 && !zero_ok))
			return config_fail(err, cap, "set queue %s: '%s' is not a duration "
			    "such as 30s, 5m, 4h or 5d%s", what, v, zero_ok ? " (0 = never)" : "");
		if (streq(what, "lifetime"))
			q->lifetime = d;
		else if (zero_ok)
			q->delay_warning = d;
		else
			q->retry_base = d;
		return 0;
	}
	if (!parse_u64_bytes(v, &b))
		return config_fail(err, cap, "set queue %s: '%s' is not a number", what, v);
	if (streq(what, "max-messages")) {
		if (b < 1 || b > CONFIG_QUEUE_MAX_ENTRIES)
			return config_fail(err, cap, "set queue max-messages: '%s' is not from 1 "
			    "to %u (CONFIG_QUEUE_MAX_ENTRIES)", v, (unsigned)CONFIG_QUEUE_MAX_ENTRIES);
		q->max_messages = (uint32_t)b;
	} else if (streq(what, "max-size")) {
		if (b < 65536)
			return config_fail(err, cap, "set queue max-size: '%s' is below 65536 "
			    "bytes", v);
		q->max_size = b;
	} else {
		q->min_free = b;
	}
	return 0;
}

#define QUEUE_SETTER(fn, word) \
	static int \
	fn(struct zcfg *w, int argc, char **argv, char *err, size_t cap) \
	{ \
		(void)argc; \
		return set_queue(w, word, argv[0], err, cap); \
	}
QUEUE_SETTER(set_queue_lifetime, "lifetime")
QUEUE_SETTER(set_queue_delay_warning, "delay-warning")
QUEUE_SETTER(set_queue_retry_base, "retry-base")
QUEUE_SETTER(set_queue_max_messages, "max-messages")
QUEUE_SETTER(set_queue_max_size, "max-size")
QUEUE_SETTER(set_queue_min_free, "min-free")

/* ------------------------------------------------------------ the table */

static const struct stmt stmts[] = {
	{ "set", "hostname", 1, 1, set_hostname, "NAME" },
	{ "set", "data-dir", 1, 1, set_data_dir, "DIR" },
	{ "set", "log-level", 1, 1, set_log_level, "error|warning|info|debug" },
	{ "set", "message-size-limit", 1, 1, set_size_limit, "BYTES" },
	{ "set", "domain", 1, 7, set_domain,
	    "NAME [subdomains on|off] [canon relaxed/relaxed|simple/simple|relaxed/simple|"
	    "simple/relaxed] [envelope-align off|warn|refuse]" },
	{ "set", "key", 5, 5, set_key, "SELECTOR domain NAME file PATH" },
	{ "set", "user", 3, 3, set_user, "NAME password SECRET | NAME password-hash HASH" },
	{ "set", "network", 1, 3, set_network, "CIDR [line-endings strict|normalise]" },
	{ "set", "listener", 2, 6, set_listener,
	    "NAME ADDR:PORT mode starttls|tls|plain [auth-plaintext on|off]" },
	{ "set", "relay outbox", 1, 1, set_relay_outbox, "DIR" },
	{ "set", "relay smarthost", 1, 1, set_relay_smarthost, "HOST[:PORT]" },
	{ "set", "relay direct", 0, 0, set_relay_direct, "" },
	{ "set", "relay username", 1, 1, set_relay_username, "USER" },
	{ "set", "relay password", 1, 1, set_relay_password, "SECRET" },
	{ "set", "relay ca-file", 1, 1, set_relay_ca_file, "PATH" },
	{ "set", "relay tls", 1, 1, set_relay_tls, "starttls|implicit" },
	{ "set", "relay require-tls", 1, 1, set_relay_require_tls, "on|off" },
	{ "set", "relay mx-port", 1, 1, set_relay_mx_port, "PORT" },
	{ "set", "queue lifetime", 1, 1, set_queue_lifetime, "DURATION (30s 5m 4h 5d)" },
	{ "set", "queue delay-warning", 1, 1, set_queue_delay_warning, "DURATION (0 = never)" },
	{ "set", "queue retry-base", 1, 1, set_queue_retry_base, "DURATION" },
	{ "set", "queue max-messages", 1, 1, set_queue_max_messages, "N" },
	{ "set", "queue max-size", 1, 1, set_queue_max_size, "BYTES" },
	{ "set", "queue min-free", 1, 1, set_queue_min_free, "BYTES" },
	{ "set", "resolver", 1, 1, set_resolver, "IP[:PORT]" },
	{ "set", "resolver-anchors", 1, 1, set_resolver_anchors, "PATH" },
	{ "set", "tls cert", 1, 1, set_tls_cert, "PATH" },
	{ "set", "tls key", 1, 1, set_tls_key, "PATH" },
	{ "delete", "domain", 1, 1, delete_domain, "NAME" },
	{ "delete", "key", 1, 1, delete_key, "SELECTOR" },
	{ "delete", "user", 1, 1, delete_user, "NAME" },
	{ "delete", "network", 1, 1, delete_network, "CIDR" },
	{ "delete", "listener", 1, 1, delete_listener, "NAME" },
	{ "delete", "resolver", 1, 1, delete_resolver, "IP[:PORT]" },
	{ "delete", "resolver-anchors", 0, 0, delete_resolver_anchors, "" },
	{ "delete", "relay", 1, 1, delete_relay, "username|password|ca-file" },
};

#define NSTMTS (sizeof(stmts) / sizeof(stmts[0]))

/* Number of words of path ("relay outbox" has 2). */
static int
path_words(const char *path)
{
	return strchr(path, ' ') ? 2 : 1;
}

static bool
path_matches(const char *path, int argc, char **argv)
{
	const char *sp = strchr(path, ' ');

	if (sp == NULL)
		return argc >= 1 && streq(path, argv[0]);
	return argc >= 2 && strlen(argv[0]) == (size_t)(sp - path) &&
	    strncmp(path, argv[0], (size_t)(sp - path)) == 0 && streq(sp + 1, argv[1]);
}

/* "valid: a, b, c" listing the words that may follow prefix (NULL: first). */
static void
list_words(const char *verb, const char *prefix, char *buf, size_t cap)
{
	size_t used = 0;
	const char *last = "";
	size_t lastlen = 0;

	buf[0] = 0;
	for (size_t i = 0; i < NSTMTS; i++) {
		const char *p = stmts[i].path, *w;
		size_t wl;
		int r;

		if (!streq(stmts[i].verb, verb))
			continue;
		if (prefix != NULL) {
			size_t pl = strlen(prefix);
			if (strncmp(p, prefix, pl) != 0 || p[pl] != ' ')
				continue;
			w = p + pl + 1;
			wl = strlen(w);
		} else {
			w = p;
			wl = strcspn(p, " ");
		}
		if (lastlen == wl && strncmp(last, w, wl) == 0)
			continue;
		last = w;
		lastlen = wl;
		r = snprintf(buf + used, cap - used, "%s%.*s", used ? ", " : "", (int)wl, w);
		if (r < 0 || (size_t)r >= cap - used)
			break;
		used += (size_t)r;
	}
}

int
config_apply(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	const char *verb = argv[0];
	char valid[256];
	bool known_first = false;

	if (!streq(verb, "set") && !streq(verb, "delete"))
		return config_fail(err, cap, "'%s': a configuration line starts with set or delete",
		    verb);
	argc--;
	argv++;
	if (argc == 0) {
		list_words(verb, NULL, valid, sizeof(valid));
		return config_fail(err, cap, "%s: what? (%s)", verb, valid);
	}
	for (size_t i = 0; i < NSTMTS; i++) {
		const struct stmt *s = &stmts[i];
		int words = path_words(s->path), nargs;

		if (!streq(s->verb, verb))
			continue;
		if (words == 2 && strncmp(s->path, argv[0], strlen(argv[0])) == 0 &&
		    s->path[strlen(argv[0])] == ' ')
			known_first = true;
		if (!path_matches(s->path, argc, argv))
			continue;
		nargs = argc - words;
		if (nargs < s->min || nargs > s->max)
			return config_fail(err, cap, "%s %s: expected '%s %s%s%s'", verb, s->path,
			    verb, s->path, s->usage[0] ? " " : "", s->usage);
		return s->fn(w, nargs, argv + words, err, cap);
	}
	if (known_first) {
		list_words(verb, argv[0], valid, sizeof(valid));
		if (argc < 2)
			return config_fail(err, cap, "%s %s: what? (%s)", verb, argv[0], valid);
		return config_fail(err, cap, "%s %s: unknown '%s' (%s)", verb, argv[0], argv[1],
		    valid);
	}
	list_words(verb, NULL, valid, sizeof(valid));
	return config_fail(err, cap, "%s: unknown setting '%s' (%s)", verb, argv[0], valid);
}

void
config_usage(const char *what, void (*emit)(void *arg, const char *line), void *arg)
{
	char line[320];

	for (size_t i = 0; i < NSTMTS; i++) {
		if (what != NULL && !streq(what, stmts[i].verb))
			continue;
		snprintf(line, sizeof(line), "%s %s%s%s", stmts[i].verb, stmts[i].path,
		    stmts[i].usage[0] ? " " : "", stmts[i].usage);
		emit(arg, line);
	}
}
