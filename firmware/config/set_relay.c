/*
 * `set relay ...` / `delete relay ...`: where and how mail leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/config/grammar.h"

/* ------------------------------------------------------------ relay */

int
config_set_relay_outbox(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char p[ZCFG_PATH_MAX];
	int rc = config_want_path("set relay outbox", argv[0], p, err, cap);

	(void)argc;
	if (rc != 0)
		return rc;
	memcpy(w->relay.outbox, p, sizeof(p));
	w->relay.kind = ZCFG_RELAY_OUTBOX;
	return 0;
}

/* HOST, HOST:PORT, [V6]:PORT, or a bare IPv6 address; then `queue on|off`
 * (left out: off, so the line says the whole mode and a pasted or diffed
 * `set relay smarthost HOST` turns a queue off again). */
int
config_set_relay_smarthost(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	static const char *const what = "set relay smarthost";
	const char *s = argv[0], *port = NULL, *colon;
	char host[ZCFG_NAME_MAX], tmp[ZCFG_NAME_MAX];
	struct hal_addr a;
	bool queue = false;
	size_t n;

	if (!IS_ENABLED(CONFIG_FEATURE_RELAY_SMARTHOST))
		return config_fail(err, cap, "%s: this firmware was built without smarthost relaying",
		    what);
	if (argc == 2 || (argc == 3 && !streq(argv[1], "queue")))
		return config_fail(err, cap, "%s: after HOST[:PORT] only 'queue on' or 'queue off' "
		    "(got '%s%s%s')", what, argv[1], argc == 3 ? " " : "", argc == 3 ? argv[2] : "");
	if (argc == 3) {
		int rc = config_want_onoff("set relay smarthost ... queue", argv[2], &queue, err,
		    cap);

		if (rc != 0)
			return rc;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			goto bad;
		n = (size_t)(close - s - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != 0)
			goto bad;
		s++;
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s);
		port = colon + 1;
	} else {
		n = strlen(s);
	}
	if (n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, s, n);
	host[n] = 0;
	if (hal_addr_parse(&a, host, 0) != 0) {
		if (!config_valid_dname(host, tmp))
			goto bad;
		memcpy(host, tmp, strlen(tmp) + 1);
	} else if (argv[0][0] != '[' && a.family == 6 && port != NULL) {
		goto bad;
	}
	w->relay.port = CONFIG_RELAY_DEFAULT_PORT;
	if (port != NULL) {
		bool ok;
		uint32_t v = config_parse_u32(port, &ok);
		if (!ok || v == 0 || v > 65535)
			return config_fail(err, cap, "%s: port '%s' is not 1-65535", what, port);
		w->relay.port = (uint16_t)v;
	}
	put(w->relay.host, sizeof(w->relay.host), host);
	w->relay.kind = ZCFG_RELAY_SMARTHOST;
	w->relay.queue = queue;
	return 0;
bad:
	return config_fail(err, cap,
	    "%s: '%s' is not HOST[:PORT] (mail.example.net:587, "
	    "192.0.2.1:465, [2001:db8::1]:587)",
	    what, argv[0]);
}

int
config_set_relay_direct(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	(void)argv;
	if (!IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT))
		return config_fail(err, cap,
		    "set relay direct: this firmware was built "
		    "without direct delivery");
	w->relay.kind = ZCFG_RELAY_DIRECT;
	return 0;
}

/* A credential of 1 .. dstcap-1 characters into dst. */
static int
set_credential(const char *what, char *dst, size_t dstcap, const char *s, char *err, size_t cap)
{
	size_t n = strlen(s);

	if (n == 0 || n >= dstcap)
		return config_fail(err, cap, "%s: must have 1 to %d characters", what,
		    (int)dstcap - 1);
	put(dst, dstcap, s);
	return 0;
}

int
config_set_relay_username(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return set_credential("set relay username", w->relay.username,
	    sizeof(w->relay.username), argv[0], err, cap);
}

