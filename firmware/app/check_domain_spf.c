/*
 * The SPF check of `check domain` (RFC 7208) with the evaluator of
 * firmware/mailauth/spf.h, fed by the validating resolver:
 *
 *  1. the record as a stranger sees it: check_host() for 192.0.2.1
 *     (TEST-NET-1, RFC 5737, which no record lists): none, permerror (syntax,
 *     more than 10 lookups, a broken redirect chain) and temperror fail;
 *     the result says what the record's end does to forged mail: fail
 *     (-all) passes, softfail (~all) and neutral (?all) warn, pass (+all)
 *     fails.
 *  2. may the relay path send for the domain? Smarthost mode: every address
 *     of the smarthost (its A/AAAA records, or the address it is set to);
 *     direct mode: `set public-address IP`. Each must get pass.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/app/check_domain_int.h"
#include "zegel/text.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)
#include "firmware/mailauth/spf.h"

#define SPF_STRANGER "192.0.2.1"
#define SPF_IPS 8

static struct spf s;	/* ~30 KiB: .bss */
static struct {
	int stage;              /* ST_* */
	unsigned nips, cur;
	bool evaluating, stop;
	char ips[SPF_IPS][HAL_ADDR_IP_STRLEN];
	char relay[ZCFG_NAME_MAX];  /* "smarthost NAME" / "public address" */
} sp;

enum { ST_A, ST_AAAA, ST_EVAL, ST_END };

static const struct zcfg_relay *
relay(void)
{
	return cd.op.cfg != NULL ? &cd.op.cfg->relay : NULL;
}

static void
add_ip(const char *ip)
{
	if (sp.nips < SPF_IPS)
		zegel_strf(sp.ips[sp.nips++], sizeof(sp.ips[0]), "%s", ip);
}

/* The relay path's addresses known without DNS; ST_A when the smarthost is
 * a name to look up. */
static void
spf_begin(void)
{
	const struct zcfg_relay *r = relay();
	struct hal_addr a;

	memset(&sp, 0, sizeof(sp));
	add_ip(SPF_STRANGER);
	sp.stage = ST_EVAL;
	if (r != NULL && r->kind == ZCFG_RELAY_SMARTHOST) {
		zegel_strf(sp.relay, sizeof(sp.relay), "smarthost %s", r->host);
		if (hal_addr_parse(&a, r->host, 25) == 0)
			add_ip(r->host);
		else
			sp.stage = ST_A;
	} else if (r != NULL && r->kind == ZCFG_RELAY_DIRECT && cd.op.cfg->public_address_set) {
		char ip[HAL_ADDR_IP_STRLEN];

		hal_addr_format(&cd.op.cfg->public_address, false, ip, sizeof(ip));
		zegel_strf(sp.relay, sizeof(sp.relay), "public address");
		add_ip(ip);
	}
}

/* ------------------------------------------------------------ verdicts */

static void
judge_stranger(void)
{
	char fix[400];

	zegel_strf(fix, sizeof(fix), "%s. IN TXT \"v=spf1 ip4:ADDRESS-OF-YOUR-RELAY -all\"",
	    cd.domain);
	switch (s.result) {
	case SPF_FAIL:
		cd_item(CD_PASS, "spf", NULL, "%s: others get fail (%s), %u of 10 lookups%s",
		    cd.domain, s.mechanism, s.lookups, s.dnssec == DNS_SECURE ? "" :
		    " (insecure: not DNSSEC-signed)");
		return;
	case SPF_SOFTFAIL:
		cd_item(CD_WARN, "spf", "end the record with -all", "%s: others get softfail "
		    "(%s): forged mail is only marked", cd.domain, s.mechanism);
		return;
	case SPF_NEUTRAL:
		cd_item(CD_WARN, "spf", "end the record with -all", "%s: others get neutral "
		    "(%s): the record says nothing about forged mail", cd.domain,
		    s.mechanism[0] ? s.mechanism : "no all");
		return;
	case SPF_PASS:
		cd_item(CD_FAIL, "spf", "end the record with -all", "%s: anyone may send (%s)",
		    cd.domain, s.mechanism);
		return;
	case SPF_NONE:
		cd_item(CD_FAIL, "spf", fix, "%s: no SPF record (%s)", cd.domain, s.why);
		break;
	case SPF_PERMERROR:
		cd_item(CD_FAIL, "spf", "fix the record: at most 10 lookups (include, a, mx, ptr, "
		    "exists, redirect), every include/redirect target with a record",
		    "%s: permerror: %s", cd.domain, s.why);
		break;
	default:
		cd_item(CD_FAIL, "spf", NULL, "%s: temperror: %s", cd.domain, s.why);
		break;
	}
	sp.stop = true;	/* the relay's addresses would get the same */
}

