/*
 * The network process's file writes, confined with Landlock (privsep.h,
 * CONFIG_PRIVSEP_LANDLOCK; Linux 5.19 or later, Landlock ABI 2 or more).
 *
 * After the drop of root and no_new_privs, before seccomp (so the three
 * landlock_* calls need no place in the seccomp allow-list), one ruleset
 * handles the write-type rights: write a file, remove a file or directory,
 * make any kind of node, rename/link across directories (REFER, ABI 2)
 * and truncate (ABI 3). They are allowed beneath
 *   - the data dir (spool, queue, keys state, TLS pair, secret.key, sts/),
 *   - the directory of the configuration file `save` writes (the temp
 *     file, the rename, zegel.conf.1..3, zegel.conf.good beside it),
 *   - the relay outbox when it is set outside the data dir,
 * and writing (and truncating) is allowed on /dev/null, the console
 * device and the character devices behind stdin/stdout/stderr (hal/log.c
 * may open its stderr again through /proc/self/fd). Reads are not
 * handled: file permissions govern them (the keys are root's, 0600).
 * Landlock binds root as well: the --allow-root test mode is confined too.
 *
 * ABI 1 kernels (5.13 to 5.18) refuse every rename into another directory
 * and the spool -> queue hand-over is one: on those, and on kernels
 * without Landlock, one warning line and zegel goes on unconfined.
 */
#define _GNU_SOURCE 1 /* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "firmware/config/config.h"
#include "firmware/privsep/privsep.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/board.h"
#include "zegel/config.h"

#define LOGM "privsep"

/* The kernel's numbers (include/uapi/linux/landlock.h); the sysroots'
 * headers may be older than the rights, so they are written out here. */
#define LL_CREATE_RULESET_VERSION (1u << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_EXECUTE (1ull << 0)
#define LL_FS_WRITE_FILE (1ull << 1)
#define LL_FS_READ_FILE (1ull << 2)
#define LL_FS_READ_DIR (1ull << 3)
#define LL_FS_REMOVE_DIR (1ull << 4)
#define LL_FS_REMOVE_FILE (1ull << 5)
#define LL_FS_MAKE_CHAR (1ull << 6)
#define LL_FS_MAKE_DIR (1ull << 7)
#define LL_FS_MAKE_REG (1ull << 8)
#define LL_FS_MAKE_SOCK (1ull << 9)
#define LL_FS_MAKE_FIFO (1ull << 10)
#define LL_FS_MAKE_BLOCK (1ull << 11)
#define LL_FS_MAKE_SYM (1ull << 12)
#define LL_FS_REFER (1ull << 13)    /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14) /* ABI 3 */

