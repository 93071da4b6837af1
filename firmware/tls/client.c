/*
 * TLS client over mbedTLS 2.28 with caller-owned ciphertext buffers (see
 * client.h). Policy: TLS 1.2 minimum (2.28 has nothing newer), forward-secret
 * AEAD suites only, the server certificate verified against the CA bundle
 * and the host name, renegotiation off (the 2.28 default).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>

#include "zegel/text.h"
#include "firmware/tls/client.h"
#include "hal/addr.h"
#include "hal/clock.h"
#include "hal/entropy.h"

static const int client_suites[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	0,
};

static int
conf_finish(struct tls_client_conf *cc, char *err, size_t errcap)
{
	int ret = mbedtls_ssl_config_defaults(&cc->conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);

	if (ret != 0) {
		zegel_strf(err, errcap, "TLS configuration failed (-0x%04x)", (unsigned)-ret);
		tls_client_conf_free(cc);
		return -1;
	}
	mbedtls_ssl_conf_min_version(&cc->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(&cc->conf, client_suites);
	mbedtls_ssl_conf_authmode(&cc->conf,
	    cc->probe ? MBEDTLS_SSL_VERIFY_OPTIONAL : MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_ca_chain(&cc->conf, &cc->ca, NULL);
	mbedtls_ssl_conf_rng(&cc->conf, hal_entropy_rng, NULL);
	cc->loaded = true;
	return 0;
}

int
tls_client_conf_load(struct tls_client_conf *cc, const char *ca_file, bool probe, char *err,
    size_t errcap)
{
	int ret;

	memset(cc, 0, sizeof(*cc));
	if (ca_file == NULL || ca_file[0] == '\0')
		ca_file = TLS_CLIENT_DEFAULT_CA;
	if (strlen(ca_file) >= sizeof(cc->ca_file)) {
		zegel_strf(err, errcap, "CA file path too long");
		return -1;
	}
	strcpy(cc->ca_file, ca_file);
	cc->probe = probe;
	mbedtls_ssl_config_init(&cc->conf);
	mbedtls_x509_crt_init(&cc->ca);
	ret = mbedtls_x509_crt_parse_file(&cc->ca, ca_file);
	if (ret < 0 || cc->ca.version == 0) {
		char e[100];
		mbedtls_strerror(ret, e, sizeof(e));
		zegel_strf(err, errcap, "cannot load CA certificates from %s: %s", ca_file,
		    ret < 0 ? e : "no certificate in it");
		tls_client_conf_free(cc);
		return -1;
	}
	return conf_finish(cc, err, errcap);
}

int
tls_client_conf_load_noca(struct tls_client_conf *cc, char *err, size_t errcap)
{
	memset(cc, 0, sizeof(*cc));
	strcpy(cc->ca_file, "(none: DANE)");
	mbedtls_ssl_config_init(&cc->conf);
	/* An empty certificate list: mbedTLS 2.28 refuses VERIFY_REQUIRED without
	 * a CA chain object (MBEDTLS_ERR_SSL_CA_CHAIN_REQUIRED), and an empty one
	 * never becomes anyone's parent, so the top of every chain ends with
	 * BADCERT_NOT_TRUSTED for the verify hook to judge. */
	mbedtls_x509_crt_init(&cc->ca);
	return conf_finish(cc, err, errcap);
}

void
tls_client_conf_free(struct tls_client_conf *cc)
{
	mbedtls_ssl_config_free(&cc->conf);
	mbedtls_x509_crt_free(&cc->ca);
	cc->loaded = false;
}

/* ------------------------------------------------------------ bio */

