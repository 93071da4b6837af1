/*
 * RFC 7208 check_host() as a step machine (see spf.h).
 */
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/mailauth/spf.h"
#include "zegel/text.h"

/* where the machine is: a question is out, or the next term comes */
enum { PH_TERM = 0, PH_TXT, PH_A, PH_MX, PH_MXADDR, PH_PTR, PH_PTRADDR, PH_EXISTS };

enum { M_ALL = 1, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS };
enum { HOW_TOP = 0, HOW_INCLUDE };

static const struct {
	const char *name;
	int mech;
} mechs[] = {
	{ "all", M_ALL },
	{ "include", M_INCLUDE },
	{ "a", M_A },
	{ "mx", M_MX },
	{ "ptr", M_PTR },
	{ "ip4", M_IP4 },
	{ "ip6", M_IP6 },
	{ "exists", M_EXISTS },
};

const char *
spf_result_str(enum spf_result r)
{
	switch (r) {
	case SPF_NONE:
		return "none";
	case SPF_NEUTRAL:
		return "neutral";
	case SPF_PASS:
		return "pass";
	case SPF_FAIL:
		return "fail";
	case SPF_SOFTFAIL:
		return "softfail";
	case SPF_TEMPERROR:
		return "temperror";
	case SPF_PERMERROR:
		return "permerror";
	}
	return "?";
}

static char
lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
ieq(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n && b[i]; i++)
		if (lc(a[i]) != lc(b[i]))
			return false;
	return i == n && b[i] == '\0';
}

/* ------------------------------------------------------------ the trail */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
trail(struct spf *s, const char *fmt, ...)
{
	va_list ap;

	if (s->ntrail >= SPF_TRAIL_MAX)
		return;
	if (s->ntrail == SPF_TRAIL_MAX - 1) {
		zegel_strf(s->trail[s->ntrail++], SPF_TRAIL_LINE, "(more steps, not kept)");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s->trail[s->ntrail++], SPF_TRAIL_LINE, fmt, ap);
	va_end(ap);
}

static void
finish(struct spf *s, enum spf_result r, const char *why)
{
	s->done = true;
	s->result = r;
	if (why != NULL) {
		zegel_strf(s->why, sizeof(s->why), "%s", why);
		trail(s, "%s: %s", spf_result_str(r), why);
	}
}

/* ------------------------------------------------------------ addresses */

