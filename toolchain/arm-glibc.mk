# ARMv7 hard-float little endian, Debian's gcc-arm-linux-gnueabihf, static glibc.
TRIPLET := arm-linux-gnueabihf
TC_CFLAGS := -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard
QEMU_USER := qemu-arm
include toolchain/glibc-multiarch.inc
