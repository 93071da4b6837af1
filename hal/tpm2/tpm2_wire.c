/*
 * TPM 2.0 command marshalling and response unmarshalling (hal/tpm2.h):
 * pure, byte-fed, for the few commands of DKIM keys held in a TPM.
 * Layouts: TPM 2.0 Library Part 3 (commands) and Part 2 (structures).
 */
#include <errno.h>
#include <string.h>

#include "hal/tpm2.h"

/* ---- encoder ---- */

struct enc {
	uint8_t *p;
	size_t cap, len;
	int err;
};

static void
enc_put(struct enc *e, const void *b, size_t n)
{
	if (e->err || n > e->cap - e->len) {
		e->err = -ERANGE;
		return;
	}
	memcpy(e->p + e->len, b, n);
	e->len += n;
}

static void
u8(struct enc *e, uint8_t v)
{
	enc_put(e, &v, 1);
}

static void
u16(struct enc *e, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	enc_put(e, b, 2);
}

static void
u32(struct enc *e, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	enc_put(e, b, 4);
}

static void
set16(struct enc *e, size_t at, size_t v)
{
	if (!e->err && at + 2 <= e->len) {
		e->p[at] = (uint8_t)(v >> 8);
		e->p[at + 1] = (uint8_t)v;
	}
}

static void
begin(struct enc *e, uint8_t *out, size_t cap, uint16_t tag, uint32_t cc)
{
	e->p = out;
	e->cap = cap;
	e->len = 0;
	e->err = 0;
	u16(e, tag);
	u32(e, 0); /* size, filled by end() */
	u32(e, cc);
}

static int
end(struct enc *e, size_t *len)
{
	*len = 0;
	if (e->err)
		return e->err;
	e->p[2] = (uint8_t)(e->len >> 24);
	e->p[3] = (uint8_t)(e->len >> 16);
	e->p[4] = (uint8_t)(e->len >> 8);
	e->p[5] = (uint8_t)e->len;
	*len = e->len;
	return 0;
}

/* The authorisation area: one password session, empty password. */
static void
pw_session(struct enc *e)
{
	u32(e, 9);          /* authorizationSize */
	u32(e, TPM2_RS_PW); /* sessionHandle */
	u16(e, 0);          /* nonceCaller */
	u8(e, 0);           /* sessionAttributes */
	u16(e, 0);          /* hmac: the (empty) password */
}

/* TPM2B_PUBLIC of an RSA key: the SRK (restricted decrypt, AES-128-CFB)
 * or a signing key (RSASSA with SHA-256). */
static void
rsa_template(struct enc *e, int srk, unsigned bits)
{
	size_t at = e->len;

	u16(e, 0); /* size */
	u16(e, TPM2_ALG_RSA);
	u16(e, TPM2_ALG_SHA256);
	u32(e, srk ? TPM2_SRK_ATTRS : TPM2_SIGN_ATTRS);
	u16(e, 0); /* authPolicy */
	if (srk) {
		u16(e, TPM2_ALG_AES);
		u16(e, 128);
		u16(e, TPM2_ALG_CFB);
		u16(e, TPM2_ALG_NULL); /* scheme */
	} else {
		u16(e, TPM2_ALG_NULL); /* symmetric */
		u16(e, TPM2_ALG_RSASSA);
		u16(e, TPM2_ALG_SHA256);
	}
	u16(e, (uint16_t)bits);
	u32(e, 0); /* exponent: 65537 */
	u16(e, 0); /* unique: empty */
	set16(e, at, e->len - at - 2);
}

/* inSensitive (empty auth, no data), inPublic, outsideInfo, creationPCR */
static void
create_params(struct enc *e, int srk, unsigned bits)
{
	u16(e, 4);
	u16(e, 0);
	u16(e, 0);
	rsa_template(e, srk, bits);
	u16(e, 0);
	u32(e, 0);
}

int
tpm2_cmd_startup_clear(uint8_t *out, size_t cap, size_t *len)
{
	struct enc e;

	begin(&e, out, cap, TPM2_ST_NO_SESSIONS, TPM2_CC_STARTUP);
	u16(&e, 0x0000); /* TPM_SU_CLEAR */
	return end(&e, len);
}

int
tpm2_cmd_create_primary_srk(uint8_t *out, size_t cap, size_t *len)
{
	struct enc e;

	begin(&e, out, cap, TPM2_ST_SESSIONS, TPM2_CC_CREATE_PRIMARY);
	u32(&e, TPM2_RH_OWNER);
	pw_session(&e);
	create_params(&e, 1, 2048);
	return end(&e, len);
}

