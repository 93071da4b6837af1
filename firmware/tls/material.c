/*
 * The listener certificate and key as bytes (see material.h): parse, match,
 * recognise zegel's own, make new ones. No file I/O, no clock.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <stdint.h>

#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/pem.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

#include "firmware/tls/material.h"

#define OWN_OU "zegel self-signed"

const char *
tls_material_strerror(int err)
{
	switch (err) {
	case TLS_MAT_OK:
		return "ok";
	case TLS_MAT_CERT:
		return "not a certificate (PEM or DER X.509)";
	case TLS_MAT_KEY:
		return "not a private key (PEM or DER, unencrypted)";
	case TLS_MAT_MISMATCH:
		return "the key is not the certificate's (public keys differ)";
	case TLS_MAT_SPACE:
		return "too large";
	case TLS_MAT_BUILD:
		return "cannot build the key or certificate";
	default:
		return "unknown error";
	}
}

int
tls_material_check(const uint8_t *cert, size_t certlen, const uint8_t *key, size_t keylen)
{
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	int rc = TLS_MAT_OK;

	mbedtls_x509_crt_init(&crt);
	mbedtls_pk_init(&pk);
	if (mbedtls_x509_crt_parse(&crt, cert, certlen) != 0)
		rc = TLS_MAT_CERT;
	else if (mbedtls_pk_parse_key(&pk, key, keylen, NULL, 0) != 0)
		rc = TLS_MAT_KEY;
	else if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0)
		rc = TLS_MAT_MISMATCH;
	mbedtls_pk_free(&pk);
	mbedtls_x509_crt_free(&crt);
	return rc;
}

int
tls_material_key_check(const uint8_t *key, size_t keylen)
{
	mbedtls_pk_context pk;
	int rc;

	mbedtls_pk_init(&pk);
	rc = mbedtls_pk_parse_key(&pk, key, keylen, NULL, 0) == 0 ? TLS_MAT_OK : TLS_MAT_KEY;
	mbedtls_pk_free(&pk);
	return rc;
}

static bool
name_has(const mbedtls_x509_name *n, const char *oid, size_t oidlen, const char *val)
{
	size_t vl = strlen(val);

	for (; n != NULL; n = n->next)
		if (n->oid.len == oidlen && memcmp(n->oid.p, oid, oidlen) == 0 &&
		    n->val.len == vl && memcmp(n->val.p, val, vl) == 0)
			return true;
	return false;
}

int
tls_material_own(const uint8_t *cert, size_t certlen, const char *hostname, bool *names_host)
{
	mbedtls_x509_crt crt;
	const mbedtls_x509_sequence *s;
	size_t hl = strlen(hostname);
	int rc;

	if (names_host != NULL)
		*names_host = false;
	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse(&crt, cert, certlen) != 0) {
		mbedtls_x509_crt_free(&crt);
		return TLS_MAT_CERT;
	}
	/* self-signed by name, organisation zegel: what generate() ever made */
	rc = crt.issuer_raw.len == crt.subject_raw.len &&
	    memcmp(crt.issuer_raw.p, crt.subject_raw.p, crt.subject_raw.len) == 0 &&
	    name_has(&crt.subject, MBEDTLS_OID_AT_ORGANIZATION,
		MBEDTLS_OID_SIZE(MBEDTLS_OID_AT_ORGANIZATION), "zegel");
	for (s = &crt.subject_alt_names; names_host != NULL && s != NULL && s->buf.p != NULL;
	     s = s->next)
		if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME) &&
		    s->buf.len == hl && strncasecmp((const char *)s->buf.p, hostname, hl) == 0)
			*names_host = true;
	mbedtls_x509_crt_free(&crt);
	return rc;
}

int
tls_material_new_key(tls_material_rng rng, void *rng_ctx, uint8_t *pem, size_t cap, size_t *len)
{
	mbedtls_pk_context key;
	int rc = TLS_MAT_OK;

	mbedtls_pk_init(&key);
	if (mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key), rng, rng_ctx) != 0)
		rc = TLS_MAT_BUILD;
	else if (mbedtls_pk_write_key_pem(&key, pem, cap) != 0)
		rc = TLS_MAT_SPACE;
	else
		*len = strlen((char *)pem) + 1;
	mbedtls_pk_free(&key);
	return rc;
}

