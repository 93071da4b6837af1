/*
 * The streaming DKIM signer (RFC 6376 §3.5, §3.7, §5; RFC 8463 §3).
 * See dkim/dkim.h for the model and the call order.
 */
#include <stdio.h>
#include <string.h>

#include "dkim/dkim.h"
#include "signer/canon.h"
#include "signer/inner.h"

const char *const dkim_default_headers[] = {
	"from", "sender", "reply-to", "subject", "date", "message-id", "to", "cc",
	"mime-version", "content-type", "content-transfer-encoding", "content-id",
	"content-description", "content-disposition", "in-reply-to", "references",
	"resent-date", "resent-from", "resent-sender", "resent-to", "resent-cc",
	"resent-message-id", "list-id", "list-help", "list-unsubscribe",
	"list-subscribe", "list-post", "list-owner", "list-archive",
	"list-unsubscribe-post", NULL,
};

const char *const dkim_default_oversign[] = {
	"from", "subject", "date", "to", "cc", "reply-to", "message-id", NULL,
};

static const char *const errs[] = {
	[0] = "ok",
	[1] = "the message has no From header field",
	[2] = "the message has more than one From header field (DMARC cannot align it)",
	[3] = "the From header field has no single address with a usable domain",
	[4] = "the header block is larger than the configured limit",
	[5] = "the message has more header fields than the configured limit",
	[6] = "a header line is not a header field (name, colon, value)",
	[7] = "the key is unusable for DKIM (type or size)",
	[8] = "the RSA key is smaller than 1024 bits (RFC 8301)",
	[9] = "the crypto backend failed to hash or sign",
	[10] = "bad signature parameters (domain, selector, identity or header list)",
	[11] = "too many signatures for one message",
	[12] = "signer call out of order",
	[13] = "output buffer too small",
	[14] = "the From domain is neither the signing domain nor below it",
};

const char *
dkim_strerror(int err)
{
	int i = -err;

	if (i < 0 || (size_t)i >= sizeof(errs) / sizeof(errs[0]) || errs[i] == NULL)
		return "unknown DKIM error";
	return errs[i];
}

static bool
valid_header_name(const char *n)
{
	if (n == NULL || *n == 0)
		return false;
	for (; *n; n++)
		if ((unsigned char)*n < 33 || (unsigned char)*n > 126 || *n == ':' || *n == ';')
			return false;
	return true;
}

/* ---------------------------------------------------------------- init, add */

void
dkim_signer_init(struct dkim_signer *s, uint8_t *hdrbuf, size_t hdrcap)
{
	memset(s, 0, sizeof(*s));
	s->hdr = hdrbuf;
	s->hdrcap = hdrcap;
	s->line_start = true;
}

static int
check_identity(const char *i, const char *d)
{
	const char *at = strrchr(i, '@');

	if (at == NULL)
		return DKIM_ERR_PARAM;
	for (const char *p = i; p < at; p++) {
		unsigned char c = (unsigned char)*p;

		if (c <= 32 || c >= 127 || c == ';' || c == '=' || c == '@')
			return DKIM_ERR_PARAM;
	}
	if (!dkim_valid_domain(at + 1) || dkim_signing_domain(at + 1, d) == NULL)
		return DKIM_ERR_PARAM;
	return DKIM_OK;
}

