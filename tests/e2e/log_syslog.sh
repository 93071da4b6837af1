#!/usr/bin/env bash
# Logs in the field (issue #17): remote syslog to a collector on loopback
# (tests/e2e/clock/syslog_recv.py) in RFC 5424 over UDP and over TCP with
# octet-counted frames, and RFC 3164 with another facility; refused MAIL and
# RCPT commands logged with the client's address; `show log` filters (N,
# level, ID); a collector that is down is reported, never waited for; and
# on a terminal a log line is printed above the line being typed, which is
# drawn again (pexpect). Ports 27340-27359.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
RPID=
R2PID=
trap 'smtpd_stop; kill $RPID $R2PID 2>/dev/null; rm -rf "$d"' EXIT
R=27340
$PY "$TOP/tests/e2e/clock/syslog_recv.py" $R "$d/recv.log" &
RPID=$!
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$R") 2>/dev/null && break; sleep 0.1; done
smtpd_env_setup "$d" 27345
cp "$d/zegel.conf" "$d/base.conf"

start_with() {
	{ cat "$d/base.conf"; printf '%s\n' "$@"; } >"$d/zegel.conf"
	: >"$d/recv.log"
	smtpd_start "$d" || not_ok "zegel run starts" "$(tail -5 "$d/zegel.log")"
}
relay_denied() {  # a stranger without AUTH: 554 5.7.1 at RCPT
	timeout 30 swaks --silent 2 --from alice@example.test --to bob@remote.example \
		--server 127.0.0.1 --port "$SUBMISSION_PORT" --local-interface 127.0.0.2 --tls \
		--quit-after RCPT >/dev/null 2>&1
	return 0
}
bad_mail() {  # a sender address that is not one: refused at MAIL
	$PY - "$SUBMISSION_PORT" <<'PYEOF'
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("client.test")
print(s.docmd("MAIL FROM:<not an address>"))
s.quit()
PYEOF
}
wait_recv() { for _ in $(seq 1 50); do grep -q "$1" "$d/recv.log" && return 0; sleep 0.1; done; return 1; }

# 1. UDP, RFC 5424, the default facility mail (2): info = <22>
start_with "set syslog 127.0.0.1:$R udp"
relay_denied
bad_mail >/dev/null
check "refused RCPT logged with the client's address, the reply and the command" \
	grep -q 'zegel/smtpd\[[0-9]*\]: \[127.0.0.2\]: refused RCPT: 554 5.7.1 Relay access denied.*; command: RCPT TO:\\x3cbob@remote.example\\x3e' "$d/zegel.log"
check "refused MAIL logged with the client's address" \
	grep -qE 'zegel/smtpd\[[0-9]+\]: \[127.0.0.1\]: refused MAIL: 5[05][0-9] ' "$d/zegel.log"
wait_recv "refused MAIL"
check "UDP: RFC 5424 frames (<22>1 TIMESTAMP HOST zegel PID MODULE -)" \
	grep -qE '^udp <22>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z mx\.zegel\.test zegel [0-9]+ smtpd - \[127\.0\.0\.2\]: refused RCPT: 554 5\.7\.1' "$d/recv.log"
check "UDP: the start of zegel reaches the collector too" grep -q '^udp <22>1 .* syslog - sending log lines to 127.0.0.1' "$d/recv.log"
check "UDP: a warning is severity 4 (<20>)" \
	bash -c "grep -qE '^udp <20>1 ' '$d/recv.log' || ! grep -q 'warning' '$d/zegel.log'"
smtpd_stop

# 2. TCP, RFC 5424, octet counting
start_with "set syslog 127.0.0.1:$R tcp rfc5424"
relay_denied
wait_recv "refused RCPT"
check "TCP: octet-counted RFC 5424 frames" \
	grep -qE '^tcp <22>1 [0-9-]+T[0-9:.]+Z mx\.zegel\.test zegel [0-9]+ smtpd - \[127\.0\.0\.2\]: refused RCPT' "$d/recv.log"
check_not "TCP: every frame's length was right" grep -q '^tcp-BAD' "$d/recv.log"
smtpd_stop

# 3. UDP, RFC 3164, facility local3 (19): info = <158>
start_with "set syslog 127.0.0.1:$R udp rfc3164" "set syslog-facility local3"
relay_denied
wait_recv "refused RCPT"
check "RFC 3164 frame (<158>Mmm dd hh:mm:ss HOST zegel[PID]: MODULE: text)" \
	grep -qE '^udp <158>[A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} mx\.zegel\.test zegel\[[0-9]+\]: smtpd: \[127\.0\.0\.2\]: refused RCPT' "$d/recv.log"
smtpd_stop

