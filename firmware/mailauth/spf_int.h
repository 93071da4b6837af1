/*
 * spf_int.h — what the three parts of the SPF evaluator share: the term
 * record (spf_record.c parses it, spf.c evaluates it), the macro
 * expander's helpers (spf_macro.c) and small character tests.
 */
#ifndef ZEGEL_MAILAUTH_SPF_INT_H
#define ZEGEL_MAILAUTH_SPF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/mailauth/spf.h"

enum { M_ALL = 1, M_INCLUDE, M_A, M_MX, M_PTR, M_IP4, M_IP6, M_EXISTS };

struct term {
	bool modifier;
	char qual; /* + - ~ ? */
	int mech;
	const char *name; /* modifier name */
	size_t namelen;
	const char *spec; /* domain-spec / macro-string, or NULL */
	size_t speclen;
	int cidr4, cidr6;
	uint8_t net[16];
};

static inline char
lc(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static inline bool
spf_is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static inline bool
spf_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
ieq(const char *a, size_t n, const char *b)
{
	size_t i;

	for (i = 0; i < n && b[i]; i++)
		if (lc(a[i]) != lc(b[i]))
			return false;
	return i == n && b[i] == '\0';
}

/* The 32 nibbles of an IPv6 address as "h.h.h..." (the i macro, ip6.arpa). */
void spf_ip_nibbles(const uint8_t ip[16], char *out, size_t cap);

/* 7.3: a domain name over 253 octets loses labels on the left. */
const char *spf_trim253(const char *d);
/* A name we may ask about: valid DNS name with at least 2 labels (sets dst). */
bool spf_target_ok(char *dst, size_t cap, const char *src);
/* One term of a record (4.6.1, 5, 6); false with why set when it is invalid. */
bool spf_parse_term(const char *p, size_t n, struct term *t, char *why, size_t whycap);
/* Next term of rec from *pos: its span; false at the end. */
bool spf_next_term(const char *rec, size_t n, size_t *pos, size_t *b, size_t *e);
/* "v=spf1" then SP or the end (4.5). */
bool spf_is_spf1(const char *p, size_t n);

#endif
