/* SNTP packets and the selection of a round (sntp.h). */
#include <string.h>

#include "firmware/time/sntp.h"

#define NTP_UNIX_DELTA 2208988800LL /* 1900-01-01 to 1970-01-01, seconds */
#define ERA 4294967296LL            /* 2^32 seconds */

uint64_t
sntp_from_unix_ms(int64_t ms)
{
	int64_t s = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
	int64_t rem = ms - s * 1000;
	uint64_t sec = (uint64_t)(s + NTP_UNIX_DELTA) & 0xffffffffu;

	return sec << 32 | (uint64_t)((rem << 32) / 1000);
}

int64_t
sntp_to_unix_ms(uint64_t ts)
{
	int64_t sec = (int64_t)(ts >> 32);
	/* rounded: a ms written by sntp_from_unix_ms() reads back the same */
	int64_t frac_ms = (int64_t)(((ts & 0xffffffffu) * 1000 + (1ull << 31)) >> 32);

	if (!(sec & 0x80000000LL))
		sec += ERA; /* era 1: 2036-02-07 and later */
	return (sec - NTP_UNIX_DELTA) * 1000 + frac_ms;
}

static void
put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void
sntp_request(uint8_t out[SNTP_PACKET_LEN], uint64_t xmt)
{
	memset(out, 0, SNTP_PACKET_LEN);
	out[0] = 0 << 6 | 4 << 3 | 3; /* LI 0, VN 4, mode 3 (client) */
	put64(out + 40, xmt);
}

enum sntp_err
sntp_parse(const uint8_t *p, size_t n, uint64_t sent_xmt, struct sntp_reply *r)
{
	memset(r, 0, sizeof(*r));
	if (n < SNTP_PACKET_LEN)
		return SNTP_ERR_SHORT;
	r->leap = p[0] >> 6;
	r->version = p[0] >> 3 & 7;
	r->mode = p[0] & 7;
	r->stratum = p[1];
	r->origin = get64(p + 24);
	r->receive = get64(p + 32);
	r->transmit = get64(p + 40);
	if (r->version < 1 || r->version > 4)
		return SNTP_ERR_VERSION;
	if (r->mode != 4 && r->mode != 5)
		return SNTP_ERR_MODE;
	/* Not ours (or a blind spoof) before anything the server says counts. */
	if (r->origin != sent_xmt)
		return SNTP_ERR_ORIGIN;
	if (r->stratum == 0) {
		for (int i = 0; i < 4; i++)
			r->kiss[i] = p[12 + i] >= 0x20 && p[12 + i] < 0x7f ? (char)p[12 + i] : '?';
		return SNTP_ERR_KOD;
	}
	if (r->stratum >= 16)
		return SNTP_ERR_STRATUM;
	if (r->leap == 3)
		return SNTP_ERR_UNSYNC;
	if (r->transmit == 0)
		return SNTP_ERR_ZERO_XMT;
	return SNTP_OK;
}

const char *
sntp_strerror(enum sntp_err e)
{
	switch (e) {
	case SNTP_OK: return "ok";
	case SNTP_ERR_SHORT: return "answer shorter than 48 bytes";
	case SNTP_ERR_VERSION: return "unknown NTP version";
	case SNTP_ERR_MODE: return "not a server answer";
	case SNTP_ERR_KOD: return "kiss-o'-death";
	case SNTP_ERR_STRATUM: return "server not synchronised (stratum 16)";
	case SNTP_ERR_UNSYNC: return "server clock not set (leap indicator 3)";
	case SNTP_ERR_ZERO_XMT: return "transmit timestamp 0";
	case SNTP_ERR_ORIGIN: return "origin timestamp is not ours (stray or spoofed answer)";
	}
	return "?";
}

void
sntp_sample(int64_t t1, int64_t t2, int64_t t3, int64_t t4, struct sntp_sample *s)
{
	s->offset_ms = ((t2 - t1) + (t3 - t4)) / 2;
	s->delay_ms = (t4 - t1) - (t3 - t2);
}

static void
sort_by_offset(struct sntp_sample *s, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct sntp_sample k = s[i];
		unsigned j = i;

		for (; j > 0 && s[j - 1].offset_ms > k.offset_ms; j--)
			s[j] = s[j - 1];
		s[j] = k;
	}
}

unsigned
sntp_select(struct sntp_sample *s, unsigned n, int64_t tolerance_ms, int64_t *offset)
{
	unsigned best = 0, best_at = 0;

	if (n == 0)
		return 0;
	sort_by_offset(s, n);
	/* sorted: each group of agreeing samples is a run s[i..j) */
	for (unsigned i = 0; i < n; i++) {
		unsigned j = i;

		while (j < n && s[j].offset_ms - s[i].offset_ms <= tolerance_ms)
			j++;
		if (j - i > best) {
			best = j - i;
			best_at = i;
		}
	}
	if (best * 2 <= n)
		return 0;
	memmove(s, s + best_at, best * sizeof(*s));
	*offset = best % 2 ? s[best / 2].offset_ms
			   : (s[best / 2 - 1].offset_ms + s[best / 2].offset_ms) / 2;
	return best;
}
