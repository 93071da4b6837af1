/*
 * `set` / `delete` handlers for the system settings: host name, data
 * directory, log level, size limit, TLS files, resolvers and the queue.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/config/grammar.h"

/* ------------------------------------------------------------ scalars */

int
config_set_hostname(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return config_want_dname("set hostname", argv[0], w->hostname, err, cap);
}

int
config_set_data_dir(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char old_o[ZCFG_PATH_MAX], old_c[ZCFG_PATH_MAX], old_k[ZCFG_PATH_MAX];
	char dir[ZCFG_PATH_MAX];
	int rc;

	(void)argc;
	rc = config_want_path("set data-dir", argv[0], dir, err, cap);
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

int
config_set_log_level(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	int i = config_lookup(argv[0], config_log_levels, 4);

	(void)argc;
	if (i < 0)
		return config_fail(err, cap,
		    "set log-level: '%s' is not a level (error, warning, info, debug)", argv[0]);
	w->log_level = i;
	return 0;
}

int
config_set_size_limit(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	uint64_t v;
	char most[32];

	(void)argc;
	if (!config_parse_u64_bytes(argv[0], &v) || v < 1024 ||
	    v > (uint64_t)CONFIG_SMTP_MAX_MESSAGE_SIZE) {
		config_format_bytes((uint64_t)CONFIG_SMTP_MAX_MESSAGE_SIZE, most, sizeof(most));
		return config_fail(err, cap,
		    "set message-size-limit: '%s' is not a size from 1K to %s (bytes, or with K, "
		    "M or G: 10M; %s is the most this firmware takes)",
		    argv[0], most, most);
	}
	w->max_message_size = (uint32_t)v;
	return 0;
}

static int
set_tls_path(const char *what, char dst[ZCFG_PATH_MAX], const char *s, char *err, size_t cap)
{
	char p[ZCFG_PATH_MAX];
	int rc = config_want_path(what, s, p, err, cap);

	if (rc == 0)
		memcpy(dst, p, sizeof(p));
	return rc;
}

int
config_set_tls_cert(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return set_tls_path("set tls cert", w->tls_cert, argv[0], err, cap);
}

int
config_set_tls_key(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return set_tls_path("set tls key", w->tls_key, argv[0], err, cap);
}

int
config_set_tls_key_store(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "tpm"))
		w->tls_tpm = true;
	else if (streq(argv[0], "file"))
		w->tls_tpm = false;
	else
		return config_fail(err, cap, "set tls key-store: '%s' is not file or tpm", argv[0]);
	return 0;
}

/* Only a TPM character device or swtpm's TCP command channel: the key
 * holder opens it read-write and writes TPM commands to it. */
int
config_set_tpm_device(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	const char *s = argv[0];

	(void)argc;
	if (!streq(s, "default") && !zcfg_tpm_device_ok(s))
		return config_fail(err, cap, "set tpm device: '%s' is not /dev/tpm..., "
		    "tcp:IPV4:PORT or default", s);
	/* the whole field: a configuration compares bytewise (commit, diff) */
	memset(w->tpm_device, 0, sizeof(w->tpm_device));
	if (!streq(s, "default"))
		snprintf(w->tpm_device, sizeof(w->tpm_device), "%s", s);
	return 0;
}

/* Back to zegel's own self-signed pair under <data-dir>/tls/ (generated
 * when missing): the explicit way to ask for generation. */
