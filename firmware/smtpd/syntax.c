/*
 * The pure syntax of SMTP command arguments (addresses, paths, ESMTP
 * parameters, SIZE values, AUTH base64), split out of the engine: no
 * session state, fuzzed through fuzz_smtp_cmd.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "firmware/smtpd/smtpd.h"
#include "firmware/smtpd/syntax.h"

/* ------------------------------------------------------------ addresses */

static bool
is_atext(unsigned char c, bool utf8)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	if (c >= 0x80)
		return utf8;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* RFC 5321 4.1.2 Mailbox = Local-part "@" ( Domain / address-literal ) */
const char *
smtpd_check_mailbox(const char *a, size_t n, bool utf8)
{
	size_t i = 0, label = 0, dstart;

	if (n == 0)
		return "empty address";
	if (n > SMTPD_ADDR_MAX)
		return "address too long";
	if (a[0] == '"') {
		for (i = 1; i < n && a[i] != '"'; i++) {
			if (a[i] == '\\' && i + 1 < n)
				i++;
			else if ((unsigned char)a[i] < 32 || a[i] == 127 ||
			    ((unsigned char)a[i] >= 0x80 && !utf8))
				return "bad character in quoted local part";
		}
		if (i >= n)
			return "unterminated quoted local part";
		i++;
	} else {
		for (; i < n && a[i] != '@'; i++)
			if (!is_atext((unsigned char)a[i], utf8) && a[i] != '.')
				return "bad character in local part";
		if (i == 0)
			return "empty local part";
	}
	if (i >= n || a[i] != '@')
		return "unqualified address: a domain is required";
	dstart = ++i;
	if (i >= n)
		return "empty domain";
	if (a[i] == '[') {
		for (i++; i < n && a[i] != ']'; i++)
			if ((unsigned char)a[i] <= 32 || (unsigned char)a[i] >= 127 || a[i] == '[' ||
			    a[i] == '\\')
				return "bad address literal";
		if (i + 1 != n)
			return "bad address literal";
		return NULL;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c == '.') {
			if (label == 0)
				return "empty label in domain";
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || (c >= 0x80 && utf8)) {
			if (++label > 63)
				return "domain label too long";
		} else
			return "bad character in domain";
	}
	if (label == 0 || n - dstart > 255)
		return "bad domain";
	return NULL;
}

/*
 * Parse "<path> [params]" after "FROM:"/"TO:". On success *addr and *alen is the
 * mailbox between < >, *params the rest. Returns NULL or a refusal reason.
 */
const char *
smtpd_parse_path(const char *p, const char **addr, size_t *alen, const char **params)
{
	const char *q;
	bool quoted = false;

	while (*p == ' ')
		p++;
	if (*p != '<')
		return "path must be enclosed in <>";
	p++;
	for (q = p; *q; q++) {
		if (quoted && *q == '\\' && q[1])
			q++;
		else if (*q == '"')
			quoted = !quoted;
		else if (*q == '>' && !quoted)
			break;
	}
	if (*q != '>')
		return "missing '>'";
	*addr = p;
	*alen = (size_t)(q - p);
	q++;
	if (*q && *q != ' ')
		return "junk after '>'";
	while (*q == ' ')
		q++;
	*params = q;
	return NULL;
}

/* Next "KEY[=VALUE]" from *pp into key/val buffers; false at end. */
bool
smtpd_next_param(const char **pp, char *key, size_t kcap, char *val, size_t vcap)
{
	const char *p = *pp;
	size_t k = 0, v = 0;

	while (*p == ' ')
		p++;
	if (!*p)
		return false;
	while (*p && *p != ' ' && *p != '=') {
		if (k + 1 < kcap)
			key[k++] = *p;
		p++;
	}
	key[k] = '\0';
	if (*p == '=')
		for (p++; *p && *p != ' '; p++)
			if (v + 1 < vcap)
				val[v++] = *p;
	val[v] = '\0';
	*pp = p;
	return true;
}

bool
smtpd_has_8bit(const char *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)a[i] >= 0x80)
			return true;
	return false;
}

/* ------------------------------------------------------------ base64 */

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

/* Strict base64 decode; returns the length or -1. */
int
smtpd_b64dec(const char *in, uint8_t *out, size_t cap)
{
	size_t n = strlen(in), o = 0;
	uint32_t acc = 0;
	int bits = 0, pad = 0;

	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v;

		if (in[i] == '=') {
			if (i + 2 < n)
				return -1;
			pad++;
			continue;
		}
		if (pad || (v = b64val((unsigned char)in[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	return (int)o;
}

/* ------------------------------------------------------------ parameters */

/*
 * RFC 1870 6: size-value ::= 1*20DIGIT. No sign, no blanks, no base
 * prefix (strtoull would take "-1" as 2^64-1 and skip leading blanks). A
 * well-formed value beyond 64 bits saturates: it is "too big" (552), not a
 * syntax error.
 */
bool
smtpd_size_value(const char *p, uint64_t *v)
{
	size_t n = 0;

	*v = 0;
	for (; p[n] != '\0'; n++) {
		unsigned d = (unsigned char)p[n] - '0';

		if (d > 9 || n >= 20)
			return false;
		*v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
	}
	return n > 0;
}
