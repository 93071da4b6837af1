/*
 * RFC 7208 check_host() as a step machine (see spf.h).
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

/* where the machine is: a question is out, or the next term comes */
enum { PH_TERM = 0, PH_TXT, PH_A, PH_MX, PH_MXADDR, PH_PTR, PH_PTRADDR, PH_EXISTS };

enum { HOW_TOP = 0, HOW_INCLUDE };

const char *
spf_result_str(enum spf_result r)
{
	switch (r) {
	case SPF_NONE:
		return "none";
	case SPF_NEUTRAL:
		return "neutral";
	case SPF_PASS:
		return "pass";
	case SPF_FAIL:
		return "fail";
	case SPF_SOFTFAIL:
		return "softfail";
	case SPF_TEMPERROR:
		return "temperror";
	case SPF_PERMERROR:
		return "permerror";
	}
	return "?";
}

/* ------------------------------------------------------------ the trail */

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
trail(struct spf *s, const char *fmt, ...)
{
	va_list ap;

	if (s->ntrail >= SPF_TRAIL_MAX)
		return;
	if (s->ntrail == SPF_TRAIL_MAX - 1) {
		zegel_strf(s->trail[s->ntrail++], SPF_TRAIL_LINE, "(more steps, not kept)");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(s->trail[s->ntrail++], SPF_TRAIL_LINE, fmt, ap);
	va_end(ap);
}

static void
finish(struct spf *s, enum spf_result r, const char *why)
{
	s->done = true;
	s->result = r;
	if (why != NULL) {
		zegel_strf(s->why, sizeof(s->why), "%s", why);
		trail(s, "%s: %s", spf_result_str(r), why);
	}
}

/* ------------------------------------------------------------ addresses */

/* Does addr (4 or 16 octets, per s->ip6) lie in net/prefix? */
static bool
in_net(const uint8_t *a, const uint8_t *net, int prefix)
{
	int full = prefix / 8, rest = prefix % 8;

	if (memcmp(a, net, (size_t)full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* ------------------------------------------------------------ the machine */

static void
frame_init(struct spf_frame *F, const char *domain, uint8_t how, char qual)
{
	zegel_strf(F->domain, sizeof(F->domain), "%s", domain);
	zegel_strf(F->asked, sizeof(F->asked), "%s", domain);
	F->record[0] = F->redirect[0] = '\0';
	F->pos = 0;
	F->how = how;
	F->qual = qual;
	F->fetched = F->has_all = false;
}

int
spf_init(struct spf *s, const char *ip, const char *domain, const char *sender, const char *helo)
{
	uint8_t a[16];
	char d[SPF_NAME_MAX];

	/* the big buffers (trail, frames, names) are not cleared: only their
	 * counts and first bytes */
	memset(s, 0, offsetof(struct spf, trail));
	memset(&s->depth, 0, offsetof(struct spf, f) - offsetof(struct spf, depth));
	s->dnssec = DNS_SECURE;
	s->depth = 1;
	s->phase = PH_TERM;
	s->nnames = s->cur = 0;
	s->term[0] = s->target[0] = s->qname[0] = '\0';
	frame_init(&s->f[0], "", HOW_TOP, '+');
	zegel_strf(s->helo, sizeof(s->helo), "%s", helo && helo[0] ? helo : "unknown");
	if (sender == NULL || sender[0] == '\0')
		zegel_strf(s->sender, sizeof(s->sender), "postmaster@%s", s->helo);
	else if (sender[0] == '@')
		zegel_strf(s->sender, sizeof(s->sender), "postmaster%s", sender);
	else if (strchr(sender, '@') == NULL)
		zegel_strf(s->sender, sizeof(s->sender), "postmaster@%s", sender);
	else
		zegel_strf(s->sender, sizeof(s->sender), "%s", sender);
	zegel_strf(s->ip_text, sizeof(s->ip_text), "%s", ip ? ip : "");
	if (ip != NULL && inet_pton(AF_INET, ip, a) == 1) {
		memcpy(s->ip, a, 4);
	} else if (ip != NULL && inet_pton(AF_INET6, ip, a) == 1) {
		static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
		if (memcmp(a, mapped, 12) == 0) {
			memcpy(s->ip, a + 12, 4);
		} else {
			memcpy(s->ip, a, 16);
			s->ip6 = true;
		}
	} else {
		finish(s, SPF_PERMERROR, "the client IP address does not parse");
		return -EINVAL;
	}
	/* 4.3: a malformed or single-label domain is "none" */
	if (domain == NULL || !spf_target_ok(d, sizeof(d), domain) || strchr(d, '.') == NULL) {
		zegel_strf(s->f[0].domain, SPF_NAME_MAX, "%s", domain ? domain : "");
		finish(s, SPF_NONE, "not a valid multi-label domain name (4.3)");
		return 0;
	}
	zegel_strf(s->f[0].domain, SPF_NAME_MAX, "%s", d);
	s->phase = PH_TERM;
	return 0;
}

static struct spf_frame *
top(struct spf *s)
{
	return &s->f[s->depth - 1];
}

static int
ask(struct spf *s, int phase, const char *name, uint16_t qtype)
{
	s->phase = phase;
	zegel_strf(s->qname, sizeof(s->qname), "%s", name);
	s->qtype = qtype;
	return SPF_QUERY;
}

/* The address question for a name: A for IPv4 clients, AAAA for IPv6. */
static uint16_t
addr_type(const struct spf *s)
{
	return s->ip6 ? DNS_T_AAAA : DNS_T_A;
}

/* Count a DNS-querying term (4.6.4); false: over the limit (finished). */
static bool
count_lookup(struct spf *s)
{
	if (++s->lookups > SPF_MAX_LOOKUPS) {
		char why[SPF_NAME_MAX + 100];
		zegel_strf(why, sizeof(why), "more than %d DNS-querying terms at '%s' (4.6.4)",
		    SPF_MAX_LOOKUPS, s->term);
		finish(s, SPF_PERMERROR, why);
		return false;
	}
	return true;
}

/* Count a void lookup (4.6.4); false: over the limit (finished). */
static bool
count_void(struct spf *s, const char *what)
{
	if (++s->void_lookups > SPF_MAX_VOID) {
		char why[SPF_NAME_MAX + 100];
		zegel_strf(why, sizeof(why), "more than %d void lookups, the last %s (4.6.4)",
		    SPF_MAX_VOID, what);
		finish(s, SPF_PERMERROR, why);
		return false;
	}
	return true;
}

/* Expand the term's domain-spec (or take the current domain) into s->target. */
static bool
term_target(struct spf *s, const struct term *t)
{
	char tmp[SPF_RECORD_MAX], why[160], msg[SPF_NAME_MAX + 200];
	const char *d = top(s)->domain;

	if (t->spec == NULL) {
		zegel_strf(s->target, sizeof(s->target), "%s", d);
		return true;
	}
	if (spf_expand(s, d, t->spec, t->speclen, false, tmp, sizeof(tmp), why, sizeof(why)) < 0) {
		zegel_strf(msg, sizeof(msg), "'%s': %s", s->term, why);
		finish(s, SPF_PERMERROR, msg);
		return false;
	}
	if (!spf_target_ok(s->target, sizeof(s->target), spf_trim253(tmp))) {
		zegel_strf(msg, sizeof(msg), "'%s' expands to '%.100s', not a domain name", s->term,
		    tmp);
		finish(s, SPF_PERMERROR, msg);
		return false;
	}
	return true;
}

static enum spf_result
qual_result(char q)
{
	switch (q) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	default:
		return SPF_PASS;
	}
}

static void frame_end(struct spf *s, enum spf_result r);

/* The term in progress matched: its qualifier ends this record. */
static void
matched(struct spf *s)
{
	struct spf_frame *F = top(s);
	enum spf_result r = qual_result(s->qual);

	trail(s, "match: %s in %s -> %s", s->term, F->domain, spf_result_str(r));
	zegel_strf(s->mechanism, sizeof(s->mechanism), "%s", s->term);
	zegel_strf(s->decided_in, sizeof(s->decided_in), "%s", F->domain);
	frame_end(s, r);
}

/* This record's check_host() returned r (4.6.4 errors end everything). */
static void
frame_end(struct spf *s, enum spf_result r)
{
	struct spf_frame *F = top(s);
	char q = F->qual;
	bool include = F->how == HOW_INCLUDE;
	char dom[SPF_NAME_MAX];

	s->phase = PH_TERM;
	if (s->depth == 1) {
		s->done = true;
		s->result = r;
		if (s->why[0] == '\0')
			zegel_strf(s->why, sizeof(s->why), "%s",
			    s->mechanism[0] ? s->mechanism : "no mechanism matched");
		return;
	}
	zegel_strf(dom, sizeof(dom), "%s", F->asked);
	s->depth--;
	if (!include)
		return; /* cannot happen: redirect frames replace their parent */
	switch (r) {
	case SPF_PASS:
		s->qual = q;
		zegel_strf(s->term, sizeof(s->term), "%sinclude:%s",
		    q == '+' ? "" : (char[2]){ q, 0 }, dom);
		trail(s, "include:%s -> pass", dom);
		matched(s);
		return;
	case SPF_FAIL:
	case SPF_SOFTFAIL:
	case SPF_NEUTRAL:
		trail(s, "include:%s -> %s: no match", dom, spf_result_str(r));
		return;
	default:
		break;
	}
}

/* Fetch the record for the top frame (or use it): the TXT answer. */
static void
take_txt(struct spf *s, const struct dns_result *res)
{
	struct spf_frame *F = top(s);
	char why[300], rec[SPF_RECORD_MAX];
	unsigned nspf = 0;
	size_t len = 0, pos = 6, b, e;
	bool too_long = false;
	bool must = F->how == HOW_INCLUDE || s->depth > 1 || F->fetched;

	s->phase = PH_TERM;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		zegel_strf(why, sizeof(why), "TXT %s: %s (%s)", F->domain,
		    dns_status_str(res->status), res->reason[0] ? res->reason : "no answer");
		finish(s, SPF_TEMPERROR, why);
		return;
	}
	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		const uint8_t *rd = res->data + rr->rd_off;
		char t[SPF_RECORD_MAX];
		size_t tl, full;

		if (rr->type != DNS_T_TXT)
			continue;
		/* the character-strings joined without spaces (3.3) */
		tl = dns_txt_join(rd, rr->rdlen, t, sizeof(t), &full);
		if (!spf_is_spf1(t, tl))
			continue;
		if (full > tl)
			too_long = true;
		if (memchr(t, '\0', tl) != NULL) {
			zegel_strf(why, sizeof(why), "the SPF record of %s holds a NUL byte",
			    F->domain);
			finish(s, SPF_PERMERROR, why);
			return;
		}
		nspf++;
		memcpy(rec, t, tl);
		len = tl;
	}
	if (nspf > 1) {
		zegel_strf(why, sizeof(why), "%s has %u SPF records (4.5)", F->domain, nspf);
		finish(s, SPF_PERMERROR, why);
		return;
	}
	if (too_long) {
		zegel_strf(why, sizeof(why),
		    "the SPF record of %s is longer than %d octets "
		    "(zegel's limit)",
		    F->domain, SPF_RECORD_MAX - 1);
		finish(s, SPF_PERMERROR, why);
		return;
	}
	if (nspf == 0) {
		const char *what = res->rcode == DNS_RCODE_NXDOMAIN ? "NXDOMAIN" : "no SPF record";
		trail(s, "record %s: none (%s, %s)", F->domain, what, dns_status_str(res->status));
		if (!must) {
			finish(s, SPF_NONE, NULL);
			zegel_strf(s->why, sizeof(s->why), "%s: %s", F->domain, what);
			return;
		}
		zegel_strf(why, sizeof(why), "%s target %s: %s (5.2, 6.1)",
		    F->how == HOW_INCLUDE ? "include" : "redirect", F->domain, what);
		finish(s, SPF_PERMERROR, why);
		return;
	}
	rec[len] = '\0';
	trail(s, "record %s: %s (%s)", F->domain, rec, dns_status_str(res->status));
	if (spf_record_check(rec, len, why, sizeof(why)) < 0) {
		char msg[400];
		zegel_strf(msg, sizeof(msg), "syntax error in the record of %s: %s (4.6)",
		    F->domain, why);
		finish(s, SPF_PERMERROR, msg);
		return;
	}
	memcpy(F->record, rec, len + 1);
	F->fetched = true;
	F->pos = 6;
	F->has_all = false;
	F->redirect[0] = '\0';
	while (spf_next_term(rec, len, &pos, &b, &e)) {
		struct term t;
		(void)spf_parse_term(rec + b, e - b, &t, why, sizeof(why));
		if (!t.modifier) {
			F->has_all = F->has_all || t.mech == M_ALL;
		} else if (ieq(t.name, t.namelen, "redirect")) {
			zegel_strf(F->redirect, sizeof(F->redirect), "%.*s", (int)t.speclen,
			    t.spec);
		} else if (ieq(t.name, t.namelen, "exp") && s->depth == 1 && !s->exp_spec[0]) {
			zegel_strf(s->exp_spec, sizeof(s->exp_spec), "%.*s", (int)t.speclen,
			    t.spec);
		}
	}
}

/* Is one of the address records in res within the term's CIDR? */
static bool
addr_match(const struct spf *s, const struct dns_result *res)
{
	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		const uint8_t *rd = res->data + rr->rd_off;

		if (!s->ip6 && rr->type == DNS_T_A && rr->rdlen == 4 && in_net(s->ip, rd, s->cidr4))
			return true;
		if (s->ip6 && rr->type == DNS_T_AAAA && rr->rdlen == 16 &&
		    in_net(s->ip, rd, s->cidr6))
			return true;
	}
	return false;
}

