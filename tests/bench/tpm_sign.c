/*
 * RSA-2048 signatures per second through hal/crypto for tests/bench/tpm.sh:
 * a key file loaded once (PEM: software, mbedTLS; zegel-tpm2-key: the TPM
 * through hal/tpm2), then SHA-256 digests signed for about SECONDS of wall
 * time (a TPM works while this process waits: CPU time would flatter it).
 *
 *   tpm_sign KEYFILE SECONDS   -> "signs=N seconds=S signs_per_s=R"
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "firmware/keys/keys.h"
#include "hal/crypto.h"
#include "zegel/board.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct hal_key k;
	uint8_t d[32], sig[512];
	size_t sl = 0;
	unsigned long n = 0;
	double t0, t1, secs;
	int rc;

	if (argc != 3)
		return 2;
	secs = atof(argv[2]);
	board_init();
	if ((rc = keys_load_file(&k, argv[1])) != 0) {
		fprintf(stderr, "tpm_sign: %s: cannot load (%d)\n", argv[1], rc);
		return 1;
	}
	t0 = t1 = now();
	while (t1 - t0 < secs) {
		for (int i = 0; i < 32; i++)
			d[i] = (uint8_t)(n + (unsigned long)i);
		if (hal_key_sign(&k, HAL_HASH_SHA256, d, sizeof(d), sig, sizeof(sig), &sl) != 0 ||
		    sl != 256) {
			fprintf(stderr, "tpm_sign: sign failed\n");
			return 1;
		}
		n++;
		t1 = now();
	}
	hal_key_free(&k);
	printf("signs=%lu seconds=%.2f signs_per_s=%.1f\n", n, t1 - t0, (double)n / (t1 - t0));
	return 0;
}
