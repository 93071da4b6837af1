/*
 * signer/inner.h — private: what the signer's files share. signer.c collects
 * the header block (fields by offset) that sign.c reads; names.c holds the
 * case-insensitive helpers both use. Calls go one way: sign.c -> signer.c ->
 * names.c, base64.c; record.c -> names.c, base64.c.
 */
#ifndef SIGNER_INNER_H
#define SIGNER_INNER_H

#include <stdbool.h>

#include "dkim/dkim.h"

/* ASCII lower case (the locale never matters here). */
static inline int
dkim_lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* ASCII case-insensitive equality. */
bool dkim_ieq(const char *a, const char *b);
/* Is name in the NULL-terminated list l (case-insensitive)? */
bool dkim_list_has(const char *const *l, const char *name);

/* End offset (in s->hdr) of collected field i. */
size_t dkim_field_end(const struct dkim_signer *s, unsigned i);
/* Does field i have this name (case-insensitive, WSP before the colon ok)? */
bool dkim_field_is(const struct dkim_signer *s, unsigned i, const char *name);
/* How many collected fields have this name. */
unsigned dkim_field_count(const struct dkim_signer *s, const char *name);

/* The end of the message for the collecting side: a header block without
 * its blank line is closed, a CR held back at the end is data. Returns the
 * sticky error (DKIM_OK when none). */
int dkim_input_end(struct dkim_signer *s);

#endif
