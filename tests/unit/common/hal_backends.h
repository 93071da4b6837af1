/*
 * The HAL backends this build enables, one NULL-terminated table per service,
 * for the contract suites (tests/unit/test_hal_*.c): each suite runs its
 * checks once per entry. A new backend (lwIP net, AF_ALG crypto, a flash
 * storage) adds itself here under its Kconfig symbol and is then held to the
 * same contract. Linking this file also runs board_init() before main(),
 * so every unit test starts with the board's backends registered.
 */
#ifndef ZEGEL_TEST_HAL_BACKENDS_H
#define ZEGEL_TEST_HAL_BACKENDS_H

#include "hal/clock.h"
#include "hal/crypto.h"
#include "hal/entropy.h"
#include "hal/net.h"
#include "hal/storage.h"
#include "hal/uart.h"

extern const struct hal_crypto_ops *const test_crypto_backends[];
extern const struct hal_entropy_ops *const test_entropy_backends[];
extern const struct hal_clock_ops *const test_clock_backends[];
extern const struct hal_storage_ops *const test_storage_backends[];
extern const struct hal_net_ops *const test_net_backends[];
extern const struct hal_uart_ops *const test_uart_backends[];

#endif
