/*
 * firmware/spool/queue.h — the crash-safe delivery queue of direct mode and of
 * the smarthost with its queue on (firmware/relay/direct.h, shqueue.h).
 *
 * Model. One directory (cfg data_dir + "/queue") holds, per queued message
 * ("entry", id = 10 upper-case hex digits):
 *
 *   ID.msg   the message as the client sent it: the spool file itself,
 *            taken by hal_storage_rename_new() (never copied: every body is
 *            written to storage once), CRLF lines, not dot-stuffed.
 *   ID.st    the state record: envelope, the DKIM prefix (the
 *            "DKIM-Signature: ..." fields sent in front of ID.msg) and one
 *            line per recipient (state, attempts, next attempt, last reply).
 *            Rewritten as a whole.
 *
 * What is sent is the record's prefix followed by ID.msg (queue_job.prefix,
 * queue_job_open()). Records written before the prefix moved into them have
 * no prefix lines and an ID.msg that starts with the signatures: the same
 * rule reads both.
 *
 * Records are written through hal/storage.h open_write/commit: temporary
 * file, fsync, rename to the final name, fsync of the directory. The order
 * makes every kill point safe (SIGKILL or power cut; tests/unit/test_queue.c
 * kills a child at every storage call):
 *
 *   commit:  spool file renamed to ID.msg (no replace)  ->  ID.st committed
 *            ->  queue_commit() = 0
 *            An entry exists iff its ID.st exists. ID.msg without ID.st is a
 *            commit that never returned 0 (the client got no 250 and will
 *            send again): removed at open, as are temporary files (*.tmp.*).
 *            A spool file left in the spool directory is the session's
 *            (firmware/spool/msg.h sweeps it at start).
 *   update:  ID.st replaced atomically: the old record or the new one.
 *   remove:  ID.st removed, directory synced, then ID.msg removed.
 *
 * Recipient states (one letter in the record):
 *   P  pending: waits for its next attempt (after a 4xx, or never tried)
 *   F  in flight: handed out by queue_next_job(), no outcome yet. Recorded
 *      durably BEFORE the job is returned, so after a crash queue_open()
 *      knows which recipients may or may not have received the message: they
 *      become due at once (at-least-once delivery) and the log names them.
 *   S  sent (2xx), final
 *   B  bounced (5xx, or 4xx after the lifetime), DSN not yet queued
 *   X  bounced and DSN queued (or none owed: null sender), final
 *   W  (flag) a delay warning DSN was sent for this entry
 *
 * Retries: the n-th deferral waits retry_base * 2^(n-1), at most retry_max
 * (default 5 min doubling to 1 h), never past created + lifetime: the last
 * attempt happens at the lifetime, and a 4xx then bounces. Permanent (5xx)
 * failures bounce at queue_job_end(). A delay warning (Action: delayed) goes
 * once per entry when an attempt ends after delay_warning with recipients
 * still pending. DSNs (firmware/spool/dsn.h) go to the envelope sender with
 * the null sender, and are themselves queue entries; nothing is ever sent
 * about an entry whose sender is <> (RFC 3464 / RFC 5321 6.1: no bounce loops).
 *
 * Memory: an index of CONFIG_QUEUE_MAX_ENTRIES small records stays in RAM;
 * the full state of an entry (envelope, per-recipient replies) is loaded
 * into one of CONFIG_QUEUE_LOADED slots when a job needs it. A slot is
 * pinned while jobs of its entry are in flight: the strings a struct
 * queue_job points to live there until queue_job_end(). No malloc.
 *
 * Call order (one thread, the event loop): queue_open() once, then
 * queue_set_limits()/queue_set_hostname() whenever the config changes;
 * receiving side: queue_admit() at MAIL/DATA time, queue_commit() after
 * DATA; delivery side: queue_next_job(), queue_job_open(), one
 * queue_job_result() per recipient outcome, queue_job_end(). No sockets; the
 * clock is always an argument (UNIX seconds).
 */
#ifndef ZEGEL_SPOOL_QUEUE_H
#define ZEGEL_SPOOL_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/storage.h"
#include "zegel/config.h"

#define QUEUE_ID_MAX 16
#define QUEUE_ADDR_MAX 257          /* an address, NUL included (RFC 5321 4.5.3.1.3) */
#define QUEUE_JOB_RCPTS CONFIG_SMTP_MAX_RECIPIENTS
#define QUEUE_RCPT_MAX CONFIG_SMTP_MAX_RECIPIENTS
#define QUEUE_TEXT_MAX 200          /* last reply text kept per recipient */
#define QUEUE_PREFIX_MAX 6144       /* DKIM-Signature fields of one message */
/* the state record: header lines, prefix lines, one line per recipient */
#define QUEUE_STATE_MAX (1024 + 2 * QUEUE_PREFIX_MAX + \
    QUEUE_RCPT_MAX * (QUEUE_ADDR_MAX + QUEUE_TEXT_MAX + 64))

