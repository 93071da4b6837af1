/*
 * firmware/privsep/msg.h — the key holder's message format (issue 20.2).
 *
 * Model. The network process and the key holder (privsep.h) talk over a
 * SOCK_SEQPACKET socketpair: one datagram is one message, one request gets
 * exactly one answer, carrying the request's id. Answers to SIGN requests
 * may come out of order (the key holder's signing workers serve several at
 * once, issue 22); every other request is answered before the key holder
 * reads the next one. A message is a fixed 18-byte header and at most
 * PRIVSEP_DATA_MAX bytes of data, all integers big-endian:
 *
 *   0  type      u8   enum privsep_type
 *   1  key_type  u8   enum hal_key_type (LOAD answer, GENERATE request;
 *                     HAL_KEY_RSA_TPM asks for an RSA-2048 key made in the TPM)
 *   2  hash_alg  u8   enum hal_hash_alg (SIGN request)
 *   3  zero      u8   must be 0
 *   4  slot      u16  the key holder's slot of a key (SIGN, FREE, KEY answer)
 *   6  bits      u16  RSA modulus bits, 256 for Ed25519
 *   8  status    i32  0 or a negative errno (answers only)
 *  12  len       u16  bytes of data that follow, exactly
 *  14  id        u32  the request's id, echoed by its answer (any value)
 *  18  data           path (LOAD, GENERATE, ALLOW_DIR, TPM_DEVICE), digest or message
 *                     (SIGN), public key (KEY), signature (SIG)
 *
 * privsep_msg_decode() accepts a message only when every field is one its
 * type allows (a path without NUL bytes and at most PRIVSEP_PATH_MAX - 1
 * bytes, a known key type and size, an answer with data only on success, no
 * byte more or less than len); everything else is -EBADMSG and the key
 * holder answers it with a STATUS of -EBADMSG. privsep_msg_encode() applies
 * the same rules, so whatever encodes decodes to the same message
 * (tests/fuzz/fuzz_privsep_msg.c checks both directions). Pure: no I/O.
 */
#ifndef FIRMWARE_PRIVSEP_MSG_H
#define FIRMWARE_PRIVSEP_MSG_H

#include <stddef.h>
#include <stdint.h>

#define PRIVSEP_HDR_LEN 18
#define PRIVSEP_DATA_MAX 1024
#define PRIVSEP_MSG_MAX (PRIVSEP_HDR_LEN + PRIVSEP_DATA_MAX)
#define PRIVSEP_PATH_MAX 256 /* HAL_PATH_MAX, the NUL included */
#define PRIVSEP_SIGN_MAX 256 /* a digest, or an Ed25519 message (a SHA-256 in DKIM) */
#define PRIVSEP_SIG_MAX 512  /* RSA-4096 */
#define PRIVSEP_PUB_MAX 640  /* RSA-4096 SubjectPublicKeyInfo DER is 550 bytes */
#define PRIVSEP_WORKERS_MAX 16 /* CONFIG_SIGN_WORKERS */

enum privsep_type {
	/* requests (network process -> key holder) */
	PRIVSEP_REQ_LOAD = 1,   /* path: load a PEM key file into a slot -> KEY */
	PRIVSEP_REQ_GENERATE,   /* key_type, bits, path: new key, file 0600 -> KEY */
	PRIVSEP_REQ_SIGN,       /* slot, hash_alg, data -> SIG */
	PRIVSEP_REQ_FREE,       /* slot -> STATUS */
	PRIVSEP_REQ_ALLOW_DIR,  /* path: a directory keys may be in -> STATUS */
	PRIVSEP_REQ_SEAL,       /* from now on only ALLOW_DIR directories -> STATUS */
	PRIVSEP_REQ_STATS,      /* the signing workers' counters -> STATS */
	PRIVSEP_REQ_TPM_DEVICE, /* path: the TPM of TPM keys (`set tpm device`, "default")
				 * -> STATUS */
	/* answers */
	PRIVSEP_RESP_KEY = 0x81, /* status; on 0: slot, key_type, bits, public key */
	PRIVSEP_RESP_SIG,        /* status; on 0: the signature */
	PRIVSEP_RESP_STATUS,     /* status */
	PRIVSEP_RESP_STATS,      /* status 0; u32s: workers, retried, then per worker
				  * the signatures it served (at most
				  * PRIVSEP_WORKERS_MAX) */
};

struct privsep_msg {
	uint8_t type;
	uint8_t key_type;
	uint8_t hash_alg;
	uint16_t slot;
	uint16_t bits;
	int32_t status;
	uint16_t len;
	uint32_t id;
	uint8_t data[PRIVSEP_DATA_MAX + 1]; /* a path is NUL-terminated after decode */
};

/* The whole message into buf; 0, -EINVAL for a message decode would
 * refuse, -ERANGE if cap is too small. */
int privsep_msg_encode(const struct privsep_msg *m, uint8_t *buf, size_t cap, size_t *len);
/* One datagram into *m; 0 or -EBADMSG. */
int privsep_msg_decode(const uint8_t *p, size_t n, struct privsep_msg *m);
/* "load", "sign", ... for logs; "?" for an unknown type. */
const char *privsep_msg_name(uint8_t type);

#endif
