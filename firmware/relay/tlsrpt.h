/*
 * firmware/relay/tlsrpt.h — SMTP TLS Reporting (RFC 8460): the counters of
 * direct delivery's TLS sessions per policy domain and UTC day, and the
 * aggregate report built from them (JSON, 4). Pure code: no I/O, no clock
 * (times are arguments), no logs. The event-loop side (the day file on
 * storage, the daily send, the console) is tlsrpt_run.h.
 *
 * Model. A struct tlsrpt_day (about 40 KiB, the caller's) holds one
 * period: [start, end] (end 0: the whole UTC day of start). One row per
 * (policy domain, policy type) with the policy's strings, the summary
 * counts and at most TLSRPT_DETAILS_MAX failure-detail rows (result type,
 * sending MTA IP, receiving MX name and IP, count). Bounded: a session of a
 * domain beyond TLSRPT_DOMAINS_MAX rows is counted in d->dropped_sessions
 * and otherwise lost; a failure whose detail row does not fit still counts
 * in the summary and in d->dropped_details. tlsrpt_day_add() says which
 * (the caller logs it).
 *
 *   tlsrpt_day_init(d, start)                 empty period
 *   tlsrpt_day_add(d, s)                      one session's outcome
 *   tlsrpt_day_format(d, buf, cap)            the file form (text lines)
 *   tlsrpt_day_parse(d, buf, n)               back (strict; 0 or -1)
 *   tlsrpt_json(d, domain, meta, out, cap)    the report for one policy
 *                                             domain (RFC 8460 4.3/4.4)
 *
 * Policy types (4.4 "policy-type"): sts, tlsa, no-policy-found. Result types
 * (4.3): tlsrpt_result_str().
 */
#ifndef ZEGEL_RELAY_TLSRPT_H
#define ZEGEL_RELAY_TLSRPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLSRPT_DOMAINS_MAX 16   /* rows (domain, policy type) per period */
#define TLSRPT_DETAILS_MAX 4    /* failure-detail rows per policy row */
#define TLSRPT_NAME_MAX 254
#define TLSRPT_IP_MAX 46
#define TLSRPT_PSTR_MAX 512     /* policy-string lines, '\n'-separated */
#define TLSRPT_MXHOST_MAX 256   /* mx-host lines, '\n'-separated */
#define TLSRPT_FILE_MAX (TLSRPT_DOMAINS_MAX * (TLSRPT_NAME_MAX + TLSRPT_PSTR_MAX + \
    TLSRPT_MXHOST_MAX + 200 + TLSRPT_DETAILS_MAX * (TLSRPT_NAME_MAX + 2 * TLSRPT_IP_MAX + 80)) + 200)

enum tlsrpt_ptype { TLSRPT_STS = 0, TLSRPT_TLSA, TLSRPT_NOPOLICY, TLSRPT_PTYPES };

enum tlsrpt_result {
	TLSRPT_SUCCESS = 0,
	/* 4.3.2.1 negotiation failures */
	TLSRPT_STARTTLS_NOT_SUPPORTED,
	TLSRPT_CERT_HOST_MISMATCH,
	TLSRPT_CERT_EXPIRED,
	TLSRPT_CERT_NOT_TRUSTED,
	TLSRPT_VALIDATION_FAILURE,
	/* 4.3.2.2 policy failures: DANE */
	TLSRPT_TLSA_INVALID,
	TLSRPT_DNSSEC_INVALID,
	TLSRPT_DANE_REQUIRED,
	/* MTA-STS */
	TLSRPT_STS_FETCH_ERROR,
	TLSRPT_STS_INVALID,
	TLSRPT_STS_WEBPKI_INVALID,
	TLSRPT_RESULTS
};

struct tlsrpt_detail {
	uint8_t result;                 /* enum tlsrpt_result */
	uint32_t count;
	char sending_ip[TLSRPT_IP_MAX];   /* "" unknown */
	char receiving_ip[TLSRPT_IP_MAX]; /* "" unknown */
	char mx[TLSRPT_NAME_MAX];         /* receiving-mx-hostname, "" none */
};

