/* Sign a message for a domain with all its configured keys, in one pass (sign.h). */
#include <errno.h>
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
	sg->pending = 0;
	sg->async_err = 0;
	sg->done = NULL;
	dkim_signer_init(&sg->signer, sg->hdrbuf, sizeof(sg->hdrbuf));
}

/* Forget the signatures still out (a session gone mid-signature). */
static void
cancel(struct keys_sign *sg)
{
	const struct keys_door *d = keys_door();

	for (unsigned i = 0; i < DKIM_MAX_SIGS && sg->pending > 0; i++)
		if (sg->out[i]) {
			sg->out[i] = false;
			sg->pending--;
			if (d != NULL && d->sign_cancel != NULL)
				d->sign_cancel(sg->ticket[i]);
		}
	sg->pending = 0;
	sg->done = NULL;
}

void
keys_sign_free(struct keys_sign *sg)
{
	cancel(sg);
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
keys_sign_output(struct keys_sign *sg, uint8_t *out, size_t cap, size_t *len,
    void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
    const char **why)
{
	int rc;

	*len = 0;
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
	return keys_sign_output(sg, out, cap, len, logcb, arg, why);
}

/* The door's answer for signature idx. */
static void
sig_done(void *arg, unsigned idx, int rc, const uint8_t *sig, size_t len)
{
	struct keys_sign *sg = arg;
	void (*done)(void *, int);

	if (idx >= DKIM_MAX_SIGS || !sg->out[idx])
		return;
	sg->out[idx] = false;
	sg->pending--;
	if (rc == 0)
		rc = dkim_signer_set_sig(&sg->signer, idx, sig, len);
	else
		rc = rc == -ERANGE || rc == -ENOTSUP || rc == -EINVAL ? DKIM_ERR_KEY
								  : DKIM_ERR_CRYPTO;
	if (rc < 0 && sg->async_err == 0)
		sg->async_err = rc;
	if (sg->pending > 0 || (done = sg->done) == NULL)
		return;
	sg->done = NULL;
	done(sg->done_arg, sg->async_err);
}

int
keys_sign_start(struct keys_sign *sg, int64_t now, void (*done)(void *arg, int rc), void *arg,
    const char **why)
{
	const struct keys_door *d = keys_door();
	int rc = dkim_signer_prepare(&sg->signer, now);

	sg->pending = 0;
	sg->async_err = 0;
	sg->done = NULL;
	for (unsigned i = 0; i < sg->nsig && rc == DKIM_OK; i++) {
		const struct hal_key *k = NULL;
		const uint8_t *dg = NULL;
		uint8_t sig[DKIM_MAX_SIG_BYTES];
		size_t sl = 0;

		if ((rc = dkim_signer_digest(&sg->signer, i, &k, &dg)) != DKIM_OK)
			break;
		sg->out[i] = false;
		if (d != NULL && d->sign_start != NULL &&
		    d->sign_start(k, dg, DKIM_HASH_LEN, sig_done, sg, i, &sg->ticket[i]) == 0) {
			sg->out[i] = true;
			sg->pending++;
			continue;
		}
		/* no door for this key, or the door is full: sign here */
		rc = hal_key_sign(k, HAL_HASH_SHA256, dg, DKIM_HASH_LEN, sig, sizeof(sig), &sl);
		if (rc != 0)
			rc = rc == -ERANGE || rc == -ENOTSUP || rc == -EINVAL ? DKIM_ERR_KEY
									 : DKIM_ERR_CRYPTO;
		else
			rc = dkim_signer_set_sig(&sg->signer, i, sig, sl);
	}
	if (rc < 0) {
		cancel(sg);
		*why = dkim_strerror(rc);
		return rc;
	}
	if (sg->pending == 0)
		return 1;
	sg->done = done;
	sg->done_arg = arg;
	return 0;
}
