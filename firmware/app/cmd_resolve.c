/*
 * zegel resolve [--server IP[:PORT] ...] [--anchor FILE] [--now UNIXTIME] [--tcp] TYPE NAME
 *
 * Looks NAME/TYPE up through the given recursive resolvers (default: the
 * nameservers of /etc/resolv.conf), validates it with zegel's own DNSSEC
 * validator and prints the answer records in presentation format, then as
 * the last line one of
 *   status: secure | status: insecure | status: bogus (REASON) | status: indeterminate (REASON)
 * Exit: 0 secure/insecure, 1 bogus/indeterminate, 2 usage or network error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_FEATURE_DNSSEC)
#include "firmware/app/tool_loop.h"
#include "firmware/dns/dns.h"
#include "firmware/dns/resolver.h"

static int
usage(void)
{
	fprintf(stderr, "usage: zegel resolve [--resolver IP[:PORT] ...] [--anchor FILE] "
			"[--now UNIXTIME] [--tcp] TYPE NAME\n");
	return 2;
}

/* The answer, printed from the resolver's callback (res lives only there). */
static int
print_result(const struct dns_result *r)
{
	for (unsigned k = 0; k < r->nrr; k++) {
		static char line[16384];
		const struct dns_result_rr *rr = &r->rr[k];
		if (dns_rr_to_text(r->data + rr->owner_off, rr->type, rr->ttl, r->data + rr->rd_off,
			rr->rdlen, line, sizeof(line)) == 0)
			printf("%s\n", line);
	}
	if (r->status == DNS_SECURE || r->status == DNS_INSECURE) {
		if (r->rcode == DNS_RCODE_NXDOMAIN)
			printf(";; NXDOMAIN\n");
		else if (r->nrr == 0)
			printf(";; NODATA\n");
	}
	fprintf(stderr, ";; %u queries, %u signature checks, %u NSEC3 hashes%s%s\n", r->queries,
	    r->sig_checks, r->nsec3_hashes, r->status == DNS_INSECURE && r->reason[0] ? "; " : "",
	    r->status == DNS_INSECURE ? r->reason : "");
	switch (r->status) {
	case DNS_SECURE:
	case DNS_INSECURE:
		printf("status: %s\n", dns_status_str(r->status));
		return 0;
	case DNS_BOGUS:
	case DNS_INDETERMINATE:
		printf("status: %s (%s; EDE %u)\n", dns_status_str(r->status), r->reason, r->ede);
		return r->network_error ? 2 : 1;
	}
	return 1;
}

static void
answered(void *arg, const struct dns_result *res)
{
	*(int *)arg = print_result(res);
	tool_loop_done();
}

int
cmd_resolve(int argc, char **argv)
{
	static struct tool_dns t;	/* large (a struct zcfg): .bss, filled here */
	int i, k, rc = 2;
	uint16_t type;

	t.prog = "zegel resolve";
	t.server_opt = "--resolver";
	t.with_now = true;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--tcp") == 0)
			t.tcp = true;
		else if ((k = tool_dns_option(&t, argc, argv, &i)) < 0)
			return 2;
		else if (k == 0)
			return usage();
	}
	if (argc - i != 2)
		return usage();
	type = dns_type_from_text(argv[i]);
	if (type == 0 || type == DNS_T_OPT || type == DNS_T_ANY) {
		fprintf(stderr, "zegel resolve: unknown or unsupported type '%s'\n", argv[i]);
		return 2;
	}
	if (tool_dns_start(&t, true) != 0)
		return 2;
	if (resolver_lookup(argv[i + 1], type, answered, &rc) < 0) {
		fprintf(stderr, "zegel resolve: bad name '%s'\n", argv[i + 1]);
		return 2;
	}
	/* the resolver's own limits (DNS_XFER_* per query, the work budgets)
	 * end every lookup; the backstop only guards against a stuck loop */
	if (tool_loop_run(600000) != 0) {
		fprintf(stderr, "zegel resolve: no verdict in time\n");
		return 2;
	}
	return rc;
}

#else

int
cmd_resolve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel resolve: this firmware was built without DNSSEC support\n");
	return 2;
}

#endif
