/*
 * RSA-2048 cost in mbedTLS 2.28 (issue 22.4), one build variant per binary
 * (tests/bench/rsa.sh compiles Debian's mbedTLS source with each variant's
 * flags and config and links it with this file).
 *
 *   rsa_bench gen KEYFILE          make a 2048-bit key (deterministic RNG)
 *   rsa_bench run KEYFILE SECONDS  time each operation for SECONDS of CPU time
 *
 * Output, one line per measure:  NAME ops_per_s  (process CPU time, the
 * divisor `openssl speed` uses by default), then "sig CHECKSUM": the
 * PKCS#1 v1.5 signature is deterministic, so every variant on every
 * architecture must print the same checksum (rsa.sh checks it).
 *
 * Measures:
 *   sign        mbedtls_rsa_pkcs1_sign, SHA-256, with the CTR-DRBG (what
 *               zegel does: blinded CRT private operation + the library's
 *               own checks of its result)
 *   priv_blind  mbedtls_rsa_private with the RNG (base and exponent blinding)
 *   priv_plain  mbedtls_rsa_private without an RNG: 2.28 then skips both
 *               blindings (the CRT and the result check stay)
 *   crt_raw     the two half-size exponentiations alone
 *               (mbedtls_mpi_exp_mod mod P and mod Q): the floor
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mbedtls/bignum.h"
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/md.h"
#include "mbedtls/rsa.h"

/* Fixed "entropy": the key and the run are reproducible (benchmark only). */
static int fixed_entropy(void *ctx, unsigned char *buf, size_t len)
{
	unsigned *state = ctx;
	for (size_t i = 0; i < len; i++) {
		*state = *state * 1103515245u + 12345u;
		buf[i] = (unsigned char)(*state >> 16);
	}
	return 0;
}

static double cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int ret)
{
	fprintf(stderr, "rsa_bench: %s failed (-0x%04x)\n", what, (unsigned)-ret);
	exit(1);
}

static int write_key(const char *path, mbedtls_rsa_context *rsa)
{
	FILE *f = fopen(path, "w");
	char buf[1100];
	size_t n;
	const mbedtls_mpi *v[] = { &rsa->N, &rsa->E, &rsa->D, &rsa->P, &rsa->Q };
	if (f == NULL)
		return -1;
	for (size_t i = 0; i < 5; i++) {
		if (mbedtls_mpi_write_string(v[i], 16, buf, sizeof(buf), &n) != 0)
			return -1;
		fprintf(f, "%s\n", buf);
	}
	return fclose(f);
}

static void read_key(const char *path, mbedtls_rsa_context *rsa)
{
	FILE *f = fopen(path, "r");
	char line[1100];
	mbedtls_mpi v[5];
	int ret;
	if (f == NULL)
		die("open key", -1);
	for (size_t i = 0; i < 5; i++) {
		mbedtls_mpi_init(&v[i]);
		if (fgets(line, sizeof(line), f) == NULL)
			die("read key", -1);
		line[strcspn(line, "\n")] = '\0';
		if ((ret = mbedtls_mpi_read_string(&v[i], 16, line)) != 0)
			die("mpi_read_string", ret);
	}
	fclose(f);
	/* N, P, Q, D, E */
	if ((ret = mbedtls_rsa_import(rsa, &v[0], &v[3], &v[4], &v[2], &v[1])) != 0)
		die("rsa_import", ret);
	if ((ret = mbedtls_rsa_complete(rsa)) != 0)
		die("rsa_complete", ret);
	if ((ret = mbedtls_rsa_check_privkey(rsa)) != 0)
		die("rsa_check_privkey", ret);
	for (size_t i = 0; i < 5; i++)
		mbedtls_mpi_free(&v[i]);
}

enum op { OP_SIGN, OP_PRIV_BLIND, OP_PRIV_PLAIN, OP_CRT_RAW };

struct bench {
	mbedtls_rsa_context *rsa;
	mbedtls_ctr_drbg_context *drbg;
	unsigned char hash[32], in[256], out[256];
	mbedtls_mpi t, tp, tq;
};

