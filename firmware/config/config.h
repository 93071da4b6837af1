/*
 * firmware/config/config.h — the configuration model: candidate, running,
 * the `set`/`delete` grammar, commit, load and save.
 *
 * Model. There are two struct zcfg values (zegel/cfg.h): the candidate,
 * which `set` and `delete` lines edit, and the running one, which every
 * other module reads through zcfg_running(). config_commit() validates the
 * candidate as a whole, copies it over the running one, bumps its
 * generation and calls the hooks registered with config_on_commit().
 * config_discard() throws the candidate's edits away. Nothing is ever half
 * applied: a line that fails leaves the candidate as it was, a commit that
 * fails leaves the running configuration as it was.
 *
 * Text. A configuration file is the same `set` lines the console accepts
 * (firmware/config/README.md has the grammar), one per line; blank lines
 * and lines starting with '#' are ignored. config_dump() writes the lines
 * that rebuild a configuration from the defaults, so
 * load(save(c)) == c. Values with spaces, '"', '\' or '#' are written in
 * double quotes with '\' escapes; the tokenizer reads them back.
 *
 * Errors. Functions return 0 or a negative errno value and write one line
 * into err (always NUL-terminated, truncated to errcap) that says what is
 * wrong and what would be valid, e.g.
 *   set domain: 'exa mple' is not a domain name (letters, digits, '-', '.')
 *
 * Threads. None: all of this is called from the event loop (console, start).
 */
#ifndef ZEGEL_CONFIG_CONFIG_H
#define ZEGEL_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "hal/net.h"
#include "zegel/cfg.h"

/* Default port of `set relay smarthost HOST` and `set resolver IP`. */
#define CONFIG_RELAY_DEFAULT_PORT 587
#define CONFIG_RESOLVER_DEFAULT_PORT 53
/* Hooks config_on_commit() can hold. */
#define CONFIG_MAX_HOOKS 8
/* Rounds of the user password hash ($zegel-sha256$...). */
#define CONFIG_PASSWORD_ROUNDS 10000

/* Defaults into candidate and running (generation 0). Call once at start;
 * calling again resets everything (tests do). Hooks stay registered. */
void config_init(void);

/* Apply one `set ...` or `delete ...` line to the candidate. */
int config_set_line(const char *line, char *err, size_t errcap);

/* The same from words already split (the console's, verb "set" or
 * "delete" and the words after it). */
int config_set_words(const char *verb, int argc, char **argv, char *err, size_t errcap);

/* Validate the candidate, make it the running configuration, call hooks. */
int config_commit(char *err, size_t errcap);

/* Candidate := running. */
void config_discard(void);

/* True when the candidate differs from the running configuration. */
bool config_modified(void);

/* Start a fresh candidate from the defaults, apply every line of the file,
 * commit. On error the candidate is reset to the running configuration and
 * err names "file:line: ...". */
/* Remove the temporary files a power cut during `save` left next to path
 * ("<path>.tmp.<pid>.<n>": the pid repeats at every boot of a router).
 * Returns how many were removed. */
int config_clean_temps(const char *path);
int config_load(const char *path, char *err, size_t errcap);

/* Write the running configuration's `set` lines to path, atomically
 * (hal_storage_put, mode 0600), the relay password sealed with the device
 * key <data-dir>/secret.key (created if absent). Creates the parent
 * directory. */
int config_save(const char *path, char *err, size_t errcap);

/* What `show running` prints in place of a secret; `set` refuses it. */
#define CONFIG_SECRET_MASK "********"

/* The `set` lines that rebuild c, one per emit() call, without newline.
 * Secrets (relay password, user password hashes) are shown as "********"
 * unless show_secrets (then in clear: `show running secrets`). config_save()
 * writes the relay password sealed with the device key instead
 * (`set relay password-sealed`, firmware/config/secret.c). */
void config_dump(const struct zcfg *c, bool show_secrets, void (*emit)(void *arg, const char *line),
    void *arg);

