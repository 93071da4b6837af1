/*
 * firmware/relay/outbox.h — the local `outbox` target: one signed .eml per
 * message in cfg->relay.outbox, written atomically and never over another
 * file (handoff.h contract, synchronous: done() runs inside start()).
 */
#ifndef ZEGEL_RELAY_OUTBOX_H
#define ZEGEL_RELAY_OUTBOX_H

#include "firmware/spool/handoff.h"

extern const struct handoff_target_ops relay_outbox;

/* At start: remove zegel's unfinished files (*.eml.tmp.*) from the outbox
 * directory, logged; the number removed or -errno. */
int relay_outbox_sweep(const struct zcfg *cfg);

#endif
