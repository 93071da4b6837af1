/*
 * config_warnings(): what a valid configuration will do that its admin
 * likely did not mean. `commit` prints these and goes ahead; errors (what
 * cannot work at all) are validate() in config.c and the apply step.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/config/config.h"
#include "firmware/config/internal.h"

static bool
domain_has_key(const struct zcfg *c, const char *name)
{
	for (int i = 0; i < CONFIG_CFG_MAX_KEYS; i++)
		if (c->keys[i].used && strcmp(c->keys[i].domain, name) == 0)
			return true;
	return false;
}

static int (*extra)(const struct zcfg *c, void (*emit)(void *arg, const char *line), void *arg);

void
config_set_warnings_extra(int (*fn)(const struct zcfg *c,
    void (*emit)(void *arg, const char *line), void *arg))
{
	extra = fn;
}

int
config_warnings(const struct zcfg *c, void (*emit)(void *arg, const char *line), void *arg)
{
	char line[ZCFG_NAME_MAX * 2 + 200];
	bool listeners = false, networks = false, users = false, domains = false;
	int n = 0;

	for (int i = 0; i < CONFIG_CFG_MAX_LISTENERS; i++)
		listeners |= c->listeners[i].used;
	for (int i = 0; i < CFG_NNETWORKS; i++)
		networks |= c->networks[i].used;
	for (int i = 0; i < CFG_NUSERS; i++)
		users |= c->users[i].used;
	for (int i = 0; i < CONFIG_CFG_MAX_DOMAINS; i++)
		domains |= c->domains[i].used;
	if (listeners && !networks && !users) {
		emit(arg,
		    "no network and no users: every client is refused (554 5.7.1); "
		    "set network CIDR, or set user NAME password SECRET");
		n++;
	}
	if (listeners && !domains) {
		emit(arg,
		    "no domain: every message is refused (550 5.7.1, the From domain "
		    "must be one zegel signs for); set domain NAME");
		n++;
	}
	for (int i = 0; i < CONFIG_CFG_MAX_DOMAINS; i++) {
		const struct zcfg_domain *d = &c->domains[i];

		if (!d->used || domain_has_key(c, d->name))
			continue;
		snprintf(line, sizeof(line),
		    "domain %s has no key: its mail is refused until one signs "
		    "(key generate %s SELECTOR rsa|ed25519)",
		    d->name, d->name);
		emit(arg, line);
		n++;
	}
	if (extra != NULL)
		n += extra(c, emit, arg);
	return n;
}