static unsigned
count_type(const struct dns_result *res, uint16_t type)
{
	unsigned n = 0;

	for (unsigned i = 0; i < res->nrr; i++)
		n += res->rr[i].type == type;
	return n;
}

/* The answer was an error: temperror (5), unless the mechanism says otherwise. */
static bool
dns_failed(struct spf *s, const struct dns_result *res)
{
	char why[SPF_NAME_MAX + 300];
	char t[16];

	if (res->status != DNS_BOGUS && res->status != DNS_INDETERMINATE)
		return false;
	dns_type_to_text(s->qtype, t, sizeof(t));
	zegel_strf(why, sizeof(why), "%s %s for '%s': %s (%s)", t, s->qname, s->term,
	    dns_status_str(res->status), res->reason[0] ? res->reason : "no answer");
	finish(s, SPF_TEMPERROR, why);
	return true;
}

/* Names of the records of type in res (MX: after the preference). */
static unsigned
take_names(struct spf *s, const struct dns_result *res, uint16_t type, unsigned max)
{
	unsigned n = 0, all = 0;

	for (unsigned i = 0; i < res->nrr; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		const uint8_t *rd = res->data + rr->rd_off;
		size_t skip = type == DNS_T_MX ? 2 : 0;
		char name[SPF_NAME_MAX];

		if (rr->type != type || rr->rdlen <= skip)
			continue;
		all++;
		if (dns_name_len(rd + skip, rr->rdlen - skip) != (size_t)rr->rdlen - skip ||
		    dns_name_to_text(rd + skip, name, sizeof(name)) < 0)
			continue;
		if (strlen(name) > 0 && name[strlen(name) - 1] == '.')
			name[strlen(name) - 1] = '\0';
		if (name[0] == '\0' || n >= max)
			continue; /* null MX "." has no address; names past max dropped */
		zegel_strf(s->names[n++], SPF_NAME_MAX, "%s", name);
	}
	s->nnames = n;
	return all;
}

