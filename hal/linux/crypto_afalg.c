/*
 * AF_ALG hash backend: SHA-1/256/384/512 through the Linux kernel's crypto
 * API (hash sockets, Documentation/crypto/userspace-if.rst), where a SoC's
 * engine (EIP-93, QCE, CESA) registers its drivers.
 *
 * One bound "transform" socket per algorithm lives for the process (made by
 * the probe); each hash context is an operation socket accept()ed from it.
 * Data goes in with send(MSG_MORE), gathered first in a buffer so a body fed
 * line by line costs one system call per buffer, not per line; recv() ends
 * the hash and returns the digest. A clone is accept() on the operation
 * socket (the kernel exports and imports the state), plus what the source
 * still holds in its buffer, sent to the clone.
 *
 * The probe (once, from hal_crypto_register()): the socket family (a kernel
 * without AF_ALG answers EAFNOSUPPORT: not used, software hashes), each
 * algorithm (bind; absent ones are left to software), a self-test vector
 * through the socket, the driver behind each algorithm from /proc/crypto
 * (the highest priority for the name, as the kernel picks) and then the
 * Kconfig policy: which algorithms this backend takes. hash_init() answers
 * -ENOTSUP for the others, and the chain passes them on to software.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_alg.h>

#include "hal/crypto.h"
#include "hal/linux/afalg_proc.h"
#include "generated/autoconf.h"

#ifndef AF_ALG
#define AF_ALG 38
#endif

#define INLINE_BUF 256

/* A hash context's state inside struct hal_hash_ctx. */
struct afalg_hash {
	int fd;      /* operation socket */
	int slot;    /* pool buffer, or -1: inl */
	size_t blen; /* bytes gathered, not yet sent */
	uint8_t inl[INLINE_BUF];
};

_Static_assert(sizeof(struct afalg_hash) <= sizeof(((struct hal_hash_ctx *)0)->state),
    "AF_ALG hash state too big");

#if CONFIG_HAL_CRYPTO_AFALG_BUFFERS > 0
static uint8_t pool[CONFIG_HAL_CRYPTO_AFALG_BUFFERS][CONFIG_HAL_CRYPTO_AFALG_BUFFER_SIZE];
static bool pool_used[CONFIG_HAL_CRYPTO_AFALG_BUFFERS];
#endif

/* What the probe learnt about one algorithm. */
struct alg_info {
	enum hal_hash_alg alg;
	const char *kname;  /* the kernel's name */
	const uint8_t *abc; /* digest of "abc" (FIPS 180-2) */
	int tfm;            /* bound transform socket, -1 */
	bool usable;        /* bound, self-test right */
	bool serve;         /* the policy gives it to this backend */
	bool engine;        /* the driver is not software */
	bool measured;
	int priority;
	char driver[64], type[16];
	unsigned long kbps_afalg, kbps_soft; /* start-up measurement */
	char verdict[320];
};

static const uint8_t abc_sha1[20] = { 0xa9, 0x99, 0x3e, 0x36, 0x47, 0x06, 0x81, 0x6a, 0xba, 0x3e,
	0x25, 0x71, 0x78, 0x50, 0xc2, 0x6c, 0x9c, 0xd0, 0xd8, 0x9d };
