/*
 * TLS server side (see tls.h): the device certificate and key, and the
 * per-session mbedTLS contexts used for STARTTLS (RFC 3207) and implicit
 * TLS on 465 (RFC 8314). TLS 1.2 or newer unless a listener's tls-min
 * allows 1.0/1.1 (old LAN devices) and the linked mbedTLS has them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "firmware/tls/material.h"
#include "firmware/tls/tls.h"
#include "hal/clock.h"
#include "hal/crypto.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "hal/storage.h"

/*
 * Two slots of material: a reload builds the one not in use and switches.
 * A session keeps a pointer to its slot's mbedTLS config until it is freed,
 * so a slot that sessions still use is never rebuilt (the reload waits).
 * One config per minimum version (TLS 1.0, 1.1, 1.2 = index 0..2), all
 * sharing the slot's certificate and key.
 */
#define NVER 3
struct slot {
	bool ready;
	unsigned users;
	bool have[NVER];
	mbedtls_ssl_config conf[NVER];
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
	/* a key held by the key holder (TPM): signatures go there */
	bool held;
	struct hal_key hkey;
	struct tls_material_held h;
	uint8_t spki[600]; /* RSA-4096 SubjectPublicKeyInfo: 550 */
	char what[80];
};

static struct slot slots[2];
static int active = -1;

bool
tls_server_ready(void)
{
	return active >= 0;
}

const char *
tls_strerror(int err, char *buf, size_t cap)
{
	mbedtls_strerror(err, buf, cap);
	return buf;
}

/* TLS 1.x minor version of a listener's tls-min, as mbedTLS numbers it
 * (MBEDTLS_SSL_MINOR_VERSION_1 = TLS 1.0), or -1. */
static int
minor_of(unsigned tls_min)
{
	switch (tls_min) {
	case 0:
	case 12:
		return MBEDTLS_SSL_MINOR_VERSION_3;
	case 10:
		return MBEDTLS_SSL_MINOR_VERSION_1;
	case 11:
		return MBEDTLS_SSL_MINOR_VERSION_2;
	default:
		return -1;
	}
}

int
tls_server_min_supported(unsigned tls_min, char *err, size_t errcap)
{
	bool ok = false;
	const char *opt = "";

	switch (tls_min) {
	case 0:
	case 12:
		return 0;
	case 10:
#if defined(MBEDTLS_SSL_PROTO_TLS1)
		ok = true;
#endif
		opt = "MBEDTLS_SSL_PROTO_TLS1";
		break;
	case 11:
#if defined(MBEDTLS_SSL_PROTO_TLS1_1)
		ok = true;
#endif
		opt = "MBEDTLS_SSL_PROTO_TLS1_1";
		break;
	case 13:
		snprintf(err, errcap, "TLS 1.3 is not available: this build's mbedTLS %s has no "
		    "TLS 1.3 server (1.2 is the highest)", MBEDTLS_VERSION_STRING);
		return -ENOTSUP;
	default:
		snprintf(err, errcap, "%u is not a TLS version (10, 11, 12, 13)", tls_min);
		return -EINVAL;
	}
	if (ok)
		return 0;
	snprintf(err, errcap, "TLS 1.%u is not available: this build's mbedTLS %s was compiled "
	    "without it (%s, see toolchain/mbedtls/zegel.unset); use tls-min 1.2 or mode no-tls",
	    tls_min - 10, MBEDTLS_VERSION_STRING, opt);
	return -ENOTSUP;
}

/* Read a file NUL-terminated (mbedTLS wants the NUL in a PEM's length). */
static int
read_pem(const char *path, unsigned char *buf, size_t cap, size_t *len)
{
	int rc = hal_storage_get(path, buf, cap - 1, len);

	if (rc < 0)
		return rc;
	buf[(*len)++] = '\0';
	return 0;
}

static bool
exists(const char *path)
{
	return hal_storage_exists(path) == 1;
}

