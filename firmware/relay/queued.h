/*
 * firmware/relay/queued.h — what the two queue-fed relay modes share: direct
 * (direct.h) and the smarthost with its queue on (shqueue.h). Both take a
 * message into the one crash-safe queue (firmware/spool/queue.h) the same
 * way and sign the DSNs the queue writes the same way; only the delivery
 * side differs (each domain's MX, or the one smarthost).
 *
 *   queued_accept()      the receiving half of a target's start() (handoff.h):
 *                        admit, queue_commit (message and state fsynced),
 *                        then done() with 250 2.0.0 "queued as ID", 452
 *                        4.3.1 (full) or 451 4.3.0; always calls done()
 *                        before it returns
 *   queued_dsn_signer()  bounces and delay warnings come From:
 *                        MAILER-DAEMON@<hostname>; when the host name is a
 *                        signing domain (or under one with subdomains on)
 *                        they are DKIM-signed like any message (the
 *                        sender's DMARC policy then does not reject them),
 *                        else sent unsigned. cfg must stay valid (the
 *                        running configuration).
 */
#ifndef ZEGEL_RELAY_QUEUED_H
#define ZEGEL_RELAY_QUEUED_H

#include <stdbool.h>

#include "firmware/spool/handoff.h"
#include "zegel/cfg.h"

/* running: the delivery side is up (false: 451 4.3.0, "queue not available"). */
void queued_accept(const struct handoff_msg *m, bool running, handoff_done_fn done, void *arg);
void queued_dsn_signer(const struct zcfg *cfg);

#endif