static void
judge_relay(const char *ip)
{
	char fix[400];

	zegel_strf(fix, sizeof(fix), "add ip%c:%s to the SPF record of %s (before its all)",
	    strchr(ip, ':') ? '6' : '4', ip, cd.domain);
	if (s.result == SPF_PASS)
		cd_item(CD_PASS, "spf-relay", NULL, "%s (%s) may send for %s (%s)", sp.relay, ip,
		    cd.domain, s.mechanism);
	else
		cd_item(CD_FAIL, "spf-relay", fix, "%s (%s) gets %s for %s%s%s: receivers may "
		    "reject its mail", sp.relay, ip, spf_result_str(s.result), cd.domain,
		    s.mechanism[0] ? " by " : "", s.mechanism);
}

/* After the evaluations: a relay path that could not be asked about. */
static void
spf_end(void)
{
	const struct zcfg_relay *r = relay();

	if (sp.stop)
		return;
	if (r != NULL && r->kind == ZCFG_RELAY_DIRECT && !cd.op.cfg->public_address_set)
		cd_item(CD_WARN, "spf-relay", "set public-address IP (the router's address on the "
		    "Internet)", "direct mode without a public address: cannot ask whether "
		    "SPF allows it");
	else if (r != NULL && r->kind == ZCFG_RELAY_SMARTHOST && sp.nips == 1)
		cd_item(CD_FAIL, "spf-relay", NULL, "%s has no address", sp.relay);
}

/* ------------------------------------------------------------ the phase */

static bool
eval_ask(char *name, size_t cap, uint16_t *type)
{
	while (sp.cur < sp.nips && !sp.stop) {
		if (!sp.evaluating) {
			(void)spf_init(&s, sp.ips[sp.cur], cd.domain, "postmaster", cd.op.helo);
			sp.evaluating = true;
		}
		if (spf_next(&s, name, cap, type) == SPF_QUERY)
			return true;
		sp.evaluating = false;
		if (sp.cur == 0)
			judge_stranger();
		else
			judge_relay(sp.ips[sp.cur]);
		sp.cur++;
	}
	return false;
}

static bool
spf_ask(char *name, size_t cap, uint16_t *type)
{
	if (sp.stage == ST_A || sp.stage == ST_AAAA) {
		zegel_strf(name, cap, "%s", relay()->host);
		*type = sp.stage == ST_A ? DNS_T_A : DNS_T_AAAA;
		return true;
	}
	if (sp.stage == ST_EVAL && eval_ask(name, cap, type))
		return true;
	if (sp.stage == ST_EVAL)
		spf_end();
	sp.stage = ST_END;
	return false;
}

static void
addr_answer(const struct dns_result *res)
{
	for (unsigned k = 0; k < res->nrr; k++) {
		const struct dns_result_rr *rr = &res->rr[k];
		char ip[HAL_ADDR_IP_STRLEN];

		if ((rr->type == DNS_T_A && rr->rdlen == 4) || (rr->type == DNS_T_AAAA &&
		    rr->rdlen == 16)) {
			hal_addr_format_ip(rr->rdlen == 4 ? 4 : 6, res->data + rr->rd_off, ip,
			    sizeof(ip));
			add_ip(ip);
		}
	}
	sp.stage++;
}

static void
spf_answer_(const struct dns_result *res)
{
	if (sp.stage == ST_A || sp.stage == ST_AAAA)
		addr_answer(res);
	else
		spf_answer(&s, res);
}

const struct cd_phase cd_phase_spf = {
	.name = "spf", .begin = spf_begin, .ask = spf_ask, .answer = spf_answer_,
};

#else

static bool
spf_ask(char *name, size_t cap, uint16_t *type)
{
	(void)name;
	(void)cap;
	(void)type;
	cd_item(CD_WARN, "spf", NULL, "not checked: this firmware was built without DNSSEC support");
	return false;
}

const struct cd_phase cd_phase_spf = { .name = "spf", .ask = spf_ask };

#endif
