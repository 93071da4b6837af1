/*
 * SMTP client engine (see smtpc.h for the model and the policy).
 *
 * Reply parsing follows RFC 5321 4.2: "ddd-text" continuation lines, then
 * "ddd text" (or a bare "ddd"); every line of one reply carries the same
 * code. Lines end in LF, a CR before it is dropped (replies are text we only
 * read; strictness about line ends matters for what we SEND, the message).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "zegel/text.h"
#include "firmware/relay/smtpc.h"

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

static void
enter_state(struct smtpc *c, enum smtpc_state s)
{
	if (c->trace != NULL && s != c->state)
		c->trace(c->trace_arg, smtpc_state_name(c->state), smtpc_state_name(s));
	c->state = s;
}

void
smtpc_init(struct smtpc *c, const struct smtpc_params *p)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->state = SMTPC_S_GREETING;
	c->tls = p->implicit_tls;
	c->bol = true;
	if (p->rcpt_results != NULL && p->nrcpt > 0)
		memset(p->rcpt_results, 0, p->nrcpt * sizeof(p->rcpt_results[0]));
}

/* Where recipient i's refusal is kept, NULL if nowhere. */
static struct smtpc_result *
rcpt_slot(const struct smtpc *c, unsigned i)
{
	if (i >= c->p->nrcpt)
		return NULL;
	if (c->p->rcpt_results != NULL)
		return &c->p->rcpt_results[i];
	if (i < SMTPC_RCPT_RESULTS)
		return (struct smtpc_result *)&c->rcpt_res[i];
	return NULL;
}

void
smtpc_set_trace(struct smtpc *c, void (*fn)(void *arg, const char *from, const char *to),
    void *arg)
{
	c->trace = fn;
	c->trace_arg = arg;
}

void
smtpc_free(struct smtpc *c)
{
	volatile uint8_t *v = (volatile uint8_t *)c;
	size_t i;

	for (i = 0; i < sizeof(*c); i++)
		v[i] = 0;
}

enum smtpc_event
smtpc_event(const struct smtpc *c)
{
	return c->ev;
}

const struct smtpc_result *
smtpc_result(const struct smtpc *c)
{
	return &c->res;
}

const struct smtpc_ext *
smtpc_ext(const struct smtpc *c)
{
	return &c->ext;
}

const struct smtpc_result *
smtpc_rcpt_result(const struct smtpc *c, unsigned i)
{
	const struct smtpc_result *r;

	if (c->p == NULL || i >= c->p->nrcpt)
		return NULL;
	if ((r = rcpt_slot(c, i)) != NULL && r->code != 0)
		return r;
	if (c->state != SMTPC_S_END)
		return NULL;
	return &c->res;
}

bool
smtpc_tls_used(const struct smtpc *c)
{
	return c->tls;
}

bool
smtpc_dot_sent(const struct smtpc *c)
{
	return c->dot_sent;
}

bool
smtpc_in_body(const struct smtpc *c)
{
	return c->in_body;
}

size_t
smtpc_discarded(const struct smtpc *c)
{
	return c->discarded;
}

/* ------------------------------------------------------------ output */

static bool
emit(struct smtpc *c, const char *fmt, ...)
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
static bool
parse_esc(const char *s, int code, char esc[12])
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

static void
finish(struct smtpc *c, enum smtpc_event ev, enum smtpc_err err, int code, const char *esc,
    const char *fmt, ...)
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
	enter_state(c, SMTPC_S_END);
}

/* Polite end: QUIT if there is room (there is unless the peer misbehaves). */
static void
quit(struct smtpc *c)
{
	(void)emit(c, "QUIT\r\n");
}

/* A refusal between zegel and its upstream: 451, the upstream's detail
 * (class made transient) or ours. */
static void
fail_session(struct smtpc *c, enum smtpc_err err, const char *def_esc, const char *what)
{
	char esc[12];

	if (c->reply_code != 0 && parse_esc(c->reply, c->reply_code, esc))
		esc[0] = '4';
	else
		zegel_strf(esc, sizeof(esc), "%s", def_esc);
	c->res.upstream_code = c->reply_code;
	if (c->reply_code != 0)
		finish(c, SMTPC_EV_FAILED, err, 451, esc, "%s: %d %s", what, c->reply_code, c->reply);
	else
		finish(c, SMTPC_EV_FAILED, err, 451, esc, "%s", what);
	quit(c);
}