int
dkim_signer_add(struct dkim_signer *s, const struct dkim_sig_params *p)
{
	struct dkim_sig *g;
	const char *const *l;
	int rc;

	if (s->err != DKIM_OK)
		return s->err;
	if (s->phase > DKIM_PHASE_HEADERS_DONE)
		return DKIM_ERR_STATE;
	if (s->nsigs >= DKIM_MAX_SIGS)
		return DKIM_ERR_TOO_MANY_SIGS;
	if (p == NULL || !dkim_valid_domain(p->domain) || !dkim_valid_selector(p->selector) ||
	    (p->canon_header != DKIM_CANON_SIMPLE && p->canon_header != DKIM_CANON_RELAXED) ||
	    (p->canon_body != DKIM_CANON_SIMPLE && p->canon_body != DKIM_CANON_RELAXED))
		return DKIM_ERR_PARAM;
	if (p->identity != NULL && (rc = check_identity(p->identity, p->domain)) != DKIM_OK)
		return rc;
	/* From MUST be signed (RFC 6376 §5.4) */
	l = p->headers ? p->headers : dkim_default_headers;
	if (!dkim_list_has(l, "from"))
		return DKIM_ERR_PARAM;
	for (; *l; l++)
		if (!valid_header_name(*l) || dkim_ieq(*l, "dkim-signature"))
			return DKIM_ERR_PARAM;
	for (l = p->oversign ? p->oversign : dkim_default_oversign; *l; l++)
		if (!valid_header_name(*l) || dkim_ieq(*l, "dkim-signature"))
			return DKIM_ERR_PARAM;
	if (p->key == NULL)
		return DKIM_ERR_KEY;
	if (p->key->type == HAL_KEY_RSA) {
		if (p->key->bits < 1024)
			return DKIM_ERR_KEY_TOO_SMALL;
		if (p->key->bits > 4096)
			return DKIM_ERR_KEY;
	} else if (p->key->type != HAL_KEY_ED25519) {
		return DKIM_ERR_KEY;
	}
	if (s->phase == DKIM_PHASE_HEADERS_DONE &&
	    dkim_signing_domain(s->from_domain, p->domain) == NULL)
		return DKIM_ERR_DOMAIN_MISMATCH;

	if (!s->body[p->canon_body].used &&
	    dkim_body_init(&s->body[p->canon_body], p->canon_body) != 0)
		return DKIM_ERR_CRYPTO;
	g = &s->sig[s->nsigs++];
	memset(g, 0, sizeof(*g));
	g->p = *p;
	if (g->p.headers == NULL)
		g->p.headers = dkim_default_headers;
	if (g->p.oversign == NULL)
		g->p.oversign = dkim_default_oversign;
	g->body = &s->body[p->canon_body];
	return DKIM_OK;
}

/* ---------------------------------------------------------------- From */

/*
 * The domain of the one address in a From value (RFC 5322 §3.6.2, §3.4):
 * display names, quoted strings, comments and folding are skipped; a list of
 * addresses, a group or a domain literal is refused.
 */
static int
parse_from(const uint8_t *v, size_t n, char *dom, size_t cap)
{
	int depth = 0, angles = 0;
	bool quote = false, in_angle = false, after_at = false, done = false;
	size_t dl = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = v[i];

		if (quote) {
			if (c == '\\')
				i++;
			else if (c == '"')
				quote = false;
			continue;
		}
		if (depth > 0) {
			if (c == '\\')
				i++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		switch (c) {
		case 0:
			return DKIM_ERR_FROM_SYNTAX;    /* a C string would end here */
		case '(':
			depth++;
			continue;
		case '"':
			if (after_at)
				return DKIM_ERR_FROM_SYNTAX;
			quote = true;
			continue;
		case '<':
			if (in_angle || ++angles > 1)
				return DKIM_ERR_FROM_SYNTAX;
			in_angle = true;
			after_at = false;
			dl = 0;
			continue;
		case '>':
			if (!in_angle)
				return DKIM_ERR_FROM_SYNTAX;
			in_angle = false;
			done = true;
			after_at = false;
			continue;
		case ',':
		case ';':
			if (!in_angle)
				return DKIM_ERR_FROM_SYNTAX;    /* several addresses, group */
			dl = 0;                         /* obs-route "<@a,@b:u@d>" */
			after_at = false;
			continue;
		case ':':
			if (!in_angle)
				return DKIM_ERR_FROM_SYNTAX;    /* group */
			dl = 0;
			after_at = false;
			continue;
		case '@':
			if (done)
				return DKIM_ERR_FROM_SYNTAX;
			after_at = true;
			dl = 0;
			continue;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			continue;
		default:
			if (done)
				continue;       /* text after "<...>": ignored */
			if (after_at) {
				if (dl + 1 >= cap)
					return DKIM_ERR_FROM_SYNTAX;
				dom[dl++] = (char)dkim_lc(c);
			}
			continue;
		}
	}
	if (quote || depth > 0 || in_angle || dl == 0)
		return DKIM_ERR_FROM_SYNTAX;
	if (dom[dl - 1] == '.')
		dl--;
	dom[dl] = 0;
	if (!dkim_valid_domain(dom))
		return DKIM_ERR_FROM_SYNTAX;
	return DKIM_OK;
}

size_t
dkim_field_end(const struct dkim_signer *s, unsigned i)
{
	return i + 1 < s->nfields ? s->field[i + 1] : s->hdrlen;
}

/* Does field i have this name (case-insensitive, WSP before the colon ok)? */
bool
dkim_field_is(const struct dkim_signer *s, unsigned i, const char *name)
{
	const uint8_t *f = s->hdr + s->field[i];
	size_t n = dkim_field_end(s, i) - s->field[i], k = 0;

	while (k < n && name[k] && dkim_lc(f[k]) == dkim_lc((unsigned char)name[k]))
		k++;
	if (name[k] != 0)
		return false;
	while (k < n && (f[k] == ' ' || f[k] == '\t'))
		k++;
	return k < n && f[k] == ':';
}

