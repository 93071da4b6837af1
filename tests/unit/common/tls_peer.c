/* In-memory TLS server for client tests (tls_peer.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "hal/entropy.h"
#include "tls_peer.h"

static struct {
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
	uint8_t in[32768];
	size_t in_len;
	uint8_t out[32768];
	size_t out_len;
} S;

static int
s_send(void *ctx, const unsigned char *p, size_t n)
{
	(void)ctx;
	if (n > sizeof(S.out) - S.out_len)
		n = sizeof(S.out) - S.out_len;
	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	memcpy(S.out + S.out_len, p, n);
	S.out_len += n;
	return (int)n;
}

static int
s_recv(void *ctx, unsigned char *p, size_t n)
{
	(void)ctx;
	if (S.in_len == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n > S.in_len)
		n = S.in_len;
	memcpy(p, S.in, n);
	memmove(S.in, S.in + n, S.in_len - n);
	S.in_len -= n;
	return (int)n;
}

void
tls_peer_start(const char *chain, const char *key)
{
	memset(&S, 0, sizeof(S));
	mbedtls_ssl_config_init(&S.conf);
	mbedtls_x509_crt_init(&S.crt);
	mbedtls_pk_init(&S.pk);
	mbedtls_ssl_init(&S.ssl);
	assert_int_equal(mbedtls_x509_crt_parse_file(&S.crt, chain), 0);
	assert_int_equal(mbedtls_pk_parse_keyfile(&S.pk, key, NULL), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&S.conf, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT), 0);
	mbedtls_ssl_conf_rng(&S.conf, hal_entropy_rng, NULL);
	assert_int_equal(mbedtls_ssl_conf_own_cert(&S.conf, &S.crt, &S.pk), 0);
	assert_int_equal(mbedtls_ssl_setup(&S.ssl, &S.conf), 0);
	mbedtls_ssl_set_bio(&S.ssl, NULL, s_send, s_recv, NULL);
}

void
tls_peer_free(void)
{
	mbedtls_ssl_free(&S.ssl);
	mbedtls_ssl_config_free(&S.conf);
	mbedtls_x509_crt_free(&S.crt);
	mbedtls_pk_free(&S.pk);
}

int
tls_peer_shuttle(struct tls_client *c)
{
	int r = TLS_CLIENT_AGAIN, i;

	for (i = 0; i < 2000 && r == TLS_CLIENT_AGAIN; i++) {
		const uint8_t *p;
		uint8_t *q;
		size_t n, room;

		r = tls_client_handshake(c);
		n = tls_client_tx_data(c, &p);
		if (n > 700)
			n = 700; /* partial sends */
		memcpy(S.in + S.in_len, p, n);
		S.in_len += n;
		tls_client_tx_done(c, n);
		(void)mbedtls_ssl_handshake(&S.ssl);
		room = tls_client_rx_space(c, &q);
		n = S.out_len < room ? S.out_len : room;
		if (n > 500)
			n = 500;
		memcpy(q, S.out, n);
		tls_client_rx_done(c, n);
		memmove(S.out, S.out + n, S.out_len - n);
		S.out_len -= n;
	}
	return r;
}

int
tls_peer_read(struct tls_client *c, uint8_t *buf, size_t cap)
{
	const uint8_t *p;
	size_t k = tls_client_tx_data(c, &p);

	assert_true(k <= sizeof(S.in) - S.in_len);
	memcpy(S.in + S.in_len, p, k);
	S.in_len += k;
	tls_client_tx_done(c, k);
	return mbedtls_ssl_read(&S.ssl, buf, cap);
}

void
tls_peer_write(struct tls_client *c, const void *p, size_t n)
{
	uint8_t *q;
	size_t room;

	assert_int_equal(mbedtls_ssl_write(&S.ssl, p, n), (int)n);
	room = tls_client_rx_space(c, &q);
	assert_true(room >= S.out_len);
	memcpy(q, S.out, S.out_len);
	tls_client_rx_done(c, S.out_len);
	S.out_len = 0;
}
