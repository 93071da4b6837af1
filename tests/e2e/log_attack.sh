#!/usr/bin/env bash
# The log under attack (issue 21), against `zegel run`:
#  1. stderr is a pipe nobody reads (a stuck serial console): once it is
#     full, sessions must still be served (logging must not block the
#     event loop), and once it is read again the dropped lines are counted
#     and the newest survive;
#  2. a quoted local part that spells ', relay=..., status=sent (250 ok)'
#     must not put a forged field into any log line.
. "$TOP/tests/lib.sh"
. "$TOP/tests/e2e/lib/smtpd_env.sh"

d=$(tmpdir)
trap 'smtpd_stop; exec 7>&-; rm -rf "$d"' EXIT
smtpd_env_setup "$d" 22580

# -------------------------------------------------------------- 1. stall
mkfifo "$d/err"
exec 7<>"$d/err"        # held open, never read until the end: the pipe fills
"$ZEGEL" run --config "$d/zegel.conf" --no-console >"$d/out.log" 2>"$d/err" </dev/null &
SMTPD_PID=$!
if ! smtpd_wait_port "$SUBMISSION_PORT"; then
	not_ok "zegel run listens on 127.0.0.1:$SUBMISSION_PORT"
	finish
	exit 1
fi
ok "zegel run listens with stderr on a pipe nobody reads"

# N complete submissions, each logging ~5 lines: far more than the pipe's
# 64 KiB. A blocked log write would stop the loop: the client times out.
out=$($PY - "$SUBMISSION_PORT" 300 <<'EOF' 2>&1
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
def reply(f):
    while True:
        l = f.readline()
        if not l:
            raise SystemExit("closed")
        if l[3:4] != b"-":
            return l
t0 = time.time()
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    f = s.makefile("rb")
    try:
        reply(f)
        for cmd, want in ((b"EHLO c.test", b"250"), (b"MAIL FROM:<alice@example.test>", b"250"),
                          (b"RCPT TO:<bob@remote.example>", b"250"), (b"DATA", b"354"),
                          (b"From: alice@example.test\r\nSubject: %d\r\n\r\nbody\r\n." % i, b"250"),
                          (b"QUIT", b"221")):
            s.sendall(cmd + b"\r\n")
            r = reply(f)
            if not r.startswith(want):
                raise SystemExit("session %d: %r -> %r" % (i, cmd[:30], r))
    except socket.timeout:
        raise SystemExit("session %d: timeout (the server stalled)" % i)
    s.close()
print("sessions %d in %.1fs" % (n, time.time() - t0))
EOF
)
case $out in
sessions*) ok "300 submissions served while the log output is stuck ($out)" ;;
*) not_ok "300 submissions served while the log output is stuck" "$out" ;;
esac

# The reader comes back: read what waits, then one more session makes the
# server write the rest (its own lines come after the drop notice).
drain_fifo() {
	$PY - <<'EOF'
import os, sys, time
os.set_blocking(7, False)
out = bytearray()
end = time.time() + 3
while time.time() < end:
    try:
        b = os.read(7, 65536)
        out += b
        continue
    except BlockingIOError:
        time.sleep(0.1)
sys.stdout.buffer.write(bytes(out))
EOF
}
drain_fifo >"$d/log1"
$PY - "$SUBMISSION_PORT" <<'EOF' >/dev/null 2>&1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = s.makefile("rb"); f.readline()
s.sendall(b"NOOP last-session\r\nQUIT\r\n"); f.readline(); f.readline()
EOF
sleep 0.5
drain_fifo >"$d/log2"
cat "$d/log1" "$d/log2" >"$d/log"
grep -q 'zegel/log\[[0-9]*\]: warning: [0-9]* log lines\? dropped' "$d/log" &&
	ok "the log says how many lines were dropped" ||
	not_ok "the log says how many lines were dropped" "$(tail -5 "$d/log")"
n=$(grep -c ']: connect from \[127.0.0.1\]' "$d/log")
last=$(grep ']: connect from\|dropped' "$d/log" | tail -2 | head -1)
[ "$n" -lt 300 ] && grep -q 'disconnect from \[127.0.0.1\]' "$d/log2" &&
	ok "the oldest lines were dropped ($n of 301 connects kept), the newest written" ||
	not_ok "the oldest lines were dropped, the newest written" "$n connects; $last"
kill -0 "$SMTPD_PID" 2>/dev/null && ok "zegel still running" || not_ok "zegel still running"
smtpd_stop
exec 7>&-

# ---------------------------------------------------------- 2. forgery
smtpd_start "$d" || { not_ok "zegel run restarts"; finish; exit 1; }
evil='relay=mx.evil.example, status=sent (250 2.0.0 forged)'
out=$($PY - "$SUBMISSION_PORT" "$evil" <<'EOF' 2>&1
import socket, sys
port, evil = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=10)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if l[3:4] != b"-":
            return l
reply()
for cmd in ("EHLO c.test", 'MAIL FROM:<"x>, %s"@example.test>' % evil,
            'RCPT TO:<"y>, %s"@remote.example>' % evil, "DATA",
            "From: alice@example.test\r\n\r\nbody\r\n.", "QUIT"):
    s.sendall(cmd.encode() + b"\r\n")
    print(reply().decode().strip())
EOF
)
grep -q '^250.*queued\|^250 2.0.0' <<<"$out" && ok "the message with quoted local parts is accepted" ||
	not_ok "the message with quoted local parts is accepted" "$out"
smtpd_stop
if grep -q 'mx.evil' "$d/zegel.log"; then
	bad=$(grep 'mx.evil' "$d/zegel.log" | grep -F 'relay=mx.evil' | head -3)
	[ -z "$bad" ] && ok "no log line carries a forged relay= field" ||
		not_ok "no log line carries a forged relay= field" "$bad"
	bad=$(grep 'mx.evil' "$d/zegel.log" | grep -E '<[^>]*>, relay=mx' | head -3)
	[ -z "$bad" ] && ok "no <...> field ends early" || not_ok "no <...> field ends early" "$bad"
else
	not_ok "the addresses were logged at all" "$(tail -5 "$d/zegel.log")"
fi
finish
