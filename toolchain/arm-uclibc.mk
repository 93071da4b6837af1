# ARMv7 hard-float little endian, uClibc-ng sysroot built from Debian's uclibc-source with
# Debian's arm-linux-gnueabihf-gcc; static zegel (see toolchain/uclibc.inc).
TRIPLET := arm-linux-gnueabihf
TC_CFLAGS := -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard
QEMU_USER := qemu-arm
include toolchain/uclibc.inc
