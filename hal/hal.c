/*
 * The registry: which backend answers each HAL service. Nothing else.
 *
 * board_init() (board/, a floor above hal/) sets every service at start;
 * until then each answers NULL and a call through a wrapper is a bug. hal/
 * names no backend here: what is linked in is the Makefile's choice (by
 * path and Kconfig symbol, hal/module.mk), what is active the board's.
 */
#include "hal/clock.h"
#include "hal/crypto.h"
#include "hal/entropy.h"
#include "hal/net.h"
#include "hal/storage.h"
#include "hal/uart.h"

/* hal_<svc>() and hal_<svc>_set() over one pointer per service: defines
 * hal_entropy(), hal_entropy_set(),
 * hal_clock(), hal_clock_set(), hal_storage(), hal_storage_set(), hal_net(),
 * hal_net_set(), hal_uart() and hal_uart_set(). Crypto is a chain of
 * backends, not one pointer: hal/crypto.c. */
#define HAL_REGISTRY(svc)						\
	static const struct hal_##svc##_ops *svc##_active;		\
									\
	const struct hal_##svc##_ops *					\
	hal_##svc(void)							\
	{								\
		return svc##_active;					\
	}								\
									\
	void								\
	hal_##svc##_set(const struct hal_##svc##_ops *ops)		\
	{								\
		svc##_active = ops;					\
	}

HAL_REGISTRY(entropy)
HAL_REGISTRY(clock)
HAL_REGISTRY(storage)
HAL_REGISTRY(net)
HAL_REGISTRY(uart)
