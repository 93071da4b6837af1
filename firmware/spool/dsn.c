/*
 * RFC 3464 delivery status notifications (see dsn.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firmware/spool/dsn.h"

struct out {
	dsn_put_fn put;
	void *arg;
	int rc;
	char line[1100];
};

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void
dsn_emit(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->rc != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->line, sizeof(o->line), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(o->line))
		n = (int)sizeof(o->line) - 1;
	/* every piece is one or more whole lines; keep them within 998 octets */
	o->rc = o->put(o->arg, o->line, (size_t)n);
}

void
dsn_date(int64_t t, char out[40])
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const mons[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul",
		"Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, 40, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
	    tm.tm_mday, mons[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
}

static bool
ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

static void
status_of(const struct dsn_rcpt *r, char out[12])
{
	if (r->esc != NULL && r->esc[0] != 0)
		snprintf(out, 12, "%s", r->esc);
	else if (r->code >= 200 && r->code < 600)
		snprintf(out, 12, "%d.0.0", r->code / 100);
	else
		snprintf(out, 12, "4.0.0");
}

int
dsn_write(const struct dsn_report *r, dsn_put_fn put, void *arg)
{
	static struct out o;
	char date[40], d2[40], st[12], boundary[64];

	o.put = put;
	o.arg = arg;
	o.rc = 0;
	dsn_date(r->now, date);
	snprintf(boundary, sizeof(boundary), "%.20s.%lld/zegel", r->orig_id, (long long)r->now);

	dsn_emit(&o, "From: Mail Delivery System <MAILER-DAEMON@%.200s>\r\n", r->reporting_mta);
	dsn_emit(&o, "To: <%.400s>\r\n", r->orig_from);
	dsn_emit(&o, "Subject: %s\r\n", r->delayed ? "Delayed Mail (still being retried)" :
	    "Undelivered Mail Returned to Sender");
	dsn_emit(&o, "Date: %s\r\n", date);
	dsn_emit(&o, "Message-ID: <%lld.%.20s.%s@%.200s>\r\n", (long long)r->now, r->orig_id,
	    r->delayed ? "delay" : "bounce", r->reporting_mta);
	dsn_emit(&o, "Auto-Submitted: auto-replied\r\n");
	dsn_emit(&o, "MIME-Version: 1.0\r\n");
	dsn_emit(&o, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n", boundary);
	dsn_emit(&o, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	/* 1: for people */
	dsn_emit(&o, "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\n", boundary);
	dsn_emit(&o, "This is the mail system at host %.200s.\r\n\r\n", r->reporting_mta);
	if (r->delayed) {
		dsn_date(r->retry_until, d2);
		dsn_emit(&o, "Your message could not be delivered yet to the recipients below.\r\n"
		    "It will be retried until %s.\r\nYou do not need to send it again.\r\n\r\n", d2);
	} else {
		dsn_emit(&o, "Your message could not be delivered to the recipients below.\r\n"
		    "This is a permanent error; it will not be retried.\r\n\r\n");
	}
	for (unsigned i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *p = &r->rcpt[i];

		if (p->code)
			dsn_emit(&o, "<%.400s>: %d %.400s\r\n", p->addr, p->code, p->text ? p->text : "");
		else
			dsn_emit(&o, "<%.400s>: %.400s\r\n", p->addr, p->text ? p->text : "");
	}
	dsn_emit(&o, "\r\n");

	/* 2: RFC 3464 2.2 per-message, 2.3 per-recipient fields */
	dsn_date(r->arrival, d2);
	dsn_emit(&o, "--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n", boundary);
	dsn_emit(&o, "Reporting-MTA: dns; %.200s\r\nX-Zegel-Queue-ID: %.20s\r\n"
	    "Arrival-Date: %s\r\n", r->reporting_mta, r->orig_id, d2);
	for (unsigned i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *p = &r->rcpt[i];

		status_of(p, st);
		/* RFC 6533 3: utf-8 address type for internationalised addresses */
		dsn_emit(&o, "\r\nFinal-Recipient: %s; %.400s\r\nAction: %s\r\nStatus: %s\r\n",
		    ascii(p->addr) ? "rfc822" : "utf-8", p->addr,
		    r->delayed ? "delayed" : "failed", st);
		if (p->code)
			dsn_emit(&o, "Diagnostic-Code: smtp; %d %s%s%.400s\r\n", p->code,
			    p->esc && p->esc[0] ? p->esc : "", p->esc && p->esc[0] ? " " : "",
			    p->text ? p->text : "");
		dsn_date(p->last_attempt, d2);
		dsn_emit(&o, "Last-Attempt-Date: %s\r\n", d2);
		if (r->delayed) {
			dsn_date(r->retry_until, d2);
			dsn_emit(&o, "Will-Retry-Until: %s\r\n", d2);
		}
	}
	dsn_emit(&o, "\r\n");

	/* 3: the original header section */
	dsn_emit(&o, "--%s\r\nContent-Description: Undelivered Message Headers\r\n"
	    "Content-Type: text/rfc822-headers\r\n\r\n", boundary);
	if (o.rc == 0 && r->headers_len > 0)
		o.rc = put(arg, r->headers, r->headers_len);
	dsn_emit(&o, "\r\n--%s--\r\n", boundary);
	return o.rc;
}
