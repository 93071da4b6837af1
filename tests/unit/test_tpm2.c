/* hal/tpm2/tpm2_wire.c: the TPM 2.0 commands zegel builds, byte for byte
 * against the layouts of TPM 2.0 Library Part 3 written out by hand, and
 * against sessions recorded between zegel and swtpm
 * (tests/vectors/tpm2/PROVENANCE); the responses of those sessions decoded;
 * a recorded TPM signature verified with the public key decoded from the
 * TPM's ReadPublic answer; truncated and damaged responses refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hal/crypto.h"
#include "hal/tpm2.h"

#define V "tests/vectors/tpm2/"

static size_t
unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	while (h[0] && h[1] && h[0] != '\n') {
		unsigned v;

		assert_int_equal(sscanf(h, "%2x", &v), 1);
		assert_true(n < cap);
		out[n++] = (uint8_t)v;
		h += 2;
	}
	return n;
}

/* The i-th command and response of a recorded session. */
struct pair {
	uint8_t cmd[TPM2_CMD_MAX], rsp[TPM2_RSP_MAX];
	size_t cn, rn;
};

static int
session(const char *file, struct pair *p, int max)
{
	static char line[20000];
	FILE *f = fopen(file, "r");
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && n < max) {
		if (strncmp(line, "cmd ", 4) == 0)
			p[n].cn = unhex(line + 4, p[n].cmd, sizeof(p[n].cmd));
		else if (strncmp(line, "rsp ", 4) == 0) {
			p[n].rn = unhex(line + 4, p[n].rsp, sizeof(p[n].rsp));
			n++;
		}
	}
	fclose(f);
	return n;
}

static size_t
readfile(const char *file, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(file, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap, f);
	fclose(f);
	return n;
}

static void
expect(const uint8_t *got, size_t n, const char *hex)
{
	uint8_t want[TPM2_CMD_MAX];
	size_t wn = unhex(hex, want, sizeof(want));

	assert_int_equal(n, wn);
	assert_memory_equal(got, want, n);
}

/* Part 3 layouts, field by field. */
static void
commands_by_hand(void **state)
{
	uint8_t b[TPM2_CMD_MAX], d[32];
	size_t n = 0;

	(void)state;
	assert_int_equal(tpm2_cmd_startup_clear(b, sizeof(b), &n), 0);
	/* tag NO_SESSIONS, size 12, TPM_CC_Startup, TPM_SU_CLEAR */
	expect(b, n, "8001" "0000000c" "00000144" "0000");
	assert_int_equal(tpm2_cmd_read_public(b, sizeof(b), &n, 0x80000001u), 0);
	expect(b, n, "8001" "0000000e" "00000173" "80000001");
	/* FlushContext: the handle is a parameter (no handle area) */
	assert_int_equal(tpm2_cmd_flush(b, sizeof(b), &n, 0x80000002u), 0);
	expect(b, n, "8001" "0000000e" "00000165" "80000002");
	assert_int_equal(tpm2_cmd_get_handles(b, sizeof(b), &n, 0x80000000u, 16), 0);
	expect(b, n, "8001" "00000016" "0000017a" "00000001" "80000000" "00000010");
	assert_int_equal(tpm2_cmd_create_primary_srk(b, sizeof(b), &n), 0);
	expect(b, n,
	    "8002" "00000043" "00000131"  /* SESSIONS, 67 bytes, CreatePrimary */
	    "40000001"                    /* TPM_RH_OWNER */
	    "00000009" "40000009" "0000" "00" "0000" /* TPM_RS_PW, empty password */
	    "0004" "0000" "0000"          /* inSensitive: no auth, no data */
	    "001a" "0001" "000b"          /* inPublic (26): RSA, nameAlg SHA-256 */
	    "00030472"                    /* fixedTPM fixedParent sensitiveDataOrigin
					     userWithAuth noDA restricted decrypt */
	    "0000"                        /* authPolicy */
	    "0006" "0080" "0043"          /* AES-128-CFB */
	    "0010" "0800" "00000000"      /* scheme NULL, 2048 bits, exponent default */
	    "0000"                        /* unique: empty */
	    "0000" "00000000");           /* outsideInfo, creationPCR */
	assert_int_equal(tpm2_cmd_create_rsa_sign(b, sizeof(b), &n, 0x80000000u, 2048), 0);
	expect(b, n,
	    "8002" "00000041" "00000153" "80000000"
	    "00000009" "40000009" "0000" "00" "0000"
	    "0004" "0000" "0000"
	    "0018" "0001" "000b" "00040472" /* ... noDA sign */
	    "0000" "0010"                   /* symmetric NULL */
	    "0014" "000b"                   /* RSASSA with SHA-256 */
	    "0800" "00000000" "0000"
	    "0000" "00000000");
	assert_int_equal(tpm2_cmd_create_rsa_sign(b, sizeof(b), &n, 0x80000000u, 2047), -EINVAL);
	for (int i = 0; i < 32; i++)
		d[i] = (uint8_t)i;
	assert_int_equal(tpm2_cmd_sign_sha256(b, sizeof(b), &n, 0x80000001u, d), 0);
	expect(b, n,
	    "8002" "00000049" "0000015d" "80000001"
	    "00000009" "40000009" "0000" "00" "0000"
	    "0020" "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	    "0014" "000b"                 /* inScheme RSASSA SHA-256 */
	    "8024" "40000007" "0000");    /* TPMT_TK_HASHCHECK, TPM_RH_NULL, empty */
	/* too small a buffer at every size: -ERANGE, never a write past it */
	for (size_t cap = 0; cap < 0x49; cap++)
		assert_int_equal(tpm2_cmd_sign_sha256(b, cap, &n, 1, d), -ERANGE);
}

