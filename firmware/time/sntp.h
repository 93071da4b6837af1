/*
 * firmware/time/sntp.h — SNTP client packets and arithmetic (RFC 4330,
 * RFC 5905 client mode), pure: no sockets, no clock. The event-loop driver
 * (ntp.c) sends sntp_request() packets, feeds every answer to sntp_parse()
 * with the transmit timestamp it sent, and gives the samples of a round to
 * sntp_select().
 *
 * Timestamps are NTP 32.32 fixed point (seconds since 1900 in the high
 * word). Conversion to UNIX milliseconds uses the era pivot of RFC 4330
 * section 3: a seconds word with the top bit clear is in era 1 (2036-2104).
 */
#ifndef ZEGEL_TIME_SNTP_H
#define ZEGEL_TIME_SNTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNTP_PACKET_LEN 48
#define SNTP_PORT 123
#define SNTP_MAX_SAMPLES 8

enum sntp_err {
	SNTP_OK = 0,
	SNTP_ERR_SHORT,     /* fewer than 48 bytes */
	SNTP_ERR_VERSION,   /* VN not 1..4 */
	SNTP_ERR_MODE,      /* not a server (4) or broadcast (5) answer */
	SNTP_ERR_KOD,       /* kiss-o'-death (stratum 0): reply.kiss names it */
	SNTP_ERR_STRATUM,   /* stratum 16 or more: unsynchronised */
	SNTP_ERR_UNSYNC,    /* leap indicator 3: the server's clock is not set */
	SNTP_ERR_ZERO_XMT,  /* transmit timestamp 0 */
	SNTP_ERR_ORIGIN,    /* origin is not what we sent: not our answer */
};

struct sntp_reply {
	unsigned leap, version, mode, stratum;
	char kiss[5];            /* kiss code ("RATE", "DENY", ...) for stratum 0 */
	uint64_t origin, receive, transmit;
};

/* One answer of a round, as UNIX milliseconds. */
struct sntp_sample {
	int64_t offset_ms;       /* server minus local */
	int64_t delay_ms;        /* round trip minus server time */
	unsigned server;         /* index of the server (for the log) */
};

uint64_t sntp_from_unix_ms(int64_t ms);
int64_t sntp_to_unix_ms(uint64_t ts);

/* A client request (LI 0, VN 4, mode 3) with transmit timestamp xmt. */
void sntp_request(uint8_t out[SNTP_PACKET_LEN], uint64_t xmt);
/* Check and decode an answer to the request that carried sent_xmt. */
enum sntp_err sntp_parse(const uint8_t *p, size_t n, uint64_t sent_xmt, struct sntp_reply *r);
const char *sntp_strerror(enum sntp_err e);

/* Offset and delay from the four times (RFC 4330 section 5): t1 our send,
 * t2 server receive, t3 server send, t4 our receive. */
void sntp_sample(int64_t t1, int64_t t2, int64_t t3, int64_t t4, struct sntp_sample *s);

/*
 * The round's verdict: the largest group of samples whose offsets lie
 * within tolerance_ms of each other must hold more than half of the n
 * samples; its median offset is the answer. Returns the group's size (its
 * members are moved to the front of s, sorted by offset), or 0 when no
 * majority agrees (then *offset is untouched).
 */
unsigned sntp_select(struct sntp_sample *s, unsigned n, int64_t tolerance_ms, int64_t *offset);

#endif
