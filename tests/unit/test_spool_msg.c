/*
 * The message path through the spool (firmware/spool/msg.h) in whole
 * sessions: the body is written to storage once in direct mode (a storage
 * HAL wrapper counts every octet written), the start-up sweeps remove the
 * files a killed session leaves (spool and outbox) and nothing else, the
 * outbox never replaces a file and writes 0640/0750, a failing entropy
 * source refuses the message instead of reusing an id, and a full disk is
 * refused at MAIL in outbox mode; and, as a property, every message
 * accepted from the fuzz corpora is stored exactly as signed (dkimpy
 * verifies each stored file; skipped without /usr/bin/python3 + dkim).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/app/targets.h"
#include "firmware/config/config.h"
#include "firmware/keys/sign.h"
#include "firmware/relay/outbox.h"
#include "firmware/smtpd/conn.h"
#include "firmware/spool/msg.h"
#include "firmware/spool/queue.h"
#include "hal/entropy.h"
#include "hal/log.h"
#include "hal/storage.h"
#include "tests/unit/common/crypto_count.h"
#include "tests/unit/smtpd_testcfg.h"

static struct smtpd_conn conn;
static char rbuf[1 << 16];
static size_t rlen;
static char workdir[256], top[512];
static const struct zcfg *cfgp;

/* ------------------------------------------------------------ storage trace */

static uint64_t written;            /* octets through write() */
static unsigned opens;
static unsigned scratch_opens, scratch_creates, removes;
static bool fail_scratch_write;     /* write() to a scratch file: -ENOSPC */
static uint64_t fake_free = UINT64_MAX;

static int
t_write(struct hal_file *f, const void *p, size_t n)
{
	if (fail_scratch_write && strstr(f->tmp, "/scratch-"))
		return -ENOSPC;
	written += n;
	return hal_storage_posix.write(f, p, n);
}

static int
t_open_write(struct hal_file *f, const char *final_path, unsigned mode)
{
	opens++;
	return hal_storage_posix.open_write(f, final_path, mode);
}

/* A scratch file opened: a creation only when it did not exist. */
static int
t_open_scratch(struct hal_file *f, const char *path, unsigned mode)
{
	struct stat st;

	scratch_opens++;
	if (stat(path, &st) != 0)
		scratch_creates++;
	return hal_storage_posix.open_scratch(f, path, mode);
}

static int
t_remove(const char *path)
{
	removes++;
	return hal_storage_posix.remove(path);
}

static int
t_free(const char *path, uint64_t *out)
{
	if (fake_free != UINT64_MAX) {
		*out = fake_free;
		return 0;
	}
	return hal_storage_posix.free_bytes(path, out);
}

static struct hal_storage_ops traced;

static void
trace_on(void)
{
	traced = hal_storage_posix;
	traced.name = "posix, traced";
	traced.write = t_write;
	traced.open_write = t_open_write;
	traced.free_bytes = t_free;
	traced.open_scratch = t_open_scratch;
	traced.remove = t_remove;
	hal_storage_set(&traced);
	written = 0;
	opens = scratch_opens = scratch_creates = removes = 0;
}

/* ------------------------------------------------------------ session */

static void
drain(void)
{
	size_t n;
	const uint8_t *o = smtpd_out(&conn.smtp, &n);

	if (rlen + n >= sizeof(rbuf))
		rlen = 0;
	memcpy(rbuf + rlen, o, n);
	rlen += n;
	rbuf[rlen] = 0;
	smtpd_out_ack(&conn.smtp, n);
}

static void
feed(const char *p, size_t n)
{
	while (n > 0) {
		size_t k = smtpd_conn_input(&conn, (const uint8_t *)p, n);

		drain();
		assert_true(k > 0);
		p += k;
		n -= k;
	}
}

static void
session(const struct handoff_target_ops *t)
{
	struct hal_addr peer;

	hal_addr_parse(&peer, "127.0.0.1", 0);
	rlen = 0;
	smtpd_conn_init(&conn, cfgp, &cfgp->listeners[0], &peer, false);
	conn.relay_override = t;
	drain();
	feed("EHLO x.test\r\n", 13);
}

/* One message; the reply to the final dot (or to MAIL/RCPT if refused) is
 * the last line of rbuf. */
