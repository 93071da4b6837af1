/* The enabled HAL backends, for the contract suites (see hal_backends.h). */
#include <stddef.h>

#include "tests/unit/common/crypto_count.h"
#include "tests/unit/common/hal_backends.h"
#include "zegel/board.h"
#include "zegel/config.h"
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
#include "hal/lwip.h"
#endif

/*
 * Every unit test runs with the backends the board registers, as `zegel`
 * does (main() calls board_init() first): hal/ itself names none. A test
 * that wants another backend sets it with hal_<svc>_set() and puts the
 * board's back afterwards.
 */
__attribute__((constructor)) static void
test_board_init(void)
{
	board_init();
	test_crypto_save_board_chain();
}

const struct hal_crypto_ops *const test_crypto_backends[] = {
#if IS_ENABLED(CONFIG_HAL_CRYPTO_CPU)
	&hal_crypto_cpu, /* its probe decides: SHA instructions on this CPU */
#endif
#if IS_ENABLED(CONFIG_HAL_CRYPTO_AFALG)
	&hal_crypto_afalg, /* its probe decides whether the suites run it */
#endif
#if IS_ENABLED(CONFIG_HAL_CRYPTO_SOFT)
	&hal_crypto_soft,
#endif
	&test_crypto_count_ops, /* stand-in for an engine: SHA-256 only */
	NULL,
};

const struct hal_entropy_ops *const test_entropy_backends[] = {
	&hal_entropy_posix,
	NULL,
};

const struct hal_clock_ops *const test_clock_backends[] = {
	&hal_clock_posix,
	NULL,
};

const struct hal_storage_ops *const test_storage_backends[] = {
	&hal_storage_posix,
	NULL,
};

const struct hal_net_ops *const test_net_backends[] = {
#if IS_ENABLED(CONFIG_HAL_NET_POSIX)
	&hal_net_posix,
#endif
#if IS_ENABLED(CONFIG_HAL_NET_LWIP)
	&hal_net_lwip, /* on lwIP's own loopback interface: 127.0.0.1, ::1 */
#endif
	NULL,
};

const struct hal_uart_ops *const test_uart_backends[] = {
	&hal_uart_posix,
	NULL,
};
