/*
 * `set smtpd ...`: fairness between LAN clients (issue 20; the arithmetic
 * is firmware/smtpd/fair.c). Each limit has a floor that keeps mail
 * flowing and, where RFC 5321 4.5.3.2 gives one, its timeout as the
 * ceiling.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/config/grammar.h"

static int
want_duration(const char *what, const char *s, uint32_t lo, uint32_t hi, const char *why,
    uint32_t *out, char *err, size_t cap)
{
	uint32_t v;

	if (!config_parse_duration(s, &v) || v < lo || v > hi)
		return config_fail(err, cap, "set smtpd %s: '%s' is not a duration from %us to %us "
		    "(30s, 5m)%s", what, s, (unsigned)lo, (unsigned)hi, why);
	*out = v;
	return 0;
}

static int
want_count(const char *what, const char *s, uint32_t lo, uint32_t hi, const char *why,
    uint32_t *out, char *err, size_t cap)
{
	bool ok;
	uint32_t v = config_parse_u32(s, &ok);

	if (!ok || v < lo || v > hi)
		return config_fail(err, cap, "set smtpd %s: '%s' is not a number from %u to %u%s",
		    what, s, (unsigned)lo, (unsigned)hi, why);
	*out = v;
	return 0;
}

int
config_set_smtpd_per_address(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return want_count("per-address-limit", argv[0], 1, CONFIG_MAX_SESSIONS,
	    " (the sessions this firmware was built for)", &w->smtpd.per_address, err, cap);
}

int
config_set_smtpd_idle(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return want_duration("idle-timeout", argv[0], 10, 300, " (RFC 5321 4.5.3.2.7: 5m)",
	    &w->smtpd.idle_timeout, err, cap);
}

int
config_set_smtpd_command(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return want_duration("command-timeout", argv[0], 1, 300, " (RFC 5321 4.5.3.2: 5m)",
	    &w->smtpd.command_timeout, err, cap);
}

int
config_set_smtpd_transaction(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	return want_duration("transaction-timeout", argv[0], 1, 3600, "",
	    &w->smtpd.transaction_timeout, err, cap);
}

/* min-data-rate BYTES [window DURATION] */
int
config_set_smtpd_rate(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_smtpd f = w->smtpd;
	int rc = want_count("min-data-rate", argv[0], 0, 1u << 30, " octets per second (0 = off)",
	    &f.min_data_rate, err, cap);

	if (rc != 0)
		return rc;
	if (argc == 3 && streq(argv[1], "window"))
		rc = want_duration("min-data-rate window", argv[2], 1, 180,
		    " (RFC 5321 4.5.3.2.5: 3m per data block)", &f.data_rate_window, err, cap);
	else if (argc != 1)
		return config_fail(err, cap, "set smtpd min-data-rate: expected 'BYTES [window "
		    "DURATION]'");
	if (rc == 0)
		w->smtpd = f;
	return rc;
}

int
config_set_smtpd_shed(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "off")) {
		w->smtpd.shed_idle = 0;
		return 0;
	}
	return want_duration("shed-idle", argv[0], 1, 300, " or off", &w->smtpd.shed_idle, err, cap);
}

/* auth-delay DURATION [max DURATION] */
int
config_set_smtpd_auth_delay(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_smtpd f = w->smtpd;
	int rc = want_duration("auth-delay", argv[0], 0, 60, "", &f.auth_delay, err, cap);

	if (rc != 0)
		return rc;
	if (argc == 3 && streq(argv[1], "max"))
		rc = want_duration("auth-delay max", argv[2], 0, 300, "", &f.auth_delay_max, err, cap);
	else if (argc != 1)
		return config_fail(err, cap, "set smtpd auth-delay: expected 'DURATION [max DURATION]'");
	if (rc == 0 && f.auth_delay_max < f.auth_delay)
		return config_fail(err, cap, "set smtpd auth-delay: max %us is below the first "
		    "delay %us", (unsigned)f.auth_delay_max, (unsigned)f.auth_delay);
	if (rc == 0)
		w->smtpd = f;
	return rc;
}

/* auth-lockout N [for DURATION] */
int
config_set_smtpd_auth_lockout(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_smtpd f = w->smtpd;
	int rc = want_count("auth-lockout", argv[0], 0, 1000, " failures (0 = never)",
	    &f.auth_lockout, err, cap);

	if (rc != 0)
		return rc;
	if (argc == 3 && streq(argv[1], "for"))
		rc = want_duration("auth-lockout for", argv[2], 1, 86400, "", &f.auth_lockout_time,
		    err, cap);
	else if (argc != 1)
		return config_fail(err, cap, "set smtpd auth-lockout: expected 'N [for DURATION]'");
	if (rc == 0)
		w->smtpd = f;
	return rc;
}
