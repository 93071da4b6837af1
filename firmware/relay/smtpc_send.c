/*
 * The SMTP client's lower half: what it sends (commands, AUTH secrets, the
 * dot-stuffed body, RFC 5321 4.5.2) into the output buffer the caller
 * drains, and the verdicts it records (results with enhanced status codes).
 * The reply-driven state machine in smtpc.c calls down into this file,
 * never the other way.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "zegel/text.h"
#include "firmware/relay/smtpc_send.h"

static const char *const state_names[SMTPC_S_COUNT] = {
	[SMTPC_S_GREETING] = "greeting",
	[SMTPC_S_EHLO] = "ehlo",
	[SMTPC_S_STARTTLS] = "starttls",
	[SMTPC_S_TLS] = "tls-handshake",
	[SMTPC_S_EHLO_TLS] = "ehlo-tls",
	[SMTPC_S_AUTH_LOGIN_USER] = "auth-login-user",
	[SMTPC_S_AUTH_LOGIN_PASS] = "auth-login-pass",
	[SMTPC_S_AUTH] = "auth",
	[SMTPC_S_MAIL] = "mail",
	[SMTPC_S_RCPT] = "rcpt",
	[SMTPC_S_ENVELOPE] = "envelope",
	[SMTPC_S_DATA] = "data",
	[SMTPC_S_BODY] = "body",
	[SMTPC_S_DOT] = "final-dot",
	[SMTPC_S_END] = "end",
};

static const char *const err_names[] = {
	[0] = "no error",
	[1] = "malformed reply from upstream",
	[2] = "reply line from upstream too long",
	[3] = "upstream refused the session",
	[4] = "upstream refused EHLO",
	[5] = "upstream does not offer STARTTLS",
	[6] = "upstream refused STARTTLS",
	[7] = "upstream offers no AUTH PLAIN or LOGIN",
	[8] = "upstream refused the relay credentials",
	[9] = "message larger than the upstream accepts",
	[10] = "8-bit message, upstream without 8BITMIME",
	[11] = "SMTPUTF8 message, upstream without SMTPUTF8",
	[12] = "upstream refused the sender",
	[13] = "upstream refused a recipient",
	[14] = "upstream refused DATA",
	[15] = "upstream refused the message",
	[16] = "bare CR or LF in the message",
	[17] = "unexpected reply from upstream",
	[18] = "SMTP client used out of order",
	[19] = "upstream closed the connection",
	[20] = "cancelled",
	[21] = "REQUIRETLS message, upstream without REQUIRETLS",
};

const char *
smtpc_state_name(enum smtpc_state s)
{
	if ((unsigned)s >= SMTPC_S_COUNT || state_names[s] == NULL)
		return "?";
	return state_names[s];
}

const char *
smtpc_strerror(enum smtpc_err e)
{
	unsigned i = (unsigned)-(int)e;

	if ((int)e > 0 || i >= sizeof(err_names) / sizeof(err_names[0]))
		return "?";
	return err_names[i];
}

void
smtpc_enter_state(struct smtpc *c, enum smtpc_state s)
{
	if (c->trace != NULL && s != c->state)
		c->trace(c->trace_arg, smtpc_state_name(c->state), smtpc_state_name(s));
	c->state = s;
}

/* ------------------------------------------------------------ output */

