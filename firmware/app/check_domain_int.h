/*
 * firmware/app/check_domain_int.h — private to the check_domain*.c files:
 * the one job's state and the helpers the checks share.
 *
 * A check is a phase: ask() gives the next DNS question (false: the phase
 * is over, its verdicts said), answer() takes the validated result. A phase
 * may instead run a job (the inbound check runs dane-check): job() returns
 * true when it started one, which calls cd_resume() when it ends.
 */
#ifndef ZEGEL_APP_CHECK_DOMAIN_INT_H
#define ZEGEL_APP_CHECK_DOMAIN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/app/check_domain.h"
#include "firmware/dns/dns.h"

#define CD_TXT_MAX 4096      /* one TXT record, its strings joined */
#define CD_NAME_MAX (ZCFG_NAME_MAX + 80)

struct cd_phase {
	const char *name;
	void (*begin)(void);
	bool (*ask)(char *name, size_t cap, uint16_t *type);
	void (*answer)(const struct dns_result *res);
	bool (*job)(void);
};

struct cd_spf_state;

struct cd_state {
	bool running;
	struct cd_report r;
	char domain[ZCFG_NAME_MAX];
	char org[ZCFG_NAME_MAX];     /* the organisational domain (RFC 7489 3.2), or "" */
	struct cd_opts op;
	void (*done)(void *arg, int rc);
	void *done_arg;
	unsigned phase;
	int dns_id;
	enum dns_status zone;        /* of the DNSKEY lookup */
	bool zone_known;
	/* dkim */
	int key;                     /* index into op.cfg->keys, -1 before the first */
	unsigned nkeys, nrsa, ned25519;
	/* inbound */
	bool dane_verified_any;
	unsigned hosts_told, hosts_planned;
	/* mta-sts */
	bool sts_found;
	char sts_id[33];
	/* scratch */
	struct dns_result res;       /* a lookup that could not even be asked */
	char txt[CD_TXT_MAX];
};

extern struct cd_state cd;

/* the phases (check_domain_*.c) */
extern const struct cd_phase cd_phase_dnssec, cd_phase_dkim, cd_phase_spf, cd_phase_dmarc,
	cd_phase_mx, cd_phase_sts, cd_phase_tlsrpt;

/* The engine goes on after a job (check_domain.c). */
void cd_resume(void);

/* Helpers (check_domain.c). */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
void cd_item(enum cd_level l, const char *check, const char *fix, const char *fmt, ...);
/* A bogus or indeterminate answer: says so (fail) and returns true. */
bool cd_dns_trouble(const struct dns_result *res, const char *check, const char *name);
/* TXT record i (counting only TXT records) of res, its strings joined into
 * cd.txt: its length, or -1 when there is no such record / it was cut. */
int cd_txt(const struct dns_result *res, unsigned i);
/* " (insecure)" when the answer is not DNSSEC-validated, else "". */
const char *cd_sec(const struct dns_result *res);

#endif
