/*
 * firmware/smtpd/syntax.h (private to firmware/smtpd) — argument syntax of
 * SMTP commands, pure functions (syntax.c). smtpd_check_mailbox() is public
 * (smtpd.h).
 */
#ifndef ZEGEL_SMTPD_SYNTAX_H
#define ZEGEL_SMTPD_SYNTAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "<path> [params]" after "FROM:" or "TO:": *addr, *alen the mailbox between
 * < >, *params the rest. NULL, or a refusal reason. */
const char *smtpd_parse_path(const char *p, const char **addr, size_t *alen, const char **params);
/* Next "KEY[=VALUE]" from *pp into key/val buffers; false at the end. */
bool smtpd_next_param(const char **pp, char *key, size_t kcap, char *val, size_t vcap);
/* Any octet >= 0x80 in a[0..n). */
bool smtpd_has_8bit(const char *a, size_t n);
/* Strict base64 (RFC 4648 4) into out; the length, or -1. */
int smtpd_b64dec(const char *in, uint8_t *out, size_t cap);
/* RFC 1870 6 size-value (1*20DIGIT) into *v; false if malformed. */
bool smtpd_size_value(const char *p, uint64_t *v);

#endif
