/*
 * firmware/relay/tlsrpt_direct.h — what direct delivery (direct.c) tells
 * TLS-RPT (tlsrpt_run.h): the policy a session ran under and how its TLS
 * went, in RFC 8460's terms (4.3, 4.4).
 *
 * Policy type: the MX host has usable TLSA (mxplan DANE) → tlsa, with the
 * TLSA records as policy-string; else an MTA-STS policy in mode testing or
 * enforce → sts, with the policy's lines and its mx patterns as mx-host;
 * else no-policy-found.
 *
 * A connection counts once (its first message; later messages over the
 * same session are not new sessions): TLS up → successful; STARTTLS
 * missing → starttls-not-supported; the handshake failed → the certificate's
 * fault (host mismatch, expired, not trusted: tlsa-invalid under DANE) or
 * validation-failure. A connection that never got to STARTTLS (unreachable,
 * refused greeting) is not a TLS session and is not counted.
 */
#ifndef ZEGEL_RELAY_TLSRPT_DIRECT_H
#define ZEGEL_RELAY_TLSRPT_DIRECT_H

#include "firmware/relay/mxplan.h"
#include "firmware/relay/sts.h"
#include "firmware/relay/tlsrpt.h"
#include "firmware/relay/upstream.h"

/* A finished connection u to host mh (addr: the address used), sts the
 * domain's policy request (NULL or without a policy: none). */
void tlsrpt_direct_session(const char *domain, const struct sts_req *sts,
    const struct mxplan_host *mh, const struct hal_addr *addr, const struct upstream *u);
/* A failure before any connection: r for host mh (may be NULL). */
void tlsrpt_direct_fail(const char *domain, const struct sts_req *sts,
    const struct mxplan_host *mh, enum tlsrpt_result r);
/* The MTA-STS lookup of domain is over: a failed fetch is reported. */
void tlsrpt_direct_sts(const char *domain, const struct sts_req *sts);

#endif
