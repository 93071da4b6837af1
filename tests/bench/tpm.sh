#!/usr/bin/env bash
# RSA-2048 signatures per second: software (mbedTLS) vs a key held in the
# TPM (swtpm on loopback, its raw TCP channel), same run, same harness
# (tests/bench/tpm_sign.c through hal/crypto, wall-clock time). Not part of
# `make test` (about 20 s). Writes tests/bench/results-tpm.txt.
#   tests/bench/tpm.sh [SECONDS_PER_ROUND]   (default 3; three rounds each, interleaved)
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP" || exit 2
SECS=${1:-3}
PORT=41710
T=$(mktemp -d "${TMPDIR:-/tmp}/zegel-bench-tpm.XXXXXX")
cleanup() { [ -s "$T/tpm/pid" ] && kill "$(cat "$T/tpm/pid")" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
make -s BOARD=host -j2 >/dev/null || exit 2
ZEGEL=$TOP/build/host/zegel
inc=(-Ibuild/host/include -Ifirmware/include -Ihal/include -Isigner/include -I.
	-D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L)
cc -std=c11 -O2 "${inc[@]}" -o "$T/tpm_sign" tests/bench/tpm_sign.c build/host/libzegel.a \
	-lmbedtls -lmbedx509 -lmbedcrypto -lsodium || exit 2
mkdir -p "$T/tpm"
swtpm socket --tpm2 --tpmstate dir="$T/tpm" --server type=tcp,port=$PORT,bindaddr=127.0.0.1 \
	--ctrl type=tcp,port=$((PORT + 1)),bindaddr=127.0.0.1 --flags startup-clear,not-need-init \
	--pid file="$T/tpm/pid" --daemon || exit 2
export ZEGEL_TPM=tcp:127.0.0.1:$PORT
"$ZEGEL" keygen -t rsa -b 2048 -d example.com -s soft -o "$T" >/dev/null || exit 2
"$ZEGEL" keygen -t rsa --tpm -d example.com -s tpm -o "$T" >/dev/null || exit 2
rate() { "$T/tpm_sign" "$1" "$SECS" | sed -n 's/.*signs_per_s=//p'; }
s=() t=()
for _ in 1 2 3; do
	s+=("$(rate "$T/soft.key")")
	t+=("$(rate "$T/tpm.tpmkey")")
done
med() { printf '%s\n' "$@" | sort -g | sed -n 2p; }
ms=$(med "${s[@]}") mt=$(med "${t[@]}")
{
	echo "# tests/bench/tpm.sh — RSA-2048 signatures per second, software vs TPM (issue 15.3)"
	echo "#"
	echo "# One process, key loaded once, SHA-256 digests signed for ${SECS} s of wall time per"
	echo "# round, three rounds each interleaved; the median. The TPM is swtpm $(swtpm --version 2>/dev/null | sed -n '1s/.*version \([0-9.]*\).*/\1/p')"
	echo "# (libtpms: software, OpenSSL inside) on loopback, so this measures zegel's TPM path"
	echo "# (marshalling, transport, the key holder's round trip excluded), not a chip: a discrete"
	echo "# TPM 2.0 typically needs tens to hundreds of milliseconds per RSA-2048 signature."
	echo
	echo "zegel $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d), $(uname -sr), $(nproc) CPUs: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
	echo
	printf '%-28s %10s   rounds\n' backend signs/s
	printf '%-28s %10s   %s\n' "soft (mbedTLS)" "$ms" "${s[*]}"
	printf '%-28s %10s   %s\n' "tpm2 (swtpm over TCP)" "$mt" "${t[*]}"
	echo
	echo "ratio tpm2/soft: $(awk -v a="$mt" -v b="$ms" 'BEGIN { printf "%.2f", a / b }')"
} | tee tests/bench/results-tpm.txt