static void
send_msg(const char *body)
{
	static const char env[] = "MAIL FROM:<alice@example.test>\r\n"
				  "RCPT TO:<bob@remote.example>\r\nDATA\r\n";

	rlen = 0;
	feed(env, strlen(env));
	if (strstr(rbuf, "354") == NULL)
		return;
	feed(body, strlen(body));
	feed(".\r\n", 3);
}

static const char *
last_reply(void)
{
	size_t n = rlen;

	while (n > 2 && rbuf[n - 3] != '\n')
		n--;
	return n > 2 ? rbuf + n - 2 : rbuf;
}

static int
count_dir(const char *dir, const char *part)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && (part == NULL || strstr(e->d_name, part)))
			n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------ direct mode */

/* The direct target's start(), on the real queue (firmware/relay/direct.c
 * d_start without the delivery side). */
static int
q_start(const struct handoff_msg *m, handoff_done_fn done, void *arg, void **handle)
{
	struct handoff_result r;
	char id[QUEUE_ID_MAX];
	struct queue_new qn = {
		.mail_from = m->mail_from, .rcpts = m->rcpts, .nrcpt = m->nrcpt,
		.spool_path = m->spool_path, .spool_size = m->size - m->prefix_len,
		.prefix = m->prefix, .prefix_len = m->prefix_len, .now = 1800000000,
	};

	*handle = NULL;
	if (queue_commit(&qn, id) == 0)
		handoff_result_set(&r, 250, "2.0.0", "queued");
	else
		handoff_result_set(&r, 451, "4.3.0", "queue error");
	done(arg, &r);
	return 0;
}

static const struct handoff_target_ops q_target = { .name = "queue", .start = q_start };

static char big[90 * 1024];       /* under the 100000-octet test limit */

