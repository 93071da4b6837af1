/*
 * firmware/relay/tlsrpt_record.h — the TLS-RPT policy record at
 * _smtp._tls.DOMAIN (RFC 8460 3), parsed strictly by a byte-fed machine.
 * Pure code: no I/O, no clock, no logs.
 *
 * Model. The caller owns a struct tlsrpt_rec (about 1.3 KiB):
 *   tlsrpt_rec_init(p)
 *   tlsrpt_rec_push(p, bytes, n)    one TXT record (its strings joined), in any
 *                                   slices; 0, or -1 once malformed (p->why; sticks)
 *   tlsrpt_rec_finish(p)            1: a valid TLS-RPT record, p->rua[] holds
 *                                   its URIs; 0: not a TLS-RPT record at all
 *                                   (does not start with "v=TLSRPTv1" followed
 *                                   by a delimiter: 3 says such records are
 *                                   discarded); -1 malformed (p->why)
 *
 * Grammar (3, ABNF):
 *   record    = "v=TLSRPTv1" 1*(delim field) [delim]
 *   delim     = *WSP ";" *WSP
 *   field     = "rua=" uri *(*WSP "," *WSP uri)  /  ext-name "=" ext-value
 *   ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
 *   ext-value = 1*(%x21-3A / %x3C / %x3E-7E)
 * Strictness here: exactly one rua field (it is required; a second one is
 * refused), every URI has a scheme ("mailto:", "https:", others kept but not
 * used), no "!" or "," inside a URI (3: they must be %-encoded), nothing
 * but a delimiter after a value (no trailing blanks), a URI of at most
 * TLSRPT_URI_MAX - 1 bytes. URIs past TLSRPT_RUA_MAX are counted (p->extra)
 * and ignored.
 *
 * tlsrpt_mailto(uri, out, cap): the address of a mailto: URI (RFC 6068:
 * %-decoded, without ?headers), checked to be one plain local@domain with
 * no blanks, controls or <>,;"() in it: 0, or -1.
 */
#ifndef ZEGEL_RELAY_TLSRPT_RECORD_H
#define ZEGEL_RELAY_TLSRPT_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLSRPT_RUA_MAX 4
#define TLSRPT_URI_MAX 256

struct tlsrpt_rec {
	int st;
	int verdict;            /* 0 running, -1 malformed, -2 not a TLS-RPT record */
	size_t vmatch;          /* bytes of "v=TLSRPTv1" matched */
	unsigned nfields;
	bool have_rua;
	char name[33];
	size_t nlen, vlen;
	char uri[TLSRPT_URI_MAX];
	size_t ulen;
	bool ulong;             /* the current URI did not fit */
	unsigned nrua, extra;
	char rua[TLSRPT_RUA_MAX][TLSRPT_URI_MAX];
	char why[96];
};

void tlsrpt_rec_init(struct tlsrpt_rec *p);
int tlsrpt_rec_push(struct tlsrpt_rec *p, const uint8_t *d, size_t n);
int tlsrpt_rec_finish(struct tlsrpt_rec *p);
int tlsrpt_mailto(const char *uri, char *out, size_t cap);

#endif
