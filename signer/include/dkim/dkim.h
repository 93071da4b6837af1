/*
 * dkim/dkim.h — a streaming DKIM signer (RFC 6376, RFC 8463).
 *
 * Model. The caller owns a struct dkim_signer (stack, pool or session arena)
 * and a header buffer of CONFIG_DKIM_MAX_HEADER_BYTES it passes in. Calls:
 *
 *   dkim_signer_init(s, hdrbuf, cap)        cannot fail
 *   dkim_signer_add(s, &params)             once per signature (RSA, Ed25519 ...);
 *                                           allowed until the first BODY byte
 *                                           is pushed, i.e. also right after
 *                                           headers_done() became true
 *   dkim_signer_push(s, p, n) ...           the message as it arrives: header
 *                                           block, blank line, body; CRLF or bare
 *                                           LF line ends; no SMTP dot-stuffing.
 *                                           Returns n, or 0 after an error.
 *   (or dkim_signer_push_headers(s, p, n))  the same, but it stops right after
 *                                           the blank line that ends the header
 *                                           block and returns the bytes consumed,
 *                                           so the caller can add() signatures
 *                                           chosen from the From domain before
 *                                           pushing the rest with push()
 *   dkim_signer_headers_done(s)             true once the header block ended;
 *                                           dkim_signer_from_domain(s) is then
 *                                           known, so a caller can refuse early
 *   dkim_signer_finish(s, now)              end of message: signs
 *   (or dkim_signer_prepare(s, now), then   the same in two steps, for a key
 *    per signature dkim_signer_digest()    that signs elsewhere (a key
 *    and dkim_signer_set_sig())            holder's workers, issue 22)
 *   dkim_signer_header(s, i, buf, cap, &n)  the i-th "DKIM-Signature: ...\r\n"
 *                                           field, to be prepended to the message
 *
 * The header block is kept (bounded) because the signature covers it; the
 * body is canonicalised and hashed as it streams and never stored.
 * Signatures with the same body canonicalisation share one body hash. Errors
 * stick: after one, push() consumes nothing and finish() returns it.
 * No sockets, no clock (time is an argument), no logging, no allocation.
 *
 * What is signed is the CRLF form of the input: a bare LF counts as CRLF, a
 * bare CR (not followed by LF) is an ordinary byte. The caller must transmit
 * that CRLF form (SMTP requires it anyway).
 *
 * Lifetimes. hdrbuf, the params' strings (domain, selector, identity, header
 * lists) and the keys must stay valid until the last dkim_signer_header()
 * call. The signer holds no resources: dropping it needs no call; wipe it
 * with memset if the header data is sensitive.
 *
 * Rules enforced (RFC 6376 §5.4, RFC 7489 §3.1.1, RFC 8301, RFC 8463):
 *  - exactly one From field with one address that has a domain; zero or
 *    several are refused (DMARC could not align the message);
 *  - each d= must be the From domain or a parent of it (relaxed alignment);
 *  - From is always signed; the default list oversigns From, Subject, Date,
 *    To, Cc, Reply-To and Message-ID (h= names each once more than present,
 *    so a field added later breaks the signature, RFC 6376 §8.15);
 *  - rsa-sha256 with 1024..4096-bit keys, ed25519-sha256; never l=; t= unless
 *    the caller has no plausible clock (dkim_signer_finish).
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
	/* Optional: i= (the AUID, "@domain" or "user@sub.domain" within d=),
	 * NULL for none. */
	const char *identity;
	/* DKIM_SIG_* layout flags; 0 for the default. */
	unsigned flags;
};

/* Also write q=dns/txt and separate h= names with " : " (the layout of the
 * RFC 8463 Appendix A example; only needed to reproduce it byte for byte). */
#define DKIM_SIG_RFC8463_LAYOUT (1u << 0)

extern const char *const dkim_default_headers[];
extern const char *const dkim_default_oversign[];

#ifndef DKIM_MAX_SIGS
#define DKIM_MAX_SIGS CONFIG_DKIM_MAX_SIGNATURES
#endif

