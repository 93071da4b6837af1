/*
 * tests/unit/common/dns_result_build.h — build struct dns_result values by
 * hand for tests of code that consumes resolver verdicts (mxplan,
 * hostaddr): a status with a typical reason, then records one by one.
 */
#ifndef ZEGEL_TESTS_DNS_RESULT_BUILD_H
#define ZEGEL_TESTS_DNS_RESULT_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/dns/dns.h"

/* Empty result with status st (bogus and indeterminate get a reason; an
 * indeterminate one is a network error). */
void dnsres_init(struct dns_result *r, enum dns_status st);
/* One record: owner in presentation form, rdata as on the wire, TTL 300. */
void dnsres_add(struct dns_result *r, const char *owner, uint16_t type, const uint8_t *rd,
    size_t n);
void dnsres_a(struct dns_result *r, const char *owner, uint8_t last);   /* 192.0.2.last */
void dnsres_cname(struct dns_result *r, const char *owner, const char *target);

#endif
