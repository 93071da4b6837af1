/*
 * Log lines: level filter, a small ring for `show log`, and the stderr
 * sink's bounded output buffer (see hal/log.h for the model).
 *
 * The output buffer is a byte ring of whole lines, each ending in '\n'
 * (messages cannot hold one: controls become '?'). head is the oldest byte
 * not yet written, used the bytes waiting. A line whose first bytes were
 * written (a partial write) is "started"; dropping it leaves a torn line on
 * the output, which the drop notice ends with its own leading '\n'.
 *
 * Writing without blocking (out_open). The descriptor is usually the
 * console's tty, or a pipe. Setting O_NONBLOCK on it would also set it for
 * every descriptor sharing its open file description: stdin and stdout of
 * the console are dups of the same tty description, and the console's
 * reads and writes (hal/posix/uart.c) expect blocking semantics, so would
 * a parent shell. dup() shares the description and does not help. So:
 *   - a regular file: written as is (no flow control, it never waits for
 *     a reader);
 *   - a socket: send(MSG_DONTWAIT), which is per call;
 *   - a tty, pipe or other character device: reopened through
 *     /proc/self/fd/N with O_NONBLOCK, which makes a NEW open file
 *     description on the same tty or pipe: its O_NONBLOCK is ours alone;
 *   - if that is impossible (no /proc): poll() for POLLOUT with a zero
 *     timeout before each write and write one line at most. A pipe that
 *     polls writable has a free buffer page, so a write of up to PIPE_BUF
 *     bytes completes at once; a tty polls writable with fewer than 256
 *     bytes queued, so one line (< 600 bytes) fits its usual 4 KiB
 *     buffer. Not a guarantee for every driver, hence the last resort.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "generated/autoconf.h"
#include "hal/clock.h"
#include "hal/log.h"

#define RING_LINES CONFIG_LOG_RING_LINES
#define LINE_MAX_LEN 480
#define OUT_CAP CONFIG_LOG_BUFFER_SIZE
#define FLUSH_POLL_MS 200
#define FLUSH_IDLE_ROUNDS 10    /* give up after ~2 s without progress */

_Static_assert(OUT_CAP >= 1024, "a log line must fit the output buffer");

static const struct hal_log_ops *sink = &hal_log_stderr;
static enum hal_log_level level = HAL_LOG_INFO;
struct ring_line {
	int64_t t;              /* UNIX seconds */
	uint8_t lvl;
	char text[LINE_MAX_LEN + 48]; /* "zegel/module: line" */
};
static struct ring_line ring[RING_LINES];
static unsigned ring_next;
static hal_log_tap_fn tap;
static void *tap_arg;
static bool in_tap;
static struct {
	void (*hide)(void *arg);
	void (*show)(void *arg);
	void *arg;
	bool hidden;
} con;

enum out_mode { OUT_UNSET = 0, OUT_FILE, OUT_SOCKET, OUT_PRIVATE, OUT_POLL };

/* The ring's bytes stay out of the initialised struct below: .bss, not .data. */
static char out_buf[OUT_CAP];
static struct {
	size_t head, used;
	bool started;           /* the head line was partly written */
	bool torn;              /* a started line was dropped: end it first */
	unsigned long dropped;  /* lines dropped, not yet reported */
	char note[160];         /* the drop notice being written */
	size_t note_len, note_off;
	int fd;                 /* the descriptor hal_log_set_fd() named */
	int wfd;                /* what is written: fd or a private reopen */
	enum out_mode mode;
	bool at_exit;
	void (*notify)(void *arg);
	void *notify_arg;
} out = { .fd = STDERR_FILENO, .wfd = -1 };

void hal_log_set(const struct hal_log_ops *ops) { sink = ops; }
void hal_log_set_level(enum hal_log_level lvl) { level = lvl; }
enum hal_log_level hal_log_level(void) { return level; }

/* zegel's clock (the NTP software offset included) once the board set it
 * up, the system clock before. */
static int64_t
wall_ms(void)
{
	if (hal_clock() != NULL)
		return hal_clock_now_ms();
	return (int64_t)time(NULL) * 1000;
}

void hal_log_set_tap(hal_log_tap_fn fn, void *arg) { tap = fn; tap_arg = arg; }

void
hal_log_set_console(void (*hide)(void *arg), void (*show)(void *arg), void *arg)
{
	con.hide = hide;
	con.show = show;
	con.arg = arg;
	con.hidden = false;
}

const char *
hal_log_level_name(enum hal_log_level lvl)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	return names[(unsigned)lvl & 3];
}

