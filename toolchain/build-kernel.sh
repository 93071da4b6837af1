#!/usr/bin/env bash
# Build a board's Linux kernel from Debian's linux-source-6.1 package.
#
#   toolchain/build-kernel.sh BOARD OUTDIR
#
# Inputs, all in board/BOARD/:
#   kernel.conf    shell variables (no commands):
#                    KERNEL_ARCH     the kernel's ARCH= (arm, mips)
#                    KERNEL_CROSS    CROSS_COMPILE= (a Debian cross gcc prefix)
#                    KERNEL_TARGET   make target (zImage, vmlinuz, vmlinux ...)
#                    KERNEL_IMAGE    the file it makes, relative to the build dir
#                                    (arch/arm/boot/zImage, vmlinuz ...)
#                    KERNEL_FRAGMENTS  optional: fragments merged before the
#                                    board's own (board/common/kernel.config)
#                    KERNEL_PATCHES  optional: our patches to the source
#                                    (paths from the top, `patch -p1` format)
#   kernel.config  a config fragment merged (after KERNEL_FRAGMENTS) on top of
#                  `tinyconfig` with the kernel's scripts/kconfig/merge_config.sh,
#                  then olddefconfig. Every CONFIG_X=... line of them must survive into .config
#                  unchanged (a symbol whose dependency is missing is dropped
#                  silently by Kconfig): the build fails naming those that did not.
#
# Outputs in OUTDIR: kernel (the image), config (the final .config), version
# (`make kernelrelease`), build.log, obj/ (the O= build tree, kept for
# incremental rebuilds). Everything is built in: no modules.
#
# The source is unpacked once into build/kernel/src-<package version>/ and made
# read-only: every board builds out of tree (O=) from it. A board's patches are
# applied to copies of the files they touch in its O= tree, where kbuild finds a
# source file before the one in the source tree (VPATH), so the shared source
# stays pristine. A build is skipped when OUTDIR/.stamp-<hash> exists; the hash
# covers the package version, kernel.conf, the fragments, the patches, the
# compiler's version and this script.
set -euo pipefail
board=${1:?usage: build-kernel.sh BOARD OUTDIR} out=${2:?usage: build-kernel.sh BOARD OUTDIR}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
conf=board/$board/kernel.conf frag=board/$board/kernel.config
for f in "$conf" "$frag"; do
	[ -f "$f" ] || { echo "kernel: $f missing (board $board has no kernel)" >&2; exit 2; }
done
KERNEL_ARCH= KERNEL_CROSS= KERNEL_TARGET= KERNEL_IMAGE= KERNEL_FRAGMENTS= KERNEL_PATCHES=
# shellcheck source=/dev/null
. "$conf"
frags=()
for f in $KERNEL_FRAGMENTS "$frag"; do
	[ -f "$f" ] || { echo "kernel: $conf: fragment $f missing" >&2; exit 2; }
	frags+=("$top/$f")
done
patches=()
for f in $KERNEL_PATCHES; do
	[ -f "$f" ] || { echo "kernel: $conf: patch $f missing" >&2; exit 2; }
	patches+=("$top/$f")
done
for v in KERNEL_ARCH KERNEL_CROSS KERNEL_TARGET KERNEL_IMAGE; do
	[ -n "${!v}" ] || { echo "kernel: $conf does not set $v" >&2; exit 2; }
done
tarball=/usr/src/linux-source-6.1.tar.xz
pkgver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
[ -f "$tarball" ] && [ -n "$pkgver" ] || {
	echo "kernel: Debian's linux-source-6.1 is not installed (scripts/bootstrap.sh kernel)" >&2; exit 2; }
command -v "${KERNEL_CROSS}gcc" >/dev/null || {
	echo "kernel: ${KERNEL_CROSS}gcc not installed (scripts/bootstrap.sh cross)" >&2; exit 2; }

mkdir -p "$out"
out=$(cd "$out" && pwd)
hash=$({ echo "$pkgver"; cat "$conf" "${frags[@]}" ${patches[@]+"${patches[@]}"} "$0"; "${KERNEL_CROSS}gcc" --version | head -1; } |
	sha1sum | cut -c1-16)
