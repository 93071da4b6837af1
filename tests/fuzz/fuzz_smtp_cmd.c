/*
 * libFuzzer: the SMTP command engine. The first byte picks the session
 * parameters (TLS, trusted network, normalise, AUTH available/plaintext);
 * the rest is client input, fed in chunks whose sizes come from the input
 * too. Every event is answered the way conn.c would, without I/O.
 * Invariants: the engine never consumes more than it was given, replies
 * are CRLF-terminated lines starting with three digits, a closed session
 * stays closed, an AUTH user name is printable, a declared SIZE is
 * within the limit and REQUIRETLS is only ever taken on a TLS session.
 */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "firmware/smtpd/smtpd.h"

static struct smtpd_session s;

static void
check_output(void)
{
	size_t n;
	const uint8_t *o = smtpd_out(&s, &n);

	for (size_t i = 0; i < n;) {
		const uint8_t *e = memchr(o + i, '\n', n - i);

		assert(e != NULL);
		assert(e > o + i && e[-1] == '\r');
		assert(o[i] >= '2' && o[i] <= '5');
		i = (size_t)(e - o) + 1;
	}
	smtpd_out_ack(&s, n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct smtpd_params prm = { 0 };
	uint8_t f;
	bool closed = false;

	if (n < 2)
		return 0;
	f = p[0];
	prm.hostname = "fuzz.example";
	prm.tls = f & 1;
	prm.starttls_offered = f & 2;
	prm.auth_plaintext = f & 4;
	prm.auth_available = f & 8;
	prm.trusted_network = f & 16;
	prm.normalise = f & 32;
	prm.max_size = (f & 64) ? 100 : 100000;
	prm.rcpt_async = f & 128;
	smtpd_init(&s, &prm);
	smtpd_start(&s);
	check_output();
	p++, n--;
	while (n > 0) {
		size_t chunk = (size_t)(p[0] % 64) + 1, k;

		if (chunk > n)
			chunk = n;
		k = smtpd_push(&s, p, chunk);
		assert(k <= chunk);
		if (closed)
			assert(smtpd_closing(&s));
		switch (smtpd_event(&s)) {
		case SMTPD_EV_STARTTLS:
			check_output();
			smtpd_tls_started(&s);
			k = chunk;          /* rest discarded */
			break;
		case SMTPD_EV_AUTH:
			/* the user name goes into logs: printable only */
			for (const char *u = s.auth_user; *u; u++)
				assert((unsigned char)*u >= 0x20 && *u != 0x7f);
			smtpd_auth_result(&s, strcmp(s.auth_user, "ok") == 0);
			break;
		case SMTPD_EV_DATA_LINE: {
			size_t ln;
			const uint8_t *l = smtpd_data_line(&s, &ln);
			assert(ln >= 2 && ln <= 1000 && l[ln - 2] == '\r' && l[ln - 1] == '\n');
			break;
		}
		case SMTPD_EV_RCPT:
			/* the upstream's verdict (sometimes a refusal) */
			assert(prm.rcpt_async && strlen(smtpd_rcpt_pending(&s)) < SMTPD_ADDR_MAX + 1);
			smtpd_rcpt_done(&s, (p[0] & 2) ? 250 : 550, (p[0] & 2) ? "2.1.5" : "5.1.1",
			    "verdict\r\nINJECTED");
			assert(s.nrcpt <= CONFIG_SMTP_MAX_RECIPIENTS);
			break;
		case SMTPD_EV_DATA_END:
			smtpd_message_done(&s, (p[0] & 1) ? 250 : 451, "2.0.0", "done");
			break;
		default:
			break;
		}
		check_output();
		/* a declared SIZE (RFC 1870) never exceeds the limit */
		assert(s.mail_size <= prm.max_size);
		if (smtpd_closing(&s))
			closed = true;
		assert(!s.requiretls || s.tls);   /* RFC 8689: TLS sessions only */
		if (k == 0 && smtpd_event(&s) == SMTPD_EV_NONE) {
			if (smtpd_input_blocked(&s) && !smtpd_closing(&s))
				break;          /* waiting for a result we do not give */
			k = chunk;
		}
		p += k;
		n -= k;
	}
	return 0;
}
