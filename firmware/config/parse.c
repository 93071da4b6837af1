/*
 * The `set` / `delete` grammar (firmware/config/README.md): one table of
 * statements, each with its usage line (which is also the help text and the
 * "what is valid" half of every error), and one small handler per
 * statement. Handlers edit a scratch copy of the candidate; config.c copies
 * it back only when the handler succeeded, so nothing is half applied.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/config/grammar.h"
#include "zegel/words.h"

#ifndef CONFIG_HAL_TPM2_DEVICE
#define CONFIG_HAL_TPM2_DEVICE "/dev/tpmrm0"
#endif

typedef int (*stmt_fn)(struct zcfg *w, int argc, char **argv, char *err, size_t cap);

struct stmt {
	const char *verb; /* "set" or "delete" */
	const char *path; /* one or two words: "hostname", "relay outbox" */
	int min, max;     /* arguments after the path */
	stmt_fn fn;
	const char *usage; /* the arguments, for help and errors */
};

/* ------------------------------------------------------------ the table */

static const struct stmt stmts[] = {
	{ "set", "hostname", 1, 1, config_set_hostname, "NAME" },
	{ "set", "data-dir", 1, 1, config_set_data_dir, "DIR" },
	{ "set", "log-level", 1, 1, config_set_log_level, "error|warning|info|debug" },
	{ "set", "message-size-limit", 1, 1, config_set_size_limit,
	    "SIZE (bytes, or with K, M or G: 10M)" },
	{ "set", "domain", 1, 7, config_set_domain,
	    "NAME [subdomains on|off] [canon relaxed/relaxed|simple/simple|relaxed/simple|"
	    "simple/relaxed] [envelope-align off|warn|refuse]" },
	{ "set", "key", 5, 5, config_set_key, "SELECTOR domain NAME file PATH" },
	{ "set", "key-rollover auto-activate", 1, 1, config_set_rollover_auto, "on|off" },
	{ "set", "key-rollover retire-days", 1, 1, config_set_rollover_retire, "DAYS (0-365)" },
	{ "set", "key-rollover check-interval", 1, 1, config_set_rollover_check,
	    "DURATION (1m to 1d)" },
	{ "set", "user", 3, 3, config_set_user, "NAME password SECRET | NAME password-hash HASH" },
	{ "set", "network", 1, 3, config_set_network, "CIDR [line-endings strict|normalise]" },
	{ "set", "listener", 2, 8, config_set_listener,
	    "NAME ADDR:PORT mode starttls|tls|plain|no-tls [auth-plaintext on|off] "
	    "[tls-min 1.0|1.1|1.2|1.3] (no-tls, tls-min below 1.2: only for LAN devices that "
	    "cannot do better)" },
	{ "set", "relay outbox", 1, 1, config_set_relay_outbox, "DIR" },
	{ "set", "relay smarthost", 1, 3, config_set_relay_smarthost,
	    "HOST[:PORT] [queue on|off]" },
	{ "set", "relay direct", 0, 0, config_set_relay_direct, "" },
	{ "set", "relay username", 1, 1, config_set_relay_username, "USER" },
	{ "set", "relay password", 1, 1, config_set_relay_password, "SECRET" },
	{ "set", "relay password-sealed", 1, 1, config_set_relay_password_sealed,
	    "zs1.NONCE.DATA.TAG (what save writes; needs <data-dir>/secret.key)" },
	{ "set", "relay ca-file", 1, 1, config_set_relay_ca_file, "PATH" },
	{ "set", "relay tls", 1, 1, config_set_relay_tls, "starttls|implicit" },
	{ "set", "relay require-tls", 1, 1, config_set_relay_require_tls, "on|off" },
	{ "set", "relay tls-required-no", 1, 1, config_set_relay_tls_required_no,
	    "honour|ignore (a 'TLS-Required: No' header, RFC 8689: deliver without "
	    "DANE/MTA-STS; default ignore)" },
	{ "set", "relay mx-port", 1, 1, config_set_relay_mx_port, "PORT" },
	{ "set", "tlsrpt organization", 1, 1, config_set_tlsrpt_org,
	    "NAME (the report's organization-name; default: the host name)" },
	{ "set", "tlsrpt contact", 1, 1, config_set_tlsrpt_contact,
	    "TEXT (the report's contact-info; default: postmaster@HOSTNAME)" },
	{ "set", "tlsrpt", 1, 1, config_set_tlsrpt,
	    "on|off (daily SMTP TLS reports, RFC 8460, of direct delivery; off)" },
	{ "set", "queue lifetime", 1, 1, config_set_queue_lifetime, "DURATION (30s 5m 4h 5d)" },
	{ "set", "queue delay-warning", 1, 1, config_set_queue_delay_warning, "DURATION (0 = never)" },
	{ "set", "queue retry-base", 1, 1, config_set_queue_retry_base, "DURATION" },
	{ "set", "queue max-messages", 1, 1, config_set_queue_max_messages, "N" },
	{ "set", "queue max-size", 1, 1, config_set_queue_max_size,
	    "SIZE (bytes, or 512K, 10M, 1G)" },
	{ "set", "queue min-free", 1, 1, config_set_queue_min_free,
	    "SIZE (bytes, or 512K, 10M, 1G)" },
	{ "set", "smtpd per-address-limit", 1, 1, config_set_smtpd_per_address, "N" },
	{ "set", "smtpd idle-timeout", 1, 1, config_set_smtpd_idle, "DURATION (10s .. 5m)" },
	{ "set", "smtpd command-timeout", 1, 1, config_set_smtpd_command, "DURATION (1s .. 5m)" },
	{ "set", "smtpd transaction-timeout", 1, 1, config_set_smtpd_transaction,
	    "DURATION (1s .. 1h)" },
	{ "set", "smtpd min-data-rate", 1, 3, config_set_smtpd_rate,
	    "BYTES-PER-SECOND [window DURATION] (0 = off)" },
	{ "set", "smtpd shed-idle", 1, 1, config_set_smtpd_shed, "DURATION|off" },
	{ "set", "smtpd auth-delay", 1, 3, config_set_smtpd_auth_delay, "DURATION [max DURATION]" },
	{ "set", "smtpd auth-lockout", 1, 3, config_set_smtpd_auth_lockout,
	    "FAILURES [for DURATION] (0 = never)" },
	{ "set", "resolver", 1, 1, config_set_resolver, "IP[:PORT]" },
	{ "set", "resolver-anchors", 1, 1, config_set_resolver_anchors, "PATH" },
	{ "set", "public-address", 1, 1, config_set_public_address, "IP" },
	{ "set", "lwip driver", 1, 1, config_set_lwip_driver, "tap|packet (lwIP build: TAP device or an interface through a packet socket)" },
	{ "set", "lwip interface", 1, 1, config_set_lwip_interface, "NAME (the TAP device or the interface lwIP owns; default tap0)" },
	{ "set", "lwip address", 1, 1, config_set_lwip_address, "IP/PREFIX|none (lwIP's IPv4 address)" },
	{ "set", "lwip gateway", 1, 1, config_set_lwip_gateway, "IP|none (lwIP's IPv4 default gateway)" },
	{ "set", "lwip address6", 1, 1, config_set_lwip_address6, "IPV6/PREFIX|none (lwIP's static IPv6 address; SLAAC too)" },
	{ "set", "lwip dhcp", 1, 1, config_set_lwip_dhcp, "on|off (lwIP's IPv4 address and gateway from DHCP)" },
	{ "set", "ntp server", 1, 4, config_set_ntp_server, "HOST[:PORT]... (1 to 4; IP addresses recommended)" },
	{ "set", "ntp interval", 1, 1, config_set_ntp_interval, "DURATION (16s to 1d; default 1h)" },
	{ "set", "syslog", 2, 3, config_set_syslog, "IP[:PORT] udp|tcp [rfc5424|rfc3164]" },
	{ "set", "syslog-facility", 1, 1, config_set_syslog_facility, "mail|daemon|user|local0..local7" },
	{ "set", "tls cert", 1, 1, config_set_tls_cert,
	    "PATH (yours: must exist and match the key; zegel never writes it)" },
	{ "set", "tls key", 1, 1, config_set_tls_key, "PATH (yours, the certificate's key)" },
	{ "set", "tls key-store", 1, 1, config_set_tls_key_store,
	    "file|tpm (zegel's own TLS key: a PEM file, or RSA-2048 made in the TPM; default file)" },
	{ "set", "tpm device", 1, 1, config_set_tpm_device,
	    "/dev/tpm*|tcp:IP:PORT|default (the TPM of TPM keys; default: $ZEGEL_TPM, else " CONFIG_HAL_TPM2_DEVICE ")" },
	{ "delete", "domain", 1, 1, config_delete_domain, "NAME" },
	{ "delete", "key", 1, 1, config_delete_key, "SELECTOR" },
	{ "delete", "user", 1, 1, config_delete_user, "NAME" },
	{ "delete", "network", 1, 1, config_delete_network, "CIDR" },
	{ "delete", "listener", 1, 1, config_delete_listener, "NAME" },
	{ "delete", "tls", 0, 0, config_delete_tls,
	    "(back to zegel's own self-signed pair under <data-dir>/tls/)" },
	{ "delete", "resolver", 1, 1, config_delete_resolver, "IP[:PORT]" },
	{ "delete", "resolver-anchors", 0, 0, config_delete_resolver_anchors, "" },
	{ "delete", "public-address", 0, 0, config_delete_public_address, "" },
	{ "delete", "relay", 1, 1, config_delete_relay, "username|password|ca-file" },
	{ "delete", "ntp server", 0, 0, config_delete_ntp_server, "" },
	{ "delete", "syslog", 0, 0, config_delete_syslog, "" },
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

/* The path words of verb's statements at one level: the first words (first
 * == NULL), or the second words of the paths that start with first. */
static size_t
path_level(const char *verb, const char *first, struct words_word *set, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < NSTMTS; i++) {
		const char *p = stmts[i].path;

		if (!streq(stmts[i].verb, verb))
			continue;
		if (first == NULL) {
			n = words_add(set, n, cap, p, strcspn(p, " "));
		} else {
			size_t fl = strlen(first);
			if (strncmp(p, first, fl) == 0 && p[fl] == ' ')
				n = words_add(set, n, cap, p + fl + 1, strlen(p + fl + 1));
		}
	}
	return n;
}

