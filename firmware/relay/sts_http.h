/*
 * firmware/relay/sts_http.h — the HTTP/1.1 response to the one request an
 * MTA-STS fetch makes (RFC 8461 3.3), as a byte-fed state machine. Pure: no
 * I/O, no clock, no logs.
 *
 * Model. The caller sends "GET /.well-known/mta-sts.txt HTTP/1.1", Host,
 * "Connection: close" (sts_http_request()) and feeds every decrypted byte:
 *
 *   sts_http_init(h)
 *   loop: k = sts_http_push(h, p, n)    consumed bytes; stops early at an event
 *         switch (h->ev)
 *         STS_HTTP_EV_BODY  h->body[0..h->body_len) is body (points into p:
 *                           use it before the next push); push the rest of p
 *         STS_HTTP_EV_DONE  the body is complete
 *         STS_HTTP_EV_ERROR h->why says why; the error sticks
 *         STS_HTTP_EV_NONE  all of p taken, more input needed
 *   at end of stream: sts_http_eof(h)  DONE for a body delimited by the
 *                     close, else ERROR (truncated)
 *
 * Rules (3.3 and RFC 9112): status 200 only (3xx: "redirect refused", RFC
 * 8461 3.3 says MUST NOT follow); Content-Type text/plain (parameters
 * allowed); Content-Length or Transfer-Encoding: chunked (other codings
 * refused) or, without either, the body up to the close; body at most
 * STS_HTTP_BODY_MAX (64 KiB); a header line at most STS_HTTP_LINE_MAX; at
 * most STS_HTTP_HEADERS_MAX header lines; obsolete line folding refused.
 */
#ifndef ZEGEL_RELAY_STS_HTTP_H
#define ZEGEL_RELAY_STS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STS_HTTP_BODY_MAX 65536
#define STS_HTTP_LINE_MAX 1024
#define STS_HTTP_HEADERS_MAX 64
#define STS_HTTP_PATH "/.well-known/mta-sts.txt"

enum sts_http_ev { STS_HTTP_EV_NONE = 0, STS_HTTP_EV_BODY, STS_HTTP_EV_DONE, STS_HTTP_EV_ERROR };

enum sts_http_state {
	STS_H_STATUS = 0, STS_H_HEADER, STS_H_BODY_LEN, STS_H_BODY_CLOSE, STS_H_CHUNK_SIZE,
	STS_H_CHUNK_DATA, STS_H_CHUNK_END, STS_H_TRAILER, STS_H_DONE, STS_H_ERROR,
};

struct sts_http {
	enum sts_http_state st;
	enum sts_http_ev ev;
	int status;
	bool have_len, chunked, have_type, type_ok;
	uint64_t left;          /* of the Content-Length body or of the chunk */
	uint64_t body_total;
	unsigned nheaders;
	size_t len;
	char line[STS_HTTP_LINE_MAX + 1];
	const uint8_t *body;
	size_t body_len;
	char why[120];
};

void sts_http_init(struct sts_http *h);
size_t sts_http_push(struct sts_http *h, const uint8_t *p, size_t n);
void sts_http_eof(struct sts_http *h);
/* The request for host ("mta-sts.example.com"): its length, 0 if cap is short. */
size_t sts_http_request(const char *host, char *buf, size_t cap);

#endif
