src-y += hal/hal.c hal/log.c
src-$(CONFIG_HAL_CRYPTO_SOFT) += hal/soft/crypto_soft.c
src-y += hal/posix/entropy.c hal/posix/clock.c hal/posix/storage.c hal/posix/uart.c
src-y += hal/posix/addr.c
src-$(CONFIG_HAL_NET_POSIX) += hal/posix/net.c