/* The grammar, one usage line per emit() call: what == "set", "delete" or
 * NULL for both. */
void config_usage(const char *what, void (*emit)(void *arg, const char *line), void *arg);

/* Every statement of verb ("set", "delete"): its path ("hostname", "relay
 * outbox") and the usage of its arguments. For the console's Tab and '?'.
 * Path words may be abbreviated to a unique prefix in any `set`/`delete`
 * line (`set rel smart`); an ambiguous one is an error naming the choices. */
void config_grammar_each(const char *verb,
    void (*fn)(void *arg, const char *path, const char *usage), void *arg);

/* The statement argv (the words after verb) names, abbreviations expanded:
 * its path into path, its usage into *usage (if not NULL). Returns the
 * number of words the path used (1 or 2), -1 when argv[0] is a first word
 * that needs a second one not given or not valid ("relay"; path holds it),
 * 0 when nothing matches or a word is ambiguous. */
int config_resolve_path(const char *verb, int argc, char **argv, char *path, size_t cap,
    const char **usage);

const struct zcfg *zcfg_running(void);
const struct zcfg *zcfg_candidate(void);

/* Call hook(running, arg) after every successful commit (and not before the
 * first one). 0, or -ENOSPC when CONFIG_MAX_HOOKS are registered. */
int config_on_commit(void (*hook)(const struct zcfg *running, void *arg), void *arg);
/* A check the application adds to commit validation (one; NULL removes it):
 * fn returns 0, or non-zero with the reason in err (the commit fails and
 * nothing changes). `zegel run` checks that every key file loads. */
void config_set_commit_check(int (*fn)(const struct zcfg *candidate, char *err, size_t cap));

/* True when c's TLS certificate and key are both at their defaults
 * (<data-dir>/tls/cert.pem, key.pem): zegel's own self-signed pair, which
 * firmware/tls generates and keeps naming the host. False: an admin named
 * one of them (`set tls cert|key PATH`), and zegel never writes either. */
bool config_tls_generated(const struct zcfg *c);

/* With `set tls key-store tpm`: the TPM key file of the TLS key. `set tls
 * key PATH` when given, else <data-dir>/tls/key.tpmkey (zegel's own; with
 * an admin's certificate for it, `set tls cert PATH`, made from `tls csr`). */
void config_tls_tpm_key(const struct zcfg *c, char out[ZCFG_PATH_MAX]);

/* The application's apply step (one; NULL removes it). config_commit() runs
 * it after validation with the candidate already in place as the running
 * configuration (next == zcfg_running()): 0, or non-zero with what failed
 * in err ("listener sub on 127.0.0.1:587: Address already in use"). It must
 * be all or nothing: on failure it leaves every module as it was, and
 * config_commit() restores the previous running configuration (generation
 * included), keeps the candidate's edits and fails with
 * "commit: failed, rolled back to generation N: <err>". The hooks of
 * config_on_commit() run only after a successful apply. */
void config_set_apply(int (*fn)(const struct zcfg *next, char *err, size_t cap));

/* What a configuration will do that its admin likely did not mean (it is
 * valid: commit goes ahead), one line per emit() call, e.g. "no network and
 * no users: every client is refused (554 5.7.1) ...". Returns how many.
 * Pure but for the one extra check the application may add below
 * (firmware/config/check.c). */
int config_warnings(const struct zcfg *c, void (*emit)(void *arg, const char *line), void *arg);
/* One more source of warnings (NULL removes it): fn emits its lines and
 * returns how many. `zegel run` adds the directories its Landlock rules do
 * not let it write (firmware/privsep/landlock.c). */
void config_set_warnings_extra(int (*fn)(const struct zcfg *c,
    void (*emit)(void *arg, const char *line), void *arg));

