/* The delivery queue: commit/reopen, per-recipient states, grouping by
 * domain, backoff with a passed-in clock, lifetime and 5xx bounces (DSN
 * entries with the right fields), no bounce of a bounce, delay warnings,
 * limits, leftover cleanup, and kill tests: a forked child is killed
 * (_exit or SIGKILL) before every storage call of a commit, of result
 * updates and of a bounce, and the parent checks that reopening gives the
 * old or the new state, never a damaged or lost entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "firmware/config/config.h"
#include "firmware/console/console.h"
#include "firmware/spool/queue.h"
#include "zegel/cfg.h"
#include "hal/clock.h"
#include "hal/storage.h"

#define T0 1800000000LL
#define PREFIX "DKIM-Signature: v=1; a=ed25519-sha256; d=example.org; s=s1;\r\n\tb=abc\r\n"
#define BODY "From: a@example.org\r\nTo: x@a.test\r\nSubject: hi\r\n\r\nbody line\r\n"

static char dir[64], qd[96], spool[128];
static struct queue_state st;     /* big: static */
static char err[200];

/* The session's committed spool file; the queue takes it at each commit. */
static void
put_spool(void)
{
	FILE *f = fopen(spool, "w");

	assert_non_null(f);
	fputs(BODY, f);
	fclose(f);
}

static int
setup(void **state)
{
	FILE *f;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zegel-test-queue.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(qd, sizeof(qd), "%s/queue", dir);
	snprintf(spool, sizeof(spool), "%s/spool.tmp", dir);
	f = fopen(spool, "w");
	if (f == NULL)
		return -1;
	fputs(BODY, f);
	fclose(f);
	struct queue_limits l = {
		.max_messages = 100, .max_bytes = 1 << 20, .min_free = 0,
		.lifetime = 5 * 86400, .delay_warning = 4 * 3600,
		.retry_base = 300, .retry_max = 3600,
	};
	queue_set_limits(&l);
	queue_set_hostname("mx.example.org");
	queue_test_set_fault(NULL);
	return queue_open(qd, err, sizeof(err));
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	queue_close();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
commit(const char *from, const char *rcpts, unsigned n, char id[QUEUE_ID_MAX])
{
	struct queue_new q = {
		.mail_from = from, .rcpts = rcpts, .nrcpt = n, .spool_path = spool,
		.spool_size = strlen(BODY),
		.prefix = (const uint8_t *)PREFIX, .prefix_len = strlen(PREFIX),
		.body_8bit = true, .now = T0,
	};
	put_spool();
	return queue_commit(&q, id);
}

static void
reopen(void)
{
	queue_close();
	assert_int_equal(queue_open(qd, err, sizeof(err)), 0);
}

/* files in the queue dir whose name contains s */
static int
files_with(const char *s)
{
	DIR *d = opendir(qd);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strstr(e->d_name, s) != NULL)
			n++;
	closedir(d);
	return n;
}

/* What is sent for entry id: the record's prefix, then ID.msg. */
static size_t
read_msg(const char *id, char *buf, size_t cap)
{
	static struct queue_state rs;
	char path[160];
	size_t n = 0;
	FILE *f;

	if (queue_state_get(id, &rs) == 0 && rs.prefix_len < cap) {
		memcpy(buf, rs.prefix, rs.prefix_len);
		n = rs.prefix_len;
	}
	snprintf(path, sizeof(path), "%s/%s.msg", qd, id);
	f = fopen(path, "r");
	if (f == NULL)
		return 0;
	n += fread(buf + n, 1, cap - 1 - n, f);
	buf[n] = 0;
	fclose(f);
	return n;
}

struct ids {
	unsigned n;
	char id[8][QUEUE_ID_MAX];
};

static void
collect(void *arg, const char *id)
{
	struct ids *x = arg;

	if (x->n < 8)
		strcpy(x->id[x->n++], id);
}

/* The one entry other than 'not' (a DSN), or "" */
static void
other_entry(const char *not, char out[QUEUE_ID_MAX])
{
	struct ids x = { 0 };

	out[0] = 0;
	queue_foreach(collect, &x);
	for (unsigned i = 0; i < x.n; i++)
		if (strcmp(x.id[i], not) != 0)
			strcpy(out, x.id[i]);
}

static void
test_commit_reopen(void **state)
{
	char id[QUEUE_ID_MAX], buf[1024];
	static const char rc[] = "x@a.test\0y@b.test\0z@A.TEST";

	(void)state;
	assert_int_equal(commit("s@example.org", rc, 3, id), 0);
	assert_int_equal(strlen(id), 10);
	assert_int_equal(queue_count(), 1);
	assert_int_equal(queue_bytes(), strlen(PREFIX) + strlen(BODY));
	reopen();
	assert_int_equal(queue_count(), 1);
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_string_equal(st.from, "s@example.org");
	assert_int_equal(st.nrcpt, 3);
	assert_string_equal(st.r[2].addr, "z@A.TEST");
	assert_int_equal(st.r[0].state, 'P');
	assert_true(st.body_8bit);
	assert_false(st.smtputf8);
	assert_int_equal(st.created, T0);
	assert_int_equal(read_msg(id, buf, sizeof(buf)), strlen(PREFIX BODY));
	assert_string_equal(buf, PREFIX BODY);
	assert_int_equal(queue_next_due(), T0);
	/* bad input refused, nothing left behind */
	assert_int_equal(commit("s@example.org", "no-at-sign", 1, id), -EINVAL);
	assert_int_equal(commit("s@example.org", "x@a.test", 0, id), -EINVAL);
	assert_int_equal(commit("s\t@example.org", "x@a.test", 1, id), -EINVAL);
	assert_int_equal(queue_count(), 1);
	assert_int_equal(files_with(".msg"), 1);
}

/* RFC 8689: REQUIRETLS and TLS-Required: No survive a restart and reach the
 * delivery side's job. */
static void
test_requiretls_flags(void **state)
{
	char id[QUEUE_ID_MAX];
	static struct queue_job j;
	struct queue_new q = {
		.mail_from = "s@example.org", .rcpts = "x@a.test", .nrcpt = 1,
		.spool_path = spool, .spool_size = strlen(BODY),
		.requiretls = true, .tls_required_no = true, .now = T0,
	};

	(void)state;
	put_spool();
	assert_int_equal(queue_commit(&q, id), 0);
	reopen();
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_true(st.requiretls && st.tls_required_no);
	assert_int_equal(queue_next_job(T0, &j), 1);
	assert_true(j.requiretls && j.tls_required_no);
	queue_job_release(&j, T0);
	/* without them: false */
	assert_int_equal(commit("s@example.org", "y@b.test", 1, id), 0);
	reopen();
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_false(st.requiretls || st.tls_required_no);
}

