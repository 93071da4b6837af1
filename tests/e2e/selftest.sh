#!/usr/bin/env bash
# zegel selftest natively on the host, and the embedded vectors against openssl.
. "$TOP/tests/lib.sh"
rc=0
out=$(timeout 60 "$ZEGEL" selftest 2>&1) || rc=$?
check "host selftest exits 0" test "$rc" -eq 0
check "host selftest: N passed, 0 failed" grep -q '^selftest: [1-9][0-9]* passed, 0 failed$' <<<"$out"
check "one line per test, no FAIL" bash -c '! grep -q "^FAIL" <<<"$1"' _ "$out"
check_not "selftest refuses unknown options" "$ZEGEL" selftest --bogus
v=$TOP/tests/vectors/selftest
check "rsa vector verifies with openssl" openssl dgst -sha256 -verify <(openssl pkey -in "$v/rsa2048.pem" -pubout) -signature "$v/rsa2048.sig" "$v/rsa.msg"
check "p-256 vector verifies with openssl" openssl dgst -sha256 -verify <(openssl pkey -in "$v/p256.pem" -pubout) -signature "$v/p256.sig" "$v/ec.msg"
check "p-384 vector verifies with openssl" openssl dgst -sha384 -verify <(openssl pkey -in "$v/p384.pem" -pubout) -signature "$v/p384.sig" "$v/ec.msg"
# The header embeds exactly the committed files (gen.sh --header-only reproduces it).
d=$(tmpdir)
trap 'rm -rf "$d"' EXIT
cp -r "$v" "$d/v" && mkdir -p "$d/firmware/app" "$d/tests/vectors" && mv "$d/v" "$d/tests/vectors/selftest"
if $PY -c 'import nacl' 2>/dev/null; then
	check "selftest_vectors.h is what gen.sh makes from the vector files" \
		bash -c 'cd "$1/tests/vectors/selftest" && ./gen.sh --header-only >/dev/null &&
			cmp "$1/firmware/app/selftest_vectors.h" "$2/firmware/app/selftest_vectors.h"' _ "$d" "$TOP"
else
	skip "selftest_vectors.h regeneration" "python3-nacl is not installed"
fi
finish
