/*
 * firmware/privsep/privsep.h — privilege separation of `zegel run`
 * (issue 20.2, after OpenSMTPD's CA process).
 *
 * Model. Two processes. `zegel run` starts as root, and privsep_start()
 * forks the key holder first thing: a small loop (holder.c) that is the
 * only process that reads private key files. It stays root (key files are
 * root's, mode 0600), holds the keys in its memory and answers the
 * requests of msg.h over a SOCK_SEQPACKET socketpair: load a key file,
 * generate one, sign a digest with a loaded key, free it. The parent goes
 * on as the network process: it parses SMTP, DNS and TLS from the network;
 * its keys (keys_set_door()) carry the public key and a slot number, and
 * hal_key_sign() on them is a request to the key holder (client.c); the
 * SMTP sessions' signatures go through the door's sign_start() without
 * blocking the event loop, and the key holder signs them in its forked
 * signing workers (pool.c, CONFIG_SIGN_WORKERS; issue 22).
 *
 * Right after the fork, privsep_drop_user() drops root: setgroups/setgid/
 * setuid to the user (--user NAME, else CONFIG_PRIVSEP_USER, "zegel"),
 * keeping only CAP_NET_BIND_SERVICE (listeners on ports below 1024, bound
 * at start and again by a commit) and CAP_SYS_TIME (SNTP sets the clock).
 * So everything the start creates in the data dir (TLS pair, spool, queue,
 * the saved configuration's copies) belongs to the user, and the console
 * tty must be the user's (the images' init chowns it).
 * After the listeners are bound and the console is open, before the loop
 * reads a byte from the network, privsep_confine():
 *   - tells the key holder which directories keys may be in (<data-dir>/keys,
 *     <data-dir>/tls for a TLS key in the TPM, and the directory of every
 *     configured key) and seals it: from then on
 *     it opens nothing else (a compromised network process cannot have it
 *     sign with another PEM key on the system, nor write one elsewhere);
 *   - sets no_new_privs, confines the process's file writes to the data
 *     dir, the directory of the configuration file and the outbox with
 *     Landlock (landlock.c, CONFIG_PRIVSEP_LANDLOCK; a kernel without it:
 *     a warning), and installs the seccomp filter (seccomp.c,
 *     CONFIG_PRIVSEP_SECCOMP), in that order.
 * --allow-root (or ZEGEL_ALLOW_ROOT=1 in the environment) keeps root and
 * does not seal: a test mode (tests/run.sh sets it for the suites that are
 * not about privilege separation), logged as a warning; the key holder and
 * the Landlock rules and the seccomp filter stay.
 *
 * Failure: when the key holder dies the network process exits (status 3)
 * at the next request or at once from the event loop (privsep_watch());
 * when the network process dies the key holder reads EOF (or gets SIGKILL,
 * PR_SET_PDEATHSIG) and exits. init restarts zegel, which starts both.
 */
#ifndef FIRMWARE_PRIVSEP_PRIVSEP_H
#define FIRMWARE_PRIVSEP_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "zegel/cfg.h"

/* Fork the key holder and install the keys door; 0 or -errno with why. */
int privsep_start(char *why, size_t cap);
/* The key holder's pid, 0 if none. */
pid_t privsep_holder_pid(void);
/* Watch the socket in the event loop: the key holder's death ends zegel. */
void privsep_watch(void);

struct privsep_opts {
	const char *user;  /* NULL: CONFIG_PRIVSEP_USER */
	bool allow_root;
	const char *save_path; /* the file `save` writes: its directory stays writable */
};
/* Right after privsep_start(), before anything is read or written: become
 * the user (see the model above). */
int privsep_drop_user(const struct privsep_opts *o, char *why, size_t cap);
/* Before the event loop serves the network: seal the key holder, no new
 * privileges, seccomp. Both: 0, or -errno and why (zegel must then not
 * start: it would run with more rights than meant). */
int privsep_confine(const struct zcfg *cfg, const struct privsep_opts *o, char *why, size_t cap);

/* `set tpm device` (cfg.h; "" is the default): the key holder opens that
 * TPM from its next TPM operation on (loaded TPM keys load again there);
 * 0 or -errno (-EINVAL: not a TPM device, -ENOTSUP: no TPM support). */
int privsep_tpm_device(const char *spec);

/* One line on the key holder's signing workers (issue 22): their number,
 * the signatures each served, those retried; 0 or -errno. */
int privsep_stats(char *line, size_t cap);
/* Console/status: one line on how this process runs. */
void privsep_status(void (*emit)(void *, const char *), void *emit_arg, void *arg);

/* Internal: holder.c, seccomp.c */
void privsep_holder_main(int fd);
struct privsep_msg;
/* pool.c: the key holder's loop and its signing workers. The holder hands
 * in how one request is answered and which keys it must sign with itself
 * (a TPM key: one TPM connection per process), so the pool never calls
 * back up into holder.c. */
struct privsep_pool_ops {
	void (*handle)(const struct privsep_msg *q, struct privsep_msg *r);
	bool (*signs_here)(uint16_t slot);
};
void privsep_pool_run(int fd, const struct privsep_pool_ops *ops);
int privsep_seccomp_install(char *why, size_t cap);
void privsep_test_hooks(void);
/* landlock.c: confine the writes (the model above); 0, or -errno and why
 * (a kernel without Landlock is 0, with state saying so). */
int privsep_landlock(const struct zcfg *cfg, const char *save_path, char *state, size_t scap,
    char *why, size_t cap);
/* The write-type rights handled on Landlock ABI abi (0: not used, ABI < 2),
 * and those of them that apply to a device file. */
uint64_t privsep_landlock_rights(int abi);
uint64_t privsep_landlock_file_rights(uint64_t handled);

#endif