static void
test_grouping(void **state)
{
	char id[QUEUE_ID_MAX];
	static const char rc[] = "x@a.test\0y@b.test\0z@A.TEST";
	static struct queue_job j1, j2, j3;

	(void)state;
	assert_int_equal(commit("s@example.org", rc, 3, id), 0);
	assert_int_equal(queue_next_job(T0 - 1, &j1), 0);   /* not due yet */
	assert_int_equal(queue_next_job(T0, &j1), 1);
	assert_string_equal(j1.id, id);
	assert_string_equal(j1.domain, "a.test");
	assert_int_equal(j1.nrcpt, 2);
	assert_string_equal(j1.rcpt[0], "x@a.test");
	assert_string_equal(j1.rcpt[1], "z@A.TEST");
	assert_int_equal(j1.rcpt_index[1], 2);
	assert_string_equal(j1.mail_from, "s@example.org");
	assert_int_equal(j1.size, strlen(PREFIX BODY));
	assert_true(j1.body_8bit);
	assert_int_equal(queue_next_job(T0, &j2), 1);
	assert_string_equal(j2.domain, "b.test");
	assert_int_equal(j2.nrcpt, 1);
	assert_int_equal(j2.rcpt_index[0], 1);
	/* k is the position in the job: 1 is past its one recipient */
	assert_int_equal(queue_job_result(&j2, 1, 250, "2.0.0", "ok", T0), -EINVAL);
	assert_int_equal(queue_next_job(T0, &j3), 0);       /* all in flight */
	assert_int_equal(queue_delete(id), -EBUSY);
	/* the message bytes */
	struct hal_file f;
	char buf[512];
	ssize_t r;
	assert_int_equal(queue_job_open(&j1, &f), 0);
	r = hal_storage_read(&f, buf, sizeof(buf));
	hal_storage_close(&f);
	assert_int_equal(r, (ssize_t)strlen(BODY));   /* the spool file, as received */
	assert_int_equal(j1.prefix_len, strlen(PREFIX));
	assert_memory_equal(j1.prefix, PREFIX, strlen(PREFIX));
	/* all sent: entry removed */
	assert_int_equal(queue_job_result(&j1, 0, 250, "2.0.0", "ok", T0 + 1), 0);
	assert_int_equal(queue_job_result(&j1, 0, 250, "2.0.0", "ok", T0 + 1), -EALREADY);
	assert_int_equal(queue_job_result(&j1, 1, 250, "2.0.0", "ok", T0 + 1), 0);
	queue_job_end(&j1, T0 + 1);
	assert_int_equal(queue_count(), 1);
	assert_int_equal(queue_job_result(&j2, 0, 250, NULL, "ok", T0 + 2), 0);
	queue_job_end(&j2, T0 + 2);
	assert_int_equal(queue_count(), 0);
	assert_int_equal(files_with(id), 0);
	assert_int_equal(queue_next_due(), -1);
}

/* The smarthost queue: every due recipient of an entry in one job, whatever
 * its domain; outcomes per recipient as in direct mode (one bounce -> a DSN
 * entry, one deferral -> due again after the backoff). */
static void
test_all_domains(void **state)
{
	char id[QUEUE_ID_MAX];
	static const char rc[] = "x@a.test\0y@b.test\0z@c.test";
	static struct queue_job j, d;

	(void)state;
	assert_int_equal(commit("s@example.org", rc, 3, id), 0);
	assert_int_equal(queue_next_job_all(T0 - 1, &j), 0);
	assert_int_equal(queue_next_job_all(T0, &j), 1);
	assert_string_equal(j.id, id);
	assert_string_equal(j.domain, "");
	assert_int_equal(j.nrcpt, 3);
	assert_string_equal(j.rcpt[2], "z@c.test");
	assert_int_equal(queue_next_job_all(T0, &d), 0);  /* all in flight */
	assert_int_equal(queue_job_result(&j, 0, 250, "2.0.0", "ok", T0), 0);
	assert_int_equal(queue_job_result(&j, 1, 550, "5.1.1", "no such user", T0), 0);
	assert_int_equal(queue_job_result(&j, 2, 451, "4.4.1", "unreachable", T0), 0);
	queue_job_end(&j, T0);
	assert_int_equal(queue_count(), 2);               /* the entry and its DSN */
	/* the DSN (to the sender, from <>) is due at once, the deferral later */
	assert_int_equal(queue_next_job_all(T0, &d), 1);
	assert_int_not_equal(strcmp(d.id, id), 0);
	assert_int_equal(d.nrcpt, 1);
	assert_string_equal(d.rcpt[0], "s@example.org");
	assert_string_equal(d.mail_from, "");
	assert_int_equal(queue_job_result(&d, 0, 250, "2.0.0", "ok", T0), 0);
	queue_job_end(&d, T0);
	assert_int_equal(queue_next_job_all(T0, &j), 0);
	assert_int_equal(queue_next_job_all(T0 + 3600, &j), 1);
	assert_int_equal(j.nrcpt, 1);
	assert_string_equal(j.rcpt[0], "z@c.test");
	assert_int_equal(j.rcpt_index[0], 2);
	assert_int_equal(queue_job_result(&j, 0, 250, "2.0.0", "ok", T0 + 3600), 0);
	queue_job_end(&j, T0 + 3600);
	assert_int_equal(queue_count(), 0);
	assert_int_equal(files_with(id), 0);
}

static unsigned wakes;

static void
count_wake(void *arg)
{
	(void)arg;
	wakes++;
}

/* More entries due than load slots: the extra wait (next_due leaves them
 * out, no busy loop) until a job ends and wakes the scheduler. Jobs for one
 * domain across entries (connection reuse). */
