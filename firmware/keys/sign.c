/* Sign a message for a domain with all its configured keys, in one pass (sign.h). */
#include <stdio.h>
#include <string.h>

#include "firmware/keys/sign.h"

#include "firmware/keys/keys.h"
#include "firmware/keys/state.h"

void
keys_sign_init(struct keys_sign *sg)
{
	sg->nsig = 0;
	sg->err = 0;
	sg->domain = NULL;
	dkim_signer_init(&sg->signer, sg->hdrbuf, sizeof(sg->hdrbuf));
}

void
keys_sign_free(struct keys_sign *sg)
{
	dkim_signer_free(&sg->signer);
}

int
keys_sign_headers(struct keys_sign *sg, const uint8_t *p, size_t n)
{
	size_t k = dkim_signer_push_headers(&sg->signer, p, n);
	int rc = dkim_signer_error(&sg->signer);

	if (rc < 0)
		return sg->err = rc;
	if (!dkim_signer_headers_done(&sg->signer))
		return 0;
	/* the blank line ends the block; nothing may follow it in this slice */
	return k == n ? 1 : (sg->err = DKIM_ERR_STATE);
}

const char *
keys_sign_from_domain(const struct keys_sign *sg)
{
	return dkim_signer_from_domain(&sg->signer);
}

int
keys_sign_begin(struct keys_sign *sg, const struct zcfg *cfg, const struct zcfg_domain *dom,
    const char **why)
{
	keys_sign_init(sg);
	return keys_sign_keys(sg, cfg, dom, why);
}

int
keys_sign_keys(struct keys_sign *sg, const struct zcfg *cfg, const struct zcfg_domain *dom,
    const char **why)
{
	struct dkim_sig_params prm;
	unsigned waiting = 0;
	int rc;

	sg->domain = dom->name;
	for (unsigned i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		const struct zcfg_key *k = &cfg->keys[i];
		const struct hal_key *hk;

		if (!k->used || strcmp(k->domain, dom->name) != 0)
			continue;
		/* only active keys sign: never one whose record may not be
		 * published yet, never a retiring one (state.h) */
		if (!keystate_signs(keystate_running(), k->domain, k->selector)) {
			waiting++;
			continue;
		}
		if ((hk = keys_find(k->domain, k->selector)) == NULL) {
			*why = "a configured key is not loaded";
			return -1;
		}
		if (sg->nsig >= DKIM_MAX_SIGS)
			break;
		memset(&prm, 0, sizeof(prm));
		prm.domain = dom->name;
		prm.selector = k->selector;
		prm.key = hk;
		prm.canon_header = dom->canon_header == ZCFG_CANON_SIMPLE ? DKIM_CANON_SIMPLE
									  : DKIM_CANON_RELAXED;
		prm.canon_body = dom->canon_body == ZCFG_CANON_SIMPLE ? DKIM_CANON_SIMPLE
								      : DKIM_CANON_RELAXED;
		if ((rc = dkim_signer_add(&sg->signer, &prm)) < 0) {
			*why = dkim_strerror(rc);
			return rc;
		}
		sg->sel[sg->nsig] = k->selector;
		sg->alg[sg->nsig] = hk->type == HAL_KEY_ED25519 ? "ed25519-sha256" : "rsa-sha256";
		sg->nsig++;
	}
	if (sg->nsig == 0) {
		*why = waiting ? "no active key for the domain: its keys wait for their DNS "
				 "record or retire, see show keys"
			       : "no key configured for the domain";
		return -1;
	}
	return 0;
}

int
keys_sign_push(struct keys_sign *sg, const uint8_t *p, size_t n)
{
	if (dkim_signer_push(&sg->signer, p, n) != n || dkim_signer_error(&sg->signer) < 0)
		return sg->err = dkim_signer_error(&sg->signer) < 0 ? dkim_signer_error(&sg->signer) : -1;
	return 0;
}

int
keys_sign_finish(struct keys_sign *sg, int64_t now, uint8_t *out, size_t cap, size_t *len,
    void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
    const char **why)
{
	int rc = dkim_signer_finish(&sg->signer, now);

	*len = 0;
	if (rc < 0) {
		*why = dkim_strerror(rc);
		return rc;
	}
	for (unsigned i = 0; i < sg->nsig; i++) {
		size_t n = 0;

		rc = dkim_signer_header(&sg->signer, i, (char *)out + *len, cap - *len, &n);
		if (rc < 0) {
			*why = dkim_strerror(rc);
			return rc;
		}
		*len += n;
		if (logcb)
			logcb(arg, sg->domain, sg->sel[i], sg->alg[i]);
	}
	return 0;
}

