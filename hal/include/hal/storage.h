/*
 * hal/storage.h — durable files: the saved configuration, keys, spool, queue,
 * outbox.
 *
 * The one rule: a file that is visible under its final name is complete. A
 * writer opens a temporary file, writes, then commit() flushes it to the
 * medium, renames it to its final name and flushes the directory, so a power
 * cut leaves either the old file or the new one. abort() removes the
 * temporary file. Paths are plain strings; the POSIX backend maps them to the
 * file system, a flash backend to its own layout. board_init() picks the
 * backend (hal_storage_set()).
 */
#ifndef HAL_STORAGE_H
#define HAL_STORAGE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HAL_PATH_MAX 256

/* An open file. Backend state only: callers pass it to the ops and read
 * nothing in it. */
struct hal_file {
	int h;                    /* backend handle (POSIX: a file descriptor) */
	char tmp[HAL_PATH_MAX];   /* temporary name while writing, "" when reading */
	uint64_t written;
};

struct hal_storage_ops {
	const char *name;
	/* Create a temporary file next to final_path for writing, with mode.
	 * -EPERM if final_path exists and is not a regular file (replacing a
	 * device or a directory by rename would destroy it). */
	int (*open_write)(struct hal_file *f, const char *final_path, unsigned mode);
	int (*write)(struct hal_file *f, const void *p, size_t n);
	/* fsync, close, rename to final_path, fsync the directory. */
	int (*commit)(struct hal_file *f, const char *final_path);
	void (*abort)(struct hal_file *f);
	int (*open_read)(struct hal_file *f, const char *path);
	/* Bytes read, 0 at end, or -errno. */
	ssize_t (*read)(struct hal_file *f, void *p, size_t n);
	void (*close)(struct hal_file *f);
	int (*remove)(const char *path);
	int (*mkdirs)(const char *path, unsigned mode);
	int (*exists)(const char *path); /* 1, 0 or -errno */
	int (*free_bytes)(const char *path, uint64_t *out);
	/* Calls fn(arg, name) for each entry of directory dir except . and ..,
	 * in no particular order; fn may remove the entry it was given. Stops
	 * at the first non-zero return of fn and returns it; else 0 or -errno.
	 * NULL: -ENOTSUP (the queue needs it). */
	int (*list)(const char *dir, int (*fn)(void *arg, const char *name), void *arg);
	/* Makes earlier removals in directory dir durable (fsync of the
	 * directory; commit() already does this for its rename). */
	int (*sync_dir)(const char *dir);
	/* Gives the complete (committed) file from the name to, in the same or
	 * another directory of the same medium, NEVER replacing a file: -EEXIST
	 * if to exists (from is left as it was), -EXDEV if the two names are on
	 * different media. Both directories are flushed before it returns 0,
	 * so after a power cut the file is under to, or (only if the call did
	 * not return) under from, or under both names (a crash between the
	 * two steps of a backend without an atomic no-replace rename: the
	 * caller's start-up sweep removes the from name). Never a partial
	 * file, never a lost one. The queue takes the spool file with it (the
	 * body is written once), the outbox publishes its files with it.
	 * NULL: -ENOTSUP. */
	int (*rename_new)(const char *from, const char *to);
	/* Group commit (issue 22), both optional: a writer may instead of
	 * commit() call sync(f) (its data to the medium, f stays open), then
	 * publish(f, final_path, replace) (close, rename the temporary file to
	 * final_path; replace false never replaces: -EEXIST, the temporary
	 * file kept for another try; any other error removes it) and, once for
	 * several files, sync_dir() of their directory: the rename is durable
	 * only then. Several files' sync() back to back cost about one journal
	 * commit, and one sync_dir() covers all the renames in a directory. */
	int (*sync)(struct hal_file *f);
	int (*publish)(struct hal_file *f, const char *final_path, bool replace);
	/* Optional (issue 22.2): opens the scratch file path for writing from
	 * its start, truncated to nothing, creating it only if it does not
	 * exist, so a file used again and again costs no creation and no
	 * removal per use. NOT durable and not atomic: for a file no one is
	 * owed (the spool's per-session scratch files, removed by the start-up
	 * sweep). close() keeps the file for its next use; abort() removes it.
	 * -EPERM if path exists and is not a regular file of one link (a
	 * directory, a symbolic link, a FIFO, a device). NULL: -ENOTSUP
	 * (the caller writes a temporary file as before). */
	int (*open_scratch)(struct hal_file *f, const char *path, unsigned mode);
};

