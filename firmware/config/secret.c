/*
 * The relay password at rest (issue 20 part 3). `save` writes it sealed
 * with a device key, never in clear:
 *
 *   set relay password-sealed zs1.<nonce, 32 hex>.<ciphertext, hex>.<tag, 16 hex>
 *
 * The device key is 32 random octets in <data-dir>/secret.key (mode 0600),
 * created at the first save that needs it. Keystream block i is
 * SHA-256(key || nonce || i as 4 octets big-endian); the tag is the first 8
 * octets of SHA-256(key || nonce || "zegel-seal-tag" || ciphertext), so a
 * wrong or missing key is a clear error, never a garbage password. A fresh
 * nonce per save. What this protects: the configuration file alone (a
 * backup, a file attached to a support mail); what it does not: anyone who
 * can read the data directory has the key too (firmware/config/README.md).
 */
#include <stdio.h>
#include <string.h>

#include "firmware/config/internal.h"
#include "hal/crypto.h"
#include "hal/entropy.h"
#include "hal/storage.h"

#define SEAL_PREFIX "zs1."
#define KEY_FILE "secret.key"

static const char tag_label[] = "zegel-seal-tag";

static void
key_path(const char *data_dir, char *p, size_t cap)
{
	snprintf(p, cap, "%s/%s", data_dir[0] ? data_dir : ".", KEY_FILE);
}

/* The device key; created (mode 0600) if absent and create is set. */
static int
device_key(const char *data_dir, bool create, uint8_t key[32], char *err, size_t cap)
{
	char path[ZCFG_PATH_MAX + 16];
	size_t len = 0;
	int rc;

	key_path(data_dir, path, sizeof(path));
	rc = hal_storage_get(path, key, 32, &len);
	if (rc == 0 && len == 32)
		return 0;
	if (rc == 0 || rc == -EFBIG)
		return config_fail(err, cap, "device key %s is not 32 octets", path);
	if (rc != -ENOENT || !create)
		return config_fail(err, cap, "cannot read the device key %s: %s", path,
		    strerror(-rc));
	if (hal_entropy_fill(key, 32) != 0)
		return config_fail(err, cap, "no entropy for the device key %s", path);
	if (data_dir[0])
		hal_storage_mkdirs(data_dir, 0700);
	if ((rc = hal_storage_put(path, key, 32, 0600)) != 0) {
		config_wipe(key, 32);
		return config_fail(err, cap, "cannot write the device key %s: %s", path,
		    strerror(-rc));
	}
	return 0;
}

static int
sha(const uint8_t *a, size_t an, const void *b, size_t bn, const void *c, size_t cn,
    const void *d, size_t dn, uint8_t out[32])
{
	struct hal_hash_ctx h;
	int rc = hal_hash_init(&h, HAL_HASH_SHA256);

	if (rc == 0)
		rc = hal_hash_update(&h, a, an);
	if (rc == 0 && bn)
		rc = hal_hash_update(&h, b, bn);
	if (rc == 0 && cn)
		rc = hal_hash_update(&h, c, cn);
	if (rc == 0 && dn)
		rc = hal_hash_update(&h, d, dn);
	if (rc == 0)
		rc = hal_hash_final(&h, out);
	hal_hash_free(&h); /* after a failed update; a no-op after final */
	config_wipe(&h, sizeof(h));
	return rc;
}

/* buf ^= keystream(key, nonce); the same call seals and opens. */
static int
xcrypt(const uint8_t key[32], const uint8_t nonce[16], uint8_t *buf, size_t n)
{
	uint8_t ks[32], ctr[4];
	int rc = 0;

	for (size_t off = 0, i = 0; off < n && rc == 0; off += 32, i++) {
		ctr[0] = (uint8_t)(i >> 24), ctr[1] = (uint8_t)(i >> 16);
		ctr[2] = (uint8_t)(i >> 8), ctr[3] = (uint8_t)i;
		rc = sha(key, 32, nonce, 16, ctr, 4, NULL, 0, ks);
		for (size_t j = 0; j < 32 && off + j < n && rc == 0; j++)
			buf[off + j] ^= ks[j];
	}
	config_wipe(ks, sizeof(ks));
	return rc;
}

static int
tag_of(const uint8_t key[32], const uint8_t nonce[16], const uint8_t *ct, size_t n,
    uint8_t tag[8])
{
	uint8_t d[32];
	int rc = sha(key, 32, nonce, 16, tag_label, sizeof(tag_label) - 1, ct, n, d);

	memcpy(tag, d, 8);
	return rc;
}

