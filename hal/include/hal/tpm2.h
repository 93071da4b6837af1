/*
 * hal/tpm2.h — DKIM keys that never leave a TPM 2.0 (issue 15.3).
 *
 * Three layers:
 *
 * 1. The wire (hal/tpm2/tpm2_wire.c), pure: builds the few TPM 2.0
 *    commands zegel needs (TPM 2.0 Library Part 3 layouts, big-endian) into
 *    a caller's buffer, and decodes their responses from a byte slice. No
 *    I/O, no allocation; fuzzed (tests/fuzz/fuzz_tpm2.c). Authorisation is
 *    a password session (TPM_RS_PW) with the empty password: the keys are
 *    bound to this TPM (fixedTPM, fixedParent), not to a secret.
 *    Decoders return 0, -EBADMSG for a response that is not well formed,
 *    or -EIO when the TPM answered an error code (*trc holds it).
 *
 * 2. The transport (hal/tpm2/tpm2_io.c): the kernel's resource manager
 *    /dev/tpmrm0 (one write is one command, one read one response), or for
 *    tests swtpm's raw command channel "tcp:127.0.0.1:PORT" (a process
 *    talking to a TPM without a resource manager: transient objects that a
 *    killed process left are flushed when the connection opens). Chosen by
 *    the environment variable ZEGEL_TPM (default CONFIG_HAL_TPM2_DEVICE).
 *
 * 3. The key (hal/tpm2/tpm2_key.c): a crypto backend, hal_crypto_tpm2,
 *    whose key_load takes a key file in the clear format below, loads it
 *    under the storage root key (CreatePrimary with the SRK template of the
 *    TCG provisioning guidance, so the same TPM gives the same parent every
 *    time) and signs with TPM2_Sign (RSASSA-PKCS1-v1_5, SHA-256; the TPM
 *    does the DigestInfo encoding). hal_key_generate(k, HAL_KEY_RSA_TPM,
 *    2048) makes a key in the TPM (TPM2_Create); hal_key_write_pem() of
 *    such a key writes the key file. A TPM that was reset or restarted
 *    between load and sign: the key is loaded again from its blob and the
 *    signature tried once more.
 *
 * The key file ("SELECTOR.tpmkey"), text, four lines:
 *
 *   zegel-tpm2-key 1
 *   parent owner-srk-rsa2048
 *   public <hex of the TPM2B_PUBLIC>
 *   private <hex of the TPM2B_PRIVATE: sealed by the TPM, useless elsewhere>
 *
 * The two hex lines are exactly what `tpm2_load -u/-r` read (decode with
 * xxd -r -p).
 */
#ifndef HAL_TPM2_H
#define HAL_TPM2_H

#include <stddef.h>
#include <stdint.h>

#include "hal/crypto.h"

/* Constants of TPM 2.0 Library Part 2. */
#define TPM2_ST_NO_SESSIONS 0x8001
#define TPM2_ST_SESSIONS 0x8002
#define TPM2_ST_HASHCHECK 0x8024
#define TPM2_CC_CREATE_PRIMARY 0x00000131u
#define TPM2_CC_STARTUP 0x00000144u
#define TPM2_CC_CREATE 0x00000153u
#define TPM2_CC_LOAD 0x00000157u
#define TPM2_CC_SIGN 0x0000015Du
#define TPM2_CC_FLUSH_CONTEXT 0x00000165u
#define TPM2_CC_READ_PUBLIC 0x00000173u
#define TPM2_CC_GET_CAPABILITY 0x0000017Au
#define TPM2_RH_OWNER 0x40000001u
#define TPM2_RH_NULL 0x40000007u
#define TPM2_RS_PW 0x40000009u
#define TPM2_HT_TRANSIENT 0x80000000u
#define TPM2_CAP_HANDLES 0x00000001u
#define TPM2_ALG_RSA 0x0001
#define TPM2_ALG_SHA256 0x000B
#define TPM2_ALG_NULL 0x0010
#define TPM2_ALG_RSASSA 0x0014
#define TPM2_ALG_AES 0x0006
#define TPM2_ALG_CFB 0x0043
#define TPM2_RC_SUCCESS 0x000u
#define TPM2_RC_INITIALIZE 0x100u

/* TPMA_OBJECT bits */
#define TPM2_OA_FIXED_TPM (1u << 1)
#define TPM2_OA_FIXED_PARENT (1u << 4)
#define TPM2_OA_SENSITIVE_DATA_ORIGIN (1u << 5)
#define TPM2_OA_USER_WITH_AUTH (1u << 6)
#define TPM2_OA_NO_DA (1u << 10)
#define TPM2_OA_RESTRICTED (1u << 16)
#define TPM2_OA_DECRYPT (1u << 17)
#define TPM2_OA_SIGN (1u << 18)

/* The SRK (0x00030472) and the DKIM signing key (0x00040472). */
#define TPM2_SRK_ATTRS                                                                  \
	(TPM2_OA_FIXED_TPM | TPM2_OA_FIXED_PARENT | TPM2_OA_SENSITIVE_DATA_ORIGIN |     \
	    TPM2_OA_USER_WITH_AUTH | TPM2_OA_NO_DA | TPM2_OA_RESTRICTED | TPM2_OA_DECRYPT)
