/*
 * Durable files on a POSIX file system: write to "<final>.tmp.<pid>.<n>",
 * fsync, rename over the final name, fsync the directory (so the rename itself
 * survives a power cut).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hal/storage.h"

static unsigned tmp_seq;

/* fsync of a directory (EINVAL: a file system that cannot, e.g. tmpfs on
 * old kernels, counts as done). */
static int
posix_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0 && errno != EINVAL)
		rc = -errno;
	close(fd);
	return rc;
}

static int
fsync_dir_of(const char *path)
{
	char dir[HAL_PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	return posix_sync_dir(dir);
}

static int
posix_open_write(struct hal_file *f, const char *final_path, unsigned mode)
{
	struct stat st;

	f->h = -1;
	f->written = 0;
	/* Renaming over a device or directory would destroy it (/dev/null!). */
	if (lstat(final_path, &st) == 0 && !S_ISREG(st.st_mode)) {
		f->tmp[0] = 0;
		return -EPERM;
	}
	/*
	 * A power cut during a write leaves its temporary file behind, and on a
	 * firmware image the pid repeats at every boot: skip names that exist.
	 */
	for (int tries = 0; tries < 64; tries++) {
		int n = snprintf(f->tmp, sizeof(f->tmp), "%s.tmp.%ld.%u", final_path,
		    (long)getpid(), tmp_seq++);

		if (n < 0 || (size_t)n >= sizeof(f->tmp)) {
			f->tmp[0] = 0;
			return -ENAMETOOLONG;
		}
		f->h = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
		if (f->h >= 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	f->tmp[0] = 0;
	return -errno;
}

static int
posix_write(struct hal_file *f, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(f->h, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
		f->written += (uint64_t)w;
	}
	return 0;
}

static void
posix_abort(struct hal_file *f)
{
	if (f->h >= 0)
		close(f->h);
	if (f->tmp[0])
		unlink(f->tmp);
	f->h = -1;
	f->tmp[0] = 0;
}

static int
posix_commit(struct hal_file *f, const char *final_path)
{
	int rc = 0;

	if (fsync(f->h) != 0)
		rc = -errno;
	if (close(f->h) != 0 && rc == 0)
		rc = -errno;
	f->h = -1;
	if (rc == 0 && rename(f->tmp, final_path) != 0)
		rc = -errno;
	if (rc != 0) {
		posix_abort(f);
		return rc;
	}
	f->tmp[0] = 0;
	return fsync_dir_of(final_path);
}

static int
posix_open_read(struct hal_file *f, const char *path)
{
	f->tmp[0] = 0;
	f->written = 0;
	f->h = open(path, O_RDONLY | O_CLOEXEC);
	return f->h < 0 ? -errno : 0;
}

static ssize_t
posix_read(struct hal_file *f, void *p, size_t n)
{
	for (;;) {
		ssize_t r = read(f->h, p, n);
		if (r >= 0)
			return r;
		if (errno != EINTR)
			return -errno;
	}
}

static void
posix_file_close(struct hal_file *f)
{
	if (f->h >= 0)
		close(f->h);
	f->h = -1;
}

static int
posix_remove(const char *path)
{
	return unlink(path) == 0 ? 0 : -errno;
}

static int
posix_mkdirs(const char *path, unsigned mode)
{
	char buf[HAL_PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == 0) {
			char c = *p;
			*p = 0;
			if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
				return -errno;
			*p = c;
			if (c == 0)
				break;
		}
	}
	return 0;
}

static int
posix_exists(const char *path)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}

static int
posix_free_bytes(const char *path, uint64_t *out)
{
	struct statvfs sv;

	if (statvfs(path, &sv) != 0)
		return -errno;
	*out = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return 0;
}

static int
posix_list(const char *dir, int (*fn)(void *arg, const char *name), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int rc = 0;

	if (d == NULL)
		return -errno;
	for (;;) {
		errno = 0;
		e = readdir(d);
		if (e == NULL) {
			if (errno != 0)
				rc = -errno;
			break;
		}
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = fn(arg, e->d_name);
		if (rc != 0)
			break;
	}
	closedir(d);
	return rc;
}

static bool
same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	size_t na = sa ? (size_t)(sa - a) : 0, nb = sb ? (size_t)(sb - b) : 0;

	return na == nb && memcmp(a, b, na) == 0;
}

