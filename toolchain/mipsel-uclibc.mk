# MIPS32 (24Kc) little endian, uClibc-ng sysroot built from Debian's uclibc-source with
# Debian's mipsel-linux-gnu-gcc; static zegel (see toolchain/uclibc.inc).
TRIPLET := mipsel-linux-gnu
TC_CFLAGS := -march=24kc
QEMU_USER := qemu-mipsel
include toolchain/uclibc.inc
