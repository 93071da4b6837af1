/*
 * RFC 7489 DMARC records: parser, organisational domain, discovery (see dmarc.h).
 */
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/mailauth/dmarc.h"
#include "zegel/text.h"

enum { PH_DOMAIN = 0, PH_ORG, PH_DONE };

const char *
dmarc_policy_str(enum dmarc_policy p)
{
	switch (p) {
	case DMARC_P_UNSET:
		return "-";
	case DMARC_P_NONE:
		return "none";
	case DMARC_P_QUARANTINE:
		return "quarantine";
	case DMARC_P_REJECT:
		return "reject";
	}
	return "?";
}

const char *
dmarc_found_str(enum dmarc_found f)
{
	switch (f) {
	case DMARC_NOTFOUND:
		return "none";
	case DMARC_FOUND:
		return "found";
	case DMARC_MULTIPLE:
		return "multiple";
	case DMARC_TEMPERROR:
		return "temperror";
	}
	return "?";
}

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
note(char (*list)[DMARC_MSG_LEN], unsigned *n, const char *fmt, ...)
{
	va_list ap;

	if (*n >= DMARC_MSGS)
		return;
	va_start(ap, fmt);
	vsnprintf(list[(*n)++], DMARC_MSG_LEN, fmt, ap);
	va_end(ap);
}

#define ERR(r, ...) note((r)->err, &(r)->nerr, __VA_ARGS__)
#define WARN(r, ...) note((r)->warn, &(r)->nwarn, __VA_ARGS__)

static bool
veq(const char *v, size_t n, const char *s)
{
	return strlen(s) == n && strncasecmp(v, s, n) == 0;
}

static enum dmarc_policy
policy(const char *v, size_t n)
{
	if (veq(v, n, "none"))
		return DMARC_P_NONE;
	if (veq(v, n, "quarantine"))
		return DMARC_P_QUARANTINE;
	if (veq(v, n, "reject"))
		return DMARC_P_REJECT;
	return DMARC_P_UNSET;
}

/* An unsigned decimal of at most max: false if not. */
static bool
number(const char *v, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long x = 0;

	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

/* rua/ruf (6.2, 6.4): dmarc-uri *(*WSP "," *WSP dmarc-uri); a URI is
 * scheme ":" rest, with an optional "!" size ([kmgt]) suffix. Counts the
 * valid ones; names the bad ones. */
static unsigned
uris(struct dmarc_record *r, const char *tag, const char *v, size_t n)
{
	unsigned good = 0;
	size_t i = 0;

	while (i <= n) {
		size_t b = i, e, c;
		bool ok;

		while (i < n && v[i] != ',')
			i++;
		e = i++;
		while (b < e && is_wsp(v[b]))
			b++;
		while (e > b && is_wsp(v[e - 1]))
			e--;
		for (c = b; c < e && (is_alnum(v[c]) || v[c] == '+' || v[c] == '-' || v[c] == '.');
		     c++)
			;
		ok = c > b && c + 1 < e && v[c] == ':' && (v[b] < '0' || v[b] > '9');
		if (ok) {
			const char *bang = memchr(v + c, '!', e - c);
			if (bang != NULL) {
				size_t k = (size_t)(bang - v) + 1;
				while (k < e && v[k] >= '0' && v[k] <= '9')
					k++;
				if (k < e && strchr("kmgtKMGT", v[k]) != NULL)
					k++;
				ok = k == e && (size_t)(bang - v) + 1 < e;
			}
		}
		if (ok) {
			good++;
			if (!veq(v + b, c - b, "mailto"))
				WARN(r, "%s: scheme '%.*s' (receivers support mailto:)", tag,
				    (int)(c - b > 20 ? 20 : c - b), v + b);
		} else {
			ERR(r, "%s: '%.*s' is not a URI", tag, (int)(e - b > 60 ? 60 : e - b),
			    v + b);
		}
	}
	return good;
}

/* fo= (6.3): colon-separated 0 1 d s. */
static bool
fo_ok(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i % 2 == 0 && strchr("01ds", v[i]) == NULL)
			return false;
		if (i % 2 == 1 && v[i] != ':')
			return false;
	}
	return n % 2 == 1;
}

