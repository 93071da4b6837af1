/*
 * Subcommands of the one zegel binary: `zegel <command> [args]`. Each lives in
 * firmware/app/cmd_<name>.c and returns the process exit status.
 */
#ifndef ZEGEL_CORE_COMMANDS_H
#define ZEGEL_CORE_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

int cmd_version(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_dnsrecord(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_dane_check(int argc, char **argv);
int cmd_relay_check(int argc, char **argv);
int cmd_sts_check(int argc, char **argv);
int cmd_check_domain(int argc, char **argv);
int cmd_spf(int argc, char **argv);
/* The console commands `dane-check DOMAIN` (cmd_dane_check.c) and `check
 * domain NAME` (cmd_check_domain.c): only in builds with DNSSEC and TLS. */
int dane_console_register(void);
int sts_console_register(void);   /* cmd_sts_check.c: `sts-check DOMAIN` */
int check_domain_console_register(void);

/* DKIM key states (keys_app.c) and the `key ...` / `show keys` console
 * (console_keys.c):
 * init before the configuration loads (commit check: key files must load),
 * apply after every key load (state file, upgrade path, DNS checks). */
struct zcfg;
void keys_app_init(const char *config_path);
void keys_app_apply(const struct zcfg *cfg);
int keys_console_register(void);
/* The key files check keys_app_init() registers, for a chain of checks. */
int keys_app_check(const struct zcfg *c, char *err, size_t cap);
/* `zegel run`'s commit check (tls_check.c): keys_app_check(), then the TLS
 * material (certificate and key parse and match, files an admin named
 * exist) and each listener's tls-min against the linked mbedTLS. */
int app_commit_check(const struct zcfg *c, char *err, size_t cap);
/* `set tls key-store tpm`: smtpd's TLS key loader (tls_tpm.c). */
struct hal_key;
int app_tls_tpm_key(const char *key_path, bool generate, struct hal_key *out, char *err,
    size_t cap);

/* `show crypto` (console_crypto.c). */
int crypto_console_register(void);
/* `tls csr` (tls_tpm.c) */
int tls_console_register(void);
/* The lwIP build's interface from `set lwip` (net_lwip.c): start it (0 or
 * -errno, logged), note a commit that changes it; `show lwip`. */
int app_lwip_start(const struct zcfg *c);
void app_lwip_commit(const struct zcfg *c);
int lwip_console_register(void);
/* `show status` lines of the relay, the queue and the resolver (console_status.c). */
void app_status_register(void);

#endif
