#!/usr/bin/env bash
# The flashable image of the real gateway board (board/mt7621-gnubee-gb-pc1):
# `make image` builds it, U-Boot's own `mkimage -l` parses it, and
# tests/qemu/mt7621_image.py checks the header fields against the vmlinux the
# kernel build linked (load address, entry point) and the kernel's own
# uImage.lzma, both CRCs, the LZMA payload (the kernel's vmlinux.bin, then the
# board's DTB at __appended_dtb: root compatible, the SoC devices, the flash
# partitions against the kernel's mtdparts=), the size against the firmware partition, and the initramfs
# inside it (/init and /bin/zegel: the stripped build outputs, static MIPS32r2
# little-endian ELF).
# No emulator has an MT7621 machine: the image is not booted here (README of
# the board says what is not verified on hardware).
. "$TOP/tests/lib.sh"
board=mt7621-gnubee-gb-pc1
compat=gnubee,gb-pc1
out=$TOP/build/$board
T=$(tmpdir)
trap 'rm -rf "$T"' EXIT

# The kernel itself is cached (toolchain/build-kernel.sh); this relinks it only
# when zegel or init changed.
if ! make -C "$TOP" --no-print-directory BOARD=$board image >"$T/make.log" 2>&1; then
	not_ok "make image BOARD=$board" "$(tail -20 "$T/make.log")"
	finish
	exit
fi
ok "make image BOARD=$board"
img=$out/image/uImage
man=$out/image/manifest
get() { sed -n "s/^$1=//p" "$man"; }
kobj=$(get kobj)
vmlinux=$kobj/vmlinux
# shellcheck source=/dev/null
. "$TOP/board/$board/image.conf"

listing=$(mkimage -l "$img" 2>&1)
# mkimage -l exits 0 on anything; what it prints tells whether it parsed a
# legacy header (the CRCs are recomputed by mt7621_image.py)
check "mkimage -l parses it as a legacy image (Image Name: Linux-...)" \
	grep -q '^Image Name: *Linux-' <<<"$listing"
check "mkimage -l: data size = file size - 64 header bytes" \
	grep -q "^Data Size: *$(($(stat -c %s "$img") - 64)) Bytes" <<<"$listing"
check "mkimage -l: MIPS Linux Kernel Image (lzma compressed)" \
	grep -q 'Image Type: *MIPS Linux Kernel Image (lzma compressed)' <<<"$listing"
load=$(mipsel-linux-gnu-readelf -lW "$vmlinux" | awk '$1 == "LOAD" { print $3; exit }')
entry=$(mipsel-linux-gnu-readelf -hW "$vmlinux" | sed -n 's/^ *Entry point address: *//p')
check "mkimage -l: load address $load (vmlinux)" \
	grep -qi "Load Address: *${load#0x}\$" <<<"$listing"
check "mkimage -l: entry point $entry (vmlinux)" \
	grep -qi "Entry Point: *${entry#0x}\$" <<<"$listing"

mipsel-linux-gnu-nm "$vmlinux" >"$T/nm"
/usr/bin/python3 "$TOP/tests/qemu/mt7621_image.py" "$img" "$kobj" "$(get dtb)" "$T/nm" \
	"$out/image/rootfs" "$(get kconfig)" "$FLASH_FIRMWARE_OFFSET" "$FLASH_FIRMWARE_SIZE" \
	"$compat" "$T" >"$T/checks" 2>&1
rc=$?
while IFS= read -r line; do
	case "$line" in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	esac
done <"$T/checks"
[ "$rc" -eq 0 ] || not_ok "mt7621_image.py exited with $rc" "$(tail -5 "$T/checks")"
echo "# image $(stat -c %s "$img") bytes; $(head -1 <<<"$listing")"
finish