# 4. console: a collector that is down (lines queue, then drop, counted and
# reported); it comes up: the queue is sent and the collector hears of the
# drops. show log filters.
{ cat "$d/base.conf"; echo "set syslog 127.0.0.1:$((R + 1)) tcp"; } >"$d/zegel.conf"
{ sleep 4; printf 'show status\nhelp M1\nshow log 2\nhelp M2\nshow log warning\nhelp M3\nshow log 127.0.0.2\nhelp M4\nshow log debug nothing-like-this\nhelp M5\n'
	sleep 9; printf 'show status\n'; } |
	timeout 40 "$ZEGEL" run --config "$d/zegel.conf" >"$d/console.out" 2>&1 &
cpid=$!
t0=$(date +%s)
smtpd_wait_port "$SUBMISSION_PORT"
# ~300 log lines (connect, disconnect): more than the 16 KiB queue holds
for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION_PORT") 2>/dev/null; done
relay_denied  # after them: still in the 256 lines show log keeps
while [ $(($(date +%s) - t0)) -lt 6 ]; do sleep 0.2; done
$PY "$TOP/tests/e2e/clock/syslog_recv.py" $((R + 1)) "$d/recv2.log" &
R2PID=$!
while [ $(($(date +%s) - t0)) -lt 12 ]; do sleep 0.2; done
(exec 3<>"/dev/tcp/127.0.0.1/$SUBMISSION_PORT") 2>/dev/null  # a line after the reconnect
wait $cpid
sleep 0.3
kill $R2PID 2>/dev/null
wait $R2PID 2>/dev/null
out=$(sed 's/^zegel> //' "$d/console.out")
check "collector down: not connected, the reason, lines dropped and counted" \
	grep -qE "syslog: 127.0.0.1:$((R + 1)) tcp rfc5424: not connected, 0 sent, [1-9][0-9]* dropped; last error: .*(refused|Connection)" <<<"$out"
check "collector down: the drops are logged once" \
	test "$(grep -c 'warning: log lines to 127.0.0.1 dropped' "$d/console.out")" -eq 1
check "collector back: reconnected, the queued lines sent" \
	grep -qE "syslog: 127.0.0.1:$((R + 1)) tcp rfc5424: connected, [1-9][0-9]* sent" <<<"$out"
check "collector back: it hears how many lines were dropped" \
	grep -qE '^tcp <20>1 .* syslog - [1-9][0-9]* log lines dropped \(collector slow or unreachable\)' "$d/recv2.log"
check "collector back: the queued frames arrive whole" \
	bash -c "grep -q '^tcp <22>1 .* smtpd - connect from' '$d/recv2.log' && ! grep -q '^tcp-BAD' '$d/recv2.log'"
# the `show log` lines between the markers (`help Mn` prints "no command 'Mn'")
block() { sed -n "/no command 'M$1'/,/no command 'M$(($1 + 1))'/p" <<<"$out" | grep -E '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z (error|warning|info|debug) zegel/'; }
check "show log 2: the last two lines, each with time and level" test "$(block 1 | wc -l)" -eq 2
check "show log warning: warnings (the collector is down), no info lines" \
	bash -c "grep -q ' warning zegel/syslog: ' <<<\"\$0\" && ! grep -q ' info ' <<<\"\$0\"" "$(block 2)"
check "show log 127.0.0.2: only the lines naming the client, the refusal among them" \
	bash -c "grep -q 'refused RCPT' <<<\"\$0\" && [ \$(grep -vc '127.0.0.2' <<<\"\$0\") -eq 0 ]" "$(block 3)"
check "show log with a filter nothing matches says so" grep -q 'show log: no matching lines' <<<"$out"

# 5. a terminal: the log line goes above the line being typed, which is drawn again
if $PY -c 'import pexpect' 2>/dev/null; then
	check "pty: a log line clears the input line and the prompt + partial input are redrawn" \
		$PY - "$ZEGEL" "$d/base.conf" "$SUBMISSION_PORT" <<'PYEOF'
import sys, socket, time, pexpect
z, conf, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = pexpect.spawn(z, ["run", "--config", conf], timeout=10, encoding="utf-8")
p.expect_exact("zegel> ")
for _ in range(50):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close(); break
    except OSError:
        time.sleep(0.1)
p.expect("connect from")          # the probe's connect is logged
p.expect("disconnect from .*\n")
p.send("show ver")
p.expect_exact("show ver")
s = socket.create_connection(("127.0.0.1", port), 5)
# clear line, the log line, then prompt and the partial input again
p.expect(r"\r\x1b\[K[0-9-]+T[0-9:]+Z zegel/smtpd\[\d+\]: connect from \[127\.0\.0\.1\][^\n]*\n\rzegel> show ver\x1b\[K")
s.close()
p.send("sion\r")
p.expect("board: ")
p.sendline("exit")
p.expect(pexpect.EOF)
PYEOF
else
	skip "pty console redraw" "python3-pexpect missing"
fi
finish
