/*
 * DKIM keys an admin can see and roll over, on the console of `zegel run`:
 *
 *   key generate DOMAIN SELECTOR rsa [BITS] | rsa-tpm | ed25519
 *   key activate DOMAIN SELECTOR [force]
 *   key retire DOMAIN SELECTOR [force]
 *   key check
 *   show keys [DOMAIN]
 *
 * The DNS checks and transitions behind them are keys_app.c.
 *
 * Crash safety of the multi-step commands (each step is durable before the
 * next starts; a kill between two steps leaves a state the next start or a
 * repeated command completes, never a signing key nobody published):
 *   generate: state entry (pending) -> key file -> config (commit + save)
 *   retire:   config (commit + save) -> key file -> state entry removed
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim.h"
#include "firmware/app/commands.h"
#include "firmware/app/keys_app.h"
#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/keys/keys.h"
#include "firmware/keys/record.h"
#include "firmware/keys/state.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/text.h"

#define LOGM "keys"

/* ------------------------------------------------------------ console */

/* Apply "set key ..." / "delete key ..." to the running configuration:
 * commit, then save to the configuration file. */
static int
config_change(struct console *c, const char *what, const char *line)
{
	char err[320];
	const char *path = keys_app_save_path();
	char def[ZCFG_PATH_MAX + 16];

	if (config_set_line(line, err, sizeof(err)) != 0 || config_commit(err, sizeof(err)) != 0) {
		config_discard();
		console_printf(c, "%s: %s", what, err);
		return -1;
	}
	if (!path[0]) {
		snprintf(def, sizeof(def), "%.200s/zegel.conf", zcfg_running()->data_dir);
		path = def;
	}
	if (config_save(path, err, sizeof(err)) != 0) {
		console_printf(c, "%s: committed, but %s", what, err);
		return -1;
	}
	console_printf(c, "%s: committed and saved to %s", what, path);
	return 0;
}

static bool
no_uncommitted(struct console *c, const char *what)
{
	if (!config_modified())
		return true;
	console_printf(c,
	    "%s: the candidate has uncommitted changes; commit or discard them "
	    "first",
	    what);
	return false;
}

/* The record lines of a key: zone file (folded) and one line. */
static void
print_record(struct console *c, const struct hal_key *hk, const char *sel, const char *domain)
{
	char rec[2048], one[1400];
	uint8_t pub[1024];
	size_t n = 0, pl = 0;
	char *p, *nl;

	if (keys_dns_record(hk, sel, domain, rec, sizeof(rec), &n) != 0 ||
	    hal_key_public(hk, pub, sizeof(pub), &pl) != 0 ||
	    keyrec_value(hk->type, pub, pl, one, sizeof(one), NULL) != 0) {
		console_puts(c, "  record: cannot be made for this key");
		return;
	}
	console_printf(c, "  publish: TXT at %s._domainkey.%s.", sel, domain);
	console_puts(c, "  zone file:");
	for (p = rec; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL) {
			console_printf(c, "    %s", p);
			break;
		}
		*nl = 0;
		console_printf(c, "    %s", p);
	}
	console_printf(c, "  one line (web DNS panels): %s", one);
}

static void
fingerprint(const struct hal_key *hk, char *buf, size_t cap)
{
	uint8_t pub[1024], h[32];
	size_t pl = 0;
	char b[64];

	if (hal_key_public(hk, pub, sizeof(pub), &pl) != 0 ||
	    hal_hash(HAL_HASH_SHA256, pub, pl, h) != 0 || dkim_base64(h, 32, b, sizeof(b)) == 0) {
		snprintf(buf, cap, "unknown");
		return;
	}
	snprintf(buf, cap, "SHA256:%s", b);
}