static void
parent_dir(const char *path, unsigned mode)
{
	const char *slash = strrchr(path, '/');
	char dir[HAL_PATH_MAX];

	if (slash == NULL || slash == path)
		return;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	hal_storage_mkdirs(dir, mode);
}

static unsigned char kbuf[16384], cbuf[16384];

int
tls_server_check(const char *cert_path, const char *key_path, bool generated, char *err,
    size_t errcap)
{
	bool hc = exists(cert_path), hk = exists(key_path);
	size_t cl, kl;
	int rc;

	err[0] = '\0';
	if (!generated && (!hc || !hk)) {
		snprintf(err, errcap, "tls %s %s does not exist (zegel writes no file an admin "
		    "named; correct the path, or 'delete tls' for zegel's own self-signed pair)",
		    !hc ? "cert" : "key", !hc ? cert_path : key_path);
		return -ENOENT;
	}
	if (generated && hc && !hk) {
		snprintf(err, errcap, "tls cert %s exists without its key %s (restore the key, or "
		    "remove the certificate to have a new pair generated)", cert_path, key_path);
		return -ENOENT;
	}
	if (!hc && !hk)
		return 0; /* zegel's own: generated at apply */
	if (!hc) { /* a certificate is made for this key at apply: it must be one */
		if ((rc = read_pem(key_path, kbuf, sizeof(kbuf), &kl)) < 0) {
			snprintf(err, errcap, "tls key %s: cannot read: %s", key_path,
			    strerror(-rc));
			return rc;
		}
		rc = tls_material_key_check(kbuf, kl);
		mbedtls_platform_zeroize(kbuf, sizeof(kbuf));
		if (rc != 0) {
			snprintf(err, errcap, "tls key %s: %s", key_path, tls_material_strerror(rc));
			return -EINVAL;
		}
		return 0;
	}
	if ((rc = read_pem(cert_path, cbuf, sizeof(cbuf), &cl)) < 0) {
		snprintf(err, errcap, "tls cert %s: cannot read: %s", cert_path, strerror(-rc));
		return rc;
	}
	if ((rc = read_pem(key_path, kbuf, sizeof(kbuf), &kl)) < 0) {
		snprintf(err, errcap, "tls key %s: cannot read: %s", key_path, strerror(-rc));
		return rc;
	}
	rc = tls_material_check(cbuf, cl, kbuf, kl);
	mbedtls_platform_zeroize(kbuf, sizeof(kbuf));
	if (rc == TLS_MAT_CERT)
		snprintf(err, errcap, "tls cert %s: %s", cert_path, tls_material_strerror(rc));
	else if (rc == TLS_MAT_KEY)
		snprintf(err, errcap, "tls key %s: %s", key_path, tls_material_strerror(rc));
	else if (rc == TLS_MAT_MISMATCH && generated) {
		/* zegel's own certificate for another key is made again at apply */
		bool names;

		if (tls_material_own(cbuf, cl, "", &names) == 1)
			return 0;
	}
	if (rc == TLS_MAT_MISMATCH)
		snprintf(err, errcap, "tls key %s does not belong to tls cert %s (their public keys "
		    "differ)", key_path, cert_path);
	return rc == 0 ? 0 : -EINVAL;
}

/* zegel's own pair (see tls.h): make what is missing, never overwrite a key
 * or a certificate zegel did not make. */