/*
 * No-replace rename: renameat2(RENAME_NOREPLACE) where the kernel and the
 * file system have it (atomic); else link() (fails with EEXIST, never
 * replaces) then unlink() of the old name. A crash between those two leaves
 * the file under both names, which the callers' start-up sweeps resolve.
 */
static int
posix_rename_new(const char *from, const char *to)
{
	int rc;

#if defined(SYS_renameat2)
	if (syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, 1u /* RENAME_NOREPLACE */) == 0) {
		if ((rc = fsync_dir_of(to)) != 0)
			return rc;
		return same_dir(from, to) ? 0 : fsync_dir_of(from);
	}
	if (errno != ENOSYS && errno != EINVAL && errno != ENOTSUP)
		return -errno;
#endif
	if (link(from, to) != 0)
		return -errno;
	if ((rc = fsync_dir_of(to)) != 0) {
		unlink(to);
		return rc;
	}
	if (unlink(from) != 0)
		return -errno;
	return fsync_dir_of(from);
}

/* A scratch file used again: O_TRUNC on the existing inode, O_CREAT only
 * the first time (no inode allocated and none freed per use). */
static int
posix_open_scratch(struct hal_file *f, const char *path, unsigned mode)
{
	struct stat st;
	int n;

	f->h = -1;
	f->written = 0;
	f->tmp[0] = 0;
	n = snprintf(f->tmp, sizeof(f->tmp), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(f->tmp)) {
		f->tmp[0] = 0;
		return -ENAMETOOLONG;
	}
	/* O_NONBLOCK: a FIFO put under the name must not stop the loop (it
	 * changes nothing for a regular file); the type is checked on the fd
	 * itself, so nothing can be swapped in between, and only then is the
	 * file emptied (O_TRUNC at the open would already have emptied a file
	 * this name is a second link of). */
	f->h = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, (mode_t)mode);
	if (f->h < 0) {
		n = errno == ELOOP || errno == EISDIR || errno == ENXIO ? EPERM : errno;
		f->tmp[0] = 0;
		return -n;
	}
	if (fstat(f->h, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
		n = EPERM;
	else if (ftruncate(f->h, 0) != 0)
		n = errno;
	else
		return 0;
	close(f->h);
	f->h = -1;
	f->tmp[0] = 0;
	return -n;
}

static int
posix_sync(struct hal_file *f)
{
	return fdatasync(f->h) != 0 ? -errno : 0;
}

static int
posix_publish(struct hal_file *f, const char *final_path, bool replace)
{
	int rc = 0;

	if (f->h >= 0 && close(f->h) != 0)
		rc = -errno;
	f->h = -1;
	if (rc == 0 && replace && rename(f->tmp, final_path) != 0)
		rc = -errno;
#if defined(SYS_renameat2)
	if (rc == 0 && !replace && syscall(SYS_renameat2, AT_FDCWD, f->tmp, AT_FDCWD, final_path,
	    1u /* RENAME_NOREPLACE */) != 0) {
		rc = -errno;
		if (rc == -ENOSYS || rc == -EINVAL || rc == -ENOTSUP)
			rc = link(f->tmp, final_path) != 0 ? -errno
			    : unlink(f->tmp) != 0 ? -errno : 0;
	}
#else
	if (rc == 0 && !replace)
		rc = link(f->tmp, final_path) != 0 ? -errno : unlink(f->tmp) != 0 ? -errno : 0;
#endif
	if (rc == -EEXIST && !replace)
		return rc;              /* the temporary file stays for another name */
	if (rc != 0) {
		posix_abort(f);
		return rc;
	}
	f->tmp[0] = 0;
	return 0;
}

const struct hal_storage_ops hal_storage_posix = {
	.name = "posix (fsync+rename)",
	.open_write = posix_open_write,   /* "<final>.tmp.<pid>.<n>", O_EXCL */
	.write = posix_write,
	.commit = posix_commit,           /* fsync, rename, fsync the directory */
	.abort = posix_abort,
	.open_read = posix_open_read,
	.read = posix_read,
	.close = posix_file_close,
	.remove = posix_remove,
	.mkdirs = posix_mkdirs,
	.exists = posix_exists,
	.free_bytes = posix_free_bytes,
	.list = posix_list,
	.sync_dir = posix_sync_dir,
	.rename_new = posix_rename_new,
	.sync = posix_sync,                /* fdatasync */
	.publish = posix_publish,          /* close, rename (no-replace: renameat2) */
	.open_scratch = posix_open_scratch, /* O_TRUNC, O_CREAT the first time */
};
