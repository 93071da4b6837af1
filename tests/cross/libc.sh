#!/usr/bin/env bash
# The cross binary is what its configuration says: a static executable for the
# board's architecture, linked against the configured C library only (uClibc-ng,
# musl or glibc — told apart by symbols only that library defines), with no
# dynamic loader, and it runs under qemu-user and reports that libc.
# Env (tests/run.sh): XZEGEL (the cross binary), QEMU_USER, BOARD.
. "$TOP/tests/lib.sh"

: "${XZEGEL:?}" "${QEMU_USER:?}" "${BOARD:?}"
config=$(dirname "$XZEGEL")/.config
libc=$(sed -n 's/^CONFIG_LIBC_NAME="\(.*\)"$/\1/p' "$config" 2>/dev/null)
arch=$(sed -n 's/^CONFIG_ARCH_NAME="\(.*\)"$/\1/p' "$config" 2>/dev/null)
case "$QEMU_USER" in
qemu-arm) triplet=arm-linux-gnueabihf want_file='ELF 32-bit LSB .*ARM, EABI5' ;;
qemu-mipsel) triplet=mipsel-linux-gnu want_file='ELF 32-bit LSB .*MIPS, MIPS32' ;;
qemu-mips) triplet=mips-linux-gnu want_file='ELF 32-bit MSB .*MIPS, MIPS32' ;;
*) triplet= want_file= ;;
esac

if [ -z "$libc" ] || [ -z "$triplet" ]; then
	not_ok "board $BOARD has a configuration naming its libc and a known qemu-user" \
		"config=$config libc='$libc' QEMU_USER=$QEMU_USER"
	finish
	exit
fi

info=$(file -b "$XZEGEL")
check "$BOARD: $arch ELF executable ($want_file)" grep -Eq "$want_file" <<<"$info"
check "$BOARD: statically linked" grep -q 'statically linked' <<<"$info"
check_not "$BOARD: no program interpreter (PT_INTERP)" \
	bash -c "'$triplet-readelf' -lW '$XZEGEL' | grep -q INTERP"

syms=$(mktemp)
trap 'rm -f "$syms"' EXIT
"$triplet-nm" "$XZEGEL" 2>/dev/null | awk '{print $NF}' | sort -u >"$syms"
has() { grep -qx "$1" "$syms"; }
glibc_strings=$(strings -a "$XZEGEL" | grep -c 'GLIBC_' || true)

case "$libc" in
uclibc)
	check "$BOARD: uClibc-ng's start code is linked (__uClibc_main)" has __uClibc_main
	check_not "$BOARD: no glibc internals (__libc_setup_tls)" has __libc_setup_tls
	check_not "$BOARD: no musl internals (__init_libc)" has __init_libc
	check "$BOARD: no GLIBC_ version strings in the binary" test "$glibc_strings" -eq 0
	;;
musl)
	check "$BOARD: musl's start code is linked (__init_libc)" has __init_libc
	check_not "$BOARD: no uClibc-ng start code" has __uClibc_main
	check_not "$BOARD: no glibc internals (__libc_setup_tls)" has __libc_setup_tls
	check "$BOARD: no GLIBC_ version strings in the binary" test "$glibc_strings" -eq 0
	;;
glibc)
	check "$BOARD: glibc's static start code is linked (__libc_setup_tls)" has __libc_setup_tls
	check_not "$BOARD: no uClibc-ng start code" has __uClibc_main
	;;
*)
	skip "$BOARD: libc identity" "libc '$libc' (external toolchain) has no fixed marker"
	;;
esac
# No glibc fortify wrappers: they exist only in glibc (the sign of a library
# built against glibc headers linked into another libc's binary).
if [ "$libc" != glibc ]; then
	check_not "$BOARD: no glibc _FORTIFY_SOURCE symbols (__*_chk)" grep -Eq '^__[a-z_]+_chk$' "$syms"
fi

out=$(timeout 60 "$QEMU_USER" "$XZEGEL" version 2>&1)
check "$BOARD: runs under $QEMU_USER and reports ($arch, $libc)" \
	grep -qF "($arch, $libc)" <<<"$out"
finish
