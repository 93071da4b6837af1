/*
 * MTA-STS discovery record and policy file (sts_policy.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/relay/sts_policy.h"
#include "zegel/text.h"

static int
fail(char *why, size_t cap, const char *text)
{
	if (why != NULL && cap > 0)
		zegel_strf(why, cap, "%s", text);
	return -1;
}

static bool
wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* ------------------------------------------------------------ TXT (3.1) */

/* sts-text-record = sts-version 1*(sts-sep sts-field) [sts-sep];
 * sts-version = %s"v=STSv1"; sts-id = %s"id=" 1*32(ALPHA / DIGIT). */
int
sts_txt_parse(const char *s, size_t n, char id[STS_ID_MAX + 1], char *why, size_t cap)
{
	size_t i = 0;
	bool first = true, have_id = false;

	id[0] = '\0';
	while (i < n) {
		size_t k, ke, v, ve;

		while (i < n && wsp(s[i]))
			i++;
		if (i == n)
			break;
		k = i;
		while (i < n && s[i] != '=' && s[i] != ';')
			i++;
		if (i == n || s[i] != '=')
			return first ? 0 : fail(why, cap, "a field without '=' (RFC 8461 3.1)");
		ke = i++;
		v = i;
		while (i < n && s[i] != ';')
			i++;
		ve = i;
		while (ve > v && wsp(s[ve - 1]))
			ve--;
		if (i < n)
			i++; /* the ';' */
		if (first) {
			if (ke - k != 1 || s[k] != 'v' || ve - v != 5 || memcmp(s + v, "STSv1", 5) != 0)
				return 0; /* not an MTA-STS record */
			first = false;
			continue;
		}
		if (ke - k == 2 && memcmp(s + k, "id", 2) == 0 && !have_id) {
			if (ve - v < 1 || ve - v > STS_ID_MAX)
				return fail(why, cap, "id= must be 1 to 32 letters or digits");
			for (size_t j = v; j < ve; j++)
				if (!isalnum((unsigned char)s[j]))
					return fail(why, cap, "id= must be letters and digits only");
			memcpy(id, s + v, ve - v);
			id[ve - v] = '\0';
			have_id = true;
		}
	}
	if (first)
		return 0;
	if (!have_id)
		return fail(why, cap, "no id= (RFC 8461 3.1: v=STSv1; id=...)");
	return 1;
}

/* ------------------------------------------------------------ policy (3.2) */

const char *
sts_mode_str(enum sts_mode m)
{
	return m == STS_MODE_ENFORCE ? "enforce" : m == STS_MODE_TESTING ? "testing" : "none";
}

void
sts_parser_init(struct sts_parser *p, bool cache)
{
	memset(p, 0, sizeof(*p));
	p->cache = cache;
}

static int
pfail(struct sts_parser *p, const char *text)
{
	p->failed = true;
	zegel_strf(p->why, sizeof(p->why), "policy line %u: %s", p->lineno, text);
	return -1;
}

/* A host name as RFC 8461 3.2 takes it: LDH labels of 1..63, dots between,
 * at most 253 octets; "*." in front for a wildcard pattern. */
static bool
pattern_ok(const char *v, size_t n)
{
	size_t lab = 0;

	if (n >= 2 && v[0] == '*' && v[1] == '.')
		v += 2, n -= 2;
	if (n == 0 || n > 253 || v[0] == '.' || v[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (c == '.') {
			if (lab == 0 || v[i - 1] == '-')
				return false;
			lab = 0;
			continue;
		}
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_'))
			return false;
		if (lab == 0 && c == '-')
			return false;
		if (++lab > 63)
			return false;
	}
	return v[n - 1] != '-';
}

static bool
digits(const char *v, size_t n, size_t maxd, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0 || n > maxd)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	*out = x;
	return true;
}