static void
hexw(char *o, const uint8_t *p, size_t n)
{
	static const char dg[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++)
		o[2 * i] = dg[p[i] >> 4], o[2 * i + 1] = dg[p[i] & 15];
	o[2 * n] = 0;
}

static bool
hexr(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;

		if (v < 0)
			return false;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return true;
}

int
config_secret_seal(const char *data_dir, const char *plain, char *out, size_t cap, char *err,
    size_t errcap)
{
	uint8_t key[32], nonce[16], buf[ZCFG_SECRET_MAX], tag[8];
	size_t n = strlen(plain), k = sizeof(SEAL_PREFIX) - 1;
	int rc;

	if (n == 0 || n >= sizeof(buf) || cap < k + 32 + 1 + 2 * n + 1 + 16 + 1)
		return config_fail(err, errcap, "secret too long to seal");
	if ((rc = device_key(data_dir, true, key, err, errcap)) != 0)
		return rc;
	if (hal_entropy_fill(nonce, sizeof(nonce)) != 0) {
		config_wipe(key, sizeof(key));
		return config_fail(err, errcap, "no entropy to seal the secret");
	}
	memcpy(buf, plain, n);
	rc = xcrypt(key, nonce, buf, n);
	if (rc == 0)
		rc = tag_of(key, nonce, buf, n, tag);
	config_wipe(key, sizeof(key));
	if (rc != 0) {
		config_wipe(buf, sizeof(buf));
		return config_fail(err, errcap, "hashing failed (%d)", rc);
	}
	memcpy(out, SEAL_PREFIX, k);
	hexw(out + k, nonce, 16);
	out[k + 32] = '.';
	hexw(out + k + 33, buf, n);
	out[k + 33 + 2 * n] = '.';
	hexw(out + k + 34 + 2 * n, tag, 8);
	config_wipe(buf, sizeof(buf));
	return 0;
}

int
config_secret_open(const char *data_dir, const char *sealed, char *out, size_t cap, char *err,
    size_t errcap)
{
	uint8_t key[32], nonce[16], buf[ZCFG_SECRET_MAX], tag[8], want[8], diff = 0;
	size_t k = sizeof(SEAL_PREFIX) - 1, len = strlen(sealed), n;
	char path[ZCFG_PATH_MAX + 16];
	int rc;

	/* zs1. + 32 + . + 2n + . + 16 */
	if (len < k + 32 + 1 + 2 + 1 + 16 || strncmp(sealed, SEAL_PREFIX, k) != 0 ||
	    sealed[k + 32] != '.' || sealed[len - 17] != '.' || (len - k - 34 - 16) % 2 != 0)
		return config_fail(err, errcap, "'%.40s...' is not a sealed secret (zs1.NONCE.DATA.TAG, "
		    "as save writes it)", sealed);
	n = (len - k - 34 - 16) / 2;
	if (n >= sizeof(buf) || n >= cap || !hexr(sealed + k, 16, nonce) ||
	    !hexr(sealed + k + 33, n, buf) || !hexr(sealed + len - 16, 8, tag))
		return config_fail(err, errcap, "'%.40s...' is not a sealed secret (hex digits, "
		    "at most %d octets)", sealed, ZCFG_SECRET_MAX - 1);
	if ((rc = device_key(data_dir, false, key, err, errcap)) != 0)
		return rc;
	rc = tag_of(key, nonce, buf, n, want);
	for (size_t i = 0; i < 8; i++)
		diff |= (uint8_t)(tag[i] ^ want[i]);
	if (rc == 0 && diff == 0)
		rc = xcrypt(key, nonce, buf, n);
	config_wipe(key, sizeof(key));
	if (rc != 0 || diff != 0) {
		config_wipe(buf, sizeof(buf));
		key_path(data_dir, path, sizeof(path));
		return config_fail(err, errcap, "the device key %s does not open this secret (a "
		    "configuration from another device, or a new key): set the password again",
		    path);
	}
	memcpy(out, buf, n);
	out[n] = 0;
	config_wipe(buf, sizeof(buf));
	if (strlen(out) != n) {
		config_wipe(out, cap);
		return config_fail(err, errcap, "the sealed secret holds a NUL octet");
	}
	return 0;
}
