/*
 * TLS server side (see tls.h): the device certificate and key, and the
 * per-session mbedTLS contexts used for STARTTLS (RFC 3207) and implicit
 * TLS on 465 (RFC 8314). TLS 1.2 or newer only.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "firmware/tls/tls.h"
#include "hal/clock.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "hal/storage.h"

static struct {
	bool ready;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_pk_context key;
} srv;

bool
tls_server_ready(void)
{
	return srv.ready;
}

const char *
tls_strerror(int err, char *buf, size_t cap)
{
	mbedtls_strerror(err, buf, cap);
	return buf;
}

static void
tm_string(time_t t, char out[16])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* A new ECDSA P-256 key and self-signed certificate, as PEM files. */
static int
generate(const char *cert_path, const char *key_path, const char *hostname, char *err,
    size_t errcap)
{
	mbedtls_pk_context key;
	mbedtls_x509write_cert crt;
	mbedtls_mpi serial;
	unsigned char pem[4096], rnd[16];
	char subject[300], from[16], to[16];
	time_t now = (time_t)hal_clock_now();
	int rc;

	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);
	if ((rc = mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (rc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
		 hal_entropy_rng, NULL)) != 0) {
		snprintf(err, errcap, "cannot generate the TLS key");
		goto out;
	}
	if ((rc = mbedtls_pk_write_key_pem(&key, pem, sizeof(pem))) != 0)
		goto out;
	{
		const char *slash = strrchr(key_path, '/');
		if (slash) {
			char dir[HAL_PATH_MAX];
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - key_path), key_path);
			hal_storage_mkdirs(dir, 0700);
		}
		slash = strrchr(cert_path, '/');
		if (slash) {
			char dir[HAL_PATH_MAX];
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - cert_path), cert_path);
			hal_storage_mkdirs(dir, 0755);
		}
	}
	if ((rc = hal_storage_put(key_path, pem, strlen((char *)pem), 0600)) < 0) {
		snprintf(err, errcap, "cannot write %s: %s", key_path, strerror(-rc));
		goto out;
	}
	hal_entropy_fill(rnd, sizeof(rnd));
	rnd[0] &= 0x7f;
	snprintf(subject, sizeof(subject), "CN=%s,O=zegel", hostname);
	if (now < 1600000000)
		now = (time_t)hal_clock_build_time;
	tm_string(now - 86400, from);
	tm_string(now + 10L * 365 * 86400, to);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	if ((rc = mbedtls_mpi_read_binary(&serial, rnd, sizeof(rnd))) != 0 ||
	    (rc = mbedtls_x509write_crt_set_serial(&crt, &serial)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_subject_name(&crt, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_issuer_name(&crt, subject)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_validity(&crt, from, to)) != 0 ||
	    (rc = mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1)) != 0 ||
	    (rc = mbedtls_x509write_crt_pem(&crt, pem, sizeof(pem), hal_entropy_rng, NULL)) != 0) {
		snprintf(err, errcap, "cannot build the TLS certificate");
		goto out;
	}
	if ((rc = hal_storage_put(cert_path, pem, strlen((char *)pem), 0644)) < 0) {
		snprintf(err, errcap, "cannot write %s: %s", cert_path, strerror(-rc));
		goto out;
	}
	hal_log(HAL_LOG_INFO, "tls", "generated a self-signed certificate for %s in %s", hostname,
	    cert_path);
out:
	mbedtls_platform_zeroize(pem, sizeof(pem));
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
	return rc == 0 ? 0 : (rc < 0 && rc > -200 ? rc : -EINVAL);
}

/* Read a PEM file NUL-terminated (mbedTLS wants the NUL in the length). */
static int
read_pem(const char *path, unsigned char *buf, size_t cap, size_t *len)
{
	int rc = hal_storage_get(path, buf, cap - 1, len);

	if (rc < 0)
		return rc;
	buf[(*len)++] = '\0';
	return 0;
}

int
tls_server_setup(const char *cert_path, const char *key_path, const char *hostname, char *err,
    size_t errcap)
{
	static unsigned char buf[16384];
	size_t len;
	int rc;

	err[0] = '\0';
	if (hal_storage_exists(cert_path) != 1 || hal_storage_exists(key_path) != 1) {
		if ((rc = generate(cert_path, key_path, hostname, err, errcap)) < 0)
			return rc;
	}
	if (srv.ready) {
		mbedtls_ssl_config_free(&srv.conf);
		mbedtls_x509_crt_free(&srv.cert);
		mbedtls_pk_free(&srv.key);
		srv.ready = false;
	}
	mbedtls_ssl_config_init(&srv.conf);
	mbedtls_x509_crt_init(&srv.cert);
	mbedtls_pk_init(&srv.key);
	if ((rc = read_pem(cert_path, buf, sizeof(buf), &len)) < 0) {
		snprintf(err, errcap, "cannot read %s: %s", cert_path, strerror(-rc));
		goto fail;
	}
	if ((rc = mbedtls_x509_crt_parse(&srv.cert, buf, len)) != 0) {
		snprintf(err, errcap, "%s is not a PEM certificate", cert_path);
		goto fail;
	}
	if ((rc = read_pem(key_path, buf, sizeof(buf), &len)) < 0) {
		snprintf(err, errcap, "cannot read %s: %s", key_path, strerror(-rc));
		goto fail;
	}
	rc = mbedtls_pk_parse_key(&srv.key, buf, len, NULL, 0);
	mbedtls_platform_zeroize(buf, sizeof(buf));
	if (rc != 0) {
		snprintf(err, errcap, "%s is not a PEM private key", key_path);
		goto fail;
	}
	if ((rc = mbedtls_ssl_config_defaults(&srv.conf, MBEDTLS_SSL_IS_SERVER,
		 MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0) {
		snprintf(err, errcap, "TLS configuration failed");
		goto fail;
	}
	mbedtls_ssl_conf_rng(&srv.conf, hal_entropy_rng, NULL);
	mbedtls_ssl_conf_min_version(&srv.conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	if ((rc = mbedtls_ssl_conf_own_cert(&srv.conf, &srv.cert, &srv.key)) != 0) {
		snprintf(err, errcap, "certificate and key do not match");
		goto fail;
	}
	srv.ready = true;
	return 0;
fail:
	mbedtls_ssl_config_free(&srv.conf);
	mbedtls_x509_crt_free(&srv.cert);
	mbedtls_pk_free(&srv.key);
	return rc < 0 && rc > -200 ? rc : -EINVAL;
}

int
tls_server_conn_init(struct tls_server_conn *t, uint8_t *in, size_t *inlen, uint8_t *out,
    size_t *outlen, size_t outcap)
{
	int rc;

	memset(t, 0, sizeof(*t));
	if (!srv.ready)
		return -ENOTSUP;
	mbedtls_ssl_init(&t->ssl);
	if ((rc = mbedtls_ssl_setup(&t->ssl, &srv.conf)) != 0) {
		mbedtls_ssl_free(&t->ssl);
		return -ENOMEM;
	}
	t->bio = (struct tls_bio){ in, inlen, out, outlen, outcap };
	mbedtls_ssl_set_bio(&t->ssl, &t->bio, tls_bio_send, tls_bio_recv, NULL);
	t->used = true;
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
	if (t->used)
		mbedtls_ssl_free(&t->ssl);
	t->used = t->done = false;
}