static bool
valid_words(struct console *c, const char *what, const char *domain, const char *sel)
{
	if (dkim_valid_domain(domain) && dkim_valid_selector(sel) &&
	    strlen(domain) < ZCFG_NAME_MAX && strlen(sel) < ZCFG_SEL_MAX)
		return true;
	console_printf(c, "%s: bad domain '%s' or selector '%s'", what, domain, sel);
	return false;
}

static bool
domain_configured(const char *domain)
{
	const struct zcfg *cfg = zcfg_running();

	for (unsigned i = 0; i < CONFIG_CFG_MAX_DOMAINS; i++)
		if (cfg->domains[i].used && strcasecmp(cfg->domains[i].name, domain) == 0)
			return true;
	return false;
}

static int
parse_type(struct console *c, int argc, char **argv, enum hal_key_type *t, unsigned *bits)
{
	static const char usage[] = "key generate: usage: key generate DOMAIN SELECTOR rsa [BITS] "
				    "| rsa-tpm | ed25519";
	char *end;
	unsigned long b = 2048;

	if (argc < 3 || argc > 4) {
		console_puts(c, usage);
		return -1;
	}
	if (strcmp(argv[2], "ed25519") == 0 && argc == 3) {
		*t = HAL_KEY_ED25519;
		*bits = 0;
		return 0;
	}
	if (strcmp(argv[2], "rsa-tpm") == 0 && argc == 3) {
		*t = HAL_KEY_RSA_TPM; /* RSA-2048 made inside the TPM (hal/tpm2.h) */
		*bits = 2048;
		return 0;
	}
	if (strcmp(argv[2], "rsa") != 0) {
		console_puts(c, usage);
		return -1;
	}
	if (argc == 4) {
		b = strtoul(argv[3], &end, 10);
		if (*argv[3] == 0 || *end != 0 || b < 1024 || b > 4096) {
			console_printf(c,
			    "key generate: RSA keys have 1024 to 4096 bits (RFC 8301 "
			    "3.2), not '%s'",
			    argv[3]);
			return -1;
		}
	}
	*t = HAL_KEY_RSA;
	*bits = (unsigned)b;
	return 0;
}

