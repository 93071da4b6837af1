# MIPS32 big endian (24Kc), Debian's gcc-mips-linux-gnu, static glibc.
# Debian 12 has no `mips` multiarch packages, so mbedTLS and libsodium are
# built from Debian's source packages (toolchain/build-deps.sh).
TRIPLET := mips-linux-gnu
CC := $(TRIPLET)-gcc
AR := $(TRIPLET)-ar
STRIP := $(TRIPLET)-strip
SIZE := $(TRIPLET)-size
TC_CFLAGS := -march=24kc
QEMU_USER := qemu-mips
include toolchain/deps-from-source.inc
