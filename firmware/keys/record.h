/*
 * firmware/keys/record.h — the DKIM key record (RFC 6376 §3.6.1) as DNS
 * serves it: parse its text as a tag-list and compare it with one key's
 * public part. Pure: no I/O, no allocation, no clock; byte slices in.
 *
 * Model. A TXT record is one or more character-strings; keyrec_txt_join()
 * joins them (RFC 6376 §3.6.2.2: concatenated without separators).
 * keyrec_parse() reads the tag-list (§3.2: tag=value pairs separated by
 * ';', whitespace around tags, values and inside p=; duplicate tags make
 * the record invalid; unknown tags are ignored). keyrec_compare() says how
 * the record differs from the key a signer would use, as a set of KEYREC_*
 * bits: 0 = the record publishes exactly this key (the p= bytes equal the
 * key's public part) and nothing in it makes verifiers ignore or distrust
 * the signatures. keyrec_explain() turns the bits into one line for an
 * admin. keyrec_value() writes the record a key needs, as one line (the
 * form web DNS panels take).
 *
 * Public parts: RSA = DER SubjectPublicKeyInfo, Ed25519 = the 32 raw bytes
 * (what hal_key_public() gives and what p= carries, RFC 8463 §4).
 *
 *   char txt[KEYREC_TEXT_MAX]; size_t n; struct keyrec r;
 *   keyrec_txt_join(rdata, rdlen, txt, sizeof(txt), &n);
 *   unsigned d = keyrec_check(txt, n, HAL_KEY_RSA, pub, publen, &r);
 *   if (d) keyrec_explain(d, &r, HAL_KEY_RSA, pub, publen, why, sizeof(why));
 */
#ifndef FIRMWARE_KEYS_RECORD_H
#define FIRMWARE_KEYS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/crypto.h"

/* Largest decoded p= kept (an RSA-4096 SubjectPublicKeyInfo is 550 bytes). */
#define KEYREC_PUB_MAX 1024
/* Largest joined TXT text worth reading (a DKIM record for RSA-4096 is ~760). */
#define KEYREC_TEXT_MAX 4096

/* Differences, OR-ed. 0 = match.
 *  SYNTAX      not a tag-list: bad tag name, no '=', a duplicate tag, a byte
 *              outside VALCHAR
 *  NO_VERSION  no v=DKIM1 (recommended; zegel writes it)
 *  VERSION     v= is not DKIM1, or not the first tag: verifiers discard it
 *  KEYTYPE     k= (default rsa) is not the key's type
 *  NO_P        no p= tag (the tag is required)
 *  REVOKED     p= is empty: the key is revoked
 *  BASE64      p= is not valid base64 (cut off?)
 *  KEY         p= is another key (an old one, or cut off)
 *  TESTING     t=y: verifiers may treat signatures as unsigned
 *  HASH        h= does not list sha256
 *  SERVICE     s= lists neither '*' nor email
 *  STRICT      t=s (noted only; zegel's i= equals d=; never set by compare) */
#define KEYREC_SYNTAX (1u << 0)
#define KEYREC_NO_VERSION (1u << 1)
#define KEYREC_VERSION (1u << 2)
#define KEYREC_KEYTYPE (1u << 3)
#define KEYREC_NO_P (1u << 4)
#define KEYREC_REVOKED (1u << 5)
#define KEYREC_BASE64 (1u << 6)
#define KEYREC_KEY (1u << 7)
#define KEYREC_TESTING (1u << 8)
#define KEYREC_HASH (1u << 9)
#define KEYREC_SERVICE (1u << 10)
#define KEYREC_STRICT (1u << 11)

struct keyrec {
	bool has_v, has_k, has_p, has_t, has_h, has_s;
	bool v_first;     /* v= was the first tag */
	char v[16];       /* v= value (cut at 15 bytes) */
	char k[16];       /* k= value, "rsa" when absent (the default) */
	bool p_base64_ok; /* p= decoded (when has_p and non-empty) */
	size_t p_chars;   /* base64 characters in p=, whitespace not counted */
	size_t plen;      /* decoded p= bytes; 0 with has_p = revoked */
	uint8_t p[KEYREC_PUB_MAX];
	bool t_testing;   /* t= lists y */
	bool t_strict;    /* t= lists s */
	bool h_sha256;    /* h= absent or lists sha256 */
	bool s_email;     /* s= absent or lists * or email */
	size_t syntax_at; /* offset of the first syntax error (KEYREC_SYNTAX) */
};

/* Join the character-strings of TXT rdata (each a length byte + bytes) into
 * out, NUL-terminated. 0; -EINVAL for rdata that is no TXT (a length past
 * the end, no string); -ERANGE if out is too small (cap includes the NUL). */
int keyrec_txt_join(const uint8_t *rdata, size_t rdlen, char *out, size_t cap, size_t *len);

/* Parse text (n bytes, need not be NUL-terminated) into *r. Returns 0, or
 * KEYREC_SYNTAX (r then holds what was read before the error). */
unsigned keyrec_parse(const char *text, size_t n, struct keyrec *r);

/* Differences between a parsed record and a key (type, public part). */
unsigned
keyrec_compare(const struct keyrec *r, enum hal_key_type type, const uint8_t *pub, size_t publen);

/* keyrec_parse + keyrec_compare; r is the caller's scratch (and the parse). */
unsigned keyrec_check(const char *text, size_t n, enum hal_key_type type, const uint8_t *pub,
    size_t publen, struct keyrec *r);

/* One line for an admin naming each difference in diffs, "; "-separated,
 * e.g. "k=rsa but the key is ed25519; p= has 200 base64 characters, the key
 * 392 (cut off?)". Always NUL-terminates (cap > 0); returns the length. */
size_t keyrec_explain(unsigned diffs, const struct keyrec *r, enum hal_key_type type,
    const uint8_t *pub, size_t publen, char *buf, size_t cap);

/* The record a key needs as one line: "v=DKIM1; k=rsa; p=MIIB...". 0, or
 * -EINVAL (bad type/public part), -ERANGE (cap too small; cap includes NUL). */
int keyrec_value(enum hal_key_type type, const uint8_t *pub, size_t publen, char *buf, size_t cap,
    size_t *len);

#endif
