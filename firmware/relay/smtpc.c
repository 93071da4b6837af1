/*
 * SMTP client engine (see smtpc.h for the model and the policy): the
 * reply-driven state machine, one rule and handler per state. What it sends
 * and the verdicts it records are in smtpc_send.c (smtpc_send.h).
 *
 * Reply parsing follows RFC 5321 4.2: "ddd-text" continuation lines, then
 * "ddd text" (or a bare "ddd"); every line of one reply carries the same
 * code. Lines end in LF, a CR before it is dropped (replies are text we only
 * read; strictness about line ends matters for what we SEND, the message).
 */
#include <stdio.h>
#include <string.h>

#include "zegel/text.h"
#include "firmware/relay/smtpc_send.h"

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
	else if (word_is(w, n, "REQUIRETLS"))
		c->ext.requiretls = true;
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
		smtpc_fail_unexpected(c, SMTPC_E_UNEXPECTED,
		    "upstream replied before our command was sent");
		return;
	}
	if (code / 100 == 2) {
		char esc[12];
		if (!smtpc_parse_esc(c->reply, code, esc))
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
		smtpc_record_into(c, r, SMTPC_E_RCPT, "5.1.0", what);
	}
	c->pend_set = false;
	c->rcpt_replied++;
	smtpc_enter_state(c, SMTPC_S_ENVELOPE);
	c->ev = SMTPC_EV_RCPT;
}

static void
reply_greeting(struct smtpc *c)
{
	memset(&c->ext, 0, sizeof(c->ext));
	(void)smtpc_emit(c, "EHLO %s\r\n", c->p->helo);
	smtpc_enter_state(c, SMTPC_S_EHLO);
}

static void
reply_ehlo(struct smtpc *c)
{
	int cls = c->reply_code / 100;

	if (cls != 2) {
		smtpc_fail_session(c, SMTPC_E_EHLO, "4.5.0", "upstream refused EHLO");
		return;
	}
	if (c->tls) { /* implicit TLS: no STARTTLS step */
		smtpc_after_ehlo_tls(c);
		return;
	}
	if (!c->ext.starttls) {
		c->reply_code = 0;
		if (c->p->tls_mode == SMTPC_TLS_OPPORTUNISTIC) {
			smtpc_go_plaintext(c, "upstream does not offer STARTTLS; relay "
			    "credentials are not sent in plaintext");
			return;
		}
		smtpc_fail_session(c, SMTPC_E_NO_STARTTLS, "4.7.4",
		    "upstream does not offer STARTTLS; not sending in plaintext");
		return;
	}
	(void)smtpc_emit(c, "STARTTLS\r\n");
	smtpc_enter_state(c, SMTPC_S_STARTTLS);
}

static void
reply_starttls(struct smtpc *c)
{
	int code = c->reply_code, cls = code / 100;

	if (code != 220) {
		if (c->p->tls_mode == SMTPC_TLS_OPPORTUNISTIC && cls != 2) {
			/* RFC 3207 4: the client decides whether to go on */
			smtpc_go_plaintext(c, "upstream refused STARTTLS; relay credentials "
			    "are not sent in plaintext");
			return;
		}
		smtpc_fail_session(c, SMTPC_E_STARTTLS, "4.7.4",
		    "upstream refused STARTTLS; not sending in plaintext");
		return;
	}
	smtpc_enter_state(c, SMTPC_S_TLS);
	c->ev = SMTPC_EV_NEED_TLS;
}

static void
reply_auth_login_user(struct smtpc *c)
{
	(void)smtpc_emit_secret(c, "", (const uint8_t *)c->p->username, strlen(c->p->username));
	smtpc_enter_state(c, SMTPC_S_AUTH_LOGIN_PASS);
}

static void
reply_auth_login_pass(struct smtpc *c)
{
	(void)smtpc_emit_secret(c, "", (const uint8_t *)(c->p->password ? c->p->password : ""),
	    c->p->password ? strlen(c->p->password) : 0);
	smtpc_enter_state(c, SMTPC_S_AUTH);
}