/* The next MX / PTR name to look up, or the term's end without a match. */
static void
next_name(struct spf *s, int phase)
{
	s->phase = PH_TERM;
	if (s->cur < s->nnames)
		(void)ask(s, phase, s->names[s->cur], addr_type(s));
}

/* Is name the target or below it (5.5)? */
static bool
under_target(const char *name, const char *target)
{
	size_t n = strlen(name), t = strlen(target);

	if (n == t)
		return strcasecmp(name, target) == 0;
	return n > t && name[n - t - 1] == '.' && strcasecmp(name + n - t, target) == 0;
}

void
spf_answer(struct spf *s, const struct dns_result *res)
{
	char t[16], why[SPF_NAME_MAX + 100];
	int phase = s->phase;

	if (s->done || phase == PH_TERM)
		return;
	s->queries++;
	if (res->status > s->dnssec)
		s->dnssec = res->status;
	s->phase = PH_TERM;
	dns_type_to_text(s->qtype, t, sizeof(t));
	switch (phase) {
	case PH_TXT:
		take_txt(s, res);
		return;
	case PH_A:
	case PH_EXISTS:
		if (dns_failed(s, res))
			return;
		if (count_type(res, s->qtype) == 0) {
			trail(s, "%s: %s %s: void (%s)", s->term, t, s->qname,
			    dns_status_str(res->status));
			zegel_strf(why, sizeof(why), "%s %s", t, s->qname);
			(void)count_void(s, why);
			return;
		}
		if (phase == PH_EXISTS || addr_match(s, res)) {
			matched(s);
			return;
		}
		trail(s, "%s: %s %s: no match", s->term, t, s->qname);
		return;
	case PH_MX:
		if (dns_failed(s, res))
			return;
		if (take_names(s, res, DNS_T_MX, SPF_MAX_NAMES) > SPF_MAX_NAMES) {
			zegel_strf(why, sizeof(why), "%s has more than %d MX records (4.6.4)",
			    s->qname, SPF_MAX_NAMES);
			finish(s, SPF_PERMERROR, why);
			return;
		}
		if (count_type(res, DNS_T_MX) == 0) {
			trail(s, "%s: MX %s: void", s->term, s->qname);
			zegel_strf(why, sizeof(why), "MX %s", s->qname);
			(void)count_void(s, why);
			return;
		}
		s->cur = 0;
		next_name(s, PH_MXADDR);
		return;
	case PH_MXADDR:
		if (dns_failed(s, res))
			return;
		if (count_type(res, s->qtype) == 0) {
			zegel_strf(why, sizeof(why), "%s %s", t, s->qname);
			if (!count_void(s, why))
				return;
		} else if (addr_match(s, res)) {
			matched(s);
			return;
		}
		s->cur++;
		next_name(s, PH_MXADDR);
		if (s->phase == PH_TERM)
			trail(s, "%s: no MX host matches", s->term);
		return;
	case PH_PTR:
		/* 5.5: a DNS error in the PTR lookup: no match (not temperror) */
		if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
			trail(s, "%s: PTR %s %s: no match", s->term, s->qname,
			    dns_status_str(res->status));
			return;
		}
		take_names(s, res, DNS_T_PTR, SPF_MAX_NAMES);
		if (count_type(res, DNS_T_PTR) == 0) {
			trail(s, "%s: PTR %s: void", s->term, s->qname);
			zegel_strf(why, sizeof(why), "PTR %s", s->qname);
			(void)count_void(s, why);
			return;
		}
		/* only names at or below the target can match: validate those */
		{
			unsigned k = 0;
			for (unsigned i = 0; i < s->nnames; i++)
				if (under_target(s->names[i], s->target))
					memmove(s->names[k++], s->names[i], SPF_NAME_MAX);
			s->nnames = k;
		}
		s->cur = 0;
		next_name(s, PH_PTRADDR);
		if (s->phase == PH_TERM)
			trail(s, "%s: no PTR name at or below %s", s->term, s->target);
		return;
	case PH_PTRADDR:
		/* 5.5: an error on one name skips that name; exact address match */
		if (res->status != DNS_BOGUS && res->status != DNS_INDETERMINATE) {
			int c4 = s->cidr4, c6 = s->cidr6;
			bool m;
			s->cidr4 = 32;
			s->cidr6 = 128;
			m = addr_match(s, res);
			s->cidr4 = c4;
			s->cidr6 = c6;
			if (m) {
				trail(s, "%s: %s validated", s->term, s->qname);
				matched(s);
				return;
			}
		}
		s->cur++;
		next_name(s, PH_PTRADDR);
		if (s->phase == PH_TERM)
			trail(s, "%s: no validated PTR name", s->term);
		return;
	}
}

