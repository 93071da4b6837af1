/*
 * IPv4/IPv6 address text <-> bytes (see hal/addr.h). Pure: the same parser
 * serves every network backend, the console and the DNS presentation format.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "hal/addr.h"

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
hex_value(char c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A decimal number 0..max in s[0..n), no sign; a leading zero only if lead0. */
static int
parse_dec(const char *s, size_t n, unsigned long max, bool lead0, unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || (n > 1 && s[0] == '0' && !lead0))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
		if (v > max)
			return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Dotted quad in s[0..n). */
static int
parse_v4(const char *s, size_t n, uint8_t out[4])
{
	uint8_t q[4];
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned long v;

		while (i < n && s[i] != '.')
			i++;
		if (parse_dec(s + start, i - start, 255, false, &v) != 0)
			return -EINVAL;
		q[part] = (uint8_t)v;
		if (part < 3) {
			if (i == n)
				return -EINVAL;
			i++; /* the dot */
		}
	}
	if (i != n)
		return -EINVAL;
	memcpy(out, q, 4);
	return 0;
}

/* One group of the RFC 4291 text in s[0..n): 1 to 4 hex digits. */
static int
parse_group(const char *s, size_t n, uint16_t *w)
{
	unsigned v = 0;

	if (n == 0 || n > 4)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int h = hex_value(s[i]);
		if (h < 0)
			return -EINVAL;
		v = v << 4 | (unsigned)h;
	}
	*w = (uint16_t)v;
	return 0;
}

/* RFC 4291 §2.2 text in s[0..n). */
static int
parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint16_t w[8];
	int nw = 0, gap = -1;
	size_t i = 0;

	if (n >= 2 && s[0] == ':' && s[1] == ':') {
		gap = 0;
		i = 2;
	}
	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != ':')
			j++;
		if (memchr(s + i, '.', j - i) != NULL) { /* IPv4 in the last 32 bits */
			uint8_t q[4];
			if (j != n || nw > 6 || parse_v4(s + i, j - i, q) != 0)
				return -EINVAL;
			w[nw++] = (uint16_t)(q[0] << 8 | q[1]);
			w[nw++] = (uint16_t)(q[2] << 8 | q[3]);
			i = j;
			break;
		}
		if (nw == 8 || parse_group(s + i, j - i, &w[nw]) != 0)
			return -EINVAL;
		nw++;
		i = j;
		if (i == n)
			break;
		i++; /* the colon */
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return -EINVAL;
			gap = nw;
			i++;
		} else if (i == n) {
			return -EINVAL; /* a single trailing colon */
		}
	}
	if (gap < 0 ? nw != 8 : nw > 7)
		return -EINVAL;
	memset(out, 0, 16);
	for (int k = 0; k < nw; k++) {
		int pos = gap >= 0 && k >= gap ? 8 - (nw - k) : k;
		out[2 * pos] = (uint8_t)(w[k] >> 8);
		out[2 * pos + 1] = (uint8_t)w[k];
	}
	return 0;
}

int
hal_addr_parse_ip(int family, const char *s, uint8_t *ip)
{
	size_t n = strlen(s);

	if (family == 4)
		return parse_v4(s, n, ip);
	if (family == 6)
		return parse_v6(s, n, ip);
	return -EINVAL;
}

/* A bounded text writer: counts what would be written, as snprintf does. */
struct text {
	char *buf;
	size_t cap, len;
};

static void
text_putc(struct text *t, char c)
{
	if (t->len + 1 < t->cap)
		t->buf[t->len] = c;
	t->len++;
}

static void
text_v4(struct text *t, const uint8_t q[4])
{
	for (int i = 0; i < 4; i++) {
		char d[4];
		int k = snprintf(d, sizeof(d), "%u", q[i]);
		if (i > 0)
			text_putc(t, '.');
		for (int j = 0; j < k; j++)
			text_putc(t, d[j]);
	}
}

