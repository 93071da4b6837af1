/*
 * Names: what a DKIM domain and selector may look like (RFC 6376 §3.1,
 * §3.5), whether a signing domain covers a From domain, and the
 * case-insensitive comparisons the rest of the signer uses.
 */
#include <string.h>

#include "dkim/dkim.h"
#include "signer/inner.h"

bool
dkim_ieq(const char *a, const char *b)
{
	while (*a && dkim_lc((unsigned char)*a) == dkim_lc((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == 0 && *b == 0;
}

/*
 * Dot-separated labels of 1 to 63 letters, digits and '-', at most max
 * characters. ldh: a domain name (RFC 1035 §2.3.1: no '-' at either end of a
 * label); else a selector, which may also hold '_' (RFC 6376 §3.1).
 */
static bool
valid_labels(const char *s, bool ldh, size_t max)
{
	size_t label = 0, total = 0;

	if (s == NULL || *s == 0)
		return false;
	for (const char *p = s; *p; p++, total++) {
		unsigned char c = (unsigned char)*p;

		if (c == '.') {
			if (label == 0 || (ldh && p[-1] == '-'))
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			c == '-' || (!ldh && c == '_')))
			return false;
		if (ldh && c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && (!ldh || s[total - 1] != '-') && total <= max;
}

bool
dkim_valid_domain(const char *d)
{
	return valid_labels(d, true, 253);
}

bool
dkim_valid_selector(const char *sel)
{
	return valid_labels(sel, false, 200);
}

const char *
dkim_signing_domain(const char *from_domain, const char *configured)
{
	size_t fl, cl;

	if (from_domain == NULL || configured == NULL || *configured == 0)
		return NULL;
	fl = strlen(from_domain);
	cl = strlen(configured);
	if (fl < cl)
		return NULL;
	if (!dkim_ieq(from_domain + (fl - cl), configured))
		return NULL;
	if (fl > cl && from_domain[fl - cl - 1] != '.')
		return NULL;
	return configured;
}

bool
dkim_list_has(const char *const *l, const char *name)
{
	for (; l != NULL && *l != NULL; l++)
		if (dkim_ieq(*l, name))
			return true;
	return false;
}
