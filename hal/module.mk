# Common HAL code (the registry, helpers over any backend, address text),
# then the backends: a file per backend, picked by path and Kconfig symbol.
# Which backend answers is board_init()'s choice (board/), not hal/'s.
src-y += hal/hal.c hal/log.c hal/addr.c hal/clock.c hal/crypto.c hal/entropy.c hal/storage.c
src-$(CONFIG_HAL_CRYPTO_SOFT) += hal/soft/crypto_soft.c
# the CPU's SHA instructions: each arch file compiles to a stub elsewhere
src-$(CONFIG_HAL_CRYPTO_CPU) += hal/cpu/crypto_cpu.c hal/cpu/sha256_x86.c hal/cpu/sha256_arm.c
src-$(CONFIG_HAL_CRYPTO_AFALG) += hal/linux/crypto_afalg.c hal/linux/afalg_proc.c
# TPM 2.0 keys: the wire (pure), the transport, the key backend
src-$(CONFIG_HAL_CRYPTO_TPM2) += hal/tpm2/tpm2_wire.c hal/tpm2/tpm2_io.c hal/tpm2/tpm2_key.c
src-y += hal/posix/entropy.c hal/posix/clock.c hal/posix/storage.c hal/posix/uart.c
src-$(CONFIG_HAL_NET_POSIX) += hal/posix/net.c
