/*
 * The command-line tools on the event loop (tool_loop.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/app/tool_loop.h"
#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
#include "firmware/app/commands.h"
#include "firmware/config/config.h"

/* lwIP build: --config FILE names the zegel.conf whose `set lwip` lines
 * give the tool its interface (hal/lwip/README.md) */
static const char *lwip_conf;
#endif

static bool finished, timed_out;

int
tool_dns_option(struct tool_dns *t, int argc, char **argv, int *i)
{
	const char *o = argv[*i];
	struct zcfg *c = &t->cfg;

	if (*i + 1 >= argc)
		return 0;
	/* every tool says --resolver; --server is the old name of zegel resolve's */
	if (strcmp(o, "--resolver") == 0 || strcmp(o, "--server") == 0) {
		++*i;
		if (c->nresolvers >= 4 || hal_addr_parse(&c->resolvers[c->nresolvers], argv[*i],
		    53) != 0) {
			fprintf(stderr, "%s: bad or too many %s '%s'\n", t->prog, o, argv[*i]);
			return -1;
		}
		c->nresolvers++;
		return 1;
	}
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	if (strcmp(o, "--config") == 0) {
		lwip_conf = argv[++*i];
		return 1;
	}
#endif
	if (strcmp(o, "--anchor") == 0) {
		snprintf(c->resolver_anchors, sizeof(c->resolver_anchors), "%s", argv[++*i]);
		return 1;
	}
	if (t->with_now && strcmp(o, "--now") == 0) {
		char *end;
		long long v = strtoll(argv[++*i], &end, 10);

		if (*end || end == argv[*i] || v < 0) {
			fprintf(stderr, "%s: bad --now '%s'\n", t->prog, argv[*i]);
			return -1;
		}
		t->now_set = true;
		t->now = v;
		return 1;
	}
	return 0;
}

int
tool_dns_start(struct tool_dns *t, bool need_server)
{
	struct hal_addr probe[1];
	char err[200];

	if (need_server && t->cfg.nresolvers == 0 && resolver_resolv_conf(probe, 1) == 0) {
		fprintf(stderr, "%s: no %s and none in /etc/resolv.conf\n", t->prog, t->server_opt);
		return -1;
	}
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	if (lwip_conf != NULL) {
		config_init();
		if (config_load(lwip_conf, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s: %s\n", t->prog, lwip_conf, err);
			return -1;
		}
		if (app_lwip_start(zcfg_running()) != 0) {
			fprintf(stderr, "%s: the lwIP interface did not start (see the log)\n", t->prog);
			return -1;
		}
	} else {
		fprintf(stderr, "%s: lwIP build without --config FILE: no interface but lwIP's "
				"loopback\n", t->prog);
	}
#endif
	loop_init();
	(void)resolver_init();
	resolver_configure(&t->cfg);
	resolver_set_tool_options(t->now_set ? t->now : -1, t->tcp);
	finished = timed_out = false;
	if (need_server && resolver_check_anchors(err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", t->prog, err);
		return -1;
	}
	return 0;
}

static void
backstop(void *arg)
{
	(void)arg;
	timed_out = true;
	loop_stop();
}

int
tool_loop_run(uint32_t timeout_ms)
{
	int id;

	if (finished)
		return 0;
	id = loop_timer_add(timeout_ms, backstop, NULL);
	(void)loop_run();
	if (id >= 0 && !timed_out)
		loop_timer_cancel(id);
	return finished ? 0 : -ETIMEDOUT;
}

void
tool_loop_done(void)
{
	finished = true;
	loop_stop();
}

void
tool_emit_stdout(void *arg, const char *line)
{
	(void)arg;
	printf("%s\n", line);
	fflush(stdout);
}

void
tool_done_rc(void *arg, int rc)
{
	*(int *)arg = rc;
	tool_loop_done();
}
