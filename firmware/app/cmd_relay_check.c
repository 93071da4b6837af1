/*
 * zegel relay-check: what `test relay` does on the console, from the shell:
 * connect to a smarthost, STARTTLS (or implicit TLS), verify its certificate,
 * EHLO, QUIT. Sends no mail. Exit 0 if TLS was verified. A host name is
 * looked up with zegel's validating resolver (--resolver, default the
 * nameservers of /etc/resolv.conf; --anchor as `zegel resolve`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "firmware/app/tool_loop.h"
#include "firmware/relay/smarthost.h"

static void
emit(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

static void
probed(void *arg, int rc)
{
	*(int *)arg = rc;
	tool_loop_done();
}

int
cmd_relay_check(int argc, char **argv)
{
	static struct zcfg dns; /* --resolver / --anchor for the smarthost's name */
	struct zcfg_relay r;
	const char *helo = "localhost";
	unsigned timeout = 20;
	int i, rc = -1;

	memset(&r, 0, sizeof(r));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			snprintf(r.ca_file, sizeof(r.ca_file), "%s", argv[++i]);
		else if (strcmp(argv[i], "--resolver") == 0 && i + 1 < argc) {
			if (dns.nresolvers >= 4 ||
			    hal_addr_parse(&dns.resolvers[dns.nresolvers], argv[++i], 53) != 0) {
				fprintf(stderr, "relay-check: bad or too many --resolver '%s'\n",
				    argv[i]);
				return 2;
			}
			dns.nresolvers++;
		} else if (strcmp(argv[i], "--anchor") == 0 && i + 1 < argc)
			snprintf(dns.resolver_anchors, sizeof(dns.resolver_anchors), "%s", argv[++i]);
		else if (strcmp(argv[i], "--implicit") == 0)
			r.implicit_tls = true;
		else if (strcmp(argv[i], "--helo") == 0 && i + 1 < argc)
			helo = argv[++i];
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = (unsigned)strtoul(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && r.host[0] == '\0') {
			const char *colon = strrchr(argv[i], ':');
			size_t n = strlen(argv[i]);
			if (colon && strchr(argv[i], ':') == colon) {
				n = (size_t)(colon - argv[i]);
				r.port = (uint16_t)strtoul(colon + 1, NULL, 10);
			}
			if (n >= sizeof(r.host)) {
				fprintf(stderr, "relay-check: host name too long\n");
				return 2;
			}
			memcpy(r.host, argv[i], n);
			r.host[n] = '\0';
		} else {
			fprintf(stderr, "usage: zegel relay-check [--ca FILE] [--implicit] "
			    "[--helo NAME] [--timeout S] [--resolver IP[:PORT]] [--anchor FILE] "
			    "HOST[:PORT]\n");
			return 2;
		}
	}
	if (r.host[0] == '\0') {
		fprintf(stderr, "relay-check: no host given\n");
		return 2;
	}
	tool_loop_init(&dns);
	if (smarthost_probe_start(&r, helo, timeout * 1000u, emit, probed, &rc) != 0)
		return 1;
	/* the probe's own deadline covers the connection; the name lookups
	 * before it come on top, bounded by the resolver's limits */
	if (tool_loop_run(timeout * 1000u + 120000u) != 0) {
		emit(NULL, "relay: FAILED: no verdict in time");
		return 1;
	}
	return rc == 0 ? 0 : 1;
}