unsigned
dkim_field_count(const struct dkim_signer *s, const char *name)
{
	unsigned c = 0;

	for (unsigned i = 0; i < s->nfields; i++)
		if (dkim_field_is(s, i, name))
			c++;
	return c;
}

static void
headers_end(struct dkim_signer *s)
{
	unsigned from = 0, nfrom = 0;
	const uint8_t *v;
	size_t n;
	int rc;

	s->phase = DKIM_PHASE_HEADERS_DONE;
	for (unsigned i = 0; i < s->nfields; i++)
		if (dkim_field_is(s, i, "from")) {
			from = i;
			nfrom++;
		}
	if (nfrom == 0) {
		s->err = DKIM_ERR_NO_FROM;
		return;
	}
	if (nfrom > 1) {
		s->err = DKIM_ERR_MULTIPLE_FROM;
		return;
	}
	v = memchr(s->hdr + s->field[from], ':', dkim_field_end(s, from) - s->field[from]);
	v++;
	n = (size_t)(s->hdr + dkim_field_end(s, from) - v);
	rc = parse_from(v, n, s->from_domain, sizeof(s->from_domain));
	if (rc != DKIM_OK) {
		s->from_domain[0] = 0;
		s->err = rc;
		return;
	}
	for (unsigned i = 0; i < s->nsigs; i++)
		if (dkim_signing_domain(s->from_domain, s->sig[i].p.domain) == NULL) {
			s->err = DKIM_ERR_DOMAIN_MISMATCH;
			return;
		}
}

/* ---------------------------------------------------------------- push */

static bool
hdr_append(struct dkim_signer *s, const uint8_t *p, size_t n)
{
	if (s->hdrcap - s->hdrlen < n) {
		s->err = DKIM_ERR_HEADER_TOO_BIG;
		return false;
	}
	memcpy(s->hdr + s->hdrlen, p, n);
	s->hdrlen += n;
	return true;
}

/* One content byte of the header block (not CR-before-LF, not LF). */
static void
hdr_byte(struct dkim_signer *s, uint8_t c)
{
	if (s->line_start) {
		s->line_start = false;
		if (c == ' ' || c == '\t') {
			if (s->nfields == 0) {   /* continuation of nothing */
				s->err = DKIM_ERR_HEADER_SYNTAX;
				return;
			}
		} else {
			if (s->nfields >= DKIM_MAX_HEADERS) {
				s->err = DKIM_ERR_TOO_MANY_HEADERS;
				return;
			}
			if (c == ':') {         /* empty field name */
				s->err = DKIM_ERR_HEADER_SYNTAX;
				return;
			}
			s->field[s->nfields++] = (uint32_t)s->hdrlen;
			s->name_state = 1;
		}
	} else if (s->name_state != 0) {
		if (c == ':') {
			s->name_state = 0;
		} else if (c == ' ' || c == '\t') {
			s->name_state = 2;
		} else if (s->name_state == 2 || c < 33 || c > 126) {
			s->err = DKIM_ERR_HEADER_SYNTAX;
			return;
		}
	}
	hdr_append(s, &c, 1);
}

/* A line end in the header block; true when it ended the block. */
static bool
hdr_eol(struct dkim_signer *s)
{
	if (s->line_start) {
		headers_end(s);
		return true;
	}
	if (s->name_state != 0) {       /* first line of a field without colon */
		s->err = DKIM_ERR_HEADER_SYNTAX;
		return false;
	}
	hdr_append(s, (const uint8_t *)"\r\n", 2);
	s->line_start = true;
	return false;
}

static size_t
push_headers(struct dkim_signer *s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && s->err == DKIM_OK; i++) {
		uint8_t c = p[i];

		if (s->pending_cr) {
			s->pending_cr = false;
			if (c == '\n') {
				if (hdr_eol(s))
					return i + 1;
				continue;
			}
			hdr_byte(s, '\r');
			if (s->err != DKIM_OK)
				break;
		}
		if (c == '\r') {
			s->pending_cr = true;
		} else if (c == '\n') {
			if (hdr_eol(s))
				return i + 1;
		} else {
			hdr_byte(s, c);
		}
	}
	return s->err == DKIM_OK ? n : 0;
}

static void
body_data(struct dkim_signer *s, const uint8_t *p, size_t n)
{
	if (s->body[0].used)
		dkim_body_data(&s->body[0], p, n);
	if (s->body[1].used)
		dkim_body_data(&s->body[1], p, n);
}

static void
body_eol(struct dkim_signer *s)
{
	if (s->body[0].used)
		dkim_body_eol(&s->body[0]);
	if (s->body[1].used)
		dkim_body_eol(&s->body[1]);
}

