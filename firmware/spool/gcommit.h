/*
 * firmware/spool/gcommit.h — group commit of spool and outbox files
 * (issue 22.2).
 *
 * Model. Instead of hal_storage_commit() (fsync, rename, fsync of the
 * directory, for each file on its own), a writer hands its finished file
 * to gcommit_add() and goes on; at the end of the window
 * (CONFIG_SPOOL_COMMIT_WINDOW_MS after the first file of a batch, 0: at
 * the end of the event loop's turn) every file of the batch is flushed
 * (hal_storage_sync, back to back: about one journal commit for all),
 * renamed to its final name (hal_storage_publish; one rename per file),
 * and each directory involved is flushed once. Then done(arg, rc, path)
 * is called for each, from the event loop, never from inside
 * gcommit_add(): rc 0 means the file is durable under path (for a
 * no-replace file path may differ: "<name>-k<ext>" when the name was
 * taken, see gcommit_add), or -errno and the file is gone.
 *
 *   rc = gcommit_add(f, final_path, replace, done, arg, &ticket)
 *        0: the batch owns the file (f is closed for the caller);
 *        -ENOTSUP (a backend without sync/publish) or -ENOSPC (the batch
 *        table is full): nothing taken, commit the file yourself.
 *   gcommit_cancel(ticket)   the caller is gone: the file is removed and
 *                            done() never called
 *
 * Off until gcommit_enable(true): `zegel run` turns it on once its event
 * loop exists; the tools and the unit tests that drive a session without
 * running the loop's timers commit each file on its own (-ENOTSUP).
 *
 * replace false: the name is never replaced; when it exists the file is
 * published as final_path with "-1", "-2" ... inserted before the last
 * ".ext" (the outbox's rule), at most 10 tries.
 * Single-threaded, in the event loop; no allocation.
 */
#ifndef ZEGEL_SPOOL_GCOMMIT_H
#define ZEGEL_SPOOL_GCOMMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "hal/storage.h"

typedef void (*gcommit_done_fn)(void *arg, int rc, const char *path);

int gcommit_add(struct hal_file *f, const char *final_path, bool replace, gcommit_done_fn done,
    void *arg, uint32_t *ticket);
void gcommit_cancel(uint32_t ticket);
void gcommit_enable(bool on);
/* Batches flushed and files committed so far (show status, tests). */
void gcommit_counts(unsigned long *batches, unsigned long *files);

#endif
