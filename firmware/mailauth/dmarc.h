/*
 * firmware/mailauth/dmarc.h — RFC 7489 (DMARC) records: the parser, the
 * organisational domain, and policy discovery as a DNS step machine.
 *
 * Model. Three pieces, pure (no sockets, no loop, no clock):
 *
 *  1. dmarc_parse(text): one record into struct dmarc_record. "v=DMARC1"
 *     must be the first tag (6.4); p sp pct adkim aspf rua ruf fo rf ri are
 *     parsed and checked; unknown tags are ignored (6.3) and listed as
 *     warnings. Each problem is named (r.err[]: errors, r.warn[]: warnings).
 *     A record without a valid p= (or with an invalid sp=) is still usable
 *     as p=none when rua= holds a valid URI (6.6.3 step 6): r.usable says
 *     whether a receiver applies it at all.
 *
 *  2. dmarc_org_domain(domain, psl_path): the organisational domain (3.2):
 *     the public suffix plus one label. The public suffix list is NOT in the
 *     tree: it is read, streamed line by line, from psl_path (NULL: Debian's
 *     package `publicsuffix`, DMARC_PSL_DEBIAN). When no list can be read the
 *     fallback is "the last two labels" — wrong for co.uk-style suffixes —
 *     and how says so; callers print how. Reading a file here is the one
 *     piece of I/O in this library (stdio, bounded line buffer).
 *
 *  3. struct dmarc_find: the discovery rule (6.6.3) as a step machine:
 *       dmarc_find_init(&f, "mail.example.org", "example.org");
 *       while (dmarc_find_next(&f, name, sizeof(name), &qtype) == DMARC_QUERY) {
 *               lookup; dmarc_find_answer(&f, &res);
 *       }
 *     TXT _dmarc.DOMAIN; records starting "v=DMARC1" are kept; exactly one
 *     is the policy; none (NXDOMAIN/NODATA/no DMARC TXT): the same at the
 *     organisational domain when it differs; more than one: no policy
 *     (DMARC_MULTIPLE); a bogus or indeterminate answer: DMARC_TEMPERROR.
 */
#ifndef ZEGEL_MAILAUTH_DMARC_H
#define ZEGEL_MAILAUTH_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/dns.h"

#define DMARC_NAME_MAX 256
#define DMARC_TXT_MAX 1024 /* one record (its TXT strings joined) */
#define DMARC_URIS_MAX 512 /* rua= / ruf= as written */
#define DMARC_MSGS 8       /* errors / warnings kept each */
#define DMARC_MSG_LEN 120
#define DMARC_PSL_DEBIAN "/usr/share/publicsuffix/public_suffix_list.dat"

enum { DMARC_DONE = 0, DMARC_QUERY = 1 };

enum dmarc_policy { DMARC_P_UNSET = 0, DMARC_P_NONE, DMARC_P_QUARANTINE, DMARC_P_REJECT };
const char *dmarc_policy_str(enum dmarc_policy p); /* "-", "none", "quarantine", "reject" */

struct dmarc_record {
	bool usable;                 /* a receiver applies it (6.6.3) */
	enum dmarc_policy p;         /* as written; UNSET when missing/invalid */
	enum dmarc_policy sp;        /* UNSET: p applies to subdomains */
	enum dmarc_policy effective; /* p, or none when only rua saved it */
	unsigned pct;                /* 0..100, default 100 */
	char adkim, aspf;            /* 'r' (default) or 's' */
	char rua[DMARC_URIS_MAX], ruf[DMARC_URIS_MAX];
	char fo[16]; /* default "0" */
	uint32_t ri; /* default 86400 */
	unsigned nerr, nwarn;
	char err[DMARC_MSGS][DMARC_MSG_LEN];
	char warn[DMARC_MSGS][DMARC_MSG_LEN];
};

/* Parse one record (n bytes, need not be NUL-terminated). 0 when it has no
 * errors, else -1 (r->err[] says what; r->usable may still be true). */
int dmarc_parse(const char *txt, size_t n, struct dmarc_record *r);

/*
 * The organisational domain of domain into org (cap octets, no trailing
 * dot, lower case). psl_path: a public suffix list file (NULL: the Debian
 * one). how gets a short phrase for the output: "public suffix list PATH"
 * or "last two labels (no public suffix list: PATH: REASON)". 0, or -1 for
 * a domain that is not a valid name.
 */
int dmarc_org_domain(const char *domain, const char *psl_path, char *org, size_t cap, char *how,
    size_t howcap);
/* The same with the list's text in memory (tests, fuzzing): rules one per line. */
int dmarc_org_domain_mem(const char *domain, const char *psl, size_t n, char *org, size_t cap);

enum dmarc_found {
	DMARC_NOTFOUND = 0, /* no record at the domain nor at the organisational domain */
	DMARC_FOUND,        /* rec holds it (check rec.usable, rec.nerr) */
	DMARC_MULTIPLE,     /* more than one record: no policy (6.6.3) */
	DMARC_TEMPERROR,    /* a lookup was bogus or indeterminate */
};
const char *dmarc_found_str(enum dmarc_found f); /* "none", "found", "multiple", "temperror" */

struct dmarc_find {
	char domain[DMARC_NAME_MAX]; /* the RFC5322.From domain */
	char org[DMARC_NAME_MAX];    /* its organisational domain */
	enum dmarc_found found;
	bool from_org;                  /* the record came from _dmarc.ORG */
	char where[DMARC_NAME_MAX + 8]; /* _dmarc.NAME the answer is from */
	enum dns_status dnssec;         /* weakest status of the answers used */
	char why[200];                  /* temperror / multiple / none: what */
	char text[DMARC_TXT_MAX];       /* the record as found */
	struct dmarc_record rec;
	/* private */
	int phase;
	bool done;
};

/* domain and org: presentation form (org from dmarc_org_domain()). An
 * invalid domain ends the search at once (not found, why). */
void dmarc_find_init(struct dmarc_find *f, const char *domain, const char *org);
int dmarc_find_next(struct dmarc_find *f, char *name, size_t cap, uint16_t *qtype);
void dmarc_find_answer(struct dmarc_find *f, const struct dns_result *res);

#endif
