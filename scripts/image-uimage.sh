#!/usr/bin/env bash
# Build the flashable firmware image of a U-Boot board (board/<board>/image.conf
# says IMAGE_FORMAT=uimage; today mt7621-gnubee-gb-pc1): one U-Boot legacy
# uImage holding our own kernel with zegel's initramfs built into it.
#
#   scripts/image-uimage.sh BOARD OUTDIR STRIP     (called by `make image`)
#
# Steps:
#   1. the root file system (the same one the QEMU images carry): /init
#      (board/common/init.c), /bin/zegel (stripped), /dev/console, empty
#      /proc /sys /tmp /run /data; written by scripts/image-cpio.py
#   2. its uncompressed cpio becomes the kernel's built-in initramfs
#      (kernel.config: CONFIG_INITRAMFS_SOURCE="initramfs.cpio", relative to
#      the kernel's build tree), copied there only when its bytes changed
#   3. the kernel: toolchain/build-kernel.sh (cached by its inputs); then the
#      kernel's own `make uImage.lzma` again in its build tree, which relinks
#      only when the initramfs changed: the kernel's arch/mips/boot/Makefile
#      runs mkimage (Debian's u-boot-tools) with the load address and entry
#      point of this vmlinux
#   4. OUTDIR/image/uImage, plus manifest (kernel release, load and entry
#      addresses from vmlinux, where its build tree is) for the checks of
#      tests/e2e/mt7621_image.sh
set -euo pipefail
board=${1:?board} out=${2:?outdir} strip=${3:?strip}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
conf=board/$board/image.conf
IMAGE_FORMAT=
# shellcheck source=/dev/null
. "$conf"
[ "$IMAGE_FORMAT" = uimage ] || { echo "image: $conf: IMAGE_FORMAT is not uimage" >&2; exit 2; }
for f in "$out/zegel" "$out/init"; do
	[ -x "$f" ] || { echo "image: $f not built" >&2; exit 2; }
done
command -v mkimage >/dev/null || {
	echo "image: mkimage missing (Debian's u-boot-tools: scripts/bootstrap.sh kernel)" >&2; exit 2; }

# ---- 1. the root file system
img=$out/image
root=$img/rootfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,run,data}
"$strip" -o "$root/bin/zegel" "$out/zegel"
"$strip" -o "$root/init" "$out/init"
chmod 755 "$root/init" "$root/bin/zegel"
/usr/bin/python3 scripts/image-cpio.py "$root" "$img/initramfs.cpio.gz" --node dev/console:c:5:1:600
gzip -dc "$img/initramfs.cpio.gz" >"$img/initramfs.cpio.tmp"

# ---- 2. + 3. the kernel with that initramfs
kout=$out/kernel
kobj=$kout/obj
mkdir -p "$kobj"
if ! cmp -s "$img/initramfs.cpio.tmp" "$kobj/initramfs.cpio"; then
	cp "$img/initramfs.cpio.tmp" "$kobj/initramfs.cpio"
fi
mv "$img/initramfs.cpio.tmp" "$img/initramfs.cpio"
toolchain/build-kernel.sh "$board" "$kout"
KERNEL_ARCH= KERNEL_CROSS= KERNEL_TARGET= KERNEL_IMAGE=
# shellcheck source=/dev/null
. "board/$board/kernel.conf"
# the source tree build-kernel.sh unpacked (read-only, shared by the boards)
src=$top/build/kernel/src-$(dpkg-query -W -f='${Version}' linux-source-6.1)
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
nice make -C "$src" O="$(cd "$kobj" && pwd)" ARCH="$KERNEL_ARCH" CROSS_COMPILE="$KERNEL_CROSS" \
	KBUILD_BUILD_USER=zegel KBUILD_BUILD_HOST=zegel -j"${KERNEL_JOBS:-2}" "$KERNEL_TARGET" \
	>>"$kout/build.log" 2>&1 || {
	echo "image: $board: kernel make $KERNEL_TARGET (initramfs) failed; the end of $kout/build.log:" >&2
	tail -30 "$kout/build.log" >&2
	exit 1
}

# ---- 4. the image and what the checks need
cp "$kobj/$KERNEL_IMAGE" "$img/uImage.tmp"
mv "$img/uImage.tmp" "$img/uImage"
vmlinux=$kobj/vmlinux
entry=$("${KERNEL_CROSS}readelf" -h "$vmlinux" | sed -n 's/^ *Entry point address: *//p')
load=$("${KERNEL_CROSS}readelf" -lW "$vmlinux" | awk '$1 == "LOAD" { print $3; exit }')
{
	echo "board=$board"
	echo "kernel=$(cat "$kout/version")"
	echo "vmlinux=$vmlinux"
	echo "kconfig=$kout/config"
	echo "dtc=$kobj/scripts/dtc/dtc"
	echo "load=$load"
	echo "entry=$entry"
	echo "uimage_bytes=$(stat -c %s "$img/uImage")"
	echo "vmlinux_bin_bytes=$(stat -c %s "$kobj/arch/mips/boot/vmlinux.bin")"
} >"$img/manifest"
echo "  IMAGE   $img/uImage ($(cat "$kout/version"), $(stat -c %s "$img/uImage") bytes:" \
	"kernel + initramfs $(stat -c %s "$img/initramfs.cpio") bytes, LZMA; load $load entry $entry)"