/* DER length octets (short or long form) at p; returns their count. */
static size_t
der_len(uint8_t *p, size_t n)
{
	if (n < 128) {
		p[0] = (uint8_t)n;
		return 1;
	}
	if (n < 256) {
		p[0] = 0x81;
		p[1] = (uint8_t)n;
		return 2;
	}
	p[0] = 0x82;
	p[1] = (uint8_t)(n >> 8);
	p[2] = (uint8_t)n;
	return 3;
}

/* SubjectAltName ::= GeneralNames ::= SEQUENCE { dNSName [2] IA5String }
 * (RFC 5280 4.2.1.6), for one host name of at most 253 octets. */
static size_t
san_der(const char *host, uint8_t out[270])
{
	uint8_t inner[260];
	size_t hl = strlen(host), il, n;

	inner[0] = MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME;
	il = 1 + der_len(inner + 1, hl);
	memcpy(inner + il, host, hl);
	il += hl;
	out[0] = MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE;
	n = 1 + der_len(out + 1, il);
	memcpy(out + n, inner, il);
	return n + il;
}

static void
tm_string(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* The certificate of subject (its public key) signed by issuer (the same
 * key: self-signed). */
static int
build(mbedtls_pk_context *subject_pk, mbedtls_pk_context *issuer_pk, const char *hostname,
    int64_t now, tls_material_rng rng, void *rng_ctx, uint8_t *pem, size_t cap, size_t *len)
{
	mbedtls_x509write_cert crt;
	mbedtls_mpi serial;
	unsigned char rnd[16];
	uint8_t san[270];
	char subject[320], from[16], to[16];
	size_t sanlen;
	int rc = TLS_MAT_OK;

	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);
	if (rng(rng_ctx, rnd, sizeof(rnd)) != 0) {
		rc = TLS_MAT_BUILD;
		goto out;
	}
	rnd[0] &= 0x7f; /* a positive serial (RFC 5280 4.1.2.2) */
	rnd[0] |= 0x01;
	snprintf(subject, sizeof(subject), "CN=%s,O=zegel,OU=" OWN_OU, hostname);
	tm_string(now - 86400, from);
	tm_string(now + 10LL * 365 * 86400, to);
	sanlen = san_der(hostname, san);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, subject_pk);
	mbedtls_x509write_crt_set_issuer_key(&crt, issuer_pk);
	if (mbedtls_mpi_read_binary(&serial, rnd, sizeof(rnd)) != 0 ||
	    mbedtls_x509write_crt_set_serial(&crt, &serial) != 0 ||
	    mbedtls_x509write_crt_set_subject_name(&crt, subject) != 0 ||
	    mbedtls_x509write_crt_set_issuer_name(&crt, subject) != 0 ||
	    mbedtls_x509write_crt_set_validity(&crt, from, to) != 0 ||
	    mbedtls_x509write_crt_set_basic_constraints(&crt, 0, -1) != 0 ||
	    mbedtls_x509write_crt_set_extension(&crt, MBEDTLS_OID_SUBJECT_ALT_NAME,
		MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), 0, san, sanlen) != 0) {
		rc = TLS_MAT_BUILD;
		goto out;
	}
	if ((rc = mbedtls_x509write_crt_pem(&crt, pem, cap, rng, rng_ctx)) != 0) {
		rc = rc == MBEDTLS_ERR_X509_BUFFER_TOO_SMALL || rc == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL
		    ? TLS_MAT_SPACE
		    : TLS_MAT_BUILD;
		goto out;
	}
	*len = strlen((char *)pem) + 1;
out:
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	return rc;
}

int
tls_material_self_signed(const uint8_t *key, size_t keylen, const char *hostname, int64_t now,
    tls_material_rng rng, void *rng_ctx, uint8_t *pem, size_t cap, size_t *len)
{
	mbedtls_pk_context pk;
	int rc;

	if (strlen(hostname) == 0 || strlen(hostname) > 253)
		return TLS_MAT_SPACE;
	mbedtls_pk_init(&pk);
	if (mbedtls_pk_parse_key(&pk, key, keylen, NULL, 0) != 0)
		rc = TLS_MAT_KEY;
	else
		rc = build(&pk, &pk, hostname, now, rng, rng_ctx, pem, cap, len);
	mbedtls_pk_free(&pk);
	return rc;
}

/* ------------------------------------------------------------ held keys */