static void
reply_mail(struct smtpc *c)
{
	int cls = c->reply_code / 100;

	if (cls != 2) {
		smtpc_record_message(c, SMTPC_E_MAIL, "5.1.7", "upstream refused the sender");
		c->mail_failed = true;
		if (c->rcpt_sent == 0) {
			smtpc_fail_recorded(c);
			return;
		}
	} else if (c->p->stepwise) {
		smtpc_enter_state(c, SMTPC_S_ENVELOPE);
		if (c->pend_set)
			smtpc_send_pending(c);
		return;
	} else if (!c->ext.pipelining) {
		if (c->p->nrcpt == 0 || !smtpc_send_next_rcpt(c)) {
			smtpc_fail_unexpected(c, SMTPC_E_STATE, "internal: no recipient to send");
			return;
		}
	}
	smtpc_enter_state(c, SMTPC_S_RCPT);
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
		smtpc_fail_unexpected(c, SMTPC_E_UNEXPECTED,
		    "upstream replied before our command was sent");
		return;
	}
	for (i = 0; i < c->rcpt_replied; i++)
		addr = smtpc_rcpt_after(c, addr);
	i = c->rcpt_replied++;
	if (cls == 2) {
		c->rcpt_ok++;
	} else if (!c->mail_failed) {
		char what[300];
		struct smtpc_result *slot = rcpt_slot(c, i);
		if (slot != NULL) {
			zegel_strf(what, sizeof(what), "upstream refused <%s>", addr);
			smtpc_record_into(c, slot, SMTPC_E_RCPT, "5.1.0", what);
		}
		if (!c->rcpt_failed || (code >= 500 && c->res.upstream_code < 500)) {
			zegel_strf(what, sizeof(what), "upstream refused <%s>%s", addr,
			    c->p->partial_ok ? "" : "; not sent to anyone");
			smtpc_record_message(c, SMTPC_E_RCPT, "5.1.0", what);
			c->rcpt_failed = true;
		}
	}
	if (c->rcpt_replied < c->p->nrcpt) {
		if (!c->ext.pipelining && !smtpc_send_next_rcpt(c))
			smtpc_fail_unexpected(c, SMTPC_E_STATE, "internal: output full");
		return;
	}
	if (c->mail_failed || (c->rcpt_failed && !c->p->partial_ok) || c->rcpt_ok == 0) {
		smtpc_fail_recorded(c);
		return;
	}
	(void)smtpc_emit(c, "DATA\r\n");
	smtpc_enter_state(c, SMTPC_S_DATA);
}

static void
reply_data(struct smtpc *c)
{
	int code = c->reply_code;

	if (code != 354) {
		smtpc_record_message(c, SMTPC_E_DATA, "5.5.0", "upstream refused DATA");
		smtpc_fail_recorded(c);
		return;
	}
	c->bol = true;
	c->cr = false;
	c->in_body = true;
	smtpc_enter_state(c, SMTPC_S_BODY);
	c->ev = SMTPC_EV_NEED_BODY;
}

static void
reply_dot(struct smtpc *c)
{
	int code = c->reply_code, cls = code / 100;
	char esc[12];

	if (cls != 2) {
		smtpc_record_message(c, SMTPC_E_MESSAGE, "5.0.0", "upstream refused the message");
		smtpc_fail_recorded(c);
		return;
	}
	if (!smtpc_parse_esc(c->reply, code, esc))
		zegel_strf(esc, sizeof(esc), "2.0.0");
	c->res.upstream_code = code;
	smtpc_finish(c, SMTPC_EV_DONE, SMTPC_OK, 250, esc, "%d %s", code, c->reply);
	c->transactions++;
	if (c->p->keep_open)
		c->idle = true;
	else
		smtpc_send_quit(c);
}

