/*
 * The SMTP server's listener slots (listeners.h): bind all or nothing,
 * retry a port taken at start, and the lines of `show status`.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/smtpd/listeners.h"
#include "firmware/smtpd/server.h"
#include "firmware/tls/tls.h"
#include "hal/log.h"

#define LOGM "smtpd"
#define NSLOTS (2 * CONFIG_CFG_MAX_LISTENERS)

static struct smtpd_lsn lsns[NSLOTS];
static int retry_id = -1;
static const struct loop_listener_ops *lsn_ops;

void
smtpd_listeners_reset(void)
{
	memset(lsns, 0, sizeof(lsns));
	retry_id = -1;
}

unsigned
smtpd_listeners_open(void)
{
	unsigned n = 0;

	for (unsigned k = 0; k < NSLOTS; k++)
		n += lsns[k].st == LSN_OPEN;
	return n;
}

static bool
same_host(const struct hal_addr *a, const struct hal_addr *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, a->family == 4 ? 4 : 16) == 0;
}

static void
slot_free(struct smtpd_lsn *l)
{
	if (l->st == LSN_OPEN)
		loop_close(l->h);
	memset(l, 0, sizeof(*l));
}

void
smtpd_listeners_close(void)
{
	for (unsigned i = 0; i < NSLOTS; i++)
		slot_free(&lsns[i]);
	if (retry_id >= 0)
		loop_timer_cancel(retry_id);
	retry_id = -1;
}

static const char *
mode_name(const struct zcfg_listener *l)
{
	return l->mode == ZCFG_LISTEN_TLS     ? "implicit TLS"
	    : l->mode == ZCFG_LISTEN_STARTTLS ? "STARTTLS"
	    : l->mode == ZCFG_LISTEN_PLAIN    ? "plain+STARTTLS"
					      : "no TLS, STARTTLS not offered";
}

static void
log_listening(const struct smtpd_lsn *s, const char *a)
{
	hal_log(HAL_LOG_INFO, LOGM, "listening on %s (%s, %s%s%s)", a, s->l.name, mode_name(&s->l),
	    s->l.auth_plaintext ? ", auth-plaintext on" : "",
	    s->l.tls_min == 10 ? ", TLS 1.0 allowed" : s->l.tls_min == 11 ? ", TLS 1.1 allowed" : "");
}

static void retry_arm(void);

/* Every SMTPD_LISTEN_RETRY_MS: bind the listeners whose port was taken. */
static void
retry_tick(void *arg)
{
	char a[HAL_ADDR_STRLEN];

	(void)arg;
	retry_id = -1;
	for (unsigned i = 0; i < NSLOTS; i++) {
		struct smtpd_lsn *s = &lsns[i];
		int rc;

		if (s->st != LSN_RETRY)
			continue;
		hal_addr_format(&s->l.addr, true, a, sizeof(a));
		s->tries++;
		if ((rc = loop_listen(&s->l.addr, lsn_ops, s)) < 0) {
			s->err = rc;
			hal_log(HAL_LOG_DEBUG, LOGM, "listener %s on %s: still %s", s->l.name, a,
			    strerror(-rc));
			continue;
		}
		s->h = rc;
		s->st = LSN_OPEN;
		hal_log(HAL_LOG_INFO, LOGM,
		    "listener %s on %s: the port is free now (after %u "
		    "retries)",
		    s->l.name, a, s->tries);
		log_listening(s, a);
	}
	retry_arm();
}

static void
retry_arm(void)
{
	bool any = false;

	for (unsigned i = 0; i < NSLOTS; i++)
		any |= lsns[i].st == LSN_RETRY;
	if (any && retry_id < 0)
		retry_id = loop_timer_add(SMTPD_LISTEN_RETRY_MS, retry_tick, NULL);
	if (!any && retry_id >= 0) {
		loop_timer_cancel(retry_id);
		retry_id = -1;
	}
}

static bool
same_addr(const struct hal_addr *a, const struct hal_addr *b)
{
	return same_host(a, b) && a->port == b->port;
}

/*
 * The listeners of cfg, all or nothing. Listeners whose address is already
 * open (or waiting for its port) are kept, their socket untouched; new ones
 * are bound in free slots while the old ones still listen; only when every
 * new one is bound are the old ones that cfg no longer has closed. At start
 * (retry) a port that cannot be bound is retried every
 * SMTPD_LISTEN_RETRY_MS instead: the appliance must come up.
 */
