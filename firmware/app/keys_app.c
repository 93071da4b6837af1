/*
 * The DKIM key states of `zegel run` driven from the event loop: the DNS
 * checks (resolver_lookup of SELECTOR._domainkey.DOMAIN TXT: of the keys
 * that do not sign, at start, after every commit and every
 * `set key-rollover check-interval`; of every key on `key check`), the
 * transitions they cause (logged, the state file rewritten after each), and
 * the commit check that makes a key file that is missing or no key a commit
 * error (no key is ever generated implicitly). The commands are in
 * console_keys.c; the states and their file are firmware/keys/state.h; the
 * record comparison is firmware/keys/record.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "firmware/app/commands.h"
#include "firmware/app/keys_app.h"
#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/dns/wire.h"
#include "firmware/keys/keys.h"
#include "firmware/keys/record.h"
#include "firmware/keys/state.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/text.h"

#define LOGM "keys"

static char save_path[ZCFG_PATH_MAX + 16];

/* ------------------------------------------------------------ paths, time */

static void
state_path(const struct zcfg *cfg, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.200s/keys/state", cfg->data_dir);
}

void
keys_app_fmt_time(int64_t t, char *buf, size_t cap)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL) {
		snprintf(buf, cap, "unknown");
		return;
	}
	strftime(buf, cap, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

int
keys_app_save_state(void)
{
	char p[ZCFG_PATH_MAX + 16];
	int rc;

	snprintf(p, sizeof(p), "%.200s/keys", zcfg_running()->data_dir);
	hal_storage_mkdirs(p, 0700);
	state_path(zcfg_running(), p, sizeof(p));
	rc = keystate_save(keystate_running(), p);
	if (rc != 0)
		hal_log(HAL_LOG_ERR, LOGM, "cannot write %s: %s", p, strerror(-rc));
	return rc;
}

const struct zcfg_key *
keys_app_cfg_key(const struct zcfg *cfg, const char *domain, const char *sel)
{
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++)
		if (cfg->keys[i].used && strcasecmp(cfg->keys[i].domain, domain) == 0 &&
		    strcmp(cfg->keys[i].selector, sel) == 0)
			return &cfg->keys[i];
	return NULL;
}

/* ------------------------------------------------------------ commit check */

/* Every key the candidate names must be a file that loads: a typo in a
 * path is an error, never a new key. */
