/*
 * The second half of the signer: the h= list, the DKIM-Signature text,
 * the header hash and the signature (RFC 6376 §3.5, §3.7, §5.4; RFC 8463
 * §3), from what signer.c collected (header block, body hashes).
 */
#include <stdio.h>
#include <string.h>

#include "dkim/dkim.h"
#include "signer/canon.h"
#include "signer/inner.h"

/* ---------------------------------------------------------------- h= */

/*
 * The h= list of a signature, name by name: every listed field once per
 * instance present, then each oversigned field once more than present
 * (RFC 6376 §5.4.2: instances are taken bottom-up; an entry without an
 * instance left stands for a null string, so adding one breaks the
 * signature).
 */
struct hiter {
	bool over;
	size_t li;
	unsigned rep, reps;
	const char *name;
};

static bool
seen_before(const char *const *l, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (dkim_ieq(l[j], l[i]))
			return true;
	return false;
}

static const char *
hiter_next(const struct dkim_signer *s, const struct dkim_sig *g, struct hiter *it)
{
	const char *const *l;

	for (;;) {
		if (it->name != NULL && it->rep < it->reps) {
			it->rep++;
			return it->name;
		}
		it->name = NULL;
		l = it->over ? g->p.oversign : g->p.headers;
		if (l[it->li] == NULL) {
			if (it->over)
				return NULL;
			it->over = true;
			it->li = 0;
			continue;
		}
		if (!seen_before(l, it->li)) {
			it->name = l[it->li];
			it->rep = 0;
			if (!it->over)
				it->reps = dkim_field_count(s, it->name);
			else if (dkim_list_has(g->p.headers, it->name))
				it->reps = 1;
			else
				it->reps = dkim_field_count(s, it->name) + 1;
		}
		it->li++;
	}
}

/* ---------------------------------------------------------------- output */

/* Text of a DKIM-Signature field: into a buffer, a header hash, or both. */
struct emit {
	char *buf;
	size_t cap, len;
	bool over;
	struct dkim_hcanon *hc;
	size_t col;
};

#define FOLD_AT 78

static void
emit_raw(struct emit *e, const char *p, size_t n)
{
	if (e->buf != NULL) {
		if (e->cap - e->len <= n)
			e->over = true;
		else
			memcpy(e->buf + e->len, p, n);
		e->len += n;
	}
	if (e->hc != NULL)
		dkim_hcanon_feed(e->hc, (const uint8_t *)p, n);
	e->col += n;
}

/* A token, after a space (or a fold where the space was) if sp. */
static void
emit_tok(struct emit *e, const char *p, size_t n, bool sp)
{
	if (e->col + n + (sp ? 1 : 0) > FOLD_AT && e->col > 1) {
		emit_raw(e, "\r\n ", 3);
		e->col = 1;
	} else if (sp) {
		emit_raw(e, " ", 1);
	}
	emit_raw(e, p, n);
}

static void
emit_tagf(struct emit *e, const char *fmt, const char *a, long long v)
{
	char t[320];
	int n = a ? snprintf(t, sizeof(t), fmt, a) : snprintf(t, sizeof(t), fmt, v);

	if (n < 0 || (size_t)n >= sizeof(t)) {
		e->over = true;
		return;
	}
	emit_tok(e, t, (size_t)n, true);
}

static const char *
canon_name(enum dkim_canon c)
{
	return c == DKIM_CANON_SIMPLE ? "simple" : "relaxed";
}

/* Everything up to and including "b=" (the part the signature covers). */
static void
emit_sig_head(const struct dkim_signer *s, const struct dkim_sig *g, struct emit *e)
{
	struct hiter it = { 0 };
	const char *name;
	char t[128], bh[48];
	bool first = true, spaced = (g->p.flags & DKIM_SIG_RFC8463_LAYOUT) != 0;
	int n;

	emit_raw(e, "DKIM-Signature:", 15);
	emit_tok(e, "v=1;", 4, true);
	emit_tagf(e, "a=%s;", g->p.key->type == HAL_KEY_ED25519 ? "ed25519-sha256" : "rsa-sha256",
	    0);
	n = snprintf(t, sizeof(t), "c=%s/%s;", canon_name(g->p.canon_header),
	    canon_name(g->p.canon_body));
	emit_tok(e, t, (size_t)n, true);
	emit_tagf(e, "d=%s;", g->p.domain, 0);
	if (g->p.identity != NULL)
		emit_tagf(e, "i=%s;", g->p.identity, 0);
	if (spaced)
		emit_tok(e, "q=dns/txt;", 10, true);
	emit_tagf(e, "s=%s;", g->p.selector, 0);
	/* t= is optional (RFC 6376 3.5): a caller without a trustworthy clock
	 * passes now < 0 and gets neither t= nor x=, never a date in 1970. */
	if (g->t >= 0) {
		emit_tagf(e, "t=%lld;", NULL, (long long)g->t);
		if (g->p.expire_after > 0)
			emit_tagf(e, "x=%lld;", NULL, (long long)g->t + g->p.expire_after);
	}
	while ((name = hiter_next(s, g, &it)) != NULL) {
		size_t nl = strlen(name);

		if (nl + 3 > sizeof(t)) {
			e->over = true;
			return;
		}
		if (first) {
			memcpy(t, "h=", 2);
			for (size_t k = 0; k < nl; k++)
				t[2 + k] = (char)dkim_lc((unsigned char)name[k]);
			emit_tok(e, t, nl + 2, true);
			first = false;
			continue;
		}
		for (size_t k = 0; k < nl; k++)
			t[1 + k] = (char)dkim_lc((unsigned char)name[k]);
		if (spaced) {
			emit_tok(e, ":", 1, true);
			emit_tok(e, t + 1, nl, true);
		} else {
			t[0] = ':';
			emit_tok(e, t, nl + 1, false);
		}
	}
	emit_raw(e, ";", 1);
	memcpy(t, "bh=", 3);
	dkim_base64(g->bh, sizeof(g->bh), bh, sizeof(bh));
	n = snprintf(t, sizeof(t), "bh=%s;", bh);
	emit_tok(e, t, (size_t)n, true);
	emit_tok(e, "b=", 2, true);
}