bool
smtpc_emit(struct smtpc *c, const char *fmt, ...)
{
	va_list ap;
	int n;
	size_t room = sizeof(c->out) - c->out_len;

	va_start(ap, fmt);
	n = vsnprintf((char *)c->out + c->out_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return false;
	c->out_len += (size_t)n;
	return true;
}

size_t
smtpc_out(const struct smtpc *c, const uint8_t **p)
{
	*p = c->out;
	return c->out_len;
}

static void fill_rcpts(struct smtpc *c);

void
smtpc_out_ack(struct smtpc *c, size_t n)
{
	if (n > c->out_len)
		n = c->out_len;
	memmove(c->out, c->out + n, c->out_len - n);
	c->out_len -= n;
	if (c->out_secret) {
		memset(c->out + c->out_len, 0, sizeof(c->out) - c->out_len);
		if (c->out_len == 0)
			c->out_secret = false;
	}
	fill_rcpts(c);
}

/* ------------------------------------------------------------ results */

/* "X.Y.Z" at the start of s, class matching code; copies it into esc. */
bool
smtpc_parse_esc(const char *s, int code, char esc[12])
{
	size_t i = 0, j, parts;

	if (s[0] != "0123456789"[code / 100] || s[1] != '.')
		return false;
	i = 2;
	for (parts = 0; parts < 2; parts++) {
		for (j = 0; j < 3 && s[i] >= '0' && s[i] <= '9'; j++)
			i++;
		if (j == 0)
			return false;
		if (parts == 0) {
			if (s[i] != '.')
				return false;
			i++;
		}
	}
	if (s[i] != ' ' && s[i] != '\0')
		return false;
	memcpy(esc, s, i);
	esc[i] = '\0';
	return true;
}

void
smtpc_finish(struct smtpc *c, enum smtpc_event ev, enum smtpc_err err, int code,
    const char *esc, const char *fmt, ...)
{
	va_list ap;

	c->res.code = code;
	c->res.err = err;
	zegel_strf(c->res.esc, sizeof(c->res.esc), "%s", esc);
	va_start(ap, fmt);
	vsnprintf(c->res.text, sizeof(c->res.text), fmt, ap);
	va_end(ap);
	c->err = err;
	c->ev = ev;
	smtpc_enter_state(c, SMTPC_S_END);
}

/* Polite end: QUIT if there is room (there is unless the peer misbehaves). */
void
smtpc_send_quit(struct smtpc *c)
{
	(void)smtpc_emit(c, "QUIT\r\n");
}

/* A refusal between zegel and its upstream: 451, the upstream's detail
 * (class made transient) or ours. */
void
smtpc_fail_session(struct smtpc *c, enum smtpc_err err, const char *def_esc,
    const char *what)
{
	char esc[12];

	if (c->reply_code != 0 && smtpc_parse_esc(c->reply, c->reply_code, esc))
		esc[0] = '4';
	else
		zegel_strf(esc, sizeof(esc), "%s", def_esc);
	c->res.upstream_code = c->reply_code;
	if (c->reply_code != 0)
		smtpc_finish(c, SMTPC_EV_FAILED, err, 451, esc, "%s: %d %s", what, c->reply_code,
		    c->reply);
	else
		smtpc_finish(c, SMTPC_EV_FAILED, err, 451, esc, "%s", what);
	smtpc_send_quit(c);
}

/* A refusal of this message (or of one recipient) into r: 5xx passed
 * through, 4xx as 451. Records only; the caller decides when to finish. */
void
smtpc_record_into(struct smtpc *c, struct smtpc_result *r, enum smtpc_err err,
    const char *def_esc, const char *what)
{
	char esc[12];
	int code = c->reply_code;

	if (!smtpc_parse_esc(c->reply, code, esc)) {
		zegel_strf(esc, sizeof(esc), "%s", def_esc);
		esc[0] = code >= 500 ? '5' : '4';
	}
	r->code = code >= 500 ? code : 451;
	r->err = err;
	r->upstream_code = code;
	zegel_strf(r->esc, sizeof(r->esc), "%s", esc);
	zegel_strf(r->text, sizeof(r->text), "%s: %d %s", what, code, c->reply);
}

void
smtpc_record_message(struct smtpc *c, enum smtpc_err err, const char *def_esc,
    const char *what)
{
	smtpc_record_into(c, &c->res, err, def_esc, what);
}

void
smtpc_fail_recorded(struct smtpc *c)
{
	c->err = c->res.err;
	c->ev = SMTPC_EV_FAILED;
	smtpc_enter_state(c, SMTPC_S_END);
	smtpc_send_quit(c);
}

void
smtpc_fail_unexpected(struct smtpc *c, enum smtpc_err err, const char *what)
{
	c->res.upstream_code = c->reply_code;
	smtpc_finish(c, SMTPC_EV_FAILED, err, 451, "4.5.0", "%s", what);
}

/* ------------------------------------------------------------ commands */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t
b64_encode(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t i, o = 0;

	if ((n + 2) / 3 * 4 + 1 > cap)
		return 0;
	for (i = 0; i + 2 < n; i += 3) {
		dst[o++] = b64[src[i] >> 2];
		dst[o++] = b64[((src[i] & 3) << 4) | (src[i + 1] >> 4)];
		dst[o++] = b64[((src[i + 1] & 15) << 2) | (src[i + 2] >> 6)];
		dst[o++] = b64[src[i + 2] & 63];
	}
	if (i < n) {
		dst[o++] = b64[src[i] >> 2];
		if (i + 1 < n) {
			dst[o++] = b64[((src[i] & 3) << 4) | (src[i + 1] >> 4)];
			dst[o++] = b64[(src[i + 1] & 15) << 2];
		} else {
			dst[o++] = b64[(src[i] & 3) << 4];
			dst[o++] = '=';
		}
		dst[o++] = '=';
	}
	dst[o] = '\0';
	return o;
}

static void
wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n--)
		*v++ = 0;
}