static void
reply_envelope(struct smtpc *c)
{
	/* nothing was asked: a 421 before the upstream hangs up */
	smtpc_fail_session(c, SMTPC_E_UNEXPECTED, "4.4.2",
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

	smtpc_fail_unexpected(c, SMTPC_E_UNEXPECTED, "unexpected reply from upstream");
	l = strlen(c->res.text);
	zegel_strf(c->res.text + l, sizeof(c->res.text) - l, ": %d %s", code, c->reply);
}

/*
 * What each state does with a complete reply (RFC 5321 4.3.2 lists the
 * codes each command may get): a state with `want` fails the session with
 * (err, esc, what) unless the reply is a 2xx (want 2) or exactly want, then
 * proceeds; a state without `want` judges the reply in its handler.
 */
static const struct reply_rule {
	int want;
	enum smtpc_err err;
	const char *esc, *what;
	void (*proceed)(struct smtpc *c);
} reply_rules[SMTPC_S_COUNT] = {
	[SMTPC_S_GREETING] = { 2, SMTPC_E_GREETING, "4.3.2", "upstream refused the session",
	    reply_greeting },
	[SMTPC_S_EHLO] = { 0, SMTPC_OK, NULL, NULL, reply_ehlo },
	[SMTPC_S_STARTTLS] = { 0, SMTPC_OK, NULL, NULL, reply_starttls },
	[SMTPC_S_EHLO_TLS] = { 2, SMTPC_E_EHLO, "4.5.0", "upstream refused EHLO after STARTTLS",
	    smtpc_after_ehlo_tls },
	[SMTPC_S_AUTH_LOGIN_USER] = { 334, SMTPC_E_AUTH, "4.7.8", "upstream refused AUTH LOGIN",
	    reply_auth_login_user },
	[SMTPC_S_AUTH_LOGIN_PASS] = { 334, SMTPC_E_AUTH, "4.7.8",
	    "upstream refused the relay user name", reply_auth_login_pass },
	[SMTPC_S_AUTH] = { 2, SMTPC_E_AUTH, "4.7.8", "upstream refused zegel's relay credentials",
	    smtpc_start_mail },
	[SMTPC_S_MAIL] = { 0, SMTPC_OK, NULL, NULL, reply_mail },
	[SMTPC_S_RCPT] = { 0, SMTPC_OK, NULL, NULL, reply_rcpt },
	[SMTPC_S_DATA] = { 0, SMTPC_OK, NULL, NULL, reply_data },
	[SMTPC_S_DOT] = { 0, SMTPC_OK, NULL, NULL, reply_dot },
	[SMTPC_S_ENVELOPE] = { 0, SMTPC_OK, NULL, NULL, reply_envelope },
	[SMTPC_S_TLS] = { 0, SMTPC_OK, NULL, NULL, reply_ignored },
	[SMTPC_S_END] = { 0, SMTPC_OK, NULL, NULL, reply_ignored },
	[SMTPC_S_BODY] = { 0, SMTPC_OK, NULL, NULL, reply_unexpected },
};

static void
on_reply(struct smtpc *c)
{
	int cls = c->reply_code / 100;
	const struct reply_rule *r;

	if (c->noop_pending > 0 && (c->state == SMTPC_S_ENVELOPE || c->state == SMTPC_S_RCPT ||
	    c->state == SMTPC_S_DATA)) {
		/* replies come in order: this one is for the keep-alive */
		c->noop_pending--;
		if (cls != 2)
			smtpc_fail_session(c, SMTPC_E_UNEXPECTED, "4.4.2",
			    "upstream ended the session while zegel waited for its client");
		return;
	}
	if ((unsigned)c->state >= SMTPC_S_COUNT || reply_rules[c->state].proceed == NULL) {
		reply_unexpected(c);
		return;
	}
	r = &reply_rules[c->state];
	if (r->want != 0 && (r->want == 2 ? cls != 2 : c->reply_code != r->want)) {
		smtpc_fail_session(c, r->err, r->esc, r->what);
		return;
	}
	r->proceed(c);
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
		smtpc_fail_unexpected(c, SMTPC_E_SYNTAX, "malformed reply from upstream");
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
		smtpc_fail_unexpected(c, SMTPC_E_SYNTAX,
		    "malformed reply from upstream (codes differ)");
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
			smtpc_fail_unexpected(c, SMTPC_E_UNEXPECTED,
			    "upstream spoke during the message");
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
			smtpc_fail_unexpected(c, SMTPC_E_LINE, "reply line from upstream too long");
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
		smtpc_fail_unexpected(c, SMTPC_E_STATE, "internal: TLS up in the wrong state");
		return;
	}
	c->tls = true;
	c->ev = SMTPC_EV_NONE;
	c->line_len = 0;
	c->reply_code = 0;
	memset(&c->ext, 0, sizeof(c->ext)); /* RFC 3207 4.2: forget pre-TLS knowledge */
	(void)smtpc_emit(c, "EHLO %s\r\n", c->p->helo);
	smtpc_enter_state(c, SMTPC_S_EHLO_TLS);
}

void
smtpc_closed(struct smtpc *c)
{
	if (c->state == SMTPC_S_END)
		return;
	c->reply_code = 0;
	if (c->state == SMTPC_S_DOT)
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_CLOSED, 451, "4.4.2",
		    "connection to the upstream lost after the message was sent, before its "
		    "reply: delivery not confirmed");
	else if (c->state == SMTPC_S_BODY)
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_CLOSED, 451, "4.4.2",
		    "connection to the upstream lost while sending the message");
	else
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_CLOSED, 451, "4.4.2",
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
	smtpc_start_mail(c);
	return 0;
}

void
smtpc_quit(struct smtpc *c)
{
	if (!smtpc_idle(c))
		return;
	c->idle = false;
	smtpc_send_quit(c);
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
		smtpc_send_pending(c);
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
		smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_SIZE, 552, "5.3.4",
		    "message of %llu octets is larger than the upstream accepts (SIZE %llu)",
		    (unsigned long long)size, (unsigned long long)c->ext.size_max);
		c->res.upstream_code = 0;
		smtpc_send_quit(c);
		return 0;
	}
	if (!smtpc_emit(c, "DATA\r\n")) {
		smtpc_fail_unexpected(c, SMTPC_E_STATE, "internal: output full");
		return 0;
	}
	smtpc_enter_state(c, SMTPC_S_DATA);
	return 0;
}

int
smtpc_noop(struct smtpc *c)
{
	if (c->state != SMTPC_S_ENVELOPE || c->noop_pending > 0)
		return -1;
	if (!smtpc_emit(c, "NOOP\r\n"))
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
	smtpc_finish(c, SMTPC_EV_FAILED, SMTPC_E_CANCELLED, 451, "4.3.0",
	    "transaction cancelled by the client");
	c->res.upstream_code = 0;
	if (!c->in_body)
		smtpc_send_quit(c);
}
