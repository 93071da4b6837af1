/*
 * The SMTP server engine (see smtpd.h): command line assembly with strict
 * CRLF rules, a {verb, check, proceed} command table in the shape of
 * OpenSMTPD's smtp_session.c, and the DATA phase through
 * firmware/spool/data.h. AUTH is in auth.c, argument syntax in syntax.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/smtpd/smtpd.h"
#include "firmware/smtpd/engine_int.h"
#include "firmware/smtpd/syntax.h"

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
	s->body_8bit = s->smtputf8 = s->requiretls = false;
	s->mail_size = 0;
	s->rcptlen = 0;
	s->nrcpt = 0;
	if (s->phase != SMTPD_PH_INIT && s->phase != SMTPD_PH_CLOSED)
		s->phase = SMTPD_PH_READY;
}

void
smtpd_init(struct smtpd_session *s, const struct smtpd_params *prm)
{
	memset(s, 0, offsetof(struct smtpd_session, out));
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
check_mail(struct smtpd_session *s, const char *args)
{
	(void)args;
	if (!smtpd_check_ready(s))
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
	if (!smtpd_check_ready(s))
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
	if (!smtpd_check_ready(s))
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
	smtpd_reply_cont(s, 250, ESC_NONE, "%s", s->hostname);
	smtpd_reply_cont(s, 250, ESC_NONE, "PIPELINING");
	smtpd_reply_cont(s, 250, ESC_NONE, "SIZE %llu", (unsigned long long)s->prm.max_size);
	smtpd_reply_cont(s, 250, ESC_NONE, "8BITMIME");
	if (s->prm.starttls_offered && !s->tls)
		smtpd_reply_cont(s, 250, ESC_NONE, "STARTTLS");
	if (auth_offered(s))
		smtpd_reply_cont(s, 250, ESC_NONE, "AUTH PLAIN LOGIN");
	/* RFC 8689 2: only on a session protected by TLS */
	if (s->tls)
		smtpd_reply_cont(s, 250, ESC_NONE, "REQUIRETLS");
	smtpd_reply_cont(s, 250, ESC_NONE, "ENHANCEDSTATUSCODES");
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
do_mail(struct smtpd_session *s, const char *args)
{
	const char *addr, *params, *err;
	char key[32], val[32];
	size_t alen;
	bool utf8 = false, body8 = false, rtls = false;
	uint64_t size = 0;

	if (strncasecmp(args, "FROM:", 5) != 0) {
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Syntax: MAIL FROM:<address>");
		return;
	}
	if ((err = smtpd_parse_path(args + 5, &addr, &alen, &params)) != NULL) {
		smtpd_reply(s, 501, ESC_BAD_SENDER_MAILBOX_SYNTAX, "Bad sender address syntax: %s", err);
		return;
	}
	while (smtpd_next_param(&params, key, sizeof(key), val, sizeof(val))) {
		if (strcasecmp(key, "REQUIRETLS") == 0) {
			/* RFC 8689 3: no value, once, and only where it was offered */
			if (!s->tls) {
				smtpd_reply(s, 530, ESC_ENCRYPTION_NEEDED,
				    "REQUIRETLS needs a TLS session: STARTTLS first (RFC 8689)");
				return;
			}
			if (*val || rtls) {
				smtpd_reply(s, 501, ESC_INVALID_COMMAND_ARGUMENTS,
				    "Bad REQUIRETLS parameter: no value, once (RFC 8689 3)");
				return;
			}
			rtls = true;
		} else if (strcasecmp(key, "SIZE") == 0) {
			uint64_t v;

			if (!smtpd_size_value(val, &v)) {
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
	if (alen > 0 && smtpd_has_8bit(addr, alen) && !utf8) {
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
	s->requiretls = rtls;
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
	if ((err = smtpd_parse_path(args + 3, &addr, &alen, &params)) != NULL) {
		smtpd_reply(s, 501, ESC_BAD_DESTINATION_MAILBOX_SYNTAX, "Bad recipient address syntax: %s",
		    err);
		return;
	}
	if (smtpd_next_param(&params, key, sizeof(key), val, sizeof(val))) {
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
	smtpd_reply_escstr(s, code, esc ? esc : "", "%s", text ? text : "");
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
	{ "AUTH", check_any, smtpd_do_auth },
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
	s->cur_verb = NULL;
	if (s->phase == SMTPD_PH_AUTH) {
		smtpd_auth_step(s, line);
		return;
	}
	for (size_t i = 0; i < sizeof(smtpd_cmds) / sizeof(smtpd_cmds[0]); i++) {
		const struct smtpd_cmd *c = &smtpd_cmds[i];

		if (strlen(c->verb) == vlen && strncasecmp(c->verb, line, vlen) == 0) {
			s->cur_verb = c->verb;
			/* MAIL and RCPT only: never keep an AUTH line around */
			if (c->proceed == do_mail || c->proceed == do_rcpt)
				snprintf(s->cur_line, sizeof(s->cur_line), "%.120s", line);
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
			smtpd_auth_wipe(s), s->phase = SMTPD_PH_READY;
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
		smtpd_wipe(s->line, sizeof(s->line));
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
	smtpd_auth_wipe(s);
	s->phase = SMTPD_PH_INIT;
	reset_transaction(s);
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
	smtpd_reply_escstr(s, code, esc ? esc : "", "%s", text ? text : "");
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
smtpd_deadline(struct smtpd_session *s, const char *why)
{
	if (s->closing)
		return;
	smtpd_reply(s, 421, ESC_CONNECTION_DROPPED, "%s Error: %s, closing", s->hostname, why);
	close_after(s);
}

bool
smtpd_partial_line(const struct smtpd_session *s)
{
	return s->phase != SMTPD_PH_DATA && (s->len > 0 || s->cr || s->overflow);
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
