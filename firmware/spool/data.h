/*
 * firmware/spool/data.h — the SMTP DATA state machine: line ends, dot
 * unstuffing, the end-of-data marker (RFC 5321 4.1.1.4, 4.5.2).
 *
 * Model. A struct spool_data is fed the bytes that follow the 354 reply:
 *
 *   spool_data_init(d, max_size, normalise)
 *   n = spool_data_push(d, p, len)   returns the bytes consumed; stops at an
 *                                    event (spool_data_event):
 *     SPOOL_DATA_LINE   one line is ready: spool_data_line(d, &n) gives it,
 *                       dot-unstuffed and ending in CRLF, valid until the
 *                       next push. This is what is spooled and hashed.
 *     SPOOL_DATA_END    "<CRLF>.<CRLF>" seen; the bytes after it are SMTP
 *                       commands again and are NOT consumed.
 *     SPOOL_DATA_ERROR  a bare CR or bare LF (strict mode): the session
 *                       must refuse and close (spool_data_error(d)).
 *     SPOOL_DATA_NONE   all input consumed, need more.
 *
 * Smuggling (CVE-2023-51764 family): in strict mode only CR LF ends a
 * line; a CR not followed by LF or an LF not preceded by CR anywhere in DATA
 * is an error, so no variant of <LF>.<LF>, <CR>.<CR>, <LF>.<CR><LF> or
 * \r\r\n.\r\n can end the message early or hide a second one. In normalise
 * mode (per-network, for broken old devices) a bare LF or bare CR ends the
 * line and is re-emitted as CRLF: what is spooled and relayed is then
 * unambiguous CRLF text either way.
 *
 * Limits: a line longer than SPOOL_LINE_MAX octets (998, RFC 5322 2.1.1)
 * or a message larger than max_size is not an error right away: the rest of
 * DATA is consumed up to the end marker, lines are no longer emitted, and
 * spool_data_toolong()/spool_data_oversize() tell the session to refuse
 * after the final dot (so the client is not left mid-stream).
 * No allocation, no I/O.
 */
#ifndef ZEGEL_SPOOL_DATA_H
#define ZEGEL_SPOOL_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_LINE_MAX 998

enum spool_data_event {
	SPOOL_DATA_NONE = 0,
	SPOOL_DATA_LINE,
	SPOOL_DATA_END,
	SPOOL_DATA_ERROR,
};

enum spool_data_err {
	SPOOL_DATA_OK = 0,
	SPOOL_DATA_ERR_BARE_LF = -1,
	SPOOL_DATA_ERR_BARE_CR = -2,
};

struct spool_data {
	uint8_t line[SPOOL_LINE_MAX + 3];
	size_t len;
	uint64_t size;              /* unstuffed octets so far, CRLF counted */
	uint64_t max_size;
	bool cr;                    /* last byte was a CR still waiting for its LF */
	bool normalise;
	bool toolong, oversize;
	bool linelong;              /* the current line overflowed */
	bool emit;                  /* an emitted line is pending acknowledgement */
	enum spool_data_event ev;
	int err;
	uint32_t lines;
};

void spool_data_init(struct spool_data *d, uint64_t max_size, bool normalise);
size_t spool_data_push(struct spool_data *d, const uint8_t *p, size_t n);
static inline enum spool_data_event
spool_data_event(const struct spool_data *d)
{
	return d->ev;
}
const uint8_t *spool_data_line(const struct spool_data *d, size_t *n);
static inline int spool_data_error(const struct spool_data *d) { return d->err; }
static inline bool spool_data_toolong(const struct spool_data *d) { return d->toolong; }
static inline bool spool_data_oversize(const struct spool_data *d) { return d->oversize; }
static inline uint64_t spool_data_size(const struct spool_data *d) { return d->size; }
const char *spool_data_strerror(int err);

#endif
