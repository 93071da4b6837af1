/*
 * The SMTP server engine (see smtpd.h): command line assembly with strict
 * CRLF rules, a {verb, check, proceed} command table in the shape of
 * OpenSMTPD's smtp_session.c, AUTH PLAIN/LOGIN, and the DATA phase through
 * firmware/spool/data.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/smtpd/smtpd.h"

static void
wipe(void *p, size_t n)
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

static void
reply_cont(struct smtpd_session *s, int code, enum esc_code e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply_esc(s, code, '-', e, fmt, ap);
	va_end(ap);
}

static void reply_escstr(struct smtpd_session *s, int code, const char *esc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static void
close_after(struct smtpd_session *s)
{
	s->closing = true;
	s->phase = SMTPD_PH_CLOSED;
	if (s->ev == SMTPD_EV_NONE)
		s->ev = SMTPD_EV_CLOSE;
}

static void
reset_transaction(struct smtpd_session *s)
{
	s->mail_from[0] = '\0';
	s->body_8bit = s->smtputf8 = false;
	s->mail_size = 0;
	s->rcptlen = 0;
	s->nrcpt = 0;
	if (s->phase != SMTPD_PH_INIT && s->phase != SMTPD_PH_CLOSED)
		s->phase = SMTPD_PH_READY;
}

static void
auth_wipe(struct smtpd_session *s)
{
	wipe(s->auth_pass, sizeof(s->auth_pass));
	s->auth_mech = SMTPD_AUTH_NONE;
	s->auth_step = 0;
}

void
smtpd_init(struct smtpd_session *s, const struct smtpd_params *prm)
{
	memset(s, 0, sizeof(*s));
	s->prm = *prm;
	snprintf(s->hostname, sizeof(s->hostname), "%s",
	    prm->hostname && *prm->hostname ? prm->hostname : "localhost");
	s->prm.hostname = s->hostname;
	s->tls = prm->tls;
	s->phase = SMTPD_PH_INIT;
}

void
smtpd_start(struct smtpd_session *s)
{
	smtpd_reply(s, 220, ESC_NONE, "%s ESMTP zegel", s->hostname);
}

bool
smtpd_input_blocked(const struct smtpd_session *s)
{
	return s->closing || s->phase == SMTPD_PH_WAIT_MSG || s->phase == SMTPD_PH_WAIT_AUTH ||
	    s->phase == SMTPD_PH_WAIT_RCPT ||
	    s->phase == SMTPD_PH_TLS || s->phase == SMTPD_PH_CLOSED;
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

/* ------------------------------------------------------------ addresses */

static bool
is_atext(unsigned char c, bool utf8)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	if (c >= 0x80)
		return utf8;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 5321 4.1.2 Mailbox = Local-part "@" ( Domain / address-literal ) */
const char *
smtpd_check_mailbox(const char *a, size_t n, bool utf8)
{
	size_t i = 0, label = 0, dstart;

	if (n == 0)
		return "empty address";
	if (n > SMTPD_ADDR_MAX)
		return "address too long";
	if (a[0] == '"') {
		for (i = 1; i < n && a[i] != '"'; i++) {
			if (a[i] == '\\' && i + 1 < n)
				i++;
			else if ((unsigned char)a[i] < 32 || a[i] == 127 ||
			    ((unsigned char)a[i] >= 0x80 && !utf8))
				return "bad character in quoted local part";
		}
		if (i >= n)
			return "unterminated quoted local part";
		i++;
	} else {
		for (; i < n && a[i] != '@'; i++)
			if (!is_atext((unsigned char)a[i], utf8) && a[i] != '.')
				return "bad character in local part";
		if (i == 0)
			return "empty local part";
	}
	if (i >= n || a[i] != '@')
		return "unqualified address: a domain is required";
	dstart = ++i;
	if (i >= n)
		return "empty domain";
	if (a[i] == '[') {
		for (i++; i < n && a[i] != ']'; i++)
			if ((unsigned char)a[i] <= 32 || (unsigned char)a[i] >= 127 || a[i] == '[' ||
			    a[i] == '\\')
				return "bad address literal";
		if (i + 1 != n)
			return "bad address literal";
		return NULL;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c == '.') {
			if (label == 0)
				return "empty label in domain";
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || (c >= 0x80 && utf8)) {
			if (++label > 63)
				return "domain label too long";
		} else
			return "bad character in domain";
	}
	if (label == 0 || n - dstart > 255)
		return "bad domain";
	return NULL;
}