static int
cmd_key_generate(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *cfg = zcfg_running();
	struct keystate_table *t = keystate_running();
	struct keystate_entry *e;
	enum hal_key_type gtype, type;
	unsigned bits;
	char dir[ZCFG_PATH_MAX + 16], file[ZCFG_PATH_MAX + 80], set[ZCFG_PATH_MAX + 160];
	struct hal_key hk;
	int rc;

	(void)line;
	if (parse_type(c, argc, argv, &gtype, &bits) != 0 ||
	    !valid_words(c, "key generate", argv[0], argv[1]) || !no_uncommitted(c, "key generate"))
		return 1;
	if (!domain_configured(argv[0])) {
		console_printf(c,
		    "key generate: %s is not a configured domain (set domain %s, "
		    "commit)",
		    argv[0], argv[0]);
		return 1;
	}
	if (keys_app_cfg_key(cfg, argv[0], argv[1]) != NULL) {
		console_printf(c, "key generate: %s already has a key %s (show keys)", argv[0],
		    argv[1]);
		return 1;
	}
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++)
		if (cfg->keys[i].used && strcmp(cfg->keys[i].selector, argv[1]) == 0) {
			console_printf(c,
			    "key generate: selector %s is used for %s already (one "
			    "selector per key)",
			    argv[1], cfg->keys[i].domain);
			return 1;
		}
	snprintf(dir, sizeof(dir), "%.170s/keys/%s", cfg->data_dir, argv[0]);
	if (strlen(dir) + strlen(argv[1]) + 6 >= ZCFG_PATH_MAX) {
		console_puts(c, "key generate: the key file path would be too long");
		return 1;
	}
	/* the key's type; gtype says where it is made */
	type = gtype == HAL_KEY_RSA_TPM ? HAL_KEY_RSA : gtype;
	zegel_strf(file, sizeof(file), "%s/%s.%s", dir, argv[1],
	    gtype == HAL_KEY_RSA_TPM ? "tpmkey" : "key");
	/* 1: the state entry, so a kill after the key file never leaves a key
	 * that signs before its record is published */
	e = keystate_find(t, argv[0], argv[1]);
	if (e != NULL && e->st != KEYSTATE_PENDING) {
		console_printf(c,
		    "key generate: %s for %s is %s in %s/keys/state; key retire it "
		    "first",
		    argv[1], argv[0], keystate_name(e->st), cfg->data_dir);
		return 1;
	}
	if (e == NULL) {
		if ((rc = keystate_add(t, argv[0], argv[1], type, hal_clock_now(), &e)) != 0) {
			console_printf(c, "key generate: no room for another key state (%s)",
			    strerror(-rc));
			return 1;
		}
		if (keys_app_save_state() != 0) {
			memset(e, 0, sizeof(*e));
			console_puts(c,
			    "key generate: cannot write the key state file (see the log)");
			return 1;
		}
	}
	/* 2: the key file (a file left by an interrupted generate is taken; a
	 * half-written temporary one, private key bytes, is removed) */
	hal_storage_mkdirs(dir, 0700);
	(void)config_clean_temps(file);
	if (hal_storage_exists(file) == 1) {
		rc = keys_load_file(&hk, file);
		if (rc == 0 && hk.type != type) {
			hal_key_free(&hk);
			console_printf(c,
			    "key generate: %s exists and is another type of key; remove "
			    "it or choose another selector",
			    file);
			return 1;
		}
		if (rc == 0)
			console_printf(c,
			    "key generate: taking %s (left by an interrupted key "
			    "generate)",
			    file);
	} else {
		rc = keys_generate_file(file, gtype, type == HAL_KEY_RSA ? bits : 0, &hk);
	}
	if (rc != 0) {
		console_printf(c, "key generate: %s: %s", file, strerror(-rc));
		return 1;
	}
	hal_log(HAL_LOG_INFO, LOGM,
	    "key %s for %s: generated %s (%u bits) in %s: published-pending "
	    "(does not sign until its DNS record is published and it is activated)",
	    argv[1], argv[0], keystate_alg(type), hk.bits, file);
	/* 3: the configuration */
	snprintf(set, sizeof(set), "set key %s domain %s file \"%s\"", argv[1], argv[0], file);
	if (config_change(c, "key generate", set) != 0) {
		hal_key_free(&hk);
		return 1;
	}
	console_printf(c,
	    "key %s for %s: %s-%u, published-pending: publish this record, then "
	    "key check; it signs after key activate %s %s%s",
	    argv[1], argv[0], keystate_alg(type), hk.bits, argv[0], argv[1],
	    zcfg_running()->key_rollover.auto_activate ? " (or at once: auto-activate is on)" : "");
	print_record(c, &hk, argv[1], argv[0]);
	hal_key_free(&hk);
	return 0;
}

static struct keystate_entry *
entry_arg(struct console *c, const char *what, int argc, char **argv, bool *force)
{
	struct keystate_entry *e;

	*force = argc == 3 && strcmp(argv[2], "force") == 0;
	if (argc < 2 || argc > 3 || (argc == 3 && !*force)) {
		console_printf(c, "%s: usage: %s DOMAIN SELECTOR [force]", what, what);
		return NULL;
	}
	if (!valid_words(c, what, argv[0], argv[1]))
		return NULL;
	e = keystate_find(keystate_running(), argv[0], argv[1]);
	if (e == NULL)
		console_printf(c, "%s: no key %s for %s (show keys)", what, argv[1], argv[0]);
	return e;
}

