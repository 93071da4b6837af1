/*
 * `set ntp ...` and `set syslog ...` (firmware/config/README.md): where the
 * clock comes from and where log lines go besides the console.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/config/grammar.h"

const char *const config_syslog_facilities[24] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

/* "host", "host:port", "1.2.3.4:port", "[v6]:port", bare "v6" -> name and
 * port (def when none). 0, or -1 when s is none of them. */
static int
host_port(const char *s, uint16_t def, char host[ZCFG_NAME_MAX], uint16_t *port)
{
	const char *p = NULL, *colon;
	char tmp[ZCFG_NAME_MAX], name[ZCFG_NAME_MAX];
	struct hal_addr a;
	size_t n;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || (close[1] != 0 && close[1] != ':'))
			return -1;
		n = (size_t)(close - s - 1);
		p = close[1] == ':' ? close + 2 : NULL;
		s++;
	} else if ((colon = strchr(s, ':')) != NULL && strchr(colon + 1, ':') == NULL) {
		n = (size_t)(colon - s);
		p = colon + 1;
	} else {
		n = strlen(s);
	}
	if (n == 0 || n >= ZCFG_NAME_MAX)
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (hal_addr_parse(&a, tmp, 0) != 0) {
		if (!config_valid_dname(tmp, name))
			return -1;
		memcpy(tmp, name, sizeof(tmp)); /* lower case, no trailing dot */
	}
	*port = def;
	if (p != NULL) {
		bool ok;
		uint32_t v = config_parse_u32(p, &ok);

		if (!ok || v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	put(host, ZCFG_NAME_MAX, tmp);
	return 0;
}

int
config_set_ntp_server(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_ntp n = w->ntp;

	memset(n.host, 0, sizeof(n.host));
	memset(n.port, 0, sizeof(n.port));
	for (int i = 0; i < argc; i++)
		if (host_port(argv[i], 123, n.host[i], &n.port[i]) != 0)
			return config_fail(err, cap,
			    "set ntp server: '%s' is not HOST[:PORT] (192.0.2.123, "
			    "ntp.example.net, [2001:db8::123]:123)", argv[i]);
	n.nservers = (uint8_t)argc;
	w->ntp = n;
	return 0;
}

int
config_set_ntp_interval(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	uint32_t v;

	(void)argc;
	if (!config_parse_duration(argv[0], &v) || v < 16 || v > 86400)
		return config_fail(err, cap,
		    "set ntp interval: '%s' is not a duration from 16s to 1d (64s, 15m, 1h)",
		    argv[0]);
	w->ntp.interval = v == 3600 ? 0 : v;
	return 0;
}

int
config_delete_ntp_server(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	(void)argv;
	if (w->ntp.nservers == 0)
		return config_fail(err, cap, "delete ntp server: no NTP server is configured");
	memset(w->ntp.host, 0, sizeof(w->ntp.host));
	memset(w->ntp.port, 0, sizeof(w->ntp.port));
	w->ntp.nservers = 0;
	return 0;
}

int
config_set_syslog(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct zcfg_syslog s = w->syslog;

	struct hal_addr a;

	/* an IP address: the log must reach the collector when DNS fails */
	if (host_port(argv[0], 514, s.host, &s.port) != 0 || hal_addr_parse(&a, s.host, 0) != 0)
		return config_fail(err, cap,
		    "set syslog: '%s' is not IP[:PORT] (192.0.2.10, 192.0.2.10:514, "
		    "[2001:db8::10]:514)", argv[0]);
	if (streq(argv[1], "udp") || streq(argv[1], "tcp"))
		s.tcp = streq(argv[1], "tcp");
	else
		return config_fail(err, cap, "set syslog: '%s' is not udp or tcp", argv[1]);
	s.rfc3164 = false;
	if (argc == 3) {
		if (streq(argv[2], "rfc3164"))
			s.rfc3164 = true;
		else if (!streq(argv[2], "rfc5424"))
			return config_fail(err, cap, "set syslog: '%s' is not rfc5424 or rfc3164",
			    argv[2]);
	}
	w->syslog = s;
	return 0;
}

int
config_set_syslog_facility(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	int i = config_lookup(argv[0], config_syslog_facilities, 24);

	(void)argc;
	if (i < 0)
		return config_fail(err, cap,
		    "set syslog-facility: '%s' is not a facility (mail, daemon, user, "
		    "local0 to local7, ...)", argv[0]);
	w->syslog.facility = (uint8_t)i;
	w->syslog.facility_set = i != 2;
	return 0;
}

int
config_delete_syslog(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	(void)argv;
	if (w->syslog.host[0] == 0)
		return config_fail(err, cap, "delete syslog: no syslog server is configured");
	memset(w->syslog.host, 0, sizeof(w->syslog.host));
	w->syslog.port = 0;
	w->syslog.tcp = w->syslog.rfc3164 = false;
	return 0;
}

static void
fmt_hostport(const char *host, uint16_t port, char *buf, size_t cap)
{
	snprintf(buf, cap, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

void
config_dump_time_log(const struct zcfg *c, void (*emit)(void *arg, const char *line),
    void *arg)
{
	char line[ZCFG_NTP_SERVERS * (ZCFG_NAME_MAX + 10) + 64], hp[ZCFG_NAME_MAX + 10];
	size_t used;

	if (c->ntp.nservers > 0) {
		used = (size_t)snprintf(line, sizeof(line), "set ntp server");
		for (unsigned i = 0; i < c->ntp.nservers && i < ZCFG_NTP_SERVERS; i++) {
			fmt_hostport(c->ntp.host[i], c->ntp.port[i], hp, sizeof(hp));
			used += (size_t)snprintf(line + used, sizeof(line) - used, " %s", hp);
		}
		emit(arg, line);
	}
	if (c->ntp.interval != 0) {
		snprintf(line, sizeof(line), "set ntp interval %us", (unsigned)c->ntp.interval);
		emit(arg, line);
	}
	if (c->syslog.host[0]) {
		fmt_hostport(c->syslog.host, c->syslog.port, hp, sizeof(hp));
		snprintf(line, sizeof(line), "set syslog %s %s %s", hp, c->syslog.tcp ? "tcp" : "udp",
		    c->syslog.rfc3164 ? "rfc3164" : "rfc5424");
		emit(arg, line);
	}
	if (c->syslog.facility_set) {
		snprintf(line, sizeof(line), "set syslog-facility %s",
		    config_syslog_facilities[c->syslog.facility % 24]);
		emit(arg, line);
	}
}
