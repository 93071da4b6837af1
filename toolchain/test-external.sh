#!/usr/bin/env bash
# Check toolchain/external.mk the way a user of a Buildroot/OpenWrt toolchain
# would use it, with our own uClibc-ng toolchain standing in for the external
# one: a prefix of tools (…-gcc is our specs wrapper, the binutils are Debian's)
# and a sysroot holding uClibc-ng, mbedTLS and libsodium.
#
#   toolchain/test-external.sh [BOARD]      (default qemu-mips-malta)
#
# Builds build/<board>-external/zegel, then checks it is static uClibc-ng and
# runs under qemu-user. Takes about as long as one board's build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
board=${1:-qemu-mips-malta}
case "$board" in
qemu-arm-virt) arch=arm triplet=arm-linux-gnueabihf qemu=qemu-arm cflags="-march=armv7-a -mfpu=vfpv3-d16 -mfloat-abi=hard" ;;
qemu-mips-malta) arch=mipsel triplet=mipsel-linux-gnu qemu=qemu-mipsel cflags=-march=24kc ;;
qemu-mipsbe-malta) arch=mips triplet=mips-linux-gnu qemu=qemu-mips cflags=-march=24kc ;;
*) echo "usage: $0 [qemu-arm-virt|qemu-mips-malta|qemu-mipsbe-malta]" >&2; exit 2 ;;
esac
# Our uClibc-ng toolchain for that architecture (built if needed).
make -s --no-print-directory BOARD="$board" LIBC=uclibc toolchain
tc=$top/build/toolchain/$arch-uclibc
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
ln -s "$tc/bin/$triplet-uclibc-gcc" "$bin/$arch-ext-gcc"
for t in ar strip size nm; do ln -s "$(command -v "$triplet-$t")" "$bin/$arch-ext-$t"; done

rm -rf "build/$board-external"
make -j2 --no-print-directory BOARD="$board" LIBC=external CROSS_COMPILE="$bin/$arch-ext-" \
	SYSROOT="$tc/sysroot" EXTERNAL_CFLAGS="$cflags"
z=build/$board-external/zegel
file "$z"
TOP=$top BOARD=$board XZEGEL=$top/$z QEMU_USER=$qemu bash tests/cross/libc.sh
if "$triplet-nm" "$z" | grep -q ' __uClibc_main$'; then
	echo "external toolchain: $z is a static uClibc-ng binary"
else
	echo "external toolchain: $z is not linked against uClibc-ng" >&2
	exit 1
fi