static int
ensure_own(const char *cert_path, const char *key_path, const char *hostname, char *err,
    size_t errcap)
{
	bool hc = exists(cert_path), hk = exists(key_path), names = false;
	int64_t now = hal_clock_now();
	size_t kl, cl;
	int rc, own = 0;

	if (hc && !hk) {
		snprintf(err, errcap, "tls cert %s exists without its key %s", cert_path, key_path);
		return -ENOENT;
	}
	if (!hk) {
		if ((rc = tls_material_new_key(hal_entropy_rng, NULL, kbuf, sizeof(kbuf), &kl)) != 0) {
			snprintf(err, errcap, "cannot generate the TLS key: %s",
			    tls_material_strerror(rc));
			return -EIO;
		}
		parent_dir(key_path, 0700);
		if ((rc = hal_storage_put(key_path, kbuf, kl - 1, 0600)) < 0) {
			snprintf(err, errcap, "cannot write %s: %s", key_path, strerror(-rc));
			goto out;
		}
	} else if ((rc = read_pem(key_path, kbuf, sizeof(kbuf), &kl)) < 0) {
		snprintf(err, errcap, "tls key %s: cannot read: %s", key_path, strerror(-rc));
		goto out;
	}
	if (hc) {
		if ((rc = read_pem(cert_path, cbuf, sizeof(cbuf), &cl)) < 0) {
			snprintf(err, errcap, "tls cert %s: cannot read: %s", cert_path,
			    strerror(-rc));
			goto out;
		}
		own = tls_material_own(cbuf, cl, hostname, &names);
		rc = 0;
		if (own != 1 || (names && tls_material_check(cbuf, cl, kbuf, kl) == 0))
			goto out; /* an admin's certificate, or ours and right */
	}
	if (now < 1600000000)
		now = hal_clock_build_time;
	if ((rc = tls_material_self_signed(kbuf, kl, hostname, now, hal_entropy_rng, NULL, cbuf,
		 sizeof(cbuf), &cl)) != 0) {
		snprintf(err, errcap, "cannot build the TLS certificate for %s: %s", hostname,
		    tls_material_strerror(rc));
		rc = -EIO;
		goto out;
	}
	parent_dir(cert_path, 0755);
	if ((rc = hal_storage_put(cert_path, cbuf, cl - 1, 0644)) < 0) {
		snprintf(err, errcap, "cannot write %s: %s", cert_path, strerror(-rc));
		goto out;
	}
	if (own == 1)
		hal_log(HAL_LOG_INFO, "tls", "self-signed certificate %s made again for %s (it "
		    "named another host or key)", cert_path, hostname);
	else
		hal_log(HAL_LOG_INFO, "tls", "generated a self-signed certificate for %s in %s%s",
		    hostname, cert_path, hk ? " (for the existing key)" : "");
out:
	mbedtls_platform_zeroize(kbuf, sizeof(kbuf));
	return rc;
}

static void
slot_free(struct slot *s)
{
	if (!s->ready)
		return;
	for (int i = 0; i < NVER; i++)
		if (s->have[i])
			mbedtls_ssl_config_free(&s->conf[i]);
	mbedtls_x509_crt_free(&s->cert);
	mbedtls_pk_free(&s->key);
	if (s->held)
		hal_key_free(&s->hkey);
	memset(s, 0, sizeof(*s));
}

/* The held key's signature (material.h): a request to the key holder,
 * which signs with the TPM. It blocks the event loop for the TPM's time
 * (mbedTLS 2.28 as Debian builds it has no MBEDTLS_SSL_ASYNC_PRIVATE). */
static int
held_sign(void *ctx, const uint8_t digest[32], uint8_t *sig, size_t cap, size_t *siglen)
{
	struct slot *s = ctx;
	int rc = hal_key_sign(&s->hkey, HAL_HASH_SHA256, digest, 32, sig, cap, siglen);

	if (rc != 0)
		hal_log(HAL_LOG_ERR, "tls", "the TLS key %s did not sign (%s): TLS refused (no "
		    "other key is used) until the TPM signs again", s->what,
		    rc == -ENODEV ? "the TPM cannot be reached" : strerror(-rc < 0 ? -rc : EIO));
	return rc;
}

/* zegel's own certificate for a held key: made (signed by the TPM) when
 * missing, or when it is zegel's and names another host or key. */
