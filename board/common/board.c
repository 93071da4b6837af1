/*
 * The default board: every board whose folder holds no board.c of its own
 * (board/module.mk picks board/<name>/board.c by path when there is one, as
 * musl replaces a generic source by an arch one). What differs between the
 * boards today (name, console device, data directory) comes from Kconfig.
 *
 * board_init() registers one backend per HAL service, the first probe that
 * answers: software crypto, the kernel's entropy and clock, POSIX storage,
 * sockets and termios. A board with a hardware engine writes its own
 * board.c that tries that engine's probe first.
 */
#include "zegel/board.h"
#include "zegel/config.h"

#include "hal/clock.h"
#include "hal/crypto.h"
#include "hal/entropy.h"
#include "hal/net.h"
#include "hal/storage.h"
#include "hal/uart.h"

const struct board_info board = {
	.name = CONFIG_BOARD_NAME,
	.console_device = CONFIG_BOARD_CONSOLE_DEVICE,
	.data_dir = CONFIG_BOARD_DATA_DIR,
};

void
board_init(void)
{
	hal_crypto_set(&hal_crypto_soft);
	hal_entropy_set(&hal_entropy_posix);
	hal_clock_set(&hal_clock_posix);
	hal_storage_set(&hal_storage_posix);
#if IS_ENABLED(CONFIG_HAL_NET_POSIX)
	hal_net_set(&hal_net_posix);
#endif
	hal_uart_set(&hal_uart_posix);
}
