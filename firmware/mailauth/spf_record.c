/*
 * RFC 7208 record syntax: terms, domain-specs, CIDR lengths (4.6, 5, 6).
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

/* 7.3: a domain name over 253 octets loses labels on the left. */
const char *
spf_trim253(const char *d)
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
bool
spf_target_ok(char *dst, size_t cap, const char *src)
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

/* toplabel (12): alphanumerics with at least one letter, or with inner '-'. */
static bool
toplabel_ok(const char *l, size_t n)
{
	bool alpha = false, dash = false;

	if (n == 0 || l[0] == '-' || l[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (spf_is_alpha(l[i]))
			alpha = true;
		else if (l[i] == '-')
			dash = true;
		else if (!spf_is_digit(l[i]))
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
	if (spf_expand(NULL, "", p, n, false, tmp, sizeof(tmp), why, whycap) < 0)
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
		if (!spf_is_digit(p[i]))
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

	while (d > 0 && spf_is_digit(p[d - 1]))
		d--;
	if (d >= 2 && d < e && p[d - 1] == '/' && p[d - 2] == '/') {
		if (!cidr_val(p + d, e - d, 128, &t->cidr6))
			goto bad;
		e = d - 2;
		for (d = e; d > 0 && spf_is_digit(p[d - 1]); d--)
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
bool
spf_parse_term(const char *p, size_t n, struct term *t, char *why, size_t whycap)
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
	     (spf_is_alpha(p[k]) ||
		 (k > 0 && (spf_is_digit(p[k]) || p[k] == '-' || p[k] == '_' || p[k] == '.')));
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
		return spf_expand(NULL, "", t->spec, t->speclen, false, tmp, sizeof(tmp), why,
			   whycap) >= 0;
	}
	if (n > 0 && (p[0] == '+' || p[0] == '-' || p[0] == '~' || p[0] == '?')) {
		t->qual = p[0];
		p++;
		n--;
	}
	for (k = 0; k < n && (spf_is_alpha(p[k]) || spf_is_digit(p[k])); k++)
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
	case M_A:
	case M_MX:
		/* the cidr-length comes off the end; the domain-spec is optional
		 * as for ptr */
		if (!dual_cidr(arg, &rest, t, why, whycap))
			return false;
		/* fall through */
	case M_PTR:
		if (rest == 0)
			return true;
		/* fall through */
	case M_INCLUDE:
	case M_EXISTS:
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
bool
spf_next_term(const char *rec, size_t n, size_t *pos, size_t *b, size_t *e)
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
bool
spf_is_spf1(const char *p, size_t n)
{
	return n >= 6 && ieq(p, 6, "v=spf1") && (n == 6 || p[6] == ' ');
}

int
spf_record_check(const char *rec, size_t n, char *why, size_t whycap)
{
	size_t pos = 6, b, e;
	bool redirect = false, exp = false;
	struct term t;

	if (!spf_is_spf1(rec, n)) {
		zegel_strf(why, whycap, "does not start with v=spf1");
		return -1;
	}
	while (spf_next_term(rec, n, &pos, &b, &e)) {
		if (!spf_parse_term(rec + b, e - b, &t, why, whycap))
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

#endif
