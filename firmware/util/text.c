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