static int
bio_send(void *ctx, const unsigned char *p, size_t n)
{
	struct tls_client *c = ctx;
	size_t room = sizeof(c->tx) - c->tx_len;

	if (room == 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (n > room)
		n = room;
	memcpy(c->tx + c->tx_len, p, n);
	c->tx_len += n;
	return (int)n;
}

static int
bio_recv(void *ctx, unsigned char *p, size_t n)
{
	struct tls_client *c = ctx;
	size_t have = c->rx_len - c->rx_off;

	if (have == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > have)
		n = have;
	memcpy(p, c->rx + c->rx_off, n);
	c->rx_off += n;
	if (c->rx_off == c->rx_len)
		c->rx_off = c->rx_len = 0;
	return (int)n;
}

size_t
tls_client_rx_space(struct tls_client *c, uint8_t **p)
{
	if (c->rx_off > 0 && c->rx_off == c->rx_len)
		c->rx_off = c->rx_len = 0;
	if (c->rx_off > 0 && c->rx_len == sizeof(c->rx)) {
		memmove(c->rx, c->rx + c->rx_off, c->rx_len - c->rx_off);
		c->rx_len -= c->rx_off;
		c->rx_off = 0;
	}
	*p = c->rx + c->rx_len;
	return sizeof(c->rx) - c->rx_len;
}

void
tls_client_rx_done(struct tls_client *c, size_t n)
{
	c->rx_len += n;
}

size_t
tls_client_tx_data(struct tls_client *c, const uint8_t **p)
{
	*p = c->tx;
	return c->tx_len;
}

void
tls_client_tx_done(struct tls_client *c, size_t n)
{
	if (n > c->tx_len)
		n = c->tx_len;
	memmove(c->tx, c->tx + n, c->tx_len - n);
	c->tx_len -= n;
}

/* ------------------------------------------------------------ verification */

/* Does the certificate list ip among its iPAddress subjectAltNames? Walks the
 * raw extensions: mbedTLS 2.28 keeps only dNSName entries parsed. */
static bool
san_has_ip(const mbedtls_x509_crt *crt, const uint8_t *ip, size_t ip_len)
{
	unsigned char *p = crt->v3_ext.p, *end, *ext_end, *san_end;
	size_t len;

	if (p == NULL || crt->v3_ext.len == 0)
		return false;
	end = p + crt->v3_ext.len;
	if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
		return false;
	end = p + len;
	while (p < end) {
		mbedtls_x509_buf oid;
		int crit;

		if (mbedtls_asn1_get_tag(&p, end, &len,
		    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return false;
		ext_end = p + len;
		if (mbedtls_asn1_get_tag(&p, ext_end, &oid.len, MBEDTLS_ASN1_OID))
			return false;
		oid.p = p;
		p += oid.len;
		if (mbedtls_asn1_get_bool(&p, ext_end, &crit) != 0 &&
		    p < ext_end && *p == MBEDTLS_ASN1_BOOLEAN)
			return false;
		if (mbedtls_asn1_get_tag(&p, ext_end, &len, MBEDTLS_ASN1_OCTET_STRING))
			return false;
		if (MBEDTLS_OID_CMP(MBEDTLS_OID_SUBJECT_ALT_NAME, &oid) != 0) {
			p = ext_end;
			continue;
		}
		if (mbedtls_asn1_get_tag(&p, ext_end, &len,
		    MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE))
			return false;
		san_end = p + len;
		while (p < san_end) {
			unsigned char tag = *p++;
			if (mbedtls_asn1_get_len(&p, san_end, &len))
				return false;
			if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && len == ip_len &&
			    memcmp(p, ip, ip_len) == 0)
				return true;
			p += len;
		}
		p = ext_end;
	}
	return false;
}

static void
x509_time_str(char *d, size_t cap, const mbedtls_x509_time *t)
{
	zegel_strf(d, cap, "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->mon, t->day, t->hour, t->min,
	    t->sec);
}

/* <0, 0, >0 as the certificate time t is before, at, after tm. */
static int
x509_time_cmp(const mbedtls_x509_time *t, const struct tm *tm)
{
	const int a[6] = { t->year, t->mon, t->day, t->hour, t->min, t->sec };
	const int b[6] = { tm->tm_year + 1900, tm->tm_mon + 1, tm->tm_mday, tm->tm_hour, tm->tm_min,
		tm->tm_sec };

	for (int i = 0; i < 6; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return 0;
}

/* mbedTLS dates certificates by time(): the system clock. zegel's clock
 * (hal_clock_now) may be the system clock plus a software offset from NTP
 * (hal/clock.h), so the validity period is checked again against it. */
static void
check_dates(const mbedtls_x509_crt *crt, uint32_t *flags)
{
	time_t now = (time_t)hal_clock_now();
	struct tm tm;

	if (gmtime_r(&now, &tm) == NULL)
		return;
	*flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
	if (x509_time_cmp(&crt->valid_to, &tm) < 0)
		*flags |= MBEDTLS_X509_BADCERT_EXPIRED;
	if (x509_time_cmp(&crt->valid_from, &tm) > 0)
		*flags |= MBEDTLS_X509_BADCERT_FUTURE;
}

static int
verify_cb(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls_client *c = arg;
	int ret;

	if (depth == 0) {
		if (mbedtls_x509_dn_gets(c->subject, sizeof(c->subject), &crt->subject) < 0)
			zegel_strf(c->subject, sizeof(c->subject), "?");
		if (mbedtls_x509_dn_gets(c->issuer, sizeof(c->issuer), &crt->issuer) < 0)
			zegel_strf(c->issuer, sizeof(c->issuer), "?");
		x509_time_str(c->not_before, sizeof(c->not_before), &crt->valid_from);
		x509_time_str(c->not_after, sizeof(c->not_after), &crt->valid_to);
		if (c->ip_len != 0 && !san_has_ip(crt, c->ip, c->ip_len))
			*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	}
	check_dates(crt, flags);
	if (c->hook != NULL) {
		ret = c->hook(c->hook_arg, c, crt, depth, flags);
		if (ret != 0)
			return ret;
	}
	if (depth == 0)
		c->vflags = *flags;
	return 0;
}

/* ------------------------------------------------------------ connection */

int
tls_client_start(struct tls_client *c, const struct tls_client_conf *cc, const char *host)
{
	int ret;

	memset(c, 0, sizeof(*c));
	mbedtls_ssl_init(&c->ssl);
	c->cc = cc;
	c->started = true;
	if (!cc->loaded || strlen(host) >= sizeof(c->host)) {
		c->failed = true;
		c->kind = TLS_FAIL_HANDSHAKE;
		zegel_strf(c->why, sizeof(c->why), "TLS client not configured");
		return -1;
	}
	strcpy(c->host, host);
	if (hal_addr_parse_ip(4, host, c->ip) == 0)
		c->ip_len = 4;
	else if (hal_addr_parse_ip(6, host, c->ip) == 0)
		c->ip_len = 16;
	ret = mbedtls_ssl_setup(&c->ssl, &cc->conf);
	/* An IP literal: no SNI, and mbedTLS must not compare it with the CN;
	 * verify_cb checks the iPAddress SANs instead. */
	if (ret == 0 && c->ip_len == 0)
		ret = mbedtls_ssl_set_hostname(&c->ssl, host);
	if (ret != 0) {
		c->failed = true;
		c->kind = TLS_FAIL_HANDSHAKE;
		zegel_strf(c->why, sizeof(c->why), "TLS setup failed (-0x%04x)", (unsigned)-ret);
		return -1;
	}
	mbedtls_ssl_set_verify(&c->ssl, verify_cb, c);
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	return 0;
}

void
tls_client_set_verify(struct tls_client *c, tls_client_verify_fn fn, void *arg)
{
	c->hook = fn;
	c->hook_arg = arg;
}

void
tls_client_set_verified_by(struct tls_client *c, const char *how)
{
	c->verified_by = how;
}

void
tls_client_free(struct tls_client *c)
{
	if (c->started)
		mbedtls_ssl_free(&c->ssl);
	memset(c, 0, sizeof(*c));
}

static void
explain_flags(struct tls_client *c, uint32_t f)
{
	if (f & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) {
		c->kind = TLS_FAIL_EXPIRED;
		int64_t now = hal_clock_now();
		time_t tt = (time_t)now;
		struct tm tm;
		char clk[24] = "?";

		if (gmtime_r(&tt, &tm) != NULL)
			strftime(clk, sizeof(clk), "%Y-%m-%d %H:%M:%S", &tm);
		/* a wrong clock is the likely cause on a router: say so */
		zegel_strf(c->why, sizeof(c->why), "certificate %s (valid %s %s; clock %s%s): %s",
		    f & MBEDTLS_X509_BADCERT_EXPIRED ? "expired" : "not yet valid",
		    f & MBEDTLS_X509_BADCERT_EXPIRED ? "until" : "from",
		    f & MBEDTLS_X509_BADCERT_EXPIRED ? c->not_after : c->not_before, clk,
		    hal_clock_plausible(now) ? "" : ", NOT plausible: likely the cause; see show clock",
		    c->subject);
	} else if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		c->kind = TLS_FAIL_NAME;
		zegel_strf(c->why, sizeof(c->why), "certificate name mismatch: wanted %s, got %s",
		    c->host, c->subject);
	} else if (f & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_MISSING)) {
		c->kind = TLS_FAIL_UNTRUSTED;
		zegel_strf(c->why, sizeof(c->why), "certificate not trusted (issuer %s)", c->issuer);
	} else {
		char info[120];
		int l = mbedtls_x509_crt_verify_info(info, sizeof(info), "", f);
		while (l > 0 && (info[l - 1] == '\n' || info[l - 1] == ' '))
			info[--l] = '\0';
		c->kind = TLS_FAIL_CERT;
		zegel_strf(c->why, sizeof(c->why), "certificate rejected: %s", l > 0 ? info : "?");
	}
}

static int
fail(struct tls_client *c, int ret)
{
	char e[120];

	c->failed = true;
	if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
		uint32_t f = mbedtls_ssl_get_verify_result(&c->ssl);
		explain_flags(c, f != 0 && f != (uint32_t)-1 ? f : c->vflags);
		return TLS_CLIENT_FAIL;
	}
	mbedtls_strerror(ret, e, sizeof(e));
	c->kind = c->handshaken ? TLS_FAIL_IO : TLS_FAIL_HANDSHAKE;
	zegel_strf(c->why, sizeof(c->why), "%s: %s", c->handshaken ? "TLS error" : "TLS handshake failed",
	    e);
	return TLS_CLIENT_FAIL;
}

