/*
 * smarthost_probe(): `test relay` on the console and `zegel relay-check`.
 * A small blocking poll() loop around the same upstream glue the relay
 * target uses, with a TLS config that verifies optionally so the
 * certificate can be shown even when it is wrong. It never sends MAIL
 * (smtpc probe mode stops after EHLO over TLS) and reports failure when the
 * certificate does not verify.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/relay/smarthost.h"
#include "firmware/relay/upstream.h"
#include "hal/clock.h"
#include "hal/net.h"

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
say(void (*emit)(void *, const char *), void *arg, const char *fmt, ...)
{
	char line[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	emit(arg, line);
}

/* Static: one probe at a time, and the struct is large for a stack. */
static struct upstream pu;
static struct tls_client_conf probe_conf;

int
smarthost_probe(const struct zcfg_relay *r, const char *helo, uint32_t timeout_ms,
    void (*emit)(void *arg, const char *line), void *arg)
{
	const struct hal_net_ops *net = hal_net();
	struct smtpc_params params = { .helo = helo, .mail_from = "", .rcpts = "", .nrcpt = 0,
		.implicit_tls = r->implicit_tls, .probe = true };
	struct hal_addr a;
	char err[200], peer[HAL_ADDR_STRLEN + ZCFG_NAME_MAX + 4];
	uint64_t deadline = hal_clock_mono_ms() + timeout_ms;
	int fd, rc = -1;

	if (smarthost_resolve(r, &a, err, sizeof(err)) < 0) {
		say(emit, arg, "relay: %s", err);
		return -1;
	}
	smarthost_peer_name(r, &a, peer, sizeof(peer));
	if (tls_client_conf_load(&probe_conf, r->ca_file, true, err, sizeof(err)) < 0) {
		say(emit, arg, "relay: %s", err);
		return -1;
	}
	say(emit, arg, "relay: connecting to %s (%s, CA file %s)", peer,
	    r->implicit_tls ? "implicit TLS" : "STARTTLS", probe_conf.ca_file);
	if (upstream_init(&pu, &params, &probe_conf, r->host, peer, NULL, 0, NULL, true) < 0)
		goto out;
	fd = net->connect_tcp(&a);
	if (fd < 0) {
		upstream_fail_io(&pu, fd);
		goto report;
	}
	for (;;) {
		struct hal_pollfd pf = { .fd = fd };
		uint64_t now = hal_clock_mono_ms();
		const uint8_t *tp;
		uint8_t *rp;
		int n;

		if (upstream_finished(&pu) && upstream_can_close(&pu))
			break;
		if (now >= deadline) {
			upstream_fail_io(&pu, -ETIMEDOUT);
			break;
		}
		pf.events = pu.connected ? 0 : HAL_POLL_OUT;
		if (pu.connected && upstream_tx_data(&pu, &tp) > 0)
			pf.events |= HAL_POLL_OUT;
		if (pu.connected && upstream_rx_space(&pu, &rp) > 0)
			pf.events |= HAL_POLL_IN;
		if (pf.events == 0)
			break;
		n = net->poll(&pf, 1, (int)(deadline - now));
		if (n == -EINTR || n == 0)
			continue;
		if (n < 0) {
			upstream_fail_io(&pu, n);
			break;
		}
		if (!pu.connected) {
			int cr = net->connect_result(fd);
			if (cr == -EINPROGRESS)
				continue;
			if (cr < 0) {
				upstream_fail_io(&pu, cr);
				break;
			}
			upstream_connected(&pu);
			continue;
		}
		if (pf.revents & HAL_POLL_OUT) {
			size_t k = upstream_tx_data(&pu, &tp);
			if (k > 0) {
				ssize_t s = net->send(fd, tp, k);
				if (s > 0)
					upstream_tx_done(&pu, (size_t)s);
				else if (s < 0 && s != -EAGAIN && s != -EINTR) {
					upstream_fail_io(&pu, (int)s);
					break;
				}
			}
		}
		if (pf.revents & (HAL_POLL_IN | HAL_POLL_ERR)) {
			size_t k = upstream_rx_space(&pu, &rp);
			if (k > 0) {
				ssize_t s = net->recv(fd, rp, k);
				if (s >= 0)
					upstream_rx_done(&pu, (size_t)s);
				else if (s != -EAGAIN && s != -EINTR) {
					upstream_fail_io(&pu, (int)s);
					break;
				}
				if (s == 0)
					break;
			}
		}
	}
	net->close(fd);
report:
	if (pu.tls.handshaken || pu.tls.subject[0]) {
		say(emit, arg, "relay: certificate subject: %s", pu.tls.subject);
		say(emit, arg, "relay: certificate issuer:  %s", pu.tls.issuer);
		say(emit, arg, "relay: certificate expires: %s UTC", pu.tls.not_after);
	}
	if (pu.tls.handshaken)
		say(emit, arg, "relay: TLS: %s, %s, verified=%s", tls_client_version(&pu.tls),
		    tls_client_suite(&pu.tls), pu.tls.verified_by ? pu.tls.verified_by : "no");
	if (!upstream_finished(&pu))
		upstream_fail_io(&pu, -ETIMEDOUT);
	{
		const struct relay_result *res = upstream_result(&pu);
		rc = res->code == 250 && pu.tls.handshaken && pu.tls.verified_by ? 0 : -1;
		say(emit, arg, "relay: %s: %d %s %s", rc == 0 ? "OK" : "FAILED", res->code, res->esc,
		    res->text);
	}
	upstream_free(&pu);
out:
	tls_client_conf_free(&probe_conf);
	return rc;
}
