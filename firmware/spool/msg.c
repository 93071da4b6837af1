/* The message file of one transaction: spool file + signer tap (msg.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "firmware/spool/gcommit.h"
#include "firmware/spool/msg.h"
#include "hal/clock.h"
#include "hal/entropy.h"
#include "hal/log.h"

#define MOD "spool"

int
spool_msg_new_id(char id[HANDOFF_ID_MAX])
{
	static const char hex[] = "0123456789ABCDEF";
	uint8_t r[5];

	/* never a made-up id: equal ids would make equal file names */
	if (hal_entropy_fill(r, sizeof(r)) < 0) {
		id[0] = '\0';
		return -EIO;
	}
	for (int i = 0; i < 5; i++) {
		id[2 * i] = hex[r[i] >> 4];
		id[2 * i + 1] = hex[r[i] & 15];
	}
	id[10] = '\0';
	return 0;
}

static int
spool_dir(char *out, size_t cap, const char *data_dir)
{
	int n = snprintf(out, cap, "%s/spool", data_dir[0] ? data_dir : "var");

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

#define SCRATCH_SLOTS (CONFIG_MAX_SESSIONS + 4)
#define SCRATCH_PREFIX "scratch-"

static bool slot_busy[SCRATCH_SLOTS];
/* A slot whose file cannot be opened as a scratch file (something else took
 * its name: a directory, a link, a device): skipped until the next start,
 * whose sweep removes what it can. */
static bool slot_bad[SCRATCH_SLOTS];

static int
msg_reset(struct spool_msg *m, char *dir, size_t cap, const char *data_dir, const char *id)
{
	int rc;

	m->open = m->committed = m->in_body = m->signing = m->sealing = false;
	m->scratch = m->scratch_lost = false;
	m->slot = -1;
	m->durable_pending = false;
	m->seal_err = 0;
	m->tls_required_no = false;
	m->sys_err = m->hdr_err = 0;
	m->size = 0;
	m->wlen = 0;
	snprintf(m->id, sizeof(m->id), "%s", id);
	keys_sign_init(&m->sign);
	if ((rc = spool_dir(dir, cap, data_dir)) < 0)
		return m->sys_err = rc;
	hal_storage_mkdirs(dir, 0700);
	return 0;
}

int
spool_msg_open(struct spool_msg *m, const char *data_dir, const char *id)
{
	char dir[HAL_PATH_MAX - HANDOFF_ID_MAX - 2];
	int rc;

	if ((rc = msg_reset(m, dir, sizeof(dir), data_dir, id)) < 0)
		return rc;
	snprintf(m->path, sizeof(m->path), "%s/%s", dir, id);
	if ((rc = hal_storage_open_write(&m->f, m->path, 0600)) < 0)
		return m->sys_err = rc;
	m->open = true;
	return 0;
}

int
spool_msg_open_scratch(struct spool_msg *m, const char *data_dir, const char *id)
{
	char dir[HAL_PATH_MAX - HANDOFF_ID_MAX - 2];
	int rc, k = 0;

	while (k < SCRATCH_SLOTS && (slot_busy[k] || slot_bad[k]))
		k++;
	if (k == SCRATCH_SLOTS)
		return spool_msg_open(m, data_dir, id);  /* more messages than slots */
	if ((rc = msg_reset(m, dir, sizeof(dir), data_dir, id)) < 0)
		return rc;
	snprintf(m->path, sizeof(m->path), "%s/" SCRATCH_PREFIX "%d", dir, k);
	rc = hal_storage_open_scratch(&m->f, m->path, 0600);
	if (rc == -ENOTSUP)
		return spool_msg_open(m, data_dir, id);
	if (rc == -EPERM || rc == -EACCES) {
		/* never the same failure for every message: that slot is out,
		 * the message takes the next one (or a spool file of its own) */
		hal_log(HAL_LOG_WARN, MOD, "%s: not usable as a scratch file (%s); "
		    "slot %d skipped until the next start", m->path, strerror(-rc), k);
		slot_bad[k] = true;
		return spool_msg_open_scratch(m, data_dir, id);
	}
	if (rc < 0)  /* full disk, no fds...: this message's error (452/451) */
		return m->sys_err = rc;
	slot_busy[k] = true;
	m->slot = k;
	m->scratch = m->open = true;
	return 0;
}

/* The scratch file is complete: closed, kept under its name (not durable:
 * the target makes its own copy durable before it reports 250). */
static void
scratch_close(struct spool_msg *m)
{
	hal_storage_close(&m->f);
	m->open = false;
	m->committed = true;
}

static int64_t sign_time(const struct spool_msg *m, int64_t now);

static int
first_err(const struct spool_msg *m)
{
	return m->sys_err ? m->sys_err : m->hdr_err;
}

static int
write_out(struct spool_msg *m, const uint8_t *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	if ((rc = hal_storage_write(&m->f, p, n)) < 0) {
		hal_storage_abort(&m->f);   /* a scratch file too: storage is short */
		m->scratch_lost = m->scratch;
		m->open = false;
		return m->sys_err = rc;
	}
	return 0;
}

int
spool_msg_flush(struct spool_msg *m)
{
	size_t n = m->wlen;

	if (first_err(m))
		return first_err(m);
	if (!m->open)
		return m->sys_err = -EBADF;
	m->wlen = 0;
	return write_out(m, m->wbuf, n);
}

/* Lines are gathered in wbuf: the file gets one write() per 2 KiB. */
static int
store(struct spool_msg *m, const uint8_t *l, size_t n)
{
	int rc;

	if (!m->open)
		return m->sys_err = m->sys_err ? m->sys_err : -EBADF;
	if (m->wlen + n > sizeof(m->wbuf)) {
		if ((rc = write_out(m, m->wbuf, m->wlen)) < 0)
			return rc;
		m->wlen = 0;
	}
	if (n > sizeof(m->wbuf)) {
		if ((rc = write_out(m, l, n)) < 0)
			return rc;
	} else {
		memcpy(m->wbuf + m->wlen, l, n);
		m->wlen += n;
	}
	m->size += n;
	return 0;
}

/*
 * A line of the header block the signer would take but receivers may read
 * differently: the obsolete WSP between a field name and its colon
 * (RFC 5322 4.5.8; "From : a@b" is From to some parsers and an unparsable
 * line to others, dkimpy among them). Refused like a line that is not a
 * field, so every verifier sees the header the signature covers.
 */
static bool
field_name_ok(const uint8_t *l, size_t n)
{
	size_t i = 0;

	if (n == 2 || l[0] == ' ' || l[0] == '\t')
		return true;                /* the empty line, a continuation */
	while (i < n && l[i] != ':' && l[i] != ' ' && l[i] != '\t' && l[i] != '\r')
		i++;
	return i == n || l[i] == ':' || l[i] == '\r';  /* no colon: the signer says so */
}

/* RFC 8689 5: "TLS-Required: No" (names and value case-insensitive,
 * blanks around the value allowed; the value on the field's first line). */
bool
spool_tls_required_no(const uint8_t *l, size_t n)
{
	static const char name[] = "tls-required:";
	size_t k = sizeof(name) - 1, e = n;

	if (n < k || strncasecmp((const char *)l, name, k) != 0)
		return false;
	while (k < n && (l[k] == ' ' || l[k] == '\t'))
		k++;
	while (e > k && (l[e - 1] == '\r' || l[e - 1] == '\n' || l[e - 1] == ' ' ||
	    l[e - 1] == '\t'))
		e--;
	return e - k == 2 && (l[k] == 'N' || l[k] == 'n') && (l[k + 1] == 'O' || l[k + 1] == 'o');
}

int
spool_msg_line(struct spool_msg *m, const uint8_t *l, size_t n)
{
	int rc;

	if (first_err(m))
		return first_err(m);
	if ((rc = store(m, l, n)) < 0)
		return rc;
	if (m->in_body) {
		if (m->signing && keys_sign_push(&m->sign, l, n) < 0)
			return m->hdr_err = m->sign.err ? m->sign.err : DKIM_ERR_STATE;
		return 0;
	}
	if (!field_name_ok(l, n))
		return m->hdr_err = DKIM_ERR_HEADER_SYNTAX;
	if (spool_tls_required_no(l, n))
		m->tls_required_no = true;
	rc = keys_sign_headers(&m->sign, l, n);
	if (rc < 0)
		return m->hdr_err = rc;
	if (rc == 0)
		return 0;
	m->in_body = true;
	return SPOOL_MSG_HEADERS;
}

int
spool_msg_end_headers(struct spool_msg *m)
{
	if (m->in_body)
		return first_err(m);
	return spool_msg_line(m, (const uint8_t *)"\r\n", 2);
}

const char *
spool_msg_from_domain(const struct spool_msg *m)
{
	return m->in_body && !m->hdr_err ? keys_sign_from_domain(&m->sign) : NULL;
}

int
spool_msg_sign(struct spool_msg *m, const struct zcfg *cfg, const struct zcfg_domain *dom,
    const char **why)
{
	int rc = keys_sign_keys(&m->sign, cfg, dom, why);

	if (rc == 0)
		m->signing = true;
	return rc;
}

int
spool_msg_finish(struct spool_msg *m, int64_t now, uint8_t *out, size_t cap, size_t *len,
    void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
    const char **why)
{
	int rc;

	*len = 0;
	if (first_err(m))
		return first_err(m);
	now = sign_time(m, now);
	if ((rc = spool_msg_flush(m)) < 0)
		return rc;
	if (m->signing &&
	    (rc = keys_sign_finish(&m->sign, now, out, cap, len, logcb, arg, why)) < 0)
		return rc;              /* not a header error: the caller says 451 */
	if (m->scratch) {
		scratch_close(m);
		return 0;
	}
	if ((rc = hal_storage_commit(&m->f, m->path)) < 0) {
		m->open = false;
		return m->sys_err = rc;
	}
	m->open = false;
	m->committed = true;
	return 0;
}

static int64_t
sign_time(const struct spool_msg *m, int64_t now)
{
	if (m->signing && !hal_clock_plausible(now)) {
		/* a router without RTC before its first sync: sign without t=
		 * rather than with a date in 1970 (README "The clock") */
		hal_log(HAL_LOG_WARN, "spool", "%s: clock not plausible: DKIM signature without t=",
		    m->id);
		return -1;
	}
	return now;
}

/* Signed and durable: the caller goes on (once). */
static void
seal_check(struct spool_msg *m)
{
	void (*done)(void *) = m->seal_done;

	if (m->sealing || m->durable_pending || done == NULL)
		return;
	m->seal_done = NULL;
	done(m->seal_arg);
}

static void
signed_cb(void *arg, int rc)
{
	struct spool_msg *m = arg;

	m->sealing = false;
	m->seal_err = rc;
	seal_check(m);
}

static void
durable_cb(void *arg, int rc, const char *path)
{
	struct spool_msg *m = arg;

	(void)path;
	m->durable_pending = false;
	if (rc < 0)
		m->sys_err = rc;        /* the file is gone */
	else
		m->committed = true;
	seal_check(m);
}

int
spool_msg_seal(struct spool_msg *m, int64_t now, void (*done)(void *arg), void *arg,
    const char **why)
{
	int rc, srt = 1;

	m->sealing = false;
	m->seal_err = 0;
	if (first_err(m))
		return first_err(m);
	if ((rc = spool_msg_flush(m)) < 0)
		return rc;
	now = sign_time(m, now);
	/* the signatures are computed by the key holder's workers while this
	 * process makes the file durable */
	if (m->signing && (srt = keys_sign_start(&m->sign, now, signed_cb, m, why)) < 0)
		return srt;             /* not a header error: the caller says 451 */
	m->sealing = srt == 0;
	m->seal_done = NULL;
	m->seal_arg = arg;
	if (m->scratch) {
		scratch_close(m);       /* the target's copy is the durable one */
		if (!m->sealing)
			return 1;
		m->seal_done = done;
		return 0;
	}
	/* durable together with the files of the other sessions that end now */
	if (gcommit_add(&m->f, m->path, true, durable_cb, m, &m->commit_ticket) == 0) {
		m->open = false;
		m->durable_pending = true;
	} else if ((rc = hal_storage_commit(&m->f, m->path)) < 0) {
		m->open = false;
		return m->sys_err = rc; /* discard() forgets the signatures */
	} else {
		m->open = false;
		m->committed = true;
	}
	if (!m->sealing && !m->durable_pending)
		return 1;
	m->seal_done = done;
	return 0;
}

int
spool_msg_sealed(struct spool_msg *m, uint8_t *out, size_t cap, size_t *len,
    void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
    const char **why)
{
	*len = 0;
	if (first_err(m))
		return first_err(m);
	if (m->sealing || m->durable_pending)
		return -EINPROGRESS;
	if (m->seal_err < 0) {
		*why = dkim_strerror(m->seal_err);
		return m->seal_err;
	}
	if (!m->signing)
		return 0;
	return keys_sign_output(&m->sign, out, cap, len, logcb, arg, why);
}

void
spool_msg_discard(struct spool_msg *m)
{
	if (m->scratch) {
		/* kept for the next message, emptied (its storage given back) */
		if (m->open)
			hal_storage_close(&m->f);
		if (!m->scratch_lost && hal_storage_open_scratch(&m->f, m->path, 0600) == 0)
			hal_storage_close(&m->f);
		if (m->slot >= 0 && m->slot < SCRATCH_SLOTS)
			slot_busy[m->slot] = false;
		m->slot = -1;
		m->scratch = false;
		m->open = m->committed = m->sealing = false;
		m->seal_done = NULL;
		keys_sign_free(&m->sign);
		return;
	}
	if (m->open)
		hal_storage_abort(&m->f);
	if (m->durable_pending)
		gcommit_cancel(m->commit_ticket);   /* the group commit removes it */
	m->durable_pending = false;
	m->seal_done = NULL;
	if (m->committed)
		hal_storage_remove(m->path);    /* -ENOENT once a target took it */
	m->open = m->committed = m->sealing = false;
	keys_sign_free(&m->sign);       /* an aborted message's hash contexts */
}

void
spool_msg_refusal(const struct spool_msg *m, const char *allowed, struct spool_msg_reply *r,
    char *text, size_t cap)
{
	r->code = 550;
	r->esc = "5.7.1";
	switch (m->hdr_err) {
	case DKIM_ERR_NO_FROM:
		snprintf(text, cap, "Message has no From header field; allowed domains: %s",
		    allowed);
		break;
	case DKIM_ERR_MULTIPLE_FROM:
		snprintf(text, cap, "Message has more than one From header field; exactly one "
		    "is required");
		break;
	case DKIM_ERR_FROM_SYNTAX:
		snprintf(text, cap, "From header field must name exactly one mailbox with a "
		    "domain (no group, list, NUL or unbalanced quote)");
		break;
	case DKIM_ERR_HEADER_SYNTAX:
		r->esc = "5.6.0";
		snprintf(text, cap, "Header line is not a header field (name, colon, value, no "
		    "space before the colon); end the header block with an empty line");
		break;
	case DKIM_ERR_HEADER_TOO_BIG:
		r->code = 552;
		r->esc = "5.3.4";
		snprintf(text, cap, "Header block larger than %u octets",
		    (unsigned)sizeof(m->sign.hdrbuf));
		break;
	case DKIM_ERR_TOO_MANY_HEADERS:
		r->code = 552;
		r->esc = "5.3.4";
		snprintf(text, cap, "Header block has more than %u fields",
		    (unsigned)DKIM_MAX_HEADERS);
		break;
	default:
		r->code = 451;
		r->esc = "4.3.0";
		snprintf(text, cap, "Message not acceptable to the signer (%s); try again later",
		    dkim_strerror(m->hdr_err));
		break;
	}
}

/* Every file in the spool directory is a message no client was told was
 * accepted (a committed one was handed over before the reply): all go. The
 * scratch files too, unread (reading one is opening whatever took its name,
 * a FIFO would hang the start): each is made again at its first use, one
 * creation per slot per start. */
static bool
unacknowledged(void *arg, const char *name)
{
	(void)arg;
	if (strncmp(name, SCRATCH_PREFIX, sizeof(SCRATCH_PREFIX) - 1) == 0)
		return true;
	hal_log(HAL_LOG_INFO, MOD, "removing %s: left by a session that did not finish "
	    "(never acknowledged)", name);
	return true;
}

int
spool_msg_sweep(const char *data_dir)
{
	char dir[HAL_PATH_MAX - HANDOFF_ID_MAX - 2];
	int n;

	if ((n = spool_dir(dir, sizeof(dir), data_dir)) < 0)
		return n;
	n = hal_storage_sweep(dir, unacknowledged, dir);
	if (n > 0)
		hal_log(HAL_LOG_WARN, MOD, "%s: removed %d file(s) left by an earlier run "
		    "(stopped mid-message)", dir, n);
	return n;
}