/* One tag=value; seen keeps which were given. */
static void
tag(struct dmarc_record *r, const char *t, size_t tn, const char *v, size_t n, unsigned *seen,
    unsigned *rua_ok, bool *p_bad, bool *sp_bad)
{
	static const char *const known[] = { "p", "sp", "pct", "adkim", "aspf", "rua", "ruf", "fo",
		"rf", "ri", "v" };
	unsigned long x;
	unsigned k;

	for (k = 0; k < sizeof(known) / sizeof(known[0]) && !veq(t, tn, known[k]); k++)
		;
	if (k == sizeof(known) / sizeof(known[0])) {
		WARN(r, "unknown tag '%.*s' ignored (6.3)", (int)(tn > 20 ? 20 : tn), t);
		return;
	}
	if (*seen & (1u << k)) {
		ERR(r, "tag %s given twice", known[k]);
		return;
	}
	*seen |= 1u << k;
	if (k == 0 || k == 1) {
		enum dmarc_policy p = policy(v, n);
		if (p == DMARC_P_UNSET) {
			ERR(r, "%s=%.*s: not none, quarantine or reject", known[k],
			    (int)(n > 30 ? 30 : n), v);
			*(k == 0 ? p_bad : sp_bad) = true;
		}
		*(k == 0 ? &r->p : &r->sp) = p;
	} else if (k == 2) {
		if (number(v, n, 100, &x))
			r->pct = (unsigned)x;
		else
			ERR(r, "pct=%.*s: not 0..100", (int)(n > 20 ? 20 : n), v);
	} else if (k == 3 || k == 4) {
		if (veq(v, n, "r") || veq(v, n, "s"))
			*(k == 3 ? &r->adkim : &r->aspf) = (char)(v[0] | 0x20);
		else
			ERR(r, "%s=%.*s: not r or s", known[k], (int)(n > 20 ? 20 : n), v);
	} else if (k == 5 || k == 6) {
		unsigned good = uris(r, known[k], v, n);
		if (k == 5)
			*rua_ok = good;
		zegel_strf(k == 5 ? r->rua : r->ruf, DMARC_URIS_MAX, "%.*s", (int)n, v);
	} else if (k == 7) {
		if (fo_ok(v, n))
			zegel_strf(r->fo, sizeof(r->fo), "%.*s", (int)n, v);
		else
			ERR(r, "fo=%.*s: not a ':'-list of 0 1 d s", (int)(n > 20 ? 20 : n), v);
	} else if (k == 8) {
		if (!veq(v, n, "afrf"))
			WARN(r, "rf=%.*s: only afrf is defined", (int)(n > 20 ? 20 : n), v);
	} else if (k == 9) {
		if (number(v, n, 0xffffffffUL, &x))
			r->ri = (uint32_t)x;
		else
			ERR(r, "ri=%.*s: not a number of seconds", (int)(n > 20 ? 20 : n), v);
	} else {
		ERR(r, "v= may only be the first tag");
	}
}

int
dmarc_parse(const char *txt, size_t n, struct dmarc_record *r)
{
	unsigned seen = 0, rua_ok = 0, ntag = 0;
	bool p_bad = false, sp_bad = false, v_ok = false;
	size_t i = 0;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	r->adkim = r->aspf = 'r';
	r->ri = 86400;
	zegel_strf(r->fo, sizeof(r->fo), "0");
	while (i < n) {
		size_t tb, te, vb, ve;

		while (i < n && is_wsp(txt[i]))
			i++;
		if (i >= n)
			break;
		tb = i;
		while (i < n && is_alnum(txt[i]))
			i++;
		te = i;
		while (i < n && is_wsp(txt[i]))
			i++;
		if (te == tb || i >= n || txt[i] != '=') {
			ERR(r, "tag %u: expected NAME=VALUE", ntag + 1);
			while (i < n && txt[i] != ';')
				i++;
			i++;
			ntag++;
			continue;
		}
		i++;
		while (i < n && is_wsp(txt[i]))
			i++;
		vb = i;
		while (i < n && txt[i] != ';')
			i++;
		ve = i++;
		while (ve > vb && is_wsp(txt[ve - 1]))
			ve--;
		if (ntag++ == 0) {
			/* 6.4: v=DMARC1 first, exactly */
			v_ok = veq(txt + tb, te - tb, "v") && ve - vb == 6 &&
			    memcmp(txt + vb, "DMARC1", 6) == 0;
			if (!v_ok) {
				ERR(r, "the record does not start with v=DMARC1 (6.4)");
				break;
			}
			continue;
		}
		tag(r, txt + tb, te - tb, txt + vb, ve - vb, &seen, &rua_ok, &p_bad, &sp_bad);
	}
	if (ntag == 0)
		ERR(r, "empty record");
	if (v_ok && r->p == DMARC_P_UNSET && !p_bad) {
		ERR(r, "no p= tag (6.3: required)");
		p_bad = true;
	}
	if (v_ok && !p_bad && !sp_bad) {
		r->usable = true;
		r->effective = r->p;
	} else if (v_ok && rua_ok > 0) {
		/* 6.6.3 step 6: a valid rua makes it p=none */
		r->usable = true;
		r->effective = DMARC_P_NONE;
		WARN(r, "applied as p=none for the sake of its rua= (6.6.3)");
	}
	return r->nerr == 0 ? 0 : -1;
}

/* ------------------------------------------------------------ organisational domain */

