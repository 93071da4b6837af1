/*
 * hal/uart.h — the console device: stdin/stdout on the host, a UART tty on a
 * board (raw mode: the console does its own echo and line editing).
 *
 * Model. The caller owns a struct hal_uart (static in the app); open() fills
 * it, close() restores the device (a tty leaves raw mode) and releases it.
 * The struct holds backend handles, not file descriptors: only the backend
 * interprets them. The event loop watches the input with hal_net_poll() on
 * hal_uart_handle(), so a board pairs a uart backend with a net backend whose
 * poll() understands that handle (POSIX: both are file descriptors).
 * board_init() picks the backend (hal_uart_set()).
 */
#ifndef HAL_UART_H
#define HAL_UART_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct hal_uart {
	int in, out;             /* backend handles for input and output */
	bool raw;                /* raw mode was set and must be restored */
	bool is_tty;
	unsigned char impl[64];  /* backend state (POSIX: the saved termios) */
};

struct hal_uart_ops {
	const char *name;
	/* device "stdio" or a tty path; raw: switch a tty to raw mode. */
	int (*open)(struct hal_uart *u, const char *device, bool raw);
	ssize_t (*read)(struct hal_uart *u, void *p, size_t n);   /* -EAGAIN if none */
	ssize_t (*write)(struct hal_uart *u, const void *p, size_t n);
	void (*close)(struct hal_uart *u);
};

/* The active backend, set by board_init(); NULL before. */
const struct hal_uart_ops *hal_uart(void);
void hal_uart_set(const struct hal_uart_ops *ops);

extern const struct hal_uart_ops hal_uart_posix;

/* Callers use these wrappers, never hal_uart()->op directly. */
static inline int
hal_uart_open(struct hal_uart *u, const char *device, bool raw)
{
	return hal_uart()->open(u, device, raw);
}

static inline ssize_t
hal_uart_read(struct hal_uart *u, void *p, size_t n)
{
	return hal_uart()->read(u, p, n);
}

static inline ssize_t
hal_uart_write(struct hal_uart *u, const void *p, size_t n)
{
	return hal_uart()->write(u, p, n);
}

static inline void
hal_uart_close(struct hal_uart *u)
{
	hal_uart()->close(u);
}

/* The handle the event loop polls for input (HAL_POLL_IN). */
static inline int
hal_uart_handle(const struct hal_uart *u)
{
	return u->in;
}

#endif
