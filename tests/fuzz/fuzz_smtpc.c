/*
 * libFuzzer target: the SMTP client engine against a hostile upstream.
 *
 * Input: byte 0 picks parameters (pipelining-sensitive recipient count,
 * AUTH, implicit TLS, 8-bit); byte 1 a chunk size and the mode (bits 6-7:
 * 0 classic, 1 opportunistic TLS + partial_ok, 2 stepwise: the harness gives
 * RCPTs one by one, DATA or a cancel, and NOOPs); the rest is what the
 * upstream sends, fed in chunks. The harness answers NEED_TLS and NEED_BODY
 * the way the smarthost does. Invariants checked: no MAIL/RCPT/DATA before
 * TLS (unless the opportunistic mode went plaintext), never AUTH in
 * plaintext, output never beyond the buffer, a verdict is final, per-recipient
 * results in range; byte 0 bit 7 sets REQUIRETLS: then no MAIL or DATA
 * without TLS or to an upstream that did not offer REQUIRETLS after TLS.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/relay/smtpc.h"

static const char rcpts[] = "a@x.test\0b@y.test\0c@z.test";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
has(const uint8_t *p, size_t n, const char *w)
{
	size_t i, l = strlen(w);

	for (i = 0; i + l <= n; i++)
		if (memcmp(p + i, w, l) == 0)
			return 1;
	return 0;
}

static void
drain(struct smtpc *c, int tls)
{
	const uint8_t *p;
	size_t n = smtpc_out(c, &p);

	if (n > SMTPC_OUT_MAX)
		abort();
	if (!tls && has(p, n, "AUTH"))
		abort();
	if (!tls && !c->plaintext && (has(p, n, "MAIL") || has(p, n, "RCPT") ||
	    has(p, n, "DATA")))
		abort();
	/* RFC 8689: a REQUIRETLS message never leaves without TLS, and only to
	 * an upstream that offered REQUIRETLS after TLS */
	if (c->p->requiretls && (has(p, n, "MAIL") || has(p, n, "DATA")) &&
	    (!tls || c->plaintext || !c->ext.requiretls))
		abort();
	smtpc_out_ack(c, n);
}

/* Stepwise: what the session would do next. */
static void
step(struct smtpc *c, unsigned *next, unsigned nrcpt, uint8_t choice)
{
	const char *r = rcpts;

	if (smtpc_event(c) != SMTPC_EV_RCPT && *next != 0)
		return;
	if (*next < nrcpt) {
		for (unsigned i = 0; i < *next; i++)
			r += strlen(r) + 1;
		if (smtpc_rcpt(c, r) == 0)
			(*next)++;
		return;
	}
	if (choice & 1)
		(void)smtpc_noop(c);
	if (smtpc_rcpt_accepted(c) > 0 && !(choice & 2))
		(void)smtpc_data(c, 100);
	else
		smtpc_cancel(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char body[] = "Subject: t\r\n\r\n.dot\r\n\xc3\xa9\r\nend";
	struct smtpc_params p = {
		.helo = "gw.test", .mail_from = "s@x.test", .rcpts = rcpts, .size = 100,
	};
	struct smtpc c;
	size_t off = 2, chunk;
	int tls, mode;
	unsigned next = 0, nstep = 0;
	enum smtpc_event done = SMTPC_EV_NONE;

	if (size < 2)
		return 0;
	p.nrcpt = 1 + data[0] % 3;
	p.implicit_tls = data[0] & 4;
	p.body_8bit = data[0] & 8;
	p.smtputf8 = data[0] & 16;
	p.requiretls = data[0] & 128;
	if (data[0] & 32) {
		p.username = "user";
		p.password = "pass";
	}
	chunk = 1 + data[1] % 64;
	mode = data[1] >> 6;
	if (mode == 1) {
		p.tls_mode = SMTPC_TLS_OPPORTUNISTIC;
		p.partial_ok = true;
	} else if (mode >= 2) {
		nstep = p.nrcpt;
		p.stepwise = true;
		p.rcpts = NULL;
		p.nrcpt = 0;
	}
	tls = p.implicit_tls;
	smtpc_init(&c, &p);
	if (p.stepwise)
		step(&c, &next, nstep, data[0]);
	drain(&c, tls);
	while (off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		size_t used = smtpc_push(&c, data + off, n);

		if (used > n)
			abort();
		off += used ? used : n;
		for (;;) {
			enum smtpc_event ev = smtpc_event(&c);
			drain(&c, tls);
			if (ev == SMTPC_EV_NEED_TLS) {
				tls = 1;
				smtpc_tls_up(&c);
				continue;
			}
			if (ev == SMTPC_EV_NEED_BODY) {
				size_t k = 0;
				while (k < sizeof(body) - 1 && smtpc_event(&c) == SMTPC_EV_NEED_BODY) {
					size_t u = smtpc_body(&c, (const uint8_t *)body + k,
					    sizeof(body) - 1 - k);
					k += u;
					drain(&c, tls);
				}
				if (smtpc_event(&c) == SMTPC_EV_NEED_BODY)
					(void)smtpc_body_end(&c);
				continue;
			}
			if (ev == SMTPC_EV_RCPT) {
				const struct smtpc_result *v = smtpc_rcpt_last(&c);
				if (v->code < 200 || v->code > 599)
					abort();
				step(&c, &next, nstep, data[off - 1]);
				if (smtpc_event(&c) == SMTPC_EV_RCPT)
					break; /* waiting for a reply */
				continue;
			}
			if (ev == SMTPC_EV_DONE || ev == SMTPC_EV_FAILED) {
				if (done != SMTPC_EV_NONE && done != ev)
					abort(); /* a verdict never changes */
				done = ev;
				if (smtpc_result(&c)->code < 200 || smtpc_result(&c)->code > 599)
					abort();
			}
			break;
		}
	}
	smtpc_closed(&c);
	if (smtpc_event(&c) != SMTPC_EV_DONE && smtpc_event(&c) != SMTPC_EV_FAILED)
		abort();
	if (done == SMTPC_EV_DONE && smtpc_event(&c) != SMTPC_EV_DONE)
		abort();
	for (unsigned i = 0; i < p.nrcpt; i++) {
		const struct smtpc_result *r = smtpc_rcpt_result(&c, i);
		if (r == NULL || r->code < 200 || r->code > 599)
			abort();
	}
	if (smtpc_rcpt_result(&c, p.nrcpt) != NULL)
		abort();
	smtpc_free(&c);
	return 0;
}
