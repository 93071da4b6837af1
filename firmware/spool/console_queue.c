/*
 * Console commands of the delivery queue (direct mode, smarthost queue on):
 *
 *   show queue        one line per entry: id, age, size, sender, and each
 *                     recipient with its state, next attempt, last reply
 *   show queue ID     the entry in detail, one line per recipient
 *   queue flush       every waiting recipient due now
 *   queue delete ID   remove the entry without a bounce (logged)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "firmware/console/console.h"
#include "firmware/spool/dsn.h"
#include "firmware/spool/queue.h"
#include "hal/clock.h"

static struct queue_state qs;       /* ~50 KiB: static, the console is one thread */
static char line[1024];

static void
fmt_age(int64_t secs, char *out, size_t cap)
{
	if (secs < 0)
		secs = 0;
	if (secs < 60)
		snprintf(out, cap, "%ds", (int)secs);
	else if (secs < 3600)
		snprintf(out, cap, "%dm%02ds", (int)(secs / 60), (int)(secs % 60));
	else if (secs < 86400)
		snprintf(out, cap, "%dh%02dm", (int)(secs / 3600), (int)(secs % 3600 / 60));
	else
		snprintf(out, cap, "%dd%02dh", (int)(secs / 86400), (int)(secs % 86400 / 3600));
}

static const char *
state_name(const struct queue_rcpt *r)
{
	switch (r->state) {
	case QUEUE_R_PENDING: return r->attempts ? "deferred" : "waiting";
	case QUEUE_R_INFLIGHT: return "in-flight";
	case QUEUE_R_SENT: return "sent";
	case QUEUE_R_BOUNCED: return "bounced";
	case QUEUE_R_NOTIFIED: return "bounced";
	default: return "?";
	}
}

/* "state[ next 4m][ (451 4.7.1 text)]" */
static void
fmt_rcpt(const struct queue_rcpt *r, int64_t now, char *out, size_t cap)
{
	char when[48] = "";
	int n;

	if (r->state == QUEUE_R_PENDING) {
		if (r->next <= now)
			snprintf(when, sizeof(when), " next now");
		else {
			char a[24];

			fmt_age(r->next - now, a, sizeof(a));
			snprintf(when, sizeof(when), " next in %s", a);
		}
	}
	n = snprintf(out, cap, "%s%s", state_name(r), when);
	if (r->code && n >= 0 && (size_t)n < cap)
		snprintf(out + n, cap - (size_t)n, " (%d %s%s%.120s)", r->code, r->esc,
		    r->esc[0] ? " " : "", r->text);
}

struct walk {
	struct console *c;
	int64_t now;
	unsigned n;
};

static void
show_one(void *arg, const char *id)
{
	struct walk *w = arg;
	char age[24], rs[200];
	size_t off;
	int k;

	w->n++;
	if (queue_state_get(id, &qs) != 0) {
		console_printf(w->c, "%s  (state unreadable)", id);
		return;
	}
	fmt_age(w->now - qs.created, age, sizeof(age));
	k = snprintf(line, sizeof(line), "%s  age %s  size %" PRIu64 "  from <%s>%s", qs.id, age,
	    qs.size, qs.from, qs.is_dsn ? " (DSN)" : "");
	off = k < 0 ? 0 : (size_t)k;
	for (unsigned i = 0; i < qs.nrcpt && off < sizeof(line); i++) {
		fmt_rcpt(&qs.r[i], w->now, rs, sizeof(rs));
		k = snprintf(line + off, sizeof(line) - off, "%s <%s> %s", i ? ";" : "  to",
		    qs.r[i].addr, rs);
		if (k < 0 || (size_t)k >= sizeof(line) - off) {
			/* keep the line bounded; say it was cut */
			memcpy(line + sizeof(line) - 5, " ...", 5);
			break;
		}
		off += (size_t)k;
	}
	console_puts(w->c, line);
}

