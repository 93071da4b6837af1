/*
 * zegel sts-check: the MTA-STS policy (RFC 8461) of a domain, as direct
 * delivery would find it (firmware/relay/sts.h: _mta-sts TXT through
 * zegel's validating resolver, the policy over HTTPS verified against the
 * CA bundle), and the verdict for each of the domain's MX hosts. Sends no
 * mail. With --data-dir the daemon's cache is read and refreshed as the
 * daemon would; without it nothing is written.
 * Exit 0: a policy was found (any mode); 1: none, or it could not be had.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "firmware/app/tool_loop.h"
#include "firmware/dns/resolver.h"
#include "firmware/dns/wire.h"
#include "firmware/relay/hostplan.h"
#include "firmware/relay/smarthost.h"
#include "firmware/relay/sts.h"

static struct sts_req sq;
static int rc = 1;

static void
on_mx(void *arg, const struct dns_result *res)
{
	char name[ZCFG_NAME_MAX], why[240];
	unsigned n = 0;

	(void)arg;
	if (res->status == DNS_BOGUS || res->status == DNS_INDETERMINATE) {
		printf("mta-sts: MX %s is %s: %s\n", sq.domain, dns_status_str(res->status),
		    res->reason);
		tool_loop_done();
		return;
	}
	for (unsigned k = 0; k < res->nrr; k++) {
		const struct dns_result_rr *rr = &res->rr[k];
		const uint8_t *rd = res->data + rr->rd_off;
		enum sts_host h;

		if (rr->type != DNS_T_MX || rr->rdlen < 3 ||
		    dns_name_len(rd + 2, rr->rdlen - 2) != (size_t)rr->rdlen - 2 ||
		    !hostplan_name(rd + 2, name, sizeof(name)) || name[0] == '\0')
			continue;
		n++;
		h = sts_host_check(&sq, name, why, sizeof(why));
		printf("mta-sts: MX %u %s: %s\n", (unsigned)(rd[0] << 8 | rd[1]), name,
		    h == STS_HOST_PKIX ? "matches: TLS required, certificate PKIX-valid for the "
					 "MX name (unless it publishes usable TLSA: DANE first)"
		    : h == STS_HOST_REFUSE ? "does not match any mx pattern: never used (4.7.5)"
		    : h == STS_HOST_REPORT ? "does not match any mx pattern: used anyway "
					     "(testing), logged"
					   : "no MTA-STS constraint");
	}
	if (n == 0)
		printf("mta-sts: %s has no MX host\n", sq.domain);
	tool_loop_done();
}

static void
on_sts(void *arg, struct sts_req *q)
{
	(void)arg;
	if (q->txt_id[0])
		printf("mta-sts: _mta-sts.%s id=%s\n", q->domain, q->txt_id);
	printf("mta-sts: %s\n", q->why);
	if (!q->have) {
		printf("mta-sts: no policy applies: delivery as without MTA-STS\n");
		tool_loop_done();
		return;
	}
	rc = 0;
	printf("mta-sts: policy: mode %s, max_age %u\n", sts_mode_str(q->pol.mode),
	    (unsigned)q->pol.max_age);
	for (unsigned i = 0; i < q->pol.nmx; i++)
		printf("mta-sts: policy: mx %s\n", q->pol.mx[i]);
	if (resolver_lookup(q->domain, DNS_T_MX, on_mx, NULL) < 0)
		tool_loop_done();
}

int
cmd_sts_check(int argc, char **argv)
{
	static struct tool_dns t;	/* large (a struct zcfg): .bss, filled here */
	const struct tls_client_conf *cc;
	const char *ca = NULL, *data_dir = NULL, *domain = NULL;
	char err[200];
	int i, k;

	t.prog = "sts-check";
	t.server_opt = "--resolver";
	t.with_now = false;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca = argv[++i];
		else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
			data_dir = argv[++i];
		else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			sq.port = (uint16_t)strtoul(argv[++i], NULL, 10);
		else if ((k = tool_dns_option(&t, argc, argv, &i)) < 0)
			return 2;
		else if (k > 0)
			continue;
		else if (argv[i][0] != '-' && domain == NULL)
			domain = argv[i];
		else {
			fprintf(stderr, "usage: zegel sts-check [--resolver IP[:PORT]] [--anchor FILE] "
			    "[--ca FILE] [--data-dir DIR] [--port N] DOMAIN\n");
			return 2;
		}
	}
	if (domain == NULL) {
		fprintf(stderr, "sts-check: no domain given\n");
		return 2;
	}
	if (tool_dns_start(&t, false) < 0)
		return 2;
	if (smarthost_tls_conf(ca, &cc, err, sizeof(err)) < 0) {
		fprintf(stderr, "sts-check: CA bundle: %s\n", err);
		return 2;
	}
	if (sts_start(&sq, domain, data_dir, cc, on_sts, NULL) < 0) {
		printf("mta-sts: %s\n", sq.why);
		return 1;
	}
	if (tool_loop_run(180000u) != 0) {
		printf("mta-sts: FAILED: no verdict in time\n");
		return 1;
	}
	return rc;
}