/* A refusal of this message (or of one recipient) into r: 5xx passed
 * through, 4xx as 451. Records only; the caller decides when to finish. */
static void
record_into(struct smtpc *c, struct smtpc_result *r, enum smtpc_err err, const char *def_esc,
    const char *what)
{
	char esc[12];
	int code = c->reply_code;

	if (!parse_esc(c->reply, code, esc)) {
		zegel_strf(esc, sizeof(esc), "%s", def_esc);
		esc[0] = code >= 500 ? '5' : '4';
	}
	r->code = code >= 500 ? code : 451;
	r->err = err;
	r->upstream_code = code;
	zegel_strf(r->esc, sizeof(r->esc), "%s", esc);
	zegel_strf(r->text, sizeof(r->text), "%s: %d %s", what, code, c->reply);
}

static void
record_message(struct smtpc *c, enum smtpc_err err, const char *def_esc, const char *what)
{
	record_into(c, &c->res, err, def_esc, what);
}

static void
fail_recorded(struct smtpc *c)
{
	c->err = c->res.err;
	c->ev = SMTPC_EV_FAILED;
	enter_state(c, SMTPC_S_END);
	quit(c);
}

static void
fail_unexpected(struct smtpc *c, enum smtpc_err err, const char *what)
{
	c->res.upstream_code = c->reply_code;
	finish(c, SMTPC_EV_FAILED, err, 451, "4.5.0", "%s", what);
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
static bool
emit_secret(struct smtpc *c, const char *prefix, const uint8_t *src, size_t n)
{
	char enc[400];
	bool ok;

	if (b64_encode(enc, sizeof(enc), src, n) == 0 && n != 0)
		return false;
	if (n == 0)
		enc[0] = '\0';
	ok = emit(c, "%s%s\r\n", prefix, enc);
	c->out_secret = true;
	wipe(enc, sizeof(enc));
	return ok;
}

static const char *
rcpt_after(const struct smtpc *c, const char *r)
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
		if (!emit(c, "RCPT TO:<%s>\r\n", c->rcpt_next))
			return;
		c->rcpt_next = rcpt_after(c, c->rcpt_next);
		c->rcpt_sent++;
	}
}

static bool
send_next_rcpt(struct smtpc *c)
{
	if (!emit(c, "RCPT TO:<%s>\r\n", c->rcpt_next))
		return false;
	c->rcpt_next = rcpt_after(c, c->rcpt_next);
	c->rcpt_sent++;
	return true;
}

/* Stepwise: the caller's RCPT goes out (MAIL was accepted). */
static void
send_pending(struct smtpc *c)
{
	if (!emit(c, "RCPT TO:<%s>\r\n", c->pend)) {
		fail_unexpected(c, SMTPC_E_STATE, "internal: output full");
		return;
	}
	c->rcpt_sent++;
	enter_state(c, SMTPC_S_RCPT);
}

