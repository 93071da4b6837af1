/*
 * The HTTP/1.1 response of an MTA-STS policy fetch (sts_http.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/relay/sts_http.h"
#include "zegel/text.h"

void
sts_http_init(struct sts_http *h)
{
	memset(h, 0, sizeof(*h));
}

size_t
sts_http_request(const char *host, char *buf, size_t cap)
{
	int k = snprintf(buf, cap, "GET " STS_HTTP_PATH " HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: zegel\r\nAccept: text/plain\r\nConnection: close\r\n\r\n", host);

	return k < 0 || (size_t)k >= cap ? 0 : (size_t)k;
}

static void
herr(struct sts_http *h, const char *fmt, const char *arg)
{
	h->st = STS_H_ERROR;
	h->ev = STS_HTTP_EV_ERROR;
	zegel_strf(h->why, sizeof(h->why), fmt, arg ? arg : "");
}

static bool
ows(char c)
{
	return c == ' ' || c == '\t';
}

static void
status_line(struct sts_http *h, const char *l)
{
	if (strncmp(l, "HTTP/1.", 7) != 0 || (l[7] != '0' && l[7] != '1') || l[8] != ' ' ||
	    !isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
	    !isdigit((unsigned char)l[11]) || (l[12] != ' ' && l[12] != '\0')) {
		herr(h, "not an HTTP/1.x status line", NULL);
		return;
	}
	h->status = (l[9] - '0') * 100 + (l[10] - '0') * 10 + (l[11] - '0');
	if (h->status >= 300 && h->status < 400)
		herr(h, "redirect refused (RFC 8461 3.3): HTTP %s", l + 9);
	else if (h->status != 200)
		herr(h, "HTTP status %s", l + 9);
	else
		h->st = STS_H_HEADER;
}

static void
header_done(struct sts_http *h)
{
	if (!h->have_type || !h->type_ok) {
		herr(h, "Content-Type is not text/plain (RFC 8461 3.3)", NULL);
		return;
	}
	if (h->chunked) {
		h->st = STS_H_CHUNK_SIZE;
	} else if (h->have_len) {
		if (h->left > STS_HTTP_BODY_MAX) {
			herr(h, "policy larger than 64 KiB", NULL);
			return;
		}
		h->st = h->left ? STS_H_BODY_LEN : STS_H_DONE;
		if (h->left == 0)
			h->ev = STS_HTTP_EV_DONE;
	} else {
		h->st = STS_H_BODY_CLOSE;
	}
}

static void
header_line(struct sts_http *h, const char *l)
{
	const char *colon, *v;
	size_t klen, vlen;

	if (l[0] == '\0') {
		header_done(h);
		return;
	}
	if (ows(l[0])) {
		herr(h, "folded header line", NULL);
		return;
	}
	if (++h->nheaders > STS_HTTP_HEADERS_MAX) {
		herr(h, "too many header lines", NULL);
		return;
	}
	colon = strchr(l, ':');
	if (colon == NULL || colon == l) {
		herr(h, "bad header line", NULL);
		return;
	}
	klen = (size_t)(colon - l);
	for (size_t i = 0; i < klen; i++)
		if (ows(l[i]) || (unsigned char)l[i] <= 0x20) {
			herr(h, "bad header name", NULL);
			return;
		}
	v = colon + 1;
	while (ows(*v))
		v++;
	vlen = strlen(v);
	while (vlen > 0 && ows(v[vlen - 1]))
		vlen--;
	if (klen == 12 && strncasecmp(l, "Content-Type", 12) == 0) {
		if (h->have_type) {
			herr(h, "two Content-Type headers", NULL);
			return;
		}
		h->have_type = true;
		h->type_ok = vlen >= 10 && strncasecmp(v, "text/plain", 10) == 0 &&
		    (vlen == 10 || v[10] == ';' || ows(v[10]));
	} else if (klen == 14 && strncasecmp(l, "Content-Length", 14) == 0) {
		uint64_t x = 0;

		if (h->have_len || vlen == 0 || vlen > 12) {
			herr(h, "bad Content-Length", NULL);
			return;
		}
		for (size_t i = 0; i < vlen; i++) {
			if (!isdigit((unsigned char)v[i])) {
				herr(h, "bad Content-Length", NULL);
				return;
			}
			x = x * 10 + (uint64_t)(v[i] - '0');
		}
		h->have_len = true;
		h->left = x;
	} else if (klen == 17 && strncasecmp(l, "Transfer-Encoding", 17) == 0) {
		if (vlen != 7 || strncasecmp(v, "chunked", 7) != 0 || h->chunked) {
			herr(h, "Transfer-Encoding other than chunked", NULL);
			return;
		}
		h->chunked = true;
	}
	if (h->chunked && h->have_len)
		herr(h, "both Content-Length and chunked", NULL);
}

static void
chunk_size_line(struct sts_http *h, const char *l)
{
	uint64_t x = 0;
	size_t i = 0;

	for (; isxdigit((unsigned char)l[i]); i++) {
		if (i >= 8) {
			herr(h, "chunk size too large", NULL);
			return;
		}
		x = x * 16 + (uint64_t)(isdigit((unsigned char)l[i]) ? l[i] - '0'
								   : (tolower((unsigned char)l[i]) - 'a' + 10));
	}
	if (i == 0 || (l[i] != '\0' && l[i] != ';' && !ows(l[i]))) {
		herr(h, "bad chunk size line", NULL);
		return;
	}
	if (h->body_total + x > STS_HTTP_BODY_MAX) {
		herr(h, "policy larger than 64 KiB", NULL);
		return;
	}
	h->left = x;
	h->st = x ? STS_H_CHUNK_DATA : STS_H_TRAILER;
}

/* One complete line (CR LF or LF stripped) in a line state. */
static void
take_line(struct sts_http *h)
{
	h->line[h->len] = '\0';
	switch (h->st) {
	case STS_H_STATUS:
		status_line(h, h->line);
		break;
	case STS_H_HEADER:
		header_line(h, h->line);
		break;
	case STS_H_CHUNK_SIZE:
		chunk_size_line(h, h->line);
		break;
	case STS_H_CHUNK_END:
		if (h->len != 0)
			herr(h, "chunk not followed by CRLF", NULL);
		else
			h->st = STS_H_CHUNK_SIZE;
		break;
	case STS_H_TRAILER:
		if (h->len == 0) {
			h->st = STS_H_DONE;
			h->ev = STS_HTTP_EV_DONE;
		} else if (++h->nheaders > STS_HTTP_HEADERS_MAX) {
			herr(h, "too many trailer lines", NULL);
		}
		break;
	default:
		break;
	}
	h->len = 0;
}