static int
held_sign(void *ctx, int (*f_rng)(void *, unsigned char *, size_t), void *p_rng, int mode,
    mbedtls_md_type_t md_alg, unsigned int hashlen, const unsigned char *hash, unsigned char *sig)
{
	const struct tls_material_held *h = ctx;
	size_t sl = 0;

	(void)f_rng;
	(void)p_rng;
	(void)mode;
	/* what the key's signer makes: PKCS#1 v1.5 over SHA-256 (a TLS 1.2
	 * peer is offered SHA-256 signatures only, see server.c) */
	if (md_alg != MBEDTLS_MD_SHA256 || hashlen != 32)
		return MBEDTLS_ERR_RSA_BAD_INPUT_DATA;
	if (h->sign(h->ctx, hash, sig, h->bits / 8, &sl) != 0)
		return MBEDTLS_ERR_RSA_PRIVATE_FAILED;
	return sl == h->bits / 8 ? 0 : MBEDTLS_ERR_RSA_PRIVATE_FAILED;
}

static int
held_decrypt(void *ctx, int mode, size_t *olen, const unsigned char *input, unsigned char *output,
    size_t output_max_len)
{
	(void)ctx;
	(void)mode;
	(void)olen;
	(void)input;
	(void)output;
	(void)output_max_len;
	return MBEDTLS_ERR_RSA_BAD_INPUT_DATA; /* no RSA key exchange with a held key */
}

static size_t
held_len(void *ctx)
{
	const struct tls_material_held *h = ctx;

	return h->bits / 8;
}

int
tls_material_pk_held(struct mbedtls_pk_context *pk, const struct tls_material_held *h)
{
	if (h->bits < 1024 || h->bits % 8 != 0 || h->sign == NULL)
		return TLS_MAT_KEY;
	return mbedtls_pk_setup_rsa_alt(pk, (void *)(uintptr_t)h, held_decrypt, held_sign,
		   held_len) == 0
	    ? TLS_MAT_OK
	    : TLS_MAT_KEY;
}

int
tls_material_check_held(const uint8_t *cert, size_t certlen, const struct tls_material_held *h)
{
	mbedtls_x509_crt crt;
	unsigned char der[1024];
	int n, rc = TLS_MAT_OK;

	mbedtls_x509_crt_init(&crt);
	if (mbedtls_x509_crt_parse(&crt, cert, certlen) != 0)
		rc = TLS_MAT_CERT;
	else if ((n = mbedtls_pk_write_pubkey_der(&crt.pk, der, sizeof(der))) <= 0 ||
	    (size_t)n != h->spkilen || memcmp(der + sizeof(der) - n, h->spki, h->spkilen) != 0)
		rc = TLS_MAT_MISMATCH;
	mbedtls_x509_crt_free(&crt);
	return rc;
}

int
tls_material_self_signed_held(const struct tls_material_held *h, const char *hostname,
    int64_t now, tls_material_rng rng, void *rng_ctx, uint8_t *pem, size_t cap, size_t *len)
{
	mbedtls_pk_context pub, prv;
	int rc;

	if (strlen(hostname) == 0 || strlen(hostname) > 253)
		return TLS_MAT_SPACE;
	mbedtls_pk_init(&pub);
	mbedtls_pk_init(&prv);
	/* the subject key as its public half (mbedTLS cannot write an
	 * RSA-alt key's public key), the issuer the held key itself */
	if (mbedtls_pk_parse_public_key(&pub, h->spki, h->spkilen) != 0 ||
	    mbedtls_pk_get_type(&pub) != MBEDTLS_PK_RSA ||
	    mbedtls_pk_get_bitlen(&pub) != h->bits || tls_material_pk_held(&prv, h) != 0)
		rc = TLS_MAT_KEY;
	else
		rc = build(&pub, &prv, hostname, now, rng, rng_ctx, pem, cap, len);
	mbedtls_pk_free(&prv);
	mbedtls_pk_free(&pub);
	return rc;
}

/* One ASN.1 step of a backwards write (mbedtls_asn1_write_*): its length
 * added to *total, or the error out of the function. */
/* The n bytes written last (in front of *p) become the contents of one
 * element: its length and TAG go in front of them. Returns the bytes added. */
static int
asn1_wrap(unsigned char **p, unsigned char *start, size_t n, unsigned char tag)
{
	int l = mbedtls_asn1_write_len(p, start, n), t;

	if (l < 0)
		return l;
	t = mbedtls_asn1_write_tag(p, start, tag);
	return t < 0 ? t : l + t;
}

