/*
 * firmware/relay/sts_policy.h — MTA-STS (RFC 8461) texts: the discovery
 * record at _mta-sts.DOMAIN and the policy file, parsed strictly. Pure code:
 * no I/O, no clock (times are arguments), no logs.
 *
 * Model.
 *   sts_txt_parse(s, n, id, why)      one TXT record (all its strings joined):
 *                                     "v=STSv1; id=ID" (3.1). 1 it is one and
 *                                     valid (id set), 0 not an STS record at
 *                                     all (no v=STSv1 first), -1 malformed.
 *   struct sts_parser (caller-owned, ~5 KiB with the policy in it):
 *     sts_parser_init(p, cache)       cache: also take the zegel-id: and
 *                                     zegel-fetched: lines of a cache file
 *     sts_parser_push(p, bytes, n)    any slicing; returns 0 or -1 (p->why)
 *     sts_parser_finish(p)            end of the file: 0 and p->pol complete,
 *                                     or -1 (p->why). The error sticks.
 *   sts_policy_format(pol, buf, cap, with_cache_fields)   the canonical text
 *                                     (what the cache file holds).
 *   sts_mx_match(pol, host)           3.4: an mx pattern matches host exactly
 *                                     or "*.REST" matches one label + ".REST".
 *
 * Strictness (3.2): every line is KEY: VALUE (CRLF or LF ends a line; a
 * final line without one is fine). version: STSv1, mode:
 * enforce|testing|none, max_age 0..31557600 must each appear (the first one
 * counts; a later duplicate is ignored as the RFC has no rule for it and
 * Postfix's resolver does the same); mx: at least once unless mode none,
 * each a host name or *.name. Unknown keys are ignored (extension fields).
 * A line over STS_LINE_MAX, more than STS_MX_MAX mx lines, a bad value: the
 * policy is refused (-1) and treated as a failed fetch by the caller.
 */
#ifndef ZEGEL_RELAY_STS_POLICY_H
#define ZEGEL_RELAY_STS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STS_ID_MAX 32          /* 1*32(ALPHA / DIGIT), RFC 8461 3.1 */
#define STS_MX_MAX 16          /* more mx lines: refused (fails closed) */
#define STS_NAME_MAX 254       /* a host name or "*." + name, with NUL */
#define STS_LINE_MAX 300
#define STS_MAX_AGE_MAX 31557600u /* one year, RFC 8461 3.2 */
#define STS_WHY_MAX 120

enum sts_mode { STS_MODE_NONE = 0, STS_MODE_TESTING, STS_MODE_ENFORCE };

struct sts_policy {
	enum sts_mode mode;
	uint32_t max_age;
	unsigned nmx;
	char mx[STS_MX_MAX][STS_NAME_MAX];
	/* from the cache file or set by the fetcher */
	char id[STS_ID_MAX + 1];
	int64_t fetched;        /* unix time of the fetch */
};

struct sts_parser {
	struct sts_policy pol;
	bool cache;
	bool failed;
	bool have_version, have_mode, have_max_age;
	bool cr;                /* the last byte was CR: LF must follow */
	size_t len;
	char line[STS_LINE_MAX + 1];
	unsigned lineno;
	char why[STS_WHY_MAX];
};

int sts_txt_parse(const char *s, size_t n, char id[STS_ID_MAX + 1], char *why, size_t cap);

void sts_parser_init(struct sts_parser *p, bool cache);
int sts_parser_push(struct sts_parser *p, const uint8_t *d, size_t n);
int sts_parser_finish(struct sts_parser *p);

/* Returns the length written (NUL-terminated), or 0 if cap is too small. */
size_t sts_policy_format(const struct sts_policy *pol, char *buf, size_t cap, bool cache_fields);
bool sts_mx_match(const struct sts_policy *pol, const char *host);
/* The same test for one pattern (host may end with a dot). */
bool sts_pattern_match(const char *pattern, const char *host);
const char *sts_mode_str(enum sts_mode m); /* "none", "testing", "enforce" */

#endif
