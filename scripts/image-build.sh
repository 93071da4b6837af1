#!/usr/bin/env bash
# Build the firmware image of a QEMU board: kernel + initramfs in OUTDIR/image/.
#
#   scripts/image-build.sh BOARD OUTDIR STRIP VERSION [INIT]   (called by `make image`)
#
# OUTDIR is the zegel build (build/<board>, or build/<board>-lwip-glibc for
# the lwIP image: VARIANT=lwip LIBC=glibc); the image goes to OUTDIR/image/.
# INIT is the init binary (default OUTDIR/init; the lwIP image takes the
# board's own build/<board>/init).
#
# The kernel is our own, built from Debian's linux-source-6.1 with the board's
# board/<board>/kernel.config by toolchain/build-kernel.sh (cached in
# build/<board>/kernel/ by the hash of its inputs; everything built in, no
# modules). The initramfs holds only:
#   /init                 board/common/init.c, static
#   /bin/zegel            OUTDIR/zegel, stripped
#   /etc/firmware-version the image's version (VERSION: `make image
#                         FIRMWARE_VERSION=...`), shown by `show version`
#   /dev/console          the one device node (the rest comes from devtmpfs)
#   empty /proc /sys /tmp /run /data
set -euo pipefail
board=${1:?board} out=${2:?outdir} strip=${3:?strip} version=${4:?version} init=${5:-}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
conf=board/$board/image.conf
[ -f "$conf" ] || { echo "image: board $board has no firmware image ($conf missing)" >&2; exit 2; }
init=${init:-$out/init}
for f in "$out/zegel" "$init"; do
	[ -x "$f" ] || { echo "image: $f not built" >&2; exit 2; }
done

# one kernel per board, whatever C library or variant the zegel build uses
kdir=build/$board/kernel
toolchain/build-kernel.sh "$board" "$kdir"

# ---- the root file system
img=$out/image
root=$img/rootfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,run,data}
"$strip" -o "$root/bin/zegel" "$out/zegel"
"$strip" -o "$root/init" "$init"
chmod 755 "$root/init" "$root/bin/zegel"
echo "$version" >"$root/etc/firmware-version"
/usr/bin/python3 scripts/image-cpio.py "$root" "$img/initramfs.cpio.gz" --node dev/console:c:5:1:600
cp "$kdir/kernel" "$img/kernel"
{
	echo "firmware=$version"
	echo "kernel=$(cat "$kdir/version")"
	echo "kernel_source=linux-source-6.1 $(dpkg-query -W -f='${Version}' linux-source-6.1)"
} >"$img/manifest"
echo "  IMAGE   $img/kernel ($(cat "$kdir/version"), $(stat -c %s "$img/kernel") bytes)"
echo "  IMAGE   $img/initramfs.cpio.gz ($(stat -c %s "$img/initramfs.cpio.gz") bytes;" \
	"rootfs $(du -sb --apparent-size "$root" | cut -f1) bytes), firmware $version"