#define DKIM_MAX_HEADERS CONFIG_DKIM_MAX_HEADERS
#define DKIM_MAX_SIG_BYTES 512   /* RSA-4096 */
#define DKIM_HASH_LEN 32         /* SHA-256: both algorithms */

/* One body canonicalisation in progress (RFC 6376 §3.4.3, §3.4.4). Empty lines
 * are counted, not hashed, until a non-empty line follows, so trailing empty
 * lines vanish without buffering; relaxed keeps one pending space per WSP run.
 * Output is staged in buf and hashed in blocks. */
struct dkim_body {
	bool used;
	enum dkim_canon canon;
	bool line_data;             /* current line has canonical bytes */
	bool wsp;                   /* relaxed: a WSP run is pending */
	bool failed;                /* the hash backend failed */
	uint64_t blank_lines;       /* empty lines not yet hashed */
	uint64_t len;               /* canonical bytes hashed */
	struct hal_hash_ctx hash;
	size_t blen;
	uint8_t buf[512];
};

/* One signature: its parameters, then its results. */
struct dkim_sig {
	struct dkim_sig_params p;
	struct dkim_body *body;     /* shared by signatures with the same canon_body */
	uint8_t bh[DKIM_HASH_LEN];
	uint8_t hh[DKIM_HASH_LEN];  /* the header hash: what the key signs */
	uint8_t b[DKIM_MAX_SIG_BYTES];
	size_t blen;
	int64_t t;
};

enum dkim_phase {
	DKIM_PHASE_HEADERS = 0,     /* collecting the header block */
	DKIM_PHASE_HEADERS_DONE,    /* blank line seen, no body byte yet */
	DKIM_PHASE_BODY,
	DKIM_PHASE_SIGN,            /* prepare() succeeded: signatures to set */
	DKIM_PHASE_DONE,            /* finish() succeeded */
};

struct dkim_signer {
	enum dkim_phase phase;
	int err;                    /* sticky dkim_err */
	uint8_t *hdr;               /* caller's buffer: the header block, CRLF form */
	size_t hdrcap, hdrlen;
	/* Field start offsets in hdr; field i ends where i+1 starts (or hdrlen). */
	uint32_t field[DKIM_MAX_HEADERS];
	unsigned nfields;
	bool line_start;            /* header phase: at the start of a line */
	uint8_t name_state;         /* header phase: 0 value, 1 in name, 2 WSP after name */
	bool pending_cr;            /* a CR whose meaning depends on the next byte */
	unsigned clean_skip;        /* body lines to split before looking for clean text */
	char from_domain[256];      /* lower case, "" until known */
	unsigned nsigs;
	struct dkim_sig sig[DKIM_MAX_SIGS];
	struct dkim_body body[2];   /* by enum dkim_canon */
};

/* init() takes a zeroed, finished or freed signer: one that may hold hash
 * contexts (after add(), before finish()) is freed first. */
void dkim_signer_init(struct dkim_signer *s, uint8_t *hdrbuf, size_t hdrcap);
/* Releases the hash contexts (descriptors, engine state of a hardware hash
 * backend) of a signer whose message is abandoned; finish() does it itself,
 * successful or not. Safe on a zeroed, finished or freed signer. */
void dkim_signer_free(struct dkim_signer *s);
/* Adds a signature; returns DKIM_OK or an error (the signer stays usable for
 * parameter errors: the signature is just not added). The params are copied;
 * the strings they point to are not. */
int dkim_signer_add(struct dkim_signer *s, const struct dkim_sig_params *p);
/* Consumes all n bytes (0 after an error: see dkim_signer_error()). */
size_t dkim_signer_push(struct dkim_signer *s, const uint8_t *p, size_t n);
/* Like push(), but stops right after the end of the header block; returns the
 * bytes consumed (< n when the body starts inside p, 0 after an error). Once
 * the header block has ended it consumes nothing: continue with push(). */
