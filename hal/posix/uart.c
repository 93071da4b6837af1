/* The console device: stdin/stdout, or a tty in raw mode (termios). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "hal/uart.h"

_Static_assert(sizeof(struct termios) <= sizeof(((struct hal_uart *)0)->impl),
    "termios does not fit");

static int
posix_open(struct hal_uart *u, const char *device, bool raw)
{
	struct termios t;

	memset(u, 0, sizeof(*u));
	if (strcmp(device, "stdio") == 0) {
		u->in = 0;
		u->out = 1;
	} else {
		int fd = open(device, O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		u->in = u->out = fd;
	}
	u->is_tty = isatty(u->in) == 1;
	if (raw && u->is_tty && tcgetattr(u->in, &t) == 0) {
		memcpy(u->impl, &t, sizeof(t));
		t.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
		t.c_oflag |= OPOST | ONLCR;
		/* No ISIG: Ctrl-C reaches the console as a byte (abandon the line). */
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN | ISIG);
		t.c_cflag |= CS8;
		t.c_cc[VMIN] = 1;
		t.c_cc[VTIME] = 0;
		if (tcsetattr(u->in, TCSANOW, &t) == 0)
			u->raw = true;
	}
	return 0;
}

static ssize_t
posix_read(struct hal_uart *u, void *p, size_t n)
{
	ssize_t r = read(u->in, p, n);

	if (r < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return r;
}

static ssize_t
posix_write(struct hal_uart *u, const void *p, size_t n)
{
	const char *c = p;
	size_t left = n;

	while (left > 0) {
		ssize_t w = write(u->out, c, left);
		if (w < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		c += w;
		left -= (size_t)w;
	}
	return (ssize_t)n;
}

static void
posix_uart_close(struct hal_uart *u)
{
	struct termios t;

	/* impl is a byte array at an offset of 10: read as a struct termios in
	 * place it is misaligned (SIGBUS on MIPS under qemu-user, a kernel
	 * fix-up trap per access on a real MIPS CPU), so copy it out first */
	if (u->raw) {
		memcpy(&t, u->impl, sizeof(t));
		tcsetattr(u->in, TCSANOW, &t);
	}
	if (u->in > 2)
		close(u->in);
	u->raw = false;
}

const struct hal_uart_ops hal_uart_posix = {
	.name = "posix (termios)",
	.open = posix_open,          /* fds 0 and 1, or the tty's fd twice */
	.read = posix_read,
	.write = posix_write,        /* all of it: retries short writes */
	.close = posix_uart_close,   /* termios back, the tty's fd closed */
};
