/*
 * The TLS-RPT report mail (RFC 8460 5.3; tlsrpt.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dkim/dkim.h"
#include "firmware/relay/tlsrpt.h"

struct mo {
	char *buf;
	size_t cap, n;
	bool full;
};

static void
mf(struct mo *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
mf(struct mo *o, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (o->full)
		return;
	va_start(ap, fmt);
	r = vsnprintf(o->buf + o->n, o->cap - o->n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= o->cap - o->n) {
		o->full = true;
		return;
	}
	o->n += (size_t)r;
}

size_t
tlsrpt_mail_write(const struct tlsrpt_mail *m, char *out, size_t cap)
{
	struct mo o = { out, cap, 0, cap == 0 };
	char line[80];

	mf(&o, "From: TLS reporting <tlsrpt-noreply@%s>\r\n", m->submitter);
	mf(&o, "Date: %s\r\n", m->date);
	mf(&o, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n", m->domain,
	    m->submitter, m->report_id);
	mf(&o, "To: ");
	for (unsigned i = 0; i < m->nto; i++)
		mf(&o, "%s<%s>", i ? ",\r\n " : "", m->to[i]);
	mf(&o, "\r\nMessage-ID: <%s>\r\n", m->report_id);
	mf(&o, "TLS-Report-Domain: %s\r\nTLS-Report-Submitter: %s\r\n", m->domain, m->submitter);
	mf(&o, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
	mf(&o, "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n"
	    " boundary=\"%s\"\r\n\r\n", m->boundary);
	mf(&o, "This is a MIME-formatted message.\r\n\r\n--%s\r\n", m->boundary);
	mf(&o, "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n"
	    "\r\nThis is an aggregate TLS report (RFC 8460) from %s about %s.\r\n\r\n",
	    m->submitter, m->domain);
	mf(&o, "--%s\r\nContent-Type: application/tlsrpt+gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n"
	    " filename=\"%s!%s!%lld!%lld.json.gz\"\r\n\r\n", m->boundary, m->submitter,
	    m->domain, (long long)m->start, (long long)m->end);
	for (size_t off = 0; off < m->gzlen && !o.full; off += 57) {
		size_t k = m->gzlen - off < 57 ? m->gzlen - off : 57;

		if (dkim_base64(m->gz + off, k, line, sizeof(line)) == 0)
			o.full = true;
		else
			mf(&o, "%s\r\n", line);
	}
	mf(&o, "\r\n--%s--\r\n", m->boundary);
	return o.full ? 0 : o.n;
}
