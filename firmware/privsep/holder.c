/*
 * The key holder (privsep.h): the only process of `zegel run` that reads
 * private key files. Its loop over one SOCK_SEQPACKET socket and its
 * signing workers are in pool.c; one answer per request (msg.h); it exits
 * when the network process is gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/keys/keys.h"
#include "firmware/privsep/msg.h"
#include "firmware/privsep/privsep.h"
#include "generated/autoconf.h"
#include "hal/crypto.h"
#if IS_ENABLED(CONFIG_HAL_CRYPTO_TPM2)
#include "hal/tpm2.h"
#endif

#define SLOTS (2 * CONFIG_CFG_MAX_KEYS + 4)
#define DIRS (CONFIG_CFG_MAX_KEYS + 2)

static struct hal_key slots[SLOTS];
static char dirs[DIRS][PRIVSEP_PATH_MAX];
static unsigned ndirs;
static bool sealed;
static unsigned tmp_seq;

static void
wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* After the seal: the file or directory open on fd must be inside one of
 * the allowed directories, by the kernel's name for it (no symlink or
 * rename race between a check and the open). */
static int
fd_allowed(int fd)
{
	char link[64], real[PATH_MAX];
	ssize_t n;

	if (!sealed)
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, real, sizeof(real) - 1)) <= 0)
		return -EACCES;
	real[n] = 0;
	for (unsigned i = 0; i < ndirs; i++) {
		size_t l = strlen(dirs[i]);

		if (strncmp(real, dirs[i], l) == 0 && (real[l] == '/' || real[l] == 0))
			return 0;
	}
	return -EACCES;
}

static int
free_slot(void)
{
	for (int i = 0; i < SLOTS; i++)
		if (slots[i].ops == NULL)
			return i;
	return -ENOSPC;
}

static int
read_key(const char *path, struct hal_key *k)
{
	uint8_t pem[KEYS_PEM_MAX];
	struct stat st;
	size_t got = 0;
	int fd, rc;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	if ((rc = fd_allowed(fd)) != 0 || (rc = fstat(fd, &st) != 0 ? -errno : 0) != 0) {
		close(fd);
		return rc;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)sizeof(pem)) {
		close(fd);
		return S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
	}
	while (got < sizeof(pem)) {
		ssize_t n = read(fd, pem + got, sizeof(pem) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : 0;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	if (rc == 0)
		rc = hal_key_load(k, pem, got);
	wipe(pem, sizeof(pem));
	return rc;
}

/* Write the key as PEM to path, mode 0600, owned by this process (root):
 * a temporary "<name>.tmp.<pid>.<n>" (config_clean_temps() removes one a
 * kill left), fsync, rename, fsync of the directory. Never replaces a
 * file: -EEXIST. */
static int
write_key(const char *path, const struct hal_key *k)
{
	char dir[PRIVSEP_DATA_MAX + 2], tmp[PRIVSEP_DATA_MAX + 48], pem[KEYS_PEM_MAX];
	const char *base = strrchr(path, '/');
	struct stat st;
	size_t n = 0, off = 0;
	int dfd, fd, rc;

	if (base == NULL) {
		snprintf(dir, sizeof(dir), ".");
		base = path;
	} else {
		snprintf(dir, sizeof(dir), "%.*s", (int)(base - path), path);
		base++;
		if (dir[0] == 0)
			snprintf(dir, sizeof(dir), "/");
	}
	if (base[0] == 0 || base[0] == '.')
		return -EINVAL;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	if ((rc = fd_allowed(dfd)) != 0)
		goto out;
	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		rc = -EEXIST;
		goto out;
	}
	if ((rc = hal_key_write_pem(k, pem, sizeof(pem), &n)) != 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld.%u", base, (long)getpid(), tmp_seq++);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	while (off < n) {
		ssize_t w = write(fd, pem + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = -errno;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, tmp, dfd, base) != 0)
		rc = -errno;
	if (rc != 0)
		(void)unlinkat(dfd, tmp, 0);
	else
		(void)fsync(dfd);
out:
	wipe(pem, sizeof(pem));
	close(dfd);
	return rc;
}

/* LOAD and GENERATE: the key into a free slot, the answer with its public
 * key. */
