/*
 * The lwIP build's interface (hal/lwip/README.md): `zegel run` starts it
 * from `set lwip ...` before the listeners are used; `show lwip` shows it.
 * A change of `set lwip` is kept by `save` and used at the next start.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "firmware/console/console.h"
#include "hal/log.h"
#include "hal/net.h"
#include "zegel/cfg.h"
#include "zegel/config.h"

#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
#include "hal/lwip.h"

static struct zcfg_lwip started_with;

int
app_lwip_start(const struct zcfg *c)
{
	struct hal_lwip_netif_cfg n;
	const struct zcfg_lwip *l = &c->lwip;
	char why[200];
	int rc;

	memset(&n, 0, sizeof(n));
	n.driver = l->driver == ZCFG_LWIP_PACKET ? HAL_LWIP_PACKET : HAL_LWIP_TAP;
	snprintf(n.ifname, sizeof(n.ifname), "%s", l->ifname);
	n.dhcp = l->dhcp;
	n.has_ip4 = l->addr4_set;
	memcpy(n.ip4, l->addr4.ip, 4);
	n.prefix4 = l->prefix4;
	n.has_gw4 = l->gw4_set;
	memcpy(n.gw4, l->gw4.ip, 4);
	n.has_ip6 = l->addr6_set;
	memcpy(n.ip6, l->addr6.ip, 16);
	n.prefix6 = l->prefix6;
	started_with = *l;
	if (!l->addr4_set && !l->dhcp && !l->addr6_set)
		hal_log(HAL_LOG_WARN, "lwip", "no address: set lwip address, address6 or dhcp on "
					      "(only IPv6 link-local and SLAAC until then)");
	if ((rc = hal_lwip_netif_start(&n, why, sizeof(why))) != 0) {
		hal_log(HAL_LOG_ERR, "lwip", "%s", why);
		return rc;
	}
	hal_log(HAL_LOG_INFO, "lwip", "interface %s (%s) up", n.ifname[0] ? n.ifname : "tap0",
	    n.driver == HAL_LWIP_TAP ? "tap" : "packet");
	return 0;
}

void
app_lwip_commit(const struct zcfg *c)
{
	if (memcmp(&c->lwip, &started_with, sizeof(started_with)) != 0)
		hal_log(HAL_LOG_INFO, "lwip", "the lwIP interface changes at the next start "
					      "(save, then restart)");
}

static void
emit_console(void *arg, const char *line)
{
	console_puts(arg, line);
}
#endif

static int
cmd_show_lwip(struct console *c, int argc, char **argv, const char *line)
{
	(void)argc;
	(void)argv;
	(void)line;
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	console_printf(c, "net: %s", hal_net_name());
	hal_lwip_status(emit_console, c);
#else
	console_printf(c, "net: %s (this build has no lwIP: `set lwip` is kept, unused)",
	    hal_net() ? hal_net_name() : "none");
#endif
	return 0;
}

static const struct console_cmd lwip_cmds[] = {
	{ "show lwip", "",
	    "the lwIP build's interface (driver, MAC, link), its IPv4 and IPv6 addresses and "
	    "lwIP's pools (used, peak, size, refused)",
	    cmd_show_lwip },
};

int
lwip_console_register(void)
{
	return console_register(lwip_cmds, sizeof(lwip_cmds) / sizeof(lwip_cmds[0]));
}