/* Emit "<prefix><base64 of src>\r\n" as a secret. */
bool
smtpc_emit_secret(struct smtpc *c, const char *prefix, const uint8_t *src, size_t n)
{
	char enc[400];
	bool ok;

	if (b64_encode(enc, sizeof(enc), src, n) == 0 && n != 0)
		return false;
	if (n == 0)
		enc[0] = '\0';
	ok = smtpc_emit(c, "%s%s\r\n", prefix, enc);
	c->out_secret = true;
	wipe(enc, sizeof(enc));
	return ok;
}

const char *
smtpc_rcpt_after(const struct smtpc *c, const char *r)
{
	(void)c;
	return r + strlen(r) + 1;
}

/* With PIPELINING, put as many RCPTs as fit behind MAIL (RFC 2920 3.1). */
static void
fill_rcpts(struct smtpc *c)
{
	if (c->state != SMTPC_S_MAIL && c->state != SMTPC_S_RCPT)
		return;
	if (!c->ext.pipelining)
		return;
	while (c->rcpt_sent < c->p->nrcpt) {
		if (!smtpc_emit(c, "RCPT TO:<%s>\r\n", c->rcpt_next))
			return;
		c->rcpt_next = smtpc_rcpt_after(c, c->rcpt_next);
		c->rcpt_sent++;
	}
}

bool
smtpc_send_next_rcpt(struct smtpc *c)
{
	if (!smtpc_emit(c, "RCPT TO:<%s>\r\n", c->rcpt_next))
		return false;
	c->rcpt_next = smtpc_rcpt_after(c, c->rcpt_next);
	c->rcpt_sent++;
	return true;
}

/* Stepwise: the caller's RCPT goes out (MAIL was accepted). */
void
smtpc_send_pending(struct smtpc *c)
{
	if (!smtpc_emit(c, "RCPT TO:<%s>\r\n", c->pend)) {
		smtpc_fail_unexpected(c, SMTPC_E_STATE, "internal: output full");
		return;
	}
	c->rcpt_sent++;
	smtpc_enter_state(c, SMTPC_S_RCPT);
}