int
tls_client_handshake(struct tls_client *c)
{
	int ret;

	if (c->failed)
		return TLS_CLIENT_FAIL;
	if (c->handshaken)
		return 0;
	ret = mbedtls_ssl_handshake(&c->ssl);
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_CLIENT_AGAIN;
	if (ret != 0)
		return fail(c, ret);
	c->handshaken = true;
	c->vflags = mbedtls_ssl_get_verify_result(&c->ssl);
	if (c->vflags != 0 && !c->cc->probe) {
		/* not reached with VERIFY_REQUIRED; belt and braces */
		c->failed = true;
		explain_flags(c, c->vflags);
		return TLS_CLIENT_FAIL;
	}
	if (c->vflags == 0 && c->verified_by == NULL)
		c->verified_by = "pkix";
	if (c->vflags != 0)
		c->verified_by = NULL;
	return 0;
}

ssize_t
tls_client_write(struct tls_client *c, const uint8_t *p, size_t n)
{
	int ret;

	if (c->failed || !c->handshaken)
		return TLS_CLIENT_FAIL;
	if (c->cc->probe && c->vflags != 0)
		return TLS_CLIENT_FAIL; /* a probe never sends data on an unverified link */
	ret = mbedtls_ssl_write(&c->ssl, p, n);
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_CLIENT_AGAIN;
	if (ret < 0)
		return fail(c, ret);
	return ret;
}