#define W(call)                                                                                \
	do {                                                                                   \
		int w_ = (call);                                                               \
		if (w_ < 0)                                                                    \
			return TLS_MAT_SPACE;                                                  \
		n += (size_t)w_;                                                               \
	} while (0)

/* CertificationRequestInfo (RFC 2986 4.1) backwards before *p; its length. */
static int
csr_info(unsigned char **p, unsigned char *start, const struct tls_material_held *h,
    const char *hostname, size_t *out)
{
	static const char ext_req[] = MBEDTLS_OID_PKCS9_CSR_EXT_REQ;
	static const char san_oid[] = MBEDTLS_OID_SUBJECT_ALT_NAME;
	mbedtls_asn1_named_data *names = NULL;
	uint8_t san[270];
	char subject[300];
	size_t n = 0, sl = san_der(hostname, san);
	int rc;

	/* attributes [0] { SEQ { extensionRequest, SET { SEQ { SEQ { SAN, OCTET STRING } } } } } */
	W(mbedtls_asn1_write_raw_buffer(p, start, san, sl));
	W(mbedtls_asn1_write_len(p, start, sl));
	W(mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_OCTET_STRING));
	W(mbedtls_asn1_write_oid(p, start, san_oid, sizeof(san_oid) - 1));
	W(asn1_wrap(p, start, n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	W(asn1_wrap(p, start, n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	W(asn1_wrap(p, start, n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET));
	W(mbedtls_asn1_write_oid(p, start, ext_req, sizeof(ext_req) - 1));
	W(asn1_wrap(p, start, n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	W(asn1_wrap(p, start, n, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED));
	/* subjectPKInfo: the held key's, as it is */
	W(mbedtls_asn1_write_raw_buffer(p, start, h->spki, h->spkilen));
	/* subject */
	snprintf(subject, sizeof(subject), "CN=%s,O=zegel", hostname);
	if (mbedtls_x509_string_to_names(&names, subject) != 0) {
		mbedtls_asn1_free_named_data_list(&names);
		return TLS_MAT_SPACE;
	}
	rc = mbedtls_x509_write_names(p, start, names);
	mbedtls_asn1_free_named_data_list(&names);
	if (rc < 0)
		return TLS_MAT_SPACE;
	n += (size_t)rc;
	W(mbedtls_asn1_write_int(p, start, 0)); /* version v1 */
	W(asn1_wrap(p, start, n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
	*out = n;
	return TLS_MAT_OK;
}

int
tls_material_csr_held(const struct tls_material_held *h, const char *hostname, uint8_t *pem,
    size_t cap, size_t *len)
{
	unsigned char info[1400], der[2000];
	static const char alg[] = MBEDTLS_OID_PKCS1_SHA256;
	unsigned char *p = info + sizeof(info), digest[32], sig[512];
	size_t il = 0, n = 0, sl = 0, olen = 0;
	int rc;

	if (strlen(hostname) == 0 || strlen(hostname) > 253)
		return TLS_MAT_SPACE;
	if (h->bits / 8 > sizeof(sig) || h->sign == NULL)
		return TLS_MAT_KEY;
	if ((rc = csr_info(&p, info, h, hostname, &il)) != TLS_MAT_OK)
		return rc;
	if (mbedtls_sha256_ret(p, il, digest, 0) != 0 ||
	    h->sign(h->ctx, digest, sig, h->bits / 8, &sl) != 0 || sl != h->bits / 8)
		return TLS_MAT_BUILD;
	/* CertificationRequest ::= SEQ { info, sha256WithRSAEncryption, BIT STRING } */
	{
		unsigned char *q = der + sizeof(der);

		W(mbedtls_asn1_write_bitstring(&q, der, sig, sl * 8));
		W(mbedtls_asn1_write_algorithm_identifier(&q, der, alg, sizeof(alg) - 1, 0));
		W(mbedtls_asn1_write_raw_buffer(&q, der, p, il));
		W(asn1_wrap(&q, der, n, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
		if (mbedtls_pem_write_buffer("-----BEGIN CERTIFICATE REQUEST-----\n",
			"-----END CERTIFICATE REQUEST-----\n", q, n, pem, cap, &olen) != 0)
			return TLS_MAT_SPACE;
	}
	*len = strlen((char *)pem) + 1;
	return TLS_MAT_OK;
}
#undef W