/* Issue 13: direct mode writes each body to storage once. */
/* RFC 8689 5: which header lines are "TLS-Required: No". */
static void
test_tls_required_no(void **state)
{
	static const char *const yes[] = { "TLS-Required: No\r\n", "tls-required:no\r\n",
		"TLS-REQUIRED:  NO \t\r\n", "TLS-Required:\tno" };
	static const char *const no[] = { "TLS-Required: Yes\r\n", "TLS-Required: Nope\r\n",
		"TLS-Required:\r\n", "X-TLS-Required: No\r\n", "TLS-Required : No\r\n",
		"Subject: TLS-Required: No\r\n", "TLS-Required: N\r\n", "", "TLS-Required" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(spool_tls_required_no((const uint8_t *)yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(spool_tls_required_no((const uint8_t *)no[i], strlen(no[i])));
}

static void
test_body_written_once(void **state)
{
	char qd[300], sd[300], err[200];
	size_t n = 0, body;
	static struct queue_state st;
	static struct queue_job j;

	(void)state;
	snprintf(qd, sizeof(qd), "%s/queue", cfgp->data_dir);
	snprintf(sd, sizeof(sd), "%s/spool", cfgp->data_dir);
	assert_int_equal(queue_open(qd, err, sizeof(err)), 0);
	n += (size_t)snprintf(big, sizeof(big), "From: alice@example.test\r\nSubject: big\r\n\r\n");
	while (n + 80 < sizeof(big) - 8)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%078zu\r\n", n);
	body = n;
	session(&q_target);
	trace_on();
	send_msg(big);
	hal_storage_set(&hal_storage_posix);
	assert_non_null(strstr(last_reply(), "250 2.0.0"));
	/* the spool file once, then only the small state record (< 8 KiB) */
	assert_true(written >= body);
	assert_true(written < body + 8192);
	assert_int_equal(opens, 2);          /* spool file, ID.st: no ID.msg copy */
	assert_int_equal(count_dir(sd, NULL), 0);   /* taken, not left behind */
	/* what the queue sends: the record's prefix, then the spool file */
	assert_int_equal(queue_next_job(1800000000, &j), 1);
	assert_int_equal(queue_state_get(j.id, &st), 0);
	assert_true(j.prefix_len > 100);
	assert_memory_equal(j.prefix, "DKIM-Signature: v=1;", 20);
	assert_int_equal(j.size, j.prefix_len + body);
	queue_job_result(&j, 0, 250, "2.0.0", "ok", 1800000000);
	queue_job_end(&j, 1800000000);
	assert_int_equal(queue_count(), 0);
	smtpd_conn_free(&conn);
	queue_close();
}

/* ------------------------------------------------------------ sweeps */

static void
touch(const char *dir, const char *name)
{
	char p[600];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("partial", f);
	fclose(f);
}

static const char *
p_of(const char *dir, const char *name)
{
	static char p[600];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* Issue 21.2: what a kill mid-DATA or after the dot leaves is removed at
 * start; the consumer's finished .eml files are not touched; the scratch
 * files (issue 22.2) go too, unread: an idle one, a cut one, and a FIFO
 * under a scratch name, which reading would have hung on. */
static void
test_sweeps(void **state)
{
	char sd[300], od[300];
	int fd;

	(void)state;
	snprintf(sd, sizeof(sd), "%s/spool", cfgp->data_dir);
	snprintf(od, sizeof(od), "%s", cfgp->relay.outbox);
	hal_storage_mkdirs(sd, 0700);
	hal_storage_mkdirs(od, 0750);
	touch(sd, "0123456789.tmp.77.0");     /* killed mid-DATA */
	touch(sd, "ABCDEF0123");              /* killed after the dot */
	touch(od, "ABCDEF0123.eml.tmp.77.1"); /* killed while writing the outbox */
	touch(od, "ABCDEF0123.eml.tmp.new");  /* killed before publishing */
	touch(od, "FEDCBA9876.eml");          /* a finished message */
	touch(sd, "scratch-3");               /* killed mid-DATA in outbox mode */
	fd = creat(p_of(sd, "scratch-4"), 0600); /* idle */
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mkfifo(p_of(sd, "scratch-5"), 0600), 0);
	assert_int_equal(spool_msg_sweep(cfgp->data_dir), 5);
	assert_int_equal(relay_outbox_sweep(cfgp), 2);
	assert_int_equal(count_dir(sd, NULL), 0);
	assert_int_equal(count_dir(od, ".tmp."), 0);
	assert_int_equal(count_dir(od, "FEDCBA9876.eml"), 1);
	assert_int_equal(spool_msg_sweep(cfgp->data_dir), 0);
	assert_int_equal(chdir(od), 0);
	assert_int_equal(remove("FEDCBA9876.eml"), 0);
	assert_int_equal(chdir(top), 0);
}

/* ------------------------------------------------------------ outbox */

static int
same_bytes(uint8_t *buf, size_t n)
{
	memset(buf, 0x42, n);
	return 0;
}

static int
no_bytes(uint8_t *buf, size_t n)
{
	(void)buf;
	(void)n;
	return -EIO;
}

static const struct hal_entropy_ops fixed_entropy = { "fixed", same_bytes };
static const struct hal_entropy_ops broken_entropy = { "broken", no_bytes };

static void
read_file(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* Issue 21.3: the same id twice never replaces the first file; files are
 * 0640 in a 0750 directory; no entropy: 451, not a made-up id. */
static void
test_outbox_no_replace(void **state)
{
	static char a[8192], b[8192];
	char p1[600], p2[600];
	struct stat st;

	(void)state;
	snprintf(p1, sizeof(p1), "%s/4242424242.eml", cfgp->relay.outbox);
	snprintf(p2, sizeof(p2), "%s/4242424242-1.eml", cfgp->relay.outbox);
	remove(p1);
	remove(p2);
	rmdir(cfgp->relay.outbox);
	hal_entropy_set(&fixed_entropy);
	session(&relay_outbox);
	send_msg("From: alice@example.test\r\nSubject: first\r\n\r\none\r\n");
	assert_non_null(strstr(last_reply(), "250 2.0.0"));
	send_msg("From: alice@example.test\r\nSubject: second\r\n\r\ntwo\r\n");
	assert_non_null(strstr(last_reply(), "250 2.0.0"));
	read_file(p1, a, sizeof(a));
	read_file(p2, b, sizeof(b));
	assert_non_null(strstr(a, "Subject: first"));
	assert_non_null(strstr(b, "Subject: second"));
	assert_int_equal(stat(p1, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(stat(cfgp->relay.outbox, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750);
	assert_int_equal(count_dir(cfgp->relay.outbox, ".tmp."), 0);
	/* the entropy source fails: refused, nothing written */
	hal_entropy_set(&broken_entropy);
	send_msg("From: alice@example.test\r\nSubject: third\r\n\r\nthree\r\n");
	assert_non_null(strstr(last_reply(), "451 4.3.0"));
	assert_non_null(strstr(last_reply(), "entropy"));
	hal_entropy_set(&hal_entropy_posix);
	smtpd_conn_free(&conn);
	assert_int_equal(count_dir(cfgp->relay.outbox, "4242424242"), 2);
	remove(p1);
	remove(p2);
}

/* Issue 21.4: a full disk in outbox mode is refused at MAIL, like the queue. */
static void
test_outbox_full_at_mail(void **state)
{
	(void)state;
	session(&relay_outbox);
	trace_on();
	fake_free = 1024;
	rlen = 0;
	feed("MAIL FROM:<alice@example.test> SIZE=5000\r\n", 42);
	assert_non_null(strstr(rbuf, "452 4.3.1"));
	rlen = 0;
	feed("MAIL FROM:<alice@example.test>\r\n", 32);
	assert_non_null(strstr(rbuf, "452 4.3.1"));   /* below min-free */
	fake_free = UINT64_MAX;
	rlen = 0;
	feed("MAIL FROM:<alice@example.test>\r\n", 32);
	assert_non_null(strstr(rbuf, "250"));
	hal_storage_set(&hal_storage_posix);
	smtpd_conn_free(&conn);
}

/* ------------------------------------------------------------ scratch spool */

static off_t
size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* Issue 22.2: in outbox mode a message costs one file creation (its .eml):
 * the spool file is a scratch file reused across messages, never removed;
 * after each message it is emptied. */
static void
test_outbox_one_creation(void **state)
{
	char sd[300], sc[600];
	int before = count_dir(cfgp->relay.outbox, ".eml");

	(void)state;
	snprintf(sd, sizeof(sd), "%s/spool", cfgp->data_dir);
	snprintf(sc, sizeof(sc), "%s/scratch-0", sd);
	remove(sc);
	session(&relay_outbox);
	trace_on();
	for (int i = 0; i < 3; i++) {
		send_msg("From: alice@example.test\r\nSubject: one\r\n\r\nbody\r\n");
		assert_non_null(strstr(last_reply(), "250 2.0.0"));
		assert_int_equal(size_of(sc), 0);    /* emptied, kept */
	}
	hal_storage_set(&hal_storage_posix);
	assert_int_equal(opens, 3);             /* the three .eml files, nothing else */
	assert_int_equal(scratch_creates, 1);   /* the scratch file, once */
	assert_int_equal(scratch_opens, 6);     /* per message: write, empty */
	assert_int_equal(removes, 0);           /* no unlink per message */
	assert_int_equal(count_dir(sd, NULL), 1);
	assert_int_equal(count_dir(cfgp->relay.outbox, ".eml"), before + 3);
	assert_int_equal(count_dir(cfgp->relay.outbox, ".tmp."), 0);
	smtpd_conn_free(&conn);
	/* direct mode still gets a durable spool file of its own, taken by the
	 * queue (test_body_written_once): no scratch file there */
}

/* A full disk while the scratch file is written: 452 4.3.1, nothing in the
 * outbox, and the next message gets a scratch file again. */
static void
test_outbox_scratch_full(void **state)
{
	int before = count_dir(cfgp->relay.outbox, ".eml");

	(void)state;
	session(&relay_outbox);
	trace_on();
	fail_scratch_write = true;
	send_msg("From: alice@example.test\r\nSubject: full\r\n\r\nbody\r\n");
	fail_scratch_write = false;
	assert_non_null(strstr(last_reply(), "452 4.3.1"));
	assert_int_equal(count_dir(cfgp->relay.outbox, ".eml"), before);
	assert_int_equal(count_dir(cfgp->relay.outbox, ".tmp."), 0);
	send_msg("From: alice@example.test\r\nSubject: room\r\n\r\nbody\r\n");
	assert_non_null(strstr(last_reply(), "250 2.0.0"));
	assert_int_equal(count_dir(cfgp->relay.outbox, ".eml"), before + 1);
	hal_storage_set(&hal_storage_posix);
	smtpd_conn_free(&conn);
}

/* Something else under a scratch file's name (a directory here; a link,
 * a FIFO): that slot is skipped with a log line, the message takes the next
 * one, and every later message too (never the same 451 for each). Last in
 * the list: the slot stays out for the rest of the process, as in zegel
 * until its next start. */
static void
test_outbox_scratch_taken(void **state)
{
	char sd[300], s0[600], s1[600];
	int before = count_dir(cfgp->relay.outbox, ".eml");

	(void)state;
	snprintf(sd, sizeof(sd), "%s/spool", cfgp->data_dir);
	snprintf(s0, sizeof(s0), "%s/scratch-0", sd);
	snprintf(s1, sizeof(s1), "%s/scratch-1", sd);
	remove(s0);
	remove(s1);
	assert_int_equal(mkdir(s0, 0700), 0);
	session(&relay_outbox);
	for (int i = 0; i < 2; i++) {
		send_msg("From: alice@example.test\r\nSubject: taken\r\n\r\nbody\r\n");
		assert_non_null(strstr(last_reply(), "250 2.0.0"));
		assert_int_equal(size_of(s1), 0);    /* the next slot, emptied */
	}
	assert_int_equal(count_dir(cfgp->relay.outbox, ".eml"), before + 2);
	smtpd_conn_free(&conn);
	assert_int_equal(rmdir(s0), 0);
}

/* Clients that vanish mid-DATA: their scratch files are emptied and their
 * slots given back (more of them than slots: still a scratch file each). */
static void
test_outbox_scratch_vanish(void **state)
{
	static const char env[] = "EHLO x.test\r\nMAIL FROM:<alice@example.test>\r\n"
				  "RCPT TO:<bob@remote.example>\r\nDATA\r\n"
				  "From: alice@example.test\r\nSubject: cut\r\n\r\npartial\r\n";
	char sd[300];
	struct hal_addr peer;
	DIR *d;
	struct dirent *e;

	(void)state;
	snprintf(sd, sizeof(sd), "%s/spool", cfgp->data_dir);
	hal_addr_parse(&peer, "127.0.0.1", 0);
	for (int i = 0; i < 3 * (CONFIG_MAX_SESSIONS + 4); i++) {
		rlen = 0;
		smtpd_conn_init(&conn, cfgp, &cfgp->listeners[0], &peer, false);
		conn.relay_override = &relay_outbox;
		drain();
		feed(env, strlen(env));
		assert_non_null(strstr(rbuf, "354"));
		assert_int_equal(count_dir(sd, NULL), 1);  /* the same slot each time */
		smtpd_conn_free(&conn);
	}
	d = opendir(sd);
	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			assert_memory_equal(e->d_name, "scratch-", 8);
			assert_int_equal(size_of(p_of(sd, e->d_name)), 0);
		}
	closedir(d);
}

/* Every storage call of an outbox message, killed before it (a forked
 * child; _exit or SIGKILL): after the start-up sweeps the outbox holds the
 * message complete or not at all, never a temporary file, and always when
 * the client had its 250; the spool only an empty scratch file. */
static unsigned kill_step, kill_at;

static void
die(void)
{
	if (++kill_step != kill_at)
		return;
	if (kill_at % 2)
		raise(SIGKILL);
	_exit(0);
}

#define K_WRAP(ret, op, params, args) \
	static ret k_##op params { die(); return hal_storage_posix.op args; }
K_WRAP(int, open_write, (struct hal_file *f, const char *p, unsigned m), (f, p, m))
K_WRAP(int, write, (struct hal_file *f, const void *p, size_t n), (f, p, n))
K_WRAP(int, commit, (struct hal_file *f, const char *p), (f, p))
K_WRAP(int, open_read, (struct hal_file *f, const char *p), (f, p))
K_WRAP(ssize_t, read, (struct hal_file *f, void *p, size_t n), (f, p, n))
K_WRAP(int, remove, (const char *p), (p))
K_WRAP(int, rename_new, (const char *a, const char *b), (a, b))
K_WRAP(int, sync_dir, (const char *p), (p))
K_WRAP(int, open_scratch, (struct hal_file *f, const char *p, unsigned m), (f, p, m))

static void
k_close(struct hal_file *f)
{
	die();
	hal_storage_posix.close(f);
}

static void
k_abort(struct hal_file *f)
{
	die();
	hal_storage_posix.abort(f);
}

static struct hal_storage_ops killing;

static void
test_outbox_kill(void **state)
{
	static char buf[8192];
	static const char body[] = "From: alice@example.test\r\nSubject: kill\r\n\r\n"
				   "one\r\ntwo\r\nthe end\r\n";
	char sd[300];
	bool done = false;
	unsigned n;

	(void)state;
	snprintf(sd, sizeof(sd), "%s/spool", cfgp->data_dir);
	killing = hal_storage_posix;
	killing.name = "posix, killed";
	killing.open_write = k_open_write;
	killing.write = k_write;
	killing.commit = k_commit;
	killing.abort = k_abort;
	killing.open_read = k_open_read;
	killing.read = k_read;
	killing.close = k_close;
	killing.remove = k_remove;
	killing.rename_new = k_rename_new;
	killing.sync_dir = k_sync_dir;
	killing.open_scratch = k_open_scratch;
	{       /* the earlier tests' messages */
		DIR *d = opendir(cfgp->relay.outbox);
		struct dirent *e;

		assert_non_null(d);
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.')
				assert_int_equal(remove(p_of(cfgp->relay.outbox, e->d_name)), 0);
		closedir(d);
	}
	for (n = 1; !done && n < 400; n++) {
		int p[2], status, emls;
		bool acked;
		pid_t pid;
		char c;
		DIR *d;
		struct dirent *e;

		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			session(&relay_outbox);
			kill_step = 0;
			kill_at = n;
			hal_storage_set(&killing);
			send_msg(body);
			if (strstr(last_reply(), "250 2.0.0"))
				(void)!write(p[1], "C", 1);
			hal_storage_set(&hal_storage_posix);
			_exit(3);
		}
		close(p[1]);
		acked = read(p[0], &c, 1) == 1 && c == 'C';
		close(p[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		done = WIFEXITED(status) && WEXITSTATUS(status) == 3;
		/* the next start */
		assert_true(spool_msg_sweep(cfgp->data_dir) >= 0);
		assert_true(relay_outbox_sweep(cfgp) >= 0);
		assert_int_equal(count_dir(cfgp->relay.outbox, ".tmp."), 0);
		emls = count_dir(cfgp->relay.outbox, ".eml");
		assert_true(emls <= 1);
		if (acked || done)
			assert_int_equal(emls, 1);  /* nothing accepted is lost */
		d = opendir(cfgp->relay.outbox);
		assert_non_null(d);
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			read_file(p_of(cfgp->relay.outbox, e->d_name), buf, sizeof(buf));
			/* never half a message */
			assert_memory_equal(buf, "Return-Path: <alice@example.test>\r\n", 35);
			assert_non_null(strstr(buf, "DKIM-Signature: "));
			assert_non_null(strstr(buf, "\r\n\r\none\r\ntwo\r\nthe end\r\n"));
			assert_int_equal(strlen(strstr(buf, "the end\r\n")), 9);
			assert_int_equal(remove(p_of(cfgp->relay.outbox, e->d_name)), 0);
		}
		closedir(d);
		d = opendir(sd);
		assert_non_null(d);
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] != '.') {
				assert_memory_equal(e->d_name, "scratch-", 8);
				assert_int_equal(size_of(p_of(sd, e->d_name)), 0);
			}
		closedir(d);
	}
	assert_true(done);
	assert_true(n > 10);   /* there were kill points */
	print_message("# an outbox message killed at each of its %u storage calls\n", n - 2);
}

/* ------------------------------------------------------------ differential */

static uint8_t in[1 << 16], out[(1 << 17) + 8];

/* The DATA for content: dot-stuffed after any line end, ending in a line end. */
static size_t
as_data(const uint8_t *p, size_t n, uint8_t *o)
{
	size_t k = 0;
	bool bol = true;

	for (size_t i = 0; i < n; i++) {
		if (bol && p[i] == '.')
			o[k++] = '.';
		o[k++] = p[i];
		bol = p[i] == '\n' || (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'));
	}
	if (!bol) {
		o[k++] = '\r';
		o[k++] = '\n';
	}
	memcpy(o + k, ".\r\n", 3);
	return k + 3;
}

/* One corpus input as a message from the normalising network (bare LF and
 * CR become CRLF there, so most inputs get through DATA). */
static void
try_message(const uint8_t *p, size_t n)
{
	static const char env[] = "EHLO x.test\r\nMAIL FROM:<alice@example.org>\r\n"
				  "RCPT TO:<bob@remote.example>\r\nDATA\r\n";
	struct hal_addr peer;
	size_t k = as_data(p, n, out), off = 0;

	hal_addr_parse(&peer, "127.0.0.3", 0);
	rlen = 0;
	smtpd_conn_init(&conn, cfgp, &cfgp->listeners[0], &peer, false);
	conn.relay_override = &relay_outbox;
	drain();
	feed(env, strlen(env));
	while (off < k && !smtpd_closing(&conn.smtp)) {
		size_t c = smtpd_conn_input(&conn, out + off, k - off);

		drain();
		if (c == 0)
			break;
		off += c;
	}
	smtpd_conn_free(&conn);
}

static unsigned
run_corpus(const char *dir, size_t skip)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[600];
		size_t len;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL)
			continue;
		len = fread(in, 1, sizeof(in), f);
		fclose(f);
		if (len <= skip)
			continue;
		try_message(in + skip, len - skip);
		/* the same with the corpus's domains made ours, so it is signed */
		for (size_t i = skip; i + 11 <= len; i++)
			if (memcmp(in + i, "example.com", 11) == 0)
				memcpy(in + i, "example.org", 11);
		try_message(in + skip, len - skip);
		n++;
	}
	closedir(d);
	return n;
}

/* Issue 21.1 as a property: every message accepted from the fuzz corpora
 * (and the attack shapes below) is stored exactly as it was signed, so
 * dkimpy (another implementation) verifies every stored file. */
static void
test_stored_is_signed(void **state)
{
#define A(x) { x, sizeof(x) - 1 }
	static const struct {
		const char *p;
		size_t n;
	} attacks[] = {
		A("From: alice@example.test\r\nSubject: x\r\nno colon here\r\n"
		  "From: ceo@bank.example\r\n\r\nb\r\n"),
		A("From: alice@example.test\r\nSubject: \0nul\r\n\r\nbody\0\r\n"),
		A("From: alice@example.test\r\nSubject: folded\r\n \r\n\tmore\r\n\r\n\r\n\r\n"),
		A("From: alice@example.test\r\nX-A:\r\n\r\n.dot\r\n..two\r\n"),
		A("From: alice@example.test"),
		A("From: \"a\\\" <x@evil.example>\" <alice@example.test>\r\n\r\nq\r\n"),
		A("From : alice@example.test\r\nSubject\t: tab\r\n\r\n \t \r\n"),
		A("From: alice@example.test\nTo: x\rSubject: bare\n\nbody\r"),
	};
#undef A
	char cmd[4096], keyarg[1200];
	size_t k = 0;
	int rc;

	(void)state;
	if (system("/usr/bin/python3 -c 'import dkim' 2>/dev/null") != 0)
		skip();
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++)
		try_message((const uint8_t *)attacks[i].p, attacks[i].n);
	assert_true(run_corpus("tests/fuzz/corpus/dkim", 4) > 10);
	run_corpus("tests/fuzz/corpus/smtp_data", 1);
	print_message("# %d messages accepted and stored\n", count_dir(cfgp->relay.outbox, ".eml"));
	assert_true(count_dir(cfgp->relay.outbox, ".eml") > 10);
	assert_int_equal(count_dir(cfgp->relay.outbox, ".tmp."), 0);
	/* the public keys as DNS TXT values, for dkim_verify.py */
	for (size_t i = 0; i < 3; i++) {
		static const char *const sel[] = { "ed", "rsa", "org" };
		static const char *const dom[] = { "example.test", "example.test", "example.org" };
		static const char *const kt[] = { "ed25519", "rsa", "ed25519" };
		char c[700], b64[800] = "";
		FILE *pf;

		snprintf(c, sizeof(c), "openssl pkey -in '%s/%s.pem' -pubout -outform DER | %s | "
		    "base64 -w0", workdir, sel[i], i == 1 ? "cat" : "tail -c 32");
		pf = popen(c, "r");
		assert_non_null(pf);
		assert_non_null(fgets(b64, sizeof(b64), pf));
		pclose(pf);
		k += (size_t)snprintf(keyarg + k, sizeof(keyarg) - k,
		    " --key '%s._domainkey.%s=v=DKIM1; k=%s; p=%s'", sel[i], dom[i], kt[i], b64);
	}
	snprintf(cmd, sizeof(cmd), "/usr/bin/python3 tests/e2e/dkim_verify.py "
	    "--domains example.test,example.org%s '%s'/*.eml "
	    ">'%s/verify.out' 2>&1", keyarg, cfgp->relay.outbox, workdir);
	rc = system(cmd);
	if (rc != 0) {
		snprintf(cmd, sizeof(cmd), "grep -v '^ok' '%s/verify.out' | head -20 >&2", workdir);
		(void)!system(cmd);
	}
	assert_int_equal(rc, 0);
}

/* A message abandoned mid-body (client gone: smtpd_conn_free -> msg_abort ->
 * msg_cleanup -> spool_msg_discard) releases its body hashes, and so does a
 * signing that stops before finish() (the DSN path's keys_sign_free), through
 * a hash backend whose contexts are held resources (count; AF_ALG: sockets). */
static void
test_abort_frees_hashes(void **state)
{
	static const char env[] = "EHLO x.test\r\nMAIL FROM:<alice@example.test>\r\n"
				  "RCPT TO:<bob@remote.example>\r\nDATA\r\n"
				  "From: alice@example.test\r\nSubject: cut\r\n\r\n"
				  "first line of a body that never ends\r\n";
	const struct zcfg_domain *dom;
	struct keys_sign *sg;
	struct hal_addr peer;
	const char *why = NULL;

	(void)state;
	test_crypto_count_chain();
	hal_addr_parse(&peer, "127.0.0.1", 0);
	rlen = 0;
	smtpd_conn_init(&conn, cfgp, &cfgp->listeners[0], &peer, false);
	conn.relay_override = &relay_outbox;
	drain();
	feed(env, strlen(env));
	assert_non_null(strstr(rbuf, "354"));
	assert_true(test_crypto_count.inits >= 1); /* signing began: a body hash */
	assert_true(test_crypto_count.live >= 1);
	smtpd_conn_free(&conn);
	assert_int_equal(test_crypto_count.live, 0);
	assert_true(test_crypto_count.frees >= 1);
	assert_int_equal(test_crypto_count.finals, 0);

	/* keys_sign stopped after part of a message (a DSN whose text failed) */
	memset(&test_crypto_count, 0, sizeof(test_crypto_count));
	sg = calloc(1, sizeof(*sg));
	assert_non_null(sg);
	dom = config_domain_for(cfgp, "example.test");
	assert_non_null(dom);
	assert_int_equal(keys_sign_begin(sg, cfgp, dom, &why), 0);
	assert_int_equal(keys_sign_push(sg, (const uint8_t *)"From: MAILER-DAEMON@example.test\r\n"
	    "\r\nbody\r\n", 42), 0);
	assert_true(test_crypto_count.live >= 1);
	keys_sign_free(sg);
	assert_int_equal(test_crypto_count.live, 0);
	keys_sign_free(sg);
	free(sg);
	test_crypto_board_chain();
}

static int
setup_all(void **state)
{
	(void)state;
	if (getcwd(top, sizeof(top)) == NULL)
		return -1;
	snprintf(workdir, sizeof(workdir), "/tmp/zegel-spool-msg.XXXXXX");
	if (mkdtemp(workdir) == NULL)
		return -1;
	if (smtpd_testcfg_build(&cfgp, workdir) != 0)
		return -1;
	hal_log_set_level(HAL_LOG_ERR);
	smtpd_set_target_picker(app_relay_target);
	return 0;
}

static int
teardown_all(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	return system(cmd) == 0 ? 0 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_required_no),
		cmocka_unit_test(test_body_written_once),
		cmocka_unit_test(test_sweeps),
		cmocka_unit_test(test_outbox_no_replace),
		cmocka_unit_test(test_outbox_full_at_mail),
		cmocka_unit_test(test_outbox_one_creation),
		cmocka_unit_test(test_outbox_scratch_full),
		cmocka_unit_test(test_outbox_scratch_vanish),
		cmocka_unit_test(test_outbox_kill),
		cmocka_unit_test(test_stored_is_signed),
		cmocka_unit_test(test_abort_frees_hashes),
		cmocka_unit_test(test_outbox_scratch_taken),
	};
	return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
