/*
 * firmware/app/check_domain_txt.h — the TXT records `check domain` judges
 * that no other module parses: tag lists (RFC 6376 §3.2 shape, also DMARC,
 * MTA-STS, TLS-RPT), the MTA-STS discovery record (RFC 8461 §3.1), the
 * TLS-RPT record (RFC 8460 §3); DKIM key records are firmware/keys/record.h's.
 * Pure code: text in, a verdict and a reason out; no DNS, no state.
 *
 * Every parser takes the record as one string (the TXT character-strings
 * joined, RFC 7208 §3.3 / RFC 8461 §3.1), which need not be NUL-terminated,
 * and returns
 *   CDT_OK   a record of this kind, well-formed (out filled)
 *   CDT_NOT  not a record of this kind (it does not start with its v= tag):
 *            the RFCs say to ignore it
 *   CDT_BAD  starts like one but is malformed; why says what is wrong
 */
#ifndef ZEGEL_APP_CHECK_DOMAIN_TXT_H
#define ZEGEL_APP_CHECK_DOMAIN_TXT_H

#include <stdbool.h>
#include <stddef.h>

enum cdt_verdict { CDT_OK = 0, CDT_NOT, CDT_BAD };

#define CDT_TAGS_MAX 24
#define CDT_WHY_MAX 120

struct cdt_tag {
	const char *name, *val; /* into the parsed text, not NUL-terminated */
	size_t nlen, vlen;      /* blanks around both trimmed */
};

struct cdt_tags {
	unsigned n;
	struct cdt_tag t[CDT_TAGS_MAX];
};

/* tag-list = tag-spec *( ";" tag-spec ) [ ";" ]; tag-spec = name "=" value
 * (RFC 6376 §3.2). Names: ALPHA *(ALPHA / DIGIT / "_"). Duplicate names are
 * an error (§3.2 "MUST NOT"). Returns CDT_OK or CDT_BAD (why). */
enum cdt_verdict cdt_tags_parse(const char *s, size_t n, struct cdt_tags *out, char *why,
    size_t cap);
/* The tag named name (NULL: absent). */
const struct cdt_tag *cdt_tag_get(const struct cdt_tags *t, const char *name);
bool cdt_tag_is(const struct cdt_tag *t, const char *val);

/* RFC 8461 §3.1: "v=STSv1; id=<1-32 letters/digits>;" plus extensions. */
struct cdt_sts {
	char id[33];
};
enum cdt_verdict cdt_sts_parse(const char *s, size_t n, struct cdt_sts *out, char *why,
    size_t cap);

/* RFC 8460 §3: "v=TLSRPTv1; rua=URI[,URI]" with mailto: or https: URIs. */
struct cdt_tlsrpt {
	unsigned nrua;
	char rua[200]; /* as published (cut to fit) */
};
enum cdt_verdict cdt_tlsrpt_parse(const char *s, size_t n, struct cdt_tlsrpt *out, char *why,
    size_t cap);

#endif
