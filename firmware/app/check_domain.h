/*
 * firmware/app/check_domain.h — `zegel check-domain DOMAIN` and the console's
 * `check domain NAME`: are DKIM, SPF, DMARC, DNSSEC and DANE in order for a
 * domain this appliance signs and relays for?
 *
 * Model. One job at a time on the event loop (the daemon's, or the one
 * tool_loop.h sets up). check_domain_start() walks a fixed list of checks
 * (check_domain.c), each asking its questions one after another through the
 * validating resolver (resolver.h); the inbound check runs the dane-check
 * job (dane_check.h) for the per-host TLSA match. Each verdict is one line,
 * made by the report below, so the CLI and the console print the same text:
 *
 *   pass  dnssec: example.org is signed and secure from the root (13 ECDSAP256SHA256)
 *   fail  dmarc: no record at _dmarc.example.org
 *         fix: _dmarc.example.org. IN TXT "v=DMARC1; p=none; rua=mailto:..."
 *   summary: example.org: 9 pass, 1 warn, 1 fail
 *
 * The order of the lines is fixed (the checks run in sequence), and the
 * texts carry no times or counters that change between runs: two runs diff
 * cleanly. done(arg, rc): rc 0 all pass, 1 warnings, 2 failures.
 */
#ifndef ZEGEL_APP_CHECK_DOMAIN_H
#define ZEGEL_APP_CHECK_DOMAIN_H

#include <stdbool.h>
#include <stdint.h>

#include "zegel/cfg.h"

/* ------------------------------------------------------------ the report */

enum cd_level { CD_PASS = 0, CD_WARN, CD_FAIL };

struct cd_report {
	void (*emit)(void *arg, const char *line);
	void *arg;
	unsigned count[3];
};

/* One checklist line "LEVEL  CHECK: WHAT", then for warn/fail "      fix: FIX"
 * when fix is not NULL. */
#if defined(__GNUC__)
__attribute__((format(printf, 5, 6)))
#endif
void cd_report_item(struct cd_report *r, enum cd_level l, const char *check, const char *fix,
    const char *fmt, ...);
/* A line under the last item, indented (details such as "fix:" or "note:"). */
void cd_report_more(struct cd_report *r, const char *what, const char *text);
/* The last line: "summary: DOMAIN: N pass, N warn, N fail". */
void cd_report_summary(struct cd_report *r, const char *domain);
/* 0 all pass, 1 some warnings, 2 some failures. */
int cd_report_rc(const struct cd_report *r);

/* ------------------------------------------------------------ the job */

#define CD_BUDGET_MS 120000u         /* connections of the inbound check, CLI */
#define CD_CONSOLE_BUDGET_MS 30000u  /* on the console */

struct cd_opts {
	const struct zcfg *cfg;  /* keys (the keys module must hold them), relay, public address */
	uint16_t mx_port;        /* where the inbound check connects (25) */
	const char *helo;
	uint32_t budget_ms;
};

/* Start; the lines go to emit(arg, line), then done(done_arg, rc), from the
 * loop. -EBUSY: a check (or a dane-check) runs; -EINVAL: bad domain. */
int check_domain_start(const char *domain, const struct cd_opts *op,
    void (*emit)(void *arg, const char *line), void *arg, void (*done)(void *arg, int rc),
    void *done_arg);
bool check_domain_running(void);

#endif