/* Begin evaluating mechanism t (the term's text is in s->term). */
static int
eval_mech(struct spf *s, const struct term *t)
{
	struct spf_frame *F = top(s);

	s->qual = t->qual;
	s->mech = t->mech;
	s->cidr4 = t->cidr4;
	s->cidr6 = t->cidr6;
	switch (t->mech) {
	case M_ALL:
		matched(s);
		return SPF_DONE;
	case M_IP4:
	case M_IP6:
		if ((t->mech == M_IP6) == s->ip6 &&
		    in_net(s->ip, t->net, t->mech == M_IP6 ? t->cidr6 : t->cidr4))
			matched(s);
		return SPF_DONE;
	default:
		break;
	}
	if (!count_lookup(s) || !term_target(s, t))
		return SPF_DONE;
	switch (t->mech) {
	case M_INCLUDE: {
		struct spf_frame *N;
		if (s->depth >= SPF_MAX_DEPTH) { /* cannot happen: 10 lookups come first */
			finish(s, SPF_PERMERROR, "includes nested too deep");
			return SPF_DONE;
		}
		N = &s->f[s->depth++];
		frame_init(N, s->target, HOW_INCLUDE, t->qual);
		(void)F;
		return SPF_DONE;
	}
	case M_A:
		return ask(s, PH_A, s->target, addr_type(s));
	case M_MX:
		return ask(s, PH_MX, s->target, DNS_T_MX);
	case M_EXISTS:
		return ask(s, PH_EXISTS, s->target, DNS_T_A);
	case M_PTR: {
		char rev[80], nib[72];
		if (s->ip6) {
			char *o = rev;

			spf_ip_nibbles(s->ip, nib, sizeof(nib));
			for (int i = 31; i >= 0; i--) {
				*o++ = nib[i * 2];
				*o++ = '.';
			}
			zegel_strf(o, sizeof(rev) - (size_t)(o - rev), "ip6.arpa");
		} else {
			zegel_strf(rev, sizeof(rev), "%u.%u.%u.%u.in-addr.arpa", s->ip[3], s->ip[2],
			    s->ip[1], s->ip[0]);
		}
		return ask(s, PH_PTR, rev, DNS_T_PTR);
	}
	}
	return SPF_DONE;
}

