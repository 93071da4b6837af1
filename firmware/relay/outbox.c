/*
 * Relay target "outbox": each signed message becomes one file
 * <outbox>/<id>.eml for a local consumer. The session's spool file is a
 * reused scratch file (spool_scratch below, firmware/spool/msg.h): the
 * .eml is the one file created per message and the only one fsynced.
 * The .eml is written at start() and made durable by the group commit
 * (firmware/spool/gcommit.h, issue 22): done() comes from the event loop once it is (flushed, renamed to
 * its name, the directory flushed), together with the other sessions'
 * files of the same turn. Without the group commit (a full table, a
 * storage backend without sync/publish) it is the synchronous path below.
 *
 * A file is written under a temporary name, fsynced and committed under a
 * staging name (<id>.eml.tmp.new, hal/storage.h), then published with
 * hal_storage_rename_new(), which never replaces a file: an existing
 * <id>.eml (an id that came twice) is kept and the message goes to
 * <id>-1.eml ... instead. A reader never sees a partial message, and no
 * message ever overwrites another. Files are 0640 in a 0750 directory (the
 * consumer reads them through the group). Names containing ".eml.tmp." are
 * zegel's own unfinished files: relay_outbox_sweep() removes them at start.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/relay/outbox.h"
#include "firmware/spool/gcommit.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "zegel/text.h"

#define SMTPD_LINE_OUT 600
#define OUTBOX_FILE_MODE 0640
#define OUTBOX_DIR_MODE 0750
#define OUTBOX_TRIES 10

static const char *
outbox_dir(const struct zcfg *cfg)
{
	return cfg->relay.outbox[0] ? cfg->relay.outbox : "var/outbox";
}

static void
log_rcpts(const struct handoff_msg *m, const char *status, const char *text)
{
	char to[TEXT_LOG_ADDR_CAP];

	for (const char *r = handoff_rcpt_next(m, NULL); r; r = handoff_rcpt_next(m, r)) {
		text_log_addr(to, sizeof(to), r);
		hal_log(HAL_LOG_INFO, "relay", "%s: to=<%s>, relay=outbox, status=%s (%s)",
		    m->id, to, status, text);
	}
}

static int
copy_spool(struct hal_file *out, const char *spool)
{
	struct hal_file in;
	uint8_t buf[4096];
	ssize_t n;
	int rc = 0;

	if ((rc = hal_storage_open_read(&in, spool)) < 0)
		return rc;
	while ((n = hal_storage_read(&in, buf, sizeof(buf))) > 0)
		if ((rc = hal_storage_write(out, buf, (size_t)n)) < 0)
			break;
	hal_storage_close(&in);
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
write_envelope(struct hal_file *f, const struct handoff_msg *m)
{
	char line[SMTPD_LINE_OUT];
	int n, rc;

	n = snprintf(line, sizeof(line), "Return-Path: <%s>\r\n", m->mail_from);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EINVAL;
	if ((rc = hal_storage_write(f, line, (size_t)n)) < 0)
		return rc;
	for (const char *r = handoff_rcpt_next(m, NULL); r; r = handoff_rcpt_next(m, r)) {
		n = snprintf(line, sizeof(line), "X-Original-To: <%s>\r\n", r);
		if (n < 0 || (size_t)n >= sizeof(line))
			return -EINVAL;
		if ((rc = hal_storage_write(f, line, (size_t)n)) < 0)
			return rc;
	}
	return 0;
}

/* The staged, complete file: envelope, signatures, the spooled message. */
static int
write_staged(const struct handoff_msg *m, const char *stage)
{
	struct hal_file f;
	int rc;

	if ((rc = hal_storage_open_write(&f, stage, OUTBOX_FILE_MODE)) < 0)
		return rc;
	if ((rc = write_envelope(&f, m)) < 0 ||
	    (m->prefix_len && (rc = hal_storage_write(&f, m->prefix, m->prefix_len)) < 0) ||
	    (rc = copy_spool(&f, m->spool_path)) < 0) {
		hal_storage_abort(&f);
		return rc;
	}
	return hal_storage_commit(&f, stage);
}

/* Publish stage as <id>.eml, or <id>-k.eml when that exists: 0 with the
 * name in path, or -errno (the staged file is removed). */
static int
publish(const char *dir, const char *id, const char *stage, char *path, size_t cap)
{
	int rc = -EEXIST;

	for (int k = 0; k < OUTBOX_TRIES && rc == -EEXIST; k++) {
		int n = k == 0 ? snprintf(path, cap, "%s/%s.eml", dir, id)
			       : snprintf(path, cap, "%s/%s-%d.eml", dir, id, k);

		if (n < 0 || (size_t)n >= cap) {
			rc = -ENAMETOOLONG;
			break;
		}
		rc = hal_storage_rename_new(stage, path);
		if (rc == -EEXIST)
			hal_log(HAL_LOG_WARN, "relay", "%s: %s exists already: kept, not replaced",
			    id, path);
	}
	if (rc < 0)
		hal_storage_remove(stage);
	return rc;
}

/* A message whose file waits for the group commit. */
struct ob_job {
	bool used;
	uint32_t ticket;
	const struct handoff_msg *m;
	handoff_done_fn done;
	void *arg;
};

static struct ob_job ob_jobs[CONFIG_MAX_SESSIONS + 4];

