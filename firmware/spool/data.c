/* The DATA state machine (see data.h). */
#include <string.h>

#include "firmware/spool/data.h"

void
spool_data_init(struct spool_data *d, uint64_t max_size, bool normalise)
{
	memset(d, 0, sizeof(*d));
	d->max_size = max_size;
	d->normalise = normalise;
}

const char *
spool_data_strerror(int err)
{
	switch (err) {
	case SPOOL_DATA_OK: return "no error";
	case SPOOL_DATA_ERR_BARE_LF: return "bare <LF> received; only <CR><LF> ends a line";
	case SPOOL_DATA_ERR_BARE_CR: return "bare <CR> received; only <CR><LF> ends a line";
	}
	return "unknown error";
}

/* A complete line is in d->line[0..len): decide what it is. */
static void
line_end(struct spool_data *d)
{
	const uint8_t *p = d->line;
	size_t n = d->len;

	d->lines++;
	if (n == 1 && p[0] == '.' && !d->linelong) {
		d->ev = SPOOL_DATA_END;
		return;
	}
	if (d->linelong || d->toolong) {
		/* The message is refused at the end anyway: stop emitting. A
		 * "." line that overflowed is not the end marker. */
		d->linelong = false;
		d->len = 0;
		return;
	}
	if (n > 0 && p[0] == '.') {         /* RFC 5321 4.5.2 transparency */
		memmove(d->line, d->line + 1, n - 1);
		n--;
	}
	d->line[n] = '\r';
	d->line[n + 1] = '\n';
	d->len = n + 2;
	d->size += d->len;
	if (d->size > d->max_size)
		d->oversize = true;
	if (!d->oversize) {
		d->ev = SPOOL_DATA_LINE;
		d->emit = true;
	} else
		d->len = 0;
}

static void
add_byte(struct spool_data *d, uint8_t c)
{
	if (d->len < SPOOL_LINE_MAX)
		d->line[d->len++] = c;
	else
		d->toolong = d->linelong = true;
}

size_t
spool_data_push(struct spool_data *d, const uint8_t *p, size_t n)
{
	size_t i = 0;

	if (d->ev == SPOOL_DATA_ERROR || d->ev == SPOOL_DATA_END)
		return 0;
	if (d->emit) {                      /* the previous line was taken */
		d->emit = false;
		d->len = 0;
	}
	d->ev = SPOOL_DATA_NONE;
	while (i < n && d->ev == SPOOL_DATA_NONE) {
		uint8_t c = p[i];

		if (d->cr) {
			d->cr = false;
			if (c == '\n') {
				i++;
				line_end(d);
				continue;
			}
			if (!d->normalise) {
				d->err = SPOOL_DATA_ERR_BARE_CR;
				d->ev = SPOOL_DATA_ERROR;
				break;
			}
			line_end(d);        /* bare CR ends the line; c is reread */
			continue;
		}
		i++;
		if (c == '\r') {
			d->cr = true;
		} else if (c == '\n') {
			if (!d->normalise) {
				d->err = SPOOL_DATA_ERR_BARE_LF;
				d->ev = SPOOL_DATA_ERROR;
				break;
			}
			line_end(d);
		} else
			add_byte(d, c);
	}
	return i;
}

const uint8_t *
spool_data_line(const struct spool_data *d, size_t *n)
{
	if (d->ev != SPOOL_DATA_LINE) {
		*n = 0;
		return NULL;
	}
	*n = d->len;
	return d->line;
}
