/*
 * firmware/tls/tls.h — mbedTLS glue shared by the TLS server side
 * (server.c: STARTTLS and implicit TLS for LAN clients) and the client side
 * (client.c, the relay's STARTTLS to upstreams).
 *
 * Model. TLS is a byte filter between the event loop's buffers and a
 * protocol engine; it never touches a socket. The caller owns two
 * ciphertext buffers and gives them to the TLS context as a memory BIO:
 * received ciphertext is appended to in[0..*inlen) by the caller and
 * consumed (front-trimmed) by mbedTLS; ciphertext to send is appended by
 * mbedTLS to out[0..*outlen) (at most outcap) and drained by the caller.
 * When a buffer is empty/full the mbedTLS call returns "want" and the
 * caller retries after the next loop turn. Only this directory includes
 * mbedTLS ssl headers.
 */
#ifndef ZEGEL_TLS_TLS_H
#define ZEGEL_TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <mbedtls/ssl.h>

#include "hal/crypto.h"

struct tls_bio {
	uint8_t *in;
	size_t *inlen;
	uint8_t *out;
	size_t *outlen;
	size_t outcap;
};

/* mbedTLS f_send/f_recv over a struct tls_bio (ctx). */
static inline int
tls_bio_send(void *ctx, const unsigned char *p, size_t n)
{
	struct tls_bio *b = ctx;
	size_t room = b->outcap - *b->outlen;

	if (room == 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (n > room)
		n = room;
	memcpy(b->out + *b->outlen, p, n);
	*b->outlen += n;
	return (int)n;
}

static inline int
tls_bio_recv(void *ctx, unsigned char *p, size_t n)
{
	struct tls_bio *b = ctx;

	if (*b->inlen == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > *b->inlen)
		n = *b->inlen;
	memcpy(p, b->in, n);
	memmove(b->in, b->in + n, *b->inlen - n);
	*b->inlen -= n;
	return (int)n;
}

/* ------------------------------------------------------------ server side */

/*
 * The device certificate and key (issue 17 point 5; the bytes are
 * material.h's business, this side reads and writes the files through
 * hal/storage).
 *
 * generated: cert_path and key_path are zegel's own pair (the defaults under
 * <data-dir>/tls/, config_tls_generated()). Only then are files ever
 * written: a missing pair is generated (a new ECDSA P-256 key, then a
 * self-signed certificate with subjectAltName DNS:hostname); a key without
 * certificate gets a certificate for that key; a certificate zegel made
 * itself (tls_material_own()) that does not name hostname is replaced by
 * one that does, for the same key. An existing key is never written, nor a
 * certificate zegel did not make. Files an admin named (generated false) are
 * only read: missing is an error.
 *
 * tls_server_check() is the commit check: what tls_server_setup() would
 * refuse, without writing anything (the files an admin named exist, the
 * certificate parses, the key parses and is the certificate's), with a
 * message naming the file(s). tls_server_setup() loads them (generating as
 * above) and replaces the running material; on failure the previous material
 * stays. Both return 0 or a negative value with one line in err.
 */
int tls_server_check(const char *cert_path, const char *key_path, bool generated, char *err,
    size_t errcap);
int tls_server_setup(const char *cert_path, const char *key_path, const char *hostname,
    bool generated, char *err, size_t errcap);
bool tls_server_ready(void);

/*
 * The same with a key held elsewhere (issue 15 point 4, `set tls key-store
 * tpm`): key is a loaded RSA key whose sign() is a request to the key
 * holder, which signs with the TPM (firmware/privsep); this process has
 * only its public key. The slot takes key over (freed with the slot, or
 * at once on failure). mbedTLS gets it through mbedtls_pk_setup_rsa_alt();
 * the configs offer only SHA-256 signatures and ECDHE-RSA suites (the TPM
 * key signs RSASSA-PKCS1-v1_5/SHA-256 and never decrypts). generated: a
 * self-signed certificate signed by the key is made when cert_path is
 * missing, or is zegel's and names another host or key. A signature that
 * fails in a handshake (TPM gone or reset) fails that handshake, with a
 * log line; the key holder reconnects to the TPM at the next one.
 * key_name is for messages.
 */
int tls_server_setup_held(const char *cert_path, const char *key_name, struct hal_key *key,
    const char *hostname, bool generated, char *err, size_t errcap);
/* No TLS from now on (the TLS key configured cannot be used: never another
 * key instead); sessions already in TLS go on. */
void tls_server_disable(void);
/* `tls csr`: a PKCS#10 request for the held TLS key in use (signed by the
 * TPM through the key holder, with subjectAltName), PEM; 0 or -errno and
 * err (-ENOTSUP: the key is a file, -ENOENT: no TLS key in use). */
int tls_server_csr(const char *hostname, uint8_t *pem, size_t cap, size_t *len, char *err,
    size_t errcap);

/*
 * Listener minimum TLS versions (`set listener ... tls-min`): tls_min is
 * 10, 11, 12 or 13 for TLS 1.0 .. 1.3, 0 for the default 1.2. 0 when the
 * linked mbedTLS can serve it, else -ENOTSUP with a message saying what the
 * build lacks (the cross builds drop TLS 1.0/1.1, mbedTLS 2.28 has no
 * TLS 1.3 server).
 */
int tls_server_min_supported(unsigned tls_min, char *err, size_t errcap);

enum { TLS_WANT = 0 };

struct tls_server_conn {
	mbedtls_ssl_context ssl;
	struct tls_bio bio;
	bool used, done;
	signed char slot;           /* which material (server.c) */
};

/* mbedtls_ssl_setup over the shared server config: allocates mbedTLS's
 * record buffers (about 2 x 16.7 KiB), released by tls_server_conn_free().
 * tls_min as tls_server_min_supported(); -ENOTSUP when it is not. */
int tls_server_conn_init(struct tls_server_conn *t, unsigned tls_min, uint8_t *in, size_t *inlen,
    uint8_t *out, size_t *outlen, size_t outcap);
/* 1 when the handshake finished, TLS_WANT (0) to be called again, < 0 failed. */
int tls_server_conn_handshake(struct tls_server_conn *t);
/* Plaintext bytes read (> 0), TLS_WANT, or < 0 (peer closed or error). */
ssize_t tls_server_conn_read(struct tls_server_conn *t, uint8_t *p, size_t n);
/* Plaintext bytes taken (> 0), TLS_WANT, or < 0. */
ssize_t tls_server_conn_write(struct tls_server_conn *t, const uint8_t *p, size_t n);
/* "TLSv1.2 with cipher TLS-ECDHE-..." for the log. */
void tls_server_conn_describe(const struct tls_server_conn *t, char *buf, size_t cap);
void tls_server_conn_free(struct tls_server_conn *t);
const char *tls_strerror(int err, char *buf, size_t cap);

#endif
