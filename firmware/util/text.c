/* Text helpers shared by the modules (zegel/text.h). */
#include <stdarg.h>
#include <stdio.h>

#include "zegel/text.h"

void
zegel_strf(char *d, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (cap == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(d, cap, fmt, ap);
	va_end(ap);
}

/* Bytes text_log_addr() writes as \xHH (see zegel/text.h). */
static int
log_escaped(unsigned char c)
{
	return c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == '\\' || c == ',' ||
	    c == ';' || c == '=';
}

size_t
text_log_addr(char *out, size_t cap, const char *addr)
{
	static const char hex[] = "0123456789abcdef";
	size_t need = 0, o = 0;
	int cut = 0;

	for (const unsigned char *p = (const unsigned char *)addr; *p; p++) {
		size_t k = log_escaped(*p) ? 4 : 1;

		need += k;
		if (cut || cap == 0 || o + k >= cap) {
			cut = 1;
			continue;
		}
		if (k == 1)
			out[o++] = (char)*p;
		else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (cap > 0)
		out[o] = '\0';
	return need;
}

void
text_appendf(struct text_buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (b->full)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b->buf + b->n, b->cap - b->n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= b->cap - b->n) {
		b->full = true;
		return;
	}
	b->n += (size_t)r;
}