static const uint8_t abc_sha256[32] = { 0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41,
	0x40, 0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4,
	0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
static const uint8_t abc_sha384[48] = { 0xcb, 0x00, 0x75, 0x3f, 0x45, 0xa3, 0x5e, 0x8b, 0xb5, 0xa0,
	0x3d, 0x69, 0x9a, 0xc6, 0x50, 0x07, 0x27, 0x2c, 0x32, 0xab, 0x0e, 0xde, 0xd1, 0x63, 0x1a,
	0x8b, 0x60, 0x5a, 0x43, 0xff, 0x5b, 0xed, 0x80, 0x86, 0x07, 0x2b, 0xa1, 0xe7, 0xcc, 0x23,
	0x58, 0xba, 0xec, 0xa1, 0x34, 0xc8, 0x25, 0xa7 };
static const uint8_t abc_sha512[64] = { 0xdd, 0xaf, 0x35, 0xa1, 0x93, 0x61, 0x7a, 0xba, 0xcc, 0x41,
	0x73, 0x49, 0xae, 0x20, 0x41, 0x31, 0x12, 0xe6, 0xfa, 0x4e, 0x89, 0xa9, 0x7e, 0xa2, 0x0a,
	0x9e, 0xee, 0xe6, 0x4b, 0x55, 0xd3, 0x9a, 0x21, 0x92, 0x99, 0x2a, 0x27, 0x4f, 0xc1, 0xa8,
	0x36, 0xba, 0x3c, 0x23, 0xa3, 0xfe, 0xeb, 0xbd, 0x45, 0x4d, 0x44, 0x23, 0x64, 0x3c, 0xe8,
	0x0e, 0x2a, 0x9a, 0xc9, 0x4f, 0xa5, 0x4c, 0xa4, 0x9f };

static struct alg_info algs[4] = {
	{ .alg = HAL_HASH_SHA1, .kname = "sha1", .abc = abc_sha1, .tfm = -1 },
	{ .alg = HAL_HASH_SHA256, .kname = "sha256", .abc = abc_sha256, .tfm = -1 },
	{ .alg = HAL_HASH_SHA384, .kname = "sha384", .abc = abc_sha384, .tfm = -1 },
	{ .alg = HAL_HASH_SHA512, .kname = "sha512", .abc = abc_sha512, .tfm = -1 },
};

static bool measuring;          /* the probe's measurement: every usable algorithm */
static unsigned long fallbacks; /* accept() failed: software took the hash */
static char family_verdict[240];

static struct alg_info *
info_of(enum hal_hash_alg alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

static uint32_t
afalg_caps(void)
{
	bool engine = false, any = false;

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		any |= algs[i].serve;
		engine |= algs[i].serve && algs[i].engine;
	}
	return (any ? HAL_CRYPTO_CAP_SHA : 0) | (engine ? HAL_CRYPTO_CAP_HW : 0);
}

/* ------------------------------------------------------------ buffers */

static uint8_t *
buf_of(struct afalg_hash *h, size_t *cap)
{
#if CONFIG_HAL_CRYPTO_AFALG_BUFFERS > 0
	if (h->slot >= 0) {
		*cap = CONFIG_HAL_CRYPTO_AFALG_BUFFER_SIZE;
		return pool[h->slot];
	}
#endif
	*cap = sizeof(h->inl);
	return h->inl;
}

static int
buf_slot_get(void)
{
#if CONFIG_HAL_CRYPTO_AFALG_BUFFERS > 0
	for (int i = 0; i < CONFIG_HAL_CRYPTO_AFALG_BUFFERS; i++)
		if (!pool_used[i]) {
			pool_used[i] = true;
			return i;
		}
#endif
	return -1;
}

static void
release(struct afalg_hash *h)
{
	size_t cap;
	uint8_t *b = buf_of(h, &cap);

	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	memset(b, 0, h->blen); /* message bytes do not linger in the pool */
#if CONFIG_HAL_CRYPTO_AFALG_BUFFERS > 0
	if (h->slot >= 0)
		pool_used[h->slot] = false;
#endif
	h->slot = -1;
	h->blen = 0;
}

/* ------------------------------------------------------------ hashing */

/* All n bytes into the operation socket, more to come. */
static int
send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_MORE);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static int
afalg_hash_init(struct hal_hash_ctx *c, enum hal_hash_alg alg)
{
	struct alg_info *a = info_of(alg);
	struct afalg_hash *h = (struct afalg_hash *)&c->state;
	int fd;

	if (a == NULL || !a->usable || !(a->serve || measuring))
		return -ENOTSUP;
	fd = accept(a->tfm, NULL, NULL);
	if (fd < 0) {
		fallbacks++; /* out of descriptors or kernel memory: software */
		return -ENOTSUP;
	}
	h->fd = fd;
	h->slot = buf_slot_get();
	h->blen = 0;
	c->ops = &hal_crypto_afalg;
	c->alg = alg;
	return 0;
}