size_t dkim_signer_push_headers(struct dkim_signer *s, const uint8_t *p, size_t n);
bool dkim_signer_headers_done(const struct dkim_signer *s);
/* The domain of the single From address, lower case; NULL before the header
 * block ended or when the From field is missing, doubled or unusable. */
const char *dkim_signer_from_domain(const struct dkim_signer *s);
/* Ends the message (a header block without body is fine), computes every
 * signature with t=now; now < 0 (no trustworthy clock) leaves t= and x= out.
 * Returns DKIM_OK or the (sticky) error. */
int dkim_signer_finish(struct dkim_signer *s, int64_t now);
/* finish() without the signing: every signature's header hash is computed
 * (the hash contexts are released as by finish()); the caller then signs
 * dkim_signer_digest(s, i) with its key, any way and in any order, and hands
 * the signature to dkim_signer_set_sig(s, i). Once every signature is set,
 * dkim_signer_header() works. Returns DKIM_OK or the (sticky) error. */
int dkim_signer_prepare(struct dkim_signer *s, int64_t now);
/* After prepare(): the key of signature i and the DKIM_HASH_LEN bytes it
 * signs (rsa-sha256: PKCS#1 v1.5 over this SHA-256 digest; ed25519-sha256:
 * Ed25519 over the digest itself, RFC 8463 §3); DKIM_ERR_STATE otherwise. */
int dkim_signer_digest(const struct dkim_signer *s, unsigned i, const struct hal_key **key,
    const uint8_t **digest);
/* The signature of i (1..DKIM_MAX_SIG_BYTES bytes): DKIM_OK, DKIM_ERR_STATE
 * (not prepared, or i out of range) or DKIM_ERR_KEY (an empty or too long
 * signature; the error sticks). */
int dkim_signer_set_sig(struct dkim_signer *s, unsigned i, const uint8_t *sig, size_t len);
/* The i-th DKIM-Signature field, folded at 78 columns, CRLF line ends,
 * NUL-terminated; *len excludes the NUL. DKIM_ERR_OUTPUT_SPACE if cap is too
 * small (2 KiB fits a 4096-bit signature with the default header list). */
int dkim_signer_header(const struct dkim_signer *s, unsigned i, char *buf, size_t cap,
    size_t *len);
unsigned dkim_signer_count(const struct dkim_signer *s);
int dkim_signer_error(const struct dkim_signer *s);

/* d= for a From domain: `configured` if from_domain is it or a subdomain of
 * it (case-insensitive, label-aligned), else NULL. A caller with several
 * configured domains asks for each and keeps the longest answer. */
const char *dkim_signing_domain(const char *from_domain, const char *configured);

/* Syntax checks used by add(): an LDH domain name (no trailing dot) and a
 * selector (dot-separated labels of letters, digits, '-', '_'). */
bool dkim_valid_domain(const char *d);
bool dkim_valid_selector(const char *sel);

/*
 * Helpers shared with firmware/keys (pure, no allocation).
 */
/* Base64 (RFC 4648 §4, with padding) of n bytes into out; returns the length
 * written (4 * ceil(n / 3)) or 0 if cap (which must leave room for a NUL) is
 * too small. */
size_t dkim_base64(const uint8_t *p, size_t n, char *out, size_t cap);
/* The DKIM key record (RFC 6376 §3.6.1, RFC 8463 §4) in zone-file syntax,
 * as opendkim-genkey writes it:
 *   SELECTOR._domainkey\tIN\tTXT\t( "v=DKIM1; k=rsa; "\n\t  "p=...." )  ; ...
 * pub is what hal_key_public() returns (RSA SPKI DER, Ed25519 raw 32 bytes);
 * the strings are at most 255 bytes each (RFC 1035 §3.3.14). Returns DKIM_OK
 * or DKIM_ERR_OUTPUT_SPACE / DKIM_ERR_PARAM. */
int dkim_dns_record(const char *selector, const char *domain, enum hal_key_type type,
    const uint8_t *pub, size_t publen, char *buf, size_t cap, size_t *len);

#endif