/* Hash the selected header fields, bottom-up per name (RFC 6376 §5.4.2). */
static void
hash_fields(const struct dkim_signer *s, const struct dkim_sig *g, struct dkim_hcanon *hc,
    struct hal_hash_ctx *h)
{
	struct hiter it = { 0 };
	const char *name;

	hc->failed = false;
	while ((name = hiter_next(s, g, &it)) != NULL) {
		unsigned k = dkim_field_count(s, name), used, seen = 0;

		/* earlier h= entries of this name: those of this block, plus the
		 * whole listed block when this is the oversigned extra one */
		used = it.rep - 1 + ((it.over && dkim_list_has(g->p.headers, name)) ? k : 0);
		if (used >= k)
			continue;       /* no instance left: a null string */
		for (unsigned i = 0; i < s->nfields; i++) {
			if (!dkim_field_is(s, i, name))
				continue;
			if (seen++ == k - 1 - used) {
				dkim_hcanon_start(hc, g->p.canon_header, h);
				dkim_hcanon_feed(hc, s->hdr + s->field[i],
				    dkim_field_end(s, i) - s->field[i]);
				if (dkim_hcanon_end(hc, true) != 0)
					return;
				break;
			}
		}
	}
}

/* Do g and o hash the same header fields the same way? (Then g starts from
 * o's snapshot: an RSA and an Ed25519 key of one domain share it.) */
static bool
same_fields(const struct dkim_sig *g, const struct dkim_sig *o)
{
	return o != NULL && g->p.canon_header == o->p.canon_header &&
	    g->p.headers == o->p.headers && g->p.oversign == o->p.oversign;
}

/*
 * The header hash of one signature: the selected fields, then its own
 * DKIM-Signature field without b= (RFC 6376 §3.7). The hash over the fields
 * is kept in *snap (a clone: a context may hold a descriptor, never a memcpy)
 * for the next signature over the same fields. Every exit leaves h finished
 * or freed.
 */
static int
sign_one(struct dkim_signer *s, struct dkim_sig *g, struct hal_hash_ctx *snap,
    const struct dkim_sig **snap_of)
{
	struct hal_hash_ctx h;
	struct dkim_hcanon hc;
	struct emit e = { 0 };

	/* a clone that fails (an engine out of contexts) is hashed again */
	if (!same_fields(g, *snap_of) || hal_hash_clone(&h, snap) != 0) {
		hal_hash_free(snap);
		*snap_of = NULL;
		if (hal_hash_init(&h, HAL_HASH_SHA256) != 0)
			return DKIM_ERR_CRYPTO;
		hash_fields(s, g, &hc, &h);
		if (hc.failed) {
			hal_hash_free(&h);
			return DKIM_ERR_CRYPTO;
		}
		if (hal_hash_clone(snap, &h) == 0)
			*snap_of = g;   /* without a snapshot the next one starts over */
	}
	dkim_hcanon_start(&hc, g->p.canon_header, &h);
	e.hc = &hc;
	emit_sig_head(s, g, &e);
	if (e.over) {
		hal_hash_free(&h);
		return DKIM_ERR_PARAM;
	}
	if (dkim_hcanon_end(&hc, false) != 0) {
		hal_hash_free(&h);
		return DKIM_ERR_CRYPTO;
	}
	if (hal_hash_final(&h, g->hh) != 0)
		return DKIM_ERR_CRYPTO;
	g->blen = 0;
	return DKIM_OK;
}

void
dkim_signer_free(struct dkim_signer *s)
{
	hal_hash_free(&s->body[0].hash);
	hal_hash_free(&s->body[1].hash);
}

