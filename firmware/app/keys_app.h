/*
 * The DKIM key states of `zegel run`, shared by the two files of the
 * application that drive them: keys_app.c (the DNS checks, the transitions
 * they cause, the state file, the commit check) and console_keys.c (the
 * `key ...` and `show keys` commands). Private to firmware/app.
 */
#ifndef ZEGEL_APP_KEYS_APP_H
#define ZEGEL_APP_KEYS_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/dns.h"
#include "firmware/keys/state.h"
#include "zegel/cfg.h"

struct console;

enum obs_kind { OBS_NONE = 0, OBS_CHECKING, OBS_MATCH, OBS_DIFF, OBS_MISSING, OBS_ERROR };

/* What the last DNS check of a key saw (memory only: checked again at start). */
struct obs {
	bool used;
	char domain[ZCFG_NAME_MAX];
	char selector[ZCFG_SEL_MAX];
	enum obs_kind kind;
	enum dns_status status;
	int64_t when;
	int id;        /* the lookup in flight, -1 */
	bool in_round; /* a `key check` waits for this result */
	char why[320];
};

/* "YYYY-MM-DD HH:MM:SS UTC", or "unknown" for t <= 0. */
void keys_app_fmt_time(int64_t t, char *buf, size_t cap);
/* Write the running key states to DATA_DIR/keys/state; 0 or -errno (logged). */
int keys_app_save_state(void);
/* The configured key of DOMAIN and SELECTOR in cfg, or NULL. */
const struct zcfg_key *
keys_app_cfg_key(const struct zcfg *cfg, const char *domain, const char *sel);
/* What the last DNS check saw of a key; create: a free entry if none. */
struct obs *keys_app_obs_for(const char *domain, const char *sel, bool create);
/* One line saying what the DNS check of o saw. */
void keys_app_obs_line(const struct obs *o, char *buf, size_t cap);
/* Make e sign (logged, state saved); how names the cause in the log. */
void keys_app_activate(struct keystate_entry *e, bool force, const char *how);
/* `key check`: look up every configured key's record now, the results to c
 * as they come: -1 while a check runs, 0 when no key is configured, else the
 * number of lookups started. */
int keys_app_check_round(struct console *c);
/* The configuration file the key commands save to. */
const char *keys_app_save_path(void);

#endif