struct queue_limits {
	uint32_t max_messages;      /* 0: no limit */
	uint64_t max_bytes;         /* sum of message sizes; 0: no limit */
	uint64_t min_free;          /* keep this much storage free */
	int64_t lifetime;           /* seconds until a pending recipient bounces */
	int64_t delay_warning;      /* seconds until a delay DSN; 0: never */
	int64_t retry_base;         /* first retry delay */
	int64_t retry_max;          /* backoff cap */
};

struct zcfg;
/* Limits from the `set queue ...` lines (defaults from Kconfig). */
void queue_limits_from_cfg(const struct zcfg *cfg, struct queue_limits *l);

int  queue_open(const char *dir, char *err, size_t cap);   /* scan + recover at start */
void queue_close(void);             /* forget everything in RAM (tests; reopen) */
void queue_set_limits(const struct queue_limits *l);
void queue_set_hostname(const char *host);  /* for DSNs: MAILER-DAEMON@host */
/* 0, or -ENOSPC: answer 452 4.3.1 (count/bytes/free space). size = expected octets */
int  queue_admit(uint64_t size);

struct queue_new {
	const char *mail_from;      /* without <>, "" for the null sender */
	const char *rcpts;          /* nrcpt NUL-terminated addresses back to back */
	unsigned nrcpt;
	/* The committed spool file (hal/storage.h): on success the queue has
	 * TAKEN it (renamed to ID.msg, the path names nothing any more); on
	 * failure it is left where it was. A different medium (-EXDEV) or a
	 * backend without rename_new: copied instead. NULL: prefix only. */
	const char *spool_path;
	uint64_t spool_size;        /* its octets */
	/* DKIM-Signature fields sent in front: CRLF lines, kept in ID.st */
	const uint8_t *prefix;
	size_t prefix_len;
	bool body_8bit, smtputf8;
	bool requiretls;            /* MAIL ... REQUIRETLS (RFC 8689) */
	bool tls_required_no;       /* a "TLS-Required: No" header field */
	int64_t now;
};
/* Durable when it returns 0 (then the client may hear 250); -errno else,
 * and nothing of it is left (an ID.msg orphan at worst, removed at open). */
int  queue_commit(const struct queue_new *n, char id[QUEUE_ID_MAX]);

/* Delivery side: entries due at 'now', one recipient DOMAIN group at a time. */
struct queue_job {                  /* a snapshot; ids are stable */
	char id[QUEUE_ID_MAX];
	char domain[256];           /* lower case */
	const char *mail_from;
	const uint8_t *prefix;      /* sent before the message file (may be empty) */
	size_t prefix_len;
	unsigned nrcpt;
	unsigned rcpt_index[QUEUE_JOB_RCPTS];  /* index in the entry */
	const char *rcpt[QUEUE_JOB_RCPTS];
	uint64_t size;
	bool body_8bit, smtputf8;
	bool requiretls, tls_required_no; /* as queue_new */
	unsigned attempts;          /* earlier attempts of these recipients (max) */
};
/* 1 found (recipients recorded in flight), 0 none due (or every load slot
 * is pinned by running jobs: then queue_next_due() leaves those entries out
 * and queue_job_end() calls the wake-up), -errno storage error */
int  queue_next_job(int64_t now, struct queue_job *j);
/* The same, passing over recipients whose domain skip(arg, domain) calls
 * busy (one session per domain at a time: the rest waits for it). */
int  queue_next_job_skip(int64_t now, bool (*skip)(void *arg, const char *domain), void *arg,
         struct queue_job *j);
/* The same restricted to one recipient domain (case-insensitive): for
 * reusing an open connection to that domain's MX for the next message. */
int  queue_next_job_for(int64_t now, const char *domain, struct queue_job *j);
/* The same with every due recipient of one entry, whatever its domain
 * (j->domain ""): the smarthost queue, where one upstream takes them all in
 * one transaction (firmware/relay/shqueue.h). */
int  queue_next_job_all(int64_t now, struct queue_job *j);
/* The message file, what follows j->prefix[0..prefix_len). */
int  queue_job_open(const struct queue_job *j, struct hal_file *f);
/* The message file's path (for readers that open it themselves): 0 or -errno. */
int  queue_job_path(const struct queue_job *j, char *buf, size_t cap);
/* A recipient's outcome, recorded in RAM; queue_job_end() (or _release())
 * makes all of a job's outcomes durable in ONE rewrite of the state record,
 * not one per recipient (a 100-recipient job: one fsync, not 100). A crash
 * before that leaves them in flight: tried again, at least once, as for a
 * crash during the delivery itself. k is the recipient's position
 * IN THE JOB: j->rcpt[k] (its index in the entry is j->rcpt_index[k]);
 * -EINVAL if k >= j->nrcpt, -EALREADY if it has its outcome already: code 2xx
 * sent, 4xx deferred, 5xx bounced; esc "5.1.1" or NULL, text one line. */
int  queue_job_result(struct queue_job *j, unsigned k, int code, const char *esc,
         const char *text, int64_t now);
/* Not in flight any more: recipients without a result count as deferred;
 * schedules retries, bounces (DSN) and delay warnings, removes the entry
 * when every recipient is final. j is invalid afterwards. */
