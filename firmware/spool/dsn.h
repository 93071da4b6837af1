/*
 * firmware/spool/dsn.h — delivery status notifications (RFC 3464, RFC 3462
 * multipart/report, RFC 6522) for the queue: "failed" (bounce) and
 * "delayed" (warning) reports to the envelope sender.
 *
 * Model. The queue fills a struct dsn_report (all strings borrowed, valid
 * during the call) and dsn_write() emits the whole message, header and body,
 * through put() in pieces: CRLF lines of at most 998 octets, ready to be the
 * body of a new queue entry whose envelope sender is <> (RFC 5321 4.5.5) and
 * whose one recipient is the original sender. The caller never asks for a
 * report about a message whose sender was <> (RFC 3464 and RFC 5321 6.1: no
 * bounce loops); queue.c enforces that.
 *
 * Layout:
 *   From: Mail Delivery System <MAILER-DAEMON@reporting_mta>
 *   Auto-Submitted: auto-replied (RFC 3834)
 *   Content-Type: multipart/report; report-type=delivery-status
 *     1. text/plain: what happened, for people
 *     2. message/delivery-status: per-message fields (Reporting-MTA,
 *        X-Zegel-Queue-ID, Arrival-Date), then per recipient Final-Recipient,
 *        Action failed|delayed, Status, Diagnostic-Code (smtp; the last
 *        reply), Last-Attempt-Date, and Will-Retry-Until when delayed
 *     3. text/rfc822-headers: the original header section (DKIM prefix
 *        included), as sent
 *
 * Signing is not done here: queue.c runs dsn_write() through the optional
 * signer of queue_set_dsn_signer() (DKIM with the host name's domain, when
 * that is a signing domain) and queues it unsigned otherwise.
 * No allocation, no I/O besides put(), clock passed in.
 */
#ifndef ZEGEL_SPOOL_DSN_H
#define ZEGEL_SPOOL_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zegel/config.h"

#define DSN_RCPT_MAX CONFIG_SMTP_MAX_RECIPIENTS

struct dsn_rcpt {
	const char *addr;
	int code;                   /* last SMTP reply code, 0 none */
	const char *esc;            /* "5.1.1", "" or NULL: derived from code */
	const char *text;           /* last reply text, may be "" */
	int64_t last_attempt;
};

struct dsn_report {
	const char *reporting_mta;  /* our host name */
	const char *orig_id;        /* queue id of the original */
	const char *orig_from;      /* original envelope sender = To: of the DSN */
	int64_t arrival, now, retry_until;
	bool delayed;               /* Action: delayed (warning) instead of failed */
	unsigned nrcpt;
	struct dsn_rcpt rcpt[DSN_RCPT_MAX];
	const char *headers;        /* original header section, CRLF lines */
	size_t headers_len;
};

typedef int (*dsn_put_fn)(void *arg, const void *p, size_t n);

/* Emit the report; 0 or the first non-zero put() result. */
int dsn_write(const struct dsn_report *r, dsn_put_fn put, void *arg);

/* RFC 5322 3.3 date-time in UTC ("Sun, 29 Nov 2026 06:30:00 +0000"). */
void dsn_date(int64_t t, char out[40]);

#endif
