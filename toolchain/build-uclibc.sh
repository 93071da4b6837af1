#!/usr/bin/env bash
# Build a uClibc-ng sysroot and a compiler wrapper for one architecture, with
# Debian's cross gcc, from Debian's uclibc-source tarball.
#
#   toolchain/build-uclibc.sh ARCH TRIPLET OUTDIR
#
#   ARCH     arm | mipsel | mips   (picks toolchain/uclibc/ARCH.config)
#   TRIPLET  Debian's cross compiler prefix, e.g. mips-linux-gnu
#   OUTDIR   e.g. build/toolchain/mips-uclibc; gets
#              sysroot/            uClibc-ng headers, libs, crt files, kernel headers
#              uclibc.specs        gcc specs file: use only the sysroot
#              bin/TRIPLET-uclibc-gcc   wrapper: TRIPLET-gcc -specs uclibc.specs
#              uclibc.config       the full uClibc-ng .config that was used
#
# Environment: JOBS (default 2), TC_CFLAGS (architecture flags, e.g.
# -march=24kc), UCLIBC_TARBALL (default: newest /usr/src/uClibc-ng-*.tar.xz).
#
# The configuration is toolchain/uclibc/common.config plus the architecture
# fragment, expanded by uClibc-ng's own kconfig (`conf -D`): every option the
# fragments do not name takes uClibc-ng's default. Kernel headers are Debian's
# linux-libc-dev-<arch>-cross (/usr/TRIPLET/include/{linux,asm,...}), copied into
# the sysroot so no glibc header is ever visible to code built with the wrapper.
set -eu

if [ $# -ne 3 ]; then
	echo "usage: $0 ARCH TRIPLET OUTDIR" >&2
	exit 2
fi
arch=$1 triplet=$2 out=$3
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=${JOBS:-2}
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
tarball=${UCLIBC_TARBALL:-$(ls /usr/src/uClibc-ng-*.tar.xz 2>/dev/null | sort -V | tail -1)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
log=$out/build-uclibc.log
: >"$log"

say() { printf '  %-7s %s\n' "$1" "$2"; }
die() {
	echo "build-uclibc: $*" >&2
	echo "build-uclibc: last lines of $log:" >&2
	tail -25 "$log" >&2
	exit 1
}

[ -n "$tarball" ] && [ -f "$tarball" ] ||
	die "no /usr/src/uClibc-ng-*.tar.xz: install Debian's uclibc-source (scripts/bootstrap.sh)"
command -v "$triplet-gcc" >/dev/null || die "$triplet-gcc not found (scripts/bootstrap.sh cross)"
[ -f "$top/toolchain/uclibc/$arch.config" ] || die "no toolchain/uclibc/$arch.config"
khdr=/usr/$triplet/include
[ -d "$khdr/linux" ] && [ -d "$khdr/asm" ] || die "no kernel headers in $khdr (linux-libc-dev-*-cross)"

sysroot=$out/sysroot
b=$out/build
rm -rf "$b" "$sysroot" && mkdir -p "$b" "$sysroot/usr/include"

# Kernel headers: only the kernel's own folders, never glibc's.
for d in linux asm asm-generic mtd drm misc rdma sound video xen; do
	[ -d "$khdr/$d" ] && cp -R "$khdr/$d" "$sysroot/usr/include/"
done

say UCLIBC "$(basename "$tarball" .tar.xz) for $arch ($triplet)"
tar -C "$b" -xf "$tarball"
src=$(find "$b" -maxdepth 1 -type d -name 'uClibc-ng-*' | head -1)
[ -n "$src" ] || die "tarball $tarball has no uClibc-ng-* folder"

# The fragments, then the settings that depend on this machine.
{
	cat "$top/toolchain/uclibc/common.config" "$top/toolchain/uclibc/$arch.config"
	echo "CROSS_COMPILER_PREFIX=\"$triplet-\""
	echo "KERNEL_HEADERS=\"$sysroot/usr/include\""
	echo "RUNTIME_PREFIX=\"/\""
	echo "DEVEL_PREFIX=\"/usr/\""
	echo "UCLIBC_EXTRA_CFLAGS=\"${TC_CFLAGS:-}\""
} | grep -v '^[[:space:]]*$' >"$b/fragment.config"
# uClibc-ng's kconfig expands it: `make zegel_defconfig` runs conf -D on
# extra/Configs/defconfigs/<uclibc arch>/zegel_defconfig.
case "$arch" in
arm) uarch=arm ;;
mips | mipsel) uarch=mips ;;
*) die "no uClibc-ng architecture for '$arch'" ;;
esac
cp "$b/fragment.config" "$src/extra/Configs/defconfigs/$uarch/zegel_defconfig"
make -C "$src" ARCH="$uarch" HOSTCC=gcc zegel_defconfig >>"$log" 2>&1 ||
	die "uClibc-ng configuration failed"