static void
test_slots_and_domain(void **state)
{
	char id[CONFIG_QUEUE_LOADED + 2][QUEUE_ID_MAX];
	static struct queue_job j[CONFIG_QUEUE_LOADED + 2];
	unsigned k;

	(void)state;
	queue_set_wakeup(count_wake, NULL);
	for (k = 0; k < CONFIG_QUEUE_LOADED + 1; k++)
		assert_int_equal(commit("s@example.org", "x@a.test", 1, id[k]), 0);
	assert_int_equal(wakes, CONFIG_QUEUE_LOADED + 1);
	for (k = 0; k < CONFIG_QUEUE_LOADED; k++)
		assert_int_equal(queue_next_job(T0, &j[k]), 1);
	assert_int_equal(queue_next_job(T0, &j[k]), 0);
	assert_int_equal(queue_next_due(), -1);
	queue_job_result(&j[0], 0, 250, "2.0.0", "ok", T0);
	queue_job_end(&j[0], T0);
	assert_int_equal(wakes, CONFIG_QUEUE_LOADED + 2);
	assert_int_equal(queue_next_due(), T0);
	assert_int_equal(queue_next_job(T0, &j[k]), 1);
	for (k = 1; k <= CONFIG_QUEUE_LOADED; k++) {
		queue_job_result(&j[k], 0, 250, "2.0.0", "ok", T0);
		queue_job_end(&j[k], T0);
	}
	assert_int_equal(queue_count(), 0);
	/* per domain */
	assert_int_equal(commit("s@example.org", "x@a.test\0y@B.test", 2, id[0]), 0);
	assert_int_equal(commit("s@example.org", "z@b.TEST", 1, id[1]), 0);
	assert_int_equal(queue_next_job_for(T0, "b.test", &j[0]), 1);
	assert_string_equal(j[0].id, id[0]);
	assert_string_equal(j[0].rcpt[0], "y@B.test");
	assert_int_equal(queue_next_job_for(T0, "b.test", &j[1]), 1);
	assert_string_equal(j[1].id, id[1]);
	assert_int_equal(queue_next_job_for(T0, "b.test", &j[2]), 0);
	assert_int_equal(queue_next_job_for(T0, "c.test", &j[2]), 0);
	assert_int_equal(queue_next_job(T0, &j[2]), 1);
	assert_string_equal(j[2].domain, "a.test");
	queue_set_wakeup(NULL, NULL);
}

static void
test_backoff(void **state)
{
	char id[QUEUE_ID_MAX];
	static struct queue_job j;
	int64_t now = T0;
	/* 300, 600, 1200, 2400, 3600, 3600 */
	static const int64_t waits[] = { 300, 600, 1200, 2400, 3600, 3600 };

	(void)state;
	queue_set_limits(&(struct queue_limits){ .lifetime = 5 * 86400, .retry_base = 300,
	    .retry_max = 3600 });
	assert_int_equal(commit("s@example.org", "x@a.test\0y@b.test", 2, id), 0);
	/* y@b.test: sent at once */
	assert_int_equal(queue_next_job(now, &j), 1);
	assert_int_equal(queue_job_result(&j, 0, 451, "4.7.1", "greylisted", now), 0);
	queue_job_end(&j, now);
	assert_int_equal(queue_next_job(now, &j), 1);
	assert_string_equal(j.domain, "b.test");
	assert_int_equal(queue_job_result(&j, 0, 250, "2.0.0", "ok", now), 0);
	queue_job_end(&j, now);
	for (unsigned i = 0; i < 6; i++) {
		int64_t due = now + waits[i];

		assert_int_equal(queue_next_due(), due);
		reopen();   /* the schedule is durable */
		assert_int_equal(queue_next_due(), due);
		assert_int_equal(queue_state_get(id, &st), 0);
		assert_int_equal(st.r[0].state, 'P');
		assert_int_equal(st.r[0].attempts, i + 1);
		assert_int_equal(st.r[0].code, 451);
		assert_string_equal(st.r[0].esc, i == 3 ? "4.4.0" : "4.7.1");
		assert_int_equal(st.r[1].state, 'S');
		assert_int_equal(queue_next_job(due - 1, &j), 0);
		now = due;
		assert_int_equal(queue_next_job(now, &j), 1);
		assert_int_equal(j.nrcpt, 1);
		assert_int_equal(j.attempts, i + 1);
		/* once: no result reported, which counts as deferred */
		if (i != 2)
			assert_int_equal(queue_job_result(&j, 0, 451, "4.7.1", "greylisted", now), 0);
		queue_job_end(&j, now);
	}
	assert_int_equal(queue_next_due(), now + 3600);
	/* flush: due now */
	queue_flush(now + 5);
	assert_int_equal(queue_next_due(), now + 5);
}

/* queue_job_release (zegel stops mid-delivery): recipients without an
 * outcome are due again at once, no attempt counted; one with an outcome
 * keeps it. Durable across a reopen. */
static void
test_release(void **state)
{
	char id[QUEUE_ID_MAX];
	static struct queue_job j;

	(void)state;
	queue_set_limits(&(struct queue_limits){ .lifetime = 5 * 86400, .retry_base = 300,
	    .retry_max = 3600 });
	assert_int_equal(commit("s@example.org", "x@a.test\0y@a.test", 2, id), 0);
	assert_int_equal(queue_next_job(T0, &j), 1);
	assert_int_equal(j.nrcpt, 2);
	assert_int_equal(queue_job_result(&j, 1, 250, "2.0.0", "ok", T0), 0);
	queue_job_release(&j, T0 + 10);
	assert_int_equal(queue_next_due(), T0 + 10);
	reopen();
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_int_equal(st.r[0].state, 'P');
	assert_int_equal(st.r[0].attempts, 0);
	assert_int_equal(st.r[1].state, 'S');
	assert_int_equal(queue_next_job(T0 + 10, &j), 1);
	assert_int_equal(j.nrcpt, 1);
	assert_int_equal(j.attempts, 0);
	assert_string_equal(j.rcpt[0], "x@a.test");
	queue_job_end(&j, T0 + 10);
}

/* The DSN entry's message text (the entry other than orig), NUL-terminated */
static void
dsn_text(const char *orig, char *buf, size_t cap, char dsnid[QUEUE_ID_MAX])
{
	other_entry(orig, dsnid);
	assert_true(dsnid[0] != 0);
	assert_true(read_msg(dsnid, buf, cap) > 0);
}

