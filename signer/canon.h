/*
 * signer/canon.h — private: the canonicalisation engines of the signer.
 *
 * Body (RFC 6376 §3.4.3 simple, §3.4.4 relaxed): the caller splits the body
 * into line data (dkim_body_data, any number of slices per line, no CR/LF
 * line ends inside) and line ends (dkim_body_eol); dkim_body_final() applies
 * the end-of-body rules and writes the SHA-256.
 *
 * Header (§3.4.1 simple, §3.4.2 relaxed): dkim_hcanon_start() per field, feed
 * the field's bytes as they are transmitted (name, colon, value, folding
 * CRLFs, final CRLF if any), dkim_hcanon_end(). Relaxed lower-cases the name,
 * unfolds, reduces WSP runs to one SP, drops WSP around the colon and at the
 * end, then adds CRLF when asked (every field except the DKIM-Signature being
 * made, §3.7). Simple hashes the bytes unchanged.
 */
#ifndef SIGNER_CANON_H
#define SIGNER_CANON_H

#include <stdbool.h>

#include "dkim/dkim.h"

int dkim_body_init(struct dkim_body *b, enum dkim_canon canon);
void dkim_body_data(struct dkim_body *b, const uint8_t *p, size_t n);
void dkim_body_eol(struct dkim_body *b);
int dkim_body_final(struct dkim_body *b, uint8_t out[DKIM_HASH_LEN]);

/*
 * The fast path for text that canonicalisation leaves as it is: clean text
 * (hal/crypto.h, hal_text_clean_len(); with HAL_TEXT_RELAXED when a relaxed
 * engine is among them: a text both canonicalisations keep byte for byte).
 * dkim_body_clean() takes the used engines e[0..ne), each at the start of a
 * line (dkim_body_at_line_start()), hashes the clean prefix of p[0..n)
 * straight from p into each (after any empty lines held back) and returns
 * its length; *dirty when text that is not clean stopped it (not the end of
 * p). The first engine's hash checks while it hashes where its backend can
 * (hal_hash_update_text()); the others hash the same bytes.
 */
bool dkim_body_at_line_start(const struct dkim_body *b);
size_t dkim_body_clean(struct dkim_body *const *e, unsigned ne, const uint8_t *p, size_t n,
    bool *dirty);

struct dkim_hcanon {
	enum dkim_canon canon;
	struct hal_hash_ctx *h;
	bool in_name, started, wsp, pending_cr, failed;
	size_t olen;
	uint8_t out[128];
};

void dkim_hcanon_start(struct dkim_hcanon *c, enum dkim_canon canon, struct hal_hash_ctx *h);
void dkim_hcanon_feed(struct dkim_hcanon *c, const uint8_t *p, size_t n);
int dkim_hcanon_end(struct dkim_hcanon *c, bool add_crlf);

#endif
