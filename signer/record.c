/*
 * The DKIM key record text (RFC 6376 §3.6.1, RFC 8463 §4) in zone-file
 * syntax.
 */
#include <stdio.h>
#include <string.h>

#include "dkim/dkim.h"

struct out {
	char *buf;
	size_t cap, len;
};

static void
put(struct out *o, const char *p, size_t n)
{
	if (o->len + n < o->cap)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

int
dkim_dns_record(const char *selector, const char *domain, enum hal_key_type type,
    const uint8_t *pub, size_t publen, char *buf, size_t cap, size_t *len)
{
	char p[1400];
	size_t pl, off;
	struct out o = { buf, cap, 0 };

	if (!dkim_valid_selector(selector) || !dkim_valid_domain(domain) ||
	    (type != HAL_KEY_RSA && type != HAL_KEY_ED25519) ||
	    (type == HAL_KEY_ED25519 && publen != 32))
		return DKIM_ERR_PARAM;
	memcpy(p, "p=", 2);
	pl = dkim_base64(pub, publen, p + 2, sizeof(p) - 2);
	if (pl == 0)
		return DKIM_ERR_PARAM;
	pl += 2;
	puts_(&o, selector);
	puts_(&o, "._domainkey\tIN\tTXT\t( \"v=DKIM1; k=");
	puts_(&o, type == HAL_KEY_RSA ? "rsa" : "ed25519");
	puts_(&o, "; \"");
	/* character-strings of at most 255 bytes (RFC 1035 §3.3.14, §5.1) */
	for (off = 0; off < pl; off += 255) {
		size_t k = pl - off < 255 ? pl - off : 255;

		puts_(&o, "\n\t  \"");
		put(&o, p + off, k);
		puts_(&o, "\"");
	}
	puts_(&o, " )  ; ----- DKIM key ");
	puts_(&o, selector);
	puts_(&o, " for ");
	puts_(&o, domain);
	puts_(&o, "\n");
	if (o.len >= cap)
		return DKIM_ERR_OUTPUT_SPACE;
	buf[o.len] = 0;
	if (len != NULL)
		*len = o.len;
	return DKIM_OK;
}