struct ll_ruleset_attr {
	uint64_t handled_access_fs; /* the ABI 1 size: the kernel takes it on every ABI */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* The syscall numbers: 444..446 in the generic table (x86-64, i386, ARM
 * EABI, AArch64), plus 4000 on MIPS o32; the libc's headers may lack them. */
#if defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABIO32
#define LL_NR_BASE 4000
#elif defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABI64
#define LL_NR_BASE 5000
#elif defined(__mips__) && defined(_MIPS_SIM) && _MIPS_SIM == _ABIN32
#define LL_NR_BASE 6000
#else
#define LL_NR_BASE 0
#endif
#ifdef __NR_landlock_create_ruleset
#define LL_NR_CREATE __NR_landlock_create_ruleset
#define LL_NR_ADD __NR_landlock_add_rule
#define LL_NR_RESTRICT __NR_landlock_restrict_self
#else
#define LL_NR_CREATE (LL_NR_BASE + 444)
#define LL_NR_ADD (LL_NR_BASE + 445)
#define LL_NR_RESTRICT (LL_NR_BASE + 446)
#endif

#define LL_FS_WRITES                                                                        \
	(LL_FS_WRITE_FILE | LL_FS_REMOVE_DIR | LL_FS_REMOVE_FILE | LL_FS_MAKE_CHAR |          \
	    LL_FS_MAKE_DIR | LL_FS_MAKE_REG | LL_FS_MAKE_SOCK | LL_FS_MAKE_FIFO |             \
	    LL_FS_MAKE_BLOCK | LL_FS_MAKE_SYM)

uint64_t
privsep_landlock_rights(int abi)
{
	uint64_t r = LL_FS_WRITES;

	if (abi < 2) /* no REFER: renames into another directory always refused */
		return 0;
	r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	return r;
}

uint64_t
privsep_landlock_file_rights(uint64_t handled)
{
	return handled & (LL_FS_WRITE_FILE | LL_FS_TRUNCATE);
}

static int
ll_abi(void)
{
	long v = syscall(LL_NR_CREATE, NULL, 0L, (unsigned long)LL_CREATE_RULESET_VERSION);

	return v < 0 ? -errno : (int)v;
}

/* One rule on an open O_PATH descriptor; 0 or -errno. */
static int
ll_add_fd(int rs, int fd, uint64_t allowed)
{
	struct ll_path_beneath_attr pb;

	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = allowed;
	pb.parent_fd = fd;
	return syscall(LL_NR_ADD, rs, LL_RULE_PATH_BENEATH, &pb, 0L) == 0 ? 0 : -errno;
}

static int resolve(const char *dir, char *out, size_t cap);

static unsigned n_dirs;
static char dirs_text[3 * (ZCFG_PATH_MAX + 2)];

static int
under(const char *path, const char *dir)
{
	size_t l = strlen(dir);

	while (l > 1 && dir[l - 1] == '/')
		l--;
	return strncmp(path, dir, l) == 0 && (path[l] == 0 || path[l] == '/');
}

static char allowed[3][ZCFG_PATH_MAX + 16], allowed_real[3][4096 + ZCFG_PATH_MAX];

static void
allow_dir(int rs, const char *dir, unsigned mode, uint64_t rights)
{
	int fd, rc;

	if (dir[0] == 0 || n_dirs >= 3)
		return;
	for (unsigned i = 0; i < n_dirs; i++)
		if (under(dir, allowed[i]))
			return; /* beneath one already allowed */
	(void)hal_storage_mkdirs(dir, mode); /* a rule needs the directory */
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		hal_log(HAL_LOG_WARN, LOGM, "landlock: %s: %s: no writes there", dir,
		    strerror(errno));
		return;
	}
	rc = ll_add_fd(rs, fd, rights);
	close(fd);
	if (rc != 0) {
		hal_log(HAL_LOG_WARN, LOGM, "landlock: %s: %s: no writes there", dir, strerror(-rc));
		return;
	}
	snprintf(allowed[n_dirs], sizeof(allowed[n_dirs]), "%s", dir);
	if (resolve(dir, allowed_real[n_dirs], sizeof(allowed_real[n_dirs])) != 0)
		snprintf(allowed_real[n_dirs], sizeof(allowed_real[n_dirs]), "%s", dir);
	n_dirs++;
	snprintf(dirs_text + strlen(dirs_text), sizeof(dirs_text) - strlen(dirs_text), "%s%s",
	    n_dirs > 1 ? ", " : "", dir);
}

/* A character device (only those: a rule on a regular file would let the
 * process rewrite it) that the process may open for writing. */
static void
allow_dev(int rs, const char *path, uint64_t rights)
{
	struct stat st;
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode))
		(void)ll_add_fd(rs, fd, rights);
	close(fd);
}

/* The absolute path of dir, resolved as far as it exists (a data dir
 * committed now does not exist yet); 0, or -1 when nothing of it resolves. */
static int
resolve(const char *dir, char *out, size_t cap)
{
	char head[ZCFG_PATH_MAX + 16], real[4096];
	size_t cut;

	snprintf(head, sizeof(head), "%s", dir[0] ? dir : ".");
	cut = strlen(head);
	for (;;) {
		if (realpath(head, real) != NULL) {
			snprintf(out, cap, "%s%s", strcmp(real, "/") == 0 && dir[cut] ? "" : real,
			    dir + cut);
			return 0;
		}
		while (cut > 0 && head[cut - 1] != '/')
			cut--;
		if (cut == 0) { /* a relative name: from the working directory */
			if (getcwd(real, sizeof(real)) == NULL)
				return -1;
			snprintf(out, cap, "%s/%s", real, dir);
			return 0;
		}
		if (cut == 1) { /* "/" always resolves */
			snprintf(out, cap, "%s", dir);
			return 0;
		}
		head[--cut] = 0; /* drop "/name" */
	}
}

