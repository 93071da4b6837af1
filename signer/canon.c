/*
 * Canonicalisation (RFC 6376 §3.4): the body engines (simple §3.4.3, relaxed
 * §3.4.4) and the header canonicaliser (simple §3.4.1, relaxed §3.4.2).
 */
#include <string.h>

#include "signer/canon.h"

/* ---------------------------------------------------------------- body */

static void
body_flush(struct dkim_body *b)
{
	if (b->blen > 0) {
		if (hal_hash_update(&b->hash, b->buf, b->blen) != 0)
			b->failed = true;
		b->blen = 0;
	}
}

static void
body_put(struct dkim_body *b, const uint8_t *p, size_t n)
{
	b->len += n;
	if (b->blen + n > sizeof(b->buf)) {
		body_flush(b);
		if (n >= sizeof(b->buf)) {
			if (hal_hash_update(&b->hash, p, n) != 0)
				b->failed = true;
			return;
		}
	}
	memcpy(b->buf + b->blen, p, n);
	b->blen += n;
}

static const uint8_t crlf[2] = { '\r', '\n' };

/* Hash the empty lines held back: a non-empty line follows them. */
static void
body_blank(struct dkim_body *b)
{
	while (b->blank_lines > 0) {
		body_put(b, crlf, 2);
		b->blank_lines--;
	}
}

int
dkim_body_init(struct dkim_body *b, enum dkim_canon canon)
{
	memset(b, 0, sizeof(*b));
	b->used = true;
	b->canon = canon;
	return hal_hash_init(&b->hash, HAL_HASH_SHA256);
}

/* Does any of the 8 bytes in x equal SP or HTAB? (SWAR zero-byte test on
 * x ^ 0x20.. and x ^ 0x09..; byte order does not matter.) */
static inline bool
has_wsp8(uint64_t x)
{
	const uint64_t lo = 0x0101010101010101ULL, hi = 0x8080808080808080ULL;
	uint64_t a = x ^ 0x2020202020202020ULL, t = x ^ 0x0909090909090909ULL;

	return (((a - lo) & ~a) | ((t - lo) & ~t)) & hi;
}

/* Relaxed (§3.4.4) data of one line, no line end inside: copied into the
 * staging buffer with WSP runs reduced to one SP, written only before the
 * next non-WSP byte (so WSP at the end of a line disappears). */
static const uint8_t *
relaxed_piece(struct dkim_body *b, const uint8_t *q, const uint8_t *stop)
{
	uint8_t *o = b->buf + b->blen, *o0 = o;
	bool wsp = b->wsp;
	uint64_t x;

	while (q < stop) {
		size_t k = (size_t)(stop - q) >= 8 ? 8 : 1;

		if (k == 8) {
			memcpy(&x, q, 8);
			if (!has_wsp8(x)) {
				if (wsp) {
					*o++ = ' ';
					wsp = false;
				}
				memcpy(o, q, 8);
				o += 8;
				q += 8;
				continue;
			}
		}
		/* branch-free: text has a WSP every few bytes, which a branch
		 * would mispredict */
		for (; k > 0; k--, q++) {
			uint8_t c = *q;
			unsigned is = (unsigned)(c == ' ') | (unsigned)(c == '\t');

			*o = ' ';
			o += (unsigned)wsp & (is ^ 1u);
			*o = c;
			o += is ^ 1u;
			wsp = is != 0;
		}
	}
	if (o > o0)
		b->line_data = true;
	b->len += (size_t)(o - o0);
	b->blen += (size_t)(o - o0);
	b->wsp = wsp;
	return q;
}

void
dkim_body_data(struct dkim_body *b, const uint8_t *p, size_t n)
{
	const uint8_t *q = p, *end = p + n;

	if (n == 0)
		return;
	if (b->canon == DKIM_CANON_SIMPLE) {
		body_blank(b);
		body_put(b, p, n);
		b->line_data = true;
		return;
	}
	if (b->blank_lines > 0) {
		/* held-back empty lines are hashed before the first non-WSP
		 * byte; a line of only WSP is empty too */
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q > p)
			b->wsp = true;
		if (q == end)
			return;
		body_blank(b);
	}
	/* the output of a piece is at most its input plus one pending SP */
	while (q < end) {
		size_t room, take;

		if (sizeof(b->buf) - b->blen < 64)
			body_flush(b);
		room = sizeof(b->buf) - b->blen - 1;
		take = (size_t)(end - q) < room ? (size_t)(end - q) : room;
		q = relaxed_piece(b, q, q + take);
	}
}

void
dkim_body_eol(struct dkim_body *b)
{
	b->wsp = false;
	if (b->line_data) {
		body_put(b, crlf, 2);
		b->line_data = false;
	} else {
		b->blank_lines++;
	}
}