#define MAX_LABELS 128

struct labels {
	char name[DMARC_NAME_MAX];
	unsigned n;
	uint16_t off[MAX_LABELS], len[MAX_LABELS];
};

/* Split a lower-cased, validated name into labels; false: not a name. */
static bool
split(const char *domain, struct labels *L)
{
	uint8_t w[DNS_NAME_MAX];
	uint16_t wl;
	size_t l, b = 0;

	if (domain == NULL || dns_name_from_text(domain, w, &wl) != DNS_E_OK || wl <= 1)
		return false;
	dns_name_lower(w);
	if (dns_name_to_text(w, L->name, sizeof(L->name)) < 0)
		return false;
	l = strlen(L->name);
	if (l > 0 && L->name[l - 1] == '.')
		L->name[--l] = '\0';
	L->n = 0;
	for (size_t i = 0; i <= l; i++) {
		if (i == l || L->name[i] == '.') {
			if (L->n >= MAX_LABELS)
				return false;
			L->off[L->n] = (uint16_t)b;
			L->len[L->n++] = (uint16_t)(i - b);
			b = i + 1;
		}
	}
	return L->n > 0;
}

/*
 * Does rule (one PSL line, trimmed) match L? Returns the number of labels
 * of the public suffix it gives (exception rules: one less), -1 when it
 * does not match; *exc says it was an exception rule.
 */
static int
rule_match(const struct labels *L, const char *rule, size_t rn, bool *exc)
{
	int rl = 0;
	unsigned k;
	size_t e = rn;

	*exc = rn > 0 && rule[0] == '!';
	if (*exc) {
		rule++;
		rn--;
		e--;
	}
	if (rn == 0)
		return -1;
	for (k = 0; e > 0; k++) {
		size_t b = e;
		while (b > 0 && rule[b - 1] != '.')
			b--;
		if (k >= L->n)
			return -1;
		{
			unsigned li = L->n - 1 - k;
			size_t ll = L->len[li];
			bool wild = e - b == 1 && rule[b] == '*';
			if (!wild &&
			    (ll != e - b || strncasecmp(L->name + L->off[li], rule + b, ll) != 0))
				return -1;
		}
		rl++;
		e = b > 0 ? b - 1 : 0;
		if (b == 0)
			break;
	}
	return *exc ? rl - 1 : rl;
}

struct best {
	unsigned labels;
	bool exception;
};

static void
consider(const struct labels *L, const char *line, struct best *B)
{
	size_t b = 0, e;
	bool exc;
	int m;

	while (line[b] == ' ' || line[b] == '\t')
		b++;
	if (line[b] == '\0' || (line[b] == '/' && line[b + 1] == '/'))
		return;
	for (e = b;
	     line[e] && line[e] != ' ' && line[e] != '\t' && line[e] != '\r' && line[e] != '\n';
	     e++)
		;
	m = rule_match(L, line + b, e - b, &exc);
	if (m < 0)
		return;
	if (exc) {
		/* an exception rule wins over every other (the PSL algorithm) */
		B->exception = true;
		B->labels = (unsigned)m;
		return;
	}
	if (!B->exception && (unsigned)m > B->labels)
		B->labels = (unsigned)m;
}

/* Org domain from the best rule: the suffix plus one label (3.2). */
static void
org_from(const struct labels *L, const struct best *B, char *org, size_t cap)
{
	unsigned ps = B->labels > 0 ? B->labels : 1; /* no rule: "*" */
	unsigned keep = ps + 1;

	if (keep >= L->n)
		keep = L->n; /* the domain is a public suffix or just above it */
	zegel_strf(org, cap, "%s", L->name + L->off[L->n - keep]);
}

int
dmarc_org_domain_mem(const char *domain, const char *psl, size_t n, char *org, size_t cap)
{
	struct labels L;
	struct best B = { 0, false };
	char line[256];
	size_t i = 0;

	if (!split(domain, &L))
		return -1;
	while (i < n) {
		size_t b = i, l;
		while (i < n && psl[i] != '\n')
			i++;
		l = i - b < sizeof(line) - 1 ? i - b : sizeof(line) - 1;
		memcpy(line, psl + b, l);
		line[l] = '\0';
		if (memchr(line, '\0', l) == NULL)
			consider(&L, line, &B);
		i++;
	}
	org_from(&L, &B, org, cap);
	return 0;
}

int
dmarc_org_domain(const char *domain, const char *psl_path, char *org, size_t cap, char *how,
    size_t howcap)
{
	struct labels L;
	struct best B = { 0, false };
	const char *path = psl_path != NULL && psl_path[0] ? psl_path : DMARC_PSL_DEBIAN;
	char line[256];
	FILE *f;

	if (!split(domain, &L))
		return -1;
	f = fopen(path, "r");
	if (f == NULL) {
		int e = errno;
		/* fallback, said in the output: wrong for co.uk-style suffixes */
		B.labels = 1;
		org_from(&L, &B, org, cap);
		zegel_strf(how, howcap, "last two labels (no public suffix list: %s: %s)", path,
		    strerror(e));
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL)
		consider(&L, line, &B);
	fclose(f);
	org_from(&L, &B, org, cap);
	zegel_strf(how, howcap, "public suffix list %s", path);
	return 0;
}