void queue_job_end(struct queue_job *j, int64_t now);
/* The same for a job that was not really attempted (zegel stops before
 * any recipient had an outcome): its recipients without a result are
 * pending again and due at once, no attempt counted, no backoff. */
void queue_job_release(struct queue_job *j, int64_t now);
int64_t queue_next_due(void);       /* earliest next attempt (for the timer), -1 none */
/* How long a delivery scheduler sleeps before it looks again: until the
 * earliest next attempt (at least 1 s when it is due already), at most 60 s. */
uint32_t queue_timer_ms(int64_t now);
void queue_flush(int64_t now);      /* all pending recipients due now */

/* The delivery side's wake-up: called (from queue_commit(), queue_flush(),
 * queue_job_end(), also when a DSN is queued) when something may have become
 * due earlier than the last queue_next_due() said. Called from inside those
 * functions: it should only arm a timer, not call back into the queue. NULL: none. */
void queue_set_wakeup(void (*fn)(void *arg), void *arg);

/* Optional DKIM signing of the DSNs the queue writes (set by the delivery
 * side through firmware/relay/queued.c, which has the keys):
 * sign(arg, domain, gen, gctx, out, cap, &len) is given the DSN's From
 * domain; it runs gen(gctx, put, parg) once to see the whole message
 * (CRLF lines, header first) and returns 0 with "DKIM-Signature: ...\r\n"
 * fields (len octets) in out, or -errno: the
 * DSN is then queued unsigned (a bounce must not be lost for a key).
 * gen produces the same bytes the queue then writes after those fields. */
typedef int (*queue_put_fn)(void *parg, const void *p, size_t n);
typedef int (*queue_gen_fn)(void *gctx, queue_put_fn put, void *parg);
typedef int (*queue_dsn_sign_fn)(void *arg, const char *domain, queue_gen_fn gen, void *gctx,
    uint8_t *out, size_t cap, size_t *len);
void queue_set_dsn_signer(queue_dsn_sign_fn sign, void *arg);

/* Console / inspection. */
bool queue_is_open(void);
const char *queue_dir(void);        /* the directory queue_open() was given, "" before */
/* Who delivers the queue now, for `show queue` ("smarthost HOST:PORT");
 * NULL: nobody said (direct mode). The string must stay valid. */
void queue_set_runner(const char *what);
const char *queue_runner(void);
unsigned queue_count(void);
uint64_t queue_bytes(void);
/* remove an entry without bounce (logged); -ENOENT unknown, -EBUSY in flight */
int  queue_delete(const char *id);

/* ------------------------------------------------------------ records */
enum queue_rstate {
	QUEUE_R_PENDING = 'P', QUEUE_R_INFLIGHT = 'F', QUEUE_R_SENT = 'S',
	QUEUE_R_BOUNCED = 'B', QUEUE_R_NOTIFIED = 'X',
};

struct queue_rcpt {
	const char *addr;           /* into queue_state.env */
	char state;                 /* enum queue_rstate */
	bool inflight;              /* RAM only: in a job right now */
	uint16_t attempts;
	int16_t code;               /* last reply code, 0 none */
	int64_t next;               /* next attempt (P), or when it became final */
	char esc[12];
	char text[QUEUE_TEXT_MAX];
};

/* The whole state of one entry, the content of ID.st. */
struct queue_state {
	char id[QUEUE_ID_MAX];
	int64_t created;
	uint64_t size;              /* octets sent: prefix + message file */
	bool body_8bit, smtputf8, warned, is_dsn;
	/* RFC 8689: flags "requiretls" and "tls-required-no"; a record written
	 * before they existed simply has neither */
	bool requiretls, tls_required_no;
	const char *from;           /* into env */
	size_t prefix_len;
	uint8_t prefix[QUEUE_PREFIX_MAX];
	unsigned nrcpt;
	struct queue_rcpt r[QUEUE_RCPT_MAX];
	size_t envlen;
	char env[QUEUE_ADDR_MAX * (QUEUE_RCPT_MAX + 1)];
};

/* Parse an ID.st record: 0, or -EINVAL for anything malformed (never a
 * partial state). Pure; the fuzz target tests/fuzz/fuzz_queue_state.c. */
int  queue_state_parse(const char *buf, size_t len, struct queue_state *st);
/* Format a state: its length, or -ENOSPC if cap is too small. */
int  queue_state_format(const struct queue_state *st, char *buf, size_t cap);
/* A snapshot of entry id for `show queue ID`: 0 or -errno. */
int  queue_state_get(const char *id, struct queue_state *st);
/* Iterate the index: fn(arg, id, created, size) per entry; for `show queue`. */
void queue_foreach(void (*fn)(void *arg, const char *id), void *arg);

/* `show queue`, `show queue ID`, `queue flush`, `queue delete ID`
 * (firmware/spool/console_queue.c) */
int  queue_console_register(void);

/* ------------------------------------------------------------ tests */
/* Every storage call of the queue first calls the hook (if set) with a
 * running step number: crash tests _exit() or SIGKILL at step n. */
void queue_test_set_fault(void (*fn)(unsigned step));

#endif
