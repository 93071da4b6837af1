/* Relay target selection and small helpers shared by the targets. */
#include <string.h>

#include "firmware/relay/direct.h"
#include "firmware/relay/relay.h"
#include "firmware/relay/smarthost.h"
#include "zegel/config.h"

const struct relay_target_ops *
relay_target_for(const struct zcfg *cfg)
{
	switch (cfg->relay.kind) {
	case ZCFG_RELAY_OUTBOX:
		return &relay_outbox;
	case ZCFG_RELAY_SMARTHOST:
#if IS_ENABLED(CONFIG_FEATURE_RELAY_SMARTHOST)
		return &relay_smarthost;
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

void
relay_result_set(struct relay_result *r, int code, const char *esc, const char *text)
{
	size_t i, j;

	r->code = code;
	strncpy(r->esc, esc ? esc : "", sizeof(r->esc) - 1);
	r->esc[sizeof(r->esc) - 1] = '\0';
	for (i = j = 0; text && text[i] && j + 1 < sizeof(r->text); i++)
		if (text[i] != '\r' && text[i] != '\n')
			r->text[j++] = text[i];
	r->text[j] = '\0';
}

const char *
relay_rcpt_next(const struct relay_msg *m, const char *prev)
{
	const char *p;
	unsigned i;

	if (m->nrcpt == 0)
		return NULL;
	if (prev == NULL)
		return m->rcpts;
	/* find index of prev, return the next one if any */
	for (i = 0, p = m->rcpts; i < m->nrcpt; i++, p += strlen(p) + 1)
		if (p == prev)
			return i + 1 < m->nrcpt ? p + strlen(p) + 1 : NULL;
	return NULL;
}
