/* Board qemu-mipsbe-malta: POSIX HAL, software crypto. */
#include "zegel/board.h"
#include "zegel/config.h"

#include "hal/crypto.h"
#include "hal/net.h"

const struct board_info board = {
	.name = CONFIG_BOARD_NAME,
	.console_device = CONFIG_BOARD_CONSOLE_DEVICE,
	.data_dir = CONFIG_BOARD_DATA_DIR,
};

void
board_init(void)
{
	hal_crypto_set(&hal_crypto_soft);
	hal_net_set(&hal_net_posix);
}
