/*
 * firmware/app/dane_check.h — the dane-check job (cmd_dane_check.c) for
 * other tools on the event loop: `check domain` (check_domain.c) runs it
 * to learn, per MX host, whether the TLSA records match what the host
 * serves.
 *
 * dane_check_start() plans the route (MX, A/AAAA, TLSA through the
 * validating resolver), calls o->plan once with the finished plan, connects
 * to the hosts in MX order and calls o->host once per host with its
 * verdict, then done(arg, 0 | 1 deferred). Every line dane-check prints goes
 * to o->emit. One job at a time (-EBUSY).
 */
#ifndef ZEGEL_APP_DANE_CHECK_H
#define ZEGEL_APP_DANE_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "firmware/relay/mxplan.h"

enum dc_verdict { DC_FAILED = 0, DC_VERIFIED, DC_ENCRYPTED, DC_PLAINTEXT };

struct dc_out {
	void (*emit)(void *arg, const char *line);
	void *arg;
	/* optional: the plan once the DNS is done; each host's verdict */
	void (*plan)(void *arg, const struct mxplan *p);
	void (*host)(void *arg, const struct mxplan_host *h, enum dc_verdict v, const char *why);
};

struct dc_opts {
	uint16_t port;
	const char *helo;
	uint32_t budget_ms;     /* for all connections together */
	bool all_hosts;         /* try every MX host, not only until one works */
};

int dane_check_start(const struct dc_out *o, const char *domain, const struct dc_opts *op,
    void (*done)(void *arg, int rc), void *arg);

#endif