static int
take_line(struct sts_parser *p)
{
	char *l = p->line, *colon;
	size_t klen, vlen;
	const char *v;
	uint64_t x;

	p->lineno++;
	l[p->len] = '\0';
	if (p->len == 0)
		return pfail(p, "empty line");
	colon = memchr(l, ':', p->len);
	if (colon == NULL || colon == l)
		return pfail(p, "not KEY: VALUE");
	klen = (size_t)(colon - l);
	v = colon + 1;
	while (wsp(*v))
		v++;
	vlen = strlen(v);
	while (vlen > 0 && wsp(v[vlen - 1]))
		vlen--;
	for (size_t i = 0; i < klen; i++)
		if (!(isalnum((unsigned char)l[i]) || l[i] == '_' || l[i] == '-' || l[i] == '.'))
			return pfail(p, "bad field name");
	if (klen == 7 && memcmp(l, "version", 7) == 0) {
		if (p->have_version)
			return 0;
		if (vlen != 5 || memcmp(v, "STSv1", 5) != 0)
			return pfail(p, "version must be STSv1");
		p->have_version = true;
	} else if (klen == 4 && memcmp(l, "mode", 4) == 0) {
		if (p->have_mode)
			return 0;
		if (vlen == 7 && memcmp(v, "enforce", 7) == 0)
			p->pol.mode = STS_MODE_ENFORCE;
		else if (vlen == 7 && memcmp(v, "testing", 7) == 0)
			p->pol.mode = STS_MODE_TESTING;
		else if (vlen == 4 && memcmp(v, "none", 4) == 0)
			p->pol.mode = STS_MODE_NONE;
		else
			return pfail(p, "mode must be enforce, testing or none");
		p->have_mode = true;
	} else if (klen == 7 && memcmp(l, "max_age", 7) == 0) {
		if (p->have_max_age)
			return 0;
		if (!digits(v, vlen, 10, &x) || x > STS_MAX_AGE_MAX)
			return pfail(p, "max_age must be 0 to 31557600 seconds");
		p->pol.max_age = (uint32_t)x;
		p->have_max_age = true;
	} else if (klen == 2 && memcmp(l, "mx", 2) == 0) {
		if (!pattern_ok(v, vlen))
			return pfail(p, "mx must be a host name or *.name");
		if (p->pol.nmx >= STS_MX_MAX)
			return pfail(p, "too many mx lines");
		memcpy(p->pol.mx[p->pol.nmx], v, vlen);
		p->pol.mx[p->pol.nmx][vlen] = '\0';
		p->pol.nmx++;
	} else if (p->cache && klen == 8 && memcmp(l, "zegel-id", 8) == 0) {
		if (vlen < 1 || vlen > STS_ID_MAX)
			return pfail(p, "bad zegel-id");
		memcpy(p->pol.id, v, vlen);
		p->pol.id[vlen] = '\0';
	} else if (p->cache && klen == 13 && memcmp(l, "zegel-fetched", 13) == 0) {
		if (!digits(v, vlen, 12, &x))
			return pfail(p, "bad zegel-fetched");
		p->pol.fetched = (int64_t)x;
	}
	/* other fields: extensions, ignored (3.2) */
	return 0;
}

int
sts_parser_push(struct sts_parser *p, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n && !p->failed; i++) {
		char c = (char)d[i];

		if (p->cr && c != '\n')
			return pfail(p, "CR without LF");
		if (c == '\r') {
			p->cr = true;
			continue;
		}
		if (c == '\n') {
			p->cr = false;
			if (take_line(p) < 0)
				return -1;
			p->len = 0;
			continue;
		}
		if (c == '\0' || (unsigned char)c >= 0x80 || (c < 0x20 && c != '\t'))
			return pfail(p, "control or non-ASCII byte");
		if (p->len >= STS_LINE_MAX)
			return pfail(p, "line too long");
		p->line[p->len++] = c;
	}
	return p->failed ? -1 : 0;
}

int
sts_parser_finish(struct sts_parser *p)
{
	if (p->failed)
		return -1;
	if (p->cr)
		return pfail(p, "CR without LF at the end");
	if (p->len > 0 && take_line(p) < 0)
		return -1;
	p->len = 0;
	if (!p->have_version)
		return pfail(p, "no version: STSv1 (RFC 8461 3.2)");
	if (!p->have_mode)
		return pfail(p, "no mode:");
	if (!p->have_max_age)
		return pfail(p, "no max_age:");
	if (p->pol.mode != STS_MODE_NONE && p->pol.nmx == 0)
		return pfail(p, "no mx: line in an enforce or testing policy");
	p->failed = true; /* finished: no more input */
	p->why[0] = '\0';
	return 0;
}

size_t
sts_policy_format(const struct sts_policy *pol, char *buf, size_t cap, bool cache_fields)
{
	size_t off = 0;
	int k;

	if (cap == 0)
		return 0;
	buf[0] = '\0';
	if (cache_fields) {
		k = snprintf(buf, cap, "zegel-id: %s\nzegel-fetched: %lld\n", pol->id,
		    (long long)pol->fetched);
		if (k < 0 || (size_t)k >= cap)
			return 0;
		off = (size_t)k;
	}
	k = snprintf(buf + off, cap - off, "version: STSv1\nmode: %s\nmax_age: %u\n",
	    sts_mode_str(pol->mode), (unsigned)pol->max_age);
	if (k < 0 || (size_t)k >= cap - off)
		return 0;
	off += (size_t)k;
	for (unsigned i = 0; i < pol->nmx && i < STS_MX_MAX; i++) {
		k = snprintf(buf + off, cap - off, "mx: %s\n", pol->mx[i]);
		if (k < 0 || (size_t)k >= cap - off)
			return 0;
		off += (size_t)k;
	}
	return off;
}

/* ------------------------------------------------------------ matching (3.4) */

bool
sts_pattern_match(const char *pattern, const char *host)
{
	size_t hl = strlen(host), pl = strlen(pattern);
	const char *dot;

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (pl >= 2 && pattern[0] == '*' && pattern[1] == '.') {
		/* the wildcard stands for exactly one leftmost label */
		dot = memchr(host, '.', hl);
		if (dot == NULL || dot == host)
			return false;
		return (size_t)(host + hl - (dot + 1)) == pl - 2 &&
		    strncasecmp(dot + 1, pattern + 2, pl - 2) == 0;
	}
	return hl == pl && strncasecmp(host, pattern, hl) == 0;
}

bool
sts_mx_match(const struct sts_policy *pol, const char *host)
{
	for (unsigned i = 0; i < pol->nmx && i < STS_MX_MAX; i++)
		if (sts_pattern_match(pol->mx[i], host))
			return true;
	return false;
}