static bool
writable(const char *dir)
{
	char real[4096 + ZCFG_PATH_MAX];
	bool r = resolve(dir, real, sizeof(real)) == 0;

	for (unsigned i = 0; i < n_dirs; i++)
		if (under(dir, allowed[i]) || (r && under(real, allowed_real[i])))
			return true;
	return false;
}

/* Commit warnings: a data dir or outbox committed outside the directories
 * of the rules cannot be written until zegel starts again. */
static int
warnings(const struct zcfg *c, void (*emit)(void *arg, const char *line), void *arg)
{
	char line[ZCFG_PATH_MAX + 300];
	int n = 0;

	if (!writable(c->data_dir)) {
		snprintf(line, sizeof(line), "data dir %s: this zegel may not write there (Landlock "
		    "rules of its start): spool, queue, keys and TLS pair cannot be written there "
		    "until zegel starts again ('save', then 'exit')", c->data_dir);
		emit(arg, line);
		n++;
	}
	if (c->relay.kind == ZCFG_RELAY_OUTBOX && !writable(c->relay.outbox)) {
		snprintf(line, sizeof(line), "relay outbox %s: this zegel may not write there "
		    "(Landlock rules of its start) until it starts again ('save', then 'exit')",
		    c->relay.outbox);
		emit(arg, line);
		n++;
	}
	return n;
}

int
privsep_landlock(const struct zcfg *cfg, const char *save_path, char *state, size_t scap,
    char *why, size_t cap)
{
	char dir[ZCFG_PATH_MAX + 16], fdp[32];
	const char *slash;
	uint64_t handled;
	struct ll_ruleset_attr ra;
	int abi = ll_abi(), rs, rc;

	if (abi < 2) {
		if (abi < 0)
			snprintf(state, scap, "writes NOT confined (landlock not available: %s)",
			    strerror(-abi));
		else
			snprintf(state, scap, "writes NOT confined (landlock ABI %d: renames "
			    "between directories would fail; Linux 5.19 or later)", abi);
		hal_log(HAL_LOG_WARN, LOGM,
		    "landlock not available: writes are not confined to the data dir (%s)",
		    abi < 0 ? strerror(-abi) : "ABI 1");
		return 0;
	}
	handled = privsep_landlock_rights(abi);
	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = handled;
	rs = (int)syscall(LL_NR_CREATE, &ra, sizeof(ra), 0L);
	if (rs < 0) {
		rc = -errno;
		snprintf(why, cap, "landlock_create_ruleset: %s", strerror(errno));
		return rc;
	}
	n_dirs = 0;
	dirs_text[0] = 0;
	allow_dir(rs, cfg->data_dir, 0700, handled);
	if (save_path != NULL && (slash = strrchr(save_path, '/')) != NULL) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash == save_path ? 1 : slash - save_path),
		    save_path);
		allow_dir(rs, dir, 0700, handled);
	} else if (save_path != NULL) {
		allow_dir(rs, ".", 0700, handled);
	}
	if (cfg->relay.kind == ZCFG_RELAY_OUTBOX)
		allow_dir(rs, cfg->relay.outbox, 0750, handled); /* outbox.c's mode */
	allow_dev(rs, "/dev/null", privsep_landlock_file_rights(handled));
	if (strcmp(board.console_device, "stdio") != 0)
		allow_dev(rs, board.console_device, privsep_landlock_file_rights(handled));
	for (int i = 0; i <= 2; i++) {
		snprintf(fdp, sizeof(fdp), "/proc/self/fd/%d", i);
		allow_dev(rs, fdp, privsep_landlock_file_rights(handled));
	}
	rc = syscall(LL_NR_RESTRICT, rs, 0L) == 0 ? 0 : -errno;
	close(rs);
	if (rc != 0) {
		snprintf(why, cap, "landlock_restrict_self: %s", strerror(-rc));
		return rc;
	}
	snprintf(state, scap, "writes confined by landlock (ABI %d) to %s", abi,
	    n_dirs ? dirs_text : "nothing");
	config_set_warnings_extra(warnings);
	return 0;
}
