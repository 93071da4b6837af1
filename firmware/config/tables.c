/*
 * The bottom of firmware/config: the names, defaults and helpers every other
 * file of the folder shares (model, grammar, dump). It calls none of them.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/config/internal.h"

const char *const config_log_levels[4] = { "error", "warning", "info", "debug" };
const char *const config_align_names[3] = { "off", "warn", "refuse" };
const char *const config_listen_modes[ZCFG_LISTEN_NMODES] = { "starttls", "tls", "plain",
	"no-tls" };

int
config_fail(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errcap > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Volatile stores the compiler cannot drop: passwords and hashes. */
void
config_wipe(void *p, size_t n)
{
	volatile uint8_t *v = p;

	while (n--)
		*v++ = 0;
}

void
config_derived_paths(const char *data_dir, char outbox[ZCFG_PATH_MAX], char cert[ZCFG_PATH_MAX],
    char key[ZCFG_PATH_MAX])
{
	/* set_data_dir() and config_init() keep data_dir short enough. */
	memset(outbox, 0, ZCFG_PATH_MAX);
	memset(cert, 0, ZCFG_PATH_MAX);
	memset(key, 0, ZCFG_PATH_MAX);
	snprintf(outbox, ZCFG_PATH_MAX, "%.170s/outbox", data_dir);
	snprintf(cert, ZCFG_PATH_MAX, "%.170s/tls/cert.pem", data_dir);
	snprintf(key, ZCFG_PATH_MAX, "%.170s/tls/key.pem", data_dir);
}

void
config_queue_defaults(struct zcfg_queue *q)
{
	q->lifetime = CONFIG_QUEUE_LIFETIME;
	q->delay_warning = CONFIG_QUEUE_DELAY_WARNING;
	q->retry_base = CONFIG_QUEUE_RETRY_BASE;
	q->max_messages = CONFIG_QUEUE_MAX_MESSAGES;
	q->max_size = (uint64_t)CONFIG_QUEUE_MAX_BYTES << 20;
	q->min_free = (uint64_t)CONFIG_QUEUE_MIN_FREE << 10;
}

void
config_key_rollover_defaults(struct zcfg_key_rollover *r)
{
	r->auto_activate = false;
	r->retire_days = 7;
	r->check_interval = 3600;
}

void
config_smtpd_defaults(struct zcfg_smtpd *f)
{
	f->per_address = CONFIG_MAX_SESSIONS / 4 > 2 ? CONFIG_MAX_SESSIONS / 4 : 2;
	if (f->per_address > CONFIG_MAX_SESSIONS)
		f->per_address = CONFIG_MAX_SESSIONS;
	f->idle_timeout = CONFIG_SMTP_IDLE_TIMEOUT;
	f->command_timeout = 60;
	f->transaction_timeout = 600;
	f->min_data_rate = 1024;
	f->data_rate_window = 30;
	f->shed_idle = 5;
	f->auth_delay = 1;
	f->auth_delay_max = 30;
	f->auth_lockout = 10;
	f->auth_lockout_time = 900;
}