if [ -f "$out/.stamp-$hash" ] && [ -f "$out/kernel" ]; then
	exit 0
fi
rm -f "$out"/.stamp-*

# ---- the source, unpacked once, shared by all boards, read-only
src=$top/build/kernel/src-$pkgver
if [ ! -f "$src/.unpacked" ]; then
	echo "  UNPACK  $tarball -> ${src#"$top"/}"
	rm -rf "$src" "$src.tmp"
	mkdir -p "$src.tmp"
	tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	touch "$src.tmp/.unpacked"
	chmod -R a-w "$src.tmp"
	mv "$src.tmp" "$src"
fi

# ---- configure: tinyconfig + fragment, then check the fragment survived
obj=$out/obj
log=$out/build.log
mkdir -p "$obj"
: >"$log"
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
kmake() {
	nice make -C "$src" O="$obj" ARCH="$KERNEL_ARCH" CROSS_COMPILE="$KERNEL_CROSS" \
		KBUILD_BUILD_USER=zegel KBUILD_BUILD_HOST=zegel "$@" >>"$log" 2>&1 || {
		echo "kernel: $board: make $* failed; the end of $log:" >&2
		tail -30 "$log" >&2
		exit 1
	}
}
t0=$(date +%s)
echo "  KCONFIG $board: tinyconfig + ${frags[*]#"$top"/}"
kmake tinyconfig
(cd "$obj" && "$src/scripts/kconfig/merge_config.sh" -m .config "${frags[@]}") >>"$log" 2>&1
kmake olddefconfig
dropped=$(cat "${frags[@]}" | grep -E '^CONFIG_[A-Za-z0-9_]+=' | while IFS= read -r line; do
	grep -qxF "$line" "$obj/.config" || echo "  $line (now: $(grep -E "^(# )?${line%%=*}[= ]" \
		"$obj/.config" || echo absent))"
done)
if [ -n "$dropped" ]; then
	echo "kernel: $board: these lines of ${frags[*]#"$top"/} did not survive olddefconfig" \
		"(a dependency is missing or the symbol does not exist):" >&2
	echo "$dropped" >&2
	exit 1
fi
if grep -q '^CONFIG_MODULES=y' "$obj/.config"; then
	echo "kernel: $board: CONFIG_MODULES=y; everything must be built in" >&2
	exit 1
fi

# ---- patches: on copies in the O= tree (the list of copies in .zegel-patched;
# the previous build's copies go first, so a dropped patch leaves no copy)
if [ -f "$obj/.zegel-patched" ]; then
	while IFS= read -r f; do rm -f "${obj:?}/$f"; done <"$obj/.zegel-patched"
	rm -f "$obj/.zegel-patched"
fi
for p in ${patches[@]+"${patches[@]}"}; do
	for f in $(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$p"); do
		[ -f "$obj/$f" ] && continue
		mkdir -p "$obj/$(dirname "$f")"
		cp "$src/$f" "$obj/$f"
		chmod u+w "$obj/$f"
		echo "$f" >>"$obj/.zegel-patched"
	done
	echo "  PATCH   $board: ${p#"$top"/}"
	patch -p1 -s -d "$obj" <"$p" >>"$log" 2>&1 || {
		echo "kernel: $board: ${p#"$top"/} does not apply; the end of $log:" >&2
		tail -10 "$log" >&2
		exit 1
	}
done

# ---- build
echo "  KERNEL  $board: make $KERNEL_TARGET (ARCH=$KERNEL_ARCH, ${KERNEL_CROSS}gcc; log ${log#"$top"/})"
kmake -j"${KERNEL_JOBS:-2}" "$KERNEL_TARGET"
cp "$obj/$KERNEL_IMAGE" "$out/kernel"
cp "$obj/.config" "$out/config"
make -s -C "$src" O="$obj" ARCH="$KERNEL_ARCH" CROSS_COMPILE="$KERNEL_CROSS" kernelrelease >"$out/version"
touch "$out/.stamp-$hash"
echo "  KERNEL  $board: $(cat "$out/version"), $(stat -c %s "$out/kernel") bytes, built in $(($(date +%s) - t0)) s"
