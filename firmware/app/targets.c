/* Relay target selection: the application wires the configured target to the server. */
#include "firmware/app/targets.h"
#include "firmware/relay/direct.h"
#include "firmware/relay/outbox.h"
#include "firmware/relay/shqueue.h"
#include "firmware/relay/smarthost.h"
#include "zegel/config.h"

const struct handoff_target_ops *
app_relay_target(const struct zcfg *cfg)
{
	switch (cfg->relay.kind) {
	case ZCFG_RELAY_OUTBOX:
		return &relay_outbox;
	case ZCFG_RELAY_SMARTHOST:
#if IS_ENABLED(CONFIG_FEATURE_RELAY_SMARTHOST)
		return cfg->relay.queue ? &relay_smarthost_queue : &relay_smarthost;
#else
		break;
#endif
	case ZCFG_RELAY_DIRECT:
#if IS_ENABLED(CONFIG_FEATURE_RELAY_DIRECT)
		return &relay_direct;
#else
		break;
#endif
	}
	return NULL;
}
