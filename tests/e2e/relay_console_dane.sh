#!/usr/bin/env bash
# The console's `dane-check DOMAIN` must not stop the appliance: it runs on
# the event loop, so while its DNS lookups wait on a resolver that never
# answers, an SMTP client still submits a message and gets its 250, and the
# check's verdict (deferred: the MX lookup is indeterminate) is printed
# afterwards. Ports: zegel 44060-44063, the silent resolver 44066/udp.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"
if timeout 5 "$ZEGEL" run --config /dev/null --no-console </dev/null 2>&1 | grep -q 'not implemented'; then
	skip "dane-check on the console" "zegel run is not implemented in this build yet"
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
smtpd_env_setup "$d" 44060
cat >>"$d/zegel.conf" <<CONF
set resolver 127.0.0.1:44066
CONF
# A resolver that reads every query and answers none.
$PY -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 44066))
open(sys.argv[1], "w").close()
while True:
    s.recvfrom(4096)
' "$d/dns.ready" &
SPID=$!
for _ in $(seq 1 50); do [ -f "$d/dns.ready" ] && break; sleep 0.1; done

mkfifo "$d/in"
"$ZEGEL" run --config "$d/zegel.conf" <"$d/in" >"$d/out" 2>&1 &
ZPID=$!
exec 3>"$d/in"
if ! smtpd_wait_port "$SUBMISSION_PORT"; then
	not_ok "zegel run starts" "$(tail "$d/out")"
	finish
	exit 1
fi
echo "dane-check example.test" >&3
sleep 0.3
t0=$(date +%s%N)
reply=$($PY - "$SUBMISSION_PORT" <<'PYEOF' 2>&1
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("client.example.test")
msg = ("From: alice@example.test\r\nTo: bob@example.net\r\nSubject: during dane-check\r\n"
       "\r\nsent while the console checks DANE\r\n")
code, text = s.sendmail("alice@example.test", ["bob@example.net"], msg) or (250, b"")
s.quit()
print("accepted")
PYEOF
)
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
verdict_before=no
grep -q '^status: ' "$d/out" && verdict_before=yes
if [ "$reply" = accepted ] && [ "$verdict_before" = no ] && [ "$ms" -lt 2500 ]; then
	ok "a message is submitted in ${ms} ms while dane-check waits for DNS"
else
	not_ok "a message is submitted while dane-check waits for DNS" \
		"reply='$reply' after $ms ms, verdict already printed: $verdict_before; $(tail -5 "$d/out")"
fi
check "the message reached the outbox" test -n "$(find "$d/outbox" -type f -name '*.eml' 2>/dev/null | head -1)"
for _ in $(seq 1 150); do grep -q '^status: ' "$d/out" && break; sleep 0.1; done
check "the check ends later: deferred (MX lookup indeterminate)" \
	grep -qE '^status: deferred \(4\.4\.3 MX lookup indeterminate' "$d/out"
exec 3>&-
for _ in $(seq 1 100); do kill -0 "$ZPID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$ZPID" 2>/dev/null; then
	not_ok "zegel run exits at the end of its input" "$(tail "$d/out")"
else
	ok "zegel run exits at the end of its input"
	ZPID=
fi
finish
