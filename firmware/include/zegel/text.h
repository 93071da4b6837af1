/*
 * zegel/text.h — small text helpers shared by the modules.
 */
#ifndef ZEGEL_TEXT_H
#define ZEGEL_TEXT_H

#include <stddef.h>

/*
 * snprintf for texts meant for humans (replies, log and error lines), which
 * may be cut on purpose to fit their buffer: always NUL-terminated, the
 * length is not reported. Never use it for protocol bytes that must not be cut.
 */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void zegel_strf(char *d, size_t cap, const char *fmt, ...);

#endif
