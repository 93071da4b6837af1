/*
 * firmware/spool/queue_int.h — private to the queue's three files:
 * queue.c (index, storage, recovery, limits, commit), queue_record.c (the
 * ID.st format, pure) and queue_deliver.c (jobs, outcomes, DSNs, removal).
 * The state lives in one struct queue_core (no allocation); everything here
 * runs on the event-loop thread.
 */
#ifndef ZEGEL_SPOOL_QUEUE_INT_H
#define ZEGEL_SPOOL_QUEUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/spool/queue.h"
#include "hal/storage.h"

#define MOD "queue"
#define DIR_MAX (HAL_PATH_MAX - 48)
#define ORIG_HEADERS_MAX 16384
#define NEVER INT64_MAX

struct qent {                       /* index record, one per entry */
	bool used;
	bool settle;                /* bounces/removal waiting for settle_entry() */
	char id[QUEUE_ID_MAX];
	int64_t created;
	int64_t next_due;           /* earliest due pending recipient, NEVER none */
	int64_t settle_after;       /* a failed DSN commit waits until then */
	uint64_t size;
	int slot;                   /* loaded slot or -1 */
	unsigned inflight;          /* jobs out */
	bool dirty;                 /* outcomes recorded in RAM, written at job end */
};

struct qslot {
	int ent;                    /* -1 free */
	unsigned pins;
	unsigned lru;
	struct queue_state st;
};

/* What the configuration sets (initialised: .data, so keep it small). */
struct queue_conf {
	struct queue_limits lim;
	char host[256];             /* for DSNs: MAILER-DAEMON@host */
};

extern struct queue_conf queue_conf;

/* The index and scratch state (zero at start: .bss). */
struct queue_core {
	char dir[DIR_MAX];
	bool open;
	struct qent ents[CONFIG_QUEUE_MAX_ENTRIES];
	unsigned nents;
	uint64_t nbytes;
	struct qslot slots[CONFIG_QUEUE_LOADED];
	unsigned lru_clock;
	char recbuf[QUEUE_STATE_MAX];
	struct queue_state scratch;
};

extern struct queue_core queue_core;

/* queue.c */
void queue_wake(void);
void queue_fault(void);
int  queue_path_of(char *out, size_t cap, const char *id, const char *ext);
int  queue_find_ent(const char *id);
int  queue_free_ent(void);
int  queue_state_write(const struct queue_state *st);
int  queue_state_read(const char *id, struct queue_state *st);
void queue_entry_files_remove(const char *id);
void queue_refresh(int e, const struct queue_state *st);
void queue_ent_drop(int e);
int  queue_load(int e, struct queue_state **out);
typedef int (*queue_body_fn)(void *arg, struct hal_file *f);
int  queue_commit_entry(struct queue_state *st, const struct queue_new *take, queue_body_fn body,
         void *arg, char id[QUEUE_ID_MAX]);

/* queue_record.c */
bool queue_valid_id(const char *s, size_t n);
bool queue_valid_addr(const char *s, size_t n, bool need_at);
void queue_put_text(char *dst, size_t cap, const char *src);
void queue_put_esc(char *dst, const char *esc, int code);
const char *queue_domain_of(const char *addr);
int  queue_env_add(struct queue_state *st, const char *s, size_t n, const char **out);
bool queue_prefix_ok(const uint8_t *p, size_t n);
void queue_state_init(struct queue_state *st, const char *from, int64_t now);
int  queue_state_add_rcpt(struct queue_state *st, const char *addr, int64_t now);

#endif