/*
 * Parse "<path> [params]" after "FROM:"/"TO:". On success *addr and *alen is the
 * mailbox between < >, *params the rest. Returns NULL or a refusal reason.
 */
static const char *
parse_path(const char *p, const char **addr, size_t *alen, const char **params)
{
	const char *q;
	bool quoted = false;

	while (*p == ' ')
		p++;
	if (*p != '<')
		return "path must be enclosed in <>";
	p++;
	for (q = p; *q; q++) {
		if (quoted && *q == '\\' && q[1])
			q++;
		else if (*q == '"')
			quoted = !quoted;
		else if (*q == '>' && !quoted)
			break;
	}
	if (*q != '>')
		return "missing '>'";
	*addr = p;
	*alen = (size_t)(q - p);
	q++;
	if (*q && *q != ' ')
		return "junk after '>'";
	while (*q == ' ')
		q++;
	*params = q;
	return NULL;
}

/* Next "KEY[=VALUE]" from *pp into key/val buffers; false at end. */
static bool
next_param(const char **pp, char *key, size_t kcap, char *val, size_t vcap)
{
	const char *p = *pp;
	size_t k = 0, v = 0;

	while (*p == ' ')
		p++;
	if (!*p)
		return false;
	while (*p && *p != ' ' && *p != '=') {
		if (k + 1 < kcap)
			key[k++] = *p;
		p++;
	}
	key[k] = '\0';
	if (*p == '=')
		for (p++; *p && *p != ' '; p++)
			if (v + 1 < vcap)
				val[v++] = *p;
	val[v] = '\0';
	*pp = p;
	return true;
}

static bool
has_8bit(const char *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] >= 0x80)
			return true;
	return false;
}

