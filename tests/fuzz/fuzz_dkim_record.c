/*
 * libFuzzer: the DKIM key record parser and comparator (firmware/keys/record.c).
 * Input: type (1 byte: even rsa, odd ed25519), publen (1 byte), that many
 * bytes of "public key", then the record text (also tried as TXT rdata).
 * Invariants: no crash or overread; the explanation is NUL-terminated and
 * bounded; keyrec_value() of the public part always compares equal (0) to
 * it, and any other text that compares equal decodes to the same bytes.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "firmware/keys/record.h"

static struct keyrec r;

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	enum hal_key_type t;
	const uint8_t *pub;
	size_t pl, tl, vl;
	char why[300], val[1500], txt[KEYREC_TEXT_MAX];
	unsigned diff;

	if (n < 2)
		return 0;
	t = (d[0] & 1) ? HAL_KEY_ED25519 : HAL_KEY_RSA;
	pl = d[1];
	if (pl > n - 2)
		pl = n - 2;
	pub = d + 2;
	d += 2 + pl;
	n -= 2 + pl;
	diff = keyrec_check((const char *)d, n, t, pub, pl, &r);
	if (diff == 0)
		assert(r.plen == pl && memcmp(r.p, pub, pl) == 0);
	(void)keyrec_explain(diff, &r, t, pub, pl, why, sizeof(why));
	assert(strlen(why) < sizeof(why));
	if (keyrec_txt_join(d, n, txt, sizeof(txt), &tl) == 0) {
		assert(strlen(txt) <= tl);
		(void)keyrec_check(txt, tl, t, pub, pl, &r);
	}
	if (pl > 0 && keyrec_value(t, pub, pl, val, sizeof(val), &vl) == 0) {
		assert(vl == strlen(val));
		assert(keyrec_check(val, vl, t, pub, pl, &r) == 0);
	}
	return 0;
}
