#!/usr/bin/env bash
# RSA-2048 cost in mbedTLS (issue 22.4): what compile options buy. Compiles
# Debian's mbedTLS 2.28 source (the bignum/RSA part, with zegel's config:
# upstream default minus toolchain/mbedtls/zegel.unset) in several variants
# and times tests/bench/rsa_bench.c with each: natively on the host (x86-64,
# beside `openssl speed rsa2048`, what libopendkim signs with), and for ARM
# (armv7-a, Thumb-2) and mipsel (24kc) under qemu-user, where only ratios
# between variants mean anything. Not part of `make test` (about 3-5 min).
# Writes tests/bench/results-rsa.txt.
#   tests/bench/rsa.sh [SECONDS_PER_MEASURE]   (default 2, CPU time)
# MBEDTLS_SRC=dir uses an unpacked source; otherwise build/toolchain/src's,
# otherwise `apt-get source mbedtls` (as toolchain/build-deps.sh) into /tmp.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
SECS=${1:-2}
W=$(mktemp -d /tmp/zrsa-XXXXXX)
trap 'rm -rf "$W"' EXIT
die() { echo "rsa.sh: $*" >&2; exit 2; }

src=${MBEDTLS_SRC:-$(find "$TOP/build/toolchain/src" -maxdepth 1 -type d -name 'mbedtls-[0-9]*' 2>/dev/null | sort | tail -1)}
if [ -z "$src" ]; then
	(cd "$W" && apt-get source -qq mbedtls >/dev/null 2>&1) ||
		die "apt-get source mbedtls failed (deb-src configured? run scripts/bootstrap.sh)"
	src=$(find "$W" -maxdepth 1 -type d -name 'mbedtls-[0-9]*' | head -1)
fi
[ -f "$src/library/bignum.c" ] || die "no mbedTLS source at '$src'"

# What RSA signing links (ctr_drbg for the blinding RNG, md/sha for PKCS#1).
files="bignum rsa rsa_internal md sha1 sha256 sha512 ctr_drbg aes aesni padlock
	platform platform_util constant_time oid asn1parse asn1write"
# Variants: NAME OPT CONFIG-CHANGES. "Os" is what the firmware builds
# (toolchain/build-deps.sh: -Os, MBEDTLS_HAVE_ASM on, default window 2).
# AESNI/PADLOCK need HAVE_ASM (check_config.h); they only touch the DRBG's AES.
variants=(
	"Os         -Os -"
	"O2         -O2 -"
	"O3         -O3 -"
	"Os-noasm   -Os unset:MBEDTLS_HAVE_ASM,unset:MBEDTLS_AESNI_C,unset:MBEDTLS_PADLOCK_C"
	"Os-win6    -Os set:MBEDTLS_MPI_WINDOW_SIZE:6"
	"O2-win6    -O2 set:MBEDTLS_MPI_WINDOW_SIZE:6"
)
# Architectures: NAME CC FLAGS RUNNER (the firmware's TC_CFLAGS).
arches=(
	"x86-64  cc                    -           -"
	"arm     arm-linux-gnueabihf-gcc -march=armv7-a:-mfpu=vfpv3-d16:-mfloat-abi=hard qemu-arm"
	"mipsel  mipsel-linux-gnu-gcc  -march=24kc qemu-mipsel"
)

