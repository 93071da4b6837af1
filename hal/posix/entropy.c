/*
 * Entropy from the kernel: /dev/urandom, opened once. Portable across glibc,
 * musl and uClibc-ng (getrandom(2) is not in every libc zegel targets).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "hal/entropy.h"

static int urandom_fd = -1;

static int
posix_fill(uint8_t *buf, size_t n)
{
	if (urandom_fd < 0) {
		urandom_fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (urandom_fd < 0)
			return -errno;
	}
	while (n > 0) {
		ssize_t r = read(urandom_fd, buf, n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -EIO;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

const struct hal_entropy_ops hal_entropy_posix = {
	.name = "posix (/dev/urandom)",
	.fill = posix_fill,
};