static void one(struct bench *b, enum op op)
{
	int ret = 0;
	switch (op) {
	case OP_SIGN:
		ret = mbedtls_rsa_pkcs1_sign(b->rsa, mbedtls_ctr_drbg_random, b->drbg,
		                             MBEDTLS_RSA_PRIVATE, MBEDTLS_MD_SHA256, 32,
		                             b->hash, b->out);
		break;
	case OP_PRIV_BLIND:
		ret = mbedtls_rsa_private(b->rsa, mbedtls_ctr_drbg_random, b->drbg, b->in, b->out);
		break;
	case OP_PRIV_PLAIN:
		ret = mbedtls_rsa_private(b->rsa, NULL, NULL, b->in, b->out);
		break;
	case OP_CRT_RAW:
		ret = mbedtls_mpi_exp_mod(&b->tp, &b->t, &b->rsa->DP, &b->rsa->P, &b->rsa->RP);
		if (ret == 0)
			ret = mbedtls_mpi_exp_mod(&b->tq, &b->t, &b->rsa->DQ, &b->rsa->Q,
			                          &b->rsa->RQ);
		break;
	}
	if (ret != 0)
		die("operation", ret);
}

static double rate(struct bench *b, enum op op, double secs)
{
	double t0, t;
	long n = 0;
	one(b, op); /* warm-up: the blinding values are made on first use */
	t0 = cpu_now();
	do {
		one(b, op);
		n++;
		t = cpu_now() - t0;
	} while (t < secs || n < 3);
	return (double)n / t;
}

int main(int argc, char **argv)
{
	mbedtls_rsa_context rsa;
	mbedtls_ctr_drbg_context drbg;
	unsigned seed = 22;
	int ret;

	if (argc < 3) {
		fprintf(stderr, "usage: rsa_bench gen KEYFILE | run KEYFILE SECONDS\n");
		return 2;
	}
	mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V15, 0);
	mbedtls_ctr_drbg_init(&drbg);
	if ((ret = mbedtls_ctr_drbg_seed(&drbg, fixed_entropy, &seed,
	                                 (const unsigned char *)"zegel-rsa-bench", 15)) != 0)
		die("ctr_drbg_seed", ret);

	if (strcmp(argv[1], "gen") == 0) {
		if ((ret = mbedtls_rsa_gen_key(&rsa, mbedtls_ctr_drbg_random, &drbg, 2048, 65537)) != 0)
			die("rsa_gen_key", ret);
		return write_key(argv[2], &rsa) == 0 ? 0 : 1;
	}
	if (strcmp(argv[1], "run") != 0 || argc < 4)
		return 2;
	read_key(argv[2], &rsa);
	double secs = atof(argv[3]);

	struct bench b = { .rsa = &rsa, .drbg = &drbg };
	for (size_t i = 0; i < sizeof(b.hash); i++)
		b.hash[i] = (unsigned char)(i * 7 + 1);
	memset(b.in, 0x5a, sizeof(b.in));
	b.in[0] = 0x01; /* below N */
	mbedtls_mpi_init(&b.t);
	mbedtls_mpi_init(&b.tp);
	mbedtls_mpi_init(&b.tq);
	if ((ret = mbedtls_mpi_read_binary(&b.t, b.in, sizeof(b.in))) != 0)
		die("mpi_read_binary", ret);

	/* Correctness: the signature verifies, and its checksum is printed. */
	one(&b, OP_SIGN);
	if ((ret = mbedtls_rsa_pkcs1_verify(&rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, MBEDTLS_MD_SHA256,
	                                    32, b.hash, b.out)) != 0)
		die("rsa_pkcs1_verify", ret);
	unsigned long sum = 5381;
	for (size_t i = 0; i < sizeof(b.out); i++)
		sum = sum * 33 + b.out[i];

	static const char *const names[] = { "sign", "priv_blind", "priv_plain", "crt_raw" };
	for (int op = OP_SIGN; op <= OP_CRT_RAW; op++)
		printf("%s %.1f\n", names[op], rate(&b, (enum op)op, secs));
	printf("sig %08lx\n", sum & 0xffffffffUL);

	mbedtls_mpi_free(&b.t);
	mbedtls_mpi_free(&b.tp);
	mbedtls_mpi_free(&b.tq);
	mbedtls_rsa_free(&rsa);
	mbedtls_ctr_drbg_free(&drbg);
	return 0;
}