# One config directory per variant (config.py, as build-deps.sh does).
for v in "${variants[@]}"; do
	read -r name _ cfg <<<"$v"
	inc=$W/inc-$name
	cp -a "$src/include" "$inc"
	grep -Eo '^MBEDTLS_[A-Z0-9_]+' toolchain/mbedtls/zegel.unset | while read -r opt; do
		python3 "$src/scripts/config.py" -f "$inc/mbedtls/config.h" unset "$opt" || exit 1
	done || die "config.py failed"
	IFS=, read -ra changes <<<"$cfg"
	for c in "${changes[@]}"; do
		case $c in
		unset:*) python3 "$src/scripts/config.py" -f "$inc/mbedtls/config.h" unset "${c#unset:}" ;;
		set:*) c=${c#set:}; python3 "$src/scripts/config.py" -f "$inc/mbedtls/config.h" set "${c%%:*}" "${c#*:}" ;;
		esac || die "config.py $c failed"
	done
done

# Compile every (arch, variant, file), two at a time.
: >"$W/jobs"
for a in "${arches[@]}"; do
	read -r arch cc aflags _ <<<"$a"
	command -v "$cc" >/dev/null || die "$cc not found (scripts/bootstrap.sh)"
	[ "$aflags" = - ] && aflags= || aflags=${aflags//:/ }
	for v in "${variants[@]}"; do
		read -r name opt _ <<<"$v"
		o=$W/obj-$arch-$name
		mkdir -p "$o"
		for f in $files bench; do
			s=$src/library/$f.c
			[ "$f" = bench ] && s=$TOP/tests/bench/rsa_bench.c
			echo "$cc $opt -ffunction-sections -fdata-sections $aflags -I$W/inc-$name -c $s -o $o/$f.o"
		done
	done
done >"$W/jobs"
t0=$(date +%s)
nice xargs -P2 -d '\n' -n1 sh -c <"$W/jobs" 2>"$W/cc.log" || { tail -20 "$W/cc.log" >&2; die "compile failed"; }
for a in "${arches[@]}"; do
	read -r arch cc aflags _ <<<"$a"
	[ "$aflags" = - ] && aflags= || aflags=${aflags//:/ }
	static=; [ "$arch" = x86-64 ] || static=-static
	for v in "${variants[@]}"; do
		read -r name _ <<<"$v"
		# shellcheck disable=SC2086
		$cc $aflags $static -Wl,--gc-sections -o "$W/bench-$arch-$name" "$W/obj-$arch-$name"/*.o ||
			die "link $arch $name failed"
	done
done
tc=$(($(date +%s) - t0))

# One key for all (generated natively; emulated key generation is slow).
"$W/bench-x86-64-Os" gen "$W/key" || die "key generation failed"

# Measure: host first (with OpenSSL next to it), then the emulated ones.
t0=$(date +%s)
ossl=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print $6; exit }')
[ -n "$ossl" ] || die "openssl speed failed"
for a in "${arches[@]}"; do
	read -r arch _ _ runner <<<"$a"
	[ "$runner" = - ] && runner=
	for v in "${variants[@]}"; do
		read -r name _ <<<"$v"
		$runner "$W/bench-$arch-$name" run "$W/key" "$SECS" >"$W/out-$arch-$name" ||
			die "run $arch $name failed"
	done
done
ossl2=$(openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print $6; exit }')
tm=$(($(date +%s) - t0))

# Every variant on every architecture must produce the same signature.
sigs=$(cat "$W"/out-* | awk '$1 == "sig" { print $2 }' | sort -u)
[ "$(echo "$sigs" | wc -l)" = 1 ] || die "signatures differ between variants: $sigs"

get() { awk -v k="$2" '$1 == k { print $2 }' "$W/out-$1"; }
# code = text bytes of bignum.o + rsa.o + rsa_internal.o (what the options change).
codesize() {
	local sz=size
	[ "$1" = arm ] && sz=arm-linux-gnueabihf-size
	[ "$1" = mipsel ] && sz=mipsel-linux-gnu-size
	$sz "$W/obj-$1-$2"/bignum.o "$W/obj-$1-$2"/rsa.o "$W/obj-$1-$2"/rsa_internal.o |
		awk 'NR > 1 { t += $1 } END { print t }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ver=$(basename "$src")
{
	echo "# tests/bench/rsa.sh — RSA-2048 cost in mbedTLS by compile option (issue 22.4)"
	echo "#"
	echo "# $ver (Debian source), zegel's config (default minus toolchain/mbedtls/zegel.unset)."
	echo "# Ops/s in process CPU time (the divisor 'openssl speed' uses), ${SECS} s per measure,"
	echo "# one key, a SHA-256 digest. sign = mbedtls_rsa_pkcs1_sign with the CTR-DRBG (blinded"
	echo "# CRT + result checks, what zegel does); priv_blind / priv_plain = mbedtls_rsa_private"
	echo "# with / without an RNG (2.28 blinds iff an RNG is given); crt_raw = the two half-size"
	echo "# mbedtls_mpi_exp_mod alone. Variant Os = the firmware's build (-Os, HAVE_ASM, window 2).
# code = .text bytes of bignum.o + rsa.o + rsa_internal.o."
	echo "# Same signature (checksum $sigs) from every variant on every architecture."
	echo
	echo "zegel $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d), $(uname -sr), $(nproc) CPUs: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo "compilers: $(cc --version | head -1); $(arm-linux-gnueabihf-gcc --version | head -1); $(mipsel-linux-gnu-gcc --version | head -1)"
	echo "qemu: $(qemu-arm --version | head -1)"
	echo
	for a in "${arches[@]}"; do
		read -r arch _ <<<"$a"
		if [ "$arch" = x86-64 ]; then
			echo "## x86-64, native: ops/s (x = sign/s relative to the firmware's Os)"
		else
			echo "## $arch under qemu-user EMULATION: only the ratios to Os mean anything"
		fi
		printf '%-10s %9s %6s %11s %11s %9s %8s\n' variant sign/s x priv_blind priv_plain crt_raw code
		base=$(get "$arch-Os" sign)
		for v in "${variants[@]}"; do
			read -r name _ <<<"$v"
			s=$(get "$arch-$name" sign)
			printf '%-10s %9s %6s %11s %11s %9s %8s\n' "$name" "$s" "$(ratio "$s" "$base")" \
				"$(get "$arch-$name" priv_blind)" "$(get "$arch-$name" priv_plain)" \
				"$(get "$arch-$name" crt_raw)" "$(codesize "$arch" "$name")"
		done
		b=$(get "$arch-Os" priv_blind) p=$(get "$arch-Os" priv_plain)
		echo "blinding cost (Os): priv_plain/priv_blind = $(ratio "$p" "$b")"
		if [ "$arch" = x86-64 ]; then
			echo "OpenSSL $(openssl version | awk '{ print $2 }') speed rsa2048 sign/s: $ossl before, $ossl2 after"
			best=$(for v in "${variants[@]}"; do read -r n _ <<<"$v"; get "$arch-$n" sign; done | sort -g | tail -1)
			echo "mbedTLS/OpenSSL sign rate: Os $(ratio "$base" "$ossl"), best variant $(ratio "$best" "$ossl")"
		fi
		echo
	done
	echo "compile ${tc} s, measure ${tm} s"
} >"$W/table"
cat "$W/table"
# Keep the hand-written conclusions (from "## Conclusions" on) across runs.
sed -n '/^## Conclusions/,$p' tests/bench/results-rsa.txt 2>/dev/null >"$W/notes"
cat "$W/table" "$W/notes" >tests/bench/results-rsa.txt
