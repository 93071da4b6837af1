/*
 * Dropping root in the network process (privsep.h): seal the key holder,
 * become the unprivileged user with two capabilities, install seccomp.
 */
#define _GNU_SOURCE 1 /* setresuid, setresgid */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "firmware/privsep/privsep.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/config.h"

#define LOGM "privsep"

int privsep_allow_dir(const char *dir);
int privsep_seal(void);

static char mode_line[200] = "privsep: not started";
static char ll_state[3 * ZCFG_PATH_MAX + 120] = "writes NOT confined (not started)";

/* "Uid: 100 100 100 100" -> "Uid 100 100 100 100" of /proc/self/status. */
static void
proc_field(const char *text, const char *name, char *out, size_t cap)
{
	size_t l = strlen(name);
	const char *p = text;

	snprintf(out, cap, "%s ?", name);
	while (p != NULL && *p) {
		if (strncmp(p, name, l) == 0 && p[l] == ':') {
			const char *v = p + l + 1, *e = strchr(v, '\n');
			size_t n = 0;

			snprintf(out, cap, "%s", name);
			n = strlen(out);
			while (*v && v != e && n + 2 < cap) {
				if (*v == ' ' || *v == '\t') {
					if (out[n - 1] != ' ')
						out[n++] = ' ';
				} else {
					out[n++] = *v;
				}
				v++;
			}
			out[n] = 0;
			return;
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
}

static void
emit_file(void (*emit)(void *, const char *), void *emit_arg, const char *what,
    const char *path)
{
	char line[ZCFG_PATH_MAX + 120];
	struct stat st;

	if (stat(path, &st) != 0)
		snprintf(line, sizeof(line), "privsep: %s %s: %s", what, path, strerror(errno));
	else
		snprintf(line, sizeof(line), "privsep: %s %s: owner %ld:%ld mode %04o, readable "
		    "by the network process: %s", what, path, (long)st.st_uid, (long)st.st_gid,
		    (unsigned)(st.st_mode & 07777), access(path, R_OK) == 0 ? "yes" : "no");
	emit(emit_arg, line);
}

/* show status: how the processes run, what the kernel says of this one, and
 * who owns the data dir and the key files (the images' boot test reads it:
 * there is no shell on the router). */
void
privsep_status(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	const struct zcfg *cfg = zcfg_running();
	char text[2048], f[5][64], line[sizeof(ll_state) + 16], pool[320];
	FILE *fp = fopen("/proc/self/status", "r");
	size_t n = fp != NULL ? fread(text, 1, sizeof(text) - 1, fp) : 0;

	if (fp != NULL)
		fclose(fp);
	(void)arg;
	text[n] = 0;
	emit(emit_arg, mode_line);
	snprintf(line, sizeof(line), "privsep: %s", ll_state);
	emit(emit_arg, line);
	proc_field(text, "Uid", f[0], sizeof(f[0]));
	proc_field(text, "Gid", f[1], sizeof(f[1]));
	proc_field(text, "Seccomp", f[2], sizeof(f[2]));
	proc_field(text, "NoNewPrivs", f[3], sizeof(f[3]));
	proc_field(text, "CapEff", f[4], sizeof(f[4]));
	snprintf(line, sizeof(line), "privsep: /proc/self/status: %s, %s, %s, %s, %s", f[0], f[1],
	    f[2], f[3], f[4]);
	emit(emit_arg, line);
	if (privsep_holder_pid() > 0 && privsep_stats(pool, sizeof(pool)) == 0)
		emit(emit_arg, pool);
	if (cfg == NULL)
		return;
	emit_file(emit, emit_arg, "data dir", cfg->data_dir);
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++)
		if (cfg->keys[i].used)
			emit_file(emit, emit_arg, "key file", cfg->keys[i].file);
}

/* The directory part of path ("." for a bare name). */
static void
dir_of(const char *path, char *out, size_t cap)
{
	const char *s = strrchr(path, '/');

	if (s == NULL)
		snprintf(out, cap, ".");
	else if (s == path)
		snprintf(out, cap, "/");
	else
		snprintf(out, cap, "%.*s", (int)(s - path), path);
}

/* The key holder opens only files in <data-dir>/keys, in the directories
 * of the keys configured now, and in <data-dir>/tls and the directory of
 * `set tls key` (the TLS key in the TPM, `set tls key-store tpm`, may be
 * made or loaded by a later commit). */
static int
seal(const struct zcfg *cfg, char *why, size_t cap)
{
	char dir[ZCFG_PATH_MAX + 16];
	int rc;

	snprintf(dir, sizeof(dir), "%s/keys", cfg->data_dir);
	if ((rc = privsep_allow_dir(dir)) != 0 && rc != -ENOENT)
		hal_log(HAL_LOG_WARN, LOGM, "key holder: %s: %s", dir, strerror(-rc));
	snprintf(dir, sizeof(dir), "%s/tls", cfg->data_dir);
	hal_storage_mkdirs(dir, 0700); /* zegel's own pair's directory: ours */
	if ((rc = privsep_allow_dir(dir)) != 0 && rc != -ENOENT)
		hal_log(HAL_LOG_WARN, LOGM, "key holder: %s: %s", dir, strerror(-rc));
	if (cfg->tls_tpm) {
		dir_of(cfg->tls_key, dir, sizeof(dir));
		if ((rc = privsep_allow_dir(dir)) != 0 && rc != -ENOENT)
			hal_log(HAL_LOG_WARN, LOGM, "key holder: %s: %s", dir, strerror(-rc));
	}
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		if (!cfg->keys[i].used)
			continue;
		dir_of(cfg->keys[i].file, dir, sizeof(dir));
		if ((rc = privsep_allow_dir(dir)) != 0)
			hal_log(HAL_LOG_WARN, LOGM, "key holder: %s: %s", dir, strerror(-rc));
	}
	if ((rc = privsep_seal()) != 0) {
		snprintf(why, cap, "cannot seal the key holder: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* Keep exactly CAP_NET_BIND_SERVICE and CAP_SYS_TIME (permitted and
 * effective); nothing inheritable. The lwIP build also keeps CAP_NET_RAW:
 * its packet-socket interface (hal/lwip/packetif.c) opens after the drop,
 * once the configuration named it. */
static int
keep_caps(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2];
	uint32_t keep = (1u << CAP_NET_BIND_SERVICE) | (1u << CAP_SYS_TIME);

	if (IS_ENABLED(CONFIG_HAL_NET_LWIP))
		keep |= 1u << CAP_NET_RAW;

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	h.pid = 0;
	d[0].permitted = d[0].effective = keep;
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -errno;
}

static int
become(const char *user, char *why, size_t cap)
{
	const struct passwd *pw = getpwnam(user);
	uid_t uid;
	gid_t gid;
	int rc;

	if (pw == NULL) {
		snprintf(why, cap,
		    "user %s does not exist: create it (the images' init does; on a host: "
		    "useradd --system --no-create-home %s), or run with --user NAME",
		    user, user);
		return -ENOENT;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (uid == 0) {
		snprintf(why, cap, "user %s is root: name an unprivileged user", user);
		return -EINVAL;
	}
	if (prctl(PR_SET_KEEPCAPS, 1L, 0L, 0L, 0L) != 0 || setgroups(1, &gid) != 0 ||
	    setresgid(gid, gid, gid) != 0 || setresuid(uid, uid, uid) != 0) {
		rc = -errno;
		snprintf(why, cap, "cannot become %s (uid %ld): %s", user, (long)uid, strerror(errno));
		return rc;
	}
	(void)prctl(PR_SET_KEEPCAPS, 0L, 0L, 0L, 0L);
	if ((rc = keep_caps()) != 0) {
		snprintf(why, cap, "capset: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

static char user_name[64];

int
privsep_drop_user(const struct privsep_opts *o, char *why, size_t cap)
{
	const char *user = o->user != NULL ? o->user : CONFIG_PRIVSEP_USER;
	int rc;

	if (geteuid() == 0 && o->allow_root) {
		snprintf(user_name, sizeof(user_name), "ROOT (--allow-root)");
		return 0;
	}
	if (geteuid() != 0) {
		snprintf(user_name, sizeof(user_name), "uid %ld (started unprivileged)",
		    (long)geteuid());
		hal_log(HAL_LOG_WARN, LOGM,
		    "started as uid %ld, not root: no user to change to; the key files must "
		    "not be readable by this uid", (long)geteuid());
		return 0;
	}
	if ((rc = become(user, why, cap)) != 0)
		return rc;
	snprintf(user_name, sizeof(user_name), "%s (uid %ld)", user, (long)getuid());
	return 0;
}

int
privsep_confine(const struct zcfg *cfg, const struct privsep_opts *o, char *why, size_t cap)
{
	const char *sc = "seccomp filter on";
	char dir[ZCFG_PATH_MAX + 16];
	int rc;

	if (geteuid() == 0 && o->allow_root) {
		hal_log(HAL_LOG_WARN, LOGM,
		    "running as root (--allow-root or ZEGEL_ALLOW_ROOT=1, a test mode): the "
		    "network process could read the key files");
	} else {
		if (getuid() == 0 || geteuid() == 0) {
			snprintf(why, cap, "still root after the drop");
			return -EPERM;
		}
		/* <data-dir>/keys: key generate writes there, through the key holder */
		snprintf(dir, sizeof(dir), "%s/keys", cfg->data_dir);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			hal_log(HAL_LOG_WARN, LOGM, "mkdir %s: %s", dir, strerror(errno));
		if ((rc = seal(cfg, why, cap)) != 0)
			return rc;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) {
		snprintf(why, cap, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
#if IS_ENABLED(CONFIG_PRIVSEP_LANDLOCK)
	/* before seccomp: the landlock_* calls are not in its allow-list */
	if ((rc = privsep_landlock(cfg, o->save_path, ll_state, sizeof(ll_state), why, cap)) != 0)
		return rc;
#else
	snprintf(ll_state, sizeof(ll_state), "writes NOT confined (CONFIG_PRIVSEP_LANDLOCK off)");
#endif
	hal_log(HAL_LOG_INFO, LOGM, "%s", ll_state);
#if IS_ENABLED(CONFIG_PRIVSEP_SECCOMP)
	if ((rc = privsep_seccomp_install(why, cap)) != 0)
		return rc;
#else
	sc = "no seccomp filter (CONFIG_PRIVSEP_SECCOMP off)";
#endif
	privsep_test_hooks();
	snprintf(mode_line, sizeof(mode_line),
	    "privsep: network process pid %ld as %s, key holder pid %ld as root; %s%s",
	    (long)getpid(), user_name, (long)privsep_holder_pid(), sc,
	    o->allow_root && geteuid() == 0 ? "" : "; key holder sealed");
	hal_log(HAL_LOG_INFO, LOGM, "%s", mode_line);
	return 0;
}
