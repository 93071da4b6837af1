/*
 * hal/uart.h — the console device: stdin/stdout on the host, a UART tty on a
 * board (raw mode: the console does its own echo and line editing).
 */
#ifndef HAL_UART_H
#define HAL_UART_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hal_uart {
	int in_fd, out_fd;
	bool raw;        /* raw mode was set and must be restored */
	bool is_tty;
	unsigned char saved[64]; /* saved termios, opaque */
};

struct hal_uart_ops {
	const char *name;
	/* device "stdio" or a tty path; raw: switch a tty to raw mode. */
	int (*open)(struct hal_uart *u, const char *device, bool raw);
	ssize_t (*read)(struct hal_uart *u, void *p, size_t n);   /* -EAGAIN if none */
	ssize_t (*write)(struct hal_uart *u, const void *p, size_t n);
	void (*close)(struct hal_uart *u);
};

extern const struct hal_uart_ops hal_uart_posix;

#endif
