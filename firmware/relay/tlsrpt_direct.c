/*
 * Direct delivery's sessions in TLS-RPT's terms (tlsrpt_direct.h).
 */
#include <stdio.h>
#include <string.h>

#include "firmware/core/loop.h"
#include "firmware/relay/tlsrpt_direct.h"
#include "firmware/relay/tlsrpt_run.h"

static char pstr[TLSRPT_PSTR_MAX], mxhost[TLSRPT_MXHOST_MAX];

/* Append "a b\n" (b may be "") to buf; no room: the line is left out whole. */
static void
add_line(char *buf, size_t cap, const char *a, const char *b)
{
	size_t o = strlen(buf);
	int r = snprintf(buf + o, cap - o, "%s%s\n", a, b);

	if (r < 0 || (size_t)r >= cap - o)
		buf[o] = '\0';
}

static bool
sts_applies(const struct sts_req *sts, const struct mxplan_host *mh)
{
	return sts != NULL && sts->have && sts->pol.mode != STS_MODE_NONE &&
	    (mh == NULL || mh->tls != MXPLAN_DANE);
}

/* The policy fields of the row. */
static enum tlsrpt_ptype
policy(const struct sts_req *sts, const struct mxplan_host *mh)
{
	pstr[0] = mxhost[0] = '\0';
	if (mh != NULL && (mh->tls == MXPLAN_DANE || mh->tls == MXPLAN_SKIP)) {
		for (unsigned i = 0; i < mh->ntlsa; i++) {
			const struct dane_tlsa *t = &mh->tlsa[i];
			char line[16 + 2 * DANE_TLSA_DATA_MAX];
			int o = snprintf(line, sizeof(line), "%u %u %u ", t->usage, t->selector,
			    t->mtype);

			for (unsigned k = 0; k < t->len && o > 0 && (size_t)o + 3 < sizeof(line); k++)
				o += snprintf(line + o, sizeof(line) - (size_t)o, "%02X", t->data[k]);
			add_line(pstr, sizeof(pstr), line, "");
		}
		return TLSRPT_TLSA;
	}
	if (sts_applies(sts, mh)) {
		char age[24];

		add_line(pstr, sizeof(pstr), "version: STSv1", "");
		add_line(pstr, sizeof(pstr), "mode: ", sts_mode_str(sts->pol.mode));
		for (unsigned i = 0; i < sts->pol.nmx; i++) {
			add_line(pstr, sizeof(pstr), "mx: ", sts->pol.mx[i]);
			add_line(mxhost, sizeof(mxhost), sts->pol.mx[i], "");
		}
		snprintf(age, sizeof(age), "%lu", (unsigned long)sts->pol.max_age);
		add_line(pstr, sizeof(pstr), "max_age: ", age);
		return TLSRPT_STS;
	}
	return TLSRPT_NOPOLICY;
}

static void
note(const char *domain, enum tlsrpt_ptype pt, const struct mxplan_host *mh,
    const char *sip, const char *rip, enum tlsrpt_result r)
{
	struct tlsrpt_sess s = {
		.domain = domain, .ptype = pt, .pstr = pstr, .mxhost = mxhost, .result = r,
		.sending_ip = sip, .receiving_ip = rip, .mx = mh != NULL ? mh->name : "",
	};

	tlsrpt_note(&s);
}

void
tlsrpt_direct_session(const char *domain, const struct sts_req *sts,
    const struct mxplan_host *mh, const struct hal_addr *addr, const struct upstream *u)
{
	const struct smtpc_result *sr = smtpc_result(&u->smtp);
	char sip[HAL_ADDR_STRLEN] = "", rip[HAL_ADDR_STRLEN] = "";
	enum tlsrpt_ptype pt;
	enum tlsrpt_result r;
	struct hal_addr la;

	if (!tlsrpt_enabled())
		return;
	pt = policy(sts, mh);
	if (u->tls.handshaken && !u->tls.failed)
		r = TLSRPT_SUCCESS;
	else if (u->tls.failed && !u->tls.handshaken)
		switch (u->tls.kind) {
		case TLS_FAIL_NAME:
			r = TLSRPT_CERT_HOST_MISMATCH;
			break;
		case TLS_FAIL_EXPIRED:
			r = TLSRPT_CERT_EXPIRED;
			break;
		case TLS_FAIL_UNTRUSTED:
			/* DANE: no TLSA record matched the chain (4.3.2.2) */
			r = pt == TLSRPT_TLSA ? TLSRPT_TLSA_INVALID : TLSRPT_CERT_NOT_TRUSTED;
			break;
		default:
			r = TLSRPT_VALIDATION_FAILURE;
			break;
		}
	else if (sr->err == SMTPC_E_NO_STARTTLS || (!u->tls.started && smtpc_result(&u->smtp)->err ==
	    SMTPC_OK))
		r = TLSRPT_STARTTLS_NOT_SUPPORTED; /* refused for want of it, or sent in plaintext */
	else
		return; /* no TLS negotiation took place: not a TLS session */
	if (u->attached && u->h >= 0 && loop_local_addr(u->h, &la) == 0)
		hal_addr_format(&la, false, sip, sizeof(sip));
	if (addr != NULL)
		hal_addr_format(addr, false, rip, sizeof(rip));
	note(domain, pt, mh, sip, rip, r);
}

void
tlsrpt_direct_fail(const char *domain, const struct sts_req *sts,
    const struct mxplan_host *mh, enum tlsrpt_result r)
{
	if (!tlsrpt_enabled())
		return;
	note(domain, policy(sts, mh), mh, "", "", r);
}

void
tlsrpt_direct_sts(const char *domain, const struct sts_req *sts)
{
	if (!tlsrpt_enabled() || !sts->fetch_failed)
		return;
	pstr[0] = mxhost[0] = '\0';
	/* RFC 8460 4.3.2.2: the policy could not be had (a cached one may still apply) */
	note(domain, TLSRPT_STS, NULL, "", "",
	    sts->fail_kind == STS_FAIL_INVALID ? TLSRPT_STS_INVALID
	    : sts->fail_kind == STS_FAIL_WEBPKI ? TLSRPT_STS_WEBPKI_INVALID
						: TLSRPT_STS_FETCH_ERROR);
}
