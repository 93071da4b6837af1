/*
 * The TLS-RPT report mail (RFC 8460 5.3; tlsrpt.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dkim/dkim.h"
#include "firmware/relay/tlsrpt.h"
#include "zegel/text.h"

size_t
tlsrpt_mail_write(const struct tlsrpt_mail *m, char *out, size_t cap)
{
	struct text_buf o = { out, cap, 0, cap == 0 };
	char line[80];

	text_appendf(&o, "From: TLS reporting <tlsrpt-noreply@%s>\r\n", m->submitter);
	text_appendf(&o, "Date: %s\r\n", m->date);
	text_appendf(&o, "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n", m->domain,
	    m->submitter, m->report_id);
	text_appendf(&o, "To: ");
	for (unsigned i = 0; i < m->nto; i++)
		text_appendf(&o, "%s<%s>", i ? ",\r\n " : "", m->to[i]);
	text_appendf(&o, "\r\nMessage-ID: <%s>\r\n", m->report_id);
	text_appendf(&o, "TLS-Report-Domain: %s\r\nTLS-Report-Submitter: %s\r\n", m->domain, m->submitter);
	text_appendf(&o, "Auto-Submitted: auto-generated\r\nMIME-Version: 1.0\r\n");
	text_appendf(&o, "Content-Type: multipart/report; report-type=\"tlsrpt\";\r\n"
	    " boundary=\"%s\"\r\n\r\n", m->boundary);
	text_appendf(&o, "This is a MIME-formatted message.\r\n\r\n--%s\r\n", m->boundary);
	text_appendf(&o, "Content-Type: text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit\r\n"
	    "\r\nThis is an aggregate TLS report (RFC 8460) from %s about %s.\r\n\r\n",
	    m->submitter, m->domain);
	text_appendf(&o, "--%s\r\nContent-Type: application/tlsrpt+gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\nContent-Disposition: attachment;\r\n"
	    " filename=\"%s!%s!%lld!%lld.json.gz\"\r\n\r\n", m->boundary, m->submitter,
	    m->domain, (long long)m->start, (long long)m->end);
	for (size_t off = 0; off < m->gzlen && !o.full; off += 57) {
		size_t k = m->gzlen - off < 57 ? m->gzlen - off : 57;

		if (dkim_base64(m->gz + off, k, line, sizeof(line)) == 0)
			o.full = true;
		else
			text_appendf(&o, "%s\r\n", line);
	}
	text_appendf(&o, "\r\n--%s--\r\n", m->boundary);
	return o.full ? 0 : o.n;
}
