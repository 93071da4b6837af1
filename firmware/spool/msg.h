/*
 * firmware/spool/msg.h — the message file of one SMTP transaction: the
 * spool file, the header block and the DKIM signer tap, in one pass.
 *
 * Model. The session (firmware/smtpd/conn.c) owns a struct spool_msg and
 * feeds it the dot-unstuffed DATA lines (firmware/spool/data.h). Each line
 * is written to the spool file <data-dir>/spool/<id> and, in the same
 * pass, given to the signer: header lines to keys_sign_headers() (the
 * header block is held once, in the signer), body lines to keys_sign_push().
 * So the stored message is always the signed message, byte for byte, and
 * the From domain the policy decides on is the signer's own parse (the
 * domain the signature is bound to, the From receivers see).
 *
 *   spool_msg_new_id(id)              a fresh message id (-EIO: no entropy)
 *   spool_msg_open(m, data_dir, id)   creates the spool file
 *   spool_msg_open_scratch(m, data_dir, id)  the same into a reused scratch
 *                                     file, for a target that only reads the
 *                                     file before its done() (below)
 *   rc = spool_msg_line(m, l, n)      per line: 0 consumed; SPOOL_MSG_HEADERS
 *                                     the blank line ended the header block:
 *                                     spool_msg_from_domain(m) is known, the
 *                                     caller decides its policy and then
 *                                     spool_msg_sign(m, cfg, dom) or not;
 *                                     <0 an error (below), sticky
 *   spool_msg_flush(m)                at the final dot: the buffered lines
 *                                     to the file (0, or the sticky storage
 *                                     error: 452 as for a line); seal and
 *                                     finish flush too
 *   spool_msg_end_headers(m)          at the final dot when no blank line
 *                                     came: writes one (to file and signer,
 *                                     so they stay identical); same result
 *   spool_msg_finish(m, now, ...)     signs (if spool_msg_sign() was called)
 *                                     and commits the spool file; the
 *                                     "DKIM-Signature:" fields go to out
 *   spool_msg_seal(m, now, done, arg)  the same without waiting (issue 22):
 *                                     signatures started in the key holder,
 *                                     the file given to the group commit
 *                                     (gcommit.h) meanwhile; 1 done now,
 *                                     0 done(arg) follows from the loop, <0
 *                                     an error as from finish; then
 *   spool_msg_sealed(m, out, ...)     the signatures' fields, or the error
 *   spool_msg_discard(m)              removes the file (temporary or
 *                                     committed) unless someone took it,
 *                                     and frees the signer's hash contexts
 *
 * Errors (spool_msg_line and the rest return the first one, it sticks):
 *   storage errors are -errno (m->sys_err): the session answers 452 4.3.1. Header errors are the signer's dkim_err
 *   (m->hdr_err): no From, several, From syntax (groups, lists, NUL, an
 *   unbalanced quote, a domain literal), a header line that is not a field
 *   (RFC 5322 2.2: the message is refused, never split into a header the
 *   signer saw and a header a receiver sees), the header block too large.
 *   spool_msg_refusal() maps them to the SMTP reply, once.
 *
 * Scratch files (issue 22.2). A target that copies the message into a
 * durable file of its own (the outbox: handoff.h, spool_scratch) needs no
 * durable spool file: spool_msg_open_scratch() writes the message into one
 * of a small pool of files <data-dir>/spool/scratch-<k> (one per message
 * being received, CONFIG_MAX_SESSIONS + 4), opened truncated with
 * hal_storage_open_scratch(): created at its first use after a start, never
 * fsynced or renamed; spool_msg_discard() truncates it to nothing and gives
 * the slot back (a failed write removes it). A slot whose name something
 * else took (-EPERM, -EACCES) is skipped until the next start. So an outbox message costs one file
 * creation (the outbox file) instead of two and no removal (on ext4 without
 * a journal every creation scans the inodes freed in the last seconds).
 * seal/finish then only close the file (committed: complete, not durable).
 * No free slot, or a backend without open_scratch: spool_msg_open() instead.
 *
 * Start-up: spool_msg_sweep(data_dir) removes every file of the spool
 * directory, the scratch files unread: a file there belongs to a session
 * that no longer exists or to none (an idle scratch file; a
 * kill mid-DATA leaves a temporary file, a kill after the dot a committed
 * one; neither was acknowledged). The queue takes its files out of the
 * spool directory by rename, so nothing there is ever owed to anyone.
 * No allocation; the struct is large (the signer's header buffer).
 */
