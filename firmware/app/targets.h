/*
 * firmware/app/targets.h — which relay target serves a configuration. The
 * only place that knows every target; `zegel run` hands it to the SMTP
 * server (smtpd_set_target_picker) so the server never includes relay/.
 */
#ifndef ZEGEL_APP_TARGETS_H
#define ZEGEL_APP_TARGETS_H

#include "firmware/spool/handoff.h"
#include "zegel/cfg.h"

/* The target for cfg->relay.kind, or NULL if this build has none. */
const struct handoff_target_ops *app_relay_target(const struct zcfg *cfg);

#endif