static int
cmd_key_activate(struct console *c, int argc, char **argv, const char *line)
{
	bool force;
	struct keystate_entry *e = entry_arg(c, "key activate", argc, argv, &force);
	const struct obs *o;

	(void)line;
	if (e == NULL)
		return 1;
	if (keys_app_cfg_key(zcfg_running(), e->domain, e->selector) == NULL ||
	    keys_find(e->domain, e->selector) == NULL) {
		console_printf(c, "key activate: key %s for %s is not configured and loaded",
		    e->selector, e->domain);
		return 1;
	}
	if (e->st == KEYSTATE_ACTIVE) {
		console_printf(c, "key activate: key %s for %s is already active", e->selector,
		    e->domain);
		return 1;
	}
	if (e->st != KEYSTATE_PUBLISHED && !force) {
		console_printf(c,
		    "key activate: key %s for %s is %s: its DNS record was not seen "
		    "yet (key check; or key activate %s %s force)",
		    e->selector, e->domain, keystate_name(e->st), e->domain, e->selector);
		return 1;
	}
	/* published once, but the last look found it changed or gone */
	o = keys_app_obs_for(e->domain, e->selector, false);
	if (o != NULL && (o->kind == OBS_DIFF || o->kind == OBS_MISSING) && !force) {
		console_printf(c,
		    "key activate: the record of key %s for %s %s since: %s (key check; or "
		    "key activate %s %s force)",
		    e->selector, e->domain, o->kind == OBS_DIFF ? "changed" : "went away", o->why,
		    e->domain, e->selector);
		return 1;
	}
	keys_app_activate(e, force, force ? "key activate force" : "key activate");
	console_printf(c, "key activate: key %s for %s is active", e->selector, e->domain);
	return 0;
}

static int
cmd_key_retire(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *cfg = zcfg_running();
	bool force;
	struct keystate_entry *e = entry_arg(c, "key retire", argc, argv, &force);
	const struct zcfg_key *k;
	char file[ZCFG_PATH_MAX], sel[ZCFG_SEL_MAX], dom[ZCFG_NAME_MAX], set[ZCFG_PATH_MAX + 160];
	int64_t left;

	(void)line;
	if (e == NULL || !no_uncommitted(c, "key retire"))
		return 1;
	/* an active key still configured signs; one `delete key` removed does not */
	if (e->st == KEYSTATE_ACTIVE && keys_app_cfg_key(cfg, e->domain, e->selector) != NULL) {
		console_printf(c,
		    "key retire: key %s for %s is active: activate its successor "
		    "first (it retires then)",
		    e->selector, e->domain);
		return 1;
	}
	left = keystate_retire_left(e, hal_clock_now(), cfg->key_rollover.retire_days);
	if (left > 0 && !force && keys_app_cfg_key(cfg, e->domain, e->selector) != NULL) {
		console_printf(c,
		    "key retire: key %s for %s retires for %" PRId64 " more hour(s): "
		    "mail it signed may still be verified (or key retire %s %s "
		    "force)",
		    e->selector, e->domain, (left + 3599) / 3600, e->domain, e->selector);
		return 1;
	}
	zegel_strf(sel, sizeof(sel), "%s", e->selector);
	zegel_strf(dom, sizeof(dom), "%s", e->domain);
	file[0] = 0;
	/* 1: out of the configuration (saved); a key no longer configured (an
	 * interrupted retire) has its file where key generate puts it, if anywhere */
	if ((k = keys_app_cfg_key(cfg, dom, sel)) != NULL) {
		zegel_strf(file, sizeof(file), "%s", k->file);
		snprintf(set, sizeof(set), "delete key %s", sel);
		if (config_change(c, "key retire", set) != 0)
			return 1;
	} else {
		zegel_strf(file, sizeof(file), "%.170s/keys/%s/%s.key", cfg->data_dir, dom, sel);
		if (hal_storage_exists(file) != 1)
			file[0] = 0;
	}
	/* 2: the private key (before the state entry: a file with a pending
	 * entry is what an interrupted key generate leaves, never a retired key) */
	if (file[0] && hal_storage_remove(file) != 0 && hal_storage_exists(file) == 1) {
		console_printf(c, "key retire: could not remove %s; the state stays", file);
		return 1;
	}
	/* 3: the state entry */
	e = keystate_find(keystate_running(), dom, sel);
	if (e != NULL) {
		(void)keystate_retire(e, hal_clock_now(), 0, true);
		if (keys_app_save_state() != 0) {
			console_puts(c,
			    "key retire: cannot write the key state file (see the log)");
			return 1;
		}
	}
	hal_log(HAL_LOG_INFO, LOGM, "key %s for %s: retired and deleted%s%s", sel, dom,
	    file[0] ? " " : "", file);
	console_printf(c,
	    "key retire: key %s for %s deleted; its DNS record %s._domainkey.%s can "
	    "go",
	    sel, dom, sel, dom);
	return 0;
}

