/* The key holder's message format (msg.h): one validity rule for both ways. */
#include <errno.h>
#include <string.h>

#include "firmware/privsep/msg.h"
#include "hal/crypto.h"

const char *
privsep_msg_name(uint8_t type)
{
	switch (type) {
	case PRIVSEP_REQ_LOAD: return "load";
	case PRIVSEP_REQ_GENERATE: return "generate";
	case PRIVSEP_REQ_SIGN: return "sign";
	case PRIVSEP_REQ_FREE: return "free";
	case PRIVSEP_REQ_ALLOW_DIR: return "allow-dir";
	case PRIVSEP_REQ_SEAL: return "seal";
	case PRIVSEP_REQ_STATS: return "stats";
	case PRIVSEP_REQ_TPM_DEVICE: return "tpm-device";
	case PRIVSEP_RESP_STATS: return "stats-answer";
	case PRIVSEP_RESP_KEY: return "key";
	case PRIVSEP_RESP_SIG: return "sig";
	case PRIVSEP_RESP_STATUS: return "status";
	}
	return "?";
}

static int
valid_path(const struct privsep_msg *m)
{
	return m->len > 0 && m->len < PRIVSEP_PATH_MAX && memchr(m->data, 0, m->len) == NULL;
}

static int
valid_key(uint8_t type, uint16_t bits)
{
	if (type == HAL_KEY_RSA)
		return bits >= 256 && bits <= 4096; /* the signer refuses < 1024 */
	return type == HAL_KEY_ED25519 && bits == 256;
}

/* 1 when every field is one the type allows (msg.h). */
static int
valid(const struct privsep_msg *m)
{
	/* fields a type does not use are zero */
	int none = m->key_type == 0 && m->hash_alg == 0 && m->slot == 0 && m->bits == 0;

	if (m->len > PRIVSEP_DATA_MAX)
		return 0;
	switch (m->type) {
	case PRIVSEP_REQ_LOAD:
	case PRIVSEP_REQ_ALLOW_DIR:
	case PRIVSEP_REQ_TPM_DEVICE:
		return none && m->status == 0 && valid_path(m);
	case PRIVSEP_REQ_GENERATE:
		return m->hash_alg == 0 && m->slot == 0 && m->status == 0 &&
		    (m->key_type == HAL_KEY_ED25519   ? m->bits == 0
			: m->key_type == HAL_KEY_RSA_TPM ? m->bits == 2048
							 : valid_key(m->key_type, m->bits)) &&
		    valid_path(m);
	case PRIVSEP_REQ_SIGN:
		return m->key_type == 0 && m->bits == 0 && m->status == 0 &&
		    hal_hash_len((enum hal_hash_alg)m->hash_alg) > 0 && m->len > 0 &&
		    m->len <= PRIVSEP_SIGN_MAX;
	case PRIVSEP_REQ_FREE:
		return m->key_type == 0 && m->hash_alg == 0 && m->bits == 0 && m->status == 0 &&
		    m->len == 0;
	case PRIVSEP_REQ_SEAL:
	case PRIVSEP_REQ_STATS:
		return none && m->status == 0 && m->len == 0;
	case PRIVSEP_RESP_STATS:
		return none && m->status == 0 && m->len >= 8 && m->len % 4 == 0 &&
		    m->len <= 8 + 4 * PRIVSEP_WORKERS_MAX;
	case PRIVSEP_RESP_KEY:
		if (m->status != 0)
			return none && m->status < 0 && m->len == 0;
		return m->hash_alg == 0 && valid_key(m->key_type, m->bits) && m->len > 0 &&
		    m->len <= PRIVSEP_PUB_MAX;
	case PRIVSEP_RESP_SIG:
		if (!none)
			return 0;
		if (m->status != 0)
			return m->status < 0 && m->len == 0;
		return m->len > 0 && m->len <= PRIVSEP_SIG_MAX;
	case PRIVSEP_RESP_STATUS:
		return none && m->status <= 0 && m->len == 0;
	}
	return 0;
}

int
privsep_msg_encode(const struct privsep_msg *m, uint8_t *buf, size_t cap, size_t *len)
{
	uint32_t st = (uint32_t)m->status;

	*len = 0;
	if (!valid(m))
		return -EINVAL;
	if (cap < (size_t)PRIVSEP_HDR_LEN + m->len)
		return -ERANGE;
	buf[0] = m->type;
	buf[1] = m->key_type;
	buf[2] = m->hash_alg;
	buf[3] = 0;
	buf[4] = (uint8_t)(m->slot >> 8);
	buf[5] = (uint8_t)m->slot;
	buf[6] = (uint8_t)(m->bits >> 8);
	buf[7] = (uint8_t)m->bits;
	buf[8] = (uint8_t)(st >> 24);
	buf[9] = (uint8_t)(st >> 16);
	buf[10] = (uint8_t)(st >> 8);
	buf[11] = (uint8_t)st;
	buf[12] = (uint8_t)(m->len >> 8);
	buf[13] = (uint8_t)m->len;
	buf[14] = (uint8_t)(m->id >> 24);
	buf[15] = (uint8_t)(m->id >> 16);
	buf[16] = (uint8_t)(m->id >> 8);
	buf[17] = (uint8_t)m->id;
	if (m->len > 0)
		memcpy(buf + PRIVSEP_HDR_LEN, m->data, m->len);
	*len = (size_t)PRIVSEP_HDR_LEN + m->len;
	return 0;
}

int
privsep_msg_decode(const uint8_t *p, size_t n, struct privsep_msg *m)
{
	uint32_t st;

	memset(m, 0, offsetof(struct privsep_msg, data));
	m->data[0] = 0;
	if (n < PRIVSEP_HDR_LEN || p[3] != 0)
		return -EBADMSG;
	m->type = p[0];
	m->key_type = p[1];
	m->hash_alg = p[2];
	m->slot = (uint16_t)(p[4] << 8 | p[5]);
	m->bits = (uint16_t)(p[6] << 8 | p[7]);
	st = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
	m->status = (int32_t)st;
	m->len = (uint16_t)(p[12] << 8 | p[13]);
	m->id = (uint32_t)p[14] << 24 | (uint32_t)p[15] << 16 | (uint32_t)p[16] << 8 | p[17];
	if (m->len > PRIVSEP_DATA_MAX || n != (size_t)PRIVSEP_HDR_LEN + m->len)
		return -EBADMSG;
	memcpy(m->data, p + PRIVSEP_HDR_LEN, m->len);
	m->data[m->len] = 0;
	return valid(m) ? 0 : -EBADMSG;
}
