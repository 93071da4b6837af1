/*
 * tests/unit/common/tls_peer.h — an in-memory mbedTLS server for tests of
 * firmware/tls/client.c and its verify hooks (test_tls_client, test_dane).
 * No sockets: tls_peer_shuttle() moves the ciphertext between the server's
 * buffers and the client's rx/tx plumbing, in small pieces (partial sends
 * and reads), until the client's handshake is over.
 */
#ifndef ZEGEL_TESTS_TLS_PEER_H
#define ZEGEL_TESTS_TLS_PEER_H

#include "firmware/tls/client.h"

/* chain: PEM file, leaf first; key: the leaf's key. Fails the test on error. */
void tls_peer_start(const char *chain, const char *key);
void tls_peer_free(void);
/* The client's last tls_client_handshake() result. */
int tls_peer_shuttle(struct tls_client *c);
/* After the handshake: the server reads what the client sent (application
 * data, returns mbedtls_ssl_read's result), or writes n bytes and hands the
 * ciphertext to the client. */
int tls_peer_read(struct tls_client *c, uint8_t *buf, size_t cap);
void tls_peer_write(struct tls_client *c, const void *p, size_t n);

#endif
