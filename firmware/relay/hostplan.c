/*
 * RFC 7672 §2.2 per-host rules (see hostplan.h).
 */
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)

#include <stdio.h>
#include <string.h>

#include "firmware/relay/hostplan.h"
#include "zegel/text.h"

static int
lc(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

bool
hostplan_name_eq(const char *a, const char *b)
{
	while (*a && *b && lc((unsigned char)*a) == lc((unsigned char)*b)) {
		a++;
		b++;
	}
	if (*a == '.' && a[1] == '\0')
		a++;
	if (*b == '.' && b[1] == '\0')
		b++;
	return *a == *b;
}

bool
hostplan_name(const uint8_t *w, char *out, size_t cap)
{
	size_t n;

	if (dns_name_to_text(w, out, cap) != 0) {
		if (cap > 0)
			out[0] = '\0';
		return false;
	}
	n = strlen(out);
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		out[i] = (char)lc((unsigned char)out[i]); /* one spelling for SNI, logs, tests */
	return true;
}

void
hostplan_cname(const struct dns_result *res, const char *start, char *out, size_t cap)
{
	uint8_t cur[DNS_NAME_MAX];
	uint16_t cl;

	out[0] = '\0';
	if (dns_name_from_text(start, cur, &cl) != DNS_E_OK)
		return;
	for (int hops = 0; hops < 16; hops++) {
		unsigned i;

		for (i = 0; i < res->nrr; i++) {
			const struct dns_result_rr *rr = &res->rr[i];

			if (rr->type == DNS_T_CNAME && dns_name_eq(res->data + rr->owner_off, cur) &&
			    dns_name_len(res->data + rr->rd_off, rr->rdlen) == rr->rdlen)
				break;
		}
		if (i == res->nrr)
			break;
		memcpy(cur, res->data + res->rr[i].rd_off, res->rr[i].rdlen);
		if (!hostplan_name(cur, out, cap))
			return;
	}
}

unsigned
hostplan_addrs(const struct dns_result *res, bool v6, uint16_t port, struct hal_addr *out,
    unsigned n, unsigned max)
{
	for (unsigned i = 0; i < res->nrr && n < max; i++) {
		const struct dns_result_rr *rr = &res->rr[i];
		struct hal_addr *a = &out[n];

		if (rr->type != (v6 ? DNS_T_AAAA : DNS_T_A) || rr->rdlen != (v6 ? 16 : 4))
			continue;
		memset(a, 0, sizeof(*a));
		a->family = v6 ? 6 : 4;
		memcpy(a->ip, res->data + rr->rd_off, rr->rdlen);
		a->port = port;
		n++;
	}
	return n;
}

void
hostplan_tlsa_qname(const char *host, const char *cname, bool cname_secure, uint16_t port,
    char *base, size_t basecap, char *qname, size_t qcap)
{
	size_t n, bs = 0;

	zegel_strf(base, basecap, "%s", cname_secure && cname[0] ? cname : host);
	n = strlen(base);
	/* the root dot only: "a\\." ends in one, "a\." in an escaped dot of the label */
	while (bs + 1 < n && base[n - 2 - bs] == '\\')
		bs++;
	if (n > 0 && base[n - 1] == '.' && bs % 2 == 0)
		base[n - 1] = '\0';
	zegel_strf(qname, qcap, "_%u._tcp.%s", (unsigned)port, base);
}

#if IS_ENABLED(CONFIG_FEATURE_TLS)

enum hostplan_tlsa
hostplan_tlsa(const struct dns_result *res, struct dane_tlsa *out, unsigned max,
    bool keep_unusable, struct hostplan_tlsa_count *c)
{
	memset(c, 0, sizeof(*c));
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE)
		return HOSTPLAN_TLSA_FAILED;
	if (res->status == DNS_INSECURE)
		return HOSTPLAN_TLSA_INSECURE;
	/* usable records first, then (keep_unusable) the rest */
	for (int pass = 0; pass < (keep_unusable ? 2 : 1); pass++) {
		for (unsigned i = 0; i < res->nrr; i++) {
			const struct dns_result_rr *rr = &res->rr[i];
			struct dane_tlsa t;
			bool ok;

			if (rr->type != DNS_T_TLSA)
				continue;
			ok = dane_tlsa_parse(res->data + rr->rd_off, rr->rdlen, &t) == 0;
			if (pass == 0) {
				c->seen++;
				c->usable += ok && dane_tlsa_usable(&t);
			}
			if (!ok || dane_tlsa_usable(&t) != (pass == 0))
				continue;
			if (c->kept < max)
				out[c->kept++] = t;
		}
	}
	if (c->seen == 0)
		return HOSTPLAN_TLSA_DENIED;
	return c->usable > 0 ? HOSTPLAN_TLSA_USABLE : HOSTPLAN_TLSA_UNUSABLE;
}

#endif

bool
hostplan_tlsa_retry(enum hostplan_tlsa f, bool cname_secure, const char *base, const char *host)
{
	return f == HOSTPLAN_TLSA_DENIED && cname_secure && !hostplan_name_eq(base, host);
}

#endif