struct tlsrpt_pol {
	char domain[TLSRPT_NAME_MAX];   /* lower case */
	uint8_t ptype;                  /* enum tlsrpt_ptype */
	char pstr[TLSRPT_PSTR_MAX];     /* policy-string lines */
	char mxhost[TLSRPT_MXHOST_MAX]; /* mx-host lines (sts: the mx patterns) */
	uint32_t ok, fail;
	unsigned ndet;
	struct tlsrpt_detail det[TLSRPT_DETAILS_MAX];
};

struct tlsrpt_day {
	int64_t start;                  /* UNIX time: the UTC day's 00:00:00 */
	int64_t end;                    /* 0: start + 86399 */
	uint32_t dropped_sessions, dropped_details;
	unsigned npol;
	struct tlsrpt_pol pol[TLSRPT_DOMAINS_MAX];
};

/* One session's outcome (or a policy failure before any session). Strings
 * may be NULL or "" where unknown; pstr and mxhost are '\n'-separated lines
 * and taken the first time the row is made. */
struct tlsrpt_sess {
	const char *domain;
	enum tlsrpt_ptype ptype;
	const char *pstr, *mxhost;
	enum tlsrpt_result result;
	const char *sending_ip, *receiving_ip, *mx;
};

enum tlsrpt_add { TLSRPT_ADDED = 0, TLSRPT_NO_DETAIL, TLSRPT_NO_ROW };

const char *tlsrpt_ptype_str(enum tlsrpt_ptype t);
const char *tlsrpt_result_str(enum tlsrpt_result r);
int tlsrpt_result_parse(const char *s);   /* enum value, or -1 */

void tlsrpt_day_init(struct tlsrpt_day *d, int64_t start);
enum tlsrpt_add tlsrpt_day_add(struct tlsrpt_day *d, const struct tlsrpt_sess *s);
size_t tlsrpt_day_format(const struct tlsrpt_day *d, char *buf, size_t cap);
int tlsrpt_day_parse(struct tlsrpt_day *d, const char *buf, size_t n);
/* The period's last second. */
int64_t tlsrpt_day_last(const struct tlsrpt_day *d);

/* RFC 3339 "2026-12-06T00:00:00Z" */
void tlsrpt_datetime(int64_t t, char out[24]);

struct tlsrpt_meta {
	const char *org;        /* organization-name */
	const char *contact;    /* contact-info */
	const char *report_id;  /* report-id */
};
/* The JSON report (4) of every row of domain in d; length, or 0 if it does
 * not fit in cap (NUL included) or d has no row for domain. */
size_t tlsrpt_json(const struct tlsrpt_day *d, const char *domain, const struct tlsrpt_meta *m,
    char *out, size_t cap);

/*
 * The report mail (RFC 8460 5.3): CRLF lines, header first, ready to be
 * DKIM-signed and queued.
 *   From: <tlsrpt-noreply@SUBMITTER>, To: the rua mailboxes, Subject:
 *   "Report Domain: D Submitter: S Report-ID: <ID>", TLS-Report-Domain,
 *   TLS-Report-Submitter, Message-ID <ID>, Auto-Submitted: auto-generated,
 *   multipart/report; report-type="tlsrpt": a text/plain part for people,
 *   then application/tlsrpt+gzip (base64, 76-column lines) named
 *   "S!D!START!END.json.gz" (5.1, UNIX times).
 */
struct tlsrpt_mail {
	const char *submitter;      /* zegel's host name */
	const char *domain;         /* the policy domain */
	const char *report_id;
	const char *const *to;      /* nto addresses */
	unsigned nto;
	const char *date;           /* RFC 5322 date-time */
	const char *boundary;       /* [A-Za-z0-9] only */
	int64_t start, end;
	const uint8_t *gz;
	size_t gzlen;
};
/* Length written (NUL-terminated), or 0 if it does not fit in cap. */
size_t tlsrpt_mail_write(const struct tlsrpt_mail *m, char *out, size_t cap);

#endif