void
smtpc_start_mail(struct smtpc *c)
{
	const struct smtpc_params *p = c->p;
	const char *r;
	unsigned i;
	char params[96];
	size_t pl = 0;

	/* Invariant: no envelope or message byte before TLS (unless the
	 * opportunistic policy decided to carry on without it). */
	if (!c->tls && !c->plaintext) {
		smtpc_fail_unexpected(c, SMTPC_E_STATE, "internal: MAIL before TLS refused");
		return;
	}
	if (strlen(p->mail_from) > 512) {
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_MAIL, 553, "5.1.7",
		    "sender address too long");
		smtpc_send_quit(c);
		return;
	}
	for (i = 0, r = p->rcpts; i < p->nrcpt; i++, r = smtpc_rcpt_after(c, r))
		if (strlen(r) > 512) {
			smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_RCPT, 553, "5.1.3",
			    "recipient address too long");
			smtpc_send_quit(c);
			return;
		}
	if (p->partial_ok && p->rcpt_results == NULL && p->nrcpt > SMTPC_RCPT_RESULTS) {
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_STATE, 451, "4.5.3",
		    "internal: %u recipients, at most %u per transaction with per-recipient results",
		    p->nrcpt, (unsigned)SMTPC_RCPT_RESULTS);
		smtpc_send_quit(c);
		return;
	}
	if (c->ext.size && c->ext.size_max != 0 && p->size > c->ext.size_max) {
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_SIZE, 552, "5.3.4",
		    "message of %llu octets is larger than the upstream accepts (SIZE %llu)",
		    (unsigned long long)p->size, (unsigned long long)c->ext.size_max);
		smtpc_send_quit(c);
		return;
	}
	if (p->smtputf8 && !c->ext.smtputf8) {
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_UTF8, 553, "5.6.7",
		    "message needs SMTPUTF8 and the upstream does not offer it");
		smtpc_send_quit(c);
		return;
	}
	if (p->requiretls && (!c->tls || !c->ext.requiretls)) {
		/* RFC 8689 4.1: not sent to a next hop that cannot keep the promise */
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_REQUIRETLS, 550, "5.7.30",
		    "REQUIRETLS: the next hop %s", c->tls ? "does not offer REQUIRETLS" :
		    "offers no TLS");
		smtpc_send_quit(c);
		return;
	}
	c->eightbit_ok = c->ext.eightbit;
	params[0] = '\0';
	if (c->ext.size && (p->size != 0 || !p->stepwise))
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " SIZE=%llu",
		    (unsigned long long)p->size);
	if ((p->body_8bit || p->smtputf8) && c->ext.eightbit)
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " BODY=8BITMIME");
	if (p->smtputf8)
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " SMTPUTF8");
	if (p->requiretls)
		pl += (size_t)snprintf(params + pl, sizeof(params) - pl, " REQUIRETLS");
	if (!smtpc_emit(c, "MAIL FROM:<%s>%s\r\n", p->mail_from, params)) {
		smtpc_fail_unexpected(c, SMTPC_E_UNEXPECTED,
		    "upstream replied before our command was sent");
		return;
	}
	c->rcpt_next = p->rcpts;
	c->rcpt_sent = c->rcpt_replied = c->rcpt_ok = 0;
	smtpc_enter_state(c, SMTPC_S_MAIL);
	fill_rcpts(c);
}

/* SMTPC_TLS_OPPORTUNISTIC without TLS: the envelope and message may go in
 * plaintext, credentials never. */
void
smtpc_go_plaintext(struct smtpc *c, const char *why)
{
	if (c->p->requiretls) {
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_REQUIRETLS, 550, "5.7.30",
		    "REQUIRETLS: the next hop offers no TLS (%s)", why);
		smtpc_send_quit(c);
		return;
	}
	if ((c->p->username != NULL && c->p->username[0] != '\0') || c->p->probe) {
		smtpc_fail_session(c, SMTPC_E_NO_STARTTLS, "4.7.4", why);
		return;
	}
	c->plaintext = true;
	smtpc_start_mail(c);
}

