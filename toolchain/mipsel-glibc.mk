# MIPS32 little endian (24Kc), Debian's gcc-mipsel-linux-gnu, static glibc.
TRIPLET := mipsel-linux-gnu
TC_CFLAGS := -march=24kc
QEMU_USER := qemu-mipsel
include toolchain/glibc-multiarch.inc