#ifndef ZEGEL_SPOOL_MSG_H
#define ZEGEL_SPOOL_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/keys/sign.h"
#include "firmware/spool/handoff.h"
#include "hal/storage.h"
#include "zegel/cfg.h"

#define SPOOL_MSG_HEADERS 1
#define SPOOL_MSG_WBUF 2048

struct spool_msg {
	char path[HAL_PATH_MAX];
	struct hal_file f;
	bool open, committed;
	bool scratch;               /* path is the pool's scratch file slot */
	bool scratch_lost;          /* ... removed by a failed write */
	int slot;
	char id[HANDOFF_ID_MAX];
	bool in_body, signing;
	bool sealing;               /* spool_msg_seal() waits for signatures */
	bool durable_pending;       /* ... and for the group commit (gcommit.h) */
	uint32_t commit_ticket;
	int seal_err;               /* their error (dkim_err), 0 none */
	void (*seal_done)(void *arg);
	void *seal_arg;
	bool tls_required_no;       /* a "TLS-Required: No" field (RFC 8689 5) */
	int sys_err;                /* -errno of a storage call, 0 none */
	int hdr_err;                /* dkim_err of the header block, 0 none */
	uint64_t size;              /* octets in the spool file (written or buffered) */
	size_t wlen;                /* octets in wbuf, not yet written */
	uint8_t wbuf[SPOOL_MSG_WBUF]; /* lines gathered: one write() per 2 KiB, not per line */
	/* large: the signer with the header block */
	struct keys_sign sign;
};

/* Reply for an error of the message: code, esc and text (cap octets). */
struct spool_msg_reply {
	int code;
	const char *esc;
};

int  spool_msg_new_id(char id[HANDOFF_ID_MAX]);
int  spool_msg_open(struct spool_msg *m, const char *data_dir, const char *id);
int  spool_msg_open_scratch(struct spool_msg *m, const char *data_dir, const char *id);
int  spool_msg_line(struct spool_msg *m, const uint8_t *l, size_t n);
int  spool_msg_end_headers(struct spool_msg *m);
int  spool_msg_flush(struct spool_msg *m);
const char *spool_msg_from_domain(const struct spool_msg *m);
int  spool_msg_sign(struct spool_msg *m, const struct zcfg *cfg, const struct zcfg_domain *dom,
         const char **why);
int  spool_msg_finish(struct spool_msg *m, int64_t now, uint8_t *out, size_t cap, size_t *len,
         void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
         const char **why);
int  spool_msg_seal(struct spool_msg *m, int64_t now, void (*done)(void *arg), void *arg,
         const char **why);
int  spool_msg_sealed(struct spool_msg *m, uint8_t *out, size_t cap, size_t *len,
         void (*logcb)(void *arg, const char *d, const char *s, const char *a), void *arg,
         const char **why);
void spool_msg_discard(struct spool_msg *m);
/* The SMTP reply for m's header error: 550 5.7.1 for the From rules,
 * 550 5.6.0 for a line that is not a field, 552 5.3.4 for limits. The text
 * is written into text (allowed: the configured domains, for the From ones). */
void spool_msg_refusal(const struct spool_msg *m, const char *allowed,
         struct spool_msg_reply *r, char *text, size_t cap);
/* A header line (CRLF included or not) that is "TLS-Required: No". */
bool spool_tls_required_no(const uint8_t *l, size_t n);
/* Start-up sweep of <data_dir>/spool; the number of files removed, or -errno. */
int  spool_msg_sweep(const char *data_dir);

#endif