int
tpm2_cmd_create_rsa_sign(uint8_t *out, size_t cap, size_t *len, uint32_t parent,
    unsigned bits)
{
	struct enc e;

	if (bits != 1024 && bits != 2048 && bits != 3072 && bits != 4096)
		return -EINVAL;
	begin(&e, out, cap, TPM2_ST_SESSIONS, TPM2_CC_CREATE);
	u32(&e, parent);
	pw_session(&e);
	create_params(&e, 0, bits);
	return end(&e, len);
}

int
tpm2_cmd_load(uint8_t *out, size_t cap, size_t *len, uint32_t parent, const struct tpm2_blob *b)
{
	struct enc e;

	begin(&e, out, cap, TPM2_ST_SESSIONS, TPM2_CC_LOAD);
	u32(&e, parent);
	pw_session(&e);
	enc_put(&e, b->priv, b->privlen);
	enc_put(&e, b->pub, b->publen);
	return end(&e, len);
}

int
tpm2_cmd_sign_sha256(uint8_t *out, size_t cap, size_t *len, uint32_t key,
    const uint8_t digest[32])
{
	struct enc e;

	begin(&e, out, cap, TPM2_ST_SESSIONS, TPM2_CC_SIGN);
	u32(&e, key);
	pw_session(&e);
	u16(&e, 32);
	enc_put(&e, digest, 32);
	u16(&e, TPM2_ALG_RSASSA); /* inScheme */
	u16(&e, TPM2_ALG_SHA256);
	u16(&e, TPM2_ST_HASHCHECK); /* validation: the NULL ticket */
	u32(&e, TPM2_RH_NULL);
	u16(&e, 0);
	return end(&e, len);
}

int
tpm2_cmd_read_public(uint8_t *out, size_t cap, size_t *len, uint32_t handle)
{
	struct enc e;

	begin(&e, out, cap, TPM2_ST_NO_SESSIONS, TPM2_CC_READ_PUBLIC);
	u32(&e, handle);
	return end(&e, len);
}

int
tpm2_cmd_flush(uint8_t *out, size_t cap, size_t *len, uint32_t handle)
{
	struct enc e;

	begin(&e, out, cap, TPM2_ST_NO_SESSIONS, TPM2_CC_FLUSH_CONTEXT);
	u32(&e, handle); /* a parameter, not a handle-area entry */
	return end(&e, len);
}

int
tpm2_cmd_get_handles(uint8_t *out, size_t cap, size_t *len, uint32_t first, uint32_t count)
{
	struct enc e;

	begin(&e, out, cap, TPM2_ST_NO_SESSIONS, TPM2_CC_GET_CAPABILITY);
	u32(&e, TPM2_CAP_HANDLES);
	u32(&e, first);
	u32(&e, count);
	return end(&e, len);
}

/* ---- decoder ---- */

struct dec {
	const uint8_t *p;
	size_t n, off;
	int err;
};

static uint32_t
g(struct dec *d, size_t w)
{
	uint32_t v = 0;

	if (d->err || w > d->n - d->off) {
		d->err = -EBADMSG;
		return 0;
	}
	for (size_t i = 0; i < w; i++)
		v = v << 8 | d->p[d->off + i];
	d->off += w;
	return v;
}

/* A TPM2B: its contents (without the size) at *b, length *bl. */
static void
g2b(struct dec *d, const uint8_t **b, size_t *bl)
{
	size_t l = g(d, 2);

	*b = NULL;
	*bl = 0;
	if (d->err || l > d->n - d->off) {
		d->err = -EBADMSG;
		return;
	}
	*b = d->p + d->off;
	*bl = l;
	d->off += l;
}

size_t
tpm2_rsp_size(const uint8_t *p, size_t n)
{
	uint32_t sz;

	if (n < 10)
		return 0;
	if (!((p[0] == 0x80 && (p[1] == 0x01 || p[1] == 0x02)) || (p[0] == 0x00 && p[1] == 0xC4)))
		return 0;
	sz = (uint32_t)p[2] << 24 | (uint32_t)p[3] << 16 | (uint32_t)p[4] << 8 | p[5];
	return sz < 10 ? 0 : sz;
}

/* The header; 0 with d at the first byte after it, -EIO with *trc set, or
 * -EBADMSG. sessions: the tag a successful answer has. */
