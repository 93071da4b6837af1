/*
 * The TPM 2.0 key backend (hal/tpm2.h): RSA keys made and used inside the
 * TPM; this process holds only the TPM-wrapped blob and the public key.
 * One connection per process (the key holder's, or a tool's), opened at
 * the first key; every key remembers the connection it was loaded on, so
 * a reconnect (the TPM or the simulator restarted) reloads it lazily.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/log.h"
#include "hal/tpm2.h"

#define MOD "tpm2"

struct tkey {
	struct tpm2_blob blob;
	struct tpm2_rsa_pub pub;
	uint32_t handle;
	unsigned gen; /* the connection it is loaded on; 0: not loaded */
};

static struct tpm2_io *io;
static unsigned gen;
/* Keys of this process loaded in the TPM now: a TPM without a resource
 * manager in front (swtpm's socket) holds only ~3 objects, so a load that
 * finds no room evicts the others (they load again at their next sign). */
#define LOADED_MAX 32
static struct tkey *loaded[LOADED_MAX];
static char why[240];
static uint8_t cmd[TPM2_CMD_MAX], rsp[TPM2_RSP_MAX];

const char *
hal_tpm2_why(void)
{
	return why;
}

static void
fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	hal_log(HAL_LOG_ERR, MOD, "%s", why);
}

/* A few response codes by name (TPM 2.0 Part 2, 6.6), for log lines. */
static const char *
rc_name(uint32_t trc)
{
	if (trc == TPM2_RC_INITIALIZE)
		return "TPM_RC_INITIALIZE: the TPM was reset and not started";
	if (trc == 0x101u)
		return "TPM_RC_FAILURE: the TPM is in failure mode";
	if (trc == 0x902u)
		return "TPM_RC_OBJECT_MEMORY: no room for another object";
	if ((trc & 0x80u) && (trc & 0x3fu) == 0x0bu)
		return "TPM_RC_HANDLE: the key is not loaded";
	if ((trc & 0x80u) && (trc & 0x3fu) == 0x1fu)
		return "TPM_RC_INTEGRITY: the blob fails the TPM's integrity check";
	return "see TPM 2.0 Part 2, 6.6";
}

static void
disconnect(void)
{
	tpm2_io_close(io);
	io = NULL;
}

/* One command; the response in rsp. A transport failure drops the
 * connection (the next operation reconnects). */
static int
call(size_t n, size_t *rlen, const char *what)
{
	int rc = tpm2_io_call(io, cmd, n, rsp, sizeof(rsp), rlen);

	if (rc != 0) {
		fail("%s: %s: %s", tpm2_device(), what, strerror(-rc));
		disconnect();
		return -ENODEV;
	}
	return 0;
}

static void
flush(uint32_t h)
{
	size_t n = 0, rl = 0;
	uint32_t trc;

	if (io != NULL && tpm2_cmd_flush(cmd, sizeof(cmd), &n, h) == 0 && call(n, &rl, "flush") == 0)
		(void)tpm2_rsp_status(rsp, rl, &trc);
}

/* Without a resource manager (swtpm's socket), transient objects outlive
 * the connection that made them: flush what a killed process left. */
static void
flush_strays(void)
{
	uint32_t h[16], trc;
	size_t n = 0, rl = 0, cnt = 0;

	if (tpm2_cmd_get_handles(cmd, sizeof(cmd), &n, TPM2_HT_TRANSIENT, 16) != 0 ||
	    call(n, &rl, "get capability") != 0 ||
	    tpm2_rsp_get_handles(rsp, rl, &trc, h, 16, &cnt) != 0)
		return;
	for (size_t i = 0; i < cnt; i++)
		flush(h[i]);
}

void
hal_tpm2_set_device(const char *spec)
{
	if (tpm2_io_set_device(spec)) {
		disconnect();
		why[0] = 0;
		hal_log(HAL_LOG_INFO, MOD, "TPM device now %s", tpm2_device());
	}
}

