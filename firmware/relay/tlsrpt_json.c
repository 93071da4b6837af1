/*
 * The aggregate report of RFC 8460 4 as JSON (tlsrpt.h): one object, the
 * fields of 4.3/4.4 in the order of the RFC's example, RFC 8259 strings.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/relay/tlsrpt.h"

struct js {
	char *buf;
	size_t cap, n;
	bool full;
};

static void
raw(struct js *j, const char *s, size_t l)
{
	if (j->full || l >= j->cap - j->n) {
		j->full = true;
		return;
	}
	memcpy(j->buf + j->n, s, l);
	j->n += l;
	j->buf[j->n] = '\0';
}

static void
rawf(struct js *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
rawf(struct js *j, const char *fmt, ...)
{
	char t[64];
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= sizeof(t)) {
		j->full = true;
		return;
	}
	raw(j, t, (size_t)r);
}

/* A JSON string (RFC 8259 7): quote, backslash and controls escaped; bytes
 * >= 0x80 are passed through (the names here are ASCII). */
static void
str(struct js *j, const char *s, size_t l)
{
	raw(j, "\"", 1);
	for (size_t i = 0; i < l; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			raw(j, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			rawf(j, "\\u%04x", c);
		} else {
			raw(j, (const char *)&c, 1);
		}
	}
	raw(j, "\"", 1);
}

static void
key_str(struct js *j, const char *key, const char *val)
{
	str(j, key, strlen(key));
	raw(j, ":", 1);
	str(j, val, strlen(val));
}

/* "key":["line","line"] of '\n'-separated lines */
static void
key_lines(struct js *j, const char *key, const char *lines)
{
	bool first = true;

	str(j, key, strlen(key));
	raw(j, ":[", 2);
	while (*lines) {
		size_t l = strcspn(lines, "\n");

		if (!first)
			raw(j, ",", 1);
		first = false;
		str(j, lines, l);
		lines += l;
		if (*lines == '\n')
			lines++;
	}
	raw(j, "]", 1);
}

static void
policy(struct js *j, const struct tlsrpt_pol *p)
{
	raw(j, "{\"policy\":{", 11);
	key_str(j, "policy-type", tlsrpt_ptype_str(p->ptype));
	raw(j, ",", 1);
	/* 4.4: policy-string and mx-host only where the type has them */
	if (p->pstr[0]) {
		key_lines(j, "policy-string", p->pstr);
		raw(j, ",", 1);
	}
	key_str(j, "policy-domain", p->domain);
	if (p->mxhost[0]) {
		raw(j, ",", 1);
		key_lines(j, "mx-host", p->mxhost);
	}
	rawf(j, "},\"summary\":{\"total-successful-session-count\":%lu,",
	    (unsigned long)p->ok);
	rawf(j, "\"total-failure-session-count\":%lu}", (unsigned long)p->fail);
	if (p->ndet > 0) {
		raw(j, ",\"failure-details\":[", 20);
		for (unsigned k = 0; k < p->ndet; k++) {
			const struct tlsrpt_detail *t = &p->det[k];

			raw(j, k ? ",{" : "{", k ? 2 : 1);
			key_str(j, "result-type", tlsrpt_result_str(t->result));
			if (t->sending_ip[0]) {
				raw(j, ",", 1);
				key_str(j, "sending-mta-ip", t->sending_ip);
			}
			if (t->receiving_ip[0]) {
				raw(j, ",", 1);
				key_str(j, "receiving-ip", t->receiving_ip);
			}
			if (t->mx[0]) {
				raw(j, ",", 1);
				key_str(j, "receiving-mx-hostname", t->mx);
			}
			rawf(j, ",\"failed-session-count\":%lu}", (unsigned long)t->count);
		}
		raw(j, "]", 1);
	}
	raw(j, "}", 1);
}

size_t
tlsrpt_json(const struct tlsrpt_day *d, const char *domain, const struct tlsrpt_meta *m,
    char *out, size_t cap)
{
	struct js j = { out, cap, 0, cap == 0 };
	char t0[24], t1[24];
	unsigned n = 0;

	if (cap > 0)
		out[0] = '\0';
	tlsrpt_datetime(d->start, t0);
	tlsrpt_datetime(tlsrpt_day_last(d), t1);
	raw(&j, "{", 1);
	key_str(&j, "organization-name", m->org);
	raw(&j, ",\"date-range\":{", 15);
	key_str(&j, "start-datetime", t0);
	raw(&j, ",", 1);
	key_str(&j, "end-datetime", t1);
	raw(&j, "},", 2);
	key_str(&j, "contact-info", m->contact);
	raw(&j, ",", 1);
	key_str(&j, "report-id", m->report_id);
	raw(&j, ",\"policies\":[", 13);
	for (unsigned i = 0; i < d->npol; i++) {
		if (strcmp(d->pol[i].domain, domain) != 0)
			continue;
		if (n++)
			raw(&j, ",", 1);
		policy(&j, &d->pol[i]);
	}
	raw(&j, "]}", 2);
	return j.full || n == 0 ? 0 : j.n;
}
