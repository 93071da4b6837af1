/*
 * Saved generations of the configuration file: "<path>.1" .. ".3" (what
 * save replaced, newest first) and "<path>.good" (the last file a start
 * loaded). Every step is a whole-file copy through hal_storage_put()
 * (temporary file, fsync, rename): a power cut between two steps leaves
 * every file whole, at worst two generations alike.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/config/internal.h"
#include "hal/storage.h"

int
config_generation_path(const char *path, unsigned n, char *out, size_t cap)
{
	int w;

	if (n == CONFIG_GEN_GOOD)
		w = snprintf(out, cap, "%s.good", path);
	else
		w = snprintf(out, cap, "%s.%u", path, n);
	return w < 0 || (size_t)w >= cap ? -ENAMETOOLONG : 0;
}

/* from -> to; -ENOENT when from does not exist. buf holds CONFIG_FILE_MAX. */
static int
copy_with(char *buf, const char *from, const char *to, char *err, size_t errcap)
{
	size_t n = 0;
	int rc = hal_storage_get(from, buf, CONFIG_FILE_MAX, &n);

	if (rc != 0) {
		if (rc != -ENOENT)
			config_fail(err, errcap, "cannot read %s: %s", from, strerror(-rc));
		return rc;
	}
	rc = hal_storage_put(to, buf, n, 0600);
	if (rc != 0)
		config_fail(err, errcap, "cannot write %s: %s", to, strerror(-rc));
	config_wipe(buf, n);
	return rc;
}

/* 1 when path holds exactly p[0..n), 0 when not (or absent), < 0 on error. */
static int
same_content(char *buf, const char *path, const void *p, size_t n)
{
	size_t len = 0;
	int rc = hal_storage_get(path, buf, CONFIG_FILE_MAX, &len);

	if (rc == -ENOENT || rc == -EFBIG)
		return 0;
	if (rc != 0)
		return rc;
	rc = len == n && memcmp(buf, p, n) == 0;
	config_wipe(buf, len);
	return rc;
}

int
config_rotate(const char *path, unsigned keep, const void *new_text, size_t n, char *err,
    size_t errcap)
{
	char from[HAL_PATH_MAX + 8], to[HAL_PATH_MAX + 8];
	char *buf;
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	if (keep == 0 || hal_storage_exists(path) != 1)
		return 0;
	if ((buf = malloc(CONFIG_FILE_MAX)) == NULL)
		return config_fail(err, errcap, "out of memory"), -ENOMEM;
	rc = new_text != NULL ? same_content(buf, path, new_text, n) : 0;
	if (rc != 0) { /* the same text again: keep the older generations */
		free(buf);
		return rc < 0 ? config_fail(err, errcap, "cannot read %s: %s", path, strerror(-rc)),
		       rc     : 0;
	}
	for (unsigned g = keep; g >= 1; g--) {
		if (g == 1)
			snprintf(from, sizeof(from), "%s", path);
		else if (config_generation_path(path, g - 1, from, sizeof(from)) != 0)
			break;
		if (config_generation_path(path, g, to, sizeof(to)) != 0) {
			rc = config_fail(err, errcap, "%s: path too long", path);
			break;
		}
		rc = copy_with(buf, from, to, err, errcap);
		if (rc == -ENOENT)
			rc = 0; /* fewer generations than keep so far */
		if (rc != 0)
			break;
	}
	free(buf);
	return rc;
}

int
config_copy_file(const char *from, const char *to, char *err, size_t errcap)
{
	char *buf, *cur;
	size_t n = 0;
	int rc;

	if (err != NULL && errcap > 0)
		err[0] = 0;
	if ((buf = malloc(2 * (size_t)CONFIG_FILE_MAX)) == NULL)
		return config_fail(err, errcap, "out of memory"), -ENOMEM;
	cur = buf + CONFIG_FILE_MAX;
	rc = hal_storage_get(from, buf, CONFIG_FILE_MAX, &n);
	if (rc != 0)
		config_fail(err, errcap, "cannot read %s: %s", from, strerror(-rc));
	else if (same_content(cur, to, buf, n) != 1 &&
	    (rc = hal_storage_put(to, buf, n, 0600)) != 0)
		config_fail(err, errcap, "cannot write %s: %s", to, strerror(-rc));
	config_wipe(buf, n);
	free(buf);
	return rc;
}
