/*
 * zegel/board.h — what board/<name>/board.c provides: the HAL backends it
 * picks (board_init() probes and sets them) and where things live.
 */
#ifndef ZEGEL_BOARD_H
#define ZEGEL_BOARD_H

struct board_info {
	const char *name;           /* "host", "qemu-arm-virt", ... */
	const char *console_device; /* "stdio" or a tty path */
	const char *data_dir;       /* default data directory */
};

extern const struct board_info board;

/* Select the HAL backends: the first probe that answers wins. */
void board_init(void);

#endif
