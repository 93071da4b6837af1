/*
 * zegel's signing loop for tests/bench/sign: the library exactly as `zegel
 * sign` and the SMTP path use it (init, add, push, finish, header), keys
 * loaded once, messages in memory.
 *
 *   sign_zegel sign KEYFILE SELECTOR LISTFILE BIGFILE
 *       -> "msgs_per_s=N big_mb_per_s=N" (the list signed over and over for
 *          at least 1 s, then BIGFILE for 2 s)
 *   sign_zegel ceilings RSA2048KEY ED25519KEY
 *       -> "rsa2048_signs_per_s=N ed25519_signs_per_s=N sha256_mb_per_s=N
 *           sha256_soft_mb_per_s=N sha256_cpu_mb_per_s=N sha256_by=NAME"
 *          (tight loops through hal/crypto: mbedTLS, libsodium, the chain's
 *          SHA-256 backend, and SHA-256 through soft (mbedTLS) and cpu (the
 *          CPU's SHA instructions; 0 where it has none) directly)
 *   sign_zegel ratio KEYFILE SELECTOR BIGFILE ROUNDS
 *       -> per round one line "big_mb_per_s=N sha256_mb_per_s=N ratio=N":
 *          signing BIGFILE for 1 s, then SHA-256 of the same bytes through
 *          the chain's hash backend for 1 s (the same memory, the same
 *          moment: the machine is shared, so the two alternate)
 */
#include "dkim/dkim.h"
#include "firmware/keys/keys.h"
#include "sign_common.h"
#include "zegel/board.h"
#include "zegel/config.h"

static struct dkim_signer sg;
static uint8_t hbuf[CONFIG_DKIM_MAX_HEADER_BYTES];
static char out[4096];

static void
sign_one(const struct hal_key *k, const char *sel, const struct blob *m)
{
	struct dkim_sig_params p = {
		.domain = "example.com", .selector = sel, .key = k,
		.canon_header = DKIM_CANON_RELAXED, .canon_body = DKIM_CANON_RELAXED,
	};
	size_t n;

	dkim_signer_init(&sg, hbuf, sizeof(hbuf));
	if (dkim_signer_add(&sg, &p) != DKIM_OK ||
	    dkim_signer_push(&sg, m->p, m->n) != m->n ||
	    dkim_signer_finish(&sg, 1764331200) != DKIM_OK ||
	    dkim_signer_header(&sg, 0, out, sizeof(out), &n) != DKIM_OK) {
		fprintf(stderr, "sign failed: %s\n", dkim_strerror(dkim_signer_error(&sg)));
		exit(1);
	}
}

/* SHA-256 MB/s of backend b alone over p[0..n), 0 if it does not hash it */
static double
hash_mbps(const struct hal_crypto_ops *b, const uint8_t *p, size_t n, double secs)
{
	uint8_t d[32];
	double t0 = now_s(), t;
	int k;

	for (k = 0; (t = now_s() - t0) < secs; k++) {
		struct hal_hash_ctx c;

		c.ops = NULL;
		if (b->hash_init(&c, HAL_HASH_SHA256) != 0)
			return 0;
		hal_hash_update(&c, p, n);
		hal_hash_final(&c, d);
	}
	return k * (double)n / 1e6 / t;
}

