/*
 * Relay target "outbox": each signed message becomes one file
 * <outbox>/<id>.eml, written under a temporary name, fsynced and renamed
 * (hal/storage.h), so a reader never sees a partial message. Synchronous:
 * done() is called before start() returns.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/relay/outbox.h"
#include "hal/log.h"
#include "hal/storage.h"

#define SMTPD_LINE_OUT 600

static void
log_rcpts(const struct handoff_msg *m, const char *status, const char *text)
{
	for (const char *r = handoff_rcpt_next(m, NULL); r; r = handoff_rcpt_next(m, r))
		hal_log(HAL_LOG_INFO, "relay", "%s: to=<%s>, relay=outbox, status=%s (%s)",
		    m->id, r, status, text);
}

static int
copy_spool(struct hal_file *out, const char *spool)
{
	const struct hal_storage_ops *st = hal_storage();
	struct hal_file in;
	uint8_t buf[4096];
	ssize_t n;
	int rc;

	if ((rc = st->open_read(&in, spool)) < 0)
		return rc;
	while ((n = st->read(&in, buf, sizeof(buf))) > 0)
		if ((rc = st->write(out, buf, (size_t)n)) < 0)
			break;
	st->close(&in);
	if (n < 0)
		return (int)n;
	return rc < 0 ? rc : 0;
}

/*
 * Like a local delivery agent, record the envelope above the message:
 * Return-Path (RFC 5321 4.4) and X-Original-To. They are not signed and do
 * not disturb DKIM verification.
 */
static int
write_envelope(const struct hal_storage_ops *st, struct hal_file *f, const struct handoff_msg *m)
{
	char line[SMTPD_LINE_OUT];
	int n, rc;

	n = snprintf(line, sizeof(line), "Return-Path: <%s>\r\n", m->mail_from);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	if ((rc = st->write(f, line, (size_t)n)) < 0)
		return rc;
	for (const char *r = handoff_rcpt_next(m, NULL); r; r = handoff_rcpt_next(m, r)) {
		n = snprintf(line, sizeof(line), "X-Original-To: <%s>\r\n", r);
		if (n < 0 || (size_t)n >= sizeof(line))
			return -EINVAL;
		if ((rc = st->write(f, line, (size_t)n)) < 0)
			return rc;
	}
	return 0;
}

static int
outbox_start(const struct handoff_msg *m, handoff_done_fn done, void *arg, void **handle)
{
	const struct hal_storage_ops *st = hal_storage();
	const char *dir = m->cfg->relay.outbox[0] ? m->cfg->relay.outbox : "var/outbox";
	char path[HAL_PATH_MAX], text[HAL_PATH_MAX + 32];
	struct handoff_result r;
	struct hal_file f;
	int rc;

	*handle = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s.eml", dir, m->id) >= sizeof(path))
		return -ENAMETOOLONG;
	st->mkdirs(dir, 0755);
	if ((rc = st->open_write(&f, path, 0644)) < 0)
		goto fail;
	if ((rc = write_envelope(st, &f, m)) < 0) {
		st->abort(&f);
		goto fail;
	}
	if (m->prefix_len && (rc = st->write(&f, m->prefix, m->prefix_len)) < 0) {
		st->abort(&f);
		goto fail;
	}
	if ((rc = copy_spool(&f, m->spool_path)) < 0) {
		st->abort(&f);
		goto fail;
	}
	if ((rc = st->commit(&f, path)) < 0)
		goto fail;
	snprintf(text, sizeof(text), "written to %s", path);
	log_rcpts(m, "sent", text);
	snprintf(text, sizeof(text), "Ok: queued as %s", m->id);
	handoff_result_set(&r, 250, "2.0.0", text);
	done(arg, &r);
	return 0;
fail:
	snprintf(text, sizeof(text), "cannot write %s: %s", path, strerror(-rc));
	log_rcpts(m, "deferred", text);
	handoff_result_set(&r, 451, "4.3.0", "Local error writing the outbox; try again later");
	done(arg, &r);
	return 0;
}

const struct handoff_target_ops relay_outbox = {
	.name = "outbox",
	.start = outbox_start,
	.cancel = NULL,
};