static void
text_group(struct text *t, unsigned w)
{
	static const char hex[] = "0123456789abcdef";
	int shift = 12;

	while (shift > 0 && (w >> shift) == 0)
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		text_putc(t, hex[(w >> shift) & 15]);
}

/* RFC 5952 §4.2: the first longest run of two or more zero groups. */
static void
zero_run(const unsigned w[8], int *base, int *len)
{
	*base = -1;
	*len = 0;
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && w[j] == 0)
			j++;
		if (j - i >= 2 && j - i > *len) {
			*base = i;
			*len = j - i;
		}
		i = j == i ? i + 1 : j;
	}
}

static void
text_v6(struct text *t, const uint8_t ip[16])
{
	unsigned w[8];
	int base, len;

	for (int i = 0; i < 8; i++)
		w[i] = (unsigned)ip[2 * i] << 8 | ip[2 * i + 1];
	zero_run(w, &base, &len);
	for (int i = 0; i < 8; i++) {
		if (i == base) {
			text_putc(t, ':');
			if (i + len == 8)
				text_putc(t, ':');
			i += len - 1;
			continue;
		}
		if (i > 0)
			text_putc(t, ':');
		/* RFC 5952 §5: ::ffff:a.b.c.d and the deprecated ::a.b.c.d. */
		if (i == 6 && base == 0 && (len == 6 || (len == 5 && w[5] == 0xffff))) {
			text_v4(t, ip + 12);
			break;
		}
		text_group(t, w[i]);
	}
}

size_t
hal_addr_format_ip(int family, const uint8_t *ip, char *buf, size_t cap)
{
	struct text t = { buf, cap, 0 };

	if (family == 4)
		text_v4(&t, ip);
	else if (family == 6)
		text_v6(&t, ip);
	if (cap > 0)
		buf[t.len < cap ? t.len : cap - 1] = '\0';
	return t.len;
}

int
hal_addr_parse(struct hal_addr *a, const char *s, uint16_t default_port)
{
	struct hal_addr r = { .port = default_port };
	const char *host = s, *port = NULL;
	char ip[HAL_ADDR_IP_STRLEN];
	size_t n;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (close == NULL)
			return -EINVAL;
		host = s + 1;
		n = (size_t)(close - host);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return -EINVAL;
	} else {
		const char *colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) { /* v4:port */
			n = (size_t)(colon - s);
			port = colon + 1;
		} else {
			n = strlen(s);
		}
	}
	if (n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, host, n);
	ip[n] = '\0';
	if (port != NULL) {
		unsigned long v;
		if (parse_dec(port, strlen(port), 65535, true, &v) != 0 || v == 0)
			return -EINVAL;
		r.port = (uint16_t)v;
	}
	if (hal_addr_parse_ip(4, ip, r.ip) == 0)
		r.family = 4;
	else if (hal_addr_parse_ip(6, ip, r.ip) == 0)
		r.family = 6;
	else
		return -EINVAL;
	*a = r;
	return 0;
}

void
hal_addr_format(const struct hal_addr *a, bool with_port, char *buf, size_t cap)
{
	char ip[HAL_ADDR_IP_STRLEN];

	hal_addr_format_ip(a->family == 6 ? 6 : 4, a->ip, ip, sizeof(ip));
	if (!with_port)
		snprintf(buf, cap, "%s", ip);
	else if (a->family == 6)
		snprintf(buf, cap, "[%s]:%u", ip, a->port);
	else
		snprintf(buf, cap, "%s:%u", ip, a->port);
}

unsigned
hal_addr_to_sockaddr(const struct hal_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof(*s4);
}

void
hal_addr_from_sockaddr(const struct sockaddr_storage *ss, struct hal_addr *a)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		if (memcmp(&s6->sin6_addr, v4mapped, 12) == 0) {
			a->family = 4;
			memcpy(a->ip, (const uint8_t *)&s6->sin6_addr + 12, 4);
		} else {
			a->family = 6;
			memcpy(a->ip, &s6->sin6_addr, 16);
		}
		a->port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a->family = 4;
		memcpy(a->ip, &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
	}
}