/* The POSIX file system backend (hal/posix/storage.c). */
extern const struct hal_storage_ops hal_storage_posix;

/* The active backend, set by board_init(); NULL before. */
const struct hal_storage_ops *hal_storage(void);
void hal_storage_set(const struct hal_storage_ops *ops);

/* Callers use these wrappers, never hal_storage()->op directly (an optional
 * op a backend leaves NULL answers -ENOTSUP). */
#define HAL_STORAGE_CALL(op, ...) \
	(hal_storage()->op ? hal_storage()->op(__VA_ARGS__) : -ENOTSUP)

static inline int
hal_storage_open_write(struct hal_file *f, const char *final_path, unsigned mode)
{
	return HAL_STORAGE_CALL(open_write, f, final_path, mode);
}

static inline int
hal_storage_write(struct hal_file *f, const void *p, size_t n)
{
	return HAL_STORAGE_CALL(write, f, p, n);
}

static inline int
hal_storage_commit(struct hal_file *f, const char *final_path)
{
	return HAL_STORAGE_CALL(commit, f, final_path);
}

static inline void
hal_storage_abort(struct hal_file *f)
{
	hal_storage()->abort(f);
}

static inline int
hal_storage_open_read(struct hal_file *f, const char *path)
{
	return HAL_STORAGE_CALL(open_read, f, path);
}

static inline ssize_t
hal_storage_read(struct hal_file *f, void *p, size_t n)
{
	return HAL_STORAGE_CALL(read, f, p, n);
}

static inline void
hal_storage_close(struct hal_file *f)
{
	hal_storage()->close(f);
}

static inline int
hal_storage_remove(const char *path)
{
	return HAL_STORAGE_CALL(remove, path);
}

static inline int
hal_storage_mkdirs(const char *path, unsigned mode)
{
	return HAL_STORAGE_CALL(mkdirs, path, mode);
}

static inline int
hal_storage_exists(const char *path)
{
	return HAL_STORAGE_CALL(exists, path);
}

static inline int
hal_storage_free_bytes(const char *path, uint64_t *out)
{
	return HAL_STORAGE_CALL(free_bytes, path, out);
}

static inline int
hal_storage_list(const char *dir, int (*fn)(void *arg, const char *name), void *arg)
{
	return HAL_STORAGE_CALL(list, dir, fn, arg);
}

static inline int
hal_storage_sync_dir(const char *dir)
{
	return HAL_STORAGE_CALL(sync_dir, dir);
}

static inline int
hal_storage_sync(struct hal_file *f)
{
	return HAL_STORAGE_CALL(sync, f);
}

static inline int
hal_storage_publish(struct hal_file *f, const char *final_path, bool replace)
{
	return HAL_STORAGE_CALL(publish, f, final_path, replace);
}

static inline int
hal_storage_open_scratch(struct hal_file *f, const char *path, unsigned mode)
{
	return HAL_STORAGE_CALL(open_scratch, f, path, mode);
}

static inline int
hal_storage_rename_new(const char *from, const char *to)
{
	return HAL_STORAGE_CALL(rename_new, from, to);
}

/* Whole-file helpers over the ops (hal/storage.c, any backend). */
int hal_storage_put(const char *path, const void *p, size_t n, unsigned mode);
/* Reads at most cap bytes; -EFBIG if the file is larger. */
int hal_storage_get(const char *path, void *buf, size_t cap, size_t *len);
/* Start-up clean-up: removes each entry of directory dir for which
 * doomed(arg, name) says true, then makes the removals durable. Returns the
 * number removed, 0 if dir does not exist or the backend cannot list, or
 * -errno. */
int hal_storage_sweep(const char *dir, bool (*doomed)(void *arg, const char *name), void *arg);

#endif
