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
