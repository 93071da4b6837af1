/*
 * libFuzzer target: the key holder's message format
 * (firmware/privsep/msg.c), the one thing of the network process the root
 * key holder parses. Whatever privsep_msg_decode() accepts must encode
 * again to exactly the same bytes (no field is lost or normalised, so no
 * two readings of one message), and the message that comes back decodes to
 * the same fields; a path it accepts holds no NUL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/privsep/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct privsep_msg m, back;
	static uint8_t buf[PRIVSEP_MSG_MAX];
	size_t n = 0;

	if (privsep_msg_decode(data, size, &m) != 0)
		return 0;
	if (m.len > PRIVSEP_DATA_MAX || m.data[m.len] != 0)
		abort();
	if ((m.type == PRIVSEP_REQ_LOAD || m.type == PRIVSEP_REQ_GENERATE ||
	    m.type == PRIVSEP_REQ_ALLOW_DIR) &&
	    (m.len == 0 || strlen((const char *)m.data) != m.len || m.len >= PRIVSEP_PATH_MAX))
		abort();
	if (privsep_msg_encode(&m, buf, sizeof(buf), &n) != 0)
		abort();
	if (n != size || memcmp(buf, data, size) != 0)
		abort();
	if (privsep_msg_decode(buf, n, &back) != 0 || back.type != m.type ||
	    back.slot != m.slot || back.id != m.id || back.status != m.status || back.bits != m.bits ||
	    back.key_type != m.key_type || back.hash_alg != m.hash_alg || back.len != m.len ||
	    memcmp(back.data, m.data, m.len) != 0)
		abort();
	return 0;
}
