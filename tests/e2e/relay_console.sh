#!/usr/bin/env bash
# `test relay` on the console of `zegel run` must not stop the appliance: the
# probe runs on the event loop while the smarthost keeps silent, an SMTP
# client still gets its greeting at once, the next console command answers,
# and the probe's verdict is printed when the upstream hangs up.
# Nor must `dane-check DOMAIN`: while its DNS lookups wait on a resolver that
# never answers, a client submits a message and gets its 250, and the
# check's verdict (deferred: MX lookup indeterminate) follows.
# Ports: zegel 44030-44033, the silent upstream 44045, the silent resolver 44046/udp.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
if timeout 5 "$ZEGEL" run --config /dev/null --no-console </dev/null 2>&1 | grep -q 'not implemented'; then
	skip "test relay on the console" "zegel run is not implemented in this build yet"
	finish
	exit 0
fi
d=$(tmpdir)
ZPID= SPID=
cleanup() {
	exec 3>&- 2>/dev/null
	[ -n "$ZPID" ] && kill "$ZPID" 2>/dev/null
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$d"
}
trap cleanup EXIT
smtpd_env_setup "$d" 44030
"$TOP/tests/e2e/relay/mkcerts.sh" "$d/pki" || { not_ok "test PKI"; finish; exit 1; }
cat >>"$d/zegel.conf" <<CONF
set relay smarthost 127.0.0.1:44045
set relay ca-file $d/pki/ca.crt
CONF
# An upstream that accepts and then says nothing (until it is killed).
$PY -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 44045)); s.listen(5)
open(sys.argv[1], "w").close()
c, _ = s.accept()
time.sleep(60)
' "$d/silent.ready" &
SPID=$!
for _ in $(seq 1 50); do [ -f "$d/silent.ready" ] && break; sleep 0.1; done

mkfifo "$d/in"
"$ZEGEL" run --config "$d/zegel.conf" <"$d/in" >"$d/out" 2>&1 &
ZPID=$!
exec 3>"$d/in"
if ! smtpd_wait_port "$SUBMISSION_PORT"; then
	not_ok "zegel run starts" "$(tail "$d/out")"
	finish
	exit 1
fi
echo "test relay" >&3
for _ in $(seq 1 50); do grep -q 'relay: connecting to' "$d/out" && break; sleep 0.1; done
check "test relay started" grep -q 'relay: connecting to 127.0.0.1\[127.0.0.1\]:44045' "$d/out"
t0=$(date +%s%N)
banner=$(timeout 5 bash -c 'exec 4<>/dev/tcp/127.0.0.1/'"$SUBMISSION_PORT"'; head -1 <&4; printf "QUIT\r\n" >&4')
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
if printf '%s' "$banner" | grep -q '^220 ' && [ "$ms" -lt 2000 ]; then
	ok "an SMTP client gets its 220 in ${ms} ms while the probe waits"
else
	not_ok "an SMTP client gets its 220 while the probe waits" "banner='$banner' after $ms ms"
fi
echo "show relay" >&3
for _ in $(seq 1 30); do grep -q 'relay: smarthost 127.0.0.1 port 44045' "$d/out" && break; sleep 0.1; done
if grep -q 'relay: smarthost 127.0.0.1 port 44045' "$d/out" && ! grep -q 'relay: \(OK\|FAILED\)' "$d/out"; then
	ok "the console answers the next command before the probe ends"
else
	not_ok "the console answers the next command before the probe ends" "$(cat "$d/out")"
fi
kill "$SPID" 2>/dev/null
wait "$SPID" 2>/dev/null
SPID=
exec 3>&-    # end of input: zegel waits for the probe's last line, then exits
for _ in $(seq 1 100); do kill -0 "$ZPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$ZPID" 2>/dev/null; then
	not_ok "zegel run exits after the probe's result" "$(tail "$d/out")"
else
	ok "zegel run exits after the probe's result"
	ZPID=
fi
check "the verdict arrives when the upstream hangs up: FAILED 451 4.4.2" \
	grep -qE 'relay: FAILED: 451 4\.4\.2 .*upstream closed the connection' "$d/out"

# ---------------------------------------------------------------- dane-check
[ -n "$ZPID" ] && { kill "$ZPID" 2>/dev/null; wait "$ZPID" 2>/dev/null; ZPID=; }
e="$d/dc"
mkdir -p "$e"
smtpd_env_setup "$e" 44030
echo "set resolver 127.0.0.1:44046" >>"$e/zegel.conf"
# A resolver that reads every query and answers none.
$PY -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 44046))
open(sys.argv[1], "w").close()
while True:
    s.recvfrom(4096)
' "$e/dns.ready" &
SPID=$!
for _ in $(seq 1 50); do [ -f "$e/dns.ready" ] && break; sleep 0.1; done
mkfifo "$e/in"
"$ZEGEL" run --config "$e/zegel.conf" <"$e/in" >"$e/out" 2>&1 &
ZPID=$!
exec 3>"$e/in"
if ! smtpd_wait_port "$SUBMISSION_PORT"; then
	not_ok "zegel run starts again" "$(tail "$e/out")"
	finish
	exit 1
fi
echo "dane-check example.test" >&3
sleep 0.3
t0=$(date +%s%N)
reply=$($PY - "$SUBMISSION_PORT" <<'PYEOF' 2>&1
import smtplib, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.example.test")
s.starttls(context=ctx)
s.ehlo("client.example.test")
s.sendmail("alice@example.test", ["bob@example.net"],
           "From: alice@example.test\r\nTo: bob@example.net\r\nSubject: during dane-check\r\n"
           "\r\nsent while the console checks DANE\r\n")
s.quit()
print("accepted")
PYEOF
)
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
early=no
grep -q '^status: ' "$e/out" && early=yes
if [ "$reply" = accepted ] && [ "$early" = no ] && [ "$ms" -lt 2500 ]; then
	ok "a message is submitted in ${ms} ms while dane-check waits for DNS"
else
	not_ok "a message is submitted while dane-check waits for DNS" \
		"reply='$reply' after $ms ms, verdict already printed: $early; $(tail -5 "$e/out")"
fi
check "the message reached the outbox" test -n "$(find "$e/outbox" -type f -name '*.eml' | head -1)"
for _ in $(seq 1 150); do grep -q '^status: ' "$e/out" && break; sleep 0.1; done
check "then the check ends: deferred (MX lookup indeterminate)" \
	grep -qE '^status: deferred \(4\.4\.3 MX lookup indeterminate' "$e/out"
exec 3>&-
for _ in $(seq 1 100); do kill -0 "$ZPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$ZPID" 2>/dev/null; then
	not_ok "zegel run exits at the end of its input" "$(tail "$e/out")"
else
	ok "zegel run exits at the end of its input"
	ZPID=
fi
finish