/* ------------------------------------------------------------ base64 */

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Strict base64 decode; returns the length or -1. */
static int
b64dec(const char *in, uint8_t *out, size_t cap)
{
	size_t n = strlen(in), o = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v;

		if (in[i] == '=') {
			if (i + 2 < n)
				return -1;
			pad++;
			continue;
		}
		if (pad || (v = b64val((unsigned char)in[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)o;
}

/* ------------------------------------------------------------ commands */

#define PH(x) (1u << SMTPD_PH_##x)

struct smtpd_cmd {
	const char *verb;
	bool (*check)(struct smtpd_session *s, const char *args);
	void (*proceed)(struct smtpd_session *s, const char *args);
};

static bool
check_helo(struct smtpd_session *s, const char *args)
{
	if (!*args) {
		smtpd_reply(s, 501, ESC_INVALID_COMMAND_ARGUMENTS, "Syntax: EHLO hostname");
		return false;
	}
	return true;
}

static bool
check_ready(struct smtpd_session *s)
{
	if (s->phase == SMTPD_PH_INIT) {
		smtpd_reply(s, 503, ESC_INVALID_COMMAND, "Send EHLO first");
		return false;
	}
	return true;
}

static bool
check_mail(struct smtpd_session *s, const char *args)
{
	(void)args;
	if (!check_ready(s))
		return false;
	if (s->phase != SMTPD_PH_READY) {
		smtpd_reply(s, 503, ESC_INVALID_COMMAND, "Nested MAIL command");
		return false;
	}
	return true;
}

static bool
check_rcpt(struct smtpd_session *s, const char *args)
{
	(void)args;
	if (!check_ready(s))
		return false;
	if (s->phase != SMTPD_PH_MAIL && s->phase != SMTPD_PH_RCPT) {
		smtpd_reply(s, 503, ESC_INVALID_COMMAND, "Need MAIL before RCPT");
		return false;
	}
	return true;
}

static bool
check_data(struct smtpd_session *s, const char *args)
{
	if (!check_ready(s))
		return false;
	if (s->phase == SMTPD_PH_MAIL) {
		smtpd_reply(s, 554, ESC_INVALID_COMMAND, "No valid recipients");
		return false;
	}
	if (s->phase != SMTPD_PH_RCPT) {
		smtpd_reply(s, 503, ESC_INVALID_COMMAND, "Need RCPT before DATA");
		return false;
	}
	if (*args) {
		smtpd_reply(s, 501, ESC_INVALID_COMMAND_ARGUMENTS, "DATA takes no arguments");
		return false;
	}
	return true;
}

static bool
check_noargs(struct smtpd_session *s, const char *args)
{
	if (*args) {
		smtpd_reply(s, 501, ESC_INVALID_COMMAND_ARGUMENTS, "No arguments allowed");
		return false;
	}
	return true;
}

static bool
check_any(struct smtpd_session *s, const char *args)
{
	(void)s;
	(void)args;
	return true;
}

static bool
auth_offered(const struct smtpd_session *s)
{
	return s->prm.auth_available && (s->tls || s->prm.auth_plaintext);
}

static void
do_ehlo(struct smtpd_session *s, const char *args)
{
	snprintf(s->helo, sizeof(s->helo), "%s", args);
	s->phase = SMTPD_PH_READY;
	reset_transaction(s);
	s->esmtp = true;
	reply_cont(s, 250, ESC_NONE, "%s", s->hostname);
	reply_cont(s, 250, ESC_NONE, "PIPELINING");
	reply_cont(s, 250, ESC_NONE, "SIZE %llu", (unsigned long long)s->prm.max_size);
	reply_cont(s, 250, ESC_NONE, "8BITMIME");
	if (s->prm.starttls_offered && !s->tls)
		reply_cont(s, 250, ESC_NONE, "STARTTLS");
	if (auth_offered(s))
		reply_cont(s, 250, ESC_NONE, "AUTH PLAIN LOGIN");
	reply_cont(s, 250, ESC_NONE, "ENHANCEDSTATUSCODES");
	smtpd_reply(s, 250, ESC_NONE, "SMTPUTF8");
}

static void
do_helo(struct smtpd_session *s, const char *args)
{
	snprintf(s->helo, sizeof(s->helo), "%s", args);
	s->phase = SMTPD_PH_READY;
	reset_transaction(s);
	s->esmtp = false;
	smtpd_reply(s, 250, ESC_NONE, "%s", s->hostname);
}

static void
do_starttls(struct smtpd_session *s, const char *args)
{
	(void)args;
	if (s->tls) {
		smtpd_reply(s, 503, ESC_INVALID_COMMAND, "TLS already active");
		return;
	}
	if (!s->prm.starttls_offered) {
		smtpd_reply(s, 502, ESC_INVALID_COMMAND, "STARTTLS not available");
		return;
	}
	smtpd_reply(s, 220, ESC_OTHER_STATUS, "Ready to start TLS");
	s->phase = SMTPD_PH_TLS;
	s->ev = SMTPD_EV_STARTTLS;
}

static void
auth_finish(struct smtpd_session *s)
{
	s->phase = SMTPD_PH_WAIT_AUTH;
	s->ev = SMTPD_EV_AUTH;
}

/* A user name goes into logs: printable characters only (no log injection). */
static bool
printable(const char *p)
{
	for (; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* PLAIN response: authzid NUL authcid NUL passwd (RFC 4616). */
static void
auth_plain(struct smtpd_session *s, const char *resp)
{
	uint8_t buf[SMTPD_AUTH_MAX * 2 + 4];
	int n = b64dec(resp, buf, sizeof(buf) - 1);
	uint8_t *u, *pw;

	if (n < 0) {
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Cannot decode AUTH response");
		goto fail;
	}
	buf[n] = '\0';
	u = memchr(buf, '\0', (size_t)n);
	pw = u ? memchr(u + 1, '\0', (size_t)(buf + n - (u + 1))) : NULL;
	if (u == NULL || pw == NULL || strlen((char *)u + 1) >= SMTPD_AUTH_MAX ||
	    strlen((char *)pw + 1) >= SMTPD_AUTH_MAX || (size_t)(pw + 1 - buf) + strlen((char *)pw + 1) != (size_t)n) {
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Malformed AUTH PLAIN response");
		goto fail;
	}
	if (!printable((char *)u + 1)) {
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Control characters in the user name");
		goto fail;
	}
	/*
	 * RFC 4616 2: with an authzid the server must check that the authcid
	 * may act as it, and fail the authentication if not. zegel has no such
	 * grants: an authzid other than the authcid itself fails, whatever the
	 * password (decided before any credential check, so the answer says
	 * nothing about the password). RFC 4954 6: 535 5.7.8.
	 */
	if (u != buf && strcmp((char *)buf, (char *)u + 1) != 0) {
		smtpd_reply(s, 535, ESC_AUTH_CREDENTIALS_INVALID,
		    "Authentication credentials invalid: an authorization identity other than "
		    "the user is not supported");
		goto fail;
	}
	snprintf(s->auth_user, sizeof(s->auth_user), "%s", (char *)u + 1);
	snprintf(s->auth_pass, sizeof(s->auth_pass), "%s", (char *)pw + 1);
	wipe(buf, sizeof(buf));
	auth_finish(s);
	return;
fail:
	wipe(buf, sizeof(buf));
	auth_wipe(s);
	s->phase = SMTPD_PH_READY;
}

static void
auth_step(struct smtpd_session *s, const char *resp)
{
	uint8_t buf[SMTPD_AUTH_MAX];
	int n;

	if (strcmp(resp, "*") == 0) {
		auth_wipe(s);
		s->phase = SMTPD_PH_READY;
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "AUTH cancelled");
		return;
	}
	if (s->auth_mech == SMTPD_AUTH_PLAIN) {
		auth_plain(s, resp);
		return;
	}
	n = b64dec(resp, buf, sizeof(buf) - 1);
	if (n < 0 || memchr(buf, '\0', (size_t)n)) {
		wipe(buf, sizeof(buf));
		auth_wipe(s);
		s->phase = SMTPD_PH_READY;
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Cannot decode AUTH response");
		return;
	}
	buf[n] = '\0';
	if (s->auth_step == 0 && !printable((char *)buf)) {
		wipe(buf, sizeof(buf));
		auth_wipe(s);
		s->phase = SMTPD_PH_READY;
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Control characters in the user name");
		return;
	}
	if (s->auth_step == 0) {
		snprintf(s->auth_user, sizeof(s->auth_user), "%s", (char *)buf);
		s->auth_step = 1;
		s->phase = SMTPD_PH_AUTH;
		smtpd_reply(s, 334, ESC_NONE, "UGFzc3dvcmQ6"); /* "Password:" */
	} else {
		snprintf(s->auth_pass, sizeof(s->auth_pass), "%s", (char *)buf);
		auth_finish(s);
	}
	wipe(buf, sizeof(buf));
}

static void
do_auth(struct smtpd_session *s, const char *args)
{
	char mech[16];
	const char *ir;
	size_t k;

	if (!check_ready(s))
		return;
	if (!s->prm.auth_available) {
		smtpd_reply(s, 502, ESC_INVALID_COMMAND, "AUTH not available");
		return;
	}
	if (!s->tls && !s->prm.auth_plaintext) {
		smtpd_reply(s, 538, ESC_ENCRYPTION_REQUIRED, "Must issue a STARTTLS command first");
		return;
	}
	if (s->authed) {
		smtpd_reply(s, 503, ESC_INVALID_COMMAND, "Already authenticated");
		return;
	}
	if (s->phase != SMTPD_PH_READY) {
		smtpd_reply(s, 503, ESC_INVALID_COMMAND, "AUTH not allowed during a mail transaction");
		return;
	}
	for (k = 0; args[k] && args[k] != ' ' && k + 1 < sizeof(mech); k++)
		mech[k] = args[k];
	mech[k] = '\0';
	ir = args + k;
	while (*ir == ' ')
		ir++;
	s->auth_step = 0;
	if (strcasecmp(mech, "PLAIN") == 0)
		s->auth_mech = SMTPD_AUTH_PLAIN;
	else if (strcasecmp(mech, "LOGIN") == 0)
		s->auth_mech = SMTPD_AUTH_LOGIN;
	else {
		smtpd_reply(s, 504, ESC_INVALID_COMMAND_ARGUMENTS, "Unrecognized authentication type");
		return;
	}
	if (*ir) {
		if (strcmp(ir, "=") == 0)
			ir = "";
		auth_step(s, ir);
		return;
	}
	s->phase = SMTPD_PH_AUTH;
	if (s->auth_mech == SMTPD_AUTH_PLAIN)
		smtpd_reply(s, 334, ESC_NONE, " ");
	else
		smtpd_reply(s, 334, ESC_NONE, "VXNlcm5hbWU6"); /* "Username:" */
}

void
smtpd_auth_result(struct smtpd_session *s, bool ok)
{
	if (s->phase != SMTPD_PH_WAIT_AUTH)
		return;
	s->phase = SMTPD_PH_READY;
	if (ok) {
		s->authed = true;
		smtpd_reply(s, 235, ESC_OTHER_SECURITY_STATUS, "Authentication successful");
	} else {
		s->auth_user[0] = '\0';
		smtpd_reply(s, 535, ESC_AUTH_CREDENTIALS_INVALID, "Authentication credentials invalid");
	}
	auth_wipe(s);
}

/*
 * RFC 1870 6: size-value ::= 1*20DIGIT. No sign, no blanks, no base
 * prefix (strtoull would take "-1" as 2^64-1 and skip leading blanks). A
 * well-formed value beyond 64 bits saturates: it is "too big" (552), not a
 * syntax error.
 */
static bool
size_value(const char *p, uint64_t *v)
{
	size_t n = 0;

	*v = 0;
	for (; p[n] != '\0'; n++) {
		unsigned d = (unsigned char)p[n] - '0';

		if (d > 9 || n >= 20)
			return false;
		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
	}
	return n > 0;
}

static void
do_mail(struct smtpd_session *s, const char *args)
{
	const char *addr, *params, *err;
	char key[32], val[32];
	size_t alen;
	bool utf8 = false, body8 = false;
	uint64_t size = 0;

	if (strncasecmp(args, "FROM:", 5) != 0) {
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Syntax: MAIL FROM:<address>");
		return;
	}
	if ((err = parse_path(args + 5, &addr, &alen, &params)) != NULL) {
		smtpd_reply(s, 501, ESC_BAD_SENDER_MAILBOX_SYNTAX, "Bad sender address syntax: %s", err);
		return;
	}
	while (next_param(&params, key, sizeof(key), val, sizeof(val))) {
		if (strcasecmp(key, "SIZE") == 0) {
			uint64_t v;

			if (!size_value(val, &v)) {
				smtpd_reply(s, 501, ESC_INVALID_COMMAND_ARGUMENTS,
				    "Bad SIZE parameter: 1 to 20 digits (RFC 1870 6)");
				return;
			}
			if (v > s->prm.max_size) {
				smtpd_reply(s, 552, ESC_MESSAGE_TOO_BIG_FOR_SYSTEM,
				    "Message size exceeds fixed limit of %llu octets",
				    (unsigned long long)s->prm.max_size);
				return;
			}
			size = v;
		} else if (strcasecmp(key, "BODY") == 0) {
			if (strcasecmp(val, "8BITMIME") == 0)
				body8 = true;
			else if (strcasecmp(val, "7BIT") != 0) {
				smtpd_reply(s, 501, ESC_INVALID_COMMAND_ARGUMENTS, "Bad BODY parameter");
				return;
			}
		} else if (strcasecmp(key, "SMTPUTF8") == 0 && !*val) {
			utf8 = true;
		} else if (strcasecmp(key, "AUTH") == 0) {
			/* RFC 4954 5: accepted and ignored */
		} else {
			smtpd_reply(s, 555, ESC_INVALID_COMMAND_ARGUMENTS, "Unsupported MAIL parameter %s", key);
			return;
		}
	}
	if (alen > 0 && addr[0] == '@') {
		smtpd_reply(s, 553, ESC_BAD_SENDER_MAILBOX_SYNTAX, "Source routes are not accepted");
		return;
	}
	if (alen > 0 && (err = smtpd_check_mailbox(addr, alen, utf8)) != NULL) {
		smtpd_reply(s, 553, ESC_BAD_SENDER_MAILBOX_SYNTAX, "Bad sender address: %s", err);
		return;
	}
	if (alen > 0 && has_8bit(addr, alen) && !utf8) {
		smtpd_reply(s, 553, ESC_BAD_SENDER_MAILBOX_SYNTAX, "8-bit address needs SMTPUTF8");
		return;
	}
	if (s->prm.admit != NULL && s->prm.admit(s->prm.admit_arg, size) != 0) {
		smtpd_reply(s, 452, ESC_MAIL_SYSTEM_FULL,
		    "Insufficient system storage (queue full); try again later");
		return;
	}
	memcpy(s->mail_from, addr, alen);
	s->mail_from[alen] = '\0';
	s->smtputf8 = utf8;
	s->body_8bit = body8;
	s->mail_size = size;
	s->phase = SMTPD_PH_MAIL;
	smtpd_reply(s, 250, ESC_OTHER_ADDRESS_STATUS, "Ok");
}

static void
do_rcpt(struct smtpd_session *s, const char *args)
{
	const char *addr, *params, *err;
	char key[32], val[32];
	size_t alen;

	if (strncasecmp(args, "TO:", 3) != 0) {
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Syntax: RCPT TO:<address>");
		return;
	}
	if ((err = parse_path(args + 3, &addr, &alen, &params)) != NULL) {
		smtpd_reply(s, 501, ESC_BAD_DESTINATION_MAILBOX_SYNTAX, "Bad recipient address syntax: %s",
		    err);
		return;
	}
	if (next_param(&params, key, sizeof(key), val, sizeof(val))) {
		smtpd_reply(s, 555, ESC_INVALID_COMMAND_ARGUMENTS, "Unsupported RCPT parameter %s", key);
		return;
	}
	if (alen > 0 && addr[0] == '@') {   /* RFC 5321 4.1.1.3: we decline */
		smtpd_reply(s, 553, ESC_BAD_DESTINATION_MAILBOX_SYNTAX, "Source routes are not accepted");
		return;
	}
	if ((err = smtpd_check_mailbox(addr, alen, s->smtputf8)) != NULL) {
		smtpd_reply(s, 553, ESC_BAD_DESTINATION_MAILBOX_SYNTAX, "Bad recipient address: %s", err);
		return;
	}
	if (!s->prm.trusted_network && !s->authed) {
		smtpd_reply(s, 554, ESC_DELIVERY_NOT_AUTHORIZED,
		    "Relay access denied: authenticate or send from a configured network");
		return;
	}
	if (s->nrcpt >= CONFIG_SMTP_MAX_RECIPIENTS || s->rcptlen + alen + 1 > sizeof(s->rcpts)) {
		smtpd_reply(s, 452, ESC_TOO_MANY_RECIPIENTS, "Too many recipients");
		return;
	}
	if (s->prm.rcpt_async) {
		/* the caller asks its upstream: smtpd_rcpt_done() answers */
		memcpy(s->rcpt_pending, addr, alen);
		s->rcpt_pending[alen] = '\0';
		s->rcpt_back = s->phase;
		s->phase = SMTPD_PH_WAIT_RCPT;
		s->ev = SMTPD_EV_RCPT;
		return;
	}
	memcpy(s->rcpts + s->rcptlen, addr, alen);
	s->rcpts[s->rcptlen + alen] = '\0';
	s->rcptlen += alen + 1;
	s->nrcpt++;
	s->phase = SMTPD_PH_RCPT;
	smtpd_reply(s, 250, ESC_DESTINATION_ADDRESS_VALID, "Ok");
}

void
smtpd_rcpt_done(struct smtpd_session *s, int code, const char *esc, const char *text)
{
	size_t alen = strlen(s->rcpt_pending);

	if (s->phase != SMTPD_PH_WAIT_RCPT)
		return;
	s->phase = s->rcpt_back;
	if (code < 200 || code > 599)
		code = 451;
	if (code < 300) {
		memcpy(s->rcpts + s->rcptlen, s->rcpt_pending, alen + 1);
		s->rcptlen += alen + 1;
		s->nrcpt++;
		s->phase = SMTPD_PH_RCPT;
		code = 250;
	}
	reply_escstr(s, code, esc ? esc : "", "%s", text ? text : "");
	if (code >= 400 && code < 500)
		s->errors--;    /* the upstream's trouble is not the client's error */
	s->rcpt_pending[0] = '\0';
}

bool
smtpd_in_transaction(const struct smtpd_session *s)
{
	switch (s->phase) {
	case SMTPD_PH_MAIL:
	case SMTPD_PH_RCPT:
	case SMTPD_PH_DATA:
	case SMTPD_PH_WAIT_MSG:
	case SMTPD_PH_WAIT_RCPT:
		return !s->closing;
	default:
		return false;
	}
}

static void
do_data(struct smtpd_session *s, const char *args)
{
	(void)args;
	spool_data_init(&s->data, s->prm.max_size, s->prm.normalise);
	smtpd_reply(s, 354, ESC_NONE, "End data with <CR><LF>.<CR><LF>");
	s->phase = SMTPD_PH_DATA;
	s->ev = SMTPD_EV_DATA_BEGIN;
}

static void
do_rset(struct smtpd_session *s, const char *args)
{
	(void)args;
	reset_transaction(s);
	smtpd_reply(s, 250, ESC_OTHER_STATUS, "Ok");
}

static void
do_noop(struct smtpd_session *s, const char *args)
{
	(void)args;
	smtpd_reply(s, 250, ESC_OTHER_STATUS, "Ok");
}

static void
do_quit(struct smtpd_session *s, const char *args)
{
	(void)args;
	smtpd_reply(s, 221, ESC_OTHER_STATUS, "Bye");
	close_after(s);
}

static void
do_vrfy(struct smtpd_session *s, const char *args)
{
	(void)args;
	smtpd_reply(s, 502, ESC_INVALID_COMMAND, "VRFY and EXPN are disabled");
}

static void
do_help(struct smtpd_session *s, const char *args)
{
	(void)args;
	smtpd_reply(s, 214, ESC_OTHER_STATUS, "See RFC 5321 and RFC 6409");
}

static const struct smtpd_cmd smtpd_cmds[] = {
	{ "EHLO", check_helo, do_ehlo },
	{ "HELO", check_helo, do_helo },
	{ "STARTTLS", check_noargs, do_starttls },
	{ "AUTH", check_any, do_auth },
	{ "MAIL", check_mail, do_mail },
	{ "RCPT", check_rcpt, do_rcpt },
	{ "DATA", check_data, do_data },
	{ "RSET", check_noargs, do_rset },
	{ "NOOP", check_any, do_noop },
	{ "QUIT", check_any, do_quit },
	{ "VRFY", check_any, do_vrfy },
	{ "EXPN", check_any, do_vrfy },
	{ "HELP", check_any, do_help },
};

static void
command(struct smtpd_session *s, char *line)
{
	size_t vlen = strcspn(line, " ");
	const char *args = line + vlen;

	while (*args == ' ')
		args++;
	if (s->phase == SMTPD_PH_AUTH) {
		auth_step(s, line);
		return;
	}
	for (size_t i = 0; i < sizeof(smtpd_cmds) / sizeof(smtpd_cmds[0]); i++) {
		const struct smtpd_cmd *c = &smtpd_cmds[i];

		if (strlen(c->verb) == vlen && strncasecmp(c->verb, line, vlen) == 0) {
			if (c->check(s, args))
				c->proceed(s, args);
			return;
		}
	}
	smtpd_reply(s, 500, ESC_INVALID_COMMAND, "Command not recognized");
}

static void
line_end(struct smtpd_session *s)
{
	bool auth = s->phase == SMTPD_PH_AUTH;

	if (s->overflow) {
		if (auth)
			auth_wipe(s), s->phase = SMTPD_PH_READY;
		smtpd_reply(s, 500, ESC_SYNTAX_ERROR, "Line too long (limit %d octets)",
		    CONFIG_SMTP_LINE_MAX);
	} else {
		s->line[s->len] = '\0';
		if (memchr(s->line, '\0', s->len))
			smtpd_reply(s, 500, ESC_SYNTAX_ERROR, "NUL in command");
		else
			command(s, (char *)s->line);
	}
	if (auth)
		wipe(s->line, sizeof(s->line));
	s->len = 0;
	s->overflow = false;
	if (s->errors >= CONFIG_SMTP_MAX_ERRORS && !s->closing) {
		smtpd_reply(s, 421, ESC_OTHER_SECURITY_STATUS, "%s Too many errors, closing", s->hostname);
		close_after(s);
	}
}

static void
bare(struct smtpd_session *s, const char *what)
{
	smtpd_reply(s, 500, ESC_SYNTAX_ERROR,
	    "Bare <%s> received; only <CR><LF> ends a line (RFC 5321 2.3.8)", what);
	close_after(s);
}

static size_t
push_command(struct smtpd_session *s, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n && s->ev == SMTPD_EV_NONE && !smtpd_input_blocked(s) &&
	    s->phase != SMTPD_PH_DATA) {
		uint8_t c = p[i];

		if (s->outlen + 640 > SMTPD_OUT_MAX)
			break;          /* let the caller drain replies first */
		if (s->cr) {
			s->cr = false;
			if (c == '\n') {
				i++;
				line_end(s);
				continue;
			}
			if (!s->prm.normalise) {
				bare(s, "CR");
				break;
			}
			line_end(s);
			continue;
		}
		i++;
		if (c == '\r')
			s->cr = true;
		else if (c == '\n') {
			if (!s->prm.normalise) {
				bare(s, "LF");
				break;
			}
			line_end(s);
		} else if (s->len < CONFIG_SMTP_LINE_MAX - 2)
			s->line[s->len++] = c;
		else
			s->overflow = true;
	}
	return i;
}

static size_t
push_data(struct smtpd_session *s, const uint8_t *p, size_t n)
{
	size_t k = spool_data_push(&s->data, p, n);

	switch (spool_data_event(&s->data)) {
	case SPOOL_DATA_NONE:
		break;
	case SPOOL_DATA_LINE:
		s->ev = SMTPD_EV_DATA_LINE;
		break;
	case SPOOL_DATA_END:
		if (spool_data_oversize(&s->data)) {
			smtpd_reply(s, 552, ESC_MESSAGE_TOO_BIG_FOR_SYSTEM,
			    "Message size exceeds fixed limit of %llu octets",
			    (unsigned long long)s->prm.max_size);
		} else if (spool_data_toolong(&s->data)) {
			smtpd_reply(s, 550, ESC_OTHER_MEDIA_ERROR,
			    "Message has a line longer than 998 octets (RFC 5322 2.1.1)");
		} else {
			s->phase = SMTPD_PH_WAIT_MSG;
			s->ev = SMTPD_EV_DATA_END;
			s->nmessages++;
			break;
		}
		s->ev = SMTPD_EV_DATA_ABORT;
		reset_transaction(s);
		break;
	case SPOOL_DATA_ERROR:
		smtpd_reply(s, 554, ESC_SYNTAX_ERROR, "%s (SMTP smuggling protection), closing",
		    spool_data_strerror(spool_data_error(&s->data)));
		s->ev = SMTPD_EV_DATA_ABORT;
		s->closing = true;
		s->phase = SMTPD_PH_CLOSED;
		break;
	}
	return k;
}

size_t
smtpd_push(struct smtpd_session *s, const uint8_t *p, size_t n)
{
	size_t i = 0;

	s->ev = SMTPD_EV_NONE;
	if (s->closing)
		return n;                   /* after the last reply: drop input */
	while (i < n && s->ev == SMTPD_EV_NONE && !smtpd_input_blocked(s)) {
		size_t k;

		if (s->phase == SMTPD_PH_DATA)
			k = push_data(s, p + i, n - i);
		else
			k = push_command(s, p + i, n - i);
		i += k;
		if (k == 0 && s->ev == SMTPD_EV_NONE)
			break;
	}
	return i;
}

const uint8_t *
smtpd_data_line(const struct smtpd_session *s, size_t *n)
{
	return spool_data_line(&s->data, n);
}

void
smtpd_tls_started(struct smtpd_session *s)
{
	/* RFC 3207 4.2: forget everything learnt before TLS. */
	s->tls = true;
	s->esmtp = false;
	s->authed = false;
	s->helo[0] = '\0';
	s->len = 0;
	s->cr = s->overflow = false;
	auth_wipe(s);
	s->phase = SMTPD_PH_INIT;
	reset_transaction(s);
}

static void
reply_escstr(struct smtpd_session *s, int code, const char *esc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreply(s, code, ' ', esc, fmt, ap);
	va_end(ap);
}

void
smtpd_message_done(struct smtpd_session *s, int code, const char *esc, const char *text)
{
	if (s->phase != SMTPD_PH_WAIT_MSG)
		return;
	s->phase = SMTPD_PH_READY;
	reset_transaction(s);
	if (code < 200 || code > 599)
		code = 451;
	reply_escstr(s, code, esc ? esc : "", "%s", text ? text : "");
	if (code >= 400)
		s->errors--;    /* a delivery result is not the client's error */
}

void
smtpd_timeout(struct smtpd_session *s)
{
	if (s->closing)
		return;
	smtpd_reply(s, 421, ESC_CONNECTION_DROPPED, "%s Error: timeout exceeded", s->hostname);
	close_after(s);
}

void
smtpd_shutdown(struct smtpd_session *s, const char *why)
{
	if (s->closing)
		return;
	smtpd_reply(s, 421, ESC_SYSTEM_NOT_ACCEPTING_MESSAGES, "%s %s", s->hostname,
	    why ? why : "Service not available, closing");
	close_after(s);
}