/* The recorded `zegel sign` session: GetCapability, CreatePrimary, Load,
 * FlushContext, ReadPublic, Sign, FlushContext. */
static void
sign_session(void **state)
{
	static struct pair p[8];
	static struct tpm2_blob blob;
	static uint8_t file[4096], pub[TPM2_PUB_MAX], sig[512], spki[600], ref[600];
	struct tpm2_rsa_pub k;
	uint8_t b[TPM2_CMD_MAX];
	size_t n = 0, fl, pl = 0, sl = 0, spl = 0, rl;
	uint32_t trc, h, hs[16];
	int np = session(V "sign_session.txt", p, 8);

	(void)state;
	assert_int_equal(np, 7);
	fl = readfile(V "sign.tpmkey", file, sizeof(file));
	assert_int_equal(tpm2_keyfile_parse(file, fl, &blob), 0);
	/* every command is the one zegel builds */
	tpm2_cmd_get_handles(b, sizeof(b), &n, TPM2_HT_TRANSIENT, 16);
	assert_int_equal(n, p[0].cn);
	assert_memory_equal(b, p[0].cmd, n);
	assert_int_equal(tpm2_rsp_get_handles(p[0].rsp, p[0].rn, &trc, hs, 16, &n), 0);
	assert_int_equal(n, 0);
	tpm2_cmd_create_primary_srk(b, sizeof(b), &n);
	assert_int_equal(n, p[1].cn);
	assert_memory_equal(b, p[1].cmd, n);
	assert_int_equal(tpm2_rsp_create_primary(p[1].rsp, p[1].rn, &trc, &h), 0);
	assert_int_equal(h, 0x80000000u);
	tpm2_cmd_load(b, sizeof(b), &n, h, &blob);
	assert_int_equal(n, p[2].cn);
	assert_memory_equal(b, p[2].cmd, n);
	assert_int_equal(tpm2_rsp_load(p[2].rsp, p[2].rn, &trc, &h), 0);
	assert_int_equal(h, 0x80000001u);
	assert_int_equal(tpm2_rsp_status(p[3].rsp, p[3].rn, &trc), 0);
	assert_int_equal(tpm2_rsp_read_public(p[4].rsp, p[4].rn, &trc, pub, sizeof(pub), &pl), 0);
	assert_int_equal(pl, blob.publen);
	assert_memory_equal(pub, blob.pub, pl);
	assert_int_equal(tpm2_public_parse(pub, pl, &k), 0);
	assert_int_equal(k.bits, 2048);
	assert_int_equal(k.exponent, 65537);
	assert_int_equal(k.attrs, TPM2_SIGN_ATTRS);
	assert_int_equal(k.scheme, TPM2_ALG_RSASSA);
	/* the SubjectPublicKeyInfo is the one tpm2_readpublic -f pem gave */
	assert_int_equal(tpm2_rsa_spki(&k, spki, sizeof(spki), &spl), 0);
	rl = readfile(V "sign.spki.der", ref, sizeof(ref));
	assert_int_equal(spl, rl);
	assert_memory_equal(spki, ref, rl);
	/* the Sign command carried the digest at offset 29; the signature
	 * verifies over it (PKCS#1 v1.5, the TPM did the DigestInfo) */
	tpm2_cmd_sign_sha256(b, sizeof(b), &n, 0x80000001u, p[5].cmd + 29);
	assert_int_equal(n, p[5].cn);
	assert_memory_equal(b, p[5].cmd, n);
	assert_int_equal(tpm2_rsp_sign(p[5].rsp, p[5].rn, &trc, sig, sizeof(sig), &sl), 0);
	assert_int_equal(sl, 256);
	assert_int_equal(hal_rsa_verify_spki(spki, spl, HAL_HASH_SHA256, p[5].cmd + 29, sig, sl), 0);
	sig[7] ^= 1;
	assert_int_equal(hal_rsa_verify_spki(spki, spl, HAL_HASH_SHA256, p[5].cmd + 29, sig, sl),
	    -EBADMSG);
	assert_int_equal(tpm2_rsp_sign(p[5].rsp, p[5].rn, &trc, sig, 255, &sl), -ERANGE);
	/* every truncation of every response is refused, never read past */
	for (int i = 0; i < np; i++)
		for (size_t cut = 0; cut < p[i].rn; cut++) {
			static struct tpm2_blob bb;

			assert_int_not_equal(tpm2_rsp_status(p[i].rsp, cut, &trc), 0);
			assert_int_not_equal(tpm2_rsp_create_primary(p[i].rsp, cut, &trc, &h), 0);
			assert_int_not_equal(tpm2_rsp_create(p[i].rsp, cut, &trc, &bb), 0);
			assert_int_not_equal(tpm2_rsp_load(p[i].rsp, cut, &trc, &h), 0);
			assert_int_not_equal(tpm2_rsp_sign(p[i].rsp, cut, &trc, sig, 512, &sl), 0);
			assert_int_not_equal(
			    tpm2_rsp_read_public(p[i].rsp, cut, &trc, pub, sizeof(pub), &pl), 0);
		}
}