void
hal_vlog(enum hal_log_level lvl, const char *module, const char *fmt, va_list ap)
{
	char line[LINE_MAX_LEN];

	if (lvl > level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	/* one event, one line: no line breaks or terminal escapes */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 ? *p != '\t' : *p == 0x7f)
			*p = '?';
	{
		struct ring_line *r = &ring[ring_next % RING_LINES];
		int64_t ms = wall_ms();

		r->t = ms / 1000;
		r->lvl = (uint8_t)lvl;
		snprintf(r->text, sizeof(r->text), "zegel/%s: %s", module, line);
		ring_next++;
		if (tap != NULL && !in_tap) {
			in_tap = true;
			tap(tap_arg, ms, lvl, module, line);
			in_tap = false;
		}
	}
	if (sink && sink->write)
		sink->write(lvl, module, line);
}

void
hal_log(enum hal_log_level lvl, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hal_vlog(lvl, module, fmt, ap);
	va_end(ap);
}

static bool
ring_wanted(const struct ring_line *r, const struct hal_log_filter *f)
{
	return r->lvl <= f->level && (f->match == NULL || f->match[0] == 0 ||
	    strstr(r->text, f->match) != NULL);
}

unsigned
hal_log_ring_query(const struct hal_log_filter *f, void (*emit)(void *arg, const char *line),
    void *arg)
{
	unsigned have = ring_next < RING_LINES ? ring_next : RING_LINES;
	unsigned first = ring_next - have, skip = 0, n = 0;
	char out[LINE_MAX_LEN + 96], ts[32];

	/* the last max matching lines: count them first, skip the older ones */
	if (f->max > 0) {
		unsigned match = 0;

		for (unsigned i = first; i != ring_next; i++)
			match += ring_wanted(&ring[i % RING_LINES], f);
		skip = match > f->max ? match - f->max : 0;
	}
	for (unsigned i = first; i != ring_next; i++) {
		const struct ring_line *r = &ring[i % RING_LINES];
		time_t t = (time_t)r->t;
		struct tm tm;

		if (!ring_wanted(r, f))
			continue;
		if (skip > 0) {
			skip--;
			continue;
		}
		if (gmtime_r(&t, &tm) == NULL || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
			snprintf(ts, sizeof(ts), "@%lld", (long long)r->t);
		snprintf(out, sizeof(out), "%s %s %s", ts, hal_log_level_name(r->lvl), r->text);
		emit(arg, out);
		n++;
	}
	return n;
}

void
hal_log_ring_dump(void (*emit)(void *arg, const char *line), void *arg, unsigned max)
{
	struct hal_log_filter f = { max, HAL_LOG_DEBUG, NULL };

	if (max > 0)
		(void)hal_log_ring_query(&f, emit, arg);
}

/* ------------------------------------------------------------ output */

static void
out_close(void)
{
	if (out.mode == OUT_PRIVATE && out.wfd >= 0)
		close(out.wfd);
	out.wfd = -1;
	out.mode = OUT_UNSET;
}

/* Pick how to write out.fd without blocking (see the top of the file). */
static void
out_open(void)
{
	struct stat st, st2;
	char path[40];
	int fd, fl;

	out.wfd = out.fd;
	if (fstat(out.fd, &st) != 0) {
		out.mode = OUT_POLL;
		return;
	}
	if (S_ISREG(st.st_mode)) {
		out.mode = OUT_FILE;
		return;
	}
	if (S_ISSOCK(st.st_mode)) {
		out.mode = OUT_SOCKET;
		return;
	}
	fl = fcntl(out.fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK)) {
		out.mode = OUT_FILE;    /* already non-blocking: write says EAGAIN */
		return;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", out.fd);
	fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st2) == 0 && st2.st_dev == st.st_dev &&
	    st2.st_ino == st.st_ino && st2.st_rdev == st.st_rdev) {
		out.wfd = fd;
		out.mode = OUT_PRIVATE;
		return;
	}
	if (fd >= 0)
		close(fd);
	out.mode = OUT_POLL;
}

/* Write up to n bytes now; returns the bytes written, 0 if the output takes
 * none now, -1 on a lasting error. */