static void
report(const struct handoff_msg *m, int rc, const char *path, handoff_done_fn done, void *arg)
{
	char text[HAL_PATH_MAX + 32];
	struct handoff_result r;

	if (rc < 0) {
		snprintf(text, sizeof(text), "cannot write %s: %s", path, strerror(-rc));
		log_rcpts(m, "deferred", text);
		if (rc == -ENOSPC)
			handoff_result_set(&r, 452, "4.3.1", "Insufficient system storage");
		else
			handoff_result_set(&r, 451, "4.3.0",
			    "Local error writing the outbox; try again later");
	} else {
		snprintf(text, sizeof(text), "written to %s", path);
		log_rcpts(m, "sent", text);
		snprintf(text, sizeof(text), "Ok: queued as %s", m->id);
		handoff_result_set(&r, 250, "2.0.0", text);
	}
	done(arg, &r);
}

static void
committed(void *arg, int rc, const char *path)
{
	struct ob_job *j = arg;

	j->used = false;
	report(j->m, rc, path, j->done, j->arg);
}

static void
outbox_cancel(void *handle)
{
	struct ob_job *j = handle;

	if (j == NULL || !j->used)
		return;
	gcommit_cancel(j->ticket);  /* the file is removed, committed() never runs */
	j->used = false;
}

/* The complete file, envelope, signatures and the spooled message, open
 * under a temporary name in f. */
static int
write_file(const struct handoff_msg *m, const char *path, struct hal_file *f)
{
	int rc;

	if ((rc = hal_storage_open_write(f, path, OUTBOX_FILE_MODE)) < 0)
		return rc;
	if ((rc = write_envelope(f, m)) < 0 ||
	    (m->prefix_len && (rc = hal_storage_write(f, m->prefix, m->prefix_len)) < 0) ||
	    (rc = copy_spool(f, m->spool_path)) < 0) {
		hal_storage_abort(f);
		return rc;
	}
	return 0;
}

static int
outbox_start(const struct handoff_msg *m, handoff_done_fn done, void *arg, void **handle)
{
	const char *dir = outbox_dir(m->cfg);
	char path[HAL_PATH_MAX], stage[HAL_PATH_MAX];
	struct ob_job *j = NULL;
	struct hal_file f;
	int rc;

	*handle = NULL;
	if ((size_t)snprintf(stage, sizeof(stage), "%s/%s.eml.tmp.new", dir, m->id) >=
	    sizeof(stage))
		return -ENAMETOOLONG;
	snprintf(path, sizeof(path), "%s/%s.eml", dir, m->id);
	hal_storage_mkdirs(dir, OUTBOX_DIR_MODE);
	for (unsigned i = 0; i < sizeof(ob_jobs) / sizeof(ob_jobs[0]) && j == NULL; i++)
		if (!ob_jobs[i].used)
			j = &ob_jobs[i];
	if (j != NULL) {
		if ((rc = write_file(m, path, &f)) < 0)
			goto fail;
		if (gcommit_add(&f, path, false, committed, j, &j->ticket) == 0) {
			j->used = true;
			j->m = m;
			j->done = done;
			j->arg = arg;
			*handle = j;
			return 0;
		}
		/* no group commit: on its own, as below */
		if ((rc = hal_storage_commit(&f, stage)) < 0 ||
		    (rc = publish(dir, m->id, stage, path, sizeof(path))) < 0)
			goto fail;
		report(m, 0, path, done, arg);
		return 0;
	}
	if ((rc = write_staged(m, stage)) < 0 ||
	    (rc = publish(dir, m->id, stage, path, sizeof(path))) < 0)
		goto fail;
	report(m, 0, path, done, arg);
	return 0;
fail:
	report(m, rc, path, done, arg);
	return 0;
}

/* At MAIL: room for the spool file and the outbox copy (both exist for a
 * moment), above the storage kept free (`set queue min-free`): else 452. */
static int
outbox_admit(const struct zcfg *cfg, uint64_t size)
{
	uint64_t avail, need = 2 * size + cfg->queue.min_free;
	const char *dir = outbox_dir(cfg);

	if (hal_storage_free_bytes(hal_storage_exists(dir) == 1 ? dir :
	    (cfg->data_dir[0] ? cfg->data_dir : "."), &avail) < 0)
		return 0;               /* cannot tell: the write will say */
	return avail < need ? -ENOSPC : 0;
}

/* Only our own unfinished files: the consumer's files are not ours. */
static bool
unfinished(void *arg, const char *name)
{
	(void)arg;
	return strstr(name, ".eml.tmp.") != NULL;
}

int
relay_outbox_sweep(const struct zcfg *cfg)
{
	const char *dir = outbox_dir(cfg);
	int n = hal_storage_sweep(dir, unfinished, NULL);

	if (n > 0)
		hal_log(HAL_LOG_WARN, "relay", "%s: removed %d unfinished outbox file(s) left by "
		    "an earlier run (stopped mid-write)", dir, n);
	return n;
}

const struct handoff_target_ops relay_outbox = {
	.name = "outbox",
	.start = outbox_start,
	.cancel = outbox_cancel,
	.admit = outbox_admit,
	.spool_scratch = true,      /* the .eml is the durable copy (issue 22.2) */
};
