#!/usr/bin/env bash
# Build lwIP (Debian's source package lwip 2.1.3) as a static library with
# zegel's hal/lwip/lwipopts.h, for one board build.
#
#   toolchain/build-lwip.sh CC AR PREFIX CONFIG_INCLUDE_DIR [CFLAGS...]
#
#   CC, AR   the board's compiler and archiver
#   PREFIX   where lib/liblwip.a and include/ go (created)
#   CONFIG_INCLUDE_DIR  the board build's include dir (generated/autoconf.h):
#            lwipopts.h sizes lwIP's pools from the board's CONFIG_MAX_SESSIONS
#            through hal/include/hal/pools.h, so the library belongs to one
#            configuration (the make fragment hashes the .config into its stamp)
#   CFLAGS   the board's architecture flags
#
# What is built: lwIP's core (IPv4, IPv6, TCP, UDP, DHCP), the sequential and
# socket API (api/, minus netdb.c: lwIP's DNS is off), ethernet, and from
# Debian's port/ (the unix port) sys_arch.c (pthreads) and netif/tapif.c.
# Source: `apt-get source lwip`, unpacked once into build/toolchain/src/.
# No unwind tables (x86-64 makes them by default: 17 KiB of .eh_frame for
# lwIP, which nothing unwinds through; -g0 keeps no debug info either).
# Nothing of lwIP is copied into zegel's tree.
set -eu
if [ $# -lt 4 ]; then
	echo "usage: $0 CC AR PREFIX CONFIG_INCLUDE_DIR [CFLAGS...]" >&2
	exit 2
fi
cc=$1 ar=$2 prefix=$3 cfgdir=$4
shift 4
top=$(cd "$(dirname "$0")/.." && pwd)
src=$top/build/toolchain/src
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
mkdir -p "$prefix" "$src"
prefix=$(cd "$prefix" && pwd)
cfgdir=$(cd "$cfgdir" && pwd)
log=$prefix/build-lwip.log
: >"$log"
die() {
	echo "build-lwip: $*" >&2
	tail -25 "$log" >&2
	exit 1
}

d=$(find "$src" -maxdepth 1 -type d -name "lwip-[0-9]*" | sort | tail -1)
if [ -z "$d" ]; then
	printf '  %-7s %s\n' SOURCE "lwip (apt-get source)"
	(
		cd "$src"
		flock 9
		if [ -z "$(find . -maxdepth 1 -type d -name 'lwip-[0-9]*')" ]; then
			apt-get source -qq lwip >>"$log" 2>&1 || exit 1
		fi
	) 9>"$src/.lock" || die "apt-get source lwip failed (deb-src configured? run scripts/bootstrap.sh)"
	d=$(find "$src" -maxdepth 1 -type d -name "lwip-[0-9]*" | sort | tail -1)
fi
[ -n "$d" ] && [ -f "$d/src/core/tcp.c" ] && [ -f "$d/port/sys_arch.c" ] ||
	die "no lwIP source (with Debian's port/) in $src"
printf '  %-7s %s\n' LWIP "$(basename "$d") -> $prefix"

files=$(
	ls "$d"/src/core/*.c "$d"/src/core/ipv4/*.c "$d"/src/core/ipv6/*.c "$d"/src/api/*.c |
		grep -v '/api/netdb\.c$'
	echo "$d/src/netif/ethernet.c" "$d/port/sys_arch.c" "$d/port/netif/tapif.c"
)
b=$prefix/build
rm -rf "$b" && mkdir -p "$b"
inc="-I$top/hal/lwip -I$d/src/include -I$d/port/include -I$cfgdir -I$top/firmware/include -I$top/hal/include -I$top"
objs=
for f in $files; do
	o=$b/$(echo "${f#"$d"/}" | tr / _).o
	objs="$objs $o"
	echo "$cc -Os -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables $* $inc -c $f" >>"$log"
	# shellcheck disable=SC2086
	"$cc" -Os -g0 -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables \
		-fno-unwind-tables -D_GNU_SOURCE "$@" $inc \
		-c -o "$o" "$f" >>"$log" 2>&1 || die "compiling $f failed"
done
# One configuration for all of lwIP: a system header that defines a macro
# of the same name as an lwIP option after lwipopts.h (glibc's TCP_MSS in
# <netinet/tcp.h>, through Debian's posix/inet.h) silently gives the files
# that include it other pool sizes than the rest (issue 14's SIGBUS). Every
# option of opt.h and lwipopts.h must expand alike in every file, except the
# few that lwIP's own .c files define for themselves.
optnames() { sed -n 's/^[[:space:]]*#[[:space:]]*define[[:space:]]\{1,\}\([A-Z][A-Z0-9_]*\).*/\1/p' "$@" | sort -u; }
optnames "$d/src/include/lwip/opt.h" "$top/hal/lwip/lwipopts.h" >"$b/opt.names"
# shellcheck disable=SC2086
optnames $files >"$b/own.names"
comm -23 "$b/opt.names" "$b/own.names" >"$b/check.names"
for f in $files; do
	# shellcheck disable=SC2086
	"$cc" -E -dM -D_GNU_SOURCE "$@" $inc "$f" 2>>"$log" |
		awk -v f="${f#"$d"/}" 'NR == FNR { n[$1] = 1; next }
			$1 == "#define" && ($2 in n) { v = $0; sub(/^#define [^ ]+ /, "", v); print $2 "\t" v "\t" f }' \
			"$b/check.names" - || die "preprocessing $f failed"
done >"$b/opts.txt"
clash=$(awk -F'\t' '!(($1, $2) in seen) { seen[$1, $2] = 1; if (n[$1]++) bad[$1] = 1 }
	END { for (m in bad) print m }' "$b/opts.txt" | sort)
if [ -n "$clash" ]; then
	for m in $clash; do
		echo "build-lwip: lwIP option $m differs between files:" >&2
		awk -F'\t' -v m="$m" '$1 == m { c[$2]++; if (!($2 in f)) f[$2] = $3 }
			END { for (v in c) printf "  %s   in %d files (%s ...)\n", v, c[v], f[v] }' \
			"$b/opts.txt" >&2
	done
	exit 1
fi
mkdir -p "$prefix/lib"
rm -f "$prefix/lib/liblwip.a"
# shellcheck disable=SC2086
"$ar" rcs "$prefix/lib/liblwip.a" $objs || die "ar failed"
rm -rf "$prefix/include" && mkdir -p "$prefix/include"
cp -R "$d/src/include/lwip" "$d/src/include/netif" "$d/src/include/compat" "$prefix/include/"
cp -R "$d/port/include/arch" "$d/port/include/posix" "$prefix/include/"
mkdir -p "$prefix/include/netif"
cp "$d/port/include/netif/tapif.h" "$prefix/include/netif/"
rm -rf "$b"
printf '  %-7s %s\n' DONE "$prefix/lib/liblwip.a"