/* `show diff`: the lines that turn `from` into `to`, one per emit() call:
 * "delete ..." (or the setting's default) for what `to` no longer has, then
 * the `set` lines of `to` that are new or changed, in dump order. Pasted
 * onto `from` they give `to`; when they cannot say everything (a change no
 * line expresses), a last line starting "# " says so. Secrets are masked
 * unless show_secrets. Returns the number of lines emitted (0: no
 * difference), or -ENOMEM. (firmware/config/diff.c) */
int config_diff(const struct zcfg *from, const struct zcfg *to, bool show_secrets,
    void (*emit)(void *arg, const char *line), void *arg);

/* c with its list entries (domains, keys, users, networks, listeners)
 * moved to the front in order and the free slots zeroed: a deleted entry
 * leaves a hole that a configuration loaded from the dump does not have, so
 * compare two configurations with memcmp only after this. */
void config_canonical(struct zcfg *c);

/* Saved generations. save keeps the CONFIG_GENERATIONS files it replaced as
 * "<path>.1" (the newest) .. "<path>.3"; `rollback N` loads one into the
 * candidate. A start that loaded <path> copies it to "<path>.good", the
 * first fallback when <path> does not load at the next start. */
#define CONFIG_GENERATIONS 3
#define CONFIG_FILE_MAX (128 * 1024)
/* "<path>.<n>" (n 1..), "<path>.good" for n == CONFIG_GEN_GOOD. 0, or
 * -ENAMETOOLONG. */
#define CONFIG_GEN_GOOD 0
int config_generation_path(const char *path, unsigned n, char *out, size_t cap);
/* Before a save: <path>.{keep-1} -> .{keep}, ..., <path> -> <path>.1 (each
 * a whole-file copy with hal_storage_put, so a power cut leaves every file
 * whole; at worst two generations are the same). Nothing to do when <path>
 * does not exist or already holds new[0..n) (a save without changes keeps
 * the older generations). 0 or a negative errno with err set. */
int config_rotate(const char *path, unsigned keep, const void *new_text, size_t n, char *err,
    size_t errcap);
/* Copy <from> to <to> (both whole files, atomically) unless <to> already
 * holds the same bytes. */
int config_copy_file(const char *from, const char *to, char *err, size_t errcap);

/* Load a file into the candidate (from the defaults) without commit: what
 * `rollback N` does. On error the candidate is left as it was. */
int config_load_candidate(const char *path, char *err, size_t errcap);

/* True when the running configuration changed (a commit) since the last
 * config_load() or config_save(): `exit` warns. */
bool config_unsaved(void);
/* The configuration file does not hold the running configuration (a start
 * that fell back to another file): config_unsaved() until the next save. */
void config_mark_unsaved(void);

/* SMTP AUTH: 1 if user exists in c and password matches its hash, else 0.
 * The hash comparison is constant time; an unknown user costs the same
 * hashing work as a known one. */
int config_user_check(const struct zcfg *c, const char *user, const char *password);

/* Relay permission by source address: true if peer falls in one of c's
 * networks (IPv4-mapped IPv6 peers match IPv4 networks). The most specific
 * matching network decides *normalise (bare-LF tolerance); may be NULL. */
/* The configured domain that covers dom (exact, or a parent with subdomains on). */
const struct zcfg_domain *config_domain_for(const struct zcfg *cfg, const char *dom);
/* "example.test, example.org" for refusal texts. */
void config_domain_list(const struct zcfg *cfg, char *buf, size_t cap);
bool config_network_allows(const struct zcfg *c, const struct hal_addr *peer, bool *normalise);

/* Helpers shared with the console (and tests). */

/* Split line into at most max tokens in place: blanks separate, "..." quotes
 * with \" and \\ escapes, '#' at a token start begins a comment. Returns the
 * number of tokens, or -EINVAL (unterminated quote) / -E2BIG (too many). */
int config_tokenize(char *line, char **argv, int max);

/* The password hash string for password with a given 16-byte salt. */
int config_password_hash(const char *password, const uint8_t salt[16], char *out, size_t cap);

#endif
