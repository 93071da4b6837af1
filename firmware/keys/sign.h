/*
 * firmware/keys/sign.h — sign one message for a domain with every key
 * configured for it (RSA and/or Ed25519) in one pass. Used by the SMTP
 * session and by the queue's DSNs; beside the key store because it is the
 * only place that turns a configured key into a signature.
 *
 * A message whose From domain is known in advance (the queue's DSNs):
 *   keys_sign_begin(sg, cfg, dom)    keys for dom
 *   keys_sign_push(sg, p, n)         header block, blank line, body lines
 *   keys_sign_finish(sg, now, out, cap, &len, logcb, arg)
 *                                    "DKIM-Signature: ..." fields to prepend;
 *                                    logcb(arg, d, s, a) once per signature
 *
 * A message whose From decides the keys (the SMTP session): the header
 * block goes to the signer first, and the signer's own From parse (the one
 * the signature is bound to, dkim_signer_from_domain) picks the domain:
 *   keys_sign_init(sg)
 *   keys_sign_headers(sg, p, n)      header lines and the blank line; 1 when
 *                                    the block ended, 0 for more, <0 dkim_err
 *   keys_sign_from_domain(sg)        the single From domain (lower case)
 *   keys_sign_keys(sg, cfg, dom)     keys for the configured domain dom
 *   keys_sign_push(sg, p, n) ...     body lines, then keys_sign_finish()
 * The header block is held once, in the signer (sg->hdrbuf).
 *
 * Without waiting for the key holder (issue 22), instead of finish():
 *   rc = keys_sign_start(sg, now, done, arg, &why)
 *                                    header hashes computed, the signatures
 *                                    started through the keys door: rc 0
 *                                    pending (done(arg, rc) comes later from
 *                                    the event loop), 1 all signed already
 *                                    (a key without door signs here), <0 error
 *   keys_sign_output(sg, out, cap, &len, logcb, arg, &why)
 *                                    then the fields, as finish() gives them
 * keys_sign_free() on a pending one forgets its signatures (no done()).
 *
 * A message abandoned before keys_sign_finish() (client gone, refused,
 * spool error, a DSN whose generation failed) ends with keys_sign_free():
 * the body hashes may hold a descriptor of a hardware hash backend (AF_ALG).
 * finish() frees them itself; free() is safe on any state.
 */
#ifndef ZEGEL_KEYS_SIGN_H
#define ZEGEL_KEYS_SIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dkim/dkim.h"
#include "zegel/cfg.h"

struct keys_sign {
	unsigned nsig;
	int err;
	const char *sel[DKIM_MAX_SIGS];
	const char *alg[DKIM_MAX_SIGS];
	const char *domain;
	/* keys_sign_start(): signatures still out, their tickets, the caller */
	unsigned pending;
	int async_err;
	uint32_t ticket[DKIM_MAX_SIGS];
	bool out[DKIM_MAX_SIGS];
	void (*done)(void *arg, int rc);
	void *done_arg;
	struct dkim_signer signer;
	uint8_t hdrbuf[CONFIG_DKIM_MAX_HEADER_BYTES];
};

/* 0, or a negative error with a reason in why (no key, bad key). */
int keys_sign_begin(struct keys_sign *sg, const struct zcfg *cfg, const struct zcfg_domain *dom,
    const char **why);
void keys_sign_init(struct keys_sign *sg);
void keys_sign_free(struct keys_sign *sg);
int keys_sign_headers(struct keys_sign *sg, const uint8_t *p, size_t n);
const char *keys_sign_from_domain(const struct keys_sign *sg);
int keys_sign_keys(struct keys_sign *sg, const struct zcfg *cfg, const struct zcfg_domain *dom,
    const char **why);
int keys_sign_push(struct keys_sign *sg, const uint8_t *p, size_t n);
int keys_sign_finish(struct keys_sign *sg, int64_t now, uint8_t *out, size_t cap, size_t *len,
    void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
    const char **why);
int keys_sign_start(struct keys_sign *sg, int64_t now, void (*done)(void *arg, int rc),
    void *arg, const char **why);
int keys_sign_output(struct keys_sign *sg, uint8_t *out, size_t cap, size_t *len,
    void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
    const char **why);

#endif
