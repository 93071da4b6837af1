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
#include "zegel/config.h"

#define LOGM "privsep"

int privsep_allow_dir(const char *dir);
int privsep_seal(void);

static char mode_line[200] = "privsep: not started";

void
privsep_status(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	(void)arg;
	emit(emit_arg, mode_line);
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

/* The key holder opens only files in <data-dir>/keys and in the
 * directories of the keys configured now. */
static int
seal(const struct zcfg *cfg, char *why, size_t cap)
{
	char dir[ZCFG_PATH_MAX + 16];
	int rc;

	snprintf(dir, sizeof(dir), "%s/keys", cfg->data_dir);
	if ((rc = privsep_allow_dir(dir)) != 0 && rc != -ENOENT)
		hal_log(HAL_LOG_WARN, LOGM, "key holder: %s: %s", dir, strerror(-rc));
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
 * effective); nothing inheritable. */
static int
keep_caps(void)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2];
	uint32_t keep = (1u << CAP_NET_BIND_SERVICE) | (1u << CAP_SYS_TIME);

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

int
privsep_drop(const struct zcfg *cfg, const struct privsep_opts *o, char *why, size_t cap)
{
	const char *user = o->user != NULL ? o->user : CONFIG_PRIVSEP_USER;
	const char *sc = "no seccomp filter (CONFIG_PRIVSEP_SECCOMP off)";
	char dir[ZCFG_PATH_MAX + 16];
	int rc;

	if (geteuid() == 0 && o->allow_root) {
		hal_log(HAL_LOG_WARN, LOGM,
		    "running as root (--allow-root or ZEGEL_ALLOW_ROOT=1, a test mode): the "
		    "network process could read the key files");
		snprintf(mode_line, sizeof(mode_line), "privsep: network process pid %ld as ROOT "
		    "(--allow-root), key holder pid %ld", (long)getpid(), (long)privsep_holder_pid());
	} else {
		/* <data-dir>/keys: the key state file is written by this process */
		snprintf(dir, sizeof(dir), "%s/keys", cfg->data_dir);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST)
			hal_log(HAL_LOG_WARN, LOGM, "mkdir %s: %s", dir, strerror(errno));
		if ((rc = seal(cfg, why, cap)) != 0)
			return rc;
		if (geteuid() == 0) {
			const struct passwd *pw = getpwnam(user);

			if (pw != NULL && chown(dir, pw->pw_uid, pw->pw_gid) != 0)
				hal_log(HAL_LOG_WARN, LOGM, "chown %s: %s", dir, strerror(errno));
			if ((rc = become(user, why, cap)) != 0)
				return rc;
		} else {
			hal_log(HAL_LOG_WARN, LOGM,
			    "started as uid %ld, not root: no user to change to; the key files "
			    "must not be readable by this uid", (long)geteuid());
			user = "(started unprivileged)";
		}
		snprintf(mode_line, sizeof(mode_line), "privsep: network process pid %ld as %s "
		    "(uid %ld), key holder pid %ld as root", (long)getpid(), user, (long)getuid(),
		    (long)privsep_holder_pid());
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0) {
		snprintf(why, cap, "no_new_privs: %s", strerror(errno));
		return -errno;
	}
#if IS_ENABLED(CONFIG_PRIVSEP_SECCOMP)
	if ((rc = privsep_seccomp_install(why, cap)) != 0)
		return rc;
	sc = "seccomp filter on";
#endif
	privsep_test_hooks();
	snprintf(mode_line + strlen(mode_line), sizeof(mode_line) - strlen(mode_line), "; %s", sc);
	hal_log(HAL_LOG_INFO, LOGM, "%s", mode_line);
	return 0;
}