int
dkim_body_final(struct dkim_body *b, uint8_t out[DKIM_HASH_LEN])
{
	/* a last line without CRLF gets one (§3.4.3, §3.4.4) */
	if (b->line_data)
		dkim_body_eol(b);
	/* simple: an empty body is one CRLF; relaxed: it is empty */
	if (b->canon == DKIM_CANON_SIMPLE && b->len == 0)
		body_put(b, crlf, 2);
	body_flush(b);
	if (b->failed)
		return -EIO;
	return hal_hash_final(&b->hash, out);
}

/* ---------------------------------------------------------- clean text */

bool
dkim_body_at_line_start(const struct dkim_body *b)
{
	return !b->line_data && !b->wsp;
}

/* Empty lines held back are hashed only before a non-empty line: when an
 * engine holds some, this much is checked first, then hashed. */
#define CLEAN_AFTER_BLANK (1024 + 2)

size_t
dkim_body_clean(struct dkim_body *const *e, unsigned ne, const uint8_t *p, size_t n, bool *dirty)
{
	unsigned flags = 0, first = 0, i;
	bool blank = false;
	size_t k;

	*dirty = false;
	if (ne == 0 || n == 0)
		return 0;
	for (i = 0; i < ne; i++) {
		if (e[i]->canon == DKIM_CANON_RELAXED) {
			flags = HAL_TEXT_RELAXED; /* the stricter rule */
			first = i;
		}
		blank = blank || e[i]->blank_lines > 0;
	}
	if (blank) {
		k = hal_text_clean_len(p, n < CLEAN_AFTER_BLANK ? n : CLEAN_AFTER_BLANK, flags,
		    dirty);
		for (i = 0; k > 0 && i < ne; i++) {
			body_blank(e[i]); /* a non-empty line follows */
			body_put(e[i], p, k);
		}
		return k;
	}
	body_flush(e[first]); /* what is staged goes before */
	if (hal_hash_update_text(&e[first]->hash, p, n, flags, &k, dirty) != 0)
		e[first]->failed = true;
	e[first]->len += k;
	for (i = 0; k > 0 && i < ne; i++)
		if (i != first)
			body_put(e[i], p, k);
	return k;
}

/* ---------------------------------------------------------------- header */

void
dkim_hcanon_start(struct dkim_hcanon *c, enum dkim_canon canon, struct hal_hash_ctx *h)
{
	c->canon = canon;
	c->h = h;
	c->in_name = true;
	c->started = false;
	c->wsp = false;
	c->pending_cr = false;
	c->failed = false;
	c->olen = 0;
}

static void
hc_flush(struct dkim_hcanon *c)
{
	if (c->olen > 0) {
		if (hal_hash_update(c->h, c->out, c->olen) != 0)
			c->failed = true;
		c->olen = 0;
	}
}

static void
hc_put(struct dkim_hcanon *c, uint8_t ch)
{
	if (c->olen == sizeof(c->out))
		hc_flush(c);
	c->out[c->olen++] = ch;
}

static void
hc_byte(struct dkim_hcanon *c, uint8_t ch)
{
	if (c->in_name) {
		if (ch == ':') {
			hc_put(c, ':');
			c->in_name = false;
		} else if (ch != ' ' && ch != '\t') {
			hc_put(c, (ch >= 'A' && ch <= 'Z') ? (uint8_t)(ch + 32) : ch);
		}
		return;
	}
	if (ch == ' ' || ch == '\t') {
		c->wsp = true;
		return;
	}
	if (c->wsp && c->started)
		hc_put(c, ' ');
	c->wsp = false;
	c->started = true;
	hc_put(c, ch);
}

void
dkim_hcanon_feed(struct dkim_hcanon *c, const uint8_t *p, size_t n)
{
	if (c->canon == DKIM_CANON_SIMPLE) {
		if (n > 0 && hal_hash_update(c->h, p, n) != 0)
			c->failed = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (c->pending_cr) {
			c->pending_cr = false;
			if (ch == '\n')
				continue;       /* CRLF: unfold (§3.4.2) */
			hc_byte(c, '\r');       /* a bare CR is an ordinary byte */
		}
		if (ch == '\r')
			c->pending_cr = true;
		else
			hc_byte(c, ch);
	}
}

int
dkim_hcanon_end(struct dkim_hcanon *c, bool add_crlf)
{
	if (c->canon == DKIM_CANON_RELAXED) {
		if (c->pending_cr) {
			c->pending_cr = false;
			hc_byte(c, '\r');
		}
		if (add_crlf) {
			hc_put(c, '\r');
			hc_put(c, '\n');
		}
		hc_flush(c);
	}
	return c->failed ? -EIO : 0;
}