static int
ensure_own_held(struct slot *s, const char *cert_path, const char *hostname, char *err,
    size_t errcap)
{
	bool hc = exists(cert_path), names = false;
	int64_t now = hal_clock_now();
	size_t cl;
	int rc, own = 0;

	if (hc) {
		if ((rc = read_pem(cert_path, cbuf, sizeof(cbuf), &cl)) < 0) {
			snprintf(err, errcap, "tls cert %s: cannot read: %s", cert_path,
			    strerror(-rc));
			return rc;
		}
		own = tls_material_own(cbuf, cl, hostname, &names);
		if (own != 1 || (names && tls_material_check_held(cbuf, cl, &s->h) == 0))
			return 0;
	}
	if (now < 1600000000)
		now = hal_clock_build_time;
	if ((rc = tls_material_self_signed_held(&s->h, hostname, now, hal_entropy_rng, NULL, cbuf,
		 sizeof(cbuf), &cl)) != 0) {
		snprintf(err, errcap, "cannot build the TLS certificate for %s with %s: %s",
		    hostname, s->what, tls_material_strerror(rc));
		return -EIO;
	}
	parent_dir(cert_path, 0755);
	if ((rc = hal_storage_put(cert_path, cbuf, cl - 1, 0644)) < 0) {
		snprintf(err, errcap, "cannot write %s: %s", cert_path, strerror(-rc));
		return rc;
	}
	hal_log(HAL_LOG_INFO, "tls", "self-signed certificate for %s in %s, signed by %s",
	    hostname, cert_path, s->what);
	return 0;
}

/* ECDHE-RSA suites only: a held key signs, it never decrypts (no RSA key
 * exchange). */
static int ecdhe_rsa[64];

static const int *
held_suites(void)
{
	const int *all = mbedtls_ssl_list_ciphersuites();
	size_t n = 0;

	for (; *all != 0 && n + 1 < sizeof(ecdhe_rsa) / sizeof(ecdhe_rsa[0]); all++) {
		const mbedtls_ssl_ciphersuite_t *cs = mbedtls_ssl_ciphersuite_from_id(*all);

		if (cs != NULL && cs->key_exchange == MBEDTLS_KEY_EXCHANGE_ECDHE_RSA)
			ecdhe_rsa[n++] = *all;
	}
	ecdhe_rsa[n] = 0;
	return ecdhe_rsa;
}

static const int sha256_only[] = { MBEDTLS_MD_SHA256, MBEDTLS_MD_NONE };

static int setup(struct slot *s, int next, const char *cert_path, const char *key_path,
    char *err, size_t errcap);

int
tls_server_setup(const char *cert_path, const char *key_path, const char *hostname,
    bool generated, char *err, size_t errcap)
{
	struct slot *s;
	int next = active == 0 ? 1 : 0, rc;

	err[0] = '\0';
	if (slots[next].users > 0) {
		snprintf(err, errcap, "%u session(s) still use the TLS material before the last; "
		    "commit again when they ended", slots[next].users);
		return -EBUSY;
	}
	if (generated && (rc = ensure_own(cert_path, key_path, hostname, err, errcap)) < 0)
		return rc;
	s = &slots[next];
	slot_free(s);
	return setup(s, next, cert_path, key_path, err, errcap);
}

int
tls_server_setup_held(const char *cert_path, const char *key_name, struct hal_key *key,
    const char *hostname, bool generated, char *err, size_t errcap)
{
	struct slot *s;
	size_t pl = 0;
	int next = active == 0 ? 1 : 0, rc;

	err[0] = '\0';
	if (slots[next].users > 0) {
		snprintf(err, errcap, "%u session(s) still use the TLS material before the last; "
		    "commit again when they ended", slots[next].users);
		hal_key_free(key);
		return -EBUSY;
	}
	s = &slots[next];
	slot_free(s);
	s->held = true;
	s->hkey = *key;
	memset(key, 0, sizeof(*key));
	snprintf(s->what, sizeof(s->what), "%s", key_name);
	if (s->hkey.type != HAL_KEY_RSA ||
	    hal_key_public(&s->hkey, s->spki, sizeof(s->spki), &pl) != 0) {
		snprintf(err, errcap, "tls key %s: not an RSA key", key_name);
		rc = -EINVAL;
		goto fail;
	}
	s->h = (struct tls_material_held){ s->spki, pl, s->hkey.bits, held_sign, s };
	if (generated && (rc = ensure_own_held(s, cert_path, hostname, err, errcap)) < 0)
		goto fail;
	return setup(s, next, cert_path, NULL, err, errcap);
fail:
	hal_key_free(&s->hkey);
	memset(s, 0, sizeof(*s));
	return rc;
}