ssize_t
tls_client_read(struct tls_client *c, uint8_t *p, size_t cap)
{
	int ret;

	if (c->failed || !c->handshaken)
		return TLS_CLIENT_FAIL;
	if (c->peer_closed)
		return TLS_CLIENT_EOF;
	ret = mbedtls_ssl_read(&c->ssl, p, cap);
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return TLS_CLIENT_AGAIN;
	if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0) {
		c->peer_closed = true;
		return TLS_CLIENT_EOF;
	}
	if (ret < 0)
		return fail(c, ret);
	return ret;
}

void
tls_client_close_notify(struct tls_client *c)
{
	if (c->handshaken && !c->failed)
		(void)mbedtls_ssl_close_notify(&c->ssl);
}

void
tls_client_explain(struct tls_client *c)
{
	if (c->vflags != 0)
		explain_flags(c, c->vflags);
}

const char *
tls_client_why(const struct tls_client *c)
{
	return c->why[0] ? c->why : "no error";
}

enum tls_client_fail
tls_client_fail_kind(const struct tls_client *c)
{
	return c->kind;
}

const char *
tls_client_version(const struct tls_client *c)
{
	return c->handshaken ? mbedtls_ssl_get_version(&c->ssl) : "none";
}

const char *
tls_client_suite(const struct tls_client *c)
{
	return c->handshaken ? mbedtls_ssl_get_ciphersuite(&c->ssl) : "none";
}

const char *
tls_client_fail_esc(enum tls_client_fail kind)
{
	switch (kind) {
	case TLS_FAIL_NONE:
		return "4.0.0";
	case TLS_FAIL_IO:
		return "4.4.2";
	default:
		return "4.7.5"; /* cryptographic failure (RFC 3463 X.7.5) */
	}
}