static ssize_t
out_write(const char *p, size_t n)
{
	struct pollfd pf;
	ssize_t w;

	if (out.mode == OUT_UNSET)
		out_open();
	if (out.mode == OUT_POLL) {
		const char *nl = memchr(p, '\n', n);

		pf.fd = out.wfd;
		pf.events = POLLOUT;
		pf.revents = 0;
		if (poll(&pf, 1, 0) <= 0 || !(pf.revents & POLLOUT))
			return pf.revents & (POLLERR | POLLHUP | POLLNVAL) ? -1 : 0;
		if (nl != NULL)
			n = (size_t)(nl - p) + 1;
		if (n > PIPE_BUF)
			n = PIPE_BUF;
	}
	do {
		if (out.mode == OUT_SOCKET)
			w = send(out.wfd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		else
			w = write(out.wfd, p, n);
	} while (w < 0 && errno == EINTR);
	if (w < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
	return w;
}

static void
stamp(char ts[32])
{
	time_t t = (time_t)(wall_ms() / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(ts, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The drop notice, stamped when it can be written (it is not in the ring). */
static void
note_make(void)
{
	char ts[32];
	int k;

	stamp(ts);
	k = snprintf(out.note, sizeof(out.note),
	    "%s%s zegel/log[%ld]: warning: %lu log line%s dropped (output too slow)\n",
	    out.torn ? "\n" : "", ts, (long)getpid(), out.dropped, out.dropped == 1 ? "" : "s");

	out.note_len = k > 0 && (size_t)k < sizeof(out.note) ? (size_t)k : 0;
	out.note_off = 0;
	out.dropped = 0;
	out.torn = false;
}

size_t
hal_log_pending(void)
{
	return out.used + (out.note_len - out.note_off) + (out.dropped ? 1 : 0);
}

/* Write what the output takes now: the drop notice first, then the ring. */
static size_t
out_drain(void)
{
	for (;;) {
		const char *p;
		size_t n;
		ssize_t w;
		bool note = false;

		if (out.note_off < out.note_len) {
			p = out.note + out.note_off;
			n = out.note_len - out.note_off;
			note = true;
		} else if (out.dropped) {
			note_make();
			continue;
		} else if (out.used > 0) {
			p = out_buf + out.head;
			n = out.used < OUT_CAP - out.head ? out.used : OUT_CAP - out.head;
		} else
			break;
		if (con.hide != NULL && !con.hidden && !out.started) {
			con.hidden = true;      /* clear the admin's input line first */
			con.hide(con.arg);
		}
		if ((w = out_write(p, n)) <= 0)
			break;
		if (note) {
			out.note_off += (size_t)w;
			continue;
		}
		out.started = p[w - 1] != '\n';
		out.head = (out.head + (size_t)w) % OUT_CAP;
		out.used -= (size_t)w;
	}
	if (con.hidden && !out.started && out.note_off >= out.note_len) {
		con.hidden = false;     /* at a line boundary: prompt and input again */
		con.show(con.arg);
	}
	return hal_log_pending();
}

/* Drop the oldest line of the ring. */
static void
out_drop_oldest(void)
{
	size_t k = 0;

	while (k < out.used && out_buf[(out.head + k) % OUT_CAP] != '\n')
		k++;
	k = k < out.used ? k + 1 : out.used;
	out.head = (out.head + k) % OUT_CAP;
	out.used -= k;
	out.dropped++;
	if (out.started)
		out.torn = true;
	out.started = false;
}

static void
out_append(const char *p, size_t n)
{
	size_t tail, first;

	while (OUT_CAP - out.used < n)
		out_drop_oldest();
	tail = (out.head + out.used) % OUT_CAP;
	first = n < OUT_CAP - tail ? n : OUT_CAP - tail;
	memcpy(out_buf + tail, p, first);
	memcpy(out_buf, p + first, n - first);
	out.used += n;
}

static void
flush_at_exit(void)
{
	hal_log_flush();
	out_close();
}

static void
stderr_write(enum hal_log_level lvl, const char *module, const char *line)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char buf[LINE_MAX_LEN + 128], ts[32];
	int k;

	stamp(ts);
	k = snprintf(buf, sizeof(buf) - 1, "%s zegel/%s[%ld]: %s%s%s", ts, module, (long)getpid(),
	    lvl <= HAL_LOG_WARN ? names[lvl] : "", lvl <= HAL_LOG_WARN ? ": " : "", line);
	if (k < 0)
		return;
	if ((size_t)k >= sizeof(buf) - 1)
		k = (int)sizeof(buf) - 2;
	buf[k++] = '\n';
	if (!out.at_exit) {
		out.at_exit = true;
		atexit(flush_at_exit);
	}
	out_drain();                    /* older lines first, room for this one */
	out_append(buf, (size_t)k);
	if (out_drain() > 0 && out.notify != NULL)
		out.notify(out.notify_arg);
}

size_t
hal_log_drain(void)
{
	return out_drain();
}

void
hal_log_set_notify(void (*fn)(void *arg), void *arg)
{
	out.notify = fn;
	out.notify_arg = arg;
}

void
hal_log_flush(void)
{
	unsigned idle = 0;
	size_t before;

	while ((before = hal_log_pending()) > 0 && idle < FLUSH_IDLE_ROUNDS) {
		struct pollfd pf;

		if (out_drain() < before) {
			idle = 0;
			continue;
		}
		idle++;
		pf.fd = out.wfd;
		pf.events = POLLOUT;
		pf.revents = 0;
		if (pf.fd >= 0)
			(void)poll(&pf, 1, FLUSH_POLL_MS);
	}
}

void
hal_log_set_fd(int fd)
{
	out_close();
	out.fd = fd;
	out.started = false;    /* the new output starts at a line boundary */
}

const struct hal_log_ops hal_log_stderr = {
	.name = "stderr",
	.write = stderr_write,
};
