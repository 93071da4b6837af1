/*
 * libFuzzer: the message file (firmware/spool/msg.c) on an in-memory
 * storage backend. The input goes through the DATA engine (normalising
 * line ends) and line by line into spool_msg_line(), up to the end of the
 * header block. Invariants (issue 21: the stored message is the signed
 * message, and the policy's From is the one receivers see):
 *  - the bytes stored equal the lines given, in order, nothing more;
 *  - when the header block is accepted, the stored header block is exactly
 *    the signer's (hdrbuf) followed by the empty line, every first line of
 *    a field has a colon with no space before it, exactly one field is
 *    named From, and the From domain is a valid domain name;
 *  - when it is refused, there is an error and no From domain.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/spool/data.h"
#include "firmware/spool/msg.h"

static uint8_t mem[1 << 17];
static size_t memlen;

static int
m_open_write(struct hal_file *f, const char *final_path, unsigned mode)
{
	(void)final_path;
	(void)mode;
	f->h = 3;
	f->written = 0;
	strcpy(f->tmp, "mem");
	memlen = 0;
	return 0;
}

static int
m_write(struct hal_file *f, const void *p, size_t n)
{
	if (n > sizeof(mem) - memlen)
		return -ENOSPC;
	memcpy(mem + memlen, p, n);
	memlen += n;
	f->written += n;
	return 0;
}

static int
m_commit(struct hal_file *f, const char *final_path)
{
	(void)final_path;
	f->tmp[0] = 0;
	return 0;
}

static void
m_abort(struct hal_file *f)
{
	f->tmp[0] = 0;
}

static int
m_mkdirs(const char *path, unsigned mode)
{
	(void)path;
	(void)mode;
	return 0;
}

static const struct hal_storage_ops mem_storage = {
	.name = "memory", .open_write = m_open_write, .write = m_write, .commit = m_commit,
	.abort = m_abort, .mkdirs = m_mkdirs,
};

static struct spool_msg m;
static struct spool_data d;
static uint8_t given[1 << 17];
static size_t givenlen;

static void
check_header_block(void)
{
	const uint8_t *h = mem;
	size_t n = memlen, i = 0;
	unsigned nfrom = 0;
	const char *dom = spool_msg_from_domain(&m);

	if (n < 2 || memcmp(h + n - 2, "\r\n", 2) != 0 ||
	    m.sign.signer.hdrlen != n - 2 || memcmp(m.sign.hdrbuf, h, n - 2) != 0)
		abort();
	while (i < n - 2) {
		const uint8_t *l = h + i, *e = memchr(l, '\n', n - i);
		size_t ll = (size_t)(e - l) + 1, k = 0;

		if (l[0] != ' ' && l[0] != '\t') {
			while (k < ll && l[k] != ':')
				if (l[k++] == ' ' || l[k - 1] == '\t')
					abort();        /* WSP in or after the name */
			if (k == ll || k == 0)
				abort();                /* no colon */
			if (k == 4 && strncasecmp((const char *)l, "from", 4) == 0)
				nfrom++;
		}
		i += ll;
	}
	if (nfrom != 1 || dom == NULL || !dkim_valid_domain(dom))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	size_t pos = 0;
	int rc = 0;

	hal_storage_set(&mem_storage);
	givenlen = 0;
	if (spool_msg_open(&m, "fuzz", "FUZZ") != 0)
		abort();
	spool_data_init(&d, sizeof(given) - 8, true);
	while (pos < n && rc == 0) {
		size_t k = spool_data_push(&d, p + pos, n - pos), ll;
		const uint8_t *l;

		pos += k;
		if (spool_data_event(&d) != SPOOL_DATA_LINE)
			break;
		l = spool_data_line(&d, &ll);
		memcpy(given + givenlen, l, ll);
		givenlen += ll;
		rc = spool_msg_line(&m, l, ll);
	}
	if (rc == 0 && !m.in_body) {
		/* no empty line came: the message file adds one, to both sides */
		memcpy(given + givenlen, "\r\n", 2);
		givenlen += 2;
		rc = spool_msg_end_headers(&m);
	}
	if (rc == SPOOL_MSG_HEADERS) {
		/* the lines gathered in the write buffer, to the file */
		if (spool_msg_flush(&m) != 0)
			abort();
		if (memlen != givenlen || memcmp(mem, given, memlen) != 0)
			abort();
		check_header_block();
	} else if (rc < 0) {
		if (m.hdr_err == 0 || spool_msg_from_domain(&m) != NULL)
			abort();
		/* what was stored is a prefix of what was given */
		if (memlen > givenlen || memcmp(mem, given, memlen) != 0)
			abort();
	}
	spool_msg_discard(&m);
	return 0;
}