static int
connect_tpm(void)
{
	char w[200] = "";
	int rc;

	if (io != NULL)
		return 0;
	if ((rc = tpm2_io_open(&io, tpm2_device(), w, sizeof(w))) != 0) {
		fail("cannot reach the TPM: %s", w);
		return -ENODEV;
	}
	gen++;
	if (gen == 0)
		gen = 1;
	if (strncmp(tpm2_device(), "tcp:", 4) == 0)
		flush_strays();
	return io != NULL ? 0 : -ENODEV;
}

static void
forget(struct tkey *k)
{
	for (int i = 0; i < LOADED_MAX; i++)
		if (loaded[i] == k)
			loaded[i] = NULL;
}

static void
remember(struct tkey *k)
{
	for (int i = 0; i < LOADED_MAX; i++)
		if (loaded[i] == NULL) {
			loaded[i] = k;
			return;
		}
}

/* Room for objects: flush every other loaded key of this process; how
 * many were flushed. */
static int
evict_others(const struct tkey *keep)
{
	int n = 0;

	for (int i = 0; i < LOADED_MAX; i++) {
		struct tkey *k = loaded[i];

		if (k == NULL || k == keep)
			continue;
		if (k->gen == gen && io != NULL)
			flush(k->handle);
		k->gen = 0;
		loaded[i] = NULL;
		n++;
	}
	return n;
}

#define TPM2_RC_OBJECT_MEMORY 0x902u

/* The storage root key, made from the owner seed with the SRK template:
 * the same key every time on the same TPM. A TPM not started yet (a
 * simulator without startup-clear) is started first. */
static int
create_srk(const struct tkey *k, uint32_t *srk)
{
	size_t n = 0, rl = 0;
	uint32_t trc = 0;
	int rc;

	for (int tries = 0; tries < 3; tries++) {
		if (tpm2_cmd_create_primary_srk(cmd, sizeof(cmd), &n) != 0 ||
		    call(n, &rl, "create primary") != 0)
			return -ENODEV;
		rc = tpm2_rsp_create_primary(rsp, rl, &trc, srk);
		if (rc == 0)
			return 0;
		if (rc == -EIO && trc == TPM2_RC_OBJECT_MEMORY && evict_others(k) > 0)
			continue;
		if (rc != -EIO || trc != TPM2_RC_INITIALIZE)
			break;
		if (tpm2_cmd_startup_clear(cmd, sizeof(cmd), &n) != 0 ||
		    call(n, &rl, "startup") != 0)
			return -ENODEV;
		(void)tpm2_rsp_status(rsp, rl, &trc);
	}
	fail("%s: the storage root key: %s (TPM response code 0x%03x)", tpm2_device(),
	    rc == -EIO ? "refused" : "malformed answer", (unsigned)trc);
	return -EIO;
}