#define TPM2_SIGN_ATTRS                                                                 \
	(TPM2_OA_FIXED_TPM | TPM2_OA_FIXED_PARENT | TPM2_OA_SENSITIVE_DATA_ORIGIN |     \
	    TPM2_OA_USER_WITH_AUTH | TPM2_OA_NO_DA | TPM2_OA_SIGN)

#define TPM2_CMD_MAX 4096
#define TPM2_RSP_MAX 4096
#define TPM2_PUB_MAX 640  /* a TPM2B_PUBLIC, size field included */
#define TPM2_PRIV_MAX 1024 /* a TPM2B_PRIVATE, size field included */
#define TPM2_RSA_MAX 512   /* RSA-4096 modulus */

/* The key as the TPM holds it: both TPM2B structures, size fields included. */
struct tpm2_blob {
	uint8_t pub[TPM2_PUB_MAX];
	size_t publen;
	uint8_t priv[TPM2_PRIV_MAX];
	size_t privlen;
};

/* What zegel reads from a TPMT_PUBLIC of an RSA key. */
struct tpm2_rsa_pub {
	uint16_t name_alg;
	uint32_t attrs;
	uint16_t scheme, scheme_hash;
	unsigned bits;
	uint32_t exponent; /* 65537 where the TPM says 0 */
	uint8_t mod[TPM2_RSA_MAX];
	size_t modlen;
};

/* Commands: 0 and *len, or -ERANGE for a buffer too small / -EINVAL. */
int tpm2_cmd_startup_clear(uint8_t *out, size_t cap, size_t *len);
int tpm2_cmd_create_primary_srk(uint8_t *out, size_t cap, size_t *len);
int tpm2_cmd_create_rsa_sign(uint8_t *out, size_t cap, size_t *len, uint32_t parent,
    unsigned bits);
int tpm2_cmd_load(uint8_t *out, size_t cap, size_t *len, uint32_t parent,
    const struct tpm2_blob *b);
int tpm2_cmd_sign_sha256(uint8_t *out, size_t cap, size_t *len, uint32_t key,
    const uint8_t digest[32]);
int tpm2_cmd_read_public(uint8_t *out, size_t cap, size_t *len, uint32_t handle);
int tpm2_cmd_flush(uint8_t *out, size_t cap, size_t *len, uint32_t handle);
int tpm2_cmd_get_handles(uint8_t *out, size_t cap, size_t *len, uint32_t first,
    uint32_t count);

/* The response size from its 10-byte header (0 when p[0..9] is no header). */
size_t tpm2_rsp_size(const uint8_t *p, size_t n);
/* Responses (see the model): header, tag, size and contents checked. */
int tpm2_rsp_status(const uint8_t *p, size_t n, uint32_t *trc);
int tpm2_rsp_create_primary(const uint8_t *p, size_t n, uint32_t *trc, uint32_t *handle);
int tpm2_rsp_create(const uint8_t *p, size_t n, uint32_t *trc, struct tpm2_blob *b);
int tpm2_rsp_load(const uint8_t *p, size_t n, uint32_t *trc, uint32_t *handle);
int tpm2_rsp_sign(const uint8_t *p, size_t n, uint32_t *trc, uint8_t *sig, size_t cap,
    size_t *siglen);
int tpm2_rsp_read_public(const uint8_t *p, size_t n, uint32_t *trc, uint8_t *pub,
    size_t cap, size_t *publen);
int tpm2_rsp_get_handles(const uint8_t *p, size_t n, uint32_t *trc, uint32_t *h,
    size_t cap, size_t *count);

/* A TPM2B_PUBLIC (size field included) of an RSA key into *k; -EBADMSG. */
int tpm2_public_parse(const uint8_t *p, size_t n, struct tpm2_rsa_pub *k);
/* The SubjectPublicKeyInfo DER of an RSA public key (DKIM p=). */
int tpm2_rsa_spki(const struct tpm2_rsa_pub *k, uint8_t *out, size_t cap, size_t *len);

/* The key file (model): parse checks the format and that the public area
 * is an RSA signing key zegel can use (RSASSA, SHA-256); -EINVAL if not. */
int tpm2_keyfile_parse(const uint8_t *p, size_t n, struct tpm2_blob *b);
int tpm2_keyfile_write(const struct tpm2_blob *b, char *buf, size_t cap, size_t *len);
/* 1 when p starts like a key file (the first line). */
int tpm2_keyfile_is(const uint8_t *p, size_t n);

/* Transport (hal/tpm2/tpm2_io.c): one command, its whole response. */
struct tpm2_io;
int tpm2_io_open(struct tpm2_io **io, const char *spec, char *why, size_t cap);
int tpm2_io_call(struct tpm2_io *io, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap,
    size_t *rlen);
void tpm2_io_close(struct tpm2_io *io);
/* "/dev/tpmrm0" or what ZEGEL_TPM names. */
const char *tpm2_device(void);
/* `set tpm device` in the key holder (NULL: back to ZEGEL_TPM, else
 * CONFIG_HAL_TPM2_DEVICE): a different device drops the connection, loaded
 * keys load again from their blobs at their next signature. */
void hal_tpm2_set_device(const char *spec);
/* tpm2_io.c's part of it: 1 when the device changed. */
int tpm2_io_set_device(const char *spec);

/* The backend (hal/tpm2/tpm2_key.c). */
extern const struct hal_crypto_ops hal_crypto_tpm2;
/* Why the last key operation of this process failed ("" when none). */
const char *hal_tpm2_why(void);

#endif