/* ------------------------------------------------------------ discovery (6.6.3) */

void
dmarc_find_init(struct dmarc_find *f, const char *domain, const char *org)
{
	struct labels Lb, *L = &Lb;
	char q[DMARC_NAME_MAX + 8];
	uint8_t w[DNS_NAME_MAX];
	uint16_t wl;

	memset(f, 0, sizeof(*f));
	f->dnssec = DNS_SECURE;
	f->phase = PH_DOMAIN;
	if (!split(domain, L)) {
		zegel_strf(f->why, sizeof(f->why), "not a valid domain name");
		f->phase = PH_DONE;
		return;
	}
	zegel_strf(f->domain, sizeof(f->domain), "%s", L->name);
	zegel_strf(f->org, sizeof(f->org), "%s", L->name);
	if (org != NULL && split(org, L))
		zegel_strf(f->org, sizeof(f->org), "%s", L->name);
	zegel_strf(q, sizeof(q), "_dmarc.%s", f->domain);
	if (dns_name_from_text(q, w, &wl) != DNS_E_OK) {
		zegel_strf(f->why, sizeof(f->why), "_dmarc.%s is too long a name", f->domain);
		f->phase = PH_DONE;
	}
}

int
dmarc_find_next(struct dmarc_find *f, char *name, size_t cap, uint16_t *qtype)
{
	if (f->phase == PH_DONE)
		return DMARC_DONE;
	zegel_strf(name, cap, "_dmarc.%s", f->phase == PH_ORG ? f->org : f->domain);
	zegel_strf(f->where, sizeof(f->where), "%s", name);
	*qtype = DNS_T_TXT;
	return DMARC_QUERY;
}

/* "v" *WSP "=" *WSP "DMARC1" then *WSP ";" or the end (6.6.3 step 3). */
static bool
is_dmarc1(const char *t, size_t n)
{
	size_t i = 0;

	if (n == 0 || (t[0] != 'v' && t[0] != 'V'))
		return false;
	i = 1;
	while (i < n && is_wsp(t[i]))
		i++;
	if (i >= n || t[i++] != '=')
		return false;
	while (i < n && is_wsp(t[i]))
		i++;
	if (n - i < 6 || memcmp(t + i, "DMARC1", 6) != 0)
		return false;
	i += 6;
	while (i < n && is_wsp(t[i]))
		i++;
	return i == n || t[i] == ';';
}

void
dmarc_find_answer(struct dmarc_find *f, const struct dns_result *res)
{
	unsigned found = 0;

	if (f->phase == PH_DONE)
		return;
	if (res->status > f->dnssec)
		f->dnssec = res->status;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		f->found = DMARC_TEMPERROR;
		zegel_strf(f->why, sizeof(f->why), "TXT %s: %s (%s)", f->where,
		    dns_status_str(res->status), res->reason[0] ? res->reason : "no answer");
		f->phase = PH_DONE;
		return;
	}
	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		const uint8_t *rd = res->data + rr->rd_off;
		char t[DMARC_TXT_MAX];
		size_t tl;

		if (rr->type != DNS_T_TXT)
			continue;
		tl = dns_txt_join(rd, rr->rdlen, t, sizeof(t), NULL);
		if (!is_dmarc1(t, tl))
			continue;
		if (found++ == 0) {
			memcpy(f->text, t, tl);
			f->text[tl] = '\0';
		}
	}
	f->from_org = f->phase == PH_ORG;
	if (found == 1) {
		f->found = DMARC_FOUND;
		(void)dmarc_parse(f->text, strlen(f->text), &f->rec);
		f->why[0] = '\0';
		f->phase = PH_DONE;
		return;
	}
	if (found > 1) {
		f->found = DMARC_MULTIPLE;
		zegel_strf(f->why, sizeof(f->why), "%s has %u DMARC records: no policy (6.6.3)",
		    f->where, found);
		f->phase = PH_DONE;
		return;
	}
	zegel_strf(f->why, sizeof(f->why), "%s: %s", f->where,
	    res->rcode == DNS_RCODE_NXDOMAIN ? "NXDOMAIN" : "no DMARC record");
	if (f->phase == PH_DOMAIN && strcmp(f->org, f->domain) != 0) {
		f->phase = PH_ORG;
		return;
	}
	f->found = DMARC_NOTFOUND;
	f->phase = PH_DONE;
}

#endif