int
config_delete_tls(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char o[ZCFG_PATH_MAX];

	(void)argc;
	(void)argv;
	(void)err;
	(void)cap;
	config_derived_paths(w->data_dir, o, w->tls_cert, w->tls_key);
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

int
config_set_resolver(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct hal_addr a;
	int rc = parse_resolver("set resolver", argv[0], &a, err, cap);

	(void)argc;
	if (rc != 0)
		return rc;
	for (int i = 0; i < w->nresolvers; i++)
		if (config_same_addr(&w->resolvers[i], &a, true))
			return 0;
	if (w->nresolvers >= CFG_NRESOLVERS)
		return config_fail(err, cap,
		    "set resolver: at most %d resolvers (delete one "
		    "first)",
		    CFG_NRESOLVERS);
	w->resolvers[w->nresolvers++] = a;
	return 0;
}

int
config_delete_resolver(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct hal_addr a;
	int rc = parse_resolver("delete resolver", argv[0], &a, err, cap);

	(void)argc;
	if (rc != 0)
		return rc;
	for (int i = 0; i < w->nresolvers; i++) {
		if (config_same_addr(&w->resolvers[i], &a, true)) {
			memmove(&w->resolvers[i], &w->resolvers[i + 1],
			    (size_t)(w->nresolvers - i - 1) * sizeof(a));
			w->nresolvers--;
			memset(&w->resolvers[w->nresolvers], 0, sizeof(a));
			return 0;
		}
	}
	return config_fail(err, cap, "delete resolver: '%s' is not configured", argv[0]);
}

/* ------------------------------------------------------------ public address */

/* `set public-address IP`: the router's address on the Internet, which
 * receivers see as the sender of direct mode's mail (the SPF question of
 * `check domain`). An address, no port. */
int
config_set_public_address(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct hal_addr a = { 0 };

	(void)argc;
	a.family = strchr(argv[0], ':') ? 6 : 4;
	if (hal_addr_parse_ip(a.family, argv[0], a.ip) != 0)
		return config_fail(err, cap, "set public-address: '%s' is not an IP address "
		    "(198.51.100.7, 2001:db8::7)", argv[0]);
	w->public_address = a;
	w->public_address_set = true;
	return 0;
}

int
config_delete_public_address(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)cap;
	memset(&w->public_address, 0, sizeof(w->public_address));
	w->public_address_set = false;
	return 0;
}

/* `set resolver-anchors PATH` (an empty PATH means the built-in anchors) */
int
config_set_resolver_anchors(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char p[ZCFG_PATH_MAX];
	int rc;

	(void)argc;
	if (argv[0][0] == '\0') {
		memset(w->resolver_anchors, 0, sizeof(w->resolver_anchors));
		return 0;
	}
	rc = config_want_path("set resolver-anchors", argv[0], p, err, cap);
	if (rc == 0)
		memcpy(w->resolver_anchors, p, sizeof(p));
	return rc;
}

int
config_delete_resolver_anchors(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	(void)argv;
	(void)err;
	(void)cap;
	memset(w->resolver_anchors, 0, sizeof(w->resolver_anchors));
	return 0;
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

		if (!config_parse_duration(v, &d) || (d == 0 && !zero_ok))
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
	if (!config_parse_u64_bytes(v, &b))
		return config_fail(err, cap, "set queue %s: '%s' is not a %s", what, v,
		    streq(what, "max-messages") ? "number" : "size (bytes, or with K, M or G: 10M)");
	if (streq(what, "max-messages")) {
		if (b < 1 || b > CONFIG_QUEUE_MAX_ENTRIES)
			return config_fail(err, cap, "set queue max-messages: '%s' is not from 1 "
			    "to %u (the most this firmware's queue index holds)", v,
			    (unsigned)CONFIG_QUEUE_MAX_ENTRIES);
		q->max_messages = (uint32_t)b;
	} else if (streq(what, "max-size")) {
		if (b < 65536)
			return config_fail(err, cap, "set queue max-size: '%s' is below 64K (65536 "
			    "bytes)", v);
		q->max_size = b;
	} else {
		q->min_free = b;
	}
	return 0;
}

#define QUEUE_SETTER(fn, word) \
	int \
	fn(struct zcfg *w, int argc, char **argv, char *err, size_t cap) \
	{ \
		(void)argc; \
		return set_queue(w, word, argv[0], err, cap); \
	}
QUEUE_SETTER(config_set_queue_lifetime, "lifetime")
QUEUE_SETTER(config_set_queue_delay_warning, "delay-warning")
QUEUE_SETTER(config_set_queue_retry_base, "retry-base")
QUEUE_SETTER(config_set_queue_max_messages, "max-messages")
QUEUE_SETTER(config_set_queue_max_size, "max-size")
QUEUE_SETTER(config_set_queue_min_free, "min-free")
