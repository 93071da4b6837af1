/* Group commit of spool and outbox files (gcommit.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/core/loop.h"
#include "firmware/spool/gcommit.h"
#include "hal/log.h"

/* each session has at most one file here at a time (its spool file, then
 * its outbox file), the queue's DSNs none */
#define JOBS (CONFIG_MAX_SESSIONS + 4)
#define NAME_TRIES 10

struct job {
	bool used, cancelled, batch;
	bool replace;
	int rc;
	uint32_t id;
	struct hal_file f;
	gcommit_done_fn done;
	void *arg;
	char path[HAL_PATH_MAX];
};

static struct job jobs[JOBS];
static uint32_t next_id = 1;
static int timer = -1;
static unsigned long nbatches, nfiles;
static bool enabled;

void
gcommit_enable(bool on)
{
	enabled = on;
}

void
gcommit_counts(unsigned long *batches, unsigned long *files)
{
	*batches = nbatches;
	*files = nfiles;
}

/* "dir/ID.eml" -> "dir/ID-k.eml" (k >= 1) */
static int
alt_name(const char *path, unsigned k, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	int n;

	if (dot == NULL || (slash != NULL && dot < slash))
		dot = path + strlen(path);
	n = snprintf(out, cap, "%.*s-%u%s", (int)(dot - path), path, k, dot);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int
publish(struct job *j)
{
	char alt[HAL_PATH_MAX];
	int rc = hal_storage_publish(&j->f, j->path, j->replace);

	for (unsigned k = 1; rc == -EEXIST && !j->replace && k < NAME_TRIES; k++) {
		hal_log(HAL_LOG_WARN, "spool", "%s exists already: kept, not replaced", j->path);
		if ((rc = alt_name(j->path, k, alt, sizeof(alt))) < 0)
			break;
		if ((rc = hal_storage_publish(&j->f, alt, false)) == 0)
			memcpy(j->path, alt, sizeof(alt));
	}
	if (rc != 0)
		hal_storage_abort(&j->f);
	return rc;
}

static size_t
dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == NULL ? 0 : (size_t)(slash - path);
}

static void
flush(void *arg)
{
	char dir[HAL_PATH_MAX];

	(void)arg;
	timer = -1;
	/* the batch: every file here now (a done() below may add the next) */
	for (unsigned i = 0; i < JOBS; i++)
		jobs[i].batch = jobs[i].used;
	/* 1. the data, back to back */
	for (unsigned i = 0; i < JOBS; i++)
		if (jobs[i].batch && !jobs[i].cancelled)
			jobs[i].rc = hal_storage_sync(&jobs[i].f);
	/* 2. one rename each */
	for (unsigned i = 0; i < JOBS; i++) {
		struct job *j = &jobs[i];

		if (!j->batch)
			continue;
		if (j->cancelled || j->rc != 0)
			hal_storage_abort(&j->f);
		else
			j->rc = publish(j);
	}
	/* 3. each directory once */
	for (unsigned i = 0; i < JOBS; i++) {
		struct job *j = &jobs[i];
		size_t n = dir_len(j->path);
		int rc;

		if (!j->batch || j->cancelled || j->rc != 0)
			continue;       /* failed, or its directory was flushed (1) */
		snprintf(dir, sizeof(dir), "%.*s", (int)(n ? n : 1), n ? j->path : ".");
		rc = hal_storage_sync_dir(dir);
		if (rc == -ENOTSUP)
			rc = 0;
		for (unsigned k = i; k < JOBS; k++)
			if (jobs[k].batch && !jobs[k].cancelled && jobs[k].rc == 0 &&
			    dir_len(jobs[k].path) == n && memcmp(jobs[k].path, j->path, n) == 0)
				jobs[k].rc = rc == 0 ? 1 : rc;  /* 1: durable */
	}
	nbatches++;
	/* 4. the writers */
	for (unsigned i = 0; i < JOBS; i++) {
		struct job *j = &jobs[i];
		gcommit_done_fn done = j->done;

		if (!j->batch)
			continue;
		j->batch = false;
		j->used = false;
		if (j->cancelled) {
			/* cancelled by an earlier writer's done(): never acknowledged */
			if (j->rc == 1)
				hal_storage_remove(j->path);
			continue;
		}
		if (j->rc == 1) {
			nfiles++;
			j->rc = 0;
		} else if (j->rc == 0) {
			j->rc = -EIO;
		}
		done(j->arg, j->rc, j->path);
	}
}

int
gcommit_add(struct hal_file *f, const char *final_path, bool replace, gcommit_done_fn done,
    void *arg, uint32_t *ticket)
{
	const struct hal_storage_ops *s = hal_storage();
	struct job *j = NULL;

	if (!enabled || s == NULL || s->sync == NULL || s->publish == NULL || s->sync_dir == NULL)
		return -ENOTSUP;
	if (strlen(final_path) >= HAL_PATH_MAX)
		return -ENAMETOOLONG;
	for (unsigned i = 0; i < JOBS && j == NULL; i++)
		if (!jobs[i].used)
			j = &jobs[i];
	if (j == NULL)
		return -ENOSPC;
	if (timer < 0 && (timer = loop_timer_add(CONFIG_SPOOL_COMMIT_WINDOW_MS, flush, NULL)) < 0)
		return -ENOSPC;
	memset(j, 0, sizeof(*j));
	j->used = true;
	j->replace = replace;
	j->id = next_id++;
	j->f = *f;
	j->done = done;
	j->arg = arg;
	snprintf(j->path, sizeof(j->path), "%s", final_path);
	f->h = -1;
	f->tmp[0] = 0;
	*ticket = j->id;
	return 0;
}

void
gcommit_cancel(uint32_t ticket)
{
	for (unsigned i = 0; i < JOBS; i++)
		if (jobs[i].used && jobs[i].id == ticket)
			jobs[i].cancelled = true; /* the flush removes the file */
}
