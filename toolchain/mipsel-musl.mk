# MIPS32 (24Kc) little endian, musl (Debian's musl-dev:mipsel wrapper).
TRIPLET := mipsel-linux-gnu
MUSL_CC := mipsel-linux-musl-gcc
MUSL_DEBARCH := mipsel
TC_CFLAGS := -march=24kc
QEMU_USER := qemu-mipsel
include toolchain/musl.inc
