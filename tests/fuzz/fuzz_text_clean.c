/*
 * libFuzzer: the clean-text check of the DKIM body fast path (hal/crypto.h:
 * hal_text_clean_len(), hal_hash_update_text()), differentially. Input:
 * flags (1 byte: bit 0 relaxed), pre (1 byte: bytes already in the hash
 * context, mod 64), then the text. The board's chain (on x86 with SHA-NI:
 * the check inside the SHA-NI loop, hal/cpu) must say what the separate
 * check says (length, *dirty) and its digest must be soft's over the same
 * bytes. Invariants also: the prefix is at most the text and ends in CRLF.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hal/crypto.h"

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const uint8_t junk[64] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";
	struct hal_hash_ctx c, s;
	uint8_t a[32], b[32];
	unsigned flags;
	size_t pre, want, len = 0;
	bool wdirty, dirty = false;

	if (n < 2)
		return 0;
	flags = d[0] & 1 ? HAL_TEXT_RELAXED : 0;
	pre = d[1] % 64;
	d += 2;
	n -= 2;
	want = hal_text_clean_len(d, n, flags, &wdirty);
	assert(want <= n);
	assert(want == 0 || (want >= 3 && d[want - 2] == '\r' && d[want - 1] == '\n'));
	if (hal_hash_init(&c, HAL_HASH_SHA256) != 0)
		return 0;
	assert(hal_hash_update(&c, junk, pre) == 0);
	assert(hal_hash_update_text(&c, d, n, flags, &len, &dirty) == 0);
	assert(hal_hash_final(&c, a) == 0);
	/* the separate pass stops at a line longer than HAL_TEXT_CHUNK */
	if (n <= HAL_TEXT_CHUNK)
		assert(len == want && dirty == wdirty);
	s.ops = NULL;
	assert(hal_crypto_soft.hash_init(&s, HAL_HASH_SHA256) == 0);
	assert(hal_hash_update(&s, junk, pre) == 0);
	assert(hal_hash_update(&s, d, len) == 0);
	assert(hal_hash_final(&s, b) == 0);
	assert(memcmp(a, b, 32) == 0);
	return 0;
}
