/*
 * libopendkim's signing loop for tests/bench/sign: one DKIM_LIB, the key read
 * once, messages in memory; relaxed/relaxed, rsa-sha256 or ed25519-sha256.
 *
 *   sign_opendkim rsa|ed25519 KEYFILE SELECTOR LISTFILE BIGFILE
 *       -> "msgs_per_s=N big_mb_per_s=N"
 */
#include <opendkim/dkim.h>

#include "sign_common.h"

static DKIM_LIB *lib;
static dkim_alg_t alg;
static struct blob key;
static const char *sel;

static void
sign_one(const struct blob *m)
{
	DKIM_STAT st;
	DKIM *d = dkim_sign(lib, (unsigned char *)"bench", NULL, key.p, (unsigned char *)sel,
	    (unsigned char *)"example.com", DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, alg, -1, &st);
	unsigned char hdr[4096];

	if (d == NULL || dkim_chunk(d, m->p, m->n) != DKIM_STAT_OK ||
	    dkim_chunk(d, NULL, 0) != DKIM_STAT_OK || dkim_eom(d, NULL) != DKIM_STAT_OK ||
	    dkim_getsighdr(d, hdr, sizeof(hdr), strlen("DKIM-Signature: ")) != DKIM_STAT_OK) {
		fprintf(stderr, "libopendkim sign failed: %s\n", d ? dkim_geterror(d) : "dkim_sign");
		exit(1);
	}
	dkim_free(d);
}

int
main(int argc, char **argv)
{
	struct blob *v, big;
	size_t n;
	double t0, t;

	if (argc != 6)
		return 2;
	alg = strcmp(argv[1], "ed25519") == 0 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256;
	key = slurp(argv[2]);
	sel = argv[3];
	lib = dkim_init(NULL, NULL);
	v = slurp_list(argv[4], &n);
	big = slurp(argv[5]);
	t0 = now_s();
	for (size_t i = 0; i < n; i++)
		sign_one(&v[i]);
	t = now_s() - t0;
	printf("msgs_per_s=%.0f ", n / t);
	t0 = now_s();
	for (int i = 0; i < 3; i++)
		sign_one(&big);
	t = now_s() - t0;
	printf("big_mb_per_s=%.1f\n", 3 * big.n / 1e6 / t);
	dkim_close(lib);
	return 0;
}
