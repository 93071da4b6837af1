/*
 * firmware/mailauth/spf.h — RFC 7208 check_host(): may IP send mail for a
 * domain under its SPF record?
 *
 * Model. A pure step machine fed with validated DNS answers, in the shape of
 * firmware/relay/mxplan.h: it never touches a socket, a clock or the
 * resolver. The caller asks it for the next question and feeds it the
 * struct dns_result (firmware/dns/dns.h) of that lookup:
 *
 *   static struct spf s;                         caller-owned (~46 KiB: .bss)
 *   spf_init(&s, "192.0.2.1", "example.org", "user@example.org", "mx.example.org");
 *   while (spf_next(&s, name, sizeof(name), &qtype) == SPF_QUERY) {
 *           dns_lookup(ctx, name, qtype, now, &res);        (or resolver_lookup)
 *           spf_answer(&s, &res);
 *   }
 *   then read s.result, s.lookups, s.dnssec, s.mechanism, s.why, s.trail[].
 *   "Every answer was DNSSEC secure": s.queries > 0 && s.dnssec == DNS_SECURE.
 *
 * What it implements (RFC 7208 section numbers):
 *  - record selection (4.5): TXT records at the domain that start with
 *    "v=spf1" (case-insensitive) followed by a space or the end; their
 *    character-strings joined without spaces. None: "none" (an include or
 *    redirect target without one: permerror, 5.2, 6.1); more than one:
 *    permerror. A malformed initial domain (4.3): "none".
 *  - the whole record is checked for syntax before any term is evaluated
 *    (4.6): unknown mechanisms, bad CIDR lengths, bad macros, a repeated
 *    redirect= or exp= are permerror; unknown modifiers are ignored.
 *  - mechanisms all, include, a, mx, ptr, ip4, ip6 (with dual-cidr-length),
 *    exists; modifiers redirect= (ignored when the record has "all", 6.1) and
 *    exp= (parsed and kept in s.exp_spec, never fetched: the explanation is for
 *    a receiver's rejection text, which zegel never sends).
 *  - ptr (5.5, "SHOULD NOT be used") is evaluated: the PTR names of IP
 *    (at most 10), each validated by a forward A/AAAA lookup, match when one
 *    validated name is the target domain or below it.
 *  - macros (7): s l o d i p v h, upper-case letters URL-escaped, the digit
 *    and "r" transformers, the delimiters . - + , / _ =, %% %_ %-; c r t only
 *    in exp=. %{p} expands to "unknown" (7.3 allows it; the PTR validation it
 *    would need is discouraged). A domain longer than 253 octets after
 *    expansion loses labels on the left (7.3).
 *  - limits (4.6.4): more than 10 terms that cause DNS lookups (include, a,
 *    mx, ptr, exists, redirect) -> permerror; more than 2 void lookups
 *    (NXDOMAIN or no records for a, mx, ptr, exists, and the address lookups
 *    of mx) -> permerror; more than 10 MX names -> permerror; PTR names past
 *    the 10th ignored.
 *  - DNS errors (5): a lookup that is bogus or indeterminate (SERVFAIL,
 *    timeout, validation failure) -> temperror. DNSSEC is not required: an
 *    insecure answer is used; s.dnssec says the weakest status seen.
 *  - the sender (4.1, 4.3): an empty MAIL FROM is postmaster@HELO; a sender
 *    without a local part gets "postmaster". An IPv4-mapped IPv6 address is
 *    checked as IPv4.
 *
 * Memory: fixed sizes; the include/redirect nesting is bounded by the
 * 10-lookup limit (SPF_MAX_DEPTH frames). No allocation.
 */
#ifndef ZEGEL_MAILAUTH_SPF_H
#define ZEGEL_MAILAUTH_SPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/dns.h"

#define SPF_NAME_MAX 256                    /* presentation form, no trailing dot, NUL */
#define SPF_RECORD_MAX 2048                 /* one SPF record (its TXT strings joined) */
#define SPF_SENDER_MAX 320                  /* local-part@domain */
#define SPF_MAX_LOOKUPS 10                  /* 4.6.4 */
#define SPF_MAX_VOID 2                      /* 4.6.4 */
#define SPF_MAX_NAMES 10                    /* MX / PTR names per mechanism (4.6.4) */
#define SPF_MAX_DEPTH (SPF_MAX_LOOKUPS + 1) /* top record + one per include/redirect */
#define SPF_TRAIL_MAX 48                    /* lines kept; more are dropped, the last says so */
#define SPF_TRAIL_LINE 200

