/*
 * The command-line tools on the event loop (tool_loop.h).
 */
#include <errno.h>
#include <stdbool.h>

#include "firmware/app/tool_loop.h"
#include "firmware/core/loop.h"
#include "firmware/dns/resolver.h"

static bool finished, timed_out;

void
tool_loop_init(const struct zcfg *cfg)
{
	loop_init();
	(void)resolver_init();
	resolver_configure(cfg);
	finished = timed_out = false;
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
	int t;

	if (finished)
		return 0;
	t = loop_timer_add(timeout_ms, backstop, NULL);
	(void)loop_run();
	if (t >= 0 && !timed_out)
		loop_timer_cancel(t);
	return finished ? 0 : -ETIMEDOUT;
}

void
tool_loop_done(void)
{
	finished = true;
	loop_stop();
}
