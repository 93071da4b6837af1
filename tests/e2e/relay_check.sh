#!/usr/bin/env bash
# `zegel relay-check` (the probe behind the console's `test relay`) against
# Python's TLS stack (OpenSSL) in tests/e2e/relay/fakesmtp.py: STARTTLS and
# implicit TLS verified and described; wrong name, untrusted CA, expired
# certificate, no STARTTLS and a broken handshake refused with words; and
# never a MAIL on the wire. Ports 24160-24179.
. "$TOP/tests/lib.sh"

d=$(tmpdir)
FAKE_PID=
fake_stop() { [ -n "$FAKE_PID" ] && { kill "$FAKE_PID" 2>/dev/null; wait "$FAKE_PID" 2>/dev/null; FAKE_PID=; }; }
trap 'fake_stop; rm -rf "$d"' EXIT
"$TOP/tests/e2e/relay/mkcerts.sh" "$d/pki" || { not_ok "test PKI"; finish; exit 1; }

# probe NAME MODE CERT PORT WANT_RC REGEX [extra relay-check args]
probe() {
	local name=$1 mode=$2 cert=$3 port=$4 want=$5 re=$6 out rc
	shift 6
	rm -f "$d/ready"
	$PY "$TOP/tests/e2e/relay/fakesmtp.py" --port "$port" --mode "$mode" \
		--cert "$d/pki/$cert.crt" --key "$d/pki/$cert.key" --log "$d/log.$name" --ready "$d/ready" &
	FAKE_PID=$!
	for _ in $(seq 1 50); do [ -f "$d/ready" ] && break; sleep 0.1; done
	out=$(timeout 30 "$ZEGEL" relay-check --ca "$d/pki/ca.crt" --timeout 10 "$@" 2>&1)
	rc=$?
	fake_stop
	if [ "$rc" -eq "$want" ] && printf '%s\n' "$out" | grep -qE "$re"; then
		ok "$name: exit $rc, $(printf '%s\n' "$out" | grep -E "$re" | head -1 | cut -c1-120)"
	else
		not_ok "$name: want exit $want and /$re/" "rc=$rc
$out"
	fi
	if grep -qE 'MAIL FROM|RCPT TO' "$d/log.$name"; then
		not_ok "$name: sends no mail" "$(grep -E 'MAIL|RCPT' "$d/log.$name")"
	else
		ok "$name: sends no mail"
	fi
}

probe starttls ok good 24161 0 'TLS: TLSv1\.2, TLS-ECDHE-ECDSA-WITH-(AES-256-GCM-SHA384|CHACHA20-POLY1305-SHA256|AES-128-GCM-SHA256), verified=pkix' 127.0.0.1:24161
probe by-name ok good 24162 0 'certificate subject: CN=localhost' localhost:24162
probe implicit implicit good 24163 0 'relay: OK: 250 2\.0\.0' --implicit 127.0.0.1:24163
probe shows-issuer ok good 24164 0 'certificate issuer: +CN=zegel test CA' 127.0.0.1:24164
probe wrong-name ok wrongname 24165 1 'FAILED: 451 4\.7\.5 .*certificate name mismatch: wanted 127\.0\.0\.1' 127.0.0.1:24165
probe untrusted ok untrusted 24166 1 'FAILED: 451 4\.7\.5 .*certificate not trusted \(issuer CN=rogue CA\)' 127.0.0.1:24166
probe expired ok expired 24167 1 'FAILED: 451 4\.7\.5 .*certificate expired \(valid until 2020-01-01' 127.0.0.1:24167
probe no-starttls nostarttls good 24168 1 'FAILED: 451 4\.7\.4 .*does not offer STARTTLS' 127.0.0.1:24168
probe bad-handshake badtls good 24169 1 'FAILED: 451 4\.7\.5 .*TLS with .* failed' 127.0.0.1:24169
out=$(timeout 30 "$ZEGEL" relay-check --ca "$d/pki/ca.crt" --timeout 5 127.0.0.1:24170 2>&1)
rc=$?
if [ "$rc" -eq 1 ] && printf '%s\n' "$out" | grep -q 'FAILED: 451 4\.4\.1 .*unreachable'; then
	ok "down: 451 4.4.1 unreachable"
else
	not_ok "down: 451 4.4.1 unreachable" "$out"
fi
out=$(timeout 30 "$ZEGEL" relay-check --ca /nonexistent/ca.pem 127.0.0.1:24170 2>&1)
if [ $? -eq 1 ] && printf '%s\n' "$out" | grep -q 'cannot load CA certificates from /nonexistent/ca.pem'; then
	ok "missing CA file: a clear error"
else
	not_ok "missing CA file: a clear error" "$out"
fi
finish
