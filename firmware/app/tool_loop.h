/*
 * firmware/app/tool_loop.h — the command-line tools (`zegel resolve`,
 * `relay-check`, `dane-check`) on the daemon's own event loop: the same
 * resolver, probe and planner jobs, with no blocking twin of any of them.
 *
 *   tool_loop_init(cfg)      loop_init, resolver_init, resolver_configure(cfg)
 *   start a job whose completion callback calls tool_loop_done()
 *   tool_loop_run(ms)        0 when done, -ETIMEDOUT after ms (a backstop:
 *                            the jobs have their own time limits)
 */
#ifndef ZEGEL_APP_TOOL_LOOP_H
#define ZEGEL_APP_TOOL_LOOP_H

#include <stdint.h>

#include "zegel/cfg.h"

void tool_loop_init(const struct zcfg *cfg);
int tool_loop_run(uint32_t timeout_ms);
void tool_loop_done(void);

#endif