/* The recorded `zegel keygen --tpm`: Create's answer is the key file. */
static void
keygen_session(void **state)
{
	static struct pair p[12];
	static struct tpm2_blob blob, got;
	static uint8_t file[4096];
	static char out[4096];
	uint8_t b[TPM2_CMD_MAX];
	size_t n = 0, fl, ol = 0;
	uint32_t trc;
	int np = session(V "keygen_session.txt", p, 12);

	(void)state;
	assert_true(np >= 4);
	tpm2_cmd_create_rsa_sign(b, sizeof(b), &n, 0x80000000u, 2048);
	assert_int_equal(n, p[2].cn);
	assert_memory_equal(b, p[2].cmd, n);
	assert_int_equal(tpm2_rsp_create(p[2].rsp, p[2].rn, &trc, &got), 0);
	fl = readfile(V "cap.tpmkey", file, sizeof(file));
	assert_int_equal(tpm2_keyfile_parse(file, fl, &blob), 0);
	assert_int_equal(got.publen, blob.publen);
	assert_memory_equal(got.pub, blob.pub, blob.publen);
	assert_int_equal(got.privlen, blob.privlen);
	assert_memory_equal(got.priv, blob.priv, blob.privlen);
	/* written back: the same file, byte for byte */
	assert_int_equal(tpm2_keyfile_write(&got, out, sizeof(out), &ol), 0);
	assert_int_equal(ol, fl);
	assert_memory_equal(out, file, fl);
	assert_int_equal(tpm2_keyfile_write(&got, out, fl, &ol), -ERANGE);
}

/* A damaged blob: the TPM answers TPM_RC_INTEGRITY for Load's parameter 1. */
static void
refused_session(void **state)
{
	static struct pair p[8];
	uint32_t trc, h;

	(void)state;
	assert_true(session(V "refused_session.txt", p, 8) >= 3);
	assert_int_equal(tpm2_rsp_load(p[2].rsp, p[2].rn, &trc, &h), -EIO);
	assert_int_equal(trc, 0x1df);
	assert_int_equal(tpm2_rsp_size(p[2].rsp, p[2].rn), 10);
}

/* The key file: only the exact four lines with an RSASSA-SHA256 signing key. */
static void
keyfile_damage(void **state)
{
	static uint8_t file[4096], bad[4096];
	static struct tpm2_blob blob;
	size_t fl = readfile(V "sign.tpmkey", file, sizeof(file));
	char *pub;

	(void)state;
	assert_true(tpm2_keyfile_is(file, fl));
	assert_int_equal(tpm2_keyfile_parse(file, fl, &blob), 0);
	for (size_t cut = 0; cut < fl; cut++)
		assert_int_equal(tpm2_keyfile_parse(file, cut, &blob), -EINVAL);
	memcpy(bad, file, fl);
	bad[fl - 3] = 'g'; /* not hex */
	assert_int_equal(tpm2_keyfile_parse(bad, fl, &blob), -EINVAL);
	memcpy(bad, file, fl);
	bad[fl] = '\n'; /* a byte more */
	assert_int_equal(tpm2_keyfile_parse(bad, fl + 1, &blob), -EINVAL);
	/* a restricted decrypt key (the SRK's attributes) is no signing key */
	memcpy(bad, file, fl);
	pub = strstr((char *)bad, "00040472");
	assert_non_null(pub);
	memcpy(pub, "00030472", 8);
	assert_int_equal(tpm2_keyfile_parse(bad, fl, &blob), -EINVAL);
	assert_false(tpm2_keyfile_is((const uint8_t *)"-----BEGIN", 10));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(commands_by_hand),
		cmocka_unit_test(sign_session),
		cmocka_unit_test(keygen_session),
		cmocka_unit_test(refused_session),
		cmocka_unit_test(keyfile_damage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