static int
prepare(struct dkim_signer *s, int64_t now)
{
	struct hal_hash_ctx snap = { 0 };
	const struct dkim_sig *snap_of = NULL;
	int rc = DKIM_OK;

	if (dkim_input_end(s) != DKIM_OK)
		return s->err;
	for (int c = 0; c < 2; c++) {
		uint8_t bh[DKIM_HASH_LEN];

		if (!s->body[c].used)
			continue;
		if (dkim_body_final(&s->body[c], bh) != 0)
			return (s->err = DKIM_ERR_CRYPTO);
		for (unsigned i = 0; i < s->nsigs; i++)
			if (s->sig[i].body == &s->body[c])
				memcpy(s->sig[i].bh, bh, sizeof(bh));
	}
	for (unsigned i = 0; i < s->nsigs && rc == DKIM_OK; i++) {
		s->sig[i].t = now;
		rc = sign_one(s, &s->sig[i], &snap, &snap_of);
	}
	hal_hash_free(&snap);
	if (rc != DKIM_OK)
		return (s->err = rc);
	s->phase = DKIM_PHASE_SIGN;
	return DKIM_OK;
}

int
dkim_signer_prepare(struct dkim_signer *s, int64_t now)
{
	int rc;

	if (s->err != DKIM_OK)
		rc = s->err;
	else if (s->phase == DKIM_PHASE_DONE || s->phase == DKIM_PHASE_SIGN || s->nsigs == 0)
		rc = (s->err = DKIM_ERR_STATE);
	else
		rc = prepare(s, now);
	dkim_signer_free(s);    /* prepared or failed: no hash context stays open */
	return rc;
}

int
dkim_signer_digest(const struct dkim_signer *s, unsigned i, const struct hal_key **key,
    const uint8_t **digest)
{
	if (s->err != DKIM_OK || s->phase != DKIM_PHASE_SIGN || i >= s->nsigs)
		return DKIM_ERR_STATE;
	*key = s->sig[i].p.key;
	*digest = s->sig[i].hh;
	return DKIM_OK;
}

int
dkim_signer_set_sig(struct dkim_signer *s, unsigned i, const uint8_t *sig, size_t len)
{
	struct dkim_sig *g;

	if (s->err != DKIM_OK || s->phase != DKIM_PHASE_SIGN || i >= s->nsigs)
		return DKIM_ERR_STATE;
	if (len == 0 || len > sizeof(s->sig[i].b))
		return (s->err = DKIM_ERR_KEY);
	g = &s->sig[i];
	memcpy(g->b, sig, len);
	g->blen = len;
	for (unsigned k = 0; k < s->nsigs; k++)
		if (s->sig[k].blen == 0)
			return DKIM_OK;
	s->phase = DKIM_PHASE_DONE;
	return DKIM_OK;
}

int
dkim_signer_finish(struct dkim_signer *s, int64_t now)
{
	int rc = dkim_signer_prepare(s, now);

	for (unsigned i = 0; i < s->nsigs && rc == DKIM_OK; i++) {
		struct dkim_sig *g = &s->sig[i];

		/* rsa-sha256: PKCS#1 v1.5 over the digest; ed25519-sha256:
		 * Ed25519 over the 32-byte digest itself (RFC 8463 §3) */
		rc = hal_key_sign(g->p.key, HAL_HASH_SHA256, g->hh, sizeof(g->hh), g->b,
		    sizeof(g->b), &g->blen);
		if (rc != 0) {
			g->blen = 0;
			rc = s->err = rc == -ERANGE || rc == -ENOTSUP || rc == -EINVAL
			    ? DKIM_ERR_KEY : DKIM_ERR_CRYPTO;
		} else if (g->blen == 0) {
			rc = s->err = DKIM_ERR_CRYPTO;
		}
	}
	if (rc == DKIM_OK)
		s->phase = DKIM_PHASE_DONE;
	return rc;
}

int
dkim_signer_header(const struct dkim_signer *s, unsigned i, char *buf, size_t cap, size_t *len)
{
	const struct dkim_sig *g;
	struct emit e = { 0 };
	char b64[DKIM_MAX_SIG_BYTES / 3 * 4 + 8];
	size_t bl, off = 0;

	if (s->phase != DKIM_PHASE_DONE || i >= s->nsigs)
		return DKIM_ERR_STATE;
	g = &s->sig[i];
	e.buf = buf;
	e.cap = cap;
	emit_sig_head(s, g, &e);
	bl = dkim_base64(g->b, g->blen, b64, sizeof(b64));
	/* the value starts on the "b=" line, folds only inside it */
	while (off < bl) {
		size_t room = e.col < FOLD_AT ? FOLD_AT - e.col : 0, k;

		if (room < 8 && off > 0) {
			emit_raw(&e, "\r\n ", 3);
			e.col = 1;
			continue;
		}
		if (room < 8)
			room = 8;
		k = bl - off < room ? bl - off : room;
		emit_raw(&e, b64 + off, k);
		off += k;
		if (off < bl) {
			emit_raw(&e, "\r\n ", 3);
			e.col = 1;
		}
	}
	emit_raw(&e, "\r\n", 2);
	if (e.over || cap == 0) {
		if (cap > 0)
			buf[0] = 0;
		return DKIM_ERR_OUTPUT_SPACE;
	}
	buf[e.len] = 0;
	if (len != NULL)
		*len = e.len;
	return DKIM_OK;
}