static int
afalg_hash_update(struct hal_hash_ctx *c, const uint8_t *p, size_t n)
{
	struct afalg_hash *h = (struct afalg_hash *)&c->state;
	size_t cap;
	uint8_t *b = buf_of(h, &cap);

	while (n > 0) {
		size_t k;

		if (h->blen == 0 && n >= cap)
			return send_all(h->fd, p, n); /* a large chunk as it is */
		k = cap - h->blen < n ? cap - h->blen : n;
		memcpy(b + h->blen, p, k);
		h->blen += k;
		p += k;
		n -= k;
		if (h->blen == cap) {
			if (send_all(h->fd, b, cap) < 0)
				return -EIO;
			h->blen = 0;
		}
	}
	return 0;
}

static int
afalg_hash_final(struct hal_hash_ctx *c, uint8_t *out)
{
	struct afalg_hash *h = (struct afalg_hash *)&c->state;
	size_t cap, len = hal_hash_len(c->alg);
	uint8_t *b = buf_of(h, &cap);
	ssize_t k;
	int rc = 0;

	if (h->blen > 0)
		rc = send_all(h->fd, b, h->blen);
	if (rc == 0) {
		do
			k = recv(h->fd, out, len, 0);
		while (k < 0 && errno == EINTR);
		rc = k == (ssize_t)len ? 0 : -EIO;
	}
	release(h);
	return rc;
}

static int
afalg_hash_clone(struct hal_hash_ctx *dst, const struct hal_hash_ctx *src)
{
	const struct afalg_hash *s = (const struct afalg_hash *)&src->state;
	struct afalg_hash *d = (struct afalg_hash *)&dst->state;
	size_t cap;
	const uint8_t *sb = buf_of((struct afalg_hash *)s, &cap);
	int fd;

	/* the kernel's state (what src sent), then what src still gathers */
	fd = accept(s->fd, NULL, NULL);
	if (fd < 0)
		return -EIO;
	d->fd = fd;
	d->slot = buf_slot_get();
	d->blen = 0;
	dst->ops = &hal_crypto_afalg;
	dst->alg = src->alg;
	if (s->blen > 0 && send_all(fd, sb, s->blen) < 0) {
		release(d);
		return -EIO;
	}
	return 0;
}

static void
afalg_hash_free(struct hal_hash_ctx *c)
{
	release((struct afalg_hash *)&c->state);
}

/* ------------------------------------------------------------ probe */

/* The driver the kernel binds for each algorithm (/proc/crypto, one pass). */
static void
read_drivers(void)
{
	static const char *const names[4] = { "sha1", "sha256", "sha384", "sha512" };
	struct hal_afalg_pick picks[4];
	struct hal_afalg_proc pc;
	uint8_t buf[512];
	size_t k;
	FILE *f = fopen("/proc/crypto", "r");

	hal_afalg_proc_init(&pc, names, picks, 4);
	if (f != NULL) {
		while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
			hal_afalg_proc_push(&pc, buf, k);
		fclose(f);
	}
	hal_afalg_proc_end(&pc);
	for (size_t i = 0; i < 4; i++) {
		struct alg_info *a = &algs[i];

		a->priority = picks[i].priority;
		snprintf(a->driver, sizeof(a->driver), "%s", picks[i].driver);
		snprintf(a->type, sizeof(a->type), "%s", picks[i].type);
	}
}

/* Software drivers: the C reference ("-generic"), the library one
 * ("sha256-lib") and synchronous CPU implementations (shash: sha256-avx2,
 * sha256-neon, sha1-ce). An engine registers an asynchronous ahash
 * (sha256-eip93, sha256-qce, mv-sha256). */
static bool
driver_is_engine(const struct alg_info *a)
{
	size_t n = strlen(a->driver);

	if (n == 0 || (n > 8 && strcmp(a->driver + n - 8, "-generic") == 0))
		return false;
	return strcmp(a->type, "ahash") == 0 && strncmp(a->driver, "cryptd(", 7) != 0;
}

