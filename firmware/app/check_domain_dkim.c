/*
 * The DKIM check of `check domain`: for every key the configuration has
 * for the domain (`set key SELECTOR domain NAME file PATH`), the record at
 * SELECTOR._domainkey.DOMAIN must be there and carry the key zegel signs
 * with (RFC 6376 3.6.1); RSA keys below 1024 bits fail (RFC 8301 3.2), and
 * a domain that signs with one algorithm only is told to add the other
 * (RFC 8463: Ed25519 next to RSA).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "dkim/dkim.h"
#include "firmware/app/check_domain_int.h"
#include "firmware/keys/keys.h"
#include "firmware/keys/record.h"
#include "zegel/text.h"

static struct keyrec rec;
static uint8_t pub[KEYREC_PUB_MAX];	/* the public part of the key in use */
static size_t publen;
static char mine[1400];	/* the same in base64 */
static char fix[1800];

static const struct zcfg_key *
cur_key(void)
{
	return &cd.op.cfg->keys[cd.key];
}

static void
dkim_begin(void)
{
	cd.key = -1;
}

static bool
next_key(void)
{
	const struct zcfg *c = cd.op.cfg;

	if (c == NULL)
		return false;
	while (++cd.key < CONFIG_CFG_MAX_KEYS)
		if (c->keys[cd.key].used && strcasecmp(c->keys[cd.key].domain, cd.domain) == 0)
			return true;
	return false;
}

/* After the last key: the domain-wide verdicts. */
static void
dkim_end(void)
{
	char f[600];

	if (cd.nkeys == 0) {
		zegel_strf(f, sizeof(f), "zegel keygen -t ed25519 -d %s -s SELECTOR, then set key "
		    "SELECTOR domain %s file PATH", cd.domain, cd.domain);
		cd_item(CD_WARN, "dkim", f, "no key for %s in the configuration: nothing to "
		    "compare", cd.domain);
	} else if (cd.ned25519 == 0 && cd.nrsa > 0) {
		zegel_strf(f, sizeof(f), "zegel keygen -t ed25519 -d %s -s SELECTOR-ed, set key "
		    "SELECTOR-ed domain %s file PATH, publish its record", cd.domain, cd.domain);
		cd_item(CD_WARN, "dkim", f, "%s signs with RSA only: add an Ed25519 key next to it "
		    "(RFC 8463)", cd.domain);
	} else if (cd.nrsa == 0 && cd.ned25519 > 0) {
		zegel_strf(f, sizeof(f), "zegel keygen -t rsa -b 2048 -d %s -s SELECTOR-rsa, set key "
		    "SELECTOR-rsa domain %s file PATH, publish its record", cd.domain, cd.domain);
		cd_item(CD_WARN, "dkim", f, "%s signs with Ed25519 only: verifiers without RFC "
		    "8463 need an RSA signature next to it", cd.domain);
	}
}

static bool
dkim_ask(char *name, size_t cap, uint16_t *type)
{
	if (!next_key()) {
		dkim_end();
		return false;
	}
	cd.nkeys++;
	zegel_strf(name, cap, "%s._domainkey.%s", cur_key()->selector, cd.domain);
	*type = DNS_T_TXT;
	return true;
}

/* The record for key k as one zone-file line, strings of <= 255 bytes
 * (RFC 1035 3.3.14). */
static void
record_text(const struct hal_key *k, const char *sel)
{
	char p[sizeof(mine) + 3];
	size_t l, pl;

	pl = (size_t)snprintf(p, sizeof(p), "p=%s", mine);
	l = (size_t)snprintf(fix, sizeof(fix), "%s._domainkey.%s. IN TXT \"v=DKIM1; k=%s; \"", sel,
	    cd.domain, k->type == HAL_KEY_RSA ? "rsa" : "ed25519");
	for (size_t o = 0; o < pl && l < sizeof(fix); o += 255)
		l += (size_t)snprintf(fix + l, sizeof(fix) - l, " \"%.*s\"",
		    (int)(pl - o < 255 ? pl - o : 255), p + o);
}

/* The key in use: its public part, its base64, the fixing record. */
static bool
load_mine(const struct hal_key *k)
{
	if (hal_key_public(k, pub, sizeof(pub), &publen) != 0 ||
	    dkim_base64(pub, publen, mine, sizeof(mine)) == 0)
		return false;
	record_text(k, cur_key()->selector);
	return true;
}

static void
judge_key_size(const struct hal_key *k, const char *owner)
{
	if (k->type != HAL_KEY_RSA)
		return;
	if (k->bits < 1024)
		cd_item(CD_FAIL, "dkim", "zegel keygen -t rsa -b 2048 ...", "%s: RSA-%u is too short: "
		    "verifiers ignore it (RFC 8301 3.2: at least 1024)", owner, k->bits);
	else if (k->bits < 2048)
		cd_item(CD_WARN, "dkim", "zegel keygen -t rsa -b 2048 ...", "%s: RSA-%u: 2048 bits "
		    "are recommended (RFC 8301 3.2)", owner, k->bits);
}

/* The published record (cd.txt, l bytes) against the key in use
 * (firmware/keys/record.h). A missing v=DKIM1 and t=y only warn: verifiers
 * still use the key. */
static void
compare(const struct hal_key *k, const char *owner, size_t l, const struct dns_result *res)
{
	unsigned d = keyrec_check(cd.txt, l, k->type, pub, publen, &rec);
	char why[400];

	if (d == 0) {
		cd_item(CD_PASS, "dkim", NULL, "%s: matches the %s-%u key in use%s", owner,
		    k->type == HAL_KEY_RSA ? "rsa" : "ed25519", k->bits, cd_sec(res));
		return;
	}
	keyrec_explain(d, &rec, k->type, pub, publen, why, sizeof(why));
	if ((d & ~(KEYREC_TESTING | KEYREC_NO_VERSION)) == 0)
		cd_item(CD_WARN, "dkim", fix, "%s: matches the key in use, but %s", owner, why);
	else
		cd_item(CD_FAIL, "dkim", fix, "%s: %s: mail signed now fails verification", owner,
		    why);
}

static void
dkim_answer(const struct dns_result *res)
{
	const struct zcfg_key *zk = cur_key();
	const struct hal_key *k = keys_find(cd.domain, zk->selector);
	char owner[CD_NAME_MAX];
	int l;

	zegel_strf(owner, sizeof(owner), "%s._domainkey.%s", zk->selector, cd.domain);
	if (k == NULL || !load_mine(k)) {
		cd_item(CD_FAIL, "dkim", "check the key file and its mode (0600)", "%s: the key "
		    "file %s is not loaded: nothing is signed with it", owner, zk->file);
		return;
	}
	cd.nrsa += k->type == HAL_KEY_RSA;
	cd.ned25519 += k->type == HAL_KEY_ED25519;
	judge_key_size(k, owner);
	if (cd_dns_trouble(res, "dkim", owner))
		return;
	if ((l = cd_txt(res, 0)) < 0) {
		cd_item(CD_FAIL, "dkim", fix, "%s: no record (%s)", owner,
		    res->rcode == 3 ? "NXDOMAIN" : "no TXT");
		return;
	}
	if (cd_txt(res, 1) >= 0) {
		cd_item(CD_FAIL, "dkim", fix, "%s: more than one TXT record", owner);
		return;
	}
	compare(k, owner, (size_t)l, res);
}

const struct cd_phase cd_phase_dkim = {
	.name = "dkim", .begin = dkim_begin, .ask = dkim_ask, .answer = dkim_answer,
};
