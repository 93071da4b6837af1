/*
 * dkim/dkim.h — a streaming DKIM signer (RFC 6376, RFC 8463).
 *
 * Model. The caller owns a struct dkim_signer (stack, pool or session arena)
 * and a header buffer of CONFIG_DKIM_MAX_HEADER_BYTES it passes in. Calls:
 *
 *   dkim_signer_init(s, hdrbuf, cap)
 *   dkim_signer_add(s, &params)             once per signature (RSA, Ed25519 ...)
 *   dkim_signer_push(s, p, n) ...           the message as it arrives: header
 *                                           block, blank line, body; CRLF or bare
 *                                           LF line ends; no SMTP dot-stuffing
 *   dkim_signer_headers_done(s)             true once the header block ended;
 *                                           dkim_signer_from_domain(s) is then
 *                                           known, so a caller can refuse early
 *   dkim_signer_finish(s, now)              end of message: signs
 *   dkim_signer_header(s, i, buf, cap, &n)  the i-th "DKIM-Signature: ...\r\n"
 *                                           field, to be prepended to the message
 *
 * The header block is kept (bounded) because the signature covers it; the
 * body is canonicalised and hashed as it streams and never stored.
 * Signatures with the same body canonicalisation share one body hash. Errors
 * stick: after one, push() consumes nothing and finish() returns it.
 * No sockets, no clock (time is an argument), no logging, no allocation.
 */
#ifndef DKIM_DKIM_H
#define DKIM_DKIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/crypto.h"
#include "zegel/config.h"

enum dkim_err {
	DKIM_OK = 0,
	DKIM_ERR_NO_FROM = -1,        /* no From header field */
	DKIM_ERR_MULTIPLE_FROM = -2,  /* more than one From: DMARC cannot align */
	DKIM_ERR_FROM_SYNTAX = -3,    /* From without a usable address/domain */
	DKIM_ERR_HEADER_TOO_BIG = -4, /* header block over the Kconfig limit */
	DKIM_ERR_TOO_MANY_HEADERS = -5,
	DKIM_ERR_HEADER_SYNTAX = -6,  /* a header line that is not a field */
	DKIM_ERR_KEY = -7,            /* key unusable (type, size) */
	DKIM_ERR_KEY_TOO_SMALL = -8,  /* RSA below 1024 bits (RFC 8301) */
	DKIM_ERR_CRYPTO = -9,         /* the HAL failed to hash or sign */
	DKIM_ERR_PARAM = -10,         /* bad parameters (domain, selector, ...) */
	DKIM_ERR_TOO_MANY_SIGS = -11,
	DKIM_ERR_STATE = -12,         /* call out of order */
	DKIM_ERR_OUTPUT_SPACE = -13,  /* caller's output buffer too small */
	DKIM_ERR_DOMAIN_MISMATCH = -14, /* From domain is not d= or below it */
};

const char *dkim_strerror(int err);

enum dkim_canon { DKIM_CANON_SIMPLE = 0, DKIM_CANON_RELAXED = 1 };

struct dkim_sig_params {
	const char *domain;         /* d= */
	const char *selector;       /* s= */
	const struct hal_key *key;  /* RSA -> rsa-sha256, Ed25519 -> ed25519-sha256 */
	enum dkim_canon canon_header, canon_body;
	/* Header fields to sign, NULL for the default set (dkim_default_headers). */
	const char *const *headers;
	/* Fields signed once more than present, so additions break the signature;
	 * NULL for the default (From, Subject, Date, To, Cc, Reply-To, Message-ID). */
	const char *const *oversign;
	uint32_t expire_after;      /* x= = t= + this; 0 for no x= */
};

extern const char *const dkim_default_headers[];
extern const char *const dkim_default_oversign[];

#ifndef DKIM_MAX_SIGS
#define DKIM_MAX_SIGS CONFIG_DKIM_MAX_SIGNATURES
#endif

#endif /* the struct definitions follow in dkim/signer.h (by the signer module) */
