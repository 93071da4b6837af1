/*
 * The TXT records of `check domain` (check_domain_txt.h). Pure code.
 */
#include <ctype.h>
#include <string.h>

#include "firmware/app/check_domain_txt.h"
#include "zegel/text.h"

static bool
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
bad(char *why, size_t cap, const char *what)
{
	zegel_strf(why, cap, "%s", what);
	return false;
}

/* s[*i..n) up to the next ';' (or the end) as one tag-spec into t. */
static bool
one_tag(const char *s, size_t n, size_t *i, struct cdt_tag *t, char *why, size_t cap)
{
	size_t a = *i, e;

	while (a < n && blank(s[a]))
		a++;
	t->name = s + a;
	if (a >= n || !isalpha((unsigned char)s[a]))
		return bad(why, cap, "a tag must start with a letter (name=value; ...)");
	for (e = a; e < n && (isalnum((unsigned char)s[e]) || s[e] == '_'); e++)
		;
	t->nlen = e - a;
	while (e < n && blank(s[e]))
		e++;
	if (e >= n || s[e] != '=')
		return bad(why, cap, "a tag without '=' (name=value; ...)");
	for (a = ++e; a < n && blank(s[a]); a++)
		;
	for (e = a; e < n && s[e] != ';'; e++)
		if ((unsigned char)s[e] < 0x20 && !blank(s[e]))
			return bad(why, cap, "a control character in a tag value");
	t->val = s + a;
	t->vlen = e - a;
	while (t->vlen > 0 && blank(t->val[t->vlen - 1]))
		t->vlen--;
	*i = e;
	return true;
}

static bool
rest_blank(const char *s, size_t n, size_t i)
{
	while (i < n && blank(s[i]))
		i++;
	return i >= n;
}

enum cdt_verdict
cdt_tags_parse(const char *s, size_t n, struct cdt_tags *out, char *why, size_t cap)
{
	size_t i = 0;

	out->n = 0;
	while (!rest_blank(s, n, i)) {
		struct cdt_tag t;

		if (out->n == CDT_TAGS_MAX)
			return bad(why, cap, "too many tags"), CDT_BAD;
		if (!one_tag(s, n, &i, &t, why, cap))
			return CDT_BAD;
		for (unsigned k = 0; k < out->n; k++)
			if (out->t[k].nlen == t.nlen && memcmp(out->t[k].name, t.name, t.nlen) == 0) {
				zegel_strf(why, cap, "tag %.*s twice", (int)t.nlen, t.name);
				return CDT_BAD;
			}
		out->t[out->n++] = t;
		if (i < n)
			i++; /* the ';' */
	}
	return CDT_OK;
}

const struct cdt_tag *
cdt_tag_get(const struct cdt_tags *t, const char *name)
{
	size_t l = strlen(name);

	for (unsigned k = 0; k < t->n; k++)
		if (t->t[k].nlen == l && memcmp(t->t[k].name, name, l) == 0)
			return &t->t[k];
	return NULL;
}

bool
cdt_tag_is(const struct cdt_tag *t, const char *val)
{
	return t != NULL && t->vlen == strlen(val) && memcmp(t->val, val, t->vlen) == 0;
}

/* Does s start with "v=<ver>" followed by ';', blanks or the end? The RFCs
 * ignore records that do not (RFC 8461 §3.1, RFC 8460 §3, RFC 7489 §6.6.3). */
static bool
starts_with_version(const char *s, size_t n, const char *ver)
{
	size_t i = 0, l = strlen(ver);

	while (i < n && blank(s[i]))
		i++;
	if (n - i < 2 || s[i] != 'v' || s[i + 1] != '=')
		return false;
	for (i += 2; i < n && blank(s[i]); i++)
		;
	if (n - i < l || memcmp(s + i, ver, l) != 0)
		return false;
	i += l;
	return i == n || s[i] == ';' || blank(s[i]);
}

/* The tags of a record that starts with its version tag. */
static enum cdt_verdict
versioned(const char *s, size_t n, const char *ver, struct cdt_tags *t, char *why, size_t cap)
{
	if (!starts_with_version(s, n, ver))
		return CDT_NOT;
	return cdt_tags_parse(s, n, t, why, cap);
}

/* ------------------------------------------------------------ MTA-STS */

enum cdt_verdict
cdt_sts_parse(const char *s, size_t n, struct cdt_sts *out, char *why, size_t cap)
{
	struct cdt_tags t;
	const struct cdt_tag *id;
	enum cdt_verdict v = versioned(s, n, "STSv1", &t, why, cap);

	if (v != CDT_OK)
		return v;
	id = cdt_tag_get(&t, "id");
	if (id == NULL)
		return bad(why, cap, "no id= (RFC 8461 3.1: v=STSv1; id=...)"), CDT_BAD;
	if (id->vlen < 1 || id->vlen > 32)
		return bad(why, cap, "id= must be 1 to 32 letters or digits"), CDT_BAD;
	for (size_t i = 0; i < id->vlen; i++)
		if (!isalnum((unsigned char)id->val[i]))
			return bad(why, cap, "id= must be letters and digits only"), CDT_BAD;
	memcpy(out->id, id->val, id->vlen);
	out->id[id->vlen] = '\0';
	return CDT_OK;
}

/* ------------------------------------------------------------ TLS-RPT */

/* One rua URI: mailto:LOCAL@DOMAIN or https://HOST... (RFC 8460 §3). */
static bool
rua_uri_ok(const char *u, size_t l)
{
	const char *at;

	while (l > 0 && blank(*u))
		u++, l--;
	while (l > 0 && blank(u[l - 1]))
		l--;
	if (l > 7 && strncmp(u, "mailto:", 7) == 0) {
		at = memchr(u + 7, '@', l - 7);
		return at != NULL && at > u + 7 && at < u + l - 1;
	}
	return l > 8 && strncmp(u, "https://", 8) == 0;
}

enum cdt_verdict
cdt_tlsrpt_parse(const char *s, size_t n, struct cdt_tlsrpt *out, char *why, size_t cap)
{
	struct cdt_tags t;
	const struct cdt_tag *rua;
	enum cdt_verdict v = versioned(s, n, "TLSRPTv1", &t, why, cap);
	size_t a = 0;

	if (v != CDT_OK)
		return v;
	rua = cdt_tag_get(&t, "rua");
	if (rua == NULL || rua->vlen == 0)
		return bad(why, cap, "no rua= (RFC 8460 3: v=TLSRPTv1; rua=mailto:...)"), CDT_BAD;
	out->nrua = 0;
	while (a <= rua->vlen) {
		const char *c = memchr(rua->val + a, ',', rua->vlen - a);
		size_t e = c ? (size_t)(c - rua->val) : rua->vlen;

		if (!rua_uri_ok(rua->val + a, e - a))
			return bad(why, cap, "rua= takes mailto:ADDRESS or https://URL, comma "
					     "separated"), CDT_BAD;
		out->nrua++;
		a = e + 1;
	}
	zegel_strf(out->rua, sizeof(out->rua), "%.*s", (int)rua->vlen, rua->val);
	return CDT_OK;
}