static void
test_lifetime_bounce(void **state)
{
	char id[QUEUE_ID_MAX], dsn[QUEUE_ID_MAX];
	static char buf[16384];
	static struct queue_job j;

	(void)state;
	queue_set_limits(&(struct queue_limits){ .lifetime = 3600, .retry_base = 1000,
	    .retry_max = 3000 });
	assert_int_equal(commit("s@example.org", "x@a.test", 1, id), 0);
	assert_int_equal(queue_next_job(T0, &j), 1);
	assert_int_equal(queue_job_result(&j, 0, 421, "4.4.2", "timeout", T0), 0);
	queue_job_end(&j, T0);
	assert_int_equal(queue_next_due(), T0 + 1000);
	assert_int_equal(queue_next_job(T0 + 1000, &j), 1);
	queue_job_result(&j, 0, 421, "4.4.2", "timeout", T0 + 1000);
	queue_job_end(&j, T0 + 1000);
	assert_int_equal(queue_next_due(), T0 + 3000);
	assert_int_equal(queue_next_job(T0 + 3000, &j), 1);
	queue_job_result(&j, 0, 421, "4.4.2", "timeout", T0 + 3000);
	queue_job_end(&j, T0 + 3000);
	/* the last attempt is at the lifetime, not after it */
	assert_int_equal(queue_next_due(), T0 + 3600);
	assert_int_equal(queue_next_job(T0 + 3600, &j), 1);
	queue_job_result(&j, 0, 421, "4.4.2", "connection timed out", T0 + 3600);
	queue_job_end(&j, T0 + 3600);
	/* original gone, a DSN to the sender queued with the null sender */
	assert_int_equal(queue_count(), 1);
	assert_int_equal(files_with(id), 0);
	dsn_text(id, buf, sizeof(buf), dsn);
	assert_int_equal(queue_state_get(dsn, &st), 0);
	assert_string_equal(st.from, "");
	assert_int_equal(st.nrcpt, 1);
	assert_string_equal(st.r[0].addr, "s@example.org");
	assert_true(st.is_dsn);
	assert_non_null(strstr(buf, "From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\n"));
	assert_non_null(strstr(buf, "To: <s@example.org>\r\n"));
	assert_non_null(strstr(buf, "report-type=delivery-status"));
	assert_non_null(strstr(buf, "Final-Recipient: rfc822; x@a.test\r\n"));
	assert_non_null(strstr(buf, "Action: failed\r\n"));
	assert_non_null(strstr(buf, "Status: 4.4.2\r\n"));
	assert_non_null(strstr(buf, "Diagnostic-Code: smtp; 421 4.4.2 connection timed out\r\n"));
	assert_non_null(strstr(buf, "Content-Type: text/rfc822-headers\r\n\r\nDKIM-Signature: v=1;"));
	assert_non_null(strstr(buf, "Subject: hi\r\n\r\n--"));
	assert_null(strstr(buf, "body line"));
}

static void
test_5xx_bounce_and_no_bounce_of_bounce(void **state)
{
	char id[QUEUE_ID_MAX], dsn[QUEUE_ID_MAX];
	static char buf[16384];
	static struct queue_job j;

	(void)state;
	assert_int_equal(commit("s@example.org", "x@a.test\0y@b.test", 2, id), 0);
	assert_int_equal(queue_next_job(T0, &j), 1);
	assert_int_equal(queue_job_result(&j, 0, 550, "5.1.1", "no such user", T0), 0);
	queue_job_end(&j, T0);
	/* bounced at once (other recipient still pending): entry stays, DSN added */
	assert_int_equal(queue_count(), 2);
	dsn_text(id, buf, sizeof(buf), dsn);
	assert_non_null(strstr(buf, "Final-Recipient: rfc822; x@a.test\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n"));
	assert_null(strstr(buf, "y@b.test"));
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_int_equal(st.r[0].state, 'X');
	assert_int_equal(st.r[1].state, 'P');
	/* the DSN itself bounces: nothing new, and it is removed */
	static struct queue_job d;
	int found = 0;
	while (queue_next_job(T0, &d) == 1) {
		if (strcmp(d.id, dsn) == 0) {
			found = 1;
			assert_string_equal(d.mail_from, "");
			assert_int_equal(queue_job_result(&d, 0, 550, "5.1.1", "gone", T0), 0);
		} else {
			assert_int_equal(queue_job_result(&d, 0, 250, "2.0.0", "ok", T0), 0);
		}
		queue_job_end(&d, T0);
	}
	assert_int_equal(found, 1);
	assert_int_equal(queue_count(), 0);
	/* a null-sender original never bounces */
	assert_int_equal(commit("", "x@a.test", 1, id), 0);
	assert_int_equal(queue_next_job(T0, &j), 1);
	assert_int_equal(queue_job_result(&j, 0, 554, NULL, "rejected", T0), 0);
	queue_job_end(&j, T0);
	assert_int_equal(queue_count(), 0);
}

static bool fail_writes;
static struct hal_storage_ops failing;

static int
failing_open_write(struct hal_file *f, const char *final_path, unsigned mode)
{
	/* storage full for new messages (the DSN); the existing entry's small
	 * state record still gets rewritten */
	if (fail_writes && strstr(final_path, ".msg") != NULL)
		return -ENOSPC;
	return hal_storage_posix.open_write(f, final_path, mode);
}

/* A DSN that cannot be written (storage full) is retried after retry-base,
 * not in a busy loop, and the bounce is not forgotten. */
static void
test_dsn_commit_failure(void **state)
{
	char id[QUEUE_ID_MAX], dsn[QUEUE_ID_MAX];
	static struct queue_job j;

	(void)state;
	failing = hal_storage_posix;
	failing.open_write = failing_open_write;
	hal_storage_set(&failing);
	assert_int_equal(commit("s@example.org", "x@a.test", 1, id), 0);
	assert_int_equal(queue_next_job(T0, &j), 1);
	assert_int_equal(queue_job_result(&j, 0, 550, "5.1.1", "no such user", T0), 0);
	fail_writes = true;
	queue_job_end(&j, T0);
	assert_int_equal(queue_count(), 1);
	assert_int_equal(queue_next_due(), T0 + 300);
	assert_int_equal(queue_next_job(T0 + 1, &j), 0);
	fail_writes = false;
	reopen();   /* the owed bounce survives a restart too */
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_int_equal(st.r[0].state, 'B');
	assert_int_equal(queue_next_due(), 0);
	/* settles (DSN queued, original removed), then hands out the DSN */
	assert_int_equal(queue_next_job(T0 + 2, &j), 1);
	assert_int_equal(queue_count(), 1);
	other_entry(id, dsn);
	assert_true(dsn[0] != 0);
	assert_string_equal(j.id, dsn);
	assert_string_equal(j.mail_from, "");
	assert_string_equal(j.rcpt[0], "s@example.org");
	assert_int_equal(queue_state_get(id, &st), -ENOENT);
	hal_storage_set(&hal_storage_posix);
}

