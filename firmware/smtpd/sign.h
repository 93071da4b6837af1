/*
 * firmware/smtpd/sign.h — the session's use of the DKIM signer: every key
 * configured for the signing domain (RSA and/or Ed25519) in one pass.
 *
 *   smtpd_sign_begin(sg, cfg, dom)   after the header block: keys for dom
 *   smtpd_sign_push(sg, p, n)        header block, blank line, body lines
 *   smtpd_sign_finish(sg, now, out, cap, &len, logcb, arg)
 *                                    "DKIM-Signature: ..." fields to prepend;
 *                                    logcb(arg, d, s, a) once per signature
 */
#ifndef ZEGEL_SMTPD_SIGN_H
#define ZEGEL_SMTPD_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "dkim/dkim.h"
#include "zegel/cfg.h"

struct smtpd_sign {
	unsigned nsig;
	int err;
	const char *sel[DKIM_MAX_SIGS];
	const char *alg[DKIM_MAX_SIGS];
	const char *domain;
	struct dkim_signer signer;
	uint8_t hdrbuf[CONFIG_DKIM_MAX_HEADER_BYTES];
};

/* 0, or a negative error with a reason in why (no key, bad key). */
int smtpd_sign_begin(struct smtpd_sign *sg, const struct zcfg *cfg, const struct zcfg_domain *dom,
    const char **why);
int smtpd_sign_push(struct smtpd_sign *sg, const uint8_t *p, size_t n);
int smtpd_sign_finish(struct smtpd_sign *sg, int64_t now, uint8_t *out, size_t cap, size_t *len,
    void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
    const char **why);

#endif