static size_t
body_bytes(struct sts_http *h, const uint8_t *p, size_t n, bool bounded)
{
	size_t k = n;

	if (bounded && k > h->left)
		k = (size_t)h->left;
	if (h->body_total + k > STS_HTTP_BODY_MAX) {
		herr(h, "policy larger than 64 KiB", NULL);
		return 0;
	}
	h->body_total += k;
	if (bounded)
		h->left -= k;
	h->body = p;
	h->body_len = k;
	h->ev = STS_HTTP_EV_BODY;
	if (bounded && h->left == 0) {
		if (h->st == STS_H_BODY_LEN)
			h->st = STS_H_DONE; /* DONE reported at the next push */
		else
			h->st = STS_H_CHUNK_END;
	}
	return k;
}

size_t
sts_http_push(struct sts_http *h, const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (h->st == STS_H_ERROR) {
		h->ev = STS_HTTP_EV_ERROR;
		return 0;
	}
	h->ev = STS_HTTP_EV_NONE;
	while (i < n) {
		switch (h->st) {
		case STS_H_BODY_LEN:
		case STS_H_CHUNK_DATA:
			return i + body_bytes(h, p + i, n - i, true);
		case STS_H_BODY_CLOSE:
			return i + body_bytes(h, p + i, n - i, false);
		case STS_H_DONE:
			h->ev = STS_HTTP_EV_DONE;
			return i; /* bytes after the response: not ours */
		case STS_H_ERROR:
			return i;
		default:
			break;
		}
		/* line states */
		if (p[i] == '\n') {
			if (h->len > 0 && h->line[h->len - 1] == '\r')
				h->len--;
			i++;
			take_line(h);
			if (h->ev != STS_HTTP_EV_NONE)
				return i;
			continue;
		}
		if (p[i] == '\0' || h->len >= STS_HTTP_LINE_MAX) {
			herr(h, p[i] ? "header line too long" : "NUL in the header", NULL);
			return i;
		}
		h->line[h->len++] = (char)p[i++];
	}
	if (h->st == STS_H_DONE)
		h->ev = STS_HTTP_EV_DONE;
	return i;
}

void
sts_http_eof(struct sts_http *h)
{
	if (h->st == STS_H_BODY_CLOSE || h->st == STS_H_DONE) {
		h->st = STS_H_DONE;
		h->ev = STS_HTTP_EV_DONE;
		return;
	}
	if (h->st != STS_H_ERROR)
		herr(h, "connection closed before the end of the response", NULL);
	h->ev = STS_HTTP_EV_ERROR;
}