/*
 * Text the body engines keep as it is, from q at a line start: hashed into
 * each engine (canon.h), its length returned; 0 when there is none or an
 * engine is inside a line. After text that is not clean the next
 * CLEAN_BACKOFF lines go the line-by-line way without a look (bare-LF text
 * never has any).
 */
#define CLEAN_BACKOFF 32

static size_t
body_clean(struct dkim_signer *s, const uint8_t *q, size_t n)
{
	struct dkim_body *e[2];
	unsigned ne = 0;
	size_t k;
	bool dirty;

	if (s->clean_skip > 0) {
		s->clean_skip--;
		return 0;
	}
	for (int i = 0; i < 2; i++) {
		if (!s->body[i].used)
			continue;
		if (!dkim_body_at_line_start(&s->body[i]))
			return 0;
		e[ne++] = &s->body[i];
	}
	k = dkim_body_clean(e, ne, q, n, &dirty);
	if (k == 0 && dirty)
		s->clean_skip = CLEAN_BACKOFF;
	return k;
}

/*
 * Body bytes: text the engines keep as it is goes to them whole (hashed from
 * the caller's bytes, no line splitting); the rest is split into line data
 * and line ends. memchr finds each LF; a CR right before it belongs to the
 * line end, any other CR is data (a CR at the end of a slice waits for the
 * next byte).
 */
static void
push_body(struct dkim_signer *s, const uint8_t *p, size_t n)
{
	const uint8_t *q = p, *end = p + n, *r, *e;
	size_t k;

	if (n > 0 && s->pending_cr) {
		s->pending_cr = false;
		if (*q == '\n') {
			body_eol(s);
			q++;
		} else {
			body_data(s, (const uint8_t *)"\r", 1);
		}
	}
	while (q < end) {
		if ((k = body_clean(s, q, (size_t)(end - q))) > 0) {
			q += k;
			continue;
		}
		r = memchr(q, '\n', (size_t)(end - q));
		if (r == NULL) {
			e = end;
			if (e[-1] == '\r') {
				e--;
				s->pending_cr = true;
			}
			body_data(s, q, (size_t)(e - q));
			break;
		}
		e = (r > q && r[-1] == '\r') ? r - 1 : r;
		body_data(s, q, (size_t)(e - q));
		body_eol(s);
		q = r + 1;
	}
}

int
dkim_input_end(struct dkim_signer *s)
{
	if (s->phase == DKIM_PHASE_HEADERS) {
		/* a header block without the blank line: no body */
		if (s->pending_cr) {
			s->pending_cr = false;
			hdr_byte(s, '\r');
		}
		if (s->err == DKIM_OK && !s->line_start)
			hdr_eol(s);
		if (s->err == DKIM_OK)
			hdr_eol(s);
		return s->err;
	}
	if (s->pending_cr) {
		s->pending_cr = false;
		body_data(s, (const uint8_t *)"\r", 1);
	}
	return DKIM_OK;
}

size_t
dkim_signer_push_headers(struct dkim_signer *s, const uint8_t *p, size_t n)
{
	if (s->err != DKIM_OK || s->phase != DKIM_PHASE_HEADERS)
		return 0;
	return push_headers(s, p, n);
}

size_t
dkim_signer_push(struct dkim_signer *s, const uint8_t *p, size_t n)
{
	size_t k = 0;

	if (s->err != DKIM_OK)
		return 0;
	switch (s->phase) {
	case DKIM_PHASE_HEADERS:
		k = push_headers(s, p, n);
		if (s->err != DKIM_OK)
			return 0;
		if (k == n)
			return n;
		p += k;
		n -= k;
		/* the body starts inside this slice */
		s->phase = DKIM_PHASE_BODY;
		push_body(s, p, n);
		return k + n;
	case DKIM_PHASE_HEADERS_DONE:
		if (n == 0)
			return 0;
		s->phase = DKIM_PHASE_BODY;
		/* FALLTHROUGH */
	case DKIM_PHASE_BODY:
		push_body(s, p, n);
		return n;
	default:
		s->err = DKIM_ERR_STATE;
		return 0;
	}
}

bool
dkim_signer_headers_done(const struct dkim_signer *s)
{
	return s->phase >= DKIM_PHASE_HEADERS_DONE;
}

const char *
dkim_signer_from_domain(const struct dkim_signer *s)
{
	return s->from_domain[0] ? s->from_domain : NULL;
}

unsigned
dkim_signer_count(const struct dkim_signer *s)
{
	return s->phase == DKIM_PHASE_DONE ? s->nsigs : 0;
}

int
dkim_signer_error(const struct dkim_signer *s)
{
	return s->err;
}