void
smtpc_after_ehlo_tls(struct smtpc *c)
{
	const struct smtpc_params *p = c->p;
	uint8_t cred[1 + 64 + 1 + 160];
	size_t ul, pl;

	if (p->probe && c->tls) {
		smtpc_finish(c, SMTPC_EV_DONE, SMTPC_OK, 250, "2.0.0",
		    "EHLO over TLS answered%s%s%s%s", c->ext.pipelining ? ", PIPELINING" : "",
		    c->ext.eightbit ? ", 8BITMIME" : "", c->ext.auth_plain ? ", AUTH PLAIN" : "",
		    c->ext.auth_login ? ", AUTH LOGIN" : "");
		smtpc_send_quit(c);
		return;
	}
	if (p->username == NULL || p->username[0] == '\0') {
		smtpc_start_mail(c);
		return;
	}
	if (!c->tls) { /* unreachable: the state machine only gets here over TLS */
		smtpc_fail_unexpected(c, SMTPC_E_STATE, "internal: AUTH before TLS refused");
		return;
	}
	ul = strlen(p->username);
	pl = p->password ? strlen(p->password) : 0;
	if (c->ext.auth_plain && ul <= 64 && pl <= 160) {
		cred[0] = 0;
		memcpy(cred + 1, p->username, ul);
		cred[1 + ul] = 0;
		memcpy(cred + 2 + ul, p->password, pl);
		(void)smtpc_emit_secret(c, "AUTH PLAIN ", cred, 2 + ul + pl);
		wipe(cred, sizeof(cred));
		smtpc_enter_state(c, SMTPC_S_AUTH);
	} else if (c->ext.auth_login) {
		(void)smtpc_emit(c, "AUTH LOGIN\r\n");
		smtpc_enter_state(c, SMTPC_S_AUTH_LOGIN_USER);
	} else {
		c->reply_code = 0;
		smtpc_fail_session(c, SMTPC_E_NO_AUTH, "4.7.0",
		    "relay credentials are configured but the upstream offers no AUTH PLAIN or LOGIN");
	}
}

/* ------------------------------------------------------------ body */

size_t
smtpc_body(struct smtpc *c, const uint8_t *p, size_t n)
{
	size_t i;

	if (c->state != SMTPC_S_BODY) {
		if (c->state != SMTPC_S_END)
			smtpc_fail_unexpected(c, SMTPC_E_STATE, "internal: body outside DATA");
		return 0;
	}
	for (i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (sizeof(c->out) - c->out_len < 2)
			return i;
		if ((c->cr && b != '\n') || (!c->cr && b == '\n')) {
			smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_BARE_EOL, 554, "5.6.0",
			    "message has a bare CR or LF after octet %llu; not relayed",
			    (unsigned long long)c->body_octets);
			return i;
		}
		if (b >= 0x80 && !c->eightbit_ok) {
			smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_8BIT, 554, "5.6.3",
			    "message has 8-bit content and the upstream does not offer 8BITMIME; "
			    "not converted (that would break the DKIM signature)");
			return i;
		}
		if (c->bol && b == '.')
			c->out[c->out_len++] = '.';
		c->out[c->out_len++] = b;
		c->cr = b == '\r';
		c->bol = b == '\n';
		c->body_octets++;
	}
	return n;
}

int
smtpc_body_end(struct smtpc *c)
{
	if (c->state != SMTPC_S_BODY) {
		if (c->state != SMTPC_S_END)
			smtpc_fail_unexpected(c, SMTPC_E_STATE,
			    "internal: end of body outside DATA");
		return -1;
	}
	if (c->cr) {
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_BARE_EOL, 554, "5.6.0",
		    "message ends in a bare CR; not relayed");
		return -1;
	}
	if (sizeof(c->out) - c->out_len < 5)
		return -1;
	if (!c->bol)
		(void)smtpc_emit(c, "\r\n");
	(void)smtpc_emit(c, ".\r\n");
	c->dot_sent = true;
	c->in_body = false;
	c->ev = SMTPC_EV_NONE;
	smtpc_enter_state(c, SMTPC_S_DOT);
	return 0;
}
