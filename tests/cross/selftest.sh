#!/usr/bin/env bash
# The cross binary under qemu-user: `zegel version` and `zegel selftest`
# (crypto known-answer tests), so endianness and ABI bugs show up per board.
. "$TOP/tests/lib.sh"
: "${XZEGEL:?}" "${QEMU_USER:?}" "${BOARD:?}"
if ! command -v "$QEMU_USER" >/dev/null; then
	skip "selftest on $BOARD" "$QEMU_USER is not installed"
	finish
	exit
fi
out=$(timeout 60 "$QEMU_USER" "$XZEGEL" version 2>&1)
check "$BOARD: zegel version runs" test $? -eq 0
check "$BOARD: version names the board" grep -q "^board: $BOARD " <<<"$out"
rc=0
out=$(timeout 300 "$QEMU_USER" "$XZEGEL" selftest -v 2>&1) || rc=$?
printf '%s\n' "$out" | sed 's/^/# /'
check "$BOARD: selftest exits 0" test "$rc" -eq 0
check "$BOARD: selftest reports no failure" grep -q '^selftest: [1-9][0-9]* passed, 0 failed$' <<<"$out"
check "$BOARD: selftest ran every group" bash -c 'for g in "sha1 abc" "sha256 million" "sha384 896" "sha512 896" "rsa2048 pkcs1 sha256 sign" "ecdsa p-256" "ecdsa p-384" "ed25519 rfc8032 test 3 sign"; do grep -q "^ok   $g" <<<"$1" || { echo "missing: $g"; exit 1; }; done' _ "$out"
finish
