/*
 * TLS-RPT counters of one period and their file form (tlsrpt.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "firmware/relay/tlsrpt.h"
#include "zegel/text.h"

static const char *const ptypes[TLSRPT_PTYPES] = { "sts", "tlsa", "no-policy-found" };

static const char *const results[TLSRPT_RESULTS] = {
	"success",
	"starttls-not-supported",
	"certificate-host-mismatch",
	"certificate-expired",
	"certificate-not-trusted",
	"validation-failure",
	"tlsa-invalid",
	"dnssec-invalid",
	"dane-required",
	"sts-policy-fetch-error",
	"sts-policy-invalid",
	"sts-webpki-invalid",
};

const char *
tlsrpt_ptype_str(enum tlsrpt_ptype t)
{
	return (unsigned)t < TLSRPT_PTYPES ? ptypes[t] : "?";
}

const char *
tlsrpt_result_str(enum tlsrpt_result r)
{
	return (unsigned)r < TLSRPT_RESULTS ? results[r] : "?";
}

int
tlsrpt_result_parse(const char *s)
{
	for (int i = 0; i < TLSRPT_RESULTS; i++)
		if (strcmp(s, results[i]) == 0)
			return i;
	return -1;
}

static int
ptype_parse(const char *s)
{
	for (int i = 0; i < TLSRPT_PTYPES; i++)
		if (strcmp(s, ptypes[i]) == 0)
			return i;
	return -1;
}

void
tlsrpt_day_init(struct tlsrpt_day *d, int64_t start)
{
	memset(d, 0, sizeof(*d));
	d->start = start - (start % 86400 + 86400) % 86400;
}

int64_t
tlsrpt_day_last(const struct tlsrpt_day *d)
{
	return d->end ? d->end : d->start + 86399;
}

static void
copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap)
		n = cap - 1;
	if (n)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Whole lines of src that fit (a line is never cut). Lines are cleaned of
 * controls so the file form stays one record per line. */
