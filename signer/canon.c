/*
 * Canonicalisation (RFC 6376 §3.4): the body engines (simple §3.4.3, relaxed
 * §3.4.4) and the header canonicaliser (simple §3.4.1, relaxed §3.4.2).
 */
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* 0x80 in each byte of x that is zero, exactly (no borrow into the next byte,
 * so the first flagged byte is the first zero in either byte order). */
static inline uint64_t
zero8(uint64_t x)
{
	const uint64_t m = 0x7f7f7f7f7f7f7f7fULL;

	return ~(((x & m) + m) | x | m);
}

/* The bytes of x (8 in memory order) equal to CR or LF, and for relaxed to SP
 * or HTAB: 0x80 in each. */
static inline uint64_t
special8(uint64_t x, bool relaxed)
{
	const uint64_t one = 0x0101010101010101ULL;
	uint64_t f = zero8(x ^ (one * '\r')) | zero8(x ^ (one * '\n'));

	if (relaxed)
		f |= zero8(x ^ (one * ' ')) | zero8(x ^ (one * '\t'));
	return f;
}

/* Index (0-7, memory order) of the first flagged byte of a special8() mask. */
static inline unsigned
first8(uint64_t f)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (unsigned)__builtin_clzll(f) / 8;
#else
	return (unsigned)__builtin_ctzll(f) / 8;
#endif
}

#if defined(__SSE2__)
/* Bit j of each: byte j of p[0..64) is CR, LF, SP, HTAB (SSE2, the x86-64
 * baseline; SP and HTAB only for relaxed). */
struct masks64 {
	uint64_t cr, lf, sp, ht;
};

static inline void
masks64(const uint8_t *p, bool relaxed, struct masks64 *m)
{
	const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
	const __m128i sp = _mm_set1_epi8(' '), ht = _mm_set1_epi8('\t');

	m->cr = m->lf = m->sp = m->ht = 0;
	for (unsigned k = 0; k < 4; k++) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));

		m->cr |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, cr)) << (16 * k);
		m->lf |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, lf)) << (16 * k);
		if (relaxed) {
			m->sp |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, sp))
			    << (16 * k);
			m->ht |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, ht))
			    << (16 * k);
		}
	}
}

/*
 * The rules of dkim_body_clean_len() on 64 bytes at a time, without a branch
 * per line: every LF right after a CR and every CR right before an LF, no CR
 * right after an LF (an empty line), and for relaxed no HTAB and no SP
 * before SP, HTAB or CR. The byte before each block is carried in. Returns
 * where it stopped: at most n, a multiple of 64 (or where text that is not
 * clean begins, *dirty); *good is after the last clean line end.
 */
static size_t
clean_blocks(bool relaxed, const uint8_t *p, size_t n, size_t *good, bool *dirty)
{
	uint64_t pcr = 0, plf = 1, psp = 0; /* the byte before: CR, LF (line start), SP */
	size_t i = 0;

	for (; i + 64 <= n; i += 64) {
		struct masks64 m;
		uint64_t err;

		masks64(p + i, relaxed, &m);
		err = m.lf ^ ((m.cr << 1) | pcr);
		err |= m.cr & ((m.lf << 1) | plf);
		if (relaxed)
			err |= m.ht | (((m.sp << 1) | psp) & (m.sp | m.ht | m.cr));
		if (err != 0) {
			uint64_t before = m.lf & ((err & (~err + 1)) - 1); /* LFs before it */

			if (before != 0)
				*good = i + 64 - (size_t)__builtin_clzll(before);
			*dirty = true;
			return i;
		}
		if (m.lf != 0)
			*good = i + 64 - (size_t)__builtin_clzll(m.lf);
		pcr = m.cr >> 63;
		plf = m.lf >> 63;
		psp = m.sp >> 63;
	}
	/* the bytes scalar code still has to see: a CR or SP at the end */
	return i > 0 && (pcr || psp) ? i - 1 : i;
}
#endif

size_t
dkim_body_clean_len(bool relaxed, const uint8_t *p, size_t n, bool *dirty)
{
	size_t i = 0, good = 0, line = 0;

	*dirty = false;
	if (n > DKIM_BODY_CLEAN_MAX + 2)
		n = DKIM_BODY_CLEAN_MAX + 2;
#if defined(__SSE2__)
	i = clean_blocks(relaxed, p, n, &good, dirty);
	if (*dirty)
		return good;
	line = good;
#endif
	while (i < n) {
		uint8_t c;

		if (i + 8 <= n) { /* to the next special byte, 8 at a time */
			uint64_t x, f;

			memcpy(&x, p + i, 8);
			f = special8(x, relaxed);
			if (f == 0) {
				i += 8;
				continue;
			}
			i += first8(f);
		}
		c = p[i];
		if (c == '\r') {
			/* CRLF after a non-empty line (relaxed: not after SP) */
			if (i + 1 >= n)
				return good;
			*dirty = p[i + 1] != '\n' || i == line || (relaxed && p[i - 1] == ' ');
			if (*dirty)
				return good;
			i += 2;
			good = line = i;
		} else if (c == '\n' || (relaxed && c == '\t')) {
			*dirty = true; /* a bare LF; relaxed makes HTAB a SP */
			return good;
		} else if (c == ' ' && relaxed) {
			/* one SP before a byte that is not WSP or CR */
			if (i + 1 >= n)
				return good;
			*dirty = p[i + 1] == ' ' || p[i + 1] == '\t' || p[i + 1] == '\r';
			if (*dirty)
				return good;
			i++;
		} else {
			i++;
		}
	}
	return good;
}

bool
dkim_body_at_line_start(const struct dkim_body *b)
{
	return !b->line_data && !b->wsp;
}

void
dkim_body_clean(struct dkim_body *b, const uint8_t *p, size_t n)
{
	if (n == 0)
		return;
	body_blank(b); /* the empty lines before: a non-empty line follows */
	body_put(b, p, n);
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
