/*
 * The `check domain` engine (check_domain.h): the phases in order, one DNS
 * question at a time through the validating resolver, then the summary.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/app/check_domain_int.h"
#include "firmware/dns/resolver.h"
#include "zegel/text.h"

struct cd_state cd;	/* .bss: the one job (large: a dns_result) */

static const struct cd_phase *const phases[] = {
	&cd_phase_dnssec, &cd_phase_dkim, &cd_phase_spf, &cd_phase_dmarc,
	&cd_phase_mx, &cd_phase_sts, &cd_phase_tlsrpt,
};
#define NPHASES (sizeof(phases) / sizeof(phases[0]))

/* ------------------------------------------------------------ helpers */

void
cd_item(enum cd_level l, const char *check, const char *fix, const char *fmt, ...)
{
	char what[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	cd_report_item(&cd.r, l, check, fix, "%s", what);
}

bool
cd_dns_trouble(const struct dns_result *res, const char *check, const char *name)
{
	if (res->status == DNS_BOGUS) {
		cd_item(CD_FAIL, check, "re-sign the zone; check the DS record at the parent",
		    "%s: DNSSEC validation fails (bogus: %s)", name, res->reason);
		return true;
	}
	if (res->status == DNS_INDETERMINATE) {
		cd_item(CD_FAIL, check, NULL, "%s: could not be looked up (%s)", name, res->reason);
		return true;
	}
	return false;
}

const char *
cd_sec(const struct dns_result *res)
{
	return res->status == DNS_SECURE ? "" : " (insecure: not DNSSEC-signed)";
}

int
cd_txt(const struct dns_result *res, unsigned i)
{
	for (unsigned k = 0; k < res->nrr; k++) {
		const struct dns_result_rr *rr = &res->rr[k];
		const uint8_t *p = res->data + rr->rd_off;
		size_t o = 0, l = 0;

		if (rr->type != DNS_T_TXT || i-- > 0)
			continue;
		while (o < rr->rdlen) {
			size_t sl = p[o++];

			if (sl > rr->rdlen - o || l + sl >= sizeof(cd.txt))
				return -1;
			memcpy(cd.txt + l, p + o, sl);
			l += sl;
			o += sl;
		}
		cd.txt[l] = '\0';
		return (int)l;
	}
	return -1;
}

/* ------------------------------------------------------------ the engine */

static void step(void);

static void
finish(void)
{
	void (*done)(void *, int) = cd.done;

	cd_report_summary(&cd.r, cd.domain);
	cd.running = false;
	done(cd.done_arg, cd_report_rc(&cd.r));
}

static void
on_dns(void *arg, const struct dns_result *res)
{
	(void)arg;
	cd.dns_id = -1;
	phases[cd.phase]->answer(res);
	step();
}

/* A question the resolver would not even queue: answered indeterminate. */
static void
not_asked(const char *name, int err)
{
	memset(&cd.res, 0, offsetof(struct dns_result, data));
	cd.res.status = DNS_INDETERMINATE;
	zegel_strf(cd.res.reason, sizeof(cd.res.reason), "%s %s",
	    err == -EINVAL ? "bad name" : "resolver busy for", name);
	phases[cd.phase]->answer(&cd.res);
}

/* Ask the current phase's next question, or run its job, or go on to the
 * next phase; the summary after the last. */
static void
step(void)
{
	char name[CD_NAME_MAX];
	uint16_t type;

	while (cd.phase < NPHASES) {
		const struct cd_phase *p = phases[cd.phase];

		if (p->job != NULL) {
			if (p->job())
				return;
		} else {
			while (p->ask(name, sizeof(name), &type)) {
				int id = resolver_lookup(name, type, on_dns, NULL);

				if (id >= 0) {
					cd.dns_id = id;
					return;
				}
				not_asked(name, id);
			}
		}
		if (++cd.phase < NPHASES && phases[cd.phase]->begin != NULL)
			phases[cd.phase]->begin();
	}
	finish();
}

void
cd_resume(void)
{
	if (++cd.phase < NPHASES && phases[cd.phase]->begin != NULL)
		phases[cd.phase]->begin();
	step();
}

/* The organisational domain without the Public Suffix List: the last two
 * labels (RFC 7489 3.2 asks for the PSL, which zegel does not carry). */
static void
org_domain(const char *d, char *out, size_t cap)
{
	const char *last = strrchr(d, '.'), *p = d, *dot;

	out[0] = '\0';
	if (last == NULL)
		return;
	while ((dot = strchr(p, '.')) != NULL && dot != last)
		p = dot + 1;
	if (p != d)
		zegel_strf(out, cap, "%s", p);
}

bool
check_domain_running(void)
{
	return cd.running;
}

int
check_domain_start(const char *domain, const struct cd_opts *op,
    void (*emit)(void *arg, const char *line), void *arg, void (*done)(void *arg, int rc),
    void *done_arg)
{
	size_t l = strlen(domain);

	if (cd.running)
		return -EBUSY;
	if (l == 0 || l >= sizeof(cd.domain))
		return -EINVAL;
	memset(&cd, 0, offsetof(struct cd_state, res));
	cd.running = true;
	memcpy(cd.domain, domain, l + 1);
	if (l > 1 && cd.domain[l - 1] == '.')
		cd.domain[l - 1] = '\0';
	for (char *c = cd.domain; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	org_domain(cd.domain, cd.org, sizeof(cd.org));
	cd.op = *op;
	cd.r = (struct cd_report){ .emit = emit, .arg = arg };
	cd.done = done;
	cd.done_arg = done_arg;
	cd.dns_id = -1;
	if (phases[0]->begin != NULL)
		phases[0]->begin();
	step();
	return 0;
}