# Every option the fragments set must have survived kconfig's dependency rules.
while IFS= read -r line; do
	case "$line" in
	'#'*|'') continue ;;
	esac
	grep -qxF "$line" "$src/.config" ||
		die "uClibc-ng config: '$line' from the fragments was not accepted (check dependencies)"
done <"$b/fragment.config"
grep -E '^# [A-Z0-9_]+ is not set' "$b/fragment.config" | while IFS= read -r line; do
	opt=${line#\# }
	opt=${opt%% *}
	if grep -q "^$opt=" "$src/.config"; then
		echo "build-uclibc: $opt should be off but is on" >&2
		exit 1
	fi
done || die "uClibc-ng config: an option meant to be off is on"
cp "$src/.config" "$out/uclibc.config"

make -C "$src" -j"$jobs" ARCH="$uarch" HOSTCC=gcc V=1 >>"$log" 2>&1 ||
	die "uClibc-ng build failed"
make -C "$src" ARCH="$uarch" HOSTCC=gcc PREFIX="$sysroot" install >>"$log" 2>&1 ||
	die "uClibc-ng install failed"

# libc.so is a linker script with absolute paths (/lib/libc.so.1): make them
# point into the sysroot, for the dynamic links autoconf's tests do.
sed -i -e "s| /lib/| $sysroot/lib/|g" -e "s| /usr/lib/| $sysroot/usr/lib/|g" "$sysroot/usr/lib/libc.so"

# The wrapper: Debian's cross gcc with a specs file that replaces its glibc
# sysroot with ours (headers, crt files, library search path).
cat >"$out/uclibc.specs" <<EOF
%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem $sysroot/usr/include -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $sysroot/usr/include -isystem include%s

*link_libgcc:
-L$sysroot/usr/lib -L$sysroot/lib -L .%s

*libgcc:
libgcc.a%s %:if-exists(libgcc_eh.a%s)

*startfile:
%{shared:;static:$sysroot/usr/lib/crt1.o;!no-pie:$sysroot/usr/lib/Scrt1.o;:$sysroot/usr/lib/crt1.o} $sysroot/usr/lib/crti.o %{static:crtbeginT.o%s;shared|!no-pie:crtbeginS.o%s;:crtbegin.o%s}

*endfile:
%{static:crtend.o%s;shared|!no-pie:crtendS.o%s;:crtend.o%s} $sysroot/usr/lib/crtn.o

%rename link old_link

*link:
%(old_link) -nostdlib -dynamic-linker /lib/ld-uClibc.so.1

EOF
mkdir -p "$out/bin"
cat >"$out/bin/$triplet-uclibc-gcc" <<EOF
#!/bin/sh
# $triplet-gcc against the uClibc-ng sysroot in $sysroot
exec $triplet-gcc "\$@" -specs "$out/uclibc.specs"
EOF
chmod +x "$out/bin/$triplet-uclibc-gcc"

# A smoke test: a static program must link against uClibc-ng only.
printf '#include <stdio.h>\nint main(void) { puts("uclibc ok"); return 0; }\n' >"$b/hello.c"
"$out/bin/$triplet-uclibc-gcc" ${TC_CFLAGS:-} -static -Os -o "$b/hello" "$b/hello.c" >>"$log" 2>&1 ||
	die "the wrapper cannot link a static program"
if "$triplet-nm" "$b/hello" | grep -q GLIBC; then
	die "the static test program contains glibc symbols"
fi
rm -rf "$src"
say DONE "$sysroot"