void
tls_server_disable(void)
{
	active = -1;
}

/* Load the certificate and key (key_path NULL: s's held key) into slot s
 * and make it the active one. */
static int
setup(struct slot *s, int next, const char *cert_path, const char *key_path, char *err,
    size_t errcap)
{
	size_t len;
	int rc;

	mbedtls_x509_crt_init(&s->cert);
	mbedtls_pk_init(&s->key);
	s->ready = true; /* for slot_free: the objects exist */
	if ((rc = read_pem(cert_path, cbuf, sizeof(cbuf), &len)) < 0) {
		snprintf(err, errcap, "tls cert %s: cannot read: %s", cert_path, strerror(-rc));
		goto fail;
	}
	if ((rc = mbedtls_x509_crt_parse(&s->cert, cbuf, len)) != 0) {
		snprintf(err, errcap, "tls cert %s: %s", cert_path,
		    tls_material_strerror(TLS_MAT_CERT));
		goto fail;
	}
	if (key_path == NULL) {
		if (tls_material_check_held(cbuf, len, &s->h) != 0) {
			snprintf(err, errcap, "tls key %s does not belong to tls cert %s (their "
			    "public keys differ)", s->what, cert_path);
			rc = -EINVAL;
			goto fail;
		}
		if (tls_material_pk_held(&s->key, &s->h) != 0) {
			snprintf(err, errcap, "tls key %s: %s", s->what,
			    tls_material_strerror(TLS_MAT_KEY));
			rc = -EINVAL;
			goto fail;
		}
	} else if ((rc = read_pem(key_path, kbuf, sizeof(kbuf), &len)) < 0) {
		snprintf(err, errcap, "tls key %s: cannot read: %s", key_path, strerror(-rc));
		goto fail;
	}
	if (key_path != NULL) {
		rc = mbedtls_pk_parse_key(&s->key, kbuf, len, NULL, 0);
		mbedtls_platform_zeroize(kbuf, sizeof(kbuf));
		if (rc != 0) {
			snprintf(err, errcap, "tls key %s: %s", key_path,
			    tls_material_strerror(TLS_MAT_KEY));
			goto fail;
		}
	}
	if (key_path != NULL && mbedtls_pk_check_pair(&s->cert.pk, &s->key) != 0) {
		snprintf(err, errcap, "tls key %s does not belong to tls cert %s (their public keys "
		    "differ)", key_path, cert_path);
		rc = -EINVAL;
		goto fail;
	}
	for (int i = 0; i < NVER; i++) {
		mbedtls_ssl_config *c = &s->conf[i];

		if (tls_server_min_supported((unsigned)(10 + i), err, errcap) != 0)
			continue;
		mbedtls_ssl_config_init(c);
		s->have[i] = true;
		if ((rc = mbedtls_ssl_config_defaults(c, MBEDTLS_SSL_IS_SERVER,
			 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0 ||
		    (rc = mbedtls_ssl_conf_own_cert(c, &s->cert, &s->key)) != 0) {
			snprintf(err, errcap, "TLS configuration failed");
			goto fail;
		}
		mbedtls_ssl_conf_rng(c, hal_entropy_rng, NULL);
		if (s->held) { /* what the TPM signs: SHA-256, no RSA key exchange */
			mbedtls_ssl_conf_sig_hashes(c, sha256_only);
			mbedtls_ssl_conf_ciphersuites(c, held_suites());
		}
		mbedtls_ssl_conf_min_version(c, MBEDTLS_SSL_MAJOR_VERSION_3,
		    MBEDTLS_SSL_MINOR_VERSION_1 + i);
	}
	err[0] = '\0';
	active = next;
	return 0;
fail:
	slot_free(s);
	return rc < 0 && rc > -200 ? rc : -EINVAL;
}

int
tls_server_conn_init(struct tls_server_conn *t, unsigned tls_min, uint8_t *in, size_t *inlen,
    uint8_t *out, size_t *outlen, size_t outcap)
{
	int minor = minor_of(tls_min), rc;
	struct slot *s;

	memset(t, 0, sizeof(*t));
	if (active < 0)
		return -ENOTSUP;
	s = &slots[active];
	if (minor < MBEDTLS_SSL_MINOR_VERSION_1 || !s->have[minor - MBEDTLS_SSL_MINOR_VERSION_1])
		return -ENOTSUP;
	mbedtls_ssl_init(&t->ssl);
	if ((rc = mbedtls_ssl_setup(&t->ssl, &s->conf[minor - MBEDTLS_SSL_MINOR_VERSION_1])) != 0) {
		mbedtls_ssl_free(&t->ssl);
		return -ENOMEM;
	}
	t->bio = (struct tls_bio){ in, inlen, out, outlen, outcap };
	mbedtls_ssl_set_bio(&t->ssl, &t->bio, tls_bio_send, tls_bio_recv, NULL);
	t->used = true;
	t->slot = (signed char)active;
	s->users++;
	return 0;
}

static int
want(int rc)
{
	return rc == MBEDTLS_ERR_SSL_WANT_READ || rc == MBEDTLS_ERR_SSL_WANT_WRITE;
}

int
tls_server_conn_handshake(struct tls_server_conn *t)
{
	int rc = mbedtls_ssl_handshake(&t->ssl);

	if (rc == 0) {
		t->done = true;
		return 1;
	}
	return want(rc) ? TLS_WANT : rc;
}

ssize_t
tls_server_conn_read(struct tls_server_conn *t, uint8_t *p, size_t n)
{
	int rc = mbedtls_ssl_read(&t->ssl, p, n);

	if (rc > 0)
		return rc;
	if (rc == 0)
		return -1;          /* close_notify or EOF */
	return want(rc) ? TLS_WANT : rc;
}

ssize_t
tls_server_conn_write(struct tls_server_conn *t, const uint8_t *p, size_t n)
{
	int rc = mbedtls_ssl_write(&t->ssl, p, n);

	if (rc > 0)
		return rc;
	return want(rc) || rc == 0 ? TLS_WANT : rc;
}

void
tls_server_conn_describe(const struct tls_server_conn *t, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s with cipher %s", mbedtls_ssl_get_version(&t->ssl),
	    mbedtls_ssl_get_ciphersuite(&t->ssl));
}

void
tls_server_conn_free(struct tls_server_conn *t)
{
	if (t->used) {
		mbedtls_ssl_free(&t->ssl);
		if (slots[t->slot].users > 0)
			slots[t->slot].users--;
	}
	t->used = t->done = false;
}

int
tls_server_csr(const char *hostname, uint8_t *pem, size_t cap, size_t *len, char *err,
    size_t errcap)
{
	struct slot *s;
	int rc;

	err[0] = '\0';
	if (active < 0) {
		snprintf(err, errcap, "no TLS key in use (see the log's tls lines)");
		return -ENOENT;
	}
	s = &slots[active];
	if (!s->held) {
		/* mbedTLS's CSR writer is compiled out of the cross builds
		 * (toolchain/mbedtls/zegel.unset); a key file is the admin's
		 * to use with any tool */
		snprintf(err, errcap, "the TLS key is a file: make the request with it (openssl req "
		    "-new -key FILE); 'tls csr' is for a key in the TPM");
		return -ENOTSUP;
	}
	rc = tls_material_csr_held(&s->h, hostname, pem, cap, len);
	if (rc != 0)
		snprintf(err, errcap, "%s: %s", s->what, tls_material_strerror(rc));
	return rc == 0 ? 0 : -EIO;
}
