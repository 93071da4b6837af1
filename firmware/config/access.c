/*
 * The questions other modules ask of a configuration: may this user log in
 * (AUTH password check), may this address relay, which signing domain
 * covers this mail domain. Pure functions of a struct zcfg.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/config/internal.h"
#include "hal/crypto.h"

/* ------------------------------------------------------------ users */

static void
hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = 0;
}

static int
unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < 2 * n; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9' ? c - '0'
		    : c >= 'a' && c <= 'f'   ? c - 'a' + 10
		    : c >= 'A' && c <= 'F'   ? c - 'A' + 10
					     : -1;
		if (v < 0)
			return -EINVAL;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return 0;
}

/* h1 = SHA-256(salt || pw); h(i+1) = SHA-256(h(i) || salt || pw). */
static int
password_digest(const char *pw, const uint8_t salt[16], uint8_t out[32])
{
	struct hal_hash_ctx c;
	size_t n = strlen(pw);
	int rc = 0;

	for (int i = 0; i < CONFIG_PASSWORD_ROUNDS && rc == 0; i++) {
		rc = hal_hash_init(&c, HAL_HASH_SHA256);
		if (rc == 0 && i > 0)
			rc = hal_hash_update(&c, out, 32);
		if (rc == 0)
			rc = hal_hash_update(&c, salt, 16);
		if (rc == 0)
			rc = hal_hash_update(&c, (const uint8_t *)pw, n);
		if (rc == 0)
			rc = hal_hash_final(&c, out);
	}
	hal_hash_free(&c); /* after a failed update; a no-op after final */
	config_wipe(&c, sizeof(c));
	return rc;
}

int
config_password_hash(const char *password, const uint8_t salt[16], char *out, size_t cap)
{
	uint8_t d[32];
	char sh[33], dh[65];
	int rc = password_digest(password, salt, d);

	if (rc != 0)
		return rc;
	hex(salt, 16, sh);
	hex(d, 32, dh);
	config_wipe(d, sizeof(d));
	if ((size_t)snprintf(out, cap, "$zegel-sha256$%s$%s", sh, dh) >= cap)
		return -ERANGE;
	return 0;
}

int
config_user_check(const struct zcfg *c, const char *user, const char *password)
{
	static const char prefix[] = "$zegel-sha256$";
	const size_t p = sizeof(prefix) - 1;
	const struct zcfg_user *u = NULL;
	uint8_t salt[16] = { 0 }, want[32] = { 0 }, got[32];
	uint8_t diff = 0;

	for (int i = 0; i < CFG_NUSERS; i++)
		if (c->users[i].used && strcmp(c->users[i].name, user) == 0)
			u = &c->users[i];
	if (u != NULL &&
	    (strncmp(u->hash, prefix, p) != 0 || strlen(u->hash) != p + 97 ||
		unhex(u->hash + p, salt, 16) != 0 || unhex(u->hash + p + 33, want, 32) != 0))
		u = NULL;
	/* An unknown user costs the same work, so timing does not tell. */
	if (password_digest(password, salt, got) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(got); i++)
		diff |= (uint8_t)(got[i] ^ want[i]);
	config_wipe(got, sizeof(got));
	return u != NULL && diff == 0;
}

/* ------------------------------------------------------------ networks */

static bool
prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rest)) == 0;
}

bool
config_network_allows(const struct zcfg *c, const struct hal_addr *peer, bool *normalise)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct hal_addr p = *peer;
	int best = -1;

	if (p.family == 6 && memcmp(p.ip, mapped, 12) == 0) {
		p.family = 4;
		memmove(p.ip, p.ip + 12, 4);
		memset(p.ip + 4, 0, 12);
	}
	for (int i = 0; i < CFG_NNETWORKS; i++) {
		const struct zcfg_network *n = &c->networks[i];
		if (!n->used || n->addr.family != p.family)
			continue;
		if (prefix_match(n->addr.ip, p.ip, n->prefix) &&
		    (best < 0 || n->prefix > c->networks[best].prefix))
			best = i;
	}
	if (normalise != NULL)
		*normalise = best >= 0 && c->networks[best].normalise_line_endings;
	return best >= 0;
}

const struct zcfg_domain *
config_domain_for(const struct zcfg *cfg, const char *dom)
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
config_domain_list(const struct zcfg *cfg, char *buf, size_t cap)
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

void
config_tls_tpm_key(const struct zcfg *c, char out[ZCFG_PATH_MAX])
{
	char o[ZCFG_PATH_MAX], cert[ZCFG_PATH_MAX], key[ZCFG_PATH_MAX];

	config_derived_paths(c->data_dir, o, cert, key);
	if (strcmp(c->tls_key, key) != 0)
		snprintf(out, ZCFG_PATH_MAX, "%s", c->tls_key);
	else
		snprintf(out, ZCFG_PATH_MAX, "%.170s/tls/key.tpmkey", c->data_dir);
}

bool
config_tls_generated(const struct zcfg *c)
{
	char o[ZCFG_PATH_MAX], cert[ZCFG_PATH_MAX], key[ZCFG_PATH_MAX];

	config_derived_paths(c->data_dir, o, cert, key);
	return strcmp(c->tls_cert, cert) == 0 && strcmp(c->tls_key, key) == 0;
}