static int
check_key_files(const struct zcfg *c, char *err, size_t cap)
{
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		const struct zcfg_key *k = &c->keys[i];
		struct hal_key hk;
		int rc;

		if (!k->used)
			continue;
		if (hal_storage_exists(k->file) != 1) {
			snprintf(err, cap,
			    "commit: key '%s' for %s: %s does not exist (keys are never made "
			    "implicitly: key generate %s %s rsa|ed25519, or fix the path)",
			    k->selector, k->domain, k->file, k->domain, k->selector);
			return -ENOENT;
		}
		rc = keys_load_file(&hk, k->file);
		hal_key_free(&hk);
		if (rc == -ENODEV) {
			/* a TPM key whose TPM is missing or failing now: the
			 * configuration stands, the key does not sign (451 for
			 * its domain) until the TPM answers at a later load */
			hal_log(HAL_LOG_ERR, LOGM,
			    "key %s for %s: %s: the TPM cannot be reached (see the tpm2 "
			    "line): the key is unusable, mail for %s gets 451 4.3.5",
			    k->selector, k->domain, k->file, k->domain);
			continue;
		}
		if (rc != 0) {
			snprintf(err, cap, "commit: key '%s' for %s: %s: %s", k->selector,
			    k->domain, k->file,
			    rc == -EINVAL	   ? "not a PEM RSA or Ed25519 private key, nor a "
						     "TPM key file (zegel-tpm2-key 1)"
			    : rc == -EKEYREJECTED ? "the TPM refused the key blob (made by another "
						     "TPM, the TPM was cleared, or the file is "
						     "damaged)"
						  : strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ observations */

static struct obs obs[KEYSTATE_MAX];
static struct console *round_con; /* the console of a running `key check` */
static unsigned round_left;
static int timer_id = -1;

struct obs *
keys_app_obs_for(const char *domain, const char *sel, bool create)
{
	struct obs *free_slot = NULL;

	for (size_t i = 0; i < KEYSTATE_MAX; i++) {
		if (obs[i].used && strcasecmp(obs[i].domain, domain) == 0 &&
		    strcmp(obs[i].selector, sel) == 0)
			return &obs[i];
		if (!obs[i].used && free_slot == NULL)
			free_slot = &obs[i];
	}
	if (!create || free_slot == NULL)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->used = true;
	free_slot->id = -1;
	zegel_strf(free_slot->domain, sizeof(free_slot->domain), "%s", domain);
	zegel_strf(free_slot->selector, sizeof(free_slot->selector), "%s", sel);
	return free_slot;
}

static const char *
status_word(enum dns_status s)
{
	return s == DNS_SECURE ? "secure" : s == DNS_INSECURE ? "insecure" : dns_status_str(s);
}

/* One line: what the record in DNS is, for show keys and key check. */
void
keys_app_obs_line(const struct obs *o, char *buf, size_t cap)
{
	char t[40];

	if (o == NULL || o->kind == OBS_NONE) {
		snprintf(buf, cap, "not checked yet (key check)");
		return;
	}
	if (o->kind == OBS_CHECKING) {
		snprintf(buf, cap, "checking");
		return;
	}
	keys_app_fmt_time(o->when, t, sizeof(t));
	switch (o->kind) {
	case OBS_MATCH:
		snprintf(buf, cap, "published (%s), matches the key (checked %s)",
		    status_word(o->status), t);
		break;
	case OBS_DIFF:
		snprintf(buf, cap, "MISMATCH (%s): %s (checked %s)", status_word(o->status), o->why,
		    t);
		break;
	case OBS_MISSING:
		snprintf(buf, cap, "not published: %s (checked %s)", o->why, t);
		break;
	default:
		snprintf(buf, cap, "not checked: %s (checked %s)", o->why, t);
		break;
	}
}

/* ------------------------------------------------------------ transitions */

void
keys_app_activate(struct keystate_entry *e, bool force, const char *how)
{
	struct keystate_entry *ret[KEYSTATE_MAX];
	unsigned nret = 0;

	if (keystate_activate(keystate_running(), e, hal_clock_now(), force, ret, KEYSTATE_MAX,
		&nret) != 0)
		return;
	hal_log(HAL_LOG_INFO, LOGM, "key %s for %s: active (%s): signs from now on", e->selector,
	    e->domain, how);
	for (unsigned i = 0; i < nret; i++)
		hal_log(HAL_LOG_INFO, LOGM,
		    "key %s for %s: retiring (replaced by %s): no longer signs; keep its DNS "
		    "record for %u days",
		    ret[i]->selector, ret[i]->domain, e->selector,
		    (unsigned)zcfg_running()->key_rollover.retire_days);
	keys_app_save_state();
}

/* The record matched: pending -> published, and on with auto-activate. */
static void
on_match(const char *domain, const char *sel, enum dns_status st)
{
	struct keystate_entry *e = keystate_find(keystate_running(), domain, sel);

	if (e == NULL || !keystate_mark_published(e, hal_clock_now()))
		return;
	hal_log(HAL_LOG_INFO, LOGM, "key %s for %s: published (%s): the DNS record matches", sel,
	    domain, status_word(st));
	keys_app_save_state();
	if (zcfg_running()->key_rollover.auto_activate)
		keys_app_activate(e, false, "set key-rollover auto-activate on");
}

/* ------------------------------------------------------------ DNS check */

/* Compare every TXT record of the answer with the key; the first match
 * wins, else the first record that looks like a DKIM key is explained. */
static void
judge(struct obs *o, const struct dns_result *res, const struct hal_key *hk)
{
	static struct keyrec r;
	static char txt[KEYREC_TEXT_MAX];
	uint8_t pub[1024];
	size_t pl = 0, tl;
	unsigned ntxt = 0, best = ~0u;

	o->why[0] = 0;
	if (hal_key_public(hk, pub, sizeof(pub), &pl) != 0) {
		o->kind = OBS_ERROR;
		snprintf(o->why, sizeof(o->why), "cannot read the key's public part");
		return;
	}
	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		unsigned d;

		if (rr->type != DNS_T_TXT)
			continue;
		ntxt++;
		if (keyrec_txt_join(res->data + rr->rd_off, rr->rdlen, txt, sizeof(txt), &tl) != 0)
			continue;
		d = keyrec_check(txt, tl, hk->type, pub, pl, &r);
		if (d == 0) {
			o->kind = OBS_MATCH;
			return;
		}
		/* explain the record that is most like a DKIM key */
		if (best == ~0u || (r.has_p && !(d & KEYREC_SYNTAX))) {
			best = d;
			keyrec_explain(d, &r, hk->type, pub, pl, o->why, sizeof(o->why));
		}
	}
	if (ntxt == 0) {
		o->kind = OBS_MISSING;
		zegel_strf(o->why, sizeof(o->why), "no TXT record at %s._domainkey.%s (%s, %s)",
		    o->selector, o->domain, res->rcode == 3 ? "NXDOMAIN" : "no data",
		    status_word(res->status));
		return;
	}
	o->kind = OBS_DIFF;
	if (best == ~0u)
		snprintf(o->why, sizeof(o->why), "TXT records that cannot be read");
	if (ntxt > 1) {
		size_t l = strlen(o->why);

		snprintf(o->why + l, sizeof(o->why) - l, " (%u TXT records at the name)", ntxt);
	}
}

static void
round_done_one(struct obs *o)
{
	char line[420], st[360];

	if (round_con != NULL && o->in_round) {
		const struct keystate_entry *e =
		    keystate_find(keystate_running(), o->domain, o->selector);

		keys_app_obs_line(o, st, sizeof(st));
		zegel_strf(line, sizeof(line), "key %s for %s [%s]: %s", o->selector, o->domain,
		    e ? keystate_name(e->st) : "active", st);
		console_async_puts(round_con, line);
	}
	if (!o->in_round)
		return;
	o->in_round = false;
	if (round_left > 0 && --round_left == 0 && round_con != NULL) {
		console_async_puts(round_con, "key check: done");
		console_job_end(round_con);
		round_con = NULL;
	}
}

static void
lookup_done(void *arg, const struct dns_result *res)
{
	struct obs *o = arg;
	const struct hal_key *hk = keys_find(o->domain, o->selector);

	o->id = -1;
	o->when = hal_clock_now();
	o->status = res->status;
	if (hk == NULL) {
		o->kind = OBS_ERROR;
		snprintf(o->why, sizeof(o->why), "the key is not loaded");
	} else if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		o->kind = OBS_ERROR;
		snprintf(o->why, sizeof(o->why), "DNS answer %s: %s", dns_status_str(res->status),
		    res->reason);
	} else {
		judge(o, res, hk);
	}
	if (o->kind == OBS_MATCH)
		on_match(o->domain, o->selector, res->status);
	else if (o->kind == OBS_DIFF)
		hal_log(HAL_LOG_WARN, LOGM, "key %s for %s: the DNS record differs: %s",
		    o->selector, o->domain, o->why);
	round_done_one(o);
}

/* Look up every configured key's record (those not being looked up yet);
 * round: a `key check` waits for each (counted in round_left). */
static unsigned
check_all(bool round)
{
	const struct zcfg *cfg = zcfg_running();
	unsigned started = 0;

	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		const struct zcfg_key *k = &cfg->keys[i];
		char name[ZCFG_SEL_MAX + ZCFG_NAME_MAX + 16];
		struct obs *o;
		int id;

		if (!k->used || keys_find(k->domain, k->selector) == NULL)
			continue;
		/* on its own zegel checks only keys in transition: a device
		 * whose keys all sign asks DNS nothing until `key check` */
		if (!round && keystate_signs(keystate_running(), k->domain, k->selector))
			continue;
		if ((o = keys_app_obs_for(k->domain, k->selector, true)) == NULL)
			continue;
		if (o->id >= 0) { /* in flight already: wait for that answer */
			if (round && !o->in_round) {
				o->in_round = true;
				round_left++;
			}
			continue;
		}
		snprintf(name, sizeof(name), "%s._domainkey.%s", k->selector, k->domain);
		id = resolver_lookup(name, DNS_T_TXT, lookup_done, o);
		if (id < 0) {
			o->kind = OBS_ERROR;
			o->when = hal_clock_now();
			snprintf(o->why, sizeof(o->why), "lookup not started: %s", strerror(-id));
			continue;
		}
		o->id = id;
		if (o->kind == OBS_NONE)
			o->kind = OBS_CHECKING;
		started++;
		if (round) {
			o->in_round = true;
			round_left++;
		}
	}
	return started;
}

