/*
 * The checklist lines of `check domain` (check_domain.h): one format for the
 * CLI and the console, stable enough to diff.
 */
#include <stdarg.h>
#include <stdio.h>

#include "firmware/app/check_domain.h"

static const char *const level_word[] = { "pass", "warn", "fail" };

void
cd_report_more(struct cd_report *r, const char *what, const char *text)
{
	char line[2048];

	snprintf(line, sizeof(line), "      %s: %s", what, text);
	r->emit(r->arg, line);
}

void
cd_report_item(struct cd_report *r, enum cd_level l, const char *check, const char *fix,
    const char *fmt, ...)
{
	char line[1024];
	int n;
	va_list ap;

	n = snprintf(line, sizeof(line), "%s  %s: ", level_word[l], check);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(line))
		vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	r->count[l]++;
	r->emit(r->arg, line);
	if (l != CD_PASS && fix != NULL && fix[0])
		cd_report_more(r, "fix", fix);
}

void
cd_report_summary(struct cd_report *r, const char *domain)
{
	char line[400];

	snprintf(line, sizeof(line), "summary: %s: %u pass, %u warn, %u fail", domain,
	    r->count[CD_PASS], r->count[CD_WARN], r->count[CD_FAIL]);
	r->emit(r->arg, line);
}

int
cd_report_rc(const struct cd_report *r)
{
	return r->count[CD_FAIL] ? 2 : r->count[CD_WARN] ? 1 : 0;
}
