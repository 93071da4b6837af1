/*
 * libFuzzer target: the console engine and the configuration grammar.
 *
 * First input byte selects the mode, the rest is data:
 *   bit 0 clear: the bytes go through console_push() (bit 1: raw tty mode,
 *                with echo and line editing, Tab completion, '?' help and
 *                Ctrl-V), then console_eof(); the line stays in bounds;
 *   bit 0 set:   the data is split into lines for config_set_line(), then
 *                the round-trip property is checked: the candidate's dump
 *                (secrets included), applied to fresh defaults, rebuilds
 *                exactly the same candidate. A difference aborts.
 *                With bit 2 also set: the lines before the first empty
 *                line are committed, the rest edit the candidate, and
 *                config_diff() (`show diff`) must either say that it is
 *                incomplete or give lines that, applied to the running
 *                configuration, rebuild the candidate.
 * Storage is an in-memory sink, so `save` never touches the file system.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "hal/storage.h"

static int
null_open_write(struct hal_file *f, const char *final_path, unsigned mode)
{
	(void)final_path;
	(void)mode;
	f->h = 3;
	f->tmp[0] = 0;
	return 0;
}
static int
null_write(struct hal_file *f, const void *p, size_t n)
{
	(void)f;
	(void)p;
	(void)n;
	return 0;
}
static int
null_commit(struct hal_file *f, const char *p)
{
	(void)f;
	(void)p;
	return 0;
}
static void
null_abort(struct hal_file *f)
{
	(void)f;
}
static int
null_open_read(struct hal_file *f, const char *p)
{
	(void)f;
	(void)p;
	return -ENOENT;
}
static ssize_t
null_read(struct hal_file *f, void *p, size_t n)
{
	(void)f;
	(void)p;
	(void)n;
	return 0;
}
static void
null_close(struct hal_file *f)
{
	(void)f;
}
static int
null_remove(const char *p)
{
	(void)p;
	return 0;
}
static int
null_mkdirs(const char *p, unsigned m)
{
	(void)p;
	(void)m;
	return 0;
}
static int
null_exists(const char *p)
{
	(void)p;
	return 0;
}

static const struct hal_storage_ops null_storage = {
	.name = "fuzz sink",
	.open_write = null_open_write,
	.write = null_write,
	.commit = null_commit,
	.abort = null_abort,
	.open_read = null_open_read,
	.read = null_read,
	.close = null_close,
	.remove = null_remove,
	.mkdirs = null_mkdirs,
	.exists = null_exists,
};

static size_t outbytes;

static void
sink(void *arg, const uint8_t *p, size_t n)
{
	(void)arg;
	(void)p;
	outbytes += n;
}

static char dumped[65536];
static size_t dumplen;

static void
collect(void *arg, const char *line)
{
	size_t n = strlen(line);

	(void)arg;
	if (dumplen + n + 1 >= sizeof(dumped))
		abort(); /* a dump cannot be this large */
	memcpy(dumped + dumplen, line, n);
	dumped[dumplen + n] = '\n';
	dumplen += n + 1;
	dumped[dumplen] = 0;
}

static char shown[sizeof(dumped)];

static void
round_trip(const uint8_t *p, size_t n)
{
	static char line[2048];
	static struct zcfg first;
	char err[512];
	size_t len = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = p[i] ? (char)p[i] : ' ';
			continue;
		}
		line[len] = 0;
		config_set_line(line, err, sizeof(err));
		len = 0;
	}
	first = *zcfg_candidate();
	dumplen = 0;
	config_dump(&first, true, collect, NULL);
	config_init();
	memcpy(shown, dumped, dumplen + 1); /* the loop below cuts dumped into lines */
	for (char *s = dumped, *nl; (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
		*nl = 0;
		if (config_set_line(s, err, sizeof(err)) != 0) {
			fprintf(stderr, "dumped line refused: '%s': %s\n", s, err);
			abort();
		}
	}
	first.generation = zcfg_candidate()->generation;
	config_canonical(&first); /* a delete leaves a hole the reload has not */
	if (memcmp(&first, zcfg_candidate(), sizeof(first)) != 0) {
		const uint8_t *a = (const uint8_t *)&first, *b = (const uint8_t *)zcfg_candidate();
		size_t at = 0;

		while (a[at] == b[at])
			at++;
		fprintf(stderr, "dump does not rebuild the candidate (first difference at byte %zu "
		    "of struct zcfg):\n%s", at, shown);
		abort();
	}
}

static void
diff_trip(const uint8_t *p, size_t n)
{
	static char line[2048];
	static struct zcfg want, got;
	char err[512];
	size_t len = 0;
	bool committed = false;
	int rc;

	for (size_t i = 0; i <= n; i++) {
		if (i < n && p[i] != '\n') {
			if (len < sizeof(line) - 1)
				line[len++] = p[i] ? (char)p[i] : ' ';
			continue;
		}
		line[len] = 0;
		if (len == 0 && !committed) {
			if (config_commit(err, sizeof(err)) != 0)
				config_discard();
			committed = true;
		} else
			config_set_line(line, err, sizeof(err));
		len = 0;
	}
	want = *zcfg_candidate();
	dumplen = 0;
	rc = config_diff(zcfg_running(), &want, true, collect, NULL);
	if (rc < 0 || (rc == 0 && dumplen != 0))
		abort();
	if (strstr(dumped, "# not every change") != NULL && dumplen > 0)
		return;
	config_discard();
	for (char *s = dumped, *nl; dumplen > 0 && (nl = strchr(s, '\n')) != NULL; s = nl + 1) {
		*nl = 0;
		(void)config_set_line(s, err, sizeof(err));
	}
	want.generation = zcfg_candidate()->generation;
	got = *zcfg_candidate();
	config_canonical(&want);
	config_canonical(&got);
	if (memcmp(&want, &got, sizeof(want)) != 0) {
		fprintf(stderr, "show diff does not rebuild the candidate\n");
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct console con;

	if (size == 0)
		return 0;
	hal_storage_set(&null_storage);
	config_init();
	console_set_save_path("/fuzz/zegel.conf");
	if ((data[0] & 5) == 5) {
		dumped[0] = 0;
		diff_trip(data + 1, size - 1);
		return 0;
	}
	if (data[0] & 1) {
		round_trip(data + 1, size - 1);
		return 0;
	}
	console_init(&con, sink, NULL, (data[0] & 2) != 0);
	console_prompt(&con);
	size_t used = console_push(&con, data + 1, size - 1);
	if (used > size - 1)
		abort();
	/* Tab completion and '?' (raw mode) keep the line within its bounds */
	if (con.len > CONFIG_CONSOLE_LINE_MAX || con.cur > con.len)
		abort();
	if (!console_wants_exit(&con))
		console_eof(&con);
	return 0;
}
