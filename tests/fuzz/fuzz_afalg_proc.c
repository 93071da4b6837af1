/*
 * libFuzzer target: the /proc/crypto parser (hal/linux/afalg_proc.c).
 *
 * The input is the text. It is fed whole and again cut at a point taken
 * from its first byte: both must pick the same driver for every name, each
 * pick a terminated string with a priority of -1 (none) or more.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hal/linux/afalg_proc.h"

static const char *const names[4] = { "sha1", "sha256", "sha384", "sha512" };

static void
parse(const uint8_t *data, size_t n, size_t cut, struct hal_afalg_pick picks[4])
{
	struct hal_afalg_proc c;

	hal_afalg_proc_init(&c, names, picks, 4);
	hal_afalg_proc_push(&c, data, cut);
	hal_afalg_proc_push(&c, data + cut, n - cut);
	hal_afalg_proc_end(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct hal_afalg_pick a[4], b[4];
	size_t cut = n > 0 ? (size_t)data[0] * n / 256 : 0;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	parse(data, n, n, a);
	parse(data, n, cut, b);
	for (int i = 0; i < 4; i++) {
		if (a[i].priority < -1 || memchr(a[i].driver, 0, sizeof(a[i].driver)) == NULL ||
		    memchr(a[i].type, 0, sizeof(a[i].type)) == NULL)
			abort();
		if (a[i].priority != b[i].priority || strcmp(a[i].driver, b[i].driver) != 0 ||
		    strcmp(a[i].type, b[i].type) != 0)
			abort();
	}
	return 0;
}
