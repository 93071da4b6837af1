/*
 * zegel/board.h — what the board code provides (board/common/board.c, or
 * board/<name>/board.c where a board differs): the HAL backends it picks
 * (board_init() probes and registers them) and where things live.
 *
 * hal/ names no backend itself: every service answers NULL until
 * board_init() ran, so main() calls it first (and the unit tests' common
 * object before main, tests/unit/common/hal_backends.c).
 */
#ifndef ZEGEL_BOARD_H
#define ZEGEL_BOARD_H

struct board_info {
	const char *name;           /* "host", "qemu-arm-virt", ... */
	const char *console_device; /* "stdio" or a tty path */
	const char *data_dir;       /* default data directory */
};

extern const struct board_info board;

/* Register the HAL backends: for each service the first probe that answers. */
void board_init(void);

#endif