int
smtpd_listeners_apply(const struct zcfg *cfg, bool retry, const struct loop_listener_ops *ops,
    char *err, size_t cap)
{
	bool keep[NSLOTS], fresh[NSLOTS];
	int slot_of[CONFIG_CFG_MAX_LISTENERS];
	char a[HAL_ADDR_STRLEN];

	lsn_ops = ops;
	memset(keep, 0, sizeof(keep));
	memset(fresh, 0, sizeof(fresh));
	for (unsigned i = 0; i < CONFIG_CFG_MAX_LISTENERS; i++) {
		const struct zcfg_listener *l = &cfg->listeners[i];
		int j = -1, rc;

		slot_of[i] = -1;
		if (!l->used)
			continue;
		for (unsigned k = 0; k < NSLOTS && j < 0; k++)
			if ((lsns[k].st == LSN_OPEN || lsns[k].st == LSN_RETRY) && !keep[k] &&
			    !fresh[k] && same_addr(&lsns[k].l.addr, &l->addr))
				j = (int)k;
		if (j >= 0) {
			keep[j] = true;
			slot_of[i] = j;
			continue;
		}
		for (unsigned k = 0; k < NSLOTS && j < 0; k++)
			if (lsns[k].st == LSN_FREE && !fresh[k])
				j = (int)k;
		if (j < 0)
			continue; /* cannot happen: twice the slots a config has */
		hal_addr_format(&l->addr, true, a, sizeof(a));
		if ((rc = loop_listen(&l->addr, lsn_ops, &lsns[j])) < 0 && !retry) {
			snprintf(err, cap, "listener %s on %s: %s%s", l->name, a, strerror(-rc),
			    rc == -EADDRINUSE ? " (another program or listener holds the port)"
				: rc == -EADDRNOTAVAIL ? " (no interface has this address)"
						       : "");
			for (unsigned k = 0; k < NSLOTS; k++)
				if (fresh[k])
					slot_free(&lsns[k]);
			return rc;
		}
		fresh[j] = true;
		slot_of[i] = j;
		lsns[j].l = *l;
		lsns[j].tries = 0;
		if (rc < 0) {
			lsns[j].st = LSN_RETRY;
			lsns[j].err = rc;
			hal_log(HAL_LOG_ERR, LOGM, "listener %s on %s: %s: retried every %u s",
			    l->name, a, strerror(-rc), SMTPD_LISTEN_RETRY_MS / 1000);
		} else {
			lsns[j].st = LSN_OPEN;
			lsns[j].h = rc;
		}
	}
	/* every new one is bound: the old ones cfg no longer has go */
	for (unsigned k = 0; k < NSLOTS; k++) {
		if (keep[k] || fresh[k] || lsns[k].st == LSN_FREE)
			continue;
		hal_addr_format(&lsns[k].l.addr, true, a, sizeof(a));
		if (lsns[k].st == LSN_OPEN)
			hal_log(HAL_LOG_INFO, LOGM, "listener %s on %s closed", lsns[k].l.name, a);
		slot_free(&lsns[k]);
	}
	for (unsigned i = 0; i < CONFIG_CFG_MAX_LISTENERS; i++) {
		int j = slot_of[i];

		if (j >= 0 && keep[j])
			lsns[j].l = cfg->listeners[i]; /* name, mode, auth-plaintext */
		if (j >= 0 && fresh[j] && lsns[j].st == LSN_OPEN) {
			hal_addr_format(&lsns[j].l.addr, true, a, sizeof(a));
			log_listening(&lsns[j], a);
		}
	}
	retry_arm();
	return 0;
}

/* Implicit TLS listeners need the certificate, and a listener's tls-min must
 * be one this build serves (never quietly 1.2): else they are closed. */
void
smtpd_listeners_check_tls(void)
{
	char a[HAL_ADDR_STRLEN], why[160];

	for (unsigned k = 0; k < NSLOTS; k++) {
		struct smtpd_lsn *s = &lsns[k];

		if (s->st != LSN_OPEN && s->st != LSN_RETRY)
			continue;
		hal_addr_format(&s->l.addr, true, a, sizeof(a));
		if (s->l.mode != ZCFG_LISTEN_NOTLS &&
		    tls_server_min_supported(s->l.tls_min, why, sizeof(why)) != 0) {
			hal_log(HAL_LOG_ERR, LOGM, "listener %s on %s: not started: %s", s->l.name, a,
			    why);
			s->err = -ENOTSUP;
		} else if (s->l.mode == ZCFG_LISTEN_TLS && !tls_server_ready()) {
			hal_log(HAL_LOG_ERR, LOGM, "listener %s on %s: no TLS certificate, not started",
			    s->l.name, a);
			s->err = 0;
		} else {
			continue;
		}
		if (s->st == LSN_OPEN)
			loop_close(s->h);
		s->st = LSN_NO_TLS;
	}
	retry_arm();
}

void
smtpd_server_listeners(void (*emit)(void *arg, const char *line), void *arg)
{
	char a[HAL_ADDR_STRLEN], line[ZCFG_NAME_MAX + HAL_ADDR_STRLEN + 160];
	unsigned n = 0;

	for (unsigned k = 0; k < NSLOTS; k++) {
		const struct smtpd_lsn *s = &lsns[k];

		if (s->st == LSN_FREE)
			continue;
		hal_addr_format(&s->l.addr, true, a, sizeof(a));
		if (s->st == LSN_OPEN)
			snprintf(line, sizeof(line), "listener %s %s (%s): listening", s->l.name, a,
			    mode_name(&s->l));
		else if (s->st == LSN_RETRY)
			snprintf(line, sizeof(line),
			    "listener %s %s (%s): NOT listening: %s; retried every %u s (%u so far)",
			    s->l.name, a, mode_name(&s->l), strerror(-s->err),
			    SMTPD_LISTEN_RETRY_MS / 1000, s->tries);
		else
			snprintf(line, sizeof(line),
			    "listener %s %s (%s): NOT listening: %s", s->l.name, a,
			    mode_name(&s->l),
			    s->err == -ENOTSUP ? "its tls-min is not served by this build"
					       : "no TLS certificate");
		emit(arg, line);
		n++;
	}
	if (n == 0)
		emit(arg, "listeners: none configured (set listener NAME ADDR:PORT)");
}
