/* The DKIM key record: tag-list parse and comparison with a key (record.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dkim/dkim.h"
#include "firmware/keys/record.h"

int
keyrec_txt_join(const uint8_t *rdata, size_t rdlen, char *out, size_t cap, size_t *len)
{
	size_t i = 0, o = 0;

	if (cap == 0 || rdlen == 0)
		return -EINVAL;
	while (i < rdlen) {
		size_t l = rdata[i++];

		if (l > rdlen - i)
			return -EINVAL;
		if (l >= cap - o)
			return -ERANGE;
		memcpy(out + o, rdata + i, l);
		o += l;
		i += l;
	}
	out[o] = 0;
	if (len != NULL)
		*len = o;
	return 0;
}

/* ------------------------------------------------------------ tag-list */

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnumpunc(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9') || c == '_';
}

/* RFC 6376 §3.2 VALCHAR: %x21-3A / %x3C-7E (no ';', no controls, ASCII). */
static bool
is_valchar(char c)
{
	unsigned char u = (unsigned char)c;

	return u >= 0x21 && u <= 0x7e && u != ';';
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* p=: base64 with whitespace anywhere; padding as RFC 4648 requires. */
static void
decode_p(struct keyrec *r, const char *v, size_t n)
{
	uint32_t acc = 0;
	unsigned bits = 0, pad = 0;
	size_t o = 0;

	r->p_base64_ok = false;
	r->p_chars = 0;
	r->plen = 0;
	for (size_t i = 0; i < n; i++) {
		int d;

		if (is_ws(v[i]))
			continue;
		r->p_chars++;
		if (v[i] == '=') {
			pad++;
			continue;
		}
		if (pad > 0 || (d = b64val(v[i])) < 0)
			return; /* data after padding, or not base64 */
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == sizeof(r->p))
				return;
			r->p[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (r->p_chars % 4 != 0 || pad > 2 || (pad > 0 && bits == 0))
		return;
	r->plen = o;
	r->p_base64_ok = true;
}

/* Does the colon-separated list v (n bytes) hold the word w? */
static bool
list_has(const char *v, size_t n, const char *w)
{
	size_t wl = strlen(w), i = 0;

	while (i <= n) {
		size_t s, e;

		while (i < n && is_ws(v[i]))
			i++;
		s = i;
		while (i < n && v[i] != ':')
			i++;
		e = i;
		while (e > s && is_ws(v[e - 1]))
			e--;
		if (e - s == wl && memcmp(v + s, w, wl) == 0)
			return true;
		i++;
	}
	return false;
}

static void
copy_value(char *dst, size_t cap, const char *v, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = 0;
}

/* One tag: name and value (outer whitespace already stripped). Returns
 * false for a duplicate. */
static bool
take_tag(struct keyrec *r, const char *name, size_t nl, const char *v, size_t vl, bool first)
{
#define TAG(s) (nl == sizeof(s) - 1 && memcmp(name, s, nl) == 0)
	if (TAG("v")) {
		if (r->has_v)
			return false;
		r->has_v = true;
		r->v_first = first;
		copy_value(r->v, sizeof(r->v), v, vl);
	} else if (TAG("k")) {
		if (r->has_k)
			return false;
		r->has_k = true;
		copy_value(r->k, sizeof(r->k), v, vl);
	} else if (TAG("p")) {
		if (r->has_p)
			return false;
		r->has_p = true;
		decode_p(r, v, vl);
	} else if (TAG("t")) {
		if (r->has_t)
			return false;
		r->has_t = true;
		r->t_testing = list_has(v, vl, "y");
		r->t_strict = list_has(v, vl, "s");
	} else if (TAG("h")) {
		if (r->has_h)
			return false;
		r->has_h = true;
		r->h_sha256 = list_has(v, vl, "sha256");
	} else if (TAG("s")) {
		if (r->has_s)
			return false;
		r->has_s = true;
		r->s_email = list_has(v, vl, "*") || list_has(v, vl, "email");
	}
	/* n=, g= (RFC 4871) and unknown tags: ignored (§3.2) */
	return true;
#undef TAG
}

static unsigned
syntax_error(struct keyrec *r, size_t at)
{
	r->syntax_at = at;
	return KEYREC_SYNTAX;
}

unsigned
keyrec_parse(const char *text, size_t n, struct keyrec *r)
{
	size_t i = 0;
	bool first = true;

	memset(r, 0, sizeof(*r));
	memcpy(r->k, "rsa", 4);
	r->h_sha256 = true;
	r->s_email = true;
	for (;;) {
		size_t ns, ne, vs, ve;

		while (i < n && is_ws(text[i]))
			i++;
		if (i == n)
			return first ? syntax_error(r, i) : 0; /* empty, or after a final ';' */
		ns = i;
		if (!is_alpha(text[i]))
			return syntax_error(r, i);
		while (i < n && is_alnumpunc(text[i]))
			i++;
		ne = i;
		while (i < n && is_ws(text[i]))
			i++;
		if (i == n || text[i] != '=')
			return syntax_error(r, i);
		i++;
		while (i < n && is_ws(text[i]))
			i++;
		vs = i;
		while (i < n && text[i] != ';') {
			if (!is_ws(text[i]) && !is_valchar(text[i]))
				return syntax_error(r, i);
			i++;
		}
		ve = i;
		while (ve > vs && is_ws(text[ve - 1]))
			ve--;
		if (!take_tag(r, text + ns, ne - ns, text + vs, ve - vs, first))
			return syntax_error(r, ns);
		first = false;
		if (i == n)
			return 0;
		i++; /* the ';' */
	}
}

/* ------------------------------------------------------------ compare */

static const char *
type_name(enum hal_key_type type)
{
	return type == HAL_KEY_ED25519 ? "ed25519" : type == HAL_KEY_RSA ? "rsa" : "?";
}

unsigned
keyrec_compare(const struct keyrec *r, enum hal_key_type type, const uint8_t *pub, size_t publen)
{
	unsigned d = 0;

	if (!r->has_v)
		d |= KEYREC_NO_VERSION;
	else if (!r->v_first || strcmp(r->v, "DKIM1") != 0)
		d |= KEYREC_VERSION;
	if (strcmp(r->k, type_name(type)) != 0)
		d |= KEYREC_KEYTYPE;
	if (!r->has_p)
		d |= KEYREC_NO_P;
	else if (r->p_chars == 0)
		d |= KEYREC_REVOKED;
	else if (!r->p_base64_ok)
		d |= KEYREC_BASE64;
	else if (r->plen != publen || memcmp(r->p, pub, publen) != 0)
		d |= KEYREC_KEY;
	if (r->t_testing)
		d |= KEYREC_TESTING;
	if (!r->h_sha256)
		d |= KEYREC_HASH;
	if (!r->s_email)
		d |= KEYREC_SERVICE;
	return d;
}

unsigned
keyrec_check(const char *text, size_t n, enum hal_key_type type, const uint8_t *pub, size_t publen,
    struct keyrec *r)
{
	unsigned d = keyrec_parse(text, n, r);

	return d | keyrec_compare(r, type, pub, publen);
}

struct out {
	char *buf;
	size_t cap, len;
	bool sep;
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->sep && o->len < o->cap)
		o->len += (size_t)snprintf(o->buf + o->len, o->cap - o->len, "; ");
	if (o->len >= o->cap)
		o->len = o->cap - 1;
	va_start(ap, fmt);
	k = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->len += (size_t)k;
	if (o->len >= o->cap)
		o->len = o->cap - 1;
	o->sep = true;
}

/* Base64 characters a public part of publen bytes takes. */
static size_t
b64_chars(size_t publen)
{
	return (publen + 2) / 3 * 4;
}

size_t
keyrec_explain(unsigned diffs, const struct keyrec *r, enum hal_key_type type, const uint8_t *pub,
    size_t publen, char *buf, size_t cap)
{
	struct out o = { buf, cap, 0, false };

	if (cap == 0)
		return 0;
	buf[0] = 0;
	if (diffs & KEYREC_SYNTAX)
		add(&o, "not a DKIM tag-list (error at character %zu)", r->syntax_at + 1);
	if (diffs & KEYREC_NO_VERSION)
		add(&o, "no v=DKIM1 at the start");
	if (diffs & KEYREC_VERSION)
		add(&o, r->v_first ? "v=%s instead of v=DKIM1" : "v=%s is not the first tag", r->v);
	if (diffs & KEYREC_KEYTYPE)
		add(&o, "%s%s but the key is %s", r->has_k ? "k=" : "no k= (means rsa)",
		    r->has_k ? r->k : "", type_name(type));
	if (diffs & KEYREC_NO_P)
		add(&o, "no p= tag");
	if (diffs & KEYREC_REVOKED)
		add(&o, "p= is empty (the key is revoked)");
	if (diffs & KEYREC_BASE64)
		add(&o, "p= is not valid base64 (%zu characters, the key has %zu: cut off?)",
		    r->p_chars, b64_chars(publen));
	if (diffs & KEYREC_KEY) {
		if (r->plen < publen && memcmp(r->p, pub, r->plen) == 0)
			add(&o, "p= is cut off (%zu base64 characters, the key has %zu)",
			    r->p_chars, b64_chars(publen));
		else
			add(&o,
			    "p= is another key (an old one?): %zu base64 characters, this key "
			    "%zu",
			    r->p_chars, b64_chars(publen));
	}
	if (diffs & KEYREC_TESTING)
		add(&o, "t=y (testing: verifiers may treat signatures as unsigned)");
	if (diffs & KEYREC_HASH)
		add(&o, "h= does not list sha256");
	if (diffs & KEYREC_SERVICE)
		add(&o, "s= lists neither * nor email");
	return o.len;
}

int
keyrec_value(enum hal_key_type type, const uint8_t *pub, size_t publen, char *buf, size_t cap,
    size_t *len)
{
	int k;
	size_t b;

	if ((type != HAL_KEY_RSA && type != HAL_KEY_ED25519) || publen == 0 ||
	    (type == HAL_KEY_ED25519 && publen != 32))
		return -EINVAL;
	k = snprintf(buf, cap, "v=DKIM1; k=%s; p=", type_name(type));
	if (k < 0 || (size_t)k >= cap)
		return -ERANGE;
	b = dkim_base64(pub, publen, buf + k, cap - (size_t)k);
	if (b == 0)
		return -ERANGE;
	if (len != NULL)
		*len = (size_t)k + b;
	return 0;
}
