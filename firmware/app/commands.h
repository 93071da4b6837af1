/*
 * Subcommands of the one zegel binary: `zegel <command> [args]`. Each lives in
 * firmware/app/cmd_<name>.c and returns the process exit status.
 */
#ifndef ZEGEL_CORE_COMMANDS_H
#define ZEGEL_CORE_COMMANDS_H

int cmd_version(int argc, char **argv);
int cmd_selftest(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_sign(int argc, char **argv);
int cmd_keygen(int argc, char **argv);
int cmd_dnsrecord(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_dane_check(int argc, char **argv);
int cmd_relay_check(int argc, char **argv);
int cmd_check_domain(int argc, char **argv);
int cmd_spf(int argc, char **argv);
/* The console command `dane-check DOMAIN` (cmd_dane_check.c). */
int dane_console_register(void);
/* The console command `check domain NAME` (cmd_check_domain.c). */
int check_domain_console_register(void);

/* DKIM key states and the `key ...` / `show keys` console (console_keys.c):
 * init before the configuration loads (commit check: key files must load),
 * apply after every key load (state file, upgrade path, DNS checks). */
struct zcfg;
void keys_app_init(const char *config_path);
void keys_app_apply(const struct zcfg *cfg);
int keys_console_register(void);
/* `show crypto` (console_crypto.c). */
int crypto_console_register(void);

#endif
