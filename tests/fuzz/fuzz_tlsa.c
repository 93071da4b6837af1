/*
 * libFuzzer: TLSA records against certificates (firmware/tls/dane.c).
 * Input: k (1 byte, records, mod 9), then k records as len (1 byte) + rdata,
 * a flags word (4 bytes), then DER certificates, each as len (2 bytes, big
 * endian) + DER. Parses the records (dane_tlsa_parse/usable/format), parses
 * the certificates with mbedTLS, checks names and matches, and walks the
 * verify hook over the chain from the top down to depth 0 as mbedTLS would.
 * Invariants: the hook never crashes, and when it leaves no flags at depth 0
 * a record matched.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <mbedtls/x509_crt.h>

#include "firmware/tls/dane.h"
#include "zegel/board.h"

static struct dane_tlsa T[8];

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static bool inited;
	struct dane_verify v;
	mbedtls_x509_crt chain, *cs[12];
	unsigned nt = 0, nc = 0, k;
	uint32_t fl;
	size_t o = 1;
	char buf[DANE_TLSA_TEXT_MAX];

	if (!inited) {
		board_init();
		inited = true;
	}
	if (n < 1)
		return 0;
	k = d[0] % 9;
	for (unsigned i = 0; i < k && o < n; i++) {
		size_t l = d[o++];
		if (l > n - o)
			l = n - o;
		if (dane_tlsa_parse(d + o, l, &T[nt]) == 0) {
			(void)dane_tlsa_usable(&T[nt]);
			dane_tlsa_format(&T[nt], buf, sizeof(buf));
			assert(memchr(buf, '\0', sizeof(buf)) != NULL);
			nt++;
		}
		o += l;
	}
	if (o + 4 > n)
		return 0;
	fl = (uint32_t)d[o] << 24 | (uint32_t)d[o + 1] << 16 | (uint32_t)d[o + 2] << 8 | d[o + 3];
	o += 4;
	mbedtls_x509_crt_init(&chain);
	while (o + 2 <= n && nc < 10) {
		size_t l = (size_t)d[o] << 8 | d[o + 1];
		o += 2;
		if (l > n - o)
			l = n - o;
		if (mbedtls_x509_crt_parse_der(&chain, d + o, l) == 0)
			nc++;
		o += l;
	}
	k = 0;
	for (mbedtls_x509_crt *c = &chain; c != NULL && c->version != 0 && k < nc; c = c->next)
		cs[k++] = c;
	for (unsigned i = 0; i < k; i++) {
		(void)dane_cert_names(cs[i], "mx.example.net");
		(void)dane_cert_names(cs[i], "example.net.");
		for (unsigned t = 0; t < nt; t++)
			(void)dane_match_cert(&T[t], cs[i]);
	}
	dane_verify_init(&v, T, nt, "mx.example.net", "example.net");
	for (int depth = (int)k - 1; depth >= 0; depth--) {
		uint32_t f = fl >> depth;
		assert(dane_verify_hook(&v, NULL, cs[depth], depth, &f) == 0);
		if (depth > 0)
			assert(f == 0);
		else if (f == 0)
			assert(v.matched >= 0);
	}
	mbedtls_x509_crt_free(&chain);
	return 0;
}