static void
check_tick(void *arg)
{
	uint32_t s = zcfg_running()->key_rollover.check_interval;

	(void)arg;
	timer_id = -1;
	(void)check_all(false);
	if (s == 0)
		s = 3600;
	timer_id = loop_timer_add(s * 1000u, check_tick, NULL);
}

/* Results of removed keys are dropped; lookups for them are cancelled. */
static void
forget_unconfigured(const struct zcfg *cfg)
{
	for (size_t i = 0; i < KEYSTATE_MAX; i++) {
		struct obs *o = &obs[i];

		if (!o->used || keys_app_cfg_key(cfg, o->domain, o->selector) != NULL)
			continue;
		if (o->id >= 0) {
			resolver_cancel(o->id);
			o->id = -1;
			round_done_one(o);
		}
		o->used = false;
	}
}

/* ------------------------------------------------------------ start, commit */

int
keys_app_check(const struct zcfg *c, char *err, size_t cap)
{
	return check_key_files(c, err, cap);
}

void
keys_app_init(const char *config_path)
{
	zegel_strf(save_path, sizeof(save_path), "%s", config_path ? config_path : "");
	config_set_commit_check(check_key_files);
}

static bool state_loaded;

static void
load_state_once(const struct zcfg *cfg)
{
	char p[ZCFG_PATH_MAX + 16];
	unsigned bad = 0;
	int rc, n;

	if (state_loaded)
		return;
	state_loaded = true;
	state_path(cfg, p, sizeof(p));
	if ((n = config_clean_temps(p)) > 0)
		hal_log(HAL_LOG_WARN, LOGM, "removed %d unfinished write(s) of %s", n, p);
	rc = keystate_load(keystate_running(), p, &bad);
	if (rc != 0)
		hal_log(HAL_LOG_ERR, LOGM, "cannot read %s: %s (keys without a state sign)", p,
		    strerror(-rc));
	if (bad > 0)
		hal_log(HAL_LOG_WARN, LOGM, "%s: %u unreadable line(s) skipped", p, bad);
	/* half-written key files of a key generate a kill interrupted */
	for (size_t i = 0; i < KEYSTATE_MAX; i++) {
		const struct keystate_entry *e = &keystate_running()->e[i];

		if (!e->used || e->st != KEYSTATE_PENDING)
			continue;
		for (int tpm = 0; tpm < 2; tpm++) { /* SEL.key, or SEL.tpmkey (rsa-tpm) */
			zegel_strf(p, sizeof(p), "%.170s/keys/%s/%s.%s", cfg->data_dir, e->domain,
			    e->selector, tpm ? "tpmkey" : "key");
			if ((n = config_clean_temps(p)) > 0)
				hal_log(HAL_LOG_WARN, LOGM, "removed %d unfinished write(s) of %s",
				    n, p);
		}
	}
}