int
config_set_relay_password(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], CONFIG_SECRET_MASK))
		return config_fail(err, cap, "set relay password: '%s' is what 'show running' prints "
		    "in place of the password, not the password (type it, or paste the lines of "
		    "'show running secrets')", CONFIG_SECRET_MASK);
	return set_credential("set relay password", w->relay.password,
	    sizeof(w->relay.password), argv[0], err, cap);
}

/* What save writes: the password sealed with the device key (secret.c). */
int
config_set_relay_password_sealed(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char pw[ZCFG_SECRET_MAX], e[240];
	int rc;

	(void)argc;
	if ((rc = config_secret_open(w->data_dir, argv[0], pw, sizeof(pw), e, sizeof(e))) != 0)
		return config_fail(err, cap, "set relay password-sealed: %s", e);
	put(w->relay.password, sizeof(w->relay.password), pw);
	config_wipe(pw, sizeof(pw));
	return 0;
}

int
config_set_relay_ca_file(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char p[ZCFG_PATH_MAX];
	int rc = config_want_path("set relay ca-file", argv[0], p, err, cap);

	(void)argc;
	if (rc == 0)
		memcpy(w->relay.ca_file, p, sizeof(p));
	return rc;
}

int
config_set_relay_tls(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "starttls"))
		w->relay.implicit_tls = false;
	else if (streq(argv[0], "implicit"))
		w->relay.implicit_tls = true;
	else
		return config_fail(err, cap, "set relay tls: '%s' is not starttls or implicit",
		    argv[0]);
	return 0;
}

int
config_set_relay_require_tls(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return config_want_onoff("set relay require-tls", argv[0], &w->relay.require_tls, err, cap);
}

int
config_set_relay_tls_required_no(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "honour") || streq(argv[0], "honor"))
		w->relay.tls_required_no = true;
	else if (streq(argv[0], "ignore"))
		w->relay.tls_required_no = false;
	else
		return config_fail(err, cap, "set relay tls-required-no: '%s' is not honour or "
		    "ignore", argv[0]);
	return 0;
}

int
config_set_relay_mx_port(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	char *end;
	unsigned long v;

	(void)argc;
	v = strtoul(argv[0], &end, 10);
	if (argv[0][0] < '0' || argv[0][0] > '9' || *end != '\0' || v == 0 || v > 65535)
		return config_fail(err, cap, "set relay mx-port: '%s' is not a port number "
		    "(1-65535; SMTP between MTAs is 25)", argv[0]);
	w->relay.mx_port = (uint16_t)v;
	return 0;
}

int
config_delete_relay(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "username"))
		memset(w->relay.username, 0, sizeof(w->relay.username));
	else if (streq(argv[0], "password"))
		memset(w->relay.password, 0, sizeof(w->relay.password));
	else if (streq(argv[0], "ca-file"))
		memset(w->relay.ca_file, 0, sizeof(w->relay.ca_file));
	else
		return config_fail(err, cap,
		    "delete relay: '%s' cannot be deleted "
		    "(username, password, ca-file)",
		    argv[0]);
	return 0;
}

/* ------------------------------------------------------------ TLS-RPT */

int
config_set_tlsrpt(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return config_want_onoff("set tlsrpt", argv[0], &w->tlsrpt.on, err, cap);
}

/* Printable ASCII only: the text goes into a JSON report and a mail. */
static int
tlsrpt_text(const char *what, const char *v, char *out, char *err, size_t cap)
{
	if (strlen(v) >= ZCFG_TLSRPT_TEXT_MAX)
		return config_fail(err, cap, "%s: at most %d characters", what,
		    ZCFG_TLSRPT_TEXT_MAX - 1);
	for (const char *c = v; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return config_fail(err, cap, "%s: printable ASCII only", what);
	put(out, ZCFG_TLSRPT_TEXT_MAX, v);
	return 0;
}

int
config_set_tlsrpt_org(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return tlsrpt_text("set tlsrpt organization", argv[0], w->tlsrpt.org, err, cap);
}

int
config_set_tlsrpt_contact(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return tlsrpt_text("set tlsrpt contact", argv[0], w->tlsrpt.contact, err, cap);
}
