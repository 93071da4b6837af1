/*
 * The SPF check of `check domain` (RFC 7208): may the relay path send for
 * the domain? Placeholder until the SPF evaluator is merged: the record's
 * presence and its final qualifier.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/app/check_domain_int.h"
#include "zegel/text.h"

static bool spf_asked;

static void
spf_begin(void)
{
	spf_asked = false;
}

static bool
spf_ask(char *name, size_t cap, uint16_t *type)
{
	if (spf_asked)
		return false;
	spf_asked = true;
	zegel_strf(name, cap, "%s", cd.domain);
	*type = DNS_T_TXT;
	return true;
}

static bool
is_spf(const char *t, size_t l)
{
	return l >= 6 && strncasecmp(t, "v=spf1", 6) == 0 && (l == 6 || t[6] == ' ');
}

static void
spf_answer(const struct dns_result *res)
{
	char fix[400];
	unsigned n = 0;
	int l;

	if (cd_dns_trouble(res, "spf", cd.domain))
		return;
	zegel_strf(fix, sizeof(fix), "%s. IN TXT \"v=spf1 ip4:ADDRESS -all\"", cd.domain);
	for (unsigned i = 0; (l = cd_txt(res, i)) >= 0; i++)
		n += is_spf(cd.txt, (size_t)l);
	if (n == 0)
		cd_item(CD_FAIL, "spf", fix, "%s: no SPF record", cd.domain);
	else if (n > 1)
		cd_item(CD_FAIL, "spf", fix, "%s: %u SPF records: permerror (RFC 7208 4.5)",
		    cd.domain, n);
	else
		cd_item(CD_PASS, "spf", NULL, "%s: one SPF record", cd.domain);
}

const struct cd_phase cd_phase_spf = {
	.name = "spf", .begin = spf_begin, .ask = spf_ask, .answer = spf_answer,
};