/* Does addr (4 or 16 octets, per s->ip6) lie in net/prefix? */
static bool
in_net(const uint8_t *a, const uint8_t *net, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static void
ip_nibbles(const uint8_t ip[16], char *out, size_t cap)
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
		ip_nibbles(s->ip, out, cap);
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
		if (is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
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
		while (i < n && is_digit(ms[i])) {
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

/* 7.3: a domain name over 253 octets loses labels on the left. */
static const char *
trim253(const char *d)
{
	while (strlen(d) > 253) {
		const char *dot = strchr(d, '.');
		if (dot == NULL)
			break;
		d = dot + 1;
	}
	return d;
}

/* A name we may ask about: valid DNS name with at least 2 labels (sets dst). */
static bool
target_ok(char *dst, size_t cap, const char *src)
{
	uint8_t w[DNS_NAME_MAX];
	uint16_t wl;
	size_t l;

	if (dns_name_from_text(src, w, &wl) != DNS_E_OK || wl <= 1)
		return false;
	if (dns_name_to_text(w, dst, cap) < 0)
		return false;
	l = strlen(dst);
	if (l > 0 && dst[l - 1] == '.')
		dst[l - 1] = '\0';
	return dst[0] != '\0';
}

/* ------------------------------------------------------------ terms (4.6.1, 5, 6) */

struct term {
	bool modifier;
	char qual; /* + - ~ ? */
	int mech;
	const char *name; /* modifier name */
	size_t namelen;
	const char *spec; /* domain-spec / macro-string, or NULL */
	size_t speclen;
	int cidr4, cidr6;
	uint8_t net[16];
};

/* toplabel (12): alphanumerics with at least one letter, or with inner '-'. */
static bool
toplabel_ok(const char *l, size_t n)
{
	bool alpha = false, dash = false;

	if (n == 0 || l[0] == '-' || l[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_alpha(l[i]))
			alpha = true;
		else if (l[i] == '-')
			dash = true;
		else if (!is_digit(l[i]))
			return false;
	}
	return alpha || dash;
}

/* domain-spec = macro-string domain-end (12): syntax only. */
static bool
domain_spec_ok(const char *p, size_t n, char *why, size_t whycap)
{
	char tmp[SPF_RECORD_MAX];
	size_t e = n, b;

	if (n == 0) {
		zegel_strf(why, whycap, "empty domain-spec");
		return false;
	}
	if (expand(NULL, "", p, n, false, tmp, sizeof(tmp), why, whycap) < 0)
		return false;
	if (p[n - 1] == '}')
		return true; /* ends in a macro-expand */
	if (e > 0 && p[e - 1] == '.')
		e--;
	for (b = e; b > 0 && p[b - 1] != '.' && p[b - 1] != '}' && p[b - 1] != '%'; b--)
		;
	if (b == 0 || p[b - 1] != '.' || !toplabel_ok(p + b, e - b)) {
		zegel_strf(why, whycap, "'%.*s' does not end in a valid top label (12: domain-end)",
		    (int)(n > 80 ? 80 : n), p);
		return false;
	}
	return true;
}

/* A CIDR length: "0" or digits without a leading 0, at most max. */
static bool
cidr_val(const char *p, size_t n, int max, int *out)
{
	int v = 0;

	if (n == 0 || n > 3 || (n > 1 && p[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return false;
		v = v * 10 + (p[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

/* Strip a dual-cidr-length from the end of p[0..*n) (5.6). */
static bool
dual_cidr(const char *p, size_t *n, struct term *t, char *why, size_t whycap)
{
	size_t e = *n, d = e;

	while (d > 0 && is_digit(p[d - 1]))
		d--;
	if (d >= 2 && d < e && p[d - 1] == '/' && p[d - 2] == '/') {
		if (!cidr_val(p + d, e - d, 128, &t->cidr6))
			goto bad;
		e = d - 2;
		for (d = e; d > 0 && is_digit(p[d - 1]); d--)
			;
	}
	if (d >= 1 && d < e && p[d - 1] == '/') {
		if (!cidr_val(p + d, e - d, 32, &t->cidr4))
			goto bad;
		e = d - 1;
	}
	if (e > 0 && p[e - 1] == '/')
		goto bad;
	*n = e;
	return true;
bad:
	zegel_strf(why, whycap, "bad CIDR length in '%.*s'", (int)(*n > 80 ? 80 : *n), p);
	return false;
}

static bool
ip_net(const char *p, size_t n, bool v6, struct term *t, char *why, size_t whycap)
{
	char a[64];
	size_t sl;

	for (sl = 0; sl < n && p[sl] != '/'; sl++)
		;
	if (sl >= sizeof(a) || sl == 0)
		goto bad;
	memcpy(a, p, sl);
	a[sl] = '\0';
	if (inet_pton(v6 ? AF_INET6 : AF_INET, a, t->net) != 1)
		goto bad;
	if (sl < n) {
		int *c = v6 ? &t->cidr6 : &t->cidr4;
		if (!cidr_val(p + sl + 1, n - sl - 1, v6 ? 128 : 32, c))
			goto bad;
	}
	return true;
bad:
	zegel_strf(why, whycap, "bad %s network '%.*s'", v6 ? "ip6" : "ip4", (int)(n > 80 ? 80 : n),
	    p);
	return false;
}

/* Parse one term p[0..n) (4.6.1, 12). */
static bool
parse_term(const char *p, size_t n, struct term *t, char *why, size_t whycap)
{
	char tmp[SPF_RECORD_MAX];
	size_t k, rest;
	const char *arg;
	bool colon;

	memset(t, 0, sizeof(*t));
	t->cidr4 = 32;
	t->cidr6 = 128;
	t->qual = '+';
	/* modifier: name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ) */
	for (k = 0; k < n &&
	     (is_alpha(p[k]) ||
		 (k > 0 && (is_digit(p[k]) || p[k] == '-' || p[k] == '_' || p[k] == '.')));
	     k++)
		;
	if (k > 0 && k < n && p[k] == '=') {
		t->modifier = true;
		t->name = p;
		t->namelen = k;
		t->spec = p + k + 1;
		t->speclen = n - k - 1;
		if (ieq(p, k, "redirect") || ieq(p, k, "exp"))
			return domain_spec_ok(t->spec, t->speclen, why, whycap);
		return expand(NULL, "", t->spec, t->speclen, false, tmp, sizeof(tmp), why,
			   whycap) >= 0;
	}
	if (n > 0 && (p[0] == '+' || p[0] == '-' || p[0] == '~' || p[0] == '?')) {
		t->qual = p[0];
		p++;
		n--;
	}
	for (k = 0; k < n && (is_alpha(p[k]) || is_digit(p[k])); k++)
		;
	for (unsigned i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (ieq(p, k, mechs[i].name))
			t->mech = mechs[i].mech;
	if (t->mech == 0) {
		zegel_strf(why, whycap, "unknown mechanism '%.*s'", (int)(n > 60 ? 60 : n), p);
		return false;
	}
	arg = p + k;
	rest = n - k;
	colon = rest > 0 && arg[0] == ':';
	switch (t->mech) {
	case M_ALL:
		if (rest == 0)
			return true;
		break;
	case M_INCLUDE:
	case M_EXISTS:
		if (!colon)
			break;
		t->spec = arg + 1;
		t->speclen = rest - 1;
		return domain_spec_ok(t->spec, t->speclen, why, whycap);
	case M_A:
	case M_MX:
		if (!dual_cidr(arg, &rest, t, why, whycap))
			return false;
		if (rest == 0)
			return true;
		if (!colon)
			break;
		t->spec = arg + 1;
		t->speclen = rest - 1;
		return domain_spec_ok(t->spec, t->speclen, why, whycap);
	case M_PTR:
		if (rest == 0)
			return true;
		if (!colon)
			break;
		t->spec = arg + 1;
		t->speclen = rest - 1;
		return domain_spec_ok(t->spec, t->speclen, why, whycap);
	case M_IP4:
	case M_IP6:
		if (!colon)
			break;
		return ip_net(arg + 1, rest - 1, t->mech == M_IP6, t, why, whycap);
	}
	zegel_strf(why, whycap, "bad term '%.*s'", (int)(n > 80 ? 80 : n), p);
	return false;
}

/* Next term of rec from *pos: its span; false at the end. Terms are
 * separated by one or more SP (4.6.1). */
static bool
next_term(const char *rec, size_t n, size_t *pos, size_t *b, size_t *e)
{
	size_t i = *pos;

	while (i < n && rec[i] == ' ')
		i++;
	if (i >= n) {
		*pos = n;
		return false;
	}
	*b = i;
	while (i < n && rec[i] != ' ')
		i++;
	*e = i;
	*pos = i;
	return true;
}

/* "v=spf1" then SP or the end (4.5). */
static bool
is_spf1(const char *p, size_t n)
{
	return n >= 6 && ieq(p, 6, "v=spf1") && (n == 6 || p[6] == ' ');
}

int
spf_record_check(const char *rec, size_t n, char *why, size_t whycap)
{
	size_t pos = 6, b, e;
	bool redirect = false, exp = false;
	struct term t;

	if (!is_spf1(rec, n)) {
		zegel_strf(why, whycap, "does not start with v=spf1");
		return -1;
	}
	while (next_term(rec, n, &pos, &b, &e)) {
		if (!parse_term(rec + b, e - b, &t, why, whycap))
			return -1;
		if (!t.modifier)
			continue;
		if (ieq(t.name, t.namelen, "redirect")) {
			if (redirect) {
				zegel_strf(why, whycap, "redirect= given twice (6)");
				return -1;
			}
			redirect = true;
		} else if (ieq(t.name, t.namelen, "exp")) {
			if (exp) {
				zegel_strf(why, whycap, "exp= given twice (6)");
				return -1;
			}
			exp = true;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ the machine */

static void
frame_init(struct spf_frame *F, const char *domain, uint8_t how, char qual)
{
	zegel_strf(F->domain, sizeof(F->domain), "%s", domain);
	zegel_strf(F->asked, sizeof(F->asked), "%s", domain);
	F->record[0] = F->redirect[0] = '\0';
	F->pos = 0;
	F->how = how;
	F->qual = qual;
	F->fetched = F->has_all = false;
}

int
spf_init(struct spf *s, const char *ip, const char *domain, const char *sender, const char *helo)
{
	uint8_t a[16];
	char d[SPF_NAME_MAX];

	/* the big buffers (trail, frames, names) are not cleared: only their
	 * counts and first bytes */
	memset(s, 0, offsetof(struct spf, trail));
	memset(&s->depth, 0, offsetof(struct spf, f) - offsetof(struct spf, depth));
	s->dnssec = DNS_SECURE;
	s->depth = 1;
	s->phase = PH_TERM;
	s->nnames = s->cur = 0;
	s->term[0] = s->target[0] = s->qname[0] = '\0';
	frame_init(&s->f[0], "", HOW_TOP, '+');
	zegel_strf(s->helo, sizeof(s->helo), "%s", helo && helo[0] ? helo : "unknown");
	if (sender == NULL || sender[0] == '\0')
		zegel_strf(s->sender, sizeof(s->sender), "postmaster@%s", s->helo);
	else if (sender[0] == '@')
		zegel_strf(s->sender, sizeof(s->sender), "postmaster%s", sender);
	else if (strchr(sender, '@') == NULL)
		zegel_strf(s->sender, sizeof(s->sender), "postmaster@%s", sender);
	else
		zegel_strf(s->sender, sizeof(s->sender), "%s", sender);
	zegel_strf(s->ip_text, sizeof(s->ip_text), "%s", ip ? ip : "");
	if (ip != NULL && inet_pton(AF_INET, ip, a) == 1) {
		memcpy(s->ip, a, 4);
	} else if (ip != NULL && inet_pton(AF_INET6, ip, a) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a, mapped, 12) == 0) {
			memcpy(s->ip, a + 12, 4);
		} else {
			memcpy(s->ip, a, 16);
			s->ip6 = true;
		}
	} else {
		finish(s, SPF_PERMERROR, "the client IP address does not parse");
		return -EINVAL;
	}
	/* 4.3: a malformed or single-label domain is "none" */
	if (domain == NULL || !target_ok(d, sizeof(d), domain) || strchr(d, '.') == NULL) {
		zegel_strf(s->f[0].domain, SPF_NAME_MAX, "%s", domain ? domain : "");
		finish(s, SPF_NONE, "not a valid multi-label domain name (4.3)");
		return 0;
	}
	zegel_strf(s->f[0].domain, SPF_NAME_MAX, "%s", d);
	s->phase = PH_TERM;
	return 0;
}

static struct spf_frame *
top(struct spf *s)
{
	return &s->f[s->depth - 1];
}

static int
ask(struct spf *s, int phase, const char *name, uint16_t qtype)
{
	s->phase = phase;
	zegel_strf(s->qname, sizeof(s->qname), "%s", name);
	s->qtype = qtype;
	return SPF_QUERY;
}

/* The address question for a name: A for IPv4 clients, AAAA for IPv6. */
static uint16_t
addr_type(const struct spf *s)
{
	return s->ip6 ? DNS_T_AAAA : DNS_T_A;
}

/* Count a DNS-querying term (4.6.4); false: over the limit (finished). */
static bool
count_lookup(struct spf *s)
{
	if (++s->lookups > SPF_MAX_LOOKUPS) {
		char why[SPF_NAME_MAX + 100];
		zegel_strf(why, sizeof(why), "more than %d DNS-querying terms at '%s' (4.6.4)",
		    SPF_MAX_LOOKUPS, s->term);
		finish(s, SPF_PERMERROR, why);
		return false;
	}
	return true;
}

/* Count a void lookup (4.6.4); false: over the limit (finished). */
static bool
count_void(struct spf *s, const char *what)
{
	if (++s->void_lookups > SPF_MAX_VOID) {
		char why[SPF_NAME_MAX + 100];
		zegel_strf(why, sizeof(why), "more than %d void lookups, the last %s (4.6.4)",
		    SPF_MAX_VOID, what);
		finish(s, SPF_PERMERROR, why);
		return false;
	}
	return true;
}

/* Expand the term's domain-spec (or take the current domain) into s->target. */
static bool
term_target(struct spf *s, const struct term *t)
{
	char tmp[SPF_RECORD_MAX], why[160], msg[SPF_NAME_MAX + 200];
	const char *d = top(s)->domain;

	if (t->spec == NULL) {
		zegel_strf(s->target, sizeof(s->target), "%s", d);
		return true;
	}
	if (expand(s, d, t->spec, t->speclen, false, tmp, sizeof(tmp), why, sizeof(why)) < 0) {
		zegel_strf(msg, sizeof(msg), "'%s': %s", s->term, why);
		finish(s, SPF_PERMERROR, msg);
		return false;
	}
	if (!target_ok(s->target, sizeof(s->target), trim253(tmp))) {
		zegel_strf(msg, sizeof(msg), "'%s' expands to '%.100s', not a domain name", s->term,
		    tmp);
		finish(s, SPF_PERMERROR, msg);
		return false;
	}
	return true;
}

static enum spf_result
qual_result(char q)
{
	switch (q) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

static void frame_end(struct spf *s, enum spf_result r);

/* The term in progress matched: its qualifier ends this record. */
static void
matched(struct spf *s)
{
	struct spf_frame *F = top(s);
	enum spf_result r = qual_result(s->qual);

	trail(s, "match: %s in %s -> %s", s->term, F->domain, spf_result_str(r));
	zegel_strf(s->mechanism, sizeof(s->mechanism), "%s", s->term);
	zegel_strf(s->decided_in, sizeof(s->decided_in), "%s", F->domain);
	frame_end(s, r);
}

/* This record's check_host() returned r (4.6.4 errors end everything). */
static void
frame_end(struct spf *s, enum spf_result r)
{
	struct spf_frame *F = top(s);
	char q = F->qual;
	bool include = F->how == HOW_INCLUDE;
	char dom[SPF_NAME_MAX];

	s->phase = PH_TERM;
	if (s->depth == 1) {
		s->done = true;
		s->result = r;
		if (s->why[0] == '\0')
			zegel_strf(s->why, sizeof(s->why), "%s",
			    s->mechanism[0] ? s->mechanism : "no mechanism matched");
		return;
	}
	zegel_strf(dom, sizeof(dom), "%s", F->asked);
	s->depth--;
	if (!include)
		return; /* cannot happen: redirect frames replace their parent */
	switch (r) {
	case SPF_PASS:
		s->qual = q;
		zegel_strf(s->term, sizeof(s->term), "%sinclude:%s",
		    q == '+' ? "" : (char[2]){ q, 0 }, dom);
		trail(s, "include:%s -> pass", dom);
		matched(s);
		return;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		trail(s, "include:%s -> %s: no match", dom, spf_result_str(r));
		return;
	default:
		break;
	}
}

/* Fetch the record for the top frame (or use it): the TXT answer. */
static void
take_txt(struct spf *s, const struct dns_result *res)
{
	struct spf_frame *F = top(s);
	char why[300], rec[SPF_RECORD_MAX];
	unsigned nspf = 0;
	size_t len = 0, pos = 6, b, e;
	bool too_long = false;
	bool must = F->how == HOW_INCLUDE || s->depth > 1 || F->fetched;

	s->phase = PH_TERM;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		zegel_strf(why, sizeof(why), "TXT %s: %s (%s)", F->domain,
		    dns_status_str(res->status), res->reason[0] ? res->reason : "no answer");
		finish(s, SPF_TEMPERROR, why);
		return;
	}
	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		const uint8_t *rd = res->data + rr->rd_off;
		char t[SPF_RECORD_MAX];
		size_t tl = 0, o = 0, full = 0;

		if (rr->type != DNS_T_TXT)
			continue;
		/* the character-strings joined without spaces (3.3) */
		while (o < rr->rdlen) {
			size_t sl = rd[o++];
			if (sl > (size_t)(rr->rdlen - o))
				sl = rr->rdlen - o;
			for (size_t k = 0; k < sl && tl < sizeof(t) - 1; k++)
				t[tl++] = (char)rd[o + k];
			full += sl;
			o += sl;
		}
		if (!is_spf1(t, tl))
			continue;
		if (full > tl)
			too_long = true;
		if (memchr(t, '\0', tl) != NULL) {
			zegel_strf(why, sizeof(why), "the SPF record of %s holds a NUL byte",
			    F->domain);
			finish(s, SPF_PERMERROR, why);
			return;
		}
		nspf++;
		memcpy(rec, t, tl);
		len = tl;
	}
	if (nspf > 1) {
		zegel_strf(why, sizeof(why), "%s has %u SPF records (4.5)", F->domain, nspf);
		finish(s, SPF_PERMERROR, why);
		return;
	}
	if (too_long) {
		zegel_strf(why, sizeof(why),
		    "the SPF record of %s is longer than %d octets "
		    "(zegel's limit)",
		    F->domain, SPF_RECORD_MAX - 1);
		finish(s, SPF_PERMERROR, why);
		return;
	}
	if (nspf == 0) {
		const char *what = res->rcode == DNS_RCODE_NXDOMAIN ? "NXDOMAIN" : "no SPF record";
		trail(s, "record %s: none (%s, %s)", F->domain, what, dns_status_str(res->status));
		if (!must) {
			finish(s, SPF_NONE, NULL);
			zegel_strf(s->why, sizeof(s->why), "%s: %s", F->domain, what);
			return;
		}
		zegel_strf(why, sizeof(why), "%s target %s: %s (5.2, 6.1)",
		    F->how == HOW_INCLUDE ? "include" : "redirect", F->domain, what);
		finish(s, SPF_PERMERROR, why);
		return;
	}
	rec[len] = '\0';
	trail(s, "record %s: %s (%s)", F->domain, rec, dns_status_str(res->status));
	if (spf_record_check(rec, len, why, sizeof(why)) < 0) {
		char msg[400];
		zegel_strf(msg, sizeof(msg), "syntax error in the record of %s: %s (4.6)",
		    F->domain, why);
		finish(s, SPF_PERMERROR, msg);
		return;
	}
	memcpy(F->record, rec, len + 1);
	F->fetched = true;
	F->pos = 6;
	F->has_all = false;
	F->redirect[0] = '\0';
	while (next_term(rec, len, &pos, &b, &e)) {
		struct term t;
		(void)parse_term(rec + b, e - b, &t, why, sizeof(why));
		if (!t.modifier) {
			F->has_all = F->has_all || t.mech == M_ALL;
		} else if (ieq(t.name, t.namelen, "redirect")) {
			zegel_strf(F->redirect, sizeof(F->redirect), "%.*s", (int)t.speclen,
			    t.spec);
		} else if (ieq(t.name, t.namelen, "exp") && s->depth == 1 && !s->exp_spec[0]) {
			zegel_strf(s->exp_spec, sizeof(s->exp_spec), "%.*s", (int)t.speclen,
			    t.spec);
		}
	}
}

/* Is one of the address records in res within the term's CIDR? */
static bool
addr_match(const struct spf *s, const struct dns_result *res)
{
	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		const uint8_t *rd = res->data + rr->rd_off;

		if (!s->ip6 && rr->type == DNS_T_A && rr->rdlen == 4 && in_net(s->ip, rd, s->cidr4))
			return true;
		if (s->ip6 && rr->type == DNS_T_AAAA && rr->rdlen == 16 &&
		    in_net(s->ip, rd, s->cidr6))
			return true;
	}
	return false;
}

static unsigned
count_type(const struct dns_result *res, uint16_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < res->nrr; i++)
		n += res->rr[i].type == type;
	return n;
}

/* The answer was an error: temperror (5), unless the mechanism says otherwise. */
static bool
dns_failed(struct spf *s, const struct dns_result *res)
{
	char why[SPF_NAME_MAX + 300];
	char t[16];

	if (res->status != DNS_BOGUS && res->status != DNS_INDETERMINATE)
		return false;
	dns_type_to_text(s->qtype, t, sizeof(t));
	zegel_strf(why, sizeof(why), "%s %s for '%s': %s (%s)", t, s->qname, s->term,
	    dns_status_str(res->status), res->reason[0] ? res->reason : "no answer");
	finish(s, SPF_TEMPERROR, why);
	return true;
}

/* Names of the records of type in res (MX: after the preference). */
static unsigned
take_names(struct spf *s, const struct dns_result *res, uint16_t type, unsigned max)
{
	unsigned n = 0, all = 0;

	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		const uint8_t *rd = res->data + rr->rd_off;
		size_t skip = type == DNS_T_MX ? 2 : 0;
		char name[SPF_NAME_MAX];

		if (rr->type != type || rr->rdlen <= skip)
			continue;
		all++;
		if (dns_name_len(rd + skip, rr->rdlen - skip) != (size_t)rr->rdlen - skip ||
		    dns_name_to_text(rd + skip, name, sizeof(name)) < 0)
			continue;
		if (strlen(name) > 0 && name[strlen(name) - 1] == '.')
			name[strlen(name) - 1] = '\0';
		if (name[0] == '\0' || n >= max)
			continue; /* null MX "." has no address; names past max dropped */
		zegel_strf(s->names[n++], SPF_NAME_MAX, "%s", name);
	}
	s->nnames = n;
	return all;
}

/* The next MX / PTR name to look up, or the term's end without a match. */
static void
next_name(struct spf *s, int phase)
{
	s->phase = PH_TERM;
	if (s->cur < s->nnames)
		(void)ask(s, phase, s->names[s->cur], addr_type(s));
}

/* Is name the target or below it (5.5)? */
static bool
under_target(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);

	if (n == t)
		return strcasecmp(name, target) == 0;
	return n > t && name[n - t - 1] == '.' && strcasecmp(name + n - t, target) == 0;
}

void
spf_answer(struct spf *s, const struct dns_result *res)
{
	char t[16], why[SPF_NAME_MAX + 100];
	int phase = s->phase;

	if (s->done || phase == PH_TERM)
		return;
	s->queries++;
	if (res->status > s->dnssec)
		s->dnssec = res->status;
	s->phase = PH_TERM;
	dns_type_to_text(s->qtype, t, sizeof(t));
	switch (phase) {
	case PH_TXT:
		take_txt(s, res);
		return;
	case PH_A:
	case PH_EXISTS:
		if (dns_failed(s, res))
			return;
		if (count_type(res, s->qtype) == 0) {
			trail(s, "%s: %s %s: void (%s)", s->term, t, s->qname,
			    dns_status_str(res->status));
			zegel_strf(why, sizeof(why), "%s %s", t, s->qname);
			(void)count_void(s, why);
			return;
		}
		if (phase == PH_EXISTS || addr_match(s, res)) {
			matched(s);
			return;
		}
		trail(s, "%s: %s %s: no match", s->term, t, s->qname);
		return;
	case PH_MX:
		if (dns_failed(s, res))
			return;
		if (take_names(s, res, DNS_T_MX, SPF_MAX_NAMES) > SPF_MAX_NAMES) {
			zegel_strf(why, sizeof(why), "%s has more than %d MX records (4.6.4)",
			    s->qname, SPF_MAX_NAMES);
			finish(s, SPF_PERMERROR, why);
			return;
		}
		if (count_type(res, DNS_T_MX) == 0) {
			trail(s, "%s: MX %s: void", s->term, s->qname);
			zegel_strf(why, sizeof(why), "MX %s", s->qname);
			(void)count_void(s, why);
			return;
		}
		s->cur = 0;
		next_name(s, PH_MXADDR);
		return;
	case PH_MXADDR:
		if (dns_failed(s, res))
			return;
		if (count_type(res, s->qtype) == 0) {
			zegel_strf(why, sizeof(why), "%s %s", t, s->qname);
			if (!count_void(s, why))
				return;
		} else if (addr_match(s, res)) {
			matched(s);
			return;
		}
		s->cur++;
		next_name(s, PH_MXADDR);
		if (s->phase == PH_TERM)
			trail(s, "%s: no MX host matches", s->term);
		return;
	case PH_PTR:
		/* 5.5: a DNS error in the PTR lookup: no match (not temperror) */
		if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
			trail(s, "%s: PTR %s %s: no match", s->term, s->qname,
			    dns_status_str(res->status));
			return;
		}
		take_names(s, res, DNS_T_PTR, SPF_MAX_NAMES);
		if (count_type(res, DNS_T_PTR) == 0) {
			trail(s, "%s: PTR %s: void", s->term, s->qname);
			zegel_strf(why, sizeof(why), "PTR %s", s->qname);
			(void)count_void(s, why);
			return;
		}
		/* only names at or below the target can match: validate those */
		{
			unsigned k = 0;
			for (unsigned i = 0; i < s->nnames; i++)
				if (under_target(s->names[i], s->target))
					memmove(s->names[k++], s->names[i], SPF_NAME_MAX);
			s->nnames = k;
		}
		s->cur = 0;
		next_name(s, PH_PTRADDR);
		if (s->phase == PH_TERM)
			trail(s, "%s: no PTR name at or below %s", s->term, s->target);
		return;
	case PH_PTRADDR:
		/* 5.5: an error on one name skips that name; exact address match */
		if (res->status != DNS_BOGUS && res->status != DNS_INDETERMINATE) {
			int c4 = s->cidr4, c6 = s->cidr6;
			bool m;
			s->cidr4 = 32;
			s->cidr6 = 128;
			m = addr_match(s, res);
			s->cidr4 = c4;
			s->cidr6 = c6;
			if (m) {
				trail(s, "%s: %s validated", s->term, s->qname);
				matched(s);
				return;
			}
		}
		s->cur++;
		next_name(s, PH_PTRADDR);
		if (s->phase == PH_TERM)
			trail(s, "%s: no validated PTR name", s->term);
		return;
	}
}

/* Begin evaluating mechanism t (the term's text is in s->term). */
static int
eval_mech(struct spf *s, const struct term *t)
{
	struct spf_frame *F = top(s);

	s->qual = t->qual;
	s->mech = t->mech;
	s->cidr4 = t->cidr4;
	s->cidr6 = t->cidr6;
	switch (t->mech) {
	case M_ALL:
		matched(s);
		return SPF_DONE;
	case M_IP4:
	case M_IP6:
		if ((t->mech == M_IP6) == s->ip6 &&
		    in_net(s->ip, t->net, t->mech == M_IP6 ? t->cidr6 : t->cidr4))
			matched(s);
		return SPF_DONE;
	default:
		break;
	}
	if (!count_lookup(s) || !term_target(s, t))
		return SPF_DONE;
	switch (t->mech) {
	case M_INCLUDE: {
		struct spf_frame *N;
		if (s->depth >= SPF_MAX_DEPTH) { /* cannot happen: 10 lookups come first */
			finish(s, SPF_PERMERROR, "includes nested too deep");
			return SPF_DONE;
		}
		N = &s->f[s->depth++];
		frame_init(N, s->target, HOW_INCLUDE, t->qual);
		(void)F;
		return SPF_DONE;
	}
	case M_A:
		return ask(s, PH_A, s->target, addr_type(s));
	case M_MX:
		return ask(s, PH_MX, s->target, DNS_T_MX);
	case M_EXISTS:
		return ask(s, PH_EXISTS, s->target, DNS_T_A);
	case M_PTR: {
		char rev[80], nib[72];
		if (s->ip6) {
			char *o = rev;

			ip_nibbles(s->ip, nib, sizeof(nib));
			for (int i = 31; i >= 0; i--) {
				*o++ = nib[i * 2];
				*o++ = '.';
			}
			zegel_strf(o, sizeof(rev) - (size_t)(o - rev), "ip6.arpa");
		} else {
			zegel_strf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa", s->ip[3], s->ip[2],
			    s->ip[1], s->ip[0]);
		}
		return ask(s, PH_PTR, rev, DNS_T_PTR);
	}
	}
	return SPF_DONE;
}

/* The end of a record: redirect= (6.1) or the default, neutral (4.7). */
static void
record_end(struct spf *s)
{
	struct spf_frame *F = top(s);
	struct term t;
	char why[200];

	if (F->redirect[0] == '\0' || F->has_all) {
		if (F->redirect[0])
			trail(s, "redirect=%s ignored: the record has \"all\" (6.1)", F->redirect);
		trail(s, "%s: no match -> neutral", F->domain);
		frame_end(s, SPF_NEUTRAL);
		return;
	}
	zegel_strf(s->term, sizeof(s->term), "redirect=%s", F->redirect);
	if (!parse_term(s->term, strlen(s->term), &t, why, sizeof(why))) {
		finish(s, SPF_PERMERROR, why); /* cannot happen: checked at fetch */
		return;
	}
	if (!count_lookup(s) || !term_target(s, &t))
		return;
	trail(s, "%s -> %s", s->term, s->target);
	/* the redirect target's result is this record's (6.1): replace the frame */
	zegel_strf(F->domain, sizeof(F->domain), "%s", s->target);
	F->record[0] = '\0';
	F->redirect[0] = '\0';
	F->fetched = true; /* marks "must have a record" for take_txt */
	F->pos = 0;
}

int
spf_next(struct spf *s, char *name, size_t cap, uint16_t *qtype)
{
	while (!s->done) {
		struct spf_frame *F = top(s);
		size_t b, e, pos, len;
		struct term t;
		char why[200];

		if (s->phase != PH_TERM) {
			zegel_strf(name, cap, "%s", s->qname);
			*qtype = s->qtype;
			return SPF_QUERY;
		}
		if (F->record[0] == '\0') {
			(void)ask(s, PH_TXT, F->domain, DNS_T_TXT);
			continue;
		}
		len = strlen(F->record);
		pos = F->pos;
		if (!next_term(F->record, len, &pos, &b, &e)) {
			record_end(s);
			continue;
		}
		F->pos = (uint16_t)pos;
		zegel_strf(s->term, sizeof(s->term), "%.*s", (int)(e - b), F->record + b);
		if (!parse_term(F->record + b, e - b, &t, why, sizeof(why))) {
			finish(s, SPF_PERMERROR, why); /* cannot happen: checked at fetch */
			continue;
		}
		if (t.modifier)
			continue;
		(void)eval_mech(s, &t);
	}
	return SPF_DONE;
}

#endif
