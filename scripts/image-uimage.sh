#!/usr/bin/env bash
# Build the flashable firmware image of a U-Boot board (board/<board>/image.conf
# says IMAGE_FORMAT=uimage; today mt7621-gnubee-gb-pc1): one U-Boot legacy
# uImage holding our own kernel with zegel's initramfs built into it.
#
#   scripts/image-uimage.sh BOARD OUTDIR STRIP VERSION    (called by `make image`)
#
# Steps:
#   1. the root file system (the same one the QEMU images carry): /init
#      (board/common/init.c), /bin/zegel (stripped), /dev/console,
#      /etc/firmware-version (VERSION: `make image FIRMWARE_VERSION=...`, shown
#      by `show version`), empty /proc /sys /tmp /run /data; written by
#      scripts/image-cpio.py
#   2. its uncompressed cpio becomes the kernel's built-in initramfs: copied to
#      build/<board>/kernel/initramfs.cpio only when its bytes changed (make
#      compares times)
#   3. the kernel: toolchain/build-kernel.sh (cached by its inputs, built with
#      no initramfs of ours: `make kernel` needs no zegel); then the kernel's
#      own `make uImage.lzma dtbs` again in its build tree with
#      CONFIG_INITRAMFS_SOURCE=<that cpio> on the command line (it overrides
#      the .config's empty value in kbuild's usr/Makefile), which relinks only
#      when the initramfs changed
#   4. the board's device tree (the kernel's own build of the mainline DTS,
#      DTB= in image.conf) appended to vmlinux.bin (kernel.config:
#      MIPS_RAW_APPENDED_DTB: the kernel looks for it at __appended_dtb, the
#      end of vmlinux.bin), compressed with the kernel's `lzma -9`, and
#      wrapped by Debian's mkimage with the name, load address and entry point
#      of the kernel's own uImage.lzma (arch/mips/boot/Makefile takes them from
#      the vmlinux it linked): OUTDIR/image/uImage
#   5. manifest (kernel release, addresses, where the kernel's build tree is)
#      for the checks of tests/qemu/mt7621_image.sh
set -euo pipefail
board=${1:?board} out=${2:?outdir} strip=${3:?strip} version=${4:?version}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
conf=board/$board/image.conf
IMAGE_FORMAT='' DTB=''
# shellcheck source=/dev/null
. "$conf"
if [ "$IMAGE_FORMAT" != uimage ] || [ -z "$DTB" ]; then
	echo "image: $conf: want IMAGE_FORMAT=uimage and DTB=" >&2
	exit 2
fi
for f in "$out/zegel" "$out/init"; do
	[ -x "$f" ] || { echo "image: $f not built" >&2; exit 2; }
done
command -v mkimage >/dev/null || {
	echo "image: mkimage missing (Debian's u-boot-tools: scripts/bootstrap.sh kernel)" >&2; exit 2; }

# ---- 1. the root file system
img=$out/image
root=$img/rootfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,run,data}
echo "$version" >"$root/etc/firmware-version"
"$strip" -o "$root/bin/zegel" "$out/zegel"
"$strip" -o "$root/init" "$out/init"
chmod 755 "$root/init" "$root/bin/zegel"
/usr/bin/python3 scripts/image-cpio.py "$root" "$img/initramfs.cpio.gz" --node dev/console:c:5:1:600
gzip -dc "$img/initramfs.cpio.gz" >"$img/initramfs.cpio.tmp"

# ---- 2. + 3. the kernel with that initramfs, and the device trees
kout=$out/kernel
mkdir -p "$kout"
if ! cmp -s "$img/initramfs.cpio.tmp" "$kout/initramfs.cpio"; then
	cp "$img/initramfs.cpio.tmp" "$kout/initramfs.cpio"
fi
mv "$img/initramfs.cpio.tmp" "$img/initramfs.cpio"
toolchain/build-kernel.sh "$board" "$kout"
kout=$(cd "$kout" && pwd)
kobj=$kout/obj
KERNEL_ARCH='' KERNEL_CROSS=''
# shellcheck source=/dev/null
. "board/$board/kernel.conf"
# the source tree build-kernel.sh unpacked (read-only, shared by the boards)
src=$top/build/kernel/src-$(dpkg-query -W -f='${Version}' linux-source-6.1)
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
nice make -C "$src" O="$kobj" ARCH="$KERNEL_ARCH" CROSS_COMPILE="$KERNEL_CROSS" \
	KBUILD_BUILD_USER=zegel KBUILD_BUILD_HOST=zegel -j"${KERNEL_JOBS:-2}" \
	CONFIG_INITRAMFS_SOURCE="$kout/initramfs.cpio" uImage.lzma dtbs \
	>>"$kout/build.log" 2>&1 || {
	echo "image: $board: kernel make uImage.lzma dtbs (initramfs) failed; the end of $kout/build.log:" >&2
	tail -30 "$kout/build.log" >&2
	exit 1
}

# ---- 4. vmlinux.bin + DTB, LZMA, uImage with the kernel's own header fields
kimg=$kobj/arch/mips/boot/uImage.lzma
dtb=$kobj/arch/mips/boot/dts/$DTB
[ -f "$dtb" ] || { echo "image: $board: the kernel built no $DTB" >&2; exit 1; }
hdr=$(mkimage -l "$kimg")
field() { sed -n "s/^$1: *//p" <<<"$hdr"; }
name=$(field 'Image Name') load=0x$(field 'Load Address') entry=0x$(field 'Entry Point')
cat "$kobj/arch/mips/boot/vmlinux.bin" "$dtb" >"$img/vmlinux-dtb.bin"
lzma -9 <"$img/vmlinux-dtb.bin" >"$img/vmlinux-dtb.bin.lzma"
mkimage -A mips -O linux -T kernel -C lzma -a "$load" -e "$entry" -n "$name" \
	-d "$img/vmlinux-dtb.bin.lzma" "$img/uImage.tmp" >/dev/null
mv "$img/uImage.tmp" "$img/uImage"
rm -f "$img/vmlinux-dtb.bin" "$img/vmlinux-dtb.bin.lzma"

# ---- 5. what the checks need
{
	echo "board=$board"
	echo "firmware=$version"
	echo "kernel=$(cat "$kout/version")"
	echo "kobj=$kobj"
	echo "kconfig=$kout/config"
	echo "dtb=$dtb"
	echo "load=$load"
	echo "entry=$entry"
	echo "uimage_bytes=$(stat -c %s "$img/uImage")"
	echo "vmlinux_bin_bytes=$(stat -c %s "$kobj/arch/mips/boot/vmlinux.bin")"
} >"$img/manifest"
echo "  IMAGE   $img/uImage ($name, $(stat -c %s "$img/uImage") bytes: kernel +" \
	"initramfs $(stat -c %s "$img/initramfs.cpio") bytes + $DTB, LZMA; load $load entry $entry)," \
	"firmware $version"
