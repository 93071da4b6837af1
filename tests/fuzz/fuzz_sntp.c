/*
 * libFuzzer target: the SNTP answer parser and the round's selection
 * (firmware/time/sntp.c).
 *
 * The first 8 bytes are the transmit timestamp we "sent", the rest is the
 * answer. sntp_parse() must accept only a 48+ byte server answer that
 * echoes it, with stratum 1..15, leap indicator not 3 and a non-zero
 * transmit timestamp; whatever it accepts goes through the offset
 * arithmetic, and up to 8 samples cut from the input through
 * sntp_select(), whose verdict must be a majority and its offset one
 * within the agreeing group's range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/time/sntp.h"

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void
check_select(const uint8_t *data, size_t n)
{
	struct sntp_sample s[SNTP_MAX_SAMPLES];
	unsigned k = 0, agree;
	int64_t off = 0;

	for (; k < SNTP_MAX_SAMPLES && n >= 4; k++, data += 4, n -= 4) {
		/* offsets within +-2^31 ms: the range a round can see */
		s[k].offset_ms = (int32_t)((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		    (uint32_t)data[2] << 8 | data[3]);
		s[k].delay_ms = 0;
		s[k].server = k;
	}
	agree = sntp_select(s, k, 1000, &off);
	if (agree == 0)
		return;
	if (agree * 2 <= k || agree > k)
		abort();
	if (off < s[0].offset_ms || off > s[agree - 1].offset_ms)
		abort();
	if (s[agree - 1].offset_ms - s[0].offset_ms > 1000)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
	struct sntp_reply r;
	struct sntp_sample smp;
	enum sntp_err e;
	uint64_t sent;

	if (n < 8)
		return 0;
	sent = get64(data);
	e = sntp_parse(data + 8, n - 8, sent, &r);
	if (sntp_strerror(e) == NULL)
		abort();
	if (e == SNTP_OK) {
		const uint8_t *p = data + 8;

		if (n - 8 < SNTP_PACKET_LEN || r.origin != sent || r.transmit == 0 ||
		    r.stratum == 0 || r.stratum >= 16 || r.leap == 3 ||
		    (r.mode != 4 && r.mode != 5) || (p[0] & 7) != r.mode)
			abort();
		sntp_sample(sntp_to_unix_ms(sent), sntp_to_unix_ms(r.receive),
		    sntp_to_unix_ms(r.transmit), sntp_to_unix_ms(sent) + 5, &smp);
	}
	if (e == SNTP_ERR_KOD && strlen(r.kiss) != 4)
		abort();
	check_select(data + 8, n - 8);
	return 0;
}
