/*
 * The TPM transport (hal/tpm2.h): the kernel's /dev/tpmrm0 (or /dev/tpm0),
 * or swtpm's raw command channel over TCP for tests. Blocking: only the
 * key holder (firmware/privsep) and the command-line tools talk to the
 * TPM, never the event loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hal/tpm2.h"
#include "generated/autoconf.h"

#ifndef CONFIG_HAL_TPM2_DEVICE
#define CONFIG_HAL_TPM2_DEVICE "/dev/tpmrm0"
#endif

/* An RSA-2048 CreatePrimary on a slow chip takes seconds; nothing takes 30. */
#define TPM2_IO_TIMEOUT_MS 30000

struct tpm2_io {
	int fd;
	int stream; /* TCP: a response may come in pieces */
};

static struct tpm2_io the_io = { -1, 0 };
static char setting[64]; /* `set tpm device`; "": not set */

const char *
tpm2_device(void)
{
	const char *e = getenv("ZEGEL_TPM");

	if (setting[0])
		return setting;
	return e != NULL && e[0] ? e : CONFIG_HAL_TPM2_DEVICE;
}

int
tpm2_io_set_device(const char *spec)
{
	char was[sizeof(setting) + 64];

	snprintf(was, sizeof(was), "%s", tpm2_device());
	snprintf(setting, sizeof(setting), "%s", spec != NULL ? spec : "");
	return strcmp(was, tpm2_device()) != 0;
}

static int
open_tcp(const char *spec, char *why, size_t cap)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa;
	struct timeval tv = { 30, 0 };
	char *end;
	unsigned long port;
	int fd, one = 1;

	memset(&sa, 0, sizeof(sa));
	if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
		snprintf(why, cap, "%s: not tcp:ADDRESS:PORT", spec);
		return -EINVAL;
	}
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = 0;
	port = strtoul(colon + 1, &end, 10);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	if (*end || port == 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		snprintf(why, cap, "%s: not tcp:ADDRESS:PORT", spec);
		return -EINVAL;
	}
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(why, cap, "socket: %s", strerror(errno));
		return -errno;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;

		snprintf(why, cap, "tcp:%s: %s", spec, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

int
tpm2_io_open(struct tpm2_io **io, const char *spec, char *why, size_t cap)
{
	int fd;

	*io = NULL;
	if (strncmp(spec, "tcp:", 4) == 0) {
		if ((fd = open_tcp(spec + 4, why, cap)) < 0)
			return fd;
		the_io.stream = 1;
	} else {
		if ((fd = open(spec, O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
			int e = errno;

			snprintf(why, cap, "%s: %s", spec, strerror(e));
			return -e;
		}
		the_io.stream = 0;
	}
	if (the_io.fd >= 0)
		close(the_io.fd);
	the_io.fd = fd;
	*io = &the_io;
	return 0;
}

int
tpm2_io_call(struct tpm2_io *io, const uint8_t *cmd, size_t n, uint8_t *rsp, size_t cap,
    size_t *rlen)
{
	size_t off = 0, want = 0;

	*rlen = 0;
	if (io == NULL || io->fd < 0)
		return -ENOTCONN;
	while (off < n) {
		/* a simulator gone away: EPIPE, not SIGPIPE (the tools do not
		 * ignore it) */
		ssize_t w = io->stream ? send(io->fd, cmd + off, n - off, MSG_NOSIGNAL)
				       : write(io->fd, cmd + off, n - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		off += (size_t)w;
	}
	off = 0;
	for (;;) {
		struct pollfd pfd = { io->fd, POLLIN, 0 };
		ssize_t r;
		int pr = poll(&pfd, 1, TPM2_IO_TIMEOUT_MS);

		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			return -ETIMEDOUT; /* a hung TPM must not hang the key holder */
		if (pr < 0)
			return -errno;
		r = read(io->fd, rsp + off, cap - off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (r == 0)
			return -ECONNRESET; /* the simulator went away */
		off += (size_t)r;
		if (!io->stream)
			break;
		if (want == 0 && off >= 10 && (want = tpm2_rsp_size(rsp, off)) == 0)
			return -EBADMSG;
		if (want > cap)
			return -EMSGSIZE;
		if (want != 0 && off >= want)
			break;
		if (off == cap)
			return -EMSGSIZE;
	}
	if (want != 0 && off != want)
		return -EBADMSG;
	*rlen = off;
	return 0;
}

void
tpm2_io_close(struct tpm2_io *io)
{
	if (io != NULL && io->fd >= 0) {
		close(io->fd);
		io->fd = -1;
	}
}
