/* The queue's state-record parser (firmware/spool/queue.c): any bytes are
 * refused or give a state that formats, re-parses and formats to the same
 * bytes, with every string inside the record's own buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/spool/queue.h"

static struct queue_state a, b;
static char f1[QUEUE_STATE_MAX], f2[QUEUE_STATE_MAX];

static void
check_inside(const struct queue_state *s)
{
	if (s->from < s->env || s->from >= s->env + s->envlen)
		abort();
	for (unsigned i = 0; i < s->nrcpt; i++)
		if (s->r[i].addr < s->env || s->r[i].addr >= s->env + s->envlen ||
		    strchr(s->r[i].addr, '@') == NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int n1, n2;

	if (queue_state_parse((const char *)data, size, &a) != 0)
		return 0;
	if (a.nrcpt == 0 || a.nrcpt > QUEUE_RCPT_MAX)
		abort();
	check_inside(&a);
	n1 = queue_state_format(&a, f1, sizeof(f1));
	if (n1 < 0 || queue_state_parse(f1, (size_t)n1, &b) != 0)
		abort();
	check_inside(&b);
	n2 = queue_state_format(&b, f2, sizeof(f2));
	if (n2 != n1 || memcmp(f1, f2, (size_t)n1) != 0)
		abort();
	return 0;
}