static void
copy_lines(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	dst[0] = '\0';
	while (src != NULL && *src) {
		size_t l = strcspn(src, "\n");

		if (o + l + 2 > cap)
			break;
		if (l > 0) {
			for (size_t i = 0; i < l; i++) {
				unsigned char c = (unsigned char)src[i];
				dst[o + i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
			}
			o += l;
			dst[o++] = '\n';
		}
		src += l;
		if (*src == '\n')
			src++;
	}
	if (o > 0)
		o--; /* no final newline */
	dst[o] = '\0';
}

static void
uint_add(uint32_t *c, uint32_t n)
{
	*c = *c > UINT32_MAX - n ? UINT32_MAX : *c + n;
}

static bool
same(const char *a, const char *b)
{
	return strcmp(a, b ? b : "") == 0;
}

enum tlsrpt_add
tlsrpt_day_add(struct tlsrpt_day *d, const struct tlsrpt_sess *s)
{
	struct tlsrpt_pol *p = NULL;
	struct tlsrpt_detail *t = NULL;
	char dom[TLSRPT_NAME_MAX];

	copy(dom, sizeof(dom), s->domain);
	for (char *c = dom; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	for (unsigned i = 0; i < d->npol; i++)
		if (d->pol[i].ptype == s->ptype && strcmp(d->pol[i].domain, dom) == 0)
			p = &d->pol[i];
	if (p == NULL) {
		if (d->npol >= TLSRPT_DOMAINS_MAX || dom[0] == '\0') {
			uint_add(&d->dropped_sessions, 1);
			return TLSRPT_NO_ROW;
		}
		p = &d->pol[d->npol++];
		memset(p, 0, sizeof(*p));
		copy(p->domain, sizeof(p->domain), dom);
		p->ptype = (uint8_t)s->ptype;
		copy_lines(p->pstr, sizeof(p->pstr), s->pstr);
		copy_lines(p->mxhost, sizeof(p->mxhost), s->mxhost);
	}
	if (s->result == TLSRPT_SUCCESS) {
		uint_add(&p->ok, 1);
		return TLSRPT_ADDED;
	}
	uint_add(&p->fail, 1);
	for (unsigned i = 0; i < p->ndet; i++) {
		struct tlsrpt_detail *x = &p->det[i];

		if (x->result == s->result && same(x->sending_ip, s->sending_ip) &&
		    same(x->receiving_ip, s->receiving_ip) && same(x->mx, s->mx))
			t = x;
	}
	if (t == NULL) {
		if (p->ndet >= TLSRPT_DETAILS_MAX) {
			uint_add(&d->dropped_details, 1);
			return TLSRPT_NO_DETAIL;
		}
		t = &p->det[p->ndet++];
		memset(t, 0, sizeof(*t));
		t->result = (uint8_t)s->result;
		copy(t->sending_ip, sizeof(t->sending_ip), s->sending_ip);
		copy(t->receiving_ip, sizeof(t->receiving_ip), s->receiving_ip);
		copy(t->mx, sizeof(t->mx), s->mx);
	}
	uint_add(&t->count, 1);
	return TLSRPT_ADDED;
}

/* ------------------------------------------------------------ file form
 *
 *   tlsrpt 1
 *   period START END                  (END 0: the whole day)
 *   dropped SESSIONS DETAILS
 *   policy TYPE DOMAIN OK FAIL        a row; the lines below belong to it
 *   string LINE                       a policy-string line (rest of the line)
 *   mxhost NAME
 *   detail RESULT COUNT SENDING-IP RECEIVING-IP MX   ("-" for unknown)
 */

static void
out_lines(struct text_buf *o, const char *key, const char *lines)
{
	while (*lines) {
		size_t l = strcspn(lines, "\n");

		text_appendf(o, "%s %.*s\n", key, (int)l, lines);
		lines += l;
		if (*lines == '\n')
			lines++;
	}
}

static const char *
dash(const char *s)
{
	return s[0] ? s : "-";
}

size_t
tlsrpt_day_format(const struct tlsrpt_day *d, char *buf, size_t cap)
{
	struct text_buf o = { buf, cap, 0, cap == 0 };

	text_appendf(&o, "tlsrpt 1\nperiod %lld %lld\ndropped %lu %lu\n", (long long)d->start,
	    (long long)d->end, (unsigned long)d->dropped_sessions,
	    (unsigned long)d->dropped_details);
	for (unsigned i = 0; i < d->npol; i++) {
		const struct tlsrpt_pol *p = &d->pol[i];

		text_appendf(&o, "policy %s %s %lu %lu\n", tlsrpt_ptype_str(p->ptype), p->domain,
		    (unsigned long)p->ok, (unsigned long)p->fail);
		out_lines(&o, "string", p->pstr);
		out_lines(&o, "mxhost", p->mxhost);
		for (unsigned k = 0; k < p->ndet; k++) {
			const struct tlsrpt_detail *t = &p->det[k];

			text_appendf(&o, "detail %s %lu %s %s %s\n", tlsrpt_result_str(t->result),
			    (unsigned long)t->count, dash(t->sending_ip), dash(t->receiving_ip),
			    dash(t->mx));
		}
	}
	return o.full ? 0 : o.n;
}

static bool
num(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
	char *e;
	long long v;

	if (*s == '\0' || (*s == '-' && lo >= 0) || (s[0] == '0' && s[1] != '\0'))
		return false;
	errno = 0;
	v = strtoll(s, &e, 10);
	if (errno != 0 || *e != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Split line into at most max words at single spaces; the count, or -1. */
static int
words(char *line, char **w, int max)
{
	int n = 0;

	while (*line) {
		if (n == max)
			return -1;
		w[n++] = line;
		line = strchr(line, ' ');
		if (line == NULL)
			break;
		*line++ = '\0';
		if (*line == '\0')
			return -1;
	}
	return n;
}

static bool
append_line(char *dst, size_t cap, const char *s)
{
	size_t o = strlen(dst), l = strlen(s);

	if (o + (o ? 1 : 0) + l + 1 > cap || l == 0)
		return false;
	if (o)
		dst[o++] = '\n';
	memcpy(dst + o, s, l + 1);
	return true;
}

static bool
undash(char *dst, size_t cap, const char *s)
{
	if (strcmp(s, "-") == 0)
		s = "";
	if (strlen(s) >= cap)
		return false;
	copy(dst, cap, s);
	return true;
}

static int
parse_line(struct tlsrpt_day *d, char *line, unsigned lineno)
{
	struct tlsrpt_pol *p = d->npol ? &d->pol[d->npol - 1] : NULL;
	char *w[6];
	int64_t a, b;
	int n, k;

	if (lineno == 1)
		return strcmp(line, "tlsrpt 1") == 0 ? 0 : -1;
	if (strncmp(line, "string ", 7) == 0)
		return p != NULL && append_line(p->pstr, sizeof(p->pstr), line + 7) ? 0 : -1;
	n = words(line, w, 6);
	if (n < 1)
		return -1;
	if (strcmp(w[0], "period") == 0 && n == 3 && lineno == 2) {
		if (!num(w[1], 0, INT64_C(1) << 40, &a) || !num(w[2], 0, INT64_C(1) << 40, &b) ||
		    a % 86400 != 0 || (b != 0 && (b < a || b >= a + 86400)))
			return -1;
		d->start = a;
		d->end = b;
		return 0;
	}
	if (strcmp(w[0], "dropped") == 0 && n == 3 && lineno == 3) {
		if (!num(w[1], 0, UINT32_MAX, &a) || !num(w[2], 0, UINT32_MAX, &b))
			return -1;
		d->dropped_sessions = (uint32_t)a;
		d->dropped_details = (uint32_t)b;
		return 0;
	}
	if (lineno <= 3)
		return -1;
	if (strcmp(w[0], "policy") == 0 && n == 5) {
		if (d->npol >= TLSRPT_DOMAINS_MAX || (k = ptype_parse(w[1])) < 0 ||
		    strlen(w[2]) >= TLSRPT_NAME_MAX || !num(w[3], 0, UINT32_MAX, &a) ||
		    !num(w[4], 0, UINT32_MAX, &b))
			return -1;
		for (unsigned i = 0; i < d->npol; i++)
			if (d->pol[i].ptype == k && strcmp(d->pol[i].domain, w[2]) == 0)
				return -1; /* one row per domain and type */
		p = &d->pol[d->npol++];
		memset(p, 0, sizeof(*p));
		p->ptype = (uint8_t)k;
		copy(p->domain, sizeof(p->domain), w[2]);
		p->ok = (uint32_t)a;
		p->fail = (uint32_t)b;
		return 0;
	}
	if (strcmp(w[0], "mxhost") == 0 && n == 2)
		return p != NULL && append_line(p->mxhost, sizeof(p->mxhost), w[1]) ? 0 : -1;
	if (strcmp(w[0], "detail") == 0 && n == 6) {
		struct tlsrpt_detail *t;

		if (p == NULL || p->ndet >= TLSRPT_DETAILS_MAX || (k = tlsrpt_result_parse(w[1])) <= 0 ||
		    !num(w[2], 1, UINT32_MAX, &a))
			return -1;
		t = &p->det[p->ndet++];
		memset(t, 0, sizeof(*t));
		t->result = (uint8_t)k;
		t->count = (uint32_t)a;
		if (!undash(t->sending_ip, sizeof(t->sending_ip), w[3]) ||
		    !undash(t->receiving_ip, sizeof(t->receiving_ip), w[4]) ||
		    !undash(t->mx, sizeof(t->mx), w[5]))
			return -1;
		return 0;
	}
	return -1;
}

int
tlsrpt_day_parse(struct tlsrpt_day *d, const char *buf, size_t n)
{
	char line[TLSRPT_PSTR_MAX + 16];
	unsigned lineno = 0;
	size_t off = 0;

	memset(d, 0, sizeof(*d));
	while (off < n) {
		const char *nl = memchr(buf + off, '\n', n - off);
		size_t l;

		if (nl == NULL)
			goto bad; /* every line ends with \n (a cut file is refused) */
		l = (size_t)(nl - (buf + off));
		if (l >= sizeof(line) || memchr(buf + off, '\0', l) != NULL)
			goto bad;
		memcpy(line, buf + off, l);
		line[l] = '\0';
		off += l + 1;
		if (parse_line(d, line, ++lineno) < 0)
			goto bad;
	}
	if (lineno < 3)
		goto bad;
	return 0;
bad:
	memset(d, 0, sizeof(*d));
	return -1;
}

void
tlsrpt_datetime(int64_t t, char out[24])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, 24, "1970-01-01T00:00:00Z");
}