void
keys_app_apply(const struct zcfg *cfg)
{
	bool changed = false;

	load_state_once(cfg);
	/* the upgrade path: a configured key that loads and has no state signs,
	 * as before key states; record it as active */
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		const struct zcfg_key *k = &cfg->keys[i];
		const struct hal_key *hk;

		if (!k->used || (hk = keys_find(k->domain, k->selector)) == NULL)
			continue;
		if (keystate_adopt(keystate_running(), k->domain, k->selector, hk->type) == 0) {
			hal_log(HAL_LOG_INFO, LOGM,
			    "key %s for %s: active (configured before key "
			    "states, or made with zegel keygen)",
			    k->selector, k->domain);
			changed = true;
		}
	}
	if (changed)
		keys_app_save_state();
	forget_unconfigured(cfg);
	if (timer_id >= 0)
		loop_timer_cancel(timer_id);
	timer_id = loop_timer_add(0, check_tick, NULL);
}

/* `key check`: look up every configured key's record now; the results go to
 * console c as they come. -1 while a check runs, 0 when there is no key,
 * else the number of lookups started. */
int
keys_app_check_round(struct console *c)
{
	if (round_con != NULL)
		return -1;
	round_left = 0;
	(void)check_all(true);
	if (round_left == 0)
		return 0;
	round_con = c;
	console_job_begin(c);
	console_printf(c, "key check: looking up %u record(s)", round_left);
	return (int)round_left;
}

const char *
keys_app_save_path(void)
{
	return save_path;
}
