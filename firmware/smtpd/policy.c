/* Who may relay and what may be signed: pure functions of the configuration. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/smtpd/conn.h"

static bool
prefix_match(const struct hal_addr *a, const struct zcfg_network *n)
{
	unsigned bits = n->prefix, len = a->family == 4 ? 4 : 16;

	if (a->family != n->addr.family || bits > len * 8)
		return false;
	for (unsigned i = 0; i < len && bits; i++) {
		unsigned take = bits >= 8 ? 8 : bits;
		uint8_t mask = (uint8_t)(0xff << (8 - take));

		if ((a->ip[i] & mask) != (n->addr.ip[i] & mask))
			return false;
		bits -= take;
	}
	return true;
}

bool
smtpd_policy_network(const struct zcfg *cfg, const struct hal_addr *peer, bool *normalise)
{
	struct hal_addr v4;
	const struct hal_addr *a = peer;

	*normalise = false;
	/* ::ffff:a.b.c.d is the IPv4 client a.b.c.d */
	if (peer->family == 6 && memcmp(peer->ip, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memset(&v4, 0, sizeof(v4));
		v4.family = 4;
		memcpy(v4.ip, peer->ip + 12, 4);
		a = &v4;
	}
	for (unsigned i = 0; i < sizeof(cfg->networks) / sizeof(cfg->networks[0]); i++) {
		const struct zcfg_network *n = &cfg->networks[i];

		if (n->used && prefix_match(a, n)) {
			*normalise = n->normalise_line_endings;
			return true;
		}
	}
	return false;
}

bool
smtpd_policy_has_users(const struct zcfg *cfg)
{
	for (unsigned i = 0; i < sizeof(cfg->users) / sizeof(cfg->users[0]); i++)
		if (cfg->users[i].used)
			return true;
	return false;
}

const struct zcfg_domain *
smtpd_policy_domain(const struct zcfg *cfg, const char *dom)
{
	size_t dl = strlen(dom);

	for (unsigned i = 0; i < CONFIG_CFG_MAX_DOMAINS; i++) {
		const struct zcfg_domain *d = &cfg->domains[i];
		size_t nl = strlen(d->name);

		if (!d->used)
			continue;
		if (strcasecmp(d->name, dom) == 0)
			return d;
		if (d->subdomains && dl > nl && dom[dl - nl - 1] == '.' &&
		    strcasecmp(dom + dl - nl, d->name) == 0)
			return d;
	}
	return NULL;
}

void
smtpd_policy_domain_list(const struct zcfg *cfg, char *buf, size_t cap)
{
	size_t k = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < CONFIG_CFG_MAX_DOMAINS && k < cap; i++) {
		const struct zcfg_domain *d = &cfg->domains[i];
		int w;

		if (!d->used)
			continue;
		w = snprintf(buf + k, cap - k, "%s%s%s", k ? ", " : "", d->name,
		    d->subdomains ? " (and subdomains)" : "");
		if (w < 0)
			break;
		k += (size_t)w;
	}
	if (k == 0)
		snprintf(buf, cap, "(none configured)");
}
