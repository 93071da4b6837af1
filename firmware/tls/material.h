/*
 * firmware/tls/material.h — the listener certificate and key as bytes (issue
 * 17 point 5): checks and zegel's own self-signed material.
 *
 * Model. Pure functions over buffers the caller read (firmware/tls/server.c
 * reads and writes the files through hal/storage): no file, no clock (time
 * is an argument), randomness through the rng callback the caller passes.
 * PEM buffers are NUL-terminated with the NUL counted in the length, as
 * mbedTLS wants them; DER is accepted where mbedTLS accepts it.
 *
 * zegel's own certificate. tls_material_self_signed() makes a self-signed
 * certificate "CN=HOST,O=zegel,OU=zegel self-signed" with subjectAltName
 * dNSName HOST (RFC 5280 4.2.1.6), valid from a day before now for ten
 * years, for a key the caller holds. tls_material_own() recognises it (and
 * the certificates earlier versions made, "CN=HOST,O=zegel", self-signed,
 * without subjectAltName): only such a certificate is ever replaced, never
 * one an admin provided.
 *
 * Errors are small negative values; tls_material_strerror() words them.
 */
#ifndef ZEGEL_TLS_MATERIAL_H
#define ZEGEL_TLS_MATERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tls_material_err {
	TLS_MAT_OK = 0,
	TLS_MAT_CERT = -1,     /* the certificate does not parse */
	TLS_MAT_KEY = -2,      /* the private key does not parse */
	TLS_MAT_MISMATCH = -3, /* the key is not the certificate's */
	TLS_MAT_SPACE = -4,    /* output buffer too small, or a name too long */
	TLS_MAT_BUILD = -5,    /* key generation or signing failed */
};

const char *tls_material_strerror(int err);

/* The certificate (first of a chain) parses, the key parses and is the
 * private half of the certificate's public key. */
int tls_material_check(const uint8_t *cert, size_t certlen, const uint8_t *key, size_t keylen);

/* The key alone parses (a key zegel is to make a certificate for). */
int tls_material_key_check(const uint8_t *key, size_t keylen);

/* 1 when cert is zegel's own self-signed certificate, 0 when not (an
 * admin's), TLS_MAT_CERT when it does not parse. *names_host (may be NULL):
 * its subjectAltName has dNSName hostname (case-insensitive). */
int tls_material_own(const uint8_t *cert, size_t certlen, const char *hostname, bool *names_host);

/* Random source: mbedTLS's f_rng shape (hal_entropy_rng fits). */
typedef int (*tls_material_rng)(void *ctx, unsigned char *out, size_t n);

/* A new ECDSA P-256 private key, PEM (NUL-terminated) into pem[0..cap);
 * *len = strlen + 1. */
int
tls_material_new_key(tls_material_rng rng, void *rng_ctx, uint8_t *pem, size_t cap, size_t *len);

/* zegel's self-signed certificate for key and hostname, valid from now - 1
 * day for 10 years, PEM into pem[0..cap); *len = strlen + 1. */
int tls_material_self_signed(const uint8_t *key, size_t keylen, const char *hostname, int64_t now,
    tls_material_rng rng, void *rng_ctx, uint8_t *pem, size_t cap, size_t *len);

/*
 * A key held elsewhere (issue 15 point 4: the TLS key in the TPM, signed
 * through the key holder): only its public key (SubjectPublicKeyInfo DER)
 * is here, and a callback that signs a SHA-256 digest with it
 * (RSASSA-PKCS1-v1_5, the signer does the DigestInfo encoding). RSA only.
 */
struct tls_material_held {
	const uint8_t *spki;
	size_t spkilen;
	unsigned bits;
	/* 0 and *siglen = bits / 8, or < 0 */
	int (*sign)(void *ctx, const uint8_t digest[32], uint8_t *sig, size_t cap,
	    size_t *siglen);
	void *ctx;
};

/* The mbedTLS private-key context for a held key (mbedtls_pk_setup_rsa_alt:
 * sign() for SHA-256 only, no decryption); pk is an initialised
 * mbedtls_pk_context; h must outlive it. TLS_MAT_OK or TLS_MAT_KEY. */
struct mbedtls_pk_context;
int tls_material_pk_held(struct mbedtls_pk_context *pk, const struct tls_material_held *h);

/* The certificate's public key is h's: TLS_MAT_OK, TLS_MAT_CERT,
 * TLS_MAT_MISMATCH. */
int tls_material_check_held(const uint8_t *cert, size_t certlen,
    const struct tls_material_held *h);

/* tls_material_self_signed() for a held key: signed by it. */
int tls_material_self_signed_held(const struct tls_material_held *h, const char *hostname,
    int64_t now, tls_material_rng rng, void *rng_ctx, uint8_t *pem, size_t cap, size_t *len);

/* A certificate signing request (PKCS#10, RFC 2986) for a held key, to
 * have a CA certify it: subject "CN=HOST,O=zegel", the extensionRequest
 * subjectAltName dNSName HOST, signed sha256WithRSAEncryption by the key
 * (proof of possession). PEM into pem[0..cap); *len = strlen + 1. */
int tls_material_csr_held(const struct tls_material_held *h, const char *hostname, uint8_t *pem,
    size_t cap, size_t *len);

#endif
