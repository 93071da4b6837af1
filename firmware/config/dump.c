/*
 * config_dump(): the `set` lines that rebuild a configuration from the
 * defaults. Scalars are always written; paths that still follow data-dir
 * (outbox, TLS certificate and key) only when set elsewhere, so moving the
 * data directory later moves them too. The relay's mode line comes last, so
 * the lines before it (which may switch the mode) cannot undo it.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/config/internal.h"

#define MASK CONFIG_SECRET_MASK

struct lb {
	char buf[CONFIG_LINE_MAX];
	size_t n;
};

static void
lb_start(struct lb *b, const char *words)
{
	b->n = 0;
	b->buf[0] = 0;
	snprintf(b->buf, sizeof(b->buf), "%s", words);
	b->n = strlen(b->buf);
}

/* Append " value", quoted when the tokenizer would otherwise split it. */
static void
lb_word(struct lb *b, const char *v)
{
	/* '?' too: a quoted '?' pasted into the console's terminal is a
	 * character, a bare one asks for help (firmware/console/complete.c) */
	bool quote = v[0] == 0 || v[0] == '#' || strpbrk(v, " \t\"\\?") != NULL;
	size_t need = strlen(v) * 2 + 4;

	if (b->n + need >= sizeof(b->buf))
		return; /* cannot happen: fields are far shorter than a line */
	b->buf[b->n++] = ' ';
	if (quote)
		b->buf[b->n++] = '"';
	for (const char *p = v; *p; p++) {
		if (quote && (*p == '"' || *p == '\\'))
			b->buf[b->n++] = '\\';
		b->buf[b->n++] = *p;
	}
	if (quote)
		b->buf[b->n++] = '"';
	b->buf[b->n] = 0;
}

const char *
config_canon_name(enum zcfg_canon h, enum zcfg_canon b)
{
	static const char *const names[2][2] = {
		{ "simple/simple", "simple/relaxed" },
		{ "relaxed/simple", "relaxed/relaxed" },
	};
	return names[h == ZCFG_CANON_RELAXED][b == ZCFG_CANON_RELAXED];
}

void
config_format_cidr(const struct zcfg_network *n, char *buf, size_t cap)
{
	char a[HAL_ADDR_STRLEN];

	hal_addr_format(&n->addr, false, a, sizeof(a));
	snprintf(buf, cap, "%s/%u", a, n->prefix);
}

static void
format_hostport(const char *host, uint16_t port, char *buf, size_t cap)
{
	if (strchr(host, ':') != NULL)
		snprintf(buf, cap, "[%s]:%u", host, port);
	else
		snprintf(buf, cap, "%s:%u", host, port);
}

static void
format_duration(uint32_t v, char *t, size_t cap)
{
	if (v != 0 && v % 86400 == 0)
		snprintf(t, cap, "%ud", (unsigned)(v / 86400));
	else if (v != 0 && v % 3600 == 0)
		snprintf(t, cap, "%uh", (unsigned)(v / 3600));
	else if (v != 0 && v % 60 == 0)
		snprintf(t, cap, "%um", (unsigned)(v / 60));
	else
		snprintf(t, cap, "%us", (unsigned)v);
}

