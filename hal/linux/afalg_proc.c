/* /proc/crypto: the driver the kernel binds per algorithm (afalg_proc.h). */
#include <stdio.h>
#include <string.h>

#include "hal/linux/afalg_proc.h"

static void
entry_reset(struct hal_afalg_proc *c)
{
	c->name[0] = c->driver[0] = c->type[0] = '\0';
	c->priority = -1;
	c->internal = false;
}

void
hal_afalg_proc_init(struct hal_afalg_proc *c, const char *const *names,
    struct hal_afalg_pick *picks, unsigned n)
{
	memset(c, 0, sizeof(*c));
	c->names = names;
	c->picks = picks;
	c->n = n;
	memset(picks, 0, n * sizeof(*picks)); /* whole bytes: picks compare with memcmp */
	for (unsigned i = 0; i < n; i++)
		picks[i].priority = -1;
	entry_reset(c);
}

/* The entry ended: keep it where it beats the pick for its name. */
static void
entry_end(struct hal_afalg_proc *c)
{
	if (c->internal || c->priority < 0 ||
	    (strcmp(c->type, "shash") != 0 && strcmp(c->type, "ahash") != 0)) {
		entry_reset(c);
		return;
	}
	for (unsigned i = 0; i < c->n; i++) {
		struct hal_afalg_pick *p = &c->picks[i];

		if (strcmp(c->name, c->names[i]) != 0 || c->priority <= p->priority)
			continue;
		memset(p, 0, sizeof(*p));
		p->priority = c->priority;
		snprintf(p->driver, sizeof(p->driver), "%s", c->driver);
		snprintf(p->type, sizeof(p->type), "%s", c->type);
	}
	entry_reset(c);
}

/* "key<spaces>: value" -> the value, or NULL when the key differs. */
static const char *
value_of(const char *line, const char *key)
{
	size_t k = strlen(key);

	if (strncmp(line, key, k) != 0)
		return NULL;
	line += k;
	line += strspn(line, " \t");
	if (*line != ':')
		return NULL;
	line++;
	return line + strspn(line, " \t");
}

static void
proc_line_end(struct hal_afalg_proc *c)
{
	const char *v;

	c->line[c->llen] = '\0';
	if (c->overlong) {
		/* a line we cannot hold: not one of the keys we read */
	} else if (c->llen == 0) {
		entry_end(c);
	} else if ((v = value_of(c->line, "name")) != NULL) {
		snprintf(c->name, sizeof(c->name), "%s", v);
	} else if ((v = value_of(c->line, "driver")) != NULL) {
		snprintf(c->driver, sizeof(c->driver), "%s", v);
	} else if ((v = value_of(c->line, "type")) != NULL) {
		snprintf(c->type, sizeof(c->type), "%s", v);
	} else if ((v = value_of(c->line, "internal")) != NULL) {
		c->internal = strcmp(v, "yes") == 0;
	} else if ((v = value_of(c->line, "priority")) != NULL) {
		int p = 0;
		bool digit = false;

		for (; *v >= '0' && *v <= '9' && p < 100000000; v++, digit = true)
			p = p * 10 + (*v - '0');
		c->priority = digit && *v == '\0' ? p : -1;
	}
	c->llen = 0;
	c->overlong = false;
}

void
hal_afalg_proc_push(struct hal_afalg_proc *c, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b = p[i];

		if (b == '\n') {
			proc_line_end(c);
		} else if (c->llen + 1 >= sizeof(c->line)) {
			c->overlong = true;
		} else {
			c->line[c->llen++] = b == '\0' ? '?' : (char)b;
		}
	}
}

void
hal_afalg_proc_end(struct hal_afalg_proc *c)
{
	if (c->llen > 0 || c->overlong)
		proc_line_end(c);
	entry_end(c);
}