/* Load k's blob under the SRK and read its public area back from the TPM. */
static int
load(struct tkey *k)
{
	uint8_t pub[TPM2_PUB_MAX];
	size_t n = 0, rl = 0, pl = 0;
	uint32_t srk, trc = 0, h;
	int rc;

	k->gen = 0;
	forget(k);
	if ((rc = connect_tpm()) != 0 || (rc = create_srk(k, &srk)) != 0)
		return rc;
	if (tpm2_cmd_load(cmd, sizeof(cmd), &n, srk, &k->blob) != 0) {
		flush(srk);
		return -EINVAL;
	}
	if (call(n, &rl, "load") != 0)
		return -ENODEV;
	rc = tpm2_rsp_load(rsp, rl, &trc, &h);
	if (rc == -EIO && trc == TPM2_RC_OBJECT_MEMORY && evict_others(k) > 0) {
		/* the flushes used cmd: build the command again */
		if (tpm2_cmd_load(cmd, sizeof(cmd), &n, srk, &k->blob) != 0 ||
		    call(n, &rl, "load") != 0)
			return -ENODEV;
		rc = tpm2_rsp_load(rsp, rl, &trc, &h);
	}
	flush(srk);
	if (rc == -EIO && (trc & 0x900u) == 0x900u) {
		fail("%s: load: the TPM is busy or full (warning 0x%03x)", tpm2_device(),
		    (unsigned)trc);
		return -EIO;
	}
	if (rc != 0) {
		fail("%s: the TPM refused the key blob (response code 0x%03x, %s): it was made "
		     "by another TPM, or the TPM was cleared, or the file is damaged",
		    tpm2_device(), (unsigned)trc, rc == -EIO ? rc_name(trc) : "malformed answer");
		return -EKEYREJECTED;
	}
	if (tpm2_cmd_read_public(cmd, sizeof(cmd), &n, h) != 0 || call(n, &rl, "read public") != 0)
		return -ENODEV;
	if (tpm2_rsp_read_public(rsp, rl, &trc, pub, sizeof(pub), &pl) != 0 ||
	    tpm2_public_parse(pub, pl, &k->pub) != 0 || pl != k->blob.publen ||
	    memcmp(pub, k->blob.pub, pl) != 0) {
		flush(h);
		fail("%s: the loaded key's public area differs from the key file", tpm2_device());
		return -EKEYREJECTED;
	}
	k->handle = h;
	k->gen = gen;
	remember(k);
	return 0;
}

static int
tpm2_key_load(struct hal_key *hk, const uint8_t *p, size_t n)
{
	struct tkey *k;
	int rc;

	if (!tpm2_keyfile_is(p, n))
		return -ENOTSUP; /* a PEM key: the next backend's */
	memset(hk, 0, sizeof(*hk));
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -ENOMEM;
	if (tpm2_keyfile_parse(p, n, &k->blob) != 0) {
		free(k);
		fail("the TPM key file is damaged (not the four lines of a zegel-tpm2-key 1 "
		     "file with an RSASSA-SHA256 signing key)");
		return -EINVAL;
	}
	if ((rc = load(k)) != 0) {
		free(k);
		return rc;
	}
	hk->ops = &hal_crypto_tpm2;
	hk->type = HAL_KEY_RSA;
	hk->bits = k->pub.bits;
	hk->impl = k;
	return 0;
}

static int
tpm2_key_generate(struct hal_key *hk, enum hal_key_type t, unsigned bits)
{
	struct tkey *k;
	size_t n = 0, rl = 0;
	uint32_t srk, trc = 0;
	int rc;

	if (t != HAL_KEY_RSA_TPM)
		return -ENOTSUP;
	memset(hk, 0, sizeof(*hk));
	if (bits != 2048)
		return -EINVAL;
	if ((rc = connect_tpm()) != 0 || (rc = create_srk(NULL, &srk)) != 0)
		return rc;
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		flush(srk);
		return -ENOMEM;
	}
	if (tpm2_cmd_create_rsa_sign(cmd, sizeof(cmd), &n, srk, bits) != 0 ||
	    call(n, &rl, "create") != 0) {
		free(k);
		return -ENODEV;
	}
	rc = tpm2_rsp_create(rsp, rl, &trc, &k->blob);
	flush(srk);
	if (rc != 0) {
		fail("%s: creating the key: %s (response code 0x%03x)", tpm2_device(),
		    rc == -EIO ? "refused" : "malformed answer", (unsigned)trc);
		free(k);
		return -EIO;
	}
	if ((rc = load(k)) != 0) {
		free(k);
		return rc;
	}
	hk->ops = &hal_crypto_tpm2;
	hk->type = HAL_KEY_RSA;
	hk->bits = k->pub.bits;
	hk->impl = k;
	return 0;
}

static int
tpm2_write(const struct hal_key *hk, char *buf, size_t cap, size_t *len)
{
	const struct tkey *k = hk->impl;

	return tpm2_keyfile_write(&k->blob, buf, cap, len);
}

