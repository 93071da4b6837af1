/*
 * Fairness arithmetic (see fair.h): per-session deadlines, which session
 * may be shed, and the AUTH backoff table. Pure: time is an argument.
 */
#include <string.h>

#include "firmware/smtpd/fair.h"

void
smtpd_fair_clock_init(struct smtpd_fair_clock *k, uint64_t now)
{
	memset(k, 0, sizeof(*k));
	k->progress_ms = now;
}

static void
note_wait(struct smtpd_fair_clock *k, uint64_t now, enum smtpd_fair_state st)
{
	if (st == SMTPD_FAIR_WAITING) {
		if (k->wait_ms == 0)
			k->wait_ms = now;
		return;
	}
	if (k->wait_ms != 0 && k->txn_ms != 0)
		k->txn_ms += now - k->wait_ms;  /* the relay's time, not the client's */
	k->wait_ms = 0;
}

void
smtpd_fair_note(struct smtpd_fair_clock *k, uint64_t now, size_t consumed, bool partial,
    enum smtpd_fair_state st)
{
	bool progressed = consumed > 0 && !partial;

	note_wait(k, now, st);
	if (st == SMTPD_FAIR_DATA) {
		if (k->win_ms == 0) {
			k->win_ms = now;
			k->win_bytes = 0;
		}
		k->win_bytes += consumed;
		k->line_ms = 0;
		progressed = consumed > 0;
	} else {
		k->win_ms = 0;
		k->win_bytes = 0;
		if (!partial)
			k->line_ms = 0;
		else if (k->line_ms == 0)
			k->line_ms = now;
	}
	if (progressed)
		k->progress_ms = now;
	if (st == SMTPD_FAIR_COMMANDS)
		k->txn_ms = 0;
	else if ((st == SMTPD_FAIR_TRANSACTION || st == SMTPD_FAIR_DATA) && k->txn_ms == 0)
		k->txn_ms = now;
	k->state = st;
}

static void
earliest(uint64_t *due, uint64_t t)
{
	if (*due == 0 || t < *due)
		*due = t;
}

enum smtpd_fair_verdict
smtpd_fair_check(struct smtpd_fair_clock *k, const struct smtpd_fair_limits *l, uint64_t now,
    uint64_t *due)
{
	*due = 0;
	if (k->state == SMTPD_FAIR_WAITING)
		return SMTPD_FAIR_OK;
	if (k->line_ms != 0 && l->command_ms != 0) {
		if (now - k->line_ms >= l->command_ms)
			return SMTPD_FAIR_COMMAND_LATE;
		earliest(due, k->line_ms + l->command_ms);
	}
	if (k->txn_ms != 0 && l->transaction_ms != 0) {
		if (now - k->txn_ms >= l->transaction_ms)
			return SMTPD_FAIR_TRANSACTION_LATE;
		earliest(due, k->txn_ms + l->transaction_ms);
	}
	if (k->state == SMTPD_FAIR_DATA && k->win_ms != 0 && l->min_rate != 0 && l->window_ms != 0) {
		if (now - k->win_ms >= l->window_ms) {
			/* what the elapsed time asks for: a late tick asks for more */
			uint64_t need = (uint64_t)l->min_rate * (now - k->win_ms) / 1000u;

			if (k->win_bytes < need)
				return SMTPD_FAIR_DATA_SLOW;
			k->win_ms = now;
			k->win_bytes = 0;
		}
		earliest(due, k->win_ms + l->window_ms);
	}
	return SMTPD_FAIR_OK;
}

const char *
smtpd_fair_reason(enum smtpd_fair_verdict v)
{
	switch (v) {
	case SMTPD_FAIR_COMMAND_LATE:
		return "command not completed in time";
	case SMTPD_FAIR_TRANSACTION_LATE:
		return "mail transaction not completed in time";
	case SMTPD_FAIR_DATA_SLOW:
		return "message data arriving too slowly";
	default:
		return "ok";
	}
}

bool
smtpd_fair_sheddable(const struct smtpd_fair_clock *k, const struct smtpd_fair_limits *l,
    uint64_t now, uint64_t *idle)
{
	*idle = now > k->progress_ms ? now - k->progress_ms : 0;
	if (k->state == SMTPD_FAIR_DATA || k->state == SMTPD_FAIR_WAITING)
		return false;
	return l->shed_idle_ms != 0 && *idle >= l->shed_idle_ms;
}

/* ------------------------------------------------------------ AUTH */

static bool
same(const struct smtpd_fair_addr *e, const struct hal_addr *a)
{
	size_t n = a->family == 4 ? 4 : 16;

	return e->used && e->family == a->family && memcmp(e->ip, a->ip, n) == 0;
}

static struct smtpd_fair_addr *
find(struct smtpd_fair_auth *t, const struct hal_addr *a)
{
	for (size_t i = 0; i < SMTPD_FAIR_ADDRS; i++)
		if (same(&t->a[i], a))
			return &t->a[i];
	return NULL;
}

/* The entry of a, or a free one, or the least recently used (locked-out
 * addresses are kept while any other can go). */
static struct smtpd_fair_addr *
take(struct smtpd_fair_auth *t, const struct hal_addr *a, uint64_t now)
{
	struct smtpd_fair_addr *e = find(t, a), *lru = NULL;

	if (e != NULL)
		return e;
	for (size_t i = 0; i < SMTPD_FAIR_ADDRS && e == NULL; i++)
		if (!t->a[i].used)
			e = &t->a[i];
	for (int pass = 0; pass < 2 && e == NULL; pass++) {
		for (size_t i = 0; i < SMTPD_FAIR_ADDRS; i++) {
			struct smtpd_fair_addr *c = &t->a[i];

			if (pass == 0 && c->locked_until > now)
				continue;
			if (lru == NULL || c->last_ms < lru->last_ms)
				lru = c;
		}
		e = lru;
	}
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->family = a->family;
	memcpy(e->ip, a->ip, a->family == 4 ? 4 : 16);
	return e;
}

uint32_t
smtpd_fair_auth_delay(const struct smtpd_fair_limits *l, uint32_t n)
{
	uint64_t d = l->auth_delay_ms;

	for (uint32_t i = 1; i < n && d < l->auth_delay_max_ms; i++)
		d *= 2;
	return (uint32_t)(d < l->auth_delay_max_ms ? d : l->auth_delay_max_ms);
}

uint64_t
smtpd_fair_auth_locked(struct smtpd_fair_auth *t, const struct hal_addr *peer, uint64_t now)
{
	struct smtpd_fair_addr *e = find(t, peer);

	if (e == NULL || e->locked_until <= now)
		return 0;
	e->last_ms = now;
	return e->locked_until - now;
}

uint64_t
smtpd_fair_auth_result(struct smtpd_fair_auth *t, const struct hal_addr *peer, bool ok,
    const struct smtpd_fair_limits *l, uint64_t now, uint32_t *failures, bool *locked)
{
	struct smtpd_fair_addr *e = take(t, peer, now);
	uint64_t release = e->next_ms > now ? e->next_ms : now;

	e->last_ms = now;
	*locked = false;
	if (ok) {
		e->failures = 0;
		e->locked_until = 0;
		e->next_ms = release;
		*failures = 0;
		return release;
	}
	if (e->failures < UINT32_MAX)
		e->failures++;
	release += smtpd_fair_auth_delay(l, e->failures);
	e->next_ms = release;
	if (l->auth_lockout != 0 && e->failures >= l->auth_lockout) {
		e->locked_until = release + l->auth_lockout_ms;
		*locked = true;
	}
	*failures = e->failures;
	return release;
}