static void
start_mail(struct smtpc *c)
{
	const struct smtpc_params *p = c->p;
	const char *r;
	unsigned i;
	char params[96];
	size_t pl = 0;

	/* Invariant: no envelope or message byte before TLS (unless the
	 * opportunistic policy decided to carry on without it). */
	if (!c->tls && !c->plaintext) {
		fail_unexpected(c, SMTPC_E_STATE, "internal: MAIL before TLS refused");
		return;
	}
	if (strlen(p->mail_from) > 512) {
		finish(c, SMTPC_EV_FAILED, SMTPC_E_MAIL, 553, "5.1.7", "sender address too long");
		quit(c);
		return;
	}
	for (i = 0, r = p->rcpts; i < p->nrcpt; i++, r = rcpt_after(c, r))
		if (strlen(r) > 512) {
			finish(c, SMTPC_EV_FAILED, SMTPC_E_RCPT, 553, "5.1.3",
			    "recipient address too long");
			quit(c);
			return;
		}
	if (p->partial_ok && p->rcpt_results == NULL && p->nrcpt > SMTPC_RCPT_RESULTS) {
		finish(c, SMTPC_EV_FAILED, SMTPC_E_STATE, 451, "4.5.3",
		    "internal: %u recipients, at most %u per transaction with per-recipient results",
		    p->nrcpt, (unsigned)SMTPC_RCPT_RESULTS);
		quit(c);
		return;
	}
	if (c->ext.size && c->ext.size_max != 0 && p->size > c->ext.size_max) {
		finish(c, SMTPC_EV_FAILED, SMTPC_E_SIZE, 552, "5.3.4",
		    "message of %llu octets is larger than the upstream accepts (SIZE %llu)",
		    (unsigned long long)p->size, (unsigned long long)c->ext.size_max);
		quit(c);
		return;
	}
	if (p->smtputf8 && !c->ext.smtputf8) {
		finish(c, SMTPC_EV_FAILED, SMTPC_E_UTF8, 553, "5.6.7",
		    "message needs SMTPUTF8 and the upstream does not offer it");
		quit(c);
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
	if (!emit(c, "MAIL FROM:<%s>%s\r\n", p->mail_from, params)) {
		fail_unexpected(c, SMTPC_E_UNEXPECTED, "upstream replied before our command was sent");
		return;
	}
	c->rcpt_next = p->rcpts;
	c->rcpt_sent = c->rcpt_replied = c->rcpt_ok = 0;
	enter_state(c, SMTPC_S_MAIL);
	fill_rcpts(c);
}

/* SMTPC_TLS_OPPORTUNISTIC without TLS: the envelope and message may go in
 * plaintext, credentials never. */
static void
go_plaintext(struct smtpc *c, const char *why)
{
	if ((c->p->username != NULL && c->p->username[0] != '\0') || c->p->probe) {
		fail_session(c, SMTPC_E_NO_STARTTLS, "4.7.4", why);
		return;
	}
	c->plaintext = true;
	start_mail(c);
}

static void
after_ehlo_tls(struct smtpc *c)
{
	const struct smtpc_params *p = c->p;
	uint8_t cred[1 + 64 + 1 + 160];
	size_t ul, pl;

	if (p->probe && c->tls) {
		finish(c, SMTPC_EV_DONE, SMTPC_OK, 250, "2.0.0",
		    "EHLO over TLS answered%s%s%s%s", c->ext.pipelining ? ", PIPELINING" : "",
		    c->ext.eightbit ? ", 8BITMIME" : "", c->ext.auth_plain ? ", AUTH PLAIN" : "",
		    c->ext.auth_login ? ", AUTH LOGIN" : "");
		quit(c);
		return;
	}
	if (p->username == NULL || p->username[0] == '\0') {
		start_mail(c);
		return;
	}
	if (!c->tls) { /* unreachable: the state machine only gets here over TLS */
		fail_unexpected(c, SMTPC_E_STATE, "internal: AUTH before TLS refused");
		return;
	}
	ul = strlen(p->username);
	pl = p->password ? strlen(p->password) : 0;
	if (c->ext.auth_plain && ul <= 64 && pl <= 160) {
		cred[0] = 0;
		memcpy(cred + 1, p->username, ul);
		cred[1 + ul] = 0;
		memcpy(cred + 2 + ul, p->password, pl);
		(void)emit_secret(c, "AUTH PLAIN ", cred, 2 + ul + pl);
		wipe(cred, sizeof(cred));
		enter_state(c, SMTPC_S_AUTH);
	} else if (c->ext.auth_login) {
		(void)emit(c, "AUTH LOGIN\r\n");
		enter_state(c, SMTPC_S_AUTH_LOGIN_USER);
	} else {
		c->reply_code = 0;
		fail_session(c, SMTPC_E_NO_AUTH, "4.7.0",
		    "relay credentials are configured but the upstream offers no AUTH PLAIN or LOGIN");
	}
}

/* ------------------------------------------------------------ EHLO keywords */

static bool
word_is(const char *s, size_t n, const char *kw)
{
	size_t i;

	if (strlen(kw) != n)
		return false;
	for (i = 0; i < n; i++) {
		char a = s[i];
		if (a >= 'a' && a <= 'z')
			a = (char)(a - 'a' + 'A');
		if (a != kw[i])
			return false;
	}
	return true;
}

static void
ehlo_line(struct smtpc *c, const char *t)
{
	const char *w = t, *e;
	size_t n;
	bool auth;

	while (*w == ' ')
		w++;
	for (e = w; *e && *e != ' ' && *e != '='; e++)
		;
	n = (size_t)(e - w);
	auth = word_is(w, n, "AUTH");
	if (word_is(w, n, "STARTTLS"))
		c->ext.starttls = true;
	else if (word_is(w, n, "PIPELINING"))
		c->ext.pipelining = true;
	else if (word_is(w, n, "8BITMIME"))
		c->ext.eightbit = true;
	else if (word_is(w, n, "SMTPUTF8"))
		c->ext.smtputf8 = true;
	else if (word_is(w, n, "ENHANCEDSTATUSCODES"))
		c->ext.esc = true;
	else if (word_is(w, n, "SIZE")) {
		uint64_t v = 0;
		c->ext.size = true;
		for (e = e[0] == ' ' ? e + 1 : e; *e >= '0' && *e <= '9'; e++) {
			if (v > (UINT64_MAX - 9) / 10)
				break;
			v = v * 10 + (uint64_t)(*e - '0');
		}
		c->ext.size_max = v;
	}
	if (!auth)
		return;
	/* AUTH mech mech ... (and the old "AUTH=mech ..." form) */
	for (w = e; *w;) {
		while (*w == ' ' || *w == '=')
			w++;
		for (e = w; *e && *e != ' '; e++)
			;
		if (word_is(w, (size_t)(e - w), "PLAIN"))
			c->ext.auth_plain = true;
		else if (word_is(w, (size_t)(e - w), "LOGIN"))
			c->ext.auth_login = true;
		w = e;
	}
}

/* ------------------------------------------------------------ replies */

/* Stepwise: the reply to the caller's RCPT. */
static void
rcpt_reply_stepwise(struct smtpc *c)
{
	int code = c->reply_code;
	struct smtpc_result *r = &c->rcpt_last;

	if (!c->pend_set) {
		fail_unexpected(c, SMTPC_E_UNEXPECTED, "upstream replied before our command was sent");
		return;
	}
	if (code / 100 == 2) {
		char esc[12];
		if (!parse_esc(c->reply, code, esc))
			zegel_strf(esc, sizeof(esc), "2.1.5");
		memset(r, 0, sizeof(*r));
		r->code = 250;
		r->upstream_code = code;
		zegel_strf(r->esc, sizeof(r->esc), "%s", esc);
		zegel_strf(r->text, sizeof(r->text), "%d %s", code, c->reply);
		c->rcpt_ok++;
	} else {
		char what[SMTPC_ADDR_MAX + 32];
		zegel_strf(what, sizeof(what), "upstream refused <%s>", c->pend);
		record_into(c, r, SMTPC_E_RCPT, "5.1.0", what);
	}
	c->pend_set = false;
	c->rcpt_replied++;
	enter_state(c, SMTPC_S_ENVELOPE);
	c->ev = SMTPC_EV_RCPT;
}

static void
reply_greeting(struct smtpc *c)
{
	int cls = c->reply_code / 100;

	if (cls != 2) {
		fail_session(c, SMTPC_E_GREETING, "4.3.2", "upstream refused the session");
		return;
	}
	memset(&c->ext, 0, sizeof(c->ext));
	(void)emit(c, "EHLO %s\r\n", c->p->helo);
	enter_state(c, SMTPC_S_EHLO);
}

static void
reply_ehlo(struct smtpc *c)
{
	int cls = c->reply_code / 100;

	if (cls != 2) {
		fail_session(c, SMTPC_E_EHLO, "4.5.0", "upstream refused EHLO");
		return;
	}
	if (c->tls) { /* implicit TLS: no STARTTLS step */
		after_ehlo_tls(c);
		return;
	}
	if (!c->ext.starttls) {
		c->reply_code = 0;
		if (c->p->tls_mode == SMTPC_TLS_OPPORTUNISTIC) {
			go_plaintext(c, "upstream does not offer STARTTLS; relay "
			    "credentials are not sent in plaintext");
			return;
		}
		fail_session(c, SMTPC_E_NO_STARTTLS, "4.7.4",
		    "upstream does not offer STARTTLS; not sending in plaintext");
		return;
	}
	(void)emit(c, "STARTTLS\r\n");
	enter_state(c, SMTPC_S_STARTTLS);
}

static void
reply_starttls(struct smtpc *c)
{
	int code = c->reply_code, cls = code / 100;

	if (code != 220) {
		if (c->p->tls_mode == SMTPC_TLS_OPPORTUNISTIC && cls != 2) {
			/* RFC 3207 4: the client decides whether to go on */
			go_plaintext(c, "upstream refused STARTTLS; relay credentials "
			    "are not sent in plaintext");
			return;
		}
		fail_session(c, SMTPC_E_STARTTLS, "4.7.4",
		    "upstream refused STARTTLS; not sending in plaintext");
		return;
	}
	enter_state(c, SMTPC_S_TLS);
	c->ev = SMTPC_EV_NEED_TLS;
}

static void
reply_ehlo_tls(struct smtpc *c)
{
	int cls = c->reply_code / 100;

	if (cls != 2) {
		fail_session(c, SMTPC_E_EHLO, "4.5.0", "upstream refused EHLO after STARTTLS");
		return;
	}
	after_ehlo_tls(c);
}

static void
reply_auth_login_user(struct smtpc *c)
{
	int code = c->reply_code;

	if (code != 334) {
		fail_session(c, SMTPC_E_AUTH, "4.7.8", "upstream refused AUTH LOGIN");
		return;
	}
	(void)emit_secret(c, "", (const uint8_t *)c->p->username, strlen(c->p->username));
	enter_state(c, SMTPC_S_AUTH_LOGIN_PASS);
}

static void
reply_auth_login_pass(struct smtpc *c)
{
	int code = c->reply_code;

	if (code != 334) {
		fail_session(c, SMTPC_E_AUTH, "4.7.8", "upstream refused the relay user name");
		return;
	}
	(void)emit_secret(c, "", (const uint8_t *)(c->p->password ? c->p->password : ""),
	    c->p->password ? strlen(c->p->password) : 0);
	enter_state(c, SMTPC_S_AUTH);
}

static void
reply_auth(struct smtpc *c)
{
	int cls = c->reply_code / 100;

	if (cls != 2) {
		fail_session(c, SMTPC_E_AUTH, "4.7.8",
		    "upstream refused zegel's relay credentials");
		return;
	}
	start_mail(c);
}

static void
reply_mail(struct smtpc *c)
{
	int cls = c->reply_code / 100;

	if (cls != 2) {
		record_message(c, SMTPC_E_MAIL, "5.1.7", "upstream refused the sender");
		c->mail_failed = true;
		if (c->rcpt_sent == 0) {
			fail_recorded(c);
			return;
		}
	} else if (c->p->stepwise) {
		enter_state(c, SMTPC_S_ENVELOPE);
		if (c->pend_set)
			send_pending(c);
		return;
	} else if (!c->ext.pipelining) {
		if (c->p->nrcpt == 0 || !send_next_rcpt(c)) {
			fail_unexpected(c, SMTPC_E_STATE, "internal: no recipient to send");
			return;
		}
	}
	enter_state(c, SMTPC_S_RCPT);
}

static void
reply_rcpt(struct smtpc *c)
{
	int code = c->reply_code, cls = code / 100;
	const char *addr = c->p->rcpts;
	unsigned i;

	if (c->p->stepwise) {
		rcpt_reply_stepwise(c);
		return;
	}
	if (c->rcpt_replied >= c->rcpt_sent) {
		fail_unexpected(c, SMTPC_E_UNEXPECTED,
		    "upstream replied before our command was sent");
		return;
	}
	for (i = 0; i < c->rcpt_replied; i++)
		addr = rcpt_after(c, addr);
	i = c->rcpt_replied++;
	if (cls == 2) {
		c->rcpt_ok++;
	} else if (!c->mail_failed) {
		char what[300];
		struct smtpc_result *slot = rcpt_slot(c, i);
		if (slot != NULL) {
			zegel_strf(what, sizeof(what), "upstream refused <%s>", addr);
			record_into(c, slot, SMTPC_E_RCPT, "5.1.0", what);
		}
		if (!c->rcpt_failed || (code >= 500 && c->res.upstream_code < 500)) {
			zegel_strf(what, sizeof(what), "upstream refused <%s>%s", addr,
			    c->p->partial_ok ? "" : "; not sent to anyone");
			record_message(c, SMTPC_E_RCPT, "5.1.0", what);
			c->rcpt_failed = true;
		}
	}
	if (c->rcpt_replied < c->p->nrcpt) {
		if (!c->ext.pipelining && !send_next_rcpt(c))
			fail_unexpected(c, SMTPC_E_STATE, "internal: output full");
		return;
	}
	if (c->mail_failed || (c->rcpt_failed && !c->p->partial_ok) || c->rcpt_ok == 0) {
		fail_recorded(c);
		return;
	}
	(void)emit(c, "DATA\r\n");
	enter_state(c, SMTPC_S_DATA);
}

static void
reply_data(struct smtpc *c)
{
	int code = c->reply_code;

	if (code != 354) {
		record_message(c, SMTPC_E_DATA, "5.5.0", "upstream refused DATA");
		fail_recorded(c);
		return;
	}
	c->bol = true;
	c->cr = false;
	c->in_body = true;
	enter_state(c, SMTPC_S_BODY);
	c->ev = SMTPC_EV_NEED_BODY;
}

static void
reply_dot(struct smtpc *c)
{
	int code = c->reply_code, cls = code / 100;
	char esc[12];

	if (cls != 2) {
		record_message(c, SMTPC_E_MESSAGE, "5.0.0", "upstream refused the message");
		fail_recorded(c);
		return;
	}
	if (!parse_esc(c->reply, code, esc))
		zegel_strf(esc, sizeof(esc), "2.0.0");
	c->res.upstream_code = code;
	finish(c, SMTPC_EV_DONE, SMTPC_OK, 250, esc, "%d %s", code, c->reply);
	c->transactions++;
	if (c->p->keep_open)
		c->idle = true;
	else
		quit(c);
}

static void
reply_envelope(struct smtpc *c)
{
	/* nothing was asked: a 421 before the upstream hangs up */
	fail_session(c, SMTPC_E_UNEXPECTED, "4.4.2",
	    "upstream ended the session while zegel waited for its client");
}

/* A reply where none can come: push() swallows replies in TLS and END. */
static void
reply_ignored(struct smtpc *c)
{
	(void)c;
}

static void
reply_unexpected(struct smtpc *c)
{
	int code = c->reply_code;
	size_t l;

	fail_unexpected(c, SMTPC_E_UNEXPECTED, "unexpected reply from upstream");
	l = strlen(c->res.text);
	zegel_strf(c->res.text + l, sizeof(c->res.text) - l, ": %d %s", code, c->reply);
}

/* What each state does with a complete reply (RFC 5321 4.3.2 lists the
 * codes each command may get). */
static void (*const reply_in[SMTPC_S_COUNT])(struct smtpc *c) = {
	[SMTPC_S_GREETING] = reply_greeting,
	[SMTPC_S_EHLO] = reply_ehlo,
	[SMTPC_S_STARTTLS] = reply_starttls,
	[SMTPC_S_EHLO_TLS] = reply_ehlo_tls,
	[SMTPC_S_AUTH_LOGIN_USER] = reply_auth_login_user,
	[SMTPC_S_AUTH_LOGIN_PASS] = reply_auth_login_pass,
	[SMTPC_S_AUTH] = reply_auth,
	[SMTPC_S_MAIL] = reply_mail,
	[SMTPC_S_RCPT] = reply_rcpt,
	[SMTPC_S_DATA] = reply_data,
	[SMTPC_S_DOT] = reply_dot,
	[SMTPC_S_ENVELOPE] = reply_envelope,
	[SMTPC_S_TLS] = reply_ignored,
	[SMTPC_S_END] = reply_ignored,
	[SMTPC_S_BODY] = reply_unexpected,
};

static void
on_reply(struct smtpc *c)
{
	int cls = c->reply_code / 100;

	if (c->noop_pending > 0 && (c->state == SMTPC_S_ENVELOPE || c->state == SMTPC_S_RCPT ||
	    c->state == SMTPC_S_DATA)) {
		/* replies come in order: this one is for the keep-alive */
		c->noop_pending--;
		if (cls != 2)
			fail_session(c, SMTPC_E_UNEXPECTED, "4.4.2",
			    "upstream ended the session while zegel waited for its client");
		return;
	}
	if ((unsigned)c->state >= SMTPC_S_COUNT || reply_in[c->state] == NULL)
		reply_unexpected(c);
	else
		reply_in[c->state](c);
}

/* One reply line without its line end, NUL-terminated in c->line. */
static void
on_line(struct smtpc *c)
{
	const char *l = c->line;
	int code;
	bool last;
	size_t tl, room;

	if (c->line_len < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' ||
	    l[2] < '0' || l[2] > '9' || (c->line_len > 3 && l[3] != ' ' && l[3] != '-')) {
		fail_unexpected(c, SMTPC_E_SYNTAX, "malformed reply from upstream");
		return;
	}
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	last = c->line_len == 3 || l[3] == ' ';
	if (c->reply_code == 0) {
		c->reply_code = code;
		c->reply_lines = 0;
		c->reply_len = 0;
		c->reply[0] = '\0';
	} else if (c->reply_code != code) {
		fail_unexpected(c, SMTPC_E_SYNTAX, "malformed reply from upstream (codes differ)");
		return;
	}
	/* EHLO: every line after the first names an extension (RFC 5321 4.1.1.1). */
	if ((c->state == SMTPC_S_EHLO || c->state == SMTPC_S_EHLO_TLS) && c->reply_lines > 0 &&
	    code == 250)
		ehlo_line(c, c->line_len > 4 ? l + 4 : "");
	tl = c->line_len > 4 ? c->line_len - 4 : 0;
	room = sizeof(c->reply) - 1 - c->reply_len;
	if (c->reply_len > 0 && room > 0) {
		c->reply[c->reply_len++] = ' ';
		room--;
	}
	if (tl > room)
		tl = room;
	memcpy(c->reply + c->reply_len, l + 4, tl);
	c->reply_len += tl;
	c->reply[c->reply_len] = '\0';
	c->reply_lines++;
	if (!last)
		return;
	on_reply(c);
	c->reply_code = 0;
}

size_t
smtpc_push(struct smtpc *c, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (c->state == SMTPC_S_END)
			return n; /* after the verdict: the 221 to QUIT, anything else */
		if (c->state == SMTPC_S_TLS) {
			/* plaintext after the 220 to STARTTLS: discarded, never parsed */
			c->discarded += n - i;
			return n;
		}
		if (c->state == SMTPC_S_BODY) {
			fail_unexpected(c, SMTPC_E_UNEXPECTED, "upstream spoke during the message");
			return n;
		}
		if (p[i] == '\n') {
			if (c->line_len > 0 && c->line[c->line_len - 1] == '\r')
				c->line_len--;
			c->line[c->line_len] = '\0';
			on_line(c);
			c->line_len = 0;
			continue;
		}
		if (c->line_len + 1 >= sizeof(c->line)) {
			fail_unexpected(c, SMTPC_E_LINE, "reply line from upstream too long");
			return n;
		}
		c->line[c->line_len++] = (char)p[i];
	}
	return n;
}

