#!/usr/bin/env bash
# Build zegel's third-party libraries (mbedTLS, libsodium) as static libraries
# from Debian's source packages, for one (architecture, C library) pair.
#
#   toolchain/build-deps.sh ARCH LIBC CC PREFIX
#
#   ARCH    arm | mipsel | mips            (names only used for messages and dirs)
#   LIBC    glibc | uclibc | musl
#   CC      the cross compiler (driver or wrapper), e.g. mips-linux-gnu-gcc
#   PREFIX  where lib/*.a and include/ go (created), e.g. build/toolchain/mips-glibc
#
# Environment (optional):
#   TC_AR       archiver (default: binutils' <triplet>-ar guessed from TC_HOST)
#   TC_HOST     GNU triplet for libsodium's configure --host (default: from `CC -dumpmachine`)
#   TC_CFLAGS   extra compiler flags (architecture flags: -march=...)
#   TC_SIZE_CFLAGS    flags for libsodium only, where size matters more than
#               speed (-mips16 -minterlink-mips16)
#   TC_SPEED_CFLAGS   flags for mbedTLS only (-minterlink-mips16: MIPS32 code
#               that may call MIPS16 functions). mbedTLS compiled as MIPS16
#               crashed in X.509 verification under qemu-mipsel, so it stays MIPS32.
#   JOBS        parallel jobs (default 2; the build machine is shared)
#
# Sources come from `apt-get source` (Debian's archive only; deb-src must be
# configured, scripts/bootstrap.sh does that) and are cached, unpacked with
# Debian's patches applied, in build/toolchain/src/. Each library is built in
# its own copy under PREFIX/build/ so several architectures can build at once.
#
# Configuration: mbedTLS with its upstream default config.h (no threading, so
# no libpthread is pulled in) minus what toolchain/mbedtls/zegel.unset lists;
# libsodium with --enable-minimal (keeps
# crypto_sign_* Ed25519, sodium_init, sodium_memzero: all zegel uses),
# --without-pthreads (zegel is single-threaded; sodium_init then uses an atomic
# flag), --disable-ssp and no _FORTIFY_SOURCE, so the objects link against
# uClibc-ng and musl as well as glibc.
set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 ARCH LIBC CC PREFIX" >&2
	exit 2
fi
arch=$1 libc=$2 cc=$3 prefix=$4
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/build/toolchain/src
jobs=${JOBS:-2}
# Not the calling make's flags (--no-builtin-rules, its jobserver): our own -j$jobs.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
host=${TC_HOST:-$($cc -dumpmachine)}
ar=${TC_AR:-$host-ar}
cflags="-Os -ffunction-sections -fdata-sections ${TC_CFLAGS:-}"
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
log=$prefix/build-deps.log
: >"$log"

say() { printf '  %-7s %s\n' "$1" "$2"; }
die() {
	echo "build-deps: $*" >&2
	echo "build-deps: last lines of $log:" >&2
	tail -25 "$log" >&2
	exit 1
}

# fetch PKG: unpack Debian's source package PKG into $src (once); print its dir.
fetch() {
	local pkg=$1 d
	mkdir -p "$src"
	d=$(find "$src" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -1)
	if [ -z "$d" ]; then
		say SOURCE "$pkg (apt-get source)" >&2
		# A lock serialises parallel builds of several architectures.
		(
			cd "$src"
			flock 9
			d=$(find . -maxdepth 1 -type d -name "$pkg-[0-9]*" | head -1)
			if [ -z "$d" ]; then
				apt-get source -qq "$pkg" >>"$log" 2>&1 || exit 1
				d=$(find . -maxdepth 1 -type d -name "$pkg-[0-9]*" | head -1)
				# Debian's libsodium source has no generated configure.
				if [ -f "$d/configure.ac" ] && [ ! -x "$d/configure" ]; then
					(cd "$d" && autoreconf -fi) >>"$log" 2>&1 || exit 1
				fi
			fi
		) 9>"$src/.lock" || die "apt-get source $pkg failed (deb-src configured? autotools installed? run scripts/bootstrap.sh)"
		d=$(find "$src" -maxdepth 1 -type d -name "$pkg-[0-9]*" | sort | tail -1)
	fi
	[ -n "$d" ] || die "no source for $pkg in $src"
	echo "$d"
}

command -v "$cc" >/dev/null || die "compiler $cc not found"
command -v "$ar" >/dev/null || die "archiver $ar not found"

# ---------------------------------------------------------------- mbedTLS
mbed_src=$(fetch mbedtls)
say MBEDTLS "$(basename "$mbed_src") for $arch-$libc"
b=$prefix/build/mbedtls
rm -rf "$b" && mkdir -p "$b"
cp -a "$mbed_src/include" "$mbed_src/library" "$mbed_src/3rdparty" "$mbed_src/scripts" "$b/"
# Our configuration: upstream's default config.h minus toolchain/mbedtls/zegel.unset.
grep -Eo '^MBEDTLS_[A-Z0-9_]+' "$top/toolchain/mbedtls/zegel.unset" | while read -r opt; do
	python3 "$b/scripts/config.py" -f "$b/include/mbedtls/config.h" unset "$opt" || exit 1
done || die "mbedTLS configuration failed (toolchain/mbedtls/zegel.unset)"
make -C "$b/library" -j"$jobs" CC="$cc" AR="$ar" CFLAGS="$cflags ${TC_SPEED_CFLAGS:-}" \
	libmbedcrypto.a libmbedx509.a libmbedtls.a >>"$log" 2>&1 || die "mbedTLS build failed"
mkdir -p "$prefix/lib" "$prefix/include"
cp "$b"/library/libmbedcrypto.a "$b"/library/libmbedx509.a "$b"/library/libmbedtls.a "$prefix/lib/"
rm -rf "$prefix/include/mbedtls" "$prefix/include/psa"
# A fresh mtime, so objects that include these headers are rebuilt (.d files).
cp -R "$b/include/mbedtls" "$b/include/psa" "$prefix/include/"

# ---------------------------------------------------------------- libsodium
sod_src=$(fetch libsodium)
say SODIUM "$(basename "$sod_src") for $arch-$libc"
b=$prefix/build/libsodium
rm -rf "$b" && mkdir -p "$b"
(
	cd "$b"
	"$sod_src/configure" --host="$host" --prefix="$prefix" \
		--disable-shared --enable-static --enable-minimal \
		--without-pthreads --disable-ssp --disable-dependency-tracking \
		CC="$cc" AR="$ar" RANLIB="${ar%ar}ranlib" CFLAGS="$cflags ${TC_SIZE_CFLAGS:-}" \
		CPPFLAGS="-D_FORTIFY_SOURCE=0" >>"$log" 2>&1 || exit 1
	make -j"$jobs" >>"$log" 2>&1 || exit 1
	make install >>"$log" 2>&1 || exit 1
) || die "libsodium build failed"
rm -rf "$prefix/lib/pkgconfig" "$prefix/lib/libsodium.la"
rm -rf "$prefix/build"
say DONE "$prefix"
