/*
 * RFC 7208 §7 macro expansion (see spf.h, spf_expand).
 */
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/mailauth/spf_int.h"
#include "zegel/text.h"

void
spf_ip_nibbles(const uint8_t ip[16], char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (unsigned i = 0; i < 16 && o + 4 < cap; i++) {
		out[o++] = hex[ip[i] >> 4];
		out[o++] = '.';
		out[o++] = hex[ip[i] & 15];
		out[o++] = '.';
	}
	out[o > 0 ? o - 1 : 0] = '\0';
}

/* %{i}: dotted quad, or 32 dot-separated nibbles (7.3) */
static void
ip_macro(const struct spf *s, char *out, size_t cap)
{
	if (s->ip6)
		spf_ip_nibbles(s->ip, out, cap);
	else
		zegel_strf(out, cap, "%u.%u.%u.%u", s->ip[0], s->ip[1], s->ip[2], s->ip[3]);
}

/* ------------------------------------------------------------ macros (7) */

static bool
is_delim(char c)
{
	return c == '.' || c == '-' || c == '+' || c == ',' || c == '/' || c == '_' || c == '=';
}

/* The value of macro letter m (lower case); false: not a macro letter here. */
static bool
macro_value(const struct spf *s, const char *domain, char m, bool exp, char *v, size_t cap)
{
	const char *at;

	if (s == NULL) { /* a syntax check: every letter's value is "" */
		v[0] = '\0';
		return strchr("slodipvh", m) != NULL || (exp && strchr("crt", m) != NULL);
	}
	at = strrchr(s->sender, '@');
	switch (m) {
	case 's':
		zegel_strf(v, cap, "%s", s->sender);
		return true;
	case 'l':
		zegel_strf(v, cap, "%.*s", at ? (int)(at - s->sender) : 0, s->sender);
		return true;
	case 'o':
		zegel_strf(v, cap, "%s", at ? at + 1 : "");
		return true;
	case 'd':
		zegel_strf(v, cap, "%s", domain);
		return true;
	case 'i':
		ip_macro(s, v, cap);
		return true;
	case 'p':
		zegel_strf(v, cap, "unknown");
		return true; /* 7.3: PTR not validated */
	case 'v':
		zegel_strf(v, cap, "%s", s->ip6 ? "ip6" : "in-addr");
		return true;
	case 'h':
		zegel_strf(v, cap, "%s", s->helo);
		return true;
	case 'c':
		if (!exp)
			return false;
		zegel_strf(v, cap, "%s", s->ip_text);
		return true;
	case 'r':
		if (!exp)
			return false;
		zegel_strf(v, cap, "unknown");
		return true;
	case 't':
		if (!exp)
			return false;
		zegel_strf(v, cap, "0"); /* no clock in a pure library */
		return true;
	default:
		return false;
	}
}

struct out {
	char *p;
	size_t cap, n;
	bool over;
};

static void
put(struct out *o, const char *p, size_t n)
{
	if (o->n + n >= o->cap) {
		o->over = true;
		n = o->n + 1 < o->cap ? o->cap - o->n - 1 : 0;
	}
	memcpy(o->p + o->n, p, n);
	o->n += n;
	o->p[o->n] = '\0';
}

/* URL-escape (7.3: upper-case macro letters): all but unreserved characters. */
static void
put_escaped(struct out *o, const char *v)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *v; v++) {
		char c = *v;
		if (spf_is_alpha(c) || spf_is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			put(o, &c, 1);
		} else {
			char e[3] = { '%', hex[(uint8_t)c >> 4], hex[(uint8_t)c & 15] };
			put(o, e, 3);
		}
	}
}

/* Split v at the delimiters, reverse and keep the right-most keep parts
 * (0: all), join with '.' (7.3). */