static int
show_detail(struct console *c, const char *id, int64_t now)
{
	char age[24], d[40], rs[200];

	if (queue_state_get(id, &qs) != 0) {
		console_printf(c, "show queue: no queue entry '%s' (see show queue)", id);
		return 1;
	}
	fmt_age(now - qs.created, age, sizeof(age));
	dsn_date(qs.created, d);
	console_printf(c, "id: %s", qs.id);
	console_printf(c, "arrived: %s (age %s)", d, age);
	console_printf(c, "size: %" PRIu64 " octets%s%s%s%s", qs.size,
	    qs.body_8bit ? ", 8BITMIME" : "", qs.smtputf8 ? ", SMTPUTF8" : "",
	    qs.requiretls ? ", REQUIRETLS" : "", qs.tls_required_no ? ", TLS-Required: No" : "");
	console_printf(c, "from: <%s>%s", qs.from, qs.is_dsn ? " (a delivery status notification)" :
	    "");
	if (qs.warned)
		console_puts(c, "delay warning: sent");
	for (unsigned i = 0; i < qs.nrcpt; i++) {
		const struct queue_rcpt *r = &qs.r[i];

		fmt_rcpt(r, now, rs, sizeof(rs));
		console_printf(c, "to: <%s> %s, attempts %u", r->addr, rs, (unsigned)r->attempts);
	}
	return 0;
}

static int
show_queue(struct console *c, int argc, char **argv, const char *l)
{
	struct walk w = { c, hal_clock_now(), 0 };

	(void)l;
	if (!queue_is_open()) {
		console_puts(c, "show queue: the queue is not in use (it serves `set relay direct` "
		    "and `set relay smarthost HOST queue on`)");
		return argc > 0 ? 1 : 0;
	}
	if (argc > 1) {
		console_puts(c, "show queue: usage: show queue [ID]");
		return 1;
	}
	if (argc == 1)
		return show_detail(c, argv[0], w.now);
	if (queue_runner() != NULL)
		console_printf(c, "queue: delivered by the %s", queue_runner());
	queue_foreach(show_one, &w);
	console_printf(c, "queue: %u messages, %" PRIu64 " octets", queue_count(), queue_bytes());
	return 0;
}

static int
queue_flush_cmd(struct console *c, int argc, char **argv, const char *l)
{
	(void)argc;
	(void)argv;
	(void)l;
	if (!queue_is_open()) {
		console_puts(c, "queue flush: the queue is not in use (it serves `set relay direct` "
		    "and `set relay smarthost HOST queue on`)");
		return 1;
	}
	queue_flush(hal_clock_now());
	console_printf(c, "queue: %u messages, all waiting recipients due now", queue_count());
	return 0;
}

static int
queue_delete_cmd(struct console *c, int argc, char **argv, const char *l)
{
	int rc;

	(void)l;
	if (argc != 1) {
		console_puts(c, "queue delete: usage: queue delete ID (see show queue)");
		return 1;
	}
	if (!queue_is_open()) {
		console_puts(c, "queue delete: the queue is not in use");
		return 1;
	}
	rc = queue_delete(argv[0]);
	if (rc == -ENOENT)
		console_printf(c, "queue delete: no queue entry '%s' (see show queue)", argv[0]);
	else if (rc == -EBUSY)
		console_printf(c, "queue delete: %s is being delivered right now; try again", argv[0]);
	else if (rc != 0)
		console_printf(c, "queue delete: %s: %s", argv[0], strerror(-rc));
	else
		console_printf(c, "queue: %s deleted (no bounce sent)", argv[0]);
	return rc == 0 ? 0 : 1;
}

static const struct console_cmd queue_cmds[] = {
	{ "show queue", "[ID]", "the delivery queue, or one entry in detail", show_queue },
	{ "queue flush", "", "make every waiting recipient due now", queue_flush_cmd },
	{ "queue delete", "ID", "remove a queued message without a bounce", queue_delete_cmd },
};

int
queue_console_register(void)
{
	return console_register(queue_cmds, sizeof(queue_cmds) / sizeof(queue_cmds[0]));
}
