/*
 * zegel spf [--resolver IP[:PORT]] [--anchor FILE] [--now UNIXTIME] [--helo NAME]
 *           IP DOMAIN-or-SENDER
 *
 * RFC 7208 check_host() for IP and the domain (or the sender's domain) with
 * zegel's own SPF evaluator (firmware/mailauth/spf.h) over its own
 * DNSSEC-validating resolver (resolver.h), on the tool's event loop
 * (tool_loop.h). It says whether a host at IP may send mail with that
 * envelope sender; check-domain asks it about the relay's address.
 *
 * Output: the evaluation trail (one step per line: "record DOMAIN: TEXT
 * (STATUS)", "match: TERM in DOMAIN -> RESULT", "include:... -> ...", the
 * error for perm/temperror), then, last, the contract line
 *   spf: RESULT (N lookups, dnssec STATUS)
 * RESULT one of none neutral pass fail softfail temperror permerror; N the
 * DNS-querying terms counted against the limit of 10 (RFC 7208 4.6.4);
 * STATUS the weakest DNSSEC status of the answers used (secure, insecure,
 * bogus, indeterminate; "none" when nothing was looked up).
 *
 * Exit status (stable): 0 pass, 1 fail, 2 usage error, 3 softfail,
 * 4 neutral, 5 none, 6 permerror, 7 temperror.
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
#include "firmware/mailauth/spf.h"
#include "zegel/text.h"

#define SPF_TOOL_BACKSTOP_MS 300000 /* the resolver bounds each lookup itself */

static struct {
	struct spf s;
	struct dns_result res; /* for a lookup that could not even be asked */
	int rc;
} st; /* large: .bss */

static int
exit_code(enum spf_result r)
{
	switch (r) {
	case SPF_PASS:
		return 0;
	case SPF_FAIL:
		return 1;
	case SPF_SOFTFAIL:
		return 3;
	case SPF_NEUTRAL:
		return 4;
	case SPF_NONE:
		return 5;
	case SPF_PERMERROR:
		return 6;
	case SPF_TEMPERROR:
		return 7;
	}
	return 7;
}

static void spf_step(void);

static void
on_dns(void *arg, const struct dns_result *res)
{
	(void)arg;
	spf_answer(&st.s, res);
	spf_step();
}

/* Ask the evaluator's questions one by one; the verdict ends the loop. */
static void
spf_step(void)
{
	char name[SPF_NAME_MAX + 80];
	uint16_t qtype;

	while (spf_next(&st.s, name, sizeof(name), &qtype) == SPF_QUERY) {
		int id = resolver_lookup(name, qtype, on_dns, NULL);

		if (id >= 0)
			return;
		memset(&st.res, 0, offsetof(struct dns_result, data));
		st.res.status = DNS_INDETERMINATE;
		zegel_strf(st.res.reason, sizeof(st.res.reason), "%s %s",
		    id == -EINVAL ? "bad name" : "resolver busy for", name);
		spf_answer(&st.s, &st.res);
	}
	tool_loop_done();
}

static int
usage(void)
{
	fprintf(stderr,
	    "usage: zegel spf [--resolver IP[:PORT]] [--anchor FILE] [--now UNIXTIME] "
	    "[--helo NAME] IP DOMAIN-or-SENDER\n");
	return 2;
}

int
cmd_spf(int argc, char **argv)
{
	static struct tool_dns t; /* large (a struct zcfg): .bss, filled here */
	const char *helo = NULL, *arg, *at, *domain;
	int i, k;

	t.prog = "zegel spf";
	t.server_opt = "--resolver";
	t.with_now = true;
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if ((k = tool_dns_option(&t, argc, argv, &i)) < 0)
			return 2;
		if (k > 0)
			continue;
		if (strcmp(argv[i], "--helo") != 0 || i + 1 >= argc)
			return usage();
		helo = argv[++i];
	}
	if (argc - i != 2)
		return usage();
	arg = argv[i + 1];
	at = strrchr(arg, '@');
	domain = at != NULL ? at + 1 : arg;
	if (domain[0] == '\0' || strlen(arg) >= SPF_SENDER_MAX) {
		fprintf(stderr, "zegel spf: bad domain or sender '%s'\n", arg);
		return 2;
	}
	if (tool_dns_start(&t, true) != 0)
		return 2;
	if (spf_init(&st.s, argv[i], domain, arg, helo ? helo : domain) != 0) {
		fprintf(stderr, "zegel spf: bad IP address '%s'\n", argv[i]);
		return 2;
	}
	spf_step();
	if (!st.s.done && tool_loop_run(SPF_TOOL_BACKSTOP_MS) != 0) {
		printf("spf: temperror (no verdict in time)\n");
		return 7;
	}
	for (unsigned n = 0; n < st.s.ntrail; n++)
		printf("%s\n", st.s.trail[n]);
	printf("spf: %s (%u lookups, dnssec %s)\n", spf_result_str(st.s.result), st.s.lookups,
	    st.s.queries ? dns_status_str(st.s.dnssec) : "none");
	return exit_code(st.s.result);
}

#else

int
cmd_spf(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "zegel spf: this firmware was built without DNSSEC support\n");
	return 2;
}

#endif