static void
test_delay_warning(void **state)
{
	char id[QUEUE_ID_MAX], dsn[QUEUE_ID_MAX];
	static char buf[16384];
	static struct queue_job j;

	(void)state;
	queue_set_limits(&(struct queue_limits){ .lifetime = 86400, .delay_warning = 600,
	    .retry_base = 500, .retry_max = 500 });
	assert_int_equal(commit("s@example.org", "x@a.test", 1, id), 0);
	assert_int_equal(queue_next_job(T0, &j), 1);
	queue_job_result(&j, 0, 450, "4.2.0", "mailbox busy", T0);
	queue_job_end(&j, T0);
	assert_int_equal(queue_count(), 1);        /* not yet */
	assert_int_equal(queue_next_job(T0 + 500, &j), 0 + 1);
	queue_job_result(&j, 0, 450, "4.2.0", "mailbox busy", T0 + 500);
	queue_job_end(&j, T0 + 500);
	assert_int_equal(queue_count(), 1);
	assert_int_equal(queue_next_job(T0 + 1000, &j), 1);
	queue_job_result(&j, 0, 450, "4.2.0", "mailbox busy", T0 + 1000);
	queue_job_end(&j, T0 + 1000);
	assert_int_equal(queue_count(), 2);        /* warning queued */
	dsn_text(id, buf, sizeof(buf), dsn);
	assert_non_null(strstr(buf, "Action: delayed\r\nStatus: 4.2.0\r\n"));
	assert_non_null(strstr(buf, "Will-Retry-Until: "));
	assert_non_null(strstr(buf, "Subject: Delayed Mail"));
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_true(st.warned);
	/* only once */
	assert_int_equal(queue_delete(dsn), 0);
	assert_int_equal(queue_next_job(T0 + 1500, &j), 1);
	queue_job_result(&j, 0, 450, "4.2.0", "mailbox busy", T0 + 1500);
	queue_job_end(&j, T0 + 1500);
	assert_int_equal(queue_count(), 1);
}

static void
test_limits(void **state)
{
	char id[QUEUE_ID_MAX];
	size_t sz = strlen(PREFIX BODY);

	(void)state;
	queue_set_limits(&(struct queue_limits){ .lifetime = 100, .retry_base = 1,
	    .max_messages = 2, .max_bytes = 3 * sz });
	assert_int_equal(queue_admit(sz), 0);
	assert_int_equal(commit("s@example.org", "x@a.test", 1, id), 0);
	assert_int_equal(queue_admit(2 * sz), 0);
	assert_int_equal(queue_admit(2 * sz + 1), -ENOSPC);   /* bytes */
	assert_int_equal(commit("s@example.org", "x@a.test", 1, id), 0);
	assert_int_equal(queue_admit(1), -ENOSPC);            /* count */
	queue_set_limits(&(struct queue_limits){ .lifetime = 100, .retry_base = 1,
	    .max_messages = 10, .min_free = UINT64_MAX / 2 });
	assert_int_equal(queue_admit(1), -ENOSPC);            /* free space */
	queue_set_limits(&(struct queue_limits){ .lifetime = 100, .retry_base = 1,
	    .max_messages = 10 });
	assert_int_equal(queue_admit(1), 0);
	assert_int_equal(queue_delete(id), 0);
	assert_int_equal(queue_delete(id), -ENOENT);
	assert_int_equal(queue_count(), 1);
	assert_int_equal(queue_bytes(), sz);
}