void
smtpc_tls_up(struct smtpc *c)
{
	if (c->state != SMTPC_S_TLS) {
		fail_unexpected(c, SMTPC_E_STATE, "internal: TLS up in the wrong state");
		return;
	}
	c->tls = true;
	c->ev = SMTPC_EV_NONE;
	c->line_len = 0;
	c->reply_code = 0;
	memset(&c->ext, 0, sizeof(c->ext)); /* RFC 3207 4.2: forget pre-TLS knowledge */
	(void)emit(c, "EHLO %s\r\n", c->p->helo);
	enter_state(c, SMTPC_S_EHLO_TLS);
}

/* ------------------------------------------------------------ body */

size_t
smtpc_body(struct smtpc *c, const uint8_t *p, size_t n)
{
	size_t i;

	if (c->state != SMTPC_S_BODY) {
		if (c->state != SMTPC_S_END)
			fail_unexpected(c, SMTPC_E_STATE, "internal: body outside DATA");
		return 0;
	}
	for (i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (sizeof(c->out) - c->out_len < 2)
			return i;
		if ((c->cr && b != '\n') || (!c->cr && b == '\n')) {
			finish(c, SMTPC_EV_FAILED, SMTPC_E_BARE_EOL, 554, "5.6.0",
			    "message has a bare CR or LF after octet %llu; not relayed",
			    (unsigned long long)c->body_octets);
			return i;
		}
		if (b >= 0x80 && !c->eightbit_ok) {
			finish(c, SMTPC_EV_FAILED, SMTPC_E_8BIT, 554, "5.6.3",
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
			fail_unexpected(c, SMTPC_E_STATE, "internal: end of body outside DATA");
		return -1;
	}
	if (c->cr) {
		finish(c, SMTPC_EV_FAILED, SMTPC_E_BARE_EOL, 554, "5.6.0",
		    "message ends in a bare CR; not relayed");
		return -1;
	}
	if (sizeof(c->out) - c->out_len < 5)
		return -1;
	if (!c->bol)
		(void)emit(c, "\r\n");
	(void)emit(c, ".\r\n");
	c->dot_sent = true;
	c->in_body = false;
	c->ev = SMTPC_EV_NONE;
	enter_state(c, SMTPC_S_DOT);
	return 0;
}

void
smtpc_closed(struct smtpc *c)
{
	if (c->state == SMTPC_S_END)
		return;
	c->reply_code = 0;
	if (c->state == SMTPC_S_DOT)
		finish(c, SMTPC_EV_FAILED, SMTPC_E_CLOSED, 451, "4.4.2",
		    "connection to the upstream lost after the message was sent, before its "
		    "reply: delivery not confirmed");
	else if (c->state == SMTPC_S_BODY)
		finish(c, SMTPC_EV_FAILED, SMTPC_E_CLOSED, 451, "4.4.2",
		    "connection to the upstream lost while sending the message");
	else
		finish(c, SMTPC_EV_FAILED, SMTPC_E_CLOSED, 451, "4.4.2",
		    "upstream closed the connection (in %s)", smtpc_state_name(c->state));
	c->res.upstream_code = 0;
}

/* ------------------------------------------------------------ reuse */

bool
smtpc_idle(const struct smtpc *c)
{
	return c->idle && c->state == SMTPC_S_END && c->ev == SMTPC_EV_DONE;
}

int
smtpc_next(struct smtpc *c, const struct smtpc_params *p)
{
	if (!smtpc_idle(c) || p->stepwise || p->probe || c->out_len != 0)
		return -1;
	c->p = p;
	c->idle = false;
	c->ev = SMTPC_EV_NONE;
	c->err = SMTPC_OK;
	memset(&c->res, 0, sizeof(c->res));
	memset(c->rcpt_res, 0, sizeof(c->rcpt_res));
	if (p->rcpt_results != NULL && p->nrcpt > 0)
		memset(p->rcpt_results, 0, p->nrcpt * sizeof(p->rcpt_results[0]));
	c->rcpt_failed = c->mail_failed = false;
	c->in_body = false;
	c->dot_sent = false;
	c->bol = true;
	c->cr = false;
	c->body_octets = 0;
	c->reply_code = 0;
	c->reply_lines = 0;
	c->reply_len = 0;
	start_mail(c);
	return 0;
}

void
smtpc_quit(struct smtpc *c)
{
	if (!smtpc_idle(c))
		return;
	c->idle = false;
	quit(c);
}

/* ------------------------------------------------------------ stepwise */

int
smtpc_rcpt(struct smtpc *c, const char *addr)
{
	size_t n = strlen(addr);

	if (!c->p->stepwise || c->pend_set || n >= sizeof(c->pend) || n > 512 ||
	    c->state >= SMTPC_S_DATA)
		return -1;
	memcpy(c->pend, addr, n + 1);
	c->pend_set = true;
	if (c->ev == SMTPC_EV_RCPT)
		c->ev = SMTPC_EV_NONE;
	if (c->state == SMTPC_S_ENVELOPE)
		send_pending(c);
	return 0;
}

const struct smtpc_result *
smtpc_rcpt_last(const struct smtpc *c)
{
	return &c->rcpt_last;
}

unsigned
smtpc_rcpt_accepted(const struct smtpc *c)
{
	return c->rcpt_ok;
}

int
smtpc_data(struct smtpc *c, uint64_t size)
{
	if (!c->p->stepwise || c->state != SMTPC_S_ENVELOPE || c->rcpt_ok == 0)
		return -1;
	if (c->ev == SMTPC_EV_RCPT)
		c->ev = SMTPC_EV_NONE;
	if (c->ext.size && c->ext.size_max != 0 && size > c->ext.size_max) {
		c->reply_code = 0;
		finish(c, SMTPC_EV_FAILED, SMTPC_E_SIZE, 552, "5.3.4",
		    "message of %llu octets is larger than the upstream accepts (SIZE %llu)",
		    (unsigned long long)size, (unsigned long long)c->ext.size_max);
		c->res.upstream_code = 0;
		quit(c);
		return 0;
	}
	if (!emit(c, "DATA\r\n")) {
		fail_unexpected(c, SMTPC_E_STATE, "internal: output full");
		return 0;
	}
	enter_state(c, SMTPC_S_DATA);
	return 0;
}

int
smtpc_noop(struct smtpc *c)
{
	if (c->state != SMTPC_S_ENVELOPE || c->noop_pending > 0)
		return -1;
	if (!emit(c, "NOOP\r\n"))
		return -1;
	c->noop_pending++;
	return 0;
}

void
smtpc_cancel(struct smtpc *c)
{
	if (c->state == SMTPC_S_END)
		return;
	c->reply_code = 0;
	finish(c, SMTPC_EV_FAILED, SMTPC_E_CANCELLED, 451, "4.3.0",
	    "transaction cancelled by the client");
	c->res.upstream_code = 0;
	if (!c->in_body)
		quit(c);
}
