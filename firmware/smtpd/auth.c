/*
 * AUTH on the SMTP server engine (smtpd.h): PLAIN (RFC 4616) and LOGIN,
 * only where offered (after TLS unless the listener allows plaintext), the
 * secret wiped on every path; the session layer checks the credentials and
 * answers through smtpd_auth_result().
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/smtpd/engine_int.h"
#include "firmware/smtpd/syntax.h"

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
	int n = smtpd_b64dec(resp, buf, sizeof(buf) - 1);
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
	smtpd_wipe(buf, sizeof(buf));
	auth_finish(s);
	return;
fail:
	smtpd_wipe(buf, sizeof(buf));
	smtpd_auth_wipe(s);
	s->phase = SMTPD_PH_READY;
}

void
smtpd_auth_step(struct smtpd_session *s, const char *resp)
{
	uint8_t buf[SMTPD_AUTH_MAX];
	int n;

	if (strcmp(resp, "*") == 0) {
		smtpd_auth_wipe(s);
		s->phase = SMTPD_PH_READY;
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "AUTH cancelled");
		return;
	}
	if (s->auth_mech == SMTPD_AUTH_PLAIN) {
		auth_plain(s, resp);
		return;
	}
	n = smtpd_b64dec(resp, buf, sizeof(buf) - 1);
	if (n < 0 || memchr(buf, '\0', (size_t)n)) {
		smtpd_wipe(buf, sizeof(buf));
		smtpd_auth_wipe(s);
		s->phase = SMTPD_PH_READY;
		smtpd_reply(s, 501, ESC_SYNTAX_ERROR, "Cannot decode AUTH response");
		return;
	}
	buf[n] = '\0';
	if (s->auth_step == 0 && !printable((char *)buf)) {
		smtpd_wipe(buf, sizeof(buf));
		smtpd_auth_wipe(s);
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
	smtpd_wipe(buf, sizeof(buf));
}

void
smtpd_do_auth(struct smtpd_session *s, const char *args)
{
	char mech[16];
	const char *ir;
	size_t k;

	if (!smtpd_check_ready(s))
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
		smtpd_auth_step(s, ir);
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
	smtpd_auth_wipe(s);
}

void
smtpd_auth_forget(struct smtpd_session *s)
{
	smtpd_wipe(s->auth_pass, sizeof(s->auth_pass));
}

void
smtpd_auth_locked(struct smtpd_session *s, unsigned seconds)
{
	if (s->phase != SMTPD_PH_WAIT_AUTH)
		return;
	s->phase = SMTPD_PH_READY;
	s->auth_user[0] = '\0';
	smtpd_reply(s, 454, ESC_OTHER_SECURITY_STATUS,
	    "Too many failed authentications from your address; try again in %u seconds", seconds);
	smtpd_auth_wipe(s);
}