/* "ab" into a context, a clone of it, then "c" into both: both must give
 * the FIPS 180-2 vector of "abc". With big, a long message goes first and
 * past the buffer (sent: the clone is the kernel's export and import, not
 * a fresh socket) and both must equal the software digest of it + "abc". */
static bool
clone_test(struct alg_info *a, bool big)
{
	static uint8_t msg[CONFIG_HAL_CRYPTO_AFALG_BUFFER_SIZE + 512 + 3];
	struct hal_hash_ctx c, k, s;
	uint8_t d[HAL_HASH_MAX_LEN], e[HAL_HASH_MAX_LEN], want[HAL_HASH_MAX_LEN];
	size_t len = hal_hash_len(a->alg), lead = big ? sizeof(msg) - 3 : 0;
	bool ok;

	for (size_t i = 0; i < lead; i++)
		msg[i] = (uint8_t)(i * 7u + 1u);
	memcpy(msg + lead, "abc", 3);
	if (big) {
		s.ops = NULL;
		if (hal_crypto_soft.hash_init(&s, a->alg) != 0)
			return false;
		ok = hal_hash_update(&s, msg, lead + 3) == 0;
		if (hal_hash_final(&s, want) != 0 || !ok)
			return false;
	} else {
		memcpy(want, a->abc, len);
	}
	measuring = true;
	ok = afalg_hash_init(&c, a->alg) == 0;
	measuring = false;
	if (!ok)
		return false;
	ok = (lead == 0 || afalg_hash_update(&c, msg, lead) == 0) &&
	    afalg_hash_update(&c, msg + lead, 2) == 0 && afalg_hash_clone(&k, &c) == 0;
	if (!ok) {
		afalg_hash_free(&c);
		return false;
	}
	ok = afalg_hash_update(&c, msg + lead + 2, 1) == 0 &&
	    afalg_hash_update(&k, msg + lead + 2, 1) == 0;
	ok = afalg_hash_final(&c, d) == 0 && ok;
	ok = afalg_hash_final(&k, e) == 0 && ok;
	return ok && memcmp(d, want, len) == 0 && memcmp(e, want, len) == 0;
}

static bool
self_test(struct alg_info *a)
{
	a->usable = true; /* for the test's own init */
	return clone_test(a, false) && clone_test(a, true);
}

/* The policy (Kconfig) for one algorithm; the verdict says why. */
static void
decide(struct alg_info *a)
{
	char drv[120];

	if (a->driver[0])
		snprintf(drv, sizeof(drv), "driver %s (priority %d, %s%s)", a->driver, a->priority,
		    a->type, a->engine ? ", an engine" : ", software");
	else
		snprintf(drv, sizeof(drv), "driver unknown (/proc/crypto has no entry)");
	a->serve = false;
#if defined(CONFIG_HAL_CRYPTO_AFALG_ALL)
	{
		a->serve = true;
		snprintf(a->verdict, sizeof(a->verdict), "%s: af_alg serves it (policy: all)", drv);
		return;
	}
#endif
	if (a->engine) {
		a->serve = true;
		snprintf(a->verdict, sizeof(a->verdict), "%s: af_alg serves it", drv);
		return;
	}
#if defined(CONFIG_HAL_CRYPTO_AFALG_HW)
	{
		snprintf(a->verdict, sizeof(a->verdict),
		    "%s: software hashes it (policy: engines only)", drv);
		return;
	}
#endif
	/* software in the kernel: worth a system call per block only if faster */
	measuring = true;
	a->kbps_afalg = hal_crypto_hash_kbps(&hal_crypto_afalg, a->alg, 30);
	measuring = false;
	a->kbps_soft = hal_crypto_hash_kbps(&hal_crypto_soft, a->alg, 30);
	a->measured = true;
	a->serve = a->kbps_afalg > a->kbps_soft + a->kbps_soft / 10;
	snprintf(a->verdict, sizeof(a->verdict),
	    "%s: %lu.%lu MB/s vs soft %lu.%lu MB/s at "
	    "64 KiB: %s",
	    drv, a->kbps_afalg / 1000, a->kbps_afalg % 1000 / 100, a->kbps_soft / 1000,
	    a->kbps_soft % 1000 / 100,
	    a->serve ? "af_alg serves it (faster)" : "software hashes it (not 10% faster)");
}

