/* Helpers of the hand-off contract shared by the server and the targets (handoff.h). */
#include <string.h>

#include "firmware/spool/handoff.h"

void
handoff_result_set(struct handoff_result *r, int code, const char *esc, const char *text)
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
handoff_rcpt_next(const struct handoff_msg *m, const char *prev)
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
