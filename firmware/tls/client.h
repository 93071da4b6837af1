/*
 * firmware/tls/client.h — TLS client for relaying to upstreams (mbedTLS 2.28).
 *
 * Model. Two layers, both owned by the caller:
 *
 *   struct tls_client_conf  shared, loaded once per CA file: the mbedTLS
 *                           config, the CA chain, the policy (TLS 1.2 minimum,
 *                           ECDHE with AES-GCM or ChaCha20-Poly1305 only,
 *                           certificate required). Loading Debian's bundle
 *                           costs ~150 certificates on the heap: keep one.
 *   struct tls_client       one connection. mbedTLS never touches a socket:
 *                           its bio callbacks read and write two ciphertext
 *                           buffers inside this struct, which the event loop
 *                           fills and drains (the loop.h stream callbacks map
 *                           one to one onto rx_space/rx_done/tx_data/tx_done).
 *
 * Call order:
 *   tls_client_conf_load(&cc, ca_file, probe, err, cap)      once
 *   tls_client_start(&c, &cc, host)                          per connection
 *   loop { move ciphertext with rx_space/rx_done, tx_data/tx_done;
 *          tls_client_handshake(&c) until 0 }
 *   tls_client_write / tls_client_read                       application data
 *   tls_client_close_notify(&c); drain tx; tls_client_free(&c)
 *
 * Results: 0 or a byte count; TLS_CLIENT_AGAIN when more ciphertext must be
 * moved first; TLS_CLIENT_EOF when the peer closed (close_notify);
 * TLS_CLIENT_FAIL when the connection is dead — tls_client_why() says why in
 * words ("certificate expired", "certificate name mismatch: wanted mx.example",
 * "certificate not trusted", "handshake failed: ...") and tls_client_fail_kind()
 * classifies it. The error sticks: every later call returns TLS_CLIENT_FAIL.
 *
 * Host names: a DNS name is sent as SNI and checked against the certificate
 * (mbedTLS: subjectAltName dNSName, else CN). An IP literal gets no SNI
 * (RFC 6066 3) and is checked against the iPAddress subjectAltNames here,
 * since mbedTLS 2.28 does not.
 *
 * Verification hook (DANE plugs in here): if set with tls_client_set_verify(),
 * hook(arg, c, crt, depth, &flags) is called in the handshake for every
 * certificate of the chain, the trust anchor first and the server's own
 * certificate (depth 0) last, after zegel's own checks have set flags
 * (MBEDTLS_X509_BADCERT_*). It may clear bits (a DANE-EE match makes the name
 * and chain irrelevant, RFC 7672 3.1.1) or set them; it returns 0, or a
 * negative mbedTLS error to abort. It should call tls_client_set_verified_by(c,
 * "dane") when it decided; otherwise a verified connection reports "pkix".
 * Plaintext the peer sent before the handshake is the SMTP engine's business:
 * it discards bytes after the 220 to STARTTLS (see firmware/relay/smtpc.h);
 * this layer only ever sees what arrived after.
 */
#ifndef ZEGEL_TLS_CLIENT_H
#define ZEGEL_TLS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#define TLS_CLIENT_DEFAULT_CA "/etc/ssl/certs/ca-certificates.crt"
#define TLS_CLIENT_RXBUF 4096
#define TLS_CLIENT_TXBUF 4096

#define TLS_CLIENT_AGAIN (-1)
#define TLS_CLIENT_EOF (-2)
#define TLS_CLIENT_FAIL (-3)

enum tls_client_fail {
	TLS_FAIL_NONE = 0,
	TLS_FAIL_HANDSHAKE,     /* protocol, alert, no common suite, ... */
	TLS_FAIL_UNTRUSTED,     /* chain does not end in a trusted CA */
	TLS_FAIL_NAME,          /* certificate not valid for the host name */
	TLS_FAIL_EXPIRED,       /* expired or not yet valid */
	TLS_FAIL_CERT,          /* other certificate problem (key too weak, ...) */
	TLS_FAIL_IO,            /* the record layer failed after the handshake */
};

struct tls_client_conf {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca;
	char ca_file[256];
	bool probe;             /* verify optionally and report (test relay) */
	bool loaded;
};

struct tls_client;
typedef int (*tls_client_verify_fn)(void *arg, struct tls_client *c, mbedtls_x509_crt *crt,
    int depth, uint32_t *flags);

struct tls_client {
	mbedtls_ssl_context ssl;
	const struct tls_client_conf *cc;
	char host[256];
	uint8_t ip[16];
	size_t ip_len;          /* 4 or 16 if host is an IP literal, else 0 */
	tls_client_verify_fn hook;
	void *hook_arg;
	const char *verified_by; /* "pkix", "dane", or NULL before/without */
	bool started, handshaken, peer_closed, failed;
	enum tls_client_fail kind;
	uint32_t vflags;        /* final verification flags */
	char why[200];
	/* the server certificate, for logs and `test relay` */
	char subject[160], issuer[160];
	char not_before[24];    /* "2026-01-31 23:59:59" */
	char not_after[24];     /* "2027-01-31 23:59:59" */
	uint8_t rx[TLS_CLIENT_RXBUF];
	size_t rx_off, rx_len;
	uint8_t tx[TLS_CLIENT_TXBUF];
	size_t tx_len;
};

/* ca_file NULL or "": TLS_CLIENT_DEFAULT_CA. Returns 0 or -1 with err set. */
int tls_client_conf_load(struct tls_client_conf *cc, const char *ca_file, bool probe, char *err,
    size_t errcap);
/* The same policy without any CA: every chain ends untrusted and only a
 * verify hook (firmware/tls/dane.h) can accept it. Returns 0 or -1. */
int tls_client_conf_load_noca(struct tls_client_conf *cc, char *err, size_t errcap);
void tls_client_conf_free(struct tls_client_conf *cc);

/* Returns 0 or -1 (why set). host: DNS name or IP literal (no brackets). */
int tls_client_start(struct tls_client *c, const struct tls_client_conf *cc, const char *host);
void tls_client_set_verify(struct tls_client *c, tls_client_verify_fn fn, void *arg);
void tls_client_set_verified_by(struct tls_client *c, const char *how);
void tls_client_free(struct tls_client *c);

/* Ciphertext plumbing (for the event loop). */
size_t tls_client_rx_space(struct tls_client *c, uint8_t **p);
void tls_client_rx_done(struct tls_client *c, size_t n);
size_t tls_client_tx_data(struct tls_client *c, const uint8_t **p);
void tls_client_tx_done(struct tls_client *c, size_t n);

int tls_client_handshake(struct tls_client *c);
/* Plaintext: bytes taken/read, or TLS_CLIENT_AGAIN / _EOF / _FAIL. After
 * AGAIN from write, call again with the same bytes (mbedTLS rule). */
ssize_t tls_client_write(struct tls_client *c, const uint8_t *p, size_t n);
ssize_t tls_client_read(struct tls_client *c, uint8_t *p, size_t cap);
/* Queue a close_notify alert (best effort). */
void tls_client_close_notify(struct tls_client *c);

const char *tls_client_why(const struct tls_client *c);
/* Probe mode: fill why/kind from the verification flags of a finished handshake. */
void tls_client_explain(struct tls_client *c);
enum tls_client_fail tls_client_fail_kind(const struct tls_client *c);
const char *tls_client_version(const struct tls_client *c);  /* "TLSv1.2" */
const char *tls_client_suite(const struct tls_client *c);
/* Enhanced status code for a failure of this kind: "4.7.5". */
const char *tls_client_fail_esc(enum tls_client_fail kind);

#endif
