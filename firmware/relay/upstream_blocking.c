/*
 * upstream_run_blocking(): one upstream connection driven by a small poll()
 * loop over hal/net, for the command-line tools and console checks that may
 * block (`zegel relay-check`, `zegel dane-check`, the console's dane-check).
 * The daemon's relay targets never use it: they run on the event loop.
 */
#include <errno.h>

#include "firmware/relay/upstream.h"
#include "hal/clock.h"
#include "hal/net.h"

void
upstream_run_blocking(struct upstream *u, const struct hal_addr *a, uint32_t timeout_ms)
{
	const struct hal_net_ops *net = hal_net();
	uint64_t deadline = hal_clock_mono_ms() + timeout_ms;
	int fd = net->connect_tcp(a);

	if (fd < 0) {
		upstream_fail_io(u, fd);
		return;
	}
	for (;;) {
		struct hal_pollfd pf = { .h = fd };
		uint64_t now = hal_clock_mono_ms();
		const uint8_t *tp;
		uint8_t *rp;
		int n;

		if (upstream_finished(u) && upstream_can_close(u))
			break;
		if (now >= deadline) {
			upstream_fail_io(u, -ETIMEDOUT);
			break;
		}
		pf.events = u->connected ? 0 : HAL_POLL_OUT;
		if (u->connected && upstream_tx_data(u, &tp) > 0)
			pf.events |= HAL_POLL_OUT;
		if (u->connected && upstream_rx_space(u, &rp) > 0)
			pf.events |= HAL_POLL_IN;
		if (pf.events == 0)
			break;
		n = net->poll(&pf, 1, (int)(deadline - now));
		if (n == -EINTR || n == 0)
			continue;
		if (n < 0) {
			upstream_fail_io(u, n);
			break;
		}
		if (!u->connected) {
			int cr = net->connect_result(fd);
			if (cr == -EINPROGRESS)
				continue;
			if (cr < 0) {
				upstream_fail_io(u, cr);
				break;
			}
			upstream_connected(u);
			continue;
		}
		if (pf.revents & HAL_POLL_OUT) {
			size_t k = upstream_tx_data(u, &tp);
			if (k > 0) {
				ssize_t s = net->send(fd, tp, k);
				if (s > 0)
					upstream_tx_done(u, (size_t)s);
				else if (s < 0 && s != -EAGAIN && s != -EINTR) {
					upstream_fail_io(u, (int)s);
					break;
				}
			}
		}
		if (pf.revents & (HAL_POLL_IN | HAL_POLL_ERR)) {
			size_t k = upstream_rx_space(u, &rp);
			if (k > 0) {
				ssize_t s = net->recv(fd, rp, k);
				if (s >= 0)
					upstream_rx_done(u, (size_t)s);
				else if (s != -EAGAIN && s != -EINTR) {
					upstream_fail_io(u, (int)s);
					break;
				}
				if (s == 0)
					break;
			}
		}
	}
	if (!upstream_finished(u))
		upstream_fail_io(u, -ETIMEDOUT);
	net->close(fd);
}
