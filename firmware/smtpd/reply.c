/*
 * The engine's output side (smtpd.h, engine_int.h): replies with enhanced
 * status codes (RFC 2034, RFC 3463), one line each and never a CR or LF
 * smuggled in from the text; the output buffer the caller drains; and the
 * small session helpers the command handlers share (engine.c, auth.c).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/smtpd/engine_int.h"

void
smtpd_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

static void
out_raw(struct smtpd_session *s, const char *p, size_t n)
{
	if (n > SMTPD_OUT_MAX - s->outlen)
		n = SMTPD_OUT_MAX - s->outlen; /* cannot happen: push reserves room */
	memcpy(s->out + s->outlen, p, n);
	s->outlen += n;
}

static void
vreply(struct smtpd_session *s, int code, char sep, const char *esc, const char *fmt, va_list ap)
{
	char buf[512];
	int k;

	if (esc && *esc)
		k = snprintf(buf, sizeof(buf), "%03d%c%s ", code, sep, esc);
	else
		k = snprintf(buf, sizeof(buf), "%03d%c", code, sep);
	if (k < 0 || (size_t)k >= sizeof(buf))
		return;
	vsnprintf(buf + k, sizeof(buf) - (size_t)k - 2, fmt, ap);
	k = (int)strlen(buf);
	/* one line only: never let text smuggle a CR or LF into a reply */
	for (int i = 0; i < k; i++)
		if (buf[i] == '\r' || buf[i] == '\n')
			buf[i] = ' ';
	if (code >= 400 && sep == ' ' && s->cur_verb != NULL &&
	    (strcmp(s->cur_verb, "MAIL") == 0 || strcmp(s->cur_verb, "RCPT") == 0))
		snprintf(s->refusal, sizeof(s->refusal), "%.*s", k, buf);
	buf[k++] = '\r';
	buf[k++] = '\n';
	out_raw(s, buf, (size_t)k);
	if (code >= 400 && sep == ' ')
		s->errors++;
}

static void
vreply_esc(struct smtpd_session *s, int code, char sep, enum esc_code e, const char *fmt,
    va_list ap)
{
	char esc[16];

	if (e == ESC_NONE)
		esc[0] = '\0';
	else
		snprintf(esc, sizeof(esc), "%d.%s", code / 100, esc_code(e));
	vreply(s, code, sep, esc, fmt, ap);
}

void
smtpd_reply(struct smtpd_session *s, int code, enum esc_code e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply_esc(s, code, ' ', e, fmt, ap);
	va_end(ap);
}

void
smtpd_reply_cont(struct smtpd_session *s, int code, enum esc_code e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply_esc(s, code, '-', e, fmt, ap);
	va_end(ap);
}

void
smtpd_auth_wipe(struct smtpd_session *s)
{
	smtpd_wipe(s->auth_pass, sizeof(s->auth_pass));
	s->auth_mech = SMTPD_AUTH_NONE;
	s->auth_step = 0;
}

const uint8_t *
smtpd_out(const struct smtpd_session *s, size_t *n)
{
	*n = s->outlen;
	return s->out;
}

void
smtpd_out_ack(struct smtpd_session *s, size_t n)
{
	if (n >= s->outlen)
		s->outlen = 0;
	else {
		memmove(s->out, s->out + n, s->outlen - n);
		s->outlen -= n;
	}
}

bool
smtpd_check_ready(struct smtpd_session *s)
{
	if (s->phase == SMTPD_PH_INIT) {
		smtpd_reply(s, 503, ESC_INVALID_COMMAND, "Send EHLO first");
		return false;
	}
	return true;
}

void
smtpd_reply_escstr(struct smtpd_session *s, int code, const char *esc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, code, ' ', esc, fmt, ap);
	va_end(ap);
}
