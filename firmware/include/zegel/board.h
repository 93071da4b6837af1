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

#include <stddef.h>

struct board_info {
	const char *name;           /* "host", "qemu-arm-virt", ... */
	const char *console_device; /* "stdio" or a tty path */
	const char *data_dir;       /* default data directory */
};

extern const struct board_info board;

/* Register the HAL backends: for each service the first probe that answers. */
void board_init(void);

/* Where the firmware image writes its version (scripts/image-build.sh). */
#define BOARD_FIRMWARE_VERSION_FILE "/etc/firmware-version"

/* The firmware image's version (the first line of BOARD_FIRMWARE_VERSION_FILE;
 * "none (not a firmware image)" without it) and the running kernel (uname:
 * "Linux 6.1.192 #1 ... armv7l"), for `show version` and `zegel version`. */
void board_versions(char *firmware, size_t fcap, char *kernel, size_t kcap);

#endif
