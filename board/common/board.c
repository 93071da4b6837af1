/*
 * The default board: every board whose folder holds no board.c of its own
 * (board/module.mk picks board/<name>/board.c by path when there is one, as
 * musl replaces a generic source by an arch one). What differs between the
 * boards today (name, console device, data directory) comes from Kconfig.
 *
 * board_init() registers one backend per HAL service: the kernel's entropy
 * and clock, POSIX storage, sockets and termios; for crypto a chain, each
 * backend probed at registration: the CPU's SHA instructions (hal/cpu)
 * and the kernel's crypto API (AF_ALG), when Kconfig enables them, before
 * software, which answers everything the others do not. A board with another engine writes its own board.c that registers
 * that engine's backend first.
 */
#include "zegel/board.h"
#include "zegel/config.h"

#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "hal/clock.h"
#include "hal/crypto.h"
#include "hal/entropy.h"
#include "hal/net.h"
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
#include "hal/lwip.h"
#endif
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
	hal_entropy_set(&hal_entropy_posix);
	hal_clock_set(&hal_clock_posix); /* before crypto: probes measure speed */
	/* the crypto chain, in order of preference; software answers the rest */
#if IS_ENABLED(CONFIG_HAL_CRYPTO_CPU)
	(void)hal_crypto_register(&hal_crypto_cpu);
#endif
#if IS_ENABLED(CONFIG_HAL_CRYPTO_AFALG)
	(void)hal_crypto_register(&hal_crypto_afalg);
#endif
#if IS_ENABLED(CONFIG_HAL_CRYPTO_TPM2)
	/* keys only: loads TPM key files (hal/tpm2.h), passes PEM keys on */
	(void)hal_crypto_register(&hal_crypto_tpm2);
#endif
	(void)hal_crypto_register(&hal_crypto_soft);
	hal_storage_set(&hal_storage_posix);
#if IS_ENABLED(CONFIG_HAL_NET_POSIX)
	hal_net_set(&hal_net_posix);
#endif
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	hal_net_set(&hal_net_lwip); /* its interface: the app, from `set lwip` */
#endif
	hal_uart_set(&hal_uart_posix);
}

void
board_versions(char *firmware, size_t fcap, char *kernel, size_t kcap)
{
	FILE *f = fopen(BOARD_FIRMWARE_VERSION_FILE, "re");
	struct utsname u;

	snprintf(firmware, fcap, "none (not a firmware image: no %s)", BOARD_FIRMWARE_VERSION_FILE);
	if (f != NULL) {
		if (fgets(firmware, (int)fcap, f) == NULL)
			snprintf(firmware, fcap, "unknown (%s is empty)", BOARD_FIRMWARE_VERSION_FILE);
		firmware[strcspn(firmware, "\r\n")] = '\0';
		fclose(f);
	}
	if (uname(&u) == 0)
		snprintf(kernel, kcap, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
	else
		snprintf(kernel, kcap, "unknown");
}
