/*
 * firmware/keys/state.h — the life of a DKIM key: which keys sign, which wait
 * for their DNS record, which are being retired. A small table, persisted
 * in one file (data dir/keys/state) replaced atomically on every change.
 *
 * States (one per configured domain + selector):
 *
 *   published-pending  made by `key generate`; zegel looks its record up
 *                      (SELECTOR._domainkey.DOMAIN TXT) and never signs with it
 *   published          the record matched the key byte for byte once; still
 *                      not signing (`key activate`, or at once with
 *                      `set key-rollover auto-activate on`)
 *   active             signs. Activating a key moves the active key of the
 *                      same domain and algorithm to retiring
 *   retiring           does not sign; its record must stay published for
 *                      `set key-rollover retire-days` days (mail already sent
 *                      is still verified); then `key retire` deletes it
 *
 * A configured key without an entry signs (the upgrade path: installs from
 * before key states, and keys an admin made with `zegel keygen` and added
 * with `set key`); `zegel run` records such keys as active at start.
 *
 * The pure part (a table in, a table out; times are Unix seconds passed in)
 * is unit-tested; keystate_load/save do the file I/O through hal/storage:
 * the file is written whole to a temporary name, synced and renamed over
 * the old one, so after a kill or power cut it holds the old or the new
 * table, never a mix. Unreadable lines are skipped and counted.
 *
 * File format, one key a line:
 *   SELECTOR DOMAIN STATE ALG CREATED PUBLISHED ACTIVATED RETIRING
 * STATE pending|published|active|retiring, ALG rsa|ed25519, times in Unix
 * seconds (0 = not yet, or not known).
 */
#ifndef FIRMWARE_KEYS_STATE_H
#define FIRMWARE_KEYS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/crypto.h"
#include "zegel/cfg.h"

enum keystate_st {
	KEYSTATE_NONE = 0,
	KEYSTATE_PENDING,
	KEYSTATE_PUBLISHED,
	KEYSTATE_ACTIVE,
	KEYSTATE_RETIRING,
};

struct keystate_entry {
	bool used;
	char selector[ZCFG_SEL_MAX];
	char domain[ZCFG_NAME_MAX];
	enum keystate_st st;
	enum hal_key_type type;
	int64_t created, published, activated, retiring;
};

/* Room for every configured key plus as many left over (deleted from the
 * configuration but not retired). */
#define KEYSTATE_MAX (2 * CONFIG_CFG_MAX_KEYS)

struct keystate_table {
	struct keystate_entry e[KEYSTATE_MAX];
};

/* Largest state file (one line is at most ~380 bytes). */
#define KEYSTATE_FILE_MAX (KEYSTATE_MAX * 400)

const char *keystate_name(enum keystate_st st); /* "published-pending", ... */
const char *keystate_alg(enum hal_key_type t);  /* "rsa", "ed25519" */

struct keystate_entry *
keystate_find(struct keystate_table *t, const char *domain, const char *selector);
/* A new published-pending key: 0, -EEXIST, -ENOSPC. *out may be NULL. */
int keystate_add(struct keystate_table *t, const char *domain, const char *selector,
    enum hal_key_type type, int64_t now, struct keystate_entry **out);
/* A key zegel found configured and loaded without an entry: active. */
int keystate_adopt(struct keystate_table *t, const char *domain, const char *selector,
    enum hal_key_type type);
/* The record matched: pending -> published (true), anything else unchanged. */
bool keystate_mark_published(struct keystate_entry *e, int64_t now);
/* e (published, or any not-active state with force) becomes active; the
 * active keys of its domain with its algorithm become retiring and are
 * listed in retired[] (at most max, count in *nretired). 0, or -EALREADY
 * (already active), -EAGAIN (not published yet and no force). */
int keystate_activate(struct keystate_table *t, struct keystate_entry *e, int64_t now, bool force,
    struct keystate_entry **retired, unsigned max, unsigned *nretired);
/* Seconds until a retiring key's record may go (0: now); -1 if not retiring. */
int64_t keystate_retire_left(const struct keystate_entry *e, int64_t now, unsigned retire_days);
/* Delete e: 0, -EBUSY (active: activate another key first), -EAGAIN
 * (retiring and the retire period is not over; force overrides). */
int keystate_retire(struct keystate_entry *e, int64_t now, unsigned retire_days, bool force);
/* Does the key sign? No entry: yes (upgrade path); else only when active. */
bool keystate_signs(const struct keystate_table *t, const char *domain, const char *selector);

/* Text form (file format above). format returns the length (needs cap >
 * length; -ERANGE otherwise); parse returns the number of lines skipped. */
int keystate_format(const struct keystate_table *t, char *buf, size_t cap, size_t *len);
unsigned keystate_parse(struct keystate_table *t, const char *text, size_t n);

/* File I/O: a missing file is an empty table (0). Errors -errno. load
 * reports skipped lines in *bad (may be NULL). */
int keystate_load(struct keystate_table *t, const char *path, unsigned *bad);
int keystate_save(const struct keystate_table *t, const char *path);

/* The daemon's table (the one sign.c consults). */
struct keystate_table *keystate_running(void);

#endif
