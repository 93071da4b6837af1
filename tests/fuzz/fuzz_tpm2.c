/*
 * libFuzzer target: the TPM 2.0 response decoder and the key file parser
 * (hal/tpm2/tpm2_wire.c).
 *
 * The input is one TPM response (or a key file): every decoder reads it
 * and must answer 0, -EBADMSG or -EIO without reading past it; what one
 * accepts must be consistent (a signature no longer than its buffer, a
 * public area that yields a SubjectPublicKeyInfo, a response size that is
 * the input's). A key file that parses is written back and parses to the
 * same blob.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hal/tpm2.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	static struct tpm2_blob b, b2;
	static uint8_t pub[TPM2_PUB_MAX], sig[TPM2_RSA_MAX], spki[700];
	static char out[8192];
	struct tpm2_rsa_pub k;
	uint32_t trc, h, hs[16];
	size_t pl = 0, sl = 0, cnt = 0, ol = 0;
	int rc;

	if (tpm2_rsp_status(data, n, &trc) == 0 && tpm2_rsp_size(data, n) != n)
		abort();
	(void)tpm2_rsp_create_primary(data, n, &trc, &h);
	(void)tpm2_rsp_load(data, n, &trc, &h);
	if (tpm2_rsp_create(data, n, &trc, &b) == 0 &&
	    (b.publen > sizeof(b.pub) || b.privlen > sizeof(b.priv)))
		abort();
	rc = tpm2_rsp_sign(data, n, &trc, sig, sizeof(sig), &sl);
	if (rc == 0 && (sl == 0 || sl > sizeof(sig)))
		abort();
	if (tpm2_rsp_get_handles(data, n, &trc, hs, 16, &cnt) == 0 && cnt > 16)
		abort();
	if (tpm2_rsp_read_public(data, n, &trc, pub, sizeof(pub), &pl) == 0 &&
	    tpm2_public_parse(pub, pl, &k) == 0 &&
	    (k.modlen == 0 || tpm2_rsa_spki(&k, spki, sizeof(spki), &sl) != 0))
		abort();
	if (tpm2_public_parse(data, n, &k) == 0 && tpm2_rsa_spki(&k, spki, sizeof(spki), &sl) != 0)
		abort();
	if (tpm2_keyfile_parse(data, n, &b) == 0) {
		if (tpm2_keyfile_write(&b, out, sizeof(out), &ol) != 0 ||
		    tpm2_keyfile_parse((const uint8_t *)out, ol, &b2) != 0 ||
		    b2.publen != b.publen || b2.privlen != b.privlen ||
		    memcmp(b2.pub, b.pub, b.publen) != 0 || memcmp(b2.priv, b.priv, b.privlen) != 0)
			abort();
	}
	return 0;
}
