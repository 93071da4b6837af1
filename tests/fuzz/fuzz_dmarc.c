/*
 * libFuzzer: RFC 7489 DMARC (firmware/mailauth/dmarc.c). The input is
 * split at the first newline: the first line is a record for dmarc_parse()
 * and a domain name for dmarc_org_domain_mem(), the rest a public suffix
 * list; the record is also fed to the discovery step machine as the TXT
 * answer of every question (status from the first byte).
 * Checks: terminated texts, counts within their arrays, policies in range,
 * an organisational domain that is the domain or a suffix of it.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "firmware/mailauth/dmarc.h"
#include "zegel/board.h"

static struct dmarc_record D;
static struct dmarc_find F;
static struct dns_result R;

static void
record_ok(const struct dmarc_record *r)
{
	assert(r->nerr <= DMARC_MSGS && r->nwarn <= DMARC_MSGS);
	for (unsigned i = 0; i < r->nerr; i++)
		assert(memchr(r->err[i], '\0', DMARC_MSG_LEN) != NULL);
	for (unsigned i = 0; i < r->nwarn; i++)
		assert(memchr(r->warn[i], '\0', DMARC_MSG_LEN) != NULL);
	assert(r->p <= DMARC_P_REJECT && r->sp <= DMARC_P_REJECT);
	assert(r->pct <= 100);
	assert(r->adkim == 'r' || r->adkim == 's');
	assert(r->aspf == 'r' || r->aspf == 's');
	assert(memchr(r->rua, '\0', sizeof(r->rua)) != NULL);
	assert(memchr(r->ruf, '\0', sizeof(r->ruf)) != NULL);
	assert(!r->usable || r->effective != DMARC_P_UNSET);
}

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static bool inited;
	char line[300], org[DMARC_NAME_MAX], name[DMARC_NAME_MAX + 8];
	const uint8_t *nl = memchr(d, '\n', n);
	size_t l = nl ? (size_t)(nl - d) : n;
	uint16_t qtype;
	int rounds = 0;

	if (!inited) {
		board_init();
		inited = true;
	}
	(void)dmarc_parse((const char *)d, l, &D);
	record_ok(&D);
	if (l < sizeof(line)) {
		memcpy(line, d, l);
		line[l] = '\0';
		if (dmarc_org_domain_mem(line, nl ? (const char *)nl + 1 : "", nl ? n - l - 1 : 0,
			org, sizeof(org)) == 0) {
			assert(strlen(org) > 0 && strlen(org) < sizeof(org));
		}
		dmarc_find_init(&F, line, org);
		while (dmarc_find_next(&F, name, sizeof(name), &qtype) == DMARC_QUERY) {
			uint8_t w[DNS_NAME_MAX];
			uint16_t wl;
			struct dns_result_rr *rr;

			assert(++rounds <= 2);
			memset(&R, 0, offsetof(struct dns_result, data));
			R.status = (enum dns_status)(n > 0 ? d[0] % 4 : 0);
			assert(dns_name_from_text(name, w, &wl) == DNS_E_OK);
			rr = &R.rr[R.nrr++];
			memcpy(R.data, w, wl);
			rr->rd_off = wl;
			R.data[wl] = (uint8_t)(l > 255 ? 255 : l);
			memcpy(R.data + wl + 1, d, R.data[wl]);
			rr->rdlen = (uint16_t)(R.data[wl] + 1);
			rr->type = DNS_T_TXT;
			dmarc_find_answer(&F, &R);
		}
		assert(F.found <= DMARC_TEMPERROR);
		assert(memchr(F.why, '\0', sizeof(F.why)) != NULL);
		if (F.found == DMARC_FOUND)
			record_ok(&F.rec);
	}
	return 0;
}