static int
afalg_probe(char *why, size_t cap)
{
	struct sockaddr_alg sa;
	unsigned usable = 0, served = 0;
	size_t len = 0;
	int fd = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		int e = errno;

		if (e == EAFNOSUPPORT)
			snprintf(family_verdict, sizeof(family_verdict),
			    "socket(AF_ALG): address family not supported (EAFNOSUPPORT): this "
			    "kernel has no AF_ALG (CONFIG_CRYPTO_USER_API_HASH, algif_hash); "
			    "software hashes");
		else
			snprintf(family_verdict, sizeof(family_verdict),
			    "socket(AF_ALG): %s: software hashes", strerror(e));
		snprintf(why, cap, "%s", family_verdict);
		return e == EAFNOSUPPORT ? -ENOTSUP : -EIO;
	}
	close(fd);
	read_drivers();
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		struct alg_info *a = &algs[i];

		if (a->tfm >= 0) { /* probed before (tests register twice) */
			usable += a->usable;
			served += a->serve;
			continue;
		}
		a->usable = a->serve = false;
		a->tfm = socket(AF_ALG, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		memset(&sa, 0, sizeof(sa));
		sa.salg_family = AF_ALG;
		memcpy(sa.salg_type, "hash", 5);
		snprintf((char *)sa.salg_name, sizeof(sa.salg_name), "%s", a->kname);
		if (a->tfm < 0 || bind(a->tfm, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
			snprintf(a->verdict, sizeof(a->verdict),
			    "not in this kernel (%s): software", strerror(errno));
			if (a->tfm >= 0)
				close(a->tfm);
			a->tfm = -1;
			continue;
		}
		a->engine = driver_is_engine(a);
		if (!self_test(a)) {
			a->usable = false;
			snprintf(a->verdict, sizeof(a->verdict),
			    "driver %s: self-test vector wrong "
			    "or socket failed: software",
			    a->driver[0] ? a->driver : "unknown");
			close(a->tfm);
			a->tfm = -1;
			continue;
		}
		usable++;
		decide(a);
		served += a->serve;
	}
	snprintf(family_verdict, sizeof(family_verdict),
	    "AF_ALG present, %u of 4 hashes pass "
	    "the self-test",
	    usable);
	if (usable == 0) {
		snprintf(why, cap, "AF_ALG present but no hash passes its self-test");
		return -ENOTSUP;
	}
	len = (size_t)snprintf(why, cap, "serves");
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]) && len < cap; i++)
		if (algs[i].serve)
			len += (size_t)snprintf(why + len, cap - len, " %s", algs[i].kname);
	if (served == 0 && len < cap)
		snprintf(why + len, cap - len,
		    " nothing (every driver is software and not "
		    "faster: see show crypto)");
	return 0;
}

static void
afalg_describe(void (*emit)(void *arg, const char *line), void *arg)
{
	char line[400];

	snprintf(line, sizeof(line), "af_alg: %s",
	    family_verdict[0] ? family_verdict : "not probed");
	emit(arg, line);
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (!algs[i].verdict[0])
			continue;
		snprintf(line, sizeof(line), "af_alg: %s: %s", algs[i].kname, algs[i].verdict);
		emit(arg, line);
	}
	if (fallbacks) {
		snprintf(line, sizeof(line),
		    "af_alg: %lu hashes fell back to software (accept() "
		    "failed)",
		    fallbacks);
		emit(arg, line);
	}
}

const struct hal_crypto_ops hal_crypto_afalg = {
	.name = "af_alg",
	.caps = afalg_caps,
	.probe = afalg_probe,
	.describe = afalg_describe,
	.hash_init = afalg_hash_init,
	.hash_update = afalg_hash_update,
	.hash_final = afalg_hash_final,
	.hash_clone = afalg_hash_clone,
	.hash_free = afalg_hash_free,
};
