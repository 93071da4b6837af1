# ARMv7 hard-float little endian, musl (Debian's musl-dev:armhf wrapper).
TRIPLET := arm-linux-gnueabihf
MUSL_CC := arm-linux-musleabihf-gcc
MUSL_DEBARCH := armhf
TC_CFLAGS := -march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard
QEMU_USER := qemu-arm
include toolchain/musl.inc
