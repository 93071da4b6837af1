/* Whole-file helpers over the active backend (hal/storage.h), for any backend. */
#include <stdio.h>

#include "hal/storage.h"

int
hal_storage_put(const char *path, const void *p, size_t n, unsigned mode)
{
	struct hal_file f;
	int rc = hal_storage_open_write(&f, path, mode);

	if (rc != 0)
		return rc;
	rc = hal_storage_write(&f, p, n);
	if (rc != 0) {
		hal_storage_abort(&f);
		return rc;
	}
	return hal_storage_commit(&f, path);
}

int
hal_storage_get(const char *path, void *buf, size_t cap, size_t *len)
{
	struct hal_file f;
	size_t got = 0;
	int rc = hal_storage_open_read(&f, path);

	if (rc != 0)
		return rc;
	for (;;) {
		uint8_t extra;
		ssize_t r;

		if (got == cap) {
			r = hal_storage_read(&f, &extra, 1);
			rc = r > 0 ? -EFBIG : (int)r;
			break;
		}
		r = hal_storage_read(&f, (uint8_t *)buf + got, cap - got);
		if (r < 0) {
			rc = (int)r;
			break;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	hal_storage_close(&f);
	*len = got;
	return rc;
}

struct sweep {
	const char *dir;
	bool (*doomed)(void *arg, const char *name);
	void *arg;
	int n;
};

static int
sweep_one(void *arg, const char *name)
{
	struct sweep *sw = arg;
	char path[HAL_PATH_MAX];

	if (!sw->doomed(sw->arg, name))
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", sw->dir, name) >= (int)sizeof(path))
		return 0;
	if (hal_storage_remove(path) == 0)
		sw->n++;
	return 0;
}

int
hal_storage_sweep(const char *dir, bool (*doomed)(void *arg, const char *name), void *arg)
{
	struct sweep sw = { dir, doomed, arg, 0 };
	int rc;

	if (hal_storage_exists(dir) != 1)
		return 0;
	rc = hal_storage_list(dir, sweep_one, &sw);
	if (rc < 0 && rc != -ENOTSUP)
		return rc;
	if (sw.n > 0)
		hal_storage_sync_dir(dir);
	return sw.n;
}