static int
tpm2_public(const struct hal_key *hk, uint8_t *buf, size_t cap, size_t *len)
{
	const struct tkey *k = hk->impl;

	return tpm2_rsa_spki(&k->pub, buf, cap, len) == 0 ? 0 : -ERANGE;
}

static int
sign_once(struct tkey *k, const uint8_t *digest, uint8_t *sig, size_t cap, size_t *siglen)
{
	size_t n = 0, rl = 0;
	uint32_t trc = 0;
	int rc;

	if (k->gen != gen || io == NULL) {
		if ((rc = load(k)) != 0)
			return rc;
		hal_log(HAL_LOG_INFO, MOD, "key loaded into the TPM again (%s)", tpm2_device());
	}
	if (tpm2_cmd_sign_sha256(cmd, sizeof(cmd), &n, k->handle, digest) != 0)
		return -EINVAL;
	if (call(n, &rl, "sign") != 0)
		return -ENODEV;
	rc = tpm2_rsp_sign(rsp, rl, &trc, sig, cap, siglen);
	if (rc == -ERANGE)
		return rc;
	if (rc != 0) {
		fail("%s: sign: %s (response code 0x%03x, %s)", tpm2_device(),
		    rc == -EIO ? "refused" : "malformed answer", (unsigned)trc,
		    rc == -EIO ? rc_name(trc) : "-");
		return -EIO;
	}
	return 0;
}

static int
tpm2_sign(const struct hal_key *hk, enum hal_hash_alg alg, const uint8_t *msg, size_t n,
    uint8_t *sig, size_t cap, size_t *siglen)
{
	struct tkey *k = hk->impl;
	int rc;

	*siglen = 0;
	if (alg != HAL_HASH_SHA256 || n != 32)
		return -ENOTSUP;
	rc = sign_once(k, msg, sig, cap, siglen);
	if (rc == 0 || rc == -ERANGE || rc == -EINVAL)
		return rc;
	/* reset, restarted or unreachable: a new connection, the key loaded
	 * again from its blob, one more try */
	disconnect();
	hal_log(HAL_LOG_WARN, MOD, "signing failed; reconnecting and loading the key again");
	return sign_once(k, msg, sig, cap, siglen);
}

static void
tpm2_key_free(struct hal_key *hk)
{
	struct tkey *k = hk->impl;

	if (k == NULL)
		return;
	if (k->gen == gen && io != NULL)
		flush(k->handle);
	forget(k);
	memset(k, 0, sizeof(*k));
	free(k);
	hk->impl = NULL;
}

static void
tpm2_describe(void (*emit)(void *arg, const char *line), void *arg)
{
	char line[300];

	snprintf(line, sizeof(line), "tpm2: keys in the TPM at %s%s%s", tpm2_device(),
	    why[0] ? "; last error: " : "", why);
	emit(arg, line);
}

static uint32_t
tpm2_caps(void)
{
	/* no CAP_HW: whether a TPM is there is known only at the first key */
	return HAL_CRYPTO_CAP_RSA | HAL_CRYPTO_CAP_KEYGEN;
}

/* The probe opens nothing: a TPM is opened at the first TPM key, never
 * for a PEM key, so a board without one pays nothing and every key file
 * says which backend it needs. */
static int
tpm2_probe(char *w, size_t cap)
{
	snprintf(w, cap, "TPM key files only (the TPM, %s, is opened at the first)", tpm2_device());
	return 0;
}

const struct hal_crypto_ops hal_crypto_tpm2 = {
	.name = "tpm2",
	.caps = tpm2_caps,
	.probe = tpm2_probe,
	.describe = tpm2_describe,
	.key_load = tpm2_key_load,
	.key_generate = tpm2_key_generate,
	.key_write_pem = tpm2_write,
	.key_public = tpm2_public,
	.sign = tpm2_sign,
	.key_free = tpm2_key_free,
};