static int
header(struct dec *d, const uint8_t *p, size_t n, uint32_t *trc, int sessions)
{
	uint32_t tag, size;

	d->p = p;
	d->n = n;
	d->off = 0;
	d->err = 0;
	*trc = 0;
	tag = g(d, 2);
	size = g(d, 4);
	*trc = g(d, 4);
	if (d->err || size != n)
		return -EBADMSG;
	if (*trc != TPM2_RC_SUCCESS)
		return n == 10 ? -EIO : -EBADMSG; /* an error is the header alone */
	if (tag != (sessions ? TPM2_ST_SESSIONS : TPM2_ST_NO_SESSIONS))
		return -EBADMSG;
	return 0;
}

/* parameterSize of a response with sessions: the parameters end there and
 * one password session's answer (nonce, attributes, hmac) follows. */
static int
params(struct dec *d, size_t *pend)
{
	uint32_t ps = g(d, 4);
	struct dec a;
	const uint8_t *b;
	size_t bl;

	if (d->err || ps > d->n - d->off)
		return -EBADMSG;
	*pend = d->off + ps;
	a = *d;
	a.off = *pend;
	g2b(&a, &b, &bl); /* nonceTPM */
	(void)g(&a, 1);   /* sessionAttributes */
	g2b(&a, &b, &bl); /* hmac */
	if (a.err || a.off != a.n)
		return -EBADMSG;
	return 0;
}

int
tpm2_rsp_status(const uint8_t *p, size_t n, uint32_t *trc)
{
	struct dec d;
	int rc = header(&d, p, n, trc, 0);

	return rc == 0 && d.off != n ? -EBADMSG : rc;
}

int
tpm2_rsp_create_primary(const uint8_t *p, size_t n, uint32_t *trc, uint32_t *handle)
{
	struct dec d;
	size_t pend;
	int rc = header(&d, p, n, trc, 1);

	if (rc != 0)
		return rc;
	*handle = g(&d, 4);
	if (d.err || (rc = params(&d, &pend)) != 0)
		return -EBADMSG;
	return (*handle & 0xFF000000u) == TPM2_HT_TRANSIENT ? 0 : -EBADMSG;
}

/* a TPM2B whose whole (size field included) must fit cap, copied */
static void
copy2b(struct dec *d, uint8_t *out, size_t cap, size_t *len)
{
	size_t at = d->off;
	const uint8_t *b;
	size_t bl;

	g2b(d, &b, &bl);
	if (d->err || bl == 0 || bl + 2 > cap) {
		d->err = -EBADMSG;
		return;
	}
	memcpy(out, d->p + at, bl + 2);
	*len = bl + 2;
}

int
tpm2_rsp_create(const uint8_t *p, size_t n, uint32_t *trc, struct tpm2_blob *b)
{
	struct dec d;
	size_t pend;
	int rc = header(&d, p, n, trc, 1);

	if (rc != 0)
		return rc;
	if ((rc = params(&d, &pend)) != 0)
		return rc;
	copy2b(&d, b->priv, sizeof(b->priv), &b->privlen);
	copy2b(&d, b->pub, sizeof(b->pub), &b->publen);
	/* creationData, creationHash, creationTicket follow: not needed */
	if (d.err || d.off > pend)
		return -EBADMSG;
	return 0;
}

int
tpm2_rsp_load(const uint8_t *p, size_t n, uint32_t *trc, uint32_t *handle)
{
	struct dec d;
	size_t pend, bl;
	const uint8_t *b;
	int rc = header(&d, p, n, trc, 1);

	if (rc != 0)
		return rc;
	*handle = g(&d, 4);
	if (d.err || (rc = params(&d, &pend)) != 0)
		return -EBADMSG;
	g2b(&d, &b, &bl); /* name */
	if (d.err || d.off != pend || (*handle & 0xFF000000u) != TPM2_HT_TRANSIENT)
		return -EBADMSG;
	return 0;
}

int
tpm2_rsp_sign(const uint8_t *p, size_t n, uint32_t *trc, uint8_t *sig, size_t cap,
    size_t *siglen)
{
	struct dec d;
	size_t pend, bl;
	const uint8_t *b;
	int rc = header(&d, p, n, trc, 1);

	*siglen = 0;
	if (rc != 0)
		return rc;
	if ((rc = params(&d, &pend)) != 0)
		return rc;
	if (g(&d, 2) != TPM2_ALG_RSASSA || g(&d, 2) != TPM2_ALG_SHA256)
		return -EBADMSG;
	g2b(&d, &b, &bl);
	if (d.err || d.off != pend || bl == 0)
		return -EBADMSG;
	if (bl > cap)
		return -ERANGE;
	memcpy(sig, b, bl);
	*siglen = bl;
	return 0;
}

