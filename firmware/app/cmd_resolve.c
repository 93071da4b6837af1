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
#include "firmware/dns/dns.h"
#include "firmware/dns/transport.h"
#include "firmware/dns/resolver.h"
#include "hal/storage.h"
#include "hal/clock.h"

static struct dns_ctx resolve_ctx; /* large: keep it off the stack */
static struct dns_result resolve_res;

static int
usage(void)
{
	fprintf(stderr, "usage: zegel resolve [--server IP[:PORT] ...] [--anchor FILE] "
			"[--now UNIXTIME] [--tcp] TYPE NAME\n");
	return 2;
}

/* A small text file, NUL-terminated: 0 or -errno (-EFBIG: too large). */
static int
read_file(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	int rc = hal_storage_get(path, buf, cap - 1, &len);

	buf[rc == 0 ? len : 0] = '\0';
	return rc;
}

static void
resolv_conf(struct dns_transport *t)
{
	t->nservers = resolver_resolv_conf(t->servers, DNS_XFER_MAX_SERVERS);
}

int
cmd_resolve(int argc, char **argv)
{
	static struct dns_transport t;
	static char anchors[65536];
	const char *anchor_file = NULL;
	int64_t now = hal_clock_now();
	int i;
	uint16_t type;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--tcp") == 0) {
			t.tcp_only = true;
		} else if (strcmp(argv[i], "--server") == 0 && i + 1 < argc) {
			if (t.nservers >= DNS_XFER_MAX_SERVERS ||
			    hal_addr_parse(&t.servers[t.nservers], argv[++i], 53) != 0) {
				fprintf(stderr, "zegel resolve: bad or too many --server '%s'\n",
				    argv[i]);
				return 2;
			}
			t.nservers++;
		} else if (strcmp(argv[i], "--anchor") == 0 && i + 1 < argc) {
			anchor_file = argv[++i];
		} else if (strcmp(argv[i], "--now") == 0 && i + 1 < argc) {
			char *end;
			long long v = strtoll(argv[++i], &end, 10);
			if (*end || end == argv[i] || v < 0) {
				fprintf(stderr, "zegel resolve: bad --now '%s'\n", argv[i]);
				return 2;
			}
			now = v;
		} else {
			return usage();
		}
	}
	if (argc - i != 2)
		return usage();
	type = dns_type_from_text(argv[i]);
	if (type == 0 || type == DNS_T_OPT || type == DNS_T_ANY) {
		fprintf(stderr, "zegel resolve: unknown or unsupported type '%s'\n", argv[i]);
		return 2;
	}
	if (t.nservers == 0)
		resolv_conf(&t);
	if (t.nservers == 0) {
		fprintf(stderr, "zegel resolve: no --server and none in /etc/resolv.conf\n");
		return 2;
	}
	dns_ctx_init(&resolve_ctx, dns_transport_fetch, &t);
	if (anchor_file) {
		int line = 0, rc = read_file(anchor_file, anchors, sizeof(anchors));
		if (rc != 0) {
			fprintf(stderr, "zegel resolve: %s: %s\n", anchor_file, strerror(-rc));
			return 2;
		}
		if (dns_ctx_set_anchors(&resolve_ctx, anchors, &line) != 0) {
			fprintf(stderr,
			    "zegel resolve: %s:%d: expected DS or DNSKEY records for '.'\n",
			    anchor_file, line);
			return 2;
		}
	}
	if (dns_lookup(&resolve_ctx, argv[i + 1], type, now, &resolve_res) != 0) {
		fprintf(stderr, "zegel resolve: bad name '%s'\n", argv[i + 1]);
		return 2;
	}
	const struct dns_result *r = &resolve_res;
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

#else

int
cmd_resolve(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel resolve: built without CONFIG_FEATURE_DNSSEC\n");
	return 2;
}

#endif