static void
transform(char *v, size_t cap, const char *delims, size_t nd, unsigned keep, bool rev)
{
	const char *part[128];
	size_t plen[128];
	unsigned np = 0, from;
	char buf[SPF_RECORD_MAX];
	const char *p = v, *st = v;
	struct out o = { buf, sizeof(buf), 0, false };

	buf[0] = '\0';
	for (;; p++) {
		bool d = *p == '\0';
		for (size_t k = 0; !d && k < nd; k++)
			d = *p == delims[k];
		if (!d)
			continue;
		if (np < 128) {
			part[np] = st;
			plen[np++] = (size_t)(p - st);
		}
		if (*p == '\0')
			break;
		st = p + 1;
	}
	if (rev)
		for (unsigned i = 0; i < np / 2; i++) {
			const char *t = part[i];
			size_t tl = plen[i];
			part[i] = part[np - 1 - i];
			plen[i] = plen[np - 1 - i];
			part[np - 1 - i] = t;
			plen[np - 1 - i] = tl;
		}
	from = keep > 0 && keep < np ? np - keep : 0;
	for (unsigned i = from; i < np; i++) {
		if (i > from)
			put(&o, ".", 1);
		put(&o, part[i], plen[i]);
	}
	zegel_strf(v, cap, "%s", buf);
}

/*
 * Expand (or, with s == NULL, only check) a macro-string. Returns the
 * output length or -1 with why.
 */
static int
expand(const struct spf *s, const char *domain, const char *ms, size_t n, bool exp, char *out,
    size_t cap, char *why, size_t whycap)
{
	struct out o = { out, cap, 0, false };
	size_t i = 0;

	if (cap == 0)
		return -1;
	out[0] = '\0';
	while (i < n) {
		char c = ms[i];
		char v[SPF_RECORD_MAX];
		char delims[8];
		size_t nd = 0;
		unsigned keep = 0;
		bool rev = false, upper, digits = false;
		char m;

		if (c != '%') {
			/* macro-literal = %x21-24 / %x26-7E; exp= text also allows SP */
			if (!((c >= 0x21 && c <= 0x7e) || (exp && c == ' '))) {
				zegel_strf(why, whycap,
				    "character 0x%02x not allowed in a macro-string", (uint8_t)c);
				return -1;
			}
			put(&o, &c, 1);
			i++;
			continue;
		}
		if (i + 1 >= n) {
			zegel_strf(why, whycap, "'%%' at the end of a macro-string");
			return -1;
		}
		c = ms[i + 1];
		if (c == '%' || c == '_' || c == '-') {
			put(&o, c == '%' ? "%" : c == '_' ? " " : "%20", c == '-' ? 3 : 1);
			i += 2;
			continue;
		}
		if (c != '{' || i + 2 >= n) {
			zegel_strf(why, whycap, "'%%%c' is not a macro (7.1)", c);
			return -1;
		}
		i += 2;
		m = lc(ms[i]);
		upper = ms[i] != m;
		i++;
		while (i < n && spf_is_digit(ms[i])) {
			keep = keep > 1000 ? keep : keep * 10 + (unsigned)(ms[i] - '0');
			digits = true;
			i++;
		}
		if (i < n && lc(ms[i]) == 'r') {
			rev = true;
			i++;
		}
		while (i < n && is_delim(ms[i])) {
			if (nd < sizeof(delims))
				delims[nd++] = ms[i];
			i++;
		}
		if (i >= n || ms[i] != '}') {
			zegel_strf(why, whycap, "bad macro: expected '}' (7.1)");
			return -1;
		}
		i++;
		if (digits && keep == 0) {
			zegel_strf(why, whycap, "macro transformer 0 (7.3: must be nonzero)");
			return -1;
		}
		if (m == '\0' || !macro_value(s, domain, m, exp, v, sizeof(v))) {
			zegel_strf(why, whycap, "unknown macro letter '%c'%s", m,
			    (m == 'c' || m == 'r' || m == 't') ? " (only in exp=)" : "");
			return -1;
		}
		if (nd == 0)
			delims[nd++] = '.';
		transform(v, sizeof(v), delims, nd, keep, rev);
		if (upper)
			put_escaped(&o, v);
		else
			put(&o, v, strlen(v));
	}
	if (o.over) {
		zegel_strf(why, whycap, "macro expansion too long");
		return -1;
	}
	return (int)o.n;
}

int
spf_expand(const struct spf *s, const char *domain, const char *ms, size_t n, bool exp, char *out,
    size_t cap, char *why, size_t whycap)
{
	return expand(s, domain, ms, n, exp, out, cap, why, whycap);
}

#endif
