/*
 * The _smtp._tls TXT record (RFC 8460 3) as a byte-fed machine
 * (tlsrpt_record.h).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/relay/tlsrpt_record.h"

enum {
	R_VERSION = 0,  /* matching "v=TLSRPTv1" */
	R_AFTER,        /* after the version or a value: WSP or ';' */
	R_AFTER_WSP,    /* blanks after a value: more, or ';' */
	R_FIELD,        /* after ';': WSP, a field name, or the end */
	R_NAME,         /* in a field name */
	R_URI_START,    /* after "rua=" or a ',' (WSP allowed after ',') */
	R_URI,          /* in a URI */
	R_URI_WSP,      /* blanks after a URI: more, ',' or ';' */
	R_EXT,          /* in an extension value */
};

static const char version[] = "v=TLSRPTv1";

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alnum(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A URI byte: printable, not blank, not the separators ',' and ';', not '!' (3). */
static bool
is_uri(uint8_t c)
{
	return c > 0x20 && c < 0x7f && c != ',' && c != ';' && c != '!';
}

static bool
is_ext_value(uint8_t c)
{
	return (c >= 0x21 && c <= 0x3a) || c == 0x3c || (c >= 0x3e && c <= 0x7e);
}

static int
bad(struct tlsrpt_rec *p, const char *why)
{
	p->verdict = -1;
	snprintf(p->why, sizeof(p->why), "%s", why);
	return -1;
}

void
tlsrpt_rec_init(struct tlsrpt_rec *p)
{
	memset(p, 0, sizeof(*p));
}

/* The URI in p->uri ends here. */
static int
uri_end(struct tlsrpt_rec *p)
{
	size_t i = 0;

	if (p->ulong)
		return bad(p, "a rua URI is too long");
	if (p->ulen == 0)
		return bad(p, "an empty rua URI");
	p->uri[p->ulen] = '\0';
	/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":" */
	if (!((p->uri[0] >= 'a' && p->uri[0] <= 'z') || (p->uri[0] >= 'A' && p->uri[0] <= 'Z')))
		return bad(p, "a rua URI without a scheme (mailto: or https:)");
	while (i < p->ulen && (is_alnum((uint8_t)p->uri[i]) || p->uri[i] == '+' ||
	    p->uri[i] == '-' || p->uri[i] == '.'))
		i++;
	if (i >= p->ulen || p->uri[i] != ':' || i + 1 == p->ulen)
		return bad(p, "a rua URI without a scheme (mailto: or https:)");
	if (p->nrua < TLSRPT_RUA_MAX)
		memcpy(p->rua[p->nrua++], p->uri, p->ulen + 1);
	else
		p->extra++;
	p->ulen = 0;
	return 0;
}

/* A field name ended with '='. */
static int
name_end(struct tlsrpt_rec *p)
{
	p->name[p->nlen] = '\0';
	p->nfields++;
	if (strcmp(p->name, "rua") == 0) {
		if (p->have_rua)
			return bad(p, "more than one rua field");
		p->have_rua = true;
		p->ulen = 0;
		p->ulong = false;
		p->st = R_URI_START;
		return 0;
	}
	p->vlen = 0;
	p->st = R_EXT;
	return 0;
}

static int
step(struct tlsrpt_rec *p, uint8_t c)
{
	switch (p->st) {
	case R_VERSION:
		if (c != (uint8_t)version[p->vmatch]) {
			p->verdict = -2; /* another kind of TXT record */
			return 0;
		}
		if (++p->vmatch == sizeof(version) - 1)
			p->st = R_AFTER;
		return 0;
	case R_AFTER:
		if (p->nfields == 0 && !is_wsp(c) && c != ';') {
			p->verdict = -2; /* "v=TLSRPTv10...": not this version */
			return 0;
		}
		/* FALLTHROUGH */
	case R_AFTER_WSP:
		if (is_wsp(c)) {
			p->st = R_AFTER_WSP;
			return 0;
		}
		if (c == ';') {
			p->st = R_FIELD;
			return 0;
		}
		return bad(p, "expected ';' between fields");
	case R_FIELD:
		if (is_wsp(c))
			return 0;
		if (!is_alnum(c))
			return bad(p, "a field name must start with a letter or digit");
		p->nlen = 0;
		p->name[p->nlen++] = (char)c;
		p->st = R_NAME;
		return 0;
	case R_NAME:
		if (c == '=')
			return name_end(p);
		if (!is_alnum(c) && c != '_' && c != '-' && c != '.')
			return bad(p, "bad character in a field name");
		if (p->nlen >= 32)
			return bad(p, "a field name longer than 32 characters");
		p->name[p->nlen++] = (char)c;
		return 0;
	case R_URI_START:
		if (is_wsp(c) && p->nrua + p->extra > 0)
			return 0; /* blanks after ',' */
		if (!is_uri(c))
			return bad(p, c == '!' ? "'!' in a rua URI must be written %21"
					       : "rua= must be followed by a URI");
		p->st = R_URI;
		/* FALLTHROUGH */
	case R_URI:
		if (is_uri(c)) {
			if (p->ulen + 1 < sizeof(p->uri))
				p->uri[p->ulen++] = (char)c;
			else
				p->ulong = true;
			return 0;
		}
		if (c == '!')
			return bad(p, "'!' in a rua URI must be written %21");
		if (uri_end(p) < 0)
			return -1;
		if (c == ',') {
			p->st = R_URI_START;
			return 0;
		}
		if (c == ';') {
			p->st = R_FIELD;
			return 0;
		}
		if (is_wsp(c)) {
			p->st = R_URI_WSP;
			return 0;
		}
		return bad(p, "bad character in a rua URI");
	case R_URI_WSP:
		if (is_wsp(c))
			return 0;
		if (c == ',') {
			p->st = R_URI_START;
			return 0;
		}
		if (c == ';') {
			p->st = R_FIELD;
			return 0;
		}
		return bad(p, "expected ',' or ';' after a rua URI");
	case R_EXT:
		if (is_ext_value(c)) {
			p->vlen++;
			return 0;
		}
		if (p->vlen == 0)
			return bad(p, "an empty field value");
		if (c == ';') {
			p->st = R_FIELD;
			return 0;
		}
		if (is_wsp(c)) {
			p->st = R_AFTER_WSP;
			return 0;
		}
		return bad(p, "bad character in a field value");
	default:
		return bad(p, "internal state");
	}
}

int
tlsrpt_rec_push(struct tlsrpt_rec *p, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n && p->verdict == 0; i++)
		if (step(p, d[i]) < 0)
			return -1;
	return p->verdict == -1 ? -1 : 0;
}

