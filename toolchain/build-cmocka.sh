#!/usr/bin/env bash
# Build cmocka (Debian's source package cmocka) as a static library for a
# cross board's unit tests (make BOARD=<b> LIBC=glibc unit-build).
#
#   toolchain/build-cmocka.sh CC AR PREFIX [CFLAGS...]
#
#   CC, AR   the board's cross compiler and archiver
#   PREFIX   where lib/libcmocka.a and include/cmocka.h go (created)
#   CFLAGS   the board's architecture flags (-march=...)
#
# Why from source: Debian's libcmocka-dev ships only the shared library, and
# the cross boards link statically (CONFIG_STATIC_LINK); a static test binary
# runs under qemu-user exactly as the firmware does, without the target's
# dynamic loader and libraries (QEMU_LD_PREFIX) on the build machine.
# Source: `apt-get source cmocka`, unpacked once into build/toolchain/src/;
# configured by its own CMake (cmake is in scripts/bootstrap.sh's cross group)
# for the cross compiler. Nothing of cmocka is copied into zegel's tree.
set -eu
if [ $# -lt 3 ]; then
	echo "usage: $0 CC AR PREFIX [CFLAGS...]" >&2
	exit 2
fi
cc=$1 ar=$2 prefix=$3
shift 3
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/build/toolchain/src
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
mkdir -p "$prefix" "$src"
prefix=$(cd "$prefix" && pwd)
log=$prefix/build-cmocka.log
: >"$log"
die() {
	echo "build-cmocka: $*" >&2
	tail -25 "$log" >&2
	exit 1
}
command -v "$cc" >/dev/null || die "compiler $cc not found"
command -v cmake >/dev/null || die "cmake not found (run scripts/bootstrap.sh cross)"

d=$(find "$src" -maxdepth 1 -type d -name "cmocka-[0-9]*" | sort | tail -1)
if [ -z "$d" ]; then
	printf '  %-7s %s\n' SOURCE "cmocka (apt-get source)"
	(
		cd "$src"
		flock 9
		if [ -z "$(find . -maxdepth 1 -type d -name 'cmocka-[0-9]*')" ]; then
			apt-get source -qq cmocka >>"$log" 2>&1 || exit 1
		fi
	) 9>"$src/.lock" || die "apt-get source cmocka failed (deb-src configured? run scripts/bootstrap.sh)"
	d=$(find "$src" -maxdepth 1 -type d -name "cmocka-[0-9]*" | sort | tail -1)
fi
[ -n "$d" ] && [ -f "$d/src/cmocka.c" ] && [ -f "$d/include/cmocka.h" ] ||
	die "no cmocka source in $src"
printf '  %-7s %s\n' CMOCKA "$(basename "$d") -> $prefix"

b=$prefix/build
rm -rf "$b" && mkdir -p "$b"
# CMAKE_SYSTEM_NAME makes it a cross build (no host checks); the configure
# checks (config.h: headers, siglongjmp, clock_gettime, TLS) run against the
# cross compiler. Only the static library is built.
(
	cd "$b"
	cmake "$d" -DCMAKE_SYSTEM_NAME=Linux -DCMAKE_C_COMPILER="$(command -v "$cc")" \
		-DCMAKE_AR="$(command -v "$ar")" -DCMAKE_BUILD_TYPE=Release \
		-DCMAKE_C_FLAGS="$* -ffunction-sections -fdata-sections" \
		-DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
		-DCMAKE_FIND_ROOT_PATH_MODE_LIBRARY=ONLY -DCMAKE_FIND_ROOT_PATH_MODE_INCLUDE=ONLY \
		>>"$log" 2>&1 || exit 1
	cmake --build . --target cmocka-static -- -j2 >>"$log" 2>&1 || exit 1
) || die "cmocka build failed (log: $log)"
lib=$(find "$b" -name 'libcmocka*.a' | head -1)
[ -n "$lib" ] || die "cmocka built no static library"
mkdir -p "$prefix/lib" "$prefix/include"
cp "$lib" "$prefix/lib/libcmocka.a"
cp "$d/include/cmocka.h" "$prefix/include/"
rm -rf "$b"
printf '  %-7s %s\n' DONE "$prefix/lib/libcmocka.a"