static int
ceilings(const char *rsafile, const char *edfile)
{
	const struct hal_crypto_ops *b;
	struct hal_key rsa, ed;
	uint8_t d[32] = { 1 }, sig[512];
	size_t sl;
	double t0, t;
	int n;
	static uint8_t buf[10 << 20];

	if (keys_load_file(&rsa, rsafile) != 0 || keys_load_file(&ed, edfile) != 0)
		return 2;
	t0 = now_s();
	for (n = 0; (t = now_s() - t0) < 3.0; n++)
		hal_key_sign(&rsa, HAL_HASH_SHA256, d, 32, sig, sizeof(sig), &sl);
	printf("rsa2048_signs_per_s=%.0f ", n / t);
	t0 = now_s();
	for (n = 0; (t = now_s() - t0) < 2.0; n++)
		hal_key_sign(&ed, HAL_HASH_SHA256, d, 32, sig, sizeof(sig), &sl);
	printf("ed25519_signs_per_s=%.0f ", n / t);
	memset(buf, 'a', sizeof(buf));
	t0 = now_s();
	for (n = 0; (t = now_s() - t0) < 2.0; n++)
		hal_hash(HAL_HASH_SHA256, buf, sizeof(buf), d);
	printf("sha256_mb_per_s=%.1f ", n * (double)sizeof(buf) / 1e6 / t);
	printf("sha256_soft_mb_per_s=%.1f ", hash_mbps(&hal_crypto_soft, buf, sizeof(buf), 2.0));
#if IS_ENABLED(CONFIG_HAL_CRYPTO_CPU)
	printf("sha256_cpu_mb_per_s=%.1f ", hash_mbps(&hal_crypto_cpu, buf, sizeof(buf), 2.0));
#else
	printf("sha256_cpu_mb_per_s=0 ");
#endif
	b = hal_crypto_hash_backend(HAL_HASH_SHA256);
	printf("sha256_by=%.*s\n", (int)strcspn(b ? b->name : "none", " "), b ? b->name : "none");
	return 0;
}

/* Alternating 1 s windows: signing the big message, hashing its bytes. */
static int
ratio(const char *keyfile, const char *sel, const char *bigfile, int rounds)
{
	const struct hal_crypto_ops *b = hal_crypto_hash_backend(HAL_HASH_SHA256);
	struct hal_key k;
	struct blob big;

	if (b == NULL || keys_load_file(&k, keyfile) != 0)
		return 2;
	big = slurp(bigfile);
	for (int r = 0; r < rounds; r++) {
		double t0 = now_s(), t, sign, hash;
		int n;

		for (n = 0; (t = now_s() - t0) < 1.0; n++)
			sign_one(&k, sel, &big);
		sign = (double)n * big.n / 1e6 / t;
		hash = hash_mbps(b, big.p, big.n, 1.0);
		printf("big_mb_per_s=%.1f sha256_mb_per_s=%.1f ratio=%.3f\n", sign, hash,
		    hash > 0 ? sign / hash : 0);
		fflush(stdout);
	}
	hal_key_free(&k);
	return 0;
}

int
main(int argc, char **argv)
{
	struct hal_key k;
	struct blob *v, big;
	size_t n;
	double t0, t;

	board_init();
	if (argc == 6 && strcmp(argv[1], "ratio") == 0)
		return ratio(argv[2], argv[3], argv[4], atoi(argv[5]));
	if (argc == 4 && strcmp(argv[1], "ceilings") == 0)
		return ceilings(argv[2], argv[3]);
	if (argc != 6 || strcmp(argv[1], "sign") != 0)
		return 2;
	if (keys_load_file(&k, argv[2]) != 0)
		return 2;
	v = slurp_list(argv[4], &n);
	big = slurp(argv[5]);
	/* passes over the corpus for at least 1 s: one pass is about 70 ms,
	 * too short on the shared machine */
	t0 = now_s();
	size_t done = 0;
	do {
		for (size_t i = 0; i < n; i++)
			sign_one(&k, argv[3], &v[i]);
		done += n;
	} while ((t = now_s() - t0) < 1.0);
	printf("msgs_per_s=%.0f ", done / t);
	t0 = now_s();
	for (n = 0; (t = now_s() - t0) < 2.0; n++) /* 2 s: 3 messages were noisy */
		sign_one(&k, argv[3], &big);
	printf("big_mb_per_s=%.1f\n", (double)n * big.n / 1e6 / t);
	hal_key_free(&k);
	return 0;
}
