/*
 * firmware/config private header: what config.c (model, commit, load, save),
 * the grammar (parse.c and its handlers, grammar.h), dump.c and access.c
 * share. Calls go one way: config.c -> parse.c -> set_*.c -> words.c,
 * config.c -> dump.c, and everything -> tables.c (the bottom).
 */
#ifndef ZEGEL_CONFIG_INTERNAL_H
#define ZEGEL_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include "firmware/config/config.h"

/* Longest line config_set_line() accepts (a file line; the console's own
 * limit, CONFIG_CONSOLE_LINE_MAX, is shorter). */
#define CONFIG_LINE_MAX 1024
#define CONFIG_MAX_TOKENS 16

#define CFG_NUSERS CONFIG_CFG_MAX_USERS
#define CFG_NNETWORKS CONFIG_CFG_MAX_NETWORKS
#define CFG_NRESOLVERS ((int)(sizeof(((struct zcfg *)0)->resolvers) / sizeof(struct hal_addr)))

/* The defaults config_init() computed (load starts from them). */
extern struct zcfg config_defaults;

/* ---- parse.c: apply tokens (argv[0] is "set" or "delete") to w. */
int config_apply(struct zcfg *w, int argc, char **argv, char *err, size_t errcap);

/* ---- tables.c */

/* snprintf into err; returns -EINVAL. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
int
config_fail(char *err, size_t errcap, const char *fmt, ...);

/* Volatile stores the compiler cannot drop: passwords and hashes. */
void config_wipe(void *p, size_t n);

/* The Kconfig defaults of the `set queue ...` settings. */
void config_queue_defaults(struct zcfg_queue *q);
/* The defaults of `set key-rollover ...` (off, 7 days, 1 hour). */
void config_key_rollover_defaults(struct zcfg_key_rollover *r);
/* The defaults of the `set smtpd ...` settings. */
void config_smtpd_defaults(struct zcfg_smtpd *f);

/* Paths that follow data_dir unless set explicitly. */
void config_derived_paths(const char *data_dir, char outbox[ZCFG_PATH_MAX],
    char cert[ZCFG_PATH_MAX], char key[ZCFG_PATH_MAX]);

extern const char *const config_log_levels[4];
extern const char *const config_align_names[3];
extern const char *const config_listen_modes[ZCFG_LISTEN_NMODES];

/* ---- secret.c: a secret at rest, sealed with the device key
 * <data_dir>/secret.key (created by seal if absent). The sealed text is
 * "zs1.<nonce>.<data>.<tag>" in hex, at most CONFIG_SEALED_MAX - 1 chars. */
#define CONFIG_SEALED_MAX (4 + 32 + 1 + 2 * ZCFG_SECRET_MAX + 1 + 16 + 1)
int config_secret_seal(const char *data_dir, const char *plain, char *out, size_t cap, char *err,
    size_t errcap);
int config_secret_open(const char *data_dir, const char *sealed, char *out, size_t cap, char *err,
    size_t errcap);

/* ---- dump.c */

/* config_dump() with show_secrets, the relay password written as
 * `set relay password-sealed SEALED` (what save writes). */
void config_dump_sealed(const struct zcfg *c, const char *sealed,
    void (*emit)(void *arg, const char *line), void *arg);

/* config_dump() with secrets and every setting, also those at their
 * defaults (the lines config_diff() resets a setting with). */
void config_dump_full(const struct zcfg *c, void (*emit)(void *arg, const char *line), void *arg);

/* Bytes in the largest whole unit ("25M", "4K", "100000"), as `set` reads them. */
void config_format_bytes(uint64_t v, char *out, size_t cap);

/* "1.2.3.0/24", "2001:db8::/32" */
void config_format_cidr(const struct zcfg_network *n, char *buf, size_t cap);

const char *config_canon_name(enum zcfg_canon h, enum zcfg_canon b);

/* set_time_log.c: the `set ntp` / `set syslog` lines of a dump. */
void config_dump_time_log(const struct zcfg *c, void (*emit)(void *arg, const char *line),
    void *arg);
extern const char *const config_syslog_facilities[24];
/* set_lwip.c: the `set lwip` lines (full: the defaults too). */
void config_dump_lwip(const struct zcfg *c, bool full, void (*emit)(void *arg, const char *line),
    void *arg);

#endif