static void
put(const char *name, const char *content)
{
	char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", qd, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void
test_leftovers(void **state)
{
	char id[QUEUE_ID_MAX];

	(void)state;
	assert_int_equal(commit("s@example.org", "x@a.test", 1, id), 0);
	put("0123456789.msg.tmp.77.0", "half");
	put("AAAAAAAAAA.st.tmp.77.1", "zegel-queue 1\n");
	put("BBBBBBBBBB.msg", "orphan: commit never finished");
	put("CCCCCCCCCC.msg", "kept");
	put("CCCCCCCCCC.st", "zegel-queue 1\nid CCCCCCCCCC\ngarbage\n");   /* damaged */
	put("DDDDDDDDDD.st", "zegel-queue 1\nid DDDDDDDDDD\ncreated 1\nsize 4\nflags\nfrom\n"
	    "r P 0 0 0 -\ta@b\t\nend 1\n");          /* no message file */
	reopen();
	assert_int_equal(queue_count(), 1);
	assert_int_equal(files_with(".tmp."), 0);
	assert_int_equal(files_with("BBBBBBBBBB"), 0);
	assert_int_equal(files_with("CCCCCCCCCC"), 2);  /* left for the operator */
	assert_int_equal(files_with("DDDDDDDDDD"), 1);
	assert_int_equal(files_with(id), 2);
}

static int
no_rename(const char *from, const char *to)
{
	(void)from;
	(void)to;
	return -EXDEV;
}

/* The spool file is taken by rename (gone from the spool, the same inode
 * under ID.msg); where it cannot be (another medium: -EXDEV) it is copied
 * and left for the session to remove. Either way what is sent is the same. */
static void
test_take_or_copy(void **state)
{
	char id[QUEUE_ID_MAX], buf[1024];

	(void)state;
	assert_int_equal(commit("s@example.org", "x@a.test", 1, id), 0);
	assert_int_equal(access(spool, F_OK), -1);
	assert_int_equal(read_msg(id, buf, sizeof(buf)), strlen(PREFIX BODY));
	assert_string_equal(buf, PREFIX BODY);
	failing = hal_storage_posix;
	failing.rename_new = no_rename;
	hal_storage_set(&failing);
	assert_int_equal(commit("s@example.org", "x@a.test", 1, id), 0);
	hal_storage_set(&hal_storage_posix);
	assert_int_equal(access(spool, F_OK), 0);
	assert_int_equal(read_msg(id, buf, sizeof(buf)), strlen(PREFIX BODY));
	assert_string_equal(buf, PREFIX BODY);
	assert_int_equal(queue_bytes(), 2 * strlen(PREFIX BODY));
	reopen();
	assert_int_equal(queue_count(), 2);
	assert_int_equal(files_with(".msg"), 2);
}

static void
test_inflight_recovery(void **state)
{
	char id[QUEUE_ID_MAX];
	static struct queue_job j;

	(void)state;
	assert_int_equal(commit("s@example.org", "x@a.test\0y@a.test", 2, id), 0);
	assert_int_equal(queue_next_job(T0, &j), 1);
	assert_int_equal(queue_job_result(&j, 0, 250, "2.0.0", "ok", T0), 0);
	/* "crash": forget RAM without job_end. Outcomes become durable at job
	 * end (one write per job), so x's 250 is not on storage: both are
	 * retried at once (at least once), neither is lost. */
	reopen();
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_int_equal(st.r[0].state, 'P');
	assert_int_equal(st.r[1].state, 'P');
	assert_int_equal(queue_next_due(), 0);       /* due at once */
	assert_int_equal(queue_next_job(T0, &j), 1);
	assert_int_equal(j.nrcpt, 2);
	/* with job end, the outcome is durable */
	assert_int_equal(queue_job_result(&j, 0, 250, "2.0.0", "ok", T0), 0);
	queue_job_end(&j, T0);
	reopen();
	assert_int_equal(queue_state_get(id, &st), 0);
	assert_int_equal(st.r[0].state, 'S');
	assert_int_equal(st.r[1].state, 'P');
	assert_int_equal(queue_next_job(st.r[1].next, &j), 1);
	assert_int_equal(j.nrcpt, 1);
	assert_string_equal(j.rcpt[0], "y@a.test");
}

static void
test_state_parse(void **state)
{
	static char buf[QUEUE_STATE_MAX];
	static struct queue_state a, b;
	static const char good[] = "zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags 8bit dsn\n"
	    "from\nr B 3 550 9 5.1.1\tx@y\tno such user\nr S 0 250 9 -\tz@y\t\nend 2\n";
	static const char *const bad[] = {
		"zegel-queue 2\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nr P 0 0 0 -\tx@y\t\nend 1\n",
		"zegel-queue 1\nid abc\ncreated 5\nsize 7\nflags\nfrom\nr P 0 0 0 -\tx@y\t\nend 1\n",
		"zegel-queue 1\nid ABC\ncreated -5\nsize 7\nflags\nfrom\nr P 0 0 0 -\tx@y\t\nend 1\n",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags bogus\nfrom\nr P 0 0 0 -\tx@y\t\nend 1\n",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nr Q 0 0 0 -\tx@y\t\nend 1\n",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nr P 0 0 0 -\txy\t\nend 1\n",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nr P 0 0 0 -\tx@y\t\nend 2\n",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nr P 0 0 0 -\tx@y\t\nend 1",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nr P 0 0 0 -\tx@y\t\nend 1\nx",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nr P 0 199 0 -\tx@y\t\nend 1\n",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nend 0\n",
		"zegel-queue 1\nid ABC\ncreated 99999999999999999999\nsize 7\nflags\nfrom\nr P 0 0 0 -\tx@y\t\nend 1\n",
		"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags\nfrom\nr P 0 0 0 -\tx@y\ta\rb\nend 1\n",
	};
	int n;

	(void)state;
	assert_int_equal(queue_state_parse(good, strlen(good), &a), 0);
	assert_int_equal(a.nrcpt, 2);
	assert_true(a.is_dsn && a.body_8bit && !a.smtputf8);
	assert_string_equal(a.from, "");
	assert_int_equal(a.r[0].state, 'B');
	assert_int_equal(a.r[0].code, 550);
	assert_string_equal(a.r[0].text, "no such user");
	assert_string_equal(a.r[1].esc, "");
	/* format(parse(x)) == x, and every truncation is refused */
	n = queue_state_format(&a, buf, sizeof(buf));
	assert_int_equal(n, strlen(good));
	assert_memory_equal(buf, good, (size_t)n);
	for (size_t len = 0; len < strlen(good); len++)
		assert_int_equal(queue_state_parse(good, len, &b), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(queue_state_parse(bad[i], strlen(bad[i]), &b), -EINVAL);
	assert_int_equal(queue_state_format(&a, buf, 20), -ENOSPC);
	/* RFC 8689 flags: kept, and a record without them (older) still loads */
	{
		static const char rt[] = "zegel-queue 1\nid ABC\ncreated 5\nsize 7\n"
		    "flags requiretls tls-required-no\nfrom a@b\nr P 0 0 9 -\tx@y\t\nend 1\n";
		static const char *const rtbad[] = {
			"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags requiretl\nfrom\n"
			    "r P 0 0 0 -\tx@y\t\nend 1\n",
			"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags REQUIRETLS\nfrom\n"
			    "r P 0 0 0 -\tx@y\t\nend 1\n",
			"zegel-queue 1\nid ABC\ncreated 5\nsize 7\nflags requiretls  dsn\nfrom\n"
			    "r P 0 0 0 -\tx@y\t\nend 1\n",
		};

		assert_int_equal(queue_state_parse(rt, strlen(rt), &b), 0);
		assert_true(b.requiretls && b.tls_required_no && !b.is_dsn);
		n = queue_state_format(&b, buf, sizeof(buf));
		assert_int_equal(n, strlen(rt));
		assert_memory_equal(buf, rt, (size_t)n);
		assert_false(a.requiretls || a.tls_required_no);
		for (size_t i = 0; i < sizeof(rtbad) / sizeof(rtbad[0]); i++)
			assert_int_equal(queue_state_parse(rtbad[i], strlen(rtbad[i]), &b), -EINVAL);
	}
}

static char dumped[4096];

static void
dump_line(void *arg, const char *line)
{
	(void)arg;
	strncat(dumped, line, sizeof(dumped) - strlen(dumped) - 2);
	strcat(dumped, "\n");
}

/* `set queue ...`: durations and sizes parsed, bad values refused, limits
 * derived, only non-default lines dumped. */
static void
test_config(void **state)
{
	struct queue_limits l;
	static const char *const bad[] = {
		"set queue lifetime 0", "set queue lifetime 5x", "set queue lifetime -1",
		"set queue lifetime 5dd", "set queue retry-base 0", "set queue max-messages 0",
		"set queue max-size 12", "set queue min-free lots", "set queue lifetime 99999d",
		"set queue max-messages 99999999",
	};
	char e[256];

	(void)state;
	config_init();
	queue_limits_from_cfg(zcfg_running(), &l);
	assert_int_equal(l.lifetime, 5 * 86400);
	assert_int_equal(l.delay_warning, 4 * 3600);
	assert_int_equal(l.retry_base, 300);
	assert_int_equal(l.retry_max, 3600);
	dumped[0] = 0;
	config_dump(zcfg_running(), false, dump_line, NULL);
	assert_null(strstr(dumped, "set queue"));
	assert_int_equal(config_set_line("set queue lifetime 2h", e, sizeof(e)), 0);
	assert_int_equal(config_set_line("set queue delay-warning 0", e, sizeof(e)), 0);
	assert_int_equal(config_set_line("set queue retry-base 30s", e, sizeof(e)), 0);
	assert_int_equal(config_set_line("set queue max-messages 7", e, sizeof(e)), 0);
	assert_int_equal(config_set_line("set queue max-size 1000000", e, sizeof(e)), 0);
	assert_int_equal(config_set_line("set queue min-free 4096", e, sizeof(e)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_not_equal(config_set_line(bad[i], e, sizeof(e)), 0);
	assert_int_equal(config_commit(e, sizeof(e)), 0);
	queue_limits_from_cfg(zcfg_running(), &l);
	assert_int_equal(l.lifetime, 7200);
	assert_int_equal(l.delay_warning, 0);
	assert_int_equal(l.retry_base, 30);
	assert_int_equal(l.retry_max, 360);
	assert_int_equal(l.max_messages, 7);
	assert_int_equal(l.max_bytes, 1000000);
	assert_int_equal(l.min_free, 4096);
	dumped[0] = 0;
	config_dump(zcfg_running(), false, dump_line, NULL);
	assert_non_null(strstr(dumped, "set queue lifetime 2h\nset queue delay-warning 0s\n"
	    "set queue retry-base 30s\nset queue max-messages 7\nset queue max-size 1000000\n"
	    "set queue min-free 4K\n"));
}

static char cout[65536];

static void
ccap(void *arg, const uint8_t *p, size_t n)
{
	size_t have = strlen(cout);

	(void)arg;
	assert_true(have + n < sizeof(cout));
	memcpy(cout + have, p, n);
	cout[have + n] = 0;
}

static void
run_cmd(const char *l)
{
	static struct console con;

	cout[0] = 0;
	console_init(&con, ccap, NULL, false);
	console_execute(&con, l);
}

static int64_t
fixed_now(void)
{
	return T0 + 3 * 86400;
}

static uint64_t
fixed_mono(void)
{
	return 0;
}

static const struct hal_clock_ops fixed_clock = { "fixed", fixed_now, fixed_mono, NULL, NULL };

/* `show queue`, `show queue ID`, `queue flush`, `queue delete ID`, help */
static void
test_console(void **state)
{
	char id[QUEUE_ID_MAX], id2[QUEUE_ID_MAX], l[64];
	static struct queue_job j;
	int64_t now = fixed_now();
	struct queue_new q = {
		.mail_from = "s@example.org", .rcpts = "x@a.test\0y@b.test", .nrcpt = 2,
		.spool_path = spool, .spool_size = strlen(BODY), .now = now - 7200,
	};

	(void)state;
	config_init();
	console_reset_registry();
	hal_clock_set(&fixed_clock);
	assert_int_equal(queue_console_register(), 0);
	put_spool();
	assert_int_equal(queue_commit(&q, id), 0);
	q.now = now;
	q.nrcpt = 1;
	put_spool();
	assert_int_equal(queue_commit(&q, id2), 0);
	assert_int_equal(queue_next_job(now, &j), 1);   /* first entry, a.test */
	assert_string_equal(j.id, id);
	queue_job_result(&j, 0, 451, "4.7.1", "greylisted", now);
	queue_job_end(&j, now);
	run_cmd("show queue");
	assert_non_null(strstr(cout, id));
	assert_non_null(strstr(cout, "age 2h00m"));
	assert_non_null(strstr(cout, "from <s@example.org>"));
	assert_non_null(strstr(cout, "to <x@a.test> deferred next in 5m00s (451 4.7.1 greylisted);"
	    " <y@b.test> waiting next now"));
	assert_non_null(strstr(cout, id2));
	assert_non_null(strstr(cout, "queue: 2 messages"));
	snprintf(l, sizeof(l), "show queue %s", id);
	run_cmd(l);
	assert_non_null(strstr(cout, "to: <x@a.test> deferred next in 5m00s (451 4.7.1 greylisted),"
	    " attempts 1"));
	assert_non_null(strstr(cout, "to: <y@b.test> waiting next now"));
	run_cmd("show queue NOSUCH");
	assert_non_null(strstr(cout, "no queue entry 'NOSUCH'"));
	run_cmd("queue flush");
	assert_non_null(strstr(cout, "all waiting recipients due now"));
	run_cmd("show queue");
	assert_non_null(strstr(cout, "to <x@a.test> deferred next now"));
	snprintf(l, sizeof(l), "queue delete %s", id2);
	run_cmd(l);
	assert_non_null(strstr(cout, "deleted (no bounce sent)"));
	assert_int_equal(queue_count(), 1);
	run_cmd(l);
	assert_non_null(strstr(cout, "no queue entry"));
	run_cmd("queue delete");
	assert_non_null(strstr(cout, "usage: queue delete ID"));
	run_cmd("help");
	assert_non_null(strstr(cout, "show queue"));
	assert_non_null(strstr(cout, "queue flush"));
	assert_non_null(strstr(cout, "queue delete"));
	queue_close();
	run_cmd("show queue");
	assert_non_null(strstr(cout, "not in use"));
	hal_clock_set(&hal_clock_posix);
}

/* ------------------------------------------------------------ kill tests */

static unsigned kill_at;

static void
die(unsigned step)
{
	if (step != kill_at)
		return;
	if (step % 2)
		raise(SIGKILL);
	_exit(0);
}

/* Runs scenario in a child killed at storage step n; the child writes 'C'
 * into the pipe when the commit returned 0. Returns true when the child ran
 * to its end without reaching step n (exit code 3). */
static bool
run_killed(unsigned n, void (*scenario)(int fd), bool *committed)
{
	int p[2], status;
	pid_t pid;
	char c;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		queue_close();
		if (queue_open(qd, err, sizeof(err)) != 0)
			_exit(2);
		kill_at = n;
		queue_test_set_fault(die);
		scenario(p[1]);
		_exit(3);
	}
	close(p[1]);
	*committed = read(p[0], &c, 1) == 1 && c == 'C';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
		fail_msg("child could not open the queue");
	return WIFEXITED(status) && WEXITSTATUS(status) == 3;
}

static void
scen_commit(int fd)
{
	char id[QUEUE_ID_MAX];

	if (commit("s@example.org", "x@a.test\0y@b.test", 2, id) == 0)
		(void)!write(fd, "C", 1);
}

static void
test_kill_commit(void **state)
{
	static char buf[1024];
	unsigned n;
	bool done = false, committed;

	(void)state;
	for (n = 1; !done && n < 100; n++) {
		char id[QUEUE_ID_MAX];

		done = run_killed(n, scen_commit, &committed);
		reopen();
		assert_int_equal(files_with(".tmp."), 0);
		assert_int_equal(files_with(".msg"), (int)queue_count());
		assert_int_equal(files_with(".st"), (int)queue_count());
		if (committed) {
			assert_int_equal(queue_count(), 1);
			/* the queue took the spool file: no second copy anywhere */
			assert_int_equal(access(spool, F_OK), -1);
		}
		assert_true(queue_count() <= 1);
		if (queue_count() == 1) {
			other_entry("", id);
			assert_int_equal(queue_state_get(id, &st), 0);
			assert_int_equal(st.nrcpt, 2);
			/* never half a message */
			assert_int_equal(read_msg(id, buf, sizeof(buf)), strlen(PREFIX BODY));
			assert_string_equal(buf, PREFIX BODY);
			assert_int_equal(queue_delete(id), 0);
		}
	}
	assert_true(done);
	assert_true(n > 8);   /* there were kill points */
}

static void
scen_update(int fd)
{
	static struct queue_job j;

	(void)fd;
	while (queue_next_job(T0, &j) == 1) {
		if (strcmp(j.domain, "a.test") == 0) {
			queue_job_result(&j, 0, 250, "2.0.0", "ok", T0);
			queue_job_result(&j, 1, 451, "4.3.0", "later", T0);
		} else if (strcmp(j.domain, "b.test") == 0) {
			queue_job_result(&j, 0, 550, "5.1.1", "unknown", T0);
		}   /* the DSN to example.org: no result, deferred (stays) */
		queue_job_end(&j, T0);
	}
}

/* results, a bounce DSN and the rewrite, killed at every step: the
 * original's recipients are each in the old or the new state, and a bounced
 * recipient is either still owed its DSN or has one queued. */
static void
test_kill_update(void **state)
{
	char id[QUEUE_ID_MAX], other[QUEUE_ID_MAX], cmd[160];
	unsigned n;
	bool done = false, committed;

	(void)state;
	for (n = 1; !done && n < 200; n++) {
		queue_close();
		snprintf(cmd, sizeof(cmd), "rm -f '%s'/*", qd);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(queue_open(qd, err, sizeof(err)), 0);
		assert_int_equal(queue_count(), 0);
		assert_int_equal(commit("s@example.org", "x@a.test\0y@a.test\0z@b.test", 3, id), 0);
		queue_close();
		done = run_killed(n, scen_update, &committed);
		reopen();
		assert_int_equal(files_with(".tmp."), 0);
		assert_int_equal(queue_state_get(id, &st), 0);   /* never lost (y pending) */
		assert_int_equal(st.nrcpt, 3);
		assert_true(st.r[0].state == 'P' || st.r[0].state == 'S');
		assert_true(st.r[1].state == 'P');
		assert_true(st.r[1].attempts <= 1);
		assert_true(st.r[2].state == 'P' || st.r[2].state == 'B' || st.r[2].state == 'X');
		other_entry(id, other);
		if (st.r[2].state == 'X')
			assert_true(other[0] != 0);    /* its DSN exists */
		if (other[0] != 0) {
			static struct queue_state d;
			static char buf[8192];

			assert_int_equal(queue_state_get(other, &d), 0);
			assert_string_equal(d.from, "");
			assert_true(read_msg(other, buf, sizeof(buf)) > 0);
			assert_non_null(strstr(buf, "Final-Recipient: rfc822; z@b.test\r\n"));
			assert_non_null(strstr(buf, "--\r\n"));   /* complete */
		}
		/* what is still owed gets done after the restart */
		if (st.r[2].state == 'B') {
			static struct queue_job j;

			while (queue_next_job(T0, &j) == 1)
				queue_job_end(&j, T0);
			other_entry(id, other);
			assert_true(other[0] != 0);
		}
	}
	assert_true(done);
	assert_true(n > 20);
}

static void
scen_deliver(int fd)
{
	static struct queue_job j;

	(void)fd;
	while (queue_next_job(T0, &j) == 1) {
		for (unsigned k = 0; k < j.nrcpt; k++)
			queue_job_result(&j, k, 250, "2.0.0", "ok", T0);
		queue_job_end(&j, T0);
	}
}

/* delivery to the end and the removal, killed at every step: the entry is
 * whole (record + complete message, recipients sent or due again) or gone
 * without a trace, never a record without its message. */
static void
test_kill_remove(void **state)
{
	char id[QUEUE_ID_MAX], cmd[160];
	static char buf[1024];
	unsigned n, gone = 0;
	bool done = false, committed;

	(void)state;
	for (n = 1; !done && n < 200; n++) {
		queue_close();
		snprintf(cmd, sizeof(cmd), "rm -f '%s'/*", qd);
		assert_int_equal(system(cmd), 0);
		assert_int_equal(queue_open(qd, err, sizeof(err)), 0);
		assert_int_equal(commit("s@example.org", "x@a.test\0y@b.test", 2, id), 0);
		queue_close();
		done = run_killed(n, scen_deliver, &committed);
		reopen();
		assert_int_equal(files_with(".tmp."), 0);
		if (files_with(id) == 0) {
			assert_int_equal(queue_count(), 0);
			gone++;
			continue;
		}
		assert_int_equal(files_with(id), 2);
		assert_int_equal(queue_count(), 1);
		assert_int_equal(queue_state_get(id, &st), 0);
		assert_int_equal(read_msg(id, buf, sizeof(buf)), strlen(PREFIX BODY));
		for (unsigned i = 0; i < 2; i++)
			assert_true(st.r[i].state == 'P' || st.r[i].state == 'S');
		/* and after the restart the queue finishes the job: nothing stays */
		queue_test_set_fault(NULL);
		scen_deliver(-1);
		assert_int_equal(queue_count(), 0);
		assert_int_equal(files_with(id), 0);
	}
	assert_true(done);
	assert_true(gone >= 2);   /* killed after the removal, and the run to the end */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requiretls_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_grouping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_domains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_and_domain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lifetime_bounce, setup, teardown),
		cmocka_unit_test_setup_teardown(test_5xx_bounce_and_no_bounce_of_bounce, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dsn_commit_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_warning, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_or_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inflight_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_parse, setup, teardown),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_console, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_update, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_remove, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