int
tpm2_rsp_read_public(const uint8_t *p, size_t n, uint32_t *trc, uint8_t *pub, size_t cap,
    size_t *publen)
{
	struct dec d;
	size_t bl;
	const uint8_t *b;
	int rc = header(&d, p, n, trc, 0);

	if (rc != 0)
		return rc;
	copy2b(&d, pub, cap, publen);
	g2b(&d, &b, &bl); /* name */
	g2b(&d, &b, &bl); /* qualifiedName */
	return d.err || d.off != n ? -EBADMSG : 0;
}

int
tpm2_rsp_get_handles(const uint8_t *p, size_t n, uint32_t *trc, uint32_t *h, size_t cap,
    size_t *count)
{
	struct dec d;
	uint32_t c;
	int rc = header(&d, p, n, trc, 0);

	*count = 0;
	if (rc != 0)
		return rc;
	(void)g(&d, 1); /* moreData */
	if (g(&d, 4) != TPM2_CAP_HANDLES)
		return -EBADMSG;
	c = g(&d, 4);
	if (d.err || c > cap || (size_t)c * 4 != d.n - d.off)
		return -EBADMSG;
	for (uint32_t i = 0; i < c; i++)
		h[i] = g(&d, 4);
	*count = c;
	return 0;
}

int
tpm2_public_parse(const uint8_t *p, size_t n, struct tpm2_rsa_pub *k)
{
	struct dec d = { p, n, 0, 0 };
	const uint8_t *b;
	size_t bl, end;
	uint16_t sym;

	memset(k, 0, sizeof(*k));
	end = g(&d, 2) + 2;
	if (d.err || end != n)
		return -EBADMSG;
	if (g(&d, 2) != TPM2_ALG_RSA)
		return -EBADMSG;
	k->name_alg = (uint16_t)g(&d, 2);
	k->attrs = g(&d, 4);
	g2b(&d, &b, &bl); /* authPolicy */
	sym = (uint16_t)g(&d, 2);
	if (sym != TPM2_ALG_NULL) {
		(void)g(&d, 2); /* keyBits */
		(void)g(&d, 2); /* mode */
	}
	k->scheme = (uint16_t)g(&d, 2);
	if (k->scheme != TPM2_ALG_NULL)
		k->scheme_hash = (uint16_t)g(&d, 2);
	k->bits = g(&d, 2);
	k->exponent = g(&d, 4);
	if (k->exponent == 0)
		k->exponent = 65537;
	g2b(&d, &b, &bl);
	if (d.err || d.off != n || bl > sizeof(k->mod) || bl * 8 != k->bits || bl == 0 ||
	    b[0] == 0)
		return -EBADMSG;
	memcpy(k->mod, b, bl);
	k->modlen = bl;
	return 0;
}

/* ---- SubjectPublicKeyInfo DER ---- */

static void
der_len(struct enc *e, size_t l)
{
	if (l < 128) {
		u8(e, (uint8_t)l);
	} else if (l < 256) {
		u8(e, 0x81);
		u8(e, (uint8_t)l);
	} else {
		u8(e, 0x82);
		u16(e, (uint16_t)l);
	}
}

static size_t
der_len_size(size_t l)
{
	return l < 128 ? 1 : l < 256 ? 2 : 3;
}

/* an unsigned big-endian INTEGER (leading zero bytes dropped, one added
 * where the top bit is set) */
static size_t
der_int_size(const uint8_t *v, size_t n)
{
	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	n += (v[0] & 0x80) ? 1 : 0;
	return 1 + der_len_size(n) + n;
}

static void
der_int(struct enc *e, const uint8_t *v, size_t n)
{
	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	u8(e, 0x02);
	der_len(e, n + ((v[0] & 0x80) ? 1 : 0));
	if (v[0] & 0x80)
		u8(e, 0);
	enc_put(e, v, n);
}