/* Replace an abbreviated path word (`set rel smart`) by the keyword it
 * stands for, copied into out. 0 (unchanged when nothing matches: the
 * caller's error lists what is valid), or -EINVAL for an ambiguous one. */
static int
expand_word(const char *verb, const char *first, char **word, char *out, size_t outcap,
    char *err, size_t cap)
{
	struct words_word set[NSTMTS];
	size_t n = path_level(verb, first, set, NSTMTS);
	int k = words_match(set, n, *word, strlen(*word));
	char list[256];

	if (k == WORDS_AMBIGUOUS) {
		words_join(set, n, *word, strlen(*word), list, sizeof(list));
		return config_fail(err, cap, "%s%s%s: ambiguous: '%s' could be %s", verb,
		    first ? " " : "", first ? first : "", *word, list);
	}
	if (k >= 0 && set[k].n < outcap) {
		memcpy(out, set[k].s, set[k].n);
		out[set[k].n] = 0;
		*word = out;
	}
	return 0;
}

int
config_resolve_path(const char *verb, int argc, char **argv, char *path, size_t cap,
    const char **usage)
{
	struct words_word set[NSTMTS], set2[NSTMTS];
	size_t n, n2;
	int k, k2 = WORDS_NONE, words = 1;
	char first[32];

	if (argc < 1 || cap == 0)
		return 0;
	n = path_level(verb, NULL, set, NSTMTS);
	k = words_match(set, n, argv[0], strlen(argv[0]));
	if (k < 0 || set[k].n >= sizeof(first))
		return 0;
	memcpy(first, set[k].s, set[k].n);
	first[set[k].n] = 0;
	n2 = path_level(verb, first, set2, NSTMTS);
	if (n2 > 0 && argc >= 2) {
		k2 = words_match(set2, n2, argv[1], strlen(argv[1]));
		if (k2 == WORDS_AMBIGUOUS)
			return 0;
	}
	if (k2 >= 0) {
		snprintf(path, cap, "%s %.*s", first, (int)set2[k2].n, set2[k2].s);
		words = 2;
	} else {
		snprintf(path, cap, "%s", first);
	}
	for (size_t i = 0; i < NSTMTS; i++) {
		if (streq(stmts[i].verb, verb) && streq(stmts[i].path, path)) {
			if (usage != NULL)
				*usage = stmts[i].usage;
			return words;
		}
	}
	return n2 > 0 ? -1 : 0; /* "relay" alone: a first word that needs a second */
}

void
config_grammar_each(const char *verb,
    void (*fn)(void *arg, const char *path, const char *usage), void *arg)
{
	for (size_t i = 0; i < NSTMTS; i++)
		if (streq(stmts[i].verb, verb))
			fn(arg, stmts[i].path, stmts[i].usage);
}

int
config_apply(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	const char *verb = argv[0];
	char valid[256], word0[32], word1[32];
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
	/* Unique prefixes of the path words stand for them: `set rel smart`. */
	if (expand_word(verb, NULL, &argv[0], word0, sizeof(word0), err, cap) != 0 ||
	    (argc >= 2 && expand_word(verb, argv[0], &argv[1], word1, sizeof(word1), err, cap) != 0))
		return -EINVAL;
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
