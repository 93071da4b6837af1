/* Who may relay and what may be signed: pure functions of the configuration. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/config/config.h"
#include "firmware/smtpd/conn.h"

bool
smtpd_policy_network(const struct zcfg *cfg, const struct hal_addr *peer, bool *normalise)
{
	*normalise = false;
	return config_network_allows(cfg, peer, normalise);
}

bool
smtpd_policy_user(const struct zcfg *cfg, const char *user, const char *pass)
{
	/* salted hashes compared in constant time (firmware/config) */
	return config_user_check(cfg, user, pass) == 1;
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
