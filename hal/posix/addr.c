/* IPv4/IPv6 address text <-> struct hal_addr (inet_pton/inet_ntop). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hal/net.h"

static int
parse_port(const char *s, uint16_t *port)
{
	char *end;
	unsigned long v;

	if (*s == 0)
		return -EINVAL;
	v = strtoul(s, &end, 10);
	if (*end != 0 || v == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int
hal_addr_parse(struct hal_addr *a, const char *s, uint16_t default_port)
{
	char host[64];
	const char *port = NULL;
	size_t n;

	memset(a, 0, sizeof(*a));
	a->port = default_port;
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return -EINVAL;
		n = (size_t)(close - s - 1);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, n);
		host[n] = 0;
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != 0)
			return -EINVAL;
	} else {
		const char *colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) { /* v4:port */
			n = (size_t)(colon - s);
			port = colon + 1;
		} else {
			n = strlen(s);
		}
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, s, n);
		host[n] = 0;
	}
	if (port != NULL && parse_port(port, &a->port) != 0)
		return -EINVAL;
	if (inet_pton(AF_INET, host, a->ip) == 1) {
		a->family = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, a->ip) == 1) {
		a->family = 6;
		return 0;
	}
	return -EINVAL;
}

void
hal_addr_format(const struct hal_addr *a, bool with_port, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->ip, ip, sizeof(ip)) == NULL)
		strcpy(ip, "?");
	if (!with_port)
		snprintf(buf, cap, "%s", ip);
	else if (a->family == 6)
		snprintf(buf, cap, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, cap, "%s:%u", ip, a->port);
}