int
tlsrpt_rec_finish(struct tlsrpt_rec *p)
{
	if (p->verdict == -2)
		return 0;
	if (p->verdict == -1)
		return -1;
	switch (p->st) {
	case R_VERSION:
		p->verdict = -2;
		return 0;
	case R_AFTER_WSP:
		if (p->nfields > 0)
			return bad(p, "blanks after the last value (only ';' may end the record)");
		break;
	case R_NAME:
		return bad(p, "a field without '='");
	case R_URI_START:
		return bad(p, "rua= must be followed by a URI");
	case R_URI:
		if (uri_end(p) < 0)
			return -1;
		break;
	case R_URI_WSP:
		return bad(p, "blanks after the last value (only ';' may end the record)");
	case R_EXT:
		if (p->vlen == 0)
			return bad(p, "an empty field value");
		break;
	default:
		break;
	}
	if (p->nfields == 0 || !p->have_rua)
		return bad(p, "no rua= field (RFC 8460 3: v=TLSRPTv1; rua=mailto:...)");
	return 1;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tlsrpt_mailto(const char *uri, char *out, size_t cap)
{
	size_t o = 0;
	unsigned at = 0;
	const char *s;

	if (cap == 0 || strncasecmp(uri, "mailto:", 7) != 0)
		return -1;
	for (s = uri + 7; *s && *s != '?'; s++) {
		int c = (unsigned char)*s;

		if (c == '%') {
			int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);
			if (l < 0)
				return -1;
			c = h * 16 + l;
			s += 2;
		}
		if (c <= 0x20 || c >= 0x7f || strchr("<>,;\"()[]\\", c) != NULL)
			return -1;
		if (c == '@')
			at++;
		if (o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (at != 1 || out[0] == '@' || out[o - 1] == '@' || out[o - 1] == '.')
		return -1;
	return 0;
}
