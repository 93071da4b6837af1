#!/usr/bin/env bash
# The relay's TLS client and SMTP client engine on a cross board under
# qemu-user: `zegel relay-check` (connect, STARTTLS, verify, EHLO, QUIT)
# against the fake upstream (Python/OpenSSL) on 127.0.0.1 must verify the
# good certificate (by name and by IP SAN) and refuse the wrong name, the
# untrusted CA and the expired certificate with the same words as on the
# host. Catches endianness and word-size slips in certificate checks.
# Env: XZEGEL (the cross binary), QEMU_USER, BOARD. Ports 24180-24199.
. "$TOP/tests/lib.sh"

T=$(tmpdir)
FAKE_PID=
fake_stop() { [ -n "$FAKE_PID" ] && { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=; }; }
trap 'fake_stop; rm -rf "$T"' EXIT
"$TOP/tests/e2e/relay/mkcerts.sh" "$T/pki" || { not_ok "test PKI"; finish; exit 1; }
case "$BOARD" in
qemu-arm-virt) base=24180 ;;
qemu-mips-malta) base=24186 ;;
*) base=24192 ;;
esac

probe() { # name cert host want_rc regex
	local name=$1 cert=$2 host=$3 want=$4 re=$5 port out rc
	port=$((base + ${6:-0}))
	rm -f "$T/ready"
	$PY "$TOP/tests/e2e/relay/fakesmtp.py" --port "$port" --mode ok --cert "$T/pki/$cert.crt" \
		--key "$T/pki/$cert.key" --log "$T/log" --ready "$T/ready" &
	FAKE_PID=$!
	for _ in $(seq 1 50); do [ -f "$T/ready" ] && break; sleep 0.1; done
	out=$(timeout 120 $QEMU_USER "$XZEGEL" relay-check --ca "$T/pki/ca.crt" --timeout 60 "$host:$port" 2>&1)
	rc=$?
	fake_stop
	if [ "$rc" -eq "$want" ] && printf '%s\n' "$out" | grep -qE "$re"; then
		ok "$BOARD: relay-check $name"
	else
		not_ok "$BOARD: relay-check $name" "rc=$rc
$out"
	fi
}
probe "verifies by IP SAN" good 127.0.0.1 0 'TLS: TLSv1\.2, TLS-ECDHE-ECDSA-WITH-[A-Z0-9-]+, verified=pkix' 0
probe "verifies by name" good localhost 0 'certificate subject: CN=localhost' 1
probe "refuses the wrong name" wrongname 127.0.0.1 1 'certificate name mismatch: wanted 127\.0\.0\.1' 2
probe "refuses an untrusted CA" untrusted 127.0.0.1 1 'certificate not trusted \(issuer CN=rogue CA\)' 3
probe "refuses an expired certificate" expired 127.0.0.1 1 'certificate expired \(valid until 2020-01-01' 4
finish
