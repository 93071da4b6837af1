/*
 * `show status` lines of the modules that had none: the relay (its mode and
 * the last delivery result), the queue (its counts and next attempt) and
 * the resolver (whether its servers answer). The listeners, sessions,
 * clock, syslog and keys add their own lines where they live. One line per
 * module, each starting with the module's name.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/app/commands.h"
#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/dns/resolver.h"
#include "firmware/relay/direct.h"
#include "firmware/relay/smarthost.h"
#include "firmware/spool/queue.h"
#include "hal/addr.h"
#include "hal/clock.h"
#include "hal/log.h"
#include "zegel/config.h"
#include "zegel/text.h"

/* Bytes as "25M"-style words, like the configuration shows them. */
static void
bytes_words(uint64_t v, char *out, size_t cap)
{
	if (v >= (1ull << 30) && v % (1ull << 30) == 0)
		zegel_strf(out, cap, "%lluG", (unsigned long long)(v >> 30));
	else if (v >= (1ull << 20) && v % (1ull << 20) == 0)
		zegel_strf(out, cap, "%lluM", (unsigned long long)(v >> 20));
	else if (v >= (1ull << 20))
		zegel_strf(out, cap, "%.1fM", (double)v / (1 << 20));
	else if (v >= 1024)
		zegel_strf(out, cap, "%.1fK", (double)v / 1024);
	else
		zegel_strf(out, cap, "%llu bytes", (unsigned long long)v);
}

static void
keep_line(void *arg, const char *line)
{
	zegel_strf(arg, 320, "%s", line);
}

/* The newest delivery outcome the log ring still holds (every relay logs
 * one "…, status=sent|deferred|bounced (…)" line per recipient; an address
 * cannot forge ", status=" since text_log_addr escapes ',' and '='). */
static bool
last_delivery(char out[320])
{
	struct hal_log_filter f = { 1, HAL_LOG_DEBUG, ", status=" };

	out[0] = 0;
	return hal_log_ring_query(&f, keep_line, out) > 0;
}

static void
status_relay(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	const struct zcfg_relay *r = &zcfg_running()->relay;
	char mode[ZCFG_PATH_MAX + 96], last[320], line[sizeof(mode) + sizeof(last) + 32];

	(void)arg;
	switch (r->kind) {
	case ZCFG_RELAY_OUTBOX:
		zegel_strf(mode, sizeof(mode), "outbox %s (nothing leaves the box)", r->outbox);
		break;
	case ZCFG_RELAY_DIRECT:
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
		zegel_strf(mode, sizeof(mode), "direct to each domain's MX (port %u), %u deliveries "
		    "running", r->mx_port ? r->mx_port : 25, direct_workers_active());
#else
		zegel_strf(mode, sizeof(mode), "direct (not in this firmware)");
#endif
		break;
	default:
		zegel_strf(mode, sizeof(mode), "smarthost %s:%u (%s), %u messages in flight",
		    r->host, r->port ? r->port : (r->implicit_tls ? 465 : 587),
		    r->implicit_tls ? "implicit TLS" : "STARTTLS", smarthost_jobs_active());
		break;
	}
	if (last_delivery(last))
		zegel_strf(line, sizeof(line), "relay: %s; last result: %s", mode, last);
	else if (zcfg_running()->log_level < HAL_LOG_INFO)
		zegel_strf(line, sizeof(line), "relay: %s; last result: not logged at log-level %s "
		    "('set log-level info' logs each delivery)", mode,
		    hal_log_level_name((enum hal_log_level)zcfg_running()->log_level));
	else
		zegel_strf(line, sizeof(line), "relay: %s; last result: none in the log (no delivery "
		    "since the start, or older than the lines it keeps)", mode);
	emit(emit_arg, line);
}

static void
status_queue(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	const struct zcfg_queue *q = &zcfg_running()->queue;
	char have[32], most[32], next[64], line[256];
	int64_t due;

	(void)arg;
	if (!queue_is_open()) {
		emit(emit_arg, zcfg_running()->relay.kind == ZCFG_RELAY_DIRECT
			? "queue: not open (see the log: the relay could not start it)"
			: "queue: not used (this relay mode hands each message over while the "
			  "client waits)");
		return;
	}
	bytes_words(queue_bytes(), have, sizeof(have));
	bytes_words(q->max_size, most, sizeof(most));
	due = queue_next_due();
	if (due < 0)
		zegel_strf(next, sizeof(next), "nothing waiting");
	else if (due <= hal_clock_now())
		zegel_strf(next, sizeof(next), "next attempt now");
	else
		zegel_strf(next, sizeof(next), "next attempt in %lld s",
		    (long long)(due - hal_clock_now()));
	zegel_strf(line, sizeof(line), "queue: %u messages, %s (at most %u, %s); %s", queue_count(),
	    have, (unsigned)q->max_messages, most, next);
	emit(emit_arg, line);
}

static void
status_resolver(void (*emit)(void *, const char *), void *emit_arg, void *arg)
{
	struct resolver_stats s;
	struct hal_addr rs[4];
	char list[4 * (HAL_ADDR_STRLEN + 8)] = "", state[160], line[sizeof(list) + 200];
	unsigned n = resolver_servers(zcfg_running(), rs, 4);

	(void)arg;
	for (unsigned i = 0; i < n; i++) {
		char a[HAL_ADDR_STRLEN + 8];

		hal_addr_format(&rs[i], true, a, sizeof(a));
		zegel_strf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "", a);
	}
	resolver_get_stats(&s);
	if (s.answers == 0 && s.failed_in_row == 0)
		zegel_strf(state, sizeof(state), "not asked yet");
	else if (s.failed_in_row > 0)
		zegel_strf(state, sizeof(state), "NOT ANSWERING: the last %u attempts got no answer "
		    "(%u answered in all)", s.failed_in_row, s.answers);
	else
		zegel_strf(state, sizeof(state), "reachable: last answer %llu s ago, %u lookups, "
		    "%u without an answer",
		    (unsigned long long)((hal_clock_mono_ms() - s.last_answer_ms) / 1000), s.lookups,
		    s.timeouts);
	zegel_strf(line, sizeof(line), "resolver: %s: %s", n ? list : "(no server: set resolver IP)",
	    state);
	emit(emit_arg, line);
}

void
app_status_register(void)
{
	(void)console_register_status(status_relay, NULL);
	(void)console_register_status(status_queue, NULL);
	(void)console_register_status(status_resolver, NULL);
}