static void
key_answer(struct privsep_msg *r, int rc, int slot)
{
	size_t pl = 0;

	memset(r, 0, offsetof(struct privsep_msg, data));
	r->type = PRIVSEP_RESP_KEY;
	if (slot < 0 || slot >= SLOTS) {
		r->status = rc < 0 ? rc : -EIO;
		return;
	}
	if (rc == 0)
		rc = hal_key_public(&slots[slot], r->data, PRIVSEP_PUB_MAX, &pl);
	if (rc == 0 && !(slots[slot].type == HAL_KEY_ED25519 ||
	    (slots[slot].type == HAL_KEY_RSA && slots[slot].bits >= 256 && slots[slot].bits <= 4096)))
		rc = -ENOTSUP;
	if (rc != 0) {
		hal_key_free(&slots[slot]);
		r->status = rc < 0 ? rc : -EIO;
		return;
	}
	r->slot = (uint16_t)slot;
	r->key_type = (uint8_t)slots[slot].type;
	r->bits = (uint16_t)slots[slot].bits;
	r->len = (uint16_t)pl;
}

static void
handle(const struct privsep_msg *q, struct privsep_msg *r)
{
	int slot, rc;
	size_t sl = 0;

	memset(r, 0, offsetof(struct privsep_msg, data));
	r->type = PRIVSEP_RESP_STATUS;
	switch (q->type) {
	case PRIVSEP_REQ_LOAD:
		if ((slot = free_slot()) < 0) {
			key_answer(r, slot, -1);
			return;
		}
		rc = read_key((const char *)q->data, &slots[slot]);
		key_answer(r, rc, rc == 0 ? slot : -1);
		return;
	case PRIVSEP_REQ_GENERATE:
		if ((slot = free_slot()) < 0) {
			key_answer(r, slot, -1);
			return;
		}
		rc = hal_key_generate(&slots[slot], (enum hal_key_type)q->key_type, q->bits);
		if (rc == 0 && (rc = write_key((const char *)q->data, &slots[slot])) != 0)
			hal_key_free(&slots[slot]);
		key_answer(r, rc, rc == 0 ? slot : -1);
		return;
	case PRIVSEP_REQ_SIGN:
		r->type = PRIVSEP_RESP_SIG;
		if (q->slot >= SLOTS || slots[q->slot].ops == NULL) {
			r->status = -EINVAL;
			return;
		}
		rc = hal_key_sign(&slots[q->slot], (enum hal_hash_alg)q->hash_alg, q->data, q->len,
		    r->data, PRIVSEP_SIG_MAX, &sl);
		if (rc != 0 || sl == 0 || sl > PRIVSEP_SIG_MAX)
			r->status = rc < 0 ? rc : -EIO;
		else
			r->len = (uint16_t)sl;
		return;
	case PRIVSEP_REQ_FREE:
		if (q->slot < SLOTS)
			hal_key_free(&slots[q->slot]);
		return;
	case PRIVSEP_REQ_ALLOW_DIR: {
		char real[PATH_MAX];

		if (sealed)
			r->status = -EPERM;
		else if (ndirs >= DIRS)
			r->status = -ENOSPC;
		else if (realpath((const char *)q->data, real) == NULL)
			r->status = -errno;
		else if (strlen(real) >= PRIVSEP_PATH_MAX)
			r->status = -ENAMETOOLONG;
		else
			memcpy(dirs[ndirs++], real, strlen(real) + 1);
		return;
	}
	case PRIVSEP_REQ_SEAL:
		sealed = true;
		return;
	case PRIVSEP_REQ_TPM_DEVICE: {
		/* also after the seal (a commit may change it), but only a
		 * TPM device or a TCP channel: checked here again */
		const char *d = (const char *)q->data;

		if (strcmp(d, "default") != 0 && !zcfg_tpm_device_ok(d))
			r->status = -EINVAL;
#if IS_ENABLED(CONFIG_HAL_CRYPTO_TPM2)
		else
			hal_tpm2_set_device(strcmp(d, "default") == 0 ? NULL : d);
#else
		else if (strcmp(d, "default") != 0)
			r->status = -ENOTSUP;
#endif
		return;
	}
	}
	r->status = -EBADMSG;
}

/* A key only the key holder itself signs with: a TPM key (one TPM
 * connection per process, which forked workers would share). */
static bool
signs_here(uint16_t slot)
{
	return slot < SLOTS && slots[slot].ops != NULL && slots[slot].ops->name != NULL &&
	    strcmp(slots[slot].ops->name, "tpm2") == 0;
}

/* how pool.c answers a request and picks who signs */
static const struct privsep_pool_ops pool_ops = { .handle = handle, .signs_here = signs_here };

void
privsep_holder_main(int fd)
{
	struct sigaction sa;

	/* the network process's end is gone with it: die with it */
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
	(void)prctl(PR_SET_NAME, "zegel-keys");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
	sigaction(SIGINT, &sa, NULL); /* ^C on the console: the network process stops us */
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	privsep_pool_run(fd, &pool_ops);
	for (int i = 0; i < SLOTS; i++)
		hal_key_free(&slots[i]);
	_exit(0);
}
