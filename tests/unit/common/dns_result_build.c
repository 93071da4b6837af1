/* Hand-built resolver verdicts for tests (dns_result_build.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dns_result_build.h"

void
dnsres_init(struct dns_result *r, enum dns_status st)
{
	memset(r, 0, sizeof(*r));
	r->status = st;
	if (st == DNS_BOGUS)
		strcpy(r->reason, "RRSIG expired");
	if (st == DNS_INDETERMINATE) {
		strcpy(r->reason, "SERVFAIL from 127.0.0.1");
		r->network_error = true;
	}
}

void
dnsres_add(struct dns_result *r, const char *owner, uint16_t type, const uint8_t *rd, size_t n)
{
	uint8_t w[DNS_NAME_MAX];
	uint16_t wl;
	struct dns_result_rr *rr;

	assert_true(r->nrr < DNS_RESULT_MAX_RR);
	rr = &r->rr[r->nrr++];
	assert_int_equal(dns_name_from_text(owner, w, &wl), 0);
	assert_true(r->used + wl + n <= sizeof(r->data));
	rr->owner_off = (uint16_t)r->used;
	memcpy(r->data + r->used, w, wl);
	r->used += wl;
	rr->rd_off = (uint16_t)r->used;
	memcpy(r->data + r->used, rd, n);
	r->used += n;
	rr->rdlen = (uint16_t)n;
	rr->type = type;
	rr->ttl = 300;
}

void
dnsres_a(struct dns_result *r, const char *owner, uint8_t last)
{
	uint8_t rd[4] = { 192, 0, 2, last };

	dnsres_add(r, owner, DNS_T_A, rd, 4);
}

void
dnsres_cname(struct dns_result *r, const char *owner, const char *target)
{
	uint8_t rd[DNS_NAME_MAX];
	uint16_t wl;

	assert_int_equal(dns_name_from_text(target, rd, &wl), 0);
	dnsres_add(r, owner, DNS_T_CNAME, rd, wl);
}
