# MIPS32 (24Kc) big endian, uClibc-ng sysroot built from Debian's uclibc-source with
# Debian's mips-linux-gnu-gcc; static zegel (see toolchain/uclibc.inc).
TRIPLET := mips-linux-gnu
TC_CFLAGS := -march=24kc
QEMU_USER := qemu-mips
include toolchain/uclibc.inc