enum { SPF_DONE = 0, SPF_QUERY = 1 };

/* 2.6: the results, in the order of the RFC */
enum spf_result {
	SPF_NONE = 0,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR,
};
/* "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" */
const char *spf_result_str(enum spf_result r);

/* One include/redirect level being evaluated (private to spf.c). */
struct spf_frame {
	char domain[SPF_NAME_MAX];   /* <domain> of this check_host() */
	char asked[SPF_NAME_MAX];    /* include: its target, before any redirect= */
	char record[SPF_RECORD_MAX]; /* the selected record, "" until fetched */
	uint16_t pos;                /* offset of the next term */
	uint8_t how;                 /* top, include, redirect */
	char qual;                   /* include: the include's qualifier */
	bool fetched;
	bool has_all;
	char redirect[SPF_NAME_MAX]; /* redirect= domain-spec, unexpanded */
};

struct spf {
	/* input (4.1) */
	uint8_t ip[16];
	bool ip6; /* false: ip[0..4) is IPv4 */
	char ip_text[48];
	char sender[SPF_SENDER_MAX]; /* local-part@domain, with postmaster filled in */
	char helo[SPF_NAME_MAX];
	/* result */
	bool done;
	enum spf_result result;
	unsigned lookups; /* terms that caused DNS lookups (limit 10) */
	unsigned void_lookups;
	unsigned queries;                  /* DNS questions asked, all kinds */
	enum dns_status dnssec;            /* weakest status of every answer used */
	char mechanism[SPF_NAME_MAX + 64]; /* the directive that decided, "" if none */
	char decided_in[SPF_NAME_MAX];     /* the domain whose record it is in */
	char why[256];                     /* permerror/temperror/none: what; else a summary */
	char exp_spec[SPF_NAME_MAX];       /* exp= of the top record, unexpanded, or "" */
	unsigned ntrail;
	char trail[SPF_TRAIL_MAX][SPF_TRAIL_LINE];
	/* private: where the evaluation is */
	unsigned depth;
	struct spf_frame f[SPF_MAX_DEPTH];
	int phase;
	char qual;                    /* qualifier of the mechanism in progress */
	char term[SPF_NAME_MAX + 64]; /* the term in progress, as written */
	int mech;
	char target[SPF_NAME_MAX]; /* expanded target of the term in progress */
	int cidr4, cidr6;
	unsigned nnames, cur;
	char names[SPF_MAX_NAMES][SPF_NAME_MAX]; /* MX or PTR names */
	char qname[SPF_NAME_MAX + 80];
	uint16_t qtype;
};

/*
 * ip: the client address in text ("192.0.2.1", "2001:db8::1");
 * domain: the domain to check (the sender's, or the HELO name); sender:
 * the MAIL FROM ("" or NULL: postmaster@helo; without '@': postmaster@
 * sender); helo: the HELO/EHLO name (NULL: "unknown").
 * 0, or -EINVAL for an IP that does not parse (s is then done, permerror).
 */
int
spf_init(struct spf *s, const char *ip, const char *domain, const char *sender, const char *helo);
/* SPF_QUERY with the question in name/qtype, or SPF_DONE. */
int spf_next(struct spf *s, char *name, size_t cap, uint16_t *qtype);
/* The answer to the last question. */
void spf_answer(struct spf *s, const struct dns_result *res);

/*
 * RFC 7208 7: expand the macro-string ms (length n) for s's current
 * evaluation into out. exp: the exp= context (c r t allowed). domain: the
 * value of %{d}. Returns the length, or -1 for a syntax error (with why).
 * For tests and the fuzzer; the evaluator uses it for every domain-spec.
 */
int spf_expand(const struct spf *s, const char *domain, const char *ms, size_t n, bool exp,
    char *out, size_t cap, char *why, size_t whycap);

/*
 * Syntax check of a record text (4.6, 12): 0, or -1 with the first error in
 * why. Does not evaluate anything.
 */
int spf_record_check(const char *rec, size_t n, char *why, size_t whycap);

#endif
