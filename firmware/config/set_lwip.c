/*
 * `set lwip ...` (firmware/config/README.md, hal/lwip/README.md): the
 * interface and addresses of the lwIP build's own TCP/IP stack. Accepted by
 * every build (a configuration moves between builds); only a build with
 * HAL_NET_LWIP uses them, at start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/config/grammar.h"
#include "firmware/config/internal.h"

/* "IP/PREFIX" of family fam (4 or 6), host bits kept: an interface address. */
static int
parse_ifaddr(const char *what, const char *s, int fam, struct hal_addr *a, uint8_t *prefix,
    char *err, size_t cap)
{
	char ip[64], *end;
	const char *slash = strchr(s, '/');
	unsigned long p;
	unsigned maxp = fam == 4 ? 32 : 128;

	if (slash == NULL || (size_t)(slash - s) >= sizeof(ip))
		goto bad;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = 0;
	memset(a, 0, sizeof(*a));
	if (hal_addr_parse_ip(fam, ip, a->ip) != 0 || slash[1] < '0' || slash[1] > '9')
		goto bad;
	a->family = (uint8_t)fam;
	p = strtoul(slash + 1, &end, 10);
	if (*end != 0 || p < 1 || p > maxp)
		return config_fail(err, cap, "%s: the prefix length in '%s' must be 1-%u", what, s,
		    maxp);
	*prefix = (uint8_t)p;
	return 0;
bad:
	return config_fail(err, cap, "%s: '%s' is not %s/PREFIX (%s) or none", what, s,
	    fam == 4 ? "IPV4" : "IPV6", fam == 4 ? "192.0.2.25/24" : "2001:db8::25/64");
}

int
config_set_lwip_driver(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "tap"))
		w->lwip.driver = ZCFG_LWIP_TAP;
	else if (streq(argv[0], "packet"))
		w->lwip.driver = ZCFG_LWIP_PACKET;
	else
		return config_fail(err, cap, "set lwip driver: '%s' is not tap or packet", argv[0]);
	return 0;
}

int
config_set_lwip_interface(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	size_t n = strlen(argv[0]);

	(void)argc;
	/* IFNAMSIZ: 15 characters; no '/' or white space (the kernel's rule) */
	if (n == 0 || n > 15 || strpbrk(argv[0], "/ \t:") != NULL || streq(argv[0], ".") ||
	    streq(argv[0], ".."))
		return config_fail(err, cap,
		    "set lwip interface: '%s' is not an interface name (1-15 characters, "
		    "no '/', ':' or space: tap0, eth1, eth0.20)", argv[0]);
	/* zeroed first: a shorter name leaves no tail of the longer one (the
	 * candidate is compared byte for byte: show diff, commit) */
	memset(w->lwip.ifname, 0, sizeof(w->lwip.ifname));
	snprintf(w->lwip.ifname, sizeof(w->lwip.ifname), "%s",
	    streq(argv[0], "tap0") ? "" : argv[0]);
	return 0;
}

int
config_set_lwip_address(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct hal_addr a;
	uint8_t prefix = 0;

	(void)argc;
	if (streq(argv[0], "none")) {
		w->lwip.addr4_set = false;
		memset(&w->lwip.addr4, 0, sizeof(w->lwip.addr4));
		w->lwip.prefix4 = 0;
		return 0;
	}
	/* parsed aside: a refused line leaves the candidate as it was */
	if (parse_ifaddr("set lwip address", argv[0], 4, &a, &prefix, err, cap) != 0)
		return -1;
	w->lwip.addr4 = a;
	w->lwip.prefix4 = prefix;
	w->lwip.addr4_set = true;
	return 0;
}

int
config_set_lwip_gateway(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct hal_addr a;

	(void)argc;
	if (streq(argv[0], "none")) {
		w->lwip.gw4_set = false;
		memset(&w->lwip.gw4, 0, sizeof(w->lwip.gw4));
		return 0;
	}
	memset(&a, 0, sizeof(a));
	if (hal_addr_parse_ip(4, argv[0], a.ip) != 0)
		return config_fail(err, cap,
		    "set lwip gateway: '%s' is not an IPv4 address (192.0.2.1) or none", argv[0]);
	a.family = 4;
	w->lwip.gw4 = a;
	w->lwip.gw4_set = true;
	return 0;
}

int
config_set_lwip_address6(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	struct hal_addr a;
	uint8_t prefix = 0;

	(void)argc;
	if (streq(argv[0], "none")) {
		w->lwip.addr6_set = false;
		memset(&w->lwip.addr6, 0, sizeof(w->lwip.addr6));
		w->lwip.prefix6 = 0;
		return 0;
	}
	if (parse_ifaddr("set lwip address6", argv[0], 6, &a, &prefix, err, cap) != 0)
		return -1;
	w->lwip.addr6 = a;
	w->lwip.prefix6 = prefix;
	w->lwip.addr6_set = true;
	return 0;
}

int
config_set_lwip_dhcp(struct zcfg *w, int argc, char **argv, char *err, size_t cap)
{
	(void)argc;
	if (streq(argv[0], "on") || streq(argv[0], "off"))
		w->lwip.dhcp = streq(argv[0], "on");
	else
		return config_fail(err, cap, "set lwip dhcp: '%s' is not on or off", argv[0]);
	return 0;
}

void
config_dump_lwip(const struct zcfg *c, bool full, void (*emit)(void *arg, const char *line),
    void *arg)
{
	const struct zcfg_lwip *l = &c->lwip;
	char line[128], ip[HAL_ADDR_IP_STRLEN];

	if (full || l->driver != ZCFG_LWIP_TAP)
		emit(arg, l->driver == ZCFG_LWIP_PACKET ? "set lwip driver packet" :
							  "set lwip driver tap");
	if (full || l->ifname[0]) {
		snprintf(line, sizeof(line), "set lwip interface %s", l->ifname[0] ? l->ifname : "tap0");
		emit(arg, line);
	}
	if (full || l->addr4_set) {
		hal_addr_format_ip(4, l->addr4.ip, ip, sizeof(ip));
		if (l->addr4_set)
			snprintf(line, sizeof(line), "set lwip address %s/%u", ip, (unsigned)l->prefix4);
		else
			snprintf(line, sizeof(line), "set lwip address none");
		emit(arg, line);
	}
	if (full || l->gw4_set) {
		hal_addr_format_ip(4, l->gw4.ip, ip, sizeof(ip));
		snprintf(line, sizeof(line), "set lwip gateway %s", l->gw4_set ? ip : "none");
		emit(arg, line);
	}
	if (full || l->addr6_set) {
		hal_addr_format_ip(6, l->addr6.ip, ip, sizeof(ip));
		if (l->addr6_set)
			snprintf(line, sizeof(line), "set lwip address6 %s/%u", ip, (unsigned)l->prefix6);
		else
			snprintf(line, sizeof(line), "set lwip address6 none");
		emit(arg, line);
	}
	if (full || l->dhcp)
		emit(arg, l->dhcp ? "set lwip dhcp on" : "set lwip dhcp off");
}
