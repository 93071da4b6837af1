#!/usr/bin/env bash
# End to end under qemu-user (issue 22): the same load as tests/bench/smtp-load.sh
# (N messages, ~8.5 KB, dual-signed RSA-2048 + Ed25519, outbox mode) through
# the ARM and the MIPS (little-endian) builds of zegel run by qemu-arm and
# qemu-mipsel, each side by side with the host build in one run. Emulation
# factors only: qemu-user translates every instruction, so the figures say
# how the builds compare under the same emulator, not how fast a router is.
# RSS under qemu-user is the emulator's, not the guest program's.
#
# The builds are VARIANT=emu (build/<board>-emu/): the board's build without
# the seccomp filter and Landlock, which qemu-user does not emulate (a
# filter installed by the guest would be refused); nothing else differs.
#
#   TOP=$PWD tests/bench/emu.sh [N]      results in tests/bench/results-emu.txt
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$TOP" || exit 2
n=${1:-200}
out=${RESULTS:-$TOP/tests/bench/results-emu.txt}
w=$(mktemp -d /tmp/zegel-emu.XXXXXX)
trap 'rm -rf "$w"' EXIT
make -s --no-print-directory BOARD=host >/dev/null || exit 1
: >"$w/all"
for spec in qemu-arm-virt:arm qemu-mips-malta:mipsel; do
	b=${spec%%:*} arch=${spec#*:}
	make -s --no-print-directory BOARD="$b" VARIANT=emu -j2 >/dev/null || exit 1
	q=$(make -s --no-print-directory BOARD="$b" print-QEMU_USER 2>/dev/null)
	[ -n "$q" ] || q=qemu-$arch
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$q" "$TOP/build/$b-emu/zegel" >"$w/zegel-$arch"
	chmod +x "$w/zegel-$arch"
	echo "# $b ($arch) under $q, against the host build" >>"$w/all"
	TOP=$TOP ZEGEL="$w/zegel-$arch" ZEGEL_BASE="$TOP/build/host/zegel" NAME="$arch-qemu" \
		BASE_NAME=host NO_POSTFIX=1 SESSIONS="1 4 16" RESULTS="$w/$arch" \
		bash tests/bench/smtp-load.sh "$n" || exit 1
	cat "$w/$arch" >>"$w/all"
done
{
	echo "# tests/bench/emu.sh $n at $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null)"
	cat "$w/all"
} >"$out"
cat "$out"
