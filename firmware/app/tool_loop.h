/*
 * firmware/app/tool_loop.h — the command-line tools (`zegel resolve`,
 * `relay-check`, `dane-check`) on the daemon's own event loop: the same
 * resolver, probe and planner jobs, with no blocking twin of any of them.
 *
 *   static struct tool_dns t = { .prog = "zegel resolve", .server_opt = "--resolver",
 *                                .with_now = true };
 *   for each option: tool_dns_option(&t, argc, argv, &i)   1 taken, 0 not a DNS one, -1 bad
 *   tool_dns_start(&t, true)   loop_init, resolver_init, servers / anchors / --now
 *   start a job whose completion callback calls tool_loop_done()
 *   tool_loop_run(ms)          0 when done, -ETIMEDOUT after ms (a backstop:
 *                              the jobs have their own time limits)
 */
#ifndef ZEGEL_APP_TOOL_LOOP_H
#define ZEGEL_APP_TOOL_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#include "zegel/cfg.h"

struct tool_dns {
	const char *prog;        /* message prefix: "zegel resolve" */
	const char *server_opt;  /* "--resolver" (--server is taken as its alias) */
	bool with_now;           /* --now UNIXTIME is an option */
	/* from the options */
	struct zcfg cfg;         /* resolvers, resolver_anchors */
	bool now_set;
	int64_t now;
	bool tcp;                /* set by the caller (zegel resolve --tcp) */
};

/* argv[*i] is --resolver IP[:PORT] (at most 4; --server also), --anchor FILE or (with_now)
 * --now UNIXTIME: 1, *i at its value; 0 not one of them; -1 a bad value (said
 * on stderr: exit 2). */
int tool_dns_option(struct tool_dns *t, int argc, char **argv, int *i);
/* The loop and the resolver for t: its servers, else /etc/resolv.conf (with
 * need_server, none at all is an error), else 127.0.0.1; its anchors are
 * loaded now. 0, or -1 (said on stderr: exit 2). */
int tool_dns_start(struct tool_dns *t, bool need_server);

int tool_loop_run(uint32_t timeout_ms);
void tool_loop_done(void);

/* Callbacks for the jobs: a line to stdout; done(arg = int *rc). */
void tool_emit_stdout(void *arg, const char *line);
void tool_done_rc(void *arg, int rc);

#endif
