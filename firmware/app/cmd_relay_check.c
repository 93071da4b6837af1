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

int
cmd_relay_check(int argc, char **argv)
{
	/* --resolver / --anchor for the smarthost's name */
	static struct tool_dns t;	/* large (a struct zcfg): .bss, filled here */
	struct zcfg_relay r;
	const char *helo = "localhost";
	unsigned timeout = 20;
	int i, k, rc = -1;

	t.prog = "zegel relay-check";
	t.server_opt = "--resolver";
	memset(&r, 0, sizeof(r));
	for (i = 1; i < argc; i++) {
		/* --ca-file as `set relay ca-file`; --ca is its old name */
		if ((strcmp(argv[i], "--ca-file") == 0 || strcmp(argv[i], "--ca") == 0) &&
		    i + 1 < argc)
			snprintf(r.ca_file, sizeof(r.ca_file), "%s", argv[++i]);
		else if ((k = tool_dns_option(&t, argc, argv, &i)) < 0)
			return 2;
		else if (k > 0)
			continue;
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
			fprintf(stderr, "usage: zegel relay-check [--ca-file FILE] [--implicit] "
			    "[--helo NAME] [--timeout S] [--resolver IP[:PORT]] [--anchor FILE] "
			    "HOST[:PORT]\n");
			return 2;
		}
	}
	if (r.host[0] == '\0') {
		fprintf(stderr, "relay-check: no host given\n");
		return 2;
	}
	(void)tool_dns_start(&t, false);
	if (smarthost_probe_start(&r, helo, timeout * 1000u, tool_emit_stdout, tool_done_rc,
	    &rc) != 0)
		return 1;
	/* the probe's own deadline covers the connection; the name lookups
	 * before it come on top, bounded by the resolver's limits */
	if (tool_loop_run(timeout * 1000u + 120000u) != 0) {
		tool_emit_stdout(NULL, "relay: FAILED: no verdict in time");
		return 1;
	}
	return rc == 0 ? 0 : 1;
}