static int
cmd_key_check(struct console *c, int argc, char **argv, const char *line)
{
	(void)argv;
	(void)line;
	if (argc != 0) {
		console_puts(c, "key check: usage: key check");
		return 1;
	}
	switch (keys_app_check_round(c)) {
	case -1:
		console_puts(c, "key check: a check is running; try again when it is done");
		return 1;
	case 0:
		console_puts(c, "key check: no configured key to check");
		return 0;
	default:
		return 0;
	}
}

/* The state line of a key, with what the admin should do next. */
static void
state_line(struct console *c, const struct keystate_entry *e, const struct obs *o)
{
	const struct zcfg *cfg = zcfg_running();
	char t[40];
	int64_t left;

	if (e == NULL) {
		console_puts(c, "  state: active (no state recorded yet), signing");
		return;
	}
	switch (e->st) {
	case KEYSTATE_PENDING:
		console_printf(c,
		    "  state: published-pending, not signing: publish the record "
		    "below%s",
		    o && o->kind == OBS_DIFF ? " (the one in DNS differs)" : "");
		break;
	case KEYSTATE_PUBLISHED:
		keys_app_fmt_time(e->published, t, sizeof(t));
		console_printf(c, "  state: published since %s, not signing: key activate %s %s", t,
		    e->domain, e->selector);
		break;
	case KEYSTATE_ACTIVE:
		keys_app_fmt_time(e->activated, t, sizeof(t));
		console_printf(c, "  state: active since %s, signing", t);
		break;
	case KEYSTATE_RETIRING:
		keys_app_fmt_time(e->retiring, t, sizeof(t));
		left = keystate_retire_left(e, hal_clock_now(), cfg->key_rollover.retire_days);
		if (left > 0)
			console_printf(c,
			    "  state: retiring since %s, not signing: keep its record "
			    "published %" PRId64 " more hour(s)",
			    t, (left + 3599) / 3600);
		else
			console_printf(c,
			    "  state: retiring since %s, not signing: retire period "
			    "over: remove its DNS record, then key retire %s %s",
			    t, e->domain, e->selector);
		break;
	default:
		break;
	}
}

static void
show_key(struct console *c, const struct zcfg_key *k)
{
	const struct hal_key *hk = keys_find(k->domain, k->selector);
	const struct keystate_entry *e = keystate_find(keystate_running(), k->domain, k->selector);
	const struct obs *o = keys_app_obs_for(k->domain, k->selector, false);
	char t[40], line[400];

	console_printf(c, "key %s for %s", k->selector, k->domain);
	if (hk == NULL) {
		console_printf(c, "  file: %s (NOT LOADED: see the log)", k->file);
		return;
	}
	if (hk->type == HAL_KEY_RSA)
		console_printf(c, "  algorithm: rsa-%u%s", hk->bits,
		    strstr(k->file, ".tpmkey") ? " (held in the TPM)" : "");
	else
		console_puts(c, "  algorithm: ed25519");
	state_line(c, e, o);
	keys_app_fmt_time(e ? e->created : 0, t, sizeof(t));
	console_printf(c, "  created: %s", t);
	fingerprint(hk, line, sizeof(line));
	console_printf(c, "  fingerprint: %s", line);
	console_printf(c, "  file: %s", k->file);
	keys_app_obs_line(o, line, sizeof(line));
	console_printf(c, "  dns: %s", line);
	print_record(c, hk, k->selector, k->domain);
}