/* full: also the settings at their defaults (config_diff's resets). */
static void
dump(const struct zcfg *c, bool show_secrets, const char *sealed, bool full,
    void (*emit)(void *arg, const char *line), void *arg)
{
	static struct lb b;
	char t[ZCFG_NAME_MAX + 16], o[ZCFG_PATH_MAX], ce[ZCFG_PATH_MAX], k[ZCFG_PATH_MAX];
	const struct zcfg_relay *r = &c->relay;

#define LINE(words) lb_start(&b, words)
#define WORD(v) lb_word(&b, v)
#define EMIT() emit(arg, b.buf)
	LINE("set hostname"), WORD(c->hostname), EMIT();
	LINE("set data-dir"), WORD(c->data_dir), EMIT();
	LINE("set log-level"), WORD(config_log_levels[c->log_level & 3]), EMIT();
	config_format_bytes(c->max_message_size, t, sizeof(t));
	LINE("set message-size-limit"), WORD(t), EMIT();
	config_derived_paths(c->data_dir, o, ce, k);
	if (full || strcmp(c->tls_cert, ce) != 0)
		LINE("set tls cert"), WORD(c->tls_cert), EMIT();
	if (full || strcmp(c->tls_key, k) != 0)
		LINE("set tls key"), WORD(c->tls_key), EMIT();
	if (full || c->tls_tpm)
		LINE("set tls key-store"), WORD(c->tls_tpm ? "tpm" : "file"), EMIT();
	if (full || c->tpm_device[0])
		LINE("set tpm device"), WORD(c->tpm_device[0] ? c->tpm_device : "default"), EMIT();

	for (int i = 0; i < CONFIG_CFG_MAX_DOMAINS; i++) {
		const struct zcfg_domain *d = &c->domains[i];
		if (!d->used)
			continue;
		LINE("set domain"), WORD(d->name);
		WORD("subdomains"), WORD(d->subdomains ? "on" : "off");
		WORD("canon"), WORD(config_canon_name(d->canon_header, d->canon_body));
		WORD("envelope-align"), WORD(config_align_names[d->envelope_align % 3]);
		EMIT();
	}
	for (int i = 0; i < CONFIG_CFG_MAX_KEYS; i++) {
		const struct zcfg_key *kk = &c->keys[i];
		if (!kk->used)
			continue;
		LINE("set key"), WORD(kk->selector), WORD("domain"), WORD(kk->domain);
		WORD("file"), WORD(kk->file), EMIT();
	}
	for (int i = 0; i < CFG_NUSERS; i++) {
		const struct zcfg_user *u = &c->users[i];
		if (!u->used)
			continue;
		LINE("set user"), WORD(u->name), WORD("password-hash");
		WORD(show_secrets ? u->hash : MASK), EMIT();
	}
	for (int i = 0; i < CFG_NNETWORKS; i++) {
		const struct zcfg_network *n = &c->networks[i];
		if (!n->used)
			continue;
		config_format_cidr(n, t, sizeof(t));
		LINE("set network"), WORD(t), WORD("line-endings");
		WORD(n->normalise_line_endings ? "normalise" : "strict"), EMIT();
	}
	for (int i = 0; i < CONFIG_CFG_MAX_LISTENERS; i++) {
		const struct zcfg_listener *l = &c->listeners[i];
		if (!l->used)
			continue;
		hal_addr_format(&l->addr, true, t, sizeof(t));
		LINE("set listener"), WORD(l->name), WORD(t);
		WORD("mode"), WORD(config_listen_modes[l->mode % ZCFG_LISTEN_NMODES]);
		WORD("auth-plaintext"), WORD(l->auth_plaintext ? "on" : "off");
		if (l->tls_min != 0) {
			snprintf(o, sizeof(o), "1.%u", (unsigned)l->tls_min % 10);
			WORD("tls-min"), WORD(o);
		}
		EMIT();
	}
	for (int i = 0; i < c->nresolvers && i < CFG_NRESOLVERS; i++) {
		hal_addr_format(&c->resolvers[i], true, t, sizeof(t));
		LINE("set resolver"), WORD(t), EMIT();
	}
	if (c->resolver_anchors[0])
		LINE("set resolver-anchors"), WORD(c->resolver_anchors), EMIT();
	if (c->public_address_set) {
		hal_addr_format(&c->public_address, false, t, sizeof(t));
		LINE("set public-address"), WORD(t), EMIT();
	}
	config_dump_time_log(c, emit, arg);
	config_dump_lwip(c, full, emit, arg);

	/* Queue: only what differs from the Kconfig defaults. */
	{
		struct zcfg_queue dq;
		const struct zcfg_queue *q = &c->queue;

		config_queue_defaults(&dq);
#define QDUR(field, words) \
		if (full || q->field != dq.field) \
			format_duration(q->field, t, sizeof(t)), LINE(words), WORD(t), EMIT();
#define QNUM(field, words) \
		if (full || q->field != dq.field) \
			snprintf(t, sizeof(t), "%llu", (unsigned long long)q->field), \
			    LINE(words), WORD(t), EMIT();
		QDUR(lifetime, "set queue lifetime")
		QDUR(delay_warning, "set queue delay-warning")
		QDUR(retry_base, "set queue retry-base")
		QNUM(max_messages, "set queue max-messages")
#define QBYTES(field, words) \
		if (full || q->field != dq.field) \
			config_format_bytes(q->field, t, sizeof(t)), LINE(words), WORD(t), EMIT();
		QBYTES(max_size, "set queue max-size")
		QBYTES(min_free, "set queue min-free")
#undef QBYTES
#undef QDUR
#undef QNUM
	}

	/* TLS-RPT: only what is set */
	if (full || c->tlsrpt.on)
		LINE("set tlsrpt"), WORD(c->tlsrpt.on ? "on" : "off"), EMIT();
	if (c->tlsrpt.org[0])
		LINE("set tlsrpt organization"), WORD(c->tlsrpt.org), EMIT();
	if (c->tlsrpt.contact[0])
		LINE("set tlsrpt contact"), WORD(c->tlsrpt.contact), EMIT();

	/* Key rollover: only what differs from the defaults. */
	{
		struct zcfg_key_rollover dr;
		const struct zcfg_key_rollover *kr = &c->key_rollover;

		config_key_rollover_defaults(&dr);
		if (full || kr->auto_activate != dr.auto_activate)
			LINE("set key-rollover auto-activate"),
			    WORD(kr->auto_activate ? "on" : "off"), EMIT();
		if (full || kr->retire_days != dr.retire_days)
			snprintf(t, sizeof(t), "%u", (unsigned)kr->retire_days),
			    LINE("set key-rollover retire-days"), WORD(t), EMIT();
		if (full || kr->check_interval != dr.check_interval)
			format_duration(kr->check_interval, t, sizeof(t)),
			    LINE("set key-rollover check-interval"), WORD(t), EMIT();
	}

	/* smtpd fairness: only what differs from the defaults. */
	{
		struct zcfg_smtpd df;
		const struct zcfg_smtpd *f = &c->smtpd;
		char t2[32];

		config_smtpd_defaults(&df);
#define FNUM(field, words) \
		if (full || f->field != df.field) \
			snprintf(t, sizeof(t), "%u", (unsigned)f->field), LINE(words), WORD(t), EMIT();
#define FDUR(field, words) \
		if (full || f->field != df.field) \
			format_duration(f->field, t, sizeof(t)), LINE(words), WORD(t), EMIT();
		FNUM(per_address, "set smtpd per-address-limit")
		FDUR(idle_timeout, "set smtpd idle-timeout")
		FDUR(command_timeout, "set smtpd command-timeout")
		FDUR(transaction_timeout, "set smtpd transaction-timeout")
		if (full || f->min_data_rate != df.min_data_rate || f->data_rate_window != df.data_rate_window) {
			snprintf(t, sizeof(t), "%u", (unsigned)f->min_data_rate);
			format_duration(f->data_rate_window, t2, sizeof(t2));
			LINE("set smtpd min-data-rate"), WORD(t), WORD("window"), WORD(t2), EMIT();
		}
		if (full || f->shed_idle != df.shed_idle) {
			if (f->shed_idle == 0)
				snprintf(t, sizeof(t), "off");
			else
				format_duration(f->shed_idle, t, sizeof(t));
			LINE("set smtpd shed-idle"), WORD(t), EMIT();
		}
		if (full || f->auth_delay != df.auth_delay || f->auth_delay_max != df.auth_delay_max) {
			format_duration(f->auth_delay, t, sizeof(t));
			format_duration(f->auth_delay_max, t2, sizeof(t2));
			LINE("set smtpd auth-delay"), WORD(t), WORD("max"), WORD(t2), EMIT();
		}
		if (full || f->auth_lockout != df.auth_lockout || f->auth_lockout_time != df.auth_lockout_time) {
			snprintf(t, sizeof(t), "%u", (unsigned)f->auth_lockout);
			format_duration(f->auth_lockout_time, t2, sizeof(t2));
			LINE("set smtpd auth-lockout"), WORD(t), WORD("for"), WORD(t2), EMIT();
		}
#undef FNUM
#undef FDUR
	}

	/* Relay: settings first, the mode line last. */
	if (r->kind != ZCFG_RELAY_OUTBOX && strcmp(r->outbox, o) != 0)
		LINE("set relay outbox"), WORD(r->outbox), EMIT();
	if (r->kind != ZCFG_RELAY_SMARTHOST && r->host[0] != 0) {
		format_hostport(r->host, r->port, t, sizeof(t));
		LINE("set relay smarthost"), WORD(t);
		if (r->queue)
			WORD("queue"), WORD("on");
		EMIT();
	}
	if (full || r->implicit_tls)
		LINE("set relay tls"), WORD(r->implicit_tls ? "implicit" : "starttls"), EMIT();
	if (r->username[0])
		LINE("set relay username"), WORD(r->username), EMIT();
	if (r->password[0] && sealed != NULL)
		LINE("set relay password-sealed"), WORD(sealed), EMIT();
	else if (r->password[0])
		LINE("set relay password"), WORD(show_secrets ? r->password : MASK), EMIT();
	if (r->ca_file[0])
		LINE("set relay ca-file"), WORD(r->ca_file), EMIT();
	if (full || r->require_tls)
		LINE("set relay require-tls"), WORD(r->require_tls ? "on" : "off"), EMIT();
	if (full || r->tls_required_no)
		LINE("set relay tls-required-no"), WORD(r->tls_required_no ? "honour" : "ignore"),
		    EMIT();
	if (r->mx_port != 0 && r->mx_port != 25) {
		snprintf(t, sizeof(t), "%u", r->mx_port);
		LINE("set relay mx-port"), WORD(t), EMIT();
	}
	switch (r->kind) {
	case ZCFG_RELAY_OUTBOX:
		LINE("set relay outbox"), WORD(r->outbox), EMIT();
		break;
	case ZCFG_RELAY_SMARTHOST:
		format_hostport(r->host, r->port, t, sizeof(t));
		LINE("set relay smarthost"), WORD(t);
		if (r->queue) /* only when on: the line of a sync smarthost stays as it was */
			WORD("queue"), WORD("on");
		EMIT();
		break;
	case ZCFG_RELAY_DIRECT:
		LINE("set relay direct"), EMIT();
		break;
	}
	memset(&b, 0, sizeof(b));
#undef LINE
#undef WORD
#undef EMIT
}

void
config_dump(const struct zcfg *c, bool show_secrets, void (*emit)(void *arg, const char *line),
    void *arg)
{
	dump(c, show_secrets, NULL, false, emit, arg);
}

void
config_dump_sealed(const struct zcfg *c, const char *sealed,
    void (*emit)(void *arg, const char *line), void *arg)
{
	dump(c, true, sealed, false, emit, arg);
}

void
config_dump_full(const struct zcfg *c, void (*emit)(void *arg, const char *line), void *arg)
{
	dump(c, true, NULL, true, emit, arg);
}
