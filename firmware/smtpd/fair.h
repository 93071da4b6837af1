/*
 * firmware/smtpd/fair.h — fairness between LAN clients (issue 20): one busy
 * or hostile host must not stop the office's mail. Pure arithmetic, time as
 * an argument (monotonic milliseconds), no sockets, no logs; server.c and
 * conn.c apply the verdicts.
 *
 * Session clocks. Each session keeps a struct smtpd_fair_clock; the server
 * updates it after every input with smtpd_fair_note() and asks
 * smtpd_fair_check() on a timer:
 *   command deadline      a command line started (first octet) must end with
 *                         CRLF within command_ms: a client that drips one
 *                         octet every few seconds ends in 421 4.4.2
 *   transaction deadline  MAIL to the reply after the final dot within
 *                         transaction_ms (time spent waiting for the relay,
 *                         which is not the client's, does not count)
 *   minimum data rate     during DATA, at least min_rate octets per second
 *                         over each window of window_ms
 * RFC 5321 4.5.3.2 gives the ceilings (5 minutes per command, 10 minutes
 * for the data termination); the LAN defaults are shorter (config README).
 *
 * Shedding. When every session slot is taken, the session with the longest
 * time without progress (a complete command) that is not authenticated, not
 * in DATA and not waiting for the relay is closed (421 4.4.2) to admit the
 * newcomer, if it made no progress for at least shed_idle_ms.
 *
 * AUTH backoff. A fixed table of client addresses (SMTPD_FAIR_ADDRS entries,
 * the least recently used one is reused, locked-out ones last). Each failed
 * AUTH from an address holds its 535 for a delay that doubles from
 * auth_delay_ms to auth_delay_max_ms; replies of one address are
 * serialised, so parallel connections do not guess faster. After
 * auth_lockout failures in a row the address is locked out for
 * auth_lockout_ms: AUTH gets 454 4.7.0 without a password check. A success
 * forgets the address. After a lockout one more failure locks again.
 */
#ifndef ZEGEL_SMTPD_FAIR_H
#define ZEGEL_SMTPD_FAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal/addr.h"

#define SMTPD_FAIR_ADDRS 64

struct smtpd_fair_limits {
	uint32_t command_ms;        /* 0: no command deadline */
	uint32_t transaction_ms;    /* 0: no transaction deadline */
	uint32_t min_rate;          /* octets per second in DATA, 0: off */
	uint32_t window_ms;
	uint32_t shed_idle_ms;      /* 0: never shed */
	uint32_t auth_delay_ms, auth_delay_max_ms;
	uint32_t auth_lockout;      /* failures in a row, 0: never */
	uint32_t auth_lockout_ms;
};

/* What the session looks like now (smtpd_fair_note). */
enum smtpd_fair_state {
	SMTPD_FAIR_COMMANDS = 0,    /* between transactions */
	SMTPD_FAIR_TRANSACTION,     /* MAIL..RCPT */
	SMTPD_FAIR_DATA,            /* reading the message */
	SMTPD_FAIR_WAITING,         /* waiting for the relay or an AUTH verdict */
};

struct smtpd_fair_clock {
	uint64_t progress_ms;       /* last complete command (or the connect) */
	uint64_t line_ms;           /* a partial command line since; 0: none */
	uint64_t txn_ms;            /* transaction start, shifted by waits; 0: none */
	uint64_t wait_ms;           /* waiting since; 0: not waiting */
	uint64_t win_ms;            /* DATA: this rate window started; 0: not in DATA */
	uint64_t win_bytes;         /* DATA octets in this window */
	enum smtpd_fair_state state;
};

enum smtpd_fair_verdict {
	SMTPD_FAIR_OK = 0,
	SMTPD_FAIR_COMMAND_LATE,    /* 421 4.4.2 */
	SMTPD_FAIR_TRANSACTION_LATE,/* 421 4.4.2 */
	SMTPD_FAIR_DATA_SLOW,       /* 421 4.4.2, message discarded */
};

void smtpd_fair_clock_init(struct smtpd_fair_clock *k, uint64_t now);
/* After input: consumed octets (in DATA: message octets), whether the
 * engine holds a partial command line, and the session's state. */
void smtpd_fair_note(struct smtpd_fair_clock *k, uint64_t now, size_t consumed, bool partial,
    enum smtpd_fair_state st);
/* The verdict now; *due is when to ask again (0: nothing pending). */
enum smtpd_fair_verdict smtpd_fair_check(struct smtpd_fair_clock *k,
    const struct smtpd_fair_limits *l, uint64_t now, uint64_t *due);
const char *smtpd_fair_reason(enum smtpd_fair_verdict v);
/* May this session be shed for a newcomer? How long without progress. */
bool smtpd_fair_sheddable(const struct smtpd_fair_clock *k, const struct smtpd_fair_limits *l,
    uint64_t now, uint64_t *idle);

/* ------------------------------------------------------------ AUTH */

struct smtpd_fair_addr {
	bool used;
	uint8_t family;
	uint8_t ip[16];
	uint32_t failures;          /* in a row */
	uint64_t next_ms;           /* the address's next reply not before */
	uint64_t locked_until;      /* 0: not locked */
	uint64_t last_ms;           /* LRU */
};

struct smtpd_fair_auth {
	struct smtpd_fair_addr a[SMTPD_FAIR_ADDRS];
};

/* Before checking a password: 0 to go on, or the milliseconds the lockout
 * still lasts (answer 454 4.7.0, check nothing). */
uint64_t smtpd_fair_auth_locked(struct smtpd_fair_auth *t, const struct hal_addr *peer,
    uint64_t now);
/* The verdict of one attempt: returns when its reply may be sent (>= now).
 * *failures: failures in a row now; *locked: this failure started a lockout. */
uint64_t smtpd_fair_auth_result(struct smtpd_fair_auth *t, const struct hal_addr *peer, bool ok,
    const struct smtpd_fair_limits *l, uint64_t now, uint32_t *failures, bool *locked);
/* The delay after the n-th failure in a row (n >= 1). */
uint32_t smtpd_fair_auth_delay(const struct smtpd_fair_limits *l, uint32_t n);

#endif
