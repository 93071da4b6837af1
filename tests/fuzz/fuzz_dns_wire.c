/* libFuzzer: the DNS message parser and everything that reads its output
 * (presentation format, canonical rdata, canonical name order, bitmaps),
 * plus the text parsers (names, zone-file records). Seeds: answers recorded
 * from the e2e tree (tests/fuzz/corpus/dns_wire). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "firmware/dns/transport.h"
#include "firmware/dns/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct dns_msg m;
	static char text[70000];
	static uint8_t canon[65536];

	if (dns_msg_parse(&m, p, n) == DNS_E_OK) {
		for (unsigned i = 0; i < m.nrr; i++) {
			const struct dns_rr *rr = &m.rr[i];
			(void)dns_rr_to_text(rr->owner, rr->type, rr->ttl, rr->rdata, rr->rdlen, text,
			    sizeof(text));
			(void)dns_rdata_canonical(rr->type, rr->rdata, rr->rdlen, canon);
			if (i > 0)
				(void)dns_name_cmp(rr->owner, m.rr[i - 1].owner);
			(void)dns_bitmap_has(rr->rdata, rr->rdlen, DNS_T_DS);
		}
		if (m.qnlen)
			(void)dns_answer_matches(p, n, m.id, m.qname, m.qtype);
	}
	/* the same bytes as text */
	if (n < sizeof(text)) {
		uint8_t owner[DNS_NAME_MAX], rd[4096];
		uint16_t ol, type, rdlen;
		memcpy(text, p, n);
		text[n] = '\0';
		(void)dns_name_from_text(text, owner, &ol);
		(void)dns_rr_from_text(text, owner, &ol, &type, rd, sizeof(rd), &rdlen);
	}
	return 0;
}