/* The end of a record: redirect= (6.1) or the default, neutral (4.7). */
static void
record_end(struct spf *s)
{
	struct spf_frame *F = top(s);
	struct term t;
	char why[200];

	if (F->redirect[0] == '\0' || F->has_all) {
		if (F->redirect[0])
			trail(s, "redirect=%s ignored: the record has \"all\" (6.1)", F->redirect);
		trail(s, "%s: no match -> neutral", F->domain);
		frame_end(s, SPF_NEUTRAL);
		return;
	}
	zegel_strf(s->term, sizeof(s->term), "redirect=%s", F->redirect);
	if (!spf_parse_term(s->term, strlen(s->term), &t, why, sizeof(why))) {
		finish(s, SPF_PERMERROR, why); /* cannot happen: checked at fetch */
		return;
	}
	if (!count_lookup(s) || !term_target(s, &t))
		return;
	trail(s, "%s -> %s", s->term, s->target);
	/* the redirect target's result is this record's (6.1): replace the frame */
	zegel_strf(F->domain, sizeof(F->domain), "%s", s->target);
	F->record[0] = '\0';
	F->redirect[0] = '\0';
	F->fetched = true; /* marks "must have a record" for take_txt */
	F->pos = 0;
}

int
spf_next(struct spf *s, char *name, size_t cap, uint16_t *qtype)
{
	while (!s->done) {
		struct spf_frame *F = top(s);
		size_t b, e, pos, len;
		struct term t;
		char why[200];

		if (s->phase != PH_TERM) {
			zegel_strf(name, cap, "%s", s->qname);
			*qtype = s->qtype;
			return SPF_QUERY;
		}
		if (F->record[0] == '\0') {
			(void)ask(s, PH_TXT, F->domain, DNS_T_TXT);
			continue;
		}
		len = strlen(F->record);
		pos = F->pos;
		if (!spf_next_term(F->record, len, &pos, &b, &e)) {
			record_end(s);
			continue;
		}
		F->pos = (uint16_t)pos;
		zegel_strf(s->term, sizeof(s->term), "%.*s", (int)(e - b), F->record + b);
		if (!spf_parse_term(F->record + b, e - b, &t, why, sizeof(why))) {
			finish(s, SPF_PERMERROR, why); /* cannot happen: checked at fetch */
			continue;
		}
		if (t.modifier)
			continue;
		(void)eval_mech(s, &t);
	}
	return SPF_DONE;
}

#endif