int
tpm2_rsa_spki(const struct tpm2_rsa_pub *k, uint8_t *out, size_t cap, size_t *len)
{
	static const uint8_t alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
		0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
	uint8_t ex[4] = { (uint8_t)(k->exponent >> 24), (uint8_t)(k->exponent >> 16),
		(uint8_t)(k->exponent >> 8), (uint8_t)k->exponent };
	size_t rsa, bits, all;
	struct enc e = { out, cap, 0, 0 };

	*len = 0;
	if (k->modlen == 0 || k->modlen > sizeof(k->mod))
		return -EINVAL;
	rsa = der_int_size(k->mod, k->modlen) + der_int_size(ex, 4);
	bits = 1 + (1 + der_len_size(rsa) + rsa);
	all = sizeof(alg) + 1 + der_len_size(bits) + bits;
	u8(&e, 0x30);
	der_len(&e, all);
	enc_put(&e, alg, sizeof(alg));
	u8(&e, 0x03);
	der_len(&e, bits);
	u8(&e, 0x00);
	u8(&e, 0x30);
	der_len(&e, rsa);
	der_int(&e, k->mod, k->modlen);
	der_int(&e, ex, 4);
	if (e.err)
		return e.err;
	*len = e.len;
	return 0;
}

/* ---- the key file ---- */

static const char magic[] = "zegel-tpm2-key 1\n";
static const char parent_line[] = "parent owner-srk-rsa2048\n";

int
tpm2_keyfile_is(const uint8_t *p, size_t n)
{
	size_t l = sizeof(magic) - 1;

	return n >= l && memcmp(p, magic, l) == 0;
}

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "NAME <hex>\n" at *off into out (at most cap bytes) */
static int
hex_line(const uint8_t *p, size_t n, size_t *off, const char *name, uint8_t *out, size_t cap,
    size_t *len)
{
	size_t l = strlen(name), o = *off, k = 0;

	if (n - o < l + 1 || memcmp(p + o, name, l) != 0 || p[o + l] != ' ')
		return -EINVAL;
	o += l + 1;
	while (o < n && p[o] != '\n') {
		int hi, lo;

		if (n - o < 2 || (hi = hexval(p[o])) < 0 || (lo = hexval(p[o + 1])) < 0 ||
		    k >= cap)
			return -EINVAL;
		out[k++] = (uint8_t)(hi << 4 | lo);
		o += 2;
	}
	if (o >= n || k < 2)
		return -EINVAL;
	*off = o + 1;
	*len = k;
	/* a whole TPM2B: its size field says the rest */
	return ((size_t)out[0] << 8 | out[1]) + 2 == k ? 0 : -EINVAL;
}

int
tpm2_keyfile_parse(const uint8_t *p, size_t n, struct tpm2_blob *b)
{
	size_t off = sizeof(magic) - 1, pl = sizeof(parent_line) - 1;
	struct tpm2_rsa_pub k;

	memset(b, 0, sizeof(*b));
	if (!tpm2_keyfile_is(p, n))
		return -EINVAL;
	if (n - off < pl || memcmp(p + off, parent_line, pl) != 0)
		return -EINVAL;
	off += pl;
	if (hex_line(p, n, &off, "public", b->pub, sizeof(b->pub), &b->publen) != 0 ||
	    hex_line(p, n, &off, "private", b->priv, sizeof(b->priv), &b->privlen) != 0 ||
	    off != n)
		return -EINVAL;
	if (tpm2_public_parse(b->pub, b->publen, &k) != 0 || k.scheme != TPM2_ALG_RSASSA ||
	    k.scheme_hash != TPM2_ALG_SHA256 || !(k.attrs & TPM2_OA_SIGN) ||
	    (k.attrs & TPM2_OA_RESTRICTED))
		return -EINVAL;
	return 0;
}

static void
hex_out(struct enc *e, const char *name, const uint8_t *b, size_t n)
{
	static const char hx[] = "0123456789abcdef";

	enc_put(e, name, strlen(name));
	u8(e, ' ');
	for (size_t i = 0; i < n; i++) {
		u8(e, (uint8_t)hx[b[i] >> 4]);
		u8(e, (uint8_t)hx[b[i] & 15]);
	}
	u8(e, '\n');
}

int
tpm2_keyfile_write(const struct tpm2_blob *b, char *buf, size_t cap, size_t *len)
{
	struct enc e = { (uint8_t *)buf, cap, 0, 0 };

	*len = 0;
	enc_put(&e, magic, sizeof(magic) - 1);
	enc_put(&e, parent_line, sizeof(parent_line) - 1);
	hex_out(&e, "public", b->pub, b->publen);
	hex_out(&e, "private", b->priv, b->privlen);
	u8(&e, 0);
	if (e.err)
		return e.err;
	*len = e.len - 1;
	return 0;
}
