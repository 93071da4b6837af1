/*
 * zegel/text.h — small text helpers shared by the modules.
 */
#ifndef ZEGEL_TEXT_H
#define ZEGEL_TEXT_H

#include <stdbool.h>
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

/*
 * Client-supplied text (an envelope address, a user name, a HELO name) for
 * a log field such as "from=<%s>". A quoted local part may hold almost any
 * byte, so "\"x>, relay=a, status=sent (250 ok)\"@d" written as is would end
 * the <...> field early and forge fields a log reader trusts. Every byte
 * that could do so is written as \xHH: '<' '>' '\\' ',' ';' '=', control
 * characters, DEL and every byte >= 0x80 (a raw UTF-8 C1 control such as
 * U+009B is a terminal escape on the serial console). What remains is
 * printable ASCII that cannot end or start a field; the rendering is
 * reversible.
 *
 * Always NUL-terminated (cap > 0); if out is too small the rendering is cut
 * before an escape, never inside one. Returns the length the whole
 * rendering needs (without the NUL), as snprintf: a result >= cap means it
 * was cut. TEXT_LOG_ADDR_CAP holds any RFC 5321 path (256 octets).
 */
#define TEXT_LOG_ADDR_CAP (4 * 256 + 1)
size_t text_log_addr(char *out, size_t cap, const char *addr);

/*
 * A text built piece by piece into a fixed buffer (a report, a mail):
 * text_appendf() adds to buf at n and keeps it NUL-terminated; a piece that
 * does not fit whole sets full and nothing more is added, so the caller
 * checks full once at the end and never sends a cut text.
 */
struct text_buf {
	char *buf;
	size_t cap, n;
	bool full;
};
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void text_appendf(struct text_buf *b, const char *fmt, ...);

#endif