static int
cmd_show_keys(struct console *c, int argc, char **argv, const char *line)
{
	const struct zcfg *cfg = zcfg_running();
	const struct keystate_table *t = keystate_running();
	unsigned n = 0;

	(void)line;
	if (argc > 1) {
		console_puts(c, "show keys: usage: show keys [DOMAIN]");
		return 1;
	}
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		const struct zcfg_key *k = &cfg->keys[i];

		if (!k->used || (argc == 1 && strcasecmp(k->domain, argv[0]) != 0))
			continue;
		show_key(c, k);
		n++;
	}
	for (size_t i = 0; i < KEYSTATE_MAX; i++) {
		const struct keystate_entry *e = &t->e[i];

		if (!e->used || keys_app_cfg_key(cfg, e->domain, e->selector) != NULL ||
		    (argc == 1 && strcasecmp(e->domain, argv[0]) != 0))
			continue;
		console_printf(c,
		    "key %s for %s: %s, not in the configuration (key retire %s %s "
		    "removes its state)",
		    e->selector, e->domain, keystate_name(e->st), e->domain, e->selector);
		n++;
	}
	if (n == 0)
		console_puts(c, "no keys (key generate DOMAIN SELECTOR rsa|rsa-tpm|ed25519)");
	return 0;
}

static const struct console_cmd key_cmds[] = {
	{ "key generate", "DOMAIN SELECTOR rsa [BITS] | rsa-tpm | ed25519",
	    "make a DKIM key in the data dir (rsa-tpm: RSA-2048 inside the TPM, only its wrapped "
	    "blob in the data dir), add it to the configuration (commit, save) and show "
	    "its DNS record; it signs only once the record is published and it is activated",
	    cmd_key_generate },
	{ "key activate", "DOMAIN SELECTOR [force]",
	    "make a published key sign; the domain's active key of the same algorithm retires",
	    cmd_key_activate },
	{ "key retire", "DOMAIN SELECTOR [force]",
	    "delete a retiring (or never active) key after its retire period: configuration, "
	    "state and key file",
	    cmd_key_retire },
	{ "key check", "",
	    "look up every key's DNS record now (SELECTOR._domainkey.DOMAIN TXT) and compare",
	    cmd_key_check },
	{ "show keys", "[DOMAIN]",
	    "DKIM keys: algorithm, state, creation, fingerprint, what DNS publishes, the record "
	    "to publish",
	    cmd_show_keys },
};

/* `show status`: how many configured keys are in which state. */
static void
status_keys(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	const struct zcfg *cfg = zcfg_running();
	unsigned n[5] = { 0 }, due = 0;
	char line[160];

	(void)arg;
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		const struct zcfg_key *k = &cfg->keys[i];
		const struct keystate_entry *e;

		if (!k->used)
			continue;
		e = keystate_find(keystate_running(), k->domain, k->selector);
		n[e ? e->st % 5 : KEYSTATE_ACTIVE]++;
		if (e &&
		    keystate_retire_left(e, hal_clock_now(), cfg->key_rollover.retire_days) == 0)
			due++;
	}
	snprintf(line, sizeof(line),
	    "dkim keys: %u active, %u published-pending, %u published, %u retiring%s", n[3], n[1],
	    n[2], n[4], due ? " (retire period over: show keys)" : "");
	emit(emit_arg, line);
}

int
keys_console_register(void)
{
	(void)console_register_status(status_keys, NULL);
	return console_register(key_cmds, sizeof(key_cmds) / sizeof(key_cmds[0]));
}
